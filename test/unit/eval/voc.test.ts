/**
 * evaluateVoc on hand-computed cases: one TP, one FP, a known PR curve (all-point 17/30, 11-point 6.2/11), difficult
 * boxes, the +1 pixel convention, IoU exactly at the threshold, duplicates, classes without ground truth, option
 * validation.
 */
import test from 'ava';
import { evaluateVoc, type GroundTruthImage, vocAp, type XYXY } from '../../../lib/index.ts';

const gt = (boxes: Array<[string, XYXY, object?]>, image = 'a.jpg'): GroundTruthImage => ({
  image,
  boxes: boxes.map(([label, box, extra]) => ({ label, box, ...extra })),
});
const dets = (list: Array<[string, number, XYXY]>, image = 'a.jpg') => ({
  image,
  detections: list.map(([label, score, box]) => ({ label, score, box })),
});

test('one true positive: AP 1', (t) => {
  const r = evaluateVoc([gt([['cat', [0, 0, 10, 10]]])], [dets([['cat', 0.9, [0, 0, 10, 10]]])]);
  t.is(r.ap.cat, 1);
  t.is(r.map, 1);
  t.deepEqual(Array.from(r.curves.cat.recall), [1]);
  t.deepEqual(Array.from(r.curves.cat.precision), [1]);
  t.deepEqual(r.classes, ['cat']);
});

test('one false positive: AP 0', (t) => {
  const r = evaluateVoc([gt([['cat', [0, 0, 10, 10]]])], [dets([['cat', 0.9, [20, 20, 30, 30]]])]);
  t.is(r.ap.cat, 0);
  t.deepEqual(Array.from(r.curves.cat.precision), [0]);
});

// Four objects, five detections by score: TP FP TP FP TP. recall .25 .25 .5 .5 .75, precision 1 .5 2/3 .5 .6.
const fourBoxes = gt([
  ['cat', [0, 0, 10, 10]],
  ['cat', [20, 0, 30, 10]],
  ['cat', [40, 0, 50, 10]],
  ['cat', [60, 0, 70, 10]],
]);
const fiveDets = dets([
  ['cat', 0.9, [0, 0, 10, 10]],
  ['cat', 0.8, [100, 100, 110, 110]],
  ['cat', 0.7, [20, 0, 30, 10]],
  ['cat', 0.6, [100, 100, 110, 110]],
  ['cat', 0.5, [40, 0, 50, 10]],
]);

test('known PR curve: all-point AP = .25·1 + .25·2/3 + .25·.6 = 17/30', (t) => {
  const r = evaluateVoc([fourBoxes], [fiveDets]);
  t.deepEqual(Array.from(r.curves.cat.recall), [0.25, 0.25, 0.5, 0.5, 0.75]);
  t.deepEqual(Array.from(r.curves.cat.precision), [1, 0.5, 2 / 3, 0.5, 0.6]);
  t.deepEqual(Array.from(r.curves.cat.scores), [0.9, 0.8, 0.7, 0.6, 0.5]);
  t.true(Math.abs(r.ap.cat - 17 / 30) < 1e-12);
});

test('known PR curve: VOC2007 11-point AP = (3·1 + 3·2/3 + 2·.6 + 3·0) / 11', (t) => {
  const r = evaluateVoc([fourBoxes], [fiveDets], { use07Metric: true });
  t.true(Math.abs(r.ap.cat - 6.2 / 11) < 1e-12);
  t.true(Math.abs(vocAp([0.25, 0.25, 0.5, 0.5, 0.75], [1, 0.5, 2 / 3, 0.5, 0.6], true) - 6.2 / 11) < 1e-12);
});

test('input order does not matter except for ties; ties keep input order', (t) => {
  const shuffled = { image: 'a.jpg', detections: [...fiveDets.detections].reverse() };
  t.is(evaluateVoc([fourBoxes], [shuffled]).ap.cat, evaluateVoc([fourBoxes], [fiveDets]).ap.cat);
  // Two detections with one score: a TP listed first gives precision 1 then .5; listed second, 0 then .5.
  const tp: [string, number, XYXY] = ['cat', 0.5, [0, 0, 10, 10]];
  const fp: [string, number, XYXY] = ['cat', 0.5, [50, 50, 60, 60]];
  const one = [gt([['cat', [0, 0, 10, 10]]])];
  t.deepEqual(Array.from(evaluateVoc(one, [dets([tp, fp])]).curves.cat.precision), [1, 0.5]);
  t.deepEqual(Array.from(evaluateVoc(one, [dets([fp, tp])]).curves.cat.precision), [0, 0.5]);
  t.is(evaluateVoc(one, [dets([tp, fp])]).ap.cat, 1);
  t.is(evaluateVoc(one, [dets([fp, tp])]).ap.cat, 0.5);
});

test('a detection on a difficult box is neither true nor false positive', (t) => {
  const truth = [
    gt([
      ['cat', [0, 0, 10, 10]],
      ['cat', [20, 20, 30, 30], { difficult: true }],
    ]),
  ];
  const d = [
    dets([
      ['cat', 0.9, [20, 20, 30, 30]],
      ['cat', 0.8, [50, 50, 60, 60]],
      ['cat', 0.7, [0, 0, 10, 10]],
    ]),
  ];
  const r = evaluateVoc(truth, d);
  t.is(r.curves.cat.npos, 1);
  t.deepEqual(Array.from(r.curves.cat.recall), [0, 0, 1]);
  t.deepEqual(Array.from(r.curves.cat.precision), [0, 0, 0.5]);
  t.is(r.ap.cat, 0.5); // counted as a false positive it would be 1/3
  // iscrowd boxes count as difficult in VOC.
  const crowd = [
    gt([
      ['cat', [0, 0, 10, 10]],
      ['cat', [20, 20, 30, 30], { iscrowd: true }],
    ]),
  ];
  t.is(evaluateVoc(crowd, d).ap.cat, 0.5);
});

test('IoU exactly at the threshold matches (≥); the +1 pixel convention is an option', (t) => {
  const truth = [gt([['cat', [0, 0, 100, 100]]])];
  t.is(evaluateVoc(truth, [dets([['cat', 1, [0, 0, 100, 50]]])]).ap.cat, 1, 'IoU 0.5 at threshold 0.5');
  t.is(evaluateVoc(truth, [dets([['cat', 1, [0, 0, 100, 50]]])], { iouThreshold: 0.51 }).ap.cat, 0);
  // [0, 0, 9, 9] vs [0, 0, 9, 4]: continuous IoU 36/81 < .5; with +1, 50/100 = .5.
  const small = [gt([['cat', [0, 0, 9, 9]]])];
  const d = [dets([['cat', 1, [0, 0, 9, 4]]])];
  t.is(evaluateVoc(small, d).ap.cat, 0);
  t.is(evaluateVoc(small, d, { pixelOffset: 1 }).ap.cat, 1);
});

test('a duplicate detection of a taken box is a false positive', (t) => {
  const r = evaluateVoc(
    [gt([['cat', [0, 0, 10, 10]]])],
    [
      dets([
        ['cat', 0.9, [0, 0, 10, 10]],
        ['cat', 0.8, [0, 0, 10, 10]],
      ]),
    ],
  );
  t.deepEqual(Array.from(r.curves.cat.precision), [1, 0.5]);
  t.is(r.ap.cat, 1);
});

test('detections are matched within their own image and class', (t) => {
  const truth = [gt([['cat', [0, 0, 10, 10]]], 'a.jpg'), gt([['dog', [0, 0, 10, 10]]], 'b.jpg')];
  const r = evaluateVoc(truth, [
    dets([['dog', 0.9, [0, 0, 10, 10]]], 'a.jpg'),
    dets([['cat', 0.9, [0, 0, 10, 10]]], 'b.jpg'),
  ]);
  t.deepEqual(r.ap, { cat: 0, dog: 0 });
});

test('a class without ground truth has AP NaN and is left out of the mean; one without detections has AP 0', (t) => {
  const truth = [
    gt([
      ['cat', [0, 0, 10, 10]],
      ['dog', [20, 20, 30, 30]],
    ]),
  ];
  const r = evaluateVoc(truth, [
    dets([
      ['cat', 0.9, [0, 0, 10, 10]],
      ['bird', 0.5, [0, 0, 5, 5]],
    ]),
  ]);
  t.deepEqual(r.classes, ['bird', 'cat', 'dog']);
  t.true(Number.isNaN(r.ap.bird));
  t.is(r.ap.cat, 1);
  t.is(r.ap.dog, 0);
  t.is(r.map, 0.5);
  t.is(r.curves.dog.ndet, 0);
  // Only difficult boxes: npos 0 → NaN.
  t.true(Number.isNaN(evaluateVoc([gt([['cat', [0, 0, 1, 1], { difficult: true }]])], []).ap.cat));
});

test('empty inputs: no classes, mAP NaN', (t) => {
  const r = evaluateVoc([], []);
  t.deepEqual(r.classes, []);
  t.true(Number.isNaN(r.map));
  t.true(Number.isNaN(evaluateVoc([{ image: 'a', boxes: [] }], [{ image: 'a', detections: [] }]).map));
});

test('classes option: that order first, then the other labels sorted', (t) => {
  const truth = [
    gt([
      ['cat', [0, 0, 10, 10]],
      ['dog', [20, 20, 30, 30]],
      ['ant', [0, 0, 1, 1]],
    ]),
  ];
  t.deepEqual(evaluateVoc(truth, [], { classes: ['dog', 'zebra'] }).classes, ['dog', 'zebra', 'ant', 'cat']);
});

test('box objects { x1, y1, x2, y2 } (the Detector output) are accepted', (t) => {
  const r = evaluateVoc(
    [gt([['cat', [0, 0, 10, 10]]])],
    [{ image: 'a.jpg', detections: [{ label: 'cat', score: 0.9, box: { x1: 0, y1: 0, x2: 10, y2: 10 } }] }],
  );
  t.is(r.ap.cat, 1);
});

test('invalid options: clear errors', (t) => {
  const truth = [gt([['cat', [0, 0, 10, 10]]])];
  t.throws(() => evaluateVoc(truth, [], { iouThreshold: 1.5 }), {
    instanceOf: RangeError,
    message: 'Expected number in [0, 1] for options.iouThreshold but received 1.5',
  });
  t.throws(() => evaluateVoc(truth, [], { iouThreshold: Number.NaN }), { instanceOf: RangeError });
  t.throws(() => evaluateVoc(truth, [], { use07Metric: 1 as unknown as boolean }), {
    instanceOf: TypeError,
    message: 'Expected boolean for options.use07Metric but received 1',
  });
  t.throws(() => evaluateVoc(truth, [], { pixelOffset: 2 as 0 }), {
    instanceOf: TypeError,
    message: 'Expected 0 or 1 for options.pixelOffset but received 2',
  });
  t.throws(() => evaluateVoc(truth, [], { iou: 0.5 } as object), {
    instanceOf: TypeError,
    message: "Unknown key 'iou' in options: expected one of 'use07Metric', 'iouThreshold', 'pixelOffset', 'classes'",
  });
  t.throws(() => evaluateVoc(truth, [], { classes: ['a', 'a'] }), {
    instanceOf: TypeError,
    message: 'Expected distinct labels in options.classes but options.classes[1] repeats "a"',
  });
  t.throws(() => evaluateVoc(truth, [], 'voc07' as unknown as object), {
    instanceOf: TypeError,
    message: 'Expected object for options but received "voc07"',
  });
});
