/**
 * Rng (PCG32): the reference C implementation's demo sequence, determinism, independent seeds and streams, state
 * save/restore mid-sequence (what a checkpoint does), ranges, and invalid seeds/states with exact messages.
 */
import test from 'ava';
import { Rng } from '../../../lib/train/index.ts';

test("seed 42, stream 54 gives pcg32-demo.c's first outputs (pcg-c 0.94 reference)", (t) => {
  const rng = new Rng(42, 54);
  const got = Array.from({ length: 6 }, () => rng.next());
  t.deepEqual(got, [0xa15c02b7, 0x7b47f409, 0xba1d3330, 0x83d2f293, 0xbfa4784b, 0xcbed606e]);
});

test('same seed → same sequence; other seeds and streams differ', (t) => {
  const seq = (r: Rng) => Array.from({ length: 64 }, () => r.next());
  t.deepEqual(seq(new Rng(7)), seq(new Rng(7)));
  t.notDeepEqual(seq(new Rng(7)), seq(new Rng(8)));
  t.notDeepEqual(seq(new Rng(7, 1)), seq(new Rng(7, 2)));
  t.deepEqual(seq(new Rng(2 ** 53 - 1)), seq(new Rng(2 ** 53 - 1)));
});

test('state() / fromState resume exactly mid-sequence; clone is independent', (t) => {
  const a = new Rng(123);
  for (let i = 0; i < 1000; i++) a.next();
  const saved = a.state();
  t.regex(saved, /^pcg32:[0-9a-f]{16}:[0-9a-f]{16}$/);
  const b = Rng.fromState(saved);
  const c = a.clone();
  const ra = Array.from({ length: 100 }, () => a.uniform());
  t.deepEqual(
    Array.from({ length: 100 }, () => b.uniform()),
    ra,
  );
  t.deepEqual(
    Array.from({ length: 100 }, () => c.uniform()),
    ra,
  );
  t.is(a.state(), b.state());
});

test('uniform in [0, 1), range and below in their bounds, roughly uniform', (t) => {
  const rng = new Rng(5);
  const counts = new Array(6).fill(0);
  let sum = 0;
  for (let i = 0; i < 60000; i++) {
    const u = rng.uniform();
    t.true(u >= 0 && u < 1);
    sum += u;
    const k = rng.below(6);
    t.true(Number.isInteger(k) && k >= 0 && k < 6);
    counts[k]++;
    const r = rng.range(-32, 32);
    if (!(r >= -32 && r < 32)) t.fail(`range out of bounds: ${r}`);
  }
  t.true(Math.abs(sum / 60000 - 0.5) < 0.01);
  for (const c of counts) t.true(Math.abs(c - 10000) < 500, `count ${c}`);
});

test('invalid seeds and states throw naming the parameter', (t) => {
  t.throws(() => new Rng(-1), {
    instanceOf: RangeError,
    message: 'Expected integer in [0, 9007199254740991] for seed but received -1',
  });
  t.throws(() => new Rng(1.5), { instanceOf: RangeError, message: /for seed but received 1.5/ });
  t.throws(() => new Rng(Number.NaN), { instanceOf: RangeError, message: /for seed but received NaN/ });
  t.throws(() => new Rng(2 ** 53), { instanceOf: RangeError });
  t.throws(() => new Rng('3' as unknown as number), { instanceOf: TypeError, message: /for seed but received "3"/ });
  t.throws(() => new Rng(1, -2), { instanceOf: RangeError, message: /for stream/ });
  t.throws(() => Rng.fromState('pcg32:00'), { instanceOf: TypeError, message: /for state but received "pcg32:00"/ });
  t.throws(() => Rng.fromState(`pcg32:${'0'.repeat(16)}:${'0'.repeat(16)}`), { instanceOf: TypeError });
  t.throws(() => Rng.fromState(42 as unknown as string), { instanceOf: TypeError, message: /received 42/ });
});

/** The slow, obvious reference: pcg32_srandom_r / pcg32_random_r in BigInt, straight from the C code. */
function referencePcg32(seed: bigint, stream: bigint, n: number): number[] {
  const M = (1n << 64n) - 1n;
  let state = 0n;
  const inc = ((stream << 1n) | 1n) & M;
  const step = () => {
    state = (state * 6364136223846793005n + inc) & M;
  };
  step();
  state = (state + seed) & M;
  step();
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const old = state;
    step();
    const x = Number((((old >> 18n) ^ old) >> 27n) & 0xffffffffn);
    const rot = Number(old >> 59n);
    out.push(((x >>> rot) | (x << (-rot & 31))) >>> 0);
  }
  return out;
}

test('equals a BigInt transcription of the C code for large seeds and streams', (t) => {
  for (const [seed, stream] of [
    [0, 0],
    [1, 54],
    [2 ** 32 - 1, 2 ** 32],
    [2 ** 32 + 12345, 7],
    [2 ** 53 - 1, 2 ** 53 - 1],
    [987654321987, 2 ** 40 + 3],
  ]) {
    const rng = new Rng(seed, stream);
    t.deepEqual(
      Array.from({ length: 200 }, () => rng.next()),
      referencePcg32(BigInt(seed), BigInt(stream), 200),
      `seed ${seed} stream ${stream}`,
    );
  }
});
