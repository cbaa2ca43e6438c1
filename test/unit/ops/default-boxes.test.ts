/**
 * defaultBoxes: presets against torchvision / face-api oracles, the paper and Caffe presets against their
 * formulas, small hand-computed specs, and invalid specs (exact messages).
 */
import test from 'ava';
import { DEFAULT_BOX_PRESETS, defaultBoxes } from '../../../lib/index.ts';
import { readF32, readJson } from '../../helpers/fixtures.ts';
import { assertClose } from '../../helpers/compare.ts';
import { defaultBoxesImpls } from '../../helpers/implementations.ts';

const f = Math.fround;

/** yxyx (ymin, xmin, ymax, xmax) → cxcywh, in float64 from the float32 values. */
function yxyxToCxcywh(a: Float32Array): Float64Array {
  const out = new Float64Array(a.length);
  for (let o = 0; o < a.length; o += 4) {
    const [y1, x1, y2, x2] = [a[o], a[o + 1], a[o + 2], a[o + 3]];
    out.set([(x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1], o);
  }
  return out;
}

const row = (boxes: Float32Array, i: number) => Array.from(boxes.subarray(4 * i, 4 * i + 4));

for (const impl of defaultBoxesImpls) {
  // ---- oracles ---------------------------------------------------------------------------------------
  for (const [preset, file, count] of [
    ['torchvision-ssd300-vgg16', 'ssd300_vgg16', 8732],
    ['torchvision-ssdlite320', 'ssdlite320_mobilenet_v3_large', 3234],
  ] as const) {
    test(`${impl.name}: '${preset}' matches torchvision DefaultBoxGenerator (≤ 1e-6)`, (t) => {
      const expected = readF32(`default_boxes/${file}_default_boxes_cxcywh_norm.f32`);
      const meta = readJson(`default_boxes/${file}_default_boxes.json`);
      const actual = impl.defaultBoxes(preset);
      t.true(actual instanceof Float32Array);
      t.is(actual.length / 4, count);
      t.is(meta.num_boxes, count);
      assertClose(t, actual, expected, { abs: 1e-6 }, preset);
      // Level boundaries: the first box of every level has the level's first (w, h) pair at cell (0, 0).
      meta.level_offsets.forEach((offset: number, k: number) => {
        assertClose(
          t,
          row(actual, offset).slice(2),
          meta.wh_pairs_per_level[k][0],
          { abs: 1e-6 },
          `level ${k} first wh`,
        );
      });
    });
  }

  test(`${impl.name}: 'torchvision-ssd300-vgg16' clip 'wh' clamps only w and h (last level (0.87·√2, 0.87/√2) → (1, 0.6152))`, (t) => {
    const boxes = impl.defaultBoxes('torchvision-ssd300-vgg16');
    t.deepEqual(row(boxes, 8730), [0.5, 0.5, 1, f(0.87 / Math.SQRT2)]);
    t.deepEqual(row(boxes, 8731), [0.5, 0.5, f(0.87 / Math.SQRT2), 1]);
    // Centres are never clipped: 300/8 = 37.5 cells, so the last centre on the 38×38 map is (37.5)/37.5 = 1.
    t.is(boxes[4 * (5776 - 1)], 1);
    t.is(boxes[4 * (5776 - 1) + 1], 1);
  });

  test(`${impl.name}: 'tf-ssd-mobilenetv1-512' matches face-api's stored anchors (yxyx → cxcywh, ≤ 1e-5)`, (t) => {
    const stored = readF32('default_boxes/faceapi_ssd_mobilenetv1_anchors_yxyx.f32');
    const meta = readJson('default_boxes/faceapi_ssd_mobilenetv1_anchors.json');
    const actual = impl.defaultBoxes('tf-ssd-mobilenetv1-512');
    t.is(actual.length / 4, 5118);
    t.is(
      meta.levels.reduce((s: number, l: { count: number }) => s + l.count, 0),
      5118,
    );
    assertClose(t, actual, yxyxToCxcywh(stored), { abs: 1e-5 }, 'face-api anchors');
  });

  // ---- formula presets ---------------------------------------------------------------------------------
  test(`${impl.name}: 'ssd300-paper' has 8732 boxes; first cell and last map follow the paper's formulas`, (t) => {
    const boxes = impl.defaultBoxes('ssd300-paper');
    t.is(boxes.length / 4, 8732);
    const c = 0.5 / 38; // (i + 0.5) / |f_k|
    const s1 = 0.2;
    const s2 = 0.2 + 0.7 / 5; // 0.34
    assertClose(t, row(boxes, 0), [c, c, s1, s1], { abs: 1e-7 }, 'first box (ratio 1)');
    assertClose(t, row(boxes, 1), [c, c, Math.sqrt(s1 * s2), Math.sqrt(s1 * s2)], { abs: 1e-7 }, 'extra box √(s1·s2)');
    assertClose(t, row(boxes, 2), [c, c, s1 * Math.SQRT2, s1 / Math.SQRT2], { abs: 1e-7 }, 'ratio 2');
    assertClose(t, row(boxes, 3), [c, c, s1 / Math.SQRT2, s1 * Math.SQRT2], { abs: 1e-7 }, 'ratio 1/2');
    assertClose(t, row(boxes, 4), [1.5 / 38, c, s1, s1], { abs: 1e-7 }, 'next cell to the right');
    // Second map (19×19, 6 boxes): ratios 3 and 1/3 after 1, extra, 2, 1/2.
    const o2 = 5776;
    assertClose(
      t,
      row(boxes, o2 + 4),
      [0.5 / 19, 0.5 / 19, s2 * Math.sqrt(3), s2 / Math.sqrt(3)],
      { abs: 1e-7 },
      'map 2 ratio 3',
    );
    // Last map (1×1): s6 = 0.9, s7 = 1.04 (extrapolated), clip 'none' keeps 0.9·√2 > 1.
    const s6 = 0.9;
    const s7 = 1.04;
    assertClose(t, row(boxes, 8728), [0.5, 0.5, s6, s6], { abs: 1e-7 }, 'last map ratio 1');
    assertClose(
      t,
      row(boxes, 8729),
      [0.5, 0.5, Math.sqrt(s6 * s7), Math.sqrt(s6 * s7)],
      { abs: 1e-7 },
      'last map extra √(0.9·1.04)',
    );
    assertClose(
      t,
      row(boxes, 8730),
      [0.5, 0.5, s6 * Math.SQRT2, s6 / Math.SQRT2],
      { abs: 1e-7 },
      'last map ratio 2, not clipped',
    );
  });

  test(`${impl.name}: 'ssd300-caffe' has 8732 boxes; min/max sizes and steps of the Caffe prototxt`, (t) => {
    const boxes = impl.defaultBoxes('ssd300-caffe');
    t.is(boxes.length / 4, 8732);
    const c = (0.5 * 8) / 300; // (j + 0.5)·step / 300
    assertClose(t, row(boxes, 0), [c, c, 30 / 300, 30 / 300], { abs: 1e-7 }, 'conv4_3 min box');
    assertClose(
      t,
      row(boxes, 1),
      [c, c, Math.sqrt(30 * 60) / 300, Math.sqrt(30 * 60) / 300],
      { abs: 1e-7 },
      'conv4_3 extra box √(30·60)/300',
    );
    t.is(boxes[6], f((30 / 300) * Math.SQRT2), 'conv4_3 ratio-2 width = 0.1·√2 (float64, stored as float32)');
    // 38×38 map with step 8: the last centre is (37.5·8)/300 = 1.0 exactly.
    assertClose(t, row(boxes, 5775).slice(0, 2), [1, 1], { abs: 0 }, 'last conv4_3 centre');
    // conv9_2 (1×1, step 300): min 264, max 315.
    assertClose(t, row(boxes, 8728), [0.5, 0.5, 0.88, 0.88], { abs: 1e-7 }, 'conv9_2 min box');
    assertClose(
      t,
      row(boxes, 8729),
      [0.5, 0.5, Math.sqrt(264 * 315) / 300, Math.sqrt(264 * 315) / 300],
      { abs: 1e-7 },
      'conv9_2 extra',
    );
    // conv8_2 (3×3, step 100): the centre of cell (1, 2) is (2.5·100/300, 1.5·100/300).
    const o8 = 8692 + (1 * 3 + 2) * 4;
    assertClose(t, row(boxes, o8).slice(0, 2), [2.5 / 3, 1.5 / 3], { abs: 1e-7 }, 'conv8_2 centre (1, 2)');
  });

  test(`${impl.name}: every preset of DEFAULT_BOX_PRESETS gives its documented count`, (t) => {
    const counts: Record<string, number> = {
      'ssd300-paper': 8732,
      'ssd300-caffe': 8732,
      'torchvision-ssd300-vgg16': 8732,
      'torchvision-ssdlite320': 3234,
      'tf-ssd-mobilenetv1-512': 5118,
    };
    t.deepEqual(Object.keys(DEFAULT_BOX_PRESETS).sort(), Object.keys(counts).sort());
    for (const [name, n] of Object.entries(counts)) {
      t.is(impl.defaultBoxes(name as keyof typeof DEFAULT_BOX_PRESETS).length, 4 * n, name);
      // A preset name and its spec object give the same boxes.
      t.deepEqual(
        impl.defaultBoxes(DEFAULT_BOX_PRESETS[name as keyof typeof DEFAULT_BOX_PRESETS]),
        impl.defaultBoxes(name as never),
        `${name} spec object`,
      );
    }
  });

  // ---- hand-computed specs -------------------------------------------------------------------------------
  test(`${impl.name}: non-square input, rectangular map, default steps, order (y outer, x inner, shapes inner)`, (t) => {
    // H = 200, W = 100; map 2 rows × 1 col → stepY = 100, stepX = 100; centres (0.5, 0.25), (0.5, 0.75).
    const boxes = impl.defaultBoxes({
      inputSize: [200, 100],
      featureMaps: [{ size: [2, 1], scale: 0.5, aspectRatios: [1, 4] }],
    });
    t.deepEqual(Array.from(boxes), [0.5, 0.25, 0.5, 0.5, 0.5, 0.25, 1, 0.25, 0.5, 0.75, 0.5, 0.5, 0.5, 0.75, 1, 0.25]);
  });

  test(`${impl.name}: row-major over cells: 2 rows × 3 cols, explicit [y, x] step and offset`, (t) => {
    const boxes = impl.defaultBoxes({
      inputSize: [100, 300],
      featureMaps: [{ size: [2, 3], step: [50, 100], offset: 0, scale: 0.25, aspectRatios: [1] }],
    });
    const centres = [];
    for (let i = 0; i < 6; i++) centres.push(row(boxes, i).slice(0, 2));
    // cx = j·100/300, cy = i·50/100
    const third = f(1 / 3);
    const twoThirds = f(2 / 3);
    t.deepEqual(centres, [
      [0, 0],
      [third, 0],
      [twoThirds, 0],
      [0, 0.5],
      [third, 0.5],
      [twoThirds, 0.5],
    ]);
  });

  test(`${impl.name}: extraBox comes right after the first ratio; explicit boxes replace scale/aspectRatios`, (t) => {
    const a = impl.defaultBoxes({
      inputSize: 100,
      featureMaps: [{ size: 1, scale: 0.2, nextScale: 0.8, aspectRatios: [2, 1], extraBox: true }],
    });
    assertClose(t, a, [0.5, 0.5, 0.2 * Math.SQRT2, 0.2 / Math.SQRT2, 0.5, 0.5, 0.4, 0.4, 0.5, 0.5, 0.2, 0.2], {
      abs: 1e-7,
    });
    const b = impl.defaultBoxes({
      inputSize: 100,
      featureMaps: [
        {
          size: 1,
          scale: 0.9,
          aspectRatios: [1],
          extraBox: true,
          nextScale: 1,
          boxes: [
            { scale: 0.1, aspectRatio: 1 },
            { scale: 0.2, aspectRatio: 0.25 },
          ],
        },
      ],
    });
    assertClose(t, b, [0.5, 0.5, 0.1, 0.1, 0.5, 0.5, 0.1, 0.4], { abs: 1e-7 });
  });

  test(`${impl.name}: clip 'none' / 'wh' / 'xyxy' (hand-computed)`, (t) => {
    // H = 200, W = 100, map 2×1: cell 0 centre (0.5, 0.25); shape (1.6, 0.4) from scale 0.8 ratio 4, (0.8, 0.8).
    const spec = (clip: 'none' | 'wh' | 'xyxy') => ({
      inputSize: [200, 100] as [number, number],
      clip,
      featureMaps: [
        {
          size: [2, 1] as [number, number],
          boxes: [
            { scale: 0.8, aspectRatio: 4 },
            { scale: 0.8, aspectRatio: 1 },
          ],
        },
      ],
    });
    const none = impl.defaultBoxes(spec('none'));
    assertClose(t, row(none, 0), [0.5, 0.25, 1.6, 0.4], { abs: 1e-7 }, 'none');
    const wh = impl.defaultBoxes(spec('wh'));
    assertClose(t, row(wh, 0), [0.5, 0.25, 1, 0.4], { abs: 1e-7 }, 'wh clamps w only');
    assertClose(t, row(wh, 1), [0.5, 0.25, 0.8, 0.8], { abs: 1e-7 }, 'wh leaves the centre');
    const xyxy = impl.defaultBoxes(spec('xyxy'));
    // (0.5, 0.25, 1.6, 0.4): x −0.3…1.3 → 0…1; y 0.05…0.45 unchanged.
    assertClose(t, row(xyxy, 0), [0.5, 0.25, 1, 0.4], { abs: 1e-7 }, 'xyxy wide box');
    // (0.5, 0.25, 0.8, 0.8): y −0.15…0.65 → 0…0.65 → cy 0.325, h 0.65 (the centre moves).
    assertClose(t, row(xyxy, 1), [0.5, 0.325, 0.8, 0.65], { abs: 1e-7 }, 'xyxy moves the centre');
    // second cell (cy 0.75): y 0.35…1.15 → 0.35…1 → cy 0.675, h 0.65.
    assertClose(t, row(xyxy, 3), [0.5, 0.675, 0.8, 0.65], { abs: 1e-7 }, 'xyxy bottom cell');
  });
}

// ---- invalid specs (public op; the twin validates the same way) --------------------------------------------
const presetList =
  "'ssd300-paper', 'ssd300-caffe', 'torchvision-ssd300-vgg16', 'torchvision-ssdlite320', 'tf-ssd-mobilenetv1-512'";
const good = { size: 2, scale: 0.5, aspectRatios: [1] };
const invalid: Array<[string, unknown, 'TypeError' | 'RangeError', string]> = [
  [
    'unknown preset',
    'ssd512',
    'TypeError',
    `Expected DefaultBoxSpec object or one of ${presetList} for spec but received "ssd512"`,
  ],
  [
    'no spec',
    undefined,
    'TypeError',
    `Expected DefaultBoxSpec object or one of ${presetList} for spec but received undefined`,
  ],
  [
    'array as spec',
    [good],
    'TypeError',
    `Expected DefaultBoxSpec object or one of ${presetList} for spec but received Array of length 1`,
  ],
  [
    'inputSize 0',
    { inputSize: 0, featureMaps: [good] },
    'RangeError',
    'Expected integer ≥ 1 for inputSize but received 0',
  ],
  [
    'inputSize NaN',
    { inputSize: NaN, featureMaps: [good] },
    'RangeError',
    'Expected integer ≥ 1 for inputSize but received NaN',
  ],
  [
    'inputSize of 3',
    { inputSize: [1, 2, 3], featureMaps: [good] },
    'TypeError',
    'Expected number or [number, number] for inputSize but received Array of length 3',
  ],
  [
    'inputSize[1] string',
    { inputSize: [300, '300'], featureMaps: [good] },
    'TypeError',
    'Expected integer ≥ 1 for inputSize[1] but received "300"',
  ],
  [
    'featureMaps empty',
    { inputSize: 300, featureMaps: [] },
    'TypeError',
    'Expected Array of length ≥ 1 for featureMaps but received Array of length 0',
  ],
  [
    'featureMaps missing',
    { inputSize: 300 },
    'TypeError',
    'Expected Array of length ≥ 1 for featureMaps but received undefined',
  ],
  [
    'size 0',
    { inputSize: 300, featureMaps: [{ ...good, size: 0 }] },
    'RangeError',
    'Expected integer ≥ 1 for featureMaps[0].size but received 0',
  ],
  [
    'size 2.5',
    { inputSize: 300, featureMaps: [good, { ...good, size: 2.5 }] },
    'RangeError',
    'Expected integer ≥ 1 for featureMaps[1].size but received 2.5',
  ],
  [
    'scale missing',
    { inputSize: 300, featureMaps: [{ size: 2, aspectRatios: [1] }] },
    'TypeError',
    'Expected finite number > 0 for featureMaps[0].scale but received undefined',
  ],
  [
    'scale negative',
    { inputSize: 300, featureMaps: [{ ...good, scale: -0.1 }] },
    'RangeError',
    'Expected finite number > 0 for featureMaps[0].scale but received -0.1',
  ],
  [
    'aspectRatios empty',
    { inputSize: 300, featureMaps: [{ ...good, aspectRatios: [] }] },
    'TypeError',
    'Expected Array of length ≥ 1 for featureMaps[0].aspectRatios but received Array of length 0',
  ],
  [
    'aspect ratio 0',
    { inputSize: 300, featureMaps: [{ ...good, aspectRatios: [1, 0] }] },
    'RangeError',
    'Expected finite number > 0 for featureMaps[0].aspectRatios[1] but received 0',
  ],
  [
    'extraBox without nextScale',
    { inputSize: 300, featureMaps: [{ ...good, extraBox: true }] },
    'TypeError',
    'Expected finite number > 0 for featureMaps[0].nextScale but received undefined',
  ],
  [
    'extraBox not boolean',
    { inputSize: 300, featureMaps: [{ ...good, extraBox: 1 }] },
    'TypeError',
    'Expected boolean for featureMaps[0].extraBox but received 1',
  ],
  [
    'step 0',
    { inputSize: 300, featureMaps: [{ ...good, step: 0 }] },
    'RangeError',
    'Expected finite number > 0 for featureMaps[0].step but received 0',
  ],
  [
    'offset Infinity',
    { inputSize: 300, featureMaps: [{ ...good, offset: Infinity }] },
    'RangeError',
    'Expected finite number for featureMaps[0].offset but received Infinity',
  ],
  [
    'explicit box with bad ratio',
    { inputSize: 300, featureMaps: [{ size: 2, boxes: [{ scale: 0.1, aspectRatio: -1 }] }] },
    'RangeError',
    'Expected finite number > 0 for featureMaps[0].boxes[0].aspectRatio but received -1',
  ],
  [
    'clip unknown',
    { inputSize: 300, clip: 'yes', featureMaps: [good] },
    'TypeError',
    "Expected one of 'none', 'wh', 'xyxy' for clip but received \"yes\"",
  ],
  [
    'feature map not an object',
    { inputSize: 300, featureMaps: [3] },
    'TypeError',
    'Expected object for featureMaps[0] but received 3',
  ],
];
for (const [what, spec, type, message] of invalid) {
  test(`defaultBoxes rejects ${what}: ${type}`, (t) => {
    const err = t.throws(() => defaultBoxes(spec as never), { message });
    t.is(err?.constructor.name, type);
  });
}
