/**
 * The arithmetic of static quantization, shared by the graph rewriter (./qdq.ts) and mirrored line by line by the
 * numpy oracle (scripts/quant-oracle.py): every intermediate is rounded to float32 as numpy's float32 arithmetic
 * does, and rounding is half to even (ONNX QuantizeLinear's rule), so both sides compute the same bits.
 *
 * - Activations: asymmetric uint8. The range [rmin, rmax] is widened to contain 0 (so zero is exact, and a
 *   ReLU/Clip(0, …) before the QuantizeLinear can be dropped by ONNX Runtime), scale = (rmax − rmin) / 255,
 *   zero point = round(−rmin / scale) clamped to [0, 255].
 * - Weights: symmetric int8 (zero point 0), per output channel (axis 0 of a Conv weight [O, I/g, kh, kw]) or per
 *   tensor: scale = max|w| / qmax with qmax = 127, or 64 with `reduceRange` (7-bit weights: a u8·s8 pair sum stays
 *   within int16, the saturation of AVX2's vpmaddubsw on CPUs without VNNI; ONNX Runtime's own reduce_range uses the
 *   same [−64, 64]).
 * - Bias: int32 with scale = input scale · weight scale (per channel), zero point 0, as QLinearConv requires.
 */

import { f32 } from '../../ops/float32.ts';

/** Rounds half to even (numpy.rint, ONNX QuantizeLinear). */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  // Math.round rounds .5 up; a tie goes to the even neighbour instead
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** uint8 activation parameters. */
export interface ActivationParams {
  /** float32 scale > 0. */
  scale: number;
  /** uint8 zero point. */
  zeroPoint: number;
  /** The calibrated range the parameters were made from (before widening to contain 0). */
  min: number;
  max: number;
}

/**
 * Asymmetric uint8 parameters for a calibrated range (float32 arithmetic). A range of width 0 (a constant tensor)
 * gets scale 1, zero point round(−rmin) clamped.
 */
export function activationParams(min: number, max: number): ActivationParams {
  const rmin = f32(Math.min(min, 0));
  const rmax = f32(Math.max(max, 0));
  let scale = f32(f32(rmax - rmin) / 255);
  if (!(scale > 0) || !Number.isFinite(scale)) scale = 1;
  const zeroPoint = Math.min(255, Math.max(0, roundHalfEven(f32(-f32(rmin / scale)))));
  return { scale, zeroPoint, min, max };
}

/** Largest int8 magnitude of a weight: 127, or 64 with reduced range. */
export const weightQmax = (reduceRange: boolean): number => (reduceRange ? 64 : 127);

/** Quantized weights of one Conv: int8 values and their float32 scales (one per channel, or one). */
export interface QuantizedWeights {
  data: Int8Array;
  scales: Float32Array;
}

/**
 * Symmetric int8 weights: per channel along axis 0 (`channels` = dims[0]) or per tensor (`channels` = 1).
 * A channel of zeros gets scale 1 (its values stay 0).
 */
export function quantizeWeights(w: Float32Array, channels: number, reduceRange: boolean): QuantizedWeights {
  const qmax = weightQmax(reduceRange);
  const per = w.length / channels;
  const scales = new Float32Array(channels);
  const data = new Int8Array(w.length);
  for (let c = 0; c < channels; c++) {
    let absMax = 0;
    for (let i = c * per; i < (c + 1) * per; i++) absMax = Math.max(absMax, Math.abs(w[i]));
    const scale = absMax > 0 ? f32(absMax / qmax) : 1;
    scales[c] = scale;
    for (let i = c * per; i < (c + 1) * per; i++) {
      data[i] = Math.min(qmax, Math.max(-qmax, roundHalfEven(f32(w[i] / scale))));
    }
  }
  return { data, scales };
}

/**
 * int32 bias of a Conv whose input has scale `inputScale` and weights `weightScales` (per channel, or one for all):
 * bias scale = inputScale · weightScale (float32), value round(b / bias scale) saturated to int32.
 */
export function quantizeBias(
  bias: Float32Array,
  inputScale: number,
  weightScales: Float32Array,
): { data: Int32Array; scales: Float32Array } {
  const scales = new Float32Array(bias.length);
  const data = new Int32Array(bias.length);
  for (let c = 0; c < bias.length; c++) {
    const s = f32(inputScale * weightScales[weightScales.length === 1 ? 0 : c]);
    scales[c] = s;
    const q = s > 0 ? roundHalfEven(f32(bias[c] / s)) : 0;
    data[c] = Math.min(2147483647, Math.max(-2147483648, q));
  }
  return { data, scales };
}

/** uint8 QuantizeLinear of one float value (float32 division, half to even, saturate): what ONNX Runtime computes. */
export function quantizeValue(x: number, p: Pick<ActivationParams, 'scale' | 'zeroPoint'>): number {
  return Math.min(255, Math.max(0, roundHalfEven(f32(x / p.scale)) + p.zeroPoint));
}
