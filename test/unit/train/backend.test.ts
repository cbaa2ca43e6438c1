/**
 * lib/train/backend.ts: loadTf picks wasm here (tfjs-node is not installed), is idempotent, registers tfjs-core's
 * gradients and chained ops and the wasm gradient kernels, switches backends on request, leaves no Emscripten
 * process listeners behind, rejects bad names with the exact message; trainingBackendReport and the doctor report
 * name the same backends by resolving packages, without loading any tfjs (checked in a child process that refuses
 * every @tensorflow module).
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadTf, TFJS_DIST_HOOK, trainingBackendReport } from '../../../lib/train/backend.ts';

const require = createRequire(import.meta.url);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const resolves = (name: string) => {
  try {
    require.resolve(name);
    return true;
  } catch {
    return false;
  }
};
const tfjsNode = resolves('@tensorflow/tfjs-node') || resolves('@tensorflow/tfjs-node-gpu');

test.serial(
  'loadTf: auto → wasm without tfjs-node; idempotent; gradients, chained ops and wasm gradient kernels registered',
  async (t) => {
    const listeners = ['uncaughtException', 'unhandledRejection'].map(
      (e) => process.listeners(e as 'uncaughtException').length,
    );
    const a = await loadTf();
    const b = await loadTf('auto');
    t.is(a, b, 'the same object');
    t.is(a.backend, tfjsNode ? 'tensorflow' : 'wasm');
    const { tf } = a;
    t.is(tf.getBackend(), a.backend);
    t.truthy(tf.getGradient('Conv2D'), 'tfjs-core gradients registered');
    t.truthy(tf.getKernel('Conv2DBackpropFilter', 'wasm'), 'wasm gradient kernel registered');
    t.is(typeof (tf.scalar(2) as unknown as { square?: unknown }).square, 'function', 'chained ops');
    const g = tf.grad((x) => tf.sum(tf.square(x)))(tf.tensor1d([1, 2, 3]));
    t.deepEqual([...g.dataSync()], [2, 4, 6]);
    t.deepEqual(
      ['uncaughtException', 'unhandledRejection'].map((e) => process.listeners(e as 'uncaughtException').length),
      listeners,
      "no Emscripten 'uncaughtException' / 'unhandledRejection' listener left",
    );
  },
);

test.serial('loadTf: cpu and back to wasm on request, the same tf', async (t) => {
  const wasm = await loadTf('wasm');
  const cpu = await loadTf('cpu');
  t.is(cpu.backend, 'cpu');
  t.is(cpu.tf, wasm.tf);
  t.is(cpu.tf.getBackend(), 'cpu');
  t.deepEqual([...cpu.tf.add(cpu.tf.tensor1d([1]), 1).dataSync()], [2]);
  const back = await loadTf('wasm');
  t.is(back.tf.getBackend(), 'wasm');
  t.is((await loadTf()).backend, 'wasm', 'auto keeps the loaded backend');
});

test.serial("loadTf: a bad name → TypeError; 'tensorflow' without tfjs-node → one clear error", async (t) => {
  await t.throwsAsync(loadTf('gpu' as never), {
    instanceOf: TypeError,
    message: `Expected one of 'auto', 'wasm', 'cpu', 'tensorflow' for backend but received "gpu"`,
  });
  if (tfjsNode) return t.pass('tfjs-node is installed here');
  await t.throwsAsync(loadTf('tensorflow'), { message: /^backend 'tensorflow' needs @tensorflow\/tfjs-node/ });
  t.is((await loadTf()).tf.getBackend(), 'wasm', 'the loaded backend is kept');
});

test('trainingBackendReport: the packages that resolve here, what auto would pick', async (t) => {
  const r = await trainingBackendReport();
  const expected = [
    ...(tfjsNode ? ['tensorflow'] : []),
    ...(resolves('@tensorflow/tfjs-backend-wasm') ? ['wasm'] : []),
    ...(resolves('@tensorflow/tfjs-backend-cpu') ? ['cpu'] : []),
  ];
  t.deepEqual(r.available, expected);
  t.is(r.selected, expected[0]);
  t.is(r.tfjsNode, tfjsNode);
  t.is(r.tfjsCore, (require('@tensorflow/tfjs-core/package.json') as { version: string }).version);
});

test('doctor gathers the training section without loading tfjs (child refusing @tensorflow modules)', (t) => {
  const script = `
    import { register, createRequire } from 'node:module';
    register('data:text/javascript,' + encodeURIComponent(\`
      export async function resolve(specifier, context, next) {
        if (specifier.startsWith('@tensorflow/') && !specifier.endsWith('package.json'))
          throw new Error('tfjs loaded: ' + specifier);
        return next(specifier, context);
      }\`));
    const Module = createRequire(import.meta.url)('node:module');
    const load = Module._load;
    Module._load = function (request, parent, isMain) {
      if (request.startsWith('@tensorflow/') && !request.endsWith('package.json')) throw new Error('tfjs loaded: ' + request);
      return load.call(this, request, parent, isMain);
    };
    const { gatherDoctor, formatDoctor } = await import('./lib/doctor.ts');
    const r = await gatherDoctor();
    console.log(JSON.stringify({ training: r.training, line: formatDoctor(r).split('\\n').find((l) => l.startsWith('training')) }));`;
  const r = spawnSync(process.execPath, ['--import=tsx', '--input-type=module', '-e', script], {
    cwd: root,
    encoding: 'utf8',
  });
  t.is(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!);
  t.is(out.training.selected, tfjsNode ? 'tensorflow' : 'wasm');
  t.regex(
    out.line,
    tfjsNode ? /^training\s+tfjs tensorflow/ : /^training\s+tfjs wasm, tfjs-core 4\.\d+\.\d+ \(also: cpu\)/,
  );
});

test("plain Node (no tsx): tfjs-core's gradient modules load with the resolve hook, and fail without it", (t) => {
  const body = (withHook: boolean) => `
    import { register } from 'node:module';
    const tf = await import('@tensorflow/tfjs-core');
    ${withHook ? 'register("data:text/javascript," + encodeURIComponent(process.env.HOOK));' : ''}
    await import('@tensorflow/tfjs-core/dist/register_all_gradients.js');
    console.log(JSON.stringify({ conv2d: !!tf.getGradient('Conv2D'), sum: !!tf.getGradient('Sum') }));`;
  const run = (withHook: boolean) =>
    spawnSync(process.execPath, ['--input-type=module', '-e', body(withHook)], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, HOOK: TFJS_DIST_HOOK, NODE_OPTIONS: '' },
    });
  const ok = run(true);
  t.is(ok.status, 0, ok.stderr);
  t.deepEqual(JSON.parse(ok.stdout.trim().split('\n').pop()!), { conv2d: true, sum: true });
  const without = run(false);
  t.not(without.status, 0, 'control: Node cannot load them without the hook');
  t.regex(without.stderr, /ERR_MODULE_NOT_FOUND/);
});
