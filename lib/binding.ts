/**
 * The only file that loads the native addon. Everything else imports `binding` (possibly null) and
 * `backend` from here. When no binary loads, `bindingError` holds one error that lists what was tried,
 * and every op falls back to its pure-TypeScript twin.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

export type SimdLevel = 'scalar' | 'avx2' | 'neon';

export interface Capabilities {
  /** Variants compiled into this binary (scalar is always there). */
  compiled: SimdLevel[];
  /** Variants this CPU can run. */
  supported: SimdLevel[];
  /** Variant in use now. */
  active: SimdLevel;
  /** CPU features for 8-bit integer kernels (absent in binaries built before they were reported). */
  cpu?: CpuFeatures;
}

/** What the CPU offers 8-bit integer inference (read by the addon from cpuid / getauxval). */
export interface CpuFeatures {
  avx2: boolean;
  /** AVX-512 F + BW. */
  avx512: boolean;
  avx512Vnni: boolean;
  avxVnni: boolean;
  /** avx512Vnni or avxVnni: u8·s8 dot products into int32 (no int16 saturation). */
  vnni: boolean;
  neon: boolean;
  /** arm64 SDOT/UDOT. */
  dotProduct: boolean;
  /** arm64 int8 matrix multiply. */
  i8mm: boolean;
}

export interface NativeDetections {
  boxes: Float32Array;
  scores: Float32Array;
  labels: Int32Array;
}

/** Options as the addon reads them (all present, already validated in TS). */
export interface NativePostprocessOptions {
  scoring: 'softmax' | 'sigmoid' | 'none';
  /** boxRegression already holds normalized xyxy boxes (no decoding). */
  boxesDecoded: boolean;
  backgroundIndex: number;
  scoreThresh: number;
  nmsThresh: number;
  topkCandidates: number;
  detectionsPerImg: number;
  weights: Float32Array; // [wx, wy, ww, wh]
  orderYx: boolean;
  bboxClip: number;
  clipBoxes: boolean;
}

/** One image's SSD loss parts as the addon returns them (see `SsdLossParts` in ops/loss.ts). */
export interface NativeSsdLossParts {
  matchedIdxs: Int32Array;
  foregroundIdxs: Int32Array;
  encodedTargets: Float32Array;
  clsLossPerAnchor: Float32Array;
  smoothL1Sum: number;
  positiveClsSum: number;
  hardNegativeIdxs: Int32Array;
  hardNegativeClsSum: number;
  numPositive: number;
}

/** Output placement for `preprocessPixels`. */
export interface NativePixelLayout {
  width: number;
  height: number;
  offset: number;
  nchw: boolean;
  bgr: boolean;
  /** Per source channel R, G, B: x' = x·scale + bias. */
  scale: Float32Array;
  bias: Float32Array;
}

/** Bilinear tap tables per axis (x: output width entries, y: output height entries). */
export interface NativeTaps {
  xi0: Int32Array;
  xi1: Int32Array;
  xw0: Float32Array;
  xw1: Float32Array;
  xpad: Float32Array;
  yi0: Int32Array;
  yi1: Int32Array;
  yw0: Float32Array;
  yw1: Float32Array;
  ypad: Float32Array;
}

export interface Binding {
  /** Packed 8-bit RGB(A) pixels → normalized float tensor data (resized through `taps` when given). */
  preprocessPixels(
    src: Uint8Array | Uint8ClampedArray,
    width: number,
    height: number,
    channels: number,
    out: Float32Array,
    layout: NativePixelLayout,
    taps: NativeTaps | null,
    padValue: number,
  ): void;
  /** The augmentation's pixel work (lib/train/augment.ts): `plan` Float64Array(18), output RGB outWidth × outHeight. */
  augmentPixels(
    src: Uint8Array,
    width: number,
    height: number,
    plan: Float64Array,
    out: Uint8Array,
    outWidth: number,
    outHeight: number,
  ): void;
  capabilities(): Capabilities;
  setSimd(level: 'auto' | SimdLevel): SimdLevel;
  /** levels: [L·6] (rows, cols, stepY, stepX, offset, numShapes) in input pixels; shapes: [S·2] (w, h) normalized, float64. */
  defaultBoxes(
    inputH: number,
    inputW: number,
    clipMode: number,
    levels: Float64Array,
    shapes: Float64Array,
  ): Float32Array;
  encodeBoxes(
    boxes: Float32Array,
    anchors: Float32Array,
    anchorCxcywh: boolean,
    weights: Float32Array,
    orderYx: boolean,
  ): Float32Array;
  decodeBoxes(
    deltas: Float32Array,
    anchors: Float32Array,
    anchorCxcywh: boolean,
    weights: Float32Array,
    orderYx: boolean,
    bboxClip: number,
  ): Float32Array;
  boxIou(a: Float32Array, b: Float32Array): Float32Array;
  nms(
    boxes: Float32Array,
    scores: Float32Array,
    iouThreshold: number,
    scoreThreshold: number,
    topK: number,
    maxOutput: number,
  ): Int32Array;
  batchedNms(
    boxes: Float32Array,
    scores: Float32Array,
    classIds: Int32Array,
    iouThreshold: number,
    scoreThreshold: number,
    maxOutput: number,
  ): Int32Array;
  softNms(
    boxes: Float32Array,
    scores: Float32Array,
    sigma: number,
    iouThreshold: number,
    scoreThreshold: number,
    maxOutput: number,
  ): { indices: Int32Array; scores: Float32Array };
  matchAnchors(
    gtBoxes: Float32Array,
    anchors: Float32Array,
    anchorCxcywh: boolean,
    iouThreshold: number,
    allowLowQuality: boolean,
  ): Int32Array;
  /** positives: Uint8Array mask (≠ 0 = positive) or Int32Array matched indices (≥ 0 = positive). */
  hardNegativeMining(clsLoss: Float32Array, positives: Uint8Array | Int32Array, negPosRatio: number): Int32Array;
  ssdLossParts(
    classLogits: Float32Array,
    boxRegression: Float32Array,
    anchors: Float32Array,
    anchorCxcywh: boolean,
    gtBoxes: Float32Array,
    gtLabels: Int32Array,
    numClasses: number,
    iouThreshold: number,
    negPosRatio: number,
    weights: Float32Array,
    orderYx: boolean,
  ): NativeSsdLossParts;
  postprocess(
    boxRegression: Float32Array,
    classLogits: Float32Array,
    anchors: Float32Array,
    batchSize: number,
    numClasses: number,
    imageSizes: Float32Array,
    options: NativePostprocessOptions,
  ): NativeDetections[];
  postprocessAsync(
    boxRegression: Float32Array,
    classLogits: Float32Array,
    anchors: Float32Array,
    batchSize: number,
    numClasses: number,
    imageSizes: Float32Array,
    options: NativePostprocessOptions,
    callback: (err: Error | null, result?: NativeDetections[]) => void,
  ): void;
}

const require = createRequire(import.meta.url);
/** Package root: lib/ (tsx) and dist/ (compiled) both sit one level below it. */
export const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function load(): { binding: Binding | null; error: Error | null } {
  if (process.env.SSD_EDGE_FORCE_TS === '1') {
    return { binding: null, error: new Error('ssd-edge: native addon disabled by SSD_EDGE_FORCE_TS=1') };
  }
  const causes: string[] = [];
  try {
    const nodeGypBuild = require('node-gyp-build') as (dir: string) => Binding;
    return { binding: nodeGypBuild(packageRoot), error: null };
  } catch (err) {
    causes.push(
      `node-gyp-build (prebuilds/${process.platform}-${process.arch}, build/Release): ${(err as Error).message.split('\n')[0]}`,
    );
  }
  const message = [
    `ssd-edge: could not load the native addon for ${process.platform}-${process.arch} (Node ${process.version}, N-API ${process.versions.napi}).`,
    ...causes.map((c) => `  - ${c}`),
    'Fixes: run `npm rebuild ssd-edge` (builds from source with node-gyp; needs python3, make, g++),',
    '  or `npx cmake-js compile` in the package folder; SSD_EDGE_FORCE_TS=1 silences this and uses the TypeScript ops.',
    'Until then every op runs in pure TypeScript (same results, slower).',
  ].join('\n');
  return { binding: null, error: new Error(message) };
}

const loaded = load();

/** The native addon, or null when it could not be loaded (see `bindingError`). */
export const binding: Binding | null = loaded.binding;
/** Why the addon did not load (null when it did). */
export const bindingError: Error | null = loaded.error;
/** Which implementation the ops use. */
export const backend: 'native' | 'typescript' = binding ? 'native' : 'typescript';

/** Returns the addon or throws the single load error (for callers that need native, e.g. benchmarks). */
export function requireBinding(): Binding {
  if (!binding) throw bindingError!;
  return binding;
}
