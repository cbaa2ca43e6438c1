/**
 * Gradient kernels of 2-D convolutions that tfjs-backend-wasm 4.22 lacks, built from wasm's own kernels (pad,
 * strided slice, batch matmul, multiply, depthwise conv, concat, reshape, reverse):
 * - `Conv2DBackpropFilter`: dW[i,j,c,o] = Σ_{b,y,x} xpad[b, y·sh + i·dh, x·sw + j·dw, c] · dy[b,y,x,o] — one strided
 *   slice of the padded input per filter tap (i, j) and one matmul `dyᵀ · slice` ([Cout, B·Ho·Wo] × [B·Ho·Wo, Cin]),
 *   the taps concatenated and transposed: no im2col buffer (kh·kw times the input), one input-sized slice at a time.
 * - `DepthwiseConv2dNativeBackpropFilter`: per tap, slice ⊙ dy (broadcast over the depth multiplier M) summed over
 *   the B·Ho·Wo positions by a matmul with a row of ones ([1, B·Ho·Wo] × [B·Ho·Wo, Cin·M]).
 * - `DepthwiseConv2dNativeBackpropInput`: the transposed convolution — dy dilated by the strides (zeros between rows
 *   and columns), padded by (k − 1)·d − pad, depthwise-convolved with the spatially flipped filter (same dilations,
 *   stride 1), summed over M.
 * Layout NHWC (NCHW inputs of Conv2DBackpropFilter are transposed first). Attributes and shapes follow tfjs-core's
 * kernels (the cpu backend is the reference the tests compare with: strides, dilations, SAME/VALID/explicit padding,
 * depth multipliers).
 */
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import type { Tf } from '../backend.ts';
import { type KernelBackend, KernelScope } from './run.ts';

type Pad = 'valid' | 'same' | number | [[number, number], [number, number], [number, number], [number, number]];

interface ConvGeometry {
  batchSize: number;
  inHeight: number;
  inWidth: number;
  inChannels: number;
  outHeight: number;
  outWidth: number;
  strideHeight: number;
  strideWidth: number;
  dilationHeight: number;
  dilationWidth: number;
  filterHeight: number;
  filterWidth: number;
  padInfo: { top: number; bottom: number; left: number; right: number };
}

function geometry(
  tf: Tf,
  xShape: number[],
  filterShape: number[],
  strides: number | [number, number],
  dilations: number | [number, number],
  pad: Pad,
  dimRoundingMode: 'floor' | 'round' | 'ceil' | undefined,
  depthwise: boolean,
): ConvGeometry {
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    strides,
    dilations,
    pad as never,
    dimRoundingMode,
    depthwise,
  ) as ConvGeometry;
}

/** xpad sliced at filter tap (i, j): [B, Ho, Wo, C]. */
function tapSlice(s: KernelScope, xpad: TensorInfo, g: ConvGeometry, i: number, j: number): TensorInfo {
  const y0 = i * g.dilationHeight;
  const x0 = j * g.dilationWidth;
  if (g.strideHeight === 1 && g.strideWidth === 1) {
    // Slice: wasm's plain slice is a few times faster than its general strided slice.
    return s.run(
      'Slice',
      { x: xpad },
      { begin: [0, y0, x0, 0], size: [g.batchSize, g.outHeight, g.outWidth, xpad.shape[3]] },
    );
  }
  return s.run(
    'StridedSlice',
    { x: xpad },
    {
      begin: [0, y0, x0, 0],
      end: [
        g.batchSize,
        y0 + (g.outHeight - 1) * g.strideHeight + 1,
        x0 + (g.outWidth - 1) * g.strideWidth + 1,
        xpad.shape[3],
      ],
      strides: [1, g.strideHeight, g.strideWidth, 1],
      beginMask: 0,
      endMask: 0,
      ellipsisMask: 0,
      newAxisMask: 0,
      shrinkAxisMask: 0,
    },
  );
}

/** x padded as the convolution pads it (explicit edges may crop). */
function padInput(s: KernelScope, x: TensorInfo, g: ConvGeometry): TensorInfo {
  const { top, bottom, left, right } = g.padInfo;
  return s.padOrCrop(x, [
    [0, 0],
    [top, bottom],
    [left, right],
    [0, 0],
  ]);
}

/**
 * dW of a (possibly dilated) conv2d, NHWC: x [B,H,W,Cin], dy [B,Ho,Wo,Cout] → [kh,kw,Cin,Cout].
 * Exported for tests and for a dilated-conv gradient.
 */
export function conv2dBackpropFilterNhwc(
  s: KernelScope,
  x: TensorInfo,
  dy: TensorInfo,
  g: ConvGeometry,
  filterShape: number[],
): TensorInfo {
  const [kh, kw, cin, cout] = filterShape;
  const rows = g.batchSize * g.outHeight * g.outWidth;
  const xpad = padInput(s, x, g);
  // dyᵀ once ([1, Cout, rows]); per tap dWᵀ = dyᵀ · slice ([Cout, Cin]): wasm's matmul is ~60× faster without
  // transposeA (its transposed path is a plain loop), so the transposes are explicit and done once.
  const dyT = s.run('Transpose', { x: s.reshape(dy, [1, rows, cout]) }, { perm: [0, 2, 1] });
  const taps: TensorInfo[] = [];
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      const slice = s.reshape(tapSlice(s, xpad, g, i, j), [1, rows, cin]);
      taps.push(s.run('BatchMatMul', { a: dyT, b: slice }, { transposeA: false, transposeB: false }));
    }
  }
  const all = taps.length === 1 ? taps[0] : s.run('Concat', taps, { axis: 0 }); // [kh·kw, Cout, Cin]
  const transposed = s.run('Transpose', { x: all }, { perm: [0, 2, 1] });
  return s.reshape(transposed, filterShape);
}

const NCHW_TO_NHWC = [0, 2, 3, 1];

export function conv2dBackpropFilterConfig(tf: Tf, backendName: string): KernelConfig {
  const kernelFunc: KernelFunc = ({ inputs, backend, attrs }) => {
    const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
    const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs as unknown as {
      strides: [number, number] | number;
      pad: Pad;
      dataFormat: 'NHWC' | 'NCHW';
      dimRoundingMode?: 'floor' | 'round' | 'ceil';
      filterShape: [number, number, number, number];
    };
    const s = new KernelScope(tf, backend as unknown as KernelBackend, backendName);
    const nchw = dataFormat === 'NCHW';
    const xN = nchw ? s.run('Transpose', { x }, { perm: NCHW_TO_NHWC }) : x;
    const dyN = nchw ? s.run('Transpose', { x: dy }, { perm: NCHW_TO_NHWC }) : dy;
    // Explicit pads come in the data format's layout: [[0, 0], [0, 0], H, W] for NCHW.
    const padN = nchw && Array.isArray(pad) ? ([pad[0], pad[2], pad[3], pad[1]] as Pad) : pad;
    const g = geometry(tf, xN.shape, filterShape, strides, 1, padN, dimRoundingMode, false);
    return s.done(conv2dBackpropFilterNhwc(s, xN, dyN, g, filterShape));
  };
  return { kernelName: 'Conv2DBackpropFilter', backendName, kernelFunc };
}

export function depthwiseBackpropFilterConfig(tf: Tf, backendName: string): KernelConfig {
  const kernelFunc: KernelFunc = ({ inputs, backend, attrs }) => {
    const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
    const { strides, dilations, pad, dimRoundingMode, filterShape } = attrs as unknown as {
      strides: [number, number] | number;
      dilations: [number, number] | number;
      pad: Pad;
      dimRoundingMode?: 'floor' | 'round' | 'ceil';
      filterShape: [number, number, number, number];
    };
    const s = new KernelScope(tf, backend as unknown as KernelBackend, backendName);
    const g = geometry(tf, x.shape, filterShape, strides, dilations ?? 1, pad, dimRoundingMode, true);
    const [kh, kw, cin, mult] = filterShape;
    const rows = g.batchSize * g.outHeight * g.outWidth;
    const xpad = padInput(s, x, g);
    const dyR = s.reshape(dy, [rows, cin, mult]);
    const ones = s.run('Fill', {}, { shape: [1, 1, rows], value: 1, dtype: 'float32' });
    const taps: TensorInfo[] = [];
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        const slice = s.reshape(tapSlice(s, xpad, g, i, j), [rows, cin, 1]);
        const product = s.run('Multiply', { a: slice, b: dyR });
        const product3 = s.reshape(product, [1, rows, cin * mult]);
        taps.push(s.run('BatchMatMul', { a: ones, b: product3 }, { transposeA: false, transposeB: false }));
      }
    }
    const all = taps.length === 1 ? taps[0] : s.run('Concat', taps, { axis: 0 });
    return s.done(s.reshape(all, filterShape));
  };
  return { kernelName: 'DepthwiseConv2dNativeBackpropFilter', backendName, kernelFunc };
}

/** dy [B,Ho,Wo,C] with (stride − 1) zeros after every row / column: [B, Ho·sh, Wo·sw, C]. */
function dilateByStrides(s: KernelScope, dy: TensorInfo, sh: number, sw: number): TensorInfo {
  if (sh === 1 && sw === 1) return dy;
  const [b, ho, wo, c] = dy.shape;
  const six = s.reshape(dy, [b, ho, 1, wo, 1, c]);
  const padded = s.run(
    'PadV2',
    { x: six },
    {
      paddings: [
        [0, 0],
        [0, 0],
        [0, sh - 1],
        [0, 0],
        [0, sw - 1],
        [0, 0],
      ],
      constantValue: 0,
    },
  );
  return s.reshape(padded, [b, ho * sh, wo * sw, c]);
}

export function depthwiseBackpropInputConfig(tf: Tf, backendName: string): KernelConfig {
  const kernelFunc: KernelFunc = ({ inputs, backend, attrs }) => {
    const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo };
    const { strides, dilations, pad, dimRoundingMode, inputShape } = attrs as unknown as {
      strides: [number, number] | number;
      dilations: [number, number] | number;
      pad: Pad;
      dimRoundingMode?: 'floor' | 'round' | 'ceil';
      inputShape: [number, number, number, number];
    };
    const s = new KernelScope(tf, backend as unknown as KernelBackend, backendName);
    const g = geometry(tf, inputShape, filter.shape, strides, dilations ?? 1, pad, dimRoundingMode, true);
    const [kh, kw, cin, mult] = filter.shape;
    const dyd = dilateByStrides(s, dy, g.strideHeight, g.strideWidth);
    // dx[h] = Σ_i dyd[h + top − i·dh]·W[i]: a correlation of dyd shifted by (kh − 1)·dh − top with the flipped filter.
    const top = (kh - 1) * g.dilationHeight - g.padInfo.top;
    const left = (kw - 1) * g.dilationWidth - g.padInfo.left;
    const bottom = g.inHeight + (kh - 1) * g.dilationHeight - top - dyd.shape[1];
    const right = g.inWidth + (kw - 1) * g.dilationWidth - left - dyd.shape[2];
    const padded = s.padOrCrop(dyd, [
      [0, 0],
      [top, bottom],
      [left, right],
      [0, 0],
    ]);
    const flipped = s.reshape(s.run('Reverse', { x: filter }, { dims: [0, 1] }), [kh, kw, cin * mult, 1]);
    const conv = s.run(
      'DepthwiseConv2dNative',
      { x: padded, filter: flipped },
      { strides: [1, 1], pad: 'valid', dilations: [g.dilationHeight, g.dilationWidth] },
    );
    if (mult === 1) return s.done(conv);
    const split = s.reshape(conv, [g.batchSize, g.inHeight, g.inWidth, cin, mult]);
    return s.done(s.run('Sum', { x: split }, { axis: [4], keepDims: false }));
  };
  return { kernelName: 'DepthwiseConv2dNativeBackpropInput', backendName, kernelFunc };
}
