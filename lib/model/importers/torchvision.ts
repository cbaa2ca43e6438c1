/**
 * Importer: torchvision SSD300-VGG16 / SSDLite320-MobileNetV3 ONNX exports (raw heads) → ssd-edge model.
 *
 * Expected export (e.g. `torch.onnx.export(backbone + head, …, input_names=['images'],
 * output_names=['bbox_regression', 'cls_logits'])`, see scripts/export-torchvision-ssd.py): input `images`
 * [B,3,S,S] already normalized, outputs `bbox_regression` [B,N,4] (dx, dy, dw, dh) and `cls_logits` [B,N,C].
 * N picks the architecture: 8732 → SSD300-VGG16 (S 300), 3234 → SSDLite320 (S 320).
 *
 * Normalization decision: the graph is kept byte-for-byte as exported and the normalization goes into the spec
 * (`input.mean` / `input.std` on 0..255 pixels), so the detector fuses it into its resize pass and the user's file
 * is not rewritten. torchvision's GeneralizedRCNNTransform computes (x/255 − m)/s then resizes; the detector
 * resizes 0..255 pixels then normalizes: the same up to ≤ 3.1e-5 (the reference data measures it).
 * - SSD300: m = [0.48235, 0.45882, 0.40784], s = 1/255 → mean 255·m = [122.99925, 116.9991, 103.9992], std 1.
 * - SSDLite320: m = s = 0.5 → mean = std = 127.5.
 *
 * torch exports have a fixed batch of 1; with `rebuild: true` an SSD300-VGG16 export is rebuilt by
 * `buildSsd300Vgg16` from its own weights (same outputs, bit-identical on onnxruntime CPU in the tests) with a
 * symbolic batch, so a detector can run a batch in one call.
 */
import { POSTPROCESS_PRESETS } from '../../ops/postprocess.ts';
import { writeModelSpec } from '../metadata.ts';
import type { ModelSpec } from '../spec.ts';
import type { ModelProto } from '../onnx.ts';
import { buildSsd300Vgg16, torchvisionWeightsFromOnnx } from '../builder/ssd300-vgg16.ts';
import { assertKnownKeys, assertObject } from '../../is.ts';
import { pickLabels, readSsdInterface } from './common.ts';

export const TORCHVISION_CONVERTER = 'ssd-edge/torchvision-importer@1';

const VARIANTS = {
  8732: {
    architecture: 'ssd300-vgg16',
    size: 300,
    preset: 'torchvision-ssd300-vgg16',
    mean: [122.99925, 116.9991, 103.9992],
    std: [1, 1, 1],
    postprocess: POSTPROCESS_PRESETS.torchvision,
  },
  3234: {
    architecture: 'ssdlite320-mobilenetv3-large',
    size: 320,
    preset: 'torchvision-ssdlite320',
    mean: [127.5, 127.5, 127.5],
    std: [127.5, 127.5, 127.5],
    postprocess: POSTPROCESS_PRESETS.torchvisionSsdlite,
  },
} as const;

export interface OnnxImportOptions {
  /** Class names, background first (default: built-in COCO-91 / VOC-21 lists by class count). */
  labels?: string[];
  /** Spec name (default: the architecture). */
  name?: string;
  /** Provenance text for `spec.source` (e.g. the file imported). */
  source?: string;
}

export interface TorchvisionImportOptions extends OnnxImportOptions {
  /** SSD300-VGG16 only: rebuild the graph from the export's weights with a dynamic batch (default false). */
  rebuild?: boolean;
}

/** The keys of {@link OnnxImportOptions}. */
export const ONNX_IMPORT_OPTION_KEYS = ['labels', 'name', 'source'] as const satisfies ReadonlyArray<
  keyof OnnxImportOptions
>;
const TORCHVISION_OPTION_KEYS = [...ONNX_IMPORT_OPTION_KEYS, 'rebuild'] as const satisfies ReadonlyArray<
  keyof TorchvisionImportOptions
>;

export interface OnnxImport {
  /** The same model with the spec written into its metadata. */
  model: ModelProto;
  spec: ModelSpec;
}

/**
 * Turns a torchvision SSD / SSDLite raw-head ONNX export into an ssd-edge model (writes the spec into `model`'s
 * metadata; the graph is not changed unless `rebuild`).
 *
 * @throws {TypeError} Input/outputs missing or misshapen, an unknown anchor count, no labels for C classes.
 * @example
 * const { model, spec } = importTorchvisionSsd(readOnnx(fs.readFileSync('ssd300.onnx')));
 */
export function importTorchvisionSsd(model: ModelProto, options: TorchvisionImportOptions = {}): OnnxImport {
  const what = 'torchvision SSD export';
  assertObject('options', options as unknown);
  assertKnownKeys('options', options, TORCHVISION_OPTION_KEYS);
  if (options.rebuild) {
    const { numAnchors } = readSsdInterface(model, what, {
      input: 'images',
      boxes: 'bbox_regression',
      scores: 'cls_logits',
    });
    if (numAnchors !== 8732)
      throw new TypeError(
        `Expected an SSD300-VGG16 export (8732 anchors) for rebuild but received ${numAnchors} anchors`,
      );
    model = buildSsd300Vgg16(torchvisionWeightsFromOnnx(model)).model; // throws unless it holds exactly SSD300-VGG16's parameters
  }
  const io = readSsdInterface(model, what, { input: 'images', boxes: 'bbox_regression', scores: 'cls_logits' });
  const v = VARIANTS[io.numAnchors as keyof typeof VARIANTS];
  if (!v)
    throw new TypeError(
      `Expected 8732 (SSD300-VGG16) or 3234 (SSDLite320) anchors in output 'bbox_regression' for ${what} but received ${io.numAnchors}`,
    );
  if (io.size !== v.size)
    throw new TypeError(
      `Expected input size ${v.size} for ${v.architecture} (${io.numAnchors} anchors) but received ${io.size}`,
    );
  const spec: ModelSpec = {
    name: options.name ?? v.architecture,
    architecture: v.architecture,
    ...(options.source ? { source: options.source } : {}),
    converter: TORCHVISION_CONVERTER,
    input: {
      name: io.input,
      height: v.size,
      width: v.size,
      layout: 'NCHW',
      colorOrder: 'RGB',
      mean: [...v.mean],
      std: [...v.std],
      resize: 'stretch',
      interpolation: 'bilinear',
      dynamicBatch: io.dynamicBatch,
    },
    output: { kind: 'raw', boxes: 'bbox_regression', scores: 'cls_logits' },
    anchors: { preset: v.preset },
    labels: pickLabels(options.labels, io.numClasses, what),
    postprocess: { ...v.postprocess, boxCoder: { ...v.postprocess.boxCoder }, boxEncoding: 'deltas' },
  };
  writeModelSpec(model, spec);
  return { model, spec };
}
