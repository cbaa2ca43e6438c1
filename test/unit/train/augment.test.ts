/**
 * augment: the pixel work against an independent oracle (scripts/augment-oracle.py: colorsys HSV, numpy canvas/crop/
 * flip, torch bilinear interpolate, float64 — ≤ 1 intensity level, ours is float32), the addon against the TS twin
 * (bit-identical), the plain resize against preprocessTs, hand-computed geometry (flip, zoom out + crop, centre rule,
 * clipping), determinism, the crop constraint and draw statistics, images without objects, and invalid input.
 */
import { readFileSync } from 'node:fs';
import test from 'ava';
import { backend, type Binding, binding, type SimdLevel } from '../../../lib/binding.ts';
import { capabilities, setSimd } from '../../../lib/index.ts';
import { decodeImage } from '../../../lib/image/decode.ts';
import { preprocessTs } from '../../../lib/image/preprocess.ts';
import {
  type AugmentInput,
  type AugmentPlan,
  applyAugmentPlan,
  applyAugmentPlanTs,
  augment,
  augmentBackend,
  augmentTs,
  DEFAULT_AUGMENT,
  planAugment,
  rgbPixels,
  toInputTensor,
} from '../../../lib/train/augment.ts';
import { Rng } from '../../../lib/train/index.ts';

const native = backend === 'native';
const oracle = JSON.parse(readFileSync(new URL('../../fixtures/augment/oracle.json', import.meta.url), 'utf8')) as {
  cases: Array<{
    width: number;
    height: number;
    pixels: number[];
    plan: AugmentPlan;
    size: { width: number; height: number };
    expected: number[];
  }>;
};

function randomSample(rng: Rng, maxSide = 90, maxBoxes = 4): AugmentInput {
  const width = 1 + rng.below(maxSide);
  const height = 1 + rng.below(maxSide);
  const pixels = new Uint8Array(width * height * 3);
  for (let i = 0; i < pixels.length; i++) pixels[i] = rng.below(256);
  const n = rng.below(maxBoxes + 1);
  const boxes = new Float32Array(4 * n);
  for (let i = 0; i < n; i++) {
    const x = rng.range(-5, width);
    const y = rng.range(-5, height);
    boxes.set([x, y, x + rng.range(0.5, width), y + rng.range(0.5, height)], 4 * i);
  }
  const labels = Int32Array.from({ length: n }, (_, i) => i + 1);
  return { pixels, width, height, boxes, labels };
}

function identityPlan(width: number, height: number): AugmentPlan {
  return planAugment(width, height, [], new Rng(0), 'none');
}

test('the addon is built with augmentPixels whenever the addon loads (else rebuild: npx node-gyp rebuild)', (t) => {
  t.is(augmentBackend(), native ? 'native' : 'typescript');
});

test('pixels equal the independent oracle (colorsys + numpy + torch bilinear) within 1 level, native and TS', (t) => {
  let differing = 0;
  let total = 0;
  for (const [i, c] of oracle.cases.entries()) {
    const input = {
      pixels: Uint8Array.from(c.pixels),
      width: c.width,
      height: c.height,
      boxes: new Float32Array(0),
      labels: new Int32Array(0),
    };
    const ts = applyAugmentPlanTs(input, c.plan, c.size).pixels;
    const nat = applyAugmentPlan(input, c.plan, c.size).pixels;
    t.deepEqual(nat, ts, `case ${i}: native ≠ TS twin`);
    t.is(ts.length, c.expected.length);
    for (let k = 0; k < ts.length; k++) {
      const d = Math.abs(ts[k] - c.expected[k]);
      if (d > 1) t.fail(`case ${i} byte ${k}: ${ts[k]} vs oracle ${c.expected[k]}`);
      if (d) differing++;
      total++;
    }
  }
  t.true(total > 10000);
  t.true(differing / total < 0.01, `${differing} of ${total} bytes off by one`); // float32 vs float64 rounding only
});

test('hue +120° turns pure red into pure green exactly (oracle case 1 pixel 0)', (t) => {
  const c = oracle.cases[1];
  t.is(c.plan.photometric.hue, 120);
  const input = {
    pixels: Uint8Array.from([255, 0, 0]),
    width: 1,
    height: 1,
    boxes: new Float32Array(0),
    labels: new Int32Array(0),
  };
  const plan = identityPlan(1, 1);
  plan.photometric.hue = 120;
  t.deepEqual([...applyAugmentPlan(input, plan, { width: 1, height: 1 }).pixels], [0, 255, 0]);
  plan.photometric.hue = -120;
  t.deepEqual([...applyAugmentPlanTs(input, plan, { width: 1, height: 1 }).pixels], [0, 0, 255]);
});

test('native and TS twin give identical samples (pixels and boxes) over 300 random images and seeds', (t) => {
  const g = new Rng(99);
  for (let s = 0; s < 300; s++) {
    const input = randomSample(g);
    const size = { width: 1 + g.below(80), height: 1 + g.below(80) };
    const seed = g.next();
    const a = augment(input, new Rng(seed), size);
    const b = augmentTs(input, new Rng(seed), size);
    if (a.pixels.some((v, i) => v !== b.pixels[i])) t.fail(`seed ${seed}: pixels differ`);
    t.deepEqual(a.boxes, b.boxes);
    t.deepEqual(a.labels, b.labels);
  }
  t.pass();
});

test("'none' at the same size is the identity; at another size it is preprocessTs's bilinear resize, rounded", (t) => {
  const g = new Rng(3);
  const input = randomSample(g, 60, 3);
  const same = augment(input, new Rng(1), { width: input.width, height: input.height }, 'none');
  t.deepEqual(same.pixels, input.pixels);
  for (const [w, h] of [
    [300, 300],
    [17, 45],
    [1, 1],
  ]) {
    const out = augment(input, new Rng(1), { width: w, height: h }, 'none');
    const ref = preprocessTs(
      { data: input.pixels, width: input.width, height: input.height, channels: 3 },
      {
        width: w,
        height: h,
        layout: 'NHWC',
        colorOrder: 'RGB',
        mean: [0, 0, 0],
        std: [1, 1, 1],
        resize: 'stretch',
      },
    ).data;
    for (let i = 0; i < ref.length; i++) {
      if (Math.abs(out.pixels[i] - ref[i]) > 0.5 + 1e-3) t.fail(`${w}×${h} byte ${i}: ${out.pixels[i]} vs ${ref[i]}`);
    }
    const sx = w / input.width;
    const sy = h / input.height;
    const clipped = Array.from(input.boxes, (v, i) =>
      Math.fround(Math.min(Math.max(v, 0), i % 2 ? input.height : input.width) * (i % 2 ? sy : sx)),
    );
    t.deepEqual(
      Array.from(out.boxes),
      clipped.filter((_, i) => out.labels.includes(input.labels[i >> 2])),
    );
  }
  // 'none' draws nothing
  const rng = new Rng(9);
  const before = rng.state();
  augment(input, rng, { width: 30, height: 30 }, 'none');
  t.is(rng.state(), before);
});

function gradient(width: number, height: number): Uint8Array {
  const p = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) p.set([(x * 6) % 256, (y * 11) % 256, (x * y) % 256], (y * width + x) * 3);
  return p;
}

test('flip: pixels mirrored exactly, boxes x → W − x (hand-computed)', (t) => {
  const [W, H] = [40, 20];
  const input = {
    pixels: gradient(W, H),
    width: W,
    height: H,
    boxes: Float32Array.from([4, 2, 12, 10]),
    labels: Int32Array.from([3]),
  };
  const plan = identityPlan(W, H);
  plan.flip = true;
  const out = applyAugmentPlan(input, plan, { width: W, height: H });
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++)
      for (let k = 0; k < 3; k++) t.is(out.pixels[(y * W + x) * 3 + k], input.pixels[(y * W + (W - 1 - x)) * 3 + k]);
  t.deepEqual([...out.boxes], [28, 2, 36, 10]);
  const big = applyAugmentPlan(input, plan, { width: 80, height: 40 });
  t.deepEqual([...big.boxes], [56, 4, 72, 20]);
  t.deepEqual([...big.labels], [3]);
});

test('zoom out + crop: fill outside the image, pixels copied inside, centre rule and clipping (hand-computed)', (t) => {
  const [W, H] = [40, 20];
  const input = {
    pixels: gradient(W, H),
    width: W,
    height: H,
    boxes: Float32Array.from([4, 2, 12, 10, 30, 0, 40, 20, 25, 0, 35, 20]),
    labels: Int32Array.from([1, 2, 3]),
  };
  const plan: AugmentPlan = {
    ...identityPlan(W, H),
    canvasWidth: 80,
    canvasHeight: 60,
    left: 10,
    top: 30,
    crop: { x: 5, y: 25, width: 40, height: 30 },
    fill: [10, 20, 30],
  };
  const out = applyAugmentPlan(input, plan, { width: 40, height: 30 });
  // box 2's centre (45, 40) on the canvas is on the crop's right edge (not strictly inside): dropped.
  t.deepEqual([...out.labels], [1, 3]);
  t.deepEqual([...out.boxes], [9, 7, 17, 15, 30, 5, 40, 25]);
  t.deepEqual([...out.pixels.subarray(0, 3)], [10, 20, 30]); // canvas (5, 25): left of and above the image
  const at = (x: number, y: number) => [...out.pixels.subarray((y * 40 + x) * 3, (y * 40 + x) * 3 + 3)];
  t.deepEqual(at(10, 10), [...input.pixels.subarray((5 * W + 5) * 3, (5 * W + 5) * 3 + 3)]); // source (5, 5)
  t.deepEqual(at(39, 24), [...input.pixels.subarray((19 * W + 34) * 3, (19 * W + 34) * 3 + 3)]); // source (34, 19)
  t.deepEqual(at(39, 25), [10, 20, 30]); // canvas (44, 50): below the image
  t.deepEqual(applyAugmentPlanTs(input, plan, { width: 40, height: 30 }), out);
});

test('input boxes: clipped to the image, empty and outside ones dropped with their labels; NaN is an error', (t) => {
  const input = {
    pixels: gradient(20, 20),
    width: 20,
    height: 20,
    boxes: Float32Array.from([5, 5, 5, 10, -10, -10, -5, -5, -5, -5, 10, 10, 15, 15, 40, 40]),
    labels: Int32Array.from([1, 2, 3, 4]),
  };
  const out = augment(input, new Rng(0), { width: 20, height: 20 }, 'none');
  t.deepEqual([...out.labels], [3, 4]);
  t.deepEqual([...out.boxes], [0, 0, 10, 10, 15, 15, 20, 20]);
  const bad = { ...input, boxes: Float32Array.from([1, 1, Number.NaN, 4, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1]) };
  t.throws(() => augment(bad, new Rng(0), { width: 8, height: 8 }), {
    instanceOf: RangeError,
    message: 'Expected finite coordinate (box 0) for input.boxes[2] but received NaN',
  });
});

test('same seed → identical batches; different seeds differ; the rng advances by the draws', (t) => {
  const g = new Rng(11);
  const batch = Array.from({ length: 8 }, () => randomSample(g, 64));
  const run = (seed: number) => {
    const rng = new Rng(seed);
    return { samples: batch.map((s) => augment(s, rng, { width: 48, height: 40 })), state: rng.state() };
  };
  const a = run(5);
  const b = run(5);
  t.deepEqual(a, b);
  const c = run(6);
  t.notDeepEqual(
    a.samples.map((s) => s.pixels),
    c.samples.map((s) => s.pixels),
  );
  t.not(a.state, new Rng(5).state());
});

test('invariants over 400 default augmentations: boxes inside the output, ordered, labels a subset', (t) => {
  const g = new Rng(21);
  let kept = 0;
  let empty = 0;
  for (let i = 0; i < 400; i++) {
    const input = randomSample(g, 80, 5);
    const size = { width: 32, height: 24 };
    const out = augment(input, g, size);
    t.is(out.pixels.length, 32 * 24 * 3);
    t.is(out.boxes.length, 4 * out.labels.length);
    for (let k = 0; k < out.labels.length; k++) {
      const [x1, y1, x2, y2] = out.boxes.subarray(4 * k, 4 * k + 4);
      if (!(x1 >= 0 && y1 >= 0 && x2 <= 32 && y2 <= 24 && x1 < x2 && y1 < y2)) t.fail(`box ${[x1, y1, x2, y2]}`);
    }
    const labels = [...input.labels];
    for (const l of out.labels) {
      const j = labels.indexOf(l);
      if (j < 0) t.fail(`label ${l} not in the input`);
      labels.splice(j, 1);
    }
    kept += out.labels.length;
    if (input.labels.length === 0) empty++;
  }
  t.true(kept > 200 && empty > 20, `kept ${kept}, images without objects ${empty}`);
});

test('every step off draws nothing and equals the plain resize', (t) => {
  const input = randomSample(new Rng(4), 50, 3);
  const off = { photometric: false, expand: false, crop: false, flip: false };
  const rng = new Rng(1);
  const before = rng.state();
  t.deepEqual(
    augment(input, rng, { width: 20, height: 30 }, off),
    augment(input, rng, { width: 20, height: 30 }, 'none'),
  );
  t.is(rng.state(), before);
});

test('planAugment: draw ranges and frequencies as documented; crops keep an object centre inside', (t) => {
  const g = new Rng(77);
  const boxes = [30, 20, 60, 50, 5, 5, 15, 25];
  const n = 4000;
  let flips = 0;
  let expands = 0;
  let wholeCrops = 0;
  let bright = 0;
  const swaps = new Set<string>();
  for (let i = 0; i < n; i++) {
    const p = planAugment(100, 80, boxes, g, DEFAULT_AUGMENT);
    const ph = p.photometric;
    t.true(ph.brightness >= -32 && ph.brightness <= 32);
    t.true(ph.contrast >= 0.5 && ph.contrast <= 1.5);
    t.true(ph.saturation >= 0.5 && ph.saturation <= 1.5);
    t.true(ph.hue >= -18 && ph.hue <= 18);
    swaps.add(ph.swap.join());
    if (ph.brightness !== 0) bright++;
    if (p.flip) flips++;
    if (p.canvasWidth !== 100) {
      expands++;
      t.true(p.canvasWidth <= 400 && p.canvasHeight <= 320 && p.canvasWidth >= 100);
      t.true(p.left >= 0 && p.left + 100 <= p.canvasWidth && p.top >= 0 && p.top + 80 <= p.canvasHeight);
    }
    const c = p.crop;
    if (c.width === p.canvasWidth && c.height === p.canvasHeight) {
      wholeCrops++;
      continue;
    }
    t.true(c.x >= 0 && c.y >= 0 && c.x + c.width <= p.canvasWidth && c.y + c.height <= p.canvasHeight);
    t.true(c.height / c.width >= 0.45 && c.height / c.width <= 2.2, `aspect ${c.height / c.width}`);
    const inside = [0, 4].some((k) => {
      const cx = (boxes[k] + boxes[k + 2]) / 2 + p.left;
      const cy = (boxes[k + 1] + boxes[k + 3]) / 2 + p.top;
      return cx > c.x && cx < c.x + c.width && cy > c.y && cy < c.y + c.height;
    });
    if (!inside) t.fail(`crop ${JSON.stringify(c)} keeps no object centre`);
  }
  const near = (k: number, p: number) => Math.abs(k / n - p) < 0.04;
  t.true(near(flips, 0.5), `flips ${flips}`);
  t.true(near(expands, 0.5), `expands ${expands}`);
  t.true(near(bright, 0.5), `brightness ${bright}`);
  t.is(swaps.size, 6);
  t.true(wholeCrops / n > 1 / 7 - 0.03, `whole-image crops ${wholeCrops}`); // the "whole image" mode, plus failures
});

test('an image without objects is a valid sample for every seed', (t) => {
  const input = {
    pixels: gradient(30, 20),
    width: 30,
    height: 20,
    boxes: new Float32Array(0),
    labels: new Int32Array(0),
  };
  for (let s = 0; s < 50; s++) {
    const out = augment(input, new Rng(s), { width: 16, height: 16 });
    t.is(out.boxes.length, 0);
    t.is(out.pixels.length, 16 * 16 * 3);
  }
});

test('a real photo (astronaut.jpg, RGB from decodeImage) augments identically native and TS; toInputTensor = preprocess', async (t) => {
  const img = await decodeImage(new URL('../../fixtures/eval/faces/images/astronaut.jpg', import.meta.url).pathname);
  const input = {
    pixels: rgbPixels(img),
    width: img.width,
    height: img.height,
    boxes: Float32Array.from([113.75, 45, 167.5, 113.125]),
    labels: Int32Array.from([1]),
  };
  for (let s = 0; s < 6; s++) {
    const a = augment(input, new Rng(s), { width: 300, height: 300 });
    t.deepEqual(a, augmentTs(input, new Rng(s), { width: 300, height: 300 }));
  }
  const a = augment(input, new Rng(1), { width: 64, height: 48 });
  const spec = {
    width: 64,
    height: 48,
    layout: 'NCHW',
    colorOrder: 'BGR',
    mean: [1, 2, 3],
    std: [2, 3, 4],
    resize: 'stretch',
  } as const;
  const tensor = toInputTensor(a.pixels, 64, 48, { ...spec, mean: [1, 2, 3], std: [2, 3, 4] });
  const ref = preprocessTs(
    { data: a.pixels, width: 64, height: 48, channels: 3 },
    { ...spec, mean: [1, 2, 3], std: [2, 3, 4] },
  ).data;
  t.is(tensor.length, 3 * 64 * 48);
  for (let i = 0; i < ref.length; i++)
    if (Math.abs(tensor[i] - ref[i]) > 1e-4 * Math.max(1, Math.abs(ref[i]))) t.fail(`${i}`);
  t.pass();
});

test('invalid input throws TypeError/RangeError naming the parameter', (t) => {
  const ok = { pixels: new Uint8Array(12), width: 2, height: 2, boxes: new Float32Array(0), labels: new Int32Array(0) };
  const size = { width: 4, height: 4 };
  const rng = new Rng(1);
  t.throws(() => augment({ ...ok, pixels: new Uint8Array(16) }, rng, size), {
    instanceOf: TypeError,
    message:
      'Expected Uint8Array of length 12 (width·height·3, RGB) for input.pixels but received Uint8Array of length 16',
  });
  t.throws(() => augment({ ...ok, width: 0 }, rng, size), {
    instanceOf: RangeError,
    message: /for input.width but received 0/,
  });
  t.throws(() => augment({ ...ok, boxes: new Float32Array(7) }, rng, size), {
    instanceOf: TypeError,
    message: 'Expected Float32Array of length 4·N (xyxy pixels) for input.boxes but received Float32Array of length 7',
  });
  t.throws(() => augment({ ...ok, boxes: new Float32Array(4) }, rng, size), {
    instanceOf: TypeError,
    message: 'Expected Int32Array of length 1 (one per box) for input.labels but received Int32Array of length 0',
  });
  t.throws(() => augment(ok, rng, { width: 0, height: 4 }), { instanceOf: RangeError, message: /for size.width/ });
  t.throws(() => augment(ok, rng, { width: 9000, height: 4 }), {
    instanceOf: RangeError,
    message: 'Expected integer in [1, 8192] for size.width but received 9000',
  });
  t.throws(() => augment(ok, {} as Rng, size), {
    instanceOf: TypeError,
    message: 'Expected Rng for rng but received object',
  });
  t.throws(() => augment(ok, rng, size, { flipp: true } as never), {
    instanceOf: TypeError,
    message: /^Unknown key 'flipp' in options: expected one of 'photometric', 'expand'/,
  });
  t.throws(() => augment(ok, rng, size, { maxExpand: 0.5 }), {
    instanceOf: RangeError,
    message: 'Expected number in [1, 16] for options.maxExpand but received 0.5',
  });
  t.throws(() => augment(ok, rng, size, { fill: [0, 0, 300] }), {
    instanceOf: RangeError,
    message: /options.fill\[2\]/,
  });
  t.throws(() => augment(ok, rng, size, 'all' as never), { instanceOf: TypeError, message: /for options/ });
  t.throws(() => augment(ok, rng, size, { crop: 1 } as never), { instanceOf: TypeError, message: /options.crop/ });
  const plan = identityPlan(2, 2);
  t.throws(() => applyAugmentPlan(ok, { ...plan, photometric: { ...plan.photometric, swap: [0, 0, 1] } }, size), {
    instanceOf: TypeError,
    message: /plan.photometric.swap/,
  });
  t.throws(() => applyAugmentPlan(ok, { ...plan, crop: { x: 0, y: 0, width: 0, height: 2 } }, size), {
    instanceOf: RangeError,
    message: /plan.crop.width/,
  });
  t.throws(() => applyAugmentPlan(ok, { ...plan, photometric: { ...plan.photometric, hue: 400 } }, size), {
    instanceOf: RangeError,
    message: /plan.photometric.hue/,
  });
});

test('the addon itself rejects bad arguments with a JS error and never crashes', (t) => {
  if (!native) return t.pass('no addon loaded (SSD_EDGE_FORCE_TS=1): nothing native to check');
  const b = binding as Binding & { augmentPixels: (...a: unknown[]) => void };
  const plan = Float64Array.from([0, 1, 1, 1, 0, 0, 1, 2, 0, 0, 0, 0, 2, 2, 0, 123, 117, 104]);
  const src = new Uint8Array(12);
  const out = new Uint8Array(12);
  b.augmentPixels(src, 2, 2, plan, out, 2, 2);
  t.throws(() => b.augmentPixels(src, 2, 3, plan, out, 2, 2), { instanceOf: TypeError, message: /for src/ });
  t.throws(() => b.augmentPixels(src, 2, 2, plan.subarray(1), out, 2, 2), {
    instanceOf: TypeError,
    message: /for plan/,
  });
  t.throws(() => b.augmentPixels(src, 2, 2, plan, new Uint8Array(11), 2, 2), {
    instanceOf: TypeError,
    message: /for out/,
  });
  t.throws(() => b.augmentPixels(src, 2, 2, plan, out, 0, 2), { instanceOf: RangeError, message: /outWidth/ });
  t.throws(() => b.augmentPixels(new Float32Array(12), 2, 2, plan, out, 2, 2), { instanceOf: TypeError });
  for (const [i, v] of [
    [0, Number.NaN],
    [4, 1000],
    [6, 0],
    [12, 0],
    [8, 2 ** 31],
    [15, -1],
    [2, 0.5],
  ] as const) {
    const p = plan.slice();
    p[i] = v;
    t.throws(() => b.augmentPixels(src, 2, 2, p, out, 2, 2), { instanceOf: RangeError }, `plan[${i}] = ${v}`);
  }
});

test('regression (fuzz): a subnormal contrast before the HSV part gives finite hues, native = TS', (t) => {
  // 60 / d overflowed to Infinity for a subnormal d = max − min, and the hue sector became an undefined cast.
  const input = {
    pixels: Uint8Array.from([200, 10, 90, 3, 250, 7, 0, 0, 0, 255, 255, 255]),
    width: 2,
    height: 2,
    boxes: new Float32Array(0),
    labels: new Int32Array(0),
  };
  const plan = identityPlan(2, 2);
  plan.photometric = {
    ...plan.photometric,
    contrast: Math.fround(1e-40),
    contrastFirst: true,
    saturation: 1.3,
    hue: 5,
  };
  const a = applyAugmentPlan(input, plan, { width: 3, height: 3 });
  t.deepEqual(a, applyAugmentPlanTs(input, plan, { width: 3, height: 3 }));
  t.true(a.pixels.every((v) => v === 0)); // contrast ≈ 0 leaves black whatever the hue
});

test("every SIMD level (scalar, AVX2 / NEON where the CPU has it) gives the TS twin's bytes", (t) => {
  if (!native) return t.pass('no addon loaded (SSD_EDGE_FORCE_TS=1): only the TS twin runs');
  const levels = capabilities().supported as SimdLevel[];
  const before = capabilities().active as SimdLevel;
  t.true(levels.includes('scalar'));
  try {
    for (const level of levels) {
      setSimd(level);
      const g = new Rng(1234);
      for (let s = 0; s < 120; s++) {
        const input = randomSample(g, 70, 3);
        // flat regions and pure colours: the HSV ties (max = two channels), grey (S = 0) and black (V = 0)
        if (s % 3 === 0) input.pixels.fill(s % 2 ? 0 : 128, 0, Math.floor(input.pixels.length / 2));
        const size = { width: 1 + g.below(60), height: 1 + g.below(60) };
        const seed = g.next();
        const a = augment(input, new Rng(seed), size);
        const b = augmentTs(input, new Rng(seed), size);
        if (a.pixels.some((v, i) => v !== b.pixels[i])) t.fail(`${level}: seed ${seed} differs`);
      }
      for (const c of oracle.cases) {
        const input = {
          pixels: Uint8Array.from(c.pixels),
          width: c.width,
          height: c.height,
          boxes: new Float32Array(0),
          labels: new Int32Array(0),
        };
        t.deepEqual(
          applyAugmentPlan(input, c.plan, c.size).pixels,
          applyAugmentPlanTs(input, c.plan, c.size).pixels,
          level,
        );
      }
    }
  } finally {
    setSimd(before);
  }
});
