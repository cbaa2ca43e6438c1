/**
 * Box formats and conversion between them (torchvision `box_convert`).
 */
import { assertFloat32Array, assertOneOf } from '../is.ts';
import { f32 } from './float32.ts';

/** `xyxy` = (x1, y1, x2, y2); `cxcywh` = (centre x, centre y, w, h); `xywh` = (x1, y1, w, h). */
export type BoxFormat = 'xyxy' | 'cxcywh' | 'xywh';
const BOX_FORMATS: readonly BoxFormat[] = ['xyxy', 'cxcywh', 'xywh'];

/**
 * Converts boxes between formats, in float32 with torchvision's formulas (via xyxy when neither side is
 * xyxy): xyxy→cxcywh cx = (x1 + x2)/2, w = x2 − x1; cxcywh→xyxy x1 = cx − 0.5·w, x2 = cx + 0.5·w;
 * xywh→xyxy x2 = x + w; xyxy→xywh w = x2 − x1. Always returns a new array (a copy when the formats match).
 *
 * @param boxes Float32Array [N·4] in `inFmt`.
 * @param inFmt Format of `boxes`.
 * @param outFmt Format of the result.
 * @returns Float32Array [N·4] in `outFmt`, same box order.
 * @throws {TypeError} `boxes` is not a Float32Array of length 4·N, or a format is not 'xyxy' | 'cxcywh' | 'xywh'.
 * @example
 * boxConvert(new Float32Array([10, 20, 30, 60]), 'xyxy', 'cxcywh'); // Float32Array [20, 40, 20, 40]
 */
export function boxConvert(boxes: Float32Array, inFmt: BoxFormat, outFmt: BoxFormat): Float32Array {
  assertFloat32Array('boxes', boxes, 4);
  assertOneOf('inFmt', inFmt, BOX_FORMATS);
  assertOneOf('outFmt', outFmt, BOX_FORMATS);
  const out = new Float32Array(boxes);
  for (let o = 0; o < out.length; o += 4) {
    const [a, b, c, d] = out.subarray(o, o + 4);
    let x1 = a,
      y1 = b,
      x2 = c,
      y2 = d;
    if (inFmt === 'cxcywh') {
      x1 = f32(a - f32(0.5 * c));
      y1 = f32(b - f32(0.5 * d));
      x2 = f32(a + f32(0.5 * c));
      y2 = f32(b + f32(0.5 * d));
    } else if (inFmt === 'xywh') {
      x2 = f32(a + c);
      y2 = f32(b + d);
    }
    if (outFmt === 'xyxy') out.set([x1, y1, x2, y2], o);
    else if (outFmt === 'xywh') out.set([x1, y1, f32(x2 - x1), f32(y2 - y1)], o);
    else out.set([f32(x1 + x2) / 2, f32(y1 + y2) / 2, f32(x2 - x1), f32(y2 - y1)], o);
  }
  return out;
}
