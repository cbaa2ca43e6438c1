/**
 * The class-agnostic postprocess (`classAgnostic: true`) against a reference of TFLite_Detection_PostProcess's fast
 * NMS written here from tensorflow/lite/kernels/detection_postprocess.cc (NonMaxSuppressionMultiClassFastHelper with
 * max_classes_per_detection 1): decode CenterSize boxes with the y/x/h/w scales, per box the best class after the
 * background column, scores above the threshold sorted decreasingly, one greedy NMS over all boxes (IoU > threshold
 * suppresses; a box of zero area has IoU 0), at most max_detections. Native addon and TypeScript twin both.
 */
import test from 'ava';
import {
  postprocessDetections,
  postprocessDetectionsAsync,
  postprocessDetectionsTs,
  type PostprocessOptionsInput,
} from '../../../lib/ops/postprocess.ts';
import { mulberry32 } from '../../helpers/random.ts';

interface Case {
  deltas: Float32Array; // [N·4] ty, tx, th, tw
  scores: Float32Array; // [N·C], column 0 background
  anchors: Float32Array; // [N·4] ycenter, xcenter, h, w (TFLite order)
  n: number;
  c: number;
}

function makeCase(seed: number, n: number, c: number): Case {
  const r = mulberry32(seed);
  const anchors = new Float32Array(4 * n);
  for (let i = 0; i < n; i++) {
    // anchors on a coarse grid so that many boxes overlap
    anchors.set(
      [0.2 + (0.6 * Math.floor(r() * 4)) / 3, 0.2 + (0.6 * Math.floor(r() * 4)) / 3, 0.2 + 0.3 * r(), 0.2 + 0.3 * r()],
      4 * i,
    );
  }
  return {
    deltas: Float32Array.from({ length: 4 * n }, () => (r() * 2 - 1) * 3),
    scores: Float32Array.from({ length: n * c }, () => r()),
    anchors,
    n,
    c,
  };
}

/** TFLite's fast NMS; returns detections as { box: [ymin, xmin, ymax, xmax], cls (0-based, without background), score }. */
function tfliteFastNms(k: Case, o: { scoreThresh: number; iou: number; maxDetections: number; scales: number[] }) {
  const [ys, xs, hs, ws] = o.scales;
  const boxes: number[][] = [];
  for (let i = 0; i < k.n; i++) {
    const [yca, xca, ha, wa] = k.anchors.subarray(4 * i, 4 * i + 4);
    const [ty, tx, th, tw] = k.deltas.subarray(4 * i, 4 * i + 4);
    const yc = (ty / ys) * ha + yca;
    const xc = (tx / xs) * wa + xca;
    const h = Math.exp(th / hs) * ha;
    const w = Math.exp(tw / ws) * wa;
    boxes.push([yc - h / 2, xc - w / 2, yc + h / 2, xc + w / 2]);
  }
  const maxScores: number[] = [];
  const maxClass: number[] = [];
  for (let i = 0; i < k.n; i++) {
    let best = 1;
    for (let c = 2; c < k.c; c++) if (k.scores[i * k.c + c] > k.scores[i * k.c + best]) best = c;
    maxScores.push(k.scores[i * k.c + best]);
    maxClass.push(best - 1);
  }
  const keep = maxScores.map((_, i) => i).filter((i) => maxScores[i] >= o.scoreThresh);
  keep.sort((i, j) => maxScores[j] - maxScores[i] || i - j);
  const outputSize = Math.min(keep.length, o.maxDetections);
  const iou = (a: number[], b: number[]) => {
    const areaA = (a[2] - a[0]) * (a[3] - a[1]);
    const areaB = (b[2] - b[0]) * (b[3] - b[1]);
    if (areaA <= 0 || areaB <= 0) return 0;
    const ih = Math.max(Math.min(a[2], b[2]) - Math.max(a[0], b[0]), 0);
    const iw = Math.max(Math.min(a[3], b[3]) - Math.max(a[1], b[1]), 0);
    const inter = ih * iw;
    return inter / (areaA + areaB - inter);
  };
  const active = keep.map(() => true);
  const selected: number[] = [];
  for (let s = 0; s < keep.length; s++) {
    if (!active[s]) continue;
    selected.push(keep[s]);
    if (selected.length >= outputSize) break;
    for (let q = s + 1; q < keep.length; q++)
      if (active[q] && iou(boxes[keep[s]], boxes[keep[q]]) > o.iou) active[q] = false;
  }
  return selected.map((i) => ({ box: boxes[i], cls: maxClass[i], score: maxScores[i] }));
}

/** The spec-style options TFLite's custom op maps to (see lib/model/importers/tflite.ts). */
const optionsFor = (o: {
  scoreThresh: number;
  iou: number;
  maxDetections: number;
  scales: number[];
}): PostprocessOptionsInput => ({
  scoring: 'none',
  boxEncoding: 'deltas',
  backgroundIndex: 0,
  scoreThresh: o.scoreThresh,
  nmsThresh: o.iou,
  topkCandidates: Infinity,
  detectionsPerImg: o.maxDetections,
  boxCoder: { weights: [o.scales[1], o.scales[0], o.scales[3], o.scales[2]], order: 'yxhw', clip: Infinity },
  clipBoxes: false,
  classAgnostic: true,
});

/** TFLite anchors (ycenter, xcenter, h, w) as ssd-edge's cxcywh. */
const cxcywh = (a: Float32Array) => {
  const out = new Float32Array(a.length);
  for (let i = 0; i < a.length; i += 4) out.set([a[i + 1], a[i], a[i + 3], a[i + 2]], i);
  return out;
};

test('classAgnostic: native and TS twin equal a reference of TFLite fast NMS over many seeds', async (t) => {
  let compared = 0;
  for (let seed = 1; seed <= 40; seed++) {
    const r = mulberry32(1000 + seed);
    const k = makeCase(seed, 20 + Math.floor(r() * 300), 2 + Math.floor(r() * 6));
    const o = {
      scoreThresh: 0.3 + 0.6 * r(),
      iou: 0.2 + 0.6 * r(),
      maxDetections: 1 + Math.floor(r() * 30),
      scales: [10, 10, 5, 5],
    };
    if (seed % 3 === 0) o.scales = [8, 12, 4, 6];
    const ref = tfliteFastNms(k, o);
    const input = { boxRegression: k.deltas, classLogits: k.scores, anchors: cxcywh(k.anchors), numClasses: k.c };
    for (const [name, det] of [
      ['native', postprocessDetections(input, optionsFor(o))[0]],
      ['async', (await postprocessDetectionsAsync(input, optionsFor(o)))[0]],
      ['ts', postprocessDetectionsTs(input, optionsFor(o))[0]],
    ] as const) {
      t.is(det.scores.length, ref.length, `${name} seed ${seed}: count`);
      ref.forEach((d, i) => {
        t.is(det.scores[i], Math.fround(d.score), `${name} seed ${seed} #${i} score`);
        t.is(det.labels[i], d.cls + 1, `${name} seed ${seed} #${i} class`);
        const [x1, y1, x2, y2] = det.boxes.subarray(4 * i, 4 * i + 4);
        const [ymin, xmin, ymax, xmax] = d.box;
        t.true(Math.max(Math.abs(x1 - xmin), Math.abs(y1 - ymin), Math.abs(x2 - xmax), Math.abs(y2 - ymax)) < 1e-5);
      });
      compared += ref.length;
    }
  }
  t.true(compared > 300, `compared ${compared} detections`);
});

test('classAgnostic: one box for two classes where per-class NMS keeps both; topk caps over all classes', (t) => {
  // two anchors, the same decoded box, best classes 1 and 2
  const input = {
    boxRegression: Float32Array.of(0, 0, 1, 1, 0, 0, 1, 1, 0.5, 0.5, 0.6, 0.6),
    classLogits: Float32Array.of(0, 0.9, 0.2, 0, 0.3, 0.8, 0, 0.7, 0.1),
    anchors: new Float32Array(0),
    numClasses: 3,
  };
  const base: PostprocessOptionsInput = {
    scoring: 'none',
    boxEncoding: 'xyxy',
    scoreThresh: 0.25,
    nmsThresh: 0.5,
    topkCandidates: Infinity,
    detectionsPerImg: 10,
  };
  for (const run of [postprocessDetections, postprocessDetectionsTs]) {
    const perClass = run(input, base)[0];
    t.deepEqual([...perClass.labels], [1, 2, 1]);
    const agnostic = run(input, { ...base, classAgnostic: true })[0];
    // anchor 0 (class 1, 0.9) suppresses anchor 1 (class 2, 0.8); anchor 2 (class 1, 0.7) is elsewhere
    t.deepEqual([...agnostic.labels], [1, 1]);
    t.deepEqual([...agnostic.scores], [Math.fround(0.9), Math.fround(0.7)]);
    const top1 = run(input, { ...base, classAgnostic: true, topkCandidates: 1 })[0];
    t.deepEqual([...top1.scores], [Math.fround(0.9)]);
  }
  t.throws(() => postprocessDetections(input, { ...base, classAgnostic: 'yes' as never }), {
    instanceOf: TypeError,
    message: /classAgnostic/,
  });
});
