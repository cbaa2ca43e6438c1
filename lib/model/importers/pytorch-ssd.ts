/**
 * Importer: pytorch-ssd (qfgaohao/pytorch-ssd, dusty-nv's fork used by jetson-inference) `onnx_export.py` models →
 * ssd-edge model.
 *
 * Expected export: input `input_0` [1,3,S,S] (S = 300), outputs `scores` [1,N,C] (softmax applied) and `boxes`
 * [1,N,4] (decoded, normalized x1, y1, x2, y2), plus a `labels.txt` (one name per line, BACKGROUND first).
 * N = 3000 for the MobileNet family (mb1-ssd, mb1-ssd-lite, mb2-ssd-lite, sq-ssd-lite), 8732 for vgg16-ssd.
 * The graph is kept as exported; the spec says: outputs 'decoded', postprocess `scoring: 'none'` (scores used as
 * given), `boxEncoding: 'xyxy'`, background 0, score > 0.5, NMS 0.45, 200 candidates per class and 200 detections
 * (jetson-inference's threshold, pytorch-ssd's `candidate_size`), no clipping before NMS (as pytorch-ssd).
 *
 * Preprocessing presets (x on 0..255 RGB, stretch to S×S, bilinear):
 * - 'mobilenet': (x − 127) / 128 — pytorch-ssd `PredictionTransform` for the MobileNet / SqueezeNet models;
 * - 'jetson': (x − 127.5) / 127.5 — jetson-inference detectNet for ONNX SSD (x/255, mean 0.5, std 0.5);
 * - 'vgg16': x − [123, 117, 104] — pytorch-ssd's vgg16-ssd.
 * Default: 'vgg16' when N is 8732, else 'mobilenet'.
 */
import { writeModelSpec } from '../metadata.ts';
import type { ModelSpec } from '../spec.ts';
import type { ModelProto } from '../onnx.ts';
import { pickLabels, readSsdInterface } from './common.ts';
import { ONNX_IMPORT_OPTION_KEYS, type OnnxImport, type OnnxImportOptions } from './torchvision.ts';
import { assertKnownKeys, assertObject } from '../../is.ts';

export const PYTORCH_SSD_CONVERTER = 'ssd-edge/pytorch-ssd-importer@1';

/** Input normalizations of pytorch-ssd / jetson-inference models (mean, std on 0..255). */
export const PYTORCH_SSD_PREPROCESS = {
  mobilenet: { mean: [127, 127, 127], std: [128, 128, 128] },
  jetson: { mean: [127.5, 127.5, 127.5], std: [127.5, 127.5, 127.5] },
  vgg16: { mean: [123, 117, 104], std: [1, 1, 1] },
} as const;
export type PytorchSsdPreprocess = keyof typeof PYTORCH_SSD_PREPROCESS;

export interface PytorchSsdImportOptions extends OnnxImportOptions {
  /** Input normalization preset (default by anchor count, see the file header). */
  preprocess?: PytorchSsdPreprocess;
}

/**
 * Turns a pytorch-ssd / jetson-inference ONNX export into an ssd-edge model (writes the spec into `model`'s
 * metadata; the graph is not changed). `labels` may omit the background (C − 1 names): 'BACKGROUND' is put first.
 *
 * @throws {TypeError} Input/outputs missing or misshapen, labels of the wrong length, unknown preprocess preset.
 * @example
 * const labels = readLabelsFile('labels.txt');
 * const { model } = importPytorchSsd(readOnnx(fs.readFileSync('ssd-mobilenet.onnx')), { labels });
 */
export function importPytorchSsd(model: ModelProto, options: PytorchSsdImportOptions = {}): OnnxImport {
  const what = 'pytorch-ssd export';
  assertObject('options', options as unknown);
  assertKnownKeys('options', options, [...ONNX_IMPORT_OPTION_KEYS, 'preprocess'] satisfies ReadonlyArray<
    keyof PytorchSsdImportOptions
  >);
  const io = readSsdInterface(model, what, { input: 'input_0', boxes: 'boxes', scores: 'scores' });
  const preprocess = options.preprocess ?? (io.numAnchors === 8732 ? 'vgg16' : 'mobilenet');
  const norm = PYTORCH_SSD_PREPROCESS[preprocess];
  if (!norm) {
    throw new TypeError(
      `Expected one of ${Object.keys(PYTORCH_SSD_PREPROCESS)
        .map((k) => `'${k}'`)
        .join(', ')} for preprocess but received "${preprocess}"`,
    );
  }
  const architecture =
    io.numAnchors === 8732 ? 'pytorch-ssd-vgg16' : io.numAnchors === 3000 ? 'pytorch-ssd-mobilenet' : 'pytorch-ssd';
  const spec: ModelSpec = {
    name: options.name ?? architecture,
    architecture,
    ...(options.source ? { source: options.source } : {}),
    converter: PYTORCH_SSD_CONVERTER,
    input: {
      name: io.input,
      height: io.size,
      width: io.size,
      layout: 'NCHW',
      colorOrder: 'RGB',
      mean: [...norm.mean],
      std: [...norm.std],
      resize: 'stretch',
      interpolation: 'bilinear',
      dynamicBatch: io.dynamicBatch,
    },
    output: { kind: 'decoded', boxes: 'boxes', scores: 'scores' },
    labels: pickLabels(options.labels, io.numClasses, what, 'BACKGROUND'),
    postprocess: {
      scoring: 'none',
      boxEncoding: 'xyxy',
      backgroundIndex: 0,
      scoreThresh: 0.5,
      nmsThresh: 0.45,
      topkCandidates: 200,
      detectionsPerImg: 200,
      boxCoder: { weights: [10, 10, 5, 5], order: 'xywh', clip: Math.log(1000 / 16) }, // unused for decoded boxes
      clipBoxes: false,
    },
  };
  writeModelSpec(model, spec);
  return { model, spec };
}
