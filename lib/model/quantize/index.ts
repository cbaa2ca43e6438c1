/**
 * Static int8 quantization of ssd-edge models: `quantizeModel(model, calibrationImages, options)` calibrates the
 * float model on images run through the detector's own preprocess (./calibrate.ts) and rewrites it in QDQ form
 * (./qdq.ts): int8 symmetric per-channel weights, uint8 asymmetric activations, QuantizeLinear/DequantizeLinear
 * pairs that ONNX Runtime fuses into integer kernels. The result is a self-describing ssd-edge model with the same
 * inputs, outputs and spec, plus `spec.quantization`, a note of how it was made.
 *
 * ```ts
 * const q = await quantizeModel('face.onnx', 'calibration/', { method: 'percentile' });
 * fs.writeFileSync('face.int8.onnx', q.bytes);
 * ```
 */
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import {
  assertBoolean,
  assertInRange,
  assertInteger,
  assertKnownKeys,
  assertObject,
  assertOneOf,
  invalidParameterError,
} from '../../is.ts';
import { readModelBytes } from '../file.ts';
import { readOnnxFrom, writeOnnx, type ModelProto } from '../onnx.ts';
import { readModelSpec, writeModelSpec } from '../metadata.ts';
import type { ModelSpec } from '../spec.ts';
import type { ImageInput } from '../../image/decode.ts';
import { prepare } from '../../detector/stages.ts';
import type { TensorMap } from '../../runtime/tensor.ts';
import { calibrate, CALIBRATION_METHODS, type CalibrationMethod, type TensorRange } from './calibrate.ts';
import { applyQdq, assertQdqOpset, planQdq, type KeepFloat } from './qdq.ts';
import { foldConvAffine } from './fold.ts';
import { REDUCE_RANGE_MODES, resolveReduceRange, type ReduceRangeMode } from './cpu.ts';
import { weightQmax } from './params.ts';

export { CALIBRATION_METHODS, type CalibrationMethod } from './calibrate.ts';
export { int8Support, resolveReduceRange, REDUCE_RANGE_MODES, type Int8Support, type ReduceRangeMode } from './cpu.ts';

/** Version of the quantizer stored in the note (the int8 default model is rebuilt when it changes). */
export const QUANTIZER = 'ssd-edge/quantize@2';
/** Calibration images used by default (the first N of the folder, sorted by name, evenly spaced). */
export const DEFAULT_CALIBRATION_IMAGES = 32;
export const KEEP_FLOAT_PARTS = ['first', 'heads'] as const;

export interface QuantizeOptions {
  /** How activation ranges are chosen (default 'minmax'). */
  method?: CalibrationMethod;
  /** Quantile kept by 'percentile' in (50, 100] (default 99.999). */
  percentile?: number;
  /** Convs kept float: any of 'first' (the image's first conv), 'heads' (box/class predictors); default ['heads']; [] for none. */
  keepFloat?: ReadonlyArray<'first' | 'heads'>;
  /**
   * Store the weights of the Convs kept float int8 per channel behind a DequantizeLinear (weight-only: the Conv still
   * computes in float; a smaller file — SSD300-VGG16 34.7 % → 25.2 % of float — for a slower forward, as ONNX Runtime
   * dequantizes them at every run). Default false.
   */
  int8Weights?: boolean;
  /** Per-channel weight scales (default true); false: one scale per weight tensor. */
  perChannel?: boolean;
  /** 7-bit weights: 'auto' (default: when the CPU lacks VNNI / dot product), 'on', 'off'. */
  reduceRange?: ReduceRangeMode;
  /** Use at most this many calibration images (default 32; a folder's images sorted by name, evenly spaced). */
  images?: number;
  /** Intra-op threads of the calibration session. */
  threads?: number;
  /** Calibration images' description in the note (default: the folder, or 'N images'). */
  calibrationSource?: string;
}

const OPTION_KEYS = [
  'method',
  'percentile',
  'keepFloat',
  'int8Weights',
  'perChannel',
  'reduceRange',
  'images',
  'threads',
  'calibrationSource',
] as const satisfies ReadonlyArray<keyof QuantizeOptions>;

/** The note stored as `spec.quantization` in a quantized model. */
export interface QuantizationNote {
  quantizer: string;
  format: 'QDQ';
  weights: string;
  activations: string;
  method: CalibrationMethod;
  percentile?: number;
  reduceRange: boolean;
  keepFloat: string[];
  /** How the weights of the Convs kept float are stored: 'int8' (weight-only, behind DequantizeLinear) or 'float'. */
  keptFloatWeights: 'int8' | 'float';
  quantizedConvs: number;
  floatConvs: number;
  calibration: { images: number; source: string };
  /** sha256 of the float model's bytes. */
  floatModelSha256: string;
}

export interface QuantizedModel {
  model: ModelProto;
  /** The serialized model. */
  bytes: Uint8Array;
  spec: ModelSpec;
  note: QuantizationNote;
  /** Calibrated range of every quantized activation. */
  ranges: Map<string, TensorRange>;
  /** One line each: what was done. */
  report: string[];
}

const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.webp', '.gif', '.bmp']);

/** Image files of a folder, sorted by name; `limit` of them evenly spaced. */
export async function listCalibrationImages(dir: string, limit = DEFAULT_CALIBRATION_IMAGES): Promise<string[]> {
  let names: string[];
  try {
    names = await fs.promises.readdir(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw Object.assign(
      new Error(
        `Cannot read calibration folder ${dir}: ${code === 'ENOENT' ? 'no such folder' : code === 'ENOTDIR' ? 'not a folder' : (err as Error).message}`,
      ),
      { code },
    );
  }
  const files = names.filter((n) => IMAGE_EXTENSIONS.has(path.extname(n).toLowerCase())).sort();
  if (files.length === 0)
    throw new Error(`No calibration images (${[...IMAGE_EXTENSIONS].join(' ')}) in folder ${dir}`);
  const picked =
    files.length <= limit
      ? files
      : Array.from({ length: limit }, (_, k) => files[Math.floor((k * files.length) / limit)]);
  return picked.map((f) => path.join(dir, f));
}

function validate(options: QuantizeOptions): void {
  assertObject('options', options as unknown);
  assertKnownKeys('options', options, OPTION_KEYS);
  if (options.method !== undefined) assertOneOf('method', options.method, CALIBRATION_METHODS);
  if (options.percentile !== undefined) {
    assertInRange('percentile', options.percentile, 50, 100);
    if (options.percentile === 50) throw invalidParameterError('percentile', 'number in (50, 100]', 50);
  }
  if (options.keepFloat !== undefined) {
    if (!Array.isArray(options.keepFloat))
      throw invalidParameterError('keepFloat', "Array of 'first', 'heads' (or [] for none)", options.keepFloat);
    options.keepFloat.forEach((k, i) => assertOneOf(`keepFloat[${i}]`, k, KEEP_FLOAT_PARTS));
  }
  if (options.int8Weights !== undefined) assertBoolean('int8Weights', options.int8Weights);
  if (options.perChannel !== undefined) assertBoolean('perChannel', options.perChannel);
  if (options.reduceRange !== undefined) assertOneOf('reduceRange', options.reduceRange, REDUCE_RANGE_MODES);
  if (options.images !== undefined) assertInteger('images', options.images, 1);
  if (options.threads !== undefined) assertInteger('threads', options.threads, 1);
}

/** What {@link quantizeGraph} needs beyond the model: the calibration feeds. */
export interface QuantizeGraphResult {
  model: ModelProto;
  ranges: Map<string, TensorRange>;
  quantizedConvs: number;
  floatConvs: number;
  /** Float Convs whose weights are stored int8 (weight-only). */
  int8WeightConvs: number;
  /** Add/Mul/BatchNormalization ops folded into the Conv before them. */
  foldedOps: number;
  reduceRange: boolean;
}

/**
 * The model-agnostic core: calibrates `model` on `feeds` (plain input tensors) and returns its QDQ rewrite. No spec
 * is read or written (metadata is copied as is). Used by {@link quantizeModel}, and by the exactness test on a small
 * graph.
 *
 * @throws {TypeError|RangeError} Invalid options; a model below opset 13.
 * @throws {Error} The model does not run on the feeds (ONNX Runtime's message).
 */
export async function quantizeGraph(
  model: ModelProto,
  feeds: Iterable<TensorMap> | AsyncIterable<TensorMap>,
  options: QuantizeOptions = {},
): Promise<QuantizeGraphResult> {
  validate(options);
  const keepFloat: KeepFloat = options.keepFloat ?? ['heads'];
  // Conv → Add/Mul/BatchNormalization chains (imported graphs) become one Conv, so the Conv's Relu and Q fuse
  const { model: graph, folded } = foldConvAffine(model);
  const plan = planQdq(graph, keepFloat);
  const ranges = await calibrate(graph, plan.calibrate, feeds, {
    method: options.method,
    percentile: options.percentile,
    threads: options.threads,
  });
  const reduceRange = resolveReduceRange(options.reduceRange ?? 'auto');
  const r = applyQdq(graph, plan, ranges, {
    perChannel: options.perChannel ?? true,
    reduceRange,
    int8Weights: options.int8Weights ?? false,
  });
  return {
    model: r.model,
    ranges,
    quantizedConvs: r.quantizedConvs,
    floatConvs: r.floatConvs,
    int8WeightConvs: r.int8WeightConvs,
    foldedOps: folded,
    reduceRange,
  };
}

/**
 * Quantizes a float ssd-edge model to int8 (QDQ): calibration on `calibrationImages` through the model's own
 * preprocess, int8 per-channel weights, uint8 activations; same inputs, outputs and spec, plus `spec.quantization`.
 *
 * @param model Path of an ssd-edge .onnx file, or its bytes.
 * @param calibrationImages A folder of images, or images (paths, encoded bytes, raw pixels) — a few dozen typical
 *   inputs of the application; at most `options.images` are used.
 * @throws {TypeError} Not an ssd-edge model, an already quantized model, invalid options.
 * @throws {ImageDecodeError} A calibration image that does not decode.
 * @example
 * const { bytes, note } = await quantizeModel('ssd300.onnx', 'val-images/', { method: 'percentile', keepFloat: ['heads'] });
 */
export async function quantizeModel(
  model: string | Uint8Array,
  calibrationImages: string | readonly ImageInput[],
  options: QuantizeOptions = {},
): Promise<QuantizedModel> {
  validate(options);
  const what = typeof model === 'string' ? model : 'model';
  if (typeof model !== 'string' && !(model instanceof Uint8Array))
    throw invalidParameterError('model', 'path of an .onnx file or its bytes', model);
  const bytes = typeof model === 'string' ? readModelBytes(model) : model; // errors name the file (missing, a folder…)
  const proto = readOnnxFrom(bytes, what);
  const spec = readModelSpec(proto, what);
  if ((spec as ModelSpec & { quantization?: unknown }).quantization !== undefined)
    throw new TypeError(`Expected a float model for ${what} but received a model that is already quantized`);
  assertQdqOpset(proto); // before the calibration's work
  // nothing to quantize (every Conv kept float, or its weights already quantized: a TFLite uint8 import) is refused
  // before the calibration, instead of writing a model marked int8 that is the float one
  const plan = planQdq(proto, options.keepFloat ?? ['heads']);
  if (plan.convs.length === 0) {
    const all = proto.graph.node.filter((n) => n.op_type === 'Conv');
    const constant = new Set((proto.graph.initializer ?? []).map((i) => i.name));
    const notFloat = all.filter((n) => !constant.has(n.input[1])).length;
    const why = [
      ...(notFloat ? [`${notFloat} with computed weights (already quantized: DequantizeLinear)`] : []),
      ...(all.length > notFloat
        ? [`${all.length - notFloat} kept float (keepFloat: ${(options.keepFloat ?? ['heads']).join(', ') || 'none'})`]
        : []),
    ];
    throw new TypeError(
      `Expected a model with a float Conv to quantize for ${what} but received ${all.length} Conv(s)${why.length ? `: ${why.join(', ')}` : ''} — nothing would change`,
    );
  }
  const limit = options.images ?? DEFAULT_CALIBRATION_IMAGES;
  let images: readonly ImageInput[];
  let source: string;
  if (typeof calibrationImages === 'string') {
    images = await listCalibrationImages(calibrationImages, limit);
    source = options.calibrationSource ?? calibrationImages;
  } else {
    if (!Array.isArray(calibrationImages) || calibrationImages.length === 0)
      throw invalidParameterError('calibrationImages', 'a folder or a non-empty Array of images', calibrationImages);
    images = calibrationImages.slice(0, limit);
    source = options.calibrationSource ?? `${images.length} images`;
  }
  const batchDim = proto.graph.input.find((i) => i.name === spec.input.name)?.type?.tensor_type?.shape?.dim?.[0];
  const batch = spec.input.dynamicBatch || !batchDim?.dim_value ? 1 : batchDim.dim_value;
  async function* feeds(): AsyncGenerator<TensorMap> {
    for (let k = 0; k < images.length; k += batch) {
      const prepared = await prepare(images.slice(k, k + batch), spec.input, { batch });
      yield { [spec.input.name]: prepared.input };
    }
  }
  const q = await quantizeGraph(proto, feeds(), options);
  const keepFloat = [...(options.keepFloat ?? ['heads'])];
  const note: QuantizationNote = {
    quantizer: QUANTIZER,
    format: 'QDQ',
    weights: `int8 symmetric, ${options.perChannel === false ? 'per tensor' : 'per output channel'}, [−${weightQmax(q.reduceRange)}, ${weightQmax(q.reduceRange)}]`,
    activations: 'uint8 asymmetric (range widened to contain 0)',
    method: options.method ?? 'minmax',
    ...(options.method === 'percentile' ? { percentile: options.percentile ?? 99.999 } : {}),
    reduceRange: q.reduceRange,
    keepFloat,
    keptFloatWeights: options.int8Weights ? 'int8' : 'float',
    quantizedConvs: q.quantizedConvs,
    floatConvs: q.floatConvs,
    calibration: { images: images.length, source },
    floatModelSha256: createHash('sha256').update(bytes).digest('hex'),
  };
  const qspec = { ...spec, quantization: note } as ModelSpec;
  writeModelSpec(q.model, qspec);
  const out = writeOnnx(q.model);
  const report = [
    `calibrated on ${images.length} image(s) (${source}), method ${note.method}${note.percentile ? ` ${note.percentile} %` : ''}: ${q.ranges.size} activation ranges`,
    `${q.quantizedConvs} Conv quantized (weights ${note.weights}), ${q.floatConvs} kept float (${keepFloat.join(', ') || 'none'}${q.int8WeightConvs ? `; ${q.int8WeightConvs} of them with int8 weights, float compute` : ''})`,
    ...(q.foldedOps
      ? [`${q.foldedOps} Add/Mul/BatchNormalization op(s) after a Conv folded into its weights and bias`]
      : []),
    `${(bytes.byteLength / 1e6).toFixed(1)} MB → ${(out.byteLength / 1e6).toFixed(1)} MB (${((100 * out.byteLength) / bytes.byteLength).toFixed(0)} %)`,
  ];
  return { model: q.model, bytes: out, spec: qspec, note, ranges: q.ranges, report };
}

/** The quantization note of a model's spec, or null for a float model. */
export function quantizationOf(spec: ModelSpec): QuantizationNote | null {
  return ((spec as ModelSpec & { quantization?: QuantizationNote }).quantization ?? null) as QuantizationNote | null;
}
