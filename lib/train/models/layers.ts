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

/** NHWC conv + bias: `w` HWIO, pads ONNX order [top, left, bottom, right]. */
export function conv2d(
  tf: Tf,
  x: tfc.Tensor4D,
  w: tfc.Tensor4D,
  b: tfc.Tensor1D,
  stride: number,
  pads: readonly number[],
  dilation = 1,
): tfc.Tensor4D {
  return tf.add(tf.conv2d(x, w, stride, explicitPads(pads), 'NHWC', dilation), b);
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
