/**
 * Detector with `worker: true`: ONNX Runtime in a worker thread gives the same detections as in-process, the
 * event loop keeps turning while the forward pass runs, and an idle detector never keeps the process alive.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Detector } from '../../lib/index.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const image = path.join(root, 'test/fixtures/images/astronaut.png');

test('worker and in-process sessions give identical detections; batches too', async (t) => {
  const local = await Detector.load(undefined, { worker: false });
  const remote = await Detector.load(undefined, { worker: true, scoreThreshold: 0.02 });
  try {
    t.false(local.inWorker);
    t.true(remote.inWorker);
    t.deepEqual(
      await remote.detect(image, { scoreThreshold: 0.02 }),
      await local.detect(image, { scoreThreshold: 0.02 }),
    );
    const [a, b] = await remote.detectBatch([image, image]);
    t.deepEqual(a, b);
    t.true(a.length > 10);
  } finally {
    await local.dispose();
    await remote.dispose();
  }
});

test('the event loop keeps turning while a worker detect is pending', async (t) => {
  const d = await Detector.load(undefined, { worker: true });
  try {
    let turns = 0;
    let running = true;
    const spin = () => {
      turns++;
      if (running) setImmediate(spin);
    };
    setImmediate(spin);
    const before = turns;
    const pending = d.detect(image);
    const during = await new Promise<number>((resolve) => setImmediate(() => setImmediate(() => resolve(turns))));
    await pending;
    running = false;
    t.true(during > before, 'setImmediate callbacks ran while detect was pending');
  } finally {
    await d.dispose();
  }
});

test('a process with a loaded worker detector exits by itself (the idle worker does not hold it)', (t) => {
  const script = `import { Detector } from './lib/index.ts';
    const d = await Detector.load(undefined, { worker: true });
    const r = await d.detect('${image}');
    console.log(JSON.stringify({ faces: r.length }));`;
  const r = spawnSync(process.execPath, ['--import=tsx', '--input-type=module', '-e', script], {
    cwd: root,
    encoding: 'utf8',
    timeout: 60_000,
  });
  t.is(r.status, 0, r.stderr);
  t.deepEqual(JSON.parse(r.stdout.trim().split('\n').pop()!), { faces: 1 });
});

test('worker option is validated', async (t) => {
  const err = await t.throwsAsync(Detector.load(undefined, { worker: 'yes' as unknown as boolean }));
  t.regex(err!.message, /boolean for worker/);
});

test('dispose while detects are in flight: each settles (done, or "Session is disposed" if not yet sent), the process never aborts', (t) => {
  const script = `import { Detector } from './lib/index.ts';
    let done = 0, failed = 0;
    for (let round = 0; round < 4; round++) {
      const d = await Detector.load(undefined, { worker: true, warmup: false });
      // raw pixels: no file read or decode, so preparing takes only microtasks and the first detect has been posted
      // to the worker before any timer fires, however loaded the machine is
      const frame = { data: new Uint8Array(96 * 64 * 3).fill(90 + round), width: 96, height: 64, channels: 3 };
      const pending = [1, 2, 3].map(() => d.detect(frame).then(() => done++, (e) => { if (!/Session is disposed/.test(e.message)) throw e; failed++; }));
      await new Promise((r) => setTimeout(r, 10 * round));
      await d.dispose();
      await Promise.all(pending);
    }
    console.log(JSON.stringify({ done, failed }));`;
  const r = spawnSync(process.execPath, ['--import=tsx', '--input-type=module', '-e', script], {
    cwd: root,
    encoding: 'utf8',
    timeout: 120_000,
  });
  t.is(r.signal, null, r.stderr);
  t.is(r.status, 0, r.stderr);
  const { done, failed } = JSON.parse(r.stdout.trim().split('\n').pop()!);
  t.is(done + failed, 12);
  t.true(done >= 4, 'runs already sent to the worker complete');
});

test('an input that cannot be sent to the worker rejects the run and does not keep the process alive', (t) => {
  const script = `import { Session } from './lib/runtime/session.ts';
    import { ensureDefaultModel } from './lib/model/zoo.ts';
    import * as ort from 'onnxruntime-node';
    const s = await Session.create(await ensureDefaultModel(), { worker: true });
    const data = new Float32Array(3 * 512 * 512);
    const tensor = new ort.Tensor('float32', data, [1, 3, 512, 512]);
    structuredClone(data.buffer, { transfer: [data.buffer] });
    let message = '';
    try { await s.run({ image: tensor }); } catch (e) { message = e.name; }
    console.log(JSON.stringify({ message }));`;
  const r = spawnSync(process.execPath, ['--import=tsx', '--input-type=module', '-e', script], {
    cwd: root,
    encoding: 'utf8',
    timeout: 60_000,
  });
  t.is(r.status, 0, `exit ${r.status} ${r.signal ?? ''}: ${r.stderr}`);
  t.regex(JSON.parse(r.stdout.trim().split('\n').pop()!).message, /Error/);
});
