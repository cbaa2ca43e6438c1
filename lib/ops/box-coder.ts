/**
 * SSD box coder: xyxy boxes ⇄ regression deltas against anchors (torchvision `BoxCoder.encode_single` /
 * `decode_single`, TF Object Detection `FasterRcnnBoxCoder` with order 'yxhw'), float32 arithmetic.
 */
import { binding } from '../binding.ts';
import {
  assertFloat32Array,
  assertFloat32ArrayLength,
  assertInRange,
  assertKnownKeys,
  assertObject,
  assertPositive,
  assertOneOf,
  invalidParameterError,
  withDefaults,
} from '../is.ts';
import { expf32, f32 } from './float32.ts';

/** Delta order: 'xywh' = torchvision [dx, dy, dw, dh]; 'yxhw' = TF [ty, tx, th, tw]. */
export type DeltaOrder = 'xywh' | 'yxhw';
/** How anchors are laid out: 'xyxy' (torchvision) or 'cxcywh' (the output of `defaultBoxes`). */
export type AnchorFormat = 'xyxy' | 'cxcywh';

export interface BoxCoderOptions {
  /** (wx, wy, ww, wh), always in the x, y, w, h sense; default [10, 10, 5, 5] (variances 0.1, 0.1, 0.2, 0.2). */
  weights?: [number, number, number, number];
  /** Delta order; default 'xywh'. */
  order?: DeltaOrder;
  /** Upper clamp of dw/ww and dh/wh before exp; default Math.log(1000 / 16); Infinity = no clamp. */
  clip?: number;
}

export interface BoxCodingOptions extends BoxCoderOptions {
  /** Default 'xyxy'. */
  anchorFormat?: AnchorFormat;
}

/** Coder options with every field present and checked. */
export type ResolvedBoxCoderOptions = Required<BoxCoderOptions>;

/** Encode / decode options with every field present and checked. */
export type ResolvedBoxCodingOptions = Required<BoxCodingOptions>;

/** The keys of {@link BoxCoderOptions} (any other key is rejected). */
export const BOX_CODER_KEYS: readonly (keyof BoxCoderOptions)[] = ['weights', 'order', 'clip'];
const BOX_CODING_KEYS: readonly (keyof BoxCodingOptions)[] = [...BOX_CODER_KEYS, 'anchorFormat'];

const BOX_CODER_DEFAULTS: Readonly<ResolvedBoxCoderOptions> = Object.freeze({
  weights: [10, 10, 5, 5] as [number, number, number, number],
  order: 'xywh',
  clip: Math.log(1000 / 16),
});

/** The clip as the addon takes it: a finite number (±1e30 gives the same boxes as ±Infinity). */
export const nativeClip = (clip: number) => Math.min(Math.max(clip, -1e30), 1e30);

/**
 * Merges coder options over the defaults and validates them. Parameter names are `weights`, `order`, `clip`
 * behind `prefix` (e.g. `boxCoder.`); the options object itself is called `prefix` without its dot, or `options`.
 * With `rejectUnknownKeys` (every op does) a key other than weights / order / clip is a TypeError; the model
 * spec's validator calls it without, as its own rules decide about extra fields.
 */
export function resolveBoxCoderOptions(
  options: BoxCoderOptions | undefined,
  prefix = '',
  rejectUnknownKeys = false,
): ResolvedBoxCoderOptions {
  const name = prefix ? prefix.slice(0, -1) : 'options';
  if (options !== undefined) assertObject(name, options);
  if (rejectUnknownKeys) assertKnownKeys(name, options, BOX_CODER_KEYS);
  const o = withDefaults(BOX_CODER_DEFAULTS as ResolvedBoxCoderOptions, options);
  if (!Array.isArray(o.weights) || o.weights.length !== 4)
    throw invalidParameterError(`${prefix}weights`, 'Array of 4 numbers', o.weights);
  o.weights.forEach((w, k) => assertPositive(`${prefix}weights[${k}]`, w, true));
  assertOneOf(`${prefix}order`, o.order, ['xywh', 'yxhw']);
  assertInRange(`${prefix}clip`, o.clip, -Infinity, Infinity);
  return { weights: [...o.weights], order: o.order, clip: o.clip };
}

/**
 * The argument checks of encodeBoxes / decodeBoxes and their twins (`name` is 'boxes' or 'deltas'); returns the
 * resolved coder options and anchor format.
 */
function resolveCoding(
  name: string,
  values: unknown,
  anchors: unknown,
  options: BoxCodingOptions | undefined,
): ResolvedBoxCodingOptions {
  if (options !== undefined) assertObject('options', options);
  assertKnownKeys('options', options, BOX_CODING_KEYS);
  const { anchorFormat = 'xyxy', ...coder } = options ?? {};
  assertFloat32Array(name, values, 4);
  assertFloat32ArrayLength('anchors', anchors, values.length, `same as ${name}`);
  assertOneOf('anchorFormat', anchorFormat, ['xyxy', 'cxcywh']);
  return { ...resolveBoxCoderOptions(coder), anchorFormat };
}

/** Offsets of (x, y, w, h) inside a delta quadruple. */
function deltaSlots(order: DeltaOrder): [number, number, number, number] {
  return order === 'yxhw' ? [1, 0, 3, 2] : [0, 1, 2, 3];
}

/** (cx, cy, w, h) of box i, float32: read directly (cxcywh) or w = x2 − x1, cx = x1 + 0.5·w (xyxy). */
function centreForm(boxes: Float32Array, i: number, cxcywh: boolean): [number, number, number, number] {
  const [a, b, c, d] = boxes.subarray(4 * i, 4 * i + 4);
  if (cxcywh) return [a, b, c, d];
  const w = f32(c - a);
  const h = f32(d - b);
  return [f32(a + f32(0.5 * w)), f32(b + f32(0.5 * h)), w, h];
}

/**
 * Encodes xyxy boxes as regression deltas against anchors (one box per anchor), in float32:
 * dx = wx·(gcx − acx)/aw, dy = wy·(gcy − acy)/ah, dw = ww·ln(gw/aw), dh = wh·ln(gh/ah),
 * with w = x2 − x1 and cx = x1 + 0.5·w. No clamp. Deltas are written in `order`.
 *
 * @param boxes Float32Array [N·4], xyxy (e.g. matched ground truth).
 * @param anchors Float32Array [N·4] in `anchorFormat`, same units as `boxes`.
 * @param options `{ weights = [10, 10, 5, 5], order = 'xywh', anchorFormat = 'xyxy' }` (`clip` is unused here).
 * @returns Float32Array [N·4] deltas in `order`. Degenerate boxes give ±Infinity / NaN deltas (never throws).
 * @throws {TypeError} Wrong array type/length (a Proxy or a detached array included), unknown order or anchor format,
 *   weights not 4 numbers, an option key other than weights / order / clip / anchorFormat.
 * @throws {RangeError} A weight is not a finite number > 0, or clip is NaN.
 * @example
 * encodeBoxes(new Float32Array([0, 0, 20, 20]), new Float32Array([0, 0, 10, 10])); // [5, 5, 3.4657, 3.4657]
 */
export function encodeBoxes(boxes: Float32Array, anchors: Float32Array, options: BoxCodingOptions = {}): Float32Array {
  const o = resolveCoding('boxes', boxes, anchors, options);
  return binding
    ? binding.encodeBoxes(boxes, anchors, o.anchorFormat === 'cxcywh', Float32Array.from(o.weights), o.order === 'yxhw')
    : encodeResolved(boxes, anchors, o);
}

/** Pure-TypeScript twin of {@link encodeBoxes}: same checks and messages, same float32 results. */
export function encodeBoxesTs(
  boxes: Float32Array,
  anchors: Float32Array,
  options: BoxCodingOptions = {},
): Float32Array {
  return encodeResolved(boxes, anchors, resolveCoding('boxes', boxes, anchors, options));
}

/** The twin's encode with checked arguments (the loss twin calls it directly). */
export function encodeResolved(
  boxes: Float32Array,
  anchors: Float32Array,
  { weights, order, anchorFormat }: ResolvedBoxCodingOptions,
): Float32Array {
  const [wx, wy, ww, wh] = weights.map(f32);
  const [ix, iy, iw, ih] = deltaSlots(order);
  const out = new Float32Array(boxes.length);
  for (let i = 0, o = 0; o < out.length; i++, o += 4) {
    const [acx, acy, aw, ah] = centreForm(anchors, i, anchorFormat === 'cxcywh');
    const [gcx, gcy, gw, gh] = centreForm(boxes, i, false);
    out[o + ix] = f32(wx * f32(gcx - acx)) / aw;
    out[o + iy] = f32(wy * f32(gcy - acy)) / ah;
    out[o + iw] = ww * f32(Math.log(f32(gw / aw)));
    out[o + ih] = wh * f32(Math.log(f32(gh / ah)));
  }
  return out;
}

/**
 * Decodes regression deltas against anchors into xyxy boxes, in float32 (torchvision `decode_single`):
 * cx = dx/wx·aw + acx, cy = dy/wy·ah + acy, w = exp(min(dw/ww, clip))·aw, h = exp(min(dh/wh, clip))·ah,
 * box = (cx − 0.5·w, cy − 0.5·h, cx + 0.5·w, cy + 0.5·h). The clamp is from above only (clip is used as a
 * float32); boxes are not clipped to the image. Outputs are in the anchors' units.
 *
 * @param deltas Float32Array [N·4] in `order`.
 * @param anchors Float32Array [N·4] in `anchorFormat` ('cxcywh' for the output of `defaultBoxes`).
 * @param options `{ weights = [10, 10, 5, 5], order = 'xywh', clip = Math.log(1000 / 16), anchorFormat = 'xyxy' }`.
 * @returns Float32Array [N·4], xyxy, one box per anchor in anchor order. NaN deltas give NaN boxes (never throws).
 * @throws {TypeError} Wrong array type/length (a Proxy or a detached array included), unknown order or anchor format,
 *   weights not 4 numbers, an option key other than weights / order / clip / anchorFormat.
 * @throws {RangeError} A weight is not a finite number > 0, or clip is NaN.
 * @example
 * decodeBoxes(new Float32Array([0, 0, 0, 0]), new Float32Array([0.5, 0.5, 0.2, 0.4]), { anchorFormat: 'cxcywh' });
 * // [0.4, 0.3, 0.6, 0.7]
 */
export function decodeBoxes(deltas: Float32Array, anchors: Float32Array, options: BoxCodingOptions = {}): Float32Array {
  const o = resolveCoding('deltas', deltas, anchors, options);
  return binding
    ? binding.decodeBoxes(
        deltas,
        anchors,
        o.anchorFormat === 'cxcywh',
        Float32Array.from(o.weights),
        o.order === 'yxhw',
        nativeClip(o.clip),
      )
    : decodeResolved(deltas, anchors, o);
}

/** Pure-TypeScript twin of {@link decodeBoxes}: same checks and messages, same float32 results. */
export function decodeBoxesTs(
  deltas: Float32Array,
  anchors: Float32Array,
  options: BoxCodingOptions = {},
): Float32Array {
  return decodeResolved(deltas, anchors, resolveCoding('deltas', deltas, anchors, options));
}

/** The twin's decode with checked arguments (the postprocess twin calls it directly). */
export function decodeResolved(
  deltas: Float32Array,
  anchors: Float32Array,
  { weights, order, clip, anchorFormat }: ResolvedBoxCodingOptions,
): Float32Array {
  const [wx, wy, ww, wh] = weights.map(f32);
  const [ix, iy, iw, ih] = deltaSlots(order);
  const clip32 = f32(clip);
  const out = new Float32Array(deltas.length);
  for (let i = 0, o = 0; o < out.length; i++, o += 4) {
    const [acx, acy, aw, ah] = centreForm(anchors, i, anchorFormat === 'cxcywh');
    const cx = f32(f32(f32(deltas[o + ix] / wx) * aw) + acx);
    const cy = f32(f32(f32(deltas[o + iy] / wy) * ah) + acy);
    const halfW = f32(0.5 * f32(expf32(Math.min(f32(deltas[o + iw] / ww), clip32)) * aw));
    const halfH = f32(0.5 * f32(expf32(Math.min(f32(deltas[o + ih] / wh), clip32)) * ah));
    out[o] = cx - halfW;
    out[o + 1] = cy - halfH;
    out[o + 2] = cx + halfW;
    out[o + 3] = cy + halfH;
  }
  return out;
}

/**
 * Holds box-coder options; `encode` / `decode` are {@link encodeBoxes} / {@link decodeBoxes} with them.
 *
 * @throws {TypeError|RangeError} From the constructor when the options are invalid or have a key other than weights /
 *   order / clip.
 * @example
 * const coder = new BoxCoder({ weights: [10, 10, 5, 5], order: 'yxhw' });
 * const boxes = coder.decode(deltas, defaultBoxes('tf-ssd-mobilenetv1-512'), 'cxcywh'); // xyxy normalized
 */
export class BoxCoder {
  readonly options: Readonly<ResolvedBoxCoderOptions>;

  constructor(options: BoxCoderOptions = {}) {
    this.options = Object.freeze(resolveBoxCoderOptions(options, '', true));
  }

  /** Boxes xyxy [N·4] → deltas [N·4] against anchors [N·4]; see {@link encodeBoxes}. */
  encode(boxes: Float32Array, anchors: Float32Array, anchorFormat: AnchorFormat = 'xyxy'): Float32Array {
    return encodeBoxes(boxes, anchors, { ...this.options, anchorFormat });
  }

  /** Deltas [N·4] → boxes xyxy [N·4] against anchors [N·4]; see {@link decodeBoxes}. */
  decode(deltas: Float32Array, anchors: Float32Array, anchorFormat: AnchorFormat = 'xyxy'): Float32Array {
    return decodeBoxes(deltas, anchors, { ...this.options, anchorFormat });
  }
}
