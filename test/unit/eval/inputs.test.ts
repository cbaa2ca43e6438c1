/**
 * Input forms and validation: our JSON shapes, COCO instances JSON, COCO results, `detect --json` output (image
 * matching by path, base name, stem; ambiguity and misses are errors); every invalid value gives a TypeError or
 * RangeError naming the path into the input.
 */
import path from 'node:path';
import test from 'ava';
import {
  type CocoGroundTruthJson,
  type DetectionImage,
  type DetectJsonOutput,
  evaluateCoco,
  evaluateVoc,
  type GroundTruthImage,
} from '../../../lib/index.ts';
import { scoreRanks, sortByScore } from '../../../lib/eval/inputs.ts';
import { num, readJson } from '../../helpers/fixtures.ts';

const one: GroundTruthImage[] = [{ image: 'a.jpg', boxes: [{ label: 'cat', box: [0, 0, 10, 10] }] }];
const hit: DetectionImage[] = [{ image: 'a.jpg', detections: [{ label: 'cat', score: 0.9, box: [0, 0, 10, 10] }] }];
const bad = (x: unknown) => x as any;

test('COCO instances JSON and COCO results, given directly, equal the oracle on the same set', (t) => {
  const set = readJson('eval/random-coco.json');
  const instances = readJson('eval/coco-instances.json');
  const results = readJson('eval/coco-results.json');
  const exp = set.expected.coco[0];
  const r = evaluateCoco(instances, results);
  t.deepEqual(r.classes, Object.keys(exp.perClass));
  for (const k of ['AP', 'AP50', 'AP75', 'APs', 'APm', 'APl', 'AR1', 'AR10', 'AR100', 'ARs', 'ARm', 'ARl'] as const) {
    const e = num(exp[k]);
    t.true(Math.abs(r[k] - e) <= 1e-6, `${k}: ${r[k]} vs ${e}`);
  }
  const voc = evaluateVoc(instances, results);
  t.true(Math.abs(voc.map - num(set.expected.voc[0].map)) <= 1e-6);
});

test('detect --json output is matched to the ground truth by base name and equals the oracle', (t) => {
  const set = readJson('eval/random-coco.json');
  const detect = readJson('eval/detect-output.json');
  t.true(detect[0].file.startsWith('photos/val/'));
  const r = evaluateVoc(set.groundTruth, detect);
  for (const c of r.classes) {
    const e = num(set.expected.voc[0].ap[c]);
    t.true(Number.isNaN(e) ? Number.isNaN(r.ap[c]) : Math.abs(r.ap[c] - e) <= 1e-6, c);
  }
});

test('detect --json image matching: exact, absolute path, base name, stem; ambiguous or missing is an error', (t) => {
  const d = (file: string): DetectJsonOutput => [
    { file, width: 10, height: 10, detections: [{ label: 'cat', score: 0.9, box: { x1: 0, y1: 0, x2: 10, y2: 10 } }] },
  ];
  const truth = (image: string) => [{ image, boxes: one[0].boxes }];
  t.is(evaluateVoc(truth('x/a.jpg'), d('x/a.jpg')).map, 1, 'exact');
  t.is(evaluateVoc(truth(path.resolve('x/a.jpg')), d('x/a.jpg')).map, 1, 'absolute path');
  t.is(evaluateVoc(truth('a.jpg'), d('photos/a.jpg')).map, 1, 'base name');
  t.is(evaluateVoc(truth('000001'), d('VOC/JPEGImages/000001.jpg')).map, 1, 'stem (VOC ids)');
  const two: GroundTruthImage[] = [
    { image: 'p/a.jpg', boxes: [] },
    { image: 'q/a.jpg', boxes: [] },
  ];
  t.throws(() => evaluateVoc(two, d('r/a.jpg')), {
    instanceOf: TypeError,
    message:
      'Expected detections[0].file ("r/a.jpg") to match one ground-truth image but its base name matches several (detections)',
  });
  t.throws(() => evaluateVoc(truth('a.jpg'), d('b.jpg')), {
    instanceOf: TypeError,
    message: 'Expected detections[0].file to name a ground-truth image but received "b.jpg" (no image matches it)',
  });
});

test('our detections are matched by exact image string; an unknown image is an error naming it', (t) => {
  t.throws(() => evaluateVoc(one, [{ image: 'b.jpg', detections: [] }]), {
    instanceOf: TypeError,
    message:
      'Expected detections[0].image to be a ground-truth image but received "b.jpg" (images are matched by exact string)',
  });
  t.throws(() => evaluateVoc(one, [{ image: './a.jpg', detections: [] }]), { instanceOf: TypeError });
});

test('COCO results: an image_id that is no ground-truth image is an error; category ids map to names', (t) => {
  const coco: CocoGroundTruthJson = {
    images: [{ id: 7, file_name: 'a.jpg' }],
    annotations: [{ id: 1, image_id: 7, category_id: 3, bbox: [0, 0, 10, 10], iscrowd: 0 }],
    categories: [{ id: 3, name: 'cat' }],
  };
  const r = evaluateVoc(coco, [{ image_id: 7, category_id: 3, bbox: [0, 0, 10, 10], score: 0.9 }]);
  t.deepEqual(r.ap, { cat: 1 });
  t.throws(() => evaluateVoc(coco, [{ image_id: 8, category_id: 3, bbox: [0, 0, 10, 10], score: 0.9 }]), {
    instanceOf: TypeError,
    message: 'Expected the id of a ground-truth image for detections[0].image_id but received 8',
  });
  // An unknown category is its id as a string (a class without ground truth).
  t.true(Number.isNaN(evaluateVoc(coco, [{ image_id: 7, category_id: 4, bbox: [0, 0, 1, 1], score: 0.9 }]).ap['4']));
});

test('a ground-truth list may carry COCO categories (readGroundTruthFile output): ids map to names', (t) => {
  const truth = Object.assign([{ image: '5', id: 5, boxes: [] }], { categories: [{ id: 2, name: 'kite' }] });
  const r = evaluateVoc(truth, [{ image_id: 5, category_id: 2, bbox: [0, 0, 1, 1], score: 0.5 }]);
  t.deepEqual(r.classes, ['kite']);
  t.throws(() => evaluateVoc(Object.assign([], { categories: [{ id: 2 }] }) as unknown as GroundTruthImage[], []), {
    instanceOf: TypeError,
    message: 'Expected non-empty string for groundTruth.categories[0].name but received undefined',
  });
});

test('invalid ground truth: errors name the path into the input', (t) => {
  const cases: Array<[unknown, new (...a: never[]) => Error, string]> = [
    [
      'gt.json',
      TypeError,
      'Expected Array of { image, boxes } or a COCO instances JSON object ({ images, annotations, categories }) for groundTruth but received "gt.json"',
    ],
    [[null], TypeError, 'Expected object for groundTruth[0] but received null'],
    [[{ image: '', boxes: [] }], TypeError, 'Expected non-empty string for groundTruth[0].image but received ""'],
    [[{ image: 'a' }], TypeError, 'Expected Array for groundTruth[0].boxes but received undefined'],
    [
      [
        { image: 'a', boxes: [] },
        {
          image: 'b',
          boxes: [
            { label: 'cat', box: [0, 0, 1, 1] },
            { label: 'cat', box: [0, 0, 1] },
          ],
        },
      ],
      TypeError,
      'Expected array [x1, y1, x2, y2] of finite numbers for groundTruth[1].boxes[1].box but received Array of length 3',
    ],
    [
      [{ image: 'a', boxes: [{ label: 'cat', box: [0, Number.NaN, 1, 1] }] }],
      RangeError,
      'Expected array [x1, y1, x2, y2] of finite numbers for groundTruth[0].boxes[0].box but received [0, NaN, 1, 1]',
    ],
    [
      [{ image: 'a', boxes: [{ label: 'cat', box: [5, 0, 1, 1] }] }],
      RangeError,
      'Expected x1 ≤ x2 and y1 ≤ y2 for groundTruth[0].boxes[0].box but received [5, 0, 1, 1]',
    ],
    [
      [{ image: 'a', boxes: [{ box: [0, 0, 1, 1] }] }],
      TypeError,
      'Expected non-empty string for groundTruth[0].boxes[0].label but received undefined',
    ],
    [
      [{ image: 'a', boxes: [{ label: 'cat', box: [0, 0, 1, 1], difficult: 1 }] }],
      TypeError,
      'Expected boolean for groundTruth[0].boxes[0].difficult but received 1',
    ],
    [
      [{ image: 'a', boxes: [{ label: 'cat', box: [0, 0, 1, 1], area: -1 }] }],
      RangeError,
      'Expected finite number ≥ 0 for groundTruth[0].boxes[0].area but received -1',
    ],
    [
      [{ image: 'a', width: 0, boxes: [] }],
      RangeError,
      'Expected finite number > 0 for groundTruth[0].width but received 0',
    ],
    [
      [
        { image: 'a', boxes: [] },
        { image: 'a', boxes: [] },
      ],
      TypeError,
      'Expected each image once in the ground truth but groundTruth[1] repeats "a"',
    ],
    [
      {
        images: [{ id: 1 }],
        annotations: [{ image_id: 2, category_id: 1, bbox: [0, 0, 1, 1] }],
        categories: [{ id: 1, name: 'a' }],
      },
      TypeError,
      'Expected the id of an image in images for groundTruth.annotations[0].image_id but received 2',
    ],
    [
      {
        images: [{ id: 1 }],
        annotations: [{ image_id: 1, category_id: 2, bbox: [0, 0, 1, 1] }],
        categories: [{ id: 1, name: 'a' }],
      },
      TypeError,
      'Expected the id of a category in categories for groundTruth.annotations[0].category_id but received 2',
    ],
    [
      {
        images: [{ id: 1 }],
        annotations: [{ image_id: 1, category_id: 1, bbox: [0, 0, -1, 1] }],
        categories: [{ id: 1, name: 'a' }],
      },
      RangeError,
      'Expected width ≥ 0 and height ≥ 0 for groundTruth.annotations[0].bbox but received [0, 0, -1, 1]',
    ],
    [
      { images: [{ id: 1 }, { id: 1 }], annotations: [], categories: [] },
      TypeError,
      'Expected each image id once but groundTruth.images[1] repeats id 1',
    ],
    [
      {
        images: [],
        annotations: [],
        categories: [
          { id: 1, name: 'a' },
          { id: 2, name: 'a' },
        ],
      },
      TypeError,
      'Expected each category name once but groundTruth.categories[1] repeats "a"',
    ],
  ];
  for (const [input, instanceOf, message] of cases) {
    t.throws(() => evaluateVoc(bad(input), []), { instanceOf, message });
    t.throws(() => evaluateCoco(bad(input), []), { instanceOf, message });
  }
});

test('invalid detections: errors name the path into the input', (t) => {
  const cases: Array<[unknown, new (...a: never[]) => Error, string]> = [
    [
      {},
      TypeError,
      'Expected Array of { image, detections }, detect --json output or a COCO results list for detections but received object',
    ],
    [
      [{ name: 'a.jpg' }],
      TypeError,
      'Expected { image, detections }, { file, detections } (detect --json) or { image_id, category_id, bbox, score } (COCO results) for detections[0] but received object',
    ],
    [[{ image: 'a.jpg' }], TypeError, 'Expected Array for detections[0].detections but received undefined'],
    [
      [{ image: 'a.jpg', detections: [{ label: 'cat', score: Number.NaN, box: [0, 0, 1, 1] }] }],
      RangeError,
      'Expected finite number for detections[0].detections[0].score but received NaN',
    ],
    [
      [{ image: 'a.jpg', detections: [{ label: 'cat', score: '0.9', box: [0, 0, 1, 1] }] }],
      TypeError,
      'Expected finite number for detections[0].detections[0].score but received "0.9"',
    ],
    [
      [{ image: 'a.jpg', detections: [{ label: 'cat', score: 0.9, box: { x1: 0, y1: 0, x2: 1 } }] }],
      TypeError,
      'Expected array [x1, y1, x2, y2] of finite numbers or { x1, y1, x2, y2 } for detections[0].detections[0].box but received object',
    ],
    [
      [{ image: 'a.jpg', detections: [{ label: 'cat', score: 0.9, box: [0, 0, 1, Number.POSITIVE_INFINITY] }] }],
      RangeError,
      'Expected array [x1, y1, x2, y2] of finite numbers or { x1, y1, x2, y2 } for detections[0].detections[0].box but received [0, 0, 1, Infinity]',
    ],
    [
      [
        { image: 'a.jpg', detections: [] },
        { image: 'a.jpg', detections: [] },
      ],
      TypeError,
      'Expected each image once in detections but detections[1] repeats "a.jpg" (also detections[0])',
    ],
  ];
  for (const [input, instanceOf, message] of cases) {
    t.throws(() => evaluateVoc(one, bad(input)), { instanceOf, message });
  }
  // A COCO image id also matches a ground-truth image named by it.
  t.throws(
    () => evaluateVoc([{ image: '1', boxes: [] }], bad([{ image_id: 1, category_id: 1, bbox: [0, 0, 1], score: 1 }])),
    {
      instanceOf: TypeError,
      message:
        'Expected array [x, y, width, height] of finite numbers for detections[0].bbox but received Array of length 3',
    },
  );
});

test('inputs are not modified', (t) => {
  const truth = structuredClone(one);
  const d = structuredClone(hit);
  evaluateVoc(truth, d);
  evaluateCoco(truth, d);
  t.deepEqual(truth, one);
  t.deepEqual(d, hit);
});

test('sortByScore: a stable sort by decreasing score (small and large groups, many ties) equals Array.prototype.sort', (t) => {
  let s = 12345;
  const rnd = () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
  for (const n of [0, 1, 5, 23, 24, 25, 200, 3000]) {
    const scores = Float64Array.from({ length: n }, () => Math.round(rnd() * 20) / 20 - (rnd() < 0.1 ? 5 : 0));
    const ranks = scoreRanks(scores);
    const items = Int32Array.from({ length: n }, (_, i) => i).reverse();
    const reference = Array.from(items).sort((a, b) => scores[b] - scores[a]);
    t.deepEqual(Array.from(sortByScore(items, ranks)), reference, `n = ${n}`);
  }
});
