/**
 * Model zoo: the default model `ssd-mobilenetv1-face`, built locally from the face-api weights that ship
 * in the @vladmandic/face-api npm dependency. Nothing is ever downloaded.
 *
 * Cache: `$SSD_EDGE_CACHE/models/<name>.onnx`, default `~/.cache/ssd-edge/models/<name>.onnx`
 * (SSD_EDGE_CACHE replaces the `~/.cache/ssd-edge` root). The file is ~22 MB (float32 weights).
 * A cached file is reused as is: after changing the converter, rebuild with
 * `node --import=tsx scripts/build-default-model.ts` or `ensureDefaultModel({ force: true })`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { writeOnnx } from './onnx.ts';
import { faceApiModelDir, importFaceApiSsdMobilenetv1 } from './importers/faceapi.ts';

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

function faceApiVersion(): string {
  const require = createRequire(import.meta.url);
  return (require('@vladmandic/face-api/package.json') as { version: string }).version;
}

/**
 * Provisional provenance metadata for the default model. The project's metadata schema is defined
 * elsewhere; replace this when it exists (pass `metadata` to buildDefaultModel / ensureDefaultModel).
 */
export function defaultModelProvenance(): Record<string, string> {
  return {
    'ssd_edge.model_name': DEFAULT_MODEL_NAME,
    'ssd_edge.source': `@vladmandic/face-api@${faceApiVersion()} model/ssd_mobilenetv1_model.bin`,
  };
}

export interface BuildDefaultModelOptions {
  /** Output file (default: modelCachePath()). */
  outPath?: string;
  /** metadata_props to store (default: defaultModelProvenance()). */
  metadata?: Record<string, string>;
  /** face-api model folder (default: the installed package's model/). */
  modelDir?: string;
}

/**
 * Convert face-api's SSD MobileNetV1 weights to ONNX and write the file (atomically: temp file + rename,
 * so concurrent builders never leave a half-written model). Returns the path, size and anchors.
 */
export async function buildDefaultModel(
  options: BuildDefaultModelOptions = {},
): Promise<{ path: string; bytes: number; anchors: Float32Array }> {
  const outPath = path.resolve(options.outPath ?? modelCachePath());
  const { model, anchors } = importFaceApiSsdMobilenetv1({
    modelDir: options.modelDir ?? faceApiModelDir(),
    metadata: options.metadata ?? defaultModelProvenance(),
  });
  const bytes = writeOnnx(model);
  await fs.promises.mkdir(path.dirname(outPath), { recursive: true });
  const tmp = `${outPath}.${process.pid}.${Date.now()}.tmp`;
  try {
    await fs.promises.writeFile(tmp, bytes);
    await fs.promises.rename(tmp, outPath);
  } catch (err) {
    await fs.promises.rm(tmp, { force: true });
    throw err;
  }
  return { path: outPath, bytes: bytes.byteLength, anchors };
}

/**
 * Path of the default model, building it into the cache first if it is not there (or if `force`).
 * Never downloads anything.
 */
export async function ensureDefaultModel(
  options: { force?: boolean; metadata?: Record<string, string> } = {},
): Promise<string> {
  const p = modelCachePath(DEFAULT_MODEL_NAME);
  if (!options.force) {
    try {
      const st = await fs.promises.stat(p);
      if (st.isFile() && st.size > 0) return p;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  return (await buildDefaultModel({ outPath: p, metadata: options.metadata })).path;
}
