/**
 * TFLite importer on tiny SSDs written here as TFLite flatbuffers (flatbuffers' Builder, field numbers of the
 * published schema.fbs): a uint8-quantized one (imported kept quantized and dequantized) and a float one, both
 * CONV_2D → DEPTHWISE_CONV_2D (RELU6) → ADD → 1×1 convs → CONCATENATION → RESHAPE → LOGISTIC →
 * TFLite_Detection_PostProcess. The ONNX outputs are compared with an independent NHWC reference computed here
 * (direct convolution loops on the dequantized weights, TF 'SAME' padding, uint8 range saturation); TFLite's fast NMS
 * becomes the postprocess's classAgnostic option.
 */
import test from 'ava';
import { Command } from 'commander';
import { modelCommand } from '../../../lib/cli/commands/model.ts';
import { Builder } from 'flatbuffers';
import { encode as flexEncode } from 'flatbuffers/js/flexbuffers.js';
import * as ort from 'onnxruntime-node';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { importModelFiles } from '../../../lib/model/import.ts';
import { importTflite } from '../../../lib/model/importers/tflite.ts';
import { loadModelFile, readModelSpec } from '../../../lib/model/metadata.ts';
import { writeOnnx } from '../../../lib/model/onnx.ts';
import { resolveAnchors } from '../../../lib/model/spec.ts';

// --- a tiny TFLite writer -------------------------------------------------------------------------

interface TensorDef {
  name: string;
  shape: number[];
  type: 0 | 2 | 3; // FLOAT32, INT32, UINT8
  data?: Uint8Array;
  q?: { scale: number; zp: number };
}
interface OpDef {
  builtin: number; // schema BuiltinOperator; 32 = CUSTOM
  custom?: string;
  inputs: number[];
  outputs: number[];
  /** [schema BuiltinOptions union type, fields as [slot, kind, value]] */
  options?: { type: number; fields: Array<[number, 'i8' | 'i32', number]> };
  customOptions?: Uint8Array;
}

function writeTflite(tensors: TensorDef[], ops: OpDef[], inputs: number[], outputs: number[]): Uint8Array {
  const b = new Builder(1024);
  b.forceDefaults(true);
  const intVec = (xs: number[]) => {
    b.startVector(4, xs.length, 4);
    for (let i = xs.length - 1; i >= 0; i--) b.addInt32(xs[i]);
    return b.endVector();
  };
  const byteVec = (xs: Uint8Array) => {
    b.startVector(1, xs.length, 1);
    for (let i = xs.length - 1; i >= 0; i--) b.addInt8(xs[i]);
    return b.endVector();
  };
  const tableVec = (xs: number[]) => {
    b.startVector(4, xs.length, 4);
    for (let i = xs.length - 1; i >= 0; i--) b.addOffset(xs[i]);
    return b.endVector();
  };
  // buffers: 0 empty, then one per constant tensor
  const bufferData: Array<Uint8Array | null> = [null];
  const tensorBuffer = tensors.map((t) => (t.data ? bufferData.push(t.data) - 1 : 0));
  const buffers = bufferData.map((d) => {
    const v = d ? byteVec(d) : 0;
    b.startObject(1);
    if (d) b.addFieldOffset(0, v, 0);
    return b.endObject();
  });
  const tensorOffs = tensors.map((t, i) => {
    const name = b.createString(t.name);
    const shape = intVec(t.shape);
    let quant = 0;
    if (t.q) {
      b.startVector(4, 1, 4);
      b.addFloat32(t.q.scale);
      const scale = b.endVector();
      b.startVector(8, 1, 8);
      b.addInt64(BigInt(t.q.zp));
      const zp = b.endVector();
      b.startObject(7);
      b.addFieldOffset(2, scale, 0);
      b.addFieldOffset(3, zp, 0);
      quant = b.endObject();
    }
    b.startObject(8);
    b.addFieldOffset(0, shape, 0);
    b.addFieldInt8(1, t.type, -1);
    b.addFieldInt32(2, tensorBuffer[i], -1);
    b.addFieldOffset(3, name, 0);
    if (quant) b.addFieldOffset(4, quant, 0);
    return b.endObject();
  });
  // operator codes: one per distinct (builtin, custom)
  const codeKeys = [...new Set(ops.map((o) => `${o.builtin}:${o.custom ?? ''}`))];
  const codes = codeKeys.map((k) => {
    const [builtin, custom] = k.split(':');
    const c = custom ? b.createString(custom) : 0;
    b.startObject(4);
    b.addFieldInt8(0, Math.min(Number(builtin), 127), -1);
    if (c) b.addFieldOffset(1, c, 0);
    b.addFieldInt32(2, 1, -1);
    b.addFieldInt32(3, Number(builtin), -1);
    return b.endObject();
  });
  const opOffs = ops.map((o) => {
    const ins = intVec(o.inputs);
    const outs = intVec(o.outputs);
    let opts = 0;
    if (o.options) {
      const vecs = o.options.fields;
      b.startObject(8);
      for (const [slot, kind, value] of vecs) {
        if (kind === 'i8') b.addFieldInt8(slot, value, -1);
        else b.addFieldInt32(slot, value, -1);
      }
      opts = b.endObject();
    }
    const custom = o.customOptions ? byteVec(o.customOptions) : 0;
    b.startObject(9);
    b.addFieldInt32(0, codeKeys.indexOf(`${o.builtin}:${o.custom ?? ''}`), -1);
    b.addFieldOffset(1, ins, 0);
    b.addFieldOffset(2, outs, 0);
    if (opts) {
      b.addFieldInt8(3, o.options!.type, -1);
      b.addFieldOffset(4, opts, 0);
    }
    if (custom) b.addFieldOffset(5, custom, 0);
    return b.endObject();
  });
  const tv = tableVec(tensorOffs);
  const iv = intVec(inputs);
  const ov = intVec(outputs);
  const opv = tableVec(opOffs);
  const sgName = b.createString('main');
  b.startObject(5);
  b.addFieldOffset(0, tv, 0);
  b.addFieldOffset(1, iv, 0);
  b.addFieldOffset(2, ov, 0);
  b.addFieldOffset(3, opv, 0);
  b.addFieldOffset(4, sgName, 0);
  const sg = b.endObject();
  const codesV = tableVec(codes);
  const sgV = tableVec([sg]);
  const bufV = tableVec(buffers);
  const desc = b.createString('ssd-edge test model');
  b.startObject(5);
  b.addFieldInt32(0, 3, -1);
  b.addFieldOffset(1, codesV, 0);
  b.addFieldOffset(2, sgV, 0);
  b.addFieldOffset(3, desc, 0);
  b.addFieldOffset(4, bufV, 0);
  b.finish(b.endObject(), 'TFL3');
  return b.asUint8Array().slice();
}

// --- the tiny SSD ---------------------------------------------------------------------------------

function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const H = 6; // input 6×6×3 → conv s2 → 3×3×4
const A = 2; // anchors per cell
const C = 3; // background + 2 classes
const N = 3 * 3 * A;

interface Layer {
  w: Float32Array; // float weights in TFLite layout
  wq?: Uint8Array;
  wScale?: number;
  wZp?: number;
  shape: number[];
  bias: Float32Array;
  biasQ?: Int32Array;
}

/** Weights: quantized models draw uint8 values and take w = (q − zp)·scale as the true weights. */
function layer(r: () => number, shape: number[], inScale: number, quantized: boolean): Layer {
  const n = shape.reduce((a, b) => a * b, 1);
  const out = shape[0] === 1 ? shape[3] : shape[0];
  const w = new Float32Array(n);
  const bias = new Float32Array(out);
  if (!quantized) {
    for (let i = 0; i < n; i++) w[i] = r() - 0.5;
    for (let i = 0; i < out; i++) bias[i] = (r() - 0.5) * 0.2;
    return { w, shape, bias };
  }
  const wScale = 0.01 + 0.01 * r();
  const wZp = 100 + Math.floor(r() * 50);
  const wq = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    wq[i] = Math.floor(r() * 256);
    w[i] = Math.fround((wq[i] - wZp) * wScale);
  }
  const biasQ = new Int32Array(out);
  const bScale = Math.fround(inScale * wScale);
  for (let i = 0; i < out; i++) {
    biasQ[i] = Math.round(((r() - 0.5) * 0.2) / bScale);
    bias[i] = Math.fround(biasQ[i] * bScale);
  }
  return { w, wq, wScale, wZp, shape, bias, biasQ };
}

/** NHWC convolution (TFLite semantics: OHWI filter, or [1,KH,KW,C] depthwise), TF 'SAME' padding. */
function convRef(
  x: Float32Array,
  [h, w, c]: number[],
  L: Layer,
  stride: number,
  depthwise: boolean,
): { y: Float32Array; dims: number[] } {
  const [o0, kh, kw, i0] = L.shape;
  const out = depthwise ? i0 : o0;
  const oh = Math.ceil(h / stride);
  const ow = Math.ceil(w / stride);
  const padH = Math.max((oh - 1) * stride + kh - h, 0);
  const padW = Math.max((ow - 1) * stride + kw - w, 0);
  const top = Math.floor(padH / 2);
  const left = Math.floor(padW / 2);
  const y = new Float32Array(oh * ow * out);
  for (let yy = 0; yy < oh; yy++)
    for (let xx = 0; xx < ow; xx++)
      for (let o = 0; o < out; o++) {
        let s = L.bias[o];
        for (let dy = 0; dy < kh; dy++)
          for (let dx = 0; dx < kw; dx++) {
            const iy = yy * stride - top + dy;
            const ix = xx * stride - left + dx;
            if (iy < 0 || ix < 0 || iy >= h || ix >= w) continue;
            if (depthwise) s += x[(iy * w + ix) * c + o] * L.w[(dy * kw + dx) * out + o];
            else for (let k = 0; k < c; k++) s += x[(iy * w + ix) * c + k] * L.w[((o * kh + dy) * kw + dx) * c + k];
          }
        y[(yy * ow + xx) * out + o] = s;
      }
  return { y, dims: [oh, ow, out] };
}

interface Q {
  scale: number;
  zp: number;
}
/** Saturate to the uint8 range of `q`; with `round`, also snap to its grid (what a quantized kernel returns). */
function requant(y: Float32Array, q: Q | undefined, round: boolean): Float32Array {
  if (!q) return y;
  return y.map((v) => {
    let k = v / q.scale + q.zp;
    if (round) k = Math.round(k);
    k = Math.min(255, Math.max(0, k));
    return (k - q.zp) * q.scale;
  });
}

function tinySsd(quantized: boolean) {
  const r = rng(quantized ? 7 : 11);
  const qIn: Q | undefined = quantized ? { scale: 1 / 128, zp: 128 } : undefined;
  const q = (scale: number, zp: number): Q | undefined => (quantized ? { scale, zp } : undefined);
  const qConv0 = q(0.05, 100);
  const qDw = q(6 / 255, 0); // RELU6 range
  const qAdd = q(0.06, 60);
  const qBox = q(0.04, 128);
  const qCls = q(0.05, 140);
  const qScore = q(1 / 256, 0);
  const L0 = layer(r, [4, 3, 3, 3], qIn?.scale ?? 1, quantized);
  const L1 = layer(r, [1, 3, 3, 4], qConv0?.scale ?? 1, quantized);
  const Lbox = layer(r, [A * 4, 1, 1, 4], qAdd?.scale ?? 1, quantized);
  const Lc1 = layer(r, [A, 1, 1, 4], qAdd?.scale ?? 1, quantized);
  const Lc2 = layer(r, [A * (C - 1), 1, 1, 4], qAdd?.scale ?? 1, quantized);
  // anchors (yc, xc, h, w), quantized like the COCO model's
  const anchorQ = new Uint8Array(N * 4);
  for (let i = 0; i < N; i++) {
    const cell = Math.floor(i / A);
    anchorQ.set(
      [Math.round((Math.floor(cell / 3) + 0.5) / 3 / 0.005), Math.round(((cell % 3) + 0.5) / 3 / 0.005)],
      4 * i,
    );
    anchorQ.set([40 + 20 * (i % A) + Math.floor(r() * 10), 30 + 30 * (i % A) + Math.floor(r() * 10)], 4 * i + 2);
  }

  const T: TensorDef[] = [];
  const add = (t: TensorDef) => T.push(t) - 1;
  const type = quantized ? 3 : 0;
  const act = (name: string, shape: number[], qq: Q | undefined) => add({ name, shape, type, q: qq });
  const weights = (name: string, L: Layer, inScale: number) => {
    const w = quantized
      ? add({ name: `${name}/w`, shape: L.shape, type: 3, data: L.wq!, q: { scale: L.wScale!, zp: L.wZp! } })
      : add({ name: `${name}/w`, shape: L.shape, type: 0, data: new Uint8Array(L.w.buffer) });
    const bias = quantized
      ? add({
          name: `${name}/b`,
          shape: [L.bias.length],
          type: 2,
          data: new Uint8Array(L.biasQ!.buffer),
          q: { scale: Math.fround(inScale * L.wScale!), zp: 0 },
        })
      : add({ name: `${name}/b`, shape: [L.bias.length], type: 0, data: new Uint8Array(L.bias.buffer) });
    return [w, bias];
  };
  const input = act('input', [1, H, H, 3], qIn);
  const conv0 = act('conv0', [1, 3, 3, 4], qConv0);
  const dw = act('dw', [1, 3, 3, 4], qDw);
  const sum = act('sum', [1, 3, 3, 4], qAdd);
  const box = act('box', [1, 3, 3, A * 4], qBox);
  const c1 = act('cls1', [1, 3, 3, A], qCls);
  const c2 = act('cls2', [1, 3, 3, A * (C - 1)], qCls);
  const cls = act('cls', [1, 3, 3, A * C], qCls);
  const boxR = act('box_reshaped', [1, N, 4], qBox);
  const clsR = act('cls_reshaped', [1, N, C], qCls);
  const scores = act('scores', [1, N, C], qScore);
  const anchors = add({ name: 'anchors', shape: [N, 4], type: 3, data: anchorQ, q: { scale: 0.005, zp: 0 } });
  const shapeBox = add({ name: 'shape_box', shape: [3], type: 2, data: new Uint8Array(Int32Array.of(1, N, 4).buffer) });
  const shapeCls = add({ name: 'shape_cls', shape: [3], type: 2, data: new Uint8Array(Int32Array.of(1, N, C).buffer) });
  const outs = [0, 1, 2, 3].map((k) => add({ name: `detections:${k}`, shape: [1, 10, 4], type: 0 }));
  const conv = (stride: number, fused: number) => ({
    type: 1,
    fields: [
      [0, 'i8', 0],
      [1, 'i32', stride],
      [2, 'i32', stride],
      [3, 'i8', fused],
    ] as Array<[number, 'i8' | 'i32', number]>,
  });
  const ops: OpDef[] = [
    { builtin: 3, inputs: [input, ...weights('conv0', L0, qIn?.scale ?? 1)], outputs: [conv0], options: conv(2, 0) },
    {
      builtin: 4,
      inputs: [conv0, ...weights('dw', L1, qConv0?.scale ?? 1)],
      outputs: [dw],
      // DepthwiseConv2DOptions: padding SAME, strides 1, depth_multiplier 1, RELU6
      options: {
        type: 2,
        fields: [
          [0, 'i8', 0],
          [1, 'i32', 1],
          [2, 'i32', 1],
          [3, 'i32', 1],
          [4, 'i8', 3],
        ],
      },
    },
    { builtin: 0, inputs: [conv0, dw], outputs: [sum], options: { type: 11, fields: [[0, 'i8', 0]] } },
    { builtin: 3, inputs: [sum, ...weights('box', Lbox, qAdd?.scale ?? 1)], outputs: [box], options: conv(1, 0) },
    { builtin: 3, inputs: [sum, ...weights('cls1', Lc1, qAdd?.scale ?? 1)], outputs: [c1], options: conv(1, 0) },
    { builtin: 3, inputs: [sum, ...weights('cls2', Lc2, qAdd?.scale ?? 1)], outputs: [c2], options: conv(1, 0) },
    // ConcatenationOptions { axis 3 (channels, NHWC) }
    {
      builtin: 2,
      inputs: [c1, c2],
      outputs: [cls],
      options: {
        type: 10,
        fields: [
          [0, 'i32', 3],
          [1, 'i8', 0],
        ],
      },
    },
    { builtin: 22, inputs: [box, shapeBox], outputs: [boxR] },
    { builtin: 22, inputs: [cls, shapeCls], outputs: [clsR] },
    { builtin: 14, inputs: [clsR], outputs: [scores] },
    {
      builtin: 32,
      custom: 'TFLite_Detection_PostProcess',
      inputs: [boxR, scores, anchors],
      outputs: outs,
      customOptions: flexEncode({
        max_detections: 10,
        max_classes_per_detection: 1,
        nms_score_threshold: 1e-8,
        nms_iou_threshold: 0.6,
        num_classes: C - 1,
        y_scale: 10,
        x_scale: 10,
        h_scale: 5,
        w_scale: 5,
      }),
    },
  ];
  const bytes = writeTflite(T, ops, [input], outs);

  /** Reference forward pass on the network's float input (NHWC), `round` = quantized kernels. */
  const reference = (x: Float32Array, round: boolean) => {
    const rq = (y: Float32Array, qq: Q | undefined) => requant(y, qq, round);
    const a0 = rq(convRef(x, [H, H, 3], L0, 2, false).y, qConv0);
    const a1 = rq(
      convRef(a0, [3, 3, 4], L1, 1, true).y.map((v) => Math.min(6, Math.max(0, v))),
      qDw,
    );
    const s = rq(
      a0.map((v, i) => v + a1[i]),
      qAdd,
    );
    const bx = rq(convRef(s, [3, 3, 4], Lbox, 1, false).y, qBox);
    const k1 = rq(convRef(s, [3, 3, 4], Lc1, 1, false).y, qCls);
    const k2 = rq(convRef(s, [3, 3, 4], Lc2, 1, false).y, qCls);
    const k = new Float32Array(9 * A * C);
    for (let p = 0; p < 9; p++) {
      k.set(k1.subarray(p * A, p * A + A), p * A * C);
      k.set(k2.subarray(p * A * (C - 1), (p + 1) * A * (C - 1)), p * A * C + A);
    }
    const sc = rq(
      k.map((v) => 1 / (1 + Math.exp(-v))),
      qScore,
    );
    // TFLite's fast NMS (each anchor's best class) is the postprocess's classAgnostic option, not in the graph
    return { boxes: bx, scores: sc };
  };
  return { bytes, reference, anchorQ, qIn, qBox, qScore };
}

/** A uint8 image (NHWC RGB) and the network's float view of it per the spec's mean/std. */
function image(seed: number) {
  const r = rng(seed);
  return Uint8Array.from({ length: H * H * 3 }, () => Math.floor(r() * 256));
}

async function run(bytes: Uint8Array, x: Float32Array) {
  const session = await ort.InferenceSession.create(bytes);
  const out = await session.run({ image: new ort.Tensor('float32', x, [1, H, H, 3]) });
  const result = {
    boxes: out.box_encodings.data as Float32Array,
    scores: out.class_scores.data as Float32Array,
  };
  await session.release();
  return result;
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

// --- tests ----------------------------------------------------------------------------------------

test('quantized TFLite SSD: spec from the input quantization, anchors and postprocess options', (t) => {
  const { bytes, anchorQ } = tinySsd(true);
  const { model, spec, report } = importTflite(bytes, { labels: ['a', 'b'], source: 'tiny.tflite' });
  t.deepEqual(readModelSpec(model), spec);
  t.is(spec.input.layout, 'NHWC');
  t.deepEqual([spec.input.height, spec.input.width], [H, H]);
  t.deepEqual(spec.input.mean, [128, 128, 128]);
  t.deepEqual(spec.input.std, [128, 128, 128]);
  t.deepEqual(spec.labels, ['???', 'a', 'b']);
  t.is(spec.postprocess.scoring, 'none');
  t.is(spec.postprocess.backgroundIndex, 0);
  t.is(spec.postprocess.detectionsPerImg, 10);
  t.true(Math.abs(spec.postprocess.nmsThresh - 0.6) < 1e-7);
  t.deepEqual(spec.postprocess.boxCoder.weights, [10, 10, 5, 5]);
  t.is(spec.postprocess.boxCoder.order, 'yxhw');
  t.false(spec.postprocess.clipBoxes);
  t.true(spec.postprocess.classAgnostic); // use_regular_nms false, max_classes_per_detection 1
  // anchors: TFLite (yc, xc, h, w) quantized → cxcywh floats
  const anchors = resolveAnchors(spec);
  t.is(anchors.length, 4 * N);
  for (let i = 0; i < N; i++) {
    const [yc, xc, h, w] = Array.from(anchorQ.subarray(4 * i, 4 * i + 4), (v) => Math.fround(v * Math.fround(0.005)));
    t.deepEqual(Array.from(anchors.subarray(4 * i, 4 * i + 4)), [xc, yc, w, h]);
  }
  t.true(report.some((l) => l.includes('CONV_2D×4')));
  t.true(report.some((l) => l.includes(`anchors: ${N}`)));
});

test('quantized TFLite SSD dequantized to float matches the float reference', async (t) => {
  const { bytes, reference } = tinySsd(true);
  const { model, spec } = importTflite(bytes, { dequantize: true, labels: ['a', 'b'] });
  t.false(model.graph.node.some((n) => n.op_type === 'QuantizeLinear'));
  for (const seed of [1, 2, 3]) {
    const px = image(seed);
    const x = Float32Array.from(px, (v) => (v - spec.input.mean[0]) / spec.input.std[0]);
    const ours = await run(writeOnnx(model), x);
    const ref = reference(x, false);
    t.true(maxDiff(ours.boxes, ref.boxes) < 1e-4, `boxes ${maxDiff(ours.boxes, ref.boxes)}`);
    t.true(maxDiff(ours.scores, ref.scores) < 1e-5, `scores ${maxDiff(ours.scores, ref.scores)}`);
  }
});

test('quantized TFLite SSD kept quantized (QDQ) matches the integer reference within a few quantization steps', async (t) => {
  const { bytes, reference, qBox, qScore } = tinySsd(true);
  const { model, spec } = importTflite(bytes, { labels: ['a', 'b'] });
  const ops = new Set(model.graph.node.map((n) => n.op_type));
  t.true(ops.has('QuantizeLinear') && ops.has('DequantizeLinear'));
  // the weights stay uint8
  t.true((model.graph.initializer ?? []).some((i) => i.name === 'conv0/w' && i.data_type === 2));
  let exact = 0;
  let total = 0;
  for (const seed of [1, 2, 3]) {
    const px = image(seed);
    // a float view that rounds back to the same uint8 pixel
    const x = Float32Array.from(px, (v) => (v - spec.input.mean[0]) / spec.input.std[0]);
    const ours = await run(writeOnnx(model), x);
    const ref = reference(x, true);
    // ORT requantizes with float32 multipliers and rounds half to even, the reference in float64 half up: a value
    // near a rounding boundary may land one step apart in an inner layer, which the next 1×1 conv spreads to a few
    // steps of its outputs (measured: 9 of 72 box values, at most 3 steps)
    t.true(maxDiff(ours.boxes, ref.boxes) <= 4 * qBox!.scale + 1e-6, `boxes ${maxDiff(ours.boxes, ref.boxes)}`);
    // every class column (the graph no longer zeroes each anchor's non-best classes): a logit up to 3 steps (0.15)
    // apart, as the box values above, moves its sigmoid by ≤ 0.0375, under 10 score steps (measured: 7)
    t.true(maxDiff(ours.scores, ref.scores) <= 10 * qScore!.scale + 1e-6, `scores ${maxDiff(ours.scores, ref.scores)}`);
    for (let i = 0; i < ref.boxes.length; i++, total++) if (Math.abs(ours.boxes[i] - ref.boxes[i]) < 1e-6) exact++;
    // every output value lies on the uint8 grid of its tensor
    t.true(ours.scores.every((v) => Math.abs(v * 256 - Math.round(v * 256)) < 1e-4));
  }
  t.true(exact / total > 0.8, `${exact}/${total} box values equal`);
  t.log(`${exact}/${total} box values equal to the reference`);
});

test('float TFLite SSD: (x − 127.5)/127.5 input, matches the float reference', async (t) => {
  const { bytes, reference } = tinySsd(false);
  const { model, spec } = importTflite(bytes, { labels: ['???', 'a', 'b'] });
  t.deepEqual(spec.input.mean, [127.5, 127.5, 127.5]);
  t.deepEqual(spec.input.std, [127.5, 127.5, 127.5]);
  t.false(
    model.graph.node.some(
      (n) => n.op_type === 'QuantizeLinear' || (n.op_type === 'Clip' && (n.name ?? '').endsWith('_range')),
    ),
  );
  const px = image(5);
  const x = Float32Array.from(px, (v) => (v - 127.5) / 127.5);
  const ours = await run(writeOnnx(model), x);
  const ref = reference(x, false);
  t.true(maxDiff(ours.boxes, ref.boxes) < 1e-4, `boxes ${maxDiff(ours.boxes, ref.boxes)}`);
  t.true(maxDiff(ours.scores, ref.scores) < 1e-5, `scores ${maxDiff(ours.scores, ref.scores)}`);
});

test('TFLite importer errors name what was found and what is missing', (t) => {
  t.throws(() => importTflite(new Uint8Array(16)), {
    instanceOf: TypeError,
    message: /Expected a TFLite flatbuffer \(file identifier 'TFL3'\) but received identifier/,
  });
  t.throws(() => importTflite('x' as unknown as Uint8Array), { instanceOf: TypeError, message: /for source/ });
  const { bytes } = tinySsd(true);
  t.throws(() => importTflite(bytes, { bogus: 1 } as never), { instanceOf: TypeError, message: /bogus/ });
  t.throws(() => importTflite(bytes, { labels: ['a'] }), {
    instanceOf: TypeError,
    message: /Expected 3 labels .* but received 1/,
  });
  // a model without the post-processing op
  const plain = writeTflite(
    [
      { name: 'in', shape: [1, 2, 2, 3], type: 0 },
      { name: 'out', shape: [1, 2, 2, 3], type: 0 },
    ],
    [{ builtin: 14, inputs: [0], outputs: [1] }],
    [0],
    [1],
  );
  t.throws(() => importTflite(plain), {
    instanceOf: TypeError,
    message: /TFLite model found, but no TFLite_Detection_PostProcess operator/,
  });
  // an operator the importer does not convert
  const softmax = writeTflite(
    [
      { name: 'in', shape: [1, 2, 2, 3], type: 0 },
      { name: 'sm', shape: [1, 2, 2, 3], type: 0 },
      { name: 'o', shape: [1, 10, 4], type: 0 },
    ],
    [
      { builtin: 25, inputs: [0], outputs: [1] },
      {
        builtin: 32,
        custom: 'TFLite_Detection_PostProcess',
        inputs: [1, 1, 1],
        outputs: [2],
        customOptions: flexEncode({}),
      },
    ],
    [0],
    [2],
  );
  t.throws(() => importTflite(softmax), { instanceOf: TypeError, message: /operator SOFTMAX is not supported/ });
});

test('model import recognises a .tflite file and writes a loadable model (kept quantized or --dequantize)', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssd-edge-tflite-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const src = path.join(dir, 'tiny.tflite');
  fs.writeFileSync(src, tinySsd(true).bytes);
  const labels = path.join(dir, 'labels.txt');
  fs.writeFileSync(labels, 'a\nb\n');
  for (const dequantize of [false, true]) {
    const out = path.join(dir, `m-${dequantize}.onnx`);
    const r = await importModelFiles([src], { out, labels, dequantize });
    t.is(r.format, 'tflite');
    t.true(r.report.some((l) => l.includes('TFLite flatbuffer')));
    t.true(r.report.some((l) => l.includes(dequantize ? 'as a float graph' : 'kept quantized')));
    const loaded = await loadModelFile(out);
    t.deepEqual(loaded.spec.labels, ['???', 'a', 'b']);
    t.regex(loaded.spec.source ?? '', /^tiny\.tflite/);
  }
  // --set overrides apply after the importer; --dequantize is refused for other formats
  const r = await importModelFiles([src], {
    out: path.join(dir, 'set.onnx'),
    labels,
    set: { 'postprocess.nmsThresh': '0.5' },
  });
  t.is(r.spec.postprocess.nmsThresh, 0.5);
  const onnx = path.join(dir, 'x.onnx');
  fs.copyFileSync(path.join(dir, 'set.onnx'), onnx);
  await t.throwsAsync(importModelFiles([onnx], { out: path.join(dir, 'y.onnx'), dequantize: true }), {
    instanceOf: TypeError,
    message: /dequantize only for a TFLite import/,
  });
});

/** Runs `ssd-edge model …args` in-process (as test/unit/cli/model.test.ts does), returning what it printed. */
async function cli(...args: string[]): Promise<string> {
  let printed = '';
  const cmd = modelCommand({ out: (x) => (printed += x) });
  const program = new Command('ssd-edge')
    .exitOverride()
    .configureOutput({ writeErr: () => {}, writeOut: () => {} })
    .addCommand(cmd);
  for (const c of [cmd, ...cmd.commands]) c.exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
  await program.parseAsync(['model', ...args], { from: 'user' });
  return printed;
}

test('ssd-edge model import FILE.tflite [--dequantize] prints what it found', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssd-edge-tflite-cli-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const src = path.join(dir, 'tiny.tflite');
  fs.writeFileSync(src, tinySsd(true).bytes);
  const labels = path.join(dir, 'labels.txt');
  fs.writeFileSync(labels, '???\na\nb\n');
  const q = await cli('import', src, '--labels', labels, '--out', path.join(dir, 'q.onnx'));
  t.regex(q, /kept quantized/);
  t.regex(q, /anchors: 18 from constant 'anchors' \(uint8, scale 0\.005/);
  t.regex(q, /^wrote .*q\.onnx .*3 labels$/m);
  const f = await cli('import', src, '--labels', labels, '--out', path.join(dir, 'f.onnx'), '--dequantize');
  t.regex(f, /written as a float graph/);
  await t.throwsAsync(cli('import', 'pytorch-ssd', src, '--out', path.join(dir, 'x.onnx'), '--dequantize'), {
    message: /--dequantize applies to tflite imports only, not pytorch-ssd/,
  });
});

test('float TFLite graph with pools, MUL/SUB by constants and HARD_SWISH matches the NHWC reference', async (t) => {
  const r = rng(23);
  const L0 = layer(r, [4, 3, 3, 3], 1, false);
  const Lbox = layer(r, [4, 1, 1, 4], 1, false);
  const Lcls = layer(r, [C, 1, 1, 4], 1, false);
  const mul = Float32Array.from({ length: 4 }, () => 0.5 + r());
  const sub = Float32Array.from({ length: 4 }, () => r() - 0.5);
  const n = 9; // 3×3 cells, one anchor each
  const anchorsF = Float32Array.from({ length: n * 4 }, (_, i) => 0.1 + 0.8 * r() * (i % 4 < 2 ? 1 : 0.5));
  const T: TensorDef[] = [];
  const add = (d: TensorDef) => T.push(d) - 1;
  const f32 = (a: Float32Array) => new Uint8Array(a.buffer.slice(0));
  const act = (name: string, shape: number[]) => add({ name, shape, type: 0 });
  const w = (name: string, L: Layer) => [
    add({ name: `${name}/w`, shape: L.shape, type: 0, data: f32(L.w) }),
    add({ name: `${name}/b`, shape: [L.bias.length], type: 0, data: f32(L.bias) }),
  ];
  const input = act('input', [1, H, H, 3]);
  const c0 = act('c0', [1, H, H, 4]);
  const mp = act('maxpool', [1, 3, 3, 4]);
  const ap = act('avgpool', [1, 3, 3, 4]);
  const m = act('mul', [1, 3, 3, 4]);
  const s = act('sub', [1, 3, 3, 4]);
  const hs = act('hswish', [1, 3, 3, 4]);
  const box = act('box', [1, 3, 3, 4]);
  const cls = act('cls', [1, 3, 3, C]);
  const boxR = act('box_r', [1, n, 4]);
  const clsR = act('cls_r', [1, n, C]);
  const sc = act('scores', [1, n, C]);
  const mulC = add({ name: 'mul_c', shape: [4], type: 0, data: f32(mul) });
  const subC = add({ name: 'sub_c', shape: [1, 1, 1, 4], type: 0, data: f32(sub) });
  const anchors = add({ name: 'anchors', shape: [n, 4], type: 0, data: f32(anchorsF) });
  const outs = [0, 1, 2, 3].map((k) => act(`det:${k}`, [1, 10, 4]));
  const conv = {
    type: 1,
    fields: [
      [0, 'i8', 0],
      [1, 'i32', 1],
      [2, 'i32', 1],
      [3, 'i8', 0],
    ] as Array<[number, 'i8' | 'i32', number]>,
  };
  const pool = (stride: number, k: number) => ({
    type: 5,
    fields: [
      [0, 'i8', 0],
      [1, 'i32', stride],
      [2, 'i32', stride],
      [3, 'i32', k],
      [4, 'i32', k],
      [5, 'i8', 0],
    ] as Array<[number, 'i8' | 'i32', number]>,
  });
  const ops: OpDef[] = [
    { builtin: 3, inputs: [input, ...w('c0', L0)], outputs: [c0], options: conv },
    { builtin: 17, inputs: [c0], outputs: [mp], options: pool(2, 2) },
    { builtin: 1, inputs: [mp], outputs: [ap], options: pool(1, 3) },
    { builtin: 18, inputs: [ap, mulC], outputs: [m], options: { type: 21, fields: [[0, 'i8', 0]] } },
    { builtin: 41, inputs: [m, subC], outputs: [s], options: { type: 28, fields: [[0, 'i8', 0]] } },
    { builtin: 117, inputs: [s], outputs: [hs] },
    { builtin: 3, inputs: [hs, ...w('box', Lbox)], outputs: [box], options: conv },
    { builtin: 3, inputs: [hs, ...w('cls', Lcls)], outputs: [cls], options: conv },
    { builtin: 22, inputs: [box], outputs: [boxR] },
    { builtin: 22, inputs: [cls], outputs: [clsR] },
    { builtin: 14, inputs: [clsR], outputs: [sc] },
    {
      builtin: 32,
      custom: 'TFLite_Detection_PostProcess',
      inputs: [boxR, sc, anchors],
      outputs: outs,
      customOptions: flexEncode({
        max_detections: 5,
        nms_iou_threshold: 0.5,
        num_classes: C - 1,
        y_scale: 10,
        x_scale: 10,
        h_scale: 5,
        w_scale: 5,
        use_regular_nms: true,
      }),
    },
  ];
  const { model, spec, report } = importTflite(writeTflite(T, ops, [input], outs), { labels: ['a', 'b'] });
  t.true(report.some((l) => l.includes('MAX_POOL_2D×1') && l.includes('HARD_SWISH×1')));
  t.true(report.some((l) => l.includes('regular (per-class)')));
  t.is(spec.postprocess.detectionsPerImg, 5);
  t.is(spec.postprocess.classAgnostic, undefined); // regular NMS: per class
  // regular NMS: no best-class masking
  t.false(model.graph.node.some((nd) => nd.op_type === 'ReduceMax'));

  // NHWC reference
  const x = Float32Array.from({ length: H * H * 3 }, () => r() * 2 - 1);
  const a0 = convRef(x, [H, H, 3], L0, 1, false).y;
  const pool2d = (src: Float32Array, h: number, k: number, stride: number, max: boolean) => {
    const o = Math.ceil(h / stride);
    const padTotal = Math.max((o - 1) * stride + k - h, 0);
    const top = Math.floor(padTotal / 2);
    const out = new Float32Array(o * o * 4);
    for (let yy = 0; yy < o; yy++)
      for (let xx = 0; xx < o; xx++)
        for (let c = 0; c < 4; c++) {
          let acc = max ? -Infinity : 0;
          let cnt = 0;
          for (let dy = 0; dy < k; dy++)
            for (let dx = 0; dx < k; dx++) {
              const iy = yy * stride - top + dy;
              const ix = xx * stride - top + dx;
              if (iy < 0 || ix < 0 || iy >= h || ix >= h) continue;
              const v = src[(iy * h + ix) * 4 + c];
              acc = max ? Math.max(acc, v) : acc + v;
              cnt++;
            }
          out[(yy * o + xx) * 4 + c] = max ? acc : acc / cnt;
        }
    return out;
  };
  const p1 = pool2d(a0, H, 2, 2, true);
  const p2 = pool2d(p1, 3, 3, 1, false);
  const feat = p2.map((v, i) => {
    const y = v * mul[i % 4] - sub[i % 4];
    return (y * Math.min(6, Math.max(0, y + 3))) / 6;
  });
  const refBox = convRef(feat, [3, 3, 4], Lbox, 1, false).y;
  const refScores = convRef(feat, [3, 3, 4], Lcls, 1, false).y.map((v) => 1 / (1 + Math.exp(-v)));
  const ours = await run(writeOnnx(model), x);
  t.true(maxDiff(ours.boxes, refBox) < 1e-4, `boxes ${maxDiff(ours.boxes, refBox)}`);
  t.true(maxDiff(ours.scores, refScores) < 1e-5, `scores ${maxDiff(ours.scores, refScores)}`);
});

test('corrupt TFLite bytes give a TypeError, never another error or a hang', (t) => {
  const { bytes } = tinySsd(true);
  const r = rng(99);
  const kinds = new Map<string, number>();
  for (let k = 0; k < 300; k++) {
    const b = bytes.slice(0, k < 60 ? Math.floor(r() * bytes.length) : bytes.length);
    if (k >= 60) for (let j = 0; j < 4; j++) b[4 + Math.floor(r() * (b.length - 4))] = Math.floor(r() * 256);
    try {
      importTflite(b, { labels: ['a', 'b'] });
      kinds.set('ok', (kinds.get('ok') ?? 0) + 1);
    } catch (err) {
      const name = (err as Error).constructor.name;
      kinds.set(name, (kinds.get(name) ?? 0) + 1);
      // RangeError only from the spec's own range checks ('Expected integer in [1, 8192] for input.height …')
      const ok = err instanceof TypeError || (err instanceof RangeError && /^Expected .* for /.test(err.message));
      if (!ok) t.fail(`${name}: ${(err as Error).message}`);
    }
  }
  t.log([...kinds].map(([k, v]) => `${k} ${v}`).join(', '));
  t.true((kinds.get('TypeError') ?? 0) > 0);
});
