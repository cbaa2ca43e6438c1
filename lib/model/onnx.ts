/**
 * Read and write ONNX models (ModelProto) with protobufjs and the project's own schema subset
 * (`onnx.proto`, next to this file; `npm run build` copies it to dist/model/).
 *
 * Objects are plain JS values shaped like the protobuf messages, with ONNX's snake_case field names
 * (`ir_version`, `opset_import`, `raw_data`, ...):
 * - int64 fields are JS numbers (exact up to 2^53; dims, opset versions and attribute ints are far below
 *   that; INT64_MAX / INT64_MIN, as used by Slice, round-trip because protobufjs saturates on write);
 * - bytes fields are Uint8Array (after `readOnnx` they may be views into the input buffer, unaligned:
 *   use `tensorToArray` to get an owned typed array);
 * - unset optional fields are absent, repeated fields are arrays (possibly empty).
 * Fields outside the subset (training info, functions, sparse tensors, non-tensor types) are dropped on read.
 */
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

/** TensorProto.DataType values used by this project (the field itself is an int32). */
export const DataType = {
  UNDEFINED: 0,
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  UINT16: 4,
  INT16: 5,
  INT32: 6,
  INT64: 7,
  STRING: 8,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
  UINT32: 12,
  UINT64: 13,
} as const;
export type DataTypeValue = (typeof DataType)[keyof typeof DataType];

/** AttributeProto.AttributeType values. */
export const AttributeType = {
  UNDEFINED: 0,
  FLOAT: 1,
  INT: 2,
  STRING: 3,
  TENSOR: 4,
  GRAPH: 5,
  FLOATS: 6,
  INTS: 7,
  STRINGS: 8,
  TENSORS: 9,
  GRAPHS: 10,
} as const;

export interface TensorProto {
  name?: string;
  dims?: number[];
  data_type?: number;
  raw_data?: Uint8Array;
  float_data?: number[];
  int32_data?: number[];
  int64_data?: number[];
  double_data?: number[];
  uint64_data?: number[];
  string_data?: Uint8Array[];
  doc_string?: string;
  external_data?: StringStringEntryProto[];
  data_location?: number;
}

export interface AttributeProto {
  name: string;
  type: number;
  f?: number;
  i?: number;
  s?: Uint8Array;
  t?: TensorProto;
  g?: GraphProto;
  floats?: number[];
  ints?: number[];
  strings?: Uint8Array[];
  tensors?: TensorProto[];
  graphs?: GraphProto[];
  doc_string?: string;
  ref_attr_name?: string;
}

export interface NodeProto {
  input: string[];
  output: string[];
  name?: string;
  op_type: string;
  domain?: string;
  attribute?: AttributeProto[];
  doc_string?: string;
}

export interface TensorShapeDimension {
  dim_value?: number;
  dim_param?: string;
  denotation?: string;
}

export interface TypeProto {
  tensor_type?: { elem_type?: number; shape?: { dim?: TensorShapeDimension[] } };
  denotation?: string;
}

export interface ValueInfoProto {
  name: string;
  type?: TypeProto;
  doc_string?: string;
}

export interface GraphProto {
  name?: string;
  node: NodeProto[];
  initializer?: TensorProto[];
  input: ValueInfoProto[];
  output: ValueInfoProto[];
  value_info?: ValueInfoProto[];
  doc_string?: string;
}

export interface OperatorSetIdProto {
  domain?: string;
  version: number;
}

export interface StringStringEntryProto {
  key: string;
  value: string;
}

export interface ModelProto {
  ir_version: number;
  producer_name?: string;
  producer_version?: string;
  domain?: string;
  model_version?: number;
  doc_string?: string;
  graph: GraphProto;
  opset_import: OperatorSetIdProto[];
  metadata_props?: StringStringEntryProto[];
}

// --- schema -------------------------------------------------------------------------------------

let modelType: protobuf.Type | undefined;

/** The ModelProto type, parsed once from onnx.proto (resolved relative to this module: lib/ or dist/). */
function getModelType(): protobuf.Type {
  if (!modelType) {
    const protoPath = fileURLToPath(new URL('./onnx.proto', import.meta.url));
    // keepCase: keep ONNX's snake_case field names instead of protobufjs' default camelCase.
    const root = new protobuf.Root().loadSync(protoPath, { keepCase: true });
    modelType = root.lookupType('ssd_edge_onnx.ModelProto');
  }
  return modelType;
}

// --- API ----------------------------------------------------------------------------------------

/** Parse a serialized ONNX model. */
export function readOnnx(bytes: Uint8Array): ModelProto {
  const type = getModelType();
  const message = type.decode(bytes);
  const model = type.toObject(message, {
    longs: Number, // int64 → number (see the header note)
    enums: Number, // AttributeProto.type etc. stay numeric
    arrays: true, // repeated fields always present
    defaults: false, // unset optionals stay absent
  }) as ModelProto;
  if (!model.graph) throw new Error('readOnnx: not an ONNX model (ModelProto has no graph)');
  return model;
}

/**
 * {@link readOnnx} for bytes read from `file`: a parse failure becomes one TypeError naming the file
 * ("Expected ONNX model for FILE but received a file that does not parse (…)").
 */
export function readOnnxFrom(bytes: Uint8Array, file: string): ModelProto {
  try {
    return readOnnx(bytes);
  } catch (err) {
    throw new TypeError(
      `Expected ONNX model for ${file} but received a file that does not parse (${(err as Error).message})`,
    );
  }
}

/** Serialize a model to ONNX protobuf bytes. */
export function writeOnnx(model: ModelProto): Uint8Array {
  const type = getModelType();
  const err = type.verify(model); // field types of the plain object (fromObject would coerce silently)
  if (err) throw new Error(`writeOnnx: invalid model: ${err}`);
  const bytes = type.encode(type.fromObject(model)).finish();
  // protobufjs returns a Buffer in Node; hand out a plain Uint8Array over the same memory
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** metadata_props as a plain record (a later duplicate key wins, as in onnxruntime). */
export function getMetadata(model: Pick<ModelProto, 'metadata_props'>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const { key, value } of model.metadata_props ?? []) out[key] = value ?? '';
  return out;
}

/**
 * Set metadata_props entries. Keys already present are overwritten in place, new keys are appended
 * (in the record's order); with `{ replace: true }` all existing entries are dropped first.
 */
export function setMetadata(
  model: ModelProto,
  record: Record<string, string>,
  options: { replace?: boolean } = {},
): ModelProto {
  const entries: StringStringEntryProto[] = options.replace ? [] : [...(model.metadata_props ?? [])];
  for (const [key, value] of Object.entries(record)) {
    if (typeof value !== 'string') throw new TypeError(`setMetadata: value of "${key}" must be a string`);
    const existing = entries.filter((e) => e.key === key);
    if (existing.length > 0) {
      existing[0].value = value;
      // drop later duplicates so getMetadata and other readers agree
      for (const dup of existing.slice(1)) entries.splice(entries.indexOf(dup), 1);
    } else {
      entries.push({ key, value });
    }
  }
  model.metadata_props = entries;
  return model;
}

/** Number of elements of a tensor from its dims (1 for a scalar). */
export function tensorSize(tensor: TensorProto): number {
  return (tensor.dims ?? []).reduce((a, b) => a * b, 1);
}

/**
 * Owned typed array with the values of a FLOAT, INT32 or INT64 tensor (raw_data or the typed field).
 * Only what this project stores; other types throw.
 */
export function tensorToArray(tensor: TensorProto): Float32Array | Int32Array | BigInt64Array {
  const n = tensorSize(tensor);
  const raw = tensor.raw_data;
  const fromRaw = <T>(ctor: { new (buf: ArrayBuffer): T; BYTES_PER_ELEMENT: number }): T => {
    if (raw!.byteLength !== n * ctor.BYTES_PER_ELEMENT) {
      throw new Error(
        `tensor ${tensor.name}: raw_data has ${raw!.byteLength} bytes, expected ${n * ctor.BYTES_PER_ELEMENT}`,
      );
    }
    assertLittleEndian();
    return new ctor(new Uint8Array(raw!).buffer as ArrayBuffer); // copy (Buffer#slice would not): aligned and owned
  };
  switch (tensor.data_type) {
    case DataType.FLOAT:
      return raw && raw.byteLength > 0 ? fromRaw(Float32Array) : Float32Array.from(tensor.float_data ?? []);
    case DataType.INT32:
      return raw && raw.byteLength > 0 ? fromRaw(Int32Array) : Int32Array.from(tensor.int32_data ?? []);
    case DataType.INT64:
      return raw && raw.byteLength > 0
        ? fromRaw(BigInt64Array)
        : BigInt64Array.from((tensor.int64_data ?? []).map(int64FromNumber));
    default:
      throw new Error(`tensor ${tensor.name}: data_type ${tensor.data_type} not supported by tensorToArray`);
  }
}

const INT64_MAX = (1n << 63n) - 1n;
const INT64_MIN = -(1n << 63n);

/** int64 read as a JS number back to bigint, saturating like protobufjs does on write (±2^63 → INT64_MAX/MIN). */
function int64FromNumber(v: number): bigint {
  if (v >= 2 ** 63) return INT64_MAX;
  if (v <= -(2 ** 63)) return INT64_MIN;
  return BigInt(v);
}

/** raw_data is little-endian; typed arrays use the host order. Every platform Node ships on is LE. */
export function assertLittleEndian(): void {
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
    throw new Error('ssd-edge: big-endian hosts are not supported (ONNX raw_data is little-endian)');
  }
}
