/**
 * Importer: the pytorch-ssd family (qfgaohao/pytorch-ssd, dusty-nv's fork used by jetson-inference, and derivatives
 * such as Ultra-Light-Fast-Generic-Face-Detector "UltraFace") ONNX exports → ssd-edge model.
 *
 * Expected export: one image input of any name, [B,3,H,W] (NCHW; H×W any size, static, or given with `inputSize` when
 * symbolic), outputs `scores` [B,N,C] and `boxes` [B,N,4], plus a labels file (one name per line, BACKGROUND first).
 * The graph is kept as exported. What the outputs hold is not trusted from their names: {@link probePytorchSsd} runs
 * the graph on a probe input and looks at the values (UltraFace's "simplified" export has the same names but raw
 * (dx, dy, dw, dh) deltas in `boxes`):
 * - decoded boxes (normalized x1, y1, x2, y2) → spec output 'decoded', postprocess `boxEncoding: 'xyxy'`;
 * - raw deltas → output 'raw' with the priors as a default-box spec (known for the UltraFace geometry, see
 *   {@link ultrafacePriorSpec}), box coder weights (10, 10, 5, 5) (variances 0.1 / 0.2), order xywh;
 * - scores already softmaxed (rows in [0, 1] summing to 1) → `scoring: 'none'`, else logits → 'softmax'.
 * Without a probe result (the sync {@link importPytorchSsd} called alone) the declared layout is used: decoded
 * boxes, softmaxed scores.
 *
 * Postprocess defaults: background 0, no clipping before NMS (as pytorch-ssd), `topkCandidates` (the candidate cap,
 * pytorch-ssd's `candidate_size`) 200 — configurable (`--set postprocess.topkCandidates=N` on import, or per call).
 * pytorch-ssd / jetson-inference: score > 0.5, NMS 0.45, 200 detections. UltraFace (recognised by its prior count
 * for the input size and 2 or 3 classes): score > 0.7, hard NMS 0.3 (upstream `detect_imgs_onnx.py`), labels
 * BACKGROUND, face by default for 2 classes.
 *
 * Preprocessing presets (x on 0..255 RGB, stretch to W×H, bilinear):
 * - 'mobilenet': (x − 127) / 128 — pytorch-ssd `PredictionTransform` for the MobileNet / SqueezeNet models, UltraFace;
 * - 'jetson': (x − 127.5) / 127.5 — jetson-inference detectNet for ONNX SSD (x/255, mean 0.5, std 0.5);
 * - 'vgg16': x − [123, 117, 104] — pytorch-ssd's vgg16-ssd.
 * Default: 'vgg16' when N is 8732, else 'mobilenet'.
 */
import { assertKnownKeys, assertObject, invalidParameterError } from '../../is.ts';
import type { DefaultBoxSpec } from '../../ops/default-boxes.ts';
import { Session } from '../../runtime/session.ts';
import { describeOnnx, type OnnxValueInfo } from '../inspect.ts';
import { writeModelSpec } from '../metadata.ts';
import { writeOnnx, type ModelProto } from '../onnx.ts';
import type { ModelSpec } from '../spec.ts';
import { pickLabels } from './common.ts';
import { ONNX_IMPORT_OPTION_KEYS, type OnnxImport, type OnnxImportOptions } from './torchvision.ts';

export const PYTORCH_SSD_CONVERTER = 'ssd-edge/pytorch-ssd-importer@2';

/** Input normalizations of pytorch-ssd / jetson-inference models (mean, std on 0..255). */
export const PYTORCH_SSD_PREPROCESS = {
  mobilenet: { mean: [127, 127, 127], std: [128, 128, 128] },
  jetson: { mean: [127.5, 127.5, 127.5], std: [127.5, 127.5, 127.5] },
  vgg16: { mean: [123, 117, 104], std: [1, 1, 1] },
} as const;
export type PytorchSsdPreprocess = keyof typeof PYTORCH_SSD_PREPROCESS;

/** What the outputs hold, as found by {@link probePytorchSsd}. */
export interface PytorchSsdProbe {
  boxes: 'decoded' | 'raw';
  scores: 'probabilities' | 'logits';
  /** One line per finding (for the import report). */
  evidence: string[];
}

export interface PytorchSsdImportOptions extends OnnxImportOptions {
  /** Input normalization preset (default by anchor count, see the file header). */
  preprocess?: PytorchSsdPreprocess;
  /** Input [width, height] when the graph's are symbolic (or to check them). */
  inputSize?: [number, number];
  /** What the outputs hold ({@link probePytorchSsd}); default: the declared layout (decoded, softmaxed). */
  probe?: PytorchSsdProbe;
}

// --- interface ----------------------------------------------------------------------------------------

const names = (vs: OnnxValueInfo[]) => vs.map((v) => `'${v.name}' [${v.dims.join(', ')}]`).join(', ') || 'none';

/** The image input and the `boxes` / `scores` outputs of a pytorch-ssd-family export, dims checked. */
export function readPytorchSsdInterface(model: ModelProto, what: string, inputSize?: [number, number]) {
  const io = describeOnnx(model); // initializers listed as graph inputs (IR < 4 exporters) are not inputs
  if (io.inputs.length !== 1)
    throw new TypeError(`Expected ${what} with one image input but received inputs ${names(io.inputs)}`);
  const input = io.inputs[0];
  const [b, c, h, w] = input.dims;
  if (input.dims.length !== 4 || c !== 3)
    throw new TypeError(
      `Expected ${what} input '${input.name}' of shape [B, 3, H, W] (NCHW) but received [${input.dims.join(', ')}]`,
    );
  let width = typeof w === 'number' ? w : undefined;
  let height = typeof h === 'number' ? h : undefined;
  if (inputSize) {
    if ((width !== undefined && width !== inputSize[0]) || (height !== undefined && height !== inputSize[1]))
      throw new TypeError(
        `Expected input size ${width ?? 'W'}x${height ?? 'H'} (the graph's input '${input.name}') for inputSize but received ${inputSize[0]}x${inputSize[1]}`,
      );
    [width, height] = inputSize;
  }
  if (width === undefined || height === undefined)
    throw new TypeError(
      `Expected ${what} input '${input.name}' with a static height and width but received [${input.dims.join(', ')}] — give the size with --input-size WxH`,
    );
  const output = (name: string, last: number | 'C') => {
    const o = io.outputs.find((v) => v.name === name);
    if (!o) throw new TypeError(`Expected ${what} with output '${name}' but received outputs ${names(io.outputs)}`);
    const [, n, k] = o.dims;
    if (o.dims.length !== 3 || typeof n !== 'number' || typeof k !== 'number' || (last !== 'C' && k !== last))
      throw new TypeError(
        `Expected ${what} output '${name}' of shape [B, N, ${last}] (N${last === 'C' ? ', C' : ''} static) but received [${o.dims.join(', ')}]`,
      );
    return { n, k };
  };
  const boxes = output('boxes', 4);
  const scores = output('scores', 'C');
  if (boxes.n !== scores.n)
    throw new TypeError(
      `Expected ${what} outputs 'boxes' and 'scores' with the same N but received ${boxes.n} and ${scores.n}`,
    );
  return {
    input: input.name,
    width,
    height,
    dynamicBatch: typeof b === 'string',
    numAnchors: boxes.n,
    numClasses: scores.k,
  };
}

/**
 * Removes the graph inputs that are initializers (IR ≥ 4 only: older IR requires them). Exporters of the IR 4 era
 * (pytorch 1.2/1.3) list every weight as a graph input; ONNX Runtime then treats the weights as overridable, cannot
 * fold constants and prints one warning per weight. Nothing feeds them, so the model computes the same. Returns how
 * many were removed.
 */
export function dropInitializerInputs(model: ModelProto): number {
  const g = model.graph;
  if (!g?.input || Number(model.ir_version ?? 0) < 4) return 0;
  const inits = new Set((g.initializer ?? []).map((i) => i.name));
  const before = g.input.length;
  g.input = g.input.filter((i) => !inits.has(i.name));
  return before - g.input.length;
}

// --- UltraFace priors -----------------------------------------------------------------------------------

const ULTRAFACE_MIN_BOXES = [
  [10, 16, 24],
  [32, 48],
  [64, 96],
  [128, 192, 256],
];
const ULTRAFACE_STRIDES = [8, 16, 32, 64];

/**
 * UltraFace's priors (upstream `vision/utils/box_utils.generate_priors` with `define_img_size`) for a W×H input, as a
 * default-box spec: per stride s in 8, 16, 32, 64 a ceil(H/s) × ceil(W/s) map, centres ((j + 0.5) / cols,
 * (i + 0.5) / rows), boxes min_box / W × min_box / H for its min boxes, clamped to [0, 1].
 */
export function ultrafacePriorSpec(width: number, height: number): DefaultBoxSpec {
  const diag = Math.sqrt(width * height);
  return {
    inputSize: [height, width],
    clip: 'wh',
    featureMaps: ULTRAFACE_STRIDES.map((s, k) => {
      const rows = Math.ceil(height / s);
      const cols = Math.ceil(width / s);
      return {
        size: [rows, cols] as [number, number],
        step: [height / rows, width / cols] as [number, number],
        boxes: ULTRAFACE_MIN_BOXES[k].map((m) => ({ scale: m / diag, aspectRatio: height / width })), // aspect = h/w
      };
    }),
  };
}

/** Number of UltraFace priors for a W×H input. */
export function ultrafacePriorCount(width: number, height: number): number {
  return ULTRAFACE_STRIDES.reduce(
    (n, s, k) => n + Math.ceil(height / s) * Math.ceil(width / s) * ULTRAFACE_MIN_BOXES[k].length,
    0,
  );
}

/** UltraFace priors as cxcywh rows (normalized), computed here in plain TypeScript (for the probe). */
function ultrafacePriors(width: number, height: number): Float64Array {
  const out = new Float64Array(ultrafacePriorCount(width, height) * 4);
  let o = 0;
  const clamp = (v: number) => Math.min(Math.max(v, 0), 1);
  ULTRAFACE_STRIDES.forEach((s, k) => {
    const rows = Math.ceil(height / s);
    const cols = Math.ceil(width / s);
    for (let i = 0; i < rows; i++)
      for (let j = 0; j < cols; j++)
        for (const m of ULTRAFACE_MIN_BOXES[k]) {
          out[o++] = clamp((j + 0.5) / cols);
          out[o++] = clamp((i + 0.5) / rows);
          out[o++] = clamp(m / width);
          out[o++] = clamp(m / height);
        }
  });
  return out;
}

const isUltraFace = (io: { width: number; height: number; numAnchors: number; numClasses: number }) =>
  (io.numClasses === 2 || io.numClasses === 3) && io.numAnchors === ultrafacePriorCount(io.width, io.height);

// --- probe ---------------------------------------------------------------------------------------------

/** A deterministic probe image in the network's (normalized) input space: uniform values in [−1, 1]. */
function probeInput(width: number, height: number): Float32Array {
  const x = new Float32Array(3 * width * height);
  let s = 0x2545f491;
  for (let k = 0; k < x.length; k++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    x[k] = s / 2 ** 31 - 1;
  }
  return x;
}

const fraction = (n: number, total: number) => `${((100 * n) / total).toFixed(1)}%`;

/**
 * Runs the graph once on a probe input (onnxruntime, CPU) and decides from the values what `boxes` and `scores`
 * hold. Boxes: with known priors (UltraFace geometry), decoded boxes have their centre within 2 prior sizes of their
 * prior's centre for ≥ 90 % of the rows, raw deltas for < 50 %; without priors, decoded boxes are ordered
 * (x2 ≥ x1, y2 ≥ y1) for ≥ 99 % of the rows with centres spread over the image. Scores: probabilities when every row
 * lies in [0, 1] and sums to 1 (± 1e-3). Outputs constant over the rows (stand-in models) say nothing: the declared
 * layout (decoded, probabilities) is kept and the evidence says so.
 *
 * @throws {TypeError} Not a pytorch-ssd-family interface; boxes that are neither clearly decoded nor clearly raw.
 * @throws {Error} ONNX Runtime cannot run the graph.
 */
export async function probePytorchSsd(
  model: ModelProto,
  options: { inputSize?: [number, number] } = {},
): Promise<PytorchSsdProbe> {
  const io = readPytorchSsdInterface(model, 'pytorch-ssd export', options.inputSize);
  const session = await Session.create(writeOnnx(model), { device: 'cpu', worker: false });
  let boxes: Float32Array;
  let scores: Float32Array;
  try {
    const out = await session.run({
      [io.input]: { data: probeInput(io.width, io.height), dims: [1, 3, io.height, io.width] },
    });
    boxes = out.boxes.data as Float32Array;
    scores = out.scores.data as Float32Array;
  } finally {
    await session.dispose();
  }
  const N = io.numAnchors;
  const C = io.numClasses;
  const evidence: string[] = [];
  let constant = true;
  for (let k = 4; k < boxes.length && constant; k++) if (boxes[k] !== boxes[k % 4]) constant = false;
  if (constant) {
    evidence.push('probe: boxes constant over the rows — nothing to tell; declared layout kept (decoded, softmaxed)');
    return { boxes: 'decoded', scores: 'probabilities', evidence };
  }
  // scores
  let inUnit = 0;
  let sumOk = 0;
  for (let n = 0; n < N; n++) {
    let sum = 0;
    let unit = true;
    for (let c = 0; c < C; c++) {
      const v = scores[n * C + c];
      sum += v;
      if (!(v >= 0 && v <= 1)) unit = false;
    }
    if (unit) inUnit++;
    if (unit && Math.abs(sum - 1) <= 1e-3) sumOk++;
  }
  const probabilities = sumOk === N;
  evidence.push(
    `probe: scores ${probabilities ? 'softmaxed' : 'logits'} (rows in [0, 1]: ${fraction(inUnit, N)}, summing to 1: ${fraction(sumOk, N)})`,
  );
  // boxes
  let kind: 'decoded' | 'raw' | undefined;
  if (isUltraFace(io)) {
    const p = ultrafacePriors(io.width, io.height);
    let near = 0;
    for (let n = 0; n < N; n++) {
      const b = n * 4;
      const cx = (boxes[b] + boxes[b + 2]) / 2;
      const cy = (boxes[b + 1] + boxes[b + 3]) / 2;
      if (Math.abs(cx - p[b]) <= 2 * p[b + 2] && Math.abs(cy - p[b + 1]) <= 2 * p[b + 3]) near++;
    }
    kind = near >= 0.9 * N ? 'decoded' : near < 0.5 * N ? 'raw' : undefined;
    evidence.push(
      `probe: box centres within 2 prior sizes of the UltraFace prior centres: ${fraction(near, N)} → ${kind ?? 'undecided'}`,
    );
  } else {
    let ordered = 0;
    let inside = 0;
    let mean = 0;
    let m2 = 0;
    for (let n = 0; n < N; n++) {
      const b = n * 4;
      if (boxes[b + 2] >= boxes[b] && boxes[b + 3] >= boxes[b + 1]) ordered++;
      const cx = (boxes[b] + boxes[b + 2]) / 2;
      const cy = (boxes[b + 1] + boxes[b + 3]) / 2;
      if (cx >= -0.25 && cx <= 1.25 && cy >= -0.25 && cy <= 1.25) inside++;
      const d = cx - mean;
      mean += d / (n + 1);
      m2 += d * (cx - mean);
    }
    const spread = Math.sqrt(m2 / N);
    const decoded = ordered >= 0.99 * N && inside >= 0.95 * N && spread >= 0.1;
    const raw = ordered < 0.9 * N || inside < 0.5 * N;
    kind = decoded ? 'decoded' : raw ? 'raw' : undefined;
    evidence.push(
      `probe: boxes with x2 ≥ x1 and y2 ≥ y1: ${fraction(ordered, N)}, centres inside the image: ${fraction(inside, N)}, centre spread ${spread.toFixed(3)} → ${kind ?? 'undecided'}`,
    );
  }
  if (!kind)
    throw new TypeError(
      `Expected pytorch-ssd export 'boxes' that are clearly decoded (x1, y1, x2, y2) or clearly raw deltas but received values that are neither (${evidence[evidence.length - 1]})`,
    );
  return { boxes: kind, scores: probabilities ? 'probabilities' : 'logits', evidence };
}

// --- import --------------------------------------------------------------------------------------------

/**
 * Turns a pytorch-ssd-family ONNX export into an ssd-edge model (writes the spec into `model`'s metadata; the graph
 * is not changed). `labels` may omit the background (C − 1 names): 'BACKGROUND' is put first. Pass `probe` (from
 * {@link probePytorchSsd}) to follow what the outputs really hold; without it the declared layout is used.
 *
 * @throws {TypeError} Input/outputs missing or misshapen, labels of the wrong length, unknown preprocess preset, raw
 *   deltas without known priors.
 * @example
 * const model = readOnnx(fs.readFileSync('version-RFB-320.onnx'));
 * const { spec } = importPytorchSsd(model, { probe: await probePytorchSsd(model) });
 */
export function importPytorchSsd(model: ModelProto, options: PytorchSsdImportOptions = {}): OnnxImport {
  const what = 'pytorch-ssd export';
  assertObject('options', options as unknown);
  assertKnownKeys('options', options, [
    ...ONNX_IMPORT_OPTION_KEYS,
    'preprocess',
    'inputSize',
    'probe',
  ] satisfies ReadonlyArray<keyof PytorchSsdImportOptions>);
  const io = readPytorchSsdInterface(model, what, options.inputSize);
  dropInitializerInputs(model);
  const preprocess = options.preprocess ?? (io.numAnchors === 8732 ? 'vgg16' : 'mobilenet');
  const norm = PYTORCH_SSD_PREPROCESS[preprocess];
  if (!norm) {
    throw new TypeError(
      `Expected one of ${Object.keys(PYTORCH_SSD_PREPROCESS)
        .map((k) => `'${k}'`)
        .join(', ')} for preprocess but received "${preprocess}"`,
    );
  }
  const ultraface = isUltraFace(io);
  const raw = options.probe?.boxes === 'raw';
  if (raw && !ultraface)
    throw invalidParameterError(
      'boxes output',
      `decoded boxes, or raw deltas of a model whose priors are known (UltraFace geometry; this file has ${io.numAnchors} rows at ${io.width}x${io.height}, UltraFace would have ${ultrafacePriorCount(io.width, io.height)}) — the priors are not in the file`,
      'raw deltas',
    );
  const architecture = ultraface
    ? 'ultraface'
    : io.numAnchors === 8732
      ? 'pytorch-ssd-vgg16'
      : io.numAnchors === 3000
        ? 'pytorch-ssd-mobilenet'
        : 'pytorch-ssd';
  const labels =
    options.labels === undefined && ultraface && io.numClasses === 2
      ? ['BACKGROUND', 'face']
      : pickLabels(options.labels, io.numClasses, what, 'BACKGROUND');
  const spec: ModelSpec = {
    name: options.name ?? architecture,
    architecture,
    ...(options.source ? { source: options.source } : {}),
    converter: PYTORCH_SSD_CONVERTER,
    input: {
      name: io.input,
      height: io.height,
      width: io.width,
      layout: 'NCHW',
      colorOrder: 'RGB',
      mean: [...norm.mean],
      std: [...norm.std],
      resize: 'stretch',
      interpolation: 'bilinear',
      dynamicBatch: io.dynamicBatch,
    },
    output: { kind: raw ? 'raw' : 'decoded', boxes: 'boxes', scores: 'scores' },
    ...(raw ? { anchors: { spec: ultrafacePriorSpec(io.width, io.height) } } : {}),
    labels,
    postprocess: {
      scoring: options.probe?.scores === 'logits' ? 'softmax' : 'none',
      boxEncoding: raw ? 'deltas' : 'xyxy',
      backgroundIndex: 0,
      scoreThresh: ultraface ? 0.7 : 0.5,
      nmsThresh: ultraface ? 0.3 : 0.45,
      topkCandidates: 200,
      detectionsPerImg: 200,
      // pytorch-ssd's convert_locations_to_boxes: variances 0.1 (centre) and 0.2 (size), no clamp of exp()
      boxCoder: { weights: [10, 10, 5, 5], order: 'xywh', clip: raw ? Infinity : Math.log(1000 / 16) },
      clipBoxes: false,
    },
  };
  writeModelSpec(model, spec);
  return { model, spec };
}
