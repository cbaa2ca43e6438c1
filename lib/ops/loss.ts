/**
 * The discrete and per-anchor parts of torchvision's SSD training loss (`SSD.compute_loss`): matching, regression
 * targets, softmax cross-entropy per anchor, smooth-L1, hard negative mining, and the batch reduction. A training
 * loop (tfjs computes the gradients) takes the chosen anchors and targets from here.
 */
import { binding, type NativeSsdLossParts } from '../binding.ts';
import {
  assertArray,
  assertFloat32Array,
  assertFloat32ArrayLength,
  assertInRange,
  assertInt32Array,
  assertInteger,
  assertKnownKeys,
  assertObject,
  invalidParameterError,
  outOfRangeError,
  typedArrayKind,
  typedArrayOf,
} from '../is.ts';
import { encodeResolved, resolveBoxCoderOptions, type AnchorFormat, type BoxCoderOptions } from './box-coder.ts';
import { expSum8, f32 } from './float32.ts';
import { matchResolved, resolveMatchOptions } from './matcher.ts';

/** One image of a training batch: head outputs, anchors and ground truth. */
export interface SsdLossImage {
  /** Float32Array [N·C] raw class logits (background = class 0). */
  classLogits: Float32Array;
  /** Float32Array [N·4] predicted regression deltas, in the coder's order. */
  boxRegression: Float32Array;
  /** Float32Array [N·4] anchors in `anchorFormat`, same units as gtBoxes (torchvision: xyxy pixels of the input). */
  anchors: Float32Array;
  /** C, background included. */
  numClasses: number;
  /** Float32Array [M·4] xyxy ground-truth boxes (M may be 0). */
  gtBoxes: Float32Array;
  /** Int32Array [M] class of each gt box, in [0, C) (label 0 = background: matched, but not a positive). */
  gtLabels: Int32Array;
}

export interface SsdLossOptions {
  /** Matching IoU threshold (≥, float32); default 0.5. */
  iouThreshold?: number;
  /** Hard negatives per positive; default 3 (torchvision: (1 − 0.25) / 0.25). */
  negPosRatio?: number;
  /** Layout of the anchors; default 'xyxy'. */
  anchorFormat?: AnchorFormat;
  /** Coder of the regression targets; default weights [10, 10, 5, 5], order 'xywh' (`clip` is unused). */
  boxCoder?: BoxCoderOptions;
}

/** The keys of {@link SsdLossOptions} (any other key is rejected). */
const LOSS_OPTION_KEYS: readonly (keyof SsdLossOptions)[] = ['iouThreshold', 'negPosRatio', 'anchorFormat', 'boxCoder'];

/** Everything torchvision's `compute_loss` computes for one image before the batch reduction. */
export interface SsdLossParts extends NativeSsdLossParts {
  /** Int32Array [N]: matched gt index per anchor, or −1 ({@link matchAnchors} with low-quality matches). */
  matchedIdxs: Int32Array;
  /** Int32Array [F]: anchors with a match (matchedIdxs ≥ 0), ascending. Their count adds to the batch normalizer. */
  foregroundIdxs: Int32Array;
  /** Float32Array [F·4]: coder deltas of the matched gt against the anchor, in foregroundIdxs order. */
  encodedTargets: Float32Array;
  /** Float32Array [N]: softmax cross-entropy of every anchor against its target (gt label, or 0 unmatched). */
  clsLossPerAnchor: Float32Array;
  /** Σ smooth-L1 (beta 1) of boxRegression − encodedTargets over the foreground anchors (float32 terms, float64 sum). */
  smoothL1Sum: number;
  /** Σ clsLossPerAnchor over the positives (anchors whose target class is > 0). */
  positiveClsSum: number;
  /** Int32Array: the mined negatives ({@link hardNegativeMining}), ascending. */
  hardNegativeIdxs: Int32Array;
  /** Σ clsLossPerAnchor over hardNegativeIdxs. */
  hardNegativeClsSum: number;
  /** Anchors whose target class is > 0. */
  numPositive: number;
}

/** The two losses torchvision's SSD returns in training mode. */
export interface SsdLoss {
  /** Σ images (positiveClsSum + hardNegativeClsSum) / N. */
  classification: number;
  /** Σ images smoothL1Sum / N. */
  bboxRegression: number;
}

/** The negative count of torchvision: ratio · #positives as a float32 tensor, ranks below it → ⌈·⌉, capped. */
function negativeCount(numPositive: number, numBackground: number, negPosRatio: number): number {
  if (numPositive === 0) return 0;
  return Math.min(numBackground, Math.ceil(f32(f32(numPositive) * f32(negPosRatio))));
}

/** `positives` must be a Uint8Array or an Int32Array with one element per anchor. */
function assertPositives(positives: unknown, n: number): asserts positives is Uint8Array | Int32Array {
  if (!((typedArrayOf(positives, Uint8Array) || typedArrayOf(positives, Int32Array)) && positives.length === n)) {
    throw invalidParameterError('positives', `Uint8Array or Int32Array of length ${n} (one per anchor)`, positives);
  }
}

/** 0/1 mask of a Uint8Array mask (≠ 0) or of matched indices (≥ 0). */
function positiveMask(positives: Uint8Array | Int32Array): Uint8Array {
  return typedArrayKind(positives) === 'Int32Array'
    ? Uint8Array.from(positives, (v) => (v >= 0 ? 1 : 0))
    : (positives as Uint8Array);
}

/**
 * Hard negative mining (torchvision `SSD.compute_loss`): of the background anchors (not positive), the k with the
 * largest classification loss, k = ⌈negPosRatio · #positives⌉ (as a float32 product, like torch) capped at the number
 * of background anchors, **no minimum** (no positive → no negative).
 * Ranking: NaN losses first, then decreasing loss, **equal losses → lower index** (torch's sort is not stable, so
 * when equal losses straddle the cut torchvision's set is unspecified; the sum is the same). Positives are never
 * chosen (torchvision would also "pick" positives, at −∞, if k exceeded the background count, i.e. with more than
 * 1/(1 + ratio) of the anchors positive; here k is capped instead).
 *
 * @param clsLoss Float32Array [N] per-anchor classification loss (e.g. `clsLossPerAnchor` of {@link ssdLossParts}).
 * @param positives Uint8Array [N] mask (≠ 0 = positive), or Int32Array [N] matched indices (≥ 0 = positive, as
 *   {@link matchAnchors} returns them; pass a mask when some matched gt has label 0).
 * @param negPosRatio Number ≥ 0 (Infinity = every background anchor); default 3.
 * @returns Int32Array of the chosen anchor indices, ascending.
 * @throws {TypeError} clsLoss not a Float32Array; positives not a Uint8Array / Int32Array of length N.
 * @throws {RangeError} negPosRatio NaN or negative.
 * @example
 * hardNegativeMining(new Float32Array([0.1, 2, 0.5, 3, 0.7]), new Uint8Array([0, 0, 0, 1, 0]), 2); // Int32Array [1, 4]
 */
export function hardNegativeMining(
  clsLoss: Float32Array,
  positives: Uint8Array | Int32Array,
  negPosRatio = 3,
): Int32Array {
  checkHardNegativeMining(clsLoss, positives, negPosRatio);
  return binding
    ? binding.hardNegativeMining(clsLoss, positives, negPosRatio)
    : mineHardNegatives(clsLoss, positives, negPosRatio);
}

/** Pure-TypeScript twin of {@link hardNegativeMining}: same checks and messages, the same indices. */
export function hardNegativeMiningTs(
  clsLoss: Float32Array,
  positives: Uint8Array | Int32Array,
  negPosRatio = 3,
): Int32Array {
  checkHardNegativeMining(clsLoss, positives, negPosRatio);
  return mineHardNegatives(clsLoss, positives, negPosRatio);
}

/** The argument checks of {@link hardNegativeMining} and its twin. */
function checkHardNegativeMining(clsLoss: unknown, positives: unknown, negPosRatio: unknown): void {
  assertFloat32Array('clsLoss', clsLoss);
  assertPositives(positives, clsLoss.length);
  assertInRange('negPosRatio', negPosRatio, 0, Infinity);
}

function mineHardNegatives(clsLoss: Float32Array, positives: Uint8Array | Int32Array, negPosRatio: number): Int32Array {
  const mask = positiveMask(positives);
  const background: number[] = [];
  for (let i = 0; i < mask.length; i++) if (!mask[i]) background.push(i);
  const k = negativeCount(clsLoss.length - background.length, background.length, negPosRatio);
  if (k === 0) return new Int32Array(0);
  background.sort((i, j) => {
    const a = clsLoss[i];
    const b = clsLoss[j];
    if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) ? (Number.isNaN(b) ? i - j : -1) : 1;
    return b - a || i - j; // equal infinities give NaN: falls through to the index
  });
  return Int32Array.from(background.slice(0, k)).sort();
}

/**
 * float32 cross-entropy −log_softmax(x)[t] of one row, torch's order: m = max (NaN when a logit is NaN),
 * s = Σ exp(x − m) in torch's 8-lane order ({@link expSum8}), log s in float64 rounded once, −((x_t − m) − log s).
 */
function crossEntropyRow(logits: Float32Array, o: number, c: number, target: number): number {
  let m = logits[o];
  for (let k = 1; k < c; k++) {
    const v = logits[o + k];
    if (!Number.isNaN(m) && (v > m || Number.isNaN(v))) m = v;
  }
  const sum = expSum8(logits, o, c, m);
  return -f32(f32(logits[o + target] - m) - f32(Math.log(sum)));
}

/** Everything validated, defaults filled in. */
interface ResolvedLoss {
  n: number;
  m: number;
  iouThreshold: number;
  negPosRatio: number;
  anchorFormat: AnchorFormat;
  coder: ReturnType<typeof resolveBoxCoderOptions>;
}

function resolveLoss(image: SsdLossImage, options: SsdLossOptions | undefined): ResolvedLoss {
  assertObject('image', image);
  const { classLogits, boxRegression, anchors, numClasses, gtBoxes, gtLabels } = image;
  assertFloat32Array('anchors', anchors, 4);
  const n = anchors.length / 4;
  assertInteger('numClasses', numClasses, 1);
  assertFloat32ArrayLength('classLogits', classLogits, n * numClasses, 'N·numClasses');
  assertFloat32ArrayLength('boxRegression', boxRegression, 4 * n, '4·N, one box per anchor');
  assertFloat32Array('gtBoxes', gtBoxes, 4);
  const m = gtBoxes.length / 4;
  assertInt32Array('gtLabels', gtLabels, m, 'one per gt box');
  for (const label of gtLabels) {
    if (!(label >= 0 && label < numClasses))
      throw outOfRangeError('gtLabels', `labels in [0, ${numClasses - 1}]`, label);
  }
  if (options !== undefined) assertObject('options', options);
  assertKnownKeys('options', options, LOSS_OPTION_KEYS);
  const { boxCoder, negPosRatio = 3, ...match }: SsdLossOptions = options ?? {};
  const { iouThreshold, anchorFormat } = resolveMatchOptions(match);
  assertInRange('negPosRatio', negPosRatio, 0, Infinity);
  return { n, m, iouThreshold, negPosRatio, anchorFormat, coder: resolveBoxCoderOptions(boxCoder, 'boxCoder.', true) };
}

/**
 * One image's part of torchvision's SSD loss (`SSD.compute_loss` before the batch reduction):
 * 1. `matchedIdxs` = {@link matchAnchors}(gtBoxes, anchors, { iouThreshold, allowLowQuality: true }) (all −1 when M = 0);
 * 2. foreground = anchors with a match; `encodedTargets` = BoxCoder(weights).encode(matched gt, anchor);
 *    `smoothL1Sum` = Σ smooth-L1 (beta 1: 0.5·z² if |z| < 1 else |z| − 0.5) of boxRegression − target over them;
 * 3. target class = label of the matched gt (0 when unmatched); `clsLossPerAnchor` = softmax cross-entropy
 *    −(x_t − max − log Σ exp(x − max)) with torch's expf and summation order (float32);
 * 4. positives = target > 0: `positiveClsSum`; negatives = {@link hardNegativeMining}(clsLoss, positives,
 *    negPosRatio): `hardNegativeIdxs`, `hardNegativeClsSum`.
 * Sums are float64 in index order (torch sums float32 tensors: differences of a few 1e-7 relative).
 * Combine the images of a batch with {@link ssdLoss}.
 *
 * @param image `{ classLogits [N·C], boxRegression [N·4], anchors [N·4], numClasses, gtBoxes [M·4] xyxy, gtLabels Int32Array [M] }`.
 * @param options `{ iouThreshold = 0.5, negPosRatio = 3, anchorFormat = 'xyxy', boxCoder = { weights: [10, 10, 5, 5], order: 'xywh' } }`.
 * @returns {@link SsdLossParts}.
 * @throws {TypeError} Wrong array types or lengths, options not an object, unknown anchorFormat / coder order, an
 *   option key other than iouThreshold / negPosRatio / anchorFormat / boxCoder (or weights / order / clip in boxCoder).
 * @throws {RangeError} numClasses not an integer ≥ 1, a label outside [0, C), iouThreshold outside [0, 1],
 *   negPosRatio NaN or negative, a coder weight not a finite number > 0.
 * @example
 * const anchors = boxConvert(defaultBoxes('torchvision-ssd300-vgg16'), 'cxcywh', 'xyxy').map((v) => v * 300);
 * const parts = ssdLossParts({ classLogits, boxRegression, anchors, numClasses: 21,
 *   gtBoxes: new Float32Array([20, 14.5, 281, 299]), gtLabels: new Int32Array([15]) });
 * const { classification, bboxRegression } = ssdLoss([parts]);
 */
export function ssdLossParts(image: SsdLossImage, options?: SsdLossOptions): SsdLossParts {
  const r = resolveLoss(image, options);
  if (!binding) return lossParts(image, r);
  const { classLogits, boxRegression, anchors, gtBoxes, gtLabels, numClasses } = image;
  return binding.ssdLossParts(
    classLogits,
    boxRegression,
    anchors,
    r.anchorFormat === 'cxcywh',
    gtBoxes,
    gtLabels,
    numClasses,
    r.iouThreshold,
    r.negPosRatio,
    Float32Array.from(r.coder.weights),
    r.coder.order === 'yxhw',
  );
}

/** Pure-TypeScript twin of {@link ssdLossParts}: same checks and messages, the same parts. */
export function ssdLossPartsTs(image: SsdLossImage, options?: SsdLossOptions): SsdLossParts {
  return lossParts(image, resolveLoss(image, options));
}

function lossParts(image: SsdLossImage, r: ResolvedLoss): SsdLossParts {
  const { classLogits, boxRegression, anchors, numClasses: c, gtBoxes, gtLabels } = image;
  const { n } = r;
  const matchedIdxs = matchResolved(gtBoxes, anchors, {
    iouThreshold: r.iouThreshold,
    allowLowQuality: true,
    anchorFormat: r.anchorFormat,
  });
  const foreground: number[] = [];
  for (let i = 0; i < n; i++) if (matchedIdxs[i] >= 0) foreground.push(i);
  const foregroundIdxs = Int32Array.from(foreground);

  const f = foreground.length;
  const gtF = new Float32Array(4 * f);
  const anchorsF = new Float32Array(4 * f);
  foreground.forEach((i, q) => {
    gtF.set(gtBoxes.subarray(4 * matchedIdxs[i], 4 * matchedIdxs[i] + 4), 4 * q);
    anchorsF.set(anchors.subarray(4 * i, 4 * i + 4), 4 * q);
  });
  const encodedTargets = encodeResolved(gtF, anchorsF, { ...r.coder, anchorFormat: r.anchorFormat });
  let smoothL1Sum = 0;
  foreground.forEach((i, q) => {
    for (let k = 0; k < 4; k++) {
      const z = Math.abs(f32(boxRegression[4 * i + k] - encodedTargets[4 * q + k]));
      smoothL1Sum += z < 1 ? f32(f32(0.5 * z) * z) : f32(z - 0.5);
    }
  });

  const clsLossPerAnchor = new Float32Array(n);
  const positive = new Uint8Array(n);
  let positiveClsSum = 0;
  let numPositive = 0;
  for (let i = 0; i < n; i++) {
    const target = matchedIdxs[i] >= 0 ? gtLabels[matchedIdxs[i]] : 0;
    clsLossPerAnchor[i] = crossEntropyRow(classLogits, i * c, c, target);
    if (target > 0) {
      positive[i] = 1;
      numPositive++;
      positiveClsSum += clsLossPerAnchor[i];
    }
  }
  const hardNegativeIdxs = mineHardNegatives(clsLossPerAnchor, positive, r.negPosRatio);
  let hardNegativeClsSum = 0;
  for (const i of hardNegativeIdxs) hardNegativeClsSum += clsLossPerAnchor[i];
  return {
    matchedIdxs,
    foregroundIdxs,
    encodedTargets,
    clsLossPerAnchor,
    smoothL1Sum,
    positiveClsSum,
    hardNegativeIdxs,
    hardNegativeClsSum,
    numPositive,
  };
}

/**
 * Batch reduction of torchvision's SSD loss: with N = max(1, Σ foreground anchors over the images),
 * classification = Σ (positiveClsSum + hardNegativeClsSum) / N and bboxRegression = Σ smoothL1Sum / N.
 * (A matched anchor whose gt has label 0 counts in N but is not a positive, as in torchvision.)
 *
 * @param parts One {@link SsdLossParts} per image of the batch (from {@link ssdLossParts}).
 * @returns `{ classification, bboxRegression }` (torchvision's loss dict; their sum is the training loss).
 * @throws {TypeError} parts not an Array of loss parts.
 * @example
 * const loss = ssdLoss(images.map((image) => ssdLossParts(image)));
 * // { classification: 14.154…, bboxRegression: 3.038… }
 */
export function ssdLoss(parts: readonly SsdLossParts[]): SsdLoss {
  assertArray('parts', parts, 0);
  let foreground = 0;
  let classification = 0;
  let bboxRegression = 0;
  parts.forEach((p, b) => {
    assertObject(`parts[${b}]`, p);
    if (!typedArrayOf(p.foregroundIdxs, Int32Array))
      throw invalidParameterError(`parts[${b}].foregroundIdxs`, 'Int32Array', p.foregroundIdxs);
    for (const key of ['smoothL1Sum', 'positiveClsSum', 'hardNegativeClsSum'] as const) {
      if (typeof p[key] !== 'number') throw invalidParameterError(`parts[${b}].${key}`, 'number', p[key]);
    }
    foreground += p.foregroundIdxs.length;
    classification += p.positiveClsSum + p.hardNegativeClsSum;
    bboxRegression += p.smoothL1Sum;
  });
  const normalizer = Math.max(1, foreground);
  return { classification: classification / normalizer, bboxRegression: bboxRegression / normalizer };
}
