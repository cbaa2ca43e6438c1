/**
 * The pipeline's parts without a model: the bounded frame queue under both policies (drops counted, back-pressure),
 * percentiles and rates, and the mapping of boxes from an ffmpeg-scaled frame back to the source.
 */
import test from 'ava';
import { FrameQueue, percentile, StatsTracker, toSource } from '../../../lib/stream/pipeline.ts';
import type { Frame } from '../../../lib/stream/sources.ts';
import { boxToSource, inputGeometry } from '../../../lib/image/preprocess.ts';

const frame = (index: number): Frame => ({
  index,
  pts: index / 10,
  time: 0,
  captured: 0,
  image: { data: new Uint8Array(3), width: 1, height: 1, channels: 3 },
  sourceWidth: 1,
  sourceHeight: 1,
});

function fakeSource() {
  const calls: string[] = [];
  return { calls, pause: () => calls.push('pause'), resume: () => calls.push('resume') };
}

test('latest: a full queue drops the oldest frames and counts them; never pauses the source', async (t) => {
  const src = fakeSource();
  const q = new FrameQueue(2, 'latest', src);
  for (let k = 0; k < 5; k++) q.put(frame(k));
  t.is(q.dropped, 3);
  t.is((await q.take())!.index, 3);
  t.is((await q.take())!.index, 4);
  q.put(frame(5));
  t.is((await q.take())!.index, 5);
  t.false(src.calls.includes('pause'));
});

test('every: nothing dropped; a full queue pauses the source, taking makes room and resumes it', async (t) => {
  const src = fakeSource();
  const q = new FrameQueue(3, 'every', src);
  for (let k = 0; k < 3; k++) q.put(frame(k));
  t.deepEqual(src.calls, ['pause']);
  q.put(frame(3)); // a frame already on its way is kept
  t.is(q.dropped, 0);
  const got: number[] = [];
  for (let k = 0; k < 4; k++) got.push((await q.take())!.index);
  t.deepEqual(got, [0, 1, 2, 3]);
  t.true(src.calls.includes('resume'));
});

test('a waiting take gets the next frame, null at the end, the error after a failure (queued frames first)', async (t) => {
  const q = new FrameQueue(2, 'every', fakeSource());
  const waiting = q.take();
  q.put(frame(7));
  t.is((await waiting)!.index, 7);
  const ending = q.take();
  q.end();
  t.is(await ending, null);
  t.is(await q.take(), null);

  const f = new FrameQueue(2, 'every', fakeSource());
  f.put(frame(1));
  f.fail(new Error('camera gone'));
  t.is((await f.take())!.index, 1);
  await t.throwsAsync(f.take(), { message: 'camera gone' });
});

test('percentile: nearest rank, NaN when empty', (t) => {
  t.true(Number.isNaN(percentile([], 50)));
  t.is(percentile([5], 95), 5);
  const v = Array.from({ length: 100 }, (_, k) => 100 - k); // 100..1
  t.is(percentile(v, 50), 50);
  t.is(percentile(v, 95), 95);
  t.is(percentile(v, 100), 100);
});

test('StatsTracker: rates over recent events, counts', (t) => {
  const s = new StatsTracker();
  for (let k = 0; k < 11; k++) s.arrived(1000 + k * 100); // 10 fps
  for (let k = 0; k < 6; k++) s.done(k + 1, 20, 1000 + k * 200); // 5 fps
  const snap = s.snapshot(2000);
  t.is(snap.frames, 11);
  t.is(snap.processed, 6);
  t.true(Math.abs(snap.inputFps - 10) < 1e-9);
  t.true(Math.abs(snap.processedFps - 5) < 1e-9);
  t.deepEqual(snap.latencyMs, { p50: 3, p95: 6 });
  t.is(snap.forwardMs, 20);
});

test('toSource: boxes through an ffmpeg-scaled frame land where they would on the source frame', (t) => {
  // 1280×720 source, pad model 512×512: ffmpeg gives 512×288; the detector pads it
  const spec = { width: 512, height: 512, resize: 'pad' as const };
  const scaled = inputGeometry(512, 288, spec);
  const direct = inputGeometry(1280, 720, spec);
  const mapped = toSource(scaled, {
    image: { data: new Uint8Array(0), width: 512, height: 288, channels: 3 },
    sourceWidth: 1280,
    sourceHeight: 720,
  });
  for (const box of [
    [0.1, 0.2, 0.3, 0.4],
    [0, 0, 1, 0.5625],
    [0.5, 0.5, 0.9, 0.99],
  ]) {
    const a = boxToSource(box, mapped);
    const b = boxToSource(box, direct);
    a.forEach((v, k) => t.true(Math.abs(v - b[k]) < 1e-9, `${a} vs ${b}`));
  }
  // stretch: 300×300 from 1280×720
  const st = { width: 300, height: 300, resize: 'stretch' as const };
  const m2 = toSource(inputGeometry(300, 300, st), {
    image: { data: new Uint8Array(0), width: 300, height: 300, channels: 3 },
    sourceWidth: 1280,
    sourceHeight: 720,
  });
  t.deepEqual(boxToSource([0.25, 0.5, 0.75, 1], m2), [320, 360, 960, 720]);
});
