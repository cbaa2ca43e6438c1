/**
 * Training checkpoints: one file holding everything a run needs to continue exactly where it stopped — the weights,
 * the optimizer's state, the RNG state, the epochs done, the history, the best epoch so far (and its weights), and the
 * key of the feature cache — written atomically (temporary file, fsync, rename: lib/files.ts) after every epoch, so
 * a SIGKILL at any moment leaves either the previous checkpoint or the new one, never a torn file.
 *
 * Layout (little-endian): the 8 bytes `SSDECKPT`, a uint32 format version (1), a uint32 header length, the header as
 * UTF-8 JSON, zero padding to a multiple of 4, then the float32 arrays back to back. In the header each Float32Array
 * of the value is replaced by `{ "$f32": [offset, length] }` (in floats from the start of the array section) and each
 * non-finite number by `{ "$num": "NaN" | "Infinity" | "-Infinity" }`; a SHA-256 of the array section guards it.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import { writeFileAtomic } from '../files.ts';

const MAGIC = 'SSDECKPT';
export const CHECKPOINT_VERSION = 1;

/** A checkpoint file that cannot be read (not a checkpoint, another version, truncated or corrupt). */
export class CheckpointError extends Error {
  code = 'ERR_SSD_EDGE_CHECKPOINT';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CheckpointError';
  }
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/**
 * Encodes a value made of plain objects, arrays, strings, booleans, null, numbers (NaN and ±Infinity included) and
 * Float32Arrays as checkpoint bytes.
 */
export function encodeCheckpoint(value: unknown): Uint8Array {
  const arrays: Float32Array[] = [];
  let offset = 0;
  const walk = (v: unknown): Json => {
    if (v instanceof Float32Array) {
      arrays.push(v);
      const ref = { $f32: [offset, v.length] };
      offset += v.length;
      return ref;
    }
    if (typeof v === 'number') return Number.isFinite(v) ? v : { $num: String(v) };
    if (v === null || typeof v === 'string' || typeof v === 'boolean') return v;
    if (v === undefined) return null;
    if (Array.isArray(v)) return v.map(walk);
    if (typeof v === 'object' && !ArrayBuffer.isView(v)) {
      const out: Record<string, Json> = {};
      for (const [k, x] of Object.entries(v)) if (x !== undefined) out[k] = walk(x);
      return out;
    }
    throw new TypeError(`Cannot store a value of type ${Object.prototype.toString.call(v)} in a checkpoint`);
  };
  const tree = walk(value);
  const data = new Uint8Array(offset * 4);
  const view = new Float32Array(data.buffer);
  let at = 0;
  for (const a of arrays) {
    view.set(a, at);
    at += a.length;
  }
  const sha256 = crypto.createHash('sha256').update(data).digest('hex');
  const header = Buffer.from(JSON.stringify({ sha256, floats: offset, value: tree }), 'utf8');
  const headerEnd = 16 + header.length;
  const start = Math.ceil(headerEnd / 4) * 4;
  const out = Buffer.alloc(start + data.length);
  out.write(MAGIC, 0, 'latin1');
  out.writeUInt32LE(CHECKPOINT_VERSION, 8);
  out.writeUInt32LE(header.length, 12);
  header.copy(out, 16);
  out.set(data, start);
  return out;
}

/**
 * Decodes checkpoint bytes (the arrays are copies, aligned).
 *
 * @param where The file, for messages.
 * @throws {CheckpointError} Not a checkpoint, another format version, truncated, or the data does not match its hash.
 */
export function decodeCheckpoint(bytes: Uint8Array, where = 'checkpoint'): unknown {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < 16 || buf.toString('latin1', 0, 8) !== MAGIC)
    throw new CheckpointError(`${where} is not an ssd-edge training checkpoint`);
  const version = buf.readUInt32LE(8);
  if (version !== CHECKPOINT_VERSION)
    throw new CheckpointError(
      `${where} has checkpoint format ${version}; this ssd-edge reads format ${CHECKPOINT_VERSION}`,
    );
  const headerLength = buf.readUInt32LE(12);
  if (16 + headerLength > buf.length) throw new CheckpointError(`${where} is truncated (its header is cut short)`);
  let header: { sha256: string; floats: number; value: Json };
  try {
    header = JSON.parse(buf.toString('utf8', 16, 16 + headerLength));
  } catch (err) {
    throw new CheckpointError(`${where} is corrupt (unreadable header)`, { cause: err });
  }
  const start = Math.ceil((16 + headerLength) / 4) * 4;
  if (buf.length !== start + header.floats * 4)
    throw new CheckpointError(
      `${where} is truncated or corrupt (${buf.length} bytes, expected ${start + header.floats * 4})`,
    );
  const data = new Uint8Array(buf.subarray(start)); // a copy: aligned, owned
  if (crypto.createHash('sha256').update(data).digest('hex') !== header.sha256)
    throw new CheckpointError(`${where} is corrupt (its arrays do not match their checksum)`);
  const floats = new Float32Array(data.buffer, 0, header.floats);
  const walk = (v: Json): unknown => {
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === 'object') {
      const ref = v.$f32;
      if (Array.isArray(ref) && Object.keys(v).length === 1) {
        const [o, n] = ref as number[];
        return floats.slice(o, o + n);
      }
      if (typeof v.$num === 'string' && Object.keys(v).length === 1) return Number(v.$num);
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) out[k] = walk(x);
      return out;
    }
    return v;
  };
  return walk(header.value);
}

/** Writes a checkpoint atomically, replacing the previous one (its folder is created when missing). */
export async function writeCheckpoint(file: string, value: unknown): Promise<void> {
  await writeFileAtomic(file, encodeCheckpoint(value), { overwrite: true, mkdir: true });
}

/**
 * Reads a checkpoint; null when the file does not exist.
 *
 * @throws {CheckpointError} The file is not a readable checkpoint.
 */
export async function readCheckpoint(file: string): Promise<unknown | null> {
  let bytes: Buffer;
  try {
    bytes = await fs.promises.readFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  return decodeCheckpoint(bytes, file);
}
