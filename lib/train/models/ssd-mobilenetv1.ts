/**
 * SSD-MobileNetV1 in tfjs: the graph of lib/model/builder/ssd-mobilenetv1.ts (face-api / TF-OD layout) op for op,
 * in NHWC, with the weights held as tfjs variables under the builder's TF names:
 *
 *   input NCHW RGB 0..255 → NHWC → x / 127.5 − 1 (Div then Sub, as the graph)
 *   → conv_0 3×3/2 + relu6, 13 × (depthwise 3×3 + bias (batch norm folded) + relu6, pointwise 1×1 + bias + relu6)
 *     [backbone; conv_11 and conv_13 are the first two feature maps]
 *   → Prediction/Conv2d_0…7 (1×1 s1 / 3×3 s2 alternating, + bias, relu6) [extras; 1, 3, 5, 7 are feature maps]
 *   → per feature map a box predictor (A·4 channels) and a class predictor (A·C channels), 1×1 (or the stored
 *     kernel), no activation [heads] → [B, N, 4] (ty, tx, th, tw) and [B, N, C].
 *
 * Padding is TF 'SAME' as explicit pads (tfSamePadding, the builder's own), so ONNX Runtime and tfjs see the same
 * pads. Weights (builder names, TF layouts — conv HWIO, depthwise [kh, kw, C, 1]):
 * `MobilenetV1/Conv2d_k_pointwise/{weights, convolution_bn_offset}`, `MobilenetV1/Conv2d_k_depthwise/{depthwise_weights,
 * biases}` (folded), `Prediction/Conv2d_k_pointwise/{weights, convolution_bn_offset}`,
 * `Prediction/BoxPredictor_l/{BoxEncodingPredictor, ClassPredictor}/{weights, biases}`.
 */
import type * as tfc from '@tensorflow/tfjs-core';
import { buildSsdMobilenetV1 } from '../../model/builder/ssd-mobilenetv1.ts';
import type { WeightsMap } from '../../model/builder/weights.ts';
import { tfSamePadding } from '../../model/graph.ts';
import type { ModelProto } from '../../model/onnx.ts';
import type { ModelSpec } from '../../model/spec.ts';
import { TfSsd, type Group } from './base.ts';
import { conv2d, depthwiseConv2d, flattenHead } from './layers.ts';
import type { Freeze, HeadOutputs, Tf, WeightEntry } from './types.ts';

/** Depthwise layers with stride 2 (face-api getStridesForLayerIdx). */
const STRIDE2 = [2, 4, 6, 12];
const LEVELS = 6;

const pw = (i: number) => `MobilenetV1/Conv2d_${i}_pointwise`;
const dw = (i: number) => `MobilenetV1/Conv2d_${i}_depthwise`;
const pred = (i: number) => `Prediction/Conv2d_${i}_pointwise`;
const boxHead = (l: number) => `Prediction/BoxPredictor_${l}/BoxEncodingPredictor`;
const clsHead = (l: number) => `Prediction/BoxPredictor_${l}/ClassPredictor`;

/** The builder's weight names with their group, in graph order. */
export function mobilenetV1WeightNames(): Array<{ name: string; group: Group }> {
  const out: Array<{ name: string; group: Group }> = [];
  const add = (prefix: string, w: string, b: string, group: Group) =>
    out.push({ name: `${prefix}/${w}`, group }, { name: `${prefix}/${b}`, group });
  add(pw(0), 'weights', 'convolution_bn_offset', 'backbone');
  for (let i = 1; i <= 13; i++) {
    add(dw(i), 'depthwise_weights', 'biases', 'backbone');
    add(pw(i), 'weights', 'convolution_bn_offset', 'backbone');
  }
  for (let i = 0; i <= 7; i++) add(pred(i), 'weights', 'convolution_bn_offset', 'extras');
  for (let l = 0; l < LEVELS; l++) {
    add(boxHead(l), 'weights', 'biases', 'heads');
    add(clsHead(l), 'weights', 'biases', 'heads');
  }
  return out;
}

/** Cut points: tensor names of the builder's graph. */
const BACKBONE_OUT = [`${pw(11)}/relu6`, `${pw(13)}/relu6`];
const FEATURES = [...BACKBONE_OUT, ...[1, 3, 5, 7].map((i) => `${pred(i)}/relu6`)];

export class SsdMobilenetV1Tf extends TfSsd {
  /**
   * @param weights Builder weight map in TF layout (see the file header); data arrays are handed over.
   * @param spec The spec as exported (input name 'image', outputs box_encodings / class_logits).
   */
  constructor(
    tf: Tf,
    weights: Record<string, WeightEntry>,
    spec: ModelSpec,
    anchors: Float32Array,
    numAnchors: number,
  ) {
    super(tf, 'ssd-mobilenetv1', spec, anchors, numAnchors);
    for (const { name, group } of mobilenetV1WeightNames()) {
      const w = weights[name];
      if (!w) throw new TypeError(`Expected weight '${name}' for ssd-mobilenetv1 but it is missing`);
      this.addParam(name, w.data, w.shape, group);
    }
  }

  protected cutNames(freeze: Freeze): string[] {
    if (freeze === 'extras') return [...FEATURES];
    if (freeze === 'backbone') return [...BACKBONE_OUT];
    return [this.spec.input.name];
  }

  /** conv (HWIO weights) + bias + relu6 with TF SAME pads. */
  private pointwise(x: tfc.Tensor4D, prefix: string, stride: number): tfc.Tensor4D {
    const w = this.p<tfc.Rank.R4>(`${prefix}/weights`);
    const [kh, kw] = w.shape;
    const { pads } = tfSamePadding([x.shape[1], x.shape[2]], [kh, kw], [stride, stride]);
    const y = conv2d(this.tf, x, w, this.p(`${prefix}/convolution_bn_offset`), stride, pads);
    return this.tf.relu6(y);
  }

  private depthwise(x: tfc.Tensor4D, prefix: string, stride: number): tfc.Tensor4D {
    const w = this.p<tfc.Rank.R4>(`${prefix}/depthwise_weights`);
    const [kh, kw] = w.shape;
    const { pads } = tfSamePadding([x.shape[1], x.shape[2]], [kh, kw], [stride, stride]);
    return this.tf.relu6(depthwiseConv2d(this.tf, x, w, this.p(`${prefix}/biases`), stride, pads));
  }

  private backbone(image: tfc.Tensor4D): tfc.Tensor4D[] {
    const { tf } = this;
    let x = tf.sub(tf.div(image, tf.scalar(127.5)), tf.scalar(1)) as tfc.Tensor4D;
    x = this.pointwise(x, pw(0), 2);
    let conv11 = x;
    for (let i = 1; i <= 13; i++) {
      x = this.depthwise(x, dw(i), STRIDE2.includes(i) ? 2 : 1);
      x = this.pointwise(x, pw(i), 1);
      if (i === 11) conv11 = x;
    }
    return [conv11, x];
  }

  private extras(conv13: tfc.Tensor4D): tfc.Tensor4D[] {
    const out: tfc.Tensor4D[] = [];
    let p = conv13;
    for (let i = 0; i <= 7; i++) {
      p = this.pointwise(p, pred(i), i % 2 === 1 ? 2 : 1);
      if (i % 2 === 1) out.push(p);
    }
    return out;
  }

  private heads(features: tfc.Tensor4D[]): HeadOutputs {
    const { tf } = this;
    const box: tfc.Tensor3D[] = [];
    const cls: tfc.Tensor3D[] = [];
    features.forEach((f, l) => {
      for (const [prefix, k, parts] of [
        [boxHead(l), 4, box],
        [clsHead(l), this.numClasses, cls],
      ] as const) {
        const w = this.p<tfc.Rank.R4>(`${prefix}/weights`);
        const [kh, kw] = w.shape;
        const { pads } = tfSamePadding([f.shape[1], f.shape[2]], [kh, kw], [1, 1]);
        parts.push(flattenHead(tf, conv2d(tf, f, w, this.p(`${prefix}/biases`), 1, pads), k));
      }
    });
    return { boxRegression: tf.concat(box, 1), classLogits: tf.concat(cls, 1) };
  }

  protected forwardNhwc(freeze: Freeze, cut: tfc.Tensor4D[]): HeadOutputs {
    if (freeze === 'extras') return this.heads(cut);
    const [conv11, conv13] = freeze === 'backbone' ? cut : this.backbone(cut[0]);
    return this.heads([conv11, conv13, ...this.extras(conv13)]);
  }

  protected buildGraph(weights: WeightsMap, producerVersion?: string): ModelProto {
    const { height, width } = this.spec.input;
    if (height !== width)
      throw new RangeError(`Expected a square input for ssd-mobilenetv1 but received ${width}×${height}`);
    const { model, numAnchors, numClasses, used } = buildSsdMobilenetV1(weights, {
      inputSize: height,
      numClasses: this.numClasses,
      producerVersion,
      docString:
        `SSD MobileNetV1 (${this.spec.labels.slice(1).join(', ')}) exported by ssd-edge/train. Input image: float32 NCHW ` +
        `RGB 0..255 (${width}x${height}, normalized inside as x/127.5-1). Outputs: box_encodings (ty,tx,th,tw) and class_logits.`,
    });
    if (numAnchors !== this.numAnchors || numClasses !== this.numClasses || used.size !== Object.keys(weights).length)
      throw new Error(
        `ssd-mobilenetv1 export: built ${numAnchors} anchors × ${numClasses} classes from ${used.size} weights`,
      );
    return model;
  }
}
