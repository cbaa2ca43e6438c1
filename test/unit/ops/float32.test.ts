/**
 * lib/ops/float32.ts, the one home of the twins' float32 math: expf32 stays within 1 ulp of the correctly rounded
 * float32 exp and has the documented limits; expSum8 adds in torch's 8-lane order (checked against the order
 * written out by hand here, and shown to differ from a plain running sum); softmax32 / sigmoid32 against float64
 * formulas; and no other file of lib/ carries its own copy (Math.fround aliases, the SLEEF polynomial).
 */
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expf32, expSum8, f32, sigmoid32, softmax32 } from '../../../lib/ops/float32.ts';
import { mulberry32 } from '../../helpers/random.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** Distance in float32 ulps between two finite float32 values of the same sign. */
function ulps(a: number, b: number): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat32(0, a);
  view.setFloat32(4, b);
  return Math.abs(view.getInt32(0) - view.getInt32(4));
}

test('expf32 is within 1 ulp of the correctly rounded exp over [-87, 88]', (t) => {
  let worst = 0;
  for (let x = -87; x <= 88; x += 0.0137) {
    const x32 = f32(x);
    worst = Math.max(worst, ulps(expf32(x32), f32(Math.exp(x32))));
  }
  t.true(worst <= 1, `worst ${worst} ulp`);
  t.is(expf32(0), 1);
  t.is(expf32(-105), 0);
  t.is(expf32(101), Infinity);
  t.true(Number.isNaN(expf32(NaN)));
});

/** torch's lane order written out: lane k mod 8 accumulates in float32; ((l0+l4)+(l2+l6))+((l1+l5)+(l3+l7)). */
function referenceLaneSum(e: number[]): number {
  if (e.length < 8) return e.reduce((s, v) => f32(s + v), 0);
  const l = [0, 0, 0, 0, 0, 0, 0, 0];
  e.forEach((v, k) => (l[k % 8] = f32(l[k % 8] + v)));
  return f32(f32(f32(l[0] + l[4]) + f32(l[2] + l[6])) + f32(f32(l[1] + l[5]) + f32(l[3] + l[7])));
}

test("expSum8 sums in torch's 8-lane order (which is not a running sum)", (t) => {
  const rng = mulberry32(7);
  let differsFromRunningSum = 0;
  for (let trial = 0; trial < 300; trial++) {
    const n = 1 + (trial % 30);
    const x = Float32Array.from({ length: n + 3 }, () => f32((rng() - 0.5) * 20));
    const max = Math.max(...x.subarray(3));
    const e = Array.from(x.subarray(3), (v) => expf32(f32(v - max)));
    const out = new Float32Array(n);
    const sum = expSum8(x, 3, n, max, out);
    t.is(sum, referenceLaneSum(e));
    t.deepEqual(Array.from(out), e);
    if (sum !== e.reduce((s, v) => f32(s + v), 0)) differsFromRunningSum++;
  }
  t.true(differsFromRunningSum > 0);
});

test('softmax32 and sigmoid32 agree with the float64 formulas to float32 precision', (t) => {
  const logits = Float32Array.from([-3, 0.5, 2, 7, -1, 0, 4, 1.5, -8, 3]);
  const soft = new Float32Array(logits.length);
  softmax32(logits, soft);
  const max = Math.max(...logits);
  const total = logits.reduce((s, v) => s + Math.exp(v - max), 0);
  logits.forEach((v, c) =>
    t.true(Math.abs(soft[c] - Math.exp(v - max) / total) <= 4e-7 * Math.max(1e-3, soft[c]) + 1e-9, `c ${c}`),
  );
  const sig = new Float32Array(logits.length);
  sigmoid32(logits, sig);
  logits.forEach((v, c) => t.true(Math.abs(sig[c] - 1 / (1 + Math.exp(-v))) <= 2e-7, `c ${c}`));
});

test('one copy: no other file of lib/ aliases Math.fround or ports exp', (t) => {
  const files = (dir: string): string[] =>
    fs
      .readdirSync(dir, { withFileTypes: true })
      .flatMap((e) =>
        e.isDirectory() ? files(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : [],
      );
  const offenders = files(path.join(root, 'lib'))
    .filter((file) => !file.endsWith(path.join('ops', 'float32.ts')))
    .filter((file) =>
      /=\s*Math\.fround\s*;|0\.00139304355252534151077271|function expf32/.test(fs.readFileSync(file, 'utf8')),
    )
    .map((file) => path.relative(root, file));
  t.deepEqual(offenders, []);
});
