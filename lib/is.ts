/**
 * Tiny type guards and argument assertions shared by the facade (after sharp's `lib/is`).
 * Every assertion throws an error whose message reads
 * `Expected <what> for <name> but received <description of the value>`:
 * a TypeError for a value of the wrong type or shape, a RangeError for a number out of range (NaN included).
 * Typed arrays are checked through their internal slots, so a Proxy or a detached array gets the same message as any
 * other wrong value (`Expected Float32Array … for boxes but received detached Float32Array`).
 */
import { types } from 'node:util';

/** Is this value a number (NaN and ±Infinity included)? */
export const number = (value: unknown): value is number => typeof value === 'number';

/** Is this value a plain object (not null, not an array, not a typed array)? */
export const object = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value) && !ArrayBuffer.isView(value);

// The intrinsic getters of %TypedArray%.prototype read a typed array's internal slots: they never run Proxy traps or
// user getters, and they work on typed arrays of any realm.
const TYPED_ARRAY_PROTOTYPE = Object.getPrototypeOf(Int8Array.prototype) as object;
const intrinsicGetter = (key: PropertyKey) =>
  Object.getOwnPropertyDescriptor(TYPED_ARRAY_PROTOTYPE, key)!.get! as (this: unknown) => unknown;
const typedArrayTag = intrinsicGetter(Symbol.toStringTag);
const typedArrayLength = intrinsicGetter('length');
const typedArrayBuffer = intrinsicGetter('buffer');
const isProxy = (value: unknown): boolean => types.isProxy(value);

/**
 * The kind of a real typed array (`'Float32Array'`, `'Int32Array'`, …; a subclass such as Buffer gives its base kind),
 * or undefined for anything else — a Proxy around a typed array included (`instanceof` says true for such a Proxy,
 * but the addon and every typed-array method reject it with V8's "incompatible receiver").
 */
export function typedArrayKind(value: unknown): string | undefined {
  return typedArrayTag.call(value) as string | undefined;
}

/**
 * Is this real typed array's buffer detached (transferred to a worker, `structuredClone(…, { transfer })`)? Such an
 * array reads as length 0 and any copy of it throws "Cannot perform Construct on a detached ArrayBuffer".
 * `ArrayBuffer.prototype.detached` does not exist on Node 20, so a length-0 array is probed with an empty view.
 */
export function detached(value: ArrayBufferView): boolean {
  if (typedArrayLength.call(value) !== 0) return false;
  try {
    new Uint8Array(typedArrayBuffer.call(value) as ArrayBuffer, 0, 0);
    return false;
  } catch {
    return true;
  }
}

/**
 * Is this value a usable typed array of the given kind: a real one (not a Proxy), of this realm or another, whose
 * buffer is not detached?
 */
export function typedArrayOf<T extends ArrayBufferView>(value: unknown, kind: new (n: number) => T): value is T {
  return typedArrayKind(value) === kind.name && !detached(value as T);
}

/**
 * Describes a received value for an error message: `NaN`, `undefined`, `"abc"`, `Float32Array of length 7`,
 * `detached Float32Array`, `Proxy`, … (never runs a Proxy trap).
 */
export function describe(value: unknown): string {
  if (value === null || value === undefined || typeof value === 'number' || typeof value === 'boolean')
    return String(value);
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'symbol') return value.toString();
  if (isProxy(value)) return typeof value === 'function' ? 'Proxy (function)' : 'Proxy';
  if (typeof value === 'function') return 'function';
  const kind = typedArrayKind(value);
  if (kind !== undefined && detached(value as ArrayBufferView)) return `detached ${kind}`;
  if (Array.isArray(value) || kind !== undefined) {
    return `${value.constructor?.name ?? kind} of length ${kind !== undefined ? typedArrayLength.call(value) : (value as unknown[]).length}`;
  }
  const name = Object.getPrototypeOf(value)?.constructor?.name;
  return name && name !== 'Object' ? `${name} object` : 'object';
}

/**
 * TypeError for an argument of the wrong type or shape.
 * @example invalidParameterError('boxes', 'Float32Array of length 4·N', new Float32Array(7))
 * // TypeError: Expected Float32Array of length 4·N for boxes but received Float32Array of length 7
 */
export function invalidParameterError(name: string, expected: string, actual: unknown): TypeError {
  return new TypeError(`Expected ${expected} for ${name} but received ${describe(actual)}`);
}

/**
 * RangeError for a number that has the right type but an invalid value (NaN, out of range, not an integer).
 * @example outOfRangeError('iouThreshold', 'number in [0, 1]', NaN)
 * // RangeError: Expected number in [0, 1] for iouThreshold but received NaN
 */
export function outOfRangeError(name: string, expected: string, actual: unknown): RangeError {
  return new RangeError(`Expected ${expected} for ${name} but received ${describe(actual)}`);
}

/** `Float32Array`, or `Float32Array of length m·N` when the length must be a multiple of m (> 1). */
export function assertFloat32Array(name: string, value: unknown, multipleOf = 1): asserts value is Float32Array {
  if (!typedArrayOf(value, Float32Array) || value.length % multipleOf !== 0) {
    throw invalidParameterError(
      name,
      multipleOf > 1 ? `Float32Array of length ${multipleOf}·N` : 'Float32Array',
      value,
    );
  }
}

/** Typed array of one class with an exact length; `why` explains the length, e.g. `one per box`. */
function assertTypedArrayLength<T extends Float32Array | Int32Array>(
  name: string,
  value: unknown,
  type: new (n: number) => T,
  length: number,
  why: string,
): asserts value is T {
  if (!typedArrayOf(value, type) || value.length !== length) {
    throw invalidParameterError(name, `${type.name} of length ${length} (${why})`, value);
  }
}

/** Float32Array of exactly `length` elements. */
export function assertFloat32ArrayLength(
  name: string,
  value: unknown,
  length: number,
  why: string,
): asserts value is Float32Array {
  assertTypedArrayLength(name, value, Float32Array, length, why);
}

/** Int32Array of exactly `length` elements. */
export function assertInt32Array(
  name: string,
  value: unknown,
  length: number,
  why: string,
): asserts value is Int32Array {
  assertTypedArrayLength(name, value, Int32Array, length, why);
}

/** A number that is not NaN and not ±Infinity. */
export function assertFiniteNumber(name: string, value: unknown): asserts value is number {
  if (!number(value)) throw invalidParameterError(name, 'finite number', value);
  if (!Number.isFinite(value)) throw outOfRangeError(name, 'finite number', value);
}

/**
 * A number in [min, max], NaN never. The expected text is `number in [0, 1]`, `number ≥ 0`, `number ≤ 1` or
 * `number (not NaN)` (both bounds infinite).
 */
export function assertInRange(name: string, value: unknown, min: number, max: number): asserts value is number {
  const expected =
    min === -Infinity
      ? max === Infinity
        ? 'number (not NaN)'
        : `number ≤ ${max}`
      : max === Infinity
        ? `number ≥ ${min}`
        : `number in [${min}, ${max}]`;
  if (!number(value)) throw invalidParameterError(name, expected, value);
  if (!(value >= min && value <= max)) throw outOfRangeError(name, expected, value);
}

/** A number > 0 (`finite number > 0` when `finite`, else Infinity passes). */
export function assertPositive(name: string, value: unknown, finite = false): asserts value is number {
  const expected = `${finite ? 'finite ' : ''}number > 0`;
  if (!number(value)) throw invalidParameterError(name, expected, value);
  if (!(value > 0) || (finite && value === Infinity)) throw outOfRangeError(name, expected, value);
}

/** An integer ≥ min (a count, a size, an index); with `allowInfinity`, Infinity too (documented as "all"). */
export function assertInteger(name: string, value: unknown, min = 0, allowInfinity = false): asserts value is number {
  const expected = `integer ≥ ${min}${allowInfinity ? ' or Infinity (all)' : ''}`;
  if (!number(value)) throw invalidParameterError(name, expected, value);
  if (!(value >= min) || !(Number.isInteger(value) || (allowInfinity && value === Infinity))) {
    throw outOfRangeError(name, expected, value);
  }
  // Counts cross into the addon as int32.
  if (value !== Infinity && value > MAX_INT32)
    throw outOfRangeError(name, `integer in [${min}, ${MAX_INT32}]${allowInfinity ? ' or Infinity (all)' : ''}`, value);
}

const MAX_INT32 = 2147483647;

/** true or false. */
export function assertBoolean(name: string, value: unknown): asserts value is boolean {
  if (typeof value !== 'boolean') throw invalidParameterError(name, 'boolean', value);
}

/** One of a fixed list of strings: `Expected one of 'xyxy', 'cxcywh', 'xywh' for inFmt but received "xy"`. */
export function assertOneOf<T extends string>(name: string, value: unknown, allowed: readonly T[]): asserts value is T {
  if (!allowed.includes(value as T)) {
    throw invalidParameterError(name, `one of ${allowed.map((a) => `'${a}'`).join(', ')}`, value);
  }
}

/** A plain object (a spec, an options bag). */
export function assertObject(name: string, value: unknown): asserts value is Record<string, unknown> {
  if (!object(value)) throw invalidParameterError(name, 'object', value);
}

/** A non-empty array (elements are checked by the caller). */
export function assertArray(name: string, value: unknown, minLength = 1): asserts value is unknown[] {
  if (!Array.isArray(value) || value.length < minLength) {
    throw invalidParameterError(name, minLength > 0 ? `Array of length ≥ ${minLength}` : 'Array', value);
  }
}

/** `{ ...defaults, ...options }` where fields of `options` that are undefined keep the default. */
export function withDefaults<T extends object>(defaults: T, options: Partial<T> | undefined): T {
  const merged = { ...defaults };
  for (const [key, value] of Object.entries(options ?? {})) {
    if (value !== undefined) (merged as Record<string, unknown>)[key] = value;
  }
  return merged;
}

/**
 * Rejects keys of an options object that are not in `valid`, so a misspelt option (`threshold` for
 * `scoreThreshold`) fails instead of silently doing nothing. Undefined/null `options` pass.
 *
 * @example assertKnownKeys('options', { threshold: 0.1 }, ['scoreThreshold', 'iouThreshold'])
 * // TypeError: Unknown key 'threshold' in options: expected one of 'scoreThreshold', 'iouThreshold'
 */
export function assertKnownKeys(name: string, options: unknown, valid: readonly string[]): void {
  if (options === undefined || options === null || typeof options !== 'object') return;
  for (const key of Object.keys(options)) {
    if (!valid.includes(key)) {
      throw new TypeError(`Unknown key '${key}' in ${name}: expected one of ${valid.map((k) => `'${k}'`).join(', ')}`);
    }
  }
}
