/**
 * The detector's three stages, each usable on its own so a stream pipeline can overlap them on different frames and
 * evaluation/training can reuse them:
 *
 *   prepare(images, spec.input)            decode + preprocess → { input: [B,3,H,W] tensor, transforms }
 *   forward(session, spec, input)          the ONNX Runtime pass → { boxes, scores } as plain arrays
 *   finish(output, spec, anchors, …)       postprocess (score, decode, NMS) + boxes mapped to source pixels
 *
 * `Detector` (./detector.ts) is glue over them: `detectBatch` = prepare → forward → finish per chunk of images.
 */
import { assertInteger, assertKnownKeys, assertObject, invalidParameterError, outOfRangeError } from '../is.ts';
import type { InputSpec, ModelSpec } from '../model/spec.ts';
import {
  POSTPROCESS_OPTION_KEYS,
  postprocessDetections,
  postprocessDetectionsAsync,
  type Detections,
  type PostprocessOptionsInput,
} from '../ops/postprocess.ts';
import { decodeImage, type DecodedImage, type ImageInput } from '../image/decode.ts';
import { boxToSource, preprocess, type InputTransform } from '../image/preprocess.ts';
import type { Session } from '../runtime/session.ts';
import type { Tensor } from '../runtime/tensor.ts';
import { checkDetectValues, type Detection, type ResolvedDetectOptions } from './options.ts';

/** The network input of one or more images, and what maps results back to each image. */
export interface PreparedInput {
  /** float32 [B, 3, H, W] (NCHW) or [B, H, W, 3] (NHWC); slots past `transforms.length` are zeros (fixed-batch padding). */
  input: Tensor<Float32Array>;
  /** Per image, in order: where it sits in the input (maps network coordinates back to its pixels). */
  transforms: InputTransform[];
  /** Source size of each image (after EXIF orientation). */
  sizes: Array<{ width: number; height: number }>;
  /** Milliseconds spent decoding and preprocessing. */
  timings: { decode: number; preprocess: number };
}

export interface PrepareOptions {
  /** Batch dimension of the tensor (≥ number of images; default the number of images). Extra slots are zero-filled. */
  batch?: number;
  /** Write into this array (length ≥ batch·3·H·W) instead of allocating one: reuse it across frames. */
  out?: Float32Array;
}

/** [B, 3, H, W] or [B, H, W, 3] for a model input. */
export function inputDims(input: Pick<InputSpec, 'width' | 'height' | 'layout'>, batch: number): number[] {
  const { width: w, height: h, layout } = input;
  return layout === 'NCHW' ? [batch, 3, h, w] : [batch, h, w, 3];
}

/**
 * Stage 1: decodes the images (paths, encoded bytes, raw pixels) and preprocesses each into its slot of one input
 * tensor (resize, normalize, layout per the model's input spec).
 *
 * @param images Paths, JPEG/PNG/WebP/GIF/BMP bytes, raw `{ data, width, height, channels }` pixels, or decoded images.
 * @param spec The model's input spec (`spec.input`).
 * @param options `batch` (pad to a fixed batch) and `out` (a reusable buffer).
 * @returns The input tensor, one {@link InputTransform} per image, their sizes and the stage timings.
 * @throws {ImageDecodeError} Unreadable or undecodable image.
 * @throws {TypeError} `out` too short, `batch` smaller than the number of images.
 * @example
 * const prepared = await prepare(['a.jpg', 'b.jpg'], detector.spec.input);
 * prepared.input.dims; // [2, 3, 512, 512]
 */
export async function prepare(
  images: readonly ImageInput[],
  spec: InputSpec,
  options: PrepareOptions = {},
): Promise<PreparedInput> {
  if (!Array.isArray(images)) throw invalidParameterError('images', 'Array of images', images);
  assertObject('options', options as unknown);
  assertKnownKeys('options', options, ['batch', 'out']);
  const batch = options.batch ?? images.length;
  assertInteger('batch', batch, Math.max(1, images.length));
  let t = performance.now();
  const decoded: DecodedImage[] = await Promise.all(
    images.map((img, k) => decodeImage(img, images.length > 1 ? `images[${k}]` : 'image')),
  );
  const decode = performance.now() - t;

  t = performance.now();
  const per = 3 * spec.width * spec.height;
  const data = options.out ?? new Float32Array(per * batch);
  if (!(data instanceof Float32Array) || data.length < per * batch) {
    throw invalidParameterError(
      'out',
      `Float32Array of length ≥ ${per * batch} (batch·3·${spec.width}·${spec.height})`,
      data,
    );
  }
  if (decoded.length < batch) data.fill(0, decoded.length * per, per * batch); // zeros pad a fixed batch
  const transforms = decoded.map((img, b) => preprocess(img, spec, { out: data, offset: b * per }).transform);
  const input = {
    data: data.length === per * batch ? data : data.subarray(0, per * batch),
    dims: inputDims(spec, batch),
  };
  return {
    input,
    transforms,
    sizes: decoded.map(({ width, height }) => ({ width, height })),
    timings: { decode, preprocess: performance.now() - t },
  };
}

/** What the network returned for a batch, as plain float32 arrays. */
export interface ForwardOutput {
  /** [B, N, 4]: deltas ('raw' outputs) or normalized xyxy boxes ('decoded'). */
  boxes: Float32Array;
  /** [B, N, C]: logits ('raw') or probabilities ('decoded'). */
  scores: Float32Array;
  batch: number;
  /** Boxes per image (anchors). */
  numBoxes: number;
  /** Classes, background included (= labels.length). */
  numClasses: number;
  /** Milliseconds of the forward pass. */
  ms: number;
}

/**
 * Stage 2: runs the network on a prepared input and checks the outputs against the spec (names, [B, N, 4] and
 * [B, N, C] with C = labels.length).
 *
 * @throws {Error} The session is disposed, or ONNX Runtime fails.
 * @throws {TypeError} Missing outputs or shapes that disagree with the spec.
 */
export async function forward(session: Session, spec: ModelSpec, input: Tensor<Float32Array>): Promise<ForwardOutput> {
  const t = performance.now();
  const out = await session.run({ [spec.input.name]: input });
  const ms = performance.now() - t;
  const boxes = out[spec.output.boxes];
  const scores = out[spec.output.scores];
  if (!boxes || !scores)
    throw new Error(`Model ${spec.name} did not return outputs '${spec.output.boxes}' and '${spec.output.scores}'`);
  const [batch, numBoxes, numClasses] = scores.dims.map(Number);
  if (numClasses !== spec.labels.length) {
    throw new TypeError(
      `Expected ${spec.labels.length} classes (labels) in output '${spec.output.scores}' of ${spec.name} but received shape [${scores.dims}]`,
    );
  }
  if (!(boxes.data instanceof Float32Array) || !(scores.data instanceof Float32Array)) {
    throw new TypeError(
      `Expected float32 outputs '${spec.output.boxes}' and '${spec.output.scores}' from ${spec.name}`,
    );
  }
  if (boxes.data.length !== batch * numBoxes * 4) {
    throw new TypeError(
      `Expected output '${spec.output.boxes}' of ${spec.name} with shape [${batch}, ${numBoxes}, 4] but received [${boxes.dims}]`,
    );
  }
  if (scores.data.length !== batch * numBoxes * numClasses) {
    throw new TypeError(
      `Expected ${batch * numBoxes * numClasses} values (shape [${batch}, ${numBoxes}, ${numClasses}]) in output '${spec.output.scores}' of ${spec.name} but received ${scores.data.length}`,
    );
  }
  return { boxes: boxes.data, scores: scores.data, batch, numBoxes, numClasses, ms };
}

/**
 * Options of {@link finish}: thresholds, the cap and the class filter (from `resolveDetectOptions` / `classFilter`).
 * A missing threshold or cap comes from the spec (`postprocess.scoreThresh`, `nmsThresh`, `detectionsPerImg`).
 */
export interface FinishOptions extends Partial<Omit<ResolvedDetectOptions, 'classes'>> {
  /** Class ids to keep (null or missing: all). */
  classFilter?: Set<number> | null;
}

/** The keys of {@link FinishOptions}. */
export const FINISH_OPTION_KEYS = [
  'scoreThreshold',
  'iouThreshold',
  'maxDetections',
  'classFilter',
] as const satisfies ReadonlyArray<keyof FinishOptions>;

/** Validates {@link FinishOptions} (as the Detector's detect options) and fills what is missing from the spec. */
function resolveFinishOptions(options: unknown, spec: ModelSpec): Required<FinishOptions> {
  assertObject('options', options);
  assertKnownKeys('options', options, FINISH_OPTION_KEYS);
  const o = options as FinishOptions;
  checkDetectValues(o);
  const filter = o.classFilter ?? null;
  if (filter !== null) {
    if (!(filter instanceof Set)) throw invalidParameterError('classFilter', 'Set of class ids or null', filter);
    for (const id of filter) assertInteger('classFilter id', id, 0);
  }
  const pp = spec.postprocess;
  return {
    scoreThreshold: o.scoreThreshold ?? pp.scoreThresh,
    iouThreshold: o.iouThreshold ?? pp.nmsThresh,
    maxDetections: o.maxDetections ?? pp.detectionsPerImg,
    classFilter: filter,
  };
}

/** Score elements (B·N·C) up to which the postprocess runs on the calling thread (≈ 1 ms of native work at most). */
export const SYNC_POSTPROCESS_MAX = 1 << 19;

/**
 * Stage 3: postprocess (scoring, decode against the anchors or decoded boxes as given, per-class NMS, top-k) and
 * boxes mapped to source pixels through each image's transform.
 *
 * @param output {@link forward}'s result.
 * @param spec The model's spec (labels, postprocess defaults, output kind).
 * @param anchors Anchors (Float32Array [N·4] cxcywh) for 'raw' outputs; ignored (may be null) for 'decoded'.
 * @param transforms One per image to return ({@link prepare}'s; fewer than `output.batch` drops the padding slots).
 * @param options Thresholds, cap, class filter; missing ones come from `spec.postprocess`.
 * @returns Per image, detections sorted by decreasing score.
 * @throws {TypeError} Unknown option key, wrong option type, `transforms` not an array.
 * @throws {RangeError} A threshold outside [0, 1], a negative cap, more transforms than output batches.
 */
export async function finish(
  output: ForwardOutput,
  spec: ModelSpec,
  anchors: Float32Array | null,
  transforms: readonly InputTransform[],
  options: FinishOptions = {},
): Promise<Detection[][]> {
  const o = resolveFinishOptions(options, spec);
  if (!Array.isArray(transforms))
    throw invalidParameterError('transforms', 'Array of InputTransform (one per image)', transforms);
  if (transforms.length > output.batch) {
    throw outOfRangeError(
      'transforms.length',
      `at most ${output.batch} (output.batch: one transform per image of the batch)`,
      transforms.length,
    );
  }
  const pp = spec.postprocess;
  // Only the op's own keys: a spec written by another version may carry fields the op would reject.
  const known = Object.fromEntries(POSTPROCESS_OPTION_KEYS.filter((k) => pp[k] !== undefined).map((k) => [k, pp[k]]));
  const ppOptions: PostprocessOptionsInput = {
    ...known,
    scoring: pp.scoring,
    boxEncoding: pp.boxEncoding,
    scoreThresh: o.scoreThreshold,
    nmsThresh: o.iouThreshold,
    // With a class filter every detection must survive until filtered; the cap is applied after.
    detectionsPerImg: o.classFilter ? Infinity : o.maxDetections,
  };
  const input = {
    boxRegression: output.boxes,
    classLogits: output.scores,
    anchors: anchors ?? new Float32Array(0),
    batchSize: output.batch,
    numClasses: output.numClasses,
  };
  // Outputs up to 2^19 scores (face model 5118×2 ≈ 20 µs, SSD300 8732×21 ≈ 0.4 ms, SSDLite 3234×91 ≈ 1 ms) run
  // inline: the thread hop and input copy cost more than they save next to a forward pass that onnxruntime-node
  // runs on this thread anyway. Larger ones (batches, many classes) go to the AsyncWorker.
  const dets: Detections[] =
    output.scores.length <= SYNC_POSTPROCESS_MAX
      ? postprocessDetections(input, ppOptions)
      : await postprocessDetectionsAsync(input, ppOptions);
  return transforms.map((tr, b) => toDetections(dets[b], tr, spec.labels, o.classFilter, o.maxDetections));
}

/** One image's postprocessed detections in source pixels, filtered by class and capped. */
export function toDetections(
  d: Detections,
  transform: InputTransform,
  labels: readonly string[],
  classFilter: Set<number> | null,
  max: number,
): Detection[] {
  const out: Detection[] = [];
  for (let k = 0; k < d.scores.length && out.length < max; k++) {
    const classId = d.labels[k];
    if (classFilter && !classFilter.has(classId)) continue;
    // Normalized input box: face-api clips to [0, 1] before mapping back; boxToSource clips to the image.
    const [x1, y1, x2, y2] = boxToSource(d.boxes.subarray(4 * k, 4 * k + 4), transform);
    // A model that emits NaN/Inf deltas gets NaN boxes (kept by NMS, IoU 0): not a detection anyone can use.
    if (!Number.isFinite(x1 + y1 + x2 + y2)) continue;
    out.push({ label: labels[classId] ?? String(classId), classId, score: d.scores[k], box: { x1, y1, x2, y2 } });
  }
  return out;
}

/**
 * Checks that a forward output holds what the spec declares, on the warm-up run at load: a model whose metadata says
 * decoded boxes while its graph emits raw deltas would otherwise give boxes with x1 > x2 (`512 0 0 372`).
 *
 * For `output.kind: 'decoded'` (normalized xyxy): among the finite boxes, more than 1 in 8 with x1 > x2 or y1 > y2
 * (beyond 1e-4), or more than 1 in 8 with a |coordinate| > 64 (64 input sizes away), fails; raw deltas have about 3 boxes in 4 reversed
 * on one axis, decoded boxes none (every decoder computes x2 = x1 + w with w ≥ 0; clipping keeps the order).
 * With `scoring: 'none'` (scores used as given) the scores must be probabilities: more than 1 in 8 outside
 * [−0.5, 1.5] fails (logits declared as probabilities; the margin keeps rounding, quantization and stand-in models
 * well clear). Raw outputs are not checked (deltas and logits may take any value).
 *
 * @throws {TypeError} Naming the spec field that disagrees with the graph (`output.kind`, `postprocess.scoring`).
 */
export function checkOutputLayout(output: ForwardOutput, spec: ModelSpec): void {
  if (spec.output.kind !== 'decoded') return;
  const b = output.boxes;
  let finite = 0;
  let reversed = 0;
  let far = 0;
  let example: number[] | null = null;
  for (let i = 0; i + 3 < b.length; i += 4) {
    const x1 = b[i],
      y1 = b[i + 1],
      x2 = b[i + 2],
      y2 = b[i + 3];
    if (!Number.isFinite(x1 + y1 + x2 + y2)) continue;
    finite++;
    if (x1 > x2 + 1e-4 || y1 > y2 + 1e-4) {
      reversed++;
      example ??= [x1, y1, x2, y2];
    }
    if (Math.max(Math.abs(x1), Math.abs(y1), Math.abs(x2), Math.abs(y2)) > 64) {
      far++;
      example ??= [x1, y1, x2, y2];
    }
  }
  const fmt = (v: number[]) => `[${v.map((x) => Number(x.toPrecision(4))).join(', ')}]`;
  if (finite > 0 && (reversed * 8 > finite || far * 8 > finite)) {
    const what =
      reversed * 8 > finite
        ? `${reversed} of ${finite} boxes have x1 > x2 or y1 > y2`
        : `${far} of ${finite} boxes lie more than 64 input sizes outside the image`;
    throw new TypeError(
      `Model ${spec.name}: its spec declares decoded boxes (output.kind 'decoded', normalized xyxy in output ` +
        `'${spec.output.boxes}') but on the warm-up input ${what} (e.g. ${fmt(example!)}): the graph looks like it emits ` +
        `raw box deltas. Fix output.kind in the model's ssd_edge metadata ('raw' with postprocess.boxEncoding 'deltas' and anchors), ` +
        'or export the model with its decoding step.',
    );
  }
  if (spec.postprocess.scoring === 'none') {
    const s = output.scores;
    let bad = 0;
    let first = NaN;
    for (let i = 0; i < s.length; i++) {
      const v = s[i];
      if (v < -0.5 || v > 1.5) {
        if (bad === 0) first = v;
        bad++;
      }
    }
    if (bad * 8 > s.length) {
      throw new TypeError(
        `Model ${spec.name}: its spec declares probabilities in output '${spec.output.scores}' (postprocess.scoring 'none') ` +
          `but on the warm-up input ${bad} of ${s.length} scores lie far outside [0, 1] (e.g. ${first}): logits? ` +
          "Set postprocess.scoring to 'softmax' or 'sigmoid' in the model's ssd_edge metadata.",
      );
    }
  }
}
