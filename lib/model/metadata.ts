/**
 * The ssd-edge model format: an ONNX file whose `metadata_props` carry everything needed to run it.
 *
 * One metadata entry, key `ssd_edge`, holds the JSON of a {@link ModelSpec}; `ssd_edge.version` holds the
 * schema version. A file without it is not an ssd-edge model (`ssd-edge model import` makes one).
 *
 * JSON has no Infinity: non-finite numbers of the numeric postprocess fields (`topkCandidates`,
 * `detectionsPerImg`, `boxCoder.clip`, …) are written as the strings "Infinity" / "-Infinity" and read back as
 * numbers (the convention of the project's reference data).
 */
import fs from 'node:fs';
import { assertArray, assertBoolean, assertInRange, assertInteger, assertObject, assertOneOf, assertPositive, describe, invalidParameterError, outOfRangeError } from '../is.ts';
import { resolveBoxCoderOptions } from '../ops/box-coder.ts';
import { DEFAULT_BOX_PRESETS, defaultBoxes, expandDefaultBoxSpec, type DefaultBoxPresetName, type DefaultBoxSpec } from '../ops/default-boxes.ts';
import type { PostprocessOptions } from '../ops/postprocess.ts';
import { getMetadata, readOnnxFrom, setMetadata, type ModelProto, type ValueInfoProto } from './onnx.ts';

export const METADATA_KEY = 'ssd_edge';
export const METADATA_VERSION_KEY = 'ssd_edge.version';
export const SCHEMA_VERSION = 1;

/** How the source image becomes the network input. */
export type ResizeMode =
  /** Stretch to the input size, aspect ratio not kept (torchvision GeneralizedRCNNTransform, pytorch-ssd). */
  | 'stretch'
  /** Pad bottom/right with zeros to a square, then resize (face-api / TF.js). Boxes map back through the pad. */
  | 'pad'
  /** Resize keeping aspect ratio, centre on a `padValue` canvas (YOLO-style letterbox). */
  | 'letterbox';

export interface InputSpec {
  /** ONNX input name. */
  name: string;
  /** Network input size in pixels. */
  height: number;
  width: number;
  layout: 'NCHW' | 'NHWC';
  colorOrder: 'RGB' | 'BGR';
  /** x' = (x − mean[c]) / std[c] on 0..255 pixel values, per channel in `colorOrder`. [0,0,0]/[1,1,1] = raw pixels. */
  mean: [number, number, number];
  std: [number, number, number];
  resize: ResizeMode;
  /** 'bilinear' (align_corners=false, half-pixel centres, no antialias) or 'bilinear-asymmetric' (TF legacy). */
  interpolation?: 'bilinear' | 'bilinear-asymmetric';
  /** Fill value for pad/letterbox, 0..255. */
  padValue?: number;
  /** Whether the batch dimension is symbolic (detectBatch runs one session call) or fixed. */
  dynamicBatch: boolean;
}

/** Outputs that still need decoding against anchors (torchvision, face-api). */
export interface RawOutputSpec {
  kind: 'raw';
  /** ONNX output with [B, N, 4] deltas in `boxCoder.order`. */
  boxes: string;
  /** ONNX output with [B, N, C] logits. */
  scores: string;
}

/** Outputs already decoded (pytorch-ssd / jetson-inference): normalized xyxy boxes and activated scores. */
export interface DecodedOutputSpec {
  kind: 'decoded';
  /** [B, N, 4] normalized xyxy. */
  boxes: string;
  /** [B, N, C] probabilities (softmax already applied). */
  scores: string;
}

/** Where the anchors come from. */
export type AnchorSpec =
  | { preset: string }
  | { spec: DefaultBoxSpec }
  /** Base64 of little-endian float32 [N·4], cxcywh normalized. */
  | { data: string; count: number };

/** How scores are obtained from the scores output: the postprocess modes plus 'none' (scores used as given). */
export type ScoringMode = PostprocessOptions['scoring'] | 'none';

/** What the boxes output holds: 'deltas' to decode against the anchors, or 'xyxy' boxes already decoded (normalized). */
export type BoxEncoding = 'deltas' | 'xyxy';

/**
 * Postprocess defaults stored with a model: {@link PostprocessOptions} with the decoded-output extensions
 * (`scoring: 'none'`, `boxEncoding: 'xyxy'`). `boxEncoding` defaults to 'deltas' when a stored spec omits it.
 */
export interface ModelPostprocessOptions extends Omit<PostprocessOptions, 'scoring' | 'boxEncoding'> {
  scoring: ScoringMode;
  boxEncoding: BoxEncoding;
}

export interface ModelSpec {
  /** Short name, e.g. 'ssd-mobilenetv1-face'. */
  name: string;
  /** e.g. 'ssd300-vgg16', 'ssdlite320-mobilenetv3-large', 'ssd-mobilenetv1'. */
  architecture: string;
  /** Where the weights came from (free text: package@version, file, training run). */
  source?: string;
  /** What wrote the file and its version, e.g. 'ssd-edge/face-api-importer@2' (zoo models are rebuilt when it changes). */
  converter?: string;
  input: InputSpec;
  output: RawOutputSpec | DecodedOutputSpec;
  /** Required when output.kind is 'raw'. */
  anchors?: AnchorSpec;
  /** Class names by index, background included (index = label of the logits). */
  labels: string[];
  /** Postprocess defaults (scoring, background, thresholds, top-k, coder, clip, box encoding). */
  postprocess: ModelPostprocessOptions;
}

// --- validation -----------------------------------------------------------------------------------

const NON_FINITE = new Map<string, number>([['Infinity', Infinity], ['-Infinity', -Infinity], ['NaN', NaN]]);
/** Fields that may legitimately hold a non-finite number (written as a string in JSON). */
const NUMERIC_KEYS = new Set(['topkCandidates', 'detectionsPerImg', 'clip', 'scoreThresh', 'nmsThresh']);

function assertString(name: string, value: unknown, allowEmpty = false): asserts value is string {
  if (typeof value !== 'string' || (!allowEmpty && value.length === 0)) {
    throw invalidParameterError(name, allowEmpty ? 'string' : 'non-empty string', value);
  }
}

function assertTriple(name: string, value: unknown, positive: boolean): asserts value is [number, number, number] {
  if (!Array.isArray(value) || value.length !== 3 || value.some((v) => typeof v !== 'number')) {
    throw invalidParameterError(name, 'Array of 3 numbers', value);
  }
  value.forEach((v, c) => {
    if (positive) assertPositive(`${name}[${c}]`, v, true);
    else assertInRange(`${name}[${c}]`, v, -Number.MAX_VALUE, Number.MAX_VALUE);
  });
}

function validateInput(x: unknown): InputSpec {
  assertObject('input', x);
  assertString('input.name', x.name);
  assertInteger('input.height', x.height, 1);
  assertInteger('input.width', x.width, 1);
  assertOneOf('input.layout', x.layout, ['NCHW', 'NHWC']);
  assertOneOf('input.colorOrder', x.colorOrder, ['RGB', 'BGR']);
  assertTriple('input.mean', x.mean, false);
  assertTriple('input.std', x.std, true);
  assertOneOf('input.resize', x.resize, ['stretch', 'pad', 'letterbox']);
  if (x.interpolation !== undefined) assertOneOf('input.interpolation', x.interpolation, ['bilinear', 'bilinear-asymmetric']);
  if (x.padValue !== undefined) assertInRange('input.padValue', x.padValue, 0, 255);
  assertBoolean('input.dynamicBatch', x.dynamicBatch);
  return x as unknown as InputSpec;
}

function validateAnchors(x: unknown): AnchorSpec {
  assertObject('anchors', x);
  const kinds = ['preset', 'spec', 'data'].filter((k) => x[k] !== undefined);
  if (kinds.length !== 1) {
    throw new TypeError("Expected object with exactly one of 'preset', 'spec', 'data' for anchors but received " +
      (kinds.length ? `object with ${kinds.map((k) => `'${k}'`).join(', ')}` : describe(x)));
  }
  if (x.preset !== undefined) {
    assertOneOf('anchors.preset', x.preset, Object.keys(DEFAULT_BOX_PRESETS));
  } else if (x.spec !== undefined) {
    expandDefaultBoxSpec(x.spec as DefaultBoxSpec); // throws naming the field (featureMaps[k]…)
  } else {
    assertString('anchors.data', x.data);
    assertInteger('anchors.count', x.count, 1);
    const bytes = Buffer.from(x.data, 'base64').byteLength;
    if (bytes !== 16 * x.count) {
      throw new TypeError(`Expected base64 of ${16 * x.count} bytes (float32 [count·4], count ${x.count}) for anchors.data but received ${bytes} bytes`);
    }
  }
  return x as unknown as AnchorSpec;
}

function validatePostprocess(x: unknown, numClasses: number): ModelPostprocessOptions {
  assertObject('postprocess', x);
  assertOneOf('postprocess.scoring', x.scoring, ['softmax', 'sigmoid', 'none']);
  const boxEncoding = x.boxEncoding ?? 'deltas';
  assertOneOf('postprocess.boxEncoding', boxEncoding, ['deltas', 'xyxy']);
  assertInteger('postprocess.backgroundIndex', x.backgroundIndex, -1);
  if (x.backgroundIndex >= numClasses) {
    throw outOfRangeError('postprocess.backgroundIndex', `integer in [-1, ${numClasses - 1}] (labels has ${numClasses})`, x.backgroundIndex);
  }
  assertInRange('postprocess.scoreThresh', x.scoreThresh, 0, 1);
  assertInRange('postprocess.nmsThresh', x.nmsThresh, 0, 1);
  assertInteger('postprocess.topkCandidates', x.topkCandidates, 0, true);
  assertInteger('postprocess.detectionsPerImg', x.detectionsPerImg, 0, true);
  assertBoolean('postprocess.clipBoxes', x.clipBoxes);
  if (x.boxCoder === undefined) throw invalidParameterError('postprocess.boxCoder', 'object', undefined);
  const boxCoder = resolveBoxCoderOptions(x.boxCoder as never, 'postprocess.boxCoder.');
  return { ...(x as unknown as ModelPostprocessOptions), boxEncoding, boxCoder };
}

/**
 * Checks a parsed spec and returns it normalized (a copy; `postprocess.boxEncoding` filled in as 'deltas' when
 * absent, `postprocess.boxCoder` completed with the torchvision defaults). Unknown extra fields are kept.
 *
 * Rules beyond the field types: `labels` non-empty strings; `postprocess.backgroundIndex` < labels.length;
 * `anchors` required for `output.kind: 'raw'`; `output.kind: 'raw'` ⇔ `postprocess.boxEncoding: 'deltas'`;
 * anchors are exactly one of a preset name of `DEFAULT_BOX_PRESETS`, a `DefaultBoxSpec`, or base64 data of
 * `count`·16 bytes.
 *
 * @param x A parsed ModelSpec (e.g. `JSON.parse` of the metadata value).
 * @returns The validated {@link ModelSpec}.
 * @throws {TypeError} A field has the wrong type or value: `Expected one of 'raw', 'decoded' for output.kind but received "logits"`.
 * @throws {RangeError} A number out of range: `Expected integer ≥ 1 for input.height but received 0`.
 * @example
 * const spec = validateModelSpec(JSON.parse(text));
 */
export function validateModelSpec(x: unknown): ModelSpec {
  assertObject('spec', x);
  assertString('name', x.name);
  assertString('architecture', x.architecture);
  if (x.source !== undefined) assertString('source', x.source, true);
  if (x.converter !== undefined) assertString('converter', x.converter, true);
  const input = validateInput(x.input);
  assertObject('output', x.output);
  assertOneOf('output.kind', x.output.kind, ['raw', 'decoded']);
  assertString('output.boxes', x.output.boxes);
  assertString('output.scores', x.output.scores);
  assertArray('labels', x.labels);
  x.labels.forEach((l, k) => assertString(`labels[${k}]`, l, true));
  const postprocess = validatePostprocess(x.postprocess, x.labels.length);
  const raw = x.output.kind === 'raw';
  if (raw !== (postprocess.boxEncoding === 'deltas')) {
    throw invalidParameterError('postprocess.boxEncoding', raw ? "'deltas' (output.kind is 'raw')" : "'xyxy' (output.kind is 'decoded')",
      postprocess.boxEncoding);
  }
  if (raw && x.anchors === undefined) throw invalidParameterError('anchors', "AnchorSpec (required when output.kind is 'raw')", undefined);
  const anchors = x.anchors === undefined ? undefined : validateAnchors(x.anchors);
  return structuredClone({ ...x, input, ...(anchors ? { anchors } : {}), postprocess } as unknown as ModelSpec);
}

// --- metadata I/O ---------------------------------------------------------------------------------

/** JSON text of a spec; non-finite numbers become "Infinity" / "-Infinity" / "NaN" strings. */
export function serializeModelSpec(spec: ModelSpec): string {
  return JSON.stringify(spec, (_key, v) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v));
}

/** Parses {@link serializeModelSpec}'s text and validates it (see {@link validateModelSpec}). */
export function parseModelSpec(text: string): ModelSpec {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text, function reviver(this: unknown, key, v) {
      return typeof v === 'string' && NUMERIC_KEYS.has(key) && !Array.isArray(this) && NON_FINITE.has(v) ? NON_FINITE.get(v) : v;
    });
  } catch (err) {
    throw new TypeError(`Expected JSON for metadata '${METADATA_KEY}' but received text that does not parse (${(err as Error).message})`);
  }
  return validateModelSpec(parsed);
}

/**
 * The {@link ModelSpec} stored in a model's metadata (key `ssd_edge`), validated.
 *
 * @param model A ModelProto (from `readOnnx`).
 * @param what How to call the model in errors (e.g. its file path); default 'model'.
 * @returns The spec.
 * @throws {TypeError} No `ssd_edge` entry ("… import it first with `ssd-edge model import`"), bad JSON, or an invalid spec.
 * @throws {RangeError} `ssd_edge.version` newer than this library understands, or out-of-range spec numbers.
 * @example
 * const spec = readModelSpec(readOnnx(fs.readFileSync('face.onnx')));
 */
export function readModelSpec(model: ModelProto, what = 'model'): ModelSpec {
  const meta = getMetadata(model);
  const text = meta[METADATA_KEY];
  if (text === undefined) {
    throw new TypeError(`Expected ONNX model with ssd-edge metadata (metadata_props key '${METADATA_KEY}') for ${what} but ` +
      'received a model without it — import it first with `ssd-edge model import`');
  }
  const version = Number(meta[METADATA_VERSION_KEY] ?? SCHEMA_VERSION);
  if (!Number.isInteger(version) || version < 1 || version > SCHEMA_VERSION) {
    throw new RangeError(`Expected ssd-edge metadata version 1..${SCHEMA_VERSION} for ${what} but received ` +
      `${describe(meta[METADATA_VERSION_KEY])} — upgrade ssd-edge to read it`);
  }
  return parseModelSpec(text);
}

/**
 * Validates `spec` and stores it in the model's metadata (`ssd_edge` = JSON, `ssd_edge.version` = schema version),
 * replacing an earlier spec; other metadata entries are kept.
 *
 * @returns The same model (modified in place).
 * @throws {TypeError|RangeError} An invalid spec (see {@link validateModelSpec}).
 * @example
 * writeOnnx(writeModelSpec(model, spec));
 */
export function writeModelSpec(model: ModelProto, spec: ModelSpec): ModelProto {
  const valid = validateModelSpec(spec);
  return setMetadata(model, { [METADATA_KEY]: serializeModelSpec(valid), [METADATA_VERSION_KEY]: String(SCHEMA_VERSION) });
}

/** Base64 of anchors (Float32Array [N·4], cxcywh normalized) for `AnchorSpec.data`. */
export function encodeAnchors(anchors: Float32Array): { data: string; count: number } {
  if (!(anchors instanceof Float32Array) || anchors.length === 0 || anchors.length % 4 !== 0) {
    throw invalidParameterError('anchors', 'Float32Array of length 4·N (N ≥ 1)', anchors);
  }
  return { data: Buffer.from(anchors.buffer, anchors.byteOffset, anchors.byteLength).toString('base64'), count: anchors.length / 4 };
}

/**
 * The anchors of a spec: `defaultBoxes(preset)`, `defaultBoxes(spec)` or the decoded base64 data.
 *
 * @returns Float32Array [N·4], cxcywh normalized to the network input.
 * @throws {TypeError} The spec has no anchors (decoded-output models need none) or they are malformed.
 * @example
 * resolveAnchors({ ...spec, anchors: { preset: 'torchvision-ssd300-vgg16' } }).length / 4; // 8732
 */
export function resolveAnchors(spec: Pick<ModelSpec, 'anchors'>): Float32Array {
  if (spec?.anchors === undefined) throw invalidParameterError('anchors', 'AnchorSpec', undefined);
  const a = validateAnchors(spec.anchors);
  if ('preset' in a) return defaultBoxes(a.preset as DefaultBoxPresetName);
  if ('spec' in a) return defaultBoxes(a.spec);
  const bytes = Buffer.from(a.data, 'base64');
  const out = new Float32Array(4 * a.count);
  new Uint8Array(out.buffer).set(bytes);
  return out;
}

// --- the model file -------------------------------------------------------------------------------

/** Static dims of a graph value ([] when unknown); symbolic dims are strings. */
export function valueDims(v: ValueInfoProto | undefined): Array<number | string> {
  return (v?.type?.tensor_type?.shape?.dim ?? []).map((d) => d.dim_value ?? d.dim_param ?? '?');
}

/**
 * Checks that a model's graph agrees with its spec: the named input and outputs exist; with static dims, the
 * input is [B, 3, H, W] (NCHW) or [B, H, W, 3] (NHWC) with the spec's size, a fixed batch is not declared
 * dynamic, boxes are [B, N, 4], scores [B, N, labels.length], and N equals the anchor count.
 *
 * @param anchors The resolved anchors, when the spec has some (for the count check).
 * @throws {TypeError} The first disagreement, naming the field: `Expected ONNX output 'boxes' (output.boxes) for model but received outputs 'a', 'b'`.
 */
export function checkModelSpec(model: ModelProto, spec: ModelSpec, anchors?: Float32Array | null, what = 'model'): void {
  const g = model.graph;
  const inits = new Set((g.initializer ?? []).map((i) => i.name));
  const inputs = g.input.filter((i) => !inits.has(i.name));
  const list = (vs: ValueInfoProto[]) => vs.map((v) => `'${v.name}'`).join(', ') || 'none';
  const input = inputs.find((i) => i.name === spec.input.name);
  if (!input) throw new TypeError(`Expected ONNX input '${spec.input.name}' (input.name) for ${what} but received inputs ${list(inputs)}`);
  const dims = valueDims(input);
  const { height: H, width: W, layout } = spec.input;
  const expected = layout === 'NCHW' ? ['B', 3, H, W] : ['B', H, W, 3];
  const bad = dims.length !== 4 || dims.some((d, k) => k > 0 && typeof d === 'number' && d !== expected[k]);
  if (bad) throw new TypeError(`Expected input '${input.name}' of shape [${expected}] (input.*) for ${what} but received [${dims}]`);
  if (spec.input.dynamicBatch && typeof dims[0] === 'number') {
    throw new TypeError(`Expected input.dynamicBatch false for ${what} (input '${input.name}' has a fixed batch of ${dims[0]}) but received true`);
  }
  const outDims = (field: 'boxes' | 'scores') => {
    const o = g.output.find((v) => v.name === spec.output[field]);
    if (!o) throw new TypeError(`Expected ONNX output '${spec.output[field]}' (output.${field}) for ${what} but received outputs ${list(g.output)}`);
    return valueDims(o);
  };
  const boxes = outDims('boxes');
  const scores = outDims('scores');
  const check = (field: string, d: Array<number | string>, k: number, want: number, why: string) => {
    if (typeof d[k] === 'number' && d[k] !== want) {
      throw new TypeError(`Expected ${field} with dim ${k} = ${want} (${why}) for ${what} but received shape [${d}]`);
    }
  };
  if (boxes.length !== 3) throw new TypeError(`Expected output.boxes of rank 3 [B, N, 4] for ${what} but received shape [${boxes}]`);
  if (scores.length !== 3) throw new TypeError(`Expected output.scores of rank 3 [B, N, C] for ${what} but received shape [${scores}]`);
  check('output.boxes', boxes, 2, 4, 'box coordinates');
  check('output.scores', scores, 2, spec.labels.length, 'labels.length');
  if (typeof boxes[1] === 'number') check('output.scores', scores, 1, boxes[1], 'anchors of output.boxes');
  if (anchors) {
    check('output.boxes', boxes, 1, anchors.length / 4, 'anchor count');
    check('output.scores', scores, 1, anchors.length / 4, 'anchor count');
  }
}

/** A loaded ssd-edge model file. */
export interface LoadedModel {
  /** The parsed ONNX model. */
  model: ModelProto;
  /** Its validated spec. */
  spec: ModelSpec;
  /** The file's bytes (feed them to `InferenceSession.create`). */
  bytes: Uint8Array;
  /** Resolved anchors (Float32Array [N·4] cxcywh normalized), or null when the spec has none (decoded outputs). */
  anchors: Float32Array | null;
}

/**
 * Reads an ssd-edge ONNX file: parses it, reads and validates its spec, resolves the anchors and checks the graph
 * against the spec (see {@link checkModelSpec}).
 *
 * @param file Path of the .onnx file.
 * @throws {Error} The file cannot be read (ENOENT…) or is not ONNX.
 * @throws {TypeError|RangeError} No ssd-edge metadata, an invalid spec, or a graph that disagrees with it.
 * @example
 * const { spec, bytes, anchors } = await loadModelFile('face.onnx');
 * const session = await ort.InferenceSession.create(bytes);
 */
export async function loadModelFile(file: string): Promise<LoadedModel> {
  const bytes = new Uint8Array(await fs.promises.readFile(file));
  const model = readOnnxFrom(bytes, file);
  const spec = readModelSpec(model, file);
  const anchors = spec.anchors ? resolveAnchors(spec) : null;
  checkModelSpec(model, spec, anchors, file);
  return { model, spec, bytes, anchors };
}
