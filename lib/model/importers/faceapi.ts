/**
 * Importer: @vladmandic/face-api's SSD MobileNetV1 face detector (tfjs weights) → ssd-edge ONNX model.
 *
 * The graph is `buildSsdMobilenetV1` (../builder/ssd-mobilenetv1.ts) on face-api's decoded weights: input `image`
 * [B,3,512,512] RGB 0..255 (x/127.5 − 1 inside), outputs `box_encodings` [B,5118,4] (ty, tx, th, tw) and
 * `class_logits` [B,5118,2]. face-api's class predictor has 3 columns but scores only sigmoid(logit[:,1]);
 * the graph slices the logits to columns 0..1 (background, face) so generic per-column sigmoid scoring with
 * background 0 gives exactly face-api's scores and only faces.
 *
 * The spec (metadata `ssd_edge`) records face-api's preprocessing (pad bottom/right to a square, TF legacy
 * bilinear resize, normalization in the graph), the anchors as the 'tf-ssd-mobilenetv1-512' preset (within
 * 1.2e-7 of the stored `Output/extra_dim` tensor, which is returned too) and face-api's postprocess defaults.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { buildSsdMobilenetV1 } from '../builder/ssd-mobilenetv1.ts';
import type { WeightsMap } from '../builder/weights.ts';
import { writeModelSpec } from '../metadata.ts';
import type { ModelSpec } from '../spec.ts';
import { setMetadata, type ModelProto } from '../onnx.ts';
import { POSTPROCESS_PRESETS } from '../../ops/postprocess.ts';
import { assertKnownKeys, assertObject } from '../../is.ts';

// --- tfjs weights ---------------------------------------------------------------------------------

/** One entry of a tfjs weights manifest. */
export interface TfjsWeightSpec {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32' | string;
  quantization?: { dtype: 'uint8' | 'uint16' | 'float16' | string; scale?: number; min?: number };
}
/** A tfjs `*-weights_manifest.json`: groups of shards (`paths`, concatenated) holding `weights` in order. */
export type TfjsWeightsManifest = Array<{ paths: string[]; weights: TfjsWeightSpec[] }>;

/** A decoded tfjs tensor (float32 weights or int32 graph constants). */
export interface TfjsTensor {
  shape: number[];
  data: Float32Array | Int32Array;
}

const BYTES: Record<string, number> = { float32: 4, int32: 4, uint8: 1, uint16: 2, float16: 2, bool: 1 };

/** IEEE half-precision bits → number. */
function halfBitsToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/**
 * Decode a tfjs weights manifest + shards into float32 / int32 arrays, like tfjs-core's `decodeWeights`:
 * tensors are stored back to back in manifest order; a `quantization: {dtype: uint8|uint16, scale, min}`
 * entry stores q (1 or 2 bytes per value) and value = q·scale + min, computed in float64 and rounded
 * to float32 (int32 tensors: Math.round of it); `float16` quantization stores half floats; int32 and bool tensors
 * decode to Int32Array. face-api's SSD model: 150 uint8-quantized tensors (135 float32 weights, 15 int32 graph
 * constants we do not use) and one raw float32 (the anchors). Used by the face-api and TF.js graph importers.
 *
 * @throws {TypeError} An unsupported dtype, quantization without scale/min, shards shorter or longer than the manifest.
 */
export function decodeTfjsWeights(
  manifest: TfjsWeightsManifest,
  readShard: (file: string) => Uint8Array,
): Map<string, TfjsTensor> {
  const out = new Map<string, TfjsTensor>();
  for (const group of manifest) {
    const shards = group.paths.map((p) => readShard(p));
    const buf = new Uint8Array(shards.reduce((n, s) => n + s.byteLength, 0));
    let o = 0;
    for (const s of shards) {
      buf.set(s, o);
      o += s.byteLength;
    }
    const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    let offset = 0;
    for (const w of group.weights) {
      const size = w.shape.reduce((a, b) => a * b, 1);
      const q = w.quantization;
      const stored = q ? q.dtype : w.dtype;
      const per = BYTES[stored];
      if (!per || !['float32', 'int32', 'bool'].includes(w.dtype))
        throw new TypeError(
          `Expected a supported dtype for TF.js weight '${w.name}' but received ${w.dtype}/${stored}`,
        );
      if (offset + size * per > buf.byteLength)
        throw new TypeError(`Expected ${size * per} bytes for TF.js weight '${w.name}' but the shards end first`);
      const isInt = w.dtype === 'int32' || w.dtype === 'bool';
      const data = isInt ? new Int32Array(size) : new Float32Array(size);
      for (let i = 0; i < size; i++) {
        const at = offset + i * per;
        let v: number;
        if (stored === 'float16') v = halfBitsToFloat(view.getUint16(at, true));
        else if (q && (stored === 'uint8' || stored === 'uint16')) {
          if (typeof q.scale !== 'number' || typeof q.min !== 'number')
            throw new TypeError(`Expected scale and min in the quantization of TF.js weight '${w.name}'`);
          v = (stored === 'uint8' ? buf[at] : view.getUint16(at, true)) * q.scale + q.min; // float64, as tfjs does
        } else if (stored === 'float32') v = view.getFloat32(at, true);
        else if (stored === 'int32') v = view.getInt32(at, true);
        else v = buf[at];
        data[i] = isInt ? Math.round(v) : v;
      }
      offset += size * per;
      out.set(w.name, { shape: [...w.shape], data });
    }
    if (offset !== buf.byteLength)
      throw new TypeError(
        `Expected the TF.js weights manifest to cover all ${buf.byteLength} shard bytes but it covers ${offset}`,
      );
  }
  return out;
}

/** Folder with face-api's bundled weights (node_modules/@vladmandic/face-api/model). */
export function faceApiModelDir(): string {
  const require = createRequire(import.meta.url);
  return path.join(path.dirname(require.resolve('@vladmandic/face-api/package.json')), 'model');
}

/** The SSD MobileNetV1 weights from a face-api model folder (manifest + shard). */
export function readFaceApiSsdWeights(modelDir: string = faceApiModelDir()): Map<string, TfjsTensor> {
  const manifestPath = path.join(modelDir, 'ssd_mobilenetv1_model-weights_manifest.json');
  const manifest = JSON.parse(fs.readFileSync(manifestPath, 'utf8')) as TfjsWeightsManifest;
  return decodeTfjsWeights(manifest, (file) => fs.readFileSync(path.join(modelDir, file)));
}

// --- the importer ---------------------------------------------------------------------------------

export const FACEAPI_NUM_ANCHORS = 5118;
/** Converter id stored in the spec; bump the number whenever the graph or spec written here changes. */
export const FACEAPI_CONVERTER = 'ssd-edge/face-api-importer@2';

function faceApiVersion(): string {
  const require = createRequire(import.meta.url);
  return (require('@vladmandic/face-api/package.json') as { version: string }).version;
}

/**
 * The ModelSpec of face-api's SSD MobileNetV1 face detector.
 *
 * @param options `name` (default 'ssd-mobilenetv1-face'), `source` provenance text (default: the installed
 *   `@vladmandic/face-api@VERSION model/ssd_mobilenetv1_model.bin`).
 */
export function faceApiModelSpec(options: { name?: string; source?: string } = {}): ModelSpec {
  assertObject('options', options as unknown);
  assertKnownKeys('options', options, ['name', 'source']);
  return {
    name: options.name ?? 'ssd-mobilenetv1-face',
    architecture: 'ssd-mobilenetv1',
    source: options.source ?? `@vladmandic/face-api@${faceApiVersion()} model/ssd_mobilenetv1_model.bin`,
    converter: FACEAPI_CONVERTER,
    input: {
      name: 'image',
      height: 512,
      width: 512,
      layout: 'NCHW',
      colorOrder: 'RGB',
      mean: [0, 0, 0],
      std: [1, 1, 1], // x/127.5 − 1 is inside the graph (bit-exact with face-api)
      resize: 'pad',
      interpolation: 'bilinear-asymmetric',
      padValue: 0,
      dynamicBatch: true,
    },
    output: { kind: 'raw', boxes: 'box_encodings', scores: 'class_logits' },
    anchors: { preset: 'tf-ssd-mobilenetv1-512' },
    labels: ['background', 'face'],
    postprocess: {
      ...POSTPROCESS_PRESETS.faceApi,
      boxCoder: { ...POSTPROCESS_PRESETS.faceApi.boxCoder },
      boxEncoding: 'deltas',
    },
  };
}

export interface FaceApiSsdImportOptions {
  /** face-api model folder (default: the installed package's `model/`). */
  modelDir?: string;
  /** Decoded weights (skips reading `modelDir`). */
  weights?: Map<string, TfjsTensor>;
  /** Extra metadata_props written after the spec (keys `ssd_edge` / `ssd_edge.version` are the spec's). */
  metadata?: Record<string, string>;
  /** Spec name (default 'ssd-mobilenetv1-face'). */
  name?: string;
  /** Batch dimension of input and outputs: a number or a symbolic name (default 'batch'). */
  batch?: number | string;
  producerVersion?: string;
}

const FACEAPI_IMPORT_OPTION_KEYS = [
  'modelDir',
  'weights',
  'metadata',
  'name',
  'batch',
  'producerVersion',
] as const satisfies ReadonlyArray<keyof FaceApiSsdImportOptions>;

export interface FaceApiSsdImport {
  model: ModelProto;
  spec: ModelSpec;
  /** [5118·4] ymin, xmin, ymax, xmax normalized to the 512×512 input, exactly as stored (`Output/extra_dim`). */
  anchors: Float32Array;
}

/**
 * Builds the ssd-edge ONNX model of face-api's SSD MobileNetV1 (raw heads, logits sliced to 2 columns) with its
 * spec in the metadata, and returns it with face-api's stored anchors.
 *
 * @throws {TypeError} Missing or misshapen weights, or float32 weights the graph does not use.
 * @example
 * const { model, spec } = importFaceApiSsdMobilenetv1();
 * fs.writeFileSync('face.onnx', writeOnnx(model));
 */
export function importFaceApiSsdMobilenetv1(options: FaceApiSsdImportOptions = {}): FaceApiSsdImport {
  assertObject('options', options as unknown);
  assertKnownKeys('options', options, FACEAPI_IMPORT_OPTION_KEYS);
  const decoded = options.weights ?? readFaceApiSsdWeights(options.modelDir);
  const weights: WeightsMap = {};
  for (const [name, t] of decoded) if (t.data instanceof Float32Array) weights[name] = { dims: t.shape, data: t.data };
  const spec = faceApiModelSpec({ name: options.name });
  const batch = options.batch ?? 'batch';
  if (typeof batch === 'number') spec.input.dynamicBatch = false;
  const { model, numAnchors, used } = buildSsdMobilenetV1(weights, {
    inputSize: 512,
    batch,
    numClasses: spec.labels.length,
    producerVersion: options.producerVersion,
    docString:
      'SSD MobileNetV1 face detector converted from @vladmandic/face-api weights. Input image: float32 ' +
      'NCHW RGB in 0..255 (512x512, normalized inside as x/127.5-1). Outputs: box_encodings (ty,tx,th,tw; ' +
      'decode against the anchors with scales 10,10,5,5) and class_logits (background, face; score = sigmoid).',
  });
  if (numAnchors !== FACEAPI_NUM_ANCHORS)
    throw new TypeError(`Expected ${FACEAPI_NUM_ANCHORS} anchors for face-api SSD but received ${numAnchors}`);
  // Every float32 weight must have been consumed, except the anchors and face-api's hard-coded preprocessing
  // constants (Preprocessor/mul/x = 1/127.5, Preprocessor/sub/y = 1); the int32 tensors are tfjs graph constants.
  const unused = Object.keys(weights).filter(
    (n) => !used.has(n) && n !== 'Output/extra_dim' && !n.startsWith('Preprocessor/'),
  );
  if (unused.length) throw new TypeError(`Expected every face-api weight to be used but ${unused.join(', ')} were not`);
  const stored = weights['Output/extra_dim'];
  if (!stored || stored.data.length !== 4 * FACEAPI_NUM_ANCHORS)
    throw new TypeError('Expected tensor Output/extra_dim [1,5118,4] in face-api weights');

  writeModelSpec(model, spec);
  if (options.metadata) setMetadata(model, options.metadata);
  return { model, spec, anchors: Float32Array.from(stored.data) };
}
