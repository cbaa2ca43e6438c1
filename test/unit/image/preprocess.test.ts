/**
 * preprocess: the table-driven resize against (a) TF.js resizeBilinear (both pixel conventions), (b) torch
 * F.interpolate(bilinear, align_corners=False) outputs stored in test/fixtures/image/torch_resize.json, (c) a slow
 * per-pixel reference that really pads / letterboxes the image first; then normalization, layout, channel order,
 * and the mapping of boxes back to source pixels.
 */
import test from 'ava';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import {
  assertPreprocessSpec,
  boxToSource,
  inputGeometry,
  MAX_INPUT_SIDE,
  preprocess,
  type PreprocessSpec,
} from '../../../lib/image/preprocess.ts';
import type { RawImage } from '../../../lib/image/decode.ts';
import { readJson } from '../../helpers/fixtures.ts';

test.before(async () => {
  await tf.setBackend('cpu');
});

/** The fixture's deterministic image (same formula as scripts/make-image-fixtures.py). */
function formulaImage(W: number, H: number, channels: 3 | 4 = 3): RawImage {
  const data = new Uint8Array(W * H * channels);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      for (let c = 0; c < 3; c++) data[(y * W + x) * channels + c] = (37 * x + 91 * y + 53 * c + 11 * x * y) % 256;
      if (channels === 4) data[(y * W + x) * 4 + 3] = (x * 13) & 255; // alpha: must be ignored
    }
  }
  return { data, width: W, height: H, channels };
}

function randomImage(W: number, H: number, seed: number, channels: 3 | 4 = 3): RawImage {
  const data = new Uint8Array(W * H * channels);
  let s = seed >>> 0;
  for (let i = 0; i < data.length; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    data[i] = s >>> 24;
  }
  return { data, width: W, height: H, channels };
}

const RAW = { layout: 'NHWC', colorOrder: 'RGB', mean: [0, 0, 0], std: [1, 1, 1] } as const;
const spec = (w: number, h: number, more: Partial<PreprocessSpec>): PreprocessSpec => ({
  width: w,
  height: h,
  resize: 'stretch',
  interpolation: 'bilinear',
  ...RAW,
  mean: [0, 0, 0],
  std: [1, 1, 1],
  ...more,
});

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

// --- slow reference ----------------------------------------------------------------------------------

type Px = (x: number, y: number, c: number) => number;

/** Bilinear resize written out per output pixel (no tables): HWC float values. */
function referenceResize(px: Px, W: number, H: number, w: number, h: number, halfPixel: boolean): Float64Array {
  const out = new Float64Array(w * h * 3);
  const src = (d: number, n: number, size: number) => {
    const s = halfPixel ? (d + 0.5) * (n / size) - 0.5 : d * (n / size);
    return Math.max(s, 0);
  };
  for (let y = 0; y < h; y++) {
    const sy = src(y, H, h);
    const y0 = Math.min(Math.floor(sy), H - 1);
    const y1 = Math.min(y0 + 1, H - 1);
    const ly = Math.min(sy - y0, 1);
    for (let x = 0; x < w; x++) {
      const sx = src(x, W, w);
      const x0 = Math.min(Math.floor(sx), W - 1);
      const x1 = Math.min(x0 + 1, W - 1);
      const lx = Math.min(sx - x0, 1);
      for (let c = 0; c < 3; c++) {
        out[(y * w + x) * 3 + c] =
          (1 - ly) * ((1 - lx) * px(x0, y0, c) + lx * px(x1, y0, c)) +
          ly * ((1 - lx) * px(x0, y1, c) + lx * px(x1, y1, c));
      }
    }
  }
  return out;
}

const pixelsOf =
  (img: RawImage): Px =>
  (x, y, c) =>
    img.data[(y * img.width + x) * img.channels + c];

/** 'pad' done literally: pad the image bottom/right with `fill` to the input's aspect ratio, then resize. */
function referencePad(img: RawImage, w: number, h: number, fill: number, halfPixel: boolean): Float64Array {
  const s = Math.max(img.width / w, img.height / h);
  const PW = Math.round(w * s);
  const PH = Math.round(h * s);
  const inner = pixelsOf(img);
  const padded: Px = (x, y, c) => (x < img.width && y < img.height ? inner(x, y, c) : fill);
  return referenceResize(padded, PW, PH, w, h, halfPixel);
}

/** 'letterbox' done literally: resize to round(W/s) × round(H/s), paste centred on a `fill` canvas. */
function referenceLetterbox(img: RawImage, w: number, h: number, fill: number, halfPixel: boolean): Float64Array {
  const s = Math.max(img.width / w, img.height / h);
  const nw = Math.round(img.width / s);
  const nh = Math.round(img.height / s);
  const left = Math.floor((w - nw) / 2);
  const top = Math.floor((h - nh) / 2);
  const small = referenceResize(pixelsOf(img), img.width, img.height, nw, nh, halfPixel);
  const out = new Float64Array(w * h * 3).fill(fill);
  for (let y = 0; y < nh; y++)
    for (let x = 0; x < nw; x++)
      for (let c = 0; c < 3; c++) out[((y + top) * w + x + left) * 3 + c] = small[(y * nw + x) * 3 + c];
  return out;
}

// --- resize ------------------------------------------------------------------------------------------

const SIZES: Array<[number, number, number, number]> = [
  [37, 23, 16, 16],
  [10, 7, 31, 29],
  [64, 48, 30, 30],
  [5, 9, 5, 4],
  [1, 1, 4, 3],
  [9, 1, 3, 2],
];

test('stretch equals TF.js resizeBilinear (halfPixelCenters true and false), down and up', (t) => {
  SIZES.forEach(([W, H, w, h], k) => {
    const img = randomImage(W, H, k + 1);
    for (const half of [true, false]) {
      const ref = tf.tidy(() =>
        tf.image.resizeBilinear(tf.tensor3d(Float32Array.from(img.data), [H, W, 3]), [h, w], false, half).dataSync(),
      );
      const { data } = preprocess(img, spec(w, h, { interpolation: half ? 'bilinear' : 'bilinear-asymmetric' }));
      t.true(maxAbsDiff(data, ref) <= 1e-4, `${W}x${H}→${w}x${h} half=${half}: ${maxAbsDiff(data, ref)}`);
    }
  });
});

test("'bilinear' equals torch interpolate(bilinear, align_corners=False)", (t) => {
  const fixture = readJson<{ cases: Array<{ src: [number, number]; dst: [number, number]; out_hwc: number[] }> }>(
    'image/torch_resize.json',
  );
  for (const {
    src: [W, H],
    dst: [w, h],
    out_hwc,
  } of fixture.cases) {
    const { data } = preprocess(formulaImage(W, H), spec(w, h, { interpolation: 'bilinear' }));
    t.true(maxAbsDiff(data, out_hwc) <= 1e-4, `${W}x${H}→${w}x${h}: ${maxAbsDiff(data, out_hwc)}`);
  }
});

test('stretch equals the slow reference; RGBA and RGB give the same result (alpha ignored)', (t) => {
  SIZES.forEach(([W, H, w, h], k) => {
    const rgba = randomImage(W, H, 100 + k, 4);
    const rgb: RawImage = { data: new Uint8Array(W * H * 3), width: W, height: H, channels: 3 };
    for (let p = 0; p < W * H; p++) rgb.data.set(rgba.data.subarray(4 * p, 4 * p + 3), 3 * p);
    for (const half of [true, false]) {
      const s = spec(w, h, { interpolation: half ? 'bilinear' : 'bilinear-asymmetric' });
      const a = preprocess(rgba, s).data;
      t.deepEqual(a, preprocess(rgb, s).data);
      t.true(maxAbsDiff(a, referenceResize(pixelsOf(rgb), W, H, w, h, half)) <= 1e-4);
    }
  });
});

const PAD_CASES: Array<[number, number, number, number]> = [
  [40, 25, 16, 16],
  [25, 40, 16, 16],
  [7, 13, 20, 20],
  [33, 19, 24, 16],
  [19, 33, 16, 24],
  [12, 12, 9, 9],
  [640, 360, 64, 64],
];

test("'pad' equals padding the image bottom/right first, then resizing (fill 0 and 114, both interpolations)", (t) => {
  PAD_CASES.forEach(([W, H, w, h], k) => {
    const img = randomImage(W, H, 200 + k);
    for (const fill of [0, 114]) {
      for (const half of [true, false]) {
        const { data } = preprocess(
          img,
          spec(w, h, { resize: 'pad', padValue: fill, interpolation: half ? 'bilinear' : 'bilinear-asymmetric' }),
        );
        const ref = referencePad(img, w, h, fill, half);
        t.true(
          maxAbsDiff(data, ref) <= 1e-4,
          `${W}x${H}→${w}x${h} fill=${fill} half=${half}: ${maxAbsDiff(data, ref)}`,
        );
      }
    }
  });
});

test("'pad' as face-api does it: TF.js pads with zeros to a square and resizeBilinear(false, false)", (t) => {
  const [W, H] = [48, 30];
  const img = randomImage(W, H, 7);
  const ref = tf.tidy(() => {
    const x = tf.tensor3d(Float32Array.from(img.data), [H, W, 3]);
    const square = tf.pad(x, [
      [0, W - H],
      [0, 0],
      [0, 0],
    ]); // face-api padToSquare(…, isCenterImage = false)
    return tf.image.resizeBilinear(square as tf.Tensor3D, [20, 20], false, false).dataSync();
  });
  const { data } = preprocess(img, spec(20, 20, { resize: 'pad', interpolation: 'bilinear-asymmetric' }));
  t.true(maxAbsDiff(data, ref) <= 1e-4, String(maxAbsDiff(data, ref)));
});

test("'letterbox' equals resizing to the fitted size and centring on a fill canvas", (t) => {
  PAD_CASES.forEach(([W, H, w, h], k) => {
    const img = randomImage(W, H, 300 + k);
    for (const half of [true, false]) {
      const { data } = preprocess(
        img,
        spec(w, h, { resize: 'letterbox', padValue: 114, interpolation: half ? 'bilinear' : 'bilinear-asymmetric' }),
      );
      const ref = referenceLetterbox(img, w, h, 114, half);
      t.true(maxAbsDiff(data, ref) <= 1e-4, `${W}x${H}→${w}x${h} half=${half}: ${maxAbsDiff(data, ref)}`);
    }
  });
});

test('an image already at the input size is copied exactly in every mode', (t) => {
  const img = randomImage(12, 8, 9, 4);
  for (const resize of ['stretch', 'pad', 'letterbox'] as const) {
    const { data, transform } = preprocess(img, spec(12, 8, { resize, padValue: 50 }));
    t.like(transform, { scaleX: 1, scaleY: 1, offsetX: 0, offsetY: 0 });
    for (let p = 0; p < 96; p++) for (let c = 0; c < 3; c++) t.is(data[3 * p + c], img.data[4 * p + c]);
  }
});

// --- normalization and layout ------------------------------------------------------------------------

test('normalization, channel order and layout place (x − mean)/std where they belong', (t) => {
  const img = randomImage(20, 14, 11);
  const [w, h] = [9, 7];
  const raw = preprocess(img, spec(w, h, {})).data; // NHWC RGB, no normalization
  const mean: [number, number, number] = [123.675, 116.28, 103.53];
  const std: [number, number, number] = [58.395, 57.12, 57.375];
  for (const layout of ['NCHW', 'NHWC'] as const) {
    for (const colorOrder of ['RGB', 'BGR'] as const) {
      const { data } = preprocess(img, spec(w, h, { layout, colorOrder, mean, std }));
      for (let p = 0; p < w * h; p++) {
        for (let c = 0; c < 3; c++) {
          // c = source channel R, G, B
          const oc = colorOrder === 'RGB' ? c : 2 - c; // channel index in the output
          const at = layout === 'NCHW' ? oc * w * h + p : 3 * p + oc;
          const expected = Math.fround((raw[3 * p + c] - mean[oc]) / std[oc]);
          if (Math.abs(data[at] - expected) > 1e-6) {
            t.fail(`${layout} ${colorOrder} p=${p} c=${c}: ${data[at]} vs ${expected}`);
            return;
          }
        }
      }
    }
  }
  t.pass();
});

test('writes into a slot of an existing array (batch tensors) and nowhere else', (t) => {
  const img = randomImage(10, 10, 3);
  const s = spec(4, 4, { layout: 'NCHW' });
  const single = preprocess(img, s).data;
  const batch = new Float32Array(3 * 48).fill(-1);
  const r = preprocess(img, s, { out: batch, offset: 48 });
  t.is(r.data, batch);
  t.deepEqual(batch.subarray(48, 96), single);
  t.true(batch.subarray(0, 48).every((v) => v === -1) && batch.subarray(96).every((v) => v === -1));
  t.throws(() => preprocess(img, s, { out: new Float32Array(50), offset: 10 }), {
    instanceOf: TypeError,
    message: 'Expected Float32Array of length ≥ 58 (offset + 3·4·4) for out but received Float32Array of length 50',
  });
});

test('invalid specs: messages name the field', (t) => {
  const img = randomImage(4, 4, 1);
  t.throws(() => preprocess(img, spec(4, 4, { layout: 'CHW' as 'NCHW' })), {
    instanceOf: TypeError,
    message: "Expected one of 'NCHW', 'NHWC' for input.layout but received \"CHW\"",
  });
  t.throws(() => preprocess(img, spec(4, 4, { resize: 'crop' as 'pad' })), {
    instanceOf: TypeError,
    message: "Expected one of 'stretch', 'pad', 'letterbox' for input.resize but received \"crop\"",
  });
  t.throws(() => preprocess(img, spec(0, 4, {})), {
    instanceOf: RangeError,
    message: 'Expected integer ≥ 1 for input.width but received 0',
  });
  t.throws(() => preprocess(img, spec(4, 4, { std: [1, 0, 1] })), { instanceOf: RangeError });
});

test('assertPreprocessSpec: the one validator of image and model input specs (sizes bounded, std > 0, padValue 0..255)', (t) => {
  const ok = spec(300, 300, {});
  t.notThrows(() => assertPreprocessSpec(ok));
  t.notThrows(() => assertPreprocessSpec({ ...ok, width: MAX_INPUT_SIDE, height: MAX_INPUT_SIDE, padValue: 255 }));
  const bad: Array<[Partial<PreprocessSpec> | null, string, typeof TypeError | typeof RangeError]> = [
    [null, 'Expected object for input but received null', TypeError],
    [{ width: 8193 }, 'Expected integer in [1, 8192] for input.width but received 8193', RangeError],
    [{ height: 1e9 }, 'Expected integer in [1, 8192] for input.height but received 1000000000', RangeError],
    [{ height: 2.5 }, 'Expected integer ≥ 1 for input.height but received 2.5', RangeError],
    [{ std: [1, -1, 1] }, 'Expected finite number > 0 for input.std[1] but received -1', RangeError],
    [
      { mean: [0, NaN, 0] },
      'Expected number in [-1.7976931348623157e+308, 1.7976931348623157e+308] for input.mean[1] but received NaN',
      RangeError,
    ],
    [
      { mean: [0, 0] as unknown as [number, number, number] },
      'Expected Array of 3 numbers for input.mean but received Array of length 2',
      TypeError,
    ],
    [{ padValue: 256 }, 'Expected number in [0, 255] for input.padValue but received 256', RangeError],
    [
      { interpolation: 'nearest' as 'bilinear' },
      "Expected one of 'bilinear', 'bilinear-asymmetric' for input.interpolation but received \"nearest\"",
      TypeError,
    ],
    [
      { colorOrder: 'GBR' as 'RGB' },
      "Expected one of 'RGB', 'BGR' for input.colorOrder but received \"GBR\"",
      TypeError,
    ],
  ];
  for (const [change, message, instanceOf] of bad) {
    t.throws(
      () => assertPreprocessSpec(change === null ? null : { ...ok, ...change }),
      { instanceOf, message },
      message,
    );
  }
  t.throws(() => assertPreprocessSpec({ ...ok, width: 0 }, 'spec'), {
    message: 'Expected integer ≥ 1 for spec.width but received 0',
  });
  const img = randomImage(4, 4, 1);
  t.throws(() => preprocess(img, { ...ok, width: 10_000 }), {
    instanceOf: RangeError,
    message: 'Expected integer in [1, 8192] for input.width but received 10000',
  });
});

// --- mapping back ---------------------------------------------------------------------------------------

test('inputGeometry: scale and offset per mode', (t) => {
  t.like(inputGeometry(640, 480, { width: 300, height: 300, resize: 'stretch' }), {
    scaleX: 640 / 300,
    scaleY: 480 / 300,
    offsetX: 0,
    offsetY: 0,
  });
  t.like(inputGeometry(1280, 720, { width: 512, height: 512, resize: 'pad' }), {
    scaleX: 2.5,
    scaleY: 2.5,
    offsetX: 0,
    offsetY: 0,
  });
  t.like(inputGeometry(720, 1280, { width: 512, height: 512, resize: 'pad' }), { scaleX: 2.5, scaleY: 2.5 });
  // 1280×720 into 640×640: 640×360 centred, 140 rows above
  t.like(inputGeometry(1280, 720, { width: 640, height: 640, resize: 'letterbox' }), {
    scaleX: 2,
    scaleY: 2,
    offsetX: 0,
    offsetY: 140,
  });
  // 500×375 into 300×300: round(375/(500/300)) = 225 rows, offset floor(75/2) = 37
  t.like(inputGeometry(500, 375, { width: 300, height: 300, resize: 'letterbox' }), {
    scaleX: 500 / 300,
    scaleY: 375 / 225,
    offsetX: 0,
    offsetY: 37,
  });
});

test('boxToSource maps through the resize and clips to the image', (t) => {
  const stretch = inputGeometry(640, 480, { width: 300, height: 300, resize: 'stretch' });
  t.deepEqual(boxToSource([0, 0, 1, 1], stretch), [0, 0, 640, 480]);
  t.deepEqual(boxToSource([0.25, 0.5, 0.75, 1.2], stretch), [160, 240, 480, 480]);
  const pad = inputGeometry(1280, 720, { width: 512, height: 512, resize: 'pad' });
  t.deepEqual(boxToSource([0, 0, 1, 1], pad), [0, 0, 1280, 720]); // the pad below the image is clipped away
  t.deepEqual(boxToSource([0.5, 0.25, 1, 0.5], pad), [640, 320, 1280, 640]);
  t.deepEqual(boxToSource([-0.1, 0.7, 0.2, 0.9], pad), [0, 720, 256, 720]);
  const lb = inputGeometry(1280, 720, { width: 640, height: 640, resize: 'letterbox' });
  t.deepEqual(boxToSource([0, 140 / 640, 1, 500 / 640], lb), [0, 0, 1280, 720]);
  t.deepEqual(boxToSource([0.25, 0, 0.5, 0.1], lb), [320, 0, 640, 0]); // inside the top border
});

test('boxToSource inverts the forward mapping for boxes inside the image', (t) => {
  const cases: Array<[number, number, 'stretch' | 'pad' | 'letterbox', number, number]> = [
    [640, 480, 'stretch', 300, 300],
    [1280, 720, 'pad', 512, 512],
    [333, 777, 'pad', 320, 320],
    [1280, 720, 'letterbox', 640, 640],
    [500, 375, 'letterbox', 300, 300],
  ];
  let s = 12345;
  const rnd = () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32;
  for (const [W, H, resize, w, h] of cases) {
    const g = inputGeometry(W, H, { width: w, height: h, resize });
    for (let k = 0; k < 50; k++) {
      const box = [rnd() * W, rnd() * H, rnd() * W, rnd() * H];
      const norm = box.map((v, i) => (i % 2 === 0 ? (v / g.scaleX + g.offsetX) / w : (v / g.scaleY + g.offsetY) / h));
      const back = boxToSource(norm, g);
      t.true(
        back.every((v, i) => Math.abs(v - box[i]) < 1e-9),
        `${resize} ${W}x${H}: ${back} vs ${box}`,
      );
    }
  }
});
