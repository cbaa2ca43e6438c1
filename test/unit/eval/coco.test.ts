/**
 * evaluateCoco on hand-computed cases: a perfect match, IoU exactly 0.75 (6 of 10 thresholds), crowd regions
 * (ignored detections, never consumed), area ranges, the maxDets cut, classes without ground truth, the accumulated
 * arrays, option validation.
 */
import test, { type ExecutionContext } from 'ava';
import { evaluateCoco, type GroundTruthImage, type XYXY } from '../../../lib/index.ts';

/** Equal within 1e-12 (a lone true positive has precision tp / (tp + fp + ε) = 1 − ε, then means of those). */
function near(t: ExecutionContext, actual: number, expected: number, message?: string): void {
  t.true(Math.abs(actual - expected) <= 1e-12, `${message ?? ''} ${actual} vs ${expected}`);
}
const gt = (boxes: Array<[string, XYXY, object?]>, image = 'a.jpg'): GroundTruthImage => ({
  image,
  boxes: boxes.map(([label, box, extra]) => ({ label, box, ...extra })),
});
const dets = (list: Array<[string, number, XYXY]>, image = 'a.jpg') => ({
  image,
  detections: list.map(([label, score, box]) => ({ label, score, box })),
});

test('a perfect match: every AP and AR is 1 (tp / (tp + ε)), area ranges without objects are NaN', (t) => {
  const r = evaluateCoco([gt([['cat', [0, 0, 10, 10]]])], [dets([['cat', 0.9, [0, 0, 10, 10]]])]);
  near(t, r.AP, 1);
  near(t, r.AP50, 1);
  near(t, r.AP75, 1);
  near(t, r.APs, 1, 'area 100 < 32² is small');
  t.true(Number.isNaN(r.APm));
  t.true(Number.isNaN(r.APl));
  t.is(r.AR1, 1);
  t.is(r.AR100, 1);
  t.is(r.ARs, 1);
  t.true(Number.isNaN(r.ARm));
  const c = r.perClass.cat;
  for (const v of [c.AP, c.AP50, c.AP75, c.APs, c.AR1, c.AR10, c.AR100, c.ARs]) near(t, v, 1);
  t.true([c.APm, c.APl, c.ARm, c.ARl].every(Number.isNaN));
});

test('IoU exactly 0.75 matches at .50 … .75: AP = AR = 6/10, AP50 = AP75 = 1', (t) => {
  const r = evaluateCoco([gt([['cat', [0, 0, 100, 100]]])], [dets([['cat', 0.9, [0, 0, 100, 75]]])]);
  near(t, r.AP, 0.6);
  near(t, r.AP50, 1);
  near(t, r.AP75, 1);
  near(t, r.AR100, 0.6);
  t.true(Number.isNaN(r.APs) && Number.isNaN(r.APm), 'area 10 000 is large');
  t.is(r.APl, r.AP);
});

test('a detection on a crowd region is ignored, and the region is never consumed', (t) => {
  const truth = [
    gt([
      ['cat', [0, 0, 10, 10]],
      ['cat', [100, 100, 300, 300], { iscrowd: true }],
    ]),
  ];
  // Two detections inside the crowd region (IoU = intersection / detection area = 1), above the true positive.
  const d = [
    dets([
      ['cat', 0.9, [150, 150, 200, 200]],
      ['cat', 0.8, [120, 120, 160, 160]],
      ['cat', 0.7, [0, 0, 10, 10]],
    ]),
  ];
  const r = evaluateCoco(truth, d);
  near(t, r.AP, 1, 'counted as false positives they would give precision 1/3');
  t.is(r.AR100, 1);
});

test('area ranges use the ground truth area (the `area` field over the box) and the detection box area', (t) => {
  // Box 40×40 = 1600 (medium) but area 500 (small).
  const r = evaluateCoco([gt([['cat', [0, 0, 40, 40], { area: 500 }]])], [dets([['cat', 0.9, [0, 0, 40, 40]]])]);
  near(t, r.APs, 1);
  t.true(Number.isNaN(r.APm), 'no medium ground truth');
  // An unmatched detection outside the range is ignored: a small object and a large false positive.
  const r2 = evaluateCoco(
    [gt([['cat', [0, 0, 10, 10]]])],
    [
      dets([
        ['cat', 0.9, [200, 200, 400, 400]],
        ['cat', 0.8, [0, 0, 10, 10]],
      ]),
    ],
  );
  near(t, r2.APs, 1, 'the large false positive does not count in the small range');
  t.true(r2.AP < 0.6, 'but it does in "all"');
});

test('maxDets cuts each image to its best detections', (t) => {
  const truth = [gt([['cat', [0, 0, 10, 10]]])];
  const d = [
    dets([
      ['cat', 0.9, [50, 50, 60, 60]],
      ['cat', 0.8, [70, 70, 80, 80]],
      ['cat', 0.7, [0, 0, 10, 10]],
    ]),
  ];
  const r = evaluateCoco(truth, d, { maxDets: [1, 2, 3] });
  t.is(r.AR1, 0);
  t.is(r.AR10, 0);
  t.is(r.AR100, 1);
  t.deepEqual(r.accumulated.maxDets, [1, 2, 3]);
  t.true(Math.abs(r.AP - 1 / 3) < 1e-12, 'precision 1/3 at recall 1 for every threshold');
});

test('a class without ground truth is NaN and excluded from the means', (t) => {
  const r = evaluateCoco(
    [gt([['cat', [0, 0, 10, 10]]])],
    [
      dets([
        ['cat', 0.9, [0, 0, 10, 10]],
        ['dog', 0.9, [0, 0, 10, 10]],
      ]),
    ],
  );
  t.deepEqual(r.classes, ['cat', 'dog']);
  t.true(Object.values(r.perClass.dog).every(Number.isNaN));
  near(t, r.AP, 1);
});

test('the accumulated arrays have pycocotools shapes and −1 where undefined', (t) => {
  const r = evaluateCoco([gt([['cat', [0, 0, 10, 10]]])], [dets([['dog', 0.9, [0, 0, 10, 10]]])]);
  const a = r.accumulated;
  t.is(a.iouThresholds.length, 10);
  t.is(a.recallThresholds.length, 101);
  t.deepEqual(
    a.areaRanges.map((x) => x.name),
    ['all', 'small', 'medium', 'large'],
  );
  t.is(a.precision.length, 10 * 101 * 2 * 4 * 3);
  t.is(a.recall.length, 10 * 2 * 4 * 3);
  // cat (k = 0), area all, maxDet 100: no detections → precision 0, recall 0; dog (k = 1): −1.
  const at = (tt: number, rr: number, k: number, aa: number, m: number) => (((tt * 101 + rr) * 2 + k) * 4 + aa) * 3 + m;
  t.is(a.precision[at(0, 0, 0, 0, 2)], 0);
  t.is(a.precision[at(0, 0, 1, 0, 2)], -1);
  t.is(a.recall[((0 * 2 + 0) * 4 + 0) * 3 + 2], 0);
  t.is(r.AP, 0);
});

test('custom IoU thresholds: AP50/AP75 are NaN when 0.5/0.75 are not among them', (t) => {
  const r = evaluateCoco([gt([['cat', [0, 0, 10, 10]]])], [dets([['cat', 0.9, [0, 0, 10, 10]]])], {
    iouThresholds: [0.6, 0.7],
  });
  near(t, r.AP, 1);
  t.true(Number.isNaN(r.AP50));
  t.true(Number.isNaN(r.AP75));
});

test('invalid options: clear errors', (t) => {
  const truth = [gt([['cat', [0, 0, 10, 10]]])];
  t.throws(() => evaluateCoco(truth, [], { maxDets: [1, 10] as unknown as [number, number, number] }), {
    instanceOf: TypeError,
    message: 'Expected Array of 3 integers for options.maxDets but received Array of length 2',
  });
  t.throws(() => evaluateCoco(truth, [], { maxDets: [10, 1, 100] }), {
    instanceOf: RangeError,
    message: 'Expected ascending integers for options.maxDets but received [10, 1, 100]',
  });
  t.throws(() => evaluateCoco(truth, [], { maxDets: [0, 1, 100] }), {
    instanceOf: RangeError,
    message: 'Expected integer ≥ 1 for options.maxDets[0] but received 0',
  });
  t.throws(() => evaluateCoco(truth, [], { iouThresholds: [0.5, 2] }), {
    instanceOf: RangeError,
    message: 'Expected number in [0, 1] for options.iouThresholds[1] but received 2',
  });
  t.throws(() => evaluateCoco(truth, [], { iouThresholds: [] }), { instanceOf: TypeError });
  t.throws(() => evaluateCoco(truth, [], { areaRng: [] } as object), {
    instanceOf: TypeError,
    message: "Unknown key 'areaRng' in options: expected one of 'maxDets', 'iouThresholds', 'classes'",
  });
});
