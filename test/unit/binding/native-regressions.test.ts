/**
 * Inputs that once crashed the addon or made it disagree with the TS twin (from review), each checked in a child
 * process where a crash would show as a signal: inverted boxes in the NMS grid, a buffer transferred while the async
 * postprocess runs, a getter that detaches the output array mid-call, SharedArrayBuffer-backed arrays.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { binding } from '../../../lib/binding.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

function runChild(t: import('ava').ExecutionContext, script: string): unknown {
  const r = spawnSync(process.execPath, ['--expose-gc', '--import=tsx', '--input-type=module', '-e', script], {
    cwd: root,
    encoding: 'utf8',
    timeout: 120_000,
  });
  t.is(r.signal, null, `child died with ${r.signal}: ${r.stderr.slice(-1500)}`);
  t.is(r.status, 0, r.stderr.slice(-1500));
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

if (!binding) {
  test('native regressions: skipped — the addon is not loaded', (t) => t.pass());
} else {
  test('inverted boxes (x2 < x1) through softNms, the NMS grid (≥ 16384 boxes) and postprocess equal the TS twin', (t) => {
    const out = runChild(
      t,
      `
      import { softNms, nms, postprocessDetections } from './lib/index.ts';
      import { softNmsTs, nmsTs, postprocessDetectionsTs } from './lib/reference.ts';
      const one = new Float32Array([10, 0, 8.5, 1]), flat = new Float32Array([10, 0, 0, 1]);
      const r1 = softNms(one, new Float32Array([0.9])), r2 = softNms(flat, new Float32Array([0.9]));
      const n = 16384, boxes = new Float32Array(4 * n), scores = new Float32Array(n).fill(0.5);
      for (let i = 0; i < n; i++) boxes.set([10 + (i % 5), 0, 8.5, 1], 4 * i);
      const k = nms(boxes, scores, 0.5), kt = nmsTs(boxes, scores, 0.5);
      const input = { boxRegression: boxes, classLogits: scores, anchors: new Float32Array(0), numClasses: 1 };
      const opts = { scoring: 'none', boxEncoding: 'xyxy', backgroundIndex: -1, scoreThresh: 0, topkCandidates: Infinity, detectionsPerImg: Infinity, clipBoxes: false };
      const p = postprocessDetections(input, opts)[0], pt = postprocessDetectionsTs(input, opts)[0];
      console.log(JSON.stringify({ s1: [...r1.indices], s2: [...r2.indices], same: k.length === kt.length && k.every((v, i) => v === kt[i]), kept: k.length,
        pp: p.scores.length === pt.scores.length && p.labels.every((v, i) => v === pt.labels[i]) }));`,
    ) as Record<string, unknown>;
    t.deepEqual(out, { s1: [0], s2: [0], same: true, kept: 16384, pp: true });
  });

  test('transferring an input buffer while postprocessAsync runs does not touch freed memory', (t) => {
    const out = runChild(
      t,
      `
      import { postprocessDetectionsAsync, postprocessDetections, defaultBoxes } from './lib/index.ts';
      const anchors = defaultBoxes('torchvision-ssd300-vgg16'), N = anchors.length / 4, C = 91;
      let same = 0;
      for (let r = 0; r < 3; r++) {
        const logits = new Float32Array(N * C).map((_, i) => Math.sin(i * 0.37) * 3);
        const reg = new Float32Array(4 * N).map((_, i) => Math.cos(i * 0.11) * 0.5);
        const expected = postprocessDetections({ boxRegression: reg, classLogits: logits, anchors, numClasses: C });
        const pending = postprocessDetectionsAsync({ boxRegression: reg, classLogits: logits, anchors, numClasses: C });
        structuredClone(logits.buffer, { transfer: [logits.buffer] });
        structuredClone(reg.buffer, { transfer: [reg.buffer] });
        globalThis.gc();
        const [d] = await pending;
        if (d.scores.length === expected[0].scores.length && d.scores.every((v, i) => v === expected[0].scores[i])) same++;
      }
      console.log(JSON.stringify({ same }));`,
    ) as { same: number };
    t.is(out.same, 3);
  });

  test('a layout getter that detaches the output array makes preprocessPixels throw, not crash', (t) => {
    const out = runChild(
      t,
      `
      import { binding } from './lib/binding.ts';
      const outArr = new Float32Array(3 * 4 * 4);
      const layout = { get width() { structuredClone(outArr.buffer, { transfer: [outArr.buffer] }); globalThis.gc(); return 4; },
        height: 4, offset: 0, nchw: true, bgr: false, scale: new Float32Array([1, 1, 1]), bias: new Float32Array(3) };
      let message = '';
      try { binding.preprocessPixels(new Uint8Array(4 * 4 * 3), 4, 4, 3, outArr, layout, null, 0); } catch (e) { message = e.constructor.name + ': ' + e.message; }
      console.log(JSON.stringify({ message }));`,
    ) as { message: string };
    t.regex(
      out.message,
      /^TypeError: Expected Float32Array of length ≥ .* for out but received Float32Array of length 0$/,
    );
  });

  test('typed arrays on a SharedArrayBuffer work like ordinary ones', (t) => {
    const out = runChild(
      t,
      `
      import { nms, boxIou } from './lib/index.ts';
      const boxes = new Float32Array(new SharedArrayBuffer(48)); boxes.set([0, 0, 10, 10, 1, 1, 10, 10, 20, 20, 30, 30]);
      const scores = new Float32Array(new SharedArrayBuffer(12)); scores.set([0.9, 0.8, 0.7]);
      console.log(JSON.stringify({ keep: [...nms(boxes, scores, 0.5)], iou: boxIou(boxes, boxes)[1] }));`,
    ) as { keep: number[]; iou: number };
    t.deepEqual(out.keep, [0, 2]);
    t.true(Math.abs(out.iou - 0.81) < 1e-6);
  });
}

if (binding) {
  test('clipping maps −0 to +0 and keeps NaN, in native as in the TS twin', async (t) => {
    const { postprocessDetections } = await import('../../../lib/index.ts');
    const { postprocessDetectionsTs } = await import('../../../lib/reference.ts');
    const input = {
      boxRegression: new Float32Array([-0, -0, 0.5, 0.5, NaN, 0.2, 0.3, 1.5]),
      classLogits: new Float32Array([0.9, 0.8]),
      anchors: new Float32Array(0),
      numClasses: 1,
      imageSizes: [[10, 10]] as Array<[number, number]>,
    };
    const options = {
      scoring: 'none',
      boxEncoding: 'xyxy',
      backgroundIndex: -1,
      scoreThresh: 0,
      clipBoxes: true,
    } as const;
    const a = postprocessDetections(input, options)[0].boxes,
      b = postprocessDetectionsTs(input, options)[0].boxes;
    t.deepEqual(
      [...a].map((v) => (Object.is(v, -0) ? '-0' : Number.isNaN(v) ? 'NaN' : v)),
      [...b].map((v) => (Object.is(v, -0) ? '-0' : Number.isNaN(v) ? 'NaN' : v)),
    );
    t.true(Object.is(a[0], 0));
  });

  test('counts beyond int32 are refused by the facade with the limit in the message', async (t) => {
    const { postprocessDetections } = await import('../../../lib/index.ts');
    const err = t.throws(() =>
      postprocessDetections({
        boxRegression: new Float32Array(0),
        classLogits: new Float32Array(0),
        anchors: new Float32Array(0),
        numClasses: 2 ** 31,
      }),
    );
    t.is(err!.message, 'Expected integer in [1, 2147483647] for numClasses but received 2147483648');
  });

  test('the NMS grid sizes its dense cell arrays by its boxes: one sparse pair per size class stays small in memory', (t) => {
    // Two boxes 63 cells apart in every (width, height) binade: each size class once allocated a 4096-cell array.
    const out = runChild(
      t,
      `
      import { nms } from './lib/index.ts';
      import { nmsTs as ref } from './lib/reference.ts';
      const B = [], S = [];
      for (let e = -60; e <= 60; e++) for (let f = -60; f <= 60; f++) {
        const w = 2 ** e, h = 2 ** f;
        if (!(Math.fround(w * h) > 0 && Number.isFinite(w * h))) continue;
        for (const k of [0, 63]) { B.push(2 * k * w, 2 * k * h, 2 * k * w + 1.5 * w, 2 * k * h + 1.5 * h); S.push(((B.length * 7919) % 1000) / 1000); }
      }
      const boxes = new Float32Array(B), scores = new Float32Array(S);
      globalThis.gc();
      const before = process.memoryUsage().rss;
      const keep = nms(boxes, scores, 0.5);
      const grown = (process.resourceUsage().maxRSS * 1024 - before) / 2 ** 20;
      console.log(JSON.stringify({ n: S.length, grown, same: JSON.stringify(Array.from(keep)) === JSON.stringify(Array.from(ref(boxes, scores, 0.5))) }));
      `,
    ) as { n: number; grown: number; same: boolean };
    t.true(out.n >= 16384, 'enough boxes for the grid');
    t.true(out.same, 'same indices as the TS twin');
    t.true(out.grown < 40, `peak RSS grew ${out.grown.toFixed(1)} MB (was ~60 MB with 4096 cells per class)`);
  });
}
