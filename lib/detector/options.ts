/**
 * The Detector's public types (detections, per-call and load options, timings) and their validation: every options
 * object rejects unknown keys (`detect(img, { threshold: 0.1 })` throws instead of silently doing nothing).
 */
import {
  assertArray,
  assertBoolean,
  assertInRange,
  assertInteger,
  assertKnownKeys,
  assertObject,
  assertOneOf,
  invalidParameterError,
} from '../is.ts';
import type { ModelSpec } from '../model/spec.ts';
import { assertProviderOptions, type Device, type ProviderOptions } from '../runtime/providers.ts';

/** One detected object. */
export interface Detection {
  /** Class name from the model's labels. */
  label: string;
  /** Index into the model's labels (background included, so the first object class is usually 1). */
  classId: number;
  /** Confidence in [0, 1] (float32 value). */
  score: number;
  /** Box in source-image pixels (upright image, after EXIF orientation), clipped to the image; x1 ≤ x2, y1 ≤ y2. */
  box: { x1: number; y1: number; x2: number; y2: number };
}

/** Per-call options of `detect` / `detectBatch` (each defaults to the Detector's load options, then to the model's spec). */
export interface DetectOptions {
  /** Keep detections with score > scoreThreshold, in [0, 1]. */
  scoreThreshold?: number;
  /** Per-class NMS suppresses boxes with IoU > iouThreshold, in [0, 1]. */
  iouThreshold?: number;
  /** At most this many detections per image (Infinity = all). */
  maxDetections?: number;
  /** Only these classes (labels or class ids); default all. */
  classes?: ReadonlyArray<string | number>;
}

export interface DetectorOptions extends DetectOptions {
  /** 'auto' (default): TensorRT → CUDA → CPU, the first that works (see `providerErrors`). */
  device?: Device;
  /** GPU index for cuda/tensorrt. */
  deviceId?: number;
  /** TensorRT/CUDA options (fp16, int8, engine cache…), passed through to builds that accept them (see `ProviderOptions`). */
  providerOptions?: ProviderOptions;
  /** Intra-op threads, or 'auto' (default, see `defaultThreadOptions`). */
  threads?: number | 'auto';
  /** Intra-op thread spinning (default off with 'auto' threads). */
  spinning?: boolean;
  /**
   * Warm every stage at load so the first `detect` runs at steady-state speed (default true): decoders, preprocess,
   * forward passes until their time settles (see `warmupStages`), postprocess. Also checks the model's outputs
   * against its spec's declared layout.
   */
  warmup?: boolean;
  /** Images per forward pass in `detectBatch` when the model has a dynamic batch (default 8). */
  maxBatch?: number;
  /**
   * Run ONNX Runtime in a worker thread so `detect` never blocks the event loop (default false: in-process, where
   * onnxruntime-node blocks it for the whole forward pass). For servers and camera apps that must stay responsive.
   */
  worker?: boolean;
  /**
   * 'int8' with the default model: its int8 copy (quantized on first use from the float model with a calibration set
   * the package makes offline, cached beside it with its hash; see `ensureDefaultInt8Model`). With a model path,
   * 'int8' requires a model made by `ssd-edge model quantize` (a float file is an error, not silently run as float).
   * 'float' (default): the default float model, or the file as it is.
   */
  precision?: Precision;
}

/** Numeric precision of the model the Detector runs. */
export type Precision = 'float' | 'int8';
export const PRECISIONS = ['float', 'int8'] as const satisfies readonly Precision[];

/** Milliseconds spent in each stage of the last `detect` / `detectBatch` call (summed over its images). */
export interface DetectTimings {
  decode: number;
  preprocess: number;
  forward: number;
  postprocess: number;
  total: number;
}

/** The keys of {@link DetectOptions}. */
export const DETECT_OPTION_KEYS = [
  'scoreThreshold',
  'iouThreshold',
  'maxDetections',
  'classes',
] as const satisfies ReadonlyArray<keyof DetectOptions>;
/** The keys of {@link DetectorOptions}. */
export const DETECTOR_OPTION_KEYS = [
  ...DETECT_OPTION_KEYS,
  'device',
  'deviceId',
  'providerOptions',
  'threads',
  'spinning',
  'warmup',
  'maxBatch',
  'worker',
  'precision',
] as const satisfies ReadonlyArray<keyof DetectorOptions>;

/** Detect options with every threshold resolved (classes as given, or undefined for all). */
export type ResolvedDetectOptions = Required<Omit<DetectOptions, 'classes'>> & {
  classes?: ReadonlyArray<string | number>;
};

/**
 * Checks per-call options: an object with known keys and valid values.
 *
 * @throws {TypeError} Unknown key (`Unknown key 'threshold' in options: expected one of 'scoreThreshold', …`), wrong type.
 * @throws {RangeError} A threshold outside [0, 1], a negative maxDetections.
 */
export function validateDetectOptions(o: unknown, name = 'options'): asserts o is DetectOptions {
  assertObject(name, o);
  assertKnownKeys(name, o, DETECT_OPTION_KEYS);
  checkDetectValues(o as DetectOptions);
}

/** Checks `Detector.load` options (known keys, value types; device/threads are checked by the session). */
export function validateDetectorOptions(o: unknown): asserts o is DetectorOptions {
  assertObject('options', o);
  assertKnownKeys('options', o, DETECTOR_OPTION_KEYS);
  const d = o as DetectorOptions;
  checkDetectValues(d);
  if (d.maxBatch !== undefined) assertInteger('maxBatch', d.maxBatch, 1);
  if (d.worker !== undefined) assertBoolean('worker', d.worker);
  if (d.warmup !== undefined) assertBoolean('warmup', d.warmup);
  if (d.precision !== undefined) assertOneOf('precision', d.precision, PRECISIONS);
  if (d.providerOptions !== undefined) assertProviderOptions(d.providerOptions);
}

/**
 * Checks the values of the threshold/cap/classes fields that are defined (keys are checked by the callers).
 *
 * @throws {RangeError} A threshold outside [0, 1], a negative maxDetections.
 * @throws {TypeError} A non-number threshold, `classes` not an array.
 */
export function checkDetectValues(o: DetectOptions): void {
  if (o.scoreThreshold !== undefined) assertInRange('scoreThreshold', o.scoreThreshold, 0, 1);
  if (o.iouThreshold !== undefined) assertInRange('iouThreshold', o.iouThreshold, 0, 1);
  if (o.maxDetections !== undefined) assertInteger('maxDetections', o.maxDetections, 0, true);
  if (o.classes !== undefined && !Array.isArray(o.classes))
    throw invalidParameterError('classes', 'Array of labels or class ids', o.classes);
}

/** The load-time defaults of a detector: options given at load, then the model's spec. */
export function detectDefaults(spec: ModelSpec, options: DetectOptions = {}): ResolvedDetectOptions {
  const pp = spec.postprocess;
  return {
    scoreThreshold: options.scoreThreshold ?? pp.scoreThresh,
    iouThreshold: options.iouThreshold ?? pp.nmsThresh,
    maxDetections: options.maxDetections ?? pp.detectionsPerImg,
    classes: options.classes,
  };
}

/** `defaults` overridden by the defined fields of `options` (validated first). */
export function resolveDetectOptions(
  defaults: ResolvedDetectOptions,
  options: DetectOptions = {},
): ResolvedDetectOptions {
  validateDetectOptions(options);
  const out = { ...defaults };
  for (const [k, v] of Object.entries(options)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}

/**
 * The class ids `classes` names (labels or ids of the model), or null for all classes.
 *
 * @throws {TypeError} A label the model does not have, an id out of range.
 */
export function classFilter(
  labels: readonly string[],
  backgroundIndex: number,
  classes: ReadonlyArray<string | number> | undefined,
): Set<number> | null {
  if (classes === undefined) return null;
  assertArray('classes', classes, 0);
  const ids = new Set<number>();
  classes.forEach((c, k) => {
    if (typeof c === 'number') {
      assertInteger(`classes[${k}]`, c, 0);
      if (c >= labels.length) throw invalidParameterError(`classes[${k}]`, `class id < ${labels.length}`, c);
      ids.add(c);
    } else {
      const id = labels.indexOf(c);
      if (id < 0) {
        const known = labels
          .filter((_, i) => i !== backgroundIndex)
          .map((l) => `'${l}'`)
          .join(', ');
        throw invalidParameterError(`classes[${k}]`, `a label of the model (${known})`, c);
      }
      ids.add(id);
    }
  });
  return ids;
}
