/**
 * SSD postprocess (torchvision `SSD.postprocess_detections` + `transform.postprocess`): scores, decode,
 * per-class threshold and top-k, per-class NMS, top detections over all classes, scaling to image pixels.
 */
import { binding, type NativeDetections } from '../binding.ts';
import {
  assertBoolean,
  assertFloat32Array,
  assertFloat32ArrayLength,
  assertInRange,
  assertInteger,
  assertKnownKeys,
  assertObject,
  assertOneOf,
  assertPositive,
  invalidParameterError,
  typedArrayOf,
  withDefaults,
} from '../is.ts';
import { BOX_CODER_KEYS, decodeResolved, nativeClip, resolveBoxCoderOptions, type DeltaOrder } from './box-coder.ts';
import { sigmoid32, softmax32 } from './float32.ts';
import { greedyNms, rankByScore } from './nms.ts';

export interface PostprocessOptions {
  /** 'softmax' over all C logits of an anchor (background included), a per-logit 'sigmoid', or 'none' (classLogits already hold scores). */
  scoring: 'softmax' | 'sigmoid' | 'none';
  /** 'deltas': boxRegression holds coder deltas against the anchors; 'xyxy': already-decoded normalized xyxy boxes (pytorch-ssd / jetson-inference exports; anchors unused and may be empty). */
  boxEncoding: 'deltas' | 'xyxy';
  /** Class left out of the output; −1 = none. */
  backgroundIndex: number;
  /** Keep class scores > scoreThresh (compared as float32), in [0, 1]. */
  scoreThresh: number;
  /** Per-class NMS drops IoU > nmsThresh, in [0, 1]. */
  nmsThresh: number;
  /** Per class, at most this many candidates (highest scores) enter NMS; Infinity = all. */
  topkCandidates: number;
  /** At most this many detections per image; Infinity = all. */
  detectionsPerImg: number;
  /** Box coder: weights in the (x, y, w, h) sense, delta order, clamp before exp (default Math.log(1000 / 16)). */
  boxCoder: { weights: [number, number, number, number]; order: DeltaOrder; clip?: number };
  /** Clip decoded boxes to [0, 1] (the network input) before NMS. */
  clipBoxes: boolean;
  /**
   * One NMS across classes instead of one per class (default false): each anchor competes with its best class only
   * (ties → lower class), anchors with that score > scoreThresh, the best `topkCandidates` of them over all classes,
   * one greedy NMS whatever the class — TFLite_Detection_PostProcess's fast NMS (`use_regular_nms: false`).
   */
  classAgnostic?: boolean;
}

/** Options as accepted: any field (and any boxCoder field) may be left out and comes from the torchvision preset. */
export type PostprocessOptionsInput = Partial<Omit<PostprocessOptions, 'boxCoder'>> & {
  boxCoder?: Partial<PostprocessOptions['boxCoder']>;
};

export interface PostprocessInput {
  /** Float32Array [B·N·4], deltas per anchor in `boxCoder.order`. */
  boxRegression: Float32Array;
  /** Float32Array [B·N·C], raw logits. */
  classLogits: Float32Array;
  /** Float32Array [N·4], cxcywh normalized to the network input (the output of `defaultBoxes`). */
  anchors: Float32Array;
  /** B; default 1. */
  batchSize?: number;
  /** C, background included. */
  numClasses: number;
  /** [[h, w], …] per image, the frame the boxes are scaled to; default [1, 1] for every image (normalized output). */
  imageSizes?: Array<[number, number]>;
}

/** Detections of one image. */
export interface Detections {
  /** Float32Array [K·4], xyxy in image pixels (x·w, y·h of the normalized box). */
  boxes: Float32Array;
  /** Float32Array [K], decreasing (ties → lower candidate index, i.e. lower class, then better rank). */
  scores: Float32Array;
  /** Int32Array [K], class indices into the C logits. */
  labels: Int32Array;
}

const TORCHVISION: PostprocessOptions = {
  scoring: 'softmax',
  backgroundIndex: 0,
  scoreThresh: 0.01,
  nmsThresh: 0.45,
  topkCandidates: 400,
  detectionsPerImg: 200,
  boxCoder: { weights: [10, 10, 5, 5], order: 'xywh', clip: Math.log(1000 / 16) },
  clipBoxes: true,
  boxEncoding: 'deltas',
};

/**
 * Built-in option sets:
 * - `torchvision`: torchvision `ssd300_vgg16` (softmax, background 0, 0.01, 0.45, top-k 400, 200 detections,
 *   coder [10, 10, 5, 5] 'xywh' with the log(1000/16) clamp, clip to the input).
 * - `torchvisionSsdlite`: torchvision `ssdlite320_mobilenet_v3_large` (as above with 0.001, 0.55, 300, 300).
 * - `faceApi`: face-api SSD MobileNetV1 (sigmoid, background 0, 0.5, 0.5, all candidates, 100 detections,
 *   coder [10, 10, 5, 5] 'yxhw' without clamp, no clipping).
 */
export const POSTPROCESS_PRESETS: Readonly<
  Record<'torchvision' | 'torchvisionSsdlite' | 'faceApi', Readonly<PostprocessOptions>>
> = Object.freeze({
  torchvision: TORCHVISION,
  torchvisionSsdlite: {
    ...TORCHVISION,
    scoreThresh: 0.001,
    nmsThresh: 0.55,
    topkCandidates: 300,
    detectionsPerImg: 300,
  },
  faceApi: {
    scoring: 'sigmoid',
    backgroundIndex: 0,
    scoreThresh: 0.5,
    nmsThresh: 0.5,
    topkCandidates: Infinity,
    detectionsPerImg: 100,
    boxCoder: { weights: [10, 10, 5, 5], order: 'yxhw', clip: Infinity },
    clipBoxes: false,
    boxEncoding: 'deltas',
  },
});

/** The keys of {@link PostprocessOptions} and of {@link PostprocessInput} (any other key is rejected). */
export const POSTPROCESS_OPTION_KEYS = [...Object.keys(TORCHVISION), 'classAgnostic'] as (keyof PostprocessOptions)[];
const INPUT_KEYS: readonly (keyof PostprocessInput)[] = [
  'boxRegression',
  'classLogits',
  'anchors',
  'batchSize',
  'numClasses',
  'imageSizes',
];

interface Resolved {
  options: Required<PostprocessOptions> & { boxCoder: Required<PostprocessOptions['boxCoder']> };
  batchSize: number;
  numClasses: number;
  numAnchors: number;
  /** Float32Array [B·2] (h, w). */
  imageSizes: Float32Array;
}

/**
 * The argument checks of postprocessDetections(+Async) and the twin: validates everything and fills in defaults
 * (options over the torchvision preset).
 */
function resolve(input: PostprocessInput, options: PostprocessOptionsInput | undefined): Resolved {
  assertObject('input', input);
  assertKnownKeys('input', input, INPUT_KEYS);
  const { boxRegression, classLogits, anchors, batchSize = 1, numClasses, imageSizes } = input;
  assertInteger('batchSize', batchSize, 1);
  assertInteger('numClasses', numClasses, 1);
  if (options !== undefined) assertObject('options', options);
  assertKnownKeys('options', options, POSTPROCESS_OPTION_KEYS);
  assertKnownKeys('boxCoder', options?.boxCoder, BOX_CODER_KEYS);
  const o = withDefaults(TORCHVISION, options as Partial<PostprocessOptions>);
  assertOneOf('boxEncoding', o.boxEncoding, ['deltas', 'xyxy']);
  assertFloat32Array('anchors', anchors, 4);
  // Decoded boxes need no anchors: with an empty array N follows from boxRegression.
  const numAnchors =
    o.boxEncoding === 'xyxy' && anchors.length === 0 && typedArrayOf(boxRegression, Float32Array)
      ? Math.floor(boxRegression.length / 4 / batchSize)
      : anchors.length / 4;
  assertFloat32ArrayLength('boxRegression', boxRegression, 4 * batchSize * numAnchors, '4·B·N');
  assertFloat32ArrayLength('classLogits', classLogits, batchSize * numAnchors * numClasses, 'B·N·C');
  const sizes = new Float32Array(2 * batchSize).fill(1);
  if (imageSizes !== undefined) {
    if (!Array.isArray(imageSizes) || imageSizes.length !== batchSize) {
      throw invalidParameterError('imageSizes', `Array of length ${batchSize} (one [h, w] per image)`, imageSizes);
    }
    imageSizes.forEach((hw, b) => {
      if (!Array.isArray(hw) || hw.length !== 2) throw invalidParameterError(`imageSizes[${b}]`, '[h, w]', hw);
      assertPositive(`imageSizes[${b}][0]`, hw[0], true);
      assertPositive(`imageSizes[${b}][1]`, hw[1], true);
      sizes.set([hw[0], hw[1]], 2 * b);
    });
  }
  // boxCoder as given: resolveBoxCoderOptions fills the missing fields with torchvision's
  const resolved = validatePostprocessOptions({ ...o, boxCoder: options?.boxCoder }, '');
  return { options: resolved, batchSize, numClasses, numAnchors, imageSizes: sizes };
}

/**
 * The one validator of complete postprocess options (the model spec's `postprocess` uses it with the prefix
 * 'postprocess.'): every field of {@link PostprocessOptions} present and valid; `boxCoder` completed with the
 * torchvision defaults (it may be undefined or partial).
 *
 * @param o The options (all fields but boxCoder required).
 * @param prefix Field-name prefix in messages, e.g. 'postprocess.'.
 * @returns A copy with `boxCoder` resolved.
 * @throws {TypeError} Unknown scoring / boxEncoding / coder order, non-boolean clipBoxes.
 * @throws {RangeError} Counts not integers (≥ −1 for backgroundIndex, ≥ 0 or Infinity for topkCandidates /
 *   detectionsPerImg), thresholds NaN or outside [0, 1].
 * @example
 * validatePostprocessOptions({ ...POSTPROCESS_PRESETS.faceApi }, 'postprocess.');
 */
export function validatePostprocessOptions(
  o: Record<string, unknown>,
  prefix = '',
): Required<PostprocessOptions> & { boxCoder: Required<PostprocessOptions['boxCoder']> } {
  assertOneOf(`${prefix}scoring`, o.scoring, ['softmax', 'sigmoid', 'none']);
  assertOneOf(`${prefix}boxEncoding`, o.boxEncoding, ['deltas', 'xyxy']);
  assertInteger(`${prefix}backgroundIndex`, o.backgroundIndex, -1);
  assertInRange(`${prefix}scoreThresh`, o.scoreThresh, 0, 1);
  assertInRange(`${prefix}nmsThresh`, o.nmsThresh, 0, 1);
  assertInteger(`${prefix}topkCandidates`, o.topkCandidates, 0, true);
  assertInteger(`${prefix}detectionsPerImg`, o.detectionsPerImg, 0, true);
  assertBoolean(`${prefix}clipBoxes`, o.clipBoxes);
  if (o.classAgnostic !== undefined) assertBoolean(`${prefix}classAgnostic`, o.classAgnostic);
  const boxCoder = resolveBoxCoderOptions(o.boxCoder as never, `${prefix}boxCoder.`);
  return { ...(o as unknown as PostprocessOptions), boxCoder } as ReturnType<typeof validatePostprocessOptions>;
}

/** The addon's options object. */
/** The addon's postprocess arguments (the same for the sync and the async call). */
function nativeArgs(input: PostprocessInput, r: Resolved) {
  return [
    input.boxRegression,
    input.classLogits,
    input.anchors,
    r.batchSize,
    r.numClasses,
    r.imageSizes,
    nativeOptions(r),
  ] as const;
}

function nativeOptions({ options: o }: Resolved) {
  return {
    scoring: o.scoring,
    boxesDecoded: o.boxEncoding === 'xyxy',
    backgroundIndex: o.backgroundIndex,
    scoreThresh: o.scoreThresh,
    nmsThresh: o.nmsThresh,
    topkCandidates: Math.min(o.topkCandidates, 0x7fffffff),
    detectionsPerImg: Math.min(o.detectionsPerImg, 0x7fffffff),
    weights: Float32Array.from(o.boxCoder.weights),
    orderYx: o.boxCoder.order === 'yxhw',
    bboxClip: nativeClip(o.boxCoder.clip),
    clipBoxes: o.clipBoxes,
    classAgnostic: o.classAgnostic === true,
  };
}

/**
 * SSD postprocess of a batch, per image (torchvision `postprocess_detections` order of steps):
 * 1. scores: softmax over all C logits of each anchor (background included), or a sigmoid per logit (float32);
 * 2. decode every anchor's deltas against the anchors (normalized, see `decodeBoxes`); clip to [0, 1] if `clipBoxes`;
 * 3. for each class c ≠ backgroundIndex in increasing order: the anchors with score > scoreThresh, the best
 *    min(topkCandidates, count) by score (ties → lower anchor index); concatenated in class order;
 * 4. NMS per class on the normalized boxes (IoU > nmsThresh suppresses, see `nms`);
 * 5. sorted by decreasing score (ties → lower candidate index), first detectionsPerImg;
 * 6. boxes scaled to image pixels: x·w, y·h (float32) with [h, w] from `imageSizes`.
 *
 * @param input `{ boxRegression [B·N·4], classLogits [B·N·C], anchors [N·4] cxcywh normalized, batchSize = 1, numClasses, imageSizes? }`.
 * @param options {@link PostprocessOptions}; missing fields (and missing boxCoder fields) come from
 *   `POSTPROCESS_PRESETS.torchvision`. Infinity for topkCandidates / detectionsPerImg means all.
 * @returns One {@link Detections} per image, in batch order.
 * @throws {TypeError} A key of `input`, `options` or `options.boxCoder` that they do not define (`threshold` for
 *   `scoreThresh`), arrays of the wrong type or length (lengths follow from anchors, batchSize and numClasses),
 *   imageSizes not B pairs, unknown scoring or coder order, non-boolean clipBoxes.
 * @throws {RangeError} Counts not integers (≥ 1 for batchSize/numClasses, ≥ −1 for backgroundIndex, ≥ 0 or
 *   Infinity for topkCandidates/detectionsPerImg), thresholds NaN or outside [0, 1], sizes/weights not finite > 0.
 * @example
 * const anchors = defaultBoxes('torchvision-ssd300-vgg16');
 * const [det] = postprocessDetections(
 *   { boxRegression, classLogits, anchors, numClasses: 21, imageSizes: [[480, 640]] },
 *   POSTPROCESS_PRESETS.torchvision);
 * // det.boxes [K·4] xyxy pixels of the 640×480 image, det.scores [K], det.labels [K]
 */
export function postprocessDetections(input: PostprocessInput, options?: PostprocessOptionsInput): Detections[] {
  const r = resolve(input, options);
  return binding ? binding.postprocess(...nativeArgs(input, r)) : run(input, r);
}

/**
 * {@link postprocessDetections} off the event loop: a native AsyncWorker when the addon is loaded, otherwise
 * the TypeScript result. Same results; invalid arguments reject the promise. A native error keeps its class and
 * message and gets the caller's stack. The input arrays must not be modified until the promise settles.
 *
 * @returns Promise of one {@link Detections} per image.
 * @example
 * const [det] = await postprocessDetectionsAsync({ boxRegression, classLogits, anchors, numClasses: 21 });
 */
export async function postprocessDetectionsAsync(
  input: PostprocessInput,
  options?: PostprocessOptionsInput,
): Promise<Detections[]> {
  const r = resolve(input, options);
  if (!binding) return run(input, r);
  const native = binding;
  const caller = new Error();
  return new Promise((resolvePromise, reject) => {
    native.postprocessAsync(...nativeArgs(input, r), (err: Error | null, result?: NativeDetections[]) => {
      if (err) {
        err.stack = `${err.name}: ${err.message}\n${caller.stack?.split('\n').slice(1).join('\n')}`;
        reject(err);
      } else resolvePromise(result!);
    });
  });
}

/** Pure-TypeScript twin of {@link postprocessDetections}: same checks and messages, same detections, same order. */
export function postprocessDetectionsTs(input: PostprocessInput, options?: PostprocessOptionsInput): Detections[] {
  return run(input, resolve(input, options));
}

/** The class-agnostic postprocess of one image (see {@link PostprocessOptions}.classAgnostic). */
function classAgnostic(
  reg: Float32Array,
  scores: Float32Array,
  anchors: Float32Array,
  N: number,
  C: number,
  o: Resolved['options'],
  [h, w]: Float32Array,
): Detections {
  const best = new Float32Array(N).fill(Number.NaN);
  const bestClass = new Int32Array(N);
  for (let a = 0; a < N; a++) {
    let c0 = -1;
    for (let c = 0; c < C; c++)
      if (c !== o.backgroundIndex && (c0 < 0 || scores[a * C + c] > scores[a * C + c0])) c0 = c;
    if (c0 >= 0) [best[a], bestClass[a]] = [scores[a * C + c0], c0];
  }
  const order = rankByScore(best, o.scoreThresh).subarray(0, Math.min(o.topkCandidates, N));
  const candReg = new Float32Array(4 * order.length);
  const candAnchors = new Float32Array(4 * order.length);
  order.forEach((a, k) => {
    candReg.set(reg.subarray(4 * a, 4 * a + 4), 4 * k);
    if (o.boxEncoding !== 'xyxy') candAnchors.set(anchors.subarray(4 * a, 4 * a + 4), 4 * k);
  });
  const boxes =
    o.boxEncoding === 'xyxy'
      ? candReg
      : decodeResolved(candReg, candAnchors, { ...o.boxCoder, anchorFormat: 'cxcywh' });
  if (o.clipBoxes) boxes.forEach((v, k) => (boxes[k] = Math.min(Math.max(v, 0), 1)));
  const keep = greedyNms(boxes, Int32Array.from(order.keys()), o.nmsThresh, null, o.detectionsPerImg);
  const det: Detections = {
    boxes: new Float32Array(4 * keep.length),
    scores: new Float32Array(keep.length),
    labels: new Int32Array(keep.length),
  };
  keep.forEach((k, i) => {
    const [x1, y1, x2, y2] = boxes.subarray(4 * k, 4 * k + 4);
    det.boxes.set([x1 * w, y1 * h, x2 * w, y2 * h], 4 * i);
    det.scores[i] = best[order[k]];
    det.labels[i] = bestClass[order[k]];
  });
  return det;
}

function run(
  input: PostprocessInput,
  { options: o, batchSize, numClasses: C, numAnchors: N, imageSizes }: Resolved,
): Detections[] {
  const results: Detections[] = [];
  const scores = new Float32Array(N * C);
  const column = new Float32Array(N);
  for (let b = 0; b < batchSize; b++) {
    const logits = input.classLogits.subarray(b * N * C, (b + 1) * N * C);
    if (o.scoring === 'none') scores.set(logits);
    else {
      // float32 softmax as torch's CPU kernel computes it, or a float32 sigmoid per logit (see float32.ts).
      const score = o.scoring === 'softmax' ? softmax32 : sigmoid32;
      for (let a = 0; a < N; a++) score(logits.subarray(a * C, (a + 1) * C), scores.subarray(a * C, (a + 1) * C));
    }
    const reg = input.boxRegression.subarray(4 * b * N, 4 * (b + 1) * N);
    if (o.classAgnostic) {
      results.push(classAgnostic(reg, scores, input.anchors, N, C, o, imageSizes.subarray(2 * b, 2 * b + 2)));
      continue;
    }
    const boxes =
      o.boxEncoding === 'xyxy'
        ? reg.slice()
        : decodeResolved(reg, input.anchors, { ...o.boxCoder, anchorFormat: 'cxcywh' });
    if (o.clipBoxes) boxes.forEach((v, k) => (boxes[k] = Math.min(Math.max(v, 0), 1)));
    // Candidates: class by class, each class's top-k by score (ties → lower anchor index).
    const candAnchors: number[] = [];
    const candScores: number[] = [];
    const candLabels: number[] = [];
    for (let c = 0; c < C; c++) {
      if (c === o.backgroundIndex) continue;
      for (let a = 0; a < N; a++) column[a] = scores[a * C + c];
      for (const a of rankByScore(column, o.scoreThresh).subarray(0, Math.min(o.topkCandidates, N))) {
        candAnchors.push(a);
        candScores.push(column[a]);
        candLabels.push(c);
      }
    }
    const candBoxes = new Float32Array(4 * candAnchors.length);
    candAnchors.forEach((a, k) => candBoxes.set(boxes.subarray(4 * a, 4 * a + 4), 4 * k));
    const candScores32 = Float32Array.from(candScores);
    const labels = Int32Array.from(candLabels);
    const keep = greedyNms(candBoxes, rankByScore(candScores32, -Infinity), o.nmsThresh, labels, o.detectionsPerImg);
    const [h, w] = imageSizes.subarray(2 * b, 2 * b + 2);
    const det: Detections = {
      boxes: new Float32Array(4 * keep.length),
      scores: new Float32Array(keep.length),
      labels: new Int32Array(keep.length),
    };
    keep.forEach((k, i) => {
      const [x1, y1, x2, y2] = candBoxes.subarray(4 * k, 4 * k + 4);
      det.boxes.set([x1 * w, y1 * h, x2 * w, y2 * h], 4 * i);
      det.scores[i] = candScores32[k];
      det.labels[i] = labels[k];
    });
    results.push(det);
  }
  return results;
}
