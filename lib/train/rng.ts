/**
 * The training wing's seeded random numbers: PCG32 (O'Neill's `pcg32_random_r`, XSH-RR output on a 64-bit LCG), so
 * a seed names one sequence on every platform, and the whole generator is two 64-bit words that a checkpoint stores
 * as a string ({@link Rng.state} / {@link Rng.fromState}) and resumes exactly.
 *
 * Every random decision of the augmentation (lib/train/augment.ts) is drawn here, in TypeScript; the addon only
 * applies the decided parameters, so the native path and the TS twin see the same draws by construction.
 */
import { invalidParameterError, outOfRangeError } from '../is.ts';

// The LCG multiplier 6364136223846793005 = 0x5851f42d_4c957f2d in 32-bit halves. The state is kept as two uint32
// numbers (BigInt arithmetic was 30× slower: ~1.7 µs a draw).
const MUL_HI = 0x5851f42d;
const MUL_LO = 0x4c957f2d;
const STATE_PATTERN = /^pcg32:([0-9a-f]{16}):([0-9a-f]{16})$/;

/**
 * Seeded PCG32 generator. `new Rng(seed, stream)` is `pcg32_srandom_r(seed, stream)` of the reference C code: seed 42,
 * stream 54 give its demo's sequence 0xa15c02b7, 0x7b47f409, ….
 *
 * @example
 * const rng = new Rng(7);
 * rng.uniform();                        // 0 ≤ x < 1
 * const saved = rng.state();            // 'pcg32:…:…'
 * Rng.fromState(saved).next() === rng.next(); // true
 */
export class Rng {
  #hi = 0;
  #lo = 0;
  #incHi = 0;
  #incLo = 1;

  /**
   * @param seed Integer in [0, 2^53 − 1].
   * @param stream Sequence selector, integer in [0, 2^53 − 1] (default 54): different streams are independent sequences.
   * @throws {TypeError|RangeError} A seed or stream that is not such an integer.
   */
  constructor(seed: number, stream = 54) {
    assertSeed('seed', seed);
    assertSeed('stream', stream);
    // inc = (stream << 1) | 1 (mod 2^64)
    const sHi = Math.floor(stream / 4294967296);
    const sLo = stream >>> 0;
    this.#incHi = ((sHi << 1) | (sLo >>> 31)) >>> 0;
    this.#incLo = ((sLo << 1) | 1) >>> 0;
    this.#step();
    this.#add(Math.floor(seed / 4294967296), seed >>> 0);
    this.#step();
  }

  /** state += (hi, lo) mod 2^64. */
  #add(hi: number, lo: number): void {
    const l = this.#lo + lo;
    this.#lo = l >>> 0;
    this.#hi = (this.#hi + hi + (l > 0xffffffff ? 1 : 0)) >>> 0;
  }

  /** state = state · MUL + inc mod 2^64 (the low 64 bits of the product from 16-bit limbs, exact in doubles). */
  #step(): void {
    const a = this.#lo;
    const a0 = a & 0xffff;
    const a1 = a >>> 16;
    const b0 = MUL_LO & 0xffff;
    const b1 = MUL_LO >>> 16;
    const p00 = a0 * b0;
    const p01 = a0 * b1;
    const p10 = a1 * b0;
    const mid = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
    const carry = a1 * b1 + Math.floor(p01 / 65536) + Math.floor(p10 / 65536) + Math.floor(mid / 65536);
    const lo = ((mid << 16) | (p00 & 0xffff)) >>> 0;
    const hi = (carry + Math.imul(this.#hi, MUL_LO) + Math.imul(a, MUL_HI)) >>> 0;
    this.#hi = hi;
    this.#lo = lo;
    this.#add(this.#incHi, this.#incLo);
  }

  /** Next uint32 (0 … 2^32 − 1). */
  next(): number {
    const H = this.#hi;
    const L = this.#lo;
    this.#step();
    // xorshifted = ((old >> 18) ^ old) >> 27 (low 32 bits), rot = old >> 59
    const xLo = (((L >>> 18) | (H << 14)) ^ L) >>> 0;
    const xHi = ((H >>> 18) ^ H) >>> 0;
    const xorshifted = ((xLo >>> 27) | (xHi << 5)) >>> 0;
    const rot = H >>> 27;
    return ((xorshifted >>> rot) | (xorshifted << (-rot & 31))) >>> 0;
  }

  /** Uniform in [0, 1): next() / 2^32. */
  uniform(): number {
    return this.next() / 4294967296;
  }

  /** Uniform in [lo, hi): lo + (hi − lo)·uniform(). */
  range(lo: number, hi: number): number {
    return lo + (hi - lo) * this.uniform();
  }

  /** Integer in [0, n): ⌊n·uniform()⌋ (n ≤ 2^32; the bias is below n / 2^32). */
  below(n: number): number {
    return Math.floor(n * this.uniform());
  }

  /** The generator as a string, `pcg32:<state>:<increment>` (16 hex digits each); {@link Rng.fromState} restores it. */
  state(): string {
    const hex = (v: number) => v.toString(16).padStart(8, '0');
    return `pcg32:${hex(this.#hi)}${hex(this.#lo)}:${hex(this.#incHi)}${hex(this.#incLo)}`;
  }

  /** An independent copy at the same point of the sequence. */
  clone(): Rng {
    return Rng.fromState(this.state());
  }

  /**
   * A generator restored from {@link Rng.state}: it continues the sequence exactly where the saved one stood.
   * @throws {TypeError} A string that is not a saved state (or an even increment, which PCG never produces).
   */
  static fromState(s: string): Rng {
    const m = typeof s === 'string' ? STATE_PATTERN.exec(s) : null;
    if (!m || (Number.parseInt(m[2].slice(-1), 16) & 1) === 0) {
      throw invalidParameterError('state', "a saved Rng state 'pcg32:<16 hex digits>:<16 hex digits, odd>'", s);
    }
    const rng = new Rng(0);
    const word = (h: string, k: number) => Number.parseInt(h.slice(8 * k, 8 * k + 8), 16);
    rng.#hi = word(m[1], 0);
    rng.#lo = word(m[1], 1);
    rng.#incHi = word(m[2], 0);
    rng.#incLo = word(m[2], 1);
    return rng;
  }
}

/** An integer in [0, 2^53 − 1] (assertInteger caps counts at int32; a seed may use the whole safe-integer range). */
function assertSeed(name: string, value: unknown): asserts value is number {
  const expected = 'integer in [0, 9007199254740991]';
  if (typeof value !== 'number') throw invalidParameterError(name, expected, value);
  if (!Number.isSafeInteger(value) || value < 0) throw outOfRangeError(name, expected, value);
}
