/**
 * The native preprocess keeps its tap tables per geometry (LRU of TAP_CACHE_SIZE): two sources of different frame
 * sizes alternating hit the cache instead of rebuilding each frame, and cached tables give the same tensor as freshly
 * built ones (checked against the TypeScript twin, which never caches).
 */
import test from 'ava';
import {
  preprocess,
  preprocessTs,
  TAP_CACHE_SIZE,
  tapCacheStats,
  type PreprocessSpec,
} from '../../../lib/image/preprocess.ts';
import type { RawImage } from '../../../lib/image/decode.ts';
import { binding } from '../../../lib/binding.ts';

function randomImage(W: number, H: number, seed: number): RawImage {
  const data = new Uint8Array(W * H * 3);
  let s = seed >>> 0;
  for (let i = 0; i < data.length; i++) data[i] = (s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 24;
  return { data, width: W, height: H, channels: 3 };
}

const spec: PreprocessSpec = {
  width: 32,
  height: 24,
  resize: 'letterbox',
  interpolation: 'bilinear',
  layout: 'NCHW',
  colorOrder: 'RGB',
  mean: [127.5, 127.5, 127.5],
  std: [127.5, 127.5, 127.5],
};

function maxDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

if (!binding) {
  test('tap-table cache: skipped — the addon is not loaded (the TypeScript path builds no native tables)', (t) =>
    t.pass());
} else {
  test('two frame sizes alternating: two misses, then hits only; same tensors every time', (t) => {
    const a = randomImage(64, 48, 1),
      b = randomImage(50, 70, 2);
    const before = tapCacheStats();
    const refA = preprocessTs(a, spec).data,
      refB = preprocessTs(b, spec).data;
    const firstA = preprocess(a, spec).data.slice(),
      firstB = preprocess(b, spec).data.slice();
    for (let k = 0; k < 20; k++) {
      const img = k % 2 ? b : a;
      const out = preprocess(img, spec).data;
      t.deepEqual(out, k % 2 ? firstB : firstA, `frame ${k}: cached tables give the same tensor`);
    }
    const after = tapCacheStats();
    t.is(after.misses - before.misses, 2, 'one build per geometry');
    t.is(after.hits - before.hits, 20);
    t.true(maxDiff(firstA, refA) <= 1e-4 * 2 && maxDiff(firstB, refB) <= 1e-4 * 2, 'native equals the TS twin');
  });

  test('the cache is bounded: the least recently used geometry is evicted, recent ones stay', (t) => {
    const sizes = Array.from({ length: TAP_CACHE_SIZE + 2 }, (_, k) => [40 + k, 30 + k] as const);
    for (const [w, h] of sizes) preprocess(randomImage(w, h, w), spec);
    t.is(tapCacheStats().size, TAP_CACHE_SIZE);
    const s0 = tapCacheStats();
    const [lw, lh] = sizes[sizes.length - 1];
    preprocess(randomImage(lw, lh, 3), spec); // most recent: a hit
    t.is(tapCacheStats().hits, s0.hits + 1);
    const [fw, fh] = sizes[0];
    preprocess(randomImage(fw, fh, 4), spec); // oldest: evicted, rebuilt
    t.is(tapCacheStats().misses, s0.misses + 1);
    t.is(tapCacheStats().size, TAP_CACHE_SIZE);
  });
}
