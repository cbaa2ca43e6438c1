/**
 * A dilated ("atrous") 2-D convolution that can be trained: tfjs-core's conv2d gradient rejects dilations > 1 (on
 * every backend), and SSD300-VGG16's conv6 is a 3×3 convolution with dilation 6. As TensorFlow's
 * `atrous_conv2d`: the input is padded and split into rate × rate phases (spaceToBatchND), each phase convolved with
 * the undilated filter (conv2d, VALID), the phases interleaved back (batchToSpaceND). All three have gradients in
 * tfjs-core and kernels on wasm and cpu.
 */
import type * as tfc from '@tensorflow/tfjs-core';
import { assertInteger, invalidParameterError } from '../../is.ts';
import type { Tf } from '../backend.ts';

/** 'same' | 'valid', a symmetric pad, or [top, bottom, left, right] (ONNX order differs: this is NHWC rows first). */
export type AtrousPad = 'same' | 'valid' | number | [number, number, number, number];

/**
 * conv2d(x, filter, stride 1, pad, dilation rate) with gradients for any rate (NHWC). Equal to
 * `tf.conv2d(x, filter, 1, pad, 'NHWC', rate)` (the forward tfjs computes itself).
 *
 * @param tf The tf of {@link loadTf}.
 * @param x [B, H, W, Cin].
 * @param filter [kh, kw, Cin, Cout].
 * @param rate Dilation, an integer ≥ 1 (1 = plain conv2d).
 * @param pad 'same' (output H×W), 'valid', a number of pixels on every side, or [top, bottom, left, right].
 * @returns [B, Ho, Wo, Cout], Ho = H + top + bottom − (kh − 1)·rate.
 * @throws {RangeError} rate not an integer ≥ 1; a negative pad.
 * @throws {TypeError} pad of another form.
 * @example
 * const conv6 = atrousConv2d(tf, pool5, w6, 6, 6); // VGG16 conv6: 3×3, dilation 6, pad 6
 */
export function atrousConv2d(
  tf: Tf,
  x: tfc.Tensor4D,
  filter: tfc.Tensor4D,
  rate: number,
  pad: AtrousPad = 'same',
): tfc.Tensor4D {
  assertInteger('rate', rate, 1);
  const [kh, kw] = filter.shape;
  let edges: [number, number, number, number];
  if (pad === 'same') {
    const th = (kh - 1) * rate;
    const tw = (kw - 1) * rate;
    edges = [Math.floor(th / 2), th - Math.floor(th / 2), Math.floor(tw / 2), tw - Math.floor(tw / 2)];
  } else if (pad === 'valid') edges = [0, 0, 0, 0];
  else if (typeof pad === 'number') edges = [pad, pad, pad, pad];
  else if (Array.isArray(pad) && pad.length === 4) edges = [...pad];
  else throw invalidParameterError('pad', "'same', 'valid', a number or [top, bottom, left, right]", pad);
  edges.forEach((e, i) => assertInteger(`pad[${i}]`, e, 0));
  const [top, bottom, left, right] = edges;
  if (rate === 1) {
    const p = tf.pad(x, [
      [0, 0],
      [top, bottom],
      [left, right],
      [0, 0],
    ]) as tfc.Tensor4D;
    return tf.conv2d(p, filter, 1, 'valid');
  }
  return tf.tidy(() => {
    const [, h, w] = x.shape;
    const hp = h + top + bottom;
    const wp = w + left + right;
    const extraH = (rate - (hp % rate)) % rate;
    const extraW = (rate - (wp % rate)) % rate;
    const phases = tf.spaceToBatchND(
      x,
      [rate, rate],
      [
        [top, bottom + extraH],
        [left, right + extraW],
      ],
    );
    const y = tf.conv2d(phases as tfc.Tensor4D, filter, 1, 'valid');
    return tf.batchToSpaceND(
      y,
      [rate, rate],
      [
        [0, extraH],
        [0, extraW],
      ],
    ) as tfc.Tensor4D;
  });
}
