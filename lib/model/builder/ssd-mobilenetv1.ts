/**
 * SSD MobileNetV1 (TF Object Detection API layout, as frozen in face-api's weights) → ONNX graph.
 *
 * Reproduces face-api 1.7.15's `SsdMobilenetv1.forwardInput` up to the raw head outputs
 * (src/ssdMobilenetv1/{SsdMobilenetv1,mobileNetV1,pointwiseConvLayer,predictionLayer,boxPredictionLayer}.ts):
 *
 *   image [B,3,S,S] float32 RGB 0..255 (NCHW; face-api itself is NHWC), S = 512 for face-api
 *   → x / 127.5 − 1                          (face-api: tf.sub(tf.div(x, 127.5), 1), same two float32 ops)
 *   → MobileNetV1: conv_0 3×3/2 (+bias, relu6), then 13 pairs
 *       depthwise 3×3 (stride 2 at pairs 2, 4, 6, 12) → batchNorm (eps 0.0010000000474974513) → relu6,
 *       pointwise 1×1 + "bn offset" (a bias) → relu6
 *   → prediction convs 0..7 (1×1 s1 / 3×3 s2 alternating, + bias, relu6)
 *   → 6 box predictors (1×1 conv + bias, no activation) on conv_11, conv_13, prediction conv 1, 3, 5, 7
 *   → box_encodings [B,N,4] (ty, tx, th, tw) and class_logits [B,N,C].
 *
 * Weights are keyed by the TF tensor names face-api uses (`MobilenetV1/Conv2d_0_pointwise/weights`,
 * `…/convolution_bn_offset`, `MobilenetV1/Conv2d_1_depthwise/depthwise_weights`, `…/BatchNorm/{gamma,beta,
 * moving_mean,moving_variance}`, `Prediction/Conv2d_k_pointwise/…`, `Prediction/BoxPredictor_l/{BoxEncodingPredictor,
 * ClassPredictor}/{weights,biases}`) with TF layouts: conv filters HWIO [kh, kw, cin, cout], depthwise [kh, kw, c, 1].
 * A checkpoint of the TF-OD `ssd_mobilenet_v1` with BatchNorm after every pointwise conv would first need that
 * batch norm folded into `convolution_bn_offset` (face-api's frozen weights already are).
 */
import { assertKnownKeys, assertObject } from '../../is.ts';
import { GraphBuilder, int64s, tfSamePadding, type Dim } from '../graph.ts';
import type { ModelProto } from '../onnx.ts';
import { WeightReader, type WeightsMap } from './weights.ts';

/** face-api's batch-norm epsilon (float32(1e-3) written out as a double). */
const BN_EPSILON = 0.0010000000474974513;

/** tfjs conv2d filter [kh, kw, cin, cout] (HWIO) → ONNX Conv weight [cout, cin, kh, kw] (OIHW). */
function hwioToOihw(w: Float32Array, [kh, kw, cin, cout]: number[]): Float32Array {
  const out = new Float32Array(w.length);
  for (let y = 0; y < kh; y++)
    for (let x = 0; x < kw; x++)
      for (let i = 0; i < cin; i++)
        for (let o = 0; o < cout; o++) out[((o * cin + i) * kh + y) * kw + x] = w[((y * kw + x) * cin + i) * cout + o];
  return out;
}

/**
 * tfjs depthwiseConv2d filter [kh, kw, c, m] → ONNX grouped Conv weight [c·m, 1, kh, kw] with group = c
 * (output channel c·m + k reads input channel c, which is TF's channel order too).
 */
function depthwiseToOihw(w: Float32Array, [kh, kw, c, m]: number[]): Float32Array {
  const out = new Float32Array(w.length);
  for (let y = 0; y < kh; y++)
    for (let x = 0; x < kw; x++)
      for (let ch = 0; ch < c; ch++)
        for (let k = 0; k < m; k++) out[((ch * m + k) * kh + y) * kw + x] = w[((y * kw + x) * c + ch) * m + k];
  return out;
}

export interface SsdMobilenetV1Options {
  /** Input side in pixels (square); default 512 (face-api). */
  inputSize?: number;
  /** Batch dimension of input and outputs: a number or a symbolic name (default 'batch'). */
  batch?: Dim;
  /**
   * Keep only the first `numClasses` logit columns (a Slice in the graph); default all the class predictor's
   * columns. face-api's model has 3 columns of which only 0 (background) and 1 (face) mean anything.
   */
  numClasses?: number;
  producerVersion?: string;
  docString?: string;
}

export interface SsdMobilenetV1Build {
  model: ModelProto;
  /** N, anchors per image. */
  numAnchors: number;
  /** C, columns of class_logits. */
  numClasses: number;
  /** Names of the weights the graph used (the rest were not needed). */
  used: Set<string>;
}

/**
 * Builds the ONNX graph of an SSD MobileNetV1 (face-api / TF-OD layout) from its weights.
 *
 * Input `image` [B,3,S,S] float32 RGB 0..255 (normalized inside as x/127.5 − 1); outputs `box_encodings`
 * [B,N,4] (ty, tx, th, tw: decode with a 'yxhw' coder, weights 10,10,5,5) and `class_logits` [B,N,C], anchors in
 * level order, row-major over locations, anchor fastest (the order of TF-OD `create_ssd_anchors`).
 *
 * @param weights Tensors by TF name (see the file header for names and layouts).
 * @param options {@link SsdMobilenetV1Options}.
 * @throws {TypeError} A tensor is missing or has the wrong dims.
 * @example
 * const { model } = buildSsdMobilenetV1(weights, { numClasses: 2 });
 */
export function buildSsdMobilenetV1(weights: WeightsMap, options: SsdMobilenetV1Options = {}): SsdMobilenetV1Build {
  assertObject('options', options as unknown);
  assertKnownKeys('options', options, [
    'inputSize',
    'batch',
    'numClasses',
    'producerVersion',
    'docString',
  ] satisfies ReadonlyArray<keyof SsdMobilenetV1Options>);
  const batch = options.batch ?? 'batch';
  const inputSize = options.inputSize ?? 512;
  const w = new WeightReader(weights, 'SSD MobileNetV1');

  const g = new GraphBuilder('ssd_mobilenetv1');
  g.addInput('image', [batch, 3, inputSize, inputSize]);
  const zero = g.addInitializer('const/zero', new Float32Array([0]), []);
  const six = g.addInitializer('const/six', new Float32Array([6]), []);

  // Preprocessing inside the graph so callers feed raw RGB pixels. Kept as Div then Sub (not a Mul by
  // 1/127.5, not folded into conv_0) to match face-api bit for bit: folding would also be wrong at the
  // border, because SAME padding adds zeros *after* normalization (i.e. pixel value 127.5).
  const c127 = g.addInitializer('const/127_5', new Float32Array([127.5]), []);
  const one = g.addInitializer('const/one', new Float32Array([1]), []);
  let x = g.op('Sub', [g.op('Div', ['image', c127], {}, 'preprocess/div'), one], {}, 'preprocess/normalized');
  let size: [number, number] = [inputSize, inputSize];

  /** Conv with TF 'SAME' padding (explicit pads), bias, optional relu6 (Clip 0..6); `weight` already OIHW. */
  const conv = (
    input: string,
    inSize: [number, number],
    name: string,
    weight: Float32Array,
    wDims: number[],
    bias: Float32Array,
    stride: number,
    relu6: boolean,
    group = 1,
  ): { out: string; size: [number, number] } => {
    const [kh, kw] = [wDims[2], wDims[3]];
    const { pads, outSize } = tfSamePadding(inSize, [kh, kw], [stride, stride]);
    const wt = g.addInitializer(`${name}/weight`, weight, wDims);
    const b = g.addInitializer(`${name}/bias`, bias, [wDims[0]]);
    const attrs = { kernel_shape: [kh, kw], strides: [stride, stride], pads, dilations: [1, 1], group };
    let out = g.op('Conv', [input, wt, b], attrs, relu6 ? `${name}/conv` : name);
    if (relu6) out = g.op('Clip', [out, zero, six], {}, `${name}/relu6`);
    return { out, size: outSize };
  };

  /** face-api pointwiseConvLayer: conv (any kernel size) + "convolution_bn_offset" bias + relu6. */
  const pointwise = (input: string, inSize: [number, number], prefix: string, stride: number) => {
    const dims = w.dims(`${prefix}/weights`); // [kh, kw, cin, cout]
    const wt = hwioToOihw(w.get(`${prefix}/weights`, dims), dims);
    const bias = w.get(`${prefix}/convolution_bn_offset`, [dims[3]]);
    return conv(input, inSize, prefix, wt, [dims[3], dims[2], dims[0], dims[1]], bias, stride, true);
  };

  /**
   * face-api depthwiseConvLayer: depthwise conv (no bias) → tf.batchNorm → relu6, with the batch norm
   * folded into the conv. tf.batchNorm(x, mean, var, offset, scale, eps) = (x − mean)·scale/√(var + eps) + offset,
   * so with s = gamma/√(var + eps) (computed in float64): w' = w·s per channel, b' = beta − mean·s.
   * Weights already folded (`${prefix}/biases` instead of `BatchNorm/*`, as the trainable tfjs model of
   * lib/train/models exports them) are used as given.
   */
  const depthwise = (input: string, inSize: [number, number], prefix: string, stride: number) => {
    const dims = w.dims(`${prefix}/depthwise_weights`); // [kh, kw, c, 1]
    const [kh, kw, c, m] = dims;
    if (m !== 1) throw new TypeError(`Expected depth multiplier 1 for ${prefix} but received ${m}`);
    const wt = depthwiseToOihw(w.get(`${prefix}/depthwise_weights`, dims), dims);
    if (w.has(`${prefix}/biases`) && !w.has(`${prefix}/BatchNorm/gamma`)) {
      return conv(input, inSize, prefix, wt, [c, 1, kh, kw], w.get(`${prefix}/biases`, [c]), stride, true, c);
    }
    const gamma = w.get(`${prefix}/BatchNorm/gamma`, [c]);
    const beta = w.get(`${prefix}/BatchNorm/beta`, [c]);
    const mean = w.get(`${prefix}/BatchNorm/moving_mean`, [c]);
    const variance = w.get(`${prefix}/BatchNorm/moving_variance`, [c]);
    const bias = new Float32Array(c);
    const per = kh * kw;
    for (let ch = 0; ch < c; ch++) {
      const s = gamma[ch] / Math.sqrt(variance[ch] + BN_EPSILON);
      for (let k = 0; k < per; k++) wt[ch * per + k] *= s; // rounding of the float64 product to float32
      bias[ch] = beta[ch] - mean[ch] * s;
    }
    return conv(input, inSize, prefix, wt, [c, 1, kh, kw], bias, stride, true, c);
  };

  // MobileNetV1 backbone.
  ({ out: x, size } = pointwise(x, size, 'MobilenetV1/Conv2d_0_pointwise', 2));
  let conv11 = { out: '', size: [0, 0] as [number, number] };
  for (let i = 1; i <= 13; i++) {
    const stride = [2, 4, 6, 12].includes(i) ? 2 : 1; // face-api getStridesForLayerIdx
    ({ out: x, size } = depthwise(x, size, `MobilenetV1/Conv2d_${i}_depthwise`, stride));
    ({ out: x, size } = pointwise(x, size, `MobilenetV1/Conv2d_${i}_pointwise`, 1));
    if (i === 11) conv11 = { out: x, size };
  }

  // Extra feature layers ("prediction layer" convs 0..7: odd ones are 3×3 stride 2).
  const features = [conv11, { out: x, size }];
  let p = { out: x, size };
  for (let i = 0; i <= 7; i++) {
    p = pointwise(p.out, p.size, `Prediction/Conv2d_${i}_pointwise`, i % 2 === 1 ? 2 : 1);
    if (i % 2 === 1) features.push(p);
  }

  // Box predictors. face-api (NHWC) reshapes the conv output [B, H, W, A·k] to [B, H·W·A, k]: anchor
  // index = (y·W + x)·A + a, coordinate fastest — the same row-major-over-locations order as the anchors.
  // Our conv output is NCHW [B, A·k, H, W], so transpose to NHWC first, then Reshape [0, −1, k].
  const boxParts: string[] = [];
  const clsParts: string[] = [];
  let numAnchors = 0;
  let columns = 0;
  features.forEach((f, level) => {
    const anchorsHere = w.dims(`Prediction/BoxPredictor_${level}/BoxEncodingPredictor/weights`)[3] / 4;
    const cols = w.dims(`Prediction/BoxPredictor_${level}/ClassPredictor/weights`)[3] / anchorsHere;
    if (!Number.isInteger(cols) || (columns && cols !== columns)) {
      throw new TypeError(`Expected ClassPredictor channels a multiple of ${anchorsHere} anchors for level ${level}`);
    }
    columns = cols;
    for (const [kind, k, parts] of [
      ['BoxEncodingPredictor', 4, boxParts],
      ['ClassPredictor', cols, clsParts],
    ] as const) {
      const prefix = `Prediction/BoxPredictor_${level}/${kind}`;
      const dims = w.dims(`${prefix}/weights`); // [1, 1, cin, A·k]
      const wt = hwioToOihw(w.get(`${prefix}/weights`, dims), dims);
      const bias = w.get(`${prefix}/biases`, [dims[3]]);
      const { out } = conv(f.out, f.size, prefix, wt, [dims[3], dims[2], dims[0], dims[1]], bias, 1, false);
      const nhwc = g.op('Transpose', [out], { perm: [0, 2, 3, 1] }, `${prefix}/nhwc`);
      const shape = g.has(`const/shape_${k}`)
        ? `const/shape_${k}`
        : g.addInitializer(`const/shape_${k}`, int64s([0, -1, k]), [3]);
      parts.push(g.op('Reshape', [nhwc, shape], {}, `${prefix}/flat`));
    }
    numAnchors += f.size[0] * f.size[1] * anchorsHere;
  });
  const numClasses = options.numClasses ?? columns;
  if (!Number.isInteger(numClasses) || numClasses < 1 || numClasses > columns) {
    throw new RangeError(`Expected numClasses in [1, ${columns}] but received ${numClasses}`);
  }
  g.addNode('Concat', boxParts, ['box_encodings'], { axis: 1 });
  if (numClasses === columns) {
    g.addNode('Concat', clsParts, ['class_logits'], { axis: 1 });
  } else {
    // Drop unused trailing columns so generic scoring (sigmoid per column) emits only meaningful classes.
    const all = g.op('Concat', clsParts, { axis: 1 }, 'class_logits/all');
    const starts = g.addInitializer('const/slice_starts', int64s([0]), [1]);
    const ends = g.addInitializer('const/slice_ends', int64s([numClasses]), [1]);
    const axes = g.addInitializer('const/slice_axes', int64s([2]), [1]);
    g.addNode('Slice', [all, starts, ends, axes], ['class_logits']);
  }
  g.addOutput('box_encodings', [batch, numAnchors, 4]);
  g.addOutput('class_logits', [batch, numAnchors, numClasses]);

  const model = g.toModel({
    producerName: 'ssd-edge',
    producerVersion: options.producerVersion,
    docString: options.docString,
  });
  return { model, numAnchors, numClasses, used: w.used };
}
