/**
 * Reading ground-truth and detection files for evaluation. Each file is JSON (an array, or a COCO instances object)
 * or JSON Lines (one object per line, blank lines skipped; `[i]` in messages is the i-th object, 0-based). Every
 * value is validated as by `evaluateVoc`, with the file's path as the root of the path in error messages
 * (`Expected … for gt.json[3].boxes[1].box but received …`).
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe } from '../is.ts';
import {
  detectionsForm,
  isCocoGroundTruth,
  type ParsedGroundTruth,
  parseDetections,
  parseGroundTruth,
} from './inputs.ts';
import type { DetectionImage, GroundTruthImage, GroundTruthList, XYXY } from './types.ts';

/** Parses a JSON or JSON Lines file; errors name the file (and the line for JSONL). */
async function readJsonOrLines(file: string, what: string): Promise<unknown> {
  if (typeof file !== 'string' || file.length === 0) {
    throw new TypeError(`Expected a file path (non-empty string) for ${what} but received ${describe(file)}`);
  }
  const text = (await fs.promises.readFile(file, 'utf8')).replace(/^\uFEFF/, ''); // a BOM is not JSON
  try {
    const value = JSON.parse(text) as unknown;
    // A one-line JSONL file parses as one object.
    return typeof value === 'object' && value !== null && !Array.isArray(value) && !isCocoGroundTruth(value)
      ? [value]
      : value;
  } catch (wholeError) {
    const lines = text.split('\n');
    const records: unknown[] = [];
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i].trim();
      if (!line) continue;
      try {
        records.push(JSON.parse(line));
      } catch (err) {
        if (records.length === 0 && !line.startsWith('{')) {
          throw new SyntaxError(`${file}: not JSON or JSON Lines (${(wholeError as Error).message})`);
        }
        throw new SyntaxError(`${file}:${i + 1}: not JSON (${(err as Error).message})`);
      }
    }
    return records;
  }
}

/** Ground truth back to `GroundTruthImage[]` (COCO JSON: images by id, `id` and `categoryId` kept). */
function toGroundTruthImages(gt: ParsedGroundTruth, coco: boolean): GroundTruthList {
  const out: GroundTruthList = gt.images.map((image, i) => {
    const entry: GroundTruthImage = { image, boxes: [] };
    const [width, height] = gt.sizes[i];
    if (width !== undefined) entry.width = width;
    if (height !== undefined) entry.height = height;
    if (gt.ids[i] !== undefined) entry.id = gt.ids[i];
    return entry;
  });
  for (let g = 0; g < gt.label.length; g++) {
    const b = gt.boxes;
    const box: GroundTruthImage['boxes'][number] = {
      label: gt.label[g],
      box: [b[4 * g], b[4 * g + 1], b[4 * g + 2], b[4 * g + 3]] as XYXY,
    };
    if (gt.areaGiven[g]) box.area = gt.area[g];
    if (gt.difficult[g]) box.difficult = true;
    if (gt.crowd[g]) box.iscrowd = true;
    if (gt.categoryId[g] !== undefined) box.categoryId = gt.categoryId[g];
    out[gt.image[g]].boxes.push(box);
  }
  if (coco) out.categories = [...gt.categories].sort((a, b) => a[0] - b[0]).map(([id, name]) => ({ id, name }));
  return out;
}

/**
 * Reads a ground-truth file: our JSON (`[{ image, width?, height?, boxes: [{ label, box: [x1, y1, x2, y2],
 * difficult?, iscrowd?, area? }] }]`, as JSON or JSON Lines — the JSONL dataset format is this) or a COCO instances
 * JSON (images in order of id, keyed by `file_name`, boxes converted from xywh to xyxy with `area`, `iscrowd`, and
 * the COCO `id` / `categoryId` kept, and every category as the array's `categories` property, so that a COCO results
 * file maps onto it).
 *
 * @throws {SyntaxError} Not JSON / JSON Lines (names the file, and the line).
 * @throws {TypeError|RangeError} An invalid value (names the path into the file).
 * @example
 * const gt = await readGroundTruthFile('instances_val2017.json');
 */
export async function readGroundTruthFile(file: string): Promise<GroundTruthList> {
  const raw = await readJsonOrLines(file, 'file');
  const out = toGroundTruthImages(parseGroundTruth(raw, file), isCocoGroundTruth(raw));
  // image paths are relative to the file (the JSONL dataset format): detect --json paths are matched through it
  // (not enumerable: the list compares and copies as the plain array of images it is)
  const baseDir = path.dirname(path.resolve(file));
  Object.defineProperty(out, 'baseDir', { value: baseDir, writable: true, configurable: true });
  return out;
}

/**
 * Reads a detections file: ours (`[{ image, detections: [{ label, score, box }] }]`), `ssd-edge detect --json` /
 * `--jsonl` output (`[{ file, detections: [{ label, score, box: { x1, y1, x2, y2 } }] }]`), or a COCO results list
 * (`[{ image_id, category_id, bbox: [x, y, w, h], score }]`, grouped by image in order of first appearance, boxes
 * converted to xyxy).
 *
 * With `groundTruth`, each image is mapped onto a ground-truth image by the rules of lib/eval/inputs.ts (a `detect`
 * `file` by path, base name or stem; a COCO `image_id` by id) and category ids become names; an image that matches
 * none is an error naming it. Without it, images keep their name (`file`, or the COCO id as a string) and COCO
 * categories become their id as a string.
 *
 * @throws {SyntaxError} Not JSON / JSON Lines.
 * @throws {TypeError|RangeError} An invalid value, or an image that matches no ground-truth image.
 * @example
 * const gt = await readGroundTruthFile('gt.json');
 * const dets = await readDetectionsFile('detections.json', gt);
 * evaluateVoc(gt, dets);
 */
export async function readDetectionsFile(file: string, groundTruth?: GroundTruthList): Promise<DetectionImage[]> {
  const raw = await readJsonOrLines(file, 'file');
  let gt: ParsedGroundTruth;
  if (groundTruth !== undefined) {
    gt = parseGroundTruth(groundTruth, 'groundTruth');
  } else {
    // No ground truth: the detections' own images (each once; repeats are reported by parseDetections).
    const images: GroundTruthImage[] = [];
    if (Array.isArray(raw) && raw.length > 0) {
      const form = detectionsForm(raw, file);
      const seen = new Set<string>();
      for (const e of raw) {
        if (typeof e !== 'object' || e === null) continue;
        const r = e as Record<string, unknown>;
        const key = form === 'coco' ? r.image_id : form === 'detect-json' ? r.file : r.image;
        const image = form === 'coco' ? String(key) : key;
        if (typeof image !== 'string' || image.length === 0 || seen.has(image)) continue;
        seen.add(image);
        images.push(
          form === 'coco' && typeof key === 'number' && Number.isFinite(key)
            ? { image, id: key, boxes: [] }
            : { image, boxes: [] },
        );
      }
    }
    gt = parseGroundTruth(images, 'groundTruth');
  }
  const dt = parseDetections(raw, gt, file);
  const out: DetectionImage[] = [];
  const byImage = new Map<number, DetectionImage>();
  const entry = (i: number) => {
    let e = byImage.get(i);
    if (!e) {
      e = { image: gt.images[i], detections: [] };
      byImage.set(i, e);
      out.push(e);
    }
    return e;
  };
  // Ours and detect --json: every listed image, in file order (also those without detections).
  for (const i of dt.entries) entry(i);
  const b = dt.boxes;
  for (let n = 0; n < dt.label.length; n++) {
    entry(dt.image[n]).detections.push({
      label: dt.labels[dt.label[n]],
      score: dt.score[n],
      box: [b[4 * n], b[4 * n + 1], b[4 * n + 2], b[4 * n + 3]],
    });
  }
  return out;
}
