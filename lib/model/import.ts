/**
 * File-level import: read source model file(s), recognise their format from the bytes (lib/model/sniff.ts), turn them
 * into an ssd-edge model (ONNX + spec) with the format's importer (lib/model/importers/<fmt>.ts: pure, bytes in,
 * graph out), apply the user's overrides to the spec (input size, channel order, mean/std, labels, `--set`), check
 * it, write it atomically. This is what `ssd-edge model import` calls.
 *
 * Adding a format: an importer module exporting `import<Fmt>(source, options) → OnnxImport`, one rule in sniff.ts,
 * one entry in {@link IMPORT_FORMATS} / {@link FORMAT_OF_KIND}, and one branch in `runImporter` below.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { checkWriteTarget, fileIds, writeFileAtomic, type WriteFileOptions } from '../files.ts';
import { assertKnownKeys, assertOneOf, invalidParameterError, object } from '../is.ts';
import { importCaffe } from './importers/caffe.ts';
import { importFaceApiSsdMobilenetv1 } from './importers/faceapi.ts';
import {
  dropInitializerInputs,
  importPytorchSsd,
  probePytorchSsd,
  type PytorchSsdPreprocess,
} from './importers/pytorch-ssd.ts';
import type { OnnxImport } from './importers/torchvision.ts';
import { importTorchvisionSsd } from './importers/torchvision.ts';
import { importTensorflow, importTfjsGraph } from './importers/tensorflow.ts';
import { importTflite } from './importers/tflite.ts';
import { readLabelsFile } from './labels.ts';
import { checkModelSpec, writeModelSpec } from './metadata.ts';
import type { ModelSpec } from './spec.ts';
import { anchorCount, validateModelSpec } from './spec.ts';
import { readOnnxFrom, setMetadata, writeOnnx, type ModelProto } from './onnx.ts';
import { formatOrigin, ORIGIN_METADATA_KEY, type ModelOrigin } from './inspect.ts';
import { readModelBytes } from './file.ts';
import { SNIFFED_KIND_NAMES, sniffModelBytes, type SniffedKind, type SniffResult } from './sniff.ts';

/**
 * Source formats `importModelFile` understands. 'auto' recognises the format from the bytes; 'onnx' is any ONNX SSD
 * (torchvision raw heads by their output names, else the pytorch-ssd family); 'torchvision' / 'pytorch-ssd' /
 * 'face-api' force those importers.
 */
export const IMPORT_FORMATS = [
  'auto',
  'onnx',
  'torchvision',
  'pytorch-ssd',
  'face-api',
  'tflite',
  'caffe',
  'tf',
  'tfjs',
] as const;
export type ImportFormat = (typeof IMPORT_FORMATS)[number];

/** The import format a recognised file kind leads to. */
export const FORMAT_OF_KIND: Readonly<Record<SniffedKind, ImportFormat | undefined>> = Object.freeze({
  onnx: 'onnx',
  tflite: 'tflite',
  'tfjs-model': 'tfjs',
  'tfjs-manifest': 'face-api',
  'tf-graphdef': 'tf',
  'tf-pbtxt': 'tf',
  'caffe-prototxt': 'caffe',
  'caffe-model': 'caffe',
  unknown: undefined,
});

/** Preprocessing and spec fields given on import; each replaces what the importer inferred. */
export interface ImportOverrides {
  /** Network input size [width, height] (`--input-size WxH`). */
  inputSize?: [number, number];
  /** Channel order the network expects (`--channels rgb|bgr`). */
  channels?: 'rgb' | 'bgr';
  /** Per-channel mean on 0..255 values, network channel order (one value: all channels). */
  mean?: number[];
  /** Per-channel std on 0..255 values (x' = (x − mean) / std). */
  std?: number[];
  /** Any other spec field by its dotted path: `{ 'postprocess.nmsThresh': '0.3' }` (values parsed as JSON when they parse). */
  set?: Record<string, string>;
}

export interface ImportModelFileOptions extends ImportOverrides {
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
  /** TFLite only: write a uint8-quantized model as a float graph (default: kept quantized, QDQ). */
  dequantize?: boolean;
}

const IMPORT_OPTION_KEYS = [
  'out',
  'labels',
  'name',
  'preprocess',
  'rebuild',
  'overwrite',
  'dequantize',
  'inputSize',
  'channels',
  'mean',
  'std',
  'set',
] as const satisfies ReadonlyArray<keyof ImportModelFileOptions>;

export interface ImportModelFileResult {
  /** Absolute path written. */
  path: string;
  spec: ModelSpec;
  /** Bytes written. */
  bytes: number;
  /** The format imported (after recognition). */
  format: ImportFormat;
  /** What was found and decided, one line each (the CLI prints it). */
  report: string[];
}

/** One source file, read and recognised. */
export interface SourceFile {
  path: string;
  bytes: Buffer;
  sniffed: SniffResult;
}

/** What an importer branch gets: the files, the labels (read), the name, and a report to add lines to. */
interface ImportContext {
  format: ImportFormat;
  files: SourceFile[];
  /** The first file of a kind. */
  file(kind: SniffedKind): SourceFile | undefined;
  labels?: string[];
  name?: string;
  /** Provenance for spec.source: the file names. */
  source?: string;
  options: ImportModelFileOptions;
}

const kindName = (k: SniffedKind) => SNIFFED_KIND_NAMES[k];

function readSourceOnnx(file: string | undefined, format: string): ModelProto {
  if (!file) throw new TypeError(`Expected a source ONNX file for ${format} import but received none`);
  return readOnnxFrom(readModelBytes(file), file); // file errors name the path and the problem
}

/** Recognises the import format of the given files (the first file that leads to one), or throws naming what was found. */
export function detectImportFormat(files: SourceFile[]): ImportFormat {
  for (const f of files) {
    const format = FORMAT_OF_KIND[f.sniffed.kind];
    if (format) return format;
  }
  const found = files
    .map((f) => `${path.basename(f.path)}: ${kindName(f.sniffed.kind)} (${f.sniffed.detail})`)
    .join('; ');
  throw new TypeError(
    `Expected an ONNX, TFLite, Caffe (prototxt + caffemodel), TensorFlow (.pb) or TensorFlow.js (model.json) model but received ${found || 'no file'} — --format KIND forces a format`,
  );
}

/** The importer for one format. Each branch returns `{ model, spec, report? }`. */
async function runImporter(ctx: ImportContext): Promise<OnnxImport & { report?: string[] }> {
  const { format, files, labels, name, source, options } = ctx;
  const first = files[0]?.path;
  if (format === 'torchvision') {
    return importTorchvisionSsd(readSourceOnnx(first, format), { labels, name, source, rebuild: options.rebuild });
  }
  if (format === 'pytorch-ssd' || format === 'onnx') {
    const model = ctx.file('onnx')
      ? readOnnxFrom(ctx.file('onnx')!.bytes, ctx.file('onnx')!.path)
      : readSourceOnnx(first, format);
    const outputs = new Set(model.graph?.output?.map((o) => o.name));
    if (format === 'onnx' && outputs.has('bbox_regression') && outputs.has('cls_logits'))
      return {
        ...importTorchvisionSsd(model, { labels, name, source, rebuild: options.rebuild }),
        report: ["ONNX outputs 'bbox_regression' + 'cls_logits': torchvision SSD raw heads"],
      };
    // what the outputs hold is decided from their values on a probe input, not from their names
    const dropped = dropInitializerInputs(model);
    const probe = await probePytorchSsd(model, { inputSize: options.inputSize });
    const result = importPytorchSsd(model, {
      labels,
      name,
      source,
      preprocess: options.preprocess,
      inputSize: options.inputSize,
      probe,
    });
    const note = dropped
      ? [
          `removed ${dropped} initializers listed as graph inputs (IR ${model.ir_version} exporter): same outputs, lets ONNX Runtime fold constants`,
        ]
      : [];
    return { ...result, report: [...note, ...probe.evidence] };
  }
  if (format === 'face-api') {
    if (labels)
      throw new TypeError(
        "Expected no labels for face-api import (its labels are fixed: 'background', 'face') but received some",
      );
    const modelDir = first && fs.statSync(first).isFile() ? path.dirname(first) : first;
    return importFaceApiSsdMobilenetv1({ modelDir, name });
  }
  if (format === 'caffe') {
    const prototxt = ctx.file('caffe-prototxt');
    const weights = ctx.file('caffe-model');
    if (!prototxt) {
      const found = files.map((f) => `${kindName(f.sniffed.kind)} (${path.basename(f.path)})`).join(', ');
      throw new TypeError(
        `Expected a Caffe prototxt (deploy network definition) for caffe import but received ${found || 'no file'}`,
      );
    }
    return importCaffe(
      {
        prototxt: prototxt.bytes,
        caffemodel: weights?.bytes,
        prototxtName: path.basename(prototxt.path),
        caffemodelName: weights ? path.basename(weights.path) : undefined,
      },
      { labels, name, source },
    );
  }
  if (format === 'tf') {
    const pb = ctx.file('tf-graphdef');
    const pbtxt = ctx.file('tf-pbtxt');
    // the graph is built for --input-size (the priors' feature-map sizes follow from it)
    return importTensorflow(
      { graph: pb?.bytes, textGraph: pbtxt?.bytes },
      { labels, name, source, inputSize: options.inputSize },
    );
  }
  if (format === 'tfjs') {
    const f = ctx.file('tfjs-model');
    if (!f)
      throw new TypeError(
        `Expected a TensorFlow.js graph model (model.json) for tfjs import but received ${files.map((g) => kindName(g.sniffed.kind)).join(', ') || 'no file'}`,
      );
    return importTfjsGraph(
      { modelJson: f.bytes.toString('utf8'), readShard: shardReader(f.path) },
      { labels, name, source, inputSize: options.inputSize },
    );
  }
  if (format === 'tflite') {
    const f = ctx.file('tflite');
    if (!f)
      throw new TypeError(
        `Expected a TFLite flatbuffer for tflite import but received ${files.map((g) => kindName(g.sniffed.kind)).join(', ') || 'no file'}`,
      );
    return importTflite(f.bytes, { labels, name, source, dequantize: options.dequantize });
  }
  // Formats recognised but without an importer in this build (their modules add a branch above).
  const found = files.map((f) => `${kindName(f.sniffed.kind)} (${path.basename(f.path)})`).join(', ');
  throw new TypeError(
    `Expected a format ssd-edge can import but received ${found || format}: no ${format} importer in this build`,
  );
}

/**
 * Reads the weight shards a TF.js model.json lists (`weightsManifest[].paths`), relative to its folder: a path that
 * leaves the folder is refused, a missing shard named.
 */
function shardReader(modelJson: string): (file: string) => Uint8Array {
  const dir = path.dirname(path.resolve(modelJson));
  return (file) => {
    const full = path.resolve(dir, file);
    if (typeof file !== 'string' || path.isAbsolute(file) || path.relative(dir, full).startsWith('..'))
      throw new TypeError(
        `Expected weight shard paths relative to the model.json's folder but ${path.basename(modelJson)} lists '${file}'`,
      );
    try {
      return fs.readFileSync(full);
    } catch (err) {
      throw new TypeError(
        `TensorFlow.js graph model found (${path.basename(modelJson)}); its weight shard '${file}' is missing next to it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
      );
    }
  };
}

/** The file kinds each format reads, and how to call them in errors (face-api reads a folder: not checked). */
const FORMAT_FILES: Partial<Record<ImportFormat, { kinds: SniffedKind[]; what: string }>> = {
  onnx: { kinds: ['onnx'], what: 'an ONNX import (one .onnx file)' },
  torchvision: { kinds: ['onnx'], what: 'a torchvision import (one .onnx file)' },
  'pytorch-ssd': { kinds: ['onnx'], what: 'a pytorch-ssd import (one .onnx file)' },
  tflite: { kinds: ['tflite'], what: 'a TFLite import (one .tflite file)' },
  caffe: { kinds: ['caffe-prototxt', 'caffe-model'], what: 'a Caffe import (.prototxt + .caffemodel)' },
  tf: { kinds: ['tf-graphdef', 'tf-pbtxt'], what: 'a TensorFlow import (.pb, and the .pbtxt with the SSD layers)' },
  tfjs: { kinds: ['tfjs-model'], what: 'a TensorFlow.js import (model.json; its shards are read beside it)' },
};

/**
 * Checks that a format has every file it needs and no other, naming what was found and what is missing. A file the
 * format does not read (an unrecognised one: truncated or damaged; another format's; a second file of one kind) is
 * refused, not ignored.
 */
function checkFileSet(format: ImportFormat, files: SourceFile[]): void {
  const set = FORMAT_FILES[format];
  if (set) {
    for (const f of files) {
      const { kind, detail } = f.sniffed;
      const twice = files.filter((g) => g.sniffed.kind === kind).length > 1;
      if (set.kinds.includes(kind) && !twice) continue;
      throw new TypeError(
        `Expected the files of ${set.what} but received ${path.basename(f.path)}: ${twice ? `a second ${kindName(kind)}` : `${kindName(kind)} (${detail})`}${kind === 'unknown' ? ' — is it truncated or damaged?' : ''}`,
      );
    }
  }
  const has = (k: SniffedKind) => files.some((f) => f.sniffed.kind === k);
  const name = (k: SniffedKind) => {
    const f = files.find((g) => g.sniffed.kind === k);
    return f ? ` (${path.basename(f.path)})` : '';
  };
  if (format === 'caffe') {
    if (has('caffe-prototxt') && !has('caffe-model'))
      throw new TypeError(
        `Caffe prototxt found${name('caffe-prototxt')}; the .caffemodel with the weights is missing — pass both files`,
      );
    if (has('caffe-model') && !has('caffe-prototxt'))
      throw new TypeError(
        `Caffe .caffemodel found${name('caffe-model')}; the .prototxt with the network (deploy) definition is missing — pass both files`,
      );
  }
  if (format === 'tf' && has('tf-pbtxt') && !has('tf-graphdef'))
    throw new TypeError(
      `TensorFlow text graph found${name('tf-pbtxt')}; the frozen GraphDef (.pb) with the weights is missing — pass the .pb (and the .pbtxt when it carries the SSD layers)`,
    );
}

// --- overrides --------------------------------------------------------------------------------------

const SETTABLE_NEW_KEYS = new Set([
  'source',
  'converter',
  'anchors',
  'input.interpolation',
  'input.padValue',
  'postprocess.boxCoder.clip',
]);

/** Parses a `--set` value: JSON when it parses (numbers, booleans, arrays, objects), `Infinity`, else the text itself. */
export function parseSetValue(text: string): unknown {
  if (text === 'Infinity') return Infinity;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

const triple = (name: string, v: number[]): [number, number, number] => {
  if (
    !Array.isArray(v) ||
    (v.length !== 1 && v.length !== 3) ||
    v.some((x) => typeof x !== 'number' || !Number.isFinite(x))
  )
    throw invalidParameterError(name, 'one or three finite numbers', v);
  return (v.length === 1 ? [v[0], v[0], v[0]] : [...v]) as [number, number, number];
};

/**
 * Applies the user's overrides to an imported spec and validates the result (a copy). Returns the spec and one report
 * line per field changed.
 *
 * @throws {TypeError} An override of the wrong type, a `--set` key that is not a spec field, an invalid result.
 */
export function applyImportOverrides(spec: ModelSpec, o: ImportOverrides): { spec: ModelSpec; changed: string[] } {
  const s = structuredClone(spec) as unknown as Record<string, unknown> & ModelSpec;
  const changed: string[] = [];
  if (o.inputSize !== undefined) {
    const [w, h] = o.inputSize;
    if (!Array.isArray(o.inputSize) || o.inputSize.length !== 2 || ![w, h].every((x) => Number.isInteger(x) && x >= 1))
      throw invalidParameterError('inputSize', '[width, height] positive integers', o.inputSize);
    s.input.width = w;
    s.input.height = h;
    changed.push(`input size ${w}x${h}`);
  }
  if (o.channels !== undefined) {
    assertOneOf('channels', o.channels, ['rgb', 'bgr']);
    s.input.colorOrder = o.channels === 'rgb' ? 'RGB' : 'BGR';
    changed.push(`channels ${s.input.colorOrder}`);
  }
  if (o.mean !== undefined) {
    s.input.mean = triple('mean', o.mean);
    changed.push(`mean ${s.input.mean.join(',')}`);
  }
  if (o.std !== undefined) {
    s.input.std = triple('std', o.std);
    changed.push(`std ${s.input.std.join(',')}`);
  }
  for (const [key, text] of Object.entries(o.set ?? {})) {
    const parts = key.split('.');
    if (parts.some((p) => p === '' || p === '__proto__' || p === 'constructor' || p === 'prototype'))
      throw invalidParameterError('set', 'key=value with a dotted spec field as key (postprocess.nmsThresh)', key);
    let parent: Record<string, unknown> = s;
    for (const p of parts.slice(0, -1)) {
      const next = parent[p];
      if (!object(next)) throw invalidParameterError(`set key '${key}'`, 'a field of the model spec', p);
      parent = next;
    }
    const leaf = parts[parts.length - 1];
    if (!Object.hasOwn(parent, leaf) && !SETTABLE_NEW_KEYS.has(key))
      throw invalidParameterError(
        `set key '${key}'`,
        `a field of the model spec (${Object.keys(parent).join(', ')})`,
        leaf,
      );
    parent[leaf] = parseSetValue(text);
    changed.push(`${key} = ${text}`);
  }
  return { spec: validateModelSpec(s), changed };
}

// --- report -----------------------------------------------------------------------------------------

/** One line each: input, outputs, anchors, classes, postprocess defaults of a spec (what `model import` prints). */
export function describeSpec(spec: ModelSpec, anchors: number | null): string[] {
  const i = spec.input;
  const p = spec.postprocess;
  return [
    `input: '${i.name}' ${i.layout} ${i.width}x${i.height} ${i.colorOrder}, x' = (x - [${i.mean.join(', ')}]) / [${i.std.join(', ')}], resize ${i.resize}, batch ${i.dynamicBatch ? 'dynamic' : 'fixed'}`,
    `outputs: ${spec.output.kind === 'raw' ? 'raw deltas' : 'decoded boxes'} '${spec.output.boxes}' + scores '${spec.output.scores}' (scoring ${p.scoring})`,
    `anchors: ${anchors ?? 'none needed'}`,
    `classes: ${spec.labels.length} (${spec.labels.slice(0, 6).join(', ')}${spec.labels.length > 6 ? ', …' : ''})`,
    `postprocess: score > ${p.scoreThresh}, NMS ${p.nmsThresh}${p.classAgnostic ? ' across classes' : ''}, ${p.topkCandidates} candidates, ${p.detectionsPerImg} detections`,
  ];
}

const sha256 = (b: Uint8Array) => crypto.createHash('sha256').update(b).digest('hex');

/**
 * Imports model file(s) into the ssd-edge format and writes the result atomically.
 * `files`: one file, or two when the format has two (Caffe prototxt + caffemodel; TF .pb + .pbtxt); TF.js and
 * face-api read their weight shards next to their JSON. The format is recognised from the bytes unless
 * `format` forces one. The importer's spec then gets the overrides (`inputSize`, `channels`, `mean`, `std`, `set`),
 * is checked as `loadModelFile` would (graph against spec, anchor count), and written into the model's metadata.
 * `out` is never a directory nor a source, and an existing `out` is replaced only with `overwrite` (checked before
 * the import's work, and again when writing).
 *
 * @throws {TypeError} Unknown format, unrecognised file (naming what was found), a missing companion file, unknown
 *   option key, labels that do not fit, an invalid override.
 * @throws {WriteError} `out` is a directory, a source, or exists without `overwrite`; a failed write.
 * @throws {ModelFileError} A source that cannot be read (names the path).
 * @example
 * await importModelFiles(['version-RFB-320.onnx'], { out: 'face.onnx', mean: [127], std: [128] });
 */
export async function importModelFiles(
  files: string[],
  options: ImportModelFileOptions & { format?: ImportFormat },
): Promise<ImportModelFileResult> {
  const { format: forced, ...rest } = options ?? ({} as ImportModelFileOptions);
  if (forced !== undefined) assertOneOf('format', forced, IMPORT_FORMATS);
  if (!Array.isArray(files)) throw invalidParameterError('files', 'array of paths', files);
  return importFiles(forced ?? 'auto', files, rest);
}

/**
 * Imports one model file (or, for face-api, a folder; no file: face-api's bundled weights) in the given format
 * ('auto': recognised from the bytes). See {@link importModelFiles}.
 *
 * @example
 * await importModelFile('pytorch-ssd', 'ssd-mobilenet.onnx', { out: 'ssd.onnx', labels: 'labels.txt' });
 */
export async function importModelFile(
  format: ImportFormat,
  input: string | undefined,
  options: ImportModelFileOptions,
): Promise<ImportModelFileResult> {
  assertOneOf('format', format, IMPORT_FORMATS);
  return importFiles(format, input ? [input] : [], options);
}

async function importFiles(
  requested: ImportFormat,
  paths: string[],
  options: ImportModelFileOptions,
): Promise<ImportModelFileResult> {
  if (typeof options?.out !== 'string' || !options.out)
    throw new TypeError('Expected an output path for out but received none');
  assertKnownKeys('options', options, IMPORT_OPTION_KEYS);
  paths.forEach((p, k) => {
    if (typeof p !== 'string' || !p) throw invalidParameterError(`files[${k}]`, 'non-empty path', p);
  });
  const out = path.resolve(options.out);
  const rules: WriteFileOptions = {
    overwrite: options.overwrite === true,
    protect: await fileIds(paths),
    protectedAs: 'the source model',
  };
  await checkWriteTarget(out, rules);
  const labels = typeof options.labels === 'string' ? readLabelsFile(options.labels) : options.labels;
  // face-api takes a folder (or nothing: the bundled weights); every other format reads its files here
  const folderInput =
    requested === 'face-api' && paths.length === 1 && fs.existsSync(paths[0]) && fs.statSync(paths[0]).isDirectory();
  const files: SourceFile[] = folderInput
    ? []
    : paths.map((p) => {
        const bytes = readModelBytes(p);
        return { path: p, bytes, sniffed: sniffModelBytes(bytes) };
      });
  const report: string[] = files.map(
    (f) => `${path.basename(f.path)}: ${kindName(f.sniffed.kind)} (${f.sniffed.detail})`,
  );
  if (requested === 'auto' && paths.length === 0)
    throw new TypeError('Expected at least one model file but received none');
  const format = requested === 'auto' ? detectImportFormat(files) : requested;
  const onnxFormat = format === 'onnx' || format === 'torchvision' || format === 'pytorch-ssd';
  const notOnnx = onnxFormat ? files.find((f) => f.sniffed.kind !== 'onnx') : undefined;
  if (notOnnx)
    throw new TypeError(
      `Expected an ONNX model for ${format} import but received ${path.basename(notOnnx.path)}: ${kindName(notOnnx.sniffed.kind)} (${notOnnx.sniffed.detail})`,
    );
  checkFileSet(format, files);
  if (options.dequantize !== undefined && typeof options.dequantize !== 'boolean')
    throw invalidParameterError('dequantize', 'boolean', options.dequantize);
  if (options.dequantize && format !== 'tflite')
    throw new TypeError(`Expected dequantize only for a TFLite import but the format is ${format}`);
  const source = paths.length ? paths.map((p) => path.basename(p)).join(' + ') : undefined;
  const imported = await runImporter({
    format,
    files: folderInput
      ? [{ path: paths[0], bytes: Buffer.alloc(0), sniffed: { kind: 'unknown', detail: 'folder' } }]
      : files,
    file: (kind) => files.find((f) => f.sniffed.kind === kind),
    labels,
    name: options.name,
    source,
    options,
  });
  report.push(
    `importer: ${imported.spec.converter ?? format}${requested === 'auto' ? ' (format recognised from the bytes)' : ` (--format ${format})`}`,
  );
  if (imported.report) report.push(...imported.report);
  let spec = imported.spec;
  const { spec: overridden, changed } = applyImportOverrides(spec, options);
  spec = overridden;
  if (changed.length) report.push(`overrides: ${changed.join('; ')}`);
  if (files.length && spec.source === source) {
    spec.source = `${source} (${format}; sha256 ${files.map((f) => sha256(f.bytes).slice(0, 16)).join(', ')})`;
  }
  const count = anchorCount(spec);
  checkModelSpec(imported.model, spec, count, paths.join(' + ') || format);
  writeModelSpec(imported.model, spec);
  const origin: ModelOrigin = {
    format,
    files: folderInput
      ? [{ name: `${path.basename(paths[0])}/`, bytes: 0, sha256: '' }]
      : files.map((f) => ({ name: path.basename(f.path), bytes: f.bytes.byteLength, sha256: sha256(f.bytes) })),
    importer: spec.converter ?? format,
    date: new Date().toISOString(),
    ...(changed.length ? { overrides: changed } : {}),
  };
  setMetadata(imported.model, { [ORIGIN_METADATA_KEY]: JSON.stringify(origin) });
  report.push(`origin: ${formatOrigin(origin)}`);
  report.push(...describeSpec(spec, count));
  const bytes = writeOnnx(imported.model);
  await writeFileAtomic(out, bytes, { ...rules, mkdir: true });
  return { path: out, spec, bytes: bytes.byteLength, format, report };
}
