/**
 * Tiny type guards and argument assertions shared by the facade (after sharp's `lib/is`).
 * Every assertion throws an error whose message reads
 * `Expected <what> for <name> but received <description of the value>`:
 * a TypeError for a value of the wrong type or shape, a RangeError for a number out of range (NaN included).
 */

/** The typed arrays the ops exchange. */
type TypedArray =
  | Int8Array | Uint8Array | Uint8ClampedArray | Int16Array | Uint16Array | Int32Array | Uint32Array
  | Float32Array | Float64Array | BigInt64Array | BigUint64Array;

/** Is this value a number (NaN and ±Infinity included)? */
export const number = (value: unknown): value is number => typeof value === 'number';

/** Is this value a plain object (not null, not an array, not a typed array)? */
export const object = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value) && !ArrayBuffer.isView(value);

/** Describes a received value for an error message: `NaN`, `undefined`, `"abc"`, `Float32Array of length 7`, … */
export function describe(value: unknown): string {
  if (value === null || value === undefined || typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'function') return 'function';
  if (typeof value === 'symbol') return value.toString();
  if (Array.isArray(value) || (ArrayBuffer.isView(value) && !(value instanceof DataView))) {
    return `${value.constructor.name} of length ${(value as unknown[] | TypedArray).length}`;
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
  if (!(value instanceof Float32Array) || value.length % multipleOf !== 0) {
    throw invalidParameterError(name, multipleOf > 1 ? `Float32Array of length ${multipleOf}·N` : 'Float32Array', value);
  }
}

/** Typed array of one class with an exact length; `why` explains the length, e.g. `one per box`. */
function assertTypedArrayLength<T extends Float32Array | Int32Array>(
  name: string, value: unknown, type: new (n: number) => T, length: number, why: string,
): asserts value is T {
  if (!(value instanceof type) || value.length !== length) {
    throw invalidParameterError(name, `${type.name} of length ${length} (${why})`, value);
  }
}

/** Float32Array of exactly `length` elements. */
export function assertFloat32ArrayLength(name: string, value: unknown, length: number, why: string): asserts value is Float32Array {
  assertTypedArrayLength(name, value, Float32Array, length, why);
}

/** Int32Array of exactly `length` elements. */
export function assertInt32Array(name: string, value: unknown, length: number, why: string): asserts value is Int32Array {
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
  const expected = min === -Infinity
    ? (max === Infinity ? 'number (not NaN)' : `number ≤ ${max}`)
    : (max === Infinity ? `number ≥ ${min}` : `number in [${min}, ${max}]`);
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
  if (value !== Infinity && value > MAX_INT32) throw outOfRangeError(name, `integer in [${min}, ${MAX_INT32}]${allowInfinity ? ' or Infinity (all)' : ''}`, value);
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
