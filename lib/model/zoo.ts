/**
 * Model zoo: the default model `ssd-mobilenetv1-face`, built locally from the face-api weights that ship
 * in the @vladmandic/face-api npm dependency. Nothing is ever downloaded.
 *
 * Cache: `$SSD_EDGE_CACHE/models/<name>.onnx`, default `~/.cache/ssd-edge/models/<name>.onnx`
 * (SSD_EDGE_CACHE replaces the `~/.cache/ssd-edge` root). The file is ~22 MB (float32 weights).
 * A cached file is rebuilt when its ssd-edge metadata is missing, invalid, of another schema version, or was
 * written by another converter version (`spec.converter` ≠ `FACEAPI_CONVERTER`).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readModelSpec } from './metadata.ts';
import { readOnnx, writeOnnx } from './onnx.ts';
import { FACEAPI_CONVERTER, faceApiModelDir, importFaceApiSsdMobilenetv1 } from './importers/faceapi.ts';

export const DEFAULT_MODEL_NAME = 'ssd-mobilenetv1-face';

/** Cache root: $SSD_EDGE_CACHE, else ~/.cache/ssd-edge. */
export function cacheRoot(): string {
  const env = process.env.SSD_EDGE_CACHE;
  return env && env.length > 0 ? path.resolve(env) : path.join(os.homedir(), '.cache', 'ssd-edge');
}

/** Where a zoo model lives in the cache. */
export function modelCachePath(name: string = DEFAULT_MODEL_NAME): string {
  return path.join(cacheRoot(), 'models', `${name}.onnx`);
}

/**
 * Writes bytes to `file` atomically (temp file in the same folder + rename), so concurrent writers never
 * leave a half-written model. Creates the folder.
 */
export async function writeFileAtomic(file: string, bytes: Uint8Array): Promise<void> {
  await fs.promises.mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  try {
    await fs.promises.writeFile(tmp, bytes);
    await fs.promises.rename(tmp, file);
  } catch (err) {
    await fs.promises.rm(tmp, { force: true });
    throw err;
  }
}

export interface BuildDefaultModelOptions {
  /** Output file (default: modelCachePath()). */
  outPath?: string;
  /** Extra metadata_props to store next to the spec. */
  metadata?: Record<string, string>;
  /** face-api model folder (default: the installed package's model/). */
  modelDir?: string;
}

/**
 * Converts face-api's SSD MobileNetV1 weights to an ssd-edge ONNX model (spec in the metadata) and writes the
 * file atomically. Returns the path, size and face-api's stored anchors.
 *
 * @example
 * const { path } = await buildDefaultModel({ outPath: 'face.onnx' });
 */
export async function buildDefaultModel(
  options: BuildDefaultModelOptions = {},
): Promise<{ path: string; bytes: number; anchors: Float32Array }> {
  const outPath = path.resolve(options.outPath ?? modelCachePath());
  const { model, anchors } = importFaceApiSsdMobilenetv1({ modelDir: options.modelDir ?? faceApiModelDir(), metadata: options.metadata });
  const bytes = writeOnnx(model);
  await writeFileAtomic(outPath, bytes);
  return { path: outPath, bytes: bytes.byteLength, anchors };
}

/** Is the cached file a current default model (readable spec written by this converter version)? */
async function isCurrent(file: string): Promise<boolean> {
  let bytes: Buffer;
  try {
    bytes = await fs.promises.readFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
  try {
    return readModelSpec(readOnnx(bytes)).converter === FACEAPI_CONVERTER;
  } catch {
    return false; // not ONNX, no/old/invalid metadata: rebuild
  }
}

/**
 * Path of the default model, building it into the cache first if it is not there, if its metadata is
 * missing or from another converter version, or if `force`. Never downloads anything.
 *
 * @example
 * const file = await ensureDefaultModel(); // ~/.cache/ssd-edge/models/ssd-mobilenetv1-face.onnx
 */
export async function ensureDefaultModel(
  options: { force?: boolean; metadata?: Record<string, string> } = {},
): Promise<string> {
  const p = modelCachePath(DEFAULT_MODEL_NAME);
  if (!options.force && (await isCurrent(p))) return p;
  return (await buildDefaultModel({ outPath: p, metadata: options.metadata })).path;
}
