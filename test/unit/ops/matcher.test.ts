/**
 * matchAnchors: torchvision's SSDMatcher on the SSD300 anchors (all 8732 matched_idxs of both images of both
 * reference cases, the forced matches and the tie cases of the oracle), a hand-made case with hard-coded results,
 * a slow obvious reference over many seeds (ties, duplicates, zero-area and non-finite boxes, thresholds, both
 * modes), every SIMD variant, empty inputs, and invalid inputs with exact messages.
 */
import test from 'ava';
import { backend, boxConvert, capabilities, setSimd, type SimdLevel } from '../../../lib/index.ts';
import { matchAnchors } from '../../../lib/train/index.ts';
import { matchAnchorsTs } from '../../../lib/reference.ts';
import { assertSameArray } from '../../helpers/compare.ts';
import { matcherImpls } from '../../helpers/implementations.ts';
import { groundTruth, lossCases, NUM_ANCHORS, ssd300AnchorsXyxyPx } from '../../helpers/loss-fixture.ts';
import { mulberry32, randInt, randomBoxes, seeds, sprinkleNonFinite, type Rng } from '../../helpers/random.ts';
import { nmsIouF32 } from '../../helpers/reference.ts';

/**
 * The slow, obvious reference: the full M×N float32 IoU matrix (0 for degenerate / non-finite boxes); each anchor
 * takes the first gt reaching its column maximum if that maximum is ≥ float32(threshold); then, in gt order, each
 * gt's first anchor reaching its row maximum is set to that gt.
 */
function referenceMatch(
  gt: Float32Array,
  anchors: Float32Array,
  threshold: number,
  allowLowQuality: boolean,
): number[] {
  const m = gt.length / 4;
  const n = anchors.length / 4;
  const iou = Array.from({ length: m }, (_, j) => Array.from({ length: n }, (_, i) => nmsIouF32(gt, j, anchors, i)));
  const matched = new Array<number>(n).fill(-1);
  if (m === 0) return matched;
  for (let i = 0; i < n; i++) {
    const column = iou.map((row) => row[i]);
    const best = Math.max(...column);
    if (best >= Math.fround(threshold)) matched[i] = column.indexOf(best);
  }
  if (allowLowQuality && n > 0) {
    for (let j = 0; j < m; j++) matched[iou[j].indexOf(Math.max(...iou[j]))] = j;
  }
  return matched;
}

/** Random gt boxes: some integer (exact IoU ties), some duplicated (shared best anchors), some degenerate. */
function randomCase(rng: Rng, seed: number): { gt: Float32Array; anchors: Float32Array } {
  const extent = seed % 2 ? 300 : 80;
  const integer = seed % 3 === 0;
  const anchors = randomBoxes(rng, randInt(rng, 0, 300), {
    extent,
    minSide: seed % 7 === 0 ? 0 : 4,
    maxSide: 60,
    integer,
    zeroAreaFraction: seed % 5 === 0 ? 0.05 : 0,
  });
  let gt = randomBoxes(rng, randInt(rng, 0, 12), {
    extent,
    minSide: 2,
    maxSide: 90,
    integer,
    zeroAreaFraction: seed % 5 === 0 ? 0.2 : 0,
  });
  if (seed % 4 === 1 && gt.length >= 8) gt = Float32Array.from([...gt, ...gt.subarray(0, 8)]); // duplicates → shared best anchors
  if (seed % 9 === 4) gt = Float32Array.from([...gt, ...anchors.subarray(0, 4)]); // a gt equal to anchor 0: IoU exactly 1
  if (seed % 8 === 3) {
    sprinkleNonFinite(rng, anchors, 0.05);
    sprinkleNonFinite(rng, gt, 0.1);
  }
  return { gt, anchors };
}

// ---- hand-made case ------------------------------------------------------------------------------------------
// gt 0 and gt 2 are the same box (their best anchor a0 ends with gt 2); a1 has IoU exactly 0.5 with gt 0 (and
// gt 2: the tie goes to gt 0); gt 3 overlaps only a5, by 0.01 (forced).
const handGt = Float32Array.from([0, 0, 10, 10, 20, 20, 30, 30, 0, 0, 10, 10, 100, 100, 101, 101]);
const handAnchors = Float32Array.from([
  0, 0, 10, 10, 0, 0, 10, 20, 20, 20, 30, 30, 22, 20, 32, 30, 50, 50, 60, 60, 100, 100, 110, 110,
]);

for (const impl of matcherImpls) {
  // ---- torchvision oracle ------------------------------------------------------------------------------------
  for (const c of lossCases()) {
    c.per_image.forEach((im, b) => {
      test(`${impl.name}: torchvision SSDMatcher, case ${c.name}, ${im.image}: all ${NUM_ANCHORS} matched_idxs`, (t) => {
        const { gtBoxes } = groundTruth(im);
        const matched = impl.matchAnchors(gtBoxes, ssd300AnchorsXyxyPx());
        t.true(matched instanceof Int32Array);
        assertSameArray(t, matched, im.matched_idxs, `${c.name} image ${b}`);
        for (const f of im.forced_matches)
          t.is(matched[f.anchor], f.gt, `gt ${f.gt} keeps its best anchor ${f.anchor}`);
      });
    });
  }

  test(`${impl.name}: the oracle's tie cases (astronaut gt 3 → anchor 579 of 579/731; coffee anchor 6971 taken from gt 4 by gt 3)`, (t) => {
    const [astronaut, coffee] = lossCases()[0].per_image;
    t.deepEqual(astronaut.best_anchor_ties_per_gt[3], [579, 731]);
    const a = impl.matchAnchors(groundTruth(astronaut).gtBoxes, ssd300AnchorsXyxyPx());
    t.is(a[579], 3);
    t.is(a[731], -1);
    const forced = coffee.forced_matches.find((f) => f.anchor === 6971)!;
    t.is(forced.match_from_threshold_alone, 4);
    const cm = impl.matchAnchors(groundTruth(coffee).gtBoxes, ssd300AnchorsXyxyPx());
    t.is(cm[6971], 3);
    const alone = impl.matchAnchors(groundTruth(coffee).gtBoxes, ssd300AnchorsXyxyPx(), { allowLowQuality: false });
    t.is(alone[6971], 4);
    t.is(impl.matchAnchors(groundTruth(astronaut).gtBoxes, ssd300AnchorsXyxyPx(), { allowLowQuality: false })[579], -1);
  });

  // ---- hand-made -------------------------------------------------------------------------------------------------
  test(`${impl.name}: hand-made case (exact 0.5 threshold, equal gts, forced low-quality match)`, (t) => {
    assertSameArray(t, impl.matchAnchors(handGt, handAnchors), [2, 0, 1, 1, -1, 3], 'defaults');
    assertSameArray(
      t,
      impl.matchAnchors(handGt, handAnchors, { allowLowQuality: false }),
      [0, 0, 1, 1, -1, -1],
      'threshold only',
    );
    assertSameArray(t, impl.matchAnchors(handGt, handAnchors, { iouThreshold: 0.6 }), [2, -1, 1, 1, -1, 3], '0.6');
    assertSameArray(
      t,
      impl.matchAnchors(handGt, handAnchors, { iouThreshold: 0, allowLowQuality: false }),
      [0, 0, 1, 1, 0, 3],
      '0: IoU 0 matches gt 0',
    );
    assertSameArray(
      t,
      impl.matchAnchors(handGt, handAnchors, { iouThreshold: 1, allowLowQuality: false }),
      [0, -1, 1, -1, -1, -1],
      '1',
    );
  });

  test(`${impl.name}: anchorFormat 'cxcywh' = the same anchors converted to xyxy`, (t) => {
    const cxcywh = boxConvert(handAnchors, 'xyxy', 'cxcywh');
    assertSameArray(
      t,
      impl.matchAnchors(handGt, cxcywh, { anchorFormat: 'cxcywh' }),
      impl.matchAnchors(handGt, boxConvert(cxcywh, 'cxcywh', 'xyxy')),
    );
    const [astronaut] = lossCases()[0].per_image;
    const px = boxConvert(ssd300AnchorsXyxyPx(), 'xyxy', 'cxcywh');
    const viaCxcywh = impl.matchAnchors(groundTruth(astronaut).gtBoxes, px, { anchorFormat: 'cxcywh' });
    assertSameArray(
      t,
      viaCxcywh,
      impl.matchAnchors(groundTruth(astronaut).gtBoxes, boxConvert(px, 'cxcywh', 'xyxy')),
      'SSD300',
    );
  });

  // ---- obvious reference over many seeds ---------------------------------------------------------------------
  test(`${impl.name}: matchAnchors = referenceMatch over 150 seeds × 7 thresholds × both modes`, (t) => {
    for (const seed of seeds(150)) {
      const rng = mulberry32(20_000 + seed);
      const { gt, anchors } = randomCase(rng, seed);
      for (const thr of [0, 0.1, 0.3, 0.5, 0.7, 1, Math.fround(rng())]) {
        for (const allowLowQuality of [true, false]) {
          const got = impl.matchAnchors(gt, anchors, { iouThreshold: thr, allowLowQuality });
          assertSameArray(
            t,
            got,
            referenceMatch(gt, anchors, thr, allowLowQuality),
            `seed ${seed} M ${gt.length / 4} N ${anchors.length / 4} thr ${thr} lowQuality ${allowLowQuality}`,
          );
        }
      }
    }
  });

  // ---- empty and degenerate ------------------------------------------------------------------------------------
  test(`${impl.name}: empty inputs (M = 0 → all −1, N = 0 → empty)`, (t) => {
    assertSameArray(t, impl.matchAnchors(new Float32Array(0), handAnchors), [-1, -1, -1, -1, -1, -1]);
    assertSameArray(t, impl.matchAnchors(handGt, new Float32Array(0)), []);
    assertSameArray(t, impl.matchAnchors(new Float32Array(0), new Float32Array(0)), []);
    t.true(impl.matchAnchors(new Float32Array(0), new Float32Array(0)) instanceof Int32Array);
  });

  test(`${impl.name}: degenerate and non-finite boxes have IoU 0 (a zero-area gt still forces anchor 0)`, (t) => {
    const gt = Float32Array.from([5, 5, 5, 5, NaN, 0, 10, 10]);
    assertSameArray(t, impl.matchAnchors(gt, handAnchors), [1, -1, -1, -1, -1, -1]);
    assertSameArray(t, impl.matchAnchors(gt, handAnchors, { allowLowQuality: false }), [-1, -1, -1, -1, -1, -1]);
    const anchors = Float32Array.from([Infinity, 0, 10, 10, 0, 0, 10, 10, 0, 0, NaN, 10]);
    assertSameArray(t, impl.matchAnchors(Float32Array.from([0, 0, 10, 10]), anchors), [-1, 0, -1]);
  });
}

// ---- every SIMD variant of the native IoU row against the TS twin ---------------------------------------------------
if (backend === 'native') {
  test.serial("matchAnchors: every SIMD variant gives the TS twin's matches over 60 seeds", (t) => {
    try {
      for (const level of capabilities().supported as SimdLevel[]) {
        setSimd(level);
        for (const seed of seeds(60)) {
          const { gt, anchors } = randomCase(mulberry32(30_000 + seed), seed);
          for (const allowLowQuality of [true, false]) {
            assertSameArray(
              t,
              matchAnchors(gt, anchors, { allowLowQuality }),
              matchAnchorsTs(gt, anchors, { allowLowQuality }),
              `${level} seed ${seed}`,
            );
          }
        }
      }
    } finally {
      setSimd('auto');
    }
  });
}

// ---- invalid inputs (public op, exact messages) -------------------------------------------------------------------
const invalid: Array<[string, () => unknown, 'TypeError' | 'RangeError', string]> = [
  [
    'gtBoxes of length 7',
    () => matchAnchors(new Float32Array(7), handAnchors),
    'TypeError',
    'Expected Float32Array of length 4·N for gtBoxes but received Float32Array of length 7',
  ],
  [
    'gtBoxes missing',
    () => (matchAnchors as (...a: unknown[]) => unknown)(),
    'TypeError',
    'Expected Float32Array of length 4·N for gtBoxes but received undefined',
  ],
  [
    'anchors as a plain array',
    () => matchAnchors(handGt, [0, 0, 1, 1] as never),
    'TypeError',
    'Expected Float32Array of length 4·N for anchors but received Array of length 4',
  ],
  [
    'anchors as Float64Array',
    () => matchAnchors(handGt, new Float64Array(8) as never),
    'TypeError',
    'Expected Float32Array of length 4·N for anchors but received Float64Array of length 8',
  ],
  [
    'iouThreshold NaN',
    () => matchAnchors(handGt, handAnchors, { iouThreshold: NaN }),
    'RangeError',
    'Expected number in [0, 1] for iouThreshold but received NaN',
  ],
  [
    'iouThreshold 1.5',
    () => matchAnchors(handGt, handAnchors, { iouThreshold: 1.5 }),
    'RangeError',
    'Expected number in [0, 1] for iouThreshold but received 1.5',
  ],
  [
    'iouThreshold a string',
    () => matchAnchors(handGt, handAnchors, { iouThreshold: '0.5' as never }),
    'TypeError',
    'Expected number in [0, 1] for iouThreshold but received "0.5"',
  ],
  [
    'allowLowQuality 1',
    () => matchAnchors(handGt, handAnchors, { allowLowQuality: 1 as never }),
    'TypeError',
    'Expected boolean for allowLowQuality but received 1',
  ],
  [
    'anchorFormat xywh',
    () => matchAnchors(handGt, handAnchors, { anchorFormat: 'xywh' as never }),
    'TypeError',
    "Expected one of 'xyxy', 'cxcywh' for anchorFormat but received \"xywh\"",
  ],
  [
    'options a number',
    () => matchAnchors(handGt, handAnchors, 3 as never),
    'TypeError',
    'Expected object for options but received 3',
  ],
];
for (const [what, fn, type, message] of invalid) {
  test(`matchAnchors rejects ${what}: ${type}`, (t) => {
    const err = t.throws(fn, { message });
    t.is(err?.constructor.name, type);
  });
}
