/**
 * loadTrainable: an ssd-edge ONNX model (the default face model, an SSD300-VGG16 built by the project's builder or
 * imported from torchvision) → a {@link TrainableSsd} whose weights are the model's initializers, read back under the
 * graph builder's names; optionally with a new class set (a new class head, the box head kept).
 */
import {
  assertArray,
  assertInteger,
  assertKnownKeys,
  assertObject,
  assertOneOf,
  invalidParameterError,
} from '../../is.ts';
import { torchvisionWeightsFromOnnx } from '../../model/builder/ssd300-vgg16.ts';
import { readModelBytes } from '../../model/file.ts';
import { readModelSpec } from '../../model/metadata.ts';
import { readOnnxFrom, tensorToArray, type ModelProto } from '../../model/onnx.ts';
import { resolveAnchors, validateModelSpec, type ModelSpec } from '../../model/spec.ts';
import { ensureDefaultModel } from '../../model/zoo.ts';
import { TRAIN_EXPORT_CONVERTER, type TfSsd } from './base.ts';
import { hwioToOihw, oihwToHwio, seededUniform, xavierUniform } from './layers.ts';
import { mobilenetV1WeightNames, SsdMobilenetV1Tf } from './ssd-mobilenetv1.ts';
import { Ssd300Vgg16Tf, ssd300ConvPrefixes } from './ssd300-vgg16.ts';
import type { Architecture, Tf, TrainableSsd, WeightEntry } from './types.ts';

export interface LoadTrainableOptions {
  /**
   * A new class set (names without the background, which becomes label 0): the class head is replaced by a new one
   * of A·(c + 1) channels per feature map, Xavier-uniform weights (seeded) and zero biases; the box head is kept and
   * the exported spec scores with softmax, background 0 (what the SSD loss trains). Omitted: the base classes, head
   * and scoring are kept.
   */
  classes?: string[];
  /** Seed of the new class head's initialization (default 0). */
  seed?: number;
  /**
   * Scoring written into the spec (`postprocess.scoring`): default 'softmax' with a new class set, the base's
   * otherwise. The SSD loss trains softmax scores, so fine-tuning a sigmoid-scored base (the face model) on its own
   * classes should set 'softmax'; keeping 'sigmoid' is right only while the class head is not trained.
   */
  scoring?: 'softmax' | 'sigmoid';
}

const LOAD_OPTION_KEYS = ['classes', 'seed', 'scoring'] as const satisfies ReadonlyArray<keyof LoadTrainableOptions>;

export const ARCHITECTURES: readonly Architecture[] = Object.freeze(['ssd-mobilenetv1', 'ssd300-vgg16'] as const);

/** Float initializers by name (PyTorch / ONNX layouts). */
function floatInitializers(model: ModelProto): Map<string, WeightEntry> {
  const out = new Map<string, WeightEntry>();
  for (const t of model.graph.initializer ?? []) {
    if (t.data_type !== 1 || !t.name) continue;
    out.set(t.name, { shape: [...(t.dims ?? [])], data: tensorToArray(t) as Float32Array });
  }
  return out;
}

function need(map: Map<string, WeightEntry>, name: string, what: string): WeightEntry {
  const w = map.get(name);
  if (!w)
    throw new TypeError(
      `Expected initializer '${name}' in ${what} (a graph of the ssd-edge builder) but it is missing`,
    );
  return w;
}

/** Keeps the first `cols` of every anchor's `stride` class columns (the last axis of a HWIO filter or a bias). */
function keepColumns(data: Float32Array, outChannels: number, stride: number, cols: number): Float32Array {
  const anchors = outChannels / stride;
  const rows = data.length / outChannels;
  const out = new Float32Array(rows * anchors * cols);
  for (let r = 0; r < rows; r++)
    for (let a = 0; a < anchors; a++)
      for (let k = 0; k < cols; k++) out[(r * anchors + a) * cols + k] = data[r * outChannels + a * stride + k];
  return out;
}

/** A new class head filter (HWIO [kh, kw, cin, A·C]) and zero bias, Xavier-uniform from `rand`. */
function newClassHead(kh: number, kw: number, cin: number, outChannels: number, rand: () => number): WeightEntry[] {
  const shape = [kh, kw, cin, outChannels];
  return [
    { data: xavierUniform(shape, rand), shape },
    { data: new Float32Array(outChannels), shape: [outChannels] },
  ];
}

/** SSD-MobileNetV1 weights (TF names, HWIO) from the builder's graph (`<prefix>/weight` OIHW, `<prefix>/bias`). */
function mobilenetWeights(model: ModelProto, what: string, numClasses: number, rand: (() => number) | null) {
  const init = floatInitializers(model);
  // the builder normalizes inside the graph (Div by 127.5, Sub 1): the tfjs model does the same, so insist on it
  const div = model.graph.node.find((n) => n.op_type === 'Div' && n.output[0] === 'preprocess/div');
  const c = div && init.get(div.input[1]);
  if (c?.data.length !== 1 || c.data[0] !== 127.5)
    throw new TypeError(`Expected the ssd-mobilenetv1 graph of the ssd-edge builder (x/127.5 − 1 inside) for ${what}`);
  const weights: Record<string, WeightEntry> = {};
  for (const { name } of mobilenetV1WeightNames()) {
    const slash = name.lastIndexOf('/');
    const prefix = name.slice(0, slash);
    const isWeight = /weights$/.test(name.slice(slash + 1));
    const src = need(init, `${prefix}/${isWeight ? 'weight' : 'bias'}`, what);
    if (!isWeight) {
      weights[name] = { data: src.data, shape: src.shape };
      continue;
    }
    const [o, i, kh, kw] = src.shape;
    // depthwise [C, 1, kh, kw] → [kh, kw, C, 1] has the data order of HWIO [kh, kw, 1, C]
    weights[name] = {
      data: oihwToHwio(src.data, src.shape),
      shape: name.endsWith('depthwise_weights') ? [kh, kw, o, i] : [kh, kw, i, o],
    };
  }
  for (let l = 0; l < 6; l++) {
    const box = weights[`Prediction/BoxPredictor_${l}/BoxEncodingPredictor/weights`];
    const anchors = box.shape[3] / 4;
    const w = `Prediction/BoxPredictor_${l}/ClassPredictor/weights`;
    const b = `Prediction/BoxPredictor_${l}/ClassPredictor/biases`;
    const [kh, kw, cin, channels] = weights[w].shape;
    if (rand) {
      [weights[w], weights[b]] = newClassHead(kh, kw, cin, anchors * numClasses, rand);
      continue;
    }
    const cols = channels / anchors;
    if (!Number.isInteger(cols) || cols < numClasses)
      throw new TypeError(
        `Expected at least ${numClasses} class columns per anchor in ${w} of ${what} but received ${cols}`,
      );
    if (cols > numClasses) {
      // the graph slices the logits to the spec's labels (face-api: 3 columns, 2 used): keep what is used
      weights[w] = {
        data: keepColumns(weights[w].data, channels, cols, numClasses),
        shape: [kh, kw, cin, anchors * numClasses],
      };
      weights[b] = { data: keepColumns(weights[b].data, channels, cols, numClasses), shape: [anchors * numClasses] };
    }
  }
  return weights;
}

/** SSD300-VGG16 weights (torchvision names, OIHW) from the builder's graph or a torchvision export. */
function vggWeights(model: ModelProto, what: string, numClasses: number, rand: (() => number) | null) {
  const map = new Map(
    Object.entries(torchvisionWeightsFromOnnx(model)).map(([k, v]) => [k, { data: v.data, shape: v.dims }]),
  );
  const weights: Record<string, WeightEntry> = {};
  for (const { prefix } of ssd300ConvPrefixes())
    for (const name of [`${prefix}.weight`, `${prefix}.bias`]) weights[name] = need(map, name, what);
  const scale = need(map, 'backbone.scale_weight', what);
  weights['backbone.scale_weight'] = { data: scale.data, shape: [scale.data.length] };
  for (let l = 0; l < 6; l++) {
    const anchors = weights[`head.regression_head.module_list.${l}.weight`].shape[0] / 4;
    const w = `head.classification_head.module_list.${l}.weight`;
    const b = `head.classification_head.module_list.${l}.bias`;
    const [o, cin, kh, kw] = weights[w].shape;
    if (rand) {
      const [hw, bias] = newClassHead(kh, kw, cin, anchors * numClasses, rand);
      weights[w] = { data: hwioToOihw(hw.data, hw.shape), shape: [anchors * numClasses, cin, kh, kw] };
      weights[b] = bias;
    } else if (o !== anchors * numClasses)
      throw new TypeError(
        `Expected ${anchors * numClasses} output channels in ${w} of ${what} (labels × anchors) but received ${o}`,
      );
  }
  return weights;
}

const IO: Record<Architecture, { input: string; boxes: string; scores: string }> = {
  'ssd-mobilenetv1': { input: 'image', boxes: 'box_encodings', scores: 'class_logits' },
  'ssd300-vgg16': { input: 'images', boxes: 'bbox_regression', scores: 'cls_logits' },
};

function checkClasses(classes: unknown): asserts classes is string[] {
  assertArray('options.classes', classes);
  classes.forEach((c, k) => {
    if (typeof c !== 'string' || c.trim().length === 0)
      throw invalidParameterError(`options.classes[${k}]`, 'non-empty string', c);
  });
  const dup = classes.find((c, k) => classes.indexOf(c) !== k);
  if (dup !== undefined)
    throw new TypeError(`Expected distinct class names for options.classes but received ${JSON.stringify(dup)} twice`);
  if (classes.includes('background'))
    throw invalidParameterError('options.classes', "class names without 'background' (label 0 is added)", classes);
}

/**
 * Loads an ssd-edge ONNX model as a trainable tfjs SSD.
 *
 * The weights are the model's initializers read back under the graph builder's names (the face model's folded batch
 * norms stay folded). The forward pass reproduces the ONNX graph op for op: on the same input, tfjs and ONNX Runtime
 * agree within 1e-4 of the outputs' range (tests).
 *
 * @param tf tfjs-core with a backend set (trcore's `loadTf`).
 * @param base An ssd-edge ONNX model (path or bytes) of architecture 'ssd-mobilenetv1' or 'ssd300-vgg16'; default the
 *   package's default face model (built into the cache on first use).
 * @param options {@link LoadTrainableOptions}: `classes` (a new class set), `seed`.
 * @returns The model; `dispose()` it when done.
 * @throws {TypeError} Bad arguments, a model without ssd-edge metadata, an architecture the tfjs builders do not
 *   know, or a graph whose initializers are not the builder's.
 * @throws {ModelFileError} The file cannot be read.
 * @example
 * const { tf } = await loadTf();
 * const model = await loadTrainable(tf, undefined, { classes: ['mug'], seed: 1 });
 * const { boxRegression, classLogits } = model.forward(input); // input NCHW [B, 3, 512, 512]
 */
export async function loadTrainable(
  tf: Tf,
  base?: string | Uint8Array,
  options: LoadTrainableOptions = {},
): Promise<TrainableSsd> {
  if (
    !tf ||
    typeof tf !== 'object' ||
    typeof (tf as Tf).conv2d !== 'function' ||
    typeof (tf as Tf).variable !== 'function'
  )
    throw invalidParameterError('tf', 'the tfjs-core namespace (loadTf().tf)', tf);
  if (base !== undefined && typeof base !== 'string' && !(base instanceof Uint8Array))
    throw invalidParameterError('base', 'path of an ssd-edge .onnx file, its bytes, or undefined', base);
  assertObject('options', options as unknown);
  assertKnownKeys('options', options, LOAD_OPTION_KEYS);
  if (options.classes !== undefined) checkClasses(options.classes);
  const seed = options.seed ?? 0;
  assertInteger('options.seed', seed, 0);
  if (options.scoring !== undefined) assertOneOf('options.scoring', options.scoring, ['softmax', 'sigmoid']);

  const file = base === undefined ? await ensureDefaultModel() : typeof base === 'string' ? base : null;
  const what = file ?? 'base';
  let model: ModelProto | null = readOnnxFrom(file !== null ? readModelBytes(file) : (base as Uint8Array), what);
  const baseSpec = readModelSpec(model, what);
  const architecture = baseSpec.architecture as Architecture;
  if (!ARCHITECTURES.includes(architecture))
    throw new TypeError(
      `Expected a model of architecture ${ARCHITECTURES.map((a) => `'${a}'`).join(' or ')} for ${what} but received '${baseSpec.architecture}'`,
    );
  if (baseSpec.output.kind !== 'raw')
    throw new TypeError(
      `Expected raw head outputs (output.kind 'raw') for ${what} but received '${baseSpec.output.kind}'`,
    );

  const classes = options.classes;
  const labels = classes ? ['background', ...classes] : [...baseSpec.labels];
  const rand = classes ? seededUniform(seed) : null;
  const weights =
    architecture === 'ssd-mobilenetv1'
      ? mobilenetWeights(model, what, labels.length, rand)
      : vggWeights(model, what, labels.length, rand);
  model = null; // the graph's tensors are not needed any more: the weights live in tfjs from here on

  const io = IO[architecture];
  const spec: ModelSpec = validateModelSpec({
    ...baseSpec,
    ...(classes ? { name: `${baseSpec.name}-${classes.join('-')}`.slice(0, 80) } : {}),
    source: classes
      ? `ssd-edge/train: ${baseSpec.name} with a new class head (${classes.join(', ')}), seed ${seed}`
      : `ssd-edge/train: ${baseSpec.name}${baseSpec.source ? ` (${baseSpec.source})` : ''}`,
    converter: TRAIN_EXPORT_CONVERTER,
    input: { ...baseSpec.input, name: io.input, dynamicBatch: true },
    output: { kind: 'raw', boxes: io.boxes, scores: io.scores },
    labels,
    postprocess: {
      ...baseSpec.postprocess,
      scoring: options.scoring ?? (classes ? 'softmax' : baseSpec.postprocess.scoring),
      ...(classes ? { backgroundIndex: 0 } : {}),
    },
  });
  const anchors = resolveAnchors(spec);
  const numAnchors = anchors.length / 4;
  const Model = architecture === 'ssd-mobilenetv1' ? SsdMobilenetV1Tf : Ssd300Vgg16Tf;
  const trainable: TfSsd = new Model(tf, weights, spec, anchors, numAnchors);
  return trainable;
}
