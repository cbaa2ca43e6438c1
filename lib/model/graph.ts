/**
 * A small, generic ONNX graph builder (default domain, opset 13 unless told otherwise).
 *
 * Used by the model importers (face-api SSD MobileNetV1 now, SSD300-VGG16 later). It only assembles
 * protobuf-shaped objects (see ./onnx.ts) and checks the wiring (unique names, every node input defined
 * before use); it does no shape inference — callers track spatial sizes themselves (see `tfSamePadding`).
 *
 * ```ts
 * const g = new GraphBuilder('net');
 * g.addInput('x', ['batch', 3, 224, 224]);
 * const w = g.addInitializer('w', weights, [16, 3, 3, 3]);
 * g.addNode('Conv', ['x', w], ['y'], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] });
 * g.addOutput('y', ['batch', 16, 224, 224]);
 * const bytes = writeOnnx(g.toModel({ producerName: 'me' }));
 * ```
 */
import {
  AttributeType,
  DataType,
  assertLittleEndian,
  setMetadata,
  type AttributeProto,
  type ModelProto,
  type NodeProto,
  type TensorProto,
  type ValueInfoProto,
} from './onnx.ts';

/** A dimension: a fixed size or a symbolic name (e.g. 'batch'). */
export type Dim = number | string;

/** Typed arrays the builder can store as initializers. */
export type TensorData = Float32Array | Int32Array | BigInt64Array | Uint8Array;

/** Explicitly typed attribute values, for when the plain-JS inference below would pick the wrong type. */
export interface TypedAttr {
  readonly attrType: number;
  readonly value: number | number[] | TensorProto;
}
/** FLOAT attribute (use for float attributes whose value is an integer, e.g. `alpha: float(1)`). */
export const float = (value: number): TypedAttr => ({ attrType: AttributeType.FLOAT, value });
/** FLOATS attribute (needed for empty or all-integer float lists). */
export const floats = (value: number[]): TypedAttr => ({ attrType: AttributeType.FLOATS, value });
/** INT attribute. */
export const int = (value: number): TypedAttr => ({ attrType: AttributeType.INT, value });
/** INTS attribute (needed for empty lists). */
export const ints = (value: number[]): TypedAttr => ({ attrType: AttributeType.INTS, value });
/** TENSOR attribute (e.g. Constant's `value`); build the tensor with `makeTensor`. */
export const tensorAttr = (value: TensorProto): TypedAttr => ({ attrType: AttributeType.TENSOR, value });

/**
 * Attribute values. Plain JS values are typed as: integer number / bigint → INT, other number → FLOAT,
 * string → STRING, array of integers → INTS, array with a non-integer → FLOATS, string[] → STRINGS.
 * Use the wrappers above where that is wrong (a float attribute that happens to be integral, empty lists).
 */
export type AttrValue = number | bigint | string | number[] | string[] | TypedAttr;

const utf8 = new TextEncoder();

function makeAttribute(name: string, v: AttrValue): AttributeProto {
  if (typeof v === 'object' && v !== null && 'attrType' in v) {
    switch (v.attrType) {
      case AttributeType.FLOAT:
        return { name, type: v.attrType, f: v.value as number };
      case AttributeType.INT:
        return { name, type: v.attrType, i: checkInt(name, v.value as number) };
      case AttributeType.FLOATS:
        return { name, type: v.attrType, floats: [...(v.value as number[])] };
      case AttributeType.INTS:
        return { name, type: v.attrType, ints: (v.value as number[]).map((x) => checkInt(name, x)) };
      case AttributeType.TENSOR:
        return { name, type: v.attrType, t: v.value as TensorProto };
      default:
        throw new Error(`attribute ${name}: unsupported attribute type ${v.attrType}`);
    }
  }
  if (typeof v === 'bigint') return { name, type: AttributeType.INT, i: Number(v) };
  if (typeof v === 'number') {
    return Number.isInteger(v) ? { name, type: AttributeType.INT, i: v } : { name, type: AttributeType.FLOAT, f: v };
  }
  if (typeof v === 'string') return { name, type: AttributeType.STRING, s: utf8.encode(v) };
  if (Array.isArray(v)) {
    if (v.length === 0) throw new Error(`attribute ${name}: empty list is ambiguous, use ints([]) or floats([])`);
    if (v.every((x) => typeof x === 'string')) {
      return { name, type: AttributeType.STRINGS, strings: (v as string[]).map((x) => utf8.encode(x)) };
    }
    if (v.every((x) => typeof x === 'number')) {
      const nums = v as number[];
      return nums.every(Number.isInteger)
        ? { name, type: AttributeType.INTS, ints: [...nums] }
        : { name, type: AttributeType.FLOATS, floats: [...nums] };
    }
  }
  throw new Error(`attribute ${name}: unsupported value ${String(v)}`);
}

function checkInt(name: string, x: number): number {
  if (!Number.isInteger(x)) throw new Error(`attribute ${name}: ${x} is not an integer`);
  return x;
}

function dataTypeOf(data: TensorData): number {
  if (data instanceof Float32Array) return DataType.FLOAT;
  if (data instanceof Int32Array) return DataType.INT32;
  if (data instanceof BigInt64Array) return DataType.INT64;
  if (data instanceof Uint8Array) return DataType.UINT8;
  throw new Error('unsupported tensor data');
}

/** A TensorProto holding a copy of `data` as little-endian raw_data. */
export function makeTensor(name: string, data: TensorData, dims: number[]): TensorProto {
  const size = dims.reduce((a, b) => a * b, 1);
  if (dims.some((d) => !Number.isInteger(d) || d < 0)) throw new Error(`tensor ${name}: bad dims [${dims}]`);
  if (data.length !== size) throw new Error(`tensor ${name}: ${data.length} values for dims [${dims}] (${size})`);
  assertLittleEndian();
  const raw = new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice(); // owned copy
  return { name, dims: [...dims], data_type: dataTypeOf(data), raw_data: raw };
}

/** int64 1-D tensor data from plain numbers (shapes, axes, ...). */
export const int64s = (values: number[]): BigInt64Array => BigInt64Array.from(values.map((v) => BigInt(v)));

function valueInfo(name: string, shape: Dim[], elemType: number): ValueInfoProto {
  return {
    name,
    type: {
      tensor_type: {
        elem_type: elemType,
        shape: { dim: shape.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d })) },
      },
    },
  };
}

/**
 * TensorFlow 'SAME' padding for one conv / pool, as ONNX `pads` = [top, left, bottom, right].
 *
 * TF: out = ceil(in / stride); total = max((out − 1)·stride + (k − 1)·dilation + 1 − in, 0);
 * before = floor(total / 2), after = total − before. When `total` is odd (e.g. 3×3 stride 2 on an even
 * size: total = 1) the extra row/column goes at the bottom/right — ONNX's auto_pad SAME_UPPER would
 * agree, but explicit pads make the asymmetry visible and do not depend on runtime conventions.
 */
export function tfSamePadding(
  inSize: [number, number],
  kernel: [number, number],
  stride: [number, number],
  dilation: [number, number] = [1, 1],
): { pads: [number, number, number, number]; outSize: [number, number] } {
  const before: number[] = [];
  const after: number[] = [];
  const out: number[] = [];
  for (let i = 0; i < 2; i++) {
    const o = Math.ceil(inSize[i] / stride[i]);
    const total = Math.max((o - 1) * stride[i] + (kernel[i] - 1) * dilation[i] + 1 - inSize[i], 0);
    before.push(Math.floor(total / 2));
    after.push(total - Math.floor(total / 2));
    out.push(o);
  }
  return { pads: [before[0], before[1], after[0], after[1]], outSize: [out[0], out[1]] };
}

export interface ToModelOptions {
  producerName?: string;
  producerVersion?: string;
  docString?: string;
  /** metadata_props; values must be strings. */
  metadata?: Record<string, string>;
  /** ONNX IR version (default 8: understood by onnxruntime ≥ 1.10 and onnx ≥ 1.10). */
  irVersion?: number;
  modelVersion?: number;
}

export class GraphBuilder {
  readonly name: string;
  readonly opset: number;
  private readonly nodes: NodeProto[] = [];
  private readonly initializers: TensorProto[] = [];
  private readonly inputs: ValueInfoProto[] = [];
  private readonly outputs: ValueInfoProto[] = [];
  /** Every value name defined so far (graph inputs, initializers, node outputs). */
  private readonly defined = new Set<string>();
  private readonly nodeNames = new Set<string>();
  private readonly counters = new Map<string, number>();

  constructor(name: string, options: { opset?: number } = {}) {
    this.name = name;
    this.opset = options.opset ?? 13;
  }

  /** A value name not used yet: `base` if free, else `base_1`, `base_2`, ... */
  uniqueName(base: string): string {
    if (!this.defined.has(base)) return base;
    let k = this.counters.get(base) ?? 0;
    let name: string;
    do name = `${base}_${++k}`;
    while (this.defined.has(name));
    this.counters.set(base, k);
    return name;
  }

  has(name: string): boolean {
    return this.defined.has(name);
  }

  private define(name: string, what: string): void {
    if (!name) throw new Error(`${what}: empty name`);
    if (this.defined.has(name)) throw new Error(`${what}: "${name}" is already defined`);
    this.defined.add(name);
  }

  /** Graph input (float32 unless `elemType` says otherwise). Returns the name. */
  addInput(name: string, shape: Dim[], elemType: number = DataType.FLOAT): string {
    this.define(name, 'addInput');
    this.inputs.push(valueInfo(name, shape, elemType));
    return name;
  }

  /** Graph output; `name` must be produced by a node (or be an input/initializer). Returns the name. */
  addOutput(name: string, shape: Dim[], elemType: number = DataType.FLOAT): string {
    if (!this.defined.has(name)) throw new Error(`addOutput: "${name}" is not produced by the graph`);
    if (this.outputs.some((o) => o.name === name)) throw new Error(`addOutput: "${name}" is already an output`);
    this.outputs.push(valueInfo(name, shape, elemType));
    return name;
  }

  /** Constant tensor (copied). Float32Array → FLOAT, Int32Array → INT32, BigInt64Array → INT64, Uint8Array → UINT8. */
  addInitializer(name: string, data: TensorData, dims: number[]): string {
    this.define(name, 'addInitializer');
    this.initializers.push(makeTensor(name, data, dims));
    return name;
  }

  /**
   * Append a node (nodes must be added in topological order: every input must already exist; '' marks
   * an omitted optional input). Returns the output names.
   */
  addNode(
    opType: string,
    inputs: string[],
    outputs: string[],
    attrs: Record<string, AttrValue> = {},
    options: { name?: string; domain?: string } = {},
  ): string[] {
    for (const i of inputs) {
      if (i !== '' && !this.defined.has(i)) throw new Error(`${opType}: input "${i}" is not defined yet`);
    }
    if (outputs.length === 0) throw new Error(`${opType}: a node needs at least one output`);
    for (const o of outputs) if (o !== '') this.define(o, opType);
    // node names live in their own namespace; default to the first output's name
    let name = options.name ?? outputs[0];
    for (let k = 1; this.nodeNames.has(name); k++) name = `${options.name ?? outputs[0]}_${k}`;
    this.nodeNames.add(name);
    const node: NodeProto = {
      input: [...inputs],
      output: [...outputs],
      name,
      op_type: opType,
      attribute: Object.entries(attrs).map(([k, v]) => makeAttribute(k, v)),
    };
    if (options.domain) node.domain = options.domain;
    this.nodes.push(node);
    return outputs;
  }

  /** Shorthand for a single-output node; the output is named uniquely from `outName` (default: op type). */
  op(opType: string, inputs: string[], attrs: Record<string, AttrValue> = {}, outName?: string): string {
    return this.addNode(opType, inputs, [this.uniqueName(outName ?? opType)], attrs)[0];
  }

  /** The finished ModelProto (the builder keeps its state; calling twice gives two equal models). */
  toModel(options: ToModelOptions = {}): ModelProto {
    if (this.outputs.length === 0) throw new Error('toModel: the graph has no outputs');
    const model: ModelProto = {
      ir_version: options.irVersion ?? 8,
      producer_name: options.producerName ?? 'ssd-edge',
      opset_import: [{ domain: '', version: this.opset }],
      graph: {
        name: this.name,
        node: this.nodes.map((n) => ({ ...n })),
        initializer: [...this.initializers],
        input: [...this.inputs],
        output: [...this.outputs],
      },
    };
    if (options.producerVersion !== undefined) model.producer_version = options.producerVersion;
    if (options.docString !== undefined) model.doc_string = options.docString;
    if (options.modelVersion !== undefined) model.model_version = options.modelVersion;
    if (options.metadata) setMetadata(model, options.metadata);
    return model;
  }
}
