/**
 * The addon must never crash the process, whatever it is given. A child process calls every native function
 * thousands of times with random arguments — wrong types, wrong lengths, NaN/±Inf/huge/negative numbers, empty
 * and oversized arrays, bad option objects — swallowing the JS errors; the test passes when the child exits 0
 * (a segfault or abort would end it with a signal).
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { binding } from '../../../lib/binding.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

const child = `
import { binding } from './lib/binding.ts';
let s = 12345;
const rnd = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
const pick = (a) => a[Math.floor(rnd() * a.length)];
const specials = [NaN, Infinity, -Infinity, 0, -0, 1e38, -1e38, 3.4e38, 1e-45, 0.5, 1, -1, 2 ** 31, 2 ** 53];
const num = () => pick([() => pick(specials), () => rnd() * 10 - 2, () => Math.floor(rnd() * 20) - 2, () => Math.floor(rnd() * 1000)])();
const f32 = (n) => { const a = new Float32Array(n); for (let i = 0; i < n; i++) a[i] = rnd() < 0.1 ? pick(specials) : rnd() * 600 - 100; return a; };
const i32 = (n) => { const a = new Int32Array(n); for (let i = 0; i < n; i++) a[i] = rnd() < 0.1 ? pick([-1, 2 ** 31 - 1, -(2 ** 31)]) : Math.floor(rnd() * 5); return a; };
const len = () => pick([0, 1, 3, 4, 7, 8, 16, 21, 84, 400, 4 * 1000]);
const arg = () => pick([() => f32(len()), () => i32(len()), () => new Float64Array(len()), () => new Uint8Array(len()), num, () => 'x', () => null, () => undefined, () => ({}), () => [1, 2]])();
const opts = () => ({
  scoring: pick(['softmax', 'sigmoid', 'none', 'bogus', 3]), boxesDecoded: pick([true, false, 1]), backgroundIndex: pick([0, -1, 5, 1e9, NaN]),
  scoreThresh: num(), nmsThresh: num(), topkCandidates: num(), detectionsPerImg: num(), weights: pick([f32(4), f32(3), new Float32Array([0, 1, 1, 1])]),
  orderYx: pick([true, false]), bboxClip: num(), clipBoxes: pick([true, false, 'no']),
});
const calls = {
  boxIou: () => binding.boxIou(pick([f32(len()), arg()]), pick([f32(len()), arg()])),
  nms: () => { const n = Math.floor(rnd() * 300); binding.nms(pick([f32(4 * n), arg()]), pick([f32(n), arg()]), num(), num(), num(), num()); },
  batchedNms: () => { const n = Math.floor(rnd() * 300); binding.batchedNms(f32(4 * n), pick([f32(n), arg()]), pick([i32(n), arg()]), num(), num(), num()); },
  softNms: () => { const n = Math.floor(rnd() * 200); binding.softNms(f32(4 * n), pick([f32(n), arg()]), num(), num(), num(), num()); },
  encodeBoxes: () => { const n = 4 * Math.floor(rnd() * 50); binding.encodeBoxes(f32(n), pick([f32(n), arg()]), pick([true, false, 1]), pick([f32(4), arg()]), pick([true, false])); },
  decodeBoxes: () => { const n = 4 * Math.floor(rnd() * 50); binding.decodeBoxes(f32(n), pick([f32(n), arg()]), pick([true, false]), pick([f32(4), arg()]), pick([true, false]), num()); },
  defaultBoxes: () => binding.defaultBoxes(num(), num(), num(), pick([new Float64Array([2, 2, 8, 8, 0.5, 2]), new Float64Array([1e6, 1e6, 1, 1, 0.5, 6]), new Float64Array(len()), arg()]), pick([new Float64Array([0.1, 0.1, 0.2, 0.2]), new Float64Array(len()), arg()])),
  postprocess: () => {
    const B = pick([1, 2, 0]), N = Math.floor(rnd() * 60), C = pick([1, 2, 3, 21]);
    const args = [f32(4 * B * N), f32(B * N * C), pick([f32(4 * N), f32(0)]), pick([B, num()]), pick([C, num()]), pick([f32(2 * B), arg()]), pick([opts(), arg()])];
    if (rnd() < 0.3) args[pick([0, 1, 2, 5])] = arg();
    binding.postprocess(...args);
  },
  preprocessPixels: () => {
    const w = Math.floor(rnd() * 8) + 1, h = Math.floor(rnd() * 8) + 1, ow = Math.floor(rnd() * 6) + 1, oh = Math.floor(rnd() * 6) + 1;
    const t = { xi0: i32(ow), xi1: i32(ow), xw0: f32(ow), xw1: f32(ow), xpad: f32(ow), yi0: i32(oh), yi1: i32(oh), yw0: f32(oh), yw1: f32(oh), ypad: f32(oh) };
    if (rnd() < 0.3) t[pick(Object.keys(t))] = arg();
    const layout = { width: pick([ow, num()]), height: pick([oh, num()]), offset: pick([0, num()]), nchw: pick([true, false]), bgr: pick([true, false]), scale: pick([f32(3), arg()]), bias: pick([f32(3), arg()]) };
    binding.preprocessPixels(pick([new Uint8Array(w * h * 4), new Uint8Array(w * h * 3), arg()]), pick([w, num()]), pick([h, num()]), pick([3, 4, num()]), pick([new Float32Array(3 * ow * oh), f32(len())]), pick([layout, arg()]), pick([t, null, arg()]), num());
  },
  matchAnchors: () => { const m = Math.floor(rnd() * 8), n = Math.floor(rnd() * 300); binding.matchAnchors(pick([f32(4 * m), arg()]), pick([f32(4 * n), arg()]), pick([true, false, 1]), num(), pick([true, false, arg()])); },
  hardNegativeMining: () => { const n = Math.floor(rnd() * 300); binding.hardNegativeMining(pick([f32(n), arg()]), pick([new Uint8Array(n).map(() => rnd() < 0.2), i32(n), arg()]), num()); },
  ssdLossParts: () => {
    const N = Math.floor(rnd() * 80), C = pick([1, 2, 3, 21]), M = Math.floor(rnd() * 5);
    const args = [f32(N * C), f32(4 * N), f32(4 * N), pick([true, false]), f32(4 * M), pick([i32(M), new Int32Array(M)]), pick([C, num()]), num(), num(), pick([f32(4), new Float32Array([10, 10, 5, 5])]), pick([true, false])];
    if (rnd() < 0.3) args[pick([0, 1, 2, 4, 5, 9])] = arg();
    binding.ssdLossParts(...args);
  },
  augmentPixels: () => {
    const w = Math.floor(rnd() * 12), h = Math.floor(rnd() * 12), ow = Math.floor(rnd() * 12), oh = Math.floor(rnd() * 12);
    const plan = Float64Array.from([rnd() * 64 - 32, 0.5 + rnd(), pick([0, 1]), 0.5 + rnd(), rnd() * 36 - 18, 2, 0, 1, Math.floor(rnd() * 9) - 4, Math.floor(rnd() * 9) - 4, Math.floor(rnd() * 9) - 4, Math.floor(rnd() * 9) - 4, 1 + Math.floor(rnd() * 12), 1 + Math.floor(rnd() * 12), pick([0, 1]), 123, 117, 104]);
    if (rnd() < 0.5) plan[Math.floor(rnd() * plan.length)] = num();
    binding.augmentPixels(pick([new Uint8Array(w * h * 3), arg()]), pick([w, num()]), pick([h, num()]), pick([plan, new Float64Array(len()), arg()]), pick([new Uint8Array(ow * oh * 3), arg()]), pick([ow, num()]), pick([oh, num()]));
  },
  setSimd: () => { try { binding.setSimd(pick(['auto', 'scalar', 'avx2', 'neon', 'x', 3])); } finally { binding.setSimd('auto'); } },
};
let errors = 0, ok = 0;
for (let i = 0; i < 6000; i++) {
  const name = pick(Object.keys(calls));
  try { calls[name](); ok++; } catch (e) { if (!(e instanceof Error)) throw e; errors++; }
}
await new Promise((res) => {
  let pending = 200;
  for (let i = 0; i < 200; i++) {
    try {
      const N = Math.floor(rnd() * 40);
      binding.postprocessAsync(f32(4 * N), f32(N * 3), pick([f32(4 * N), arg()]), 1, 3, f32(2), pick([opts(), arg()]), (err) => { if (--pending === 0) res(); });
    } catch { if (--pending === 0) res(); }
  }
});
console.log(JSON.stringify({ ok, errors }));
`;

if (!binding) {
  test('native fuzz: skipped — the addon is not loaded', (t) => t.pass());
} else {
  test('6000 random native calls (and 200 async) never crash the process', (t) => {
    const r = spawnSync(process.execPath, ['--import=tsx', '--input-type=module', '-e', child], {
      cwd: root,
      encoding: 'utf8',
      timeout: 120_000,
    });
    t.is(r.signal, null, `child died with ${r.signal}: ${r.stderr.slice(-2000)}`);
    t.is(r.status, 0, r.stderr.slice(-2000));
    const { ok, errors } = JSON.parse(r.stdout.trim().split('\n').pop()!);
    t.log(`${ok} calls returned, ${errors} threw a JS error`);
    t.true(ok > 100 && errors > 100);
  });
}
