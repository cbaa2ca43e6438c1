/**
 * The one shape every dataset reader produces (Pascal VOC, COCO instances JSON, JSONL), the problems validation
 * reports, and the error that lists them. Boxes are xyxy in source-image pixels, continuous coordinates: a box
 * covering the whole W×H image is [0, 0, W, H]. VOC's 1-based pixel indices are converted on reading
 * (xmin − 1, ymin − 1, xmax, ymax); COCO's [x, y, w, h] becomes [x, y, x + w, y + h]; JSONL is taken as written.
 */
import { VOC_21_LABELS } from '../model/labels.ts';

export type DatasetFormat = 'voc' | 'coco' | 'jsonl';

/** The dataset formats, in detection order. */
export const DATASET_FORMATS: readonly DatasetFormat[] = ['voc', 'coco', 'jsonl'];

/**
 * What `openDataset` does with a bad box: 'error' (default) throws a {@link DatasetError} listing every problem;
 * 'clip' clips a box that sticks out of the image to it and drops the boxes that cannot be repaired (non-finite,
 * empty, entirely outside, unknown label); 'drop' drops every bad box, and also the samples whose image is missing,
 * undecodable or of another size than annotated, or whose id (or image file) is a duplicate. Whatever the policy, the boxes that
 * reach a sample are finite, have positive area and lie inside the image.
 */
export type BoxPolicy = 'clip' | 'drop' | 'error';

export const BOX_POLICIES: readonly BoxPolicy[] = ['clip', 'drop', 'error'];

/** The problem codes validation reports. */
export type DataProblemCode =
  | 'missing-image'
  | 'undecodable-image'
  | 'size-mismatch'
  | 'box-outside'
  | 'empty-box'
  | 'non-finite'
  | 'unknown-label'
  | 'no-images'
  | 'duplicate-id'
  | 'duplicate-image'
  | 'parse-error'
  | 'missing-annotation'
  | 'unknown-image';

/** One problem found in a dataset. */
export interface DataProblem {
  /** The file the problem is in (annotation XML, COCO JSON, the JSONL file, or the image), absolute. */
  file: string;
  /** JSONL line (1-based) when relevant. */
  line?: number;
  /** Image id (VOC: file stem; COCO: String(image id); JSONL: the image path as written). */
  id?: string;
  /** 0-based object index within the image (its position in the source file) when relevant. */
  object?: number;
  code: DataProblemCode | string;
  /** One readable line naming the file (and line, object) and what is wrong. */
  message: string;
}

/** One annotated image. */
export interface Sample {
  /** VOC: file stem; COCO: String(image id); JSONL: the image path as written. */
  id: string;
  /** Absolute path of the image file. */
  image: string;
  /** The image size: from the annotation, verified against the image header when images are checked. */
  width: number;
  height: number;
  /** Float32Array [N·4], xyxy, source pixels, continuous coordinates, finite, x1 < x2, y1 < y2, inside the image. */
  boxes: Float32Array;
  /** Int32Array [N], index into `dataset.classes`. */
  labels: Int32Array;
  /** VOC `difficult` flags (1 = difficult), one per box. */
  difficult?: Uint8Array;
  /** VOC `truncated` flags, one per box. */
  truncated?: Uint8Array;
  /** COCO `iscrowd` flags, one per box. */
  iscrowd?: Uint8Array;
  /**
   * COCO annotation `area` (the segmentation's area, which COCO's small/medium/large ranges use; the box's area when
   * the annotation has none), one per box.
   */
  area?: Float64Array;
}

/** A dataset: the label map and its samples (annotations are small: parsed up front). */
export interface Dataset extends AsyncIterable<Sample> {
  format: DatasetFormat;
  /** The path the dataset was opened from, absolute. */
  root: string;
  /** Label map, no background. */
  classes: string[];
  /** Number of samples. */
  size: number;
  samples: readonly Sample[];
  /** What was clipped or dropped (policy clip/drop); empty with policy error. */
  problems: DataProblem[];
  /**
   * The annotation files read, absolute (VOC: the split file and each XML; COCO: the instances JSON; JSONL: the
   * file). With the samples' images, the files a command must never write over.
   */
  files: readonly string[];
}

export interface OpenDatasetOptions {
  /** Force a format instead of detecting it from the path. */
  format?: DatasetFormat;
  /**
   * VOC: `ImageSets/Main/<split>.txt` (default `test` if present, else `val`, else `trainval`, else every XML in
   * Annotations/). COCO folder: `annotations/instances_<split>.json` (default: the only one, else the one whose name
   * has `val`). Not used by JSONL.
   */
  split?: string;
  /** Default 'error'. */
  boxPolicy?: BoxPolicy;
  /**
   * Read each image's header: the image must exist, be a known format, and have the annotated size (default true).
   * Sizes that the annotation does not state (JSONL without width/height, VOC without <size>) are read from the
   * header whatever this says.
   */
  checkImages?: boolean;
  /**
   * The label order (no background). Labels outside it are 'unknown-label' problems. Default: COCO the categories
   * by id ascending; VOC the 20 VOC classes when every label is one of them, else the names found, sorted; JSONL
   * the names found, sorted.
   */
  classes?: string[];
}

export const OPEN_DATASET_OPTION_KEYS = ['format', 'split', 'boxPolicy', 'checkImages', 'classes'] as const;

export interface CheckDatasetOptions extends OpenDatasetOptions {
  /**
   * Decode every image fully, to find files whose header is fine but whose data is truncated or corrupt
   * (default true; false reads headers only, as `openDataset` does, or nothing with `checkImages: false`).
   */
  decodeImages?: boolean;
}

export const CHECK_DATASET_OPTION_KEYS = [...OPEN_DATASET_OPTION_KEYS, 'decodeImages'] as const;

/** The most problems a {@link DatasetError}'s message lists (`.problems` holds them all). */
export const MAX_PROBLEMS_IN_MESSAGE = 20;

/** A dataset that cannot be opened as asked; `problems` lists every problem found, each with its file and object. */
export class DatasetError extends Error {
  code = 'ERR_SSD_EDGE_DATASET';
  problems: DataProblem[];
  constructor(where: string, problems: DataProblem[]) {
    const n = problems.length;
    const shown = problems.slice(0, MAX_PROBLEMS_IN_MESSAGE).map((p) => `  ${p.message}`);
    const more = n > shown.length ? [`  … and ${n - shown.length} more (error.problems lists them all)`] : [];
    super([`Dataset ${where} has ${n} problem${n === 1 ? '' : 's'}:`, ...shown, ...more].join('\n'));
    this.name = 'DatasetError';
    this.problems = problems;
  }
}

/** The 20 Pascal VOC classes, in the devkit's order (the model labels without the background). */
export const VOC_CLASSES: readonly string[] = Object.freeze(VOC_21_LABELS.slice(1));

/** One object as a reader found it, before validation (coordinates already continuous xyxy). */
export interface RawObject {
  /** 0-based position within its image in the source file. */
  index: number;
  label: string;
  box: [number, number, number, number];
  difficult?: boolean;
  truncated?: boolean;
  iscrowd?: boolean;
  area?: number;
  /** Extra words for messages, e.g. `annotation id 17`. */
  note?: string;
}

/** One image as a reader found it, before validation. */
export interface RawRecord {
  id: string;
  /** Absolute image path. */
  image: string;
  /** The annotation file that describes this image. */
  file: string;
  line?: number;
  /** Where the image is listed, for messages, when `file` and `line` do not say it (COCO `images[3]`, a VOC split line). */
  listedAt?: string;
  /** Size stated by the annotation (undefined when it states none). */
  width?: number;
  height?: number;
  objects: RawObject[];
}

/** What a reader returns. */
export interface ParsedDataset {
  format: DatasetFormat;
  root: string;
  records: RawRecord[];
  /** Problems found while parsing; records listed in `badRecords` are unusable. */
  problems: DataProblem[];
  /** Indices into `records` of records with a sample-level parse problem. */
  badRecords: Set<number>;
  /** Classes the format itself defines (COCO categories by id). */
  classes?: string[];
  /** Annotation files read besides the records' own (VOC: the split file). */
  files?: string[];
  /** A dataset-level problem (the annotation file cannot be read or parsed at all): nothing is usable. */
  fatal: boolean;
  /**
   * The reach of problems whose default is wrong (default: 'object' when the problem names an object, else
   * 'sample'): e.g. a COCO category list problem is 'dataset', an annotation of an unknown image 'object'.
   */
  scopes?: Map<DataProblem, 'object' | 'sample' | 'dataset'>;
  /**
   * The record (index into `records`) a problem belongs to, for ordering problems as the dataset lists its images;
   * fractional for a problem between records (an unparsable JSONL line). Default: the first record with its id.
   */
  recordOf?: Map<DataProblem, number>;
}
