/**
 * What a user's `npm install` gets: the tarball carries the licence and the third-party notices, and the documented
 * CPU-only/offline setting (ONNXRUNTIME_NODE_INSTALL=skip) still stops onnxruntime-node's CUDA download.
 */
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const run = promisify(execFile);

test('npm pack lists LICENSE (Apache-2.0), THIRD_PARTY_NOTICES.md and the font licence', async (t) => {
  // --ignore-scripts: the file list only (no TypeScript build); npm honours "files" the same way
  const { stdout } = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: root,
    env: { ...process.env, npm_config_loglevel: 'error' },
  });
  const files = (JSON.parse(stdout) as Array<{ files: Array<{ path: string }> }>)[0].files.map((f) => f.path);
  for (const f of [
    'LICENSE',
    'THIRD_PARTY_NOTICES.md',
    'assets/fonts/DejaVuSans.ttf',
    'assets/fonts/DejaVuSans-LICENSE.txt',
    'bin/ssd-edge.js',
  ]) {
    t.true(files.includes(f), f);
  }
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { license: string };
  t.is(pkg.license, 'Apache-2.0');
  const license = fs.readFileSync(path.join(root, 'LICENSE'), 'utf8');
  t.regex(license, /^\s*Apache License\s+Version 2\.0, January 2004/);
  t.regex(license, /END OF TERMS AND CONDITIONS/);
  const notices = fs.readFileSync(path.join(root, 'THIRD_PARTY_NOTICES.md'), 'utf8');
  for (const name of [
    'DejaVu Sans',
    'Bitstream Vera',
    '@vladmandic/face-api',
    'justadudewhohacks/face-api.js',
    'MIT License',
  ])
    t.true(notices.includes(name), name);
});

test("ONNXRUNTIME_NODE_INSTALL=skip makes onnxruntime-node's install script exit at once, downloading nothing", async (t) => {
  const ort = path.join(root, 'node_modules', 'onnxruntime-node');
  const bin = path.join(ort, 'bin', 'napi-v6', 'linux', 'x64');
  const before = fs.existsSync(bin) ? fs.readdirSync(bin).sort() : [];
  // no npm_config_* variables: the plain environment variable alone must do it
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.toLowerCase().startsWith('npm_')));
  const r = await run(process.execPath, ['script/install.js'], {
    cwd: ort,
    env: { ...env, ONNXRUNTIME_NODE_INSTALL: 'skip', GLOBAL_AGENT_HTTPS_PROXY: 'http://127.0.0.1:9' },
    timeout: 30_000,
  });
  t.is(r.stdout + r.stderr, '');
  t.deepEqual(fs.existsSync(bin) ? fs.readdirSync(bin).sort() : [], before);
});

test('the repository has no .npmrc keys npm does not know (npm 11 warns, npm 12 drops them)', (t) => {
  const npmrc = path.join(root, '.npmrc');
  const keys = fs.existsSync(npmrc)
    ? fs
        .readFileSync(npmrc, 'utf8')
        .split('\n')
        .filter((l) => /^\s*[^#;\s]/.test(l))
        .map((l) => l.split('=')[0].trim())
    : [];
  t.false(keys.includes('onnxruntime-node-install'));
  t.false(keys.includes('loglevel'), 'loglevel=error hides real warnings');
  t.regex(fs.readFileSync(path.join(root, '.ci', 'run'), 'utf8'), /ONNXRUNTIME_NODE_INSTALL=skip npm ci/);
});
