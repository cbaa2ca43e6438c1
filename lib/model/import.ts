/**
 * File-level import: read a source model, turn it into an ssd-edge model (ONNX + spec), check it, write it.
 * This is what `ssd-edge model import` calls.
 */
import fs from 'node:fs';
import path from 'node:path';
import { checkWriteTarget, fileIds, writeFileAtomic, type WriteFileOptions } from '../files.ts';
import { assertKnownKeys, assertOneOf } from '../is.ts';
import { importFaceApiSsdMobilenetv1 } from './importers/faceapi.ts';
import { importPytorchSsd, type PytorchSsdPreprocess } from './importers/pytorch-ssd.ts';
import { importTorchvisionSsd } from './importers/torchvision.ts';
import { readLabelsFile } from './labels.ts';
import { checkModelSpec } from './metadata.ts';
import type { ModelSpec } from './spec.ts';
import { anchorCount } from './spec.ts';
import { readOnnxFrom, writeOnnx, type ModelProto } from './onnx.ts';
import { readModelBytes } from './file.ts';

/** Source formats `importModelFile` understands. */
export const IMPORT_FORMATS = ['torchvision', 'pytorch-ssd', 'face-api'] as const;
export type ImportFormat = (typeof IMPORT_FORMATS)[number];

export interface ImportModelFileOptions {
  /** Where to write the ssd-edge model. */
  out: string;
  /** Class names, or the path of a labels file (one name per line). Not accepted for face-api. */
  labels?: string[] | string;
  /** Spec name (default: the importer's). */
  name?: string;
  /** pytorch-ssd only: input normalization preset. */
  preprocess?: PytorchSsdPreprocess;
  /** torchvision SSD300-VGG16 only: rebuild the graph with a dynamic batch (see importTorchvisionSsd). */
  rebuild?: boolean;
  /** Replace an existing `out` file (default false: an existing file is an error). The source is never replaced. */
  overwrite?: boolean;
}

const IMPORT_OPTION_KEYS = [
  'out',
  'labels',
  'name',
  'preprocess',
  'rebuild',
  'overwrite',
] as const satisfies ReadonlyArray<keyof ImportModelFileOptions>;

export interface ImportModelFileResult {
  /** Absolute path written. */
  path: string;
  spec: ModelSpec;
  /** Bytes written. */
  bytes: number;
}

function readSourceOnnx(file: string | undefined, format: string): ModelProto {
  if (!file) throw new TypeError(`Expected a source ONNX file for ${format} import but received none`);
  return readOnnxFrom(readModelBytes(file), file); // file errors name the path and the problem
}

/**
 * Imports a model file into the ssd-edge format and writes it atomically.
 * - 'torchvision': `input` = a torchvision SSD300 / SSDLite320 raw-head ONNX export;
 * - 'pytorch-ssd': `input` = a pytorch-ssd / jetson-inference `onnx_export.py` model;
 * - 'face-api': `input` = a face-api model folder or its `ssd_mobilenetv1_model-weights_manifest.json`
 *   (default: the installed @vladmandic/face-api's).
 * The result is checked as `loadModelFile` would (graph against spec, anchor count) before it is written. `out` is
 * never a directory nor the source, and an existing `out` is replaced only with `overwrite` (checked before the
 * import's work, and again when writing).
 *
 * @throws {TypeError} Unknown format, unknown option key, missing/invalid source, labels that do not fit, labels for
 *   face-api.
 * @throws {WriteError} `out` is a directory, the source, or exists without `overwrite`; a failed write (names `out`,
 *   leaves no partial file).
 * @throws {Error} File-system errors (ENOENT …) with the path.
 * @example
 * await importModelFile('pytorch-ssd', 'ssd-mobilenet.onnx', { out: 'ssd.onnx', labels: 'labels.txt' });
 */
export async function importModelFile(
  format: ImportFormat,
  input: string | undefined,
  options: ImportModelFileOptions,
): Promise<ImportModelFileResult> {
  assertOneOf('format', format, IMPORT_FORMATS);
  if (typeof options?.out !== 'string' || !options.out)
    throw new TypeError('Expected an output path for out but received none');
  assertKnownKeys('options', options, IMPORT_OPTION_KEYS);
  const out = path.resolve(options.out);
  const rules: WriteFileOptions = {
    overwrite: options.overwrite === true,
    protect: await fileIds(input ? [input] : []),
    protectedAs: 'the source model',
  };
  await checkWriteTarget(out, rules);
  const labels = typeof options.labels === 'string' ? readLabelsFile(options.labels) : options.labels;
  const source = input ? path.basename(input) : undefined;
  let result: { model: ModelProto; spec: ModelSpec };
  if (format === 'torchvision') {
    result = importTorchvisionSsd(readSourceOnnx(input, format), {
      labels,
      name: options.name,
      source,
      rebuild: options.rebuild,
    });
  } else if (format === 'pytorch-ssd') {
    result = importPytorchSsd(readSourceOnnx(input, format), {
      labels,
      name: options.name,
      source,
      preprocess: options.preprocess,
    });
  } else {
    if (labels)
      throw new TypeError(
        "Expected no labels for face-api import (its labels are fixed: 'background', 'face') but received some",
      );
    const modelDir = input && fs.statSync(input).isFile() ? path.dirname(input) : input;
    result = importFaceApiSsdMobilenetv1({ modelDir, name: options.name });
  }
  checkModelSpec(result.model, result.spec, anchorCount(result.spec), input ?? format);
  const bytes = writeOnnx(result.model);
  await writeFileAtomic(out, bytes, { ...rules, mkdir: true });
  return { path: out, spec: result.spec, bytes: bytes.byteLength };
}
