/**
 * Session: provider fallback on this machine, explicit devices, thread settings, dispose.
 */
import test from 'ava';
import * as ort from 'onnxruntime-node';
import { defaultThreadOptions, Session, sessionOptionsFor } from '../../../lib/runtime/session.ts';
import { executionProvidersFor, listProviders, providerUnavailableReason } from '../../../lib/runtime/providers.ts';
import { writeTinyDecodedModel } from '../../helpers/tiny-detector-model.ts';

const model = writeTinyDecodedModel();
const feeds = () => ({ image: new ort.Tensor('float32', new Float32Array(2 * 3 * 8 * 8), [2, 3, 8, 8]) });

test("'auto' ends on a provider that works and records why the ones before it did not", async (t) => {
  const s = await Session.create(model, { device: 'auto', warmup: feeds() });
  t.true(['tensorrt', 'cuda', 'cpu'].includes(s.provider));
  const order = ['tensorrt', 'cuda', 'cpu'];
  t.deepEqual(s.providerErrors.map((e) => e.provider), order.slice(0, order.indexOf(s.provider)));
  for (const e of s.providerErrors) {
    t.true(e.message.length > 0 && !e.message.includes('\n'));
    t.is(e.skipped, providerUnavailableReason(e.provider) !== null);
  }
  const out = await s.run(feeds());
  t.deepEqual(out.boxes.dims, [2, 3, 4]);
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
    t.regex(err.message, new RegExp(`^Cannot use device '${device}': .*Use device 'auto' or 'cpu' to fall back to the CPU\\.$`));
  }
  t.pass();
});

test('invalid options: messages', async (t) => {
  await t.throwsAsync(Session.create(model, { device: 'gpu' as 'cpu' }), { instanceOf: TypeError, message: "Expected one of 'auto', 'cpu', 'cuda', 'tensorrt' for device but received \"gpu\"" });
  await t.throwsAsync(Session.create(model, { threads: 0 }), { instanceOf: RangeError, message: 'Expected integer ≥ 1 for threads but received 0' });
  await t.throwsAsync(Session.create(model, { threads: 'many' as 'auto' }), { instanceOf: TypeError, message: "Expected integer ≥ 1 or 'auto' for threads but received \"many\"" });
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

test('execution provider lists: TensorRT falls through to CUDA on the GPU; deviceId is the only option passed', (t) => {
  t.deepEqual(executionProvidersFor('tensorrt', 1), [{ name: 'tensorrt', deviceId: 1 }, { name: 'cuda', deviceId: 1 }]);
  t.deepEqual(executionProvidersFor('cuda'), [{ name: 'cuda', deviceId: 0 }]);
  t.deepEqual(executionProvidersFor('cpu'), ['cpu']);
  t.true(listProviders().some((p) => p.name === 'cpu' && p.installed));
});
