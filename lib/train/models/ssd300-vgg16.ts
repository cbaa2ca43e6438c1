/**
 * SSD300-VGG16 in tfjs, the paper's network as lib/model/builder/ssd300-vgg16.ts builds it (torchvision
 * `ssd300_vgg16`), in NHWC with the weights as tfjs variables under torchvision's parameter names:
 *
 *   input NCHW [B, 3, 300, 300], normalized by the detector's preprocessing (the graph itself does not normalize)
 *   → VGG16 conv1_1 … conv4_3 (3×3 pad 1 + ReLU; 2×2/2 max pools, the third in ceil mode: 75 → 38)
 *   → L2Norm: scale · x / max(‖x‖₂ over channels, 1e-12), scale learned (init 20)           feature 0 (38×38)
 *   → pool4 2×2/2 → conv5_1 … conv5_3 → pool5 3×3/1 pad 1 → conv6 3×3 dilation 6 → conv7 1×1 feature 1 (19×19)
 *     [backbone]
 *   → conv8_1 1×1 → conv8_2 3×3/2 pad 1, conv9 likewise, conv10_2 / conv11_2 3×3 no pad  features 2–5 [extras]
 *   → per feature a 3×3 pad 1 regression head (4·A) and classification head (C·A), A = 4, 6, 6, 6, 4, 4 [heads]
 *   → [B, 8732, 4] (dx, dy, dw, dh), [B, 8732, C].
 *
 * getWeights/setWeights use torchvision's names and PyTorch layouts (conv OIHW, `backbone.scale_weight` [C]);
 * inside, conv filters are HWIO.
 */
import type * as tfc from '@tensorflow/tfjs-core';
import { buildSsd300Vgg16 } from '../../model/builder/ssd300-vgg16.ts';
import type { WeightsMap } from '../../model/builder/weights.ts';
import type { ModelProto } from '../../model/onnx.ts';
import type { ModelSpec } from '../../model/spec.ts';
import { TfSsd, type Group } from './base.ts';
import { conv2d, flattenHead, hwioToOihw, maxPool, oihwToHwio } from './layers.ts';
import type { Freeze, HeadOutputs, Tf, WeightEntry } from './types.ts';

const VGG_BLOCKS = [
  [0, 2],
  [5, 7],
  [10, 12, 14],
  [17, 19, 21],
];
/** extra.1..4: (stride, pad) of the 3×3 conv. */
const EXTRA_STRIDES = [
  [2, 1],
  [2, 1],
  [1, 0],
  [1, 0],
];
const LEVELS = 6;

/** The convs (torchvision module prefixes) with their group, in graph order. */
export function ssd300ConvPrefixes(): Array<{ prefix: string; group: Group }> {
  const out: Array<{ prefix: string; group: Group }> = [];
  for (const i of VGG_BLOCKS.flat()) out.push({ prefix: `backbone.features.${i}`, group: 'backbone' });
  for (const i of [1, 3, 5]) out.push({ prefix: `backbone.extra.0.${i}`, group: 'backbone' });
  out.push(
    { prefix: 'backbone.extra.0.7.1', group: 'backbone' },
    { prefix: 'backbone.extra.0.7.3', group: 'backbone' },
  );
  for (let k = 1; k <= 4; k++)
    out.push(
      { prefix: `backbone.extra.${k}.0`, group: 'extras' },
      { prefix: `backbone.extra.${k}.2`, group: 'extras' },
    );
  for (let l = 0; l < LEVELS; l++)
    out.push(
      { prefix: `head.regression_head.module_list.${l}`, group: 'heads' },
      { prefix: `head.classification_head.module_list.${l}`, group: 'heads' },
    );
  return out;
}

const BACKBONE_OUT = ['backbone.l2norm', 'backbone.extra.0.7.3/relu'];
const FEATURES = [...BACKBONE_OUT, ...[1, 2, 3, 4].map((k) => `backbone.extra.${k}.2/relu`)];

const isConvWeight = (name: string) => name.endsWith('.weight');

export class Ssd300Vgg16Tf extends TfSsd {
  /**
   * @param weights torchvision names, PyTorch layouts (conv OIHW, scale [C]).
   * @param spec The spec as exported (input 'images', outputs bbox_regression / cls_logits).
   */
  constructor(
    tf: Tf,
    weights: Record<string, WeightEntry>,
    spec: ModelSpec,
    anchors: Float32Array,
    numAnchors: number,
  ) {
    super(tf, 'ssd300-vgg16', spec, anchors, numAnchors);
    const take = (name: string, group: Group) => {
      const w = weights[name];
      if (!w) throw new TypeError(`Expected weight '${name}' for ssd300-vgg16 but it is missing`);
      const t = this.toTfLayout(name, w);
      this.addParam(name, t.data, t.shape, group);
    };
    for (const { prefix, group } of ssd300ConvPrefixes()) {
      take(`${prefix}.weight`, group);
      take(`${prefix}.bias`, group);
      if (prefix === 'backbone.features.21') take('backbone.scale_weight', 'backbone');
    }
  }

  protected toTfLayout(name: string, w: WeightEntry): WeightEntry {
    if (!isConvWeight(name)) return w;
    const [o, i, kh, kw] = w.shape;
    return { data: oihwToHwio(w.data, w.shape), shape: [kh, kw, i, o] };
  }

  protected toBuilderLayout(name: string, w: WeightEntry): WeightEntry {
    if (!isConvWeight(name)) return w;
    const [kh, kw, i, o] = w.shape;
    return { data: w.data.length ? hwioToOihw(w.data, w.shape) : w.data, shape: [o, i, kh, kw] };
  }

  protected cutNames(freeze: Freeze): string[] {
    if (freeze === 'extras') return [...FEATURES];
    if (freeze === 'backbone') return [...BACKBONE_OUT];
    return [this.spec.input.name];
  }

  private conv(
    x: tfc.Tensor4D,
    prefix: string,
    o: { stride?: number; pad?: number; dilation?: number; relu?: boolean } = {},
  ) {
    const { stride = 1, pad = 0, dilation = 1, relu = true } = o;
    const y = conv2d(
      this.tf,
      x,
      this.p(`${prefix}.weight`),
      this.p(`${prefix}.bias`),
      stride,
      [pad, pad, pad, pad],
      dilation,
    );
    return relu ? this.tf.relu(y) : y;
  }

  private backbone(images: tfc.Tensor4D): tfc.Tensor4D[] {
    const { tf } = this;
    let x = images;
    VGG_BLOCKS.forEach((block, b) => {
      if (b > 0) x = maxPool(tf, x, 2, 2, 0, b === 3);
      for (const i of block) x = this.conv(x, `backbone.features.${i}`, { pad: 1 });
    });
    const conv43 = x;
    // L2Norm; max(√s, 1e-12) = √max(s, 1e-24) but with a finite gradient where a location is all zeros
    const norm = tf.sqrt(tf.maximum(tf.sum(tf.square(conv43), 3, true), tf.scalar(1e-24)));
    const f0 = tf.mul(tf.div(conv43, norm), this.p('backbone.scale_weight')) as tfc.Tensor4D;
    x = maxPool(tf, conv43, 2, 2);
    for (const i of [1, 3, 5]) x = this.conv(x, `backbone.extra.0.${i}`, { pad: 1 });
    x = maxPool(tf, x, 3, 1, 1);
    x = this.conv(x, 'backbone.extra.0.7.1', { pad: 6, dilation: 6 });
    x = this.conv(x, 'backbone.extra.0.7.3');
    return [f0, x];
  }

  private extras(conv7: tfc.Tensor4D): tfc.Tensor4D[] {
    const out: tfc.Tensor4D[] = [];
    let x = conv7;
    EXTRA_STRIDES.forEach(([stride, pad], k) => {
      x = this.conv(x, `backbone.extra.${k + 1}.0`);
      x = this.conv(x, `backbone.extra.${k + 1}.2`, { stride, pad });
      out.push(x);
    });
    return out;
  }

  private heads(features: tfc.Tensor4D[]): HeadOutputs {
    const { tf } = this;
    const box: tfc.Tensor3D[] = [];
    const cls: tfc.Tensor3D[] = [];
    features.forEach((f, l) => {
      box.push(flattenHead(tf, this.conv(f, `head.regression_head.module_list.${l}`, { pad: 1, relu: false }), 4));
      cls.push(
        flattenHead(
          tf,
          this.conv(f, `head.classification_head.module_list.${l}`, { pad: 1, relu: false }),
          this.numClasses,
        ),
      );
    });
    return { boxRegression: tf.concat(box, 1), classLogits: tf.concat(cls, 1) };
  }

  protected forwardNhwc(freeze: Freeze, cut: tfc.Tensor4D[]): HeadOutputs {
    if (freeze === 'extras') return this.heads(cut);
    const [f0, conv7] = freeze === 'backbone' ? cut : this.backbone(cut[0]);
    return this.heads([f0, conv7, ...this.extras(conv7)]);
  }

  protected buildGraph(weights: WeightsMap, producerVersion?: string): ModelProto {
    const { model, numAnchors, numClasses } = buildSsd300Vgg16(weights, {
      producerVersion,
      docString:
        `SSD300-VGG16 (${this.spec.labels.slice(1).join(', ')}) exported by ssd-edge/train: images [B,3,300,300] ` +
        `normalized → bbox_regression [B,8732,4] (dx,dy,dw,dh), cls_logits [B,8732,${this.numClasses}].`,
    });
    if (numAnchors !== this.numAnchors || numClasses !== this.numClasses)
      throw new Error(`ssd300-vgg16 export: built ${numAnchors} anchors × ${numClasses} classes`);
    return model;
  }
}
