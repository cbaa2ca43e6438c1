/**
 * SSD300-VGG16 (Liu et al. 2016, as torchvision 0.14 `ssd300_vgg16`) → ONNX graph, from a weights map keyed by
 * torchvision parameter names (a `state_dict`, or the initializers of a torchvision ONNX export via
 * {@link torchvisionWeightsFromOnnx}).
 *
 * Graph (NCHW, every conv + ReLU unless said otherwise; names = torchvision's modules):
 * - `backbone.features` = VGG16 conv1_1 … conv4_3 (3×3, pad 1) with 2×2/2 max pools after conv1_2, conv2_2 and
 *   conv3_3 — the third in **ceil mode** (75 → 38); conv4_3 gives 38×38×512.
 * - feature 0 = `backbone.scale_weight` (per channel, init 20) · conv4_3 / max(‖conv4_3‖₂ over channels, 1e-12)
 *   (torch `F.normalize`).
 * - `backbone.extra.0` = pool4 2×2/2 → conv5_1…conv5_3 (3×3, pad 1) → pool5 3×3/1 pad 1 → conv6 3×3 dilation 6
 *   pad 6 → 1024 → conv7 1×1 → 1024 (19×19): feature 1.
 * - `backbone.extra.1..4` = 1×1 conv then 3×3 conv: conv8_2 (stride 2, pad 1, 512, 10×10), conv9_2 (stride 2, pad 1,
 *   256, 5×5), conv10_2 (no pad, 256, 3×3), conv11_2 (no pad, 256, 1×1): features 2–5.
 * - heads: per feature k a 3×3 pad 1 conv (no ReLU) with 4·A_k (`head.regression_head.module_list.k`) and C·A_k
 *   (`head.classification_head.module_list.k`) channels, A = 4, 6, 6, 6, 4, 4; each [B, A·K, H, W] → NHWC →
 *   [B, H·W·A, K] (anchor index (y·W + x)·A + a, torchvision's `view/permute/reshape`), concatenated over levels.
 * Input `images` [B, 3, 300, 300] normalized as torchvision does; outputs `bbox_regression` [B, 8732, 4]
 * (dx, dy, dw, dh) and `cls_logits` [B, 8732, C] — the interface of a torchvision raw-head export, so
 * `importTorchvisionSsd` can write its spec.
 */
import { assertKnownKeys, assertObject } from '../../is.ts';
import { GraphBuilder, int64s, type Dim } from '../graph.ts';
import { tensorToArray, type ModelProto } from '../onnx.ts';
import { WeightReader, type WeightsMap } from './weights.ts';

export interface Ssd300Vgg16Options {
  /** Batch dimension: a number or a symbolic name (default 'batch'). */
  batch?: Dim;
  producerVersion?: string;
  docString?: string;
}

export interface Ssd300Vgg16Build {
  model: ModelProto;
  /** 8732. */
  numAnchors: number;
  /** C (from the classification head), background included. */
  numClasses: number;
}

const INPUT = 300;
const VGG_BLOCKS = [
  [0, 2],
  [5, 7],
  [10, 12, 14],
  [17, 19, 21],
]; // backbone.features indices of the convs
const EXTRA_STRIDES = [
  [2, 1],
  [2, 1],
  [1, 0],
  [1, 0],
]; // extra.1..4: (stride, pad) of the 3×3 conv

/**
 * Builds the ONNX graph of torchvision's SSD300-VGG16 from its parameters (see the file header).
 *
 * @param weights torchvision parameter names → { dims, data } (float32, PyTorch layouts: conv OIHW).
 * @throws {TypeError} A parameter is missing, misshapen, or left over (a weights map of another model).
 * @example
 * const { model } = buildSsd300Vgg16(torchvisionWeightsFromOnnx(readOnnx(fs.readFileSync('ssd300.onnx'))));
 */
export function buildSsd300Vgg16(weights: WeightsMap, options: Ssd300Vgg16Options = {}): Ssd300Vgg16Build {
  assertObject('options', options as unknown);
  assertKnownKeys('options', options, ['batch', 'producerVersion', 'docString'] satisfies ReadonlyArray<
    keyof Ssd300Vgg16Options
  >);
  const batch = options.batch ?? 'batch';
  const w = new WeightReader(weights, 'SSD300-VGG16');
  const g = new GraphBuilder('ssd300_vgg16');
  g.addInput('images', [batch, 3, INPUT, INPUT]);

  /** Conv (+ ReLU) from torchvision parameters `${prefix}.weight` / `${prefix}.bias`. */
  const conv = (
    x: string,
    prefix: string,
    o: { stride?: number; pad?: number; dilation?: number; relu?: boolean } = {},
  ) => {
    const dims = w.dims(`${prefix}.weight`);
    if (dims.length !== 4)
      throw new TypeError(
        `Expected dims [O, I, kh, kw] for SSD300-VGG16 weight '${prefix}.weight' but received [${dims}]`,
      );
    const weight = g.addInitializer(`${prefix}.weight`, w.get(`${prefix}.weight`), dims);
    const bias = g.addInitializer(`${prefix}.bias`, w.get(`${prefix}.bias`, [dims[0]]), [dims[0]]);
    const { stride = 1, pad = 0, dilation = 1, relu = true } = o;
    const y = g.op(
      'Conv',
      [x, weight, bias],
      {
        kernel_shape: [dims[2], dims[3]],
        strides: [stride, stride],
        pads: [pad, pad, pad, pad],
        dilations: [dilation, dilation],
      },
      prefix,
    );
    return relu ? g.op('Relu', [y], {}, `${prefix}/relu`) : y;
  };
  const maxPool = (x: string, name: string, k: number, s: number, pad = 0, ceil = 0) =>
    g.op('MaxPool', [x], { kernel_shape: [k, k], strides: [s, s], pads: [pad, pad, pad, pad], ceil_mode: ceil }, name);

  // VGG16 up to conv4_3 (pool3 in ceil mode).
  let x = 'images';
  VGG_BLOCKS.forEach((block, b) => {
    if (b > 0) x = maxPool(x, `backbone.features.pool${b}`, 2, 2, 0, b === 3 ? 1 : 0);
    for (const i of block) x = conv(x, `backbone.features.${i}`, { pad: 1 });
  });
  const conv4_3 = x;

  // L2Norm with learned scale: scale · x / max(‖x‖₂, 1e-12).
  const width = w.dims('backbone.features.21.weight')[0]; // 512 (narrower in generated test models)
  const scale = g.addInitializer('backbone.scale_weight', w.get('backbone.scale_weight', [width]), [1, width, 1, 1]);
  const norm = g.op('ReduceL2', [conv4_3], { axes: [1], keepdims: 1 }, 'backbone.l2norm/norm');
  const eps = g.addInitializer('backbone.l2norm/eps', new Float32Array([1e-12]), []);
  const clamped = g.op('Clip', [norm, eps], {}, 'backbone.l2norm/clamp');
  const features = [
    g.op('Mul', [g.op('Div', [conv4_3, clamped], {}, 'backbone.l2norm/div'), scale], {}, 'backbone.l2norm'),
  ];

  // extra.0: pool4, conv5_x, pool5 (3×3/1 pad 1), conv6 (dilated), conv7.
  x = maxPool(conv4_3, 'backbone.extra.0.0', 2, 2);
  for (const i of [1, 3, 5]) x = conv(x, `backbone.extra.0.${i}`, { pad: 1 });
  x = maxPool(x, 'backbone.extra.0.7.0', 3, 1, 1);
  x = conv(x, 'backbone.extra.0.7.1', { pad: 6, dilation: 6 });
  x = conv(x, 'backbone.extra.0.7.3');
  features.push(x);
  // extra.1..4: conv8_2 … conv11_2.
  EXTRA_STRIDES.forEach(([stride, pad], k) => {
    x = conv(x, `backbone.extra.${k + 1}.0`);
    x = conv(x, `backbone.extra.${k + 1}.2`, { stride, pad });
    features.push(x);
  });

  // Heads. Feature sizes of a 300 input: 38, 19, 10, 5, 3, 1.
  const sizes = [38, 19, 10, 5, 3, 1];
  const numClasses =
    w.dims('head.classification_head.module_list.0.weight')[0] /
    (w.dims('head.regression_head.module_list.0.weight')[0] / 4);
  if (!Number.isInteger(numClasses))
    throw new TypeError('Expected classification head channels a multiple of the anchors per location');
  const parts: Record<'regression' | 'classification', string[]> = { regression: [], classification: [] };
  let numAnchors = 0;
  features.forEach((f, k) => {
    const anchors = w.dims(`head.regression_head.module_list.${k}.weight`)[0] / 4;
    numAnchors += sizes[k] * sizes[k] * anchors;
    for (const [head, K] of [
      ['regression', 4],
      ['classification', numClasses],
    ] as const) {
      const prefix = `head.${head}_head.module_list.${k}`;
      const got = w.dims(`${prefix}.weight`)[0];
      if (got !== anchors * K)
        throw new TypeError(`Expected ${anchors * K} output channels for '${prefix}.weight' but received ${got}`);
      const y = conv(f, prefix, { pad: 1, relu: false });
      const shape = g.has(`head/shape_${K}`)
        ? `head/shape_${K}`
        : g.addInitializer(`head/shape_${K}`, int64s([0, -1, K]), [3]);
      parts[head].push(
        g.op(
          'Reshape',
          [g.op('Transpose', [y], { perm: [0, 2, 3, 1] }, `${prefix}/nhwc`), shape],
          {},
          `${prefix}/flat`,
        ),
      );
    }
  });
  g.addNode('Concat', parts.regression, ['bbox_regression'], { axis: 1 });
  g.addNode('Concat', parts.classification, ['cls_logits'], { axis: 1 });
  g.addOutput('bbox_regression', [batch, numAnchors, 4]);
  g.addOutput('cls_logits', [batch, numAnchors, numClasses]);

  const unused = w.unused();
  if (unused.length)
    throw new TypeError(`Expected only SSD300-VGG16 parameters but ${unused.join(', ')} were not used`);
  const model = g.toModel({
    producerName: 'ssd-edge',
    producerVersion: options.producerVersion,
    docString:
      options.docString ??
      'SSD300-VGG16 (torchvision layout) built by ssd-edge: images [B,3,300,300] normalized → ' +
        'bbox_regression [B,8732,4] (dx,dy,dw,dh), cls_logits [B,8732,C].',
  });
  return { model, numAnchors, numClasses };
}

/**
 * The torchvision parameters held by a torchvision ONNX export, as a weights map for {@link buildSsd300Vgg16}.
 *
 * torch.onnx.export (torch 1.13, constant folding on) keeps parameter names as initializer names with two
 * exceptions, both resolved here:
 * - parameters with identical values (e.g. zero-initialized biases) are stored once; the others appear as
 *   `Identity` nodes from the stored initializer to their own name → aliased;
 * - `backbone.scale_weight` is folded with its `.view(1, −1, 1, 1)` into an anonymous [1, 512, 1, 1] initializer
 *   (e.g. `onnx::Mul_439`) feeding a `Mul` → mapped back to [512].
 * Non-float initializers (shape constants) are skipped.
 */
export function torchvisionWeightsFromOnnx(model: ModelProto): WeightsMap {
  const out: WeightsMap = {};
  for (const t of model.graph.initializer ?? []) {
    if (t.data_type !== 1 || !t.name) continue; // FLOAT only
    out[t.name] = { dims: [...(t.dims ?? [])], data: tensorToArray(t) as Float32Array };
  }
  for (const n of model.graph.node) {
    if (n.op_type === 'Identity' && out[n.input[0]] && !out[n.output[0]]) out[n.output[0]] = out[n.input[0]];
  }
  if (!out['backbone.scale_weight']) {
    const mul = model.graph.node.find(
      (n) => n.op_type === 'Mul' && n.input.some((i) => out[i]?.dims.join() === '1,512,1,1'),
    );
    const name = mul?.input.find((i) => out[i]?.dims.join() === '1,512,1,1');
    if (name) {
      out['backbone.scale_weight'] = { dims: [512], data: out[name].data };
      delete out[name];
    }
  }
  return out;
}
