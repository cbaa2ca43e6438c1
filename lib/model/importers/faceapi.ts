/**
 * Importer: @vladmandic/face-api's SSD MobileNetV1 face detector (tfjs weights) → ONNX.
 *
 * Reproduces face-api 1.7.15's `SsdMobilenetv1.forwardInput` up to the raw head outputs
 * (src/ssdMobilenetv1/{SsdMobilenetv1,mobileNetV1,pointwiseConvLayer,predictionLayer,boxPredictionLayer}.ts):
 *
 *   image [B,3,512,512] float32 RGB 0..255 (NCHW; face-api itself is NHWC)
 *   → x / 127.5 − 1                          (face-api: tf.sub(tf.div(x, 127.5), 1), same two float32 ops)
 *   → MobileNetV1: conv_0 3×3/2 (+bias, relu6), then 13 pairs
 *       depthwise 3×3 (stride 2 at pairs 2, 4, 6, 12) → batchNorm (eps 0.0010000000474974513) → relu6,
 *       pointwise 1×1 + "bn offset" (a bias) → relu6
 *   → prediction convs 0..7 (1×1 s1 / 3×3 s2 alternating, + bias, relu6)
 *   → 6 box predictors (1×1 conv + bias, no activation) on conv_11 (32², 3 anchors), conv_13 (16², 6),
 *     prediction conv 1, 3, 5, 7 (8², 4², 2², 1², 6 anchors each)
 *   → box_encodings [B,5118,4] (ty, tx, th, tw) and class_logits [B,5118,3].
 *
 * Nothing after the heads is in the graph: decoding against the anchors, sigmoid(logit[:,1]), NMS and
 * the mapping back to image pixels are the detector's job (see the report / docs for face-api's rules).
 * The anchors (tensor `Output/extra_dim`, float32, ymin/xmin/ymax/xmax normalized) are returned as-is.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { GraphBuilder, int64s, tfSamePadding, type Dim } from '../graph.ts';
import type { ModelProto } from '../onnx.ts';

// --- tfjs weights ---------------------------------------------------------------------------------

/** One entry of a tfjs weights manifest. */
export interface TfjsWeightSpec {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32' | string;
  quantization?: { dtype: 'uint8' | 'uint16' | 'float16' | string; scale?: number; min?: number };
}
/** A tfjs `*-weights_manifest.json`: groups of shards (`paths`, concatenated) holding `weights` in order. */
export type TfjsWeightsManifest = Array<{ paths: string[]; weights: TfjsWeightSpec[] }>;

export interface WeightTensor {
  shape: number[];
  data: Float32Array | Int32Array;
}

const BYTES: Record<string, number> = { float32: 4, int32: 4, uint8: 1, uint16: 2, float16: 2 };

/**
 * Decode a tfjs weights manifest + shards into float32 / int32 arrays, like tfjs-core's `decodeWeights`:
 * tensors are stored back to back in manifest order; a `quantization: {dtype: uint8|uint16, scale, min}`
 * entry stores q (1 or 2 bytes per value) and value = q·scale + min, computed in float64 and rounded
 * to float32 (int32 tensors: Math.round of it). face-api's SSD model: 150 uint8-quantized tensors
 * (135 float32 weights, 15 int32 graph constants we do not use) and one raw float32 (the anchors).
 */
export function decodeTfjsWeights(
  manifest: TfjsWeightsManifest,
  readShard: (file: string) => Uint8Array,
): Map<string, WeightTensor> {
  const out = new Map<string, WeightTensor>();
  for (const group of manifest) {
    const shards = group.paths.map(readShard);
    const buf = new Uint8Array(shards.reduce((n, s) => n + s.byteLength, 0));
    let o = 0;
    for (const s of shards) { buf.set(s, o); o += s.byteLength; }
    const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);

    let offset = 0;
    for (const spec of group.weights) {
      const size = spec.shape.reduce((a, b) => a * b, 1);
      const q = spec.quantization;
      const storedType = q ? q.dtype : spec.dtype;
      const bytesPer = BYTES[storedType];
      if (!bytesPer) throw new Error(`weight ${spec.name}: unsupported stored dtype ${storedType}`);
      if (offset + size * bytesPer > buf.byteLength) throw new Error(`weight ${spec.name}: shard too short`);
      if (spec.dtype !== 'float32' && spec.dtype !== 'int32') {
        throw new Error(`weight ${spec.name}: unsupported dtype ${spec.dtype}`);
      }
      const data = spec.dtype === 'float32' ? new Float32Array(size) : new Int32Array(size);
      if (q) {
        if (q.dtype !== 'uint8' && q.dtype !== 'uint16') throw new Error(`weight ${spec.name}: ${q.dtype} quantization not supported`);
        if (typeof q.scale !== 'number' || typeof q.min !== 'number') throw new Error(`weight ${spec.name}: quantization without scale/min`);
        for (let i = 0; i < size; i++) {
          const v = q.dtype === 'uint8' ? buf[offset + i] : view.getUint16(offset + 2 * i, true);
          const real = v * q.scale + q.min; // float64, as tfjs does
          data[i] = spec.dtype === 'int32' ? Math.round(real) : real;
        }
      } else {
        for (let i = 0; i < size; i++) {
          data[i] = spec.dtype === 'float32' ? view.getFloat32(offset + 4 * i, true) : view.getInt32(offset + 4 * i, true);
        }
      }
      offset += size * bytesPer;
      out.set(spec.name, { shape: [...spec.shape], data });
    }
    if (offset !== buf.byteLength) throw new Error(`weights manifest covers ${offset} of ${buf.byteLength} shard bytes`);
  }
  return out;
}

/** Folder with face-api's bundled weights (node_modules/@vladmandic/face-api/model). */
export function faceApiModelDir(): string {
  const require = createRequire(import.meta.url);
  return path.join(path.dirname(require.resolve('@vladmandic/face-api/package.json')), 'model');
}

/** The SSD MobileNetV1 weights from a face-api model folder (manifest + shard). */
export function readFaceApiSsdWeights(modelDir: string = faceApiModelDir()): Map<string, WeightTensor> {
  const manifestPath = path.join(modelDir, 'ssd_mobilenetv1_model-weights_manifest.json');
  const manifest = JSON.parse(fs.readFileSync(manifestPath, 'utf8')) as TfjsWeightsManifest;
  return decodeTfjsWeights(manifest, (file) => fs.readFileSync(path.join(modelDir, file)));
}

// --- layout helpers -------------------------------------------------------------------------------

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

// --- the network ----------------------------------------------------------------------------------

/** face-api's batch-norm epsilon (float32(1e-3) written out as a double). */
const BN_EPSILON = 0.0010000000474974513;
const INPUT_SIZE = 512;
export const FACEAPI_NUM_ANCHORS = 5118;

export interface FaceApiSsdImportOptions {
  /** face-api model folder (default: the installed package's `model/`). */
  modelDir?: string;
  /** Decoded weights (skips reading `modelDir`). */
  weights?: Map<string, WeightTensor>;
  /** metadata_props to write into the model (schema defined by the caller). */
  metadata?: Record<string, string>;
  /** Batch dimension of input and outputs: a number or a symbolic name (default 'batch'). */
  batch?: Dim;
  producerVersion?: string;
}

export interface FaceApiSsdImport {
  model: ModelProto;
  /** [5118·4] ymin, xmin, ymax, xmax normalized to the 512×512 input, exactly as stored (`Output/extra_dim`). */
  anchors: Float32Array;
}

/** Build the ONNX model of face-api's SSD MobileNetV1 (raw heads) and return it with the anchors. */
export function importFaceApiSsdMobilenetv1(options: FaceApiSsdImportOptions = {}): FaceApiSsdImport {
  const weights = options.weights ?? readFaceApiSsdWeights(options.modelDir);
  const batch = options.batch ?? 'batch';

  const used = new Set<string>();
  const get = (name: string, shape?: number[]): Float32Array => {
    const t = weights.get(name);
    if (!t) throw new Error(`face-api weights: missing tensor ${name}`);
    if (!(t.data instanceof Float32Array)) throw new Error(`face-api weights: ${name} is not float32`);
    if (shape && t.shape.join(',') !== shape.join(',')) {
      throw new Error(`face-api weights: ${name} has shape [${t.shape}], expected [${shape}]`);
    }
    used.add(name);
    return t.data;
  };
  const shapeOf = (name: string): number[] => {
    const t = weights.get(name);
    if (!t) throw new Error(`face-api weights: missing tensor ${name}`);
    return t.shape;
  };

  const g = new GraphBuilder('faceapi_ssd_mobilenetv1');
  g.addInput('image', [batch, 3, INPUT_SIZE, INPUT_SIZE]);
  const zero = g.addInitializer('const/zero', new Float32Array([0]), []);
  const six = g.addInitializer('const/six', new Float32Array([6]), []);

  // Preprocessing inside the graph so callers feed raw RGB pixels. Kept as Div then Sub (not a Mul by
  // 1/127.5, not folded into conv_0) to match face-api bit for bit: folding would also be wrong at the
  // border, because SAME padding adds zeros *after* normalization (i.e. pixel value 127.5).
  const c127 = g.addInitializer('const/127_5', new Float32Array([127.5]), []);
  const one = g.addInitializer('const/one', new Float32Array([1]), []);
  let x = g.op('Sub', [g.op('Div', ['image', c127], {}, 'preprocess/div'), one], {}, 'preprocess/normalized');
  let size: [number, number] = [INPUT_SIZE, INPUT_SIZE];

  /**
   * Conv with TF 'SAME' padding (explicit, possibly asymmetric pads), bias, optional relu6 (Clip 0..6).
   * `weight` is already OIHW; `group` > 1 for depthwise.
   */
  const conv = (
    input: string, inSize: [number, number], name: string, weight: Float32Array, wDims: number[],
    bias: Float32Array, stride: number, relu6: boolean, group = 1,
  ): { out: string; size: [number, number] } => {
    const [kh, kw] = [wDims[2], wDims[3]];
    const { pads, outSize } = tfSamePadding(inSize, [kh, kw], [stride, stride]);
    const w = g.addInitializer(`${name}/weight`, weight, wDims);
    const b = g.addInitializer(`${name}/bias`, bias, [wDims[0]]);
    const attrs = { kernel_shape: [kh, kw], strides: [stride, stride], pads, dilations: [1, 1], group };
    let out = g.op('Conv', [input, w, b], attrs, relu6 ? `${name}/conv` : name);
    if (relu6) out = g.op('Clip', [out, zero, six], {}, `${name}/relu6`);
    return { out, size: outSize };
  };

  /** face-api pointwiseConvLayer: conv (any kernel size) + "convolution_bn_offset" bias + relu6. */
  const pointwise = (input: string, inSize: [number, number], prefix: string, stride: number) => {
    const dims = shapeOf(`${prefix}/weights`); // [kh, kw, cin, cout]
    const w = hwioToOihw(get(`${prefix}/weights`, dims), dims);
    const bias = get(`${prefix}/convolution_bn_offset`, [dims[3]]);
    return conv(input, inSize, prefix, w, [dims[3], dims[2], dims[0], dims[1]], bias, stride, true);
  };

  /**
   * face-api depthwiseConvLayer: depthwise conv (no bias) → tf.batchNorm → relu6, with the batch norm
   * folded into the conv. tf.batchNorm(x, mean, var, offset, scale, eps) = (x − mean)·scale/√(var + eps) + offset,
   * so with s = gamma/√(var + eps) (computed in float64): w' = w·s per channel, b' = beta − mean·s.
   * (face-api stores gamma/beta/moving_mean/moving_variance for the depthwise convs only; its pointwise
   * convs carry just an additive `convolution_bn_offset` — their batch norm was evidently folded into the
   * weights when the TF model was frozen — which is an ordinary bias here.)
   */
  const depthwise = (input: string, inSize: [number, number], prefix: string, stride: number) => {
    const dims = shapeOf(`${prefix}/depthwise_weights`); // [kh, kw, c, 1]
    const [kh, kw, c, m] = dims;
    if (m !== 1) throw new Error(`${prefix}: depth multiplier ${m} not supported`);
    const w = depthwiseToOihw(get(`${prefix}/depthwise_weights`, dims), dims);
    const gamma = get(`${prefix}/BatchNorm/gamma`, [c]);
    const beta = get(`${prefix}/BatchNorm/beta`, [c]);
    const mean = get(`${prefix}/BatchNorm/moving_mean`, [c]);
    const variance = get(`${prefix}/BatchNorm/moving_variance`, [c]);
    const bias = new Float32Array(c);
    const per = kh * kw;
    for (let ch = 0; ch < c; ch++) {
      const s = gamma[ch] / Math.sqrt(variance[ch] + BN_EPSILON);
      for (let k = 0; k < per; k++) w[ch * per + k] *= s; // rounding of the float64 product to float32
      bias[ch] = beta[ch] - mean[ch] * s;
    }
    return conv(input, inSize, prefix, w, [c, 1, kh, kw], bias, stride, true, c);
  };

  // MobileNetV1 backbone.
  ({ out: x, size } = pointwise(x, size, 'MobilenetV1/Conv2d_0_pointwise', 2));
  let conv11 = '';
  let conv11Size: [number, number] = [0, 0];
  for (let i = 1; i <= 13; i++) {
    const stride = [2, 4, 6, 12].includes(i) ? 2 : 1; // face-api getStridesForLayerIdx
    ({ out: x, size } = depthwise(x, size, `MobilenetV1/Conv2d_${i}_depthwise`, stride));
    ({ out: x, size } = pointwise(x, size, `MobilenetV1/Conv2d_${i}_pointwise`, 1));
    if (i === 11) { conv11 = x; conv11Size = size; }
  }

  // Extra feature layers ("prediction layer" convs 0..7: odd ones are 3×3 stride 2).
  const features: Array<{ out: string; size: [number, number] }> = [{ out: conv11, size: conv11Size }, { out: x, size }];
  let p = { out: x, size };
  for (let i = 0; i <= 7; i++) {
    p = pointwise(p.out, p.size, `Prediction/Conv2d_${i}_pointwise`, i % 2 === 1 ? 2 : 1);
    if (i % 2 === 1) features.push(p);
  }

  // Box predictors. face-api (NHWC) reshapes the conv output [B, H, W, A·k] to [B, H·W·A, k]: anchor
  // index = (y·W + x)·A + a, coordinate fastest — the same row-major-over-locations order as the anchors.
  // Our conv output is NCHW [B, A·k, H, W], so transpose to NHWC first, then Reshape [0, −1, k]
  // (0 = keep the batch dimension). Levels are concatenated in predictor order 0..5 along axis 1.
  const shape4 = g.addInitializer('const/shape_box', int64s([0, -1, 4]), [3]);
  const shape3 = g.addInitializer('const/shape_cls', int64s([0, -1, 3]), [3]);
  const boxParts: string[] = [];
  const clsParts: string[] = [];
  let numAnchors = 0;
  features.forEach((f, level) => {
    for (const [kind, k, shape, parts] of [
      ['BoxEncodingPredictor', 4, shape4, boxParts],
      ['ClassPredictor', 3, shape3, clsParts],
    ] as const) {
      const prefix = `Prediction/BoxPredictor_${level}/${kind}`;
      const dims = shapeOf(`${prefix}/weights`); // [1, 1, cin, A·k]
      const w = hwioToOihw(get(`${prefix}/weights`, dims), dims);
      const bias = get(`${prefix}/biases`, [dims[3]]);
      const { out } = conv(f.out, f.size, prefix, w, [dims[3], dims[2], dims[0], dims[1]], bias, 1, false);
      const nhwc = g.op('Transpose', [out], { perm: [0, 2, 3, 1] }, `${prefix}/nhwc`);
      parts.push(g.op('Reshape', [nhwc, shape], {}, `${prefix}/flat`));
      if (kind === 'ClassPredictor') numAnchors += f.size[0] * f.size[1] * (dims[3] / k);
    }
  });
  if (numAnchors !== FACEAPI_NUM_ANCHORS) throw new Error(`face-api SSD: ${numAnchors} anchors, expected ${FACEAPI_NUM_ANCHORS}`);
  g.addNode('Concat', boxParts, ['box_encodings'], { axis: 1 });
  g.addNode('Concat', clsParts, ['class_logits'], { axis: 1 });
  g.addOutput('box_encodings', [batch, FACEAPI_NUM_ANCHORS, 4]);
  g.addOutput('class_logits', [batch, FACEAPI_NUM_ANCHORS, 3]);

  const anchors = Float32Array.from(get('Output/extra_dim', [1, FACEAPI_NUM_ANCHORS, 4]));

  // Every float32 weight must have been consumed (the int32 tensors are tfjs graph constants).
  // (Preprocessor/mul/x = 1/127.5 and Preprocessor/sub/y = 1 exist too; face-api hard-codes 127.5 and 1.)
  const unused = [...weights].filter(([n, t]) => t.data instanceof Float32Array && !used.has(n) && !n.startsWith('Preprocessor/'));
  if (unused.length) throw new Error(`face-api weights not used: ${unused.map(([n]) => n).join(', ')}`);

  const model = g.toModel({
    producerName: 'ssd-edge',
    producerVersion: options.producerVersion,
    docString:
      'SSD MobileNetV1 face detector converted from @vladmandic/face-api weights. Input image: float32 ' +
      'NCHW RGB in 0..255 (512x512, normalized inside as x/127.5-1). Outputs: box_encodings (ty,tx,th,tw; ' +
      'decode against the anchors with scales 10,10,5,5) and class_logits (score = sigmoid(logit[:,1])).',
    metadata: options.metadata,
  });
  return { model, anchors };
}
