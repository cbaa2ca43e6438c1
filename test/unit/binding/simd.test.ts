/**
 * Every SIMD variant of the addon gives the scalar variant's results and the TS twin's: exact NMS keep lists
 * and IoU matrices, decode and postprocess scores within 1e-5 relative. Random inputs over 60 seeds.
 */
import test, { type ExecutionContext } from 'ava';
import {
  backend,
  boxIou,
  capabilities,
  decodeBoxes,
  nms,
  batchedNms,
  postprocessDetections,
  setSimd,
  type Detections,
  type PostprocessOptions,
  type SimdLevel,
} from '../../../lib/index.ts';
import { batchedNmsTs, boxIouTs, decodeBoxesTs, nmsTs, postprocessDetectionsTs } from '../../../lib/reference.ts';
import { assertClose, assertSameArray } from '../../helpers/compare.ts';
import {
  mulberry32,
  randInt,
  randomArray,
  randomBoxes,
  randomScores,
  seeds,
  sprinkleNonFinite,
} from '../../helpers/random.ts';

const SEEDS = seeds(60);

function inputs(seed: number) {
  const rng = mulberry32(seed);
  const n = randInt(rng, 0, 400) + (seed % 10 === 0 ? 3000 : 0); // a few large ones to fill whole vectors
  const boxes = randomBoxes(rng, n, {
    extent: seed % 2 ? 300 : 100,
    minSide: seed % 7 === 0 ? 0 : 3,
    zeroAreaFraction: seed % 5 === 0 ? 0.1 : 0,
    integer: seed % 3 === 0,
  });
  if (seed % 6 === 5) sprinkleNonFinite(rng, boxes, 0.05);
  const scores = randomScores(rng, n, seed % 4 === 0 ? 9 : 0);
  const classIds = Int32Array.from({ length: n }, () => randInt(rng, 0, 5));
  const m = randInt(rng, 0, 37);
  const other = randomBoxes(rng, m, { extent: 300, integer: seed % 3 === 0 });
  const anchors = new Float32Array(4 * n);
  for (let a = 0; a < n; a++) anchors.set([rng(), rng(), 0.02 + 0.5 * rng(), 0.02 + 0.5 * rng()], 4 * a);
  const deltas = randomArray(rng, 4 * n, -6, 30); // includes clamped dw/dh
  const C = randInt(rng, 2, 12);
  const logits = randomArray(rng, n * C, -8, 8);
  const thr = [0.3, 0.45, 0.5, 0.7][seed % 4];
  const options: PostprocessOptions = {
    scoring: seed % 2 ? 'softmax' : 'sigmoid',
    boxEncoding: 'deltas',
    backgroundIndex: seed % 3 ? 0 : -1,
    scoreThresh: 0.05,
    nmsThresh: thr,
    topkCandidates: 100,
    detectionsPerImg: 150,
    boxCoder: { weights: [10, 10, 5, 5], order: seed % 2 ? 'xywh' : 'yxhw', clip: Math.log(1000 / 16) },
    clipBoxes: seed % 2 === 1,
  };
  return { n, boxes, scores, classIds, other, anchors, deltas, C, logits, thr, options };
}

/** Every op on one input, with whatever variant is active (or the TS twins). */
function runAll(seed: number, ts = false) {
  const x = inputs(seed);
  const post = {
    boxRegression: x.deltas,
    classLogits: x.logits,
    anchors: x.anchors,
    numClasses: x.C,
    imageSizes: [[480, 640]] as Array<[number, number]>,
  };
  return {
    iou: (ts ? boxIouTs : boxIou)(x.boxes.subarray(0, 4 * Math.min(x.n, 300)), x.other),
    keep: (ts ? nmsTs : nms)(x.boxes, x.scores, x.thr),
    batched: (ts ? batchedNmsTs : batchedNms)(x.boxes, x.scores, x.classIds, x.thr),
    decoded: (ts ? decodeBoxesTs : decodeBoxes)(x.deltas, x.anchors, {
      anchorFormat: 'cxcywh',
      order: x.options.boxCoder.order,
    }),
    post: (ts ? postprocessDetectionsTs : postprocessDetections)(post, x.options)[0] as Detections,
  };
}

type Result = ReturnType<typeof runAll>;
function assertSame(t: ExecutionContext, got: Result, want: Result, label: string) {
  assertSameArray(t, got.iou, want.iou, `${label} IoU (exact)`);
  assertSameArray(t, got.keep, want.keep, `${label} nms keep (exact)`);
  assertSameArray(t, got.batched, want.batched, `${label} batchedNms keep (exact)`);
  assertClose(t, got.decoded, want.decoded, { rel: 1e-5, abs: 1e-6 }, `${label} decode`);
  assertSameArray(t, got.post.labels, want.post.labels, `${label} postprocess labels`);
  assertClose(t, got.post.scores, want.post.scores, { rel: 1e-5 }, `${label} postprocess scores`);
  assertClose(t, got.post.boxes, want.post.boxes, { rel: 1e-5, abs: 1e-3 }, `${label} postprocess boxes (px)`);
}

if (backend === 'typescript') {
  test('simd: skipped — backend is typescript (native addon not loaded), there are no SIMD variants to compare', (t) => {
    t.pass();
  });
} else {
  test.after.always('restore setSimd("auto")', () => {
    setSimd('auto');
  });

  const levels = capabilities().supported as SimdLevel[];

  test('simd: setSimd returns the level now active and capabilities() reports it', (t) => {
    for (const level of levels) {
      t.is(setSimd(level), level);
      t.is(capabilities().active, level);
    }
    const auto = setSimd('auto');
    t.true(levels.includes(auto));
  });

  test('simd: an unsupported level throws', (t) => {
    const missing = (['scalar', 'avx2', 'neon'] as const).find((l) => !levels.includes(l));
    if (!missing) {
      t.pass('every level is supported here');
      return;
    }
    t.throws(() => setSimd(missing));
    t.throws(() => setSimd('sse9' as never), {
      instanceOf: TypeError,
      message: "Expected one of 'auto', 'scalar', 'avx2', 'neon' for level but received \"sse9\"",
    });
  });

  for (const level of levels) {
    test.serial(
      `simd '${level}': IoU, nms, batchedNms, decode, postprocess equal scalar and the TS twin over ${SEEDS.length} seeds`,
      (t) => {
        for (const seed of SEEDS) {
          setSimd('scalar');
          const scalar = runAll(seed);
          setSimd(level);
          const got = runAll(seed);
          assertSame(t, got, scalar, `${level} vs scalar, seed ${seed}`);
          assertSame(t, got, runAll(seed, true), `${level} vs TS twin, seed ${seed}`);
        }
        setSimd('auto');
      },
    );
  }
}
