/** Small helpers shared by the dataset readers: paths for messages, problem records, number parsing. */
import path from 'node:path';
import type { DataProblem, DataProblemCode } from './types.ts';

/** A path as messages show it: relative to the working directory when inside it, else absolute. */
export function displayPath(file: string): string {
  const rel = path.relative(process.cwd(), file);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : file;
}

/** Where a problem is, for its message: `file:line: object 2 (dog)`. */
export interface Where {
  file: string;
  line?: number;
  id?: string;
  object?: number;
  /** Label of the object, shown after its index. */
  label?: string;
  /** Extra words after the object (e.g. `annotation id 17`). */
  note?: string;
}

/**
 * A problem whose message reads `<file>[:line][ image <id>][ object <i> (<label>)[, note]]: <what>`.
 *
 * @example problem('empty-box', { file: '/d/Annotations/1.xml', object: 0, label: 'cat' }, 'x1 = 5 ≥ x2 = 3')
 */
export function problem(code: DataProblemCode, where: Where, what: string, showId = false): DataProblem {
  let head = displayPath(where.file);
  if (where.line !== undefined) head += `:${where.line}`;
  if (showId && where.id !== undefined) head += ` image ${where.id}`;
  if (where.object !== undefined) {
    head += ` object ${where.object}`;
    if (where.label !== undefined && where.label !== '') head += ` (${where.label})`;
  }
  if (where.note) head += `, ${where.note}`;
  const p: DataProblem = { file: where.file, code, message: `${head}: ${what}` };
  if (where.line !== undefined) p.line = where.line;
  if (where.id !== undefined) p.id = where.id;
  if (where.object !== undefined) p.object = where.object;
  return p;
}

/** A number as an annotation writes it ('12', '12.5', 'nan', 'inf', '-Infinity'); undefined when it is not one. */
export function parseNumberText(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const t = text.trim().toLowerCase();
  if (t === '') return undefined;
  if (t === 'nan' || t === '+nan' || t === '-nan') return Number.NaN;
  if (t === 'inf' || t === '+inf' || t === 'infinity' || t === '+infinity') return Number.POSITIVE_INFINITY;
  if (t === '-inf' || t === '-infinity') return Number.NEGATIVE_INFINITY;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/.test(t)) return undefined;
  return Number(t);
}

/**
 * Why a stated image size (JSON `width` / `height`) is unusable, or undefined when it is absent or a finite number ≥ 0
 * (0 means "not stated", as VOC's converted sets write it).
 */
export function badSize(name: string, value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return undefined;
  return `"${name}" is ${JSON.stringify(value) ?? String(value)}, not a size ≥ 0`;
}
