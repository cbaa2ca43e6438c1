/**
 * Network input from packed pixels: resize per `PreprocessSpec.resize` and `interpolation`, normalize, lay out as
 * NCHW or NHWC float32, in one pass over the output with per-axis index/weight tables.
 *
 * The resize is bilinear without antialiasing, as the frameworks the models come from do it:
 * - 'bilinear' — half-pixel centres: src = (dst + 0.5)·in/out − 0.5, clamped at 0 (torch
 *   `interpolate(mode='bilinear', align_corners=False)`, TF `resize_bilinear(half_pixel_centers=True)`, OpenCV INTER_LINEAR
 *   when upscaling);
 * - 'bilinear-asymmetric' — TF legacy: src = dst·in/out (`align_corners=False, half_pixel_centers=False`, TF.js
 *   `resizeBilinear(x, size, false, false)`, face-api).
 * Neighbours are floor(src) and floor(src) + 1, clamped to the last pixel, weights src − floor(src).
 */
import {
  assertInRange,
  assertInteger,
  assertKnownKeys,
  assertObject,
  assertOneOf,
  assertPositive,
  invalidParameterError,
  outOfRangeError,
} from '../is.ts';
import { assertRawImage, type RawImage } from './decode.ts';
import { binding, type NativeTaps } from '../binding.ts';

/** How the source image becomes the network input. */
export type ResizeMode =
  /** Stretch to the input size, aspect ratio not kept (torchvision GeneralizedRCNNTransform, pytorch-ssd). */
  | 'stretch'
  /** Pad bottom/right with zeros to a square, then resize (face-api / TF.js). Boxes map back through the pad. */
  | 'pad'
  /** Resize keeping aspect ratio, centre on a `padValue` canvas (YOLO-style letterbox). */
  | 'letterbox';

/**
 * How an image becomes a network input tensor: size, layout, colour order, normalization, resize. The model spec's
 * `InputSpec` (lib/model/spec.ts) extends it with the ONNX input name and the batch mode.
 */
export interface PreprocessSpec {
  /** Network input size in pixels, integers in [1, {@link MAX_INPUT_SIDE}]. */
  height: number;
  width: number;
  layout: 'NCHW' | 'NHWC';
  colorOrder: 'RGB' | 'BGR';
  /** x' = (x − mean[c]) / std[c] on 0..255 pixel values, per channel in `colorOrder`. [0,0,0]/[1,1,1] = raw pixels. */
  mean: [number, number, number];
  /** Finite and > 0. */
  std: [number, number, number];
  resize: ResizeMode;
  /** 'bilinear' (align_corners=false, half-pixel centres, no antialias) or 'bilinear-asymmetric' (TF legacy). */
  interpolation?: 'bilinear' | 'bilinear-asymmetric';
  /** Fill value for pad/letterbox, 0..255. */
  padValue?: number;
}

/** Largest network input side (a 3·8192² float32 input is 805 MB): bounds what a model's metadata can make us allocate. */
export const MAX_INPUT_SIDE = 8192;

const LAYOUTS = ['NCHW', 'NHWC'] as const;
const COLOR_ORDERS = ['RGB', 'BGR'] as const;
const RESIZE_MODES = ['stretch', 'pad', 'letterbox'] as const;
const INTERPOLATIONS = ['bilinear', 'bilinear-asymmetric'] as const;

function assertTriple(name: string, value: unknown, positive: boolean): asserts value is [number, number, number] {
  if (!Array.isArray(value) || value.length !== 3 || value.some((v) => typeof v !== 'number')) {
    throw invalidParameterError(name, 'Array of 3 numbers', value);
  }
  value.forEach((v, c) => {
    if (positive) assertPositive(`${name}[${c}]`, v, true);
    else assertInRange(`${name}[${c}]`, v, -Number.MAX_VALUE, Number.MAX_VALUE);
  });
}

/**
 * The one validator of a {@link PreprocessSpec} (the model spec's `input` uses it too): sizes integers in
 * [1, {@link MAX_INPUT_SIDE}], known layout / colour order / resize / interpolation, mean three finite numbers, std three
 * finite numbers > 0, padValue in [0, 255].
 *
 * @param spec The spec to check.
 * @param prefix Field-name prefix in messages (default 'input', as in a model spec).
 * @throws {TypeError} A field of the wrong type or an unknown name: `Expected one of 'NCHW', 'NHWC' for input.layout but received "CHW"`.
 * @throws {RangeError} A number out of range: `Expected integer in [1, 8192] for input.width but received 0`.
 * @example
 * assertPreprocessSpec({ width: 300, height: 300, layout: 'NCHW', colorOrder: 'RGB', mean: [0, 0, 0], std: [1, 1, 1], resize: 'stretch' });
 */
export function assertPreprocessSpec(spec: unknown, prefix = 'input'): asserts spec is PreprocessSpec {
  assertObject(prefix, spec);
  for (const k of ['height', 'width'] as const) {
    const v = spec[k];
    assertInteger(`${prefix}.${k}`, v, 1);
    if (v > MAX_INPUT_SIDE) throw outOfRangeError(`${prefix}.${k}`, `integer in [1, ${MAX_INPUT_SIDE}]`, v);
  }
  assertOneOf(`${prefix}.layout`, spec.layout, LAYOUTS);
  assertOneOf(`${prefix}.colorOrder`, spec.colorOrder, COLOR_ORDERS);
  assertTriple(`${prefix}.mean`, spec.mean, false);
  assertTriple(`${prefix}.std`, spec.std, true);
  assertOneOf(`${prefix}.resize`, spec.resize, RESIZE_MODES);
  if (spec.interpolation !== undefined) assertOneOf(`${prefix}.interpolation`, spec.interpolation, INTERPOLATIONS);
  if (spec.padValue !== undefined) assertInRange(`${prefix}.padValue`, spec.padValue, 0, 255);
}

/**
 * Where the source image sits in the network input: a network-input pixel coordinate x maps to the source pixel
 * coordinate (x − offsetX)·scaleX (continuous coordinates, 0 = left edge of the first pixel), likewise y.
 */
export interface InputTransform {
  resize: ResizeMode;
  srcWidth: number;
  srcHeight: number;
  inputWidth: number;
  inputHeight: number;
  /** Source pixels per input pixel. */
  scaleX: number;
  scaleY: number;
  /** Input pixels before the image content starts (letterbox borders; 0 for stretch and pad). */
  offsetX: number;
  offsetY: number;
}

export interface PreprocessOptions {
  /** Write into this array (e.g. one slot of a batch tensor) instead of a new one. */
  out?: Float32Array;
  /** Element offset into `out` (default 0). */
  offset?: number;
}

/** The keys of {@link PreprocessOptions}. */
export const PREPROCESS_OPTION_KEYS = ['out', 'offset'] as const satisfies ReadonlyArray<keyof PreprocessOptions>;

/**
 * Geometry of the resize: where an image of `srcWidth × srcHeight` lands in the `spec.width × spec.height` input.
 * - 'stretch': the whole input, aspect ratio not kept (scaleX = W/w, scaleY = H/h);
 * - 'pad': zero-padded at the bottom/right to the input's aspect ratio, then resized: one scale
 *   s = max(W/w, H/h) for both axes, no offset (face-api pads to a square of side max(W, H));
 * - 'letterbox': resized to round(W/s) × round(H/s) and centred (offset floor of half the border, as YOLO's letterbox).
 *
 * @example
 * inputGeometry(1280, 720, { width: 512, height: 512, resize: 'pad' }); // scaleX = scaleY = 2.5, offsets 0
 */
export function inputGeometry(
  srcWidth: number,
  srcHeight: number,
  spec: Pick<PreprocessSpec, 'width' | 'height' | 'resize'>,
): InputTransform {
  const { width: w, height: h, resize } = spec;
  const base = { resize, srcWidth, srcHeight, inputWidth: w, inputHeight: h };
  switch (resize) {
    case 'stretch':
      return { ...base, scaleX: srcWidth / w, scaleY: srcHeight / h, offsetX: 0, offsetY: 0 };
    case 'pad': {
      const s = Math.max(srcWidth / w, srcHeight / h);
      return { ...base, scaleX: s, scaleY: s, offsetX: 0, offsetY: 0 };
    }
    case 'letterbox': {
      const s = Math.max(srcWidth / w, srcHeight / h);
      const nw = Math.min(w, Math.max(1, Math.round(srcWidth / s)));
      const nh = Math.min(h, Math.max(1, Math.round(srcHeight / s)));
      return {
        ...base,
        scaleX: srcWidth / nw,
        scaleY: srcHeight / nh,
        offsetX: Math.floor((w - nw) / 2),
        offsetY: Math.floor((h - nh) / 2),
      };
    }
    default:
      throw invalidParameterError('resize', "one of 'stretch', 'pad', 'letterbox'", resize);
  }
}

/**
 * Per-axis sampling table: output index d reads source indices i0[d], i1[d] with weights w0[d], w1[d]; pad[d] is the
 * weight that falls outside the image (pad/letterbox fill). A tap outside the image has weight 0 and index 0.
 */
interface AxisTable {
  i0: Int32Array;
  i1: Int32Array;
  w0: Float64Array;
  w1: Float64Array;
  pad: Float64Array;
  hasPad: boolean;
}

/**
 * Table for one axis. `n` source pixels; output `size` pixels; the image content spans output [offset, offset + extent)
 * and is sampled with `scale` source pixels per output pixel over a virtual source of `virtual` pixels (≥ n: the
 * pixels in [n, virtual) are padding, as when padding happens before the resize).
 */
function axisTable(
  n: number,
  size: number,
  offset: number,
  extent: number,
  scale: number,
  virtual: number,
  halfPixel: boolean,
): AxisTable {
  const t: AxisTable = {
    i0: new Int32Array(size),
    i1: new Int32Array(size),
    w0: new Float64Array(size),
    w1: new Float64Array(size),
    pad: new Float64Array(size),
    hasPad: false,
  };
  const last = Math.max(Math.ceil(virtual - 1e-9 * virtual) - 1, 0); // (w·(W/w) may exceed W by an ulp)
  for (let d = 0; d < size; d++) {
    const local = d - offset;
    if (local < 0 || local >= extent) {
      t.pad[d] = 1;
      t.hasPad = true;
      continue;
    }
    let src = halfPixel ? (local + 0.5) * scale - 0.5 : local * scale;
    if (src < 0) src = 0;
    let lo = Math.floor(src);
    if (lo > last) lo = last;
    const hi = lo < last ? lo + 1 : lo;
    const lambda = src - lo > 1 ? 1 : src - lo; // (only when src > last: both taps are the last pixel anyway)
    const taps: Array<[number, number]> = [
      [lo, 1 - lambda],
      [hi, lambda],
    ];
    taps.forEach(([i, w], k) => {
      if (i >= n) {
        t.pad[d] += w;
        if (w > 0) t.hasPad = true;
        i = 0;
        w = 0;
      }
      (k === 0 ? t.i0 : t.i1)[d] = i;
      (k === 0 ? t.w0 : t.w1)[d] = w;
    });
  }
  return t;
}

function tablesFor(tr: InputTransform, halfPixel: boolean): { x: AxisTable; y: AxisTable } {
  const { srcWidth: W, srcHeight: H, inputWidth: w, inputHeight: h } = tr;
  if (tr.resize === 'letterbox') {
    const nw = Math.round(W / tr.scaleX);
    const nh = Math.round(H / tr.scaleY);
    return {
      x: axisTable(W, w, tr.offsetX, nw, tr.scaleX, W, halfPixel),
      y: axisTable(H, h, tr.offsetY, nh, tr.scaleY, H, halfPixel),
    };
  }
  // stretch and pad: the content starts at 0 and the whole output samples the source, padded at the end for 'pad'.
  const pad = tr.resize === 'pad';
  return {
    x: axisTable(W, w, 0, w, tr.scaleX, pad ? Math.max(W, w * tr.scaleX) : W, halfPixel),
    y: axisTable(H, h, 0, h, tr.scaleY, pad ? Math.max(H, h * tr.scaleY) : H, halfPixel),
  };
}

/** Tap tables kept, most recently used last: a few geometries (sources of different sizes alternating) stay cached. */
export const TAP_CACHE_SIZE = 4;
const tapsCache = new Map<string, NativeTaps>();
const tapStats = { hits: 0, misses: 0 };

/**
 * Counters of the tap-table cache (hits, misses since load) and its size, for tests and diagnostics.
 *
 * @example tapCacheStats(); // { hits: 41, misses: 2, size: 2 }
 */
export function tapCacheStats(): { hits: number; misses: number; size: number } {
  return { ...tapStats, size: tapsCache.size };
}

/**
 * The tap tables for the addon (float32 weights), cached per geometry (LRU of {@link TAP_CACHE_SIZE}): a stream
 * repeats its geometry, and two streams of different frame sizes alternate without rebuilding them.
 */
function nativeTaps(tr: InputTransform, halfPixel: boolean): NativeTaps {
  const key = `${tr.resize}|${tr.srcWidth}|${tr.srcHeight}|${tr.inputWidth}|${tr.inputHeight}|${tr.scaleX}|${tr.scaleY}|${tr.offsetX}|${tr.offsetY}|${halfPixel}`;
  const hit = tapsCache.get(key);
  if (hit) {
    tapStats.hits++;
    tapsCache.delete(key); // re-insert: most recently used last
    tapsCache.set(key, hit);
    return hit;
  }
  tapStats.misses++;
  const { x, y } = tablesFor(tr, halfPixel);
  const f = Float32Array.from.bind(Float32Array) as (a: ArrayLike<number>) => Float32Array;
  const taps: NativeTaps = {
    xi0: x.i0,
    xi1: x.i1,
    xw0: f(x.w0),
    xw1: f(x.w1),
    xpad: f(x.pad),
    yi0: y.i0,
    yi1: y.i1,
    yw0: f(y.w0),
    yw1: f(y.w1),
    ypad: f(y.pad),
  };
  tapsCache.set(key, taps);
  if (tapsCache.size > TAP_CACHE_SIZE) tapsCache.delete(tapsCache.keys().next().value!);
  return taps;
}

/**
 * Turns an image into the network input tensor data: resize (per `spec.resize` / `spec.interpolation`, default
 * 'bilinear'), channel order (`colorOrder`), normalization x' = (x − mean[c]) / std[c] on 0..255 values, layout
 * NCHW ([3, h, w] planes) or NHWC ([h, w, 3]). Alpha is ignored. One pass over the output; when the image already
 * has the input size the resize is skipped (it is the identity for every mode).
 *
 * @param image Packed RGB or RGBA pixels (e.g. from `decodeImage`).
 * @param spec The model's input spec.
 * @param options `out` + `offset` to write into an existing array (3·w·h elements from `offset`), e.g. a batch tensor.
 * @returns `data` (the Float32Array written: `options.out` or a new one of 3·w·h) and the {@link InputTransform}
 *   that maps input coordinates back to source pixels.
 * @throws {TypeError} Invalid image or spec, `out` too short.
 * @example
 * const { data, transform } = preprocess(await decodeImage('a.jpg'), spec.input);
 * const output = await session.run({ [spec.input.name]: { data, dims: [1, 3, spec.input.height, spec.input.width] } });
 */
export function preprocess(
  image: RawImage,
  spec: PreprocessSpec,
  options: PreprocessOptions = {},
): { data: Float32Array; transform: InputTransform } {
  return run(image, spec, options, binding !== null);
}

/** Pure-TypeScript twin of {@link preprocess} (float64 arithmetic, the reference the native path is tested against). */
export function preprocessTs(
  image: RawImage,
  spec: PreprocessSpec,
  options: PreprocessOptions = {},
): { data: Float32Array; transform: InputTransform } {
  return run(image, spec, options, false);
}

function run(
  image: RawImage,
  spec: PreprocessSpec,
  options: PreprocessOptions,
  native: boolean,
): { data: Float32Array; transform: InputTransform } {
  assertRawImage('image', image);
  assertPreprocessSpec(spec);
  assertObject('options', options as unknown);
  assertKnownKeys('options', options, PREPROCESS_OPTION_KEYS);
  const { width: w, height: h } = spec;
  const plane = w * h;
  const offset = options.offset ?? 0;
  assertInteger('offset', offset, 0);
  const out = options.out ?? new Float32Array(3 * plane);
  if (!(out instanceof Float32Array) || out.length < offset + 3 * plane) {
    throw invalidParameterError('out', `Float32Array of length ≥ ${offset + 3 * plane} (offset + 3·${w}·${h})`, out);
  }
  const transform = inputGeometry(image.width, image.height, spec);
  const { data: src, width: W, height: H, channels: ch } = image;
  const bgr = spec.colorOrder === 'BGR';
  const [m0, m1, m2] = bgr ? [spec.mean[2], spec.mean[1], spec.mean[0]] : spec.mean; // per source channel R, G, B
  const [s0, s1, s2] = bgr ? [spec.std[2], spec.std[1], spec.std[0]] : spec.std;
  // Output element of source channel c at pixel p: NCHW → base + c'·plane + p; NHWC → base + 3p + c'.
  const nchw = spec.layout === 'NCHW';
  const cStride = nchw ? plane : 1;
  const pStride = nchw ? 1 : 3;
  const oR = offset + (bgr ? 2 : 0) * cStride;
  const oG = offset + cStride;
  const oB = offset + (bgr ? 0 : 2) * cStride;

  if (native && binding) {
    // Native path (float32 arithmetic, x·(1/std) − mean/std; within 1e-4 relative of the float64 TS path below).
    const scale = Float32Array.from([1 / s0, 1 / s1, 1 / s2]);
    const bias = Float32Array.from([-m0 / s0, -m1 / s1, -m2 / s2]);
    const layout = { width: w, height: h, offset, nchw, bgr, scale, bias };
    const same = W === w && H === h;
    binding.preprocessPixels(
      src,
      W,
      H,
      ch,
      out,
      layout,
      same ? null : nativeTaps(transform, (spec.interpolation ?? 'bilinear') === 'bilinear'),
      spec.padValue ?? 0,
    );
    return { data: out, transform };
  }

  if (W === w && H === h) {
    for (let p = 0, s = 0, o = 0; p < plane; p++, s += ch, o += pStride) {
      out[oR + o] = (src[s] - m0) / s0;
      out[oG + o] = (src[s + 1] - m1) / s1;
      out[oB + o] = (src[s + 2] - m2) / s2;
    }
    return { data: out, transform };
  }

  const halfPixel = (spec.interpolation ?? 'bilinear') === 'bilinear';
  const { x: tx, y: ty } = tablesFor(transform, halfPixel);
  const padValue = spec.padValue ?? 0;
  const rowStride = W * ch;
  // Source byte offsets of the x taps (× channels once, not per pixel).
  const x0 = tx.i0.map((i) => i * ch);
  const x1 = tx.i1.map((i) => i * ch);
  const { w0: wx0, w1: wx1, pad: px } = tx;
  const anyPad = padValue !== 0 && (tx.hasPad || ty.hasPad);
  for (let y = 0, o = 0; y < h; y++) {
    const r0 = ty.i0[y] * rowStride;
    const r1 = ty.i1[y] * rowStride;
    const wy0 = ty.w0[y];
    const wy1 = ty.w1[y];
    const py = ty.pad[y];
    for (let x = 0; x < w; x++, o += pStride) {
      const a = r0 + x0[x],
        b = r0 + x1[x],
        c = r1 + x0[x],
        d = r1 + x1[x];
      const u0 = wx0[x],
        u1 = wx1[x];
      let vR = wy0 * (u0 * src[a] + u1 * src[b]) + wy1 * (u0 * src[c] + u1 * src[d]);
      let vG = wy0 * (u0 * src[a + 1] + u1 * src[b + 1]) + wy1 * (u0 * src[c + 1] + u1 * src[d + 1]);
      let vB = wy0 * (u0 * src[a + 2] + u1 * src[b + 2]) + wy1 * (u0 * src[c + 2] + u1 * src[d + 2]);
      if (anyPad) {
        const fill = padValue * (1 - (1 - py) * (1 - px[x]));
        vR += fill;
        vG += fill;
        vB += fill;
      }
      out[oR + o] = (vR - m0) / s0;
      out[oG + o] = (vG - m1) / s1;
      out[oB + o] = (vB - m2) / s2;
    }
  }
  return { data: out, transform };
}

/**
 * Maps a box from normalized network-input coordinates (0..1 of the input width/height, xyxy) to source pixels
 * through the resize (see {@link InputTransform}) and clips it to the image [0, W] × [0, H].
 *
 * @returns [x1, y1, x2, y2] in source pixels, x1 ≤ x2 and y1 ≤ y2 when the input box was ordered.
 * @example
 * boxToSource([0.1, 0.2, 0.5, 0.6], transform); // e.g. [51.2, 102.4, 256, 307.2] for a 512×512 stretch
 */
export function boxToSource(box: ArrayLike<number>, t: InputTransform): [number, number, number, number] {
  const fx = (v: number) => clamp((v * t.inputWidth - t.offsetX) * t.scaleX, t.srcWidth);
  const fy = (v: number) => clamp((v * t.inputHeight - t.offsetY) * t.scaleY, t.srcHeight);
  return [fx(box[0]), fy(box[1]), fx(box[2]), fy(box[3])];
}

function clamp(v: number, max: number): number {
  return v < 0 ? 0 : v > max ? max : v;
}
