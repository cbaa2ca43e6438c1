/**
 * Small helpers shared by the tfjs SSD models: weight layout conversions (ONNX/PyTorch OIHW ↔ tfjs HWIO), seeded
 * initializers, and NHWC conv/pool wrappers with explicit ONNX-style pads.
 */
import type * as tfc from '@tensorflow/tfjs-core';
import type { Tf } from './types.ts';

/** ONNX / PyTorch conv weight [O, I, kh, kw] → tfjs conv2d filter [kh, kw, I, O] (HWIO). */
export function oihwToHwio(w: Float32Array, [o, i, kh, kw]: readonly number[]): Float32Array {
  const out = new Float32Array(w.length);
  for (let oc = 0; oc < o; oc++)
    for (let ic = 0; ic < i; ic++)
      for (let y = 0; y < kh; y++)
        for (let x = 0; x < kw; x++) out[((y * kw + x) * i + ic) * o + oc] = w[((oc * i + ic) * kh + y) * kw + x];
  return out;
}

/** tfjs conv2d filter [kh, kw, I, O] (HWIO) → ONNX / PyTorch conv weight [O, I, kh, kw]. */
export function hwioToOihw(w: Float32Array, [kh, kw, i, o]: readonly number[]): Float32Array {
  const out = new Float32Array(w.length);
  for (let y = 0; y < kh; y++)
    for (let x = 0; x < kw; x++)
      for (let ic = 0; ic < i; ic++)
        for (let oc = 0; oc < o; oc++) out[((oc * i + ic) * kh + y) * kw + x] = w[((y * kw + x) * i + ic) * o + oc];
  return out;
}

/** mulberry32: a small seeded uint32 generator (weights init only; the training RNG is lib/train/rng.ts). */
export function seededUniform(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Xavier/Glorot uniform init of a conv filter (HWIO [kh, kw, I, O]): U(−a, a), a = √(6 / (fan_in + fan_out)),
 * fan_in = I·kh·kw, fan_out = O·kh·kw — Caffe SSD's `xavier` filler for new layers and torchvision's
 * `nn.init.xavier_uniform_` of the SSD heads.
 */
export function xavierUniform(shape: readonly number[], rand: () => number): Float32Array {
  const [kh, kw, i, o] = shape;
  const a = Math.sqrt(6 / ((i + o) * kh * kw));
  const out = new Float32Array(kh * kw * i * o);
  for (let k = 0; k < out.length; k++) out[k] = (2 * rand() - 1) * a;
  return out;
}

/** [top, left, bottom, right] (ONNX order) → tfjs explicit NHWC padding. */
export function explicitPads(
  pads: readonly number[],
): [[number, number], [number, number], [number, number], [number, number]] {
  return [
    [0, 0],
    [pads[0], pads[2]],
    [pads[1], pads[3]],
    [0, 0],
  ];
}

/**
 * NHWC conv + bias: `w` HWIO, pads ONNX order [top, left, bottom, right].
 *
 * A dilated conv (SSD300's conv6, dilation 6) runs as TF's atrous conv — space-to-batch, an undilated VALID conv,
 * batch-to-space — because tfjs has no gradient for Conv2D with dilations > 1 ("not yet supported in gradients");
 * SpaceToBatchND / BatchToSpaceND have gradients on every backend. The padded size is rounded up to a multiple of
 * the dilation with zeros at the bottom/right, and the extra outputs they make are cropped.
 */
export function conv2d(
  tf: Tf,
  x: tfc.Tensor4D,
  w: tfc.Tensor4D,
  b: tfc.Tensor1D,
  stride: number,
  pads: readonly number[],
  dilation = 1,
): tfc.Tensor4D {
  if (dilation === 1) return tf.add(tf.conv2d(x, w, stride, explicitPads(pads), 'NHWC'), b);
  if (stride !== 1) throw new RangeError(`Expected stride 1 with dilation ${dilation} but received stride ${stride}`);
  const d = dilation;
  const [, h, wd] = x.shape;
  const [kh, kw] = w.shape;
  const padded = [h + pads[0] + pads[2], wd + pads[1] + pads[3]];
  const extra = padded.map((p) => (d - (p % d)) % d);
  const crop = padded.map((p, i) => d * ((p + extra[i]) / d - [kh, kw][i] + 1) - (p - d * ([kh, kw][i] - 1)));
  const s2b = tf.spaceToBatchND(
    x,
    [d, d],
    [
      [pads[0], pads[2] + extra[0]],
      [pads[1], pads[3] + extra[1]],
    ],
  );
  const y = tf.conv2d(s2b as tfc.Tensor4D, w, 1, 'valid', 'NHWC');
  const b2s = tf.batchToSpaceND(
    y,
    [d, d],
    [
      [0, crop[0]],
      [0, crop[1]],
    ],
  );
  return tf.add(b2s, b);
}

/** NHWC depthwise conv (multiplier 1) + bias: `w` [kh, kw, C, 1]. */
export function depthwiseConv2d(
  tf: Tf,
  x: tfc.Tensor4D,
  w: tfc.Tensor4D,
  b: tfc.Tensor1D,
  stride: number,
  pads: readonly number[],
): tfc.Tensor4D {
  return tf.add(tf.depthwiseConv2d(x, w, stride, explicitPads(pads), 'NHWC'), b);
}

/**
 * NHWC max pool as ONNX MaxPool (padding never wins: tfjs skips padded positions); `ceil` = ONNX ceil_mode
 * (the missing bottom/right rows become extra padding).
 */
export function maxPool(tf: Tf, x: tfc.Tensor4D, k: number, stride: number, pad = 0, ceil = false): tfc.Tensor4D {
  const extra = (size: number) => {
    if (!ceil) return 0;
    const out = Math.ceil((size + 2 * pad - k) / stride) + 1;
    return Math.max((out - 1) * stride + k - (size + 2 * pad), 0);
  };
  const [, h, w] = x.shape;
  return tf.maxPool(x, k, stride, explicitPads([pad, pad, pad + extra(h), pad + extra(w)]));
}

/** NHWC head conv output [B, H, W, A·K] → [B, H·W·A, K] (anchor index (y·W + x)·A + a, as the ONNX graphs). */
export function flattenHead(tf: Tf, y: tfc.Tensor4D, k: number): tfc.Tensor3D {
  const [b, h, w, c] = y.shape;
  return tf.reshape(y, [b, (h * w * c) / k, k]);
}

/** NCHW → NHWC. */
export const toNhwc = (tf: Tf, x: tfc.Tensor4D): tfc.Tensor4D => tf.transpose(x, [0, 2, 3, 1]);
