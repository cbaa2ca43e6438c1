/**
 * evaluateModel with the tiny constant model (test/helpers/tiny-detector-model.ts): its detections are known for any
 * image, so the AP of a small JSONL dataset is worked out by hand here (not by the metrics under test), together
 * with the class mapping by name (dataset bird/dog against model cat/dog), batching, progress and bad input.
 */
import test from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createCanvas } from '@napi-rs/canvas';
import { openDataset } from '../../../lib/data/index.ts';
import { Detector } from '../../../lib/detector/detector.ts';
import { EVAL_SCORE_THRESHOLD, evaluateModel, scoreDetections } from '../../../lib/eval/run.ts';
import { GraphBuilder, int64s } from '../../../lib/model/graph.ts';
import { writeModelSpec } from '../../../lib/model/metadata.ts';
import { writeOnnx } from '../../../lib/model/onnx.ts';
import { TINY_BOXES, TINY_SCORES, tinyDecodedSpec, writeTinyDecodedModel } from '../../helpers/tiny-detector-model.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssd-edge-evalrun-'));
let detector: Detector;

/*
 * The tiny model, on any image W×H (stretch resize): after per-class NMS (IoU > 0.5 suppressed) and score > 0.01
 *   cat: A 0.9 [0.1, 0.1, 0.5, 0.5]·size, C 0.1 [0.6, 0.6, 0.9, 0.8]·size      (B 0.8 suppressed by A, IoU ≈ 0.9)
 *   dog: C 0.7,                              B 0.6 [0.12, 0.1, 0.52, 0.5]·size (A 0.05 suppressed by B)
 * Dataset (100 × 100 images): a.png dog at C + a bird; b.png dog at B.
 * Dog detections by score (ties in image order): C@a TP, C@b FP, B@a FP, B@b TP →
 *   precision 1, 1/2, 1/3, 1/2 at recall 1/2, 1/2, 1/2, 1.
 *   VOC all-point AP = 1/2 · 1 + 1/2 · 1/2 = 0.75; 11-point: (6 · 1 + 5 · 1/2) / 11 = 8.5 / 11.
 *   COCO (every IoU threshold: the matches are exact): interpolated precision 1 at the 51 recall points ≤ 0.5, 1/2 at
 *   the 50 above → AP = AP75 = (51 + 25) / 101.
 */
const C = [60, 60, 90, 80];
const B = [12, 10, 52, 50];

test.before(async () => {
  for (const name of ['a', 'b']) {
    const canvas = createCanvas(100, 100);
    const ctx = canvas.getContext('2d');
    ctx.fillStyle = name === 'a' ? '#808080' : '#406080';
    ctx.fillRect(0, 0, 100, 100);
    fs.writeFileSync(path.join(dir, `${name}.png`), canvas.encodeSync('png'));
  }
  const lines = [
    {
      image: 'a.png',
      boxes: [
        { label: 'dog', box: C },
        { label: 'bird', box: [0, 0, 10, 10] },
      ],
    },
    { image: 'b.png', boxes: [{ label: 'dog', box: B }] },
  ];
  fs.writeFileSync(path.join(dir, 'set.jsonl'), lines.map((l) => JSON.stringify(l)).join('\n'));
  detector = await Detector.load(writeTinyDecodedModel(undefined, dir));
});

test.after.always(async () => {
  await detector?.dispose();
  fs.rmSync(dir, { recursive: true, force: true });
});

const close = (a: number, b: number, tol = 1e-9) => Math.abs(a - b) <= tol;

test('AP by hand: classes matched by name, missing and extra classes reported, not scored', async (t) => {
  const dataset = await openDataset(path.join(dir, 'set.jsonl'));
  t.deepEqual(dataset.classes, ['bird', 'dog']);
  const r = await evaluateModel(detector, dataset);
  t.deepEqual(r.missingInModel, ['bird']);
  t.deepEqual(r.extraInModel, ['cat']);
  t.deepEqual(r.classes, ['dog']);
  t.deepEqual(Object.keys(r.perClass), ['dog']);
  t.true(close(r.ap50, 0.75), String(r.ap50));
  t.true(close(r.perClass.dog.ap50, 0.75));
  t.true(close(r.map, 76 / 101), String(r.map));
  t.true(close(r.ap75, 76 / 101), String(r.ap75));
  t.true(close(r.perClass.dog.map, 76 / 101));
  t.is(r.perClass.dog.npos, 2);
  t.is(r.images, 2);
  t.true(r.seconds > 0 && close(r.imagesPerSecond, 2 / r.seconds, 1e-6));
  t.like(r.settings, { scoreThreshold: EVAL_SCORE_THRESHOLD, iouThreshold: 0.5, maxDetections: 10, batchSize: 8 });
  // what was scored: no bird box, no cat detection; dog detections as worked out above
  t.deepEqual(
    r.groundTruth.map((g) => g.boxes.map((b) => b.label)),
    [['dog'], ['dog']],
  );
  for (const d of r.detections) {
    t.deepEqual(
      d.detections.map((x) => [x.label, Number(x.score.toFixed(6))]),
      [
        ['dog', 0.7],
        ['dog', 0.6],
      ],
    );
    const boxes = d.detections.map((x) => x.box as number[]);
    t.true(
      [...C, ...B].every((v, i) => close(boxes[i >> 2][i & 3], v, 1e-4)),
      JSON.stringify(boxes),
    );
  }
});

test('11-point AP, a higher score threshold, batch sizes and progress', async (t) => {
  const dataset = await openDataset(path.join(dir, 'set.jsonl'));
  const r07 = await evaluateModel(detector, dataset, { voc: { use07Metric: true } });
  t.true(close(r07.ap50, 8.5 / 11), String(r07.ap50));
  // score > 0.65 keeps C only: TP then FP → AP 1/2
  const high = await evaluateModel(detector, dataset, { scoreThreshold: 0.65 });
  t.true(close(high.ap50, 0.5), String(high.ap50));
  const calls: Array<[number, number]> = [];
  const one = await evaluateModel(detector, dataset, { batchSize: 1, onProgress: (d, n) => calls.push([d, n]) });
  t.deepEqual(calls, [
    [1, 2],
    [2, 2],
  ]);
  t.true(close(one.ap50, 0.75) && close(one.map, 76 / 101));
  t.is(one.settings.batchSize, 1);
  // a cap of 1 per image keeps C only (the cat detections do not take its place: extra labels are filtered first)
  const capped = await evaluateModel(detector, dataset, { maxDetections: 1 });
  t.deepEqual(
    capped.detections.map((d) => d.detections.length),
    [1, 1],
  );
  t.true(close(capped.ap50, 0.5));
});

test('an image whose size differs from its annotation is an error naming it', async (t) => {
  const file = path.join(dir, 'wrong-size.jsonl');
  fs.writeFileSync(
    file,
    JSON.stringify({ image: 'a.png', width: 120, height: 100, boxes: [{ label: 'dog', box: C }] }),
  );
  const dataset = await openDataset(file, { checkImages: false });
  await t.throwsAsync(evaluateModel(detector, dataset), { message: /a\.png.*100×100.*120×100/ });
});

test('bad arguments are TypeError/RangeError naming the parameter', async (t) => {
  const dataset = await openDataset(path.join(dir, 'set.jsonl'));
  await t.throwsAsync(evaluateModel(detector, dataset, { batch: 2 } as never), {
    instanceOf: TypeError,
    message: /batch/,
  });
  await t.throwsAsync(evaluateModel(detector, dataset, { batchSize: 0 }), {
    instanceOf: RangeError,
    message: /batchSize/,
  });
  await t.throwsAsync(evaluateModel(detector, dataset, { scoreThreshold: 2 }), {
    instanceOf: RangeError,
    message: /scoreThreshold/,
  });
  await t.throwsAsync(evaluateModel(detector, dataset, { onProgress: 1 } as never), {
    instanceOf: TypeError,
    message: /onProgress/,
  });
  await t.throwsAsync(evaluateModel({} as never, dataset), { instanceOf: TypeError, message: /detector/ });
  await t.throwsAsync(evaluateModel(detector, [] as never), { instanceOf: TypeError, message: /dataset/ });
});

test('scoreDetections: both metrics on saved detections, worked out by hand', (t) => {
  const gt = [
    { image: 'a', boxes: [{ label: 'dog', box: C as [number, number, number, number] }] },
    { image: 'b', boxes: [{ label: 'dog', box: B as [number, number, number, number] }] },
  ];
  const det = (box: number[], score: number) => ({ label: 'dog', score, box: box as [number, number, number, number] });
  const dets = [
    { image: 'a', detections: [det(C, 0.7), det(B, 0.6)] },
    {
      image: 'b',
      detections: [
        det(C, 0.7),
        det(B, 0.6),
        { label: 'cat', score: 0.9, box: [0, 0, 5, 5] as [number, number, number, number] },
      ],
    },
  ];
  const r = scoreDetections(gt, dets);
  t.true(close(r.ap50, 0.75) && close(r.map, 76 / 101) && close(r.ap75, 76 / 101));
  t.deepEqual(r.classes, ['cat', 'dog']);
  t.true(
    Number.isNaN(r.perClass.cat.ap50) && Number.isNaN(r.perClass.cat.map),
    'no ground truth: NaN, out of the means',
  );
  t.is(r.images, 2);
  t.deepEqual(scoreDetections(gt, dets, { classes: ['dog'] }).classes, ['dog', 'cat']);
});

test('the main entry exports the runner and the plots', async (t) => {
  const main = await import('../../../lib/index.ts');
  t.is(main.evaluateModel, evaluateModel);
  t.is(main.scoreDetections, scoreDetections);
  for (const name of ['writeEvalPlots', 'renderPrCurves', 'renderSummaryChart', 'openDataset', 'evaluateVoc'] as const)
    t.is(typeof main[name], 'function', name);
});

/** The tiny model with a fixed batch of 2 in its graph (input [2, 3, 8, 8]). */
function writeFixedBatchModel(): string {
  const n = TINY_BOXES.length;
  const g = new GraphBuilder('tiny_fixed');
  g.addInput('image', [2, 3, 8, 8]);
  const mean = g.op('ReduceMean', ['image'], { axes: [1, 2, 3], keepdims: 1 });
  const zero = g.op('Mul', [mean, g.addInitializer('zero', new Float32Array([0]), [])]);
  const z = g.op('Reshape', [zero, g.addInitializer('shape_b11', int64s([-1, 1, 1]), [3])]);
  g.addNode('Add', [z, g.addInitializer('const_boxes', Float32Array.from(TINY_BOXES.flat()), [1, n, 4])], ['boxes']);
  g.addNode('Add', [z, g.addInitializer('const_scores', Float32Array.from(TINY_SCORES.flat()), [1, n, 3])], ['scores']);
  g.addOutput('boxes', [2, n, 4]);
  g.addOutput('scores', [2, n, 3]);
  const model = g.toModel({ producerName: 'tiny-test' });
  const spec = tinyDecodedSpec();
  writeModelSpec(model, { ...spec, input: { ...spec.input, dynamicBatch: false } });
  const file = path.join(dir, 'tiny-fixed.onnx');
  fs.writeFileSync(file, writeOnnx(model));
  return file;
}

test('a model with a fixed batch: batches of its size, the last one padded; a larger batchSize is a RangeError', async (t) => {
  // a third image without any object: its two dog detections are false positives. By score (ties in image order):
  // C@a TP, C@b FP, C@c FP, B@a FP, B@b TP, B@c FP → precision 1, 1/2, 1/3, 1/4, 2/5, 1/3 at recall 1/2 ×4, 1, 1
  // → all-point AP = 1/2 · 1 + 1/2 · 2/5 = 0.7.
  const file = path.join(dir, 'three.jsonl');
  // a copy of a.png: one file listed twice is a duplicate-image problem
  fs.copyFileSync(path.join(dir, 'a.png'), path.join(dir, 'a-copy.png'));
  fs.writeFileSync(
    file,
    [
      { image: 'a.png', boxes: [{ label: 'dog', box: C }] },
      { image: 'b.png', boxes: [{ label: 'dog', box: B }] },
      { image: 'a-copy.png', width: 100, height: 100, boxes: [] },
    ]
      .map((l) => JSON.stringify(l))
      .join('\n'),
  );
  const dataset = await openDataset(file);
  const fixed = await Detector.load(writeFixedBatchModel());
  t.teardown(() => fixed.dispose());
  const calls: number[] = [];
  const r = await evaluateModel(fixed, dataset, { onProgress: (done) => calls.push(done) });
  t.is(r.settings.batchSize, 2);
  t.deepEqual(calls, [2, 3]);
  t.deepEqual(
    r.detections.map((d) => d.detections.length),
    [2, 2, 2],
  );
  t.true(close(r.ap50, 0.7), String(r.ap50));
  t.true(close((await evaluateModel(fixed, dataset, { batchSize: 1 })).ap50, 0.7), 'batch 1 padded to 2');
  await t.throwsAsync(evaluateModel(fixed, dataset, { batchSize: 3 }), {
    instanceOf: RangeError,
    message: /at most 2 \(the model's fixed batch\) for batchSize but received 3/,
  });
});

test('a COCO dataset: its annotation area (not the box area) decides small/medium/large', async (t) => {
  // Ground-truth dog boxes C (30 × 20 = 600 px², small by box area) and B (40 × 40 = 1600 px², medium) both say 5000
  // px² (medium) in their annotations: APs has no ground truth (NaN; by box area it would have C). APm by COCO's rule
  // (an unmatched detection outside the range is ignored): C@a TP, C@b (600 px², small) ignored, B@a FP, B@b TP →
  // precision 1, 1/2, 2/3 at recall 1/2, 1/2, 1 → interpolated 1 at the 51 recall points ≤ 0.5, 2/3 at the 50 above.
  // Category ids that are not indices; the bird (a crowd region) is a class the model lacks.
  const file = path.join(dir, 'instances.json');
  const xywh = (b: number[]) => [b[0], b[1], b[2] - b[0], b[3] - b[1]];
  fs.writeFileSync(
    file,
    JSON.stringify({
      images: [
        { id: 7, file_name: 'a.png', width: 100, height: 100 },
        { id: 9, file_name: 'b.png', width: 100, height: 100 },
      ],
      annotations: [
        { id: 1, image_id: 7, category_id: 18, bbox: xywh(C), area: 5000, iscrowd: 0 },
        { id: 2, image_id: 9, category_id: 18, bbox: xywh(B), area: 5000, iscrowd: 0 },
        { id: 3, image_id: 9, category_id: 16, bbox: [0, 0, 10, 10], area: 100, iscrowd: 1 },
      ],
      categories: [
        { id: 16, name: 'bird' },
        { id: 18, name: 'dog' },
      ],
    }),
  );
  const dataset = await openDataset(file);
  const r = await evaluateModel(detector, dataset);
  t.deepEqual(r.missingInModel, ['bird']);
  t.deepEqual(
    r.groundTruth.map((g) => g.boxes.map((b) => b.area)),
    [[5000], [5000]],
  );
  t.true(close(r.ap50, 0.75) && close(r.map, 76 / 101));
  t.true(close(r.coco.APm, (51 + 100 / 3) / 101), String(r.coco.APm));
  t.true(Number.isNaN(r.coco.APs), String(r.coco.APs));
});
