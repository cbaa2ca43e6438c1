/**
 * Model zoo: the default model `ssd-mobilenetv1-face`, built locally from the face-api weights that ship
 * in the @vladmandic/face-api npm dependency. Nothing is ever downloaded.
 *
 * Cache: `$SSD_EDGE_CACHE/models/<name>.onnx`, default `~/.cache/ssd-edge/models/<name>.onnx`
 * (SSD_EDGE_CACHE replaces the `~/.cache/ssd-edge` root). The file is ~22 MB (float32 weights). Beside it,
 * `<name>.onnx.sha256` holds the sha256 of its bytes (hex, `sha256sum` format), written after the model.
 * A cached file is rebuilt when its hash file is missing or does not match its bytes (bytes changed on disk: a
 * zeroed block in the weights loads fine and detects worse), and when its ssd-edge metadata is missing, invalid, of
 * another schema version, or was written by another converter version (`spec.converter` ≠ `FACEAPI_CONVERTER`).
 * Both files are written to a temporary name in the same folder and renamed.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeFileAtomic } from '../files.ts';
import { assertKnownKeys } from '../is.ts';
import { readModelSpec } from './metadata.ts';
import { writeOnnx } from './onnx.ts';
import { readOnnxHeaderFile } from './onnx-header.ts';
import { FACEAPI_CONVERTER, faceApiModelDir, importFaceApiSsdMobilenetv1 } from './importers/faceapi.ts';
import { QUANTIZER, quantizeModel, resolveReduceRange } from './quantize/index.ts';
import { DEFAULT_CALIBRATION_SIZE, defaultCalibrationImages } from './quantize/default-calibration.ts';

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

export interface BuildDefaultModelOptions {
  /** Output file (default: modelCachePath()). */
  outPath?: string;
  /** Extra metadata_props to store next to the spec. */
  metadata?: Record<string, string>;
  /** face-api model folder (default: the installed package's model/). */
  modelDir?: string;
  /**
   * Replace an existing `outPath` (default false: an existing file is an error). The cache (`outPath` omitted or
   * equal to modelCachePath()) is always replaced.
   */
  overwrite?: boolean;
}

const BUILD_OPTION_KEYS = ['outPath', 'metadata', 'modelDir', 'overwrite'] as const satisfies ReadonlyArray<
  keyof BuildDefaultModelOptions
>;

/**
 * Converts face-api's SSD MobileNetV1 weights to an ssd-edge ONNX model (spec in the metadata) and writes the
 * file atomically (creating its folder). Written into the cache, the model gets its `.sha256` beside it, so
 * {@link ensureDefaultModel} uses it as is. Returns the path, size and face-api's stored anchors.
 *
 * @throws {TypeError} An unknown option key.
 * @throws {WriteError} `outPath` is a directory, or exists without `overwrite`; a failed write (names the file).
 * @example
 * const { path } = await buildDefaultModel({ outPath: 'face.onnx' });
 */
export async function buildDefaultModel(
  options: BuildDefaultModelOptions = {},
): Promise<{ path: string; bytes: number; anchors: Float32Array }> {
  assertKnownKeys('options', options, BUILD_OPTION_KEYS);
  const cache = path.resolve(modelCachePath());
  const outPath = path.resolve(options.outPath ?? cache);
  const toCache = outPath === cache;
  const { model, anchors } = importFaceApiSsdMobilenetv1({
    modelDir: options.modelDir ?? faceApiModelDir(),
    metadata: options.metadata,
  });
  const bytes = writeOnnx(model);
  // the model first, then its hash: a reader that sees the new hash with the old bytes (or no hash) rebuilds
  await writeFileAtomic(outPath, bytes, { overwrite: toCache || options.overwrite === true, mkdir: true });
  if (toCache) await writeModelHash(outPath, bytes);
  return { path: outPath, bytes: bytes.byteLength, anchors };
}

/** Where the hash of a cached model is kept: `<file>.sha256`. */
export function modelHashPath(file: string): string {
  return `${file}.sha256`;
}

/** sha256 of a file's bytes (hex), streamed (never the whole file in memory). */
export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Writes `<file>.sha256` (`<hex>  <basename>\n`, as sha256sum) for the bytes of `file`, atomically. */
async function writeModelHash(file: string, bytes: Uint8Array): Promise<string> {
  const hex = createHash('sha256').update(bytes).digest('hex');
  await writeFileAtomic(modelHashPath(file), Buffer.from(`${hex}  ${path.basename(file)}\n`), { overwrite: true });
  return hex;
}

/** The hash stored beside `file`, or null when there is none or it is malformed. */
async function storedHash(file: string): Promise<string | null> {
  try {
    const m = /^([0-9a-f]{64})\b/.exec(await fs.promises.readFile(modelHashPath(file), 'utf8'));
    return m ? m[1] : null;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/**
 * Is the cached file a current default model: its bytes match the stored sha256, and its spec (read from the ONNX
 * header, weights not read) was written by this converter version?
 */
async function isCurrent(file: string): Promise<boolean> {
  const expected = await storedHash(file);
  if (expected === null) return false; // no hash (an older cache, or a write cut short): rebuild
  let actual: string;
  try {
    actual = await sha256File(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
  if (actual !== expected) return false; // bytes changed on disk since they were written
  try {
    return readModelSpec((await readOnnxHeaderFile(file)).header).converter === FACEAPI_CONVERTER;
  } catch {
    return false; // not ONNX, no/old/invalid metadata: rebuild
  }
}

/**
 * Path of the default model, building it into the cache first if it is not there, if its bytes do not match the
 * sha256 stored beside it (or that hash is missing), if its metadata is missing or from another converter version,
 * or if `force`. Never downloads anything.
 *
 * @example
 * const file = await ensureDefaultModel(); // ~/.cache/ssd-edge/models/ssd-mobilenetv1-face.onnx
 */
export async function ensureDefaultModel(
  options: { force?: boolean; metadata?: Record<string, string> } = {},
): Promise<string> {
  assertKnownKeys('options', options, ENSURE_OPTION_KEYS);
  const p = path.resolve(modelCachePath(DEFAULT_MODEL_NAME));
  if (!options.force && (await isCurrent(p))) return p;
  return (await buildDefaultModel({ metadata: options.metadata })).path;
}

const ENSURE_OPTION_KEYS = ['force', 'metadata'] as const;

// --- the int8 default model ------------------------------------------------------------------------

/** Cache name of the default model's int8 copy. */
export const DEFAULT_INT8_MODEL_NAME = `${DEFAULT_MODEL_NAME}.int8`;

/**
 * Is the cached int8 file current: its bytes match its stored sha256, it was quantized by this quantizer version from
 * the float model whose sha256 is `floatSha256`, for this CPU's reduce-range choice?
 */
async function isCurrentInt8(file: string, floatSha256: string, reduceRange: boolean): Promise<boolean> {
  const expected = await storedHash(file);
  if (expected === null) return false;
  let actual: string;
  try {
    actual = await sha256File(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
  if (actual !== expected) return false;
  try {
    const spec = readModelSpec((await readOnnxHeaderFile(file)).header) as ReturnType<typeof readModelSpec> & {
      quantization?: { quantizer?: string; floatModelSha256?: string; reduceRange?: boolean };
    };
    const q = spec.quantization;
    return (
      spec.converter === FACEAPI_CONVERTER &&
      q?.quantizer === QUANTIZER &&
      q.floatModelSha256 === floatSha256 &&
      q.reduceRange === reduceRange
    );
  } catch {
    return false;
  }
}

/**
 * Path of the default model's int8 copy (`<cache>/models/ssd-mobilenetv1-face.int8.onnx`, with its `.sha256`),
 * quantized on first use from the float default model (built first if needed) with the calibration set the package
 * makes offline (lib/model/quantize/default-calibration.ts: 16 augmentations of the bundled photo), minmax ranges,
 * heads kept float, 7-bit weights when this CPU lacks VNNI / dot product. Rebuilt when its bytes or hash change, when
 * the float model or the quantizer version changes, or when the CPU's reduce-range choice differs. Never downloads.
 *
 * @example
 * const file = await ensureDefaultInt8Model(); // ~/.cache/ssd-edge/models/ssd-mobilenetv1-face.int8.onnx
 */
export async function ensureDefaultInt8Model(options: { force?: boolean } = {}): Promise<string> {
  assertKnownKeys('options', options, ['force']);
  const floatFile = await ensureDefaultModel();
  const floatSha256 = (await storedHash(floatFile)) ?? (await sha256File(floatFile));
  const p = path.resolve(modelCachePath(DEFAULT_INT8_MODEL_NAME));
  const reduceRange = resolveReduceRange('auto');
  if (!options.force && (await isCurrentInt8(p, floatSha256, reduceRange))) return p;
  const q = await quantizeModel(floatFile, await defaultCalibrationImages(), {
    method: 'minmax',
    keepFloat: ['heads'],
    reduceRange: reduceRange ? 'on' : 'off',
    calibrationSource: `ssd-edge default calibration set (${DEFAULT_CALIBRATION_SIZE} augmentations of assets/calibration/astronaut.jpg)`,
  });
  await writeFileAtomic(p, q.bytes, { overwrite: true, mkdir: true });
  await writeModelHash(p, q.bytes);
  return p;
}
