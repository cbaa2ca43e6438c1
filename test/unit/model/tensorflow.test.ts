/**
 * TensorFlow importer on a tiny SSD written here in both containers the res10 face detector uses: weights as Const
 * (some uint8 behind Dequantize) in a binary GraphDef, topology with OpenCV's SSD ops (PriorBox, Flatten,
 * DetectionOutput) in a text graph. The ONNX model's outputs (onnxruntime) are compared with a plain NHWC reference
 * computation of the same network written in this file, and the anchors with Caffe's PriorBox formulas.
 */
import test from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { importTensorflow, importTfjsGraph } from '../../../lib/model/importers/tensorflow.ts';
import { importModelFiles } from '../../../lib/model/import.ts';
import { loadModelFile, readModelSpec } from '../../../lib/model/metadata.ts';
import { tensorToArray, writeOnnx } from '../../../lib/model/onnx.ts';
import {
  readGraphDef,
  readTextGraphDef,
  writeGraphDef,
  type TfAttr,
  type TfNode,
} from '../../../lib/model/tf/graphdef.ts';
import { defaultBoxes, type DefaultBoxSpec } from '../../../lib/ops/default-boxes.ts';
import { mulberry32 } from '../../helpers/random.ts';

// --- building graphs -----------------------------------------------------------------------------------

const enc = new TextEncoder();
const node = (name: string, op: string, input: string[] = [], attr: Record<string, TfAttr> = {}): TfNode => ({
  name,
  op,
  input,
  attr,
});
const shape = (dims: number[]) => ({ dim: dims.map((size) => ({ size })) });
function f32Const(name: string, dims: number[], data: ArrayLike<number>): TfNode {
  const bytes = new Uint8Array(Float32Array.from(data).buffer);
  return node(name, 'Const', [], {
    dtype: { type: 'DT_FLOAT' },
    value: { tensor: { dtype: 'DT_FLOAT', tensorShape: shape(dims), tensorContent: bytes } },
  });
}
const i32Const = (name: string, dims: number[], data: number[]) =>
  node(name, 'Const', [], { value: { tensor: { dtype: 'DT_INT32', tensorShape: shape(dims), intVal: data } } });
const ints = (...i: number[]): TfAttr => ({ list: { i } });
const str = (s: string): TfAttr => ({ s: enc.encode(s) });

/** Protobuf text format of nodes (what OpenCV's text graphs look like). */
function toPbtxt(nodes: TfNode[]): string {
  const value = (v: unknown): string => {
    if (v instanceof Uint8Array)
      return `"${[...v].map((b) => (b >= 32 && b < 127 && b !== 34 && b !== 92 ? String.fromCharCode(b) : `\\${b.toString(8).padStart(3, '0')}`)).join('')}"`;
    if (typeof v === 'string') return /^DT_/.test(v) ? v : JSON.stringify(v);
    return String(v);
  };
  const message = (obj: Record<string, unknown>, indent: string): string => {
    let out = '';
    for (const [k, v] of Object.entries(obj)) {
      const key = k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
      for (const item of Array.isArray(v) ? v : [v]) {
        if (item && typeof item === 'object' && !(item instanceof Uint8Array))
          out += `${indent}${key} {\n${message(item as Record<string, unknown>, `${indent}  `)}${indent}}\n`;
        else out += `${indent}${key}: ${value(item)}\n`;
      }
    }
    return out;
  };
  return nodes
    .map((n) => {
      const attrs = Object.entries(n.attr)
        .map(([k, v]) => `  attr {\n    key: "${k}"\n    value {\n${message(v as never, '      ')}    }\n  }\n`)
        .join('');
      return `node {\n  name: "${n.name}"\n  op: "${n.op}"\n${n.input.map((i) => `  input: "${i}"\n`).join('')}${attrs}}\n`;
    })
    .join('# a comment line\n');
}

// --- NHWC reference ----------------------------------------------------------------------------------

interface T4 {
  h: number;
  w: number;
  c: number;
  d: Float32Array;
}
/** Convolution on NHWC, filter HWIO (depthwise: H W C 1), explicit top/left pads, zero padding. */
function conv(
  x: T4,
  f: Float32Array,
  k: number,
  co: number,
  o: { s: number; dil: number; pt: number; pl: number; oh: number; ow: number; depthwise?: boolean },
): T4 {
  const out = new Float32Array(o.oh * o.ow * co);
  for (let y = 0; y < o.oh; y++)
    for (let xx = 0; xx < o.ow; xx++)
      for (let m = 0; m < co; m++) {
        let acc = 0;
        for (let i = 0; i < k; i++)
          for (let j = 0; j < k; j++) {
            const iy = y * o.s + i * o.dil - o.pt;
            const ix = xx * o.s + j * o.dil - o.pl;
            if (iy < 0 || ix < 0 || iy >= x.h || ix >= x.w) continue;
            if (o.depthwise) acc += x.d[(iy * x.w + ix) * x.c + m] * f[(i * k + j) * x.c + m];
            else
              for (let c = 0; c < x.c; c++) acc += x.d[(iy * x.w + ix) * x.c + c] * f[((i * k + j) * x.c + c) * co + m];
          }
        out[(y * o.ow + xx) * co + m] = acc;
      }
  return { h: o.oh, w: o.ow, c: co, d: out };
}
const map = (x: T4, fn: (v: number, c: number) => number): T4 => ({
  ...x,
  d: x.d.map((v, i) => fn(v, i % x.c)),
});

// --- the tiny SSD --------------------------------------------------------------------------------------

function tinySsd() {
  const rng = mulberry32(7);
  const r = (n: number, s = 1) => Float32Array.from({ length: n }, () => (rng() * 2 - 1) * s);
  const W = {
    q1: Uint8Array.from({ length: 3 * 3 * 3 * 4 }, () => Math.floor(rng() * 256)),
    b1: r(4, 0.5),
    gamma: Float32Array.from({ length: 4 }, () => 0.5 + rng()),
    beta: r(4, 0.3),
    mean: r(4, 0.2),
    variance: Float32Array.from({ length: 4 }, () => 0.5 + rng()),
    dw: r(3 * 3 * 4, 0.5),
    dil: r(3 * 3 * 4 * 4, 0.3),
    locA: r(3 * 3 * 4 * 16, 0.3),
    confA: r(3 * 3 * 4 * 8, 0.5),
    locB: r(1 * 1 * 4 * 16, 0.3),
    confB: r(1 * 1 * 4 * 8, 0.5),
  };
  // weights (binary graph): w1 is quint8 MIN_FIRST on [-1, 1.55] → step 0.01 exactly as TF computes it
  const binary: TfNode[] = [
    node('data', 'Placeholder', [], { dtype: { type: 'DT_FLOAT' }, shape: { shape: shape([-1, 10, 10, 3]) } }),
    node('w1_q', 'Const', [], {
      value: { tensor: { dtype: 'DT_QUINT8', tensorShape: shape([3, 3, 3, 4]), tensorContent: W.q1 } },
    }),
    f32Const('w1_min', [], [-1]),
    f32Const('w1_max', [], [1.55]),
    node('w1', 'Dequantize', ['w1_q', 'w1_min', 'w1_max'], { mode: str('MIN_FIRST'), T: { type: 'DT_QUINT8' } }),
    f32Const('b1', [4], W.b1),
    f32Const('gamma', [4], W.gamma),
    f32Const('beta', [4], W.beta),
    f32Const('mean', [4], W.mean),
    f32Const('variance', [4], W.variance),
    f32Const('dw', [3, 3, 4, 1], W.dw),
    f32Const('dil', [3, 3, 4, 4], W.dil),
    i32Const('block', [2], [2, 2]),
    i32Const('paddings', [2, 2], [2, 3, 2, 3]),
    i32Const('crops', [2, 2], [0, 1, 0, 1]),
    i32Const('sum_axis', [], [3]),
    f32Const('eps', [], [1e-12]),
    f32Const('locA_w', [3, 3, 4, 16], W.locA),
    f32Const('confA_w', [3, 3, 4, 8], W.confA),
    f32Const('locB_w', [1, 1, 4, 16], W.locB),
    f32Const('confB_w', [1, 1, 4, 8], W.confB),
    i32Const('axis', [], [-1]),
    i32Const('conf_shape', [3], [0, -1, 2]),
  ];
  const conv2d = (name: string, input: string, filter: string, stride: number, padding: string) =>
    node(name, 'Conv2D', [input, filter], {
      strides: ints(1, stride, stride, 1),
      dilations: ints(1, 1, 1, 1),
      padding: str(padding),
      data_format: str('NHWC'),
    });
  const priorBox = (name: string, input: string, min: number, max: number, step: number): TfNode =>
    node(name, 'PriorBox', [input, 'data'], {
      aspect_ratio: { tensor: { dtype: 'DT_FLOAT', tensorShape: shape([1]), floatVal: [2] } },
      clip: { b: false },
      flip: { b: true },
      max_size: { i: max },
      min_size: { i: min },
      offset: { f: 0.5 },
      step: { f: step },
      variance: { tensor: { dtype: 'DT_FLOAT', tensorShape: shape([4]), floatVal: [0.1, 0.1, 0.2, 0.2] } },
    });
  // topology (text graph)
  const text: TfNode[] = [
    conv2d('c1', 'data:0', 'w1', 2, 'SAME'),
    node('c1/bias', 'BiasAdd', ['c1', 'b1']),
    node('bn', 'FusedBatchNorm', ['c1/bias', 'gamma', 'beta', 'mean', 'variance'], { epsilon: { f: 1e-3 } }),
    node('r1', 'Relu6', ['bn']),
    node('dwconv', 'DepthwiseConv2dNative', ['r1', 'dw'], {
      strides: ints(1, 1, 1, 1),
      padding: str('SAME'),
    }),
    node('s2b', 'SpaceToBatchND', ['r1', 'block', 'paddings']),
    conv2d('dilconv', 's2b', 'dil', 1, 'VALID'),
    node('b2s', 'BatchToSpaceND', ['dilconv', 'block', 'crops']),
    node('sum1', 'AddV2', ['b2s', 'dwconv']),
    node('relu', 'Relu', ['sum1']),
    node('sq', 'Square', ['relu']),
    node('ss', 'Sum', ['sq', 'sum_axis'], { keep_dims: { b: true } }),
    node('mx', 'Maximum', ['ss', 'eps']),
    node('rs', 'Rsqrt', ['mx']),
    node('mapA', 'Mul', ['relu', 'rs']),
    node('mapB', 'MaxPool', ['relu'], { ksize: ints(1, 3, 3, 1), strides: ints(1, 2, 2, 1), padding: str('SAME') }),
    conv2d('locA', 'mapA', 'locA_w', 1, 'SAME'),
    conv2d('confA', 'mapA', 'confA_w', 1, 'SAME'),
    conv2d('locB', 'mapB', 'locB_w', 1, 'SAME'),
    conv2d('confB', 'mapB', 'confB_w', 1, 'SAME'),
    node('flA', 'Flatten', ['locA']),
    node('flB', 'Flatten', ['locB']),
    node('fcA', 'Flatten', ['confA']),
    node('fcB', 'Flatten', ['confB']),
    node('mbox_loc', 'ConcatV2', ['flA', 'flB', 'axis']),
    node('mbox_conf', 'ConcatV2', ['fcA', 'fcB', 'axis']),
    node('conf_reshape', 'Reshape', ['mbox_conf', 'conf_shape']),
    node('conf_softmax', 'Softmax', ['conf_reshape'], { axis: { i: 2 } }),
    node('conf_flat', 'Flatten', ['conf_softmax']),
    priorBox('PriorBox_0', 'mapA', 3, 5, 2),
    priorBox('PriorBox_1', 'mapB', 5, 8, 10 / 3),
    node('mbox_priorbox', 'ConcatV2', ['PriorBox_0', 'PriorBox_1', 'axis']),
    node('detection_out', 'DetectionOutput', ['mbox_loc', 'conf_flat', 'mbox_priorbox'], {
      background_label_id: { i: 0 },
      code_type: str('CENTER_SIZE'),
      confidence_threshold: { f: 0.02 },
      keep_top_k: { i: 50 },
      nms_threshold: { f: 0.4 },
      num_classes: { i: 2 },
      share_location: { b: true },
      top_k: { i: 100 },
    }),
  ];
  return { W, binary, text };
}

/** The tiny SSD computed directly on NHWC: boxes [N·4] and softmaxed scores [N·2]. */
function reference(W: ReturnType<typeof tinySsd>['W'], img: Float32Array) {
  const x: T4 = { h: 10, w: 10, c: 3, d: img };
  const w1 = Float32Array.from(W.q1, (q) => -1 + q * 0.01);
  // SAME 3×3 stride 2 on 10: out 5, total pad 1 → top/left 0
  let y = conv(x, w1, 3, 4, { s: 2, dil: 1, pt: 0, pl: 0, oh: 5, ow: 5 });
  y = map(y, (v, c) => v + W.b1[c]);
  y = map(y, (v, c) => ((v - W.mean[c]) / Math.sqrt(W.variance[c] + 1e-3)) * W.gamma[c] + W.beta[c]);
  y = map(y, (v) => Math.min(Math.max(v, 0), 6));
  const dw = conv(y, W.dw, 3, 4, { s: 1, dil: 1, pt: 1, pl: 1, oh: 5, ow: 5, depthwise: true });
  const dil = conv(y, W.dil, 3, 4, { s: 1, dil: 2, pt: 2, pl: 2, oh: 5, ow: 5 }); // TF 'SAME' dilated conv
  const relu = { ...dw, d: dw.d.map((v, i) => Math.max(v + dil.d[i], 0)) };
  const mapA = { ...relu, d: new Float32Array(relu.d.length) };
  for (let p = 0; p < 25; p++) {
    let s = 0;
    for (let c = 0; c < 4; c++) s += relu.d[p * 4 + c] ** 2;
    for (let c = 0; c < 4; c++) mapA.d[p * 4 + c] = relu.d[p * 4 + c] / Math.sqrt(Math.max(s, 1e-12));
  }
  // MaxPool 3×3 stride 2 SAME on 5: out 3, total pad 2 → 1/1
  const mapB: T4 = { h: 3, w: 3, c: 4, d: new Float32Array(36) };
  for (let i = 0; i < 3; i++)
    for (let j = 0; j < 3; j++)
      for (let c = 0; c < 4; c++) {
        let m = -Infinity;
        for (let a = -1; a <= 1; a++)
          for (let b = -1; b <= 1; b++) {
            const yy = 2 * i + a;
            const xx = 2 * j + b;
            if (yy >= 0 && xx >= 0 && yy < 5 && xx < 5) m = Math.max(m, relu.d[(yy * 5 + xx) * 4 + c]);
          }
        mapB.d[(i * 3 + j) * 4 + c] = m;
      }
  const locA = conv(mapA, W.locA, 3, 16, { s: 1, dil: 1, pt: 1, pl: 1, oh: 5, ow: 5 });
  const confA = conv(mapA, W.confA, 3, 8, { s: 1, dil: 1, pt: 1, pl: 1, oh: 5, ow: 5 });
  const locB = conv(mapB, W.locB, 1, 16, { s: 1, dil: 1, pt: 0, pl: 0, oh: 3, ow: 3 });
  const confB = conv(mapB, W.confB, 1, 8, { s: 1, dil: 1, pt: 0, pl: 0, oh: 3, ow: 3 });
  const boxes = Float32Array.from([...locA.d, ...locB.d]);
  const logits = [...confA.d, ...confB.d];
  const scores = new Float32Array(logits.length);
  for (let n = 0; n < logits.length; n += 2) {
    const m = Math.max(logits[n], logits[n + 1]);
    const e0 = Math.exp(logits[n] - m);
    const e1 = Math.exp(logits[n + 1] - m);
    scores[n] = e0 / (e0 + e1);
    scores[n + 1] = e1 / (e0 + e1);
  }
  return { boxes, scores };
}

/** Caffe / OpenCV PriorBox (clip false, ratios [2] flipped, one min and max size): [N·4] cx, cy, w, h normalized. */
function caffePriors(side: number, maps: Array<{ size: number; step: number; min: number; max: number }>) {
  const out: number[] = [];
  for (const m of maps)
    for (let i = 0; i < m.size; i++)
      for (let j = 0; j < m.size; j++) {
        const cx = ((j + 0.5) * m.step) / side;
        const cy = ((i + 0.5) * m.step) / side;
        const e = Math.sqrt(m.min * m.max);
        for (const [w, h] of [
          [m.min, m.min],
          [e, e],
          [m.min * Math.SQRT2, m.min / Math.SQRT2],
          [m.min / Math.SQRT2, m.min * Math.SQRT2],
        ])
          out.push(cx, cy, w / side, h / side);
      }
  return out;
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

// --- tests -----------------------------------------------------------------------------------------------

test('text GraphDef reader: same nodes as the binary reader, comments, escapes, unknown fields skipped', (t) => {
  const { binary, text } = tinySsd();
  const all = [...binary, ...text];
  const fromBinary = readGraphDef(writeGraphDef(all));
  const fromText = readTextGraphDef(`${toPbtxt(all)}\nversions { producer: 27 }\nlibrary { function { x: [1, 2] } }\n`);
  t.is(fromText.length, all.length);
  // bytes fields compared as arrays (the binary reader gives Buffers)
  const plain = (x: unknown): unknown =>
    x instanceof Uint8Array
      ? [...x]
      : Array.isArray(x)
        ? x.map(plain)
        : x && typeof x === 'object'
          ? Object.fromEntries(Object.entries(x).map(([k, v]) => [k, plain(v)]))
          : x;
  t.deepEqual(plain(fromText), plain(fromBinary));
  const [n] = readTextGraphDef('node { name: "a\\"b\\101" op: \'Const\' attr { key: "x" value { f: -1.5e-3 } } }');
  t.is(n.name, 'a"bA');
  t.is(n.attr.x.f, Math.fround(-1.5e-3));
  t.throws(() => readTextGraphDef('node {\n name: "a"\n op: 12 }'), {
    instanceOf: TypeError,
    message: /Expected a string for field 'op' \(line 3\)/,
  });
  t.throws(() => readTextGraphDef('node { name: "a"'), { instanceOf: TypeError, message: /Expected '}'/ });
});

test('importTensorflow: tiny SSD (.pb weights + text graph) matches an NHWC reference and Caffe priors', async (t) => {
  const { W, binary, text } = tinySsd();
  const r = importTensorflow({ graph: writeGraphDef(binary), textGraph: toPbtxt(text) });
  const spec = readModelSpec(r.model);
  t.deepEqual(spec, r.spec);
  t.like(spec, {
    input: { name: 'data', width: 10, height: 10, layout: 'NCHW', colorOrder: 'BGR', mean: [104, 117, 123] },
    output: { kind: 'raw', boxes: 'boxes', scores: 'scores' },
    labels: ['background', 'face'],
    postprocess: { scoring: 'none', backgroundIndex: 0, topkCandidates: 100, detectionsPerImg: 50, clipBoxes: false },
  });
  t.is(spec.postprocess.nmsThresh, Math.fround(0.4));
  t.is(spec.postprocess.scoreThresh, Math.fround(0.02));
  t.is(spec.postprocess.boxCoder.order, 'xywh');
  t.true(maxDiff(spec.postprocess.boxCoder.weights, [10, 10, 5, 5]) < 1e-6);
  t.true(r.report.some((l) => /anchors: 136 from 2 PriorBox layers \(feature maps 5, 3\)/.test(l)));

  const anchors = defaultBoxes((spec.anchors as { spec: DefaultBoxSpec }).spec);
  const priors = caffePriors(10, [
    { size: 5, step: 2, min: 3, max: 5 },
    { size: 3, step: 10 / 3, min: 5, max: 8 },
  ]);
  t.true(maxDiff(anchors, priors) < 1e-6, `anchors differ by ${maxDiff(anchors, priors)}`);

  const rng = mulberry32(3);
  const nhwc = Float32Array.from({ length: 300 }, () => rng() * 2 - 1);
  const nchw = new Float32Array(300);
  for (let p = 0; p < 100; p++) for (let c = 0; c < 3; c++) nchw[c * 100 + p] = nhwc[p * 3 + c];
  const session = await ort.InferenceSession.create(writeOnnx(r.model));
  const out = await session.run({ data: new ort.Tensor('float32', nchw, [1, 3, 10, 10]) });
  t.deepEqual(out.boxes.dims, [1, 136, 4]);
  t.deepEqual(out.scores.dims, [1, 136, 2]);
  const ref = reference(W, nhwc);
  const db = maxDiff(out.boxes.data as Float32Array, ref.boxes);
  const ds = maxDiff(out.scores.data as Float32Array, ref.scores);
  t.true(db < 1e-4, `boxes differ by ${db}`);
  t.true(ds < 1e-5, `scores differ by ${ds}`);
  t.true(maxDiff(ref.scores, new Float32Array(272).fill(0.5)) > 0.05); // the check is not vacuous
});

test('importTensorflow: dequantize MIN_COMBINED, batch, labels and input-size options', async (t) => {
  const { binary, text } = tinySsd();
  const b = binary.map((n) =>
    n.name === 'w1'
      ? { ...n, attr: { ...n.attr, mode: str('MIN_COMBINED') } }
      : n.name === 'data'
        ? node('data', 'Placeholder')
        : n,
  );
  const r = importTensorflow(
    { graph: writeGraphDef(b), textGraph: new TextEncoder().encode(toPbtxt(text)) },
    { labels: ['bg', 'thing'], inputSize: [10, 10], batch: 2, name: 'tiny', source: 'tiny.pb' },
  );
  t.like(r.spec, { name: 'tiny', source: 'tiny.pb', labels: ['bg', 'thing'], input: { dynamicBatch: false } });
  // MIN_COMBINED: min + q·(max − min)/255 = −1 + q·0.01; HWIO [0,0,0,0] and [0,0,1,2] → OIHW [0,0,0,0] and [2,1,0,0]
  const w = r.model.graph.initializer?.find((i) => i.name === 'c1/weights');
  const wd = tensorToArray(w ?? {}) as Float32Array;
  const q = tinySsd().W.q1;
  t.deepEqual(w?.dims, [4, 3, 3, 3]);
  t.true(Math.abs(wd[0] - (-1 + q[0] * 0.01)) < 1e-6);
  t.true(Math.abs(wd[2 * 27 + 1 * 9] - (-1 + q[1 * 4 + 2] * 0.01)) < 1e-6);
  const session = await ort.InferenceSession.create(writeOnnx(r.model));
  const out = await session.run({ data: new ort.Tensor('float32', new Float32Array(600), [2, 3, 10, 10]) });
  t.deepEqual(out.scores.dims, [2, 136, 2]);
});

test('importTensorflow errors name the format, the missing file and unsupported ops', (t) => {
  const { binary, text } = tinySsd();
  const pb = writeGraphDef([
    ...binary,
    ...text.filter((n) => !['PriorBox', 'DetectionOutput', 'Flatten'].includes(n.op)),
  ]);
  t.throws(() => importTensorflow({ graph: pb }), {
    instanceOf: TypeError,
    message:
      /TensorFlow GraphDef found; the OpenCV text graph \(\.pbtxt\) with the SSD layers \(PriorBox, DetectionOutput\) is missing/,
  });
  t.throws(() => importTensorflow({}), { instanceOf: TypeError, message: /Expected a TensorFlow graph/ });
  t.throws(() => importTensorflow({ graph: Uint8Array.of(0xff, 0xff, 0xff) }), {
    instanceOf: TypeError,
    message: /Expected a TensorFlow GraphDef \(\.pb\)/,
  });
  const odd = text.map((n) => (n.name === 'relu' ? { ...n, op: 'Elu' } : n));
  t.throws(() => importTensorflow({ graph: writeGraphDef(binary), textGraph: toPbtxt(odd) }), {
    instanceOf: TypeError,
    message: "Expected a supported TensorFlow op but node 'relu' is Elu",
  });
  t.throws(() => importTensorflow({ graph: writeGraphDef(binary), textGraph: toPbtxt(text) }, { bogus: 1 } as never), {
    instanceOf: TypeError,
    message: /bogus/,
  });
  t.throws(
    () => importTensorflow({ graph: writeGraphDef(binary), textGraph: toPbtxt(text) }, { labels: ['a', 'b', 'c'] }),
    { instanceOf: TypeError, message: 'Expected 2 labels (background first) but received 3' },
  );
});

test('importModelFiles: .pb + .pbtxt recognised from the bytes, dispatched to the TensorFlow importer', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssd-edge-tf-unit-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const { binary, text } = tinySsd();
  const pb = path.join(dir, 'weights.bin'); // names say nothing: the bytes do
  const pbtxt = path.join(dir, 'graph.txt');
  fs.writeFileSync(pb, writeGraphDef(binary));
  fs.writeFileSync(pbtxt, toPbtxt(text));
  const r = await importModelFiles([pbtxt, pb], { out: path.join(dir, 'm.onnx'), mean: [1, 2, 3] });
  t.is(r.format, 'tf');
  t.like(r.spec, { input: { width: 10, height: 10, mean: [1, 2, 3] }, labels: ['background', 'face'] });
  t.true(r.report.some((l) => /anchors: 136 from 2 PriorBox layers/.test(l)));
  const loaded = await loadModelFile(r.path);
  t.is(loaded.anchors?.length, 136 * 4);
  await t.throwsAsync(importModelFiles([pb], { out: path.join(dir, 'n.onnx') }), {
    instanceOf: TypeError,
    message: /the OpenCV text graph \(\.pbtxt\) with the SSD layers \(PriorBox, DetectionOutput\) is missing/,
  });
  t.false(fs.existsSync(path.join(dir, 'n.onnx')));
});

test('importTensorflow: fused convolutions (_FusedConv2D BiasAdd; FusedDepthwiseConv2dNative BiasAdd + Relu) equal the unfused graph', async (t) => {
  const { binary, text } = tinySsd();
  const zeros = f32Const('zero4', [4], [0, 0, 0, 0]);
  // c1 + c1/bias → one _FusedConv2D [BiasAdd]; dwconv → FusedDepthwiseConv2dNative [BiasAdd (zeros), Relu], whose
  // unfused twin is the depthwise conv followed by an explicit Relu
  const fused = text
    .filter((n) => n.name !== 'c1')
    .map((n) => {
      if (n.name === 'c1/bias')
        return node('c1/bias', '_FusedConv2D', ['data', 'w1', 'b1'], {
          strides: ints(1, 2, 2, 1),
          padding: str('SAME'),
          fused_ops: { list: { s: [enc.encode('BiasAdd')] } },
          num_args: { i: 1 },
        });
      if (n.name === 'dwconv')
        return node('dwconv', 'FusedDepthwiseConv2dNative', ['r1', 'dw', 'zero4'], {
          strides: ints(1, 1, 1, 1),
          padding: str('SAME'),
          fused_ops: { list: { s: [enc.encode('BiasAdd'), enc.encode('Relu')] } },
        });
      return n;
    });
  const unfused = text.flatMap((n) =>
    n.name === 'dwconv' ? [{ ...n, name: 'dwconv/raw' }, node('dwconv', 'Relu', ['dwconv/raw'])] : [n],
  );
  const run = async (nodes: TfNode[]) => {
    const r = importTensorflow({ graph: writeGraphDef([...binary, zeros]), textGraph: toPbtxt(nodes) });
    const session = await ort.InferenceSession.create(writeOnnx(r.model));
    const rng = mulberry32(5);
    const x = Float32Array.from({ length: 300 }, () => rng() * 2 - 1);
    const out = await session.run({ data: new ort.Tensor('float32', x, [1, 3, 10, 10]) });
    return { r, boxes: out.boxes.data as Float32Array, scores: out.scores.data as Float32Array };
  };
  const a = await run(fused);
  const b = await run(unfused);
  t.true(a.r.model.graph.node.some((n) => n.name === 'c1/bias/conv'));
  t.true(maxDiff(a.boxes, b.boxes) < 1e-5, `boxes differ by ${maxDiff(a.boxes, b.boxes)}`);
  t.true(maxDiff(a.scores, b.scores) < 1e-6);
  const bad = fused.map((n) =>
    n.name === 'dwconv' ? { ...n, attr: { ...n.attr, fused_ops: { list: { s: [enc.encode('Softplus')] } } } } : n,
  );
  t.throws(() => importTensorflow({ graph: writeGraphDef([...binary, zeros]), textGraph: toPbtxt(bad) }), {
    instanceOf: TypeError,
    message: /FusedDepthwiseConv2dNative 'dwconv' but received Softplus/,
  });
});

test('importTfjsGraph: model.json + shards (uint8 / uint16 min-scale, float16, float32) equals the GraphDef import', async (t) => {
  const { W, binary, text } = tinySsd();
  // stored forms: w1 uint8 (q·0.01 − 1), dil uint16 (q·2^-12 − 0.5), b1 float16 (k/64, exact in half), rest float32
  const rng = mulberry32(11);
  const dilQ = Uint16Array.from({ length: W.dil.length }, () => Math.floor(rng() * 4096));
  const b1k = Int16Array.from(W.b1, (v) => Math.round(v * 64));
  const half = (k: number) => {
    // k/64 as IEEE half bits (|k| < 64, so exact)
    if (k === 0) return 0;
    const sign = k < 0 ? 0x8000 : 0;
    const a = Math.abs(k) / 64;
    const e = Math.floor(Math.log2(a));
    return sign | ((e + 15) << 10) | Math.round((a / 2 ** e - 1) * 1024);
  };
  const floatWeights = binary.filter(
    (n) =>
      n.op === 'Const' &&
      !['w1_q', 'w1_min', 'w1_max', 'b1', 'dil'].includes(n.name) &&
      n.attr.value?.tensor?.dtype === 'DT_FLOAT',
  );
  const intWeights = binary.filter((n) => n.op === 'Const' && n.attr.value?.tensor?.dtype === 'DT_INT32');
  const parts: Uint8Array[] = [];
  const entries: unknown[] = [];
  const push = (name: string, shape: number[], bytes: Uint8Array, dtype: string, quantization?: unknown) => {
    parts.push(bytes);
    entries.push({ name, shape, dtype, ...(quantization ? { quantization } : {}) });
  };
  push('w1', [3, 3, 3, 4], W.q1, 'float32', { dtype: 'uint8', scale: 0.01, min: -1 });
  push('dil', [3, 3, 4, 4], new Uint8Array(dilQ.buffer), 'float32', { dtype: 'uint16', scale: 2 ** -12, min: -0.5 });
  push('b1', [4], new Uint8Array(Uint16Array.from(b1k, half).buffer), 'float32', { dtype: 'float16' });
  for (const n of floatWeights) {
    const tns = n.attr.value?.tensor;
    push(
      n.name,
      (tns?.tensorShape?.dim ?? []).map((d) => d.size ?? 0),
      tns?.tensorContent ?? new Uint8Array(),
      'float32',
    );
  }
  for (const n of intWeights) {
    const tns = n.attr.value?.tensor;
    push(
      n.name,
      (tns?.tensorShape?.dim ?? []).map((d) => d.size ?? 0),
      new Uint8Array(Int32Array.from(tns?.intVal ?? []).buffer),
      'int32',
    );
  }
  const shard = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) {
    shard.set(p, at);
    at += p.length;
  }
  // topology in the protobuf JSON mapping (base64 bytes, int64 as strings), as tfjs-converter writes it
  const toJson = (x: unknown): unknown =>
    x instanceof Uint8Array
      ? Buffer.from(x).toString('base64')
      : Array.isArray(x)
        ? x.map(toJson)
        : x && typeof x === 'object'
          ? Object.fromEntries(
              Object.entries(x).map(([k, v]) => [
                k,
                k === 'i' || k === 'size' ? (Array.isArray(v) ? v.map(String) : String(v)) : toJson(v),
              ]),
            )
          : x;
  const topology = [
    binary[0],
    ...entries.map((e) => node((e as { name: string }).name, 'Const', [], { dtype: { type: 'DT_FLOAT' } })),
    ...text.map((n) => (n.name === 'c1' ? { ...n, input: ['data', 'w1'] } : n)),
  ];
  const modelJson = JSON.stringify({
    format: 'graph-model',
    modelTopology: { node: toJson(topology) },
    weightsManifest: [{ paths: ['group1-shard1of1.bin'], weights: entries }],
  });
  const spec = {
    inputSize: 10,
    featureMaps: [
      { size: 5, step: 2, scale: 0.3, nextScale: 0.5, aspectRatios: [1, 2, 0.5] },
      { size: 3, step: 10 / 3, scale: 0.5, nextScale: 0.8, aspectRatios: [1, 2, 0.5] },
    ],
  };
  const r = importTfjsGraph(
    { modelJson, readShard: (p) => (p === 'group1-shard1of1.bin' ? shard : new Uint8Array()) },
    {
      outputs: { boxes: 'mbox_loc', scores: 'mbox_conf' },
      labels: ['background', 'face'],
      anchors: { spec: { ...spec, featureMaps: spec.featureMaps.map((f) => ({ ...f, extraBox: true })) } },
      postprocess: { scoring: 'softmax' },
    },
  );
  t.is(r.spec.postprocess.scoring, 'softmax');
  t.true(r.report.some((l) => /anchors: 136/.test(l)));

  // the same network as a frozen GraphDef with the decoded values, verified against the NHWC reference above
  const dec = (name: string, dims: number[], data: ArrayLike<number>) => f32Const(name, dims, data);
  const pbNodes = [
    ...binary.filter((n) => !['w1_q', 'w1_min', 'w1_max', 'w1', 'b1', 'dil'].includes(n.name)),
    dec(
      'w1',
      [3, 3, 3, 4],
      Float32Array.from(W.q1, (q) => q * 0.01 - 1),
    ),
    dec(
      'dil',
      [3, 3, 4, 4],
      Float32Array.from(dilQ, (q) => q * 2 ** -12 - 0.5),
    ),
    dec(
      'b1',
      [4],
      Float32Array.from(b1k, (k) => k / 64),
    ),
  ];
  const ref = importTensorflow({ graph: writeGraphDef(pbNodes), textGraph: toPbtxt(text) });
  const x = Float32Array.from({ length: 300 }, () => rng() * 2 - 1);
  const run = async (m: typeof r.model) =>
    (await ort.InferenceSession.create(writeOnnx(m))).run({ data: new ort.Tensor('float32', x, [1, 3, 10, 10]) });
  const a = await run(r.model);
  const b = await run(ref.model);
  t.true(maxDiff(a.boxes.data as Float32Array, b.boxes.data as Float32Array) < 1e-5);
  const logits = a.scores.data as Float32Array;
  const soft = new Float32Array(logits.length);
  for (let i = 0; i < logits.length; i += 2) {
    const e = Math.exp(logits[i + 1] - logits[i]);
    soft[i] = 1 / (1 + e);
    soft[i + 1] = e / (1 + e);
  }
  t.true(maxDiff(soft, b.scores.data as Float32Array) < 1e-5);
  t.throws(() => importTfjsGraph({ modelJson: '{}', readShard: () => new Uint8Array() }, r as never), {
    instanceOf: TypeError,
  });
});
