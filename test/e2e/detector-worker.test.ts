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
    t.deepEqual(await remote.detect(image, { scoreThreshold: 0.02 }), await local.detect(image, { scoreThreshold: 0.02 }));
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
    const spin = () => { turns++; if (running) setImmediate(spin); };
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
  const r = spawnSync(process.execPath, ['--import=tsx', '--input-type=module', '-e', script], { cwd: root, encoding: 'utf8', timeout: 60_000 });
  t.is(r.status, 0, r.stderr);
  t.deepEqual(JSON.parse(r.stdout.trim().split('\n').pop()!), { faces: 1 });
});

test('worker option is validated', async (t) => {
  const err = await t.throwsAsync(Detector.load(undefined, { worker: 'yes' as unknown as boolean }));
  t.regex(err!.message, /boolean for worker/);
});
