/**
 * The SSD training loss in tfjs, exactly torchvision's `SSD.compute_loss` (the paper's): targets from the native
 * matcher and box coder ({@link buildTargets}), per-anchor softmax cross-entropy, hard negatives mined per image by
 * the native `hardNegativeMining` on the detached cross-entropy, smooth-L1 on the matched anchors, (L_conf + α·L_loc)/N.
 * Only the loss arithmetic is tfjs (differentiable w.r.t. the head outputs); matching and mining are discrete and
 * run natively once per step.
 *
 * Images without any object: torchvision mines 0 negatives for an image without positives (its loss is 0, it teaches
 * nothing). Here such an image contributes its `emptyImageNegatives` hardest anchors (default 16) as negatives, so
 * users can feed false positives back as background; `emptyImageNegatives: 0` is torchvision's rule exactly.
 */
import type * as tfc from '@tensorflow/tfjs-core';
import {
  assertArray,
  assertFloat32Array,
  assertInRange,
  assertInt32Array,
  assertInteger,
  assertKnownKeys,
  assertObject,
  invalidParameterError,
  outOfRangeError,
  typedArrayOf,
} from '../is.ts';
import { encodeBoxes } from '../ops/box-coder.ts';
import { hardNegativeMining, type SsdLossOptions } from '../ops/loss.ts';
import { matchAnchors } from '../ops/matcher.ts';
import type { Tf } from './backend.ts';

/** Targets of one image, computed natively (matchAnchors with low-quality matches + box encoding). */
export interface ImageTargets {
  /** Int32Array [N]: target class per anchor (0 = background / unmatched, or a matched gt labelled 0). */
  labels: Int32Array;
  /** Float32Array [N·4]: encoded offsets of the matched gt (zeros where not foreground), in the coder's order. */
  locTargets: Float32Array;
  /** Uint8Array [N]: 1 where matched (matchedIdxs ≥ 0); these count in N and get smooth-L1. */
  foreground: Uint8Array;
}

const TARGET_OPTION_KEYS: readonly (keyof SsdLossOptions)[] = [
  'iouThreshold',
  'negPosRatio',
  'anchorFormat',
  'boxCoder',
];

/**
 * The training targets of one image (torchvision `SSD.compute_loss` before the loss): anchors matched to the ground
 * truth by {@link matchAnchors} (IoU ≥ iouThreshold, plus each gt's best anchor forced), the matched gts encoded
 * against their anchors by the box coder (weights 10, 10, 5, 5 = variances 0.1/0.2 by default).
 *
 * @param anchors Float32Array [numAnchors·4] in `options.anchorFormat` (default 'xyxy'), same units as gtBoxes.
 * @param gtBoxes Float32Array [M·4] xyxy (M may be 0: an image without objects, every anchor background).
 * @param gtLabels Int32Array [M], each ≥ 0 (0 = background: matched, counted in N, not a positive).
 * @param numAnchors N.
 * @param options {@link SsdLossOptions}: iouThreshold (0.5), anchorFormat ('xyxy'), boxCoder (weights [10, 10, 5, 5],
 *   order 'xywh'); negPosRatio is accepted and unused here.
 * @returns {@link ImageTargets}.
 * @throws {TypeError} Wrong array types or lengths; unknown option keys.
 * @throws {RangeError} numAnchors not an integer ≥ 0; a negative label; option values out of range.
 * @example
 * const t = buildTargets(model.anchors, Float32Array.from([20, 14.5, 281, 299]), Int32Array.from([1]), 8732);
 */
export function buildTargets(
  anchors: Float32Array,
  gtBoxes: Float32Array,
  gtLabels: Int32Array,
  numAnchors: number,
  options?: SsdLossOptions,
): ImageTargets {
  assertInteger('numAnchors', numAnchors, 0);
  if (!(typedArrayOf(anchors, Float32Array) && anchors.length === 4 * numAnchors)) {
    throw invalidParameterError('anchors', `Float32Array of length ${4 * numAnchors} (4·numAnchors)`, anchors);
  }
  assertFloat32Array('gtBoxes', gtBoxes, 4);
  const m = gtBoxes.length / 4;
  assertInt32Array('gtLabels', gtLabels, m, 'one per gt box');
  for (const label of gtLabels) if (!(label >= 0)) throw outOfRangeError('gtLabels', 'labels ≥ 0', label);
  if (options !== undefined) assertObject('options', options);
  assertKnownKeys('options', options, TARGET_OPTION_KEYS);
  const { iouThreshold, anchorFormat, boxCoder }: SsdLossOptions = options ?? {};
  const matched = matchAnchors(gtBoxes, anchors, {
    allowLowQuality: true,
    ...(iouThreshold !== undefined ? { iouThreshold } : {}),
    ...(anchorFormat !== undefined ? { anchorFormat } : {}),
  });
  const n = numAnchors;
  const labels = new Int32Array(n);
  const foreground = new Uint8Array(n);
  const fg: number[] = [];
  for (let i = 0; i < n; i++) {
    if (matched[i] >= 0) {
      foreground[i] = 1;
      labels[i] = gtLabels[matched[i]];
      fg.push(i);
    }
  }
  const locTargets = new Float32Array(4 * n);
  if (fg.length) {
    const gtF = new Float32Array(4 * fg.length);
    const anchorsF = new Float32Array(4 * fg.length);
    fg.forEach((i, q) => {
      gtF.set(gtBoxes.subarray(4 * matched[i], 4 * matched[i] + 4), 4 * q);
      anchorsF.set(anchors.subarray(4 * i, 4 * i + 4), 4 * q);
    });
    const encoded = encodeBoxes(gtF, anchorsF, { ...(boxCoder ?? {}), ...(anchorFormat ? { anchorFormat } : {}) });
    fg.forEach((i, q) => {
      locTargets.set(encoded.subarray(4 * q, 4 * q + 4), 4 * i);
    });
  }
  return { labels, locTargets, foreground };
}

export interface SsdLossTfOptions {
  /** Weight α of the localisation loss; default 1. */
  alpha?: number;
  /** Hard negatives per positive; default 3. */
  negPosRatio?: number;
  /**
   * Negatives mined in an image without any positive (its hardest anchors); default 16. 0 = torchvision's rule (such
   * an image contributes nothing). Images with positives are never affected.
   */
  emptyImageNegatives?: number;
}

const LOSS_TF_KEYS: readonly (keyof SsdLossTfOptions)[] = ['alpha', 'negPosRatio', 'emptyImageNegatives'];

/** Default {@link SsdLossTfOptions.emptyImageNegatives}. */
export const EMPTY_IMAGE_NEGATIVES = 16;

export interface SsdLossTf {
  /** (L_conf + α·L_loc) / N: the scalar to minimise. */
  total: tfc.Scalar;
  /** Σ smooth-L1 over foreground anchors / N. */
  loc: tfc.Scalar;
  /** Σ cross-entropy over positives and mined negatives / N. */
  conf: tfc.Scalar;
  /** Anchors with a target class > 0, over the batch. */
  numPositive: number;
  /** Matched anchors over the batch (N = max(1, numForeground)). */
  numForeground: number;
  /** Mined negatives over the batch. */
  numNegative: number;
  /** The values of total, loc, conf (read once; for progress reports). */
  values: { total: number; loc: number; conf: number };
  /** False when a loss value is NaN or ±Infinity (stop training: the model would be ruined). */
  finite: boolean;
}

/** The mining order of {@link hardNegativeMining}: NaN first, then decreasing loss, ties → lower index. */
function topK(loss: Float32Array, offset: number, n: number, k: number): number[] {
  const idx = Array.from({ length: n }, (_, i) => i);
  idx.sort((i, j) => {
    const a = loss[offset + i];
    const b = loss[offset + j];
    if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) ? (Number.isNaN(b) ? i - j : -1) : 1;
    return b - a || i - j;
  });
  return idx.slice(0, Math.min(k, n));
}

function checkShape(name: string, t: unknown, shape: (number | null)[], what: string): number[] {
  const s = (t as { shape?: unknown })?.shape;
  if (
    !(Array.isArray(s) && s.length === shape.length && shape.every((d, i) => d === null || d === s[i])) ||
    typeof (t as { dtype?: unknown }).dtype !== 'string'
  ) {
    throw invalidParameterError(name, `tf.Tensor of shape ${what}`, Array.isArray(s) ? `shape [${s.join(', ')}]` : t);
  }
  return s as number[];
}

/**
 * Differentiable SSD loss of a batch (torchvision `SSD.compute_loss`): with N = max(1, Σ foreground anchors),
 * L_loc = Σ_fg smooth-L1(boxRegression − locTargets) (beta 1), L_conf = Σ CE over positives (label > 0) and per image
 * the hardest negatives (native {@link hardNegativeMining} on the detached CE, ⌈negPosRatio·#positives⌉ of them;
 * `emptyImageNegatives` in an image without positives), total = (L_conf + α·L_loc)/N. Gradients flow to
 * boxRegression and classLogits only (targets and the mined set are constants). Call it inside
 * `optimizer.minimize(() => ssdLossTf(…).total)` or `tf.variableGrads`; it reads the per-anchor CE back once
 * (dataSync) for mining and the three loss values for {@link SsdLossTf.values}.
 *
 * @param tf The tf of {@link loadTf}.
 * @param pred boxRegression [B,N,4] (coder order), classLogits [B,N,C] (C incl. background, class 0).
 * @param targets One {@link buildTargets} result per image (length B, N anchors each).
 * @param options `{ alpha = 1, negPosRatio = 3, emptyImageNegatives = 16 }`.
 * @returns {@link SsdLossTf} — check `finite` before applying the step.
 * @throws {TypeError} Wrong tensor shapes, targets not B ImageTargets of N anchors, unknown option keys.
 * @throws {RangeError} alpha / negPosRatio negative or NaN; emptyImageNegatives not an integer ≥ 0; a target label ≥ C.
 * @example
 * const targets = batch.map((im) => buildTargets(model.anchors, im.boxes, im.labels, model.anchors.length / 4));
 * const { value } = tf.variableGrads(() => ssdLossTf(tf, model.forward(x, true), targets).total);
 */
export function ssdLossTf(
  tf: Tf,
  pred: { boxRegression: tfc.Tensor3D; classLogits: tfc.Tensor3D },
  targets: readonly ImageTargets[],
  options?: SsdLossTfOptions,
): SsdLossTf {
  assertObject('pred', pred);
  const [b, n, c] = checkShape('pred.classLogits', pred.classLogits, [null, null, null], '[B, N, C]');
  checkShape('pred.boxRegression', pred.boxRegression, [b, n, 4], `[${b}, ${n}, 4] (B, N, 4)`);
  assertArray('targets', targets, 0);
  if (targets.length !== b)
    throw invalidParameterError('targets', `Array of ${b} ImageTargets (one per image)`, targets);
  if (options !== undefined) assertObject('options', options);
  assertKnownKeys('options', options, LOSS_TF_KEYS);
  const { alpha = 1, negPosRatio = 3, emptyImageNegatives = EMPTY_IMAGE_NEGATIVES }: SsdLossTfOptions = options ?? {};
  assertInRange('alpha', alpha, 0, Infinity);
  assertInRange('negPosRatio', negPosRatio, 0, Infinity);
  assertInteger('emptyImageNegatives', emptyImageNegatives, 0);

  const labels = new Int32Array(b * n);
  const locTargets = new Float32Array(b * n * 4);
  const fgMask = new Float32Array(b * n);
  let numForeground = 0;
  let numPositive = 0;
  targets.forEach((t, i) => {
    const name = `targets[${i}]`;
    assertObject(name, t);
    assertInt32Array(`${name}.labels`, t.labels, n, 'N, one per anchor');
    assertFloat32Array(`${name}.locTargets`, t.locTargets);
    if (t.locTargets.length !== 4 * n)
      throw invalidParameterError(`${name}.locTargets`, `Float32Array of length ${4 * n} (4·N)`, t.locTargets);
    if (!(typedArrayOf(t.foreground, Uint8Array) && t.foreground.length === n))
      throw invalidParameterError(`${name}.foreground`, `Uint8Array of length ${n} (N)`, t.foreground);
    for (const label of t.labels)
      if (!(label >= 0 && label < c)) throw outOfRangeError(`${name}.labels`, `labels in [0, ${c - 1}]`, label);
    labels.set(t.labels, i * n);
    locTargets.set(t.locTargets, i * n * 4);
    for (let a = 0; a < n; a++) {
      if (t.foreground[a]) {
        fgMask[i * n + a] = 1;
        numForeground++;
      }
      if (t.labels[a] > 0) numPositive++;
    }
  });

  let numNegative = 0;
  // One tidy: the intermediates are freed, the three scalars kept (inside tf.variableGrads / minimize the tape keeps
  // what the backward pass needs).
  const [total, loc, conf] = tf.tidy(() => {
    // Per-anchor cross-entropy −log_softmax(x)[target], [B, N] (differentiable).
    const onehot = tf.oneHot(tf.tensor2d(labels, [b, n], 'int32'), c);
    const ce = tf.neg(tf.sum(tf.mul(onehot, tf.logSoftmax(pred.classLogits)), -1));
    // Mining on the detached values (native), one image at a time.
    const ceValues = ce.dataSync() as Float32Array;
    const selected = new Float32Array(b * n);
    for (let i = 0; i < b; i++) {
      const positive = new Uint8Array(n);
      let pos = 0;
      for (let a = 0; a < n; a++) {
        if (labels[i * n + a] > 0) {
          positive[a] = 1;
          selected[i * n + a] = 1;
          pos++;
        }
      }
      const negatives =
        pos > 0
          ? hardNegativeMining(ceValues.subarray(i * n, (i + 1) * n), positive, negPosRatio)
          : topK(ceValues, i * n, n, emptyImageNegatives);
      for (const a of negatives) selected[i * n + a] = 1;
      numNegative += negatives.length;
    }
    const normalizer = Math.max(1, numForeground);
    const confSum = tf.sum(tf.mul(ce, tf.tensor2d(selected, [b, n])));
    const diff = tf.sub(pred.boxRegression, tf.tensor3d(locTargets, [b, n, 4]));
    const abs = tf.abs(diff);
    const q = tf.minimum(abs, 1);
    const smoothL1 = tf.add(tf.mul(tf.square(q), 0.5), tf.sub(abs, q)); // 0.5·d² if |d| < 1 else |d| − 0.5
    const locSum = tf.sum(tf.mul(smoothL1, tf.tensor3d(fgMask, [b, n, 1])));
    const l = tf.div(locSum, normalizer) as tfc.Scalar;
    const cf = tf.div(confSum, normalizer) as tfc.Scalar;
    return [tf.add(cf, tf.mul(l, alpha)) as tfc.Scalar, l, cf];
  });
  const values = { total: total.dataSync()[0], loc: loc.dataSync()[0], conf: conf.dataSync()[0] };
  const finite = Number.isFinite(values.total) && Number.isFinite(values.loc) && Number.isFinite(values.conf);
  return { total, loc, conf, numPositive, numForeground, numNegative, values, finite };
}
