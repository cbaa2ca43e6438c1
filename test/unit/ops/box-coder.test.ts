/**
 * Box coder: encode/decode against torchvision's BoxCoder(10, 10, 5, 5) (clamped rows included), face-api's
 * TF-order decode, round trips, the TF order as a permutation of torchvision's, and invalid inputs.
 */
import test from 'ava';
import { BoxCoder, boxConvert, decodeBoxes, encodeBoxes } from '../../../lib/index.ts';
import { f32, readF32, readJson } from '../../helpers/fixtures.ts';
import { assertClose } from '../../helpers/compare.ts';
import { boxCoderImpls } from '../../helpers/implementations.ts';
import { mulberry32, randomArray, randomBoxes, seeds } from '../../helpers/random.ts';

const oracle = readJson('box_coder.json');
const TOL = { abs: 1e-4, rel: 1e-6 };
const CLIP = Math.log(1000 / 16);

/** [N·4] with each quadruple permuted (x, y, w, h) ↔ (y, x, h, w). */
function swapXY(a: Float32Array): Float32Array {
  const out = new Float32Array(a.length);
  for (let o = 0; o < a.length; o += 4) out.set([a[o + 1], a[o], a[o + 3], a[o + 2]], o);
  return out;
}

/** yxyx ↔ xyxy (the same permutation of corners). */
function yxyxToXyxy(a: Float32Array): Float32Array {
  const out = new Float32Array(a.length);
  for (let o = 0; o < a.length; o += 4) out.set([a[o + 1], a[o], a[o + 3], a[o + 2]], o);
  return out;
}

/** Obvious float64 decode (contract formulas), for custom weights/clip. */
function referenceDecode(deltas: Float32Array, anchors: Float32Array, w: number[], clip: number): Float64Array {
  const out = new Float64Array(deltas.length);
  for (let o = 0; o < deltas.length; o += 4) {
    const [x1, y1, x2, y2] = anchors.subarray(o, o + 4);
    const aw = x2 - x1,
      ah = y2 - y1,
      acx = x1 + 0.5 * aw,
      acy = y1 + 0.5 * ah;
    const cx = (deltas[o] / w[0]) * aw + acx;
    const cy = (deltas[o + 1] / w[1]) * ah + acy;
    const bw = Math.exp(Math.min(deltas[o + 2] / w[2], clip)) * aw;
    const bh = Math.exp(Math.min(deltas[o + 3] / w[3], clip)) * ah;
    out.set([cx - 0.5 * bw, cy - 0.5 * bh, cx + 0.5 * bw, cy + 0.5 * bh], o);
  }
  return out;
}

/** Anchors with positive width/height for property tests. */
const anchorsFor = (seed: number, n: number) =>
  randomBoxes(mulberry32(seed), n, { extent: 300, minSide: 4, maxSide: 120 });

for (const impl of boxCoderImpls) {
  test(`${impl.name}: encode matches torchvision encode_single (64 rows, ≤ 1e-4 abs or 1e-6 rel)`, (t) => {
    const deltas = impl.encodeBoxes(f32(oracle.encode.gt_xyxy), f32(oracle.encode.anchors_xyxy), {
      weights: [10, 10, 5, 5],
    });
    t.true(deltas instanceof Float32Array);
    assertClose(t, deltas, f32(oracle.encode.deltas), TOL, 'encode');
  });

  test(`${impl.name}: decode matches torchvision decode_single, clamped rows included (≤ 1e-4 abs or 1e-6 rel)`, (t) => {
    const deltas = f32(oracle.decode.deltas);
    const boxes = impl.decodeBoxes(deltas, f32(oracle.decode.anchors_xyxy), { weights: [10, 10, 5, 5], clip: CLIP });
    const expected = f32(oracle.decode.boxes_xyxy);
    assertClose(t, boxes, expected, TOL, 'decode');
    // The clamped rows are exercised: dw/5 or dh/5 above the clip there and nowhere else.
    const clamped = [];
    for (let i = 0; i < deltas.length / 4; i++) {
      if (deltas[4 * i + 2] / 5 > CLIP || deltas[4 * i + 3] / 5 > CLIP) clamped.push(i);
    }
    t.deepEqual(clamped, oracle.decode.clamped_rows);
    for (const i of oracle.decode.clamped_rows as number[]) {
      assertClose(t, boxes.subarray(4 * i, 4 * i + 4), expected.subarray(4 * i, 4 * i + 4), TOL, `clamped row ${i}`);
    }
  });

  test(`${impl.name}: the defaults are torchvision's (weights [10, 10, 5, 5], clip log(1000/16), order 'xywh', anchors 'xyxy')`, (t) => {
    assertClose(
      t,
      impl.encodeBoxes(f32(oracle.encode.gt_xyxy), f32(oracle.encode.anchors_xyxy)),
      f32(oracle.encode.deltas),
      TOL,
      'encode',
    );
    assertClose(
      t,
      impl.decodeBoxes(f32(oracle.decode.deltas), f32(oracle.decode.anchors_xyxy)),
      f32(oracle.decode.boxes_xyxy),
      TOL,
      'decode',
    );
  });

  test(`${impl.name}: TF order 'yxhw' is torchvision's order with (x, y, w, h) → (y, x, h, w)`, (t) => {
    const gt = f32(oracle.encode.gt_xyxy);
    const anchors = f32(oracle.encode.anchors_xyxy);
    const tv = impl.encodeBoxes(gt, anchors, { order: 'xywh' });
    const tf = impl.encodeBoxes(gt, anchors, { order: 'yxhw' });
    t.deepEqual(tf, swapXY(tv), 'encode: same numbers, permuted');
    const deltas = f32(oracle.decode.deltas);
    const danchors = f32(oracle.decode.anchors_xyxy);
    t.deepEqual(
      impl.decodeBoxes(swapXY(deltas), danchors, { order: 'yxhw' }),
      impl.decodeBoxes(deltas, danchors, { order: 'xywh' }),
      'decode',
    );
    assertClose(
      t,
      impl.decodeBoxes(swapXY(deltas), danchors, { order: 'yxhw' }),
      f32(oracle.decode.boxes_xyxy),
      TOL,
      'decode vs torchvision',
    );
  });

  test(`${impl.name}: 'yxhw' decode of face-api's raw encodings against its anchors matches face-api's own decode (≤ 1e-6)`, (t) => {
    const encodings = readF32('faceapi/astronaut_box_encodings.f32'); // ty, tx, th, tw
    const anchorsXyxy = yxyxToXyxy(readF32('default_boxes/faceapi_ssd_mobilenetv1_anchors_yxyx.f32'));
    const expected = yxyxToXyxy(readF32('faceapi/astronaut_boxes_yxyx.f32'));
    // face-api does not clamp; check that the clamp does not bite on this input so the comparison is fair.
    let maxScaled = -Infinity;
    for (let o = 0; o < encodings.length; o += 4)
      maxScaled = Math.max(maxScaled, encodings[o + 2] / 5, encodings[o + 3] / 5);
    t.true(maxScaled < CLIP, `max th/5, tw/5 = ${maxScaled}`);
    const boxes = impl.decodeBoxes(encodings, anchorsXyxy, { weights: [10, 10, 5, 5], order: 'yxhw' });
    assertClose(t, boxes, expected, { abs: 1e-6 }, 'face-api decode');
    // Same through cxcywh anchors (the output of defaultBoxes('tf-ssd-mobilenetv1-512')).
    const viaCxcywh = impl.decodeBoxes(encodings, boxConvert(anchorsXyxy, 'xyxy', 'cxcywh'), {
      order: 'yxhw',
      anchorFormat: 'cxcywh',
    });
    assertClose(t, viaCxcywh, expected, { abs: 2e-6 }, 'face-api decode, cxcywh anchors');
  });

  test(`${impl.name}: anchorFormat 'cxcywh' equals 'xyxy' anchors converted (random, 20 seeds)`, (t) => {
    for (const seed of seeds(20)) {
      const rng = mulberry32(1000 + seed);
      const anchors = anchorsFor(seed, 64);
      const cxcywh = boxConvert(anchors, 'xyxy', 'cxcywh');
      const deltas = randomArray(rng, 64 * 4, -3, 3);
      assertClose(
        t,
        impl.decodeBoxes(deltas, cxcywh, { anchorFormat: 'cxcywh' }),
        impl.decodeBoxes(deltas, anchors),
        { abs: 1e-4, rel: 1e-6 },
        `decode seed ${seed}`,
      );
      const gt = anchorsFor(seed + 500, 64);
      assertClose(
        t,
        impl.encodeBoxes(gt, cxcywh, { anchorFormat: 'cxcywh' }),
        impl.encodeBoxes(gt, anchors),
        { abs: 1e-4, rel: 1e-5 },
        `encode seed ${seed}`,
      );
    }
  });

  test(`${impl.name}: decode(encode(boxes)) = boxes, both orders and anchor formats (50 seeds)`, (t) => {
    for (const seed of seeds(50)) {
      const anchors = anchorsFor(seed, 50);
      const gt = randomBoxes(mulberry32(seed + 7777), 50, { extent: 300, minSide: 2, maxSide: 200 });
      for (const order of ['xywh', 'yxhw'] as const) {
        for (const [anchorFormat, a] of [
          ['xyxy', anchors],
          ['cxcywh', boxConvert(anchors, 'xyxy', 'cxcywh')],
        ] as const) {
          const opts = { order, anchorFormat, weights: [10, 10, 5, 5] as [number, number, number, number] };
          const back = impl.decodeBoxes(impl.encodeBoxes(gt, a, opts), a, opts);
          assertClose(t, back, gt, { abs: 2e-4 }, `seed ${seed} ${order} ${anchorFormat}`);
        }
      }
    }
  });

  test(`${impl.name}: custom weights and clip follow the formulas (float64 reference, 20 seeds)`, (t) => {
    for (const seed of seeds(20)) {
      const rng = mulberry32(seed);
      const anchors = anchorsFor(seed, 40);
      const deltas = randomArray(rng, 160, -4, 4);
      const weights: [number, number, number, number] = [1, 2, 0.5, 1.5];
      const boxes = impl.decodeBoxes(deltas, anchors, { weights, clip: 1 });
      assertClose(t, boxes, referenceDecode(deltas, anchors, weights, 1), { abs: 1e-4, rel: 1e-5 }, `seed ${seed}`);
      // clip = Infinity disables the clamp.
      const big = Float32Array.from([0, 0, 40, 40]);
      const a = Float32Array.from([0, 0, 1, 1]);
      const unclamped = impl.decodeBoxes(big, a, { clip: Infinity });
      assertClose(t, unclamped, referenceDecode(big, a, [10, 10, 5, 5], Infinity), { rel: 1e-5 }, 'clip Infinity');
    }
  });

  test(`${impl.name}: clamp is from above only (large negative dw stays unclamped)`, (t) => {
    const anchors = Float32Array.from([0, 0, 100, 100]);
    const boxes = impl.decodeBoxes(Float32Array.from([0, 0, 100, -60]), anchors);
    // w = exp(min(20, 4.135))·100 = 6250; h = exp(−12)·100
    assertClose(t, boxes, [50 - 3125, 50 - 50 * Math.exp(-12), 50 + 3125, 50 + 50 * Math.exp(-12)], {
      rel: 1e-6,
      abs: 1e-4,
    });
  });

  test(`${impl.name}: empty input gives empty output`, (t) => {
    t.is(impl.encodeBoxes(new Float32Array(0), new Float32Array(0)).length, 0);
    t.is(impl.decodeBoxes(new Float32Array(0), new Float32Array(0)).length, 0);
  });
}

test('BoxCoder class holds the options and matches the free functions', (t) => {
  const coder = new BoxCoder();
  t.deepEqual(coder.options, { weights: [10, 10, 5, 5], order: 'xywh', clip: CLIP });
  const gt = f32(oracle.encode.gt_xyxy);
  const anchors = f32(oracle.encode.anchors_xyxy);
  assertClose(t, coder.encode(gt, anchors), f32(oracle.encode.deltas), TOL, 'encode');
  assertClose(
    t,
    coder.decode(f32(oracle.decode.deltas), f32(oracle.decode.anchors_xyxy)),
    f32(oracle.decode.boxes_xyxy),
    TOL,
    'decode',
  );
  const tf = new BoxCoder({ order: 'yxhw' });
  const cxcywh = boxConvert(anchors, 'xyxy', 'cxcywh');
  t.deepEqual(
    tf.decode(swapXY(f32(oracle.encode.deltas)), cxcywh, 'cxcywh'),
    decodeBoxes(swapXY(f32(oracle.encode.deltas)), cxcywh, { order: 'yxhw', anchorFormat: 'cxcywh' }),
  );
  t.deepEqual(tf.encode(gt, anchors), encodeBoxes(gt, anchors, { order: 'yxhw' }));
});

// ---- invalid inputs (exact messages) ---------------------------------------------------------------------
const one = Float32Array.from([0, 0, 10, 10]);
const two = Float32Array.from([0, 0, 10, 10, 5, 5, 20, 20]);
type Case = [string, () => unknown, 'TypeError' | 'RangeError', string];
const invalid: Case[] = [
  [
    'boxes of length 7',
    () => encodeBoxes(new Float32Array(7), two),
    'TypeError',
    'Expected Float32Array of length 4·N for boxes but received Float32Array of length 7',
  ],
  [
    'boxes as a plain array',
    () => encodeBoxes([0, 0, 1, 1] as never, one),
    'TypeError',
    'Expected Float32Array of length 4·N for boxes but received Array of length 4',
  ],
  [
    'deltas as Float64Array',
    () => decodeBoxes(new Float64Array(4) as never, one),
    'TypeError',
    'Expected Float32Array of length 4·N for deltas but received Float64Array of length 4',
  ],
  [
    'anchors of another length (encode)',
    () => encodeBoxes(two, one),
    'TypeError',
    'Expected Float32Array of length 8 (same as boxes) for anchors but received Float32Array of length 4',
  ],
  [
    'anchors of another length (decode)',
    () => decodeBoxes(one, two),
    'TypeError',
    'Expected Float32Array of length 4 (same as deltas) for anchors but received Float32Array of length 8',
  ],
  [
    'anchors missing',
    () => decodeBoxes(one, undefined as never),
    'TypeError',
    'Expected Float32Array of length 4 (same as deltas) for anchors but received undefined',
  ],
  [
    'unknown order',
    () => decodeBoxes(one, one, { order: 'xyxy' as never }),
    'TypeError',
    "Expected one of 'xywh', 'yxhw' for order but received \"xyxy\"",
  ],
  [
    'unknown anchorFormat',
    () => encodeBoxes(one, one, { anchorFormat: 'xywh' as never }),
    'TypeError',
    "Expected one of 'xyxy', 'cxcywh' for anchorFormat but received \"xywh\"",
  ],
  [
    '3 weights',
    () => decodeBoxes(one, one, { weights: [10, 10, 5] as never }),
    'TypeError',
    'Expected Array of 4 numbers for weights but received Array of length 3',
  ],
  [
    'zero weight',
    () => decodeBoxes(one, one, { weights: [10, 0, 5, 5] }),
    'RangeError',
    'Expected finite number > 0 for weights[1] but received 0',
  ],
  [
    'NaN weight',
    () => encodeBoxes(one, one, { weights: [10, 10, 5, NaN] }),
    'RangeError',
    'Expected finite number > 0 for weights[3] but received NaN',
  ],
  [
    'NaN clip',
    () => decodeBoxes(one, one, { clip: NaN }),
    'RangeError',
    'Expected number (not NaN) for clip but received NaN',
  ],
  [
    'options not an object',
    () => decodeBoxes(one, one, 5 as never),
    'TypeError',
    'Expected object for options but received 5',
  ],
  [
    'BoxCoder with a bad order',
    () => new BoxCoder({ order: 'tf' as never }),
    'TypeError',
    "Expected one of 'xywh', 'yxhw' for order but received \"tf\"",
  ],
  [
    'BoxCoder with a negative weight',
    () => new BoxCoder({ weights: [-1, 10, 5, 5] }),
    'RangeError',
    'Expected finite number > 0 for weights[0] but received -1',
  ],
  [
    'BoxCoder.decode with a bad anchor format',
    () => new BoxCoder().decode(one, one, 'yxyx' as never),
    'TypeError',
    "Expected one of 'xyxy', 'cxcywh' for anchorFormat but received \"yxyx\"",
  ],
  [
    'BoxCoder with an unknown option key',
    () => new BoxCoder({ variances: [0.1, 0.1, 0.2, 0.2] } as never),
    'TypeError',
    "Unknown key 'variances' in options: expected one of 'weights', 'order', 'clip'",
  ],
  [
    'an unknown option key (decode)',
    () => decodeBoxes(one, one, { clamp: 4 } as never),
    'TypeError',
    "Unknown key 'clamp' in options: expected one of 'weights', 'order', 'clip', 'anchorFormat'",
  ],
  [
    'an unknown option key (encode)',
    () => encodeBoxes(one, one, { format: 'cxcywh' } as never),
    'TypeError',
    "Unknown key 'format' in options: expected one of 'weights', 'order', 'clip', 'anchorFormat'",
  ],
];
for (const [what, fn, type, message] of invalid) {
  test(`box coder rejects ${what}: ${type}`, (t) => {
    const err = t.throws(fn, { message });
    t.is(err?.constructor.name, type);
  });
}
