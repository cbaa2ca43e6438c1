/**
 * Ground truth and detections in every accepted form → one flat, typed-array form ({@link EvalData}) that the VOC and
 * COCO metrics share. Every value is checked; an error names the path into the input
 * (`Expected array [x1, y1, x2, y2] of finite numbers for groundTruth[3].boxes[1].box but received …`).
 *
 * Forms:
 * - ground truth: our `GroundTruthImage[]`, or a COCO instances JSON object (`images`, `annotations` with `bbox`
 *   xywh, `area`, `iscrowd`, `categories`). A COCO JSON's images are taken in order of id (as pycocotools does); each
 *   is keyed by its `file_name` (its id as a string when it has none) and keeps its `id`.
 * - detections: our `DetectionImage[]`, `ssd-edge detect --json` output (`[{ file, detections: [{ label, score,
 *   box: { x1, y1, x2, y2 } }] }]`), or a COCO results list (`[{ image_id, category_id, bbox, score }]`). The form is
 *   told by the first element's keys.
 *
 * Image matching: a `DetectionImage.image` must equal a ground-truth `image` exactly. A `detect --json` `file` is
 * matched to the ground-truth image with, in this order, the same string, the same absolute path (with a
 * `baseDir` — `readGroundTruthFile` sets the file's folder —: the ground-truth path resolved against it, the file
 * against the working directory; then both against the working directory), the same base name, or the same base
 * name without extension — the first rule that
 * names exactly one ground-truth image wins; none, or two images with one key, is an error naming the file. A COCO
 * `image_id` is matched to the ground-truth image with that `id`, else to the one whose `image` is the id as a string;
 * a `category_id` becomes the category's name from the ground truth (its `categoryId`), else the id as a string.
 * Ground-truth images without detections are fine (all their objects are misses); duplicate images are an error.
 */
import path from 'node:path';
import { describe, invalidParameterError, object, outOfRangeError } from '../is.ts';
import type { DetectionsInput, GroundTruthImage, GroundTruthInput } from './types.ts';

/** The flat form: images in ground-truth order, classes in result order, boxes xyxy float64. */
export interface EvalData {
  images: string[];
  classes: string[];
  /** Ground truth: N·4 xyxy; image and class index; difficult, crowd flags; area (COCO `area` or box area). */
  gtBoxes: Float64Array;
  gtImage: Int32Array;
  gtClass: Int32Array;
  gtDifficult: Uint8Array;
  gtCrowd: Uint8Array;
  gtArea: Float64Array;
  /** Detections in input order: M·4 xyxy, score, image and class index. */
  dtBoxes: Float64Array;
  dtScore: Float64Array;
  dtImage: Int32Array;
  dtClass: Int32Array;
}

/** Ground truth after validation, before the class order is fixed. */
export interface ParsedGroundTruth {
  images: string[];
  imageIndex: Map<string, number>;
  ids: Array<number | undefined>;
  sizes: Array<[number | undefined, number | undefined]>;
  boxes: number[];
  image: number[];
  label: string[];
  difficult: number[];
  crowd: number[];
  area: number[];
  /** 1 where the input gave `area` (COCO JSON: always, its `area` or w·h). */
  areaGiven: number[];
  categoryId: Array<number | undefined>;
  /** COCO category id → name. */
  categories: Map<number, string>;
  /** The folder relative image paths are relative to (a `GroundTruthList`'s `baseDir`). */
  baseDir?: string;
}

const BOX_EXPECTED = 'array [x1, y1, x2, y2] of finite numbers';

function fail(name: string, expected: string, value: unknown): never {
  throw invalidParameterError(name, expected, value);
}

function assertString(name: string, value: unknown): asserts value is string {
  if (typeof value !== 'string' || value.length === 0) fail(name, 'non-empty string', value);
}

function assertArrayAt(name: string, value: unknown): asserts value is unknown[] {
  if (!Array.isArray(value)) fail(name, 'Array', value);
}

function assertObjectAt(name: string, value: unknown): asserts value is Record<string, unknown> {
  if (!object(value)) fail(name, 'object', value);
}

function finiteAt(name: string, value: unknown, expected = 'finite number'): number {
  if (typeof value !== 'number') fail(name, expected, value);
  if (!Number.isFinite(value)) throw outOfRangeError(name, expected, value);
  return value;
}

/** Reads an xyxy box (array, or `{ x1, y1, x2, y2 }` when `allowObject`) into `out`, checking x1 ≤ x2, y1 ≤ y2. */
function readXyxy(name: string, value: unknown, out: number[] | Float64Array, at: number, allowObject: boolean): void {
  let x1: unknown;
  let y1: unknown;
  let x2: unknown;
  let y2: unknown;
  const expected = allowObject ? `${BOX_EXPECTED} or { x1, y1, x2, y2 }` : BOX_EXPECTED;
  if (Array.isArray(value) && value.length === 4) {
    [x1, y1, x2, y2] = value;
  } else if (allowObject && object(value)) {
    ({ x1, y1, x2, y2 } = value);
  } else {
    fail(name, expected, value);
  }
  if (typeof x1 !== 'number' || typeof y1 !== 'number' || typeof x2 !== 'number' || typeof y2 !== 'number') {
    fail(name, expected, value);
  }
  if (!(Number.isFinite(x1) && Number.isFinite(y1) && Number.isFinite(x2) && Number.isFinite(y2))) {
    throw new RangeError(`Expected ${expected} for ${name} but received [${x1}, ${y1}, ${x2}, ${y2}]`);
  }
  if (!(x1 <= x2 && y1 <= y2)) {
    throw new RangeError(`Expected x1 ≤ x2 and y1 ≤ y2 for ${name} but received [${x1}, ${y1}, ${x2}, ${y2}]`);
  }
  out[at] = x1;
  out[at + 1] = y1;
  out[at + 2] = x2;
  out[at + 3] = y2;
}

/** Reads a valid xyxy box (array or object) into `out` and returns true; false for anything else (nothing thrown). */
function fastXyxy(value: unknown, out: Float64Array, at: number): boolean {
  let x1: unknown;
  let y1: unknown;
  let x2: unknown;
  let y2: unknown;
  if (Array.isArray(value)) {
    if (value.length !== 4) return false;
    x1 = value[0];
    y1 = value[1];
    x2 = value[2];
    y2 = value[3];
  } else if (typeof value === 'object' && value !== null) {
    const b = value as Record<string, unknown>;
    x1 = b.x1;
    y1 = b.y1;
    x2 = b.x2;
    y2 = b.y2;
  } else {
    return false;
  }
  if (typeof x1 !== 'number' || typeof y1 !== 'number' || typeof x2 !== 'number' || typeof y2 !== 'number')
    return false;
  // x1 ≤ x2 is false for NaN; a finite x1 ≤ x2 rules out −Infinity for x2 and +Infinity for x1.
  if (!(x1 <= x2 && y1 <= y2 && x1 > -Infinity && x2 < Infinity && y1 > -Infinity && y2 < Infinity)) return false;
  out[at] = x1;
  out[at + 1] = y1;
  out[at + 2] = x2;
  out[at + 3] = y2;
  return true;
}

/** Reads a valid COCO bbox (finite, w, h ≥ 0) as xyxy into `out` and returns true; false for anything else. */
function fastXywh(value: unknown, out: Float64Array, at: number): boolean {
  if (!Array.isArray(value) || value.length !== 4) return false;
  const x = value[0];
  const y = value[1];
  const w = value[2];
  const h = value[3];
  if (typeof x !== 'number' || typeof y !== 'number' || typeof w !== 'number' || typeof h !== 'number') return false;
  if (!(Number.isFinite(x) && Number.isFinite(y) && w >= 0 && h >= 0 && w < Infinity && h < Infinity)) return false;
  out[at] = x;
  out[at + 1] = y;
  out[at + 2] = x + w;
  out[at + 3] = y + h;
  return true;
}

/** Reads a COCO xywh bbox as xyxy (x2 = x + w, y2 = y + h), w, h ≥ 0. Returns w·h. */
function readXywh(name: string, value: unknown, out: number[] | Float64Array, at: number): number {
  const expected = 'array [x, y, width, height] of finite numbers';
  if (!Array.isArray(value) || value.length !== 4 || !value.every((v) => typeof v === 'number')) {
    fail(name, expected, value);
  }
  const [x, y, w, h] = value as number[];
  if (![x, y, w, h].every(Number.isFinite)) {
    throw new RangeError(`Expected ${expected} for ${name} but received [${x}, ${y}, ${w}, ${h}]`);
  }
  if (!(w >= 0 && h >= 0)) {
    throw new RangeError(`Expected width ≥ 0 and height ≥ 0 for ${name} but received [${x}, ${y}, ${w}, ${h}]`);
  }
  out[at] = x;
  out[at + 1] = y;
  out[at + 2] = x + w;
  out[at + 3] = y + h;
  return w * h;
}

function optionalBoolean(name: string, value: unknown): boolean {
  if (value === undefined) return false;
  if (typeof value === 'boolean') return value;
  return fail(name, 'boolean', value);
}

function optionalSize(name: string, value: unknown): void {
  if (value === undefined) return;
  if (typeof value !== 'number') fail(name, 'number > 0', value);
  if (!(value > 0 && value < Infinity)) throw outOfRangeError(name, 'finite number > 0', value);
}

/** Is this a COCO instances JSON (an object with `images` and `annotations`)? */
export function isCocoGroundTruth(value: unknown): boolean {
  return object(value) && 'images' in value && 'annotations' in value;
}

/** Validates ground truth in any accepted form (`name` roots the paths in error messages). */
export function parseGroundTruth(groundTruth: unknown, name = 'groundTruth'): ParsedGroundTruth {
  if (isCocoGroundTruth(groundTruth)) return parseCocoGroundTruth(groundTruth as Record<string, unknown>, name);
  if (!Array.isArray(groundTruth)) {
    fail(
      name,
      'Array of { image, boxes } or a COCO instances JSON object ({ images, annotations, categories })',
      groundTruth,
    );
  }
  const parsed = emptyGroundTruth();
  const { categories, baseDir } = groundTruth as GroundTruthImage[] & { categories?: unknown; baseDir?: unknown };
  if (baseDir !== undefined) {
    assertString(`${name}.baseDir`, baseDir);
    parsed.baseDir = baseDir;
  }
  if (categories !== undefined) {
    assertArrayAt(`${name}.categories`, categories);
    parseCategories(categories, `${name}.categories`, parsed);
  }
  for (let i = 0; i < groundTruth.length; i++) {
    const at = `${name}[${i}]`;
    const entry = groundTruth[i];
    assertObjectAt(at, entry);
    assertString(`${at}.image`, entry.image);
    optionalSize(`${at}.width`, entry.width);
    optionalSize(`${at}.height`, entry.height);
    let id: number | undefined;
    if (entry.id !== undefined) id = finiteAt(`${at}.id`, entry.id);
    const imageIndex = addImage(parsed, entry.image, id, at, entry.width as number, entry.height as number);
    const boxes = entry.boxes;
    assertArrayAt(`${at}.boxes`, boxes);
    for (let j = 0; j < boxes.length; j++) {
      const bat = `${at}.boxes[${j}]`;
      const b = boxes[j];
      assertObjectAt(bat, b);
      assertString(`${bat}.label`, b.label);
      const o = parsed.boxes.length;
      readXyxy(`${bat}.box`, b.box, parsed.boxes, o, false);
      const difficult = optionalBoolean(`${bat}.difficult`, b.difficult);
      const crowd = optionalBoolean(`${bat}.iscrowd`, b.iscrowd);
      let area = (parsed.boxes[o + 2] - parsed.boxes[o]) * (parsed.boxes[o + 3] - parsed.boxes[o + 1]);
      if (b.area !== undefined) {
        area = finiteAt(`${bat}.area`, b.area, 'finite number ≥ 0');
        if (area < 0) throw outOfRangeError(`${bat}.area`, 'finite number ≥ 0', area);
      }
      let cid: number | undefined;
      if (b.categoryId !== undefined) {
        cid = finiteAt(`${bat}.categoryId`, b.categoryId);
        const known = parsed.categories.get(cid);
        if (known !== undefined && known !== b.label) {
          throw new TypeError(
            `Expected one label per categoryId for ${bat}.label but received ${describe(b.label)} (category ${cid} is ${JSON.stringify(known)})`,
          );
        }
        parsed.categories.set(cid, b.label);
      }
      parsed.image.push(imageIndex);
      parsed.categoryId.push(cid);
      parsed.label.push(b.label);
      parsed.difficult.push(difficult ? 1 : 0);
      parsed.crowd.push(crowd ? 1 : 0);
      parsed.area.push(area);
      parsed.areaGiven.push(b.area !== undefined ? 1 : 0);
    }
  }
  return parsed;
}

function emptyGroundTruth(): ParsedGroundTruth {
  return {
    images: [],
    imageIndex: new Map(),
    ids: [],
    sizes: [],
    boxes: [],
    image: [],
    label: [],
    difficult: [],
    crowd: [],
    area: [],
    areaGiven: [],
    categoryId: [],
    categories: new Map(),
  };
}

function addImage(
  parsed: ParsedGroundTruth,
  image: string,
  id: number | undefined,
  at: string,
  width?: number,
  height?: number,
): number {
  if (parsed.imageIndex.has(image)) {
    throw new TypeError(`Expected each image once in the ground truth but ${at} repeats ${JSON.stringify(image)}`);
  }
  const index = parsed.images.length;
  parsed.images.push(image);
  parsed.imageIndex.set(image, index);
  parsed.ids.push(id);
  parsed.sizes.push([width, height]);
  return index;
}

/** COCO categories [{ id, name }] → parsed.categories (ids and names unique). */
function parseCategories(categories: unknown[], name: string, parsed: ParsedGroundTruth): void {
  const names = new Set<string>();
  for (let i = 0; i < categories.length; i++) {
    const at = `${name}[${i}]`;
    const c = categories[i];
    assertObjectAt(at, c);
    const id = finiteAt(`${at}.id`, c.id);
    assertString(`${at}.name`, c.name);
    if (parsed.categories.has(id)) throw new TypeError(`Expected each category id once but ${at} repeats id ${id}`);
    if (names.has(c.name)) {
      throw new TypeError(`Expected each category name once but ${at} repeats ${JSON.stringify(c.name)}`);
    }
    parsed.categories.set(id, c.name);
    names.add(c.name);
  }
}

/** COCO instances JSON: images by id, annotations in file order, categories id → name. */
function parseCocoGroundTruth(coco: Record<string, unknown>, name: string): ParsedGroundTruth {
  const { images, annotations, categories } = coco;
  assertArrayAt(`${name}.images`, images);
  assertArrayAt(`${name}.annotations`, annotations);
  assertArrayAt(`${name}.categories`, categories);
  const parsed = emptyGroundTruth();
  parseCategories(categories, `${name}.categories`, parsed);
  const order: Array<{ id: number; image: string; at: string; width?: number; height?: number }> = [];
  const seenIds = new Set<number>();
  for (let i = 0; i < images.length; i++) {
    const at = `${name}.images[${i}]`;
    const im = images[i];
    assertObjectAt(at, im);
    const id = finiteAt(`${at}.id`, im.id);
    if (seenIds.has(id)) throw new TypeError(`Expected each image id once but ${at} repeats id ${id}`);
    seenIds.add(id);
    if (im.file_name !== undefined) assertString(`${at}.file_name`, im.file_name);
    optionalSize(`${at}.width`, im.width);
    optionalSize(`${at}.height`, im.height);
    order.push({
      id,
      image: (im.file_name as string | undefined) ?? String(id),
      at,
      width: im.width as number | undefined,
      height: im.height as number | undefined,
    });
  }
  order.sort((a, b) => a.id - b.id);
  const byId = new Map<number, number>();
  for (const { id, image, at, width, height } of order) byId.set(id, addImage(parsed, image, id, at, width, height));
  for (let j = 0; j < annotations.length; j++) {
    const at = `${name}.annotations[${j}]`;
    const a = annotations[j];
    assertObjectAt(at, a);
    const imageId = finiteAt(`${at}.image_id`, a.image_id);
    const imageIndex = byId.get(imageId);
    if (imageIndex === undefined) fail(`${at}.image_id`, 'the id of an image in images', imageId);
    const cid = finiteAt(`${at}.category_id`, a.category_id);
    const label = parsed.categories.get(cid);
    if (label === undefined) fail(`${at}.category_id`, 'the id of a category in categories', cid);
    const o = parsed.boxes.length;
    let area = readXywh(`${at}.bbox`, a.bbox, parsed.boxes, o);
    if (a.area !== undefined) {
      area = finiteAt(`${at}.area`, a.area, 'finite number ≥ 0');
      if (area < 0) throw outOfRangeError(`${at}.area`, 'finite number ≥ 0', area);
    }
    let crowd = false;
    if (a.iscrowd !== undefined) {
      if (a.iscrowd !== 0 && a.iscrowd !== 1 && typeof a.iscrowd !== 'boolean')
        fail(`${at}.iscrowd`, '0 or 1', a.iscrowd);
      crowd = Boolean(a.iscrowd);
    }
    parsed.image.push(imageIndex);
    parsed.categoryId.push(cid);
    parsed.label.push(label);
    parsed.difficult.push(0);
    parsed.crowd.push(crowd ? 1 : 0);
    parsed.area.push(area);
    parsed.areaGiven.push(1);
  }
  return parsed;
}

/** Detections after validation: flat arrays; label n is `labels[label[n]]`. */
export interface ParsedDetections {
  boxes: Float64Array;
  score: Float64Array;
  image: Int32Array;
  label: Int32Array;
  /** The distinct labels, in order of first appearance. */
  labels: string[];
  /** Ours and detect --json: the ground-truth image of each entry, in input order (entries may have no detections). */
  entries: Int32Array;
}

type DetectionsForm = 'ours' | 'detect-json' | 'coco';

/** Tells the form of a detections array by its first element (ours: `image`, detect --json: `file`, COCO: `image_id`). */
export function detectionsForm(detections: unknown[], name = 'detections'): DetectionsForm {
  const first = detections[0];
  if (object(first)) {
    if ('image_id' in first) return 'coco';
    if ('file' in first) return 'detect-json';
    if ('image' in first) return 'ours';
  }
  return fail(
    `${name}[0]`,
    '{ image, detections }, { file, detections } (detect --json) or { image_id, category_id, bbox, score } (COCO results)',
    first,
  );
}

/**
 * Maps detection images (`detect --json` files) to ground-truth images by the rules in this module's header.
 * Returns a function file → ground-truth image index (throws for no match or an ambiguous one).
 */
export function fileMatcher(
  images: readonly string[],
  name = 'detections',
  baseDir?: string,
): (file: string, at: string) => number {
  const exact = new Map<string, number>();
  images.forEach((im, i) => exact.set(im, i));
  const keyed = (key: (s: string) => string) => {
    const m = new Map<string, number>();
    images.forEach((im, i) => {
      const k = key(im);
      m.set(k, m.has(k) ? -1 : i);
    });
    return m;
  };
  const stem = (s: string) => {
    const b = path.basename(s);
    const e = path.extname(b);
    return e ? b.slice(0, -e.length) : b;
  };
  // [what, key of a ground-truth image, key of a detection file (default: the same)]
  const rules: Array<[string, (s: string) => string, ((s: string) => string)?]> = [
    ['absolute path', (s) => path.resolve(s)],
    ['base name', (s) => path.basename(s)],
    ['base name without extension', stem],
  ];
  if (baseDir !== undefined) {
    // ground-truth paths relative to their file (JSONL), detect --json paths relative to the working directory
    rules.unshift(['path', (s) => path.resolve(baseDir, s), (s) => path.resolve(s)]);
  }
  const maps = rules.map(([, key]) => keyed(key));
  return (file, at) => {
    const direct = exact.get(file);
    if (direct !== undefined) return direct;
    for (let r = 0; r < rules.length; r++) {
      const i = maps[r].get((rules[r][2] ?? rules[r][1])(file));
      if (i === undefined) continue;
      if (i === -1) {
        throw new TypeError(
          `Expected ${at} (${JSON.stringify(file)}) to match one ground-truth image but its ${rules[r][0]} matches several (${name})`,
        );
      }
      return i;
    }
    throw new TypeError(
      `Expected ${at} to name a ground-truth image but received ${JSON.stringify(file)} (no image matches it)`,
    );
  };
}

/** Validates detections in any accepted form against the parsed ground truth (for image and category mapping). */
export function parseDetections(detections: unknown, gt: ParsedGroundTruth, name = 'detections'): ParsedDetections {
  if (!Array.isArray(detections)) {
    fail(name, 'Array of { image, detections }, detect --json output or a COCO results list', detections);
  }
  if (detections.length === 0) {
    return {
      boxes: new Float64Array(0),
      score: new Float64Array(0),
      image: new Int32Array(0),
      label: new Int32Array(0),
      labels: [],
      entries: new Int32Array(0),
    };
  }
  const form = detectionsForm(detections, name);
  if (form === 'coco') return parseCocoResults(detections, gt, name);
  let count = 0;
  for (let i = 0; i < detections.length; i++) {
    const e = detections[i];
    assertObjectAt(`${name}[${i}]`, e);
    assertArrayAt(`${name}[${i}].detections`, e.detections);
    count += e.detections.length;
  }
  const out: ParsedDetections = {
    boxes: new Float64Array(4 * count),
    score: new Float64Array(count),
    image: new Int32Array(count),
    label: new Int32Array(count),
    labels: [],
    entries: new Int32Array(detections.length),
  };
  const labelIndex = new Map<string, number>();
  const match = form === 'detect-json' ? fileMatcher(gt.images, name, gt.baseDir) : undefined;
  const seen = new Map<number, string>();
  let n = 0;
  for (let i = 0; i < detections.length; i++) {
    const at = `${name}[${i}]`;
    const e = detections[i] as Record<string, unknown>;
    let imageIndex: number;
    if (match) {
      assertString(`${at}.file`, e.file);
      imageIndex = match(e.file, `${at}.file`);
    } else {
      assertString(`${at}.image`, e.image);
      const index = gt.imageIndex.get(e.image);
      if (index === undefined) {
        throw new TypeError(
          `Expected ${at}.image to be a ground-truth image but received ${JSON.stringify(e.image)} (images are matched by exact string)`,
        );
      }
      imageIndex = index;
    }
    const previous = seen.get(imageIndex);
    if (previous !== undefined) {
      throw new TypeError(
        `Expected each image once in ${name} but ${at} repeats ${JSON.stringify(gt.images[imageIndex])} (also ${previous})`,
      );
    }
    seen.set(imageIndex, at);
    out.entries[i] = imageIndex;
    const list = e.detections as unknown[];
    for (let j = 0; j < list.length; j++) {
      const d = list[j] as Record<string, unknown>;
      // Fast path without building names; anything odd goes through the checks that name the path.
      if (
        !object(d) ||
        typeof d.label !== 'string' ||
        d.label.length === 0 ||
        typeof d.score !== 'number' ||
        !Number.isFinite(d.score) ||
        !fastXyxy(d.box, out.boxes, 4 * n)
      ) {
        const dat = `${at}.detections[${j}]`;
        assertObjectAt(dat, d);
        assertString(`${dat}.label`, d.label);
        finiteAt(`${dat}.score`, d.score);
        readXyxy(`${dat}.box`, d.box, out.boxes, 4 * n, true);
      }
      out.score[n] = d.score as number;
      out.image[n] = imageIndex;
      let li = labelIndex.get(d.label as string);
      if (li === undefined) {
        li = out.labels.length;
        out.labels.push(d.label as string);
        labelIndex.set(d.label as string, li);
      }
      out.label[n] = li;
      n++;
    }
  }
  return out;
}

/** COCO results list: image_id → ground-truth image, category_id → name. */
function parseCocoResults(results: unknown[], gt: ParsedGroundTruth, name: string): ParsedDetections {
  const count = results.length;
  const out: ParsedDetections = {
    boxes: new Float64Array(4 * count),
    score: new Float64Array(count),
    image: new Int32Array(count),
    label: new Int32Array(count),
    labels: [],
    entries: new Int32Array(0),
  };
  const labelIndex = new Map<string, number>();
  const byId = new Map<number, number>();
  gt.ids.forEach((id, i) => {
    if (id !== undefined) byId.set(id, i);
  });
  const categoryLabel = new Map<number, number>();
  for (let n = 0; n < count; n++) {
    const r = results[n] as Record<string, unknown>;
    let imageIndex: number | undefined;
    // Fast path without building names; anything odd goes through the checks that name the path.
    if (
      object(r) &&
      typeof r.image_id === 'number' &&
      typeof r.category_id === 'number' &&
      Number.isFinite(r.category_id) &&
      typeof r.score === 'number' &&
      Number.isFinite(r.score) &&
      fastXywh(r.bbox, out.boxes, 4 * n)
    ) {
      imageIndex = byId.get(r.image_id) ?? gt.imageIndex.get(String(r.image_id));
    }
    if (imageIndex === undefined) {
      const at = `${name}[${n}]`;
      assertObjectAt(at, r);
      const imageId = finiteAt(`${at}.image_id`, r.image_id);
      imageIndex = byId.get(imageId) ?? gt.imageIndex.get(String(imageId));
      if (imageIndex === undefined) fail(`${at}.image_id`, 'the id of a ground-truth image', imageId);
      finiteAt(`${at}.category_id`, r.category_id);
      finiteAt(`${at}.score`, r.score);
      readXywh(`${at}.bbox`, r.bbox, out.boxes, 4 * n);
    }
    const cid = r.category_id as number;
    out.score[n] = r.score as number;
    out.image[n] = imageIndex;
    let li = categoryLabel.get(cid);
    if (li === undefined) {
      const label = gt.categories.get(cid) ?? String(cid);
      li = labelIndex.get(label);
      if (li === undefined) {
        li = out.labels.length;
        out.labels.push(label);
        labelIndex.set(label, li);
      }
      categoryLabel.set(cid, li);
    }
    out.label[n] = li;
  }
  return out;
}

/**
 * Sets `record[key] = value` as an own enumerable property, whatever the key: a class named `__proto__` would
 * otherwise set the object's prototype (and vanish, or poison a mean with it), one named `constructor` or `toString`
 * read back an inherited function.
 */
export function setOwn<T>(record: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true });
}

/** Validates a `classes` option: distinct non-empty strings. */
export function checkClassesOption(name: string, classes: unknown): string[] | undefined {
  if (classes === undefined) return undefined;
  assertArrayAt(name, classes);
  const seen = new Set<string>();
  classes.forEach((c, i) => {
    assertString(`${name}[${i}]`, c);
    if (seen.has(c))
      throw new TypeError(`Expected distinct labels in ${name} but ${name}[${i}] repeats ${JSON.stringify(c)}`);
    seen.add(c);
  });
  return classes as string[];
}

/**
 * Validates and flattens ground truth and detections. Classes: `classes` (if given) in its order, then every other
 * label of the ground truth or the detections, sorted by code unit.
 */
export function prepareInputs(
  groundTruth: GroundTruthInput | unknown,
  detections: DetectionsInput | unknown,
  classes?: readonly string[],
): EvalData {
  const gt = parseGroundTruth(groundTruth);
  const dt = parseDetections(detections, gt);
  const found = new Set<string>(gt.label);
  for (const l of dt.labels) found.add(l);
  const order = [...(classes ?? [])];
  const given = new Set(order);
  order.push(...[...found].filter((c) => !given.has(c)).sort());
  const classIndex = new Map(order.map((c, i) => [c, i]));
  const ng = gt.label.length;
  const gtClass = new Int32Array(ng);
  for (let i = 0; i < ng; i++) gtClass[i] = classIndex.get(gt.label[i])!;
  const nd = dt.label.length;
  const dtClass = new Int32Array(nd);
  const remap = Int32Array.from(dt.labels, (l) => classIndex.get(l)!);
  for (let i = 0; i < nd; i++) dtClass[i] = remap[dt.label[i]];
  return {
    images: gt.images,
    classes: order,
    gtBoxes: Float64Array.from(gt.boxes),
    gtImage: Int32Array.from(gt.image),
    gtClass,
    gtDifficult: Uint8Array.from(gt.difficult),
    gtCrowd: Uint8Array.from(gt.crowd),
    gtArea: Float64Array.from(gt.area),
    dtBoxes: dt.boxes,
    dtScore: dt.score,
    dtImage: dt.image,
    dtClass,
  };
}

/**
 * Groups items by key (0 ≤ key < keys), keeping their order within a key (a stable counting sort).
 * Returns `start` (keys + 1 offsets) and `order` (item indices, grouped).
 */
export function groupBy(key: Int32Array, keys: number): { start: Int32Array; order: Int32Array } {
  const start = new Int32Array(keys + 1);
  for (let i = 0; i < key.length; i++) start[key[i] + 1]++;
  for (let k = 0; k < keys; k++) start[k + 1] += start[k];
  const fill = start.slice(0, keys);
  const order = new Int32Array(key.length);
  for (let i = 0; i < key.length; i++) order[fill[key[i]]++] = i;
  return { start, order };
}

// Float64 bits as two uint32 words; which word is the high one depends on the platform's byte order.
const F64 = new Float64Array(1);
const U32 = new Uint32Array(F64.buffer);
F64[0] = 1;
const HI = U32[1] === 0x3ff00000 ? 1 : 0;
const LO = 1 - HI;

/**
 * `items` (indices into `scores`) sorted by decreasing score, ties in their order in `items` — a stable sort, numpy's
 * `argsort(-score, kind='mergesort')`. −0 and +0 are equal. Small inputs: insertion sort; larger: a least-significant-
 * digit radix sort (8-bit digits, passes where every key shares the digit skipped) on the float64 bits mapped to
 * unsigned integers in decreasing-score order, which is stable and linear.
 */
export function sortByScore(items: ArrayLike<number>, scores: Float64Array): Int32Array {
  const n = items.length;
  let out = new Int32Array(n);
  if (n < 64) {
    for (let i = 0; i < n; i++) {
      const v = items[i];
      const sv = scores[v];
      let j = i - 1;
      while (j >= 0 && scores[out[j]] < sv) {
        out[j + 1] = out[j];
        j--;
      }
      out[j + 1] = v;
    }
    return out;
  }
  // Keys: ascending unsigned order = decreasing score.
  let hi = new Uint32Array(n);
  let lo = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    F64[0] = scores[items[i]] + 0; // −0 → +0
    let h = U32[HI];
    let l = U32[LO];
    if (h & 0x80000000) {
      h = ~h;
      l = ~l;
    } else {
      h |= 0x80000000;
    }
    hi[i] = ~h;
    lo[i] = ~l;
    out[i] = items[i];
  }
  let hi2 = new Uint32Array(n);
  let lo2 = new Uint32Array(n);
  let out2 = new Int32Array(n);
  const count = new Int32Array(256);
  for (let pass = 0; pass < 8; pass++) {
    const word = pass < 4 ? lo : hi;
    const shift = (pass & 3) * 8;
    count.fill(0);
    for (let i = 0; i < n; i++) count[(word[i] >>> shift) & 255]++;
    if (count[(word[0] >>> shift) & 255] === n) continue; // every key has this digit
    for (let b = 0, sum = 0; b < 256; b++) {
      const c = count[b];
      count[b] = sum;
      sum += c;
    }
    for (let i = 0; i < n; i++) {
      const at = count[(word[i] >>> shift) & 255]++;
      hi2[at] = hi[i];
      lo2[at] = lo[i];
      out2[at] = out[i];
    }
    [hi, hi2] = [hi2, hi];
    [lo, lo2] = [lo2, lo];
    [out, out2] = [out2, out];
  }
  return out;
}

/**
 * The detections grouped by `key` (0 ≤ key < keys; input order kept within a key): `start` (keys + 1 offsets) and
 * their boxes, scores and images in that order, so that each group's data is contiguous in memory; `identity`
 * (0 … n − 1), whose subarrays are the groups' indices. One sequential pass over the input scatters into the groups
 * (sequential writes per group, friendlier to the cache than gathering).
 */
export function groupDetections(data: EvalData, key: Int32Array, keys: number) {
  const n = key.length;
  const start = new Int32Array(keys + 1);
  for (let i = 0; i < n; i++) start[key[i] + 1]++;
  for (let k = 0; k < keys; k++) start[k + 1] += start[k];
  const fill = start.slice(0, keys);
  const boxes = new Float64Array(4 * n);
  const score = new Float64Array(n);
  const image = new Int32Array(n);
  const identity = new Int32Array(n);
  const src = data.dtBoxes;
  for (let i = 0; i < n; i++) {
    const j = fill[key[i]]++;
    boxes[4 * j] = src[4 * i];
    boxes[4 * j + 1] = src[4 * i + 1];
    boxes[4 * j + 2] = src[4 * i + 2];
    boxes[4 * j + 3] = src[4 * i + 3];
    score[j] = data.dtScore[i];
    image[j] = data.dtImage[i];
    identity[i] = i;
  }
  return { start, boxes, score, image, identity };
}
