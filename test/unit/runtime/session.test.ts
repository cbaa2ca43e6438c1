/**
 * Session: provider fallback on this machine, explicit devices, thread settings, dispose.
 */
import test from 'ava';
import { defaultThreadOptions, Session, sessionOptionsFor } from '../../../lib/runtime/session.ts';
import {
  executionProvidersFor,
  listProviders,
  providerOptionEntries,
  providerUnavailableReason,
} from '../../../lib/runtime/providers.ts';
import { writeTinyDecodedModel } from '../../helpers/tiny-detector-model.ts';

const model = writeTinyDecodedModel();
const feeds = () => ({ image: { data: new Float32Array(2 * 3 * 8 * 8), dims: [2, 3, 8, 8] } });

test("'auto' ends on a provider that works and records why the ones before it did not", async (t) => {
  const s = await Session.create(model, { device: 'auto', warmup: feeds() });
  t.true(['tensorrt', 'cuda', 'cpu'].includes(s.provider));
  const order = ['tensorrt', 'cuda', 'cpu'];
  t.deepEqual(
    s.providerErrors.map((e) => e.provider),
    order.slice(0, order.indexOf(s.provider)),
  );
  for (const e of s.providerErrors) {
    t.true(e.message.length > 0 && !e.message.includes('\n'));
    t.is(e.skipped, providerUnavailableReason(e.provider) !== null);
  }
  const out = await s.run(feeds());
  t.deepEqual(out.boxes.dims, [2, 3, 4]);
  t.deepEqual(Object.keys(out.boxes).sort(), ['data', 'dims'], 'plain tensors out');
  t.true(out.boxes.data instanceof Float32Array);
  t.deepEqual(
    Array.from(out.boxes.data as Float32Array, (v) => Number(v.toFixed(6))).slice(0, 4),
    [0.1, 0.1, 0.5, 0.5],
  );
  t.deepEqual(s.inputNames, ['image']);
  await s.dispose();
  await s.dispose(); // idempotent
  t.true(s.disposed);
  await t.throwsAsync(s.run(feeds()), { message: 'Session is disposed' });
});

test('an explicit GPU device that cannot be used throws one line naming it', async (t) => {
  for (const device of ['cuda', 'tensorrt'] as const) {
    if (listProviders().find((p) => p.name === device)?.installed) {
      t.log(`${device} provider library installed: not testing its failure`);
      continue;
    }
    const err = await t.throwsAsync(Session.create(model, { device }));
    t.regex(
      err.message,
      new RegExp(`^Cannot use device '${device}': .*Use device 'auto' or 'cpu' to fall back to the CPU\\.$`),
    );
  }
  t.pass();
});

test('invalid options: messages', async (t) => {
  await t.throwsAsync(Session.create(model, { device: 'gpu' as 'cpu' }), {
    instanceOf: TypeError,
    message: "Expected one of 'auto', 'cpu', 'cuda', 'tensorrt' for device but received \"gpu\"",
  });
  await t.throwsAsync(Session.create(model, { threads: 0 }), {
    instanceOf: RangeError,
    message: 'Expected integer ≥ 1 for threads but received 0',
  });
  await t.throwsAsync(Session.create(model, { threads: 'many' as 'auto' }), {
    instanceOf: TypeError,
    message: 'Expected integer ≥ 1 or \'auto\' for threads but received "many"',
  });
});

test('thread settings: defaults per core count, explicit counts keep spinning unless told', async (t) => {
  t.deepEqual(defaultThreadOptions(1), { intraOpNumThreads: 1, spinning: false });
  t.deepEqual(defaultThreadOptions(2), { intraOpNumThreads: 2, spinning: false });
  t.deepEqual(defaultThreadOptions(16), { intraOpNumThreads: 4, spinning: false });
  const s = await Session.create(model, { device: 'cpu', threads: 1 });
  t.deepEqual(s.threads, { intraOpNumThreads: 1, spinning: true });
  await s.dispose();
  const o = sessionOptionsFor('cpu', { intraOpNumThreads: 2, spinning: false });
  t.deepEqual(o.extra, { session: { intra_op: { allow_spinning: '0' } } });
  t.is(o.intraOpNumThreads, 2);
});

test('execution provider lists: TensorRT falls through to CUDA on the GPU; deviceId and provider options ride along', (t) => {
  t.deepEqual(executionProvidersFor('tensorrt', 1), [
    { name: 'tensorrt', deviceId: 1 },
    { name: 'cuda', deviceId: 1 },
  ]);
  t.deepEqual(executionProvidersFor('cuda'), [{ name: 'cuda', deviceId: 0 }]);
  t.deepEqual(executionProvidersFor('cpu'), ['cpu']);
  t.true(listProviders().some((p) => p.name === 'cpu' && p.installed));
  const po = {
    tensorrt: { fp16: true, int8: false, engineCachePath: '/var/cache/trt', maxWorkspaceSize: 2 ** 30 },
    cuda: { gpuMemLimit: 2 ** 31, cudnnConvAlgoSearch: 'HEURISTIC' as const },
  };
  t.deepEqual(executionProvidersFor('tensorrt', 0, po), [
    {
      name: 'tensorrt',
      deviceId: 0,
      trt_fp16_enable: '1',
      trt_int8_enable: '0',
      trt_engine_cache_enable: '1',
      trt_engine_cache_path: '/var/cache/trt',
      trt_max_workspace_size: '1073741824',
    },
    { name: 'cuda', deviceId: 0, gpu_mem_limit: '2147483648', cudnn_conv_algo_search: 'HEURISTIC' },
  ]);
  t.deepEqual(providerOptionEntries('cuda', { tensorrt: { fp16: true } }), {});
  t.deepEqual(executionProvidersFor('cpu', 0, po), ['cpu']);
});

test('provider options: validated; a CPU session accepts them (they concern GPU providers only)', async (t) => {
  await t.throwsAsync(
    Session.create(model, { device: 'cpu', providerOptions: { tensorrt: { fp16: 'yes' } } as never }),
    { instanceOf: TypeError, message: 'Expected boolean for providerOptions.tensorrt.fp16 but received "yes"' },
  );
  await t.throwsAsync(Session.create(model, { device: 'cpu', providerOptions: { cuda: { gpuMemLimit: -1 } } }), {
    instanceOf: TypeError,
    message: /^Expected positive integer \(bytes\) for providerOptions\.cuda\.gpuMemLimit but received -1/,
  });
  await t.throwsAsync(Session.create(model, { device: 'cpu', providerOptions: { rocm: {} } as never }), {
    instanceOf: TypeError,
    message: "Unknown key 'rocm' in providerOptions: expected one of 'tensorrt', 'cuda'",
  });
  const s = await Session.create(model, {
    device: 'cpu',
    providerOptions: { tensorrt: { fp16: true, engineCachePath: '/tmp/x' } },
  });
  t.is(s.provider, 'cpu');
  await s.dispose();
});

test('run: plain tensors in; bad feeds name the input; after dispose one message', async (t) => {
  const s = await Session.create(model, { device: 'cpu' });
  await t.throwsAsync(s.run({ image: { data: new Float32Array(10), dims: [1, 3, 8, 8] } }), {
    instanceOf: TypeError,
    message: /^Expected typed array of length 192 \(product of dims \[1, 3, 8, 8\]\) for feeds\.image\.data/,
  });
  await t.throwsAsync(s.run({ image: { data: [1, 2, 3] as never, dims: [3] } }), {
    instanceOf: TypeError,
    message: /^Expected typed array/,
  });
  const out = await s.run({ image: { data: new Float32Array(192), dims: [1, 3, 8, 8] } });
  t.deepEqual(out.scores.dims, [1, 3, 3]);
  // A run in flight when dispose is called completes; dispose waits for it; later runs get the one message.
  const inflight = s.run({ image: { data: new Float32Array(192), dims: [1, 3, 8, 8] } });
  await s.dispose();
  t.deepEqual((await inflight).boxes.dims, [1, 3, 4]);
  await t.throwsAsync(s.run({ image: { data: new Float32Array(192), dims: [1, 3, 8, 8] } }), {
    message: 'Session is disposed',
  });
  t.throws(() => s.inputMetadata, { message: 'Session is disposed' });
});
