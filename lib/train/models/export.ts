/**
 * exportOnnx: a trainable tfjs SSD back to a self-describing ssd-edge ONNX model, through the project's graph
 * builders (lib/model/builder), with its spec (labels, anchors, preprocessing, postprocess) in the metadata.
 */
import { assertKnownKeys, assertObject, invalidParameterError } from '../../is.ts';
import { writeOnnx } from '../../model/onnx.ts';
import { TfSsd } from './base.ts';
import type { TrainableSsd } from './types.ts';

export interface ExportOnnxOptions {
  /** `producer_version` of the ONNX model (e.g. the training run); producer_name is 'ssd-edge'. */
  producer?: string;
}

/**
 * The ONNX bytes of `model` with its current weights: the builder's graph of its architecture (dynamic batch) and
 * `model.spec` in the metadata, so `Detector.load` and `ssd-edge detect --model` run it. Detector on the export gives
 * the tfjs model's head outputs within 1e-4 (tests).
 *
 * @throws {TypeError} `model` is not one returned by loadTrainable / disposed; an unknown option.
 * @example
 * await writeFileAtomic('mug.onnx', exportOnnx(model));
 */
export function exportOnnx(model: TrainableSsd, options: ExportOnnxOptions = {}): Uint8Array {
  if (!(model instanceof TfSsd)) throw invalidParameterError('model', 'TrainableSsd (from loadTrainable)', model);
  assertObject('options', options as unknown);
  assertKnownKeys('options', options, ['producer'] satisfies ReadonlyArray<keyof ExportOnnxOptions>);
  if (options.producer !== undefined && typeof options.producer !== 'string')
    throw invalidParameterError('options.producer', 'string', options.producer);
  return writeOnnx(model.toOnnxModel(options.producer));
}
