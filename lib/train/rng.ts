/**
 * The training wing's seeded random numbers: PCG32 (O'Neill's `pcg32_random_r`, XSH-RR output on a 64-bit LCG), so
 * a seed names one sequence on every platform, and the whole generator is two 64-bit words that a checkpoint stores
 * as a string ({@link Rng.state} / {@link Rng.fromState}) and resumes exactly.
 *
 * Every random decision of the augmentation (lib/train/augment.ts) is drawn here, in TypeScript; the addon only
 * applies the decided parameters, so the native path and the TS twin see the same draws by construction.
 */
import { invalidParameterError, outOfRangeError } from '../is.ts';

const MASK64 = (1n << 64n) - 1n;
const MULTIPLIER = 6364136223846793005n;
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
  #state = 0n;
  #inc = 1n;

  /**
   * @param seed Integer in [0, 2^53 − 1].
   * @param stream Sequence selector, integer in [0, 2^53 − 1] (default 54): different streams are independent sequences.
   * @throws {TypeError|RangeError} A seed or stream that is not such an integer.
   */
  constructor(seed: number, stream = 54) {
    assertSeed('seed', seed);
    assertSeed('stream', stream);
    this.#inc = ((BigInt(stream) << 1n) | 1n) & MASK64;
    this.#step();
    this.#state = (this.#state + BigInt(seed)) & MASK64;
    this.#step();
  }

  #step(): void {
    this.#state = (this.#state * MULTIPLIER + this.#inc) & MASK64;
  }

  /** Next uint32 (0 … 2^32 − 1). */
  next(): number {
    const old = this.#state;
    this.#step();
    const xorshifted = Number((((old >> 18n) ^ old) >> 27n) & 0xffffffffn);
    const rot = Number(old >> 59n);
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
    return `pcg32:${this.#state.toString(16).padStart(16, '0')}:${this.#inc.toString(16).padStart(16, '0')}`;
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
    rng.#state = BigInt(`0x${m[1]}`);
    rng.#inc = BigInt(`0x${m[2]}`);
    return rng;
  }
}

/** An integer in [0, 2^53 − 1] (assertInteger caps counts at int32; a seed may use the whole safe-integer range). */
function assertSeed(name: string, value: unknown): asserts value is number {
  const expected = 'integer in [0, 9007199254740991]';
  if (typeof value !== 'number') throw invalidParameterError(name, expected, value);
  if (!Number.isSafeInteger(value) || value < 0) throw outOfRangeError(name, expected, value);
}
