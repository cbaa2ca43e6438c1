/**
 * JSONL datasets: one image per line,
 * `{ "image": "path", "width"?: W, "height"?: H, "boxes": [{ "label": "cat", "box": [x1, y1, x2, y2], "difficult"?: bool, "iscrowd"?: bool }] }`.
 * Image paths are relative to the JSONL file (absolute ones stay); boxes are xyxy in continuous pixel coordinates,
 * taken as written. Blank lines are skipped. The image id is the path as written.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { DataProblem, ParsedDataset, RawObject, RawRecord } from './types.ts';
import { badSize, problem } from './util.ts';

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const positive = (v: unknown): number | undefined =>
  typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : undefined;
const flag = (v: unknown): boolean | undefined => (v === undefined ? undefined : v === true || v === 1);

/** Reads a JSONL dataset file (not the images). */
export function readJsonl(source: string): ParsedDataset {
  const file = path.resolve(source);
  const problems: DataProblem[] = [];
  const recordOf = new Map<DataProblem, number>();
  const out: ParsedDataset = {
    format: 'jsonl',
    root: file,
    records: [],
    problems,
    badRecords: new Set(),
    fatal: false,
    recordOf,
    files: [file],
  };
  /** A problem of the current line: of its record, or between the records around it. */
  const report = (p: DataProblem, record = out.records.length - 0.5) => {
    problems.push(p);
    recordOf.set(p, record);
  };
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8').replace(/^\uFEFF/, ''); // a BOM (Windows editors) is not JSON
  } catch (err) {
    problems.push(
      problem(
        'parse-error',
        { file },
        (err as NodeJS.ErrnoException).code === 'EISDIR'
          ? 'is a folder, not a JSONL file'
          : `cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
      ),
    );
    out.fatal = true;
    return out;
  }
  const dir = path.dirname(file);
  text.split(/\r?\n/).forEach((raw, k) => {
    const line = k + 1;
    if (raw.trim() === '') return;
    let entry: unknown;
    try {
      entry = JSON.parse(raw);
    } catch (err) {
      report(problem('parse-error', { file, line }, `not valid JSON (${(err as Error).message})`));
      return;
    }
    if (!isObject(entry) || typeof entry.image !== 'string' || entry.image === '') {
      report(problem('parse-error', { file, line }, 'expected { "image": "path", "boxes": [...] }'));
      return;
    }
    const id = entry.image;
    const record: RawRecord = {
      id,
      image: path.resolve(dir, id),
      file,
      line,
      width: positive(entry.width),
      height: positive(entry.height),
      objects: [],
    };
    const index = out.records.push(record) - 1;
    const sizeProblems = [badSize('width', entry.width), badSize('height', entry.height)].filter(Boolean);
    if (sizeProblems.length > 0) {
      report(problem('parse-error', { file, line, id }, sizeProblems.join(', ')), index);
      out.badRecords.add(index);
    }
    const boxes = entry.boxes ?? [];
    if (!Array.isArray(boxes)) {
      report(problem('parse-error', { file, line, id }, `"boxes" is ${JSON.stringify(boxes)}, not an array`), index);
      out.badRecords.add(index);
      return;
    }
    boxes.forEach((b, object) => {
      const label = isObject(b) && typeof b.label === 'string' ? b.label : undefined;
      const where = { file, line, id, object, label };
      if (!isObject(b) || label === undefined || label === '') {
        report(problem('parse-error', where, 'expected { "label": "name", "box": [x1, y1, x2, y2] }'), index);
        return;
      }
      const box = b.box;
      if (!Array.isArray(box) || box.length !== 4 || !box.every((v) => typeof v === 'number' || v === null)) {
        report(
          problem('parse-error', where, `box is ${JSON.stringify(box)}, expected [x1, y1, x2, y2] numbers`),
          index,
        );
        return;
      }
      // null is how JSON.stringify writes NaN and ±Infinity
      const o: RawObject = {
        index: object,
        label,
        box: box.map((v) => (v === null ? Number.NaN : v)) as [number, number, number, number],
      };
      const badFlags = (['difficult', 'iscrowd'] as const).filter(
        (k) => b[k] !== undefined && b[k] !== true && b[k] !== false && b[k] !== 0 && b[k] !== 1,
      );
      if (badFlags.length > 0) {
        const what = badFlags.map((k) => `"${k}" is ${JSON.stringify(b[k])}, expected true, false, 0 or 1`);
        report(problem('parse-error', where, what.join(', ')), index);
        return;
      }
      const difficult = flag(b.difficult);
      const iscrowd = flag(b.iscrowd);
      if (difficult !== undefined) o.difficult = difficult;
      if (iscrowd !== undefined) o.iscrowd = iscrowd;
      record.objects.push(o);
    });
  });
  return out;
}
