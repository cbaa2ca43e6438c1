/**
 * What is inside a model file: the ONNX interface (inputs, outputs, opset) and the ssd-edge spec, gathered as
 * data (`inspectModel`) and printed separately (`formatModelInfo`).
 */
import { DataType, getMetadata, type ValueInfoProto } from './onnx.ts';
import { onnxHeaderOf, readOnnxHeaderFile, type ModelLike } from './onnx-header.ts';
import { checkModelSpec, METADATA_KEY, readModelSpec, valueDims } from './metadata.ts';
import type { QuantizationNote } from './quantize/index.ts';
import { anchorCount, type ModelSpec } from './spec.ts';

/** A graph input or output. */
export interface OnnxValueInfo {
  name: string;
  /** Element type, e.g. 'float32'. */
  type: string;
  /** Dims; symbolic ones as their names. */
  dims: Array<number | string>;
}

/** The ONNX-level interface of a model. */
export interface OnnxInfo {
  irVersion: number;
  /** Version of the default ('ai.onnx') operator set. */
  opset: number | null;
  producer: string;
  /** Graph inputs that are not initializers. */
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
  nodes: number;
  initializers: number;
}

/** ONNX metadata key of {@link ModelOrigin} (JSON), written by `ssd-edge model import`. */
export const ORIGIN_METADATA_KEY = 'ssd_edge_origin';

/** Where an imported model came from (`ssd-edge model import` records it; inspect prints it). */
export interface ModelOrigin {
  /** The import format ('tflite', 'caffe', 'tf', 'tfjs', 'onnx', 'pytorch-ssd', 'torchvision', 'face-api'). */
  format: string;
  /** The source files: base name, size in bytes, SHA-256 (hex). */
  files: Array<{ name: string; bytes: number; sha256: string }>;
  /** The importer and its version (the spec's `converter`, e.g. 'ssd-edge/tflite-importer@2'). */
  importer: string;
  /** When it was imported (ISO 8601, UTC). */
  date: string;
  /** The overrides given on import (--input-size, --mean, --set …), as the import reported them. */
  overrides?: string[];
}

/** A model's {@link ModelOrigin}, or null when it has none (not imported, or written by an older version) or it is unreadable. */
export function readModelOrigin(model: ModelLike): ModelOrigin | null {
  const text = getMetadata(onnxHeaderOf(model))[ORIGIN_METADATA_KEY];
  if (text === undefined) return null;
  try {
    const o = JSON.parse(text) as ModelOrigin;
    return o && typeof o.format === 'string' && Array.isArray(o.files) && typeof o.date === 'string' ? o : null;
  } catch {
    return null;
  }
}

export interface ModelInfo {
  /** Size of the serialized model in bytes. */
  bytes: number;
  onnx: OnnxInfo;
  /** Where the model came from (`model import` records it), or null. */
  origin: ModelOrigin | null;
  /** The ssd-edge spec, or null when the model has no `ssd_edge` metadata. */
  spec: ModelSpec | null;
  /** Anchor count (null for decoded-output models or without a spec). */
  anchors: number | null;
}

const TYPE_NAMES = new Map<number, string>(
  Object.entries(DataType).map(([k, v]) => [v, k === 'FLOAT' ? 'float32' : k.toLowerCase()]),
);

function valueInfo(v: ValueInfoProto): OnnxValueInfo {
  const t = v.type?.tensor_type?.elem_type;
  return { name: v.name, type: t === undefined ? '?' : (TYPE_NAMES.get(t) ?? `type ${t}`), dims: valueDims(v) };
}

/** Inputs (initializers excluded), outputs, opset and sizes of an ONNX model (decoded, or its header). */
export function describeOnnx(model: ModelLike): OnnxInfo {
  const h = onnxHeaderOf(model);
  const inits = new Set(h.graph.initializerNames);
  const opset = h.opset_import.find((o) => !o.domain || o.domain === 'ai.onnx');
  return {
    irVersion: h.ir_version,
    opset: opset ? opset.version : null,
    producer: [h.producer_name, h.producer_version].filter(Boolean).join(' '),
    inputs: h.graph.input.filter((i) => !inits.has(i.name)).map(valueInfo),
    outputs: h.graph.output.map(valueInfo),
    nodes: h.graph.nodeCount,
    initializers: inits.size,
  };
}

/**
 * Gathers what {@link formatModelInfo} prints. A model without ssd-edge metadata gives `spec: null`. The anchors are
 * counted, never generated.
 *
 * @param model The model or its header.
 * @param bytes Size of the serialized model.
 * @param what How to call the model in errors (e.g. its path).
 * @throws {TypeError|RangeError} The model has ssd-edge metadata that is invalid or disagrees with the graph.
 */
export function inspectModel(model: ModelLike, bytes: number, what = 'model'): ModelInfo {
  const spec = getMetadata(model)[METADATA_KEY] === undefined ? null : readModelSpec(model, what);
  const anchors = spec ? anchorCount(spec) : null;
  if (spec) checkModelSpec(model, spec, anchors, what);
  return { bytes, onnx: describeOnnx(model), origin: readModelOrigin(model), spec, anchors };
}

/**
 * Reads a model file's header (never its weights) and gathers its {@link ModelInfo}.
 *
 * @throws {ModelFileError} The file cannot be read (the message names it: missing, a directory…).
 * @throws {TypeError} Not ONNX. @throws {TypeError|RangeError} Invalid ssd-edge metadata.
 * @example
 * console.log(formatModelInfo(await inspectModelFile('face.onnx')));
 */
export async function inspectModelFile(file: string): Promise<ModelInfo> {
  const { header, bytes } = await readOnnxHeaderFile(file);
  return inspectModel(header, bytes, file);
}

const fmtValue = (v: OnnxValueInfo) => `${v.name} ${v.type} [${v.dims.join(', ')}]`;
const fmtNum = (n: number) => (Number.isFinite(n) ? String(n) : 'all');

/** One line: "tflite import of detect.tflite (4.2 MB, sha256 0123456789abcdef) by …@2 on 2026-11-30 17:10 UTC". */
export function formatOrigin(o: ModelOrigin | null): string {
  if (!o) return 'not recorded (not written by `ssd-edge model import`)';
  const files = o.files
    .map((f) =>
      f.sha256
        ? `${f.name} (${f.bytes >= 1e5 ? `${(f.bytes / 1e6).toFixed(1)} MB` : `${f.bytes} bytes`}, sha256 ${String(f.sha256).slice(0, 16)})`
        : f.name,
    )
    .join(' + ');
  const date = o.date.replace('T', ' ').replace(/:\d\d(\.\d+)?Z$/, ' UTC');
  return `${o.format} import of ${files || 'bundled weights'} by ${o.importer} on ${date}${o.overrides?.length ? `; overrides: ${o.overrides.join('; ')}` : ''}`;
}

/**
 * The lines of an int8 model's quantization note (`spec.quantization`, written by `model quantize`): format and
 * quantizer, weights (with reduce range), activations, calibration method and images, the convolutions kept float, and
 * the SHA-256 of the float model it was made from. Empty for a float model.
 */
export function formatQuantization(spec: ModelSpec): string[] {
  const q = (spec as ModelSpec & { quantization?: Partial<QuantizationNote> }).quantization;
  if (!q || typeof q !== 'object') return [];
  const pad = ' '.repeat(14);
  const method = `${q.method ?? '?'}${q.percentile !== undefined ? ` ${q.percentile} %` : ''}`;
  const kept =
    (Array.isArray(q.keepFloat) && q.keepFloat.length ? q.keepFloat.join(', ') : 'none') +
    (q.keptFloatWeights === 'int8' && Array.isArray(q.keepFloat) && q.keepFloat.length ? '; int8 weights' : '');
  const cal = q.calibration;
  return [
    `quantization  int8 ${q.format ?? '?'} by ${q.quantizer ?? '?'}: ${q.quantizedConvs ?? '?'} Conv quantized, ${q.floatConvs ?? '?'} kept float (${kept})`,
    `${pad}weights ${q.weights ?? '?'}, reduce range ${q.reduceRange === undefined ? '?' : q.reduceRange ? 'on (7-bit)' : 'off'}`,
    `${pad}activations ${q.activations ?? '?'}`,
    `${pad}calibration ${cal ? `${cal.images} image(s)${cal.source && cal.source !== `${cal.images} images` ? ` from ${cal.source}` : ''}` : 'images not recorded'}, method ${method}`,
    `${pad}float model sha256 ${q.floatModelSha256 ?? 'not recorded'}`,
  ];
}

/** Human-readable, multi-line text of a {@link ModelInfo} (no trailing newline). */
export function formatModelInfo(info: ModelInfo, maxLabels = 8): string {
  const { onnx, spec } = info;
  const lines: string[] = [];
  if (spec) {
    const i = spec.input;
    const p = spec.postprocess;
    lines.push(
      `name          ${spec.name}`,
      `architecture  ${spec.architecture}`,
      ...(spec.source ? [`source        ${spec.source}`] : []),
      ...(spec.converter ? [`converter     ${spec.converter}`] : []),
      `origin        ${formatOrigin(info.origin)}`,
      `input         ${i.name} ${i.layout} ${i.colorOrder} ${i.width}x${i.height}, resize ${i.resize}` +
        `${i.interpolation ? ` (${i.interpolation})` : ''}, mean [${i.mean.join(', ')}] std [${i.std.join(', ')}], ` +
        `batch ${i.dynamicBatch ? 'dynamic' : 'fixed'}`,
      `outputs       ${spec.output.kind}: boxes ${spec.output.boxes}, scores ${spec.output.scores}`,
      `anchors       ${info.anchors === null ? 'none' : `${info.anchors}${spec.anchors && 'preset' in spec.anchors ? ` (preset ${spec.anchors.preset})` : ''}`}`,
      `labels        ${spec.labels.length}: ${spec.labels.slice(0, maxLabels).join(', ')}${spec.labels.length > maxLabels ? ', …' : ''}`,
      `postprocess   scoring ${p.scoring}, boxes ${p.boxEncoding}, background ${p.backgroundIndex}, score > ${p.scoreThresh}, ` +
        `nms ${p.nmsThresh}${p.classAgnostic ? ' across classes' : ''}, top-k ${fmtNum(p.topkCandidates)}, max ${fmtNum(p.detectionsPerImg)}, ` +
        `coder [${p.boxCoder.weights.join(', ')}] ${p.boxCoder.order}, clip ${p.clipBoxes}`,
      ...formatQuantization(spec),
    );
  } else {
    lines.push(`ssd-edge spec none (no '${METADATA_KEY}' metadata) — import it first with \`ssd-edge model import\``);
  }
  lines.push(
    `onnx          opset ${onnx.opset ?? '?'}, IR ${onnx.irVersion}, ${onnx.nodes} nodes, ${onnx.initializers} initializers, ` +
      `${(info.bytes / 1e6).toFixed(1)} MB${onnx.producer ? `, producer ${onnx.producer}` : ''}`,
    ...onnx.inputs.map((v) => `  input       ${fmtValue(v)}`),
    ...onnx.outputs.map((v) => `  output      ${fmtValue(v)}`),
  );
  return lines.join('\n');
}
