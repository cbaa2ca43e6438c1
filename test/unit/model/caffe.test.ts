/**
 * Caffe SSD importer on a tiny net written here (prototxt text + caffemodel bytes): every supported layer type on a
 * non-square input, run by ONNX Runtime and compared with a naive float64 implementation of the Caffe layers written
 * from Caffe's C++ (conv, BatchNorm, Scale, PReLU, Eltwise, ReLU, Pooling with Caffe's ceil sizes and AVE divisor,
 * Caffe-SSD's Normalize, Permute/Flatten, Concat, Reshape, Softmax) and of PriorBox; the spec against the layer
 * parameters; the error messages.
 */
import test from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { writeCaffemodel, type CaffeBlob } from '../../../lib/model/caffe/caffemodel.ts';
import { importModelFiles } from '../../../lib/model/import.ts';
import { importCaffe } from '../../../lib/model/importers/caffe.ts';
import { loadModelFile } from '../../../lib/model/metadata.ts';
import { writeOnnx } from '../../../lib/model/onnx.ts';
import { readModelSpec } from '../../../lib/model/metadata.ts';
import { defaultBoxes, type DefaultBoxSpec } from '../../../lib/ops/default-boxes.ts';
import { mulberry32 } from '../../helpers/random.ts';

const H = 18;
const W = 22;
const C = 3; // classes

const PROTOTXT = `
name: "TinyCaffeSSD"
input: "data"
input_shape { dim: 1 dim: 3 dim: ${H} dim: ${W} }
layer { name: "conv1" type: "Convolution" bottom: "data" top: "conv1"
  param { lr_mult: 1 } convolution_param { num_output: 4 kernel_size: 3 pad: 1 stride: 2 weight_filler { type: "xavier" } } }
layer { name: "bn1" type: "BatchNorm" bottom: "conv1" top: "conv1" batch_norm_param { use_global_stats: true eps: 0.001 } }
layer { name: "scale1" type: "Scale" bottom: "conv1" top: "conv1" scale_param { bias_term: true } }
layer { name: "prelu1" type: "PReLU" bottom: "conv1" top: "p1" }
layer { name: "conv2" type: "Convolution" bottom: "p1" top: "conv2"
  convolution_param { num_output: 4 kernel_size: 3 pad: 2 dilation: 2 group: 2 bias_term: false } }
layer { name: "elt" type: "Eltwise" bottom: "p1" bottom: "conv2" top: "elt" eltwise_param { operation: SUM coeff: 1 coeff: -0.5 } }
layer { name: "relu2" type: "ReLU" bottom: "elt" top: "elt" relu_param { negative_slope: 0.1 } }
layer { name: "drop" type: "Dropout" bottom: "elt" top: "elt" dropout_param { dropout_ratio: 0.5 } }
layer { name: "train_only" type: "Accuracy" bottom: "elt" top: "acc" include { phase: TRAIN } }
layer { name: "f1" type: "Normalize" bottom: "elt" top: "f1" norm_param { across_spatial: false channel_shared: false
  scale_filler { type: "constant" value: 10 } } }
layer { name: "pool1" type: "Pooling" bottom: "elt" top: "pool1" pooling_param { pool: MAX kernel_size: 2 stride: 2 } }
layer { name: "pool2" type: "Pooling" bottom: "pool1" top: "pool2" pooling_param { pool: AVE kernel_size: 3 stride: 2 pad: 1 } }
layer { name: "f2" type: "Normalize" bottom: "pool2" top: "f2" norm_param { across_spatial: true channel_shared: true eps: 0.000001 } }
layer { name: "loc1" type: "Convolution" bottom: "f1" top: "loc1" convolution_param { num_output: 16 kernel_size: 3 pad: 1 } }
layer { name: "loc1_perm" type: "Permute" bottom: "loc1" top: "loc1_perm" permute_param { order: 0 order: 2 order: 3 order: 1 } }
layer { name: "loc1_flat" type: "Flatten" bottom: "loc1_perm" top: "loc1_flat" flatten_param { axis: 1 } }
layer { name: "conf1" type: "Convolution" bottom: "f1" top: "conf1" convolution_param { num_output: ${4 * C} kernel_h: 1 kernel_w: 3 pad_h: 0 pad_w: 1 } }
layer { name: "conf1_perm" type: "Permute" bottom: "conf1" top: "conf1_perm" permute_param { order: 0 order: 2 order: 3 order: 1 } }
layer { name: "conf1_flat" type: "Flatten" bottom: "conf1_perm" top: "conf1_flat" }
layer { name: "pb1" type: "PriorBox" bottom: "f1" bottom: "data" top: "pb1"
  prior_box_param { min_size: 2 max_size: 4 aspect_ratio: 2 flip: true clip: true variance: 0.1 variance: 0.1 variance: 0.2 variance: 0.2 } }
layer { name: "loc2" type: "Convolution" bottom: "f2" top: "loc2" convolution_param { num_output: 16 kernel_size: 1 } }
layer { name: "loc2_perm" type: "Permute" bottom: "loc2" top: "loc2_perm" permute_param { order: 0 order: 2 order: 3 order: 1 } }
layer { name: "loc2_flat" type: "Flatten" bottom: "loc2_perm" top: "loc2_flat" }
layer { name: "conf2" type: "Convolution" bottom: "f2" top: "conf2" convolution_param { num_output: ${4 * C} kernel_size: 1 } }
layer { name: "conf2_perm" type: "Permute" bottom: "conf2" top: "conf2_perm" permute_param { order: 0 order: 2 order: 3 order: 1 } }
layer { name: "conf2_flat" type: "Flatten" bottom: "conf2_perm" top: "conf2_flat" }
layer { name: "pb2" type: "PriorBox" bottom: "f2" bottom: "data" top: "pb2"
  prior_box_param { min_size: 5 min_size: 8 aspect_ratio: 3 flip: false clip: true variance: 0.1 variance: 0.1 variance: 0.2 variance: 0.2
    step: 6 offset: 0.3 } }
layer { name: "mbox_loc" type: "Concat" bottom: "loc1_flat" bottom: "loc2_flat" top: "mbox_loc" concat_param { axis: 1 } }
layer { name: "mbox_conf" type: "Concat" bottom: "conf1_flat" bottom: "conf2_flat" top: "mbox_conf" concat_param { axis: 1 } }
layer { name: "mbox_priorbox" type: "Concat" bottom: "pb1" bottom: "pb2" top: "mbox_priorbox" concat_param { axis: 2 } }
layer { name: "conf_reshape" type: "Reshape" bottom: "mbox_conf" top: "conf_reshape" reshape_param { shape { dim: 0 dim: -1 dim: ${C} } } }
layer { name: "conf_softmax" type: "Softmax" bottom: "conf_reshape" top: "conf_softmax" softmax_param { axis: 2 } }
layer { name: "conf_flatten" type: "Flatten" bottom: "conf_softmax" top: "conf_flatten" flatten_param { axis: 1 } }
layer { name: "detection_out" type: "DetectionOutput" bottom: "mbox_loc" bottom: "conf_flatten" bottom: "mbox_priorbox"
  top: "detection_out" include { phase: TEST }
  transform_param { mean_value: 104 mean_value: 117 mean_value: 123 }
  detection_output_param { num_classes: ${C} share_location: true background_label_id: 0
    nms_param { nms_threshold: 0.45 top_k: 20 } code_type: CENTER_SIZE keep_top_k: 10 confidence_threshold: 0.05
    visualize: false visualize_threshold: 0.3 } }
`;

// --- weights ---------------------------------------------------------------------------------------

type Weights = Record<string, CaffeBlob[]>;

function makeWeights(seed: number): Weights {
  const rng = mulberry32(seed);
  const rand = (dims: number[], lo = -0.5, hi = 0.5): CaffeBlob => {
    const data = new Float32Array(dims.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i++) data[i] = lo + (hi - lo) * rng();
    return { dims, data };
  };
  return {
    conv1: [rand([4, 3, 3, 3], -0.02, 0.02), rand([4])],
    bn1: [rand([4], -1, 1), rand([4], 0.5, 2), { dims: [1], data: new Float32Array([2]) }],
    scale1: [rand([4], 0.5, 1.5), rand([4])],
    prelu1: [rand([4], 0.05, 0.5)],
    conv2: [rand([4, 2, 3, 3])],
    f1: [rand([4], 5, 15)],
    f2: [rand([1], 5, 15)],
    loc1: [rand([16, 4, 3, 3], -0.05, 0.05), rand([16], -0.1, 0.1)],
    conf1: [rand([4 * C, 4, 1, 3], -0.3, 0.3), rand([4 * C])],
    loc2: [rand([16, 4, 1, 1], -0.05, 0.05), rand([16], -0.1, 0.1)],
    conf2: [rand([4 * C, 4, 1, 1], -0.3, 0.3), rand([4 * C])],
  };
}

function caffemodel(weights: Weights): Uint8Array {
  return writeCaffemodel(
    'TinyCaffeSSD',
    Object.entries(weights).map(([name, blobs]) => ({ name, type: 'x', blobs })),
  );
}

// --- naive Caffe reference (float64, batch 1, [C][H][W] arrays) -----------------------------------------

interface T3 {
  c: number;
  h: number;
  w: number;
  d: Float64Array;
}
const t3 = (c: number, h: number, w: number): T3 => ({ c, h, w, d: new Float64Array(c * h * w) });
const at = (t: T3, c: number, y: number, x: number) => t.d[(c * t.h + y) * t.w + x];

function conv(
  x: T3,
  blobs: CaffeBlob[],
  o: { out: number; kh: number; kw: number; s: number; ph: number; pw: number; dil: number; group: number },
): T3 {
  const oh = Math.floor((x.h + 2 * o.ph - (o.dil * (o.kh - 1) + 1)) / o.s) + 1;
  const ow = Math.floor((x.w + 2 * o.pw - (o.dil * (o.kw - 1) + 1)) / o.s) + 1;
  const y = t3(o.out, oh, ow);
  const cg = x.c / o.group;
  const og = o.out / o.group;
  for (let oc = 0; oc < o.out; oc++) {
    const g = Math.floor(oc / og);
    for (let i = 0; i < oh; i++)
      for (let j = 0; j < ow; j++) {
        let acc = blobs[1] ? blobs[1].data[oc] : 0;
        for (let ic = 0; ic < cg; ic++)
          for (let u = 0; u < o.kh; u++)
            for (let v = 0; v < o.kw; v++) {
              const yy = i * o.s - o.ph + u * o.dil;
              const xx = j * o.s - o.pw + v * o.dil;
              if (yy < 0 || yy >= x.h || xx < 0 || xx >= x.w) continue;
              acc += blobs[0].data[((oc * cg + ic) * o.kh + u) * o.kw + v] * at(x, g * cg + ic, yy, xx);
            }
        y.d[(oc * oh + i) * ow + j] = acc;
      }
  }
  return y;
}

const map = (x: T3, f: (v: number, c: number) => number): T3 => {
  const y = t3(x.c, x.h, x.w);
  for (let i = 0; i < x.d.length; i++) y.d[i] = f(x.d[i], Math.floor(i / (x.h * x.w)));
  return y;
};

/** Caffe PoolingLayer::Forward_cpu (MAX / AVE) with Caffe's output size. */
function pool(x: T3, type: 'MAX' | 'AVE', k: number, s: number, p: number, floor = false): T3 {
  const size = (n: number) => {
    let o = (floor ? Math.floor((n + 2 * p - k) / s) : Math.ceil((n + 2 * p - k) / s)) + 1;
    if (p > 0 && (o - 1) * s >= n + p) o--;
    return o;
  };
  const y = t3(x.c, size(x.h), size(x.w));
  for (let c = 0; c < x.c; c++)
    for (let ph = 0; ph < y.h; ph++)
      for (let pw = 0; pw < y.w; pw++) {
        let hs = ph * s - p;
        let ws = pw * s - p;
        let he = Math.min(hs + k, x.h + (type === 'AVE' ? p : 0));
        let we = Math.min(ws + k, x.w + (type === 'AVE' ? p : 0));
        const poolSize = (he - hs) * (we - ws);
        hs = Math.max(hs, 0);
        ws = Math.max(ws, 0);
        he = Math.min(he, x.h);
        we = Math.min(we, x.w);
        let acc = type === 'MAX' ? -Infinity : 0;
        for (let i = hs; i < he; i++)
          for (let j = ws; j < we; j++) acc = type === 'MAX' ? Math.max(acc, at(x, c, i, j)) : acc + at(x, c, i, j);
        y.d[(c * y.h + ph) * y.w + pw] = type === 'MAX' ? acc : acc / poolSize;
      }
  return y;
}

/** Caffe-SSD NormalizeLayer: x / (Σx² + eps)^½ · scale, over (C) per position or over (C, H, W). */
function normalize(x: T3, acrossSpatial: boolean, scale: Float32Array, eps: number): T3 {
  const y = t3(x.c, x.h, x.w);
  const hw = x.h * x.w;
  if (acrossSpatial) {
    const norm = Math.sqrt(x.d.reduce((a, v) => a + v * v, 0) + eps);
    for (let i = 0; i < x.d.length; i++) y.d[i] = (x.d[i] / norm) * scale[scale.length === 1 ? 0 : Math.floor(i / hw)];
    return y;
  }
  for (let p = 0; p < hw; p++) {
    let ss = 0;
    for (let c = 0; c < x.c; c++) ss += x.d[c * hw + p] ** 2;
    const norm = Math.sqrt(ss + eps);
    for (let c = 0; c < x.c; c++) y.d[c * hw + p] = (x.d[c * hw + p] / norm) * scale[scale.length === 1 ? 0 : c];
  }
  return y;
}

/** Permute (0, 2, 3, 1) + Flatten. */
const nhwc = (x: T3): number[] => {
  const out: number[] = [];
  for (let i = 0; i < x.h; i++) for (let j = 0; j < x.w; j++) for (let c = 0; c < x.c; c++) out.push(at(x, c, i, j));
  return out;
};

function referenceForward(input: Float32Array, w: Weights): { loc: number[]; conf: number[] } {
  const x: T3 = { c: 3, h: H, w: W, d: Float64Array.from(input) };
  let c1 = conv(x, w.conv1, { out: 4, kh: 3, kw: 3, s: 2, ph: 1, pw: 1, dil: 1, group: 1 });
  const [mean, variance, factor] = w.bn1;
  const f = 1 / factor.data[0];
  c1 = map(c1, (v, c) => (v - mean.data[c] * f) / Math.sqrt(variance.data[c] * f + 0.001));
  c1 = map(c1, (v, c) => v * w.scale1[0].data[c] + w.scale1[1].data[c]);
  const p1 = map(c1, (v, c) => (v > 0 ? v : v * w.prelu1[0].data[c]));
  const c2 = conv(p1, w.conv2, { out: 4, kh: 3, kw: 3, s: 1, ph: 2, pw: 2, dil: 2, group: 2 });
  let elt = map(p1, (v) => v);
  for (let i = 0; i < elt.d.length; i++) elt.d[i] = p1.d[i] - 0.5 * c2.d[i];
  elt = map(elt, (v) => (v > 0 ? v : 0.1 * v));
  const f1 = normalize(elt, false, w.f1[0].data, 1e-10);
  const pool1 = pool(elt, 'MAX', 2, 2, 0);
  const pool2 = pool(pool1, 'AVE', 3, 2, 1);
  const f2 = normalize(pool2, true, w.f2[0].data, 1e-6);
  const loc1 = conv(f1, w.loc1, { out: 16, kh: 3, kw: 3, s: 1, ph: 1, pw: 1, dil: 1, group: 1 });
  const conf1 = conv(f1, w.conf1, { out: 4 * C, kh: 1, kw: 3, s: 1, ph: 0, pw: 1, dil: 1, group: 1 });
  const loc2 = conv(f2, w.loc2, { out: 16, kh: 1, kw: 1, s: 1, ph: 0, pw: 0, dil: 1, group: 1 });
  const conf2 = conv(f2, w.conf2, { out: 4 * C, kh: 1, kw: 1, s: 1, ph: 0, pw: 0, dil: 1, group: 1 });
  const logits = [...nhwc(conf1), ...nhwc(conf2)];
  const conf: number[] = [];
  for (let i = 0; i < logits.length; i += C) {
    const row = logits.slice(i, i + C);
    const m = Math.max(...row);
    const e = row.map((v) => Math.exp(v - m));
    const sum = e.reduce((a, b) => a + b, 0);
    conf.push(...e.map((v) => v / sum));
  }
  return { loc: [...nhwc(loc1), ...nhwc(loc2)], conf };
}

/** Caffe-SSD PriorBoxLayer::Forward_cpu: normalized xyxy per cell (y outer), per min_size: min, √(min·max), ratios. */
function referencePriors(
  layerH: number,
  layerW: number,
  p: { min: number[]; max: number[]; ratios: number[]; flip: boolean; clip: boolean; step?: number; offset: number },
): number[] {
  const ars = [1];
  for (const a of p.ratios) {
    if (ars.some((r) => Math.abs(r - a) < 1e-6)) continue;
    ars.push(a);
    if (p.flip) ars.push(1 / a);
  }
  const stepW = p.step ?? W / layerW;
  const stepH = p.step ?? H / layerH;
  const out: number[] = [];
  const push = (cx: number, cy: number, bw: number, bh: number) =>
    out.push((cx - bw / 2) / W, (cy - bh / 2) / H, (cx + bw / 2) / W, (cy + bh / 2) / H);
  for (let h = 0; h < layerH; h++)
    for (let w = 0; w < layerW; w++) {
      const cx = (w + p.offset) * stepW;
      const cy = (h + p.offset) * stepH;
      p.min.forEach((m, s) => {
        push(cx, cy, m, m);
        if (p.max.length) push(cx, cy, Math.sqrt(m * p.max[s]), Math.sqrt(m * p.max[s]));
        for (const ar of ars) if (Math.abs(ar - 1) >= 1e-6) push(cx, cy, m * Math.sqrt(ar), m / Math.sqrt(ar));
      });
    }
  return p.clip ? out.map((v) => Math.min(Math.max(v, 0), 1)) : out;
}

const N = 9 * 11 * 4 + 3 * 4 * 4;

function maxRelErr(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < expected.length; i++)
    worst = Math.max(worst, Math.abs(actual[i] - expected[i]) / Math.max(1, Math.abs(expected[i])));
  return worst;
}

// --- tests -----------------------------------------------------------------------------------------

test('tiny Caffe SSD: ONNX Runtime on the imported graph matches the naive Caffe layers (batch 1 and 2)', async (t) => {
  const weights = makeWeights(7);
  const { model, spec, report } = importCaffe(
    {
      prototxt: PROTOTXT,
      caffemodel: caffemodel(weights),
      prototxtName: 'tiny.prototxt',
      caffemodelName: 'tiny.caffemodel',
    },
    { labels: ['background', 'a', 'b'] },
  );
  const session = await ort.InferenceSession.create(writeOnnx(model));
  t.deepEqual(session.inputNames, ['data']);
  t.deepEqual([...session.outputNames].sort(), ['boxes', 'scores']);
  const rng = mulberry32(11);
  const images = [0, 1].map(() => Float32Array.from({ length: 3 * H * W }, () => Math.floor(256 * rng())));
  const refs = images.map((img) => referenceForward(img, weights));
  t.is(refs[0].loc.length, 4 * N);
  const batch = new Float32Array(2 * 3 * H * W);
  batch.set(images[0]);
  batch.set(images[1], 3 * H * W);
  const out = await session.run({ data: new ort.Tensor('float32', batch, [2, 3, H, W]) });
  t.deepEqual(out.boxes.dims, [2, N, 4]);
  t.deepEqual(out.scores.dims, [2, N, C]);
  for (let b = 0; b < 2; b++) {
    const boxes = (out.boxes.data as Float32Array).subarray(b * N * 4, (b + 1) * N * 4);
    const scores = (out.scores.data as Float32Array).subarray(b * N * C, (b + 1) * N * C);
    t.true(maxRelErr(boxes, refs[b].loc) < 1e-4, `boxes of image ${b}: ${maxRelErr(boxes, refs[b].loc)}`);
    t.true(maxRelErr(scores, refs[b].conf) < 1e-5, `scores of image ${b}: ${maxRelErr(scores, refs[b].conf)}`);
  }
  t.true(spec.input.dynamicBatch);
  t.true(report.some((l) => l.includes(`${N} from 2 PriorBox layers`)));
  t.true(report.some((l) => l.includes('transform_param') && l.includes('ignored')));
});

test('tiny Caffe SSD: PriorBox layers → default-box spec equal to Caffe priors; DetectionOutput → postprocess', (t) => {
  const { model, spec } = importCaffe(
    { prototxt: PROTOTXT, caffemodel: caffemodel(makeWeights(1)) },
    { labels: ['a', 'b'] },
  );
  t.deepEqual(readModelSpec(model), spec); // written into the metadata, valid
  t.deepEqual(spec.labels, ['background', 'a', 'b']); // C − 1 names: background put first
  const expected = [
    ...referencePriors(9, 11, { min: [2], max: [4], ratios: [2], flip: true, clip: true, offset: 0.5 }),
    ...referencePriors(3, 4, { min: [5, 8], max: [], ratios: [3], flip: false, clip: true, step: 6, offset: 0.3 }),
  ];
  t.is(expected.length, 4 * N);
  t.true('spec' in (spec.anchors ?? {}));
  const boxes = defaultBoxes((spec.anchors as { spec: DefaultBoxSpec }).spec);
  t.is(boxes.length, 4 * N);
  let worst = 0;
  for (let i = 0; i < N; i++) {
    const [cx, cy, w, h] = boxes.subarray(4 * i, 4 * i + 4);
    const xyxy = [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2];
    for (let k = 0; k < 4; k++) worst = Math.max(worst, Math.abs(xyxy[k] - expected[4 * i + k]));
  }
  t.true(worst < 1e-6, `priors differ by ${worst}`);
  t.deepEqual(spec.input, {
    name: 'data',
    height: H,
    width: W,
    layout: 'NCHW',
    colorOrder: 'BGR',
    mean: [0, 0, 0], // not DetectionOutput's transform_param
    std: [1, 1, 1],
    resize: 'stretch',
    interpolation: 'bilinear',
    dynamicBatch: true,
  });
  t.deepEqual(spec.output, { kind: 'raw', boxes: 'boxes', scores: 'scores' });
  t.deepEqual(spec.postprocess, {
    scoring: 'none',
    boxEncoding: 'deltas',
    backgroundIndex: 0,
    scoreThresh: 0.05,
    nmsThresh: 0.45,
    topkCandidates: 20,
    detectionsPerImg: 10,
    boxCoder: { weights: [10, 10, 5, 5], order: 'xywh', clip: Infinity },
    clipBoxes: false,
  });
});

test('Caffe import errors say what was found and what is missing', (t) => {
  const cm = caffemodel(makeWeights(2));
  t.throws(() => importCaffe({ prototxt: PROTOTXT }), {
    instanceOf: TypeError,
    message: 'Caffe prototxt found; the .caffemodel with the weights is missing',
  });
  t.throws(
    () =>
      importCaffe(
        { prototxt: PROTOTXT.replace('"Normalize" bottom: "pool2"', '"LRN" bottom: "pool2"'), caffemodel: cm },
        { labels: ['a', 'b'] },
      ),
    {
      instanceOf: TypeError,
      message: /has LRN layer 'f2'/,
    },
  );
  const partial = makeWeights(2);
  delete (partial as Partial<Weights>).conv2;
  t.throws(
    () =>
      importCaffe(
        { prototxt: PROTOTXT, caffemodel: caffemodel(partial), caffemodelName: 'w.caffemodel' },
        { labels: ['a', 'b'] },
      ),
    {
      instanceOf: TypeError,
      message: "Expected 1 weight blobs for Convolution layer 'conv2' in w.caffemodel but received 0",
    },
  );
  const bad = makeWeights(2);
  bad.conv1[0] = { dims: [4, 3, 3, 2], data: new Float32Array(72) };
  t.throws(() => importCaffe({ prototxt: PROTOTXT, caffemodel: caffemodel(bad) }, { labels: ['a', 'b'] }), {
    instanceOf: TypeError,
    message: "Expected 108 values for the weights of layer 'conv1' but received 72 ([4,3,3,2])",
  });
  const noDet = PROTOTXT.slice(0, PROTOTXT.indexOf('layer { name: "detection_out"'));
  t.throws(() => importCaffe({ prototxt: noDet, caffemodel: cm, prototxtName: 'd.prototxt' }), {
    instanceOf: TypeError,
    message: /Expected a DetectionOutput layer \(Caffe SSD\) in d\.prototxt but found none/,
  });
  t.throws(() => importCaffe({ prototxt: PROTOTXT, caffemodel: cm }, { labels: ['x'] }), {
    instanceOf: TypeError,
    message: /Expected 3 labels/,
  });
  t.throws(() => importCaffe({ prototxt: PROTOTXT, caffemodel: cm }, { labels: ['a', 'b'], mean: [1] } as never), {
    instanceOf: TypeError,
    message: /mean/,
  });
  t.throws(
    () =>
      importCaffe(
        { prototxt: PROTOTXT.replace('code_type: CENTER_SIZE', 'code_type: CORNER'), caffemodel: cm },
        { labels: ['a', 'b'] },
      ),
    {
      message: /Expected code_type CENTER_SIZE in DetectionOutput 'detection_out' but received CORNER/,
    },
  );
});

test('Pooling: Caffe output sizes (ceil, last window in the padding dropped, FLOOR) and AVE divisors, on odd sizes', async (t) => {
  // input → Pooling under test → loc = a 1×1 conv copying channels 0..2 (+ a zero channel), conf → 2 classes
  const cases: Array<{
    pool: 'MAX' | 'AVE';
    k: number;
    s: number;
    p: number;
    floor?: boolean;
    h: number;
    w: number;
    out: [number, number];
  }> = [
    { pool: 'MAX', k: 2, s: 2, p: 0, h: 9, w: 11, out: [5, 6] },
    { pool: 'MAX', k: 3, s: 2, p: 1, h: 8, w: 7, out: [5, 4] },
    { pool: 'MAX', k: 2, s: 4, p: 1, h: 5, w: 9, out: [2, 3] }, // ceil alone gives 3 × 4: the last windows start in the pad
    { pool: 'AVE', k: 3, s: 2, p: 1, h: 5, w: 6, out: [3, 4] },
    { pool: 'AVE', k: 2, s: 2, p: 0, h: 7, w: 9, out: [4, 5] },
    { pool: 'AVE', k: 2, s: 2, p: 0, floor: true, h: 7, w: 9, out: [3, 4] },
    { pool: 'MAX', k: 3, s: 3, p: 0, floor: true, h: 10, w: 11, out: [3, 3] },
  ];
  const rng = mulberry32(3);
  for (const c of cases) {
    const [oh, ow] = c.out;
    const proto = `name: "p" input: "data" input_shape { dim: 1 dim: 3 dim: ${c.h} dim: ${c.w} }
layer { name: "pool" type: "Pooling" bottom: "data" top: "pool" pooling_param { pool: ${c.pool} kernel_size: ${c.k} stride: ${c.s} pad: ${c.p}${c.floor ? ' round_mode: FLOOR' : ''} } }
layer { name: "loc" type: "Convolution" bottom: "pool" top: "loc" convolution_param { num_output: 4 kernel_size: 1 bias_term: false } }
layer { name: "lp" type: "Permute" bottom: "loc" top: "lp" permute_param { order: 0 order: 2 order: 3 order: 1 } }
layer { name: "lf" type: "Flatten" bottom: "lp" top: "lf" }
layer { name: "conf" type: "Convolution" bottom: "pool" top: "conf" convolution_param { num_output: 2 kernel_size: 1 } }
layer { name: "cp" type: "Permute" bottom: "conf" top: "cp" permute_param { order: 0 order: 2 order: 3 order: 1 } }
layer { name: "cf" type: "Flatten" bottom: "cp" top: "cf" }
layer { name: "pb" type: "PriorBox" bottom: "pool" bottom: "data" top: "pb" prior_box_param { min_size: 2 } }
layer { name: "det" type: "DetectionOutput" bottom: "lf" bottom: "cf" bottom: "pb"
  detection_output_param { num_classes: 2 code_type: CENTER_SIZE nms_param { nms_threshold: 0.3 } } }`;
    const copy = new Float32Array(12);
    copy[0] = copy[4] = copy[8] = 1; // loc channel k = input channel k (k < 3), channel 3 = 0
    const cm = writeCaffemodel('p', [
      { name: 'loc', type: 'Convolution', blobs: [{ dims: [4, 3, 1, 1], data: copy }] },
      {
        name: 'conf',
        type: 'Convolution',
        blobs: [
          { dims: [2, 3, 1, 1], data: new Float32Array(6) },
          { dims: [2], data: new Float32Array(2) },
        ],
      },
    ]);
    const { model } = importCaffe({ prototxt: proto, caffemodel: cm }, { labels: ['bg', 'x'] });
    const input = Float32Array.from({ length: 3 * c.h * c.w }, () => Math.round(200 * rng() - 100));
    const ref = pool({ c: 3, h: c.h, w: c.w, d: Float64Array.from(input) }, c.pool, c.k, c.s, c.p, c.floor);
    const what = JSON.stringify(c);
    t.deepEqual([ref.h, ref.w], [oh, ow], what);
    const session = await ort.InferenceSession.create(writeOnnx(model));
    const out = await session.run({ data: new ort.Tensor('float32', input, [1, 3, c.h, c.w]) });
    t.deepEqual(out.boxes.dims, [1, oh * ow, 4], what);
    const expected = nhwc({ ...ref, c: 4, d: Float64Array.from([...ref.d, ...new Array(oh * ow).fill(0)]) });
    t.true(maxRelErr(out.boxes.data as Float32Array, expected) < 1e-6, what);
  }
});

test('model import of prototxt + caffemodel: recognised from the bytes, written; a missing .caffemodel is named', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssd-edge-caffe-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const proto = path.join(dir, 'tiny.prototxt');
  const weights = path.join(dir, 'tiny.caffemodel');
  fs.writeFileSync(proto, PROTOTXT);
  fs.writeFileSync(weights, caffemodel(makeWeights(5)));
  const out = path.join(dir, 'tiny.onnx');
  const result = await importModelFiles([weights, proto], { out, labels: ['background', 'a', 'b'] }); // any order
  t.is(result.format, 'caffe');
  t.true(result.report.some((l) => l.includes('ssd-edge/caffe-importer@1')));
  const loaded = await loadModelFile(out);
  t.is(loaded.spec.converter, 'ssd-edge/caffe-importer@1');
  t.is(loaded.spec.labels.length, C);
  t.regex(loaded.spec.source ?? '', /caffemodel \+ tiny\.prototxt|tiny\.prototxt/);
  await t.throwsAsync(importModelFiles([proto], { out: path.join(dir, 'x.onnx'), labels: ['a', 'b'] }), {
    instanceOf: TypeError,
    message: /^Caffe prototxt found.*; the \.caffemodel with the weights is missing/,
  });
  t.false(fs.existsSync(path.join(dir, 'x.onnx')));
});

test('a Reshape that folds the batch (dims -1, 4) gives a fixed batch of 1 and the same values', async (t) => {
  const proto = `name: "f" input: "data" input_shape { dim: 1 dim: 3 dim: 4 dim: 6 }
layer { name: "loc" type: "Convolution" bottom: "data" top: "loc" convolution_param { num_output: 4 kernel_size: 1 bias_term: false } }
layer { name: "lp" type: "Permute" bottom: "loc" top: "lp" permute_param { order: 0 order: 2 order: 3 order: 1 } }
layer { name: "lr" type: "Reshape" bottom: "lp" top: "lr" reshape_param { shape { dim: -1 dim: 4 } } }
layer { name: "lf" type: "Flatten" bottom: "lr" top: "lf" flatten_param { axis: 0 } }
layer { name: "conf" type: "Convolution" bottom: "data" top: "conf" convolution_param { num_output: 2 kernel_size: 1 } }
layer { name: "cp" type: "Permute" bottom: "conf" top: "cp" permute_param { order: 0 order: 2 order: 3 order: 1 } }
layer { name: "cf" type: "Flatten" bottom: "cp" top: "cf" }
layer { name: "pb" type: "PriorBox" bottom: "data" bottom: "data" top: "pb" prior_box_param { min_size: 2 } }
layer { name: "det" type: "DetectionOutput" bottom: "lf" bottom: "cf" bottom: "pb"
  detection_output_param { num_classes: 2 code_type: CENTER_SIZE } }`;
  const copy = new Float32Array(12);
  copy[0] = copy[4] = copy[8] = 1;
  const cm = writeCaffemodel('f', [
    { name: 'loc', type: 'Convolution', blobs: [{ dims: [4, 3, 1, 1], data: copy }] },
    {
      name: 'conf',
      type: 'Convolution',
      blobs: [
        { dims: [2, 3, 1, 1], data: new Float32Array(6) },
        { dims: [2], data: new Float32Array(2) },
      ],
    },
  ]);
  const { model, spec } = importCaffe({ prototxt: proto, caffemodel: cm }, { labels: ['bg', 'x'] });
  t.false(spec.input.dynamicBatch);
  t.deepEqual(model.graph.input[0].type?.tensor_type?.shape?.dim?.[0], { dim_value: 1 });
  const input = Float32Array.from({ length: 3 * 4 * 6 }, (_, i) => i - 30);
  const session = await ort.InferenceSession.create(writeOnnx(model));
  const out = await session.run({ data: new ort.Tensor('float32', input, [1, 3, 4, 6]) });
  t.deepEqual(out.boxes.dims, [1, 24, 4]);
  const x: T3 = { c: 4, h: 4, w: 6, d: Float64Array.from([...input, ...new Array(24).fill(0)]) };
  t.deepEqual([...(out.boxes.data as Float32Array)], nhwc(x));
  t.deepEqual(spec.postprocess.topkCandidates, Infinity); // no top_k / keep_top_k: all
  t.deepEqual(spec.postprocess.nmsThresh, 0.3); // Caffe's default nms_threshold
});

test('Eltwise PROD / MAX, plain ReLU, Concat on channels, Scale without bias, BatchNorm with a zero scale factor', async (t) => {
  // body: a = relu(conv 3→2), b = conv 3→2; prod = a·b, mx = max(a, b, data[0:2] via conv copy); feat = concat(prod, mx)
  // → scale (no bias) → batchnorm (factor 0: mean = var = 0) ; loc copies the 4 channels of feat
  const proto = `name: "e" input: "data" input_shape { dim: 1 dim: 3 dim: 5 dim: 7 }
layer { name: "ca" type: "Convolution" bottom: "data" top: "a" convolution_param { num_output: 2 kernel_size: 1 } }
layer { name: "ra" type: "ReLU" bottom: "a" top: "a" }
layer { name: "cb" type: "Convolution" bottom: "data" top: "b" convolution_param { num_output: 2 kernel_size: 3 pad: 1 } }
layer { name: "cc" type: "Convolution" bottom: "data" top: "c" convolution_param { num_output: 2 kernel_size: 1 bias_term: false } }
layer { name: "prod" type: "Eltwise" bottom: "a" bottom: "b" top: "prod" eltwise_param { operation: PROD } }
layer { name: "mx" type: "Eltwise" bottom: "a" bottom: "b" bottom: "c" top: "mx" eltwise_param { operation: MAX } }
layer { name: "cat" type: "Concat" bottom: "prod" bottom: "mx" top: "feat" }
layer { name: "sc" type: "Scale" bottom: "feat" top: "feat" }
layer { name: "bn" type: "BatchNorm" bottom: "feat" top: "feat" }
layer { name: "loc" type: "Convolution" bottom: "feat" top: "loc" convolution_param { num_output: 4 kernel_size: 1 bias_term: false } }
layer { name: "lp" type: "Permute" bottom: "loc" top: "lp" permute_param { order: 0 order: 2 order: 3 order: 1 } }
layer { name: "lf" type: "Flatten" bottom: "lp" top: "lf" }
layer { name: "conf" type: "Convolution" bottom: "feat" top: "conf" convolution_param { num_output: 2 kernel_size: 1 } }
layer { name: "cp" type: "Permute" bottom: "conf" top: "cp" permute_param { order: 0 order: 2 order: 3 order: 1 } }
layer { name: "cf" type: "Flatten" bottom: "cp" top: "cf" }
layer { name: "pb" type: "PriorBox" bottom: "feat" bottom: "data" top: "pb" prior_box_param { min_size: 2 } }
layer { name: "det" type: "DetectionOutput" bottom: "lf" bottom: "cf" bottom: "pb"
  detection_output_param { num_classes: 2 code_type: CENTER_SIZE } }`;
  const rng = mulberry32(21);
  const r = (n: number) => Float32Array.from({ length: n }, () => rng() - 0.5);
  const w = {
    ca: [
      { dims: [2, 3, 1, 1], data: r(6) },
      { dims: [2], data: r(2) },
    ],
    cb: [
      { dims: [2, 3, 3, 3], data: r(54) },
      { dims: [2], data: r(2) },
    ],
    cc: [{ dims: [2, 3, 1, 1], data: r(6) }],
    sc: [{ dims: [4], data: Float32Array.from([0.5, -2, 1.5, 3]) }],
    bn: [
      { dims: [4], data: r(4) },
      { dims: [4], data: Float32Array.from([1, 2, 3, 4]) },
      { dims: [1], data: new Float32Array([0]) },
    ],
    loc: [{ dims: [4, 4, 1, 1], data: Float32Array.from([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]) }],
    conf: [
      { dims: [2, 4, 1, 1], data: new Float32Array(8) },
      { dims: [2], data: new Float32Array(2) },
    ],
  };
  const cm = writeCaffemodel(
    'e',
    Object.entries(w).map(([name, blobs]) => ({ name, type: 'x', blobs })),
  );
  const { model } = importCaffe({ prototxt: proto, caffemodel: cm }, { labels: ['bg', 'x'] });
  const input = Float32Array.from({ length: 3 * 5 * 7 }, () => 4 * rng() - 2);
  const x: T3 = { c: 3, h: 5, w: 7, d: Float64Array.from(input) };
  const one = { kh: 1, kw: 1, s: 1, ph: 0, pw: 0, dil: 1, group: 1 };
  const a = map(conv(x, w.ca, { out: 2, ...one }), (v) => Math.max(v, 0));
  const b = conv(x, w.cb, { out: 2, kh: 3, kw: 3, s: 1, ph: 1, pw: 1, dil: 1, group: 1 });
  const c = conv(x, w.cc, { out: 2, ...one });
  const prod = map(a, (v) => v);
  const mx = map(a, (v) => v);
  for (let i = 0; i < a.d.length; i++) {
    prod.d[i] = a.d[i] * b.d[i];
    mx.d[i] = Math.max(a.d[i], b.d[i], c.d[i]);
  }
  const feat: T3 = { c: 4, h: 5, w: 7, d: Float64Array.from([...prod.d, ...mx.d]) };
  const scaled = map(feat, (v, ch) => v * w.sc[0].data[ch]);
  const normed = map(scaled, (v) => v / Math.sqrt(1e-5)); // factor 0: Caffe uses mean = var = 0
  const session = await ort.InferenceSession.create(writeOnnx(model));
  const out = await session.run({ data: new ort.Tensor('float32', input, [1, 3, 5, 7]) });
  const err = maxRelErr(out.boxes.data as Float32Array, nhwc(normed));
  t.true(err < 1e-5, `max relative error ${err}`);
});
