/**
 * A reader for the subset of the TFLite flatbuffer schema that SSD detectors use, written here from the published
 * schema (tensorflow/lite/schema/schema.fbs, file identifier "TFL3") and read with the `flatbuffers` library's
 * ByteBuffer. Field numbers below are the schema's field order (vtable slot = 4 + 2·field).
 */
import { ByteBuffer } from 'flatbuffers';
import { toObject } from 'flatbuffers/js/flexbuffers.js';

/** schema.fbs `TensorType`. */
export const TensorType = { FLOAT32: 0, FLOAT16: 1, INT32: 2, UINT8: 3, INT64: 4, INT8: 9 } as const;
export const TENSOR_TYPE_NAMES: Record<number, string> = {
  0: 'float32',
  1: 'float16',
  2: 'int32',
  3: 'uint8',
  4: 'int64',
  5: 'string',
  6: 'bool',
  7: 'int16',
  9: 'int8',
};

/** schema.fbs `BuiltinOperator` (the ones named in errors and handled by the importer). */
export const BuiltinOperator = {
  ADD: 0,
  AVERAGE_POOL_2D: 1,
  CONCATENATION: 2,
  CONV_2D: 3,
  DEPTHWISE_CONV_2D: 4,
  DEQUANTIZE: 6,
  LOGISTIC: 14,
  MAX_POOL_2D: 17,
  MUL: 18,
  RELU: 19,
  RELU6: 21,
  RESHAPE: 22,
  SOFTMAX: 25,
  CUSTOM: 32,
  SUB: 41,
  SQUEEZE: 43,
  QUANTIZE: 114,
  HARD_SWISH: 117,
} as const;
export const BUILTIN_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(BuiltinOperator).map(([k, v]) => [v, k]),
);

/** schema.fbs `ActivationFunctionType`: NONE 0, RELU 1, RELU_N1_TO_1 2, RELU6 3, TANH 4. */
export type Activation = 0 | 1 | 2 | 3 | 4 | 5;

export interface TfliteQuantization {
  scale: Float32Array;
  zeroPoint: number[];
  quantizedDimension: number;
}

export interface TfliteTensor {
  index: number;
  name: string;
  shape: number[];
  type: number;
  /** Constant data (the tensor's buffer) or null for activations. */
  data: Uint8Array | null;
  quantization: TfliteQuantization | null;
}

export interface TfliteOperator {
  /** Builtin code, or CUSTOM (32) with `customCode`. */
  code: number;
  customCode?: string;
  inputs: number[];
  outputs: number[];
  /** Builtin options table position in the buffer (read with the helpers below), or 0 when absent. */
  optionsPos: number;
  /** Custom options bytes (flexbuffer for TFLite_Detection_PostProcess). */
  customOptions: Uint8Array | null;
}

export interface TfliteModel {
  version: number;
  description: string;
  tensors: TfliteTensor[];
  inputs: number[];
  outputs: number[];
  operators: TfliteOperator[];
  /** The ByteBuffer, for reading the operators' options tables. */
  bb: ByteBuffer;
}

const slot = (field: number) => 4 + 2 * field;

function field(bb: ByteBuffer, table: number, f: number): number {
  return bb.__offset(table, slot(f));
}

/** Start and length of a vector field, checked to lie inside the buffer (a corrupt length cannot make us loop or allocate). */
function vector(bb: ByteBuffer, table: number, o: number, elemSize: number): [number, number] {
  const start = bb.__vector(table + o);
  const n = bb.__vector_len(table + o);
  if (start < 0 || n < 0 || start + n * elemSize > bb.capacity())
    throw new TypeError(
      `Expected a well-formed TFLite flatbuffer but a vector runs past its end (${n} elements at ${start})`,
    );
  return [start, n];
}

function tableVector(bb: ByteBuffer, table: number, f: number): number[] {
  const o = field(bb, table, f);
  if (!o) return [];
  const [start, n] = vector(bb, table, o, 4);
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(bb.__indirect(start + 4 * i));
  return out;
}

function intVector(bb: ByteBuffer, table: number, f: number): number[] {
  const o = field(bb, table, f);
  if (!o) return [];
  const [start, n] = vector(bb, table, o, 4);
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(bb.readInt32(start + 4 * i));
  return out;
}

function bytesVector(bb: ByteBuffer, table: number, f: number): Uint8Array | null {
  const o = field(bb, table, f);
  if (!o) return null;
  const [start, n] = vector(bb, table, o, 1);
  return bb.bytes().subarray(start, start + n);
}

function str(bb: ByteBuffer, table: number, f: number): string {
  const o = field(bb, table, f);
  return o ? (bb.__string(table + o) as string) : '';
}

/** Scalar field readers (defaults as in schema.fbs). */
export const scalar = {
  int8: (bb: ByteBuffer, t: number, f: number, d = 0) => (field(bb, t, f) ? bb.readInt8(t + field(bb, t, f)) : d),
  uint8: (bb: ByteBuffer, t: number, f: number, d = 0) => (field(bb, t, f) ? bb.readUint8(t + field(bb, t, f)) : d),
  int32: (bb: ByteBuffer, t: number, f: number, d = 0) => (field(bb, t, f) ? bb.readInt32(t + field(bb, t, f)) : d),
  uint32: (bb: ByteBuffer, t: number, f: number, d = 0) => (field(bb, t, f) ? bb.readUint32(t + field(bb, t, f)) : d),
  ints: intVector,
};

function readQuantization(bb: ByteBuffer, table: number): TfliteQuantization | null {
  // QuantizationParameters { min:[float] 0; max:[float] 1; scale:[float] 2; zero_point:[long] 3; details 4,5; quantized_dimension:int 6 }
  const so = field(bb, table, 2);
  if (!so) return null;
  const [sStart, n] = vector(bb, table, so, 4);
  if (n === 0) return null;
  const scale = new Float32Array(n);
  for (let i = 0; i < n; i++) scale[i] = bb.readFloat32(sStart + 4 * i);
  const zo = field(bb, table, 3);
  const zeroPoint: number[] = [];
  if (zo) {
    const [zStart, zn] = vector(bb, table, zo, 8);
    for (let i = 0; i < zn; i++) zeroPoint.push(Number(bb.readInt64(zStart + 8 * i)));
  }
  while (zeroPoint.length < n) zeroPoint.push(0);
  return { scale, zeroPoint, quantizedDimension: scalar.int32(bb, table, 6) };
}

/**
 * Reads a TFLite flatbuffer (the first subgraph): tensors with their constant data and quantization, the operators
 * with their codes and options. Throws a TypeError when the bytes are not a TFLite model.
 */
export function readTflite(bytes: Uint8Array): TfliteModel {
  if (!(bytes instanceof Uint8Array) || bytes.byteLength < 8) {
    throw new TypeError(
      `Expected a TFLite flatbuffer (file identifier 'TFL3') but received ${bytes?.byteLength ?? 0} bytes`,
    );
  }
  // a plain view (a Node Buffer's slice() shares memory and its constructor is Buffer)
  const bb = new ByteBuffer(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  const id = bb.getBufferIdentifier();
  if (id !== 'TFL3') {
    throw new TypeError(
      `Expected a TFLite flatbuffer (file identifier 'TFL3') but received identifier ${JSON.stringify(id)}`,
    );
  }
  try {
    const model = bb.readInt32(0);
    // Model { version:uint 0; operator_codes 1; subgraphs 2; description 3; buffers 4 }
    const version = scalar.uint32(bb, model, 0);
    const codes = tableVector(bb, model, 1).map((t) => {
      // OperatorCode { deprecated_builtin_code:byte 0; custom_code:string 1; version 2; builtin_code:int 3 }
      const code = Math.max(scalar.int8(bb, t, 0), scalar.int32(bb, t, 3));
      return { code, customCode: str(bb, t, 1) };
    });
    const buffers = tableVector(bb, model, 4).map((t) => bytesVector(bb, t, 0));
    const subgraphs = tableVector(bb, model, 2);
    if (subgraphs.length === 0) throw new TypeError('Expected a TFLite model with a subgraph but received none');
    const sg = subgraphs[0];
    // SubGraph { tensors 0; inputs 1; outputs 2; operators 3; name 4 }
    const tensors = tableVector(bb, sg, 0).map((t, index): TfliteTensor => {
      // Tensor { shape 0; type:byte 1; buffer:uint 2; name 3; quantization 4 }
      const buf = scalar.uint32(bb, t, 2);
      const data = buffers[buf];
      const qo = field(bb, t, 4);
      return {
        index,
        name: str(bb, t, 3),
        shape: intVector(bb, t, 0),
        type: scalar.int8(bb, t, 1),
        data: data && data.byteLength > 0 ? data : null,
        quantization: qo ? readQuantization(bb, bb.__indirect(t + qo)) : null,
      };
    });
    const operators = tableVector(bb, sg, 3).map((t): TfliteOperator => {
      // Operator { opcode_index:uint 0; inputs 1; outputs 2; builtin_options_type 3; builtin_options 4; custom_options 5 }
      const oc = codes[scalar.uint32(bb, t, 0)];
      if (!oc) throw new TypeError('Expected a valid opcode_index in a TFLite operator but received one out of range');
      const oo = field(bb, t, 4);
      return {
        code: oc.code,
        customCode: oc.code === BuiltinOperator.CUSTOM ? oc.customCode : undefined,
        inputs: intVector(bb, t, 1),
        outputs: intVector(bb, t, 2),
        optionsPos: oo ? bb.__indirect(t + oo) : 0,
        customOptions: bytesVector(bb, t, 5),
      };
    });
    const inputs = intVector(bb, sg, 1);
    const outputs = intVector(bb, sg, 2);
    const bad = (i: number) => !(i >= -1 && i < tensors.length);
    for (const [k, op] of operators.entries())
      if (op.inputs.some(bad) || op.outputs.some(bad) || op.outputs.includes(-1))
        throw new TypeError(
          `Expected tensor indices below ${tensors.length} in TFLite operator ${k} but received ${[...op.inputs, ...op.outputs]}`,
        );
    if (inputs.some((i) => i < 0 || bad(i)) || outputs.some((i) => i < 0 || bad(i)))
      throw new TypeError(
        `Expected subgraph inputs/outputs below ${tensors.length} but received ${[...inputs, ...outputs]}`,
      );
    for (const t of tensors)
      if (t.shape.some((d) => d < -1))
        throw new TypeError(`Expected tensor dims ≥ −1 in TFLite tensor '${t.name}' but received [${t.shape}]`);
    return {
      version,
      description: str(bb, model, 3),
      tensors,
      inputs,
      outputs,
      operators,
      bb,
    };
  } catch (err) {
    if (err instanceof TypeError) throw err;
    throw new TypeError(`Expected a well-formed TFLite flatbuffer but reading it failed: ${(err as Error).message}`);
  }
}

/** Decodes a flexbuffer map (custom operator options) into a plain object. */
export function readFlexbufferMap(bytes: Uint8Array): Record<string, unknown> {
  const copy = new Uint8Array(bytes.byteLength); // own ArrayBuffer (a Node Buffer's slice shares its pool)
  copy.set(bytes);
  let obj: unknown;
  try {
    obj = toObject(copy.buffer);
  } catch (err) {
    throw new TypeError(
      `Expected custom options as a flexbuffer map but decoding failed: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
    throw new TypeError('Expected custom options as a flexbuffer map but received another value');
  }
  return obj as Record<string, unknown>;
}
