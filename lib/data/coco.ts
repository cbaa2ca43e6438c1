/**
 * COCO instances JSON (`images`, `annotations`, `categories`). `bbox` is [x, y, w, h] in continuous pixel
 * coordinates and becomes xyxy [x, y, x + w, y + h]; `iscrowd` and `area` are kept (COCO's evaluation ignores crowd
 * regions and sizes objects by `area`). The label order is the categories by id, ascending.
 *
 * Images: `file_name` is looked up, for `annotations/instances_<split>.json` under `<root>`, in `<root>/<split>/`,
 * `<root>/images/<split>/`, `<root>/images/`, `<root>/`, and next to the JSON file; the first folder that holds the
 * first image is used for all of them.
 */
import fs from 'node:fs';
import path from 'node:path';
import { cocoInstanceFiles } from './detect.ts';
import type { DataProblem, ParsedDataset, RawObject, RawRecord } from './types.ts';
import { badSize, displayPath, problem } from './util.ts';

/** The instances file a COCO folder or path names (see `OpenDatasetOptions.split`). */
export function resolveCocoFile(file: string, split?: string): string {
  if (!fs.statSync(file).isDirectory()) return file;
  const files = cocoInstanceFiles(file);
  const names = files.map((f) => path.basename(f, '.json').replace(/^instances_/i, ''));
  if (split !== undefined) {
    const k = names.indexOf(split);
    if (k < 0) {
      throw new Error(
        `No split '${split}' in ${displayPath(file)}: annotations/instances_${split}.json does not exist (splits: ${names.join(', ') || 'none'})`,
      );
    }
    return files[k];
  }
  if (files.length === 1) return files[0];
  const val = names.findIndex((n) => /val/i.test(n));
  if (val >= 0) return files[val];
  throw new Error(
    `${displayPath(file)} has several COCO splits (${names.join(', ')}): choose one with --split / { split }`,
  );
}

/** JSON.parse's "at position N" as a 1-based line. */
function jsonErrorLine(text: string, err: unknown): number | undefined {
  const m = /position (\d+)/.exec((err as Error).message);
  if (!m) return undefined;
  const pos = Number(m[1]);
  let line = 1;
  for (let k = 0; k < pos && k < text.length; k++) if (text.charCodeAt(k) === 10) line++;
  return line;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const positive = (v: unknown): number | undefined =>
  typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : undefined;

/**
 * Reads a COCO instances JSON (the file, or a folder with annotations/instances_*.json).
 *
 * @throws {Error} The split does not exist, or a folder has several and none is named.
 */
export function readCoco(source: string, split?: string): ParsedDataset {
  const root = path.resolve(source);
  const file = resolveCocoFile(root, split);
  const problems: DataProblem[] = [];
  const scopes = new Map<DataProblem, 'object' | 'sample' | 'dataset'>();
  const recordOf = new Map<DataProblem, number>();
  const out: ParsedDataset = {
    format: 'coco',
    root,
    records: [],
    problems,
    badRecords: new Set(),
    fatal: false,
    scopes,
    recordOf,
    files: [file],
  };
  const fatal = (what: string, line?: number) => {
    problems.push(problem('parse-error', { file, line }, what));
    out.fatal = true;
    return out;
  };
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8').replace(/^\uFEFF/, ''); // a BOM (Windows editors) is not JSON
  } catch (err) {
    return fatal(`cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return fatal(`not valid JSON (${(err as Error).message})`, jsonErrorLine(text, err));
  }
  if (!isObject(json) || !Array.isArray(json.images))
    return fatal('not a COCO instances file: expected an object with an "images" array');
  const annotations = json.annotations ?? [];
  const categories = json.categories ?? [];
  if (!Array.isArray(annotations)) return fatal('"annotations" is not an array');
  if (!Array.isArray(categories)) return fatal('"categories" is not an array');

  // categories: id → name; the label order is by id
  const dataset = (code: Parameters<typeof problem>[0], what: string) => {
    const p = problem(code, { file }, what);
    problems.push(p);
    scopes.set(p, 'dataset');
  };
  const catName = new Map<number, string>();
  const nameOf = new Map<string, number>();
  categories.forEach((c, k) => {
    if (!isObject(c) || typeof c.id !== 'number' || typeof c.name !== 'string' || c.name === '') {
      dataset('parse-error', `categories[${k}] is not { id: number, name: string }`);
      return;
    }
    if (catName.has(c.id)) {
      dataset('duplicate-id', `categories[${k}]: category id ${c.id} is used twice`);
      return;
    }
    if (nameOf.has(c.name)) {
      dataset(
        'duplicate-id',
        `categories[${k}]: category name "${c.name}" is used by ids ${nameOf.get(c.name)} and ${c.id}`,
      );
      return;
    }
    catName.set(c.id, c.name);
    nameOf.set(c.name, c.id);
  });
  out.classes = [...catName.keys()].sort((a, b) => a - b).map((id) => catName.get(id)!);

  // images
  const imageDirs = candidateDirs(root, file);
  let imageDir: string | null = null;
  const recordById = new Map<unknown, RawRecord>();
  const indexOf = new Map<RawRecord, number>();
  json.images.forEach((img, k) => {
    if (
      !isObject(img) ||
      (typeof img.id !== 'number' && typeof img.id !== 'string') ||
      typeof img.file_name !== 'string'
    ) {
      // one unusable image entry: the others go on (policy drop); it sorts between its neighbours
      const p = problem('parse-error', { file }, `images[${k}] is not { id, file_name, width, height }`);
      problems.push(p);
      recordOf.set(p, out.records.length - 0.5);
      return;
    }
    if (imageDir === null) {
      // none holds it: the standard <root>/<split>/ for instances_<split>.json, else next to the JSON (a folder named
      // after any other file name would only puzzle the 'no such file' messages)
      const fallback = /^instances_/i.test(path.basename(file)) ? imageDirs[0] : path.dirname(file);
      imageDir = imageDirs.find((d) => fs.existsSync(path.resolve(d, img.file_name as string))) ?? fallback;
    }
    const record: RawRecord = {
      id: String(img.id),
      image: path.resolve(imageDir, img.file_name),
      file,
      width: positive(img.width),
      height: positive(img.height),
      objects: [],
      listedAt: `images[${k}]`,
    };
    const index = out.records.push(record) - 1;
    indexOf.set(record, index);
    if (!recordById.has(img.id)) recordById.set(img.id, record);
    const sizeProblems = [badSize('width', img.width), badSize('height', img.height)].filter(Boolean);
    if (sizeProblems.length > 0) {
      const p = problem('parse-error', { file, id: record.id, note: `images[${k}]` }, sizeProblems.join(', '), true);
      problems.push(p);
      recordOf.set(p, index);
      out.badRecords.add(index);
    }
  });

  // annotations, numbered per image in file order
  const seen = new Map<RawRecord, number>();
  annotations.forEach((a, k) => {
    const note = isObject(a) && a.id !== undefined ? `annotation id ${JSON.stringify(a.id)}` : `annotations[${k}]`;
    if (!isObject(a)) {
      const p = problem('parse-error', { file, note }, 'not an object');
      problems.push(p);
      scopes.set(p, 'object');
      return;
    }
    const record = recordById.get(a.image_id);
    if (!record) {
      const p = problem('unknown-image', { file, note }, `image_id ${JSON.stringify(a.image_id)} is not in "images"`);
      problems.push(p);
      scopes.set(p, 'object');
      return;
    }
    const index = seen.get(record) ?? 0;
    seen.set(record, index + 1);
    const label = typeof a.category_id === 'number' ? catName.get(a.category_id) : undefined;
    const where = { file, id: record.id, object: index, label, note };
    const bbox = a.bbox;
    const fail = (code: Parameters<typeof problem>[0], what: string) => {
      const p = problem(code, where, what, true);
      problems.push(p);
      recordOf.set(p, indexOf.get(record)!);
    };
    if (label === undefined)
      return fail('unknown-label', `category_id ${JSON.stringify(a.category_id)} is not in "categories"`);
    if (!Array.isArray(bbox) || bbox.length !== 4)
      return fail('parse-error', `bbox is ${JSON.stringify(bbox)}, expected [x, y, w, h]`);
    if (!bbox.every((v) => typeof v === 'number' || v === null))
      return fail('parse-error', `bbox ${JSON.stringify(bbox)} holds a value that is not a number`);
    if (a.iscrowd !== undefined && a.iscrowd !== 0 && a.iscrowd !== 1 && typeof a.iscrowd !== 'boolean')
      return fail('parse-error', `iscrowd is ${JSON.stringify(a.iscrowd)}, expected 0 or 1`);
    // null is how JSON.stringify writes NaN and ±Infinity
    const [x, y, w, h] = bbox.map((v) => (v === null ? Number.NaN : v)) as number[];
    const object: RawObject = {
      index,
      label,
      box: [x, y, x + w, y + h],
      iscrowd: a.iscrowd === 1 || a.iscrowd === true,
      note: `${note}, bbox [${bbox.map(String).join(', ')}]`,
    };
    if (a.area !== undefined) {
      // the area decides COCO's small/medium/large ranges: a bad one would silently move (or hide) the object
      if (!(typeof a.area === 'number' && Number.isFinite(a.area) && a.area >= 0))
        return fail('parse-error', `area is ${JSON.stringify(a.area)}, expected a number ≥ 0`);
      object.area = a.area;
    }
    record.objects.push(object);
  });
  return out;
}

/** Folders where `file_name` may be relative to (see the file's comment). */
function candidateDirs(root: string, file: string): string[] {
  const split = path.basename(file, '.json').replace(/^instances_/i, '');
  const annDir = path.dirname(file);
  const base = path.basename(annDir).toLowerCase() === 'annotations' ? path.dirname(annDir) : annDir;
  const dirs = [path.join(base, split), path.join(base, 'images', split), path.join(base, 'images'), base, annDir];
  if (root !== file && !dirs.includes(root)) dirs.push(root);
  return [...new Set(dirs)];
}
