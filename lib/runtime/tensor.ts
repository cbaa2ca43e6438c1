/**
 * Plain tensors: what {@link Session.run} takes and returns instead of onnxruntime-node's `Tensor`, so code outside
 * lib/runtime/ never depends on the ONNX Runtime API. The element type follows from the typed array.
 */
import { invalidParameterError } from '../is.ts';
import type { OrtModule } from './ort.ts';

/** Typed arrays a tensor can hold (element type from the array: Float32Array → float32, BigInt64Array → int64, …). */
export type TensorArray =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array;

/** A dense tensor: `data` in row-major order, `dims` its shape (product of dims = data.length). */
export interface Tensor<T extends TensorArray = TensorArray> {
  data: T;
  dims: readonly number[];
}

/** Named tensors (feeds or outputs of a session). */
export type TensorMap = Record<string, Tensor>;

/** ONNX Runtime element type of a typed array. */
export function tensorType(data: TensorArray): OrtModule.Tensor.Type {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Float64Array) return 'float64';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof BigInt64Array) return 'int64';
  if (data instanceof Uint8Array) return 'uint8';
  if (data instanceof Int8Array) return 'int8';
  if (data instanceof Int16Array) return 'int16';
  if (data instanceof Uint16Array) return 'uint16';
  if (data instanceof Uint32Array) return 'uint32';
  if (data instanceof BigUint64Array) return 'uint64';
  throw invalidParameterError(
    'tensor data',
    'typed array (Float32Array, Int32Array, BigInt64Array, Uint8Array, …)',
    data,
  );
}

/** Checks one feed: a typed array and integer dims whose product is its length. */
export function assertTensor(name: string, t: unknown): asserts t is Tensor {
  if (typeof t !== 'object' || t === null) throw invalidParameterError(name, '{ data, dims } tensor', t);
  const { data, dims } = t as Tensor;
  tensorType(data);
  if (!Array.isArray(dims) || !dims.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw invalidParameterError(`${name}.dims`, 'Array of integers ≥ 0', dims);
  }
  const n = dims.reduce((a, b) => a * b, 1);
  if (n !== data.length)
    throw invalidParameterError(
      `${name}.data`,
      `typed array of length ${n} (product of dims [${dims.join(', ')}])`,
      data,
    );
}
