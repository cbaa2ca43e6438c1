/**
 * SSD loss parts against torchvision's SSD.compute_loss (both reference cases: matched_idxs, encoded targets,
 * per-anchor cross-entropy, mined negatives, per-image sums, final losses), hardNegativeMining against an obvious
 * rank-counting reference over many seeds (ties, NaN, ratios), native = TS twin on random inputs, empty inputs
 * and invalid inputs with exact messages.
 */
import test from 'ava';
import { boxConvert, encodeBoxes } from '../../../lib/index.ts';
import {
  hardNegativeMining,
  ssdLoss,
  ssdLossParts,
  type SsdLossImage,
  type SsdLossParts,
} from '../../../lib/train/index.ts';
import { ssdLossPartsTs } from '../../../lib/reference.ts';
import { assertClose, assertSameArray } from '../../helpers/compare.ts';
import { lossImpls } from '../../helpers/implementations.ts';
import {
  groundTruth,
  headOutputs,
  lossCases,
  NUM_CLASSES,
  referenceClsLoss,
  ssd300AnchorsXyxyPx,
} from '../../helpers/loss-fixture.ts';
import { mulberry32, randInt, randomArray, randomBoxes, seeds, type Rng } from '../../helpers/random.ts';

const TOL = { rel: 1e-5 };
const relErr = (a: number, e: number) => (a === e ? 0 : Math.abs(a - e) / Math.abs(e));

/**
 * The obvious mining reference: anchor i (not positive) is chosen when fewer than k other background anchors beat
 * it, where j beats i when loss_j is NaN and loss_i is not, or loss_j > loss_i, or they are equal and j < i;
 * k = min(#background, ⌈float32(#positive · ratio)⌉), 0 without positives.
 */
function referenceMining(loss: Float32Array, positive: ArrayLike<number>, ratio: number): number[] {
  const bg: number[] = [];
  for (let i = 0; i < loss.length; i++) if (!positive[i]) bg.push(i);
  const numPos = loss.length - bg.length;
  const k = numPos === 0 ? 0 : Math.min(bg.length, Math.ceil(Math.fround(Math.fround(numPos) * Math.fround(ratio))));
  const beats = (j: number, i: number) => {
    const a = loss[j];
    const b = loss[i];
    if (Number.isNaN(a)) return !Number.isNaN(b) || j < i;
    if (Number.isNaN(b)) return false;
    return a > b || (a === b && j < i);
  };
  return bg.filter((i) => bg.reduce((rank, j) => rank + (j !== i && beats(j, i) ? 1 : 0), 0) < k);
}

const imageInput = (
  b: number,
  gt: { gtBoxes: Float32Array; gtLabels: Int32Array },
  anchors: Float32Array,
): SsdLossImage => ({ ...headOutputs(b), anchors, numClasses: NUM_CLASSES, ...gt });

// ---- torchvision oracle ----------------------------------------------------------------------------------------------
for (const impl of lossImpls) {
  for (const c of lossCases()) {
    test(`${impl.name}: torchvision SSD.compute_loss, case ${c.name}: every part and both losses within 1e-5`, (t) => {
      const anchors = ssd300AnchorsXyxyPx();
      const worst = { encoded: 0, ce: 0, sums: 0, losses: 0 };
      const parts = c.per_image.map((im, b) => {
        const label = `${c.name} ${im.image}`;
        const p = impl.ssdLossParts(imageInput(b, groundTruth(im), anchors));
        assertSameArray(t, p.matchedIdxs, im.matched_idxs, `${label} matched_idxs`);
        assertSameArray(t, p.foregroundIdxs, im.foreground_idxs, `${label} foreground_idxs`);
        worst.encoded = Math.max(
          worst.encoded,
          assertClose(t, p.encodedTargets, im.foreground_targets_encoded.flat(), TOL, `${label} encoded targets`)
            .maxRel,
        );
        // cls_loss_per_anchor.f32 holds case all_targets; in the other case the astronaut's targets are the same.
        if (c.name === 'all_targets' || b === 0) {
          worst.ce = Math.max(
            worst.ce,
            assertClose(t, p.clsLossPerAnchor, referenceClsLoss(b), TOL, `${label} cls loss per anchor`).maxRel,
          );
        }
        t.is(p.numPositive, im.num_positive, `${label} num_positive`);
        t.is(p.hardNegativeIdxs.length, im.num_hard_negatives, `${label} num_hard_negatives`);
        t.deepEqual(
          [...p.hardNegativeIdxs].sort((x, y) => x - y),
          [...im.hard_negative_idxs].sort((x, y) => x - y),
          `${label} hard negatives (as sets)`,
        );
        if (im.negative_loss_at_cut) {
          // The last chosen and the first left-out background losses straddle the cut as in torchvision.
          const chosen = new Set(p.hardNegativeIdxs);
          const lastIn = Math.min(...[...chosen].map((i) => p.clsLossPerAnchor[i]));
          let firstOut = -Infinity;
          p.clsLossPerAnchor.forEach((v, i) => {
            if (!chosen.has(i) && p.matchedIdxs[i] < 0) firstOut = Math.max(firstOut, v);
          });
          assertClose(t, [lastIn, firstOut], im.negative_loss_at_cut, TOL, `${label} losses at the cut`);
        }
        for (const [got, want, what] of [
          [p.smoothL1Sum, im.bbox_loss_sum, 'bbox_loss_sum'],
          [p.positiveClsSum, im.cls_loss_positive_sum, 'cls_loss_positive_sum'],
          [p.hardNegativeClsSum, im.cls_loss_hard_negative_sum, 'cls_loss_hard_negative_sum'],
        ] as const) {
          t.true(relErr(got, want) <= 1e-5, `${label} ${what}: ${got} vs ${want}`);
          worst.sums = Math.max(worst.sums, relErr(got, want));
        }
        return p;
      });
      t.is(
        parts.reduce((s, p) => s + p.foregroundIdxs.length, 0),
        c.normalizer_N,
      );
      const loss = ssdLoss(parts);
      const want = c.torchvision_losses;
      for (const [got, ref, what] of [
        [loss.classification, want.classification, 'classification'],
        [loss.bboxRegression, want.bbox_regression, 'bbox_regression'],
      ] as const) {
        t.true(relErr(got, ref) <= 1e-5, `${c.name} ${what}: ${got} vs torchvision ${ref}`);
        worst.losses = Math.max(worst.losses, relErr(got, ref));
      }
      t.true(relErr(loss.classification + loss.bboxRegression, want.sum) <= 1e-5);
      t.log(
        `max rel errors: encoded ${worst.encoded.toExponential(2)}, CE ${worst.ce.toExponential(2)}, sums ${worst.sums.toExponential(2)}, losses ${worst.losses.toExponential(2)}`,
      );
    });
  }

  test(`${impl.name}: hardNegativeMining on torchvision's per-anchor loss picks its negatives (matched idxs or mask)`, (t) => {
    for (const [b, im] of lossCases()[0].per_image.entries()) {
      const loss = referenceClsLoss(b);
      const matched = Int32Array.from(im.matched_idxs);
      const byIdxs = impl.hardNegativeMining(loss, matched);
      assertSameArray(t, byIdxs, im.hard_negative_idxs, `${im.image} from matched idxs`);
      const mask = Uint8Array.from(im.matched_idxs, (v) => (v >= 0 ? 1 : 0));
      assertSameArray(t, impl.hardNegativeMining(loss, mask, 3), im.hard_negative_idxs, `${im.image} from a mask`);
    }
  });

  // ---- mining: obvious reference over many seeds --------------------------------------------------------------
  test(`${impl.name}: hardNegativeMining = referenceMining over 200 seeds (ties, NaN, ±Infinity, ratios, k capped)`, (t) => {
    for (const seed of seeds(200)) {
      const rng = mulberry32(40_000 + seed);
      const n = randInt(rng, 0, 120);
      const levels = seed % 3 === 0 ? 4 : 0; // heavy ties
      const loss = Float32Array.from({ length: n }, () => (levels ? randInt(rng, 0, levels) / levels : rng() * 5));
      if (seed % 5 === 2)
        for (let i = 0; i < n; i += 7) loss[i] = [NaN, Infinity, -Infinity, -0, 0][randInt(rng, 0, 4)];
      const posFraction = [0, 0.05, 0.2, 0.5, 0.9][seed % 5];
      const mask = Uint8Array.from({ length: n }, () => (rng() < posFraction ? 1 : 0));
      for (const ratio of [0, 0.5, 1, 3, 7.3, Infinity]) {
        const got = impl.hardNegativeMining(loss, mask, ratio);
        t.true(got instanceof Int32Array);
        assertSameArray(t, got, referenceMining(loss, mask, ratio), `seed ${seed} n ${n} ratio ${ratio}`);
      }
      const matched = Int32Array.from(mask, (v) => (v ? randInt(rng, 0, 3) : -1));
      assertSameArray(
        t,
        impl.hardNegativeMining(loss, matched),
        impl.hardNegativeMining(loss, mask),
        `seed ${seed} idxs = mask`,
      );
    }
  });

  // ---- small hand-made cases --------------------------------------------------------------------------------
  test(`${impl.name}: hand-made mining (ties → lower index, no positive → none, NaN first)`, (t) => {
    const loss = Float32Array.from([0.1, 2, 0.5, 3, 0.7, 2]);
    assertSameArray(t, impl.hardNegativeMining(loss, Uint8Array.from([0, 0, 0, 1, 0, 0]), 2), [1, 5]);
    assertSameArray(
      t,
      impl.hardNegativeMining(loss, Uint8Array.from([0, 0, 0, 1, 0, 0]), 1),
      [1],
      'equal losses: the lower index',
    );
    assertSameArray(t, impl.hardNegativeMining(loss, Uint8Array.from([0, 0, 0, 1, 0, 0]), 1.5), [1, 5], '⌈1.5⌉ = 2');
    assertSameArray(t, impl.hardNegativeMining(loss, new Uint8Array(6)), [], 'no positives → none');
    assertSameArray(
      t,
      impl.hardNegativeMining(loss, Uint8Array.from([1, 1, 1, 1, 1, 0]), 3),
      [5],
      'capped at the background',
    );
    assertSameArray(
      t,
      impl.hardNegativeMining(Float32Array.from([1, NaN, 5, 0]), Uint8Array.from([0, 0, 0, 1])),
      [0, 1, 2],
    );
    assertSameArray(
      t,
      impl.hardNegativeMining(Float32Array.from([1, NaN, 5, 0]), Uint8Array.from([0, 0, 0, 1]), 1),
      [1],
      'NaN ranks first',
    );
    assertSameArray(t, impl.hardNegativeMining(new Float32Array(0), new Uint8Array(0)), [], 'empty');
  });

  test(`${impl.name}: empty inputs and a label-0 gt (matched, counted in N, not a positive)`, (t) => {
    const empty = impl.ssdLossParts({
      classLogits: new Float32Array(0),
      boxRegression: new Float32Array(0),
      anchors: new Float32Array(0),
      numClasses: 3,
      gtBoxes: Float32Array.from([0, 0, 1, 1]),
      gtLabels: Int32Array.from([1]),
    });
    t.is(empty.matchedIdxs.length, 0);
    t.is(empty.clsLossPerAnchor.length, 0);
    t.is(empty.smoothL1Sum + empty.positiveClsSum + empty.hardNegativeClsSum + empty.numPositive, 0);
    t.deepEqual(ssdLoss([empty]), { classification: 0, bboxRegression: 0 });

    const anchors = Float32Array.from([0, 0, 10, 10, 20, 20, 30, 30, 40, 40, 50, 50]);
    const image = {
      classLogits: Float32Array.from([2, 0, 0, 0, 1, 0, 0, 0, 3]),
      boxRegression: new Float32Array(12),
      anchors,
      numClasses: 3,
    };
    const noGt = impl.ssdLossParts({ ...image, gtBoxes: new Float32Array(0), gtLabels: new Int32Array(0) });
    assertSameArray(t, noGt.matchedIdxs, [-1, -1, -1]);
    t.is(noGt.foregroundIdxs.length + noGt.hardNegativeIdxs.length + noGt.encodedTargets.length, 0);
    t.deepEqual(ssdLoss([noGt]), { classification: 0, bboxRegression: 0 });

    const bgGt = impl.ssdLossParts({
      ...image,
      gtBoxes: Float32Array.from([0, 0, 10, 10]),
      gtLabels: Int32Array.from([0]),
    });
    assertSameArray(t, bgGt.foregroundIdxs, [0]);
    t.is(bgGt.numPositive, 0);
    t.is(bgGt.hardNegativeIdxs.length, 0);
    assertSameArray(t, bgGt.encodedTargets, [0, 0, 0, 0]);
    const withPositive = impl.ssdLossParts({
      ...image,
      gtBoxes: Float32Array.from([0, 0, 10, 10, 40, 40, 50, 50]),
      gtLabels: Int32Array.from([0, 2]),
    });
    assertSameArray(t, withPositive.foregroundIdxs, [0, 2]);
    t.is(withPositive.numPositive, 1);
    assertSameArray(t, withPositive.hardNegativeIdxs, [0, 1], 'the label-0 anchor can be mined');
    const loss = ssdLoss([withPositive, bgGt]);
    t.is(
      loss.classification,
      (withPositive.positiveClsSum + withPositive.hardNegativeClsSum) / 3,
      'N = 2 + 1 foreground anchors',
    );
  });

  test(`${impl.name}: hand-made cross-entropy and smooth-L1`, (t) => {
    const anchors = Float32Array.from([0, 0, 10, 10, 20, 20, 30, 30]);
    const classLogits = Float32Array.from([1, 2, 3, 0, 0, 0]);
    const boxRegression = Float32Array.from([0.5, -2, 0, 0, 9, 9, 9, 9]);
    const p = impl.ssdLossParts({
      classLogits,
      boxRegression,
      anchors,
      numClasses: 3,
      gtBoxes: Float32Array.from([0, 0, 10, 10]),
      gtLabels: Int32Array.from([2]),
    });
    const lse = Math.log(Math.exp(1) + Math.exp(2) + Math.exp(3));
    assertClose(t, p.clsLossPerAnchor, [lse - 3, Math.log(3)], { rel: 1e-6 });
    t.is(p.positiveClsSum, p.clsLossPerAnchor[0]);
    assertSameArray(t, p.hardNegativeIdxs, [1]);
    t.is(p.smoothL1Sum, 0.5 * 0.25 + (2 - 0.5), 'targets are 0 for a gt equal to its anchor');
  });
}

// ---- native = TS twin on random inputs ---------------------------------------------------------------------------
function randomImage(rng: Rng, seed: number): { image: SsdLossImage; options: Parameters<typeof ssdLossParts>[1] } {
  const n = randInt(rng, 0, 200);
  const c = randInt(rng, 1, 12);
  const cxcywh = seed % 4 === 1;
  const xyxy = randomBoxes(rng, n, { extent: 100, minSide: 3, maxSide: 40, integer: seed % 3 === 0 });
  const gtBoxes = randomBoxes(rng, randInt(rng, 0, 6), { extent: 100, minSide: 5, maxSide: 50 });
  const classLogits = randomArray(rng, n * c, -6, 6);
  if (seed % 7 === 3 && classLogits.length) classLogits[randInt(rng, 0, classLogits.length - 1)] = NaN;
  if (seed % 5 === 0) for (let i = 0; i < classLogits.length; i++) classLogits[i] = Math.round(classLogits[i]); // equal losses
  const image: SsdLossImage = {
    classLogits,
    boxRegression: randomArray(rng, 4 * n, -3, 3),
    numClasses: c,
    anchors: cxcywh
      ? Float32Array.from(xyxy.map((v, i) => (i % 4 < 2 ? v + 0.5 * (xyxy[i + 2] - v) : v - xyxy[i - 2])))
      : xyxy,
    gtBoxes,
    gtLabels: Int32Array.from({ length: gtBoxes.length / 4 }, () => randInt(rng, 0, c - 1)),
  };
  const options = {
    iouThreshold: [0.5, 0.3, 0.7][seed % 3],
    negPosRatio: [3, 1, 0.5, 10][seed % 4],
    anchorFormat: cxcywh ? ('cxcywh' as const) : ('xyxy' as const),
    boxCoder:
      seed % 2 ? { order: 'yxhw' as const, weights: [1, 2, 3, 4] as [number, number, number, number] } : undefined,
  };
  return { image, options };
}

const sameParts = (a: SsdLossParts, b: SsdLossParts) =>
  (['matchedIdxs', 'foregroundIdxs', 'encodedTargets', 'clsLossPerAnchor', 'hardNegativeIdxs'] as const).every(
    (k) => a[k].length === b[k].length && a[k].every((v, i) => Object.is(v, b[k][i])),
  ) &&
  (['smoothL1Sum', 'positiveClsSum', 'hardNegativeClsSum', 'numPositive'] as const).every((k) => Object.is(a[k], b[k]));

test('ssdLossParts: the public op equals the TS twin bit for bit over 150 random images', (t) => {
  for (const seed of seeds(150)) {
    const { image, options } = randomImage(mulberry32(50_000 + seed), seed);
    const a = ssdLossParts(image, options);
    const b = ssdLossPartsTs(image, options);
    t.true(
      a.matchedIdxs instanceof Int32Array &&
        a.encodedTargets instanceof Float32Array &&
        a.clsLossPerAnchor instanceof Float32Array,
    );
    t.true(sameParts(a, b), `seed ${seed}: ${JSON.stringify(options)}`);
  }
});

// ---- invalid inputs (public ops, exact messages) --------------------------------------------------------------------
const img: SsdLossImage = {
  classLogits: new Float32Array(6),
  boxRegression: new Float32Array(8),
  anchors: Float32Array.from([0, 0, 1, 1, 1, 1, 2, 2]),
  numClasses: 3,
  gtBoxes: Float32Array.from([0, 0, 1, 1]),
  gtLabels: Int32Array.from([1]),
};
const l3 = new Float32Array(3);
const invalid: Array<[string, () => unknown, 'TypeError' | 'RangeError', string]> = [
  [
    'hardNegativeMining: clsLoss as Float64Array',
    () => hardNegativeMining(new Float64Array(3) as never, new Uint8Array(3)),
    'TypeError',
    'Expected Float32Array for clsLoss but received Float64Array of length 3',
  ],
  [
    'hardNegativeMining: positives too short',
    () => hardNegativeMining(l3, new Uint8Array(2)),
    'TypeError',
    'Expected Uint8Array or Int32Array of length 3 (one per anchor) for positives but received Uint8Array of length 2',
  ],
  [
    'hardNegativeMining: positives as Float32Array',
    () => hardNegativeMining(l3, new Float32Array(3) as never),
    'TypeError',
    'Expected Uint8Array or Int32Array of length 3 (one per anchor) for positives but received Float32Array of length 3',
  ],
  [
    'hardNegativeMining: positives missing',
    () => (hardNegativeMining as (...a: unknown[]) => unknown)(l3),
    'TypeError',
    'Expected Uint8Array or Int32Array of length 3 (one per anchor) for positives but received undefined',
  ],
  [
    'hardNegativeMining: negPosRatio -1',
    () => hardNegativeMining(l3, new Uint8Array(3), -1),
    'RangeError',
    'Expected number ≥ 0 for negPosRatio but received -1',
  ],
  [
    'hardNegativeMining: negPosRatio NaN',
    () => hardNegativeMining(l3, new Uint8Array(3), NaN),
    'RangeError',
    'Expected number ≥ 0 for negPosRatio but received NaN',
  ],
  [
    'ssdLossParts: image missing',
    () => (ssdLossParts as (...a: unknown[]) => unknown)(),
    'TypeError',
    'Expected object for image but received undefined',
  ],
  [
    'ssdLossParts: anchors of length 6',
    () => ssdLossParts({ ...img, anchors: new Float32Array(6) }),
    'TypeError',
    'Expected Float32Array of length 4·N for anchors but received Float32Array of length 6',
  ],
  [
    'ssdLossParts: numClasses 0',
    () => ssdLossParts({ ...img, numClasses: 0 }),
    'RangeError',
    'Expected integer ≥ 1 for numClasses but received 0',
  ],
  [
    'ssdLossParts: numClasses 2.5',
    () => ssdLossParts({ ...img, numClasses: 2.5 }),
    'RangeError',
    'Expected integer ≥ 1 for numClasses but received 2.5',
  ],
  [
    'ssdLossParts: classLogits too short',
    () => ssdLossParts({ ...img, classLogits: new Float32Array(5) }),
    'TypeError',
    'Expected Float32Array of length 6 (N·numClasses) for classLogits but received Float32Array of length 5',
  ],
  [
    'ssdLossParts: boxRegression too long',
    () => ssdLossParts({ ...img, boxRegression: new Float32Array(12) }),
    'TypeError',
    'Expected Float32Array of length 8 (4·N, one box per anchor) for boxRegression but received Float32Array of length 12',
  ],
  [
    'ssdLossParts: gtBoxes of length 5',
    () => ssdLossParts({ ...img, gtBoxes: new Float32Array(5) }),
    'TypeError',
    'Expected Float32Array of length 4·N for gtBoxes but received Float32Array of length 5',
  ],
  [
    'ssdLossParts: gtLabels as Uint8Array',
    () => ssdLossParts({ ...img, gtLabels: new Uint8Array(1) as never }),
    'TypeError',
    'Expected Int32Array of length 1 (one per gt box) for gtLabels but received Uint8Array of length 1',
  ],
  [
    'ssdLossParts: gtLabels too long',
    () => ssdLossParts({ ...img, gtLabels: new Int32Array(2) }),
    'TypeError',
    'Expected Int32Array of length 1 (one per gt box) for gtLabels but received Int32Array of length 2',
  ],
  [
    'ssdLossParts: a label ≥ numClasses',
    () => ssdLossParts({ ...img, gtLabels: Int32Array.from([3]) }),
    'RangeError',
    'Expected labels in [0, 2] for gtLabels but received 3',
  ],
  [
    'ssdLossParts: a negative label',
    () => ssdLossParts({ ...img, gtLabels: Int32Array.from([-1]) }),
    'RangeError',
    'Expected labels in [0, 2] for gtLabels but received -1',
  ],
  [
    'ssdLossParts: options a string',
    () => ssdLossParts(img, 'x' as never),
    'TypeError',
    'Expected object for options but received "x"',
  ],
  [
    'ssdLossParts: iouThreshold 2',
    () => ssdLossParts(img, { iouThreshold: 2 }),
    'RangeError',
    'Expected number in [0, 1] for iouThreshold but received 2',
  ],
  [
    'ssdLossParts: negPosRatio -3',
    () => ssdLossParts(img, { negPosRatio: -3 }),
    'RangeError',
    'Expected number ≥ 0 for negPosRatio but received -3',
  ],
  [
    'ssdLossParts: anchorFormat xywh',
    () => ssdLossParts(img, { anchorFormat: 'xywh' as never }),
    'TypeError',
    "Expected one of 'xyxy', 'cxcywh' for anchorFormat but received \"xywh\"",
  ],
  [
    'ssdLossParts: a zero coder weight',
    () => ssdLossParts(img, { boxCoder: { weights: [10, 0, 5, 5] } }),
    'RangeError',
    'Expected finite number > 0 for boxCoder.weights[1] but received 0',
  ],
  [
    'ssdLossParts: coder order',
    () => ssdLossParts(img, { boxCoder: { order: 'xy' as never } }),
    'TypeError',
    "Expected one of 'xywh', 'yxhw' for boxCoder.order but received \"xy\"",
  ],
  [
    'ssdLoss: parts not an array',
    () => ssdLoss({} as never),
    'TypeError',
    'Expected Array for parts but received object',
  ],
  [
    'ssdLoss: a part without foregroundIdxs',
    () => ssdLoss([{} as never]),
    'TypeError',
    'Expected Int32Array for parts[0].foregroundIdxs but received undefined',
  ],
  [
    'ssdLoss: a part with a string sum',
    () => ssdLoss([{ foregroundIdxs: new Int32Array(0), smoothL1Sum: '1' } as never]),
    'TypeError',
    'Expected number for parts[0].smoothL1Sum but received "1"',
  ],
];
for (const [what, fn, type, message] of invalid) {
  test(`rejects ${what}: ${type}`, (t) => {
    const err = t.throws(fn, { message });
    t.is(err?.constructor.name, type);
  });
}

test("ssdLossParts with anchorFormat 'cxcywh': matches of the anchors converted to xyxy, targets encoded against the cxcywh anchors", (t) => {
  const [astronaut] = lossCases()[0].per_image;
  const cxcywh = boxConvert(ssd300AnchorsXyxyPx(), 'xyxy', 'cxcywh');
  const gt = groundTruth(astronaut);
  const p = ssdLossParts(imageInput(0, gt, cxcywh), { anchorFormat: 'cxcywh' });
  const viaXyxy = ssdLossParts(imageInput(0, gt, boxConvert(cxcywh, 'cxcywh', 'xyxy')));
  assertSameArray(t, p.matchedIdxs, viaXyxy.matchedIdxs, 'matches');
  const fg = [...p.foregroundIdxs];
  const matchedGt = Float32Array.from(
    fg.flatMap((i) => [...gt.gtBoxes.subarray(4 * p.matchedIdxs[i], 4 * p.matchedIdxs[i] + 4)]),
  );
  const anchorsFg = Float32Array.from(fg.flatMap((i) => [...cxcywh.subarray(4 * i, 4 * i + 4)]));
  assertSameArray(t, p.encodedTargets, encodeBoxes(matchedGt, anchorsFg, { anchorFormat: 'cxcywh' }), 'targets');
  // Against torchvision's xyxy anchors the re-rounded ones move at most a tie or two (astronaut gt 3: 579/731).
  const common = fg.filter((i) => astronaut.foreground_idxs.includes(i));
  t.true(common.length >= astronaut.foreground_idxs.length - 2);
});
