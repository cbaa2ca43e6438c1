/**
 * TF Object Detection API SSDs: a small TF-OD-style GraphDef written here in three export styles — v1 (Preprocessor
 * and Postprocessor scopes, an anchor generator made of ops, NonMaxSuppressionV3), v2-style (raw_detection_boxes /
 * raw_detection_scores over a decode subgraph, anchors a constant) and tflite_graph.pb (TFLite_Detection_PostProcess)
 * — with an FPN feature extractor (top-down ResizeNearestNeighbor + AddV2) and a weight-shared box predictor (one
 * tower applied to both levels). The imported model's outputs (onnxruntime) are checked against a plain NHWC
 * computation of the same network written in this file, its anchors against the grid-anchor formula, and the spec's
 * box coder against TF-OD's FasterRcnnBoxCoder decode written out here.
 */
import test from 'ava';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { importTensorflow } from '../../../lib/model/importers/tensorflow.ts';
import { importModelFiles } from '../../../lib/model/import.ts';
import { formatModelInfo, inspectModelFile, type ModelOrigin } from '../../../lib/model/inspect.ts';
import { loadModelFile } from '../../../lib/model/metadata.ts';
import { writeOnnx } from '../../../lib/model/onnx.ts';
import { resolveAnchors } from '../../../lib/model/spec.ts';
import { foldTfOp } from '../../../lib/model/tf/fold.ts';
import { writeGraphDef, type TfAttr, type TfNode } from '../../../lib/model/tf/graphdef.ts';
import { decodeBoxes } from '../../../lib/ops/box-coder.ts';
import { mulberry32 } from '../../helpers/random.ts';

const enc = new TextEncoder();
const node = (name: string, op: string, input: string[] = [], attr: Record<string, TfAttr> = {}): TfNode => ({
  name,
  op,
  input,
  attr,
});
const shape = (dims: number[]) => ({ dim: dims.map((size) => ({ size })) });
const f32 = (name: string, dims: number[], data: ArrayLike<number>) =>
  node(name, 'Const', [], {
    value: {
      tensor: {
        dtype: 'DT_FLOAT',
        tensorShape: shape(dims),
        tensorContent: new Uint8Array(Float32Array.from(data).buffer),
      },
    },
  });
const i32 = (name: string, dims: number[], data: number[]) =>
  node(name, 'Const', [], { value: { tensor: { dtype: 'DT_INT32', tensorShape: shape(dims), intVal: data } } });
const ints = (...i: number[]): TfAttr => ({ list: { i } });
const str = (s: string): TfAttr => ({ s: enc.encode(s) });

// --- NHWC reference ----------------------------------------------------------------------------------------

interface T4 {
  h: number;
  w: number;
  c: number;
  d: Float32Array;
}
/** SAME convolution, stride s, filter HWIO k×k. */
function convSame(x: T4, f: Float32Array, k: number, co: number, s: number): T4 {
  const oh = Math.ceil(x.h / s);
  const ow = Math.ceil(x.w / s);
  const pt = Math.floor(Math.max((oh - 1) * s + k - x.h, 0) / 2);
  const pl = Math.floor(Math.max((ow - 1) * s + k - x.w, 0) / 2);
  const out = new Float32Array(oh * ow * co);
  for (let y = 0; y < oh; y++)
    for (let xx = 0; xx < ow; xx++)
      for (let m = 0; m < co; m++) {
        let acc = 0;
        for (let i = 0; i < k; i++)
          for (let j = 0; j < k; j++) {
            const iy = y * s + i - pt;
            const ix = xx * s + j - pl;
            if (iy < 0 || ix < 0 || iy >= x.h || ix >= x.w) continue;
            for (let c = 0; c < x.c; c++) acc += x.d[(iy * x.w + ix) * x.c + c] * f[((i * k + j) * x.c + c) * co + m];
          }
        out[(y * ow + xx) * co + m] = acc;
      }
  return { h: oh, w: ow, c: co, d: out };
}
const map = (x: T4, fn: (v: number, c: number, i: number) => number): T4 => ({
  ...x,
  d: x.d.map((v, i) => fn(v, i % x.c, i)),
});

// --- the network ---------------------------------------------------------------------------------------------

const A = 2; // anchors per cell
const COLS = 3; // background + 2 classes
const SIZES = [
  [
    [0.2, 0.2],
    [0.14, 0.28],
  ],
  [
    [0.4, 0.4],
    [0.28, 0.56],
  ],
]; // (h, w) per level and anchor
const LEVELS = [8, 4];
const N = LEVELS.reduce((s, f) => s + f * f * A, 0);

/** TF-OD grid anchors (cell-major, anchor-minor), BoxList order ymin, xmin, ymax, xmax. */
function gridAnchors(): number[] {
  const out: number[] = [];
  LEVELS.forEach((f, l) => {
    for (let i = 0; i < f; i++)
      for (let j = 0; j < f; j++)
        for (const [h, w] of SIZES[l]) {
          const cy = (i + 0.5) / f;
          const cx = (j + 0.5) / f;
          out.push(cy - h / 2, cx - w / 2, cy + h / 2, cx + w / 2);
        }
  });
  return out;
}

function weights() {
  const rng = mulberry32(5);
  const r = (n: number, s = 0.5) => Float32Array.from({ length: n }, () => (rng() * 2 - 1) * s);
  return {
    c1: r(3 * 3 * 3 * 4),
    b1: r(4, 0.2),
    c2: r(3 * 3 * 4 * 4),
    lat4: r(4 * 4),
    lat3: r(4 * 4),
    smooth: r(3 * 3 * 4 * 4),
    tower: r(3 * 3 * 4 * 4),
    bn: [0, 1].map(() => ({
      gamma: Float32Array.from({ length: 4 }, () => 0.5 + rng()),
      beta: r(4, 0.3),
      mean: r(4, 0.2),
      variance: Float32Array.from({ length: 4 }, () => 0.5 + rng()),
    })),
    box: r(3 * 3 * 4 * A * 4, 0.4),
    boxB: r(A * 4, 0.1),
    cls: r(3 * 3 * 4 * A * COLS),
    clsB: r(A * COLS, 0.3),
  };
}
type W = ReturnType<typeof weights>;

/** Box encodings [N·4] (ty, tx, th, tw) and class logits [N·COLS] of the network on the normalized NHWC input. */
function reference(W: W, img: Float32Array) {
  const x: T4 = { h: 16, w: 16, c: 3, d: img };
  const c1 = map(convSame(x, W.c1, 3, 4, 2), (v, c) => Math.min(Math.max(v + W.b1[c], 0), 6));
  const c2 = map(convSame(c1, W.c2, 3, 4, 2), (v) => Math.max(v, 0));
  const p4 = convSame(c2, W.lat4, 1, 4, 1);
  const lat3 = convSame(c1, W.lat3, 1, 4, 1);
  // nearest ×2 (TF ResizeNearestNeighbor, no align_corners / half-pixel: src = floor(dst / 2))
  const p3 = map(lat3, (v, c, i) => {
    const p = Math.floor(i / 4);
    const [yy, xx] = [Math.floor(p / 8), p % 8];
    return v + p4.d[((yy >> 1) * 4 + (xx >> 1)) * 4 + c];
  });
  const levels = [convSame(p3, W.smooth, 3, 4, 1), p4];
  const boxes: number[] = [];
  const logits: number[] = [];
  levels.forEach((lv, l) => {
    const bn = W.bn[l];
    const t = map(convSame(lv, W.tower, 3, 4, 1), (v, c) =>
      Math.min(Math.max(((v - bn.mean[c]) / Math.sqrt(bn.variance[c] + 1e-3)) * bn.gamma[c] + bn.beta[c], 0), 6),
    );
    boxes.push(...map(convSame(t, W.box, 3, A * 4, 1), (v, c) => v + W.boxB[c]).d);
    logits.push(...map(convSame(t, W.cls, 3, A * COLS, 1), (v, c) => v + W.clsB[c]).d);
  });
  return { boxes: Float32Array.from(boxes), logits: Float32Array.from(logits) };
}

type Style = 'v1' | 'v2' | 'tflite';

/** The graph in one export style. */
function graph(W: W, style: Style): TfNode[] {
  const conv = (name: string, x: string, f: string, s = 1) =>
    node(name, 'Conv2D', [x, f], { strides: ints(1, s, s, 1), padding: str('SAME'), data_format: str('NHWC') });
  const nodes: TfNode[] = [];
  const FE = 'FeatureExtractor/';
  let image: string;
  if (style === 'v1') {
    nodes.push(
      node('image_tensor', 'Placeholder', [], {
        dtype: { type: 'DT_FLOAT' },
        shape: { shape: shape([-1, -1, -1, 3]) },
      }),
      i32('Preprocessor/ResizeImage/size', [2], [16, 16]),
      node('Preprocessor/ResizeImage/ResizeBilinear', 'ResizeBilinear', [
        'image_tensor',
        'Preprocessor/ResizeImage/size',
      ]),
      f32('Preprocessor/mul/x', [], [0.007843138]),
      node('Preprocessor/mul', 'Mul', ['Preprocessor/mul/x', 'Preprocessor/ResizeImage/ResizeBilinear']),
      f32('Preprocessor/sub/y', [], [1]),
      node('Preprocessor/sub', 'Sub', ['Preprocessor/mul', 'Preprocessor/sub/y']),
    );
    image = 'Preprocessor/sub';
  } else {
    image = style === 'v2' ? 'input_tensor' : 'normalized_input_image_tensor';
    nodes.push(
      node(image, 'Placeholder', [], { dtype: { type: 'DT_FLOAT' }, shape: { shape: shape([1, 16, 16, 3]) } }),
    );
  }
  nodes.push(
    f32(`${FE}c1/w`, [3, 3, 3, 4], W.c1),
    f32(`${FE}c1/b`, [4], W.b1),
    conv(`${FE}c1/conv`, image, `${FE}c1/w`, 2),
    node(`${FE}c1/bias`, 'BiasAdd', [`${FE}c1/conv`, `${FE}c1/b`]),
    node(`${FE}c1/relu6`, 'Relu6', [`${FE}c1/bias`]),
    f32(`${FE}c2/w`, [3, 3, 4, 4], W.c2),
    conv(`${FE}c2/conv`, `${FE}c1/relu6`, `${FE}c2/w`, 2),
    node(`${FE}c2/relu`, 'Relu', [`${FE}c2/conv`]),
    // FPN: laterals, top-down nearest upsampling to the lateral's size (from its Shape), Add, smoothing
    f32(`${FE}fpn/lat4/w`, [1, 1, 4, 4], W.lat4),
    conv(`${FE}fpn/lat4`, `${FE}c2/relu`, `${FE}fpn/lat4/w`),
    f32(`${FE}fpn/lat3/w`, [1, 1, 4, 4], W.lat3),
    conv(`${FE}fpn/lat3`, `${FE}c1/relu6`, `${FE}fpn/lat3/w`),
    node(`${FE}fpn/Shape`, 'Shape', [`${FE}fpn/lat3`]),
    i32(`${FE}fpn/ss/begin`, [1], [1]),
    i32(`${FE}fpn/ss/end`, [1], [3]),
    i32(`${FE}fpn/ss/strides`, [1], [1]),
    node(`${FE}fpn/strided_slice`, 'StridedSlice', [
      `${FE}fpn/Shape`,
      `${FE}fpn/ss/begin`,
      `${FE}fpn/ss/end`,
      `${FE}fpn/ss/strides`,
    ]),
    node(`${FE}fpn/upsample`, 'ResizeNearestNeighbor', [`${FE}fpn/lat4`, `${FE}fpn/strided_slice`]),
    node(`${FE}fpn/add`, 'AddV2', [`${FE}fpn/upsample`, `${FE}fpn/lat3`]),
    f32(`${FE}fpn/smooth/w`, [3, 3, 4, 4], W.smooth),
    conv(`${FE}fpn/smooth`, `${FE}fpn/add`, `${FE}fpn/smooth/w`),
  );
  // weight-shared box predictor: one tower / box / class filter for both levels, batch norm per level
  const P = 'WeightSharedConvolutionalBoxPredictor';
  nodes.push(
    f32(`${P}/BoxPredictionTower/conv2d_0/weights`, [3, 3, 4, 4], W.tower),
    f32(`${P}/BoxPredictor/weights`, [3, 3, 4, A * 4], W.box),
    f32(`${P}/BoxPredictor/biases`, [A * 4], W.boxB),
    f32(`${P}/ClassPredictor/weights`, [3, 3, 4, A * COLS], W.cls),
    f32(`${P}/ClassPredictor/biases`, [A * COLS], W.clsB),
    i32(`${P}/ss/begin`, [1], [0]),
    i32(`${P}/ss/end`, [1], [1]),
    i32(`${P}/ss/strides`, [1], [1]),
    i32(`${P}/minus1`, [], [-1]),
    i32(`${P}/one`, [], [1]),
    i32(`${P}/four`, [], [4]),
    i32(`${P}/cols`, [], [COLS]),
    i32('concat/axis', [], [1]),
  );
  [`${FE}fpn/smooth`, `${FE}fpn/lat4`].forEach((feature, l) => {
    const s = `${P}_${l}`;
    const bn = W.bn[l];
    nodes.push(
      conv(`${s}/tower`, feature, `${P}/BoxPredictionTower/conv2d_0/weights`),
      f32(`${s}/bn/gamma`, [4], bn.gamma),
      f32(`${s}/bn/beta`, [4], bn.beta),
      f32(`${s}/bn/mean`, [4], bn.mean),
      f32(`${s}/bn/variance`, [4], bn.variance),
      node(
        `${s}/bn`,
        'FusedBatchNormV3',
        [`${s}/tower`, `${s}/bn/gamma`, `${s}/bn/beta`, `${s}/bn/mean`, `${s}/bn/variance`],
        {
          epsilon: { f: 1e-3 },
        },
      ),
      node(`${s}/relu6`, 'Relu6', [`${s}/bn`]),
      conv(`${s}/box`, `${s}/relu6`, `${P}/BoxPredictor/weights`),
      node(`${s}/box/bias`, 'BiasAdd', [`${s}/box`, `${P}/BoxPredictor/biases`]),
      conv(`${s}/cls`, `${s}/relu6`, `${P}/ClassPredictor/weights`),
      node(`${s}/cls/bias`, 'BiasAdd', [`${s}/cls`, `${P}/ClassPredictor/biases`]),
      // [B, -1, 1, 4] and [B, -1, COLS] with B from the Shape of the head (dynamic batch)
      node(`${s}/Shape`, 'Shape', [`${s}/box/bias`]),
      node(`${s}/strided_slice`, 'StridedSlice', [`${s}/Shape`, `${P}/ss/begin`, `${P}/ss/end`, `${P}/ss/strides`], {
        shrink_axis_mask: { i: 1 },
      }),
      node(`${s}/stack`, 'Pack', [`${s}/strided_slice`, `${P}/minus1`, `${P}/one`, `${P}/four`]),
      node(`${s}/Reshape`, 'Reshape', [`${s}/box/bias`, `${s}/stack`]),
      node(`${s}/stack_1`, 'Pack', [`${s}/strided_slice`, `${P}/minus1`, `${P}/cols`]),
      node(`${s}/Reshape_1`, 'Reshape', [`${s}/cls/bias`, `${s}/stack_1`]),
    );
  });
  nodes.push(
    node('concat', 'ConcatV2', [`${P}_0/Reshape`, `${P}_1/Reshape`, 'concat/axis']),
    node('Squeeze', 'Squeeze', ['concat'], { squeeze_dims: ints(2) }),
    node('concat_1', 'ConcatV2', [`${P}_0/Reshape_1`, `${P}_1/Reshape_1`, 'concat/axis']),
  );

  const anchors = gridAnchors();
  if (style === 'tflite') {
    const centers: number[] = [];
    for (let i = 0; i < N; i++) {
      const [y1, x1, y2, x2] = anchors.slice(4 * i, 4 * i + 4);
      centers.push((y1 + y2) / 2, (x1 + x2) / 2, y2 - y1, x2 - x1);
    }
    nodes.push(
      node('raw_outputs/box_encodings', 'Identity', ['Squeeze']),
      node('convert_scores', 'Sigmoid', ['concat_1']),
      node('raw_outputs/class_predictions', 'Identity', ['convert_scores']),
      f32('anchors', [N, 4], centers),
      node(
        'TFLite_Detection_PostProcess',
        'TFLite_Detection_PostProcess',
        ['raw_outputs/box_encodings', 'raw_outputs/class_predictions', 'anchors'],
        {
          y_scale: { f: 10 },
          x_scale: { f: 10 },
          h_scale: { f: 5 },
          w_scale: { f: 5 },
          num_classes: { i: 2 },
          max_detections: { i: 10 },
          max_classes_per_detection: { i: 1 },
          detections_per_class: { i: 100 },
          nms_iou_threshold: { f: 0.6 },
          nms_score_threshold: { f: 0.3 },
          use_regular_nms: { b: false },
        },
      ),
    );
    return nodes;
  }

  // anchors: v1 computes level 0 with ops (range, meshgrid, pack), level 1 is a constant; v2 a constant
  const G = 'MultipleGridAnchorGenerator';
  let anchorNode: string;
  if (style === 'v1') {
    const f = LEVELS[0];
    const L1 = anchors.slice(4 * f * f * A);
    nodes.push(
      i32(`${G}/range/start`, [], [0]),
      i32(`${G}/range/limit`, [], [f]),
      i32(`${G}/range/delta`, [], [1]),
      node(`${G}/range`, 'Range', [`${G}/range/start`, `${G}/range/limit`, `${G}/range/delta`]),
      node(`${G}/ToFloat`, 'Cast', [`${G}/range`], { DstT: { type: 'DT_FLOAT' } }),
      f32(`${G}/half`, [], [0.5]),
      node(`${G}/add`, 'AddV2', [`${G}/ToFloat`, `${G}/half`]),
      f32(`${G}/stride`, [], [1 / f]),
      node(`${G}/centers`, 'Mul', [`${G}/add`, `${G}/stride`]),
      i32(`${G}/col`, [2], [f, 1]),
      i32(`${G}/row`, [2], [1, f]),
      node(`${G}/yc`, 'Reshape', [`${G}/centers`, `${G}/col`]),
      node(`${G}/xc`, 'Reshape', [`${G}/centers`, `${G}/row`]),
      node(`${G}/ys`, 'Tile', [`${G}/yc`, `${G}/row`]),
      node(`${G}/xs`, 'Tile', [`${G}/xc`, `${G}/col`]),
      i32(`${G}/two`, [], [2]),
      i32(`${G}/tileA`, [3], [1, 1, A]),
      node(`${G}/ys3/e`, 'ExpandDims', [`${G}/ys`, `${G}/two`]),
      node(`${G}/xs3/e`, 'ExpandDims', [`${G}/xs`, `${G}/two`]),
      node(`${G}/ys3`, 'Tile', [`${G}/ys3/e`, `${G}/tileA`]),
      node(`${G}/xs3`, 'Tile', [`${G}/xs3/e`, `${G}/tileA`]),
      f32(
        `${G}/hh`,
        [A],
        SIZES[0].map(([h]) => h / 2),
      ),
      f32(
        `${G}/hw`,
        [A],
        SIZES[0].map(([, w]) => w / 2),
      ),
      node(`${G}/ymin`, 'Sub', [`${G}/ys3`, `${G}/hh`]),
      node(`${G}/xmin`, 'Sub', [`${G}/xs3`, `${G}/hw`]),
      node(`${G}/ymax`, 'AddV2', [`${G}/ys3`, `${G}/hh`]),
      node(`${G}/xmax`, 'AddV2', [`${G}/xs3`, `${G}/hw`]),
      node(`${G}/stack`, 'Pack', [`${G}/ymin`, `${G}/xmin`, `${G}/ymax`, `${G}/xmax`], { axis: { i: 3 } }),
      i32(`${G}/rows4`, [2], [-1, 4]),
      node(`${G}/level0`, 'Reshape', [`${G}/stack`, `${G}/rows4`]),
      f32(`${G}/level1`, [L1.length / 4, 4], L1),
      i32(`${G}/axis0`, [], [0]),
      node(`${G}/Concatenate/concat`, 'ConcatV2', [`${G}/level0`, `${G}/level1`, `${G}/axis0`]),
    );
    anchorNode = `${G}/Concatenate/concat`;
  } else {
    nodes.push(f32('anchors', [N, 4], anchors));
    anchorNode = 'anchors';
  }
  // the postprocessor: tiled anchors, FasterRcnnBoxCoder decode, score conversion, NMS
  const S = style === 'v1' ? 'Postprocessor/' : '';
  const D = `${S}Decode/`;
  nodes.push(
    i32(`${S}ExpandDims/dim`, [], [0]),
    node(`${S}ExpandDims`, 'ExpandDims', [anchorNode, `${S}ExpandDims/dim`]),
    node(`${S}Shape`, 'Shape', ['Squeeze']),
    i32(`${S}ss/begin`, [1], [0]),
    i32(`${S}ss/end`, [1], [1]),
    i32(`${S}ss/strides`, [1], [1]),
    node(`${S}strided_slice`, 'StridedSlice', [`${S}Shape`, `${S}ss/begin`, `${S}ss/end`, `${S}ss/strides`], {
      shrink_axis_mask: { i: 1 },
    }),
    i32(`${S}one`, [], [1]),
    node(`${S}stack`, 'Pack', [`${S}strided_slice`, `${S}one`, `${S}one`]),
    node(`${S}Tile`, 'Tile', [`${S}ExpandDims`, `${S}stack`]),
    i32(`${S}rows4`, [2], [-1, 4]),
    node(`${S}Reshape`, 'Reshape', ['Squeeze', `${S}rows4`]),
    node(`${S}Reshape_1`, 'Reshape', [`${S}Tile`, `${S}rows4`]),
    i32(`${D}perm`, [2], [1, 0]),
    node(`${D}transpose`, 'Transpose', [`${S}Reshape_1`, `${D}perm`]),
    node(`${D}unstack`, 'Unpack', [`${D}transpose`], { num: { i: 4 }, axis: { i: 0 } }),
    node(`${D}ha`, 'Sub', [`${D}unstack:2`, `${D}unstack`]),
    node(`${D}wa`, 'Sub', [`${D}unstack:3`, `${D}unstack:1`]),
    node(`${D}transpose_1`, 'Transpose', [`${S}Reshape`, `${D}perm`]),
    node(`${D}unstack_1`, 'Unpack', [`${D}transpose_1`], { num: { i: 4 }, axis: { i: 0 } }),
    f32(`${D}div/y`, [], [10]),
    f32(`${D}div_1/y`, [], [10]),
    f32(`${D}div_2/y`, [], [5]),
    f32(`${D}div_3/y`, [], [5]),
    node(`${D}div`, 'RealDiv', [`${D}unstack_1`, `${D}div/y`]),
    node(`${D}div_1`, 'RealDiv', [`${D}unstack_1:1`, `${D}div_1/y`]),
    node(`${D}div_2`, 'RealDiv', [`${D}unstack_1:2`, `${D}div_2/y`]),
    node(`${D}div_3`, 'RealDiv', [`${D}unstack_1:3`, `${D}div_3/y`]),
    node(`${D}Exp`, 'Exp', [`${D}div_3`]),
    node(`${D}w`, 'Mul', [`${D}Exp`, `${D}wa`]),
    node(`${D}Exp_1`, 'Exp', [`${D}div_2`]),
    node(`${D}h`, 'Mul', [`${D}Exp_1`, `${D}ha`]),
    node(`${D}stack`, 'Pack', [`${D}div`, `${D}div_1`, `${D}h`, `${D}w`]), // (simplified tail of the decode)
    node(`${D}transpose_2`, 'Transpose', [`${D}stack`, `${D}perm`]),
    i32(`${S}shape2`, [3], [1, -1, 4]),
    node(`${S}Reshape_2`, 'Reshape', [`${D}transpose_2`, `${S}shape2`]),
    node('raw_detection_boxes', 'Identity', [`${S}Reshape_2`]),
    f32(`${S}scale_logits/y`, [], [2]),
    node(`${S}scale_logits`, 'RealDiv', ['concat_1', `${S}scale_logits/y`]),
    node(`${S}convert_scores`, 'Sigmoid', [`${S}scale_logits`]),
    node('raw_detection_scores', 'Identity', [`${S}convert_scores`]),
  );
  if (style === 'v1')
    nodes.push(
      i32('Postprocessor/BatchMultiClassNonMaxSuppression/max_output_size', [], [5]),
      f32('Postprocessor/BatchMultiClassNonMaxSuppression/iou_threshold', [], [0.55]),
      f32('Postprocessor/BatchMultiClassNonMaxSuppression/score_threshold', [], [0.25]),
      node('Postprocessor/BatchMultiClassNonMaxSuppression/NonMaxSuppressionV3', 'NonMaxSuppressionV3', [
        'Postprocessor/Reshape_2',
        'Postprocessor/convert_scores',
        'Postprocessor/BatchMultiClassNonMaxSuppression/max_output_size',
        'Postprocessor/BatchMultiClassNonMaxSuppression/iou_threshold',
        'Postprocessor/BatchMultiClassNonMaxSuppression/score_threshold',
      ]),
      node('detection_boxes', 'Identity', ['Postprocessor/BatchMultiClassNonMaxSuppression/NonMaxSuppressionV3']),
    );
  return nodes;
}

function maxRel(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]) / Math.max(1, Math.abs(b[i])));
  return m;
}

async function run(model: Parameters<typeof writeOnnx>[0], x: Float32Array, batch = 1) {
  const session = await ort.InferenceSession.create(writeOnnx(model));
  const out = await session.run({ image: new ort.Tensor('float32', x, [batch, 3, 16, 16]) });
  return { boxes: out.boxes.data as Float32Array, scores: out.scores.data as Float32Array, dims: out.scores.dims };
}

/** NCHW copy of NHWC images. */
const nchw = (img: Float32Array, b: number) => {
  const out = new Float32Array(img.length);
  for (let k = 0; k < b; k++)
    for (let p = 0; p < 256; p++) for (let c = 0; c < 3; c++) out[k * 768 + c * 256 + p] = img[k * 768 + p * 3 + c];
  return out;
};

for (const style of ['v1', 'v2', 'tflite'] as const) {
  test(`TF-OD ${style}: FPN + weight-shared heads cut before the postprocessor match the NHWC reference`, async (t) => {
    const W = weights();
    const r = importTensorflow({ graph: writeGraphDef(graph(W, style)) }, { labels: ['background', 'cat', 'dog'] });
    const { spec } = r;
    t.is(spec.output.kind, 'raw');
    t.deepEqual([spec.input.width, spec.input.height], [16, 16]);
    t.deepEqual(spec.input.mean, [127.5, 127.5, 127.5]);
    t.deepEqual(spec.input.std, [127.5, 127.5, 127.5]);
    t.is(spec.postprocess.backgroundIndex, 0);
    t.deepEqual(spec.postprocess.boxCoder.weights, [10, 10, 5, 5]);
    t.is(spec.postprocess.boxCoder.order, 'yxhw');
    // weight sharing: one initializer per shared filter (tower, box, class), not one per level
    const inits = r.model.graph?.initializer ?? [];
    t.is(
      inits.filter((i) =>
        /BoxPredictionTower\/conv2d_0\/weights|_0\/tower\/weights|_1\/tower\/weights/.test(i.name ?? ''),
      ).length,
      1,
    );
    t.is(inits.filter((i) => i.dims?.length === 4 && Number(i.dims[0]) === A * 4).length, 1);

    // two images in one batch (dynamic batch from the heads' Shape); values as the network sees them
    const rng = mulberry32(style.length);
    const img = Float32Array.from({ length: 2 * 768 }, () => rng() * 2 - 1);
    const out = await run(r.model, nchw(img, 2), 2);
    t.deepEqual(out.dims, [2, N, COLS]);
    for (let b = 0; b < 2; b++) {
      const ref = reference(W, img.subarray(b * 768, (b + 1) * 768));
      t.true(maxRel(out.boxes.subarray(b * N * 4, (b + 1) * N * 4), ref.boxes) < 1e-4);
      const scores = out.scores.subarray(b * N * COLS, (b + 1) * N * COLS);
      // v1/v2: logits / 2 (scale_logits), sigmoid in the postprocess; tflite: the graph's sigmoid kept
      const expected =
        style === 'tflite' ? ref.logits.map((v) => 1 / (1 + Math.exp(-v))) : ref.logits.map((v) => v / 2);
      t.true(maxRel(scores, expected) < 1e-4);
    }
    t.is(spec.postprocess.scoring, style === 'tflite' ? 'none' : 'sigmoid');

    // anchors (v1: folded from the generator's ops) and decoding against TF-OD's FasterRcnnBoxCoder
    const anchors = resolveAnchors(spec);
    const grid = gridAnchors();
    const cxcywh = grid.flatMap((_, i) =>
      i % 4
        ? []
        : [
            (grid[i + 1] + grid[i + 3]) / 2,
            (grid[i] + grid[i + 2]) / 2,
            grid[i + 3] - grid[i + 1],
            grid[i + 2] - grid[i],
          ],
    );
    t.true(maxRel(anchors, cxcywh) < 1e-6);
    const deltas = out.boxes.subarray(0, 4 * N);
    const decoded = decodeBoxes(deltas, anchors, { ...spec.postprocess.boxCoder, anchorFormat: 'cxcywh' });
    for (let i = 0; i < N; i++) {
      const [ymin, xmin, ymax, xmax] = grid.slice(4 * i, 4 * i + 4);
      const [ha, wa, yca, xca] = [ymax - ymin, xmax - xmin, (ymin + ymax) / 2, (xmin + xmax) / 2];
      const [ty, tx, th, tw] = [
        deltas[4 * i] / 10,
        deltas[4 * i + 1] / 10,
        deltas[4 * i + 2] / 5,
        deltas[4 * i + 3] / 5,
      ];
      const [h, w] = [Math.exp(th) * ha, Math.exp(tw) * wa];
      const [yc, xc] = [ty * ha + yca, tx * wa + xca];
      const tf = [xc - w / 2, yc - h / 2, xc + w / 2, yc + h / 2]; // TF's (ymin, xmin, ymax, xmax) as xyxy
      t.true(maxRel(decoded.subarray(4 * i, 4 * i + 4), tf) < 1e-5, `anchor ${i}`);
    }
    // settings from the graph
    if (style === 'v1') {
      t.is(spec.postprocess.nmsThresh, Math.fround(0.55));
      t.is(spec.postprocess.scoreThresh, Math.fround(0.25));
      t.true(
        r.report.some(
          (l) =>
            /cut before the postprocessor/.test(l) &&
            /anchors 'MultipleGridAnchorGenerator\/Concatenate\/concat'/.test(l),
        ),
        r.report.join('\n'),
      );
      t.true(r.report.some((l) => /preprocessing, 'Preprocessor\/sub'/.test(l)));
    }
    if (style === 'v2') t.true(r.report.some((l) => /raw_detection_boxes/.test(l)));
    if (style === 'tflite') {
      t.is(spec.postprocess.nmsThresh, Math.fround(0.6));
      t.is(spec.postprocess.scoreThresh, Math.fround(0.3));
      t.is(spec.postprocess.detectionsPerImg, 10);
      t.is(spec.postprocess.clipBoxes, false);
      t.true(spec.postprocess.classAgnostic); // use_regular_nms false: TFLite's fast NMS
    }
  });
}

test('TF-OD: model import of a .pb recognises the format; errors name what is missing', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssd-edge-tfod-'));
  try {
    const W = weights();
    const pb = path.join(dir, 'frozen_inference_graph.pb');
    fs.writeFileSync(pb, writeGraphDef(graph(W, 'v1')));
    const labels = path.join(dir, 'labels.txt');
    fs.writeFileSync(labels, 'cat\ndog\n'); // without background: '???' is put first
    const out = path.join(dir, 'm.onnx');
    const r = await importModelFiles([pb], { out, labels });
    t.is(r.format, 'tf');
    t.deepEqual(r.spec.labels, ['???', 'cat', 'dog']);
    const loaded = await loadModelFile(out);
    t.is(loaded.spec.postprocess.scoring, 'sigmoid');
    // the origin: format, source file (size, sha256 of its bytes), importer version, date
    const before = Date.now();
    const info = await inspectModelFile(out);
    const o = info.origin as ModelOrigin;
    t.is(o.format, 'tf');
    t.deepEqual(o.files, [
      {
        name: 'frozen_inference_graph.pb',
        bytes: fs.statSync(pb).size,
        sha256: crypto.createHash('sha256').update(fs.readFileSync(pb)).digest('hex'),
      },
    ]);
    t.is(o.importer, String(loaded.spec.converter));
    t.regex(o.importer, /^ssd-edge\/tensorflow-importer@\d+$/);
    t.true(Date.parse(o.date) <= before && Date.parse(o.date) > before - 120_000);
    t.regex(
      formatModelInfo(info),
      /^origin {8}tf import of frozen_inference_graph\.pb \(\d+ bytes, sha256 [0-9a-f]{16}\) by ssd-edge\/tensorflow-importer@\d+ on \d{4}-\d\d-\d\d \d\d:\d\d UTC$/m,
    );
    t.true(r.report.some((l) => /cut before the postprocessor/.test(l)));

    // scores converted before the postprocessor (no Sigmoid/Softmax after them): the input with rows of 4 is the box
    // encodings, the other one the scores, used as given
    const early = graph(W, 'v1').map((n) => (n.name === 'Postprocessor/convert_scores' ? { ...n, op: 'Identity' } : n));
    const e = importTensorflow({ graph: writeGraphDef(early) }, { labels: ['a', 'b', 'c'] });
    t.is(e.spec.postprocess.scoring, 'none');
    t.true(e.report.some((l) => /box encodings 'Squeeze', class predictions 'concat_1' \(already scores/.test(l)));
    // a postprocessor with a third network input: which are the heads is ambiguous
    const third = graph(W, 'v1').concat(node('Postprocessor/extra', 'Identity', ['FeatureExtractor/c2/relu']));
    t.throws(() => importTensorflow({ graph: writeGraphDef(third) }, { labels: ['a', 'b', 'c'] }), {
      instanceOf: TypeError,
      message:
        /one box-encodings and one class-predictions tensor but its inputs from the network are 'Squeeze', 'concat_1', 'FeatureExtractor\/c2\/relu' \(1 reach a Sigmoid\/Softmax\)/,
    });
    // anchors missing (the postprocessor's anchor input computed from the image)
    const noAnchors = graph(W, 'v2')
      .filter((n) => n.name !== 'anchors')
      .concat(node('anchors', 'Relu', ['concat']));
    t.throws(() => importTensorflow({ graph: writeGraphDef(noAnchors) }, { labels: ['a', 'b', 'c'] }), {
      instanceOf: TypeError,
      message: /one box-encodings and one class-predictions tensor/,
    });
    // labels that do not fit the 3 class columns
    t.throws(() => importTensorflow({ graph: writeGraphDef(graph(W, 'v2')) }, { labels: ['a', 'b', 'c', 'd'] }), {
      instanceOf: TypeError,
      message: /Expected 3 labels/,
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

// --- TF.js graph models ------------------------------------------------------------------------------------

/** IEEE half bits of k/64 (|k| < 64: exact). */
function half64(k: number): number {
  if (k === 0) return 0;
  const a = Math.abs(k) / 64;
  const e = Math.floor(Math.log2(a));
  return (k < 0 ? 0x8000 : 0) | ((e + 15) << 10) | Math.round((a / 2 ** e - 1) * 1024);
}

/** Topology nodes in the protobuf JSON mapping as tfjs-converter writes it (base64 bytes, int64 as strings). */
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

/** A TF.js graph model of the v1 graph: every constant in the manifest (tower uint8, box uint16, class float16). */
function tfjsModel() {
  const W = weights();
  const rng = mulberry32(3);
  const towerQ = Uint8Array.from(W.tower, () => Math.floor(rng() * 256));
  const boxQ = Uint16Array.from(W.box, () => Math.floor(rng() * 65536));
  const clsK = Int16Array.from(W.cls, (v) => Math.round(v * 64));
  W.tower = Float32Array.from(towerQ, (q) => q / 128 - 1);
  W.box = Float32Array.from(boxQ, (q) => q * 2 ** -14 - 0.5);
  W.cls = Float32Array.from(clsK, (k) => k / 64);
  const P = 'WeightSharedConvolutionalBoxPredictor';
  const parts: Uint8Array[] = [];
  const entries: unknown[] = [];
  const topology = graph(W, 'v1').map((n) => {
    const tns = n.op === 'Const' ? n.attr.value?.tensor : undefined;
    if (!tns) return n;
    const dims = (tns.tensorShape?.dim ?? []).map((d) => d.size ?? 0);
    const dtype = tns.dtype === 'DT_INT32' ? 'int32' : 'float32';
    let bytes: Uint8Array;
    let quantization: unknown;
    if (n.name === `${P}/BoxPredictionTower/conv2d_0/weights`) {
      bytes = towerQ;
      quantization = { dtype: 'uint8', scale: 1 / 128, min: -1 };
    } else if (n.name === `${P}/BoxPredictor/weights`) {
      bytes = new Uint8Array(boxQ.buffer);
      quantization = { dtype: 'uint16', scale: 2 ** -14, min: -0.5 };
    } else if (n.name === `${P}/ClassPredictor/weights`) {
      bytes = new Uint8Array(Uint16Array.from(clsK, half64).buffer);
      quantization = { dtype: 'float16' };
    } else if (dtype === 'int32') bytes = new Uint8Array(Int32Array.from(tns.intVal ?? []).buffer);
    else bytes = tns.tensorContent ?? new Uint8Array();
    parts.push(bytes);
    entries.push({ name: n.name, shape: dims, dtype, ...(quantization ? { quantization } : {}) });
    return node(n.name, 'Const', [], { dtype: { type: tns.dtype } }); // the value lives in the shards
  });
  const all = Buffer.concat(parts);
  const cut = Math.floor(all.length / 3); // shards split mid-tensor, as tfjs-converter's 4 MB shards are
  return {
    W,
    json: {
      format: 'graph-model',
      generatedBy: '2.x',
      convertedBy: 'test',
      modelTopology: { node: toJson(topology) },
      weightsManifest: [{ paths: ['group1-shard1of2.bin', 'group1-shard2of2.bin'], weights: entries }],
    },
    shards: [all.subarray(0, cut), all.subarray(cut)],
  };
}

test('TF.js graph model of a TF-OD export: model import model.json (uint8 / uint16 / float16 shards) matches the reference', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssd-edge-tfjs-'));
  try {
    const { W, json, shards } = tfjsModel();
    const modelJson = path.join(dir, 'model.json');
    fs.writeFileSync(modelJson, JSON.stringify(json));
    fs.writeFileSync(path.join(dir, 'group1-shard1of2.bin'), shards[0]);
    fs.writeFileSync(path.join(dir, 'group1-shard2of2.bin'), shards[1]);
    const out = path.join(dir, 'coco.onnx');
    const r = await importModelFiles([modelJson], { out, labels: ['background', 'cat', 'dog'] });
    t.is(r.format, 'tfjs');
    t.true(r.report.some((l) => /TensorFlow\.js graph model \(model\.json\)/.test(l)));
    t.true(r.report.some((l) => /TF\.js graph model: \d+ nodes, \d+ weights/.test(l)));
    const loaded = await loadModelFile(out);
    t.deepEqual(loaded.spec.input.mean, [127.5, 127.5, 127.5]);
    const origin = (await inspectModelFile(out)).origin as ModelOrigin;
    t.is(origin.format, 'tfjs');
    t.deepEqual(
      origin.files.map((f) => f.name),
      ['model.json'],
    );
    t.true(r.report.some((l) => /^origin: tfjs import of model\.json/.test(l)));
    const session = await ort.InferenceSession.create(out);
    const rng = mulberry32(9);
    const img = Float32Array.from({ length: 768 }, () => rng() * 2 - 1);
    const res = await session.run({ image: new ort.Tensor('float32', nchw(img, 1), [1, 3, 16, 16]) });
    const ref = reference(W, img);
    t.true(maxRel(res.boxes.data as Float32Array, ref.boxes) < 1e-4);
    t.true(
      maxRel(
        res.scores.data as Float32Array,
        ref.logits.map((v) => v / 2),
      ) < 1e-4,
    );

    // a missing shard, a shard path leaving the folder, a layers model
    fs.rmSync(path.join(dir, 'group1-shard2of2.bin'));
    await t.throwsAsync(importModelFiles([modelJson], { out: path.join(dir, 'x.onnx'), labels: ['a', 'b', 'c'] }), {
      instanceOf: TypeError,
      message:
        /TensorFlow\.js graph model found \(model\.json\); its weight shard 'group1-shard2of2\.bin' is missing next to it \(ENOENT\)/,
    });
    json.weightsManifest[0].paths = ['../group1-shard1of2.bin'];
    fs.writeFileSync(modelJson, JSON.stringify(json));
    await t.throwsAsync(importModelFiles([modelJson], { out: path.join(dir, 'x.onnx') }), {
      instanceOf: TypeError,
      message: /relative to the model\.json's folder but model\.json lists '\.\.\/group1-shard1of2\.bin'/,
    });
    fs.writeFileSync(
      modelJson,
      JSON.stringify({ format: 'layers-model', modelTopology: { config: {} }, weightsManifest: [] }),
    );
    await t.throwsAsync(importModelFiles([modelJson], { out: path.join(dir, 'x.onnx') }), {
      instanceOf: TypeError,
      message: /layers model \(Keras\) found; only graph models/,
    });
    t.false(fs.existsSync(path.join(dir, 'x.onnx')));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('constant folding (anchor generators, shape arithmetic): ops against hand-computed values', (t) => {
  type T = { dims: number[]; data: Float32Array | Int32Array };
  const i = (dims: number[], v: number[]): T => ({ dims, data: Int32Array.from(v) });
  const f = (dims: number[], v: number[]): T => ({ dims, data: Float32Array.from(v) });
  const run = (op: string, ins: T[], attr: Record<string, TfAttr> = {}) => {
    const r = foldTfOp(op, attr, ins, op);
    const plain = (x: { dims: number[]; data: ArrayLike<number> }) => ({ dims: x.dims, data: Array.from(x.data) });
    return Array.isArray(r) ? r.map(plain) : r && plain(r);
  };
  const m23 = f([2, 3], [1, 2, 3, 4, 5, 6]);
  t.deepEqual(run('Sub', [m23, f([3], [1, 1, 2])]), { dims: [2, 3], data: [0, 1, 1, 3, 4, 4] });
  t.deepEqual(run('Mul', [f([2, 1], [2, 3]), f([1, 3], [1, 2, 3])]), { dims: [2, 3], data: [2, 4, 6, 3, 6, 9] });
  t.deepEqual(run('Range', [i([], [1]), i([], [8]), i([], [3])]), { dims: [3], data: [1, 4, 7] });
  t.deepEqual(run('Cast', [f([3], [1.7, -1.7, 0])], { DstT: { type: 'DT_INT32' } }), { dims: [3], data: [1, -1, 0] });
  t.deepEqual(run('Transpose', [m23, i([2], [1, 0])]), { dims: [3, 2], data: [1, 4, 2, 5, 3, 6] });
  t.deepEqual(run('Tile', [f([1, 2], [1, 2]), i([2], [2, 2])]), { dims: [2, 4], data: [1, 2, 1, 2, 1, 2, 1, 2] });
  t.deepEqual(run('Pack', [f([2], [1, 2]), f([2], [3, 4])], { axis: { i: 1 } }), { dims: [2, 2], data: [1, 3, 2, 4] });
  t.deepEqual(run('Unpack', [m23], { axis: { i: 1 } }), [
    { dims: [2], data: [1, 4] },
    { dims: [2], data: [2, 5] },
    { dims: [2], data: [3, 6] },
  ]);
  t.deepEqual(run('ConcatV2', [m23, f([2, 1], [7, 8]), i([], [-1])]), {
    dims: [2, 4],
    data: [1, 2, 3, 7, 4, 5, 6, 8],
  });
  // StridedSlice: x[1:, ::-1] and a shrunk x[0] of a shape vector
  t.deepEqual(
    run('StridedSlice', [m23, i([2], [1, 0]), i([2], [2, 0]), i([2], [1, -1])], {
      end_mask: { i: 2 },
      begin_mask: { i: 2 },
    }),
    {
      dims: [1, 3],
      data: [6, 5, 4],
    },
  );
  t.deepEqual(
    run('StridedSlice', [i([4], [0, 8, 8, 4]), i([1], [0]), i([1], [1]), i([1], [1])], { shrink_axis_mask: { i: 1 } }),
    {
      dims: [],
      data: [0],
    },
  );
  t.deepEqual(run('GatherV2', [m23, i([2], [2, 0]), i([], [1])]), { dims: [2, 2], data: [3, 1, 6, 4] });
  t.deepEqual(run('Split', [i([], [1]), m23], { num_split: { i: 3 } }), [
    { dims: [2, 1], data: [1, 4] },
    { dims: [2, 1], data: [2, 5] },
    { dims: [2, 1], data: [3, 6] },
  ]);
  t.deepEqual(run('SplitV', [m23, i([2], [1, -1]), i([], [1])]), [
    { dims: [2, 1], data: [1, 4] },
    { dims: [2, 2], data: [2, 3, 5, 6] },
  ]);
  t.deepEqual(run('Reshape', [m23, i([2], [-1, 2])]), { dims: [3, 2], data: [1, 2, 3, 4, 5, 6] });
  t.is(run('Conv2D', [m23]), undefined); // not foldable: the importer converts it
  t.throws(() => run('Sub', [m23, f([2], [1, 2])]), {
    instanceOf: TypeError,
    message: /broadcastable shapes in 'Sub'/,
  });
});
