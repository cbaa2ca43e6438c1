/**
 * nms / batchedNms: every torchvision case of nms_cases.json, the 8732-box case, an obvious reference over many
 * seeds and thresholds (torchvision test_ops style), edge cases (empty, NaN, zero area, options), 1e6 boxes,
 * and invalid inputs with exact messages.
 */
import test from 'ava';
import { batchedNms, nms } from '../../../lib/index.ts';
import { f32, i32, readF32, readJson } from '../../helpers/fixtures.ts';
import { assertSameArray } from '../../helpers/compare.ts';
import { nmsImpls } from '../../helpers/implementations.ts';
import {
  clusteredBoxes,
  mulberry32,
  randInt,
  randomBoxes,
  randomScores,
  seeds,
  sprinkleNonFinite,
} from '../../helpers/random.ts';
import { nmsIouF32 } from '../../helpers/reference.ts';

interface NmsOpts {
  scoreThreshold?: number;
  topK?: number;
  maxOutput?: number;
}

/**
 * The slow, obvious reference: candidates with score > scoreThreshold (NaN never), sorted by decreasing score
 * with ties by ascending index, cut to topK; keep a candidate unless its float32 IoU with a kept box (same
 * class when classIds is given) is > iouThreshold; stop at maxOutput. Batched: then sort all kept by score.
 */
function referenceNms(
  boxes: Float32Array,
  scores: Float32Array,
  iouThreshold: number,
  opts: NmsOpts = {},
  classIds?: Int32Array,
): number[] {
  const { scoreThreshold = -Infinity, topK = Infinity, maxOutput = Infinity } = opts;
  const candidates: number[] = [];
  for (let i = 0; i < scores.length; i++) if (scores[i] > Math.fround(scoreThreshold)) candidates.push(i);
  candidates.sort((p, q) => scores[q] - scores[p] || p - q);
  const keep: number[] = [];
  for (const i of candidates.slice(0, topK)) {
    if (!classIds && keep.length >= maxOutput) break;
    let suppressed = false;
    for (const k of keep) {
      if (classIds && classIds[k] !== classIds[i]) continue;
      if (nmsIouF32(boxes, k, boxes, i) > iouThreshold) {
        suppressed = true;
        break;
      }
    }
    if (!suppressed) keep.push(i);
  }
  // keep is already in (score desc, index asc) order, so for batched NMS only the cut remains.
  return keep.slice(0, maxOutput);
}

/** Splits a keep list into runs of equal score; compares run by run as sets (torchvision's unstable tie order). */
function equalScoreGroups(keep: ArrayLike<number>, scores: Float32Array): number[][] {
  const groups: number[][] = [];
  for (let k = 0; k < keep.length; k++) {
    const i = keep[k];
    if (k > 0 && scores[keep[k - 1]] === scores[i]) groups[groups.length - 1].push(i);
    else groups.push([i]);
  }
  return groups.map((g) => g.sort((a, b) => a - b));
}

interface Case {
  name: string;
  op: 'nms' | 'batched_nms';
  boxes: number[][];
  scores: number[];
  idxs?: number[];
  results: Array<{ iou_threshold: number; keep: number[] }>;
}
const cases = readJson<{ cases: Case[] }>('nms/nms_cases.json').cases;

for (const impl of nmsImpls) {
  // ---- torchvision oracle ----------------------------------------------------------------------------
  for (const c of cases) {
    for (const r of c.results) {
      const title = `${impl.name}: torchvision ${c.op} '${c.name}' @ ${r.iou_threshold} (${r.keep.length} kept)`;
      if (c.op === 'nms') {
        test(title, (t) => {
          const keep = impl.nms(f32(c.boxes), f32(c.scores), r.iou_threshold);
          t.true(keep instanceof Int32Array);
          assertSameArray(t, keep, r.keep, c.name);
        });
      } else {
        test(`${title}, equal-score groups as sets`, (t) => {
          const boxes = f32(c.boxes);
          const scores = f32(c.scores);
          const classIds = i32(c.idxs);
          const keep = impl.batchedNms(boxes, scores, classIds, r.iou_threshold);
          t.true(keep instanceof Int32Array);
          t.deepEqual(equalScoreGroups(keep, scores), equalScoreGroups(r.keep, scores));
          // Our contract fixes the tie order (ascending index): exact against the per-class reference.
          assertSameArray(
            t,
            keep,
            referenceNms(boxes, scores, r.iou_threshold, {}, classIds),
            'vs per-class reference',
          );
        });
      }
    }
  }

  test(`${impl.name}: torchvision nms on 8732 boxes @ 0.45 keeps exactly its 2773 indices`, (t) => {
    const expected = readJson('nms/nms_8732_keep_0.45.json').keep as number[];
    t.is(expected.length, 2773);
    const keep = impl.nms(readF32('nms/nms_8732_boxes.f32'), readF32('nms/nms_8732_scores.f32'), 0.45);
    assertSameArray(t, keep, expected, '8732');
  });

  // ---- obvious reference over many seeds ---------------------------------------------------------------------
  test(`${impl.name}: nms = referenceNms over 120 seeds × 7 thresholds (ties, zero-area, integer and non-finite boxes, options)`, (t) => {
    const thresholds = [0, 0.1, 0.3, 0.5, 0.7, 1];
    for (const seed of seeds(120)) {
      const rng = mulberry32(seed);
      const n = randInt(rng, 0, 250);
      const boxes = randomBoxes(rng, n, {
        extent: seed % 2 ? 300 : 100,
        minSide: seed % 7 === 0 ? 0 : 5,
        maxSide: 80,
        zeroAreaFraction: seed % 5 === 0 ? 0.1 : 0,
        integer: seed % 3 === 0,
      });
      if (seed % 8 === 3) sprinkleNonFinite(rng, boxes, 0.05); // NaN / ±Infinity coordinates: IoU 0 with everything
      const scores = randomScores(rng, n, seed % 4 === 0 ? 6 : 0); // every 4th seed: 6 score levels (heavy ties)
      const opts: NmsOpts =
        seed % 6 === 1
          ? { topK: randInt(rng, 0, n), maxOutput: randInt(rng, 0, n), scoreThreshold: Math.fround(rng()) }
          : {};
      for (const thr of [...thresholds, Math.fround(rng())]) {
        const keep = impl.nms(boxes, scores, thr, opts);
        assertSameArray(
          t,
          keep,
          referenceNms(boxes, scores, thr, opts),
          `seed ${seed} n ${n} thr ${thr} ${JSON.stringify(opts)}`,
        );
      }
    }
  });

  test(`${impl.name}: batchedNms = per-class referenceNms over 100 seeds (ties, 1–12 classes, maxOutput)`, (t) => {
    for (const seed of seeds(100)) {
      const rng = mulberry32(10_000 + seed);
      const n = randInt(rng, 0, 300);
      const boxes = randomBoxes(rng, n, { extent: 150, integer: seed % 3 === 0 });
      const scores = randomScores(rng, n, seed % 2 ? 0 : 8);
      const numClasses = randInt(rng, 1, 12);
      const classIds = Int32Array.from(
        { length: n },
        () => randInt(rng, 0, numClasses - 1) * (seed % 5 === 0 ? -3 : 1),
      );
      const opts = seed % 4 === 0 ? { maxOutput: randInt(rng, 0, n), scoreThreshold: 0.25 } : {};
      for (const thr of [0.3, 0.5, 0.7]) {
        const keep = impl.batchedNms(boxes, scores, classIds, thr, opts);
        assertSameArray(t, keep, referenceNms(boxes, scores, thr, opts, classIds), `seed ${seed} thr ${thr}`);
      }
    }
  });

  // ---- edge cases ----------------------------------------------------------------------------------------
  test(`${impl.name}: empty input → empty Int32Array (nms and batchedNms)`, (t) => {
    const keep = impl.nms(new Float32Array(0), new Float32Array(0), 0.5);
    t.true(keep instanceof Int32Array);
    t.is(keep.length, 0);
    const kb = impl.batchedNms(new Float32Array(0), new Float32Array(0), new Int32Array(0), 0.5);
    t.true(kb instanceof Int32Array);
    t.is(kb.length, 0);
  });

  test(`${impl.name}: NaN scores are ignored; the other boxes are unaffected`, (t) => {
    const boxes = Float32Array.from([0, 0, 10, 10, 0, 0, 10, 10, 1, 1, 10, 10, 50, 50, 60, 60]);
    const scores = Float32Array.from([NaN, 0.5, 0.9, NaN]);
    assertSameArray(t, impl.nms(boxes, scores, 0.5), [2]);
    assertSameArray(t, impl.nms(boxes, Float32Array.from([NaN, NaN, NaN, NaN]), 0.5), []);
    assertSameArray(t, impl.batchedNms(boxes, scores, Int32Array.from([0, 0, 0, 1]), 0.5), [2]);
  });

  test(`${impl.name}: boxes with a NaN / ±Infinity coordinate have IoU 0: kept, and suppress nothing`, (t) => {
    const boxes = Float32Array.from([
      0,
      0,
      10,
      10, //     0: 0.5
      NaN,
      0,
      10,
      10, //   1: 0.9 — NaN coordinate, same place otherwise
      0,
      0,
      10,
      10, //     2: 0.4 — duplicate of 0: suppressed by 0, not by 1
      0,
      0,
      Infinity,
      10, // 3: 0.8
      -Infinity,
      -Infinity,
      Infinity,
      Infinity, // 4: 0.7
    ]);
    const scores = Float32Array.from([0.5, 0.9, 0.4, 0.8, 0.7]);
    assertSameArray(t, impl.nms(boxes, scores, 0.1), [1, 3, 4, 0]);
    assertSameArray(t, impl.nms(boxes, scores, 0.1), referenceNms(boxes, scores, 0.1));
  });

  test(`${impl.name}: zero-area boxes never suppress and are never suppressed`, (t) => {
    const boxes = Float32Array.from([
      0,
      0,
      10,
      10, // 0.9
      5,
      5,
      5,
      5, // 0.8 point inside box 0
      0,
      5,
      10,
      5, // 0.7 segment inside box 0
      5,
      5,
      5,
      5, // 0.6 the same point again (two zero-area boxes: 0/0 in torchvision, never > threshold)
      1,
      1,
      10,
      10, // 0.5 suppressed by box 0
    ]);
    assertSameArray(t, impl.nms(boxes, Float32Array.from([0.9, 0.8, 0.7, 0.6, 0.5]), 0), [0, 1, 2, 3]);
  });

  test(`${impl.name}: equal scores go by ascending index; IoU exactly at the threshold is kept (strict >)`, (t) => {
    const boxes = Float32Array.from([10, 10, 20, 20, 0, 0, 10, 10, 0, 0, 10, 10, 0, 0, 10, 5]);
    // 1 and 2 identical with equal scores → 1 wins; 3 has IoU exactly 0.5 with 1 → kept at 0.5, dropped at 0.49.
    const scores = Float32Array.from([0.7, 0.7, 0.7, 0.7]);
    assertSameArray(t, impl.nms(boxes, scores, 0.5), [0, 1, 3]);
    assertSameArray(t, impl.nms(boxes, scores, 0.49), [0, 1]);
  });

  test(`${impl.name}: scoreThreshold is strict; -Infinity scores are ignored by default; +Infinity comes first`, (t) => {
    const boxes = Float32Array.from([0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7]);
    const scores = Float32Array.from([0.25, 0.5, -Infinity, Infinity]);
    assertSameArray(t, impl.nms(boxes, scores, 0.5), [3, 1, 0]);
    assertSameArray(t, impl.nms(boxes, scores, 0.5, { scoreThreshold: 0.25 }), [3, 1]);
    assertSameArray(t, impl.nms(boxes, scores, 0.5, { scoreThreshold: 0.24 }), [3, 1, 0]);
    assertSameArray(
      t,
      impl.batchedNms(boxes, scores, Int32Array.from([0, 1, 0, 1]), 0.5, { scoreThreshold: 0.25 }),
      [3, 1],
    );
  });

  test(`${impl.name}: topK cuts candidates before NMS, maxOutput cuts the kept list`, (t) => {
    // 0 (0.9) and 1 (0.8) overlap; 2 (0.7) and 3 (0.6) are disjoint from everything.
    const boxes = Float32Array.from([0, 0, 10, 10, 1, 1, 11, 11, 50, 50, 60, 60, 80, 80, 90, 90]);
    const scores = Float32Array.from([0.9, 0.8, 0.7, 0.6]);
    assertSameArray(t, impl.nms(boxes, scores, 0.5), [0, 2, 3]);
    assertSameArray(
      t,
      impl.nms(boxes, scores, 0.5, { topK: 2 }),
      [0],
      'topK 2: candidates 0, 1 → 1 suppressed, 2 never considered',
    );
    assertSameArray(t, impl.nms(boxes, scores, 0.5, { maxOutput: 2 }), [0, 2], 'maxOutput 2: first two kept');
    assertSameArray(t, impl.nms(boxes, scores, 0.5, { topK: 3, maxOutput: 1 }), [0]);
    assertSameArray(t, impl.nms(boxes, scores, 0.5, { topK: 0 }), []);
    assertSameArray(t, impl.nms(boxes, scores, 0.5, { maxOutput: 0 }), []);
    assertSameArray(t, impl.nms(boxes, scores, 0.5, { topK: Infinity, maxOutput: Infinity }), [0, 2, 3]);
    assertSameArray(t, impl.nms(boxes, scores, 0.5, { topK: 100, maxOutput: 100 }), [0, 2, 3]);
    const classes = Int32Array.from([0, 0, 1, 1]);
    assertSameArray(t, impl.batchedNms(boxes, scores, classes, 0.5, { maxOutput: 2 }), [0, 2]);
  });

  test(`${impl.name}: batchedNms: boxes of different classes never suppress each other`, (t) => {
    const boxes = Float32Array.from([0, 0, 10, 10, 0, 0, 10, 10, 0, 0, 10, 10]);
    const scores = Float32Array.from([0.5, 0.9, 0.7]);
    assertSameArray(t, impl.batchedNms(boxes, scores, Int32Array.from([1, 2, 1]), 0.5), [1, 2]);
    assertSameArray(t, impl.batchedNms(boxes, scores, Int32Array.from([-5, 7, 1_000_000]), 0.5), [1, 2, 0]);
  });

  // ---- scale -----------------------------------------------------------------------------------------------
  test(`${impl.name}: 1e6 boxes in 300 tight clusters: ~300 kept, equal to the reference (speed: bench/core.ts)`, (t) => {
    // 1e6 boxes around 300 centres (side 40, corners jittered ±3 px, so boxes of one cluster overlap with
    // IoU > 0.7 and the cluster's best box suppresses the rest). Greedy NMS costs O(N·kept) = O(3e8) at
    // worst here; random uniform boxes would keep ~1e5 and cost O(1e11).
    const n = 1_000_000;
    const rng = mulberry32(4242);
    const boxes = clusteredBoxes(rng, n, 300, { extent: 3000, side: 40, jitter: 3 });
    const scores = randomScores(rng, n);
    const start = performance.now();
    const keep = impl.nms(boxes, scores, 0.5);
    const ms = performance.now() - start;
    t.log(`${impl.name}: ${n} boxes → ${keep.length} kept in ${ms.toFixed(0)} ms`);
    t.true(keep.length >= 250 && keep.length <= 400, `kept ${keep.length}`);
    assertSameArray(t, keep, referenceNms(boxes, scores, 0.5), '1e6 vs reference');
  });
}

// ---- invalid inputs (public ops, exact messages) ------------------------------------------------------------
const b2 = Float32Array.from([0, 0, 1, 1, 2, 2, 3, 3]);
const s2 = Float32Array.from([0.5, 0.6]);
const c2 = Int32Array.from([0, 1]);
const invalid: Array<[string, () => unknown, 'TypeError' | 'RangeError', string]> = [
  [
    'nms: boxes of length 7',
    () => nms(new Float32Array(7), s2, 0.5),
    'TypeError',
    'Expected Float32Array of length 4·N for boxes but received Float32Array of length 7',
  ],
  [
    'nms: boxes as a plain array',
    () => nms([0, 0, 1, 1] as never, s2, 0.5),
    'TypeError',
    'Expected Float32Array of length 4·N for boxes but received Array of length 4',
  ],
  [
    'nms: scores of the wrong length',
    () => nms(b2, new Float32Array(3), 0.5),
    'TypeError',
    'Expected Float32Array of length 2 (one per box) for scores but received Float32Array of length 3',
  ],
  [
    'nms: scores as Float64Array',
    () => nms(b2, new Float64Array(2) as never, 0.5),
    'TypeError',
    'Expected Float32Array of length 2 (one per box) for scores but received Float64Array of length 2',
  ],
  [
    'nms: iouThreshold NaN',
    () => nms(b2, s2, NaN),
    'RangeError',
    'Expected number in [0, 1] for iouThreshold but received NaN',
  ],
  [
    'nms: iouThreshold 1.5',
    () => nms(b2, s2, 1.5),
    'RangeError',
    'Expected number in [0, 1] for iouThreshold but received 1.5',
  ],
  [
    'nms: iouThreshold -0.1',
    () => nms(b2, s2, -0.1),
    'RangeError',
    'Expected number in [0, 1] for iouThreshold but received -0.1',
  ],
  [
    'nms: iouThreshold missing',
    () => (nms as (...a: unknown[]) => unknown)(b2, s2),
    'TypeError',
    'Expected number in [0, 1] for iouThreshold but received undefined',
  ],
  [
    'nms: iouThreshold a string',
    () => nms(b2, s2, '0.5' as never),
    'TypeError',
    'Expected number in [0, 1] for iouThreshold but received "0.5"',
  ],
  [
    'nms: scoreThreshold NaN',
    () => nms(b2, s2, 0.5, { scoreThreshold: NaN }),
    'RangeError',
    'Expected number (not NaN) for scoreThreshold but received NaN',
  ],
  [
    'nms: topK -1',
    () => nms(b2, s2, 0.5, { topK: -1 }),
    'RangeError',
    'Expected integer ≥ 0 or Infinity (all) for topK but received -1',
  ],
  [
    'nms: topK 1.5',
    () => nms(b2, s2, 0.5, { topK: 1.5 }),
    'RangeError',
    'Expected integer ≥ 0 or Infinity (all) for topK but received 1.5',
  ],
  [
    'nms: maxOutput NaN',
    () => nms(b2, s2, 0.5, { maxOutput: NaN }),
    'RangeError',
    'Expected integer ≥ 0 or Infinity (all) for maxOutput but received NaN',
  ],
  [
    'nms: maxOutput a string',
    () => nms(b2, s2, 0.5, { maxOutput: '3' as never }),
    'TypeError',
    'Expected integer ≥ 0 or Infinity (all) for maxOutput but received "3"',
  ],
  [
    'nms: options a number',
    () => nms(b2, s2, 0.5, 3 as never),
    'TypeError',
    'Expected object for options but received 3',
  ],
  [
    'batchedNms: classIds as Float32Array',
    () => batchedNms(b2, s2, new Float32Array(2) as never, 0.5),
    'TypeError',
    'Expected Int32Array of length 2 (one per box) for classIds but received Float32Array of length 2',
  ],
  [
    'batchedNms: classIds of the wrong length',
    () => batchedNms(b2, s2, new Int32Array(3), 0.5),
    'TypeError',
    'Expected Int32Array of length 2 (one per box) for classIds but received Int32Array of length 3',
  ],
  [
    'batchedNms: scores missing',
    () => batchedNms(b2, undefined as never, c2, 0.5),
    'TypeError',
    'Expected Float32Array of length 2 (one per box) for scores but received undefined',
  ],
  [
    'batchedNms: iouThreshold 2',
    () => batchedNms(b2, s2, c2, 2),
    'RangeError',
    'Expected number in [0, 1] for iouThreshold but received 2',
  ],
  [
    'batchedNms: maxOutput -3',
    () => batchedNms(b2, s2, c2, 0.5, { maxOutput: -3 }),
    'RangeError',
    'Expected integer ≥ 0 or Infinity (all) for maxOutput but received -3',
  ],
];
for (const [what, fn, type, message] of invalid) {
  test(`rejects ${what}: ${type}`, (t) => {
    const err = t.throws(fn, { message });
    t.is(err?.constructor.name, type);
  });
}
