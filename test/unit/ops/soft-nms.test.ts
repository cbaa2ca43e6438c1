/**
 * softNms (Gaussian, Bodla et al. 2017) against an obvious reference written here, hand-computed cases,
 * options, and invalid inputs.
 */
import test from 'ava';
import { softNms } from '../../../lib/index.ts';
import { assertClose, assertSameArray } from '../../helpers/compare.ts';
import { nmsImpls } from '../../helpers/implementations.ts';
import { mulberry32, randInt, randomBoxes, randomScores, seeds } from '../../helpers/random.ts';
import { nmsIouF32 } from '../../helpers/reference.ts';

interface SoftOpts {
  sigma?: number;
  scoreThreshold?: number;
  maxOutput?: number;
  iouThreshold?: number;
}

/**
 * The obvious algorithm, in float32 like the contract: alive = boxes with score > scoreThreshold; repeatedly
 * pick the highest current score (ties → lower index), record it; every other alive box decays by
 * exp(−IoU²/σ) (only when IoU > iouThreshold, if given); drop those now ≤ scoreThreshold.
 */
function referenceSoftNms(
  boxes: Float32Array,
  scores: Float32Array,
  opts: SoftOpts = {},
): { indices: number[]; scores: number[] } {
  const f = Math.fround;
  const { sigma = 0.5, scoreThreshold = 0.001, maxOutput = Infinity, iouThreshold } = opts;
  const current = Array.from(scores);
  let alive: number[] = [];
  for (let i = 0; i < scores.length; i++) if (scores[i] > f(scoreThreshold)) alive.push(i);
  const indices: number[] = [];
  const picked: number[] = [];
  while (alive.length > 0 && indices.length < maxOutput) {
    let m = alive[0];
    for (const j of alive) if (current[j] > current[m] || (current[j] === current[m] && j < m)) m = j;
    indices.push(m);
    picked.push(current[m]);
    alive = alive.filter((j) => j !== m);
    for (const j of alive) {
      const iou = nmsIouF32(boxes, m, boxes, j);
      if (iouThreshold === undefined || iou > iouThreshold)
        current[j] = f(current[j] * f(Math.exp(f(-f(iou * iou) / f(sigma)))));
    }
    alive = alive.filter((j) => current[j] > f(scoreThreshold));
  }
  return { indices, scores: picked };
}

for (const impl of nmsImpls) {
  test(`${impl.name}: softNms = referenceSoftNms over 100 seeds (σ, thresholds, maxOutput, iouThreshold)`, (t) => {
    for (const seed of seeds(100)) {
      const rng = mulberry32(seed);
      const n = randInt(rng, 0, 120);
      const boxes = randomBoxes(rng, n, { extent: seed % 2 ? 200 : 80, integer: seed % 3 === 0 });
      const scores = randomScores(rng, n, seed % 5 === 0 ? 7 : 0);
      const opts: SoftOpts = {};
      if (seed % 2 === 0) opts.sigma = [0.1, 0.3, 1, 2][seed % 4];
      if (seed % 3 === 1) opts.scoreThreshold = [0.05, 0.2, 0.5][seed % 3];
      if (seed % 7 === 2) opts.maxOutput = randInt(rng, 0, n);
      if (seed % 4 === 3) opts.iouThreshold = [0.3, 0.5][seed % 2];
      const got = impl.softNms(boxes, scores, opts);
      const want = referenceSoftNms(boxes, scores, opts);
      t.true(got.indices instanceof Int32Array && got.scores instanceof Float32Array);
      assertSameArray(t, got.indices, want.indices, `seed ${seed} n ${n} ${JSON.stringify(opts)} indices`);
      assertClose(t, got.scores, want.scores, { rel: 1e-5, abs: 1e-7 }, `seed ${seed} scores`);
    }
  });

  test(`${impl.name}: negative scores rise as they decay (picked in the reference's order), below and above the tree's cut-over`, (t) => {
    for (const [seed, n] of [
      [11, 60],
      [12, 700],
      [13, 900],
    ]) {
      const rng = mulberry32(seed);
      const boxes = randomBoxes(rng, n, { extent: 300 });
      const scores = Float32Array.from({ length: n }, () => (seed === 13 ? rng() * 1.5 - 1 : -rng()));
      for (const opts of [{ scoreThreshold: -0.95 }, { scoreThreshold: -0.95, iouThreshold: 0.3 }]) {
        const got = impl.softNms(boxes, scores, opts);
        const want = referenceSoftNms(boxes, scores, opts);
        assertSameArray(t, got.indices, want.indices, `seed ${seed} n ${n} ${JSON.stringify(opts)} indices`);
        assertClose(t, got.scores, want.scores, { rel: 1e-5, abs: 1e-7 }, `seed ${seed} scores`);
      }
    }
  });

  test(`${impl.name}: two boxes by hand: IoU 0.81 → second score 0.8·exp(−0.81²/0.5)`, (t) => {
    const boxes = Float32Array.from([0, 0, 10, 10, 1, 1, 10, 10]);
    const r = impl.softNms(boxes, Float32Array.from([0.9, 0.8]));
    assertSameArray(t, r.indices, [0, 1]);
    assertClose(t, r.scores, [0.9, 0.8 * Math.exp(-(0.81 * 0.81) / 0.5)], { rel: 1e-6 });
  });

  test(`${impl.name}: identical boxes decay by e^(−1/σ); disjoint boxes keep their scores`, (t) => {
    const boxes = Float32Array.from([0, 0, 10, 10, 0, 0, 10, 10, 50, 50, 60, 60]);
    const r = impl.softNms(boxes, Float32Array.from([0.6, 0.9, 0.7]), { sigma: 0.5 });
    assertSameArray(t, r.indices, [1, 2, 0]);
    assertClose(t, r.scores, [0.9, 0.7, 0.6 * Math.exp(-2)], { rel: 1e-6 });
  });

  test(`${impl.name}: a decayed score that becomes a later pick re-orders the output`, (t) => {
    // 0 (0.9) overlaps 1 (0.85) heavily; 2 (0.5) is disjoint: after decay 1 falls below 2.
    const boxes = Float32Array.from([0, 0, 10, 10, 0, 0, 10, 9, 40, 40, 50, 50]);
    const r = impl.softNms(boxes, Float32Array.from([0.9, 0.85, 0.5]), { sigma: 0.5 });
    assertSameArray(t, r.indices, [0, 2, 1]);
    assertClose(t, r.scores, [0.9, 0.5, 0.85 * Math.exp(-(0.9 * 0.9) / 0.5)], { rel: 1e-6 });
  });

  test(`${impl.name}: scoreThreshold drops decayed boxes (≤ is dropped) and low initial scores`, (t) => {
    const boxes = Float32Array.from([0, 0, 10, 10, 0, 0, 10, 10, 50, 50, 60, 60]);
    // 1 decays to 0.8·e^(−2) ≈ 0.108 < 0.2 → dropped; 2 starts at exactly 0.25 with threshold 0.25 → ignored.
    const r = impl.softNms(boxes, Float32Array.from([0.9, 0.8, 0.25]), { scoreThreshold: 0.25 });
    assertSameArray(t, r.indices, [0]);
    const r2 = impl.softNms(boxes, Float32Array.from([0.9, 0.8, 0.25]), { scoreThreshold: 0.1 });
    assertSameArray(t, r2.indices, [0, 2, 1]);
  });

  test(`${impl.name}: a decayed score exactly equal to scoreThreshold is dropped (≤), one float32 step above is kept`, (t) => {
    const boxes = Float32Array.from([0, 0, 10, 10, 1, 1, 10, 10]);
    const scores = Float32Array.from([0.9, 0.8]);
    const decayed = impl.softNms(boxes, scores, { scoreThreshold: 0.01 }).scores[1]; // ≈ 0.8·exp(−0.81²/0.5)
    t.true(decayed > 0.1 && decayed < 0.3, `decayed ${decayed}`);
    assertSameArray(
      t,
      impl.softNms(boxes, scores, { scoreThreshold: decayed }).indices,
      [0],
      'threshold = decayed score',
    );
    const below = new Float32Array([decayed]);
    new Int32Array(below.buffer)[0] -= 1; // the float32 just below
    assertSameArray(
      t,
      impl.softNms(boxes, scores, { scoreThreshold: below[0] }).indices,
      [0, 1],
      'threshold one ulp below',
    );
  });

  test(`${impl.name}: maxOutput stops after that many picks; iouThreshold limits which boxes decay`, (t) => {
    const boxes = Float32Array.from([0, 0, 10, 10, 0, 0, 10, 5, 0, 0, 10, 9]);
    const scores = Float32Array.from([0.9, 0.8, 0.7]);
    assertSameArray(
      t,
      impl.softNms(boxes, scores, { maxOutput: 2 }).indices,
      referenceSoftNms(boxes, scores, { maxOutput: 2 }).indices,
    );
    t.is(impl.softNms(boxes, scores, { maxOutput: 2 }).indices.length, 2);
    t.is(impl.softNms(boxes, scores, { maxOutput: 0 }).indices.length, 0);
    // IoU(0,1) = 0.5 (not > 0.5: no decay), IoU(0,2) = 0.9 (decays).
    const r = impl.softNms(boxes, scores, { iouThreshold: 0.5 });
    assertSameArray(t, r.indices, [0, 1, 2]);
    t.is(r.scores[1], Math.fround(0.8));
  });

  test(`${impl.name}: empty input, NaN scores ignored, input scores not modified`, (t) => {
    const e = impl.softNms(new Float32Array(0), new Float32Array(0));
    t.is(e.indices.length, 0);
    t.is(e.scores.length, 0);
    const boxes = Float32Array.from([0, 0, 10, 10, 0, 0, 10, 10]);
    const scores = Float32Array.from([NaN, 0.5]);
    const r = impl.softNms(boxes, scores);
    assertSameArray(t, r.indices, [1]);
    t.deepEqual(r.scores, Float32Array.from([0.5]));
    t.true(Number.isNaN(scores[0]) && scores[1] === Math.fround(0.5), 'scores unchanged');
  });
}

const b2 = Float32Array.from([0, 0, 1, 1, 2, 2, 3, 3]);
const s2 = Float32Array.from([0.5, 0.6]);
const invalid: Array<[string, () => unknown, 'TypeError' | 'RangeError', string]> = [
  [
    'boxes of length 6',
    () => softNms(new Float32Array(6), s2),
    'TypeError',
    'Expected Float32Array of length 4·N for boxes but received Float32Array of length 6',
  ],
  [
    'scores of the wrong length',
    () => softNms(b2, new Float32Array(1)),
    'TypeError',
    'Expected Float32Array of length 2 (one per box) for scores but received Float32Array of length 1',
  ],
  ['sigma 0', () => softNms(b2, s2, { sigma: 0 }), 'RangeError', 'Expected finite number > 0 for sigma but received 0'],
  [
    'sigma Infinity',
    () => softNms(b2, s2, { sigma: Infinity }),
    'RangeError',
    'Expected finite number > 0 for sigma but received Infinity',
  ],
  [
    'sigma a string',
    () => softNms(b2, s2, { sigma: '1' as never }),
    'TypeError',
    'Expected finite number > 0 for sigma but received "1"',
  ],
  [
    'scoreThreshold NaN',
    () => softNms(b2, s2, { scoreThreshold: NaN }),
    'RangeError',
    'Expected finite number for scoreThreshold but received NaN',
  ],
  [
    'iouThreshold 1.5',
    () => softNms(b2, s2, { iouThreshold: 1.5 }),
    'RangeError',
    'Expected number in [0, 1] for iouThreshold but received 1.5',
  ],
  [
    'maxOutput -1',
    () => softNms(b2, s2, { maxOutput: -1 }),
    'RangeError',
    'Expected integer ≥ 0 or Infinity (all) for maxOutput but received -1',
  ],
  ['options null', () => softNms(b2, s2, null as never), 'TypeError', 'Expected object for options but received null'],
];
for (const [what, fn, type, message] of invalid) {
  test(`softNms rejects ${what}: ${type}`, (t) => {
    const err = t.throws(fn, { message });
    t.is(err?.constructor.name, type);
  });
}
