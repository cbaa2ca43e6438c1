/**
 * Importer: TFLite SSD detectors (TF Object Detection API exports ending in the custom op
 * `TFLite_Detection_PostProcess`) → ssd-edge ONNX model. Pure: bytes in, graph + spec out.
 *
 * The graph up to the post-processing op is converted operator by operator (CONV_2D, DEPTHWISE_CONV_2D, ADD, SUB,
 * MUL, MAX_POOL_2D, AVERAGE_POOL_2D, RELU, RELU6, HARD_SWISH, LOGISTIC, RESHAPE, SQUEEZE, CONCATENATION, QUANTIZE,
 * DEQUANTIZE). Spatial tensors are NCHW inside the ONNX
 * graph (TFLite is NHWC): a Transpose back to NHWC is inserted before any reshape, so the anchor order is TFLite's.
 * The op's two inputs become the outputs `box_encodings` [1,N,4] (ty, tx, th, tw) and `class_scores` [1,N,C] (the
 * scores the op itself reads, so scoring is 'none'); its third input, the anchors constant (quantized in the COCO
 * model), becomes the spec's anchors; its flexbuffer options the box coder scales and the NMS settings.
 *
 * uint8 models are converted either
 * - kept quantized (default): every uint8 activation stays uint8 in ONNX; each op is written as
 *   DequantizeLinear → float op → QuantizeLinear with TFLite's scale/zero point (the QDQ form), which ONNX Runtime
 *   fuses into its integer kernels (QLinearConv …), or
 * - dequantized (`dequantize: true`): weights dequantized to float32 initializers, a float graph.
 *
 * Input: the ONNX input `image` is float32 NHWC [1,H,W,3]; the spec's mean/std carry the input tensor's
 * quantization (uint8 q read as (q − zero point)·scale: mean = zero point, std = 1/scale), so the graph sees the
 * float values the TFLite network sees; the quantized graph re-quantizes them (round to the uint8 pixel).
 */
import { encodeAnchors, type ModelSpec } from '../spec.ts';
import { float as floatAttr, GraphBuilder, int64s, tfSamePadding } from '../graph.ts';
import type { ModelProto } from '../onnx.ts';
import { writeModelSpec } from '../metadata.ts';
import { assertKnownKeys, assertObject, invalidParameterError } from '../../is.ts';
import {
  BUILTIN_NAMES,
  BuiltinOperator as Op,
  readFlexbufferMap,
  readTflite,
  scalar,
  TENSOR_TYPE_NAMES,
  TensorType,
  type TfliteModel,
  type TfliteTensor,
} from '../tflite/schema.ts';
import { pickLabels } from './common.ts';

/** Converter id stored in the spec; bump when the graph or spec written here changes. */
export const TFLITE_CONVERTER = 'ssd-edge/tflite-importer@2';

export interface TfliteImportOptions {
  /** Class names: C (background first) or C − 1 (background '???' prepended). Default: built-in list for C. */
  labels?: string[];
  /** Spec name (default 'tflite-ssd'). */
  name?: string;
  /** Provenance text (e.g. the file name). */
  source?: string;
  /** Write a float graph (weights dequantized) instead of keeping the uint8 model quantized. */
  dequantize?: boolean;
}

export interface TfliteImport {
  model: ModelProto;
  spec: ModelSpec;
  /** What was found, one line each. */
  report: string[];
}

const OPTION_KEYS = ['labels', 'name', 'source', 'dequantize'] as const;
const POSTPROCESS_OP = 'TFLite_Detection_PostProcess';

interface Value {
  /** ONNX value name. */
  name: string;
  /** 'nchw': a 4-D spatial tensor transposed to NCHW; 'plain': TFLite's own layout. */
  layout: 'nchw' | 'plain';
  /** The ONNX value is uint8 holding TFLite's quantized values (quantized mode). */
  quant: boolean;
}

const what = 'TFLite SSD';

function fail(message: string): never {
  throw new TypeError(`${what}: ${message}`);
}

const tensorDesc = (t: TfliteTensor) =>
  `'${t.name}' ${TENSOR_TYPE_NAMES[t.type] ?? `type ${t.type}`} [${t.shape.join(', ')}]`;

/** Element count of a constant tensor, checked against its data (a corrupt shape cannot make us read past it). */
function constantSize(t: TfliteTensor, bytesPer: number): number {
  if (!t.data) fail(`tensor ${tensorDesc(t)} has no constant data`);
  if (t.shape.some((d) => !Number.isInteger(d) || d < 0)) fail(`constant ${tensorDesc(t)} has an unknown dim`);
  const n = t.shape.reduce((a, b) => a * b, 1);
  if (t.data.byteLength < n * bytesPer)
    fail(`constant ${tensorDesc(t)} has ${t.data.byteLength} bytes, expected ${n * bytesPer}`);
  return n;
}

/** Float value of every element of a constant tensor (float32 as is, integer types dequantized per tensor/channel). */
export function constantToFloat(t: TfliteTensor): Float32Array {
  const bytes =
    t.type === TensorType.FLOAT32 || t.type === TensorType.INT32
      ? 4
      : t.type === TensorType.UINT8 || t.type === TensorType.INT8
        ? 1
        : 0;
  if (!bytes) fail(`constant ${tensorDesc(t)}: element type not supported`);
  const n = constantSize(t, bytes);
  const d = t.data!;
  const view = new DataView(d.buffer, d.byteOffset, d.byteLength);
  const out = new Float32Array(n);
  const q = t.quantization;
  const axis = q && q.scale.length > 1 ? q.quantizedDimension : -1;
  if (
    axis >= 0 &&
    !(axis < t.shape.length && t.shape[axis] === q!.scale.length && q!.zeroPoint.length >= q!.scale.length)
  )
    fail(`constant ${tensorDesc(t)}: ${q!.scale.length} per-channel scales on dim ${axis}`);
  const inner = axis >= 0 ? t.shape.slice(axis + 1).reduce((a, b) => a * b, 1) : 1;
  for (let i = 0; i < n; i++) {
    let raw: number;
    if (t.type === TensorType.FLOAT32) {
      out[i] = view.getFloat32(4 * i, true);
      continue;
    }
    if (t.type === TensorType.INT32) raw = view.getInt32(4 * i, true);
    else if (t.type === TensorType.UINT8) raw = d[i];
    else raw = view.getInt8(i);
    if (!q) {
      out[i] = raw;
      continue;
    }
    const c = axis >= 0 ? Math.floor(i / inner) % t.shape[axis] : 0;
    out[i] = (raw - q.zeroPoint[c]) * q.scale[c];
  }
  return out;
}

/** Permutes the elements of a dense array of `shape` by `perm` (like numpy.transpose). */
function transposeData<T extends Float32Array | Uint8Array | Int8Array>(data: T, shape: number[], perm: number[]): T {
  const outShape = perm.map((p) => shape[p]);
  const strides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
  const out = new (data.constructor as new (n: number) => T)(data.length);
  const idx = new Array(outShape.length).fill(0);
  for (let o = 0; o < data.length; o++) {
    let src = 0;
    for (let k = 0; k < perm.length; k++) src += idx[k] * strides[perm[k]];
    out[o] = data[src];
    for (let k = outShape.length - 1; k >= 0; k--) {
      if (++idx[k] < outShape[k]) break;
      idx[k] = 0;
    }
  }
  return out;
}

class Converter {
  readonly g = new GraphBuilder('tflite_ssd', { opset: 13 });
  readonly values = new Map<number, Value>();
  readonly counts = new Map<string, number>();
  private constCount = 0;

  constructor(
    readonly m: TfliteModel,
    readonly quantized: boolean,
  ) {}

  private isQuantTensor(t: TfliteTensor): boolean {
    return (t.type === TensorType.UINT8 || t.type === TensorType.INT8) && t.quantization !== null;
  }

  private scalarInit(base: string, value: number, type: 'float' | 'uint8' | 'int32'): string {
    const name = this.g.uniqueName(base);
    const data =
      type === 'float' ? Float32Array.of(value) : type === 'uint8' ? Uint8Array.of(value) : Int32Array.of(value);
    return this.g.addInitializer(name, data, []);
  }

  /** DequantizeLinear of a uint8/int32 ONNX value with the tensor's quantization. */
  private dequant(name: string, t: TfliteTensor, zeroType: 'uint8' | 'int32', axis?: number): string {
    const q = t.quantization!;
    const base = t.name || `t${t.index}`;
    let scale: string;
    let zero: string;
    if (q.scale.length > 1) {
      scale = this.g.addInitializer(this.g.uniqueName(`${base}_scale`), Float32Array.from(q.scale), [q.scale.length]);
      const zp = q.zeroPoint.slice(0, q.scale.length);
      zero =
        zeroType === 'int32'
          ? this.g.addInitializer(this.g.uniqueName(`${base}_zp`), Int32Array.from(zp), [zp.length])
          : this.g.addInitializer(this.g.uniqueName(`${base}_zp`), Uint8Array.from(zp), [zp.length]);
    } else {
      scale = this.scalarInit(`${base}_scale`, q.scale[0], 'float');
      zero = this.scalarInit(`${base}_zp`, q.zeroPoint[0], zeroType);
    }
    return this.g.op('DequantizeLinear', [name, scale, zero], axis !== undefined ? { axis } : {}, `${base}_dq`);
  }

  /**
   * A constant as a float ONNX value, its data permuted by `perm`: in quantized mode uint8/int32 data stays integer
   * behind a DequantizeLinear (the QDQ form ORT fuses), otherwise dequantized float32 data.
   */
  constant(t: TfliteTensor, perm?: number[], dims?: number[]): string {
    if (!t.data) fail(`tensor ${tensorDesc(t)} is neither computed nor constant`);
    const shape = t.shape;
    const outDims = dims ?? (perm ? perm.map((p) => shape[p]) : shape);
    const base = this.g.uniqueName(t.name || `const${this.constCount++}`);
    const q = t.quantization;
    if (this.quantized && q && t.type === TensorType.UINT8) {
      let data: Uint8Array = t.data.slice(0, constantSize(t, 1));
      if (perm) data = transposeData(data, shape, perm);
      const init = this.g.addInitializer(base, data, outDims);
      const axis = q.scale.length > 1 ? (perm ? perm.indexOf(q.quantizedDimension) : q.quantizedDimension) : undefined;
      return this.dequant(init, t, 'uint8', axis);
    }
    if (this.quantized && q && t.type === TensorType.INT32 && q.scale.length === 1) {
      const n = constantSize(t, 4);
      const data = new Int32Array(n);
      const view = new DataView(t.data.buffer, t.data.byteOffset, t.data.byteLength);
      for (let i = 0; i < n; i++) data[i] = view.getInt32(4 * i, true);
      const init = this.g.addInitializer(base, data, outDims);
      return this.dequant(init, t, 'int32');
    }
    let data = constantToFloat(t);
    if (perm) data = transposeData(data, shape, perm);
    return this.g.addInitializer(base, data, outDims);
  }

  /** The float ONNX value of a tensor in the given layout. */
  float(index: number, layout?: 'nchw' | 'plain'): string {
    const t = this.m.tensors[index];
    const v = this.values.get(index);
    if (!v) return this.constant(t);
    let name = v.name;
    if (v.quant) name = this.dequant(name, t, 'uint8');
    if (layout && layout !== v.layout && t.shape.length === 4) {
      const perm = layout === 'nchw' ? [0, 3, 1, 2] : [0, 2, 3, 1];
      name = this.g.op('Transpose', [name], { perm }, `${t.name || `t${index}`}_${layout}`);
    }
    return name;
  }

  /**
   * Records the float result of an op for TFLite tensor `index`: re-quantized in quantized mode; in the dequantized
   * graph clamped to the range the quantized tensor can hold when `clamp` (arithmetic ops).
   */
  set(index: number, name: string, layout: 'nchw' | 'plain', clamp = false): void {
    const t = this.m.tensors[index];
    if (this.quantized && this.isQuantTensor(t) && t.type === TensorType.UINT8) {
      const q = t.quantization!;
      const base = t.name || `t${index}`;
      const scale = this.scalarInit(`${base}_scale`, q.scale[0], 'float');
      const zero = this.scalarInit(`${base}_zp`, q.zeroPoint[0], 'uint8');
      const out = this.g.op('QuantizeLinear', [name, scale, zero], {}, `${base}_q`);
      this.values.set(index, { name: out, layout, quant: true });
      return;
    }
    if (clamp && this.isQuantTensor(t) && t.quantization!.scale.length === 1) {
      // dequantized graph: a uint8 result saturates to its representable range, which is how a quantized TFLite
      // model expresses its activations (fused_activation_function is often NONE, the range [0, 6] does RELU6)
      const q = t.quantization!;
      const [qmin, qmax] = t.type === TensorType.UINT8 ? [0, 255] : [-128, 127];
      const base = t.name || `t${index}`;
      const lo = this.scalarInit(`${base}_lo`, Math.fround((qmin - q.zeroPoint[0]) * q.scale[0]), 'float');
      const hi = this.scalarInit(`${base}_hi`, Math.fround((qmax - q.zeroPoint[0]) * q.scale[0]), 'float');
      name = this.g.op('Clip', [name, lo, hi], {}, `${base}_range`);
    }
    this.values.set(index, { name, layout, quant: false });
  }

  activation(name: string, fused: number, base: string): string {
    if (fused === 0) return name;
    if (fused === 1) return this.g.op('Relu', [name], {}, `${base}_relu`);
    if (fused === 3) {
      const lo = this.scalarInit(`${base}_min`, 0, 'float');
      const hi = this.scalarInit(`${base}_max`, 6, 'float');
      return this.g.op('Clip', [name, lo, hi], {}, `${base}_relu6`);
    }
    return fail(`fused activation ${fused} (schema ActivationFunctionType) is not supported`);
  }

  convert(op: TfliteModel['operators'][number]): void {
    const { m, g } = this;
    const bb = m.bb;
    const t = (i: number) => m.tensors[i];
    const out = t(op.outputs[0]);
    const base = out.name || `t${out.index}`;
    const opName = BUILTIN_NAMES[op.code] ?? `builtin ${op.code}`;
    this.counts.set(opName, (this.counts.get(opName) ?? 0) + 1);
    switch (op.code) {
      case Op.CONV_2D:
      case Op.DEPTHWISE_CONV_2D: {
        const dw = op.code === Op.DEPTHWISE_CONV_2D;
        const o = op.optionsPos;
        if (!o) fail(`${opName} '${base}' has no options`);
        // Conv2DOptions { padding 0; stride_w 1; stride_h 2; fused_activation_function 3; dilation_w 4; dilation_h 5 }
        // DepthwiseConv2DOptions { padding 0; stride_w 1; stride_h 2; depth_multiplier 3; fused 4; dilation_w 5; dilation_h 6 }
        const padding = scalar.int8(bb, o, 0);
        const sw = scalar.int32(bb, o, 1, 1);
        const sh = scalar.int32(bb, o, 2, 1);
        const fused = scalar.int8(bb, o, dw ? 4 : 3);
        const dilW = scalar.int32(bb, o, dw ? 5 : 4, 1);
        const dilH = scalar.int32(bb, o, dw ? 6 : 5, 1);
        const x = t(op.inputs[0]);
        const w = t(op.inputs[1]);
        const [, inH, inW, inC] = x.shape;
        const [wo, kh, kw, wi] = w.shape;
        // weights: conv OHWI → OIHW; depthwise [1, KH, KW, C·M] → [C·M, 1, KH, KW], group C
        const weight = dw ? this.constant(w, [3, 0, 1, 2]) : this.constant(w, [0, 3, 1, 2]);
        const inputs = [this.float(op.inputs[0], 'nchw'), weight];
        if (op.inputs.length > 2 && op.inputs[2] >= 0) inputs.push(this.constant(t(op.inputs[2])));
        const pads = padding === 0 ? tfSamePadding([inH, inW], [kh, kw], [sh, sw], [dilH, dilW]).pads : [0, 0, 0, 0];
        const conv = g.op(
          'Conv',
          inputs,
          {
            kernel_shape: [kh, kw],
            strides: [sh, sw],
            dilations: [dilH, dilW],
            pads,
            group: dw ? inC : 1,
          },
          base,
        );
        void wo;
        void wi;
        this.set(op.outputs[0], this.activation(conv, fused, base), 'nchw', true);
        return;
      }
      case Op.ADD:
      case Op.SUB:
      case Op.MUL: {
        // layout: NCHW when an activation operand is NCHW; a constant operand is laid out to broadcast the same way
        const acts = op.inputs.map((i) => this.values.get(i));
        const layout = acts.some((v) => v?.layout === 'nchw') ? 'nchw' : 'plain';
        const operand = (i: number) => {
          if (this.values.has(i) || layout === 'plain') return this.float(i, layout);
          const c = t(i);
          if (c.shape.length === 4) return this.constant(c, [0, 3, 1, 2]);
          if (c.shape.length === 1) return this.constant(c, undefined, [c.shape[0], 1, 1]); // [C] → [C,1,1]
          if (c.shape.length === 0) return this.constant(c);
          return fail(`${opName} '${base}': constant operand ${tensorDesc(c)} cannot broadcast against an NCHW tensor`);
        };
        const onnxOp = op.code === Op.ADD ? 'Add' : op.code === Op.SUB ? 'Sub' : 'Mul';
        const y = g.op(onnxOp, [operand(op.inputs[0]), operand(op.inputs[1])], {}, base);
        // AddOptions / SubOptions / MulOptions { fused_activation_function 0 }
        const fused = op.optionsPos ? scalar.int8(bb, op.optionsPos, 0) : 0;
        this.set(op.outputs[0], this.activation(y, fused, base), layout, true);
        return;
      }
      case Op.MAX_POOL_2D:
      case Op.AVERAGE_POOL_2D: {
        const o = op.optionsPos;
        if (!o) fail(`${opName} '${base}' has no options`);
        // Pool2DOptions { padding 0; stride_w 1; stride_h 2; filter_width 3; filter_height 4; fused_activation_function 5 }
        const [sw, sh, fw, fh] = [1, 2, 3, 4].map((f) => scalar.int32(bb, o, f, 1));
        const [, inH, inW] = t(op.inputs[0]).shape;
        const pads = scalar.int8(bb, o, 0) === 0 ? tfSamePadding([inH, inW], [fh, fw], [sh, sw]).pads : [0, 0, 0, 0];
        // TFLite's SAME average pool divides by the valid elements only: ONNX count_include_pad 0 (the default)
        const y = g.op(
          op.code === Op.MAX_POOL_2D ? 'MaxPool' : 'AveragePool',
          [this.float(op.inputs[0], 'nchw')],
          { kernel_shape: [fh, fw], strides: [sh, sw], pads },
          base,
        );
        this.set(op.outputs[0], this.activation(y, scalar.int8(bb, o, 5), base), 'nchw', true);
        return;
      }
      case Op.HARD_SWISH: {
        const layout = this.values.get(op.inputs[0])?.layout ?? 'plain';
        const x = this.float(op.inputs[0]);
        // x · relu6(x + 3) / 6 = x · HardSigmoid(x; 1/6, 0.5) (ONNX HardSwish needs opset 14)
        const hs = g.op('HardSigmoid', [x], { alpha: floatAttr(1 / 6), beta: floatAttr(0.5) }, `${base}_hsig`);
        this.set(op.outputs[0], g.op('Mul', [x, hs], {}, base), layout, true);
        return;
      }
      case Op.RELU:
      case Op.RELU6:
      case Op.LOGISTIC: {
        const layout = this.values.get(op.inputs[0])?.layout ?? 'plain';
        const x = this.float(op.inputs[0]);
        const y =
          op.code === Op.LOGISTIC
            ? g.op('Sigmoid', [x], {}, base)
            : this.activation(x, op.code === Op.RELU ? 1 : 3, base);
        this.set(op.outputs[0], y, layout, true);
        return;
      }
      case Op.QUANTIZE:
      case Op.DEQUANTIZE: {
        const layout = this.values.get(op.inputs[0])?.layout ?? 'plain';
        this.set(op.outputs[0], this.float(op.inputs[0]), layout);
        return;
      }
      case Op.RESHAPE:
      case Op.SQUEEZE: {
        if (out.shape.filter((d) => d < 0).length > 1)
          fail(`${opName} '${base}' has an output shape with unknown dims`);
        const shape = g.addInitializer(g.uniqueName(`${base}_shape`), int64s(out.shape), [out.shape.length]);
        this.set(op.outputs[0], g.op('Reshape', [this.float(op.inputs[0], 'plain'), shape], {}, base), 'plain');
        return;
      }
      case Op.CONCATENATION: {
        const rank = out.shape.length;
        let axis = op.optionsPos ? scalar.int32(bb, op.optionsPos, 0) : 0;
        if (axis < 0) axis += rank;
        const allNchw = rank === 4 && op.inputs.every((i) => this.values.get(i)?.layout === 'nchw');
        const layout = allNchw ? 'nchw' : 'plain';
        const onnxAxis = allNchw ? [0, 2, 3, 1][axis] : axis;
        const y = g.op(
          'Concat',
          op.inputs.map((i) => this.float(i, layout)),
          { axis: onnxAxis },
          base,
        );
        const fused = op.optionsPos ? scalar.int8(bb, op.optionsPos, 1) : 0;
        this.set(op.outputs[0], this.activation(y, fused, base), layout, true);
        return;
      }
      default:
        fail(
          `operator ${op.code === Op.CUSTOM ? `custom '${op.customCode}'` : opName} is not supported (supported: CONV_2D, DEPTHWISE_CONV_2D, ADD, SUB, MUL, MAX_POOL_2D, AVERAGE_POOL_2D, RELU, HARD_SWISH, RELU6, LOGISTIC, RESHAPE, SQUEEZE, CONCATENATION, QUANTIZE, DEQUANTIZE before ${POSTPROCESS_OP})`,
        );
    }
  }
}

const num = (o: Record<string, unknown>, key: string, fallback?: number): number => {
  const v = o[key];
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'bigint') return Number(v);
  if (fallback !== undefined) return fallback;
  return fail(`${POSTPROCESS_OP} options lack '${key}' (found: ${Object.keys(o).join(', ') || 'none'})`);
};

/**
 * Imports a TFLite SSD (TF-OD export with `TFLite_Detection_PostProcess`) from its flatbuffer bytes.
 *
 * @param source The .tflite file's bytes.
 * @param options {@link TfliteImportOptions}.
 * @returns The ONNX model (spec in its metadata), the spec, and a report of what was found.
 * @throws {TypeError} Not a TFLite flatbuffer, no `TFLite_Detection_PostProcess`, an unsupported operator or tensor
 *   type, options that do not fit, labels of the wrong count.
 * @example
 * const { model, spec } = importTflite(fs.readFileSync('detect.tflite'), { labels: readLabelsFile('labelmap.txt') });
 */
export function importTflite(source: Uint8Array, options: TfliteImportOptions = {}): TfliteImport {
  assertObject('options', options as unknown);
  assertKnownKeys('options', options, OPTION_KEYS);
  if (options.dequantize !== undefined && typeof options.dequantize !== 'boolean')
    throw invalidParameterError('options.dequantize', 'boolean', options.dequantize);
  if (!(source instanceof Uint8Array)) throw invalidParameterError('source', 'Uint8Array', source);
  const m = readTflite(source);
  try {
    return convertModel(m, options);
  } catch (err) {
    // our own errors (TypeError, RangeError 'Expected …') pass; a DataView/flatbuffer read past the end of a
    // corrupt options table or graph-building errors (a value used before it is computed …) become a TypeError
    if (err instanceof TypeError || (err instanceof RangeError && err.message.startsWith('Expected'))) throw err;
    throw new TypeError(`${what}: the model's graph cannot be converted: ${(err as Error).message}`);
  }
}

function convertModel(m: TfliteModel, options: TfliteImportOptions): TfliteImport {
  const ppIndex = m.operators.findIndex((o) => o.code === Op.CUSTOM && o.customCode === POSTPROCESS_OP);
  if (ppIndex < 0) {
    const customs = m.operators.filter((o) => o.code === Op.CUSTOM).map((o) => `'${o.customCode}'`);
    fail(
      `TFLite model found, but no ${POSTPROCESS_OP} operator (an SSD from the TF Object Detection API ends with it)${customs.length ? `; custom operators: ${customs.join(', ')}` : ''}`,
    );
  }
  const pp = m.operators[ppIndex];
  if (pp.inputs.length < 3)
    fail(`${POSTPROCESS_OP} has ${pp.inputs.length} inputs, expected 3 (boxes, scores, anchors)`);
  const ppOptions = pp.customOptions ? readFlexbufferMap(pp.customOptions) : {};
  if (m.inputs.length !== 1) fail(`expected one image input but found ${m.inputs.length}`);
  const inT = m.tensors[m.inputs[0]];
  if (inT.shape.length !== 4 || inT.shape[0] !== 1 || inT.shape[3] !== 3)
    fail(`expected input [1, H, W, 3] (NHWC) but found ${tensorDesc(inT)}`);
  if (inT.type !== TensorType.UINT8 && inT.type !== TensorType.FLOAT32)
    fail(`expected a uint8 or float32 input but found ${tensorDesc(inT)}`);
  const [, height, width] = inT.shape;
  const quantizedModel = inT.type === TensorType.UINT8;
  const quantized = quantizedModel && options.dequantize !== true;

  const c = new Converter(m, quantized);
  const image = c.g.addInput('image', [1, height, width, 3]);
  // uint8 input: the network reads q as (q − zp)·scale; the spec's mean/std make the graph input exactly that value
  let mean = 127.5;
  let std = 127.5; // float TF-OD models: (x − 127.5) / 127.5 (override with --mean / --std)
  if (quantizedModel) {
    const q = inT.quantization;
    if (q?.scale.length !== 1) fail(`input ${tensorDesc(inT)} has no per-tensor quantization`);
    mean = q.zeroPoint[0];
    std = 1 / q.scale[0];
  }
  c.set(m.inputs[0], image, 'plain');
  for (let k = 0; k < ppIndex; k++) c.convert(m.operators[k]);

  const [boxT, scoreT, anchorT] = pp.inputs.map((i) => m.tensors[i]);
  if (boxT.shape.length !== 3 || boxT.shape[2] !== 4)
    fail(`expected box encodings [1, N, 4] but found ${tensorDesc(boxT)}`);
  const n = boxT.shape[1];
  if (scoreT.shape.length !== 3 || scoreT.shape[1] !== n)
    fail(`expected class scores [1, ${n}, C] but found ${tensorDesc(scoreT)}`);
  if (anchorT.shape.length !== 2 || anchorT.shape[0] !== n || anchorT.shape[1] !== 4)
    fail(`expected anchors [${n}, 4] but found ${tensorDesc(anchorT)}`);
  const numColumns = scoreT.shape[2];
  c.g.addNode('Identity', [c.float(pp.inputs[0], 'plain')], ['box_encodings']);
  const scores = c.float(pp.inputs[1], 'plain');
  const numClasses = num(ppOptions, 'num_classes');
  if (numColumns !== numClasses && numColumns !== numClasses + 1)
    fail(`class scores have ${numColumns} columns but the options say num_classes ${numClasses}`);
  const backgroundIndex = numColumns === numClasses + 1 ? 0 : -1;
  const useRegularNms = ppOptions.use_regular_nms === true;
  const maxClasses = num(ppOptions, 'max_classes_per_detection', 1);
  // fast NMS with max_classes_per_detection 1 is exactly the class-agnostic postprocess; more classes per detection
  // have no ssd-edge equivalent and fall back to per-class NMS
  const classAgnostic = !useRegularNms && maxClasses === 1;
  c.g.addNode('Identity', [scores], ['class_scores']);
  c.g.addOutput('box_encodings', [1, n, 4]);
  c.g.addOutput('class_scores', [1, n, numColumns]);

  // anchors (ycenter, xcenter, h, w) → cxcywh
  const a = constantToFloat(anchorT);
  const anchors = new Float32Array(4 * n);
  for (let i = 0; i < n; i++) {
    anchors[4 * i] = a[4 * i + 1];
    anchors[4 * i + 1] = a[4 * i];
    anchors[4 * i + 2] = a[4 * i + 3];
    anchors[4 * i + 3] = a[4 * i + 2];
  }

  const labels = pickLabels(options.labels, numColumns, `${what} scores`, backgroundIndex === 0 ? '???' : undefined);
  const spec: ModelSpec = {
    name: options.name ?? 'tflite-ssd',
    architecture: 'tflite-ssd',
    source: options.source ?? 'TFLite model',
    converter: TFLITE_CONVERTER,
    input: {
      name: 'image',
      height,
      width,
      layout: 'NHWC',
      colorOrder: 'RGB',
      mean: [mean, mean, mean],
      std: [std, std, std],
      resize: 'stretch',
      interpolation: 'bilinear',
      dynamicBatch: false,
    },
    output: { kind: 'raw', boxes: 'box_encodings', scores: 'class_scores' },
    anchors: encodeAnchors(anchors),
    labels,
    postprocess: {
      scoring: 'none',
      boxEncoding: 'deltas',
      backgroundIndex,
      scoreThresh: num(ppOptions, 'nms_score_threshold', 0),
      nmsThresh: num(ppOptions, 'nms_iou_threshold'),
      topkCandidates: Infinity,
      detectionsPerImg: num(ppOptions, 'max_detections'),
      boxCoder: {
        weights: [
          num(ppOptions, 'x_scale'),
          num(ppOptions, 'y_scale'),
          num(ppOptions, 'w_scale'),
          num(ppOptions, 'h_scale'),
        ],
        order: 'yxhw',
        clip: Infinity,
      },
      clipBoxes: false,
      // TFLite's fast NMS: each anchor's best class, one NMS across classes
      ...(classAgnostic ? { classAgnostic: true } : {}),
    },
  };
  const model = c.g.toModel({ producerName: 'ssd-edge', docString: `${TFLITE_CONVERTER} from ${spec.source}` });
  writeModelSpec(model, spec);
  const ops = [...c.counts].map(([k, v]) => `${k}×${v}`).join(', ');
  const report = [
    `TFLite model (schema version ${m.version}${m.description ? `, '${m.description}'` : ''}), ${quantizedModel ? 'uint8-quantized' : 'float'}; written ${quantized ? 'kept quantized (QDQ: DequantizeLinear/QuantizeLinear around float ops)' : 'as a float graph'}`,
    `input '${inT.name}' ${TENSOR_TYPE_NAMES[inT.type]} [1, ${height}, ${width}, 3] NHWC RGB, x' = (x − ${mean}) / ${+std.toFixed(6)}`,
    `operators: ${ops}, then ${POSTPROCESS_OP}`,
    `anchors: ${n} from constant '${anchorT.name}' (${TENSOR_TYPE_NAMES[anchorT.type]}${anchorT.quantization ? `, scale ${+anchorT.quantization.scale[0].toPrecision(7)}, zero point ${anchorT.quantization.zeroPoint[0]}` : ''})`,
    `box coder: scales y ${num(ppOptions, 'y_scale')}, x ${num(ppOptions, 'x_scale')}, h ${num(ppOptions, 'h_scale')}, w ${num(ppOptions, 'w_scale')}`,
    `classes: ${numClasses}${backgroundIndex === 0 ? ' + background column 0' : ''}; scores used as given (the graph's own score conversion)${classAgnostic ? ", each anchor's best class only" : ''}`,
    `NMS: IoU ${+spec.postprocess.nmsThresh.toFixed(6)}, score > ${spec.postprocess.scoreThresh}, ${spec.postprocess.detectionsPerImg} detections; TFLite's ${useRegularNms ? "regular (per-class) NMS becomes ssd-edge's per-class NMS" : "fast NMS becomes ssd-edge's class-agnostic NMS (postprocess.classAgnostic)"}`,
  ];
  return { model, spec, report };
}
