/**
 * Which format a dataset path holds, from the path alone: a folder with `Annotations/` is Pascal VOC; a `.json`
 * file, or a folder with `annotations/instances_*.json`, is COCO; a `.jsonl` file is JSONL.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { DatasetFormat } from './types.ts';
import { displayPath } from './util.ts';

/** The COCO instances files in `<dir>/annotations/` (full paths, sorted). */
export function cocoInstanceFiles(dir: string): string[] {
  const ann = path.join(dir, 'annotations');
  let names: string[];
  try {
    names = fs.readdirSync(ann);
  } catch {
    return [];
  }
  return names
    .filter((n) => /^instances_.*\.json$/i.test(n))
    .sort()
    .map((n) => path.join(ann, n));
}

/**
 * Detects the dataset format of a path.
 *
 * @throws {Error} The path does not exist, or it matches none of the layouts (the message lists them and
 *   names `format` / `--format`).
 * @example
 * detectFormat('VOCdevkit/VOC2007') // 'voc'
 * detectFormat('coco/annotations/instances_val2017.json') // 'coco'
 */
export function detectFormat(file: string): DatasetFormat {
  if (typeof file !== 'string' || file === '')
    throw new TypeError(`Expected a dataset path for path but received ${JSON.stringify(file)}`);
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch {
    throw new Error(`Cannot open dataset ${displayPath(path.resolve(file))}: no such file or directory`);
  }
  if (stat.isDirectory()) {
    if (isDir(path.join(file, 'Annotations'))) return 'voc';
    if (cocoInstanceFiles(file).length > 0) return 'coco';
  } else {
    const ext = path.extname(file).toLowerCase();
    if (ext === '.jsonl' || ext === '.ndjson') return 'jsonl';
    if (ext === '.json') return 'coco';
  }
  throw new Error(
    `Cannot tell the dataset format of ${displayPath(path.resolve(file))}: expected a folder with Annotations/ (Pascal VOC), ` +
      'a COCO instances .json file or a folder with annotations/instances_*.json (COCO), or a .jsonl file (JSONL); ' +
      "name the format (--format voc|coco|jsonl, or { format: 'voc' })",
  );
}

function isDir(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}
