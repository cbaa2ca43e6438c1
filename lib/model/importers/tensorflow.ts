/**
 * Importer: TensorFlow frozen GraphDef (`.pb`, optionally with an OpenCV text graph `.pbtxt`) → ssd-edge ONNX model.
 *
 * The TF graph is translated node by node into ONNX (NHWC tensors become NCHW: one layout for every 4-D tensor,
 * transposed back to NHWC only where TF's memory order matters — Reshape / Flatten of a 4-D tensor). Weights come from
 * `Const` nodes, with `Dequantize` (MIN_COMBINED, quint8/qint8/quint16) of constants folded to float32, and
 * `FusedBatchNorm` / `Identity` folded where their inputs are constant.
 *
 * OpenCV text graphs (OpenCV's res10 SSD300 face detector, `opencv_face_detector.pbtxt`) hold the topology with
 * OpenCV's own SSD ops and reference the weights of the binary graph by node name: text-graph nodes override binary
 * nodes of the same name, and names the text graph does not define are looked up in the binary graph. The SSD ops:
 * - `PriorBox` (one per feature map): min/max size, aspect ratios, flip, clip, step, offset, variances → a
 *   {@link DefaultBoxSpec} level with the feature-map size computed from the graph (res10: 38,19,10,5,5,5 → 8892);
 * - `DetectionOutput`: its loc / conf inputs become the model outputs `boxes` [B,N,4] (dx,dy,dw,dh) and `scores`
 *   [B,N,C] (the graph's softmax), its settings the postprocess (CENTER_SIZE with the priors' variances as coder
 *   weights, confidence threshold, NMS threshold, top_k, keep_top_k, background label);
 * - `L2Normalize` (across channels, eps 1e-10 as OpenCV's NormalizeBBox), `Flatten` (of the NHWC tensor).
 * The preprocessing is not in the files: the spec gets BGR, stretch resize, mean (104, 117, 123) (res10's training
 * mean), std 1 unless options say otherwise; the input size comes from the Placeholder's shape or `inputSize`.
 */
import { GraphBuilder, int64s, type Dim } from '../graph.ts';
import { writeModelSpec } from '../metadata.ts';
import type { ModelProto } from '../onnx.ts';
import type { ModelSpec } from '../spec.ts';
import type { DefaultBoxSpec, FeatureMapSpec } from '../../ops/default-boxes.ts';
import { assertKnownKeys, assertObject, invalidParameterError } from '../../is.ts';
import {
  decodeTfTensor,
  readGraphDef,
  readTextGraphDef,
  writeGraphDefObject,
  type TfAttr,
  type TfNode,
} from '../tf/graphdef.ts';
import { POSTPROCESS_PRESETS } from '../../ops/postprocess.ts';
import { anchorCount, validateModelSpec } from '../spec.ts';
import { decodeTfjsWeights } from './faceapi.ts';
import { FOLDABLE_OPS, foldTfOp } from '../tf/fold.ts';
import { importTfOd, isTfOdGraph } from './tf-od.ts';

/** Converter id stored in the spec; bump the number whenever the graph or spec written here changes. */
export const TENSORFLOW_CONVERTER = 'ssd-edge/tensorflow-importer@1';

export interface TensorflowSource {
  /** Binary frozen GraphDef (`.pb`). */
  graph?: Uint8Array;
  /** Text GraphDef (`.pbtxt`, e.g. OpenCV's text graph with the SSD ops), as text or UTF-8 bytes. */
  textGraph?: string | Uint8Array;
}

export interface TensorflowImportOptions {
  /** Class names, background first (default: background + 'face' for 2 classes, else an error). */
  labels?: string[];
  name?: string;
  /** Provenance text stored in the spec. */
  source?: string;
  /** Input [width, height] when the Placeholder has no static shape (default 300×300). */
  inputSize?: [number, number];
  /** Batch dimension: a number or a symbolic name (default 'batch'). */
  batch?: number | string;
}

const OPTION_KEYS = ['labels', 'name', 'source', 'inputSize', 'batch'] as const satisfies ReadonlyArray<
  keyof TensorflowImportOptions
>;

export interface TensorflowImport {
  model: ModelProto;
  spec: ModelSpec;
  /** What the importer found (input, anchors, classes, outputs), one line each. */
  report: string[];
}

/** A constant (folded) value. */
interface ConstValue {
  kind: 'const';
  dims: number[];
  data: Float32Array | Int32Array;
}
/** A tensor in the ONNX graph: 4-D tensors are NCHW (`hw` = their spatial size), others keep TF's layout. */
interface GraphValue {
  kind: 'tensor';
  name: string;
  rank: number;
  /** 4-D NCHW feature maps only: [H, W, C]. */
  hwc?: [number, number, number];
  /** A 4-D tensor kept in TF's layout (a Reshape to [B, N, 1, 4] of a box predictor), not a feature map. */
  plain?: boolean;
  /** The last dimension when known (rank ≠ 4 or plain): the columns of a [B, N, C] head. */
  last?: number;
}
/** PriorBox levels (possibly concatenated). */
interface PriorsValue {
  kind: 'priors';
  levels: FeatureMapSpec[];
  variances: number[];
}
type Value = ConstValue | GraphValue | PriorsValue;
export type { ConstValue, GraphValue, Value };

const dec = new TextDecoder();
const attrS = (a: TfAttr | undefined) => (a?.s ? dec.decode(a.s) : undefined);
const listI = (a: TfAttr | undefined) => a?.list?.i ?? [];

function attrFloats(a: TfAttr | undefined, what: string): number[] {
  if (!a) return [];
  if (a.tensor) return Array.from(decodeTfTensor(a.tensor, what).data);
  if (a.list?.f?.length) return a.list.f;
  if (a.f !== undefined) return [a.f];
  if (a.i !== undefined) return [a.i];
  return [];
}

/** The node a TF input refers to: 'node:1' → 'node'; control inputs ('^node') are dropped by the caller. */
export function baseName(input: string): string {
  return (/^(.*?)(?::(\d+))?$/.exec(input) as RegExpExecArray)[1];
}

/** The output index of a TF input: 'node:1' → 1, 'node' → 0. */
function outputIndex(input: string): number {
  const m = /:(\d+)$/.exec(input);
  return m ? Number(m[1]) : 0;
}

export class Converter {
  readonly g: GraphBuilder;
  /** TF-OD import: replaces nodes (the preprocessor scope) before they are converted (see tf-od.ts). */
  intercept?: (n: TfNode) => Value | undefined;
  private readonly weightCache = new Map<string, string>();
  readonly values = new Map<string, Value>();
  readonly nodes = new Map<string, TfNode>();
  readonly report: string[] = [];
  input?: { name: string; height: number; width: number };
  detection?: { loc: string; conf: string; priors: string; attr: Record<string, TfAttr> };
  private readonly visiting = new Set<string>();

  constructor(
    nodes: TfNode[],
    readonly options: TensorflowImportOptions,
    readonly batch: Dim,
  ) {
    this.g = new GraphBuilder('tensorflow');
    for (const n of nodes) this.nodes.set(n.name, n);
  }

  value(input: string): Value {
    const name = baseName(input);
    const index = outputIndex(input);
    if (index > 0) {
      this.value(name);
      const other = this.values.get(`${name}:${index}`);
      if (!other)
        throw new TypeError(
          `Expected output ${index} of TensorFlow node '${name}' but it has none (or it is not supported)`,
        );
      return other;
    }
    const done = this.values.get(name);
    if (done) return done;
    const node = this.nodes.get(name);
    if (!node) throw new TypeError(`Expected TensorFlow node '${name}' in the graph but it is missing`);
    if (this.visiting.has(name))
      throw new TypeError(`Expected an acyclic TensorFlow graph but '${name}' is in a cycle`);
    this.visiting.add(name);
    const v = this.convert(node);
    this.visiting.delete(name);
    this.values.set(name, v);
    return v;
  }

  tensor(input: string, what: string): GraphValue {
    const v = this.value(input);
    if (v.kind === 'tensor') return v;
    if (v.kind === 'const') return this.constTensor(v, input);
    throw new TypeError(`Expected a tensor for ${what} but '${input}' is PriorBox output`);
  }

  constant(input: string, what: string): ConstValue {
    const v = this.value(input);
    if (v.kind !== 'const')
      throw new TypeError(`Expected a constant for ${what} but '${input}' is computed by the graph`);
    return v;
  }

  constTensor(c: ConstValue, name: string): GraphValue {
    const n = this.g.addInitializer(this.g.uniqueName(`${baseName(name)}/const`), c.data, c.dims);
    return { kind: 'tensor', name: n, rank: c.dims.length };
  }

  /** A constant for a binary op with a 4-D NCHW tensor: per-channel vectors become [C,1,1]. */
  broadcastConst(c: ConstValue, other: GraphValue | undefined, name: string): GraphValue {
    if (other?.hwc && c.dims.length === 1 && c.dims[0] > 1)
      return this.constTensor({ ...c, dims: [c.dims[0], 1, 1] }, name);
    if (other?.hwc && c.dims.length === 4) return this.constTensor(toNchw(c), name);
    return this.constTensor(c, name);
  }

  init(name: string, data: Float32Array | Int32Array | BigInt64Array, dims: number[]): string {
    return this.g.addInitializer(this.g.uniqueName(name), data, dims);
  }

  op(type: string, inputs: string[], attrs: Record<string, unknown>, outName: string): string {
    return this.g.op(type, inputs, attrs as never, outName);
  }

  toNhwc(t: GraphValue, name: string): string {
    return t.hwc ? this.op('Transpose', [t.name], { perm: [0, 2, 3, 1] }, `${name}/nhwc`) : t.name;
  }

  convert(n: TfNode): Value {
    const ins = n.input.filter((i) => !i.startsWith('^'));
    const a = n.attr;
    const out = n.name;
    const same = (x: GraphValue, name = out): GraphValue => ({ ...x, name });
    const hooked = this.intercept?.(n);
    if (hooked) return hooked;
    if (FOLDABLE_OPS.has(n.op) && ins.length) {
      const vs = ins.map((i) => this.value(i));
      if (vs.every((v) => v.kind === 'const')) {
        const r = foldTfOp(n.op, a, vs as ConstValue[], out);
        if (Array.isArray(r)) {
          r.forEach((t, k) => k && this.values.set(`${out}:${k}`, { kind: 'const', ...t }));
          return { kind: 'const', ...r[0] };
        }
        if (r) return { kind: 'const', ...r };
      }
    }
    switch (n.op) {
      case 'Shape': {
        const v = this.value(ins[0]);
        if (v.kind === 'const') return { kind: 'const', dims: [v.dims.length], data: Int32Array.from(v.dims) };
        const x = this.tensor(ins[0], out);
        if (!x.hwc)
          throw new TypeError(`Expected Shape '${out}' of a 4-D feature map (other shapes are not known here)`);
        // a symbolic batch is 0 here: a Reshape target keeps it as ONNX's "copy this dimension"
        const b = typeof this.batch === 'number' ? this.batch : 0;
        return { kind: 'const', dims: [4], data: Int32Array.of(b, ...x.hwc) };
      }
      case 'ResizeNearestNeighbor':
      case 'ResizeBilinear': {
        const x = this.tensor(ins[0], out);
        if (!x.hwc) throw new TypeError(`Expected a 4-D feature map for ${n.op} '${out}'`);
        const [oh, ow] = this.constant(ins[1], `${out} size`).data;
        const nearest = n.op === 'ResizeNearestNeighbor';
        const align = a.align_corners?.b === true;
        const half = a.half_pixel_centers?.b === true;
        // TF: align_corners → src = round(dst·(in−1)/(out−1)); half_pixel_centers → (dst + 0.5)·scale (− 0.5 for
        // bilinear), nearest floors; neither → dst·scale, nearest floors
        const mode = align ? 'align_corners' : half ? (nearest ? 'tf_half_pixel_for_nn' : 'half_pixel') : 'asymmetric';
        const [h, w, c] = x.hwc;
        const y = this.op(
          'Resize',
          [
            x.name,
            this.init(`${out}/roi`, new Float32Array(0), [0]),
            this.init(`${out}/scales`, Float32Array.of(1, 1, oh / h, ow / w), [4]),
          ],
          {
            mode: nearest ? 'nearest' : 'linear',
            coordinate_transformation_mode: mode,
            ...(nearest ? { nearest_mode: align ? 'round_prefer_ceil' : 'floor' } : {}),
          },
          out,
        );
        return { kind: 'tensor', name: y, rank: 4, hwc: [oh, ow, c] };
      }
      case 'Squeeze':
      case 'ExpandDims': {
        const x = this.tensor(ins[0], out);
        if (x.hwc) throw new TypeError(`Expected ${n.op} '${out}' of a tensor that is not a 4-D feature map`);
        const raw =
          n.op === 'Squeeze'
            ? ((a.squeeze_dims ?? a.axis)?.list?.i ?? [])
            : Array.from(this.constant(ins[1], `${out} axis`).data);
        if (!raw.length) throw new TypeError(`Expected Squeeze '${out}' with explicit squeeze_dims`);
        const rank = n.op === 'Squeeze' ? x.rank : x.rank + 1;
        const axes = raw.map((v) => (v < 0 ? v + rank : v));
        const ax = this.init(`${out}/axes`, int64s(axes), [axes.length]);
        const y = this.op(n.op === 'Squeeze' ? 'Squeeze' : 'Unsqueeze', [x.name, ax], {}, out);
        const newRank = n.op === 'Squeeze' ? x.rank - axes.length : x.rank + 1;
        const keepsLast = n.op === 'Squeeze' ? !axes.includes(x.rank - 1) : !axes.includes(rank - 1);
        return {
          kind: 'tensor',
          name: y,
          rank: newRank,
          last: keepsLast ? x.last : undefined,
          plain: newRank === 4 || undefined,
        };
      }
      case 'Placeholder': {
        if (this.input)
          throw new TypeError(`Expected one TensorFlow Placeholder but received '${this.input.name}' and '${out}'`);
        const dims = (a.shape?.shape?.dim ?? []).map((d) => d.size ?? -1);
        let [height, width] = [dims[1], dims[2]];
        if (!(dims.length === 4 && height > 0 && width > 0)) {
          [width, height] = this.options.inputSize ?? [300, 300];
          this.report.push(
            `input '${out}': no static size in the graph; using ${width}×${height}${this.options.inputSize ? '' : ' (default; set --input-size)'}`,
          );
        }
        if (dims.length === 4 && dims[3] > 0 && dims[3] !== 3)
          throw new TypeError(`Expected a TensorFlow image input with 3 channels but '${out}' has ${dims[3]}`);
        this.input = { name: out, height, width };
        this.g.addInput(out, [this.batch, 3, height, width]);
        return { kind: 'tensor', name: out, rank: 4, hwc: [height, width, 3] };
      }
      case 'Const': {
        if (!a.value?.tensor) throw new TypeError(`Expected a value in TensorFlow Const '${out}'`);
        const t = decodeTfTensor(a.value.tensor, out);
        const data = t.data instanceof Uint8Array ? Int32Array.from(t.data) : t.data;
        return { kind: 'const', dims: t.dims, data };
      }
      case 'Identity':
      case 'StopGradient':
      case 'BatchToSpaceND': {
        if (n.op === 'BatchToSpaceND' && ins.length > 1) {
          const block = this.constant(ins[1], `${out} block_shape`).data;
          const crops = ins[2] ? this.constant(ins[2], `${out} crops`).data : new Int32Array(4);
          if (block.some((x) => x !== 1)) return this.dilatedConv(n, ins, block, crops);
          if (crops.some((x) => x !== 0))
            throw new TypeError(`Expected BatchToSpaceND '${out}' with block 1 and no crops`);
        }
        return this.value(ins[0]);
      }
      case 'Dequantize': {
        const q = this.constant(ins[0], `${out} input`);
        const min = this.constant(ins[1], `${out} min_range`).data[0];
        const max = this.constant(ins[2], `${out} max_range`).data[0];
        const mode = attrS(a.mode) ?? 'MIN_COMBINED';
        const T = a.T?.type ?? 'DT_QUINT8';
        const range = {
          DT_QUINT8: [0, 255],
          DT_QINT8: [-128, 127],
          DT_QUINT16: [0, 65535],
          DT_QINT16: [-32768, 32767],
        }[T];
        if ((mode !== 'MIN_COMBINED' && mode !== 'MIN_FIRST') || !range)
          throw new TypeError(
            `Expected Dequantize '${out}' in MIN_COMBINED or MIN_FIRST mode of a quint8/qint8/quint16/qint16 constant but received ${mode} ${T}`,
          );
        const data = new Float32Array(q.data.length);
        if (mode === 'MIN_COMBINED') {
          // TF: min + (q − lowest) · ((max − min) / (highest − lowest)), in float32
          const scale = Math.fround((max - min) / (range[1] - range[0]));
          for (let i = 0; i < data.length; i++) data[i] = min + Math.fround((q.data[i] - range[0]) * scale);
        } else {
          // TF's QuantizedToFloat (quantization_utils.h), in float64: the step is range·(2^b / (2^b − 1)) / 2^b and
          // min is rounded to a multiple of the (float32) step
          const steps = range[1] - range[0] + 1;
          const step = ((max - min) * (steps / (steps - 1))) / steps;
          const step32 = Math.fround(step);
          const minRounded = Math.round(min / step32) * step32;
          for (let i = 0; i < data.length; i++)
            data[i] = max === min ? min : minRounded + (q.data[i] - range[0]) * step;
        }
        return { kind: 'const', dims: q.dims, data };
      }
      case 'FusedBatchNorm':
      case 'FusedBatchNormV3': {
        const x = this.tensor(ins[0], `${out} input`);
        const [gamma, beta, mean, variance] = ins
          .slice(1, 5)
          .map((i, k) => this.constant(i, `${out} input ${k + 1}`).data);
        const eps = Math.fround(a.epsilon?.f ?? 1e-3);
        if (attrS(a.data_format) && attrS(a.data_format) !== 'NHWC')
          throw new TypeError(
            `Expected FusedBatchNorm '${out}' with data_format NHWC but received ${attrS(a.data_format)}`,
          );
        const f = (arr: ArrayLike<number>) => this.init(`${out}/p`, Float32Array.from(arr), [arr.length]);
        const y = this.op(
          'BatchNormalization',
          [x.name, f(gamma), f(beta), f(mean), f(variance)],
          { epsilon: floatAttr(eps) },
          out,
        );
        return same(x, y);
      }
      case 'Relu':
        return this.unary(ins[0], 'Relu', out);
      case 'Relu6': {
        const x = this.tensor(ins[0], out);
        const lo = this.init(`${out}/min`, Float32Array.of(0), []);
        const hi = this.init(`${out}/max`, Float32Array.of(6), []);
        return same(x, this.op('Clip', [x.name, lo, hi], {}, out));
      }
      case 'Sigmoid':
      case 'Tanh':
      case 'Sqrt':
      case 'Exp':
        return this.unary(ins[0], n.op, out);
      case 'Rsqrt': {
        const x = this.tensor(ins[0], out);
        return same(x, this.op('Reciprocal', [this.op('Sqrt', [x.name], {}, `${out}/sqrt`)], {}, out));
      }
      case 'Square': {
        const x = this.tensor(ins[0], out);
        return same(x, this.op('Mul', [x.name, x.name], {}, out));
      }
      case 'Add':
      case 'AddV2':
      case 'BiasAdd':
      case 'Sub':
      case 'Mul':
      case 'RealDiv':
      case 'Maximum':
      case 'Minimum': {
        const va = this.value(ins[0]);
        const vb = this.value(ins[1]);
        if (va.kind === 'priors' || vb.kind === 'priors') throw new TypeError(`Expected tensors for ${n.op} '${out}'`);
        const ta = va.kind === 'tensor' ? va : undefined;
        const tb = vb.kind === 'tensor' ? vb : undefined;
        if (!ta && !tb)
          throw new TypeError(
            `Expected a computed input for ${n.op} '${out}' (constant folding of it is not supported)`,
          );
        const x = ta ?? this.broadcastConst(va as ConstValue, tb, ins[0]);
        const y = tb ?? this.broadcastConst(vb as ConstValue, ta, ins[1]);
        if (ta && tb && ta.rank !== tb.rank && (ta.hwc || tb.hwc))
          throw new TypeError(`Expected ${n.op} '${out}' inputs of the same rank but received ${x.rank} and ${y.rank}`);
        const onnx = {
          Add: 'Add',
          AddV2: 'Add',
          BiasAdd: 'Add',
          Sub: 'Sub',
          Mul: 'Mul',
          RealDiv: 'Div',
          Maximum: 'Max',
          Minimum: 'Min',
        }[n.op] as string;
        const big = x.rank >= y.rank ? x : y;
        return same(big, this.op(onnx, [x.name, y.name], {}, out));
      }
      case 'Conv2D':
      case 'DepthwiseConv2dNative':
        return this.conv(n, ins);
      case '_FusedConv2D':
      case 'FusedDepthwiseConv2dNative':
        return this.fusedConv(n, ins);
      case 'MaxPool':
      case 'AvgPool': {
        const x = this.tensor(ins[0], out);
        this.checkNhwc(n);
        const k = listI(a.ksize);
        const s = listI(a.strides);
        const { pads, hw } = this.padding(n, x, [k[1], k[2]], [s[1], s[2]], [1, 1]);
        const y = this.op(
          n.op === 'MaxPool' ? 'MaxPool' : 'AveragePool',
          [x.name],
          { kernel_shape: [k[1], k[2]], strides: [s[1], s[2]], pads },
          out,
        );
        return { kind: 'tensor', name: y, rank: 4, hwc: [hw[0], hw[1], (x.hwc as number[])[2]] };
      }
      case 'Pad':
      case 'PadV2':
      case 'MirrorPad':
      case 'SpaceToBatchND': {
        const x = this.tensor(ins[0], out);
        if (x.rank !== 4) throw new TypeError(`Expected a 4-D input for ${n.op} '${out}'`);
        let p: number[];
        if (n.op === 'SpaceToBatchND') {
          const block = this.constant(ins[1], `${out} block_shape`);
          if (block.data.some((b) => b !== 1))
            throw new TypeError(`Expected SpaceToBatchND '${out}' with block 1 (other blocks are not supported)`);
          const pp = this.constant(ins[2], `${out} paddings`).data; // [[t,b],[l,r]]
          p = [0, 0, pp[0], pp[1], pp[2], pp[3], 0, 0];
        } else p = Array.from(this.constant(ins[1], `${out} paddings`).data); // [[n],[h],[w],[c]] pairs
        if (p[0] || p[1] || p[6] || p[7]) throw new TypeError(`Expected ${n.op} '${out}' padding only H and W`);
        const pads = int64s([0, 0, p[2], p[4], 0, 0, p[3], p[5]]);
        const inputs = [x.name, this.init(`${out}/pads`, pads, [8])];
        const attrs: Record<string, unknown> = {};
        if (n.op === 'PadV2') inputs.push(this.tensor(ins[2], `${out} constant_values`).name);
        if (n.op === 'MirrorPad') attrs.mode = 'reflect';
        const hwc = x.hwc as [number, number, number];
        const y = this.op('Pad', inputs, attrs, out);
        return { kind: 'tensor', name: y, rank: 4, hwc: [hwc[0] + p[2] + p[3], hwc[1] + p[4] + p[5], hwc[2]] };
      }
      case 'ConcatV2': {
        const parts = ins.slice(0, -1).map((i) => this.value(i));
        let axis = this.constant(ins[ins.length - 1], `${out} axis`).data[0];
        if (parts.every((p) => p.kind === 'priors')) {
          const ps = parts as PriorsValue[];
          return { kind: 'priors', levels: ps.flatMap((p) => p.levels), variances: ps[0].variances };
        }
        const ts = parts.map((p, k) => (p.kind === 'tensor' ? p : this.tensor(ins[k], `${out} input ${k}`)));
        const rank = ts[0].rank;
        if (axis < 0) axis += rank;
        if (ts.some((t) => !!t.hwc !== !!ts[0].hwc))
          throw new TypeError(`Expected ConcatV2 '${out}' of feature maps only or of other tensors only`);
        if (ts[0].hwc) {
          axis = [0, 2, 3, 1][axis];
          const hw = ts[0].hwc as [number, number, number];
          const c = ts.reduce((s, t) => s + (t.hwc as number[])[2], 0);
          return {
            kind: 'tensor',
            name: this.op(
              'Concat',
              ts.map((t) => t.name),
              { axis },
              out,
            ),
            rank,
            hwc: [hw[0], hw[1], c],
          };
        }
        return {
          kind: 'tensor',
          name: this.op(
            'Concat',
            ts.map((t) => t.name),
            { axis },
            out,
          ),
          rank,
          last: axis === rank - 1 ? undefined : ts[0].last,
          plain: ts[0].plain,
        };
      }
      case 'Reshape': {
        const x = this.tensor(ins[0], out);
        const shape = Array.from(this.constant(ins[1], `${out} shape`).data);
        // 4-D results stay in TF's layout (plain): SSD heads reshaped to [B, N, 1, 4] before a Squeeze
        const s = this.init(`${out}/shape`, int64s(shape.map((d, k) => (k === 0 && d > 0 ? 0 : d))), [shape.length]);
        const last = shape[shape.length - 1] > 0 ? shape[shape.length - 1] : undefined;
        return {
          kind: 'tensor',
          name: this.op('Reshape', [this.toNhwc(x, out), s], {}, out),
          rank: shape.length,
          last,
          plain: shape.length === 4 || undefined,
        };
      }
      case 'Flatten': {
        const x = this.tensor(ins[0], out);
        const s = this.init(`${out}/shape`, int64s([0, -1]), [2]);
        return { kind: 'tensor', name: this.op('Reshape', [this.toNhwc(x, out), s], {}, out), rank: 2 };
      }
      case 'Softmax': {
        const x = this.tensor(ins[0], out);
        if (x.hwc) throw new TypeError(`Expected Softmax '${out}' on a tensor that is not a 4-D feature map`);
        const axis = a.axis?.i ?? -1;
        return same(x, this.op('Softmax', [x.name], { axis }, out));
      }
      case 'L2Normalize':
      case 'Sum':
      case 'Mean': {
        const x = this.tensor(ins[0], out);
        let axes = ins[1] ? Array.from(this.constant(ins[1], `${out} axes`).data) : [x.rank - 1];
        axes = axes.map((ax) => (ax < 0 ? ax + x.rank : ax)).map((ax) => (x.hwc ? [0, 2, 3, 1][ax] : ax));
        if (n.op !== 'L2Normalize') {
          const keep = a.keep_dims?.b ?? a.keepdims?.b ?? false;
          if (x.hwc && !keep) throw new TypeError(`Expected ${n.op} '${out}' with keep_dims on a 4-D tensor`);
          const ax = this.init(`${out}/axes`, int64s(axes), [axes.length]);
          return same(
            x,
            this.op(n.op === 'Sum' ? 'ReduceSum' : 'ReduceMean', [x.name, ax], { keepdims: keep ? 1 : 0 }, out),
          );
        }
        // OpenCV's NormalizeBBox (p = 2, across channels): x / sqrt(Σx² + 1e-10)
        const ax = this.init(`${out}/axes`, int64s(axes), [axes.length]);
        const sq = this.op('Mul', [x.name, x.name], {}, `${out}/square`);
        const sum = this.op('ReduceSum', [sq, ax], { keepdims: 1 }, `${out}/sum`);
        const epsn = this.init(`${out}/eps`, Float32Array.of(1e-10), []);
        const norm = this.op('Sqrt', [this.op('Add', [sum, epsn], {}, `${out}/add`)], {}, `${out}/norm`);
        return same(x, this.op('Div', [x.name, norm], {}, out));
      }
      case 'PriorBox':
        return this.priorBox(n, ins);
      case 'DetectionOutput': {
        if (this.detection) throw new TypeError('Expected one DetectionOutput in the TensorFlow text graph');
        this.detection = { loc: ins[0], conf: ins[1], priors: ins[2], attr: a };
        return { kind: 'priors', levels: [], variances: [] };
      }
      default:
        throw new TypeError(`Expected a supported TensorFlow op but node '${out}' is ${n.op}`);
    }
  }

  unary(input: string, op: string, out: string): GraphValue {
    const x = this.tensor(input, out);
    return { ...x, name: this.op(op, [x.name], {}, out) };
  }

  checkNhwc(n: TfNode): void {
    const f = attrS(n.attr.data_format);
    if (f && f !== 'NHWC') throw new TypeError(`Expected ${n.op} '${n.name}' with data_format NHWC but received ${f}`);
  }

  padding(n: TfNode, x: GraphValue, k: [number, number], s: [number, number], d: [number, number]) {
    const [h, w] = x.hwc as number[];
    const mode = attrS(n.attr.padding) ?? 'VALID';
    if (mode === 'SAME') {
      const hw: number[] = [];
      const before: number[] = [];
      const after: number[] = [];
      [h, w].forEach((size, i) => {
        const o = Math.ceil(size / s[i]);
        const total = Math.max((o - 1) * s[i] + (k[i] - 1) * d[i] + 1 - size, 0);
        before.push(Math.floor(total / 2));
        after.push(total - Math.floor(total / 2));
        hw.push(o);
      });
      return { pads: [before[0], before[1], after[0], after[1]], hw };
    }
    if (mode !== 'VALID')
      throw new TypeError(`Expected padding SAME or VALID in ${n.op} '${n.name}' but received ${mode}`);
    const hw = [h, w].map((size, i) => Math.floor((size - (k[i] - 1) * d[i] - 1) / s[i]) + 1);
    return { pads: [0, 0, 0, 0], hw };
  }

  /**
   * Grappler's / TF.js's fused convolutions: the convolution, then `fused_ops` in order on the extra inputs —
   * BiasAdd (bias), FusedBatchNorm (scale, offset, mean, variance; `epsilon`), Add (a tensor), then one activation
   * (Relu, Relu6, Elu, LeakyRelu with `leakyrelu_alpha`, Sigmoid, Tanh).
   */
  fusedConv(n: TfNode, ins: string[]): GraphValue {
    const ops = (n.attr.fused_ops?.list?.s ?? []).map((b) => dec.decode(b));
    const plain = { ...n, op: n.op === '_FusedConv2D' ? 'Conv2D' : 'DepthwiseConv2dNative' };
    let y = this.conv(plain, ins.slice(0, 2), undefined, `${n.name}/conv`);
    let arg = 2;
    const last = (k: number) => k === ops.length - 1;
    ops.forEach((op, k) => {
      const name = last(k) ? n.name : `${n.name}/${op}`;
      const next = () => {
        const a = ins[arg++];
        if (a === undefined) throw new TypeError(`Expected an argument for ${op} of ${n.op} '${n.name}'`);
        return a;
      };
      const channels = (y.hwc as number[])[2];
      const vec = (input: string, what: string) => {
        const c = this.constant(input, `${n.name} ${what}`).data;
        if (c.length !== channels)
          throw new TypeError(
            `Expected ${channels} values for ${what} of ${n.op} '${n.name}' but received ${c.length}`,
          );
        return this.init(`${n.name}/${what}`, Float32Array.from(c), [channels, 1, 1]);
      };
      switch (op) {
        case 'BiasAdd':
          y = { ...y, name: this.op('Add', [y.name, vec(next(), 'bias')], {}, name) };
          break;
        case 'FusedBatchNorm':
        case 'FusedBatchNormV3': {
          const [g, b, m, v] = [next(), next(), next(), next()].map((i, q) =>
            Float32Array.from(this.constant(i, `${n.name} batch norm ${q}`).data),
          );
          const eps = Math.fround(n.attr.epsilon?.f ?? 1e-3);
          const f = (arr: Float32Array) => this.init(`${n.name}/bn`, arr, [arr.length]);
          y = {
            ...y,
            name: this.op('BatchNormalization', [y.name, f(g), f(b), f(m), f(v)], { epsilon: floatAttr(eps) }, name),
          };
          break;
        }
        case 'Add':
          y = { ...y, name: this.op('Add', [y.name, this.tensor(next(), `${n.name} addend`).name], {}, name) };
          break;
        case 'Relu':
        case 'Sigmoid':
        case 'Tanh':
        case 'Elu':
          y = { ...y, name: this.op(op, [y.name], {}, name) };
          break;
        case 'LeakyRelu':
          y = {
            ...y,
            name: this.op('LeakyRelu', [y.name], { alpha: floatAttr(n.attr.leakyrelu_alpha?.f ?? 0.2) }, name),
          };
          break;
        case 'Relu6': {
          const lo = this.init(`${n.name}/min`, Float32Array.of(0), []);
          const hi = this.init(`${n.name}/max`, Float32Array.of(6), []);
          y = { ...y, name: this.op('Clip', [y.name, lo, hi], {}, name) };
          break;
        }
        default:
          throw new TypeError(
            `Expected fused ops BiasAdd/FusedBatchNorm/Add/activation in ${n.op} '${n.name}' but received ${op}`,
          );
      }
    });
    if (!ops.length) y = { ...y, name: this.op('Identity', [y.name], {}, n.name) };
    return y;
  }

  /**
   * SpaceToBatchND(block b, paddings P) → Conv2D / DepthwiseConv2dNative (VALID, stride 1) → BatchToSpaceND(b, crops C),
   * TF's way of writing a dilated convolution, as one Conv with dilation b and pads P − C.
   */
  dilatedConv(n: TfNode, ins: string[], block: ArrayLike<number>, crops: ArrayLike<number>): GraphValue {
    const convNode = this.nodes.get(baseName(ins[0]));
    const s2b = convNode && this.nodes.get(baseName(convNode.input[0] ?? ''));
    const ok =
      convNode &&
      (convNode.op === 'Conv2D' || convNode.op === 'DepthwiseConv2dNative') &&
      (attrS(convNode.attr.padding) ?? 'VALID') === 'VALID' &&
      listI(convNode.attr.strides).every((v) => v === 1) &&
      s2b?.op === 'SpaceToBatchND';
    if (!ok)
      throw new TypeError(
        `Expected BatchToSpaceND '${n.name}' after a VALID stride-1 convolution of a SpaceToBatchND (a dilated convolution)`,
      );
    const sb = this.constant(s2b.input[1], `${s2b.name} block_shape`).data;
    if (sb[0] !== block[0] || sb[1] !== block[1])
      throw new TypeError(
        `Expected the same block in '${s2b.name}' and '${n.name}' but received [${sb}] and [${block}]`,
      );
    const p = this.constant(s2b.input[2], `${s2b.name} paddings`).data;
    const pads = [p[0] - crops[0], p[2] - crops[2], p[1] - crops[1], p[3] - crops[3]];
    return this.conv(convNode, [s2b.input[0], convNode.input[1]], { dilations: [block[0], block[1]], pads }, n.name);
  }

  conv(
    n: TfNode,
    ins: string[],
    override?: { dilations: [number, number]; pads: number[] },
    outName = n.name,
  ): GraphValue {
    const x = this.tensor(ins[0], n.name);
    this.checkNhwc(n);
    const wt = this.constant(ins[1], `${n.name} filter`);
    if (wt.dims.length !== 4) throw new TypeError(`Expected a 4-D filter for ${n.op} '${n.name}'`);
    const [kh, kw, ci, co] = wt.dims;
    const depthwise = n.op === 'DepthwiseConv2dNative';
    const s = listI(n.attr.strides);
    const dl = listI(n.attr.dilations);
    const strides: [number, number] = [s[1] ?? 1, s[2] ?? 1];
    const dil: [number, number] = override?.dilations ?? [dl[1] ?? 1, dl[2] ?? 1];
    let { pads, hw } = this.padding(n, x, [kh, kw], strides, dil);
    if (override) {
      pads = override.pads;
      if (pads.some((v) => v < 0))
        throw new TypeError(`Expected non-negative padding of the dilated convolution '${outName}'`);
      const [h, w] = x.hwc as number[];
      hw = [h + pads[0] + pads[2] - (kh - 1) * dil[0], w + pads[1] + pads[3] - (kw - 1) * dil[1]];
    }
    // HWIO → OIHW; depthwise HW(C)(M) → (C·M)1HW
    const outC = depthwise ? ci * co : co;
    const w = new Float32Array(wt.data.length);
    for (let i = 0; i < kh; i++)
      for (let j = 0; j < kw; j++)
        for (let c = 0; c < ci; c++)
          for (let m = 0; m < co; m++) {
            const src = wt.data[((i * kw + j) * ci + c) * co + m];
            if (depthwise) w[((c * co + m) * kh + i) * kw + j] = src;
            else w[((m * ci + c) * kh + i) * kw + j] = src;
          }
    // one initializer per filter constant: weight-shared heads (one tower applied to every level) share it
    const key = `${baseName(ins[1])}|${n.op}`;
    const wName =
      this.weightCache.get(key) ?? this.init(`${n.name}/weights`, w, depthwise ? [outC, 1, kh, kw] : [co, ci, kh, kw]);
    this.weightCache.set(key, wName);
    const attrs: Record<string, unknown> = { kernel_shape: [kh, kw], strides, pads, dilations: dil };
    if (depthwise) attrs.group = ci;
    const y = this.op('Conv', [x.name, wName], attrs, outName);
    return { kind: 'tensor', name: y, rank: 4, hwc: [hw[0], hw[1], outC] };
  }

  priorBox(n: TfNode, ins: string[]): PriorsValue {
    const fm = this.tensor(ins[0], `${n.name} feature map`);
    if (!fm.hwc) throw new TypeError(`Expected a 4-D feature map for PriorBox '${n.name}'`);
    if (!this.input) this.value(ins[1]);
    const input = this.input as { height: number; width: number };
    const a = n.attr;
    const minSizes = attrFloats(a.min_size, `${n.name} min_size`);
    const maxSizes = attrFloats(a.max_size, `${n.name} max_size`);
    if (minSizes.length !== 1 || maxSizes.length > 1)
      throw new TypeError(`Expected PriorBox '${n.name}' with one min_size and at most one max_size`);
    if (input.height !== input.width) throw new TypeError(`Expected a square input for PriorBox '${n.name}'`);
    const side = input.width;
    const flip = a.flip?.b ?? false;
    const ars = [1];
    for (const r of attrFloats(a.aspect_ratio, `${n.name} aspect_ratio`)) {
      if (ars.some((x) => Math.abs(x - r) < 1e-6)) continue;
      ars.push(r);
      if (flip) ars.push(1 / r);
    }
    const [fh, fw] = fm.hwc;
    const step = attrFloats(a.step, `${n.name} step`)[0];
    const level: FeatureMapSpec = {
      size: fh === fw ? fh : [fh, fw],
      scale: minSizes[0] / side,
      aspectRatios: ars,
      extraBox: maxSizes.length === 1,
      offset: a.offset?.f ?? 0.5,
    };
    if (step !== undefined) level.step = step;
    if (maxSizes.length) level.nextScale = maxSizes[0] / side;
    if (a.clip?.b)
      throw new TypeError(`Expected PriorBox '${n.name}' with clip false (clipped priors are not supported)`);
    const variances = attrFloats(a.variance, `${n.name} variance`);
    return { kind: 'priors', levels: [level], variances: variances.length === 4 ? variances : [0.1, 0.1, 0.2, 0.2] };
  }
}

function floatAttr(v: number) {
  return { attrType: 1, value: v };
}

/** A 4-D NHWC constant as NCHW. */
function toNchw(c: ConstValue): ConstValue {
  const [n, h, w, ch] = c.dims;
  const data = new (c.data.constructor as Float32ArrayConstructor)(c.data.length);
  for (let b = 0; b < n; b++)
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++)
        for (let k = 0; k < ch; k++) data[((b * ch + k) * h + y) * w + x] = c.data[((b * h + y) * w + x) * ch + k];
  return { kind: 'const', dims: [n, ch, h, w], data };
}

/**
 * Imports a TensorFlow SSD: a frozen GraphDef with an OpenCV-style text graph carrying PriorBox / DetectionOutput
 * (e.g. OpenCV's res10 SSD300 face detector `opencv_face_detector_uint8.pb` + `opencv_face_detector.pbtxt`).
 *
 * @throws {TypeError} Missing files (which one), unsupported ops (named with the node), malformed graphs.
 * @example
 * const { model, spec } = importTensorflow({ graph: fs.readFileSync('m.pb'), textGraph: fs.readFileSync('m.pbtxt', 'utf8') });
 */
export function importTensorflow(source: TensorflowSource, options: TensorflowImportOptions = {}): TensorflowImport {
  assertObject('source', source as unknown);
  assertKnownKeys('source', source, ['graph', 'textGraph']);
  assertObject('options', options as unknown);
  assertKnownKeys('options', options, OPTION_KEYS);
  if (source.graph !== undefined && !(source.graph instanceof Uint8Array))
    throw invalidParameterError('source.graph', 'Uint8Array (bytes of a .pb)', source.graph);
  const binary = source.graph ? readGraphDef(source.graph) : [];
  const textGraph =
    source.textGraph instanceof Uint8Array ? new TextDecoder().decode(source.textGraph) : source.textGraph;
  if (textGraph !== undefined && typeof textGraph !== 'string')
    throw invalidParameterError('source.textGraph', 'string or Uint8Array (a .pbtxt)', textGraph);
  const text = textGraph !== undefined ? readTextGraphDef(textGraph) : [];
  if (!binary.length && !text.length)
    throw new TypeError('Expected a TensorFlow graph (.pb and/or .pbtxt) but received none');

  const batch: Dim = options.batch ?? 'batch';
  // text-graph nodes override binary nodes of the same name
  const byName = new Map<string, TfNode>();
  for (const n of binary) byName.set(n.name, n);
  for (const n of text) byName.set(n.name, n);
  const conv = new Converter([...byName.values()], options, batch);
  const det = [...byName.values()].find((n) => n.op === 'DetectionOutput');
  if (!det) {
    if (isTfOdGraph([...byName.values()])) return importTfOd([...byName.values()], options);
    throw new TypeError(
      text.length
        ? 'TensorFlow text graph found but it has no DetectionOutput node (the SSD outputs and priors are unknown)'
        : 'TensorFlow GraphDef found; the OpenCV text graph (.pbtxt) with the SSD layers (PriorBox, DetectionOutput) is missing',
    );
  }
  if (!binary.length) {
    const missing = det.input.length ? undefined : 'inputs';
    if (missing) throw new TypeError('Expected DetectionOutput with inputs');
  }
  conv.value(det.name);
  const d = conv.detection as NonNullable<Converter['detection']>;
  const loc = conv.tensor(d.loc, 'DetectionOutput loc');
  const confIn = conv.tensor(d.conf, 'DetectionOutput conf');
  const priors = conv.value(d.priors);
  if (priors.kind !== 'priors' || !priors.levels.length)
    throw new TypeError(`Expected DetectionOutput's third input '${d.priors}' to come from PriorBox layers`);
  const a = d.attr;
  const numClasses = a.num_classes?.i ?? 0;
  if (numClasses < 1) throw new TypeError('Expected DetectionOutput with num_classes ≥ 1');
  const code = attrS(a.code_type) ?? 'CENTER_SIZE';
  if (code !== 'CENTER_SIZE')
    throw new TypeError(`Expected DetectionOutput code_type CENTER_SIZE but received ${code}`);
  if (a.share_location?.b === false) throw new TypeError('Expected DetectionOutput with share_location true');
  if (a.variance_encoded_in_target?.b)
    throw new TypeError('Expected DetectionOutput with variance_encoded_in_target false');

  const g = conv.g;
  const input = conv.input as NonNullable<Converter['input']>;
  const boxes = g.addNode(
    'Reshape',
    [conv.toNhwc(loc, 'boxes'), g.addInitializer('boxes/shape', int64s([0, -1, 4]), [3])],
    ['boxes'],
  )[0];
  const scores = g.addNode(
    'Reshape',
    [conv.toNhwc(confIn, 'scores'), g.addInitializer('scores/shape', int64s([0, -1, numClasses]), [3])],
    ['scores'],
  )[0];

  const anchorSpec: DefaultBoxSpec = {
    inputSize: input.height === input.width ? input.width : [input.height, input.width],
    featureMaps: priors.levels,
    clip: 'none',
  };
  let numAnchors = 0;
  for (const l of priors.levels) {
    const [h, w] = typeof l.size === 'number' ? [l.size, l.size] : l.size;
    numAnchors += h * w * ((l.aspectRatios?.length ?? 1) + (l.extraBox ? 1 : 0));
  }
  g.addOutput(boxes, [batch, numAnchors, 4]);
  g.addOutput(scores, [batch, numAnchors, numClasses]);

  const v = priors.variances;
  const labels = options.labels ?? (numClasses === 2 ? ['background', 'face'] : undefined);
  if (!labels)
    throw new TypeError(`Expected labels for the ${numClasses} classes of the TensorFlow SSD — pass --labels FILE`);
  if (labels.length !== numClasses)
    throw new TypeError(`Expected ${numClasses} labels (background first) but received ${labels.length}`);
  const topK = a.top_k?.i ?? -1;
  const keepTopK = a.keep_top_k?.i ?? -1;
  const spec: ModelSpec = {
    name: options.name ?? 'tensorflow-ssd',
    architecture: 'ssd',
    converter: TENSORFLOW_CONVERTER,
    input: {
      name: input.name,
      height: input.height,
      width: input.width,
      layout: 'NCHW',
      colorOrder: 'BGR',
      mean: [104, 117, 123],
      std: [1, 1, 1],
      resize: 'stretch',
      interpolation: 'bilinear',
      dynamicBatch: typeof batch === 'string',
    },
    output: { kind: 'raw', boxes: 'boxes', scores: 'scores' },
    anchors: { spec: anchorSpec },
    labels: [...labels],
    postprocess: {
      scoring: 'none',
      boxEncoding: 'deltas',
      backgroundIndex: a.background_label_id?.i ?? 0,
      scoreThresh: Math.fround(a.confidence_threshold?.f ?? 0.01),
      nmsThresh: Math.fround(a.nms_threshold?.f ?? 0.45),
      topkCandidates: topK > 0 ? topK : Infinity,
      detectionsPerImg: keepTopK > 0 ? keepTopK : Infinity,
      boxCoder: { weights: [1 / v[0], 1 / v[1], 1 / v[2], 1 / v[3]], order: 'xywh', clip: Infinity },
      clipBoxes: a.clip?.b ?? false,
    },
  };
  if (options.source) spec.source = options.source;
  const model = g.toModel({
    producerName: 'ssd-edge',
    docString: `TensorFlow SSD converted by ${TENSORFLOW_CONVERTER}. Input: float32 NCHW BGR minus the mean. Outputs: boxes (dx,dy,dw,dh against the priors, variances ${v.join(',')}) and scores (softmax, background first).`,
  });
  writeModelSpec(model, spec);
  conv.report.push(
    `input '${input.name}' ${input.width}×${input.height}, BGR, mean 104,117,123 (not stored in the graph; set --mean/--channels to change)`,
    `anchors: ${numAnchors} from ${priors.levels.length} PriorBox layers (feature maps ${priors.levels.map((l) => (typeof l.size === 'number' ? l.size : l.size.join('x'))).join(', ')})`,
    `classes: ${numClasses} (${labels.join(', ')}); scores softmaxed in the graph`,
    `outputs: boxes [${batch}, ${numAnchors}, 4], scores [${batch}, ${numAnchors}, ${numClasses}]; DetectionOutput → NMS ${+spec.postprocess.nmsThresh.toPrecision(6)}, top_k ${topK}, keep_top_k ${keepTopK}, threshold ${+spec.postprocess.scoreThresh.toPrecision(6)}`,
  );
  return { model, spec, report: conv.report };
}

// --- TensorFlow.js graph models -----------------------------------------------------------------------

/** One weight of a TF.js weights manifest (`quantization`: uint8/uint16 with min/scale, or float16). */
interface TfjsWeightEntry {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: { dtype: string; min?: number; scale?: number };
}

export interface TfjsGraphSource {
  /** The parsed (or text of the) `model.json` of a TF.js graph model (`format: 'graph-model'`). */
  modelJson: string | Record<string, unknown>;
  /** Reads a shard named in the manifest's `paths` (relative to model.json). */
  readShard: (file: string) => Uint8Array;
}

export interface TfjsImportOptions extends Omit<TensorflowImportOptions, 'labels'> {
  /**
   * Graph nodes holding the SSD's box deltas (any shape with N·4 values per image) and class logits/scores (N·C).
   * Leave out for a TF Object Detection API export (e.g. tfjs-models' coco-ssd): the graph is then cut before its
   * postprocessor and the anchors, labels and settings are read from it as for a frozen graph (see tf-od.ts).
   */
  outputs?: { boxes: string; scores: string };
  /** Class names, background first (C = labels.length); required with `outputs`. */
  labels?: string[];
  /** The anchors of the N rows (a preset, a DefaultBoxSpec or base64 data, as in the model spec); required with `outputs`. */
  anchors?: NonNullable<ModelSpec['anchors']>;
  /** Postprocess settings (default: torchvision's, with sigmoid or softmax scoring as given). */
  postprocess?: Partial<ModelSpec['postprocess']>;
  /** Preprocessing the graph does not do itself (default RGB, mean 0, std 1, stretch). */
  input?: Partial<Pick<ModelSpec['input'], 'colorOrder' | 'mean' | 'std' | 'resize' | 'interpolation'>>;
}

const TFJS_OPTION_KEYS = [...OPTION_KEYS, 'outputs', 'anchors', 'postprocess', 'input'] as const;

/**
 * Imports a TensorFlow.js graph model (model.json + weight shards, weights possibly uint8/uint16-quantized or
 * float16) whose graph holds an SSD's raw heads: the same node vocabulary as frozen GraphDefs (see
 * {@link importTensorflow}); the graph is cut at `outputs.boxes` / `outputs.scores`, which become `boxes` [B,N,4] and
 * `scores` [B,N,C] (flattened in TF's NHWC order), and the anchors, labels and postprocess come from the options.
 *
 * @throws {TypeError} Not a graph model, missing weights, unsupported ops (named with the node), bad options.
 */
export function importTfjsGraph(source: TfjsGraphSource, options: TfjsImportOptions): TensorflowImport {
  assertObject('source', source as unknown);
  assertKnownKeys('source', source, ['modelJson', 'readShard']);
  assertObject('options', options as unknown);
  assertKnownKeys('options', options, TFJS_OPTION_KEYS);
  let json: {
    format?: unknown;
    modelTopology?: { node?: unknown[] };
    weightsManifest?: Array<{ paths: string[]; weights: TfjsWeightEntry[] }>;
  };
  try {
    json = typeof source.modelJson === 'string' ? JSON.parse(source.modelJson) : source.modelJson;
  } catch (err) {
    throw new TypeError(`Expected a TensorFlow.js model.json but it does not parse: ${(err as Error).message}`);
  }
  if (json?.format === 'layers-model' || (json?.modelTopology && !json.modelTopology.node))
    throw new TypeError(
      'TensorFlow.js layers model (Keras) found; only graph models (tfjs-converter --output_format tfjs_graph_model) can be imported',
    );
  if (!json?.modelTopology?.node || !Array.isArray(json.weightsManifest))
    throw new TypeError(
      'Expected a TensorFlow.js graph model (model.json with modelTopology.node and weightsManifest)',
    );
  const nodes = readGraphDef(writeGraphDefJson(json.modelTopology.node));
  const weights = new Map(
    [...decodeTfjsWeights(json.weightsManifest, source.readShard)].map(([k, v]) => [
      k,
      { dims: v.shape, data: v.data },
    ]),
  );
  if (options.outputs === undefined) {
    if (!isTfOdGraph(nodes))
      throw new TypeError(
        'TensorFlow.js graph model found, but not a TF Object Detection API export (no Postprocessor, raw_detection_boxes or NonMaxSuppression): which nodes hold the box deltas and class scores, and the anchors, are unknown — pass outputs, labels and anchors to importTfjsGraph()',
      );
    for (const k of ['anchors', 'postprocess', 'input'] as const)
      if (options[k] !== undefined)
        throw new TypeError(`Expected ${k} only together with outputs (a TF-OD export reads it from the graph)`);
    const r = importTfOd(nodes, options, weights);
    r.report.unshift(`TF.js graph model: ${nodes.length} nodes, ${weights.size} weights (manifest decoded)`);
    return r;
  }
  if (typeof options.outputs.boxes !== 'string' || typeof options.outputs.scores !== 'string')
    throw invalidParameterError('options.outputs', "{ boxes: 'node name', scores: 'node name' }", options.outputs);
  if (!Array.isArray(options.labels) || options.labels.length < 1)
    throw invalidParameterError('options.labels', 'array of class names (background first)', options.labels);
  if (options.anchors === undefined)
    throw invalidParameterError('options.anchors', 'AnchorSpec (required with outputs)', options.anchors);
  const batch: Dim = options.batch ?? 'batch';
  const conv = new Converter(nodes, options, batch);
  for (const [name, w] of weights) conv.values.set(name, { kind: 'const', dims: w.dims, data: w.data });
  const loc = conv.tensor(options.outputs.boxes, 'outputs.boxes');
  const conf = conv.tensor(options.outputs.scores, 'outputs.scores');
  const numClasses = (options.labels as string[]).length;
  const g = conv.g;
  const input = conv.input;
  if (!input) throw new TypeError('Expected the outputs to depend on the graph input (a Placeholder)');
  const boxes = g.addNode(
    'Reshape',
    [conv.toNhwc(loc, 'boxes'), g.addInitializer('boxes/shape', int64s([0, -1, 4]), [3])],
    ['boxes'],
  )[0];
  const scores = g.addNode(
    'Reshape',
    [conv.toNhwc(conf, 'scores'), g.addInitializer('scores/shape', int64s([0, -1, numClasses]), [3])],
    ['scores'],
  )[0];
  const spec: ModelSpec = {
    name: options.name ?? 'tfjs-ssd',
    architecture: 'ssd',
    converter: TENSORFLOW_CONVERTER,
    input: {
      name: input.name,
      height: input.height,
      width: input.width,
      layout: 'NCHW',
      colorOrder: 'RGB',
      mean: [0, 0, 0],
      std: [1, 1, 1],
      resize: 'stretch',
      ...options.input,
      dynamicBatch: typeof batch === 'string',
    },
    output: { kind: 'raw', boxes: 'boxes', scores: 'scores' },
    anchors: options.anchors,
    labels: [...(options.labels as string[])],
    postprocess: {
      ...POSTPROCESS_PRESETS.torchvision,
      ...options.postprocess,
      boxCoder: { ...POSTPROCESS_PRESETS.torchvision.boxCoder, ...options.postprocess?.boxCoder },
      boxEncoding: 'deltas',
    },
  };
  if (options.source) spec.source = options.source;
  const count = anchorCount(validateModelSpec(spec)) as number;
  g.addOutput(boxes, [batch, count, 4]);
  g.addOutput(scores, [batch, count, numClasses]);
  const model = g.toModel({
    producerName: 'ssd-edge',
    docString: `TensorFlow.js graph model converted by ${TENSORFLOW_CONVERTER}.`,
  });
  writeModelSpec(model, spec);
  conv.report.push(
    `TF.js graph model: ${nodes.length} nodes, ${weights.size} weights; cut at '${options.outputs.boxes}' (boxes) and '${options.outputs.scores}' (scores)`,
    `input '${input.name}' ${input.width}×${input.height}; anchors: ${count}; classes: ${numClasses}`,
  );
  return { model, spec, report: conv.report };
}

/** A GraphDef (binary) from TF.js's JSON nodes (protobuf JSON mapping: base64 bytes, int64 strings, enum names). */
function writeGraphDefJson(nodes: unknown[]): Uint8Array {
  try {
    return writeGraphDefObject(nodes);
  } catch (err) {
    throw new TypeError(`Expected TF.js modelTopology nodes in the protobuf JSON mapping: ${(err as Error).message}`);
  }
}
