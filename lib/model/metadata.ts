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
import { describe, outOfRangeError } from '../is.ts';
import { getMetadata, setMetadata, type ModelProto, type ValueInfoProto } from './onnx.ts';
import { onnxHeaderOf, readOnnxHeaderFile, type ModelLike, type OnnxHeader } from './onnx-header.ts';
import { anchorCount, MODEL_LIMITS, resolveAnchors, validateModelSpec, type ModelSpec } from './spec.ts';

export const METADATA_KEY = 'ssd_edge';
export const METADATA_VERSION_KEY = 'ssd_edge.version';
export const SCHEMA_VERSION = 1;

const NON_FINITE = new Map<string, number>([
  ['Infinity', Infinity],
  ['-Infinity', -Infinity],
  ['NaN', NaN],
]);
/** Fields that may legitimately hold a non-finite number (written as a string in JSON). */
const NUMERIC_KEYS = new Set(['topkCandidates', 'detectionsPerImg', 'clip', 'scoreThresh', 'nmsThresh']);

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
      return typeof v === 'string' && NUMERIC_KEYS.has(key) && !Array.isArray(this) && NON_FINITE.has(v)
        ? NON_FINITE.get(v)
        : v;
    });
  } catch (err) {
    throw new TypeError(
      `Expected JSON for metadata '${METADATA_KEY}' but received text that does not parse (${(err as Error).message})`,
    );
  }
  return validateModelSpec(parsed);
}

/**
 * The {@link ModelSpec} stored in a model's metadata (key `ssd_edge`), validated.
 *
 * @param model A ModelProto (from `readOnnx`) or its header (from `readOnnxHeaderFile`).
 * @param what How to call the model in errors (e.g. its file path); default 'model'.
 * @returns The spec.
 * @throws {TypeError} No `ssd_edge` entry ("… import it first with `ssd-edge model import`"), bad JSON, or an invalid spec.
 * @throws {RangeError} `ssd_edge.version` newer than this library understands, or out-of-range spec numbers.
 * @example
 * const spec = readModelSpec(readOnnx(fs.readFileSync('face.onnx')));
 */
export function readModelSpec(model: ModelLike, what = 'model'): ModelSpec {
  const meta = getMetadata(model);
  const text = meta[METADATA_KEY];
  if (text === undefined) {
    throw new TypeError(
      `Expected ONNX model with ssd-edge metadata (metadata_props key '${METADATA_KEY}') for ${what} but ` +
        'received a model without it — import it first with `ssd-edge model import`',
    );
  }
  const version = Number(meta[METADATA_VERSION_KEY] ?? SCHEMA_VERSION);
  if (!Number.isInteger(version) || version < 1 || version > SCHEMA_VERSION) {
    throw new RangeError(
      `Expected ssd-edge metadata version 1..${SCHEMA_VERSION} for ${what} but received ` +
        `${describe(meta[METADATA_VERSION_KEY])} — upgrade ssd-edge to read it`,
    );
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
  return setMetadata(model, {
    [METADATA_KEY]: serializeModelSpec(valid),
    [METADATA_VERSION_KEY]: String(SCHEMA_VERSION),
  });
}

// --- the model file -------------------------------------------------------------------------------

/** Static dims of a graph value ([] when unknown); symbolic dims are strings. */
export function valueDims(v: ValueInfoProto | undefined): Array<number | string> {
  return (v?.type?.tensor_type?.shape?.dim ?? []).map((d) => d.dim_value ?? d.dim_param ?? '?');
}

/**
 * Checks that a model's graph agrees with its spec, before anything sized from the spec is generated: the named
 * input and outputs exist; with static dims, the input is [B, 3, H, W] (NCHW) or [B, H, W, 3] (NHWC) with the spec's
 * size, a fixed batch is not declared dynamic and its input tensor stays within 3·{@link MODEL_LIMITS}.inputSide²
 * elements, boxes are [B, N, 4], scores [B, N, labels.length], and N equals the anchor count.
 *
 * @param model The model or its header.
 * @param anchors The anchors, or just their count (`anchorCount(spec)`: nothing generated), when the spec has some.
 * @throws {TypeError} The first disagreement, naming the field: `Expected ONNX output 'boxes' (output.boxes) for model but received outputs 'a', 'b'`.
 * @throws {RangeError} A fixed batch whose input tensor is too large to allocate.
 */
export function checkModelSpec(
  model: ModelLike,
  spec: ModelSpec,
  anchors?: Float32Array | number | null,
  what = 'model',
): void {
  const g = onnxHeaderOf(model).graph;
  const inits = new Set(g.initializerNames);
  const inputs = g.input.filter((i) => !inits.has(i.name));
  const list = (vs: ValueInfoProto[]) => vs.map((v) => `'${v.name}'`).join(', ') || 'none';
  const input = inputs.find((i) => i.name === spec.input.name);
  if (!input)
    throw new TypeError(
      `Expected ONNX input '${spec.input.name}' (input.name) for ${what} but received inputs ${list(inputs)}`,
    );
  const dims = valueDims(input);
  const { height: H, width: W, layout } = spec.input;
  const expected = layout === 'NCHW' ? ['B', 3, H, W] : ['B', H, W, 3];
  const bad = dims.length !== 4 || dims.some((d, k) => k > 0 && typeof d === 'number' && d !== expected[k]);
  if (bad)
    throw new TypeError(
      `Expected input '${input.name}' of shape [${expected}] (input.*) for ${what} but received [${dims}]`,
    );
  if (typeof dims[0] === 'number') {
    if (spec.input.dynamicBatch) {
      throw new TypeError(
        `Expected input.dynamicBatch false for ${what} (input '${input.name}' has a fixed batch of ${dims[0]}) but received true`,
      );
    }
    const side = MODEL_LIMITS.inputSide;
    if (dims[0] * 3 * H * W > 3 * side * side) {
      throw outOfRangeError(
        `batch of input '${input.name}'`,
        `a fixed batch B with B·3·${H}·${W} ≤ 3·${side}² elements`,
        dims[0],
      );
    }
  }
  const outDims = (field: 'boxes' | 'scores') => {
    const o = g.output.find((v) => v.name === spec.output[field]);
    if (!o)
      throw new TypeError(
        `Expected ONNX output '${spec.output[field]}' (output.${field}) for ${what} but received outputs ${list(g.output)}`,
      );
    return valueDims(o);
  };
  const boxes = outDims('boxes');
  const scores = outDims('scores');
  const check = (field: string, d: Array<number | string>, k: number, want: number, why: string) => {
    if (typeof d[k] === 'number' && d[k] !== want) {
      throw new TypeError(`Expected ${field} with dim ${k} = ${want} (${why}) for ${what} but received shape [${d}]`);
    }
  };
  if (boxes.length !== 3)
    throw new TypeError(`Expected output.boxes of rank 3 [B, N, 4] for ${what} but received shape [${boxes}]`);
  if (scores.length !== 3)
    throw new TypeError(`Expected output.scores of rank 3 [B, N, C] for ${what} but received shape [${scores}]`);
  check('output.boxes', boxes, 2, 4, 'box coordinates');
  check('output.scores', scores, 2, spec.labels.length, 'labels.length');
  if (typeof boxes[1] === 'number') check('output.scores', scores, 1, boxes[1], 'anchors of output.boxes');
  const count = typeof anchors === 'number' ? anchors : anchors ? anchors.length / 4 : null;
  if (count !== null) {
    check('output.boxes', boxes, 1, count, 'anchor count');
    check('output.scores', scores, 1, count, 'anchor count');
  }
}

/** A loaded ssd-edge model file (its header and spec; the weights stay in the file for ONNX Runtime to read). */
export interface LoadedModel {
  /** Path of the file, as given: pass it to the session (`Session.create(path)`), which reads the weights itself. */
  path: string;
  /** The file's ONNX header: metadata, inputs/outputs with shapes, opsets, counts (no weights). */
  header: OnnxHeader;
  /** Its validated spec. */
  spec: ModelSpec;
  /** Size of the file in bytes. */
  size: number;
  /** Resolved anchors (Float32Array [N·4] cxcywh normalized), or null when the spec has none (decoded outputs). */
  anchors: Float32Array | null;
}

/**
 * Reads an ssd-edge ONNX file without reading its weights: streams the ONNX header (metadata, graph inputs and
 * outputs; nodes and tensors skipped by length), reads and validates the spec, checks the graph against it
 * (anchor count from the spec, counted without generating anything, against the output dims — see
 * {@link checkModelSpec}), and only then resolves the anchors. ONNX Runtime loads the weights from `path`.
 *
 * @param file Path of the .onnx file.
 * @throws {ModelFileError} The file cannot be read: the message names the path and the problem
 *   (`Cannot read model /tmp: is a directory, expected an .onnx file`), `code` is ENOENT, EISDIR, EACCES….
 * @throws {TypeError} Not ONNX, no ssd-edge metadata, an invalid spec, or a graph that disagrees with it.
 * @throws {RangeError} Spec numbers out of range or beyond {@link MODEL_LIMITS}.
 * @example
 * const { path, spec, anchors } = await loadModelFile('face.onnx');
 * const session = await Session.create(path);
 */
export async function loadModelFile(file: string): Promise<LoadedModel> {
  const { header, bytes: size } = await readOnnxHeaderFile(file);
  const spec = readModelSpec(header, file);
  checkModelSpec(header, spec, anchorCount(spec), file);
  const anchors = spec.anchors ? resolveAnchors(spec) : null;
  return { path: file, header, spec, size, anchors };
}
