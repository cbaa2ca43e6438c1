/**
 * Datasets: Pascal VOC folders, COCO instances JSON and JSONL files read into one shape (samples with xyxy boxes in
 * source pixels and a label map), validated so that every problem is found at once, with its file and object, and a
 * bad box never reaches a loss as NaN.
 *
 * @example
 * const ds = await openDataset('VOCdevkit/VOC2007');          // split 'test', every problem throws (DatasetError)
 * for await (const s of ds) console.log(s.id, s.boxes, s.labels.map((l) => ds.classes[l]));
 * const { problems } = await checkDataset('data.jsonl');      // never throws for data problems
 */
import fs from 'node:fs';
import path from 'node:path';
import {
  assertArray,
  assertBoolean,
  assertKnownKeys,
  assertObject,
  assertOneOf,
  invalidParameterError,
} from '../is.ts';
import { readCoco } from './coco.ts';
import { detectFormat } from './detect.ts';
import { readJsonl } from './jsonl.ts';
import {
  BOX_POLICIES,
  type BoxPolicy,
  CHECK_DATASET_OPTION_KEYS,
  type CheckDatasetOptions,
  DATASET_FORMATS,
  type DataProblem,
  type Dataset,
  DatasetError,
  type DatasetFormat,
  OPEN_DATASET_OPTION_KEYS,
  type OpenDatasetOptions,
  type ParsedDataset,
  type Sample,
} from './types.ts';
import { validateDataset, type Validated } from './validate.ts';
import { readVoc } from './voc.ts';
import { displayPath } from './util.ts';

export { detectFormat } from './detect.ts';
export { datasetStats, plotSizeHistogram, SSD300_SCALES, sizeHistogram, type DatasetStats } from './stats.ts';
export {
  BOX_POLICIES,
  type BoxPolicy,
  type CheckDatasetOptions,
  DATASET_FORMATS,
  type DataProblem,
  type DataProblemCode,
  type Dataset,
  DatasetError,
  type DatasetFormat,
  type OpenDatasetOptions,
  type Sample,
  VOC_CLASSES,
} from './types.ts';

/** Reads the annotations of a dataset path in its format (detected unless given). */
function parse(file: string, format: DatasetFormat, split: string | undefined): ParsedDataset {
  const root = path.resolve(file);
  if (!fs.existsSync(root)) throw new Error(`Cannot open dataset ${displayPath(root)}: no such file or directory`);
  switch (format) {
    case 'voc':
      return readVoc(root, split);
    case 'coco':
      return readCoco(root, split);
    case 'jsonl':
      return readJsonl(root);
  }
}

interface Resolved {
  format: DatasetFormat;
  split?: string;
  boxPolicy: BoxPolicy;
  classes?: string[];
}

function resolveOptions(file: unknown, options: Record<string, unknown>): Resolved {
  if (typeof file !== 'string' || file === '') throw invalidParameterError('path', 'dataset path (string)', file);
  const { format, split, boxPolicy = 'error', classes } = options;
  if (format !== undefined) assertOneOf('format', format, DATASET_FORMATS);
  if (split !== undefined && (typeof split !== 'string' || split === ''))
    throw invalidParameterError('split', 'non-empty string', split);
  assertOneOf('boxPolicy', boxPolicy, BOX_POLICIES);
  if (classes !== undefined) {
    assertArray('classes', classes);
    classes.forEach((c, k) => {
      if (typeof c !== 'string' || c === '') throw invalidParameterError(`classes[${k}]`, 'non-empty string', c);
      if (classes.indexOf(c) !== k) throw invalidParameterError(`classes[${k}]`, 'a name not listed before', c);
    });
  }
  return {
    format: (format as DatasetFormat | undefined) ?? detectFormat(file),
    split: split as string | undefined,
    boxPolicy,
    classes: classes as string[] | undefined,
  };
}

function makeDataset(format: DatasetFormat, parsed: ParsedDataset, v: Validated, problems: DataProblem[]): Dataset {
  const samples: readonly Sample[] = Object.freeze(v.samples);
  const files = new Set(parsed.files);
  for (const r of parsed.records) files.add(r.file);
  return {
    format,
    root: parsed.root,
    files: Object.freeze([...files]),
    classes: v.classes,
    size: samples.length,
    samples,
    problems,
    async *[Symbol.asyncIterator]() {
      yield* samples;
    },
  };
}

/**
 * Every file a dataset was read from, absolute: the path it was opened from, its annotation files, its samples'
 * images, and the files its problems name (images that were dropped). Commands protect these from being written over
 * (`lib/files.ts` `fileIds` → `protect`).
 *
 * @example await fileIds([...datasetFiles(dataset, problems), options.gt])
 */
export function datasetFiles(dataset: Dataset, problems: readonly DataProblem[] = dataset.problems): string[] {
  const files = new Set<string>([dataset.root, ...dataset.files]);
  for (const s of dataset.samples) files.add(s.image);
  for (const p of problems) files.add(p.file);
  return [...files];
}

/**
 * Opens a dataset: parses every annotation up front, checks the images' headers (existence, format, size) and the
 * boxes, and applies the box policy.
 *
 * Boxes: Float32Array [N·4], xyxy, source pixels, continuous coordinates (VOC's 1-based inclusive indices become
 * [xmin − 1, ymin − 1, xmax, ymax]; COCO's [x, y, w, h] becomes [x, y, x + w, y + h]). Every box a sample holds is
 * finite, has x1 < x2 and y1 < y2 (in float32), and lies inside [0, width] × [0, height], whatever the policy.
 *
 * @param file A VOC folder (with Annotations/), a COCO instances .json (or a folder with
 *   annotations/instances_*.json), or a .jsonl file.
 * @param options {@link OpenDatasetOptions}: `format`, `split`, `boxPolicy` ('error' default | 'clip' | 'drop'),
 *   `checkImages` (default true), `classes`.
 * @returns The {@link Dataset}; `problems` lists what the policy clipped or dropped.
 * @throws {DatasetError} Listing every problem found (`.problems`, each with file, line, id, object): with policy
 *   'error' any problem; with 'clip' an image-level one (missing, undecodable or mis-sized image, duplicate id,
 *   unparsable annotation); with any policy a dataset-level one (no images, an unreadable annotation file).
 * @throws {TypeError|RangeError} Bad options; {@link detectFormat}'s error when the format cannot be told; an Error
 *   naming the splits present when `split` does not exist.
 * @example
 * const ds = await openDataset('data/voc', { split: 'val', boxPolicy: 'clip' });
 * ds.samples[0];
 * // VOC2007 000001.xml (dog 48 240 195 371, person 8 12 352 498):
 * // { id: '000001', image: '/…/JPEGImages/000001.jpg', width: 353, height: 500,
 * //   boxes: Float32Array [47, 239, 195, 371, 7, 11, 352, 498], labels: Int32Array [11, 14], difficult: Uint8Array [0, 0], … }
 */
export async function openDataset(file: string, options: OpenDatasetOptions = {}): Promise<Dataset> {
  assertObject('options', options as unknown);
  assertKnownKeys('options', options, OPEN_DATASET_OPTION_KEYS);
  const r = resolveOptions(file, options as Record<string, unknown>);
  const checkImages = options.checkImages ?? true;
  assertBoolean('checkImages', checkImages);
  const parsed = parse(file, r.format, r.split);
  const v = await validateDataset(parsed, {
    classes: r.classes,
    policy: r.boxPolicy,
    checkImages,
    decodeImages: false,
  });
  const problems = v.findings.map((f) => f.problem);
  if (v.blocked) throw new DatasetError(displayPath(parsed.root), problems);
  return makeDataset(r.format, parsed, v, problems);
}

/**
 * Checks a dataset and reports every problem; never throws for a problem in the data.
 *
 * @param file As {@link openDataset}.
 * @param options `format`, `split`, `classes`, `checkImages` as {@link openDataset}; `decodeImages` (default: as
 *   `checkImages`, true) decodes every image completely (finding truncated or corrupt data behind a good header; false
 *   reads headers only);
 *   `boxPolicy` (default 'drop') says which `dataset` comes back.
 * @returns `problems`: every problem, in dataset order; `dataset`: the samples the policy lets through, absent when
 *   it cannot go on (see {@link openDataset}'s throws).
 * @throws {TypeError|RangeError} Bad options; an Error when the format cannot be told or the split does not exist.
 * @example
 * const { problems } = await checkDataset('data/voc');
 * for (const p of problems) console.log(p.message); // "data/voc/Annotations/2.xml object 1 (dog): box [-5, 3, 40, 50] is outside the 32×24 image (clipped: [0, 3, 32, 24])"
 */
export async function checkDataset(
  file: string,
  options: CheckDatasetOptions = {},
): Promise<{ dataset?: Dataset; problems: DataProblem[] }> {
  assertObject('options', options as unknown);
  assertKnownKeys('options', options, CHECK_DATASET_OPTION_KEYS);
  const r = resolveOptions(file, { ...options, boxPolicy: options.boxPolicy ?? 'drop' });
  const checkImages = options.checkImages ?? true;
  assertBoolean('checkImages', checkImages);
  const decodeImages = options.decodeImages ?? checkImages;
  assertBoolean('decodeImages', decodeImages);
  const parsed = parse(file, r.format, r.split);
  const v = await validateDataset(parsed, { classes: r.classes, policy: r.boxPolicy, checkImages, decodeImages });
  const problems = v.findings.map((f) => f.problem);
  return v.blocked ? { problems } : { dataset: makeDataset(r.format, parsed, v, problems), problems };
}
