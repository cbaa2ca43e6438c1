/**
 * postprocessDetections: torchvision SSD300 / SSDLite320 detections on astronaut.png (raw head outputs →
 * detections in the 512×512 original frame), the async variant, batches, option semantics against an obvious
 * reference, and invalid inputs.
 */
import test, { type ExecutionContext } from 'ava';
import {
  defaultBoxes,
  POSTPROCESS_PRESETS,
  postprocessDetections,
  postprocessDetectionsAsync,
  type Detections,
  type PostprocessOptions,
} from '../../../lib/index.ts';
import { f32, readF32, readJson } from '../../helpers/fixtures.ts';
import { assertClose, assertSameArray } from '../../helpers/compare.ts';
import { postprocessImpls } from '../../helpers/implementations.ts';
import { mulberry32, randInt, randomArray, randomBoxes, seeds } from '../../helpers/random.ts';
import { nmsIouF32 } from '../../helpers/reference.ts';

interface Model {
  name: string;
  json: string;
  anchors: string;
  numAnchors: number;
  numClasses: number;
}
const MODELS: Model[] = [
  {
    name: 'ssd300',
    json: 'postprocess/ssd300_astronaut',
    anchors: 'default_boxes/ssd300_vgg16_default_boxes_cxcywh_norm.f32',
    numAnchors: 8732,
    numClasses: 21,
  },
  {
    name: 'ssdlite320',
    json: 'postprocess/ssdlite320_astronaut',
    anchors: 'default_boxes/ssdlite320_mobilenet_v3_large_default_boxes_cxcywh_norm.f32',
    numAnchors: 3234,
    numClasses: 91,
  },
];

function load(m: Model) {
  const meta = readJson(`${m.json}.json`);
  const p = meta.params;
  const options: PostprocessOptions = {
    scoring: 'softmax',
    boxEncoding: 'deltas',
    backgroundIndex: p.background_class,
    scoreThresh: p.score_thresh,
    nmsThresh: p.nms_thresh,
    topkCandidates: p.topk_candidates,
    detectionsPerImg: p.detections_per_img,
    boxCoder: { weights: p.box_coder_weights, order: 'xywh', clip: p.bbox_xform_clip },
    clipBoxes: true,
  };
  return {
    meta,
    options,
    boxRegression: readF32(`${m.json}_bbox_regression.f32`),
    classLogits: readF32(`${m.json}_cls_logits.f32`),
    anchors: readF32(m.anchors),
    imageSizes: [meta.original_hw as [number, number]],
  };
}

/** Asserts detections equal torchvision's: same labels in the same order, boxes ≤ 1e-3 px, scores ≤ 1e-5. */
function assertMatchesTorchvision(
  t: ExecutionContext,
  det: Detections,
  expected: { boxes_xyxy: number[][]; scores: number[]; labels: number[] },
  label: string,
) {
  t.true(det.boxes instanceof Float32Array && det.scores instanceof Float32Array && det.labels instanceof Int32Array);
  assertSameArray(t, det.labels, expected.labels, `${label} labels`);
  assertClose(t, det.scores, f32(expected.scores), { abs: 1e-5 }, `${label} scores`);
  assertClose(t, det.boxes, f32(expected.boxes_xyxy), { abs: 1e-3 }, `${label} boxes (px)`);
}

const sameDetections = (t: ExecutionContext, a: Detections, b: Detections, label: string) => {
  assertSameArray(t, a.labels, b.labels, `${label} labels`);
  assertSameArray(t, a.scores, b.scores, `${label} scores`);
  assertSameArray(t, a.boxes, b.boxes, `${label} boxes`);
};

for (const m of MODELS) {
  for (const impl of postprocessImpls) {
    test(`${impl.name}: ${m.name} astronaut matches torchvision detections_original_frame`, (t) => {
      const d = load(m);
      const out = impl.postprocessDetections(
        {
          boxRegression: d.boxRegression,
          classLogits: d.classLogits,
          anchors: d.anchors,
          numClasses: m.numClasses,
          imageSizes: d.imageSizes,
        },
        d.options,
      );
      t.is(out.length, 1);
      t.is(out[0].labels.length, d.meta.detections_original_frame.labels.length);
      assertMatchesTorchvision(t, out[0], d.meta.detections_original_frame, m.name);
    });

    test(`${impl.name}: ${m.name} without imageSizes gives torchvision's input-frame boxes divided by the input size`, (t) => {
      const d = load(m);
      const [out] = impl.postprocessDetections(
        { boxRegression: d.boxRegression, classLogits: d.classLogits, anchors: d.anchors, numClasses: m.numClasses },
        d.options,
      );
      const [h, w] = d.meta.input_hw as [number, number];
      const inputFrame = d.meta.detections_input_frame;
      const normalized = f32(inputFrame.boxes_xyxy).map((v, k) => v / (k % 2 ? h : w));
      assertSameArray(t, out.labels, inputFrame.labels, 'labels');
      assertClose(t, out.boxes, normalized, { abs: 1e-3 / 300 }, 'normalized boxes');
    });

    test(`${impl.name}: ${m.name} batch of 2 (same image twice, then a different second image) equals single calls`, (t) => {
      const d = load(m);
      const N = m.numAnchors;
      const C = m.numClasses;
      const single = (reg: Float32Array, logits: Float32Array, size: [number, number]) =>
        impl.postprocessDetections(
          { boxRegression: reg, classLogits: logits, anchors: d.anchors, numClasses: C, imageSizes: [size] },
          d.options,
        )[0];
      const concat = (a: Float32Array, b: Float32Array) => {
        const out = new Float32Array(a.length + b.length);
        out.set(a);
        out.set(b, a.length);
        return out;
      };
      // Same image twice.
      const twice = impl.postprocessDetections(
        {
          boxRegression: concat(d.boxRegression, d.boxRegression),
          classLogits: concat(d.classLogits, d.classLogits),
          anchors: d.anchors,
          batchSize: 2,
          numClasses: C,
          imageSizes: [d.imageSizes[0], d.imageSizes[0]],
        },
        d.options,
      );
      t.is(twice.length, 2);
      const alone = single(d.boxRegression, d.classLogits, d.imageSizes[0]);
      sameDetections(t, twice[0], alone, 'image 0');
      sameDetections(t, twice[1], alone, 'image 1 (same)');
      // A different second input: logits and deltas perturbed by seeded noise, another image size.
      const rng = mulberry32(7);
      const reg2 = d.boxRegression.map((v) => v + (rng() - 0.5) * 0.5);
      const logits2 = d.classLogits.map((v) => v + (rng() - 0.5) * 2);
      const size2: [number, number] = [480, 640];
      const mixed = impl.postprocessDetections(
        {
          boxRegression: concat(d.boxRegression, reg2),
          classLogits: concat(d.classLogits, logits2),
          anchors: d.anchors,
          batchSize: 2,
          numClasses: C,
          imageSizes: [d.imageSizes[0], size2],
        },
        d.options,
      );
      sameDetections(t, mixed[0], alone, 'mixed image 0');
      const other = single(reg2, logits2, size2);
      t.notDeepEqual(Array.from(other.labels), Array.from(alone.labels), 'the second input really differs');
      sameDetections(t, mixed[1], other, 'mixed image 1');
      t.is(N * 4 * 2, concat(d.boxRegression, reg2).length);
    });
  }

  test(`postprocessDetectionsAsync: ${m.name} equals the sync result (and torchvision)`, async (t) => {
    const d = load(m);
    const input = {
      boxRegression: d.boxRegression,
      classLogits: d.classLogits,
      anchors: d.anchors,
      numClasses: m.numClasses,
      imageSizes: d.imageSizes,
    };
    const promise = postprocessDetectionsAsync(input, d.options);
    t.true(promise instanceof Promise);
    const asyncOut = await promise;
    const syncOut = postprocessDetections(input, d.options);
    t.is(asyncOut.length, 1);
    sameDetections(t, asyncOut[0], syncOut[0], 'async vs sync');
    assertMatchesTorchvision(t, asyncOut[0], d.meta.detections_original_frame, `${m.name} async`);
  });

  test(`postprocessDetectionsAsync: ${m.name} batch of 2 and several concurrent calls equal sync`, async (t) => {
    const d = load(m);
    const reg = new Float32Array(2 * d.boxRegression.length);
    reg.set(d.boxRegression);
    reg.set(
      d.boxRegression.map((v) => -v),
      d.boxRegression.length,
    );
    const logits = new Float32Array(2 * d.classLogits.length);
    logits.set(d.classLogits);
    logits.set(
      d.classLogits.map((v, k) => v * (1 + (k % 3) * 0.1)),
      d.classLogits.length,
    );
    const input = {
      boxRegression: reg,
      classLogits: logits,
      anchors: d.anchors,
      batchSize: 2,
      numClasses: m.numClasses,
      imageSizes: [
        [512, 512],
        [100, 200],
      ] as Array<[number, number]>,
    };
    const syncOut = postprocessDetections(input, d.options);
    const all = await Promise.all([1, 2, 3, 4].map(() => postprocessDetectionsAsync(input, d.options)));
    for (const out of all) {
      t.is(out.length, 2);
      sameDetections(t, out[0], syncOut[0], 'async 0');
      sameDetections(t, out[1], syncOut[1], 'async 1');
    }
  });
}

test('POSTPROCESS_PRESETS.torchvision matches the SSD300 oracle params; the preset with defaultBoxes anchors reproduces torchvision', (t) => {
  const m = MODELS[0];
  const d = load(m);
  const pre = POSTPROCESS_PRESETS.torchvision;
  t.like(pre, {
    scoring: 'softmax',
    backgroundIndex: 0,
    scoreThresh: 0.01,
    nmsThresh: 0.45,
    topkCandidates: 400,
    detectionsPerImg: 200,
    clipBoxes: true,
  });
  t.deepEqual(pre.boxCoder.weights, [10, 10, 5, 5]);
  t.is(pre.boxCoder.order, 'xywh');
  const [out] = postprocessDetections(
    {
      boxRegression: d.boxRegression,
      classLogits: d.classLogits,
      anchors: defaultBoxes('torchvision-ssd300-vgg16'),
      numClasses: 21,
      imageSizes: d.imageSizes,
    },
    pre,
  );
  assertMatchesTorchvision(t, out, d.meta.detections_original_frame, 'preset');
  // Options left out come from the torchvision preset.
  const [dflt] = postprocessDetections({
    boxRegression: d.boxRegression,
    classLogits: d.classLogits,
    anchors: d.anchors,
    numClasses: 21,
    imageSizes: d.imageSizes,
  });
  sameDetections(t, dflt, out, 'defaults');
});

test('POSTPROCESS_PRESETS.faceApi is sigmoid, bg 0, 0.5 / 0.5, all candidates, 100, yxhw, no clip', (t) => {
  const pre = POSTPROCESS_PRESETS.faceApi;
  t.like(pre, {
    scoring: 'sigmoid',
    backgroundIndex: 0,
    scoreThresh: 0.5,
    nmsThresh: 0.5,
    detectionsPerImg: 100,
    clipBoxes: false,
  });
  t.is(pre.topkCandidates, Infinity);
  t.deepEqual(pre.boxCoder.weights, [10, 10, 5, 5]);
  t.is(pre.boxCoder.order, 'yxhw');
});

// ---- option semantics against an obvious reference (small random inputs) -----------------------------------
/**
 * Obvious postprocess for one image (float64 scores, float32 IoU on float32 decoded boxes): each step of the
 * contract spelled out. Decode and scaling are in float64 (compared with a tolerance).
 */
function referencePostprocess(
  reg: Float32Array,
  logits: Float32Array,
  anchors: Float32Array,
  C: number,
  o: PostprocessOptions,
  [h, w]: [number, number],
) {
  const N = logits.length / C;
  const scores: number[][] = [];
  for (let a = 0; a < N; a++) {
    const row = Array.from(logits.subarray(a * C, (a + 1) * C));
    if (o.scoring === 'softmax') {
      const mx = Math.max(...row);
      const e = row.map((v) => Math.exp(v - mx));
      const s = e.reduce((p, q) => p + q, 0);
      scores.push(e.map((v) => v / s));
    } else if (o.scoring === 'sigmoid') scores.push(row.map((v) => 1 / (1 + Math.exp(-v))));
    else scores.push(row); // 'none': the logits already are scores
  }
  const [wx, wy, ww, wh] = o.boxCoder.weights;
  const yx = o.boxCoder.order === 'yxhw';
  const clip = o.boxCoder.clip ?? Math.log(1000 / 16);
  const boxes = new Float32Array(4 * N);
  for (let a = 0; a < N; a++) {
    const d = reg.subarray(4 * a, 4 * a + 4);
    if (o.boxEncoding === 'xyxy') {
      // already decoded, normalized xyxy
      boxes.set(o.clipBoxes ? Array.from(d, (v) => Math.min(Math.max(v, 0), 1)) : d, 4 * a);
      continue;
    }
    const [dx, dy, dw, dh] = yx ? [d[1], d[0], d[3], d[2]] : [d[0], d[1], d[2], d[3]];
    const [acx, acy, aw, ah] = anchors.subarray(4 * a, 4 * a + 4);
    const cx = (dx / wx) * aw + acx;
    const cy = (dy / wy) * ah + acy;
    const bw = Math.exp(Math.min(dw / ww, clip)) * aw;
    const bh = Math.exp(Math.min(dh / wh, clip)) * ah;
    let b = [cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2];
    if (o.clipBoxes) b = b.map((v) => Math.min(Math.max(v, 0), 1));
    boxes.set(b, 4 * a);
  }
  const cand: Array<{ anchor: number; score: number; label: number }> = [];
  for (let c = 0; c < C; c++) {
    if (c === o.backgroundIndex) continue;
    const idx = [];
    for (let a = 0; a < N; a++) if (scores[a][c] > o.scoreThresh) idx.push(a);
    idx.sort((p, q) => scores[q][c] - scores[p][c] || p - q);
    for (const a of idx.slice(0, o.topkCandidates)) cand.push({ anchor: a, score: scores[a][c], label: c });
  }
  const order = cand.map((_, k) => k).sort((p, q) => cand[q].score - cand[p].score || p - q);
  const keep: number[] = [];
  for (const k of order) {
    const clash = keep.some(
      (j) => cand[j].label === cand[k].label && nmsIouF32(boxes, cand[j].anchor, boxes, cand[k].anchor) > o.nmsThresh,
    );
    if (!clash) keep.push(k);
  }
  const kept = keep.slice(0, o.detectionsPerImg);
  return {
    labels: kept.map((k) => cand[k].label),
    scores: kept.map((k) => cand[k].score),
    boxes: kept.flatMap((k) =>
      Array.from(boxes.subarray(4 * cand[k].anchor, 4 * cand[k].anchor + 4)).map((v, i) => v * (i % 2 ? h : w)),
    ),
  };
}

for (const impl of postprocessImpls) {
  test(`${impl.name}: option semantics = referencePostprocess over 60 seeds (softmax/sigmoid/none, deltas/xyxy boxes, background −1/0/2, top-k, caps, clip, orders)`, (t) => {
    for (const seed of seeds(60)) {
      const rng = mulberry32(seed);
      const N = randInt(rng, 1, 120);
      const C = randInt(rng, 2, 6);
      const anchors = new Float32Array(4 * N);
      for (let a = 0; a < N; a++) anchors.set([rng(), rng(), 0.05 + 0.4 * rng(), 0.05 + 0.4 * rng()], 4 * a);
      const decoded = seed % 5 === 3; // boxEncoding 'xyxy': boxRegression holds normalized xyxy boxes
      const reg = decoded
        ? randomBoxes(rng, N, { extent: 1, minSide: 0.02, maxSide: 0.5 })
        : randomArray(rng, 4 * N, -2, 2);
      const logits = randomArray(rng, N * C, -4, 4);
      const o: PostprocessOptions = {
        scoring: (['softmax', 'sigmoid', 'none'] as const)[seed % 3 === 2 && seed % 2 === 0 ? 2 : seed % 2],
        backgroundIndex: [-1, 0, C - 1][seed % 3],
        scoreThresh: [0, 0.05, 0.3][seed % 3],
        nmsThresh: [0.3, 0.5, 0.7][(seed >> 1) % 3],
        topkCandidates: seed % 4 === 0 ? Infinity : randInt(rng, 0, 20),
        detectionsPerImg: seed % 5 === 0 ? Infinity : randInt(rng, 0, 40),
        boxCoder: {
          weights: [10, 10, 5, 5],
          order: seed % 3 === 1 ? 'yxhw' : 'xywh',
          clip: seed % 7 === 0 ? 0.5 : Math.log(1000 / 16),
        },
        clipBoxes: seed % 2 === 0,
        boxEncoding: decoded ? 'xyxy' : 'deltas',
      };
      const size: [number, number] = [randInt(rng, 50, 600), randInt(rng, 50, 600)];
      // With decoded boxes the anchors are unused and may be empty.
      const anchorsIn = decoded && seed % 2 ? new Float32Array(0) : anchors;
      const [got] = impl.postprocessDetections(
        { boxRegression: reg, classLogits: logits, anchors: anchorsIn, numClasses: C, imageSizes: [size] },
        o,
      );
      const want = referencePostprocess(reg, logits, anchors, C, o, size);
      const label = `seed ${seed} N ${N} C ${C} ${JSON.stringify({ ...o, boxCoder: undefined })}`;
      assertSameArray(t, got.labels, want.labels, `${label} labels`);
      assertClose(t, got.scores, want.scores, { abs: 1e-6 }, `${label} scores`);
      assertClose(t, got.boxes, want.boxes, { abs: 1e-3, rel: 1e-5 }, `${label} boxes`);
    }
  });
}

test('postprocessDetections: empty outputs (no anchors above the threshold, detectionsPerImg 0) have the right types', (t) => {
  const anchors = Float32Array.from([0.5, 0.5, 0.2, 0.2]);
  const input = { boxRegression: new Float32Array(4), classLogits: Float32Array.from([5, -5]), anchors, numClasses: 2 };
  for (const [out] of [
    postprocessDetections(input),
    postprocessDetections(input, { detectionsPerImg: 0, scoreThresh: 0 }),
  ]) {
    t.true(out.boxes instanceof Float32Array && out.scores instanceof Float32Array && out.labels instanceof Int32Array);
    t.is(out.labels.length, 0);
    t.is(out.boxes.length, 0);
  }
});

// ---- invalid inputs ----------------------------------------------------------------------------------------
const anchors1 = Float32Array.from([0.5, 0.5, 0.2, 0.2, 0.3, 0.3, 0.1, 0.1]);
const good = { boxRegression: new Float32Array(8), classLogits: new Float32Array(6), anchors: anchors1, numClasses: 3 };
const invalid: Array<[string, unknown, unknown, 'TypeError' | 'RangeError', string]> = [
  ['input not an object', null, undefined, 'TypeError', 'Expected object for input but received null'],
  [
    'anchors of length 6',
    { ...good, anchors: new Float32Array(6) },
    undefined,
    'TypeError',
    'Expected Float32Array of length 4·N for anchors but received Float32Array of length 6',
  ],
  [
    'boxRegression of the wrong length',
    { ...good, boxRegression: new Float32Array(4) },
    undefined,
    'TypeError',
    'Expected Float32Array of length 8 (4·B·N) for boxRegression but received Float32Array of length 4',
  ],
  [
    'classLogits of the wrong length',
    { ...good, classLogits: new Float32Array(5) },
    undefined,
    'TypeError',
    'Expected Float32Array of length 6 (B·N·C) for classLogits but received Float32Array of length 5',
  ],
  [
    'classLogits as a plain array',
    { ...good, classLogits: [0, 0, 0, 0, 0, 0] },
    undefined,
    'TypeError',
    'Expected Float32Array of length 6 (B·N·C) for classLogits but received Array of length 6',
  ],
  [
    'batchSize 2 with one image of data',
    { ...good, batchSize: 2 },
    undefined,
    'TypeError',
    'Expected Float32Array of length 16 (4·B·N) for boxRegression but received Float32Array of length 8',
  ],
  [
    'batchSize 0',
    { ...good, batchSize: 0 },
    undefined,
    'RangeError',
    'Expected integer ≥ 1 for batchSize but received 0',
  ],
  [
    'numClasses missing',
    { ...good, numClasses: undefined },
    undefined,
    'TypeError',
    'Expected integer ≥ 1 for numClasses but received undefined',
  ],
  [
    'numClasses 1.5',
    { ...good, numClasses: 1.5 },
    undefined,
    'RangeError',
    'Expected integer ≥ 1 for numClasses but received 1.5',
  ],
  [
    'imageSizes of the wrong count',
    {
      ...good,
      imageSizes: [
        [1, 1],
        [2, 2],
      ],
    },
    undefined,
    'TypeError',
    'Expected Array of length 1 (one [h, w] per image) for imageSizes but received Array of length 2',
  ],
  [
    'imageSizes entry not a pair',
    { ...good, imageSizes: [[1]] },
    undefined,
    'TypeError',
    'Expected [h, w] for imageSizes[0] but received Array of length 1',
  ],
  [
    'imageSizes height 0',
    { ...good, imageSizes: [[0, 10]] },
    undefined,
    'RangeError',
    'Expected finite number > 0 for imageSizes[0][0] but received 0',
  ],
  ['options not an object', good, 'fast', 'TypeError', 'Expected object for options but received "fast"'],
  [
    'unknown scoring',
    good,
    { scoring: 'argmax' },
    'TypeError',
    "Expected one of 'softmax', 'sigmoid', 'none' for scoring but received \"argmax\"",
  ],
  [
    'backgroundIndex -2',
    good,
    { backgroundIndex: -2 },
    'RangeError',
    'Expected integer ≥ -1 for backgroundIndex but received -2',
  ],
  [
    'scoreThresh NaN',
    good,
    { scoreThresh: NaN },
    'RangeError',
    'Expected number in [0, 1] for scoreThresh but received NaN',
  ],
  ['nmsThresh 1.1', good, { nmsThresh: 1.1 }, 'RangeError', 'Expected number in [0, 1] for nmsThresh but received 1.1'],
  [
    'topkCandidates -1',
    good,
    { topkCandidates: -1 },
    'RangeError',
    'Expected integer ≥ 0 or Infinity (all) for topkCandidates but received -1',
  ],
  [
    'detectionsPerImg 2.5',
    good,
    { detectionsPerImg: 2.5 },
    'RangeError',
    'Expected integer ≥ 0 or Infinity (all) for detectionsPerImg but received 2.5',
  ],
  ['clipBoxes not boolean', good, { clipBoxes: 1 }, 'TypeError', 'Expected boolean for clipBoxes but received 1'],
  [
    'boxCoder order unknown',
    good,
    { boxCoder: { order: 'xy' } },
    'TypeError',
    "Expected one of 'xywh', 'yxhw' for boxCoder.order but received \"xy\"",
  ],
  [
    'boxCoder weight 0',
    good,
    { boxCoder: { weights: [10, 10, 0, 5] } },
    'RangeError',
    'Expected finite number > 0 for boxCoder.weights[2] but received 0',
  ],
];
for (const [what, input, options, type, message] of invalid) {
  test(`postprocessDetections rejects ${what}: ${type}`, (t) => {
    const err = t.throws(() => postprocessDetections(input as never, options as never), { message });
    t.is(err?.constructor.name, type);
  });
  test(`postprocessDetectionsAsync rejects ${what}: ${type} (a rejected promise, not a throw)`, async (t) => {
    let promise: Promise<unknown> | undefined;
    t.notThrows(() => {
      promise = postprocessDetectionsAsync(input as never, options as never);
    });
    const err = await t.throwsAsync(promise!, { message });
    t.is(err?.constructor.name, type);
  });
}
