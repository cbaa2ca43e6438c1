/**
 * generateSsd300: a small SSD300-VGG16 with random weights — the paper's topology (L2Norm conv4_3, pool5 3×3/1,
 * dilated conv6, conv7, conv8_2 … conv11_2, 4/6/6/6/4/4 boxes, 3×3 heads, 8732 anchors) with every channel count
 * divided by `channelDivisor` — as a self-describing ssd-edge model, for tests and benchmarks of full training.
 */
import { assertInteger, assertKnownKeys, assertObject, invalidParameterError } from '../../is.ts';
import { buildSsd300Vgg16 } from '../../model/builder/ssd300-vgg16.ts';
import type { WeightsMap } from '../../model/builder/weights.ts';
import { importTorchvisionSsd } from '../../model/importers/torchvision.ts';
import { writeOnnx } from '../../model/onnx.ts';
import { seededUniform } from './layers.ts';

export interface GenerateSsd300Options {
  /** Labels, background first (default ['background', 'class1', 'class2']). */
  labels?: string[];
  /** Every layer's channels ÷ this (a power of 2, 1…64; default 16: conv1 4 channels, conv7 64). 1 = the real sizes. */
  channelDivisor?: number;
  /** Weights seed (default 0). */
  seed?: number;
}

/** [prefix, out channels (full size), kernel] of every conv in graph order (the head convs are added per level). */
const CONVS: Array<[string, number, number]> = [
  ['backbone.features.0', 64, 3],
  ['backbone.features.2', 64, 3],
  ['backbone.features.5', 128, 3],
  ['backbone.features.7', 128, 3],
  ['backbone.features.10', 256, 3],
  ['backbone.features.12', 256, 3],
  ['backbone.features.14', 256, 3],
  ['backbone.features.17', 512, 3],
  ['backbone.features.19', 512, 3],
  ['backbone.features.21', 512, 3],
  ['backbone.extra.0.1', 512, 3],
  ['backbone.extra.0.3', 512, 3],
  ['backbone.extra.0.5', 512, 3],
  ['backbone.extra.0.7.1', 1024, 3],
  ['backbone.extra.0.7.3', 1024, 1],
  ['backbone.extra.1.0', 256, 1],
  ['backbone.extra.1.2', 512, 3],
  ['backbone.extra.2.0', 128, 1],
  ['backbone.extra.2.2', 256, 3],
  ['backbone.extra.3.0', 128, 1],
  ['backbone.extra.3.2', 256, 3],
  ['backbone.extra.4.0', 128, 1],
  ['backbone.extra.4.2', 256, 3],
];
const ANCHORS = [4, 6, 6, 6, 4, 4];
/** Indices in CONVS of the 6 feature maps' convs (conv4_3 through L2Norm, conv7, conv8_2 … conv11_2). */
const FEATURE_CONVS = [9, 14, 16, 18, 20, 22];

/**
 * A random SSD300-VGG16 as ONNX bytes with its spec (torchvision preprocessing, anchors and postprocess: the spec
 * `importTorchvisionSsd` writes). Weights: He-uniform convs (the first scaled for 0..255-range inputs), Xavier heads,
 * small random biases, L2Norm scale ≈ 20; deterministic for a seed. `loadTrainable(tf, bytes)` takes it.
 *
 * Synchronous (awaiting it is harmless). At the default divisor 16 the file is ~0.6 MB.
 *
 * @throws {TypeError|RangeError} Bad labels, divisor or seed.
 * @example
 * const bytes = generateSsd300({ labels: ['background', 'square'], seed: 3 });
 * const model = await loadTrainable(tf, bytes);
 */
export function generateSsd300(options: GenerateSsd300Options = {}): Uint8Array {
  assertObject('options', options as unknown);
  assertKnownKeys('options', options, ['labels', 'channelDivisor', 'seed'] satisfies ReadonlyArray<
    keyof GenerateSsd300Options
  >);
  const labels = options.labels ?? ['background', 'class1', 'class2'];
  if (!Array.isArray(labels) || labels.length < 2 || labels.some((l) => typeof l !== 'string' || l.length === 0))
    throw invalidParameterError('options.labels', 'Array of ≥ 2 non-empty strings (background first)', labels);
  const divisor = options.channelDivisor ?? 16;
  if (![1, 2, 4, 8, 16, 32, 64].includes(divisor as number))
    throw invalidParameterError('options.channelDivisor', 'one of 1, 2, 4, 8, 16, 32, 64', divisor);
  const seed = options.seed ?? 0;
  assertInteger('options.seed', seed, 0);

  const rand = seededUniform(seed);
  const uniform = (n: number, a: number) => Float32Array.from({ length: n }, () => (2 * rand() - 1) * a);
  const weights: WeightsMap = {};
  const conv = (prefix: string, cin: number, cout: number, k: number, a: number) => {
    weights[`${prefix}.weight`] = { dims: [cout, cin, k, k], data: uniform(cout * cin * k * k, a) };
    weights[`${prefix}.bias`] = { dims: [cout], data: uniform(cout, 0.05) };
  };
  const widths: number[] = [];
  let cin = 3;
  CONVS.forEach(([prefix, full, k], i) => {
    const cout = Math.max(full / divisor, 2);
    // He-uniform √(6 / fan_in); inputs are ~±128 (torchvision's mean-only normalization) so the first conv is /128
    conv(prefix, cin, cout, k, Math.sqrt(6 / (cin * k * k)) / (i === 0 ? 128 : 1));
    widths.push(cout);
    cin = cout;
  });
  weights['backbone.scale_weight'] = {
    dims: [widths[9]],
    data: Float32Array.from({ length: widths[9] }, () => 19 + 2 * rand()),
  };
  FEATURE_CONVS.forEach((ci, l) => {
    const c = widths[ci];
    const xavier = (cout: number) => Math.sqrt(6 / ((c + cout) * 9));
    conv(`head.regression_head.module_list.${l}`, c, 4 * ANCHORS[l], 3, xavier(4 * ANCHORS[l]));
    conv(
      `head.classification_head.module_list.${l}`,
      c,
      labels.length * ANCHORS[l],
      3,
      xavier(labels.length * ANCHORS[l]),
    );
  });
  const { model } = buildSsd300Vgg16(weights, {
    docString: `A random SSD300-VGG16 (channels ÷ ${divisor}, seed ${seed}) generated by ssd-edge/train for tests.`,
  });
  importTorchvisionSsd(model, {
    labels,
    name: 'ssd300-vgg16-generated',
    source: `generateSsd300 (channels ÷ ${divisor}, seed ${seed})`,
  });
  return writeOnnx(model);
}
