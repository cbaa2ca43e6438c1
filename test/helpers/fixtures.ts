/**
 * Loaders for test/fixtures/ (written by scripts/make-fixtures.mjs from the oracle data).
 * Tests read fixtures only through these helpers, never the shared reference folder.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const fixturesDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');

/** Raw little-endian float32 file → Float32Array (a fresh, aligned copy). */
export function readF32(name: string): Float32Array {
  const buf = fs.readFileSync(path.join(fixturesDir, name));
  if (buf.length % 4 !== 0) throw new Error(`readF32: ${name} has ${buf.length} bytes, not a multiple of 4`);
  const out = new Float32Array(buf.length / 4);
  new Uint8Array(out.buffer).set(buf);
  return out;
}

const jsonCache = new Map<string, unknown>();
/** Parsed JSON fixture (cached; treat as read-only). */
export function readJson<T = any>(name: string): T {
  if (!jsonCache.has(name)) jsonCache.set(name, JSON.parse(fs.readFileSync(path.join(fixturesDir, name), 'utf8')));
  return jsonCache.get(name) as T;
}

/** JSON number or "NaN" / "Infinity" / "-Infinity" → number. */
export function num(v: number | string): number {
  if (typeof v === 'number') return v;
  if (v === 'NaN') return NaN;
  if (v === 'Infinity') return Infinity;
  if (v === '-Infinity') return -Infinity;
  throw new Error(`num: unexpected value ${JSON.stringify(v)}`);
}

/** Nested JSON number arrays (any depth) → flat Float32Array. */
export function f32(rows: unknown): Float32Array {
  const flat: number[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else flat.push(num(v as number | string));
  };
  walk(rows);
  return Float32Array.from(flat);
}

/** Nested JSON number arrays → flat Int32Array. */
export function i32(rows: unknown): Int32Array {
  return Int32Array.from(f32(rows));
}
