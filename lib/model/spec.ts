/**
 * The ssd-edge model spec: its types, its one validator, and the limits that bound what a spec can make us allocate.
 *
 * The spec says how to run an SSD model file: the input (a {@link PreprocessSpec} of lib/image/preprocess.ts plus the
 * ONNX input name and batch mode), the outputs, the anchors, the labels and the postprocess defaults (the
 * {@link PostprocessOptions} of lib/ops/postprocess.ts). It is stored as JSON in the model's metadata
 * (lib/model/metadata.ts; format in docs/design/model-format.md).
 */
import {
  assertArray,
  assertBoolean,
  assertInteger,
  assertObject,
  assertOneOf,
  describe,
  invalidParameterError,
  outOfRangeError,
} from '../is.ts';
import { assertPreprocessSpec, MAX_INPUT_SIDE, type PreprocessSpec } from '../image/preprocess.ts';
import {
  DEFAULT_BOX_PRESETS,
  defaultBoxes,
  expandDefaultBoxSpec,
  type DefaultBoxPresetName,
  type DefaultBoxSpec,
} from '../ops/default-boxes.ts';
import { validatePostprocessOptions, type PostprocessOptions } from '../ops/postprocess.ts';

export type { ResizeMode } from '../image/preprocess.ts';

/** The network input: how to preprocess an image ({@link PreprocessSpec}), which ONNX input takes it, the batch mode. */
export interface InputSpec extends PreprocessSpec {
  /** ONNX input name. */
  name: string;
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

/** How scores are obtained from the scores output (see {@link PostprocessOptions}.scoring; 'none' = used as given). */
export type ScoringMode = PostprocessOptions['scoring'];

/** What the boxes output holds: 'deltas' to decode against the anchors, or 'xyxy' boxes already decoded (normalized). */
export type BoxEncoding = PostprocessOptions['boxEncoding'];

/**
 * Postprocess defaults stored with a model: the {@link PostprocessOptions} of the postprocess op, every field
 * present (`boxEncoding` defaults to 'deltas' when a stored spec omits it, `boxCoder` fields to torchvision's).
 */
export type ModelPostprocessOptions = PostprocessOptions;

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

/**
 * Upper bounds on what a spec (metadata a file brings) may make ssd-edge allocate or generate; a spec beyond them
 * is rejected with a RangeError naming the field before anything is allocated.
 * - `inputSide`: input.width / input.height (a 3·8192² float32 input is 805 MB);
 * - `anchors`: default boxes / stored anchors (2^22 anchors = 64 MB of float32; SSD300 has 8732);
 * - `labels`: class names (the scores output has one column per label).
 */
export const MODEL_LIMITS = Object.freeze({ inputSide: MAX_INPUT_SIDE, anchors: 1 << 22, labels: 1 << 16 });

// --- validation -----------------------------------------------------------------------------------

function assertString(name: string, value: unknown, allowEmpty = false): asserts value is string {
  if (typeof value !== 'string' || (!allowEmpty && value.length === 0)) {
    throw invalidParameterError(name, allowEmpty ? 'string' : 'non-empty string', value);
  }
}

function validateInput(x: unknown): InputSpec {
  assertObject('input', x);
  assertString('input.name', x.name);
  assertPreprocessSpec(x, 'input');
  assertBoolean('input.dynamicBatch', x.dynamicBatch);
  return x as unknown as InputSpec;
}

function anchorLimit(count: number, field: string): void {
  if (count > MODEL_LIMITS.anchors) {
    throw outOfRangeError(field, `at most ${MODEL_LIMITS.anchors} anchors (MODEL_LIMITS.anchors)`, count);
  }
}

/** Checks an AnchorSpec without generating or decoding anything; returns its anchor count. */
function validateAnchors(x: unknown): number {
  assertObject('anchors', x);
  const kinds = ['preset', 'spec', 'data'].filter((k) => x[k] !== undefined);
  if (kinds.length !== 1) {
    throw new TypeError(
      "Expected object with exactly one of 'preset', 'spec', 'data' for anchors but received " +
        (kinds.length ? `object with ${kinds.map((k) => `'${k}'`).join(', ')}` : describe(x)),
    );
  }
  if (x.preset !== undefined) {
    assertOneOf('anchors.preset', x.preset, Object.keys(DEFAULT_BOX_PRESETS));
    return specCount(DEFAULT_BOX_PRESETS[x.preset as DefaultBoxPresetName]);
  }
  if (x.spec !== undefined) {
    let count: number;
    try {
      count = specCount(x.spec as DefaultBoxSpec); // throws naming the field (featureMaps[k]…)
    } catch (err) {
      // name the field as it sits in the model spec: featureMaps[0].size → anchors.spec.featureMaps[0].size
      if (err instanceof TypeError || err instanceof RangeError)
        err.message = err.message.replace(/ for (\S+) but received /, ' for anchors.spec.$1 but received ');
      throw err;
    }
    anchorLimit(count, 'anchors.spec.featureMaps');
    return count;
  }
  assertString('anchors.data', x.data);
  assertInteger('anchors.count', x.count, 1);
  anchorLimit(x.count, 'anchors.count');
  // base64 length of 16·count bytes, checked before decoding
  const expected = 16 * x.count;
  const bytes = base64Bytes(x.data);
  if (bytes !== expected) {
    throw new TypeError(
      `Expected base64 of ${expected} bytes (float32 [count·4], count ${x.count}) for anchors.data but received ${bytes} bytes`,
    );
  }
  return x.count;
}

/** Decoded size of a base64 string, from its length and padding (nothing decoded). */
function base64Bytes(text: string): number {
  return Buffer.byteLength(text, 'base64');
}

/** Anchor count of a default-box spec: Σ rows·cols·shapes over the maps, computed without generating the boxes. */
function specCount(spec: DefaultBoxSpec): number {
  const { levels } = expandDefaultBoxSpec(spec);
  let count = 0;
  for (let l = 0; l < levels.length; l += 6) count += levels[l] * levels[l + 1] * levels[l + 5];
  return count;
}

/**
 * The one validator of a {@link ModelSpec}: checks a parsed spec and returns it normalized (a copy;
 * `postprocess.boxEncoding` filled in as 'deltas' when absent, `postprocess.boxCoder` completed with the torchvision
 * defaults). Unknown extra fields are kept. The input is checked by `assertPreprocessSpec` (lib/image/preprocess.ts)
 * and the postprocess fields by `validatePostprocessOptions` (lib/ops/postprocess.ts).
 *
 * Rules beyond the field types: `labels` 1..{@link MODEL_LIMITS}.labels strings; `postprocess.backgroundIndex` <
 * labels.length; `anchors` required for `output.kind: 'raw'`; `output.kind: 'raw'` ⇔ `postprocess.boxEncoding:
 * 'deltas'`; anchors are exactly one of a preset name of `DEFAULT_BOX_PRESETS`, a `DefaultBoxSpec`, or base64 data of
 * `count`·16 bytes, at most {@link MODEL_LIMITS}.anchors of them (counted without generating them); input sides ≤
 * {@link MODEL_LIMITS}.inputSide.
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
  if (x.labels.length > MODEL_LIMITS.labels)
    throw outOfRangeError('labels', `Array of at most ${MODEL_LIMITS.labels} names (MODEL_LIMITS.labels)`, x.labels);
  x.labels.forEach((l, k) => assertString(`labels[${k}]`, l, true));
  const postprocess = validatePostprocess(x.postprocess, x.labels.length);
  const raw = x.output.kind === 'raw';
  if (raw !== (postprocess.boxEncoding === 'deltas')) {
    throw invalidParameterError(
      'postprocess.boxEncoding',
      raw ? "'deltas' (output.kind is 'raw')" : "'xyxy' (output.kind is 'decoded')",
      postprocess.boxEncoding,
    );
  }
  if (raw && x.anchors === undefined)
    throw invalidParameterError('anchors', "AnchorSpec (required when output.kind is 'raw')", undefined);
  if (x.anchors !== undefined) validateAnchors(x.anchors);
  return structuredClone({ ...x, input, postprocess } as unknown as ModelSpec);
}

function validatePostprocess(x: unknown, numClasses: number): ModelPostprocessOptions {
  assertObject('postprocess', x);
  // every field checked by the op's validator; a stored spec must also spell out its box coder
  const pp = validatePostprocessOptions(
    { ...x, boxEncoding: x.boxEncoding ?? 'deltas', boxCoder: x.boxCoder ?? {} },
    'postprocess.',
  );
  if (x.boxCoder === undefined) throw invalidParameterError('postprocess.boxCoder', 'object', undefined);
  if (pp.backgroundIndex >= numClasses) {
    throw outOfRangeError(
      'postprocess.backgroundIndex',
      `integer in [-1, ${numClasses - 1}] (labels has ${numClasses})`,
      pp.backgroundIndex,
    );
  }
  return pp;
}

// --- anchors --------------------------------------------------------------------------------------

/**
 * Number of anchors a spec's `anchors` describe, without generating or decoding them (null when the spec has none).
 *
 * @throws {TypeError|RangeError} Malformed anchors, or more than {@link MODEL_LIMITS}.anchors.
 * @example
 * anchorCount({ anchors: { preset: 'torchvision-ssd300-vgg16' } }); // 8732
 */
export function anchorCount(spec: Pick<ModelSpec, 'anchors'>): number | null {
  return spec?.anchors === undefined ? null : validateAnchors(spec.anchors);
}

/**
 * The anchors of a spec: `defaultBoxes(preset)`, `defaultBoxes(spec)` or the decoded base64 data. Checked (count
 * within {@link MODEL_LIMITS}.anchors) before anything is generated.
 *
 * @returns Float32Array [N·4], cxcywh normalized to the network input.
 * @throws {TypeError} The spec has no anchors (decoded-output models need none) or they are malformed.
 * @throws {RangeError} More than {@link MODEL_LIMITS}.anchors anchors.
 * @example
 * resolveAnchors({ ...spec, anchors: { preset: 'torchvision-ssd300-vgg16' } }).length / 4; // 8732
 */
export function resolveAnchors(spec: Pick<ModelSpec, 'anchors'>): Float32Array {
  if (spec?.anchors === undefined) throw invalidParameterError('anchors', 'AnchorSpec', undefined);
  validateAnchors(spec.anchors);
  const a = spec.anchors;
  if ('preset' in a) return defaultBoxes(a.preset as DefaultBoxPresetName);
  if ('spec' in a) return defaultBoxes(a.spec);
  const bytes = Buffer.from(a.data, 'base64');
  if (bytes.byteLength !== 16 * a.count) {
    throw new TypeError(
      `Expected base64 of ${16 * a.count} bytes (float32 [count·4], count ${a.count}) for anchors.data but received ${bytes.byteLength} bytes`,
    );
  }
  const out = new Float32Array(4 * a.count);
  new Uint8Array(out.buffer).set(bytes);
  return out;
}

/** Base64 of anchors (Float32Array [N·4], cxcywh normalized) for `AnchorSpec.data`. */
export function encodeAnchors(anchors: Float32Array): { data: string; count: number } {
  if (!(anchors instanceof Float32Array) || anchors.length === 0 || anchors.length % 4 !== 0) {
    throw invalidParameterError('anchors', 'Float32Array of length 4·N (N ≥ 1)', anchors);
  }
  return {
    data: Buffer.from(anchors.buffer, anchors.byteOffset, anchors.byteLength).toString('base64'),
    count: anchors.length / 4,
  };
}
