/**
 * The paper's data augmentation (SSD §2.2 "Data augmentation"; the chain of ssd.pytorch's `SSDAugmentation`), seeded:
 * photometric distortion → zoom out ("expand") → random crop → horizontal flip → bilinear resize to the model input.
 *
 * Every random decision is drawn in TypeScript from an {@link Rng} ({@link planAugment}); the pixel work applies the
 * decided {@link AugmentPlan} in one pass in the addon (native/core/augment.cc), or in the pure-TypeScript twin
 * {@link applyAugmentPlanTs} when no addon loads. Both compute in float32 with the same operations in the same order,
 * so they agree bit for bit (the tests check it); the same Rng state therefore gives identical samples either way.
 *
 * Parameters (what ssd.pytorch draws, with its probabilities; each step happens with p = 0.5 unless said otherwise):
 * - brightness: every channel + δ, δ ~ U(−32, 32), then clamped to [0, 255];
 * - contrast: every channel × α, α ~ U(0.5, 1.5), clamped to [0, 255]; before or after the HSV part (p = 0.5 each);
 * - HSV part (RGB → HSV, float): saturation S × U(0.5, 1.5) (clamped to ≤ 1), hue H + U(−18°, 18°) (wrapped to
 *   [0°, 360°)), back to RGB; the conversion runs only when the saturation or the hue step was drawn;
 * - channel swap: one of the 6 channel orders (identity included), uniform;
 * - expand: the image placed at a random integer position on a ⌊W·r⌋ × ⌊H·r⌋ canvas filled with `fill`, r ~ U(1, maxExpand);
 * - crop (always tried): a mode drawn uniformly from {whole image, min IoU 0.1, 0.3, 0.5, 0.7, 0.9, no IoU
 *   constraint}; up to 50 tries of a patch of width U(0.3, 1)·W and height U(0.3, 1)·H with aspect h/w in [0.5, 2]
 *   at a random integer position; accepted when some object has IoU ≥ min IoU with it and at least one object's
 *   centre lies strictly inside. Objects whose centre is outside are dropped (with their labels), the others clipped.
 *   No accepted patch in 50 tries keeps the whole image (Caffe SSD's behaviour; ssd.pytorch draws a new mode instead).
 *   An image without objects accepts the first patch of valid aspect (nothing to satisfy);
 * - flip: horizontal mirror;
 * - resize: bilinear, half-pixel centres, no antialiasing (torch `interpolate(align_corners=False)`, OpenCV
 *   INTER_LINEAR when upscaling), to the model input size; the output is rounded to 8 bits (⌊v + 0.5⌋).
 * Differences from ssd.pytorch, on purpose: values are clamped after brightness and contrast and S ≤ 1 (ssd.pytorch
 * lets float pixels run outside [0, 255] and through the HSV conversion); min IoU 0.5 is among the modes (the
 * paper's list); "some object reaches min IoU" (Caffe SSD's SatisfySampleConstraint) instead of ssd.pytorch's test.
 */
import { binding, type Binding } from '../binding.ts';
import { f32 as f } from '../ops/float32.ts';
import {
  assertBoolean,
  assertInRange,
  assertInteger,
  assertKnownKeys,
  assertObject,
  invalidParameterError,
  outOfRangeError,
  typedArrayOf,
} from '../is.ts';
import { assertRawImage, type RawImage } from '../image/decode.ts';
import {
  assertPreprocessSpec,
  inputGeometry,
  MAX_INPUT_SIDE,
  preprocess,
  type PreprocessSpec,
} from '../image/preprocess.ts';
import { Rng } from './rng.ts';

/** One training sample before augmentation. */
export interface AugmentInput {
  /** RGB, HWC, `width·height·3` bytes. */
  pixels: Uint8Array;
  width: number;
  height: number;
  /** Float32Array [N·4] xyxy in pixels (N may be 0). Boxes are clipped to the image; empty ones are dropped. */
  boxes: Float32Array;
  /** Int32Array [N] one label per box. */
  labels: Int32Array;
}

/** Which steps of the chain run (all by default), the largest zoom-out and the canvas fill. */
export interface AugmentOptions {
  /** Brightness, contrast, saturation, hue, channel swap (default true). */
  photometric?: boolean;
  /** Zoom out onto a larger canvas (default true). */
  expand?: boolean;
  /** Largest canvas side ratio of the zoom out, in [1, 16] (default 4). */
  maxExpand?: number;
  /** Random crop with the min-IoU modes (default true). */
  crop?: boolean;
  /** Horizontal flip with p = 0.5 (default true). */
  flip?: boolean;
  /** Canvas fill of the zoom out, RGB 0..255 (default [123, 117, 104], the ImageNet mean; pass the model's mean). */
  fill?: [number, number, number];
}

/** An augmented sample: `width × height` RGB pixels and the objects that survived, in output pixels. */
export interface AugmentOutput {
  pixels: Uint8Array;
  width: number;
  height: number;
  /** Float32Array [K·4] xyxy output pixels, x1 < x2, y1 < y2, inside the image. */
  boxes: Float32Array;
  /** Int32Array [K]. */
  labels: Int32Array;
}

/** The paper's chain: every step on, zoom out up to 4×, fill = the ImageNet mean in RGB. */
export const DEFAULT_AUGMENT: Readonly<Required<AugmentOptions>> = Object.freeze({
  photometric: true,
  expand: true,
  maxExpand: 4,
  crop: true,
  flip: true,
  fill: Object.freeze([123, 117, 104]) as [number, number, number],
});

const OPTION_KEYS = ['photometric', 'expand', 'maxExpand', 'crop', 'flip', 'fill'] as const;

/** Photometric parameters (float32 values); the neutral values skip a step. */
export interface PhotometricParams {
  /** Added to every channel; 0 = off. In [−255, 255]. */
  brightness: number;
  /** Multiplies every channel; 1 = off. In [0, 255]. */
  contrast: number;
  /** Contrast before the HSV part (else after). */
  contrastFirst: boolean;
  /** Multiplies S; 1 = off. In [0, 255]. */
  saturation: number;
  /** Degrees added to H; 0 = off. In [−360, 360]. */
  hue: number;
  /** Output channel k takes channel swap[k]: a permutation of 0, 1, 2. */
  swap: [number, number, number];
}

/** Every decision of one augmentation: what {@link planAugment} drew, applied by {@link applyAugmentPlan}. */
export interface AugmentPlan {
  photometric: PhotometricParams;
  /** Canvas size after the zoom out (= the image size without it). */
  canvasWidth: number;
  canvasHeight: number;
  /** Where the image's top-left pixel sits on the canvas (integers ≥ 0). */
  left: number;
  top: number;
  /** The crop on the canvas (integers; the whole canvas without a crop). */
  crop: { x: number; y: number; width: number; height: number };
  flip: boolean;
  /** Canvas fill, RGB 0..255. */
  fill: [number, number, number];
}

const NEUTRAL: PhotometricParams = Object.freeze({
  brightness: 0,
  contrast: 1,
  contrastFirst: true,
  saturation: 1,
  hue: 0,
  swap: Object.freeze([0, 1, 2]) as [number, number, number],
});

/** The 6 channel orders, in ssd.pytorch's `RandomLightingNoise.perms` order. */
const PERMUTATIONS: ReadonlyArray<[number, number, number]> = [
  [0, 1, 2],
  [0, 2, 1],
  [1, 0, 2],
  [1, 2, 0],
  [2, 0, 1],
  [2, 1, 0],
];

/** Crop modes: null = keep the whole image; a number = min IoU; −Infinity = no IoU constraint. */
const CROP_MODES: ReadonlyArray<number | null> = [null, 0.1, 0.3, 0.5, 0.7, 0.9, -Infinity];
const CROP_TRIES = 50;

function resolveOptions(options: AugmentOptions | 'none' | undefined): Required<AugmentOptions> | 'none' {
  if (options === 'none') return options;
  if (options === undefined) return DEFAULT_AUGMENT;
  if (typeof options === 'string') throw invalidParameterError('options', "an options object or 'none'", options);
  assertObject('options', options as unknown);
  assertKnownKeys('options', options, OPTION_KEYS);
  const o: Required<AugmentOptions> = { ...DEFAULT_AUGMENT };
  for (const k of ['photometric', 'expand', 'crop', 'flip'] as const) {
    if (options[k] !== undefined) {
      assertBoolean(`options.${k}`, options[k]);
      o[k] = options[k];
    }
  }
  if (options.maxExpand !== undefined) {
    assertInRange('options.maxExpand', options.maxExpand, 1, 16);
    o.maxExpand = options.maxExpand;
  }
  if (options.fill !== undefined) {
    assertFill('options.fill', options.fill);
    o.fill = options.fill;
  }
  return o;
}

function assertFill(name: string, fill: unknown): asserts fill is [number, number, number] {
  if (!Array.isArray(fill) || fill.length !== 3)
    throw invalidParameterError(name, 'Array of 3 numbers in [0, 255]', fill);
  fill.forEach((v, c) => assertInRange(`${name}[${c}]`, v, 0, 255));
}

function assertInput(input: unknown): asserts input is AugmentInput {
  assertObject('input', input);
  assertKnownKeys('input', input, ['pixels', 'width', 'height', 'boxes', 'labels']);
  const { pixels, width, height, boxes, labels } = input as Partial<AugmentInput>;
  assertInteger('input.width', width, 1);
  assertInteger('input.height', height, 1);
  if (!typedArrayOf(pixels, Uint8Array) || pixels.length !== width * height * 3) {
    throw invalidParameterError(
      'input.pixels',
      `Uint8Array of length ${width * height * 3} (width·height·3, RGB)`,
      pixels,
    );
  }
  if (!typedArrayOf(boxes, Float32Array) || boxes.length % 4 !== 0) {
    throw invalidParameterError('input.boxes', 'Float32Array of length 4·N (xyxy pixels)', boxes);
  }
  const n = boxes.length / 4;
  if (!typedArrayOf(labels, Int32Array) || labels.length !== n) {
    throw invalidParameterError('input.labels', `Int32Array of length ${n} (one per box)`, labels);
  }
  for (let i = 0; i < boxes.length; i++) {
    if (!Number.isFinite(boxes[i])) {
      throw outOfRangeError(`input.boxes[${i}]`, 'finite coordinate (box ' + (i >> 2) + ')', boxes[i]);
    }
  }
}

function assertSize(size: unknown): asserts size is { width: number; height: number } {
  assertObject('size', size);
  assertKnownKeys('size', size, ['width', 'height']);
  for (const k of ['width', 'height'] as const) {
    assertInteger(`size.${k}`, size[k], 1);
    if ((size[k] as number) > MAX_INPUT_SIDE) {
      throw outOfRangeError(`size.${k}`, `integer in [1, ${MAX_INPUT_SIDE}]`, size[k]);
    }
  }
}

/** Boxes clipped to the image (float64), degenerate ones dropped with their labels. */
function clipInputBoxes(input: AugmentInput): { boxes: number[]; labels: number[] } {
  const boxes: number[] = [];
  const labels: number[] = [];
  const { width: W, height: H } = input;
  for (let i = 0; i < input.labels.length; i++) {
    const x1 = Math.min(Math.max(input.boxes[4 * i], 0), W);
    const y1 = Math.min(Math.max(input.boxes[4 * i + 1], 0), H);
    const x2 = Math.min(Math.max(input.boxes[4 * i + 2], 0), W);
    const y2 = Math.min(Math.max(input.boxes[4 * i + 3], 0), H);
    if (x2 > x1 && y2 > y1) {
      boxes.push(x1, y1, x2, y2);
      labels.push(input.labels[i]);
    }
  }
  return { boxes, labels };
}

function drawPhotometric(rng: Rng): PhotometricParams {
  // ssd.pytorch PhotometricDistort: brightness, then (contrast, HSV) or (HSV, contrast), then the channel swap.
  const brightness = rng.below(2) ? f(rng.range(-32, 32)) : 0;
  const contrastFirst = rng.below(2) === 1;
  const contrast = rng.below(2) ? f(rng.range(0.5, 1.5)) : 1;
  const saturation = rng.below(2) ? f(rng.range(0.5, 1.5)) : 1;
  const hue = rng.below(2) ? f(rng.range(-18, 18)) : 0;
  const swap = rng.below(2) ? PERMUTATIONS[rng.below(6)] : PERMUTATIONS[0];
  return { brightness, contrast, contrastFirst, saturation, hue, swap: [...swap] as [number, number, number] };
}

function iouWithRect(b: number[], i: number, r: [number, number, number, number]): number {
  const iw = Math.min(b[i + 2], r[2]) - Math.max(b[i], r[0]);
  const ih = Math.min(b[i + 3], r[3]) - Math.max(b[i + 1], r[1]);
  if (iw <= 0 || ih <= 0) return 0;
  const inter = iw * ih;
  return inter / ((b[i + 2] - b[i]) * (b[i + 3] - b[i + 1]) + (r[2] - r[0]) * (r[3] - r[1]) - inter);
}

function centreInside(b: number[], i: number, r: [number, number, number, number]): boolean {
  const cx = (b[i] + b[i + 2]) / 2;
  const cy = (b[i + 1] + b[i + 3]) / 2;
  return r[0] < cx && r[1] < cy && r[2] > cx && r[3] > cy;
}

/**
 * Draws every random decision of one augmentation from `rng` (in this order: photometric, expand, crop, flip; a step
 * that is off draws nothing). `boxes` are the image's objects (xyxy pixels, already clipped) — the crop's IoU test
 * needs them. With `'none'` nothing is drawn and the plan is the identity (then only the resize happens).
 *
 * @example
 * const plan = planAugment(640, 480, boxes, new Rng(1), DEFAULT_AUGMENT);
 */
export function planAugment(
  width: number,
  height: number,
  boxes: ArrayLike<number>,
  rng: Rng,
  options: AugmentOptions | 'none' = DEFAULT_AUGMENT,
): AugmentPlan {
  assertInteger('width', width, 1);
  assertInteger('height', height, 1);
  if (!(rng instanceof Rng)) throw invalidParameterError('rng', 'Rng', rng);
  const o = resolveOptions(options);
  const identity: AugmentPlan = {
    photometric: { ...NEUTRAL, swap: [0, 1, 2] },
    canvasWidth: width,
    canvasHeight: height,
    left: 0,
    top: 0,
    crop: { x: 0, y: 0, width, height },
    flip: false,
    fill: [...DEFAULT_AUGMENT.fill],
  };
  if (o === 'none') return identity;
  const plan = identity;
  plan.fill = [...o.fill];
  if (o.photometric) plan.photometric = drawPhotometric(rng);
  if (o.expand && rng.below(2)) {
    const ratio = rng.range(1, o.maxExpand);
    plan.canvasWidth = Math.floor(width * ratio);
    plan.canvasHeight = Math.floor(height * ratio);
    plan.left = Math.floor(rng.range(0, width * ratio - width));
    plan.top = Math.floor(rng.range(0, height * ratio - height));
  }
  const W = plan.canvasWidth;
  const H = plan.canvasHeight;
  plan.crop = { x: 0, y: 0, width: W, height: H };
  if (o.crop) {
    const b = Array.from(boxes, (v, i) => v + (i % 2 === 0 ? plan.left : plan.top));
    const minIou = CROP_MODES[rng.below(CROP_MODES.length)];
    for (let t = 0; minIou !== null && t < CROP_TRIES; t++) {
      const w = rng.range(0.3 * W, W);
      const h = rng.range(0.3 * H, H);
      if (h / w < 0.5 || h / w > 2) continue;
      const left = rng.range(0, W - w);
      const top = rng.range(0, H - h);
      const r: [number, number, number, number] = [
        Math.floor(left),
        Math.floor(top),
        Math.floor(left + w),
        Math.floor(top + h),
      ];
      if (r[2] - r[0] < 1 || r[3] - r[1] < 1) continue;
      if (b.length > 0) {
        let best = 0;
        let anyCentre = false;
        for (let i = 0; i < b.length; i += 4) {
          best = Math.max(best, iouWithRect(b, i, r));
          anyCentre ||= centreInside(b, i, r);
        }
        if (best < minIou || !anyCentre) continue;
      }
      plan.crop = { x: r[0], y: r[1], width: r[2] - r[0], height: r[3] - r[1] };
      break;
    }
  }
  if (o.flip) plan.flip = rng.below(2) === 1;
  return plan;
}

function assertPlan(plan: unknown): asserts plan is AugmentPlan {
  assertObject('plan', plan);
  const p = plan as Partial<AugmentPlan>;
  assertObject('plan.photometric', p.photometric);
  const ph = p.photometric as Partial<PhotometricParams>;
  assertInRange('plan.photometric.brightness', ph.brightness, -255, 255);
  assertInRange('plan.photometric.contrast', ph.contrast, 0, 255);
  assertBoolean('plan.photometric.contrastFirst', ph.contrastFirst);
  assertInRange('plan.photometric.saturation', ph.saturation, 0, 255);
  assertInRange('plan.photometric.hue', ph.hue, -360, 360);
  const s = ph.swap;
  if (!Array.isArray(s) || s.length !== 3 || [...s].sort().join() !== '0,1,2') {
    throw invalidParameterError('plan.photometric.swap', 'a permutation of [0, 1, 2]', s);
  }
  const LIM = 2 ** 30;
  for (const k of ['left', 'top'] as const) {
    if (!Number.isInteger(p[k]) || Math.abs(p[k] as number) > LIM) {
      throw outOfRangeError(`plan.${k}`, `integer in [−2^30, 2^30]`, p[k]);
    }
  }
  assertObject('plan.crop', p.crop);
  const c = p.crop as AugmentPlan['crop'];
  for (const k of ['x', 'y'] as const) {
    if (!Number.isInteger(c[k]) || Math.abs(c[k]) > LIM)
      throw outOfRangeError(`plan.crop.${k}`, 'integer in [−2^30, 2^30]', c[k]);
  }
  for (const k of ['width', 'height'] as const) {
    if (!Number.isInteger(c[k]) || c[k] < 1 || c[k] > LIM)
      throw outOfRangeError(`plan.crop.${k}`, 'integer in [1, 2^30]', c[k]);
  }
  assertBoolean('plan.flip', p.flip);
  assertFill('plan.fill', p.fill);
}

/** The plan as the addon reads it: 18 numbers (see native/core/augment.h, AugmentParams). */
function planVector(p: AugmentPlan): Float64Array {
  const ph = p.photometric;
  return Float64Array.from([
    ph.brightness,
    ph.contrast,
    ph.contrastFirst ? 1 : 0,
    ph.saturation,
    ph.hue,
    ...ph.swap,
    p.left,
    p.top,
    p.crop.x,
    p.crop.y,
    p.crop.width,
    p.crop.height,
    p.flip ? 1 : 0,
    ...p.fill,
  ]);
}

// ---------------------------------------------------------------------------------------------------------------
// Pixels: the pure-TypeScript twin of native/core/augment.cc (float32 arithmetic through Math.fround, same order).

/** One axis of output → source taps. `idx` are compact grid indices (the fill is the last one). */
interface AxisMap {
  i0: Int32Array;
  i1: Int32Array;
  w0: Float32Array;
  w1: Float32Array;
  /** Source index of each compact grid index (the fill index has none). */
  src: number[];
}

/**
 * Output index d → two taps on the flipped crop (bilinear, half-pixel centres), → canvas → source index, or the fill.
 * Compact indices are numbered in order of first use; the fill gets index src.length (after all sources).
 */
function axisMap(outN: number, cropN: number, cropStart: number, flip: boolean, left: number, srcN: number): AxisMap {
  const scale = cropN / outN;
  const last = cropN - 1;
  const m: AxisMap = {
    i0: new Int32Array(outN),
    i1: new Int32Array(outN),
    w0: new Float32Array(outN),
    w1: new Float32Array(outN),
    src: [],
  };
  const pos = new Map<number, number>();
  const raw0 = new Int32Array(outN);
  const raw1 = new Int32Array(outN);
  const toSource = (c: number): number => {
    const s = cropStart + (flip ? last - c : c) - left;
    return s >= 0 && s < srcN ? s : -1;
  };
  for (let d = 0; d < outN; d++) {
    let x = (d + 0.5) * scale - 0.5;
    if (x < 0) x = 0;
    let lo = Math.floor(x);
    if (lo > last) lo = last;
    const hi = lo < last ? lo + 1 : lo;
    let lambda = x - lo;
    if (lambda > 1) lambda = 1;
    m.w0[d] = 1 - lambda;
    m.w1[d] = lambda;
    raw0[d] = toSource(lo);
    raw1[d] = toSource(hi);
    for (const s of [raw0[d], raw1[d]]) {
      if (s >= 0 && !pos.has(s)) {
        pos.set(s, m.src.length);
        m.src.push(s);
      }
    }
  }
  const fillIdx = m.src.length;
  for (let d = 0; d < outN; d++) {
    m.i0[d] = raw0[d] >= 0 ? pos.get(raw0[d])! : fillIdx;
    m.i1[d] = raw1[d] >= 0 ? pos.get(raw1[d])! : fillIdx;
  }
  return m;
}

const clamp255 = (x: number) => (x < 0 ? 0 : x > 255 ? 255 : x);
const scratch = new Float32Array(3);

/** The photometric chain on one pixel (float32), writing RGB into out[o..o+2]. */
function photometricTs(r: number, g: number, b: number, p: PhotometricParams, out: Float32Array, o: number): void {
  let R = r;
  let G = g;
  let B = b;
  if (p.brightness !== 0) {
    R = clamp255(f(R + p.brightness));
    G = clamp255(f(G + p.brightness));
    B = clamp255(f(B + p.brightness));
  }
  if (p.contrastFirst && p.contrast !== 1) {
    R = clamp255(f(R * p.contrast));
    G = clamp255(f(G * p.contrast));
    B = clamp255(f(B * p.contrast));
  }
  if (p.saturation !== 1 || p.hue !== 0) {
    const mx = Math.max(R, G, B);
    const mn = Math.min(R, G, B);
    const d = f(mx - mn);
    let h = 0;
    if (d > 0) {
      // (x − y) / d is in [−1, 1]: finite even when d is subnormal (60 / d would overflow)
      if (mx === R) h = f(f(f(G - B) / d) * 60);
      else if (mx === G) h = f(f(f(f(B - R) / d) * 60) + 120);
      else h = f(f(f(f(R - G) / d) * 60) + 240);
      if (h < 0) h = f(h + 360);
    }
    let s = mx > 0 ? f(d / mx) : 0;
    s = f(s * p.saturation);
    if (s > 1) s = 1;
    h = f(h + p.hue);
    if (h < 0) h = f(h + 360);
    if (h >= 360) h = f(h - 360);
    const hh = f(h / 60);
    let sector = Math.floor(hh);
    if (sector > 5) sector = 5;
    const fr = f(hh - sector);
    const P = f(mx * f(1 - s));
    const Q = f(mx * f(1 - f(s * fr)));
    const T = f(mx * f(1 - f(s * f(1 - fr))));
    switch (sector) {
      case 0:
        [R, G, B] = [mx, T, P];
        break;
      case 1:
        [R, G, B] = [Q, mx, P];
        break;
      case 2:
        [R, G, B] = [P, mx, T];
        break;
      case 3:
        [R, G, B] = [P, Q, mx];
        break;
      case 4:
        [R, G, B] = [T, P, mx];
        break;
      default:
        [R, G, B] = [mx, P, Q];
    }
  }
  if (!p.contrastFirst && p.contrast !== 1) {
    R = clamp255(f(R * p.contrast));
    G = clamp255(f(G * p.contrast));
    B = clamp255(f(B * p.contrast));
  }
  scratch[0] = R;
  scratch[1] = G;
  scratch[2] = B;
  out[o] = scratch[p.swap[0]];
  out[o + 1] = scratch[p.swap[1]];
  out[o + 2] = scratch[p.swap[2]];
}

function applyPixelsTs(
  src: Uint8Array,
  width: number,
  height: number,
  plan: AugmentPlan,
  outW: number,
  outH: number,
): Uint8Array {
  const mx = axisMap(outW, plan.crop.width, plan.crop.x, plan.flip, plan.left, width);
  const my = axisMap(outH, plan.crop.height, plan.crop.y, false, plan.top, height);
  const nx = mx.src.length + 1;
  const ny = my.src.length + 1;
  // The compact grid: photometric values of every source pixel a tap reads, plus a fill row and column.
  const grid = new Float32Array(nx * ny * 3);
  const fill = plan.fill.map(f);
  for (let j = 0; j < ny; j++) {
    for (let i = 0; i < nx; i++) {
      const o = (j * nx + i) * 3;
      if (j === ny - 1 || i === nx - 1) {
        grid[o] = fill[0];
        grid[o + 1] = fill[1];
        grid[o + 2] = fill[2];
        continue;
      }
      const s = (my.src[j] * width + mx.src[i]) * 3;
      photometricTs(src[s], src[s + 1], src[s + 2], plan.photometric, grid, o);
    }
  }
  const out = new Uint8Array(outW * outH * 3);
  for (let y = 0, o = 0; y < outH; y++) {
    const r0 = my.i0[y] * nx * 3;
    const r1 = my.i1[y] * nx * 3;
    const wy0 = my.w0[y];
    const wy1 = my.w1[y];
    for (let x = 0; x < outW; x++, o += 3) {
      const a = mx.i0[x] * 3;
      const b = mx.i1[x] * 3;
      const u0 = mx.w0[x];
      const u1 = mx.w1[x];
      for (let k = 0; k < 3; k++) {
        const top = f(f(u0 * grid[r0 + a + k]) + f(u1 * grid[r0 + b + k]));
        const bottom = f(f(u0 * grid[r1 + a + k]) + f(u1 * grid[r1 + b + k]));
        const v = f(f(wy0 * top) + f(wy1 * bottom));
        const q = Math.floor(f(v + 0.5));
        out[o + k] = q < 0 ? 0 : q > 255 ? 255 : q;
      }
    }
  }
  return out;
}

/** The plan applied to the boxes: shift onto the canvas, crop (centre inside, clip), flip, scale to the output. */
function applyBoxes(
  boxes: number[],
  labels: number[],
  plan: AugmentPlan,
  outW: number,
  outH: number,
): { boxes: Float32Array; labels: Int32Array } {
  const { x: cx, y: cy, width: cw, height: ch } = plan.crop;
  const r: [number, number, number, number] = [cx, cy, cx + cw, cy + ch];
  const sx = outW / cw;
  const sy = outH / ch;
  const outBoxes: number[] = [];
  const outLabels: number[] = [];
  const b = [0, 0, 0, 0];
  const whole = cx === 0 && cy === 0 && cw === plan.canvasWidth && ch === plan.canvasHeight;
  for (let i = 0; i < labels.length; i++) {
    b[0] = boxes[4 * i] + plan.left;
    b[1] = boxes[4 * i + 1] + plan.top;
    b[2] = boxes[4 * i + 2] + plan.left;
    b[3] = boxes[4 * i + 3] + plan.top;
    if (!whole && !centreInside(b, 0, r)) continue;
    let x1 = Math.max(b[0], r[0]) - r[0];
    const y1 = Math.max(b[1], r[1]) - r[1];
    let x2 = Math.min(b[2], r[2]) - r[0];
    const y2 = Math.min(b[3], r[3]) - r[1];
    if (plan.flip) [x1, x2] = [cw - x2, cw - x1];
    const o = [f(x1 * sx), f(y1 * sy), f(x2 * sx), f(y2 * sy)];
    if (!(o[2] > o[0] && o[3] > o[1])) continue;
    outBoxes.push(...o);
    outLabels.push(labels[i]);
  }
  return { boxes: Float32Array.from(outBoxes), labels: Int32Array.from(outLabels) };
}

/** The addon's pixel work, or null without the addon (the TS twin runs). */
function nativeAugment(): Binding['augmentPixels'] | null {
  return binding ? binding.augmentPixels : null;
}

/** Whether the pixel work runs in the addon (false: the TS twin, without the addon). */
export function augmentBackend(): 'native' | 'typescript' {
  return nativeAugment() ? 'native' : 'typescript';
}

function run(
  input: AugmentInput,
  plan: AugmentPlan,
  size: { width: number; height: number },
  native: boolean,
): AugmentOutput {
  const { boxes, labels } = clipInputBoxes(input);
  const { width, height } = size;
  const fn = native ? nativeAugment() : null;
  let pixels: Uint8Array;
  if (fn) {
    pixels = new Uint8Array(width * height * 3);
    fn(input.pixels, input.width, input.height, planVector(plan), pixels, width, height);
  } else {
    pixels = applyPixelsTs(input.pixels, input.width, input.height, plan, width, height);
  }
  return { pixels, width, height, ...applyBoxes(boxes, labels, plan, width, height) };
}

/**
 * Applies a decided {@link AugmentPlan} to a sample: pixels in the addon (TS twin without it), boxes in TS.
 * @throws {TypeError|RangeError} Invalid input, plan or size (naming the field).
 */
export function applyAugmentPlan(
  input: AugmentInput,
  plan: AugmentPlan,
  size: { width: number; height: number },
): AugmentOutput {
  assertInput(input);
  assertPlan(plan);
  assertSize(size);
  return run(input, plan, size, true);
}

/** Pure-TypeScript twin of {@link applyAugmentPlan} (the reference the addon is tested against; bit-identical). */
export function applyAugmentPlanTs(
  input: AugmentInput,
  plan: AugmentPlan,
  size: { width: number; height: number },
): AugmentOutput {
  assertInput(input);
  assertPlan(plan);
  assertSize(size);
  return run(input, plan, size, false);
}

/**
 * The paper's augmentation chain on one sample, seeded: draws a plan from `rng` ({@link planAugment}) and applies it
 * ({@link applyAugmentPlan}). The output has `size` (the model input); boxes are in output pixels, objects whose
 * centre left the crop are dropped with their labels; an image without objects is a valid sample. The same Rng
 * state gives the identical output (pixels and boxes), native or not; `rng` advances by the draws made.
 *
 * @param options Steps to run ({@link DEFAULT_AUGMENT}), or `'none'`: only the resize (no draws).
 * @throws {TypeError} Pixels not `width·height·3` bytes, boxes not a Float32Array [4·N], labels not an Int32Array [N],
 *   an unknown option key.
 * @throws {RangeError} A non-finite box coordinate, a size outside [1, 8192], maxExpand outside [1, 16], a fill outside 0..255.
 * @example
 * const rng = new Rng(42);
 * const sample = augment({ pixels, width: 640, height: 480, boxes, labels }, rng, { width: 300, height: 300 });
 * sample.boxes; // Float32Array, xyxy in the 300×300 output
 */
export function augment(
  input: AugmentInput,
  rng: Rng,
  size: { width: number; height: number },
  options?: AugmentOptions | 'none',
): AugmentOutput {
  return augmentWith(input, rng, size, options, true);
}

/** Pure-TypeScript twin of {@link augment}: the same draws, the pixels by the TS twin. */
export function augmentTs(
  input: AugmentInput,
  rng: Rng,
  size: { width: number; height: number },
  options?: AugmentOptions | 'none',
): AugmentOutput {
  return augmentWith(input, rng, size, options, false);
}

function augmentWith(
  input: AugmentInput,
  rng: Rng,
  size: { width: number; height: number },
  options: AugmentOptions | 'none' | undefined,
  native: boolean,
): AugmentOutput {
  assertInput(input);
  assertSize(size);
  if (!(rng instanceof Rng)) throw invalidParameterError('rng', 'Rng', rng);
  const o = resolveOptions(options);
  const clipped = clipInputBoxes(input);
  const plan = planAugment(input.width, input.height, clipped.boxes, rng, o);
  return run(input, plan, size, native);
}

/**
 * The augmentation chain with the model's input geometry: what training feeds a model whose inference preprocess is
 * `spec` (`spec.resize`, `spec.padValue`). For 'stretch' this is {@link augment} to the input size (the same draws,
 * the same output). For 'pad' and 'letterbox' the augmented crop keeps its aspect ratio, as inference keeps the
 * image's: the plan is drawn as {@link augment} draws it, the crop is resized (bilinear, half-pixel centres) to the
 * size it covers in the input and placed where preprocess places an image, on `padValue` (default 0, rounded to a
 * byte), boxes mapped the same way (scaled, plus the offset):
 * - 'letterbox': resized to round(w/s) × round(h/s), s = max(w/W, h/H) (`inputGeometry` of the crop), centred
 *   (offset ⌊border/2⌋) — the inference geometry exactly;
 * - 'pad': padded at the bottom/right and resized with the one scale s, the last content row (or column) blended into
 *   the padding over the fractional extent h/s as inference does (see `padSample`). Only when the crop is over 8192
 *   pixels along the padded axis is the content resized to round(h/s) rows instead (under half a pixel off).
 * The resize is always bilinear with half-pixel centres (a 'bilinear-asymmetric' model's sampling differs by a
 * sub-pixel shift, as with 'stretch').
 *
 * @param spec The model's input spec (width, height, resize, padValue are used).
 * @throws {TypeError|RangeError} As {@link augment}; an invalid spec (naming `input.*`).
 * @example
 * const s = augmentForInput(sample, new Rng(7), spec.input, { fill: [123, 117, 104] });
 * const tensor = toInputTensor(s.pixels, s.width, s.height, spec.input);   // s.boxes in input pixels
 */
export function augmentForInput(
  input: AugmentInput,
  rng: Rng,
  spec: PreprocessSpec,
  options?: AugmentOptions | 'none',
): AugmentOutput {
  return augmentForInputWith(input, rng, spec, options, true);
}

/** Pure-TypeScript twin of {@link augmentForInput}: the same draws, the pixels by the TS twin. */
export function augmentForInputTs(
  input: AugmentInput,
  rng: Rng,
  spec: PreprocessSpec,
  options?: AugmentOptions | 'none',
): AugmentOutput {
  return augmentForInputWith(input, rng, spec, options, false);
}

function augmentForInputWith(
  input: AugmentInput,
  rng: Rng,
  spec: PreprocessSpec,
  options: AugmentOptions | 'none' | undefined,
  native: boolean,
): AugmentOutput {
  assertPreprocessSpec(spec);
  const { width: W, height: H } = spec;
  if (spec.resize === 'stretch') return augmentWith(input, rng, { width: W, height: H }, options, native);
  assertInput(input);
  if (!(rng instanceof Rng)) throw invalidParameterError('rng', 'Rng', rng);
  const o = resolveOptions(options);
  const clipped = clipInputBoxes(input);
  const plan = planAugment(input.width, input.height, clipped.boxes, rng, o);
  // where the crop lands in the input, as preprocess places an image of the crop's size
  const g = inputGeometry(plan.crop.width, plan.crop.height, spec);
  const padValue = spec.padValue ?? 0;
  if (spec.resize === 'pad') {
    const padded = padSample(input, plan, g.scaleX, W, H, padValue, native);
    if (padded) return padded;
  }
  const nw = Math.min(W, Math.max(1, Math.round(plan.crop.width / g.scaleX)));
  const nh = Math.min(H, Math.max(1, Math.round(plan.crop.height / g.scaleY)));
  const a = run(input, plan, { width: nw, height: nh }, native);
  const pixels = new Uint8Array(W * H * 3).fill(Math.round(padValue));
  for (let y = 0; y < nh; y++) {
    pixels.set(a.pixels.subarray(y * nw * 3, (y + 1) * nw * 3), ((y + g.offsetY) * W + g.offsetX) * 3);
  }
  const boxes = a.boxes.map((v, i) => v + (i % 2 === 0 ? g.offsetX : g.offsetY));
  return { pixels, width: W, height: H, boxes, labels: a.labels };
}

/**
 * 'pad' exactly as preprocess does it: the crop (cw × ch) padded at the bottom/right with `padValue` and resized with
 * one scale s = max(cw/W, ch/H). The axis the crop fills is resized by the chain itself (scale cw/W = s); the other
 * keeps the crop's own resolution there, then one bilinear pass (half-pixel centres) samples it with scale s over the
 * padded extent — preprocess's taps: the last content row or column blends into the padding as inference's does.
 * null when that intermediate would be over 8192 pixels long (the caller then resizes the content to round(ch/s)).
 */
function padSample(
  input: AugmentInput,
  plan: AugmentPlan,
  s: number,
  W: number,
  H: number,
  padValue: number,
  native: boolean,
): AugmentOutput | null {
  const { width: cw, height: ch } = plan.crop;
  const fillsX = cw / s >= W - 1e-9 * W; // the crop spans the input's width (else its height)
  const n = fillsX ? ch : cw; // the crop's resolution along the padded axis
  if (n > MAX_INPUT_SIDE) return null;
  const a = run(input, plan, fillsX ? { width: W, height: n } : { width: n, height: H }, native);
  const out = fillsX ? H : W; // output length along the padded axis
  // preprocess's axis table (lib/image/preprocess.ts axisTable) over a virtual source of max(n, out·s) pixels
  const virtual = Math.max(n, out * s);
  const last = Math.max(Math.ceil(virtual - 1e-9 * virtual) - 1, 0);
  const pixels = new Uint8Array(W * H * 3);
  const across = fillsX ? W : H; // pixels per line of the other axis
  const at = (d: number, k: number) => (fillsX ? (d * W + k) * 3 : (k * W + d) * 3); // output/intermediate offset
  const src = a.pixels;
  const srcAt = (i: number, k: number) => (fillsX ? (i * W + k) * 3 : (k * n + i) * 3);
  for (let d = 0; d < out; d++) {
    let x = (d + 0.5) * s - 0.5;
    if (x < 0) x = 0;
    let lo = Math.floor(x);
    if (lo > last) lo = last;
    const hi = lo < last ? lo + 1 : lo;
    const lambda = x - lo > 1 ? 1 : x - lo;
    for (let k = 0; k < across; k++) {
      const o = at(d, k);
      for (let c = 0; c < 3; c++) {
        const v0 = lo < n ? src[srcAt(lo, k) + c] : padValue;
        const v1 = hi < n ? src[srcAt(hi, k) + c] : padValue;
        const v = Math.floor((1 - lambda) * v0 + lambda * v1 + 0.5);
        pixels[o + c] = v < 0 ? 0 : v > 255 ? 255 : v;
      }
    }
  }
  // boxes: the chain scaled the filled axis by 1/s; the padded axis is still in crop pixels
  const boxes = a.boxes.map((v, i) => ((i % 2 === 0) === fillsX ? v : v / s));
  return { pixels, width: W, height: H, boxes, labels: a.labels };
}

/**
 * The packed RGB bytes {@link augment} takes, from a decoded image (RGB as is, RGBA without its alpha).
 * @example rgbPixels(await decodeImage('a.jpg'))
 */
export function rgbPixels(image: RawImage): Uint8Array {
  assertRawImage('image', image);
  const { data, width, height, channels } = image;
  if (channels === 3)
    return data instanceof Uint8Array ? data : new Uint8Array(data.buffer, data.byteOffset, data.length);
  const out = new Uint8Array(width * height * 3);
  for (let p = 0, s = 0, o = 0; p < width * height; p++, s += 4, o += 3) {
    out[o] = data[s];
    out[o + 1] = data[s + 1];
    out[o + 2] = data[s + 2];
  }
  return out;
}

/**
 * The model's input tensor data from augmented RGB pixels (already the input size: no resize), through the same
 * preprocess as inference (channel order, mean/std, layout): Float32Array of 3·width·height.
 * @example toInputTensor(sample.pixels, sample.width, sample.height, spec.input)
 */
export function toInputTensor(
  pixels: Uint8Array,
  width: number,
  height: number,
  spec: PreprocessSpec,
  options?: { out?: Float32Array; offset?: number },
): Float32Array {
  return preprocess({ data: pixels, width, height, channels: 3 }, spec, options).data;
}
