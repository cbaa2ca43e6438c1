/**
 * Non-maximum suppression with torchvision's semantics (greedy by decreasing score, equal scores by ascending
 * index, suppression when the float32 IoU is > threshold), per-class NMS and Gaussian soft-NMS.
 */
import { binding } from '../binding.ts';
import {
  assertFloat32Array,
  assertFloat32ArrayLength,
  assertFiniteNumber,
  assertInRange,
  assertInt32Array,
  assertInteger,
  assertKnownKeys,
  assertObject,
  assertPositive,
  withDefaults,
} from '../is.ts';
import { expf32, f32 } from './float32.ts';
import { boxArea32, boxAreas32, pairIou32 } from './iou.ts';

export interface NmsOptions {
  /** Boxes with score ≤ scoreThreshold (as float32) are ignored; default −Infinity. NaN scores are always ignored. */
  scoreThreshold?: number;
  /** Only the topK highest-scored candidates enter NMS; default Infinity (all). */
  topK?: number;
  /** Stop after this many kept boxes; default Infinity (all). */
  maxOutput?: number;
}

export interface BatchedNmsOptions {
  /** As in {@link NmsOptions}; default −Infinity. */
  scoreThreshold?: number;
  /** Keep only the first maxOutput of the sorted result; default Infinity (all). */
  maxOutput?: number;
}

export interface SoftNmsOptions {
  /** Gaussian σ: scores decay by exp(−IoU²/σ); default 0.5. */
  sigma?: number;
  /** Boxes whose (decayed) score is ≤ scoreThreshold are dropped; default 0.001. */
  scoreThreshold?: number;
  /** Stop after this many picks; default Infinity (all). */
  maxOutput?: number;
  /** When given, only boxes with IoU > iouThreshold with the picked box decay; default: every remaining box decays. */
  iouThreshold?: number;
}

export interface SoftNmsResult {
  /** Picked box indices in pick order. */
  indices: Int32Array;
  /** Score of each picked box at the time it was picked (decayed), float32. */
  scores: Float32Array;
}

const NMS_DEFAULTS: Required<NmsOptions> = { scoreThreshold: -Infinity, topK: Infinity, maxOutput: Infinity };
const BATCHED_NMS_DEFAULTS: Required<BatchedNmsOptions> = { scoreThreshold: -Infinity, maxOutput: Infinity };
/** iouThreshold −1: every remaining box decays. */
const SOFT_NMS_DEFAULTS: Required<SoftNmsOptions> = {
  sigma: 0.5,
  scoreThreshold: 0.001,
  maxOutput: Infinity,
  iouThreshold: -1,
};

/** A count as the addon takes it: −1 for "all" (Infinity, or anything past int32). */
const nativeCount = (n: number) => (n > 0x7fffffff ? -1 : n);

/**
 * Indices i with scores[i] > threshold (NaN never passes), sorted by decreasing score, equal scores by
 * ascending index. The threshold is compared as float32, as torch compares a float32 tensor with a Python float.
 */
export function rankByScore(scores: Float32Array, threshold: number): Int32Array {
  const threshold32 = f32(threshold);
  const order: number[] = [];
  for (let i = 0; i < scores.length; i++) if (scores[i] > threshold32) order.push(i);
  return Int32Array.from(order).sort((i, j) => scores[j] - scores[i] || i - j);
}

/**
 * Greedy NMS over `order` (box indices in priority order): a box is kept unless its float32 IoU with a box
 * already kept (of the same class when `classIds` is given) is > threshold. Boxes with a non-finite
 * coordinate have IoU 0 with everything. Returns at most maxOutput kept indices in `order` order.
 */
export function greedyNms(
  boxes: Float32Array,
  order: Int32Array,
  iouThreshold: number,
  classIds: Int32Array | null,
  maxOutput: number,
): Int32Array {
  const areas = boxAreas32(boxes);
  const keptByClass = new Map<number, number[]>();
  const keep: number[] = [];
  for (const i of order) {
    if (keep.length >= maxOutput) break;
    const cls = classIds ? classIds[i] : 0;
    let kept = keptByClass.get(cls);
    if (!kept) keptByClass.set(cls, (kept = []));
    if (kept.some((k) => pairIou32(boxes, k, areas[k], boxes, i, areas[i]) > iouThreshold)) continue;
    kept.push(i);
    keep.push(i);
  }
  return Int32Array.from(keep);
}

/** Validates boxes [N·4] and scores [N]. */
function checkBoxesScores(boxes: unknown, scores: unknown): asserts boxes is Float32Array {
  assertFloat32Array('boxes', boxes, 4);
  assertFloat32ArrayLength('scores', scores, boxes.length / 4, 'one per box');
}

/** Validates an options bag (an object with no key outside `defaults`) and merges it over defaults. */
function resolveOptions<T extends object>(options: Partial<T> | undefined, defaults: T): T {
  if (options !== undefined) assertObject('options', options);
  assertKnownKeys('options', options, Object.keys(defaults));
  return withDefaults(defaults, options);
}

/** The argument checks of {@link nms} and its twin; returns the options over their defaults. */
function resolveNms(
  boxes: unknown,
  scores: unknown,
  iouThreshold: unknown,
  options: NmsOptions | undefined,
): Required<NmsOptions> {
  checkBoxesScores(boxes, scores);
  assertInRange('iouThreshold', iouThreshold, 0, 1);
  const o = resolveOptions(options, NMS_DEFAULTS);
  assertInRange('scoreThreshold', o.scoreThreshold, -Infinity, Infinity);
  assertInteger('topK', o.topK, 0, true);
  assertInteger('maxOutput', o.maxOutput, 0, true);
  return o;
}

/** The argument checks of {@link batchedNms} and its twin; returns the options over their defaults. */
function resolveBatchedNms(
  boxes: unknown,
  scores: unknown,
  classIds: unknown,
  iouThreshold: unknown,
  options: BatchedNmsOptions | undefined,
): Required<BatchedNmsOptions> {
  checkBoxesScores(boxes, scores);
  assertInt32Array('classIds', classIds, boxes.length / 4, 'one per box');
  assertInRange('iouThreshold', iouThreshold, 0, 1);
  const o = resolveOptions(options, BATCHED_NMS_DEFAULTS);
  assertInRange('scoreThreshold', o.scoreThreshold, -Infinity, Infinity);
  assertInteger('maxOutput', o.maxOutput, 0, true);
  return o;
}

/** The argument checks of {@link softNms} and its twin; returns the options over their defaults. */
function resolveSoftNms(
  boxes: unknown,
  scores: unknown,
  options: SoftNmsOptions | undefined,
): Required<SoftNmsOptions> {
  checkBoxesScores(boxes, scores);
  const o = resolveOptions(options, SOFT_NMS_DEFAULTS);
  assertPositive('sigma', o.sigma, true);
  assertFiniteNumber('scoreThreshold', o.scoreThreshold);
  assertInteger('maxOutput', o.maxOutput, 0, true);
  if (options?.iouThreshold !== undefined) assertInRange('iouThreshold', o.iouThreshold, 0, 1);
  return o;
}

/**
 * Non-maximum suppression (torchvision `ops.nms` semantics, float32 IoU).
 *
 * Candidates are the boxes with score > float32(scoreThreshold) (NaN scores never), sorted by decreasing score with
 * equal scores by ascending index, cut to the first topK. Greedily, a candidate is dropped when its float32
 * IoU with an already kept box is > iouThreshold (strict, compared as double, so IoU exactly 0.5 with
 * threshold 0.5 is kept); otherwise kept, until maxOutput are kept. Boxes with a non-finite coordinate have
 * IoU 0 with everything (kept if their score qualifies, suppress nothing).
 *
 * @param boxes Float32Array [N·4], xyxy.
 * @param scores Float32Array [N].
 * @param iouThreshold Number in [0, 1].
 * @param options `{ scoreThreshold = −Infinity, topK = Infinity, maxOutput = Infinity }`.
 * @returns Int32Array of kept indices in greedy order (decreasing score, ties by ascending index). Empty for N = 0.
 * @throws {TypeError} `boxes` not a Float32Array [4·N], `scores` not a Float32Array [N] (a Proxy or a detached array
 *   never is), options not an object or with a key other than scoreThreshold / topK / maxOutput.
 * @throws {RangeError} iouThreshold NaN or outside [0, 1], scoreThreshold NaN, topK/maxOutput not an integer ≥ 0 or Infinity.
 * @example
 * const boxes = new Float32Array([0, 0, 10, 10, 1, 1, 10, 10, 20, 20, 30, 30]);
 * nms(boxes, new Float32Array([0.9, 0.8, 0.7]), 0.5); // Int32Array [0, 2]
 */
export function nms(boxes: Float32Array, scores: Float32Array, iouThreshold: number, options?: NmsOptions): Int32Array {
  const o = resolveNms(boxes, scores, iouThreshold, options);
  return binding
    ? binding.nms(boxes, scores, iouThreshold, o.scoreThreshold, nativeCount(o.topK), nativeCount(o.maxOutput))
    : nmsResolved(boxes, scores, iouThreshold, o);
}

/** Pure-TypeScript twin of {@link nms}: same checks and messages, same indices, same order. */
export function nmsTs(
  boxes: Float32Array,
  scores: Float32Array,
  iouThreshold: number,
  options?: NmsOptions,
): Int32Array {
  return nmsResolved(boxes, scores, iouThreshold, resolveNms(boxes, scores, iouThreshold, options));
}

function nmsResolved(
  boxes: Float32Array,
  scores: Float32Array,
  iouThreshold: number,
  { scoreThreshold, topK, maxOutput }: Required<NmsOptions>,
): Int32Array {
  const order = rankByScore(scores, scoreThreshold);
  return greedyNms(boxes, order.subarray(0, Math.min(topK, order.length)), iouThreshold, null, maxOutput);
}

/**
 * NMS independently per class (torchvision `ops.batched_nms` semantics): boxes of different classes never
 * suppress each other. Same candidate rules as {@link nms} (score > scoreThreshold, NaN ignored).
 *
 * @param boxes Float32Array [N·4], xyxy.
 * @param scores Float32Array [N].
 * @param classIds Int32Array [N], any integers.
 * @param iouThreshold Number in [0, 1].
 * @param options `{ scoreThreshold = −Infinity, maxOutput = Infinity }`.
 * @returns Int32Array of all kept indices sorted by decreasing score, ties by ascending index, cut to maxOutput.
 * @throws {TypeError} Wrong array types/lengths (`classIds` must be an Int32Array [N]), options not an object or with
 *   a key other than scoreThreshold / maxOutput.
 * @throws {RangeError} iouThreshold NaN or outside [0, 1], scoreThreshold NaN, maxOutput not an integer ≥ 0 or Infinity.
 * @example
 * const boxes = new Float32Array([0, 0, 10, 10, 1, 1, 10, 10]);
 * batchedNms(boxes, new Float32Array([0.9, 0.8]), new Int32Array([0, 1]), 0.5); // Int32Array [0, 1]
 */
export function batchedNms(
  boxes: Float32Array,
  scores: Float32Array,
  classIds: Int32Array,
  iouThreshold: number,
  options?: BatchedNmsOptions,
): Int32Array {
  const o = resolveBatchedNms(boxes, scores, classIds, iouThreshold, options);
  return binding
    ? binding.batchedNms(boxes, scores, classIds, iouThreshold, o.scoreThreshold, nativeCount(o.maxOutput))
    : batchedNmsResolved(boxes, scores, classIds, iouThreshold, o);
}

/** Pure-TypeScript twin of {@link batchedNms}: same checks and messages, same indices, same order. */
export function batchedNmsTs(
  boxes: Float32Array,
  scores: Float32Array,
  classIds: Int32Array,
  iouThreshold: number,
  options?: BatchedNmsOptions,
): Int32Array {
  return batchedNmsResolved(
    boxes,
    scores,
    classIds,
    iouThreshold,
    resolveBatchedNms(boxes, scores, classIds, iouThreshold, options),
  );
}

function batchedNmsResolved(
  boxes: Float32Array,
  scores: Float32Array,
  classIds: Int32Array,
  iouThreshold: number,
  { scoreThreshold, maxOutput }: Required<BatchedNmsOptions>,
): Int32Array {
  // Greedy in global score order with per-class kept lists = per-class NMS, already sorted by (score, index).
  return greedyNms(boxes, rankByScore(scores, scoreThreshold), iouThreshold, classIds, maxOutput);
}

/**
 * Gaussian soft-NMS (Bodla et al. 2017). Starting from the boxes with score > scoreThreshold (NaN never),
 * repeatedly pick the box with the highest current score (ties → lower index); every remaining box decays
 * (only those with IoU > iouThreshold when it is given) as score ← score·exp(−IoU²/σ), all in float32 with
 * the float32 IoU; boxes whose score is then ≤ scoreThreshold are dropped. Stops after maxOutput picks.
 *
 * @param boxes Float32Array [N·4], xyxy.
 * @param scores Float32Array [N] (not modified).
 * @param options `{ sigma = 0.5, scoreThreshold = 0.001, maxOutput = Infinity, iouThreshold? }`.
 * @returns `{ indices: Int32Array, scores: Float32Array }` in pick order; scores as decayed when picked.
 * @throws {TypeError} Wrong array types/lengths, options not an object or with a key other than sigma /
 *   scoreThreshold / maxOutput / iouThreshold.
 * @throws {RangeError} sigma not a finite number > 0, scoreThreshold not finite, iouThreshold outside [0, 1],
 *   maxOutput not an integer ≥ 0 or Infinity.
 * @example
 * const boxes = new Float32Array([0, 0, 10, 10, 1, 1, 10, 10]);
 * softNms(boxes, new Float32Array([0.9, 0.8])); // { indices: [0, 1], scores: [0.9, 0.2153817] }
 */
export function softNms(boxes: Float32Array, scores: Float32Array, options?: SoftNmsOptions): SoftNmsResult {
  const o = resolveSoftNms(boxes, scores, options);
  return binding
    ? binding.softNms(boxes, scores, o.sigma, o.iouThreshold, o.scoreThreshold, nativeCount(o.maxOutput))
    : softNmsResolved(boxes, scores, o);
}

/** Pure-TypeScript twin of {@link softNms}: same checks and messages, same picks, same float32 scores. */
export function softNmsTs(boxes: Float32Array, scores: Float32Array, options?: SoftNmsOptions): SoftNmsResult {
  return softNmsResolved(boxes, scores, resolveSoftNms(boxes, scores, options));
}

function softNmsResolved(
  boxes: Float32Array,
  scores: Float32Array,
  { sigma, scoreThreshold, maxOutput, iouThreshold }: Required<SoftNmsOptions>,
): SoftNmsResult {
  const sigma32 = f32(sigma);
  const threshold32 = f32(scoreThreshold);
  const current = Float32Array.from(scores);
  let alive = Array.from(rankByScore(scores, scoreThreshold));
  const indices: number[] = [];
  const picked: number[] = [];
  while (alive.length > 0 && indices.length < maxOutput) {
    const m = alive.reduce((best, j) =>
      current[j] > current[best] || (current[j] === current[best] && j < best) ? j : best,
    );
    indices.push(m);
    picked.push(current[m]);
    const areaM = boxArea32(boxes, m);
    alive = alive.filter((j) => {
      if (j === m) return false;
      const iou = pairIou32(boxes, m, areaM, boxes, j, boxArea32(boxes, j));
      if (iouThreshold < 0 || iou > iouThreshold) current[j] *= expf32(f32(-f32(iou * iou) / sigma32));
      return current[j] > threshold32;
    });
  }
  return { indices: Int32Array.from(indices), scores: Float32Array.from(picked) };
}
