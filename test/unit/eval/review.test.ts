/**
 * Regressions and hand-computed checks from reviewing issue 7: AP on tiny cases worked out by hand (VOC all-point and
 * 11-point with a difficult object and a duplicate, COCO with a crowd region that must swallow a detection), and
 * class names that are also Object.prototype keys (`__proto__`, `constructor`, `toString`), and detect --json files
 * matched through the ground-truth file's folder.
 */
import test from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { evaluateCoco, evaluateVoc, readDetectionsFile, readGroundTruthFile } from '../../../lib/eval/index.ts';
import { scoreDetections } from '../../../lib/eval/run.ts';
import type { DetectionImage, GroundTruthImage } from '../../../lib/eval/types.ts';

const near = (t: { true(v: boolean, m?: string): void }, a: number, b: number, what: string) =>
  t.true(Math.abs(a - b) <= 1e-12, `${what}: ${a} vs ${b}`);

test('VOC by hand: a difficult object is neither TP nor FP, a duplicate is a FP; all-point 5/6, 11-point 28/33', (t) => {
  // npos = 2 (A, C). By score: d1 on A (TP: P 1, R .5), d2 on the difficult B (neither), d3 on A again (FP: P .5),
  // d4 on C (TP: P 2/3, R 1). Envelope: 1 up to R .5, 2/3 up to R 1 → .5·1 + .5·2/3 = 5/6. 11-point: t = 0….5 → 1,
  // t = .6…1 → 2/3: (6 + 5·2/3) / 11 = 28/33.
  const gt: GroundTruthImage[] = [
    {
      image: 'a',
      boxes: [
        { label: 'cat', box: [0, 0, 10, 10] },
        { label: 'cat', box: [20, 0, 30, 10], difficult: true },
        { label: 'cat', box: [40, 0, 50, 10] },
      ],
    },
  ];
  const dt: DetectionImage[] = [
    {
      image: 'a',
      detections: [
        { label: 'cat', score: 0.6, box: [40, 0, 50, 10] },
        { label: 'cat', score: 0.9, box: [0, 0, 10, 10] },
        { label: 'cat', score: 0.7, box: [0, 0, 10, 10] },
        { label: 'cat', score: 0.8, box: [20, 0, 30, 10] },
      ],
    },
  ];
  near(t, evaluateVoc(gt, dt).ap.cat, 5 / 6, 'all-point');
  near(t, evaluateVoc(gt, dt, { use07Metric: true }).ap.cat, 28 / 33, '11-point');
  // the difficult box counted as an object instead: npos 3, d2 a TP → P 1, 1, 2/3, 3/4 at R 1/3, 2/3, 2/3, 1
  const plain = [{ image: 'a', boxes: gt[0].boxes.map((b) => ({ label: b.label, box: b.box })) }];
  near(t, evaluateVoc(plain, dt).ap.cat, (2 / 3) * 1 + (1 / 3) * 0.75, 'without difficult');
});

test('COCO by hand: a detection inside a crowd region is ignored, not a false positive; AR1 sees only it', (t) => {
  // p: A [0,0,10,10] (area 100: small) and a crowd region [20,0,60,40]. By score: d1 inside the crowd (IoU with a crowd
  // region = intersection / detection area = 1: matched to it, ignored), d2 on A (TP at every threshold), d3 far (FP).
  // Precision at the first TP is 1 → AP 1 (a false positive d1 would make it 0.5). maxDet 1 keeps only d1 → AR1 0.
  const gt: GroundTruthImage[] = [
    {
      image: 'a',
      boxes: [
        { label: 'p', box: [0, 0, 10, 10] },
        { label: 'p', box: [20, 0, 60, 40], iscrowd: true },
      ],
    },
  ];
  const dt: DetectionImage[] = [
    {
      image: 'a',
      detections: [
        { label: 'p', score: 0.95, box: [30, 10, 40, 20] },
        { label: 'p', score: 0.9, box: [0, 0, 10, 10] },
        { label: 'p', score: 0.7, box: [100, 100, 110, 110] },
      ],
    },
  ];
  const r = evaluateCoco(gt, dt);
  const eps = 2.220446049250313e-16; // precision = TP / (TP + FP + ε), as pycocotools
  near(t, r.AP, 1 / (1 + eps), 'AP');
  near(t, r.APs, r.AP, 'APs');
  t.true(Number.isNaN(r.APm) && Number.isNaN(r.APl), 'no medium or large ground truth (the crowd region is ignored)');
  t.deepEqual([r.AR1, r.AR10, r.AR100], [0, 1, 1]);
  // without the crowd flag the region is an object: d1 is a FP before the TP (P .5), and recall stops at 1/2
  const noCrowd = evaluateCoco([{ image: 'a', boxes: gt[0].boxes.map((b) => ({ label: b.label, box: b.box })) }], dt);
  t.true(noCrowd.AP < 0.5);
});

test('class names that are Object.prototype keys are classes like any other (not lost, not NaN in the means)', (t) => {
  const labels = ['__proto__', 'constructor', 'toString'];
  const gt: GroundTruthImage[] = [
    { image: 'a', boxes: labels.map((label) => ({ label, box: [0, 0, 10, 10] as [number, number, number, number] })) },
  ];
  // __proto__ and toString found, constructor missed
  const dt: DetectionImage[] = [
    {
      image: 'a',
      detections: [
        { label: '__proto__', score: 0.9, box: [0, 0, 10, 10] },
        { label: 'toString', score: 0.8, box: [0, 0, 10, 10] },
      ],
    },
  ];
  const voc = evaluateVoc(gt, dt);
  t.deepEqual(Object.keys(voc.ap), labels);
  t.deepEqual(
    labels.map((l) => voc.ap[l]),
    [1, 0, 1],
  );
  t.is(voc.map, 2 / 3);
  t.deepEqual(Object.keys(voc.curves), labels);
  const coco = evaluateCoco(gt, dt);
  t.deepEqual(Object.keys(coco.perClass), labels);
  t.is(coco.perClass[labels[1]].AP, 0); // 'constructor': own data, not Object's constructor
  const e = scoreDetections(gt, dt);
  t.deepEqual(Object.keys(e.perClass), labels);
  t.deepEqual(
    labels.map((l) => e.perClass[l].npos),
    [1, 1, 1],
  );
  t.is(Object.getOwnPropertyDescriptor(JSON.parse(JSON.stringify(e.perClass)), '__proto__')?.value.ap50, 1);
});

test('readGroundTruthFile: detect --json paths match ground-truth paths relative to its file, even when base names repeat', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssd-edge-review-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.mkdirSync(path.join(dir, 'data'));
  const gtFile = path.join(dir, 'data', 'set.jsonl');
  fs.writeFileSync(
    gtFile,
    ['cats/1.jpg', 'dogs/1.jpg']
      .map((image, k) => JSON.stringify({ image, boxes: [{ label: 'face', box: [k, 0, k + 10, 10] }] }))
      .join('\n'),
  );
  // detect ran elsewhere: its paths are absolute here (relative ones resolve against the working directory)
  const detFile = path.join(dir, 'dets.json');
  const detect = (sub: string, k: number) => ({
    file: path.join(dir, 'data', sub, '1.jpg'),
    detections: [{ label: 'face', score: 0.9, box: { x1: k, y1: 0, x2: k + 10, y2: 10 } }],
  });
  fs.writeFileSync(detFile, JSON.stringify([detect('dogs', 1), detect('cats', 0)]));
  const gt = await readGroundTruthFile(gtFile);
  t.is(gt.baseDir, path.join(dir, 'data'));
  const dets = await readDetectionsFile(detFile, gt);
  t.deepEqual(
    dets.map((d) => d.image),
    ['dogs/1.jpg', 'cats/1.jpg'],
  );
  t.is(evaluateVoc(gt, dets).map, 1);
  // without the folder, the base names are ambiguous: one clear error
  const bare = gt.map((g) => g);
  await t.throwsAsync(readDetectionsFile(detFile, bare), { message: /its base name matches several/ });
});

test('readGroundTruthFile / readDetectionsFile: a UTF-8 byte order mark is skipped', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssd-edge-review-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const gtFile = path.join(dir, 'gt.json');
  const detFile = path.join(dir, 'det.json');
  fs.writeFileSync(
    gtFile,
    `\uFEFF${JSON.stringify({ images: [{ id: 3, file_name: 'a.jpg' }], annotations: [{ id: 1, image_id: 3, category_id: 1, bbox: [0, 0, 10, 10] }], categories: [{ id: 1, name: 'cat' }] })}`,
  );
  fs.writeFileSync(
    detFile,
    `\uFEFF${JSON.stringify([{ image_id: 3, category_id: 1, bbox: [0, 0, 10, 10], score: 1 }])}`,
  );
  const gt = await readGroundTruthFile(gtFile);
  t.deepEqual(gt[0].boxes[0].box, [0, 0, 10, 10]);
  t.is(evaluateVoc(gt, await readDetectionsFile(detFile, gt)).map, 1);
});
