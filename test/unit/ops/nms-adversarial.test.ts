/**
 * NMS on box layouts that once made the native grid index quadratic (issue #6 B3: one huge box among many small
 * ones, coordinates near ±3e38, NaN/Inf mixed in), that stressed its size classes (all sizes mixed, tiny and
 * subnormal areas, thin crossing boxes) and that stress the bounding-box tree that replaced it (dense overlap,
 * aspect ratios to 10^6, far-apart nested clusters, staggered sticks). Above 16 384 candidates
 * nms/batchedNms/postprocessDetections use the tree, so these sizes exercise it (softNms from 513 on); results must
 * equal the plain greedy reference written here (O(N·kept)) and the TS soft-NMS twin.
 * Speed on 10^6 boxes is measured by `npm run bench` (bench/core.ts, adversarial rows), not here.
 */
import test from 'ava';
import { backend, batchedNms, nms, postprocessDetections, softNms } from '../../../lib/index.ts';
import { softNmsTs } from '../../../lib/ops/nms.ts';
import { assertSameArray } from '../../helpers/compare.ts';
import { mulberry32 } from '../../helpers/random.ts';
import { nmsIouF32 } from '../../helpers/reference.ts';

type Layout = (i: number, n: number, rnd: () => number) => [number, number, number, number];

const small = (rnd: () => number, extent: number): [number, number, number, number] => {
  const x = rnd() * extent,
    y = rnd() * extent;
  return [x, y, x + 1 + rnd() * 8, y + 1 + rnd() * 8];
};

const layouts: Record<string, Layout> = {
  'small + [0,0,1e30,1e30] (best and worst score)': (i, n, rnd) =>
    i === 0 || i === n - 1 ? [0, 0, 1e30, 1e30] : small(rnd, 400),
  'small + corners at ±3e38': (i, _n, rnd) =>
    i % 500 === 1
      ? [-3e38, -3e38, -2.9e38, -2.9e38]
      : i % 500 === 2
        ? [2.9e38, 2.9e38, 3e38, 3e38]
        : i % 500 === 3
          ? [-3e38, -3e38, 3e38, 3e38]
          : small(rnd, 400),
  'NaN/±Inf/inverted mixed in': (_i, _n, rnd) => {
    const r = rnd();
    if (r < 0.05) return [NaN, 0, 1, 1];
    if (r < 0.1) return [-Infinity, -Infinity, Infinity, Infinity];
    if (r < 0.15) return [10, 10, 5, 20];
    return small(rnd, 400);
  },
  'sizes 1e-3…1e3 mixed': (_i, _n, rnd) => {
    const x = rnd() * 3000,
      y = rnd() * 3000;
    return [x, y, x + 10 ** (rnd() * 6 - 3), y + 10 ** (rnd() * 6 - 3)];
  },
  'tiny and subnormal areas': (i, _n, rnd) => {
    const x = rnd() * 1e-19,
      y = rnd() * 1e-19,
      s = 1e-20 * (1 + 3 * rnd());
    return [x, y, x + s, y + (i % 3 ? s : 1e-44 * (1 + 8 * rnd()))];
  },
  'thin crossing boxes': (i, _n, rnd) => {
    const x = rnd() * 60,
      y = rnd() * 60,
      t = 0.01 + 0.05 * rnd();
    return i % 2 ? [x, y, x + 40, y + t] : [x, y, x + t, y + 40];
  },
  // The reviewer's IoU-0 repro, scaled down: boxes [2^e, 2^f, 2^(e+1), 2^(f+1)] of every binade pair nested
  // around the origin, among small boxes.
  'binade pairs nested around the origin + small': (i, _n, rnd) => {
    if (i % 4) {
      const x = rnd() * 100,
        y = rnd() * 100;
      return [x, y, x + 0.5, y + 0.5];
    }
    const e = Math.floor(rnd() * 61) - 30,
      f = Math.floor(rnd() * 61) - 30;
    return [2 ** e, 2 ** f, 2 ** (e + 1), 2 ** (f + 1)];
  },
  // Layouts that stress the bounding-box tree (issue #6 B3, last part).
  'dense overlap (sides 1–9 in 60 × 60)': (_i, _n, rnd) => small(rnd, 60),
  'crossing bars 1e-3 × 1e3 (aspect to 10^6)': (i, _n, rnd) => {
    const x = rnd() * 1e4,
      y = rnd() * 1e4,
      a = 1e-3 * (1 + rnd()),
      l = 1e3 * (1 + rnd());
    return i % 2 ? [x, y, x + a, y + l] : [x, y, x + l, y + a];
  },
  'clusters 1e30 apart of nested sides 1e-6…1e6': (i, _n, rnd) => {
    const cx = (i % 4) * 1e30,
      cy = (Math.floor(i / 4) % 4) * 1e30,
      s = 10 ** (rnd() * 12 - 6);
    return [cx - s, cy - s * (0.5 + rnd()), cx + s, cy + s];
  },
  'staggered sticks and rails': (i, _n, rnd) => {
    const x = rnd() * 100,
      y = rnd() * 100;
    return i % 2 ? [x, y, x + 0.1, y + 10] : [x, Math.floor(y) + 0.25, x + 20, Math.floor(y) + 0.5];
  },
  'power-of-two sizes on a lattice (shared edges)': (i, _n, rnd) => {
    const w = 2 ** (Math.floor(rnd() * 9) - 3),
      h = i % 4 ? w : 2 ** (Math.floor(rnd() * 9) - 3),
      x = Math.floor(rnd() * 128) / 2,
      y = Math.floor(rnd() * 128) / 2;
    return [x, y, x + w, y + h];
  },
};

function makeLayout(layout: Layout, n: number, seed: number) {
  const rnd = mulberry32(seed);
  const boxes = new Float32Array(4 * n);
  const scores = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    boxes.set(layout(i, n, rnd), 4 * i);
    scores[i] = rnd();
  }
  scores[0] = 2;
  scores[n - 1] = -1;
  return { boxes, scores };
}

/**
 * Plain greedy NMS: decreasing score, ties by ascending index; drop a box whose float32 IoU (nmsIouF32, the
 * torchvision formula) with a kept box of its class is > t. A pair that does not intersect (or a kept box with a
 * non-finite coordinate) has IoU 0, which is never > t ≥ 0: those pairs skip the IoU call (keeps this affordable).
 */
function referenceNms(boxes: Float32Array, scores: Float32Array, t: number, classIds?: Int32Array): number[] {
  const order = Array.from(scores.keys()).filter((i) => !Number.isNaN(scores[i]));
  order.sort((p, q) => scores[q] - scores[p] || p - q);
  const keep: number[] = [];
  const kept = new Float32Array(4 * scores.length);
  const keptIdx = new Int32Array(scores.length);
  let count = 0;
  for (const i of order) {
    const [x1, y1, x2, y2] = boxes.subarray(4 * i, 4 * i + 4);
    let suppressed = false;
    for (let c = 0; c < count && !suppressed; c++) {
      if (!(kept[4 * c] < x2 && kept[4 * c + 2] > x1 && kept[4 * c + 1] < y2 && kept[4 * c + 3] > y1)) continue;
      const k = keptIdx[c];
      suppressed = (!classIds || classIds[k] === classIds[i]) && nmsIouF32(boxes, k, boxes, i) > t;
    }
    if (suppressed) continue;
    keep.push(i);
    if ([x1, y1, x2, y2].every(Number.isFinite)) {
      kept.set([x1, y1, x2, y2], 4 * count);
      keptIdx[count++] = i;
    }
  }
  return keep;
}

const N = 17000; // > 16 384: the tree path

for (const [name, layout] of Object.entries(layouts)) {
  test(`nms (${backend}) = greedy reference on ${N} boxes: ${name}`, (t) => {
    const { boxes, scores } = makeLayout(layout, N, 11);
    for (const thr of [0.5])
      assertSameArray(t, nms(boxes, scores, thr), referenceNms(boxes, scores, thr), `${name} @${thr}`);
  });
}

// IoU threshold 0 and tiny thresholds: no side-ratio bound, only positive-area overlap prunes the tree.
for (const name of [
  'binade pairs nested around the origin + small',
  'power-of-two sizes on a lattice (shared edges)',
  'sizes 1e-3…1e3 mixed',
  'thin crossing boxes',
  'crossing bars 1e-3 × 1e3 (aspect to 10^6)',
  'clusters 1e30 apart of nested sides 1e-6…1e6',
  'staggered sticks and rails',
  'dense overlap (sides 1–9 in 60 × 60)',
]) {
  test(`nms (${backend}) = greedy reference on ${N} boxes at IoU 0 and 0.01: ${name}`, (t) => {
    const { boxes, scores } = makeLayout(layouts[name], N, 21);
    for (const thr of [0, 0.01])
      assertSameArray(t, nms(boxes, scores, thr), referenceNms(boxes, scores, thr), `${name} @${thr}`);
  });
}

test(`batchedNms (${backend}) = per-class greedy reference, one class of ${N} adversarial boxes and two small ones`, (t) => {
  const { boxes, scores } = makeLayout(layouts['small + [0,0,1e30,1e30] (best and worst score)'], N + 400, 5);
  const classIds = new Int32Array(N + 400).map((_, i) => (i < N ? 3 : i % 2 ? -1 : 7));
  const expected = referenceNms(boxes, scores, 0.5, classIds).sort((p, q) => scores[q] - scores[p] || p - q);
  assertSameArray(t, batchedNms(boxes, scores, classIds, 0.5), expected, 'batched');
});

test(`postprocessDetections (${backend}, decoded xyxy, no clip) on ${N} adversarial candidates = greedy reference`, (t) => {
  const { boxes, scores } = makeLayout(layouts['small + corners at ±3e38'], N, 9);
  for (let i = 0; i < N; i++) scores[i] = Math.min(Math.max(scores[i], 0.01), 0.99); // valid class scores
  const classLogits = new Float32Array(2 * N);
  for (let i = 0; i < N; i++) classLogits[2 * i + 1] = scores[i];
  const [det] = postprocessDetections(
    { boxRegression: boxes, classLogits, anchors: new Float32Array(0), numClasses: 2 },
    {
      scoring: 'none',
      boxEncoding: 'xyxy',
      backgroundIndex: 0,
      scoreThresh: 0,
      nmsThresh: 0.5,
      topkCandidates: Infinity,
      detectionsPerImg: Infinity,
      clipBoxes: false,
    },
  );
  const class1 = new Float32Array(N).map((_, i) => classLogits[2 * i + 1]);
  const keep = referenceNms(boxes, class1, 0.5);
  t.is(det.scores.length, keep.length);
  assertSameArray(
    t,
    det.scores,
    keep.map((i) => class1[i]),
    'scores',
  );
  assertSameArray(
    t,
    det.boxes,
    keep.flatMap((i) => Array.from(boxes.subarray(4 * i, 4 * i + 4))),
    'boxes',
  );
});

for (const [name, layout] of Object.entries(layouts)) {
  test(`softNms (${backend}) = TS twin (the O(N²) loop) on 1500 boxes: ${name}`, (t) => {
    const { boxes, scores } = makeLayout(layout, 1500, 3);
    scores[0] = 0.999;
    scores[1499] = 0.002;
    for (const iouThreshold of [undefined, 0, 0.5]) {
      const a = softNms(boxes, scores, { iouThreshold });
      const b = softNmsTs(boxes, scores, { iouThreshold });
      assertSameArray(t, a.indices, b.indices, `${name} indices @${iouThreshold}`);
      assertSameArray(t, a.scores, b.scores, `${name} scores @${iouThreshold}`);
    }
  });
}
