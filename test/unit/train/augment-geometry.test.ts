/**
 * augmentForInput: training ends in the model's own input geometry. With a plan that is the identity the training
 * input and box targets equal what inference's prepare() gives (≤ 1 intensity level) for 'letterbox' and 'pad'; with
 * full random plans a pad or letterbox sample equals inference (prepare) run on the augmented crop itself (the crop
 * at its own resolution, then the model's preprocess: an independent composition; ≤ 1 level, 1.5 for 'pad' which
 * rounds once more); 'stretch' is exactly the old `augment` to the input size; the addon and the TS twin agree bit for bit.
 */
import test from 'ava';
import { prepare } from '../../../lib/detector/stages.ts';
import type { PreprocessSpec } from '../../../lib/image/preprocess.ts';
import type { InputSpec } from '../../../lib/model/spec.ts';
import {
  type AugmentInput,
  type AugmentOptions,
  applyAugmentPlan,
  augment,
  augmentForInput,
  augmentForInputTs,
  planAugment,
  toInputTensor,
} from '../../../lib/train/augment.ts';
import { Rng } from '../../../lib/train/index.ts';

const IDENTITY: AugmentOptions = { photometric: false, expand: false, crop: false, flip: false };

function spec(resize: PreprocessSpec['resize'], width = 80, height = 72): InputSpec {
  return {
    name: 'input',
    dynamicBatch: true,
    width,
    height,
    layout: 'NCHW',
    colorOrder: 'BGR',
    mean: [104, 117, 123],
    std: [58, 57, 59],
    resize,
    interpolation: 'bilinear',
    padValue: 114,
  };
}

/** A sample with random pixels (or smooth ones) and a few boxes. */
function sample(rng: Rng, width: number, height: number, smooth = false): AugmentInput {
  const pixels = new Uint8Array(width * height * 3);
  for (let y = 0, o = 0; y < height; y++) {
    for (let x = 0; x < width; x++, o += 3) {
      for (let c = 0; c < 3; c++) {
        pixels[o + c] = smooth
          ? Math.round(127 + 100 * Math.sin((x * (c + 1)) / 23 + (y * (3 - c)) / 29))
          : rng.below(256);
      }
    }
  }
  const n = 3;
  const boxes = new Float32Array(4 * n);
  for (let i = 0; i < n; i++) {
    const x1 = rng.range(0, width * 0.6);
    const y1 = rng.range(0, height * 0.6);
    boxes.set([x1, y1, x1 + rng.range(4, width * 0.4), y1 + rng.range(4, height * 0.4)], 4 * i);
  }
  return { pixels, width, height, boxes, labels: Int32Array.from([1, 2, 3]) };
}

/** Largest difference in intensity levels (0..255 units) between two normalized tensors of a spec. */
function maxLevelDiff(a: Float32Array, b: Float32Array, s: PreprocessSpec, skip?: (x: number, y: number) => boolean) {
  const plane = s.width * s.height;
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const p = i % plane;
    if (skip?.(p % s.width, Math.floor(p / s.width))) continue;
    worst = Math.max(worst, Math.abs(a[i] - b[i]) * s.std[Math.floor(i / plane)]);
  }
  return worst;
}

/** Boxes as inference maps source pixels into the input (the inverse of boxToSource): b / scale + offset. */
function inferenceBoxes(boxes: Float32Array, t: { scaleX: number; scaleY: number; offsetX: number; offsetY: number }) {
  return Array.from(boxes, (v, i) => (i % 2 === 0 ? v / t.scaleX + t.offsetX : v / t.scaleY + t.offsetY));
}

for (const [resize, w, h] of [
  ['letterbox', 97, 61],
  ['letterbox', 50, 130],
  ['pad', 120, 60], // 80×72 input: s = 1.5, content 80 × 40 (whole pixels)
  ['pad', 48, 108], // s = 1.5, content 32 × 72
] as const) {
  test(`identity plan: training input and boxes equal inference's prepare() for '${resize}' ${w}×${h}`, async (t) => {
    const s = spec(resize);
    const x = sample(new Rng(w * 1000 + h), w, h);
    const a = augmentForInput(x, new Rng(1), s, IDENTITY);
    t.is(a.width, s.width);
    t.is(a.height, s.height);
    const train = toInputTensor(a.pixels, a.width, a.height, s);
    const p = await prepare([{ data: x.pixels, width: w, height: h, channels: 3 }], s);
    t.true(maxLevelDiff(train, p.input.data, s) <= 1 + 1e-3);
    const expected = inferenceBoxes(x.boxes, p.transforms[0]);
    t.is(a.boxes.length, expected.length);
    a.boxes.forEach((v, i) => t.true(Math.abs(v - expected[i]) < 1e-3, `box coordinate ${i}: ${v} vs ${expected[i]}`));
    t.deepEqual(Array.from(a.labels), [1, 2, 3]);
  });
}

test("identity plan, 'pad' with a fractional content edge: equal to prepare(), the edge row blended as inference does", async (t) => {
  // 97×61 → 80×72: s = 97/80, the content ends at row 61/s = 50.3; inference blends row 50 with the padding
  const s = spec('pad');
  const x = sample(new Rng(5), 97, 61);
  const a = augmentForInput(x, new Rng(1), s, IDENTITY);
  const train = toInputTensor(a.pixels, a.width, a.height, s);
  const p = await prepare([{ data: x.pixels, width: 97, height: 61, channels: 3 }], s);
  t.true(maxLevelDiff(train, p.input.data, s) <= 1 + 1e-3);
  const expected = inferenceBoxes(x.boxes, p.transforms[0]);
  a.boxes.forEach((v, i) => t.true(Math.abs(v - expected[i]) < 1e-3, `box coordinate ${i}: ${v} vs ${expected[i]}`));
});

for (const resize of ['letterbox', 'pad'] as const) {
  test(`random plans, '${resize}': the sample is inference on the augmented crop (pixels, boxes)`, async (t) => {
    const s = spec(resize, 64, 48);
    const rng = new Rng(resize === 'pad' ? 12 : 11);
    for (let k = 0; k < 24; k++) {
      const x = sample(rng, 30 + rng.below(60), 30 + rng.below(60));
      const seed = 100 + k;
      const a = augmentForInput(x, new Rng(seed), s);
      // reference: the same plan at the crop's own resolution (no resize), then the inference preprocess on it
      const plan = planAugment(x.width, x.height, x.boxes, new Rng(seed));
      const crop = applyAugmentPlan(x, plan, { width: plan.crop.width, height: plan.crop.height });
      const p = await prepare([{ data: crop.pixels, width: crop.width, height: crop.height, channels: 3 }], s);
      const train = toInputTensor(a.pixels, a.width, a.height, s);
      // roundings to bytes (≤ 0.5 each): the reference's crop and our output for letterbox (≤ 1 level); for 'pad' also
      // our intermediate (the padded axis is resampled in a second pass): ≤ 1.5
      const diff = maxLevelDiff(train, p.input.data, s);
      t.true(diff <= (resize === 'pad' ? 1.5 : 1) + 1e-3, `sample ${k}: ${diff}`);
      const expected = inferenceBoxes(crop.boxes, p.transforms[0]);
      t.deepEqual(Array.from(a.labels), Array.from(crop.labels));
      a.boxes.forEach((v, i) =>
        t.true(Math.abs(v - expected[i]) < 1e-3, `sample ${k} box ${i}: ${v} vs ${expected[i]}`),
      );
    }
  });
}

test("'pad' over 8192 pixels along the padded axis: the content is resized instead, still inference's geometry here", async (t) => {
  // a 2×8200 crop into a 1×8192 input: s = 2 (the width fills), 8200 rows > 8192 → content resized to 4100 rows
  const s = spec('pad', 1, 8192);
  const x = {
    ...sample(new Rng(6), 2, 8200),
    boxes: Float32Array.from([0.25, 100, 1.5, 4000.5]),
    labels: Int32Array.of(1),
  };
  const a = augmentForInput(x, new Rng(1), s, IDENTITY);
  const train = toInputTensor(a.pixels, a.width, a.height, s);
  const p = await prepare([{ data: x.pixels, width: 2, height: 8200, channels: 3 }], s);
  t.true(maxLevelDiff(train, p.input.data, s) <= 1 + 1e-3);
  const expected = inferenceBoxes(x.boxes, p.transforms[0]);
  a.boxes.forEach((v, i) => t.true(Math.abs(v - expected[i]) < 1e-3, `box coordinate ${i}: ${v} vs ${expected[i]}`));
});

test("'stretch': exactly augment() to the input size (same draws, same pixels and boxes)", (t) => {
  const s = spec('stretch');
  const rng = new Rng(13);
  for (let k = 0; k < 12; k++) {
    const x = sample(rng, 30 + rng.below(60), 30 + rng.below(60));
    const r1 = new Rng(k);
    const r2 = new Rng(k);
    const a = augmentForInput(x, r1, s);
    const b = augment(x, r2, { width: s.width, height: s.height });
    t.deepEqual(a, b);
    t.deepEqual(r1.state(), r2.state());
  }
});

test('addon and TS twin agree bit for bit (pad, letterbox)', (t) => {
  const rng = new Rng(14);
  for (const resize of ['pad', 'letterbox'] as const) {
    const s = spec(resize, 56, 40);
    for (let k = 0; k < 12; k++) {
      const x = sample(rng, 30 + rng.below(60), 30 + rng.below(60));
      t.deepEqual(augmentForInput(x, new Rng(k), s), augmentForInputTs(x, new Rng(k), s));
    }
  }
});

test('augmentForInput: an invalid spec is refused naming the field', (t) => {
  const x = sample(new Rng(1), 20, 10);
  const bad = { ...spec('pad'), resize: 'crop' } as unknown as PreprocessSpec;
  t.throws(() => augmentForInput(x, new Rng(1), bad), { instanceOf: TypeError, message: /input\.resize/ });
});
