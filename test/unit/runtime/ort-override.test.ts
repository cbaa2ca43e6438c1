/**
 * Loading a user-built ONNX Runtime through SSD_EDGE_ORT, with a stand-in build made on this machine: a copy of the
 * bundled onnxruntime-node package (its JS, binding and libonnxruntime) in a temp folder under another package name
 * and version. Every run is a child process (the runtime is chosen once per process). Checks that the session, the
 * worker thread and `doctor` use the copy and nothing of the bundled one, and that bad values fail with one line.
 */
import test from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { writeTinyDecodedModel } from '../../helpers/tiny-detector-model.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const require = createRequire(import.meta.url);
const bundledDir = path.dirname(require.resolve('onnxruntime-node/package.json'));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ssd-edge-ort-'));
const standin = path.join(tmp, 'my-ort-build', 'onnxruntime-node');
const model = writeTinyDecodedModel(undefined, tmp);

test.before(() => {
  // The stand-in: package.json renamed, dist/ and bin/ copied (binding + libonnxruntime, ~46 MB), and its one
  // runtime dependency (onnxruntime-common) where Node's resolution finds it, as an npm install would place it.
  fs.mkdirSync(standin, { recursive: true });
  const pkg = JSON.parse(fs.readFileSync(path.join(bundledDir, 'package.json'), 'utf8'));
  fs.writeFileSync(
    path.join(standin, 'package.json'),
    JSON.stringify({ ...pkg, name: 'onnxruntime-node-standin', version: '1.30.0-standin', scripts: {} }),
  );
  fs.cpSync(path.join(bundledDir, 'dist'), path.join(standin, 'dist'), { recursive: true });
  fs.cpSync(path.join(bundledDir, 'bin'), path.join(standin, 'bin'), { recursive: true });
  let common = path.dirname(require.resolve('onnxruntime-common', { paths: [bundledDir] }));
  while (!fs.existsSync(path.join(common, 'package.json'))) common = path.dirname(common);
  fs.mkdirSync(path.join(standin, 'node_modules'));
  fs.symlinkSync(fs.realpathSync(common), path.join(standin, 'node_modules', 'onnxruntime-common'), 'dir');
});
test.after.always(() => fs.rmSync(tmp, { recursive: true, force: true }));

function run(script: string, ortEnv: string | undefined): { status: number | null; stdout: string; stderr: string } {
  const env: NodeJS.ProcessEnv = { ...process.env, SSD_EDGE_DEBUG: '' };
  delete env.SSD_EDGE_ORT;
  if (ortEnv !== undefined) env.SSD_EDGE_ORT = ortEnv;
  const r = spawnSync(process.execPath, ['--import=tsx', '--input-type=module', '-e', script], {
    cwd: root,
    env,
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const probe = (modelPath: string) => `
  import fs from 'node:fs';
  import { Session } from './lib/runtime/session.ts';
  import { ortInfo } from './lib/runtime/ort.ts';
  const feeds = { image: { data: new Float32Array(3 * 64), dims: [1, 3, 8, 8] } };
  const a = await Session.create(${JSON.stringify(modelPath)}, { device: 'cpu', warmup: feeds });
  const b = await Session.create(${JSON.stringify(modelPath)}, { device: 'cpu', worker: true });
  const out = await b.run(feeds);
  const maps = fs.readFileSync('/proc/self/maps', 'utf8').split('\\n').filter((l) => l.includes('libonnxruntime')).map((l) => l.trim().split(/\\s+/).pop());
  console.log(JSON.stringify({ info: ortInfo(), libraries: [...new Set(maps)], boxes: Array.from(out.boxes.data.slice(0, 4)), provider: a.provider }));
  await a.dispose(); await b.dispose();`;

test('SSD_EDGE_ORT=<package folder>: sessions, the worker thread and ortInfo use the stand-in build only', (t) => {
  const r = run(probe(model), standin);
  t.is(r.status, 0, r.stderr);
  const { info, libraries, boxes, provider } = JSON.parse(r.stdout.trim().split('\n').pop()!);
  t.is(info.source, 'SSD_EDGE_ORT');
  t.is(info.packageDir, standin);
  t.is(info.packageName, 'onnxruntime-node-standin');
  t.is(info.packageVersion, '1.30.0-standin');
  t.is(info.version, '1.30.0');
  t.is(info.binding, path.join(standin, 'bin', 'napi-v6', process.platform, process.arch, 'onnxruntime_binding.node'));
  t.is(provider, 'cpu');
  t.deepEqual(
    boxes.map((v: number) => Number(v.toFixed(6))),
    [0.1, 0.1, 0.5, 0.5],
  );
  if (process.platform === 'linux') {
    // Main thread and worker share the process: exactly one libonnxruntime is mapped, the stand-in's.
    t.deepEqual(libraries, [
      path.join(standin, 'bin', 'napi-v6', process.platform, process.arch, 'libonnxruntime.so.1'),
    ]);
    t.is(info.library, libraries[0]);
  }
});

test('without SSD_EDGE_ORT the bundled onnxruntime-node is loaded', (t) => {
  const r = run(probe(model), undefined);
  t.is(r.status, 0, r.stderr);
  const { info } = JSON.parse(r.stdout.trim().split('\n').pop()!);
  t.is(info.source, 'bundled');
  t.is(fs.realpathSync(info.packageDir), fs.realpathSync(bundledDir));
  t.is(info.packageName, 'onnxruntime-node');
});

test('doctor reports the loaded build: path, version, providers', (t) => {
  const env = { ...process.env, SSD_EDGE_ORT: standin, SSD_EDGE_DEBUG: '' };
  const json = JSON.parse(
    execFileSync(process.execPath, ['--import=tsx', 'lib/cli/index.ts', 'doctor', '--json'], {
      cwd: root,
      env,
      encoding: 'utf8',
    }),
  );
  t.is(json.onnxruntime.override, standin);
  t.is(json.onnxruntime.loaded.packageDir, standin);
  t.is(json.onnxruntime.loaded.packageName, 'onnxruntime-node-standin');
  t.is(json.onnxruntime.version, '1.30.0');
  t.is(json.onnxruntime.binaryDir, path.join(standin, 'bin', 'napi-v6', process.platform, process.arch));
  t.true(json.onnxruntime.providers.some((p: { name: string; installed: boolean }) => p.name === 'cpu' && p.installed));
  t.is(json.onnxruntime.error, null);
  const text = execFileSync(process.execPath, ['--import=tsx', 'lib/cli/index.ts', 'doctor'], {
    cwd: root,
    env,
    encoding: 'utf8',
  });
  t.regex(
    text,
    new RegExp(
      `onnxruntime +1\\.30\\.0 \\(onnxruntime-node-standin@1\\.30\\.0-standin, SSD_EDGE_ORT=${standin.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\\)`,
    ),
  );
  t.regex(text, /ort binding +\/.*my-ort-build\/onnxruntime-node\/bin\/napi-v6\/.*onnxruntime_binding\.node/);
  t.regex(text, /^gpu +/m);
});

test('a bad SSD_EDGE_ORT fails with one line naming the variable and the path (API, detect, doctor)', (t) => {
  const missing = path.join(tmp, 'no-such-build');
  const api = run(
    `import { Session } from './lib/runtime/session.ts';
    try { await Session.create(${JSON.stringify(model)}, { device: 'cpu' }); } catch (e) { console.log(JSON.stringify({ message: e.message })); }`,
    missing,
  );
  t.is(api.status, 0, api.stderr);
  const { message } = JSON.parse(api.stdout.trim().split('\n').pop()!);
  t.is(
    message,
    `Cannot load ONNX Runtime from SSD_EDGE_ORT=${missing}: no such file or folder. Set SSD_EDGE_ORT to the folder of an onnxruntime-node ` +
      `package (with package.json, dist/ and bin/napi-v6/${process.platform}/${process.arch}/), or unset it to use the bundled onnxruntime-node.`,
  );

  // A package that is not onnxruntime-node.
  const other = path.join(tmp, 'not-ort');
  fs.mkdirSync(other);
  fs.writeFileSync(
    path.join(other, 'package.json'),
    JSON.stringify({ name: 'not-ort', version: '1.0.0', main: 'index.js' }),
  );
  fs.writeFileSync(path.join(other, 'index.js'), 'module.exports = { Tensor: class {} };');
  const wrong = run(
    `import { ortInfo } from './lib/runtime/ort.ts';
    try { ortInfo(); } catch (e) { console.log(JSON.stringify({ message: e.message })); }`,
    other,
  );
  t.regex(
    JSON.parse(wrong.stdout.trim().split('\n').pop()!).message,
    /^Cannot load ONNX Runtime from SSD_EDGE_ORT=.*not-ort: it loaded, but is not onnxruntime-node \(no InferenceSession, env, listSupportedBackends exported\)\. Set SSD_EDGE_ORT/,
  );

  const env = { ...process.env, SSD_EDGE_ORT: missing, SSD_EDGE_DEBUG: '' };
  for (const args of [
    ['detect', '--model', model, path.join(root, 'test/fixtures/images/astronaut.png')],
    ['doctor'],
  ]) {
    const r = spawnSync(process.execPath, ['--import=tsx', 'lib/cli/index.ts', ...args], {
      cwd: root,
      env,
      encoding: 'utf8',
    });
    t.is(r.status, 1, `${args[0]}: ${r.stderr}`);
    const lines = (args[0] === 'doctor' ? r.stdout : r.stderr).split('\n').filter((l) => l.includes('SSD_EDGE_ORT'));
    t.is(lines.length, 1, r.stdout + r.stderr);
    t.true(
      lines[0].includes(`Cannot load ONNX Runtime from SSD_EDGE_ORT=${missing}: no such file or folder`),
      lines[0],
    );
  }
});
