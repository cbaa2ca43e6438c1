/**
 * The addon's pixel path (float32, SIMD-friendly x·(1/std) − mean/std) against the pure-TypeScript twin
 * (float64) on random images in every resize mode, layout and colour order; and the addon's own argument checks
 * (bad tap tables must throw, never read out of bounds).
 */
import test from 'ava';
import { preprocess, preprocessTs, type PreprocessSpec } from '../../../lib/image/preprocess.ts';
import type { RawImage } from '../../../lib/image/decode.ts';
import { binding } from '../../../lib/binding.ts';

function randomImage(W: number, H: number, seed: number, channels: 3 | 4): RawImage {
  const data = new Uint8Array(W * H * channels);
  let s = seed >>> 0;
  for (let i = 0; i < data.length; i++) data[i] = (s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 24;
  return { data, width: W, height: H, channels };
}

if (!binding) {
  test('native preprocess: skipped — the addon is not loaded', (t) => t.pass());
} else {
  test('native preprocess equals the TS twin (≤ 1e-4 relative to the value range) over modes, layouts, sizes', (t) => {
    let cases = 0;
    for (let seed = 0; seed < 24; seed++) {
      const W = 7 + ((seed * 37) % 90),
        H = 5 + ((seed * 53) % 70);
      const img = randomImage(W, H, seed, seed % 2 ? 4 : 3);
      const spec: PreprocessSpec = {
        width: seed % 3 ? 32 : W,
        height: seed % 3 ? 24 : H,
        resize: (['stretch', 'pad', 'letterbox'] as const)[seed % 3],
        interpolation: seed % 4 < 2 ? 'bilinear' : 'bilinear-asymmetric',
        layout: seed % 2 ? 'NCHW' : 'NHWC',
        colorOrder: seed % 5 ? 'RGB' : 'BGR',
        mean: [123.675, 116.28, 103.53],
        std: seed % 2 ? [58.395, 57.12, 57.375] : [1, 1, 1],
        padValue: seed % 6 === 0 ? 114 : 0,
      };
      const a = preprocess(img, spec).data,
        b = preprocessTs(img, spec).data;
      const range = 255 / Math.min(...spec.std);
      let worst = 0;
      for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / range);
      t.true(worst <= 1e-4, `seed ${seed} ${spec.resize} ${spec.layout}: ${worst}`);
      cases++;
    }
    t.is(cases, 24);
  });

  test('native preprocess writes only its batch slot', (t) => {
    const img = randomImage(20, 10, 3, 3);
    const spec: PreprocessSpec = {
      width: 8,
      height: 8,
      resize: 'pad',
      layout: 'NCHW',
      colorOrder: 'RGB',
      mean: [0, 0, 0],
      std: [1, 1, 1],
    };
    const out = new Float32Array(3 * 64 * 3).fill(-7);
    preprocess(img, spec, { out, offset: 192 });
    t.true(out.subarray(0, 192).every((v) => v === -7));
    t.true(out.subarray(384).every((v) => v === -7));
    t.true(out.subarray(192, 384).every((v) => v >= 0 && v <= 255));
  });

  const native = binding;
  const layout = {
    width: 2,
    height: 2,
    offset: 0,
    nchw: true,
    bgr: false,
    scale: new Float32Array([1, 1, 1]),
    bias: new Float32Array(3),
  };
  const src = new Uint8Array(4 * 4 * 3);
  const taps = () => ({
    xi0: new Int32Array([0, 1]),
    xi1: new Int32Array([1, 2]),
    xw0: new Float32Array(2),
    xw1: new Float32Array(2),
    xpad: new Float32Array(2),
    yi0: new Int32Array([0, 1]),
    yi1: new Int32Array([1, 2]),
    yw0: new Float32Array(2),
    yw1: new Float32Array(2),
    ypad: new Float32Array(2),
  });
  const bad: Array<[string, () => void, RegExp]> = [
    [
      'tap index past the image',
      () =>
        native.preprocessPixels(
          src,
          4,
          4,
          3,
          new Float32Array(12),
          layout,
          { ...taps(), xi1: new Int32Array([1, 4]) },
          0,
        ),
      /indices in \[0, 4\) for taps\.xi1/,
    ],
    [
      'negative tap index',
      () =>
        native.preprocessPixels(
          src,
          4,
          4,
          3,
          new Float32Array(12),
          layout,
          { ...taps(), yi0: new Int32Array([-1, 0]) },
          0,
        ),
      /taps\.yi0/,
    ],
    [
      'short tap table',
      () =>
        native.preprocessPixels(src, 4, 4, 3, new Float32Array(12), layout, { ...taps(), xw0: new Float32Array(1) }, 0),
      /length 2 for taps\.xw0/,
    ],
    [
      'pixels shorter than w·h·channels',
      () => native.preprocessPixels(new Uint8Array(10), 4, 4, 3, new Float32Array(12), layout, taps(), 0),
      /length ≥ 48 for src/,
    ],
    [
      'output too short',
      () => native.preprocessPixels(src, 4, 4, 3, new Float32Array(11), layout, taps(), 0),
      /for out/,
    ],
    [
      'channels 2',
      () => native.preprocessPixels(src, 4, 4, 2, new Float32Array(12), layout, taps(), 0),
      /3 or 4 for channels/,
    ],
    [
      'pixels as Float32Array',
      () =>
        native.preprocessPixels(
          new Float32Array(48) as unknown as Uint8Array,
          4,
          4,
          3,
          new Float32Array(12),
          layout,
          taps(),
          0,
        ),
      /Uint8Array or Uint8ClampedArray for src/,
    ],
    [
      'resize without taps',
      () => native.preprocessPixels(src, 4, 4, 3, new Float32Array(12), layout, null, 0),
      /taps when the output size differs/,
    ],
  ];
  for (const [what, fn, message] of bad) {
    test(`native preprocessPixels rejects ${what}`, (t) => {
      const err = t.throws(fn);
      t.true(err instanceof TypeError || err instanceof RangeError);
      t.regex(err!.message, message);
    });
  }
}
