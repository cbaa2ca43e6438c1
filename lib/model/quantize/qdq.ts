/**
 * The graph rewrite of static quantization in QDQ form (onnxruntime's `quantize_static` with QuantFormat.QDQ): the
 * float graph is kept, and QuantizeLinear → DequantizeLinear pairs are inserted where values become uint8, int8
 * weights and int32 biases sit behind DequantizeLinear. ONNX Runtime's graph optimizer recognises
 * DQ → Conv → (Relu|Clip) → Q and fuses it into QLinearConv (integer kernels), DQ → MaxPool → Q into a uint8
 * MaxPool, and drops a Relu/Clip(0, ≥ max) in front of a Q whose zero point is 0.
 *
 * What is quantized: every Conv whose weight (and bias) are float initializers, except those `keepFloat` names:
 * - `first`: the Convs that read the graph input with no Conv in between (the image's first convolution);
 * - `heads`: the Convs from which a graph output is reached with no Conv in between (SSD's box/class predictors).
 * A quantized Conv's input and output (after its Relu/Clip when that is the only consumer) are quantized; a MaxPool
 * whose input is quantized passes the same scale and zero point to its output. All consumers of a quantized value
 * read it through their own DequantizeLinear, so float consumers (kept heads) see the same value as integer ones.
 */
import { DataType, tensorToArray, type ModelProto, type NodeProto, type TensorProto } from '../onnx.ts';
import { activationParams, quantizeBias, quantizeWeights, type ActivationParams } from './params.ts';
import type { TensorRange } from './calibrate.ts';

/** Which Convs stay float. */
export type KeepFloat = ReadonlyArray<'first' | 'heads'>;

export interface QdqPlan {
  /** Names of the Conv nodes that will be quantized. */
  convs: NodeProto[];
  /** Names of the Convs kept float (weights not float initializers, or named by keepFloat). */
  floatConvs: NodeProto[];
  /** The Convs kept float by keepFloat whose weights are float initializers: their computation stays float, their
   * weights can be stored int8 behind a DequantizeLinear (weight-only quantization). */
  keptFloat: NodeProto[];
  /** Float tensors that get a QuantizeLinear, each with the tensor whose calibrated range it uses. */
  tensors: Map<string, string>;
  /** The tensors to calibrate (the values of `tensors`, deduplicated). */
  calibrate: string[];
}

/** Consumers of every value (node indices). */
function consumersOf(model: ModelProto): Map<string, number[]> {
  const map = new Map<string, number[]>();
  model.graph.node.forEach((n, k) => {
    for (const i of n.input) {
      if (!i) continue;
      const list = map.get(i) ?? [];
      if (!list.includes(k)) list.push(k);
      map.set(i, list);
    }
  });
  return map;
}

/** Constant tensors by value name: initializers, Constant nodes, Identity of a constant. */
function initializersOf(model: ModelProto): Map<string, TensorProto> {
  const constants = new Map((model.graph.initializer ?? []).map((t) => [t.name ?? '', t]));
  // values that are constants too: Constant nodes (`value`), and Identity of a constant (exporters deduplicate equal
  // tensors that way, e.g. torchvision's zero biases)
  for (const n of model.graph.node) {
    if (n.op_type === 'Constant' && n.output[0]) {
      const t = n.attribute?.find((a) => a.name === 'value')?.t;
      if (t) constants.set(n.output[0], t);
    } else if (n.op_type === 'Identity' && n.output[0] && constants.has(n.input[0])) {
      constants.set(n.output[0], constants.get(n.input[0])!);
    }
  }
  return constants;
}

/** A Clip whose min is a constant 0 (ReLU6 and friends) or a Relu: can sit between a Conv and its Q. */
function isZeroFloorActivation(n: NodeProto, inits: Map<string, TensorProto>): boolean {
  if (n.op_type === 'Relu') return true;
  if (n.op_type !== 'Clip' || n.input.length < 2 || !n.input[1]) return false;
  const min = inits.get(n.input[1]);
  if (!min || min.data_type !== DataType.FLOAT) return false;
  const v = tensorToArray(min);
  return v.length === 1 && v[0] === 0;
}

/**
 * Plans the rewrite: which Convs are quantized, which tensors get a QuantizeLinear and which must be calibrated.
 */
export function planQdq(model: ModelProto, keepFloat: KeepFloat = ['heads']): QdqPlan {
  const nodes = model.graph.node;
  const inits = initializersOf(model);
  const consumers = consumersOf(model);
  const producer = new Map<string, number>();
  nodes.forEach((n, k) => {
    for (const o of n.output) if (o) producer.set(o, k);
  });
  const graphOutputs = new Set(model.graph.output.map((o) => o.name));
  const graphInputs = new Set(model.graph.input.map((i) => i.name).filter((n) => !inits.has(n)));

  const candidate = (n: NodeProto): boolean => {
    if (n.op_type !== 'Conv' || n.input.length < 2) return false;
    const w = inits.get(n.input[1]);
    if (!w || w.data_type !== DataType.FLOAT || (w.dims ?? []).length !== 4) return false;
    if (n.input[2]) {
      const b = inits.get(n.input[2]);
      if (!b || b.data_type !== DataType.FLOAT) return false;
    }
    return true;
  };

  // first: Convs reached from a graph input without passing a Conv
  const first = new Set<number>();
  if (keepFloat.includes('first')) {
    const seen = new Set<string>();
    const stack = [...graphInputs];
    while (stack.length) {
      const v = stack.pop()!;
      if (seen.has(v)) continue;
      seen.add(v);
      for (const k of consumers.get(v) ?? []) {
        if (nodes[k].op_type === 'Conv') first.add(k);
        else stack.push(...nodes[k].output);
      }
    }
  }
  // heads: Convs from which a graph output is reached without passing another Conv
  const heads = new Set<number>();
  if (keepFloat.includes('heads')) {
    const seen = new Set<string>();
    const stack = [...graphOutputs];
    while (stack.length) {
      const v = stack.pop()!;
      if (seen.has(v)) continue;
      seen.add(v);
      const k = producer.get(v);
      if (k === undefined) continue;
      if (nodes[k].op_type === 'Conv') heads.add(k);
      else stack.push(...nodes[k].input.filter((i) => i && !inits.has(i)));
    }
  }

  const convs: NodeProto[] = [];
  const floatConvs: NodeProto[] = [];
  const keptFloat: NodeProto[] = [];
  const tensors = new Map<string, string>();
  nodes.forEach((n, k) => {
    if (n.op_type !== 'Conv') return;
    if (!candidate(n) || first.has(k) || heads.has(k)) {
      floatConvs.push(n);
      if (candidate(n)) keptFloat.push(n);
      return;
    }
    convs.push(n);
    tensors.set(n.input[0], n.input[0]);
    // the output: after the Relu/Clip(0, …) that is its only consumer
    let out = n.output[0];
    const c = consumers.get(out) ?? [];
    if (c.length === 1 && !graphOutputs.has(out) && isZeroFloorActivation(nodes[c[0]], inits))
      out = nodes[c[0]].output[0];
    tensors.set(out, out);
  });
  // MaxPool of a quantized value: the output shares the input's parameters (in topological order)
  for (const n of nodes) {
    if (n.op_type === 'MaxPool' && tensors.has(n.input[0]) && n.output.length === 1 && !tensors.has(n.output[0]))
      tensors.set(n.output[0], tensors.get(n.input[0])!);
  }
  // a quantized Conv input that is a pooled quantized value uses the pool's (tied) parameters
  const calibrate = [...new Set(tensors.values())];
  return { convs, floatConvs, keptFloat, tensors, calibrate };
}

export interface QdqOptions {
  perChannel?: boolean;
  reduceRange?: boolean;
  /**
   * Store the weights of the Convs kept float (plan.keptFloat) int8 (symmetric, per output channel like the quantized
   * Convs) behind a DequantizeLinear: weight-only quantization, the Conv still computes in float on the dequantized
   * weights (its bias stays float) and the file shrinks by ¾ of their size. Default false: ONNX Runtime's CPU
   * provider does not fold a DequantizeLinear of a constant, so it runs at every forward and the Conv loses its
   * NCHWc layout (measured: SSD300-VGG16 +10 %, res10 +20 % forward time; face model unchanged).
   */
  int8Weights?: boolean;
}

/** What {@link applyQdq} did. */
export interface QdqResult {
  model: ModelProto;
  /** Parameters of each quantized activation. */
  activations: Map<string, ActivationParams>;
  quantizedConvs: number;
  floatConvs: number;
  /** Float Convs whose weights were stored int8 (weight-only). */
  int8WeightConvs: number;
}

function tensor(name: string, dataType: number, dims: number[], data: ArrayBufferView): TensorProto {
  const raw = new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
  return { name, dims, data_type: dataType, raw_data: raw };
}

/**
 * Refuses a model below opset 13 (per-axis QuantizeLinear/DequantizeLinear), saying what to do.
 *
 * @throws {TypeError} The default-domain opset is below 13.
 */
export function assertQdqOpset(model: ModelProto): void {
  const opset = model.opset_import.find((o) => (o.domain ?? '') === '')?.version ?? 0;
  if (opset < 13)
    throw new TypeError(
      `Expected ONNX opset ≥ 13 (per-axis QuantizeLinear/DequantizeLinear) for the model but received opset ${opset}` +
        " — an imported model keeps its exporter's opset: re-export it with opset ≥ 13 (or convert it with onnx.version_converter) and import that",
    );
}

/**
 * Rewrites a float model into QDQ form with the calibrated `ranges` (see {@link planQdq}). Returns a new model
 * (the input model is not changed); its metadata is copied as is.
 *
 * @throws {Error} A tensor of the plan has no calibrated range.
 */
export function applyQdq(
  model: ModelProto,
  plan: QdqPlan,
  ranges: Map<string, TensorRange>,
  options: QdqOptions = {},
): QdqResult {
  const perChannel = options.perChannel ?? true;
  assertQdqOpset(model);
  const reduceRange = options.reduceRange ?? false;
  const inits = initializersOf(model);
  const used = new Set<string>([
    ...(model.graph.initializer ?? []).map((t) => t.name ?? ''),
    ...model.graph.input.map((i) => i.name),
    ...model.graph.node.flatMap((n) => n.output),
  ]);
  const unique = (base: string): string => {
    let name = base;
    for (let k = 1; used.has(name); k++) name = `${base}_${k}`;
    used.add(name);
    return name;
  };
  const newInits: TensorProto[] = [];
  const addInit = (base: string, dataType: number, dims: number[], data: ArrayBufferView): string => {
    const name = unique(base);
    newInits.push(tensor(name, dataType, dims, data));
    return name;
  };

  // activation parameters and their scale/zero-point initializers (one pair per calibrated tensor)
  const activations = new Map<string, ActivationParams>();
  const paramInits = new Map<string, { scale: string; zp: string }>();
  for (const [t, source] of plan.tensors) {
    const r = ranges.get(source);
    if (!r) throw new Error(`quantize: no calibrated range for tensor '${source}'`);
    const p = activationParams(r.min, r.max);
    activations.set(t, p);
    if (!paramInits.has(source)) {
      paramInits.set(source, {
        scale: addInit(`${source}/q_scale`, DataType.FLOAT, [], Float32Array.of(p.scale)),
        zp: addInit(`${source}/q_zero_point`, DataType.UINT8, [], Uint8Array.of(p.zeroPoint)),
      });
    }
  }
  const paramsOf = (t: string) => paramInits.get(plan.tensors.get(t)!)!;

  const quantizedConvs = new Set(plan.convs);
  const weightOnly = new Set(options.int8Weights ? plan.keptFloat : []);
  const dropped = new Set<string>();
  const out: NodeProto[] = [];
  const qName = new Map<string, string>();
  /** Replaces Conv `n`'s weight (input 1) by int8 weights behind a DequantizeLinear; returns the weight scales. */
  const weightDq = (n: NodeProto, inputs: string[]) => {
    const w = inits.get(n.input[1])!;
    const dims = w.dims ?? [];
    const channels = perChannel ? dims[0] : 1;
    const qw = quantizeWeights(tensorToArray(w) as Float32Array, channels, reduceRange);
    const axis = perChannel ? { attribute: [{ name: 'axis', type: 2, i: 0 }] } : {};
    const base = n.input[1];
    const wq = addInit(`${base}/int8`, DataType.INT8, dims, qw.data);
    const ws = addInit(`${base}/scale`, DataType.FLOAT, perChannel ? [channels] : [], qw.scales);
    const wz = addInit(`${base}/zero_point`, DataType.INT8, perChannel ? [channels] : [], new Int8Array(channels));
    const wdq = unique(`${base}/dequantized`);
    out.push({
      op_type: 'DequantizeLinear',
      name: unique(`${base}/DequantizeLinear`),
      input: [wq, ws, wz],
      output: [wdq],
      ...axis,
    });
    inputs[1] = wdq;
    dropped.add(n.input[1]);
    return qw;
  };
  const emitQ = (t: string, source = t) => {
    const { scale, zp } = paramsOf(t);
    const q = unique(`${t}/quantized`);
    qName.set(t, q);
    out.push({
      op_type: 'QuantizeLinear',
      name: unique(`${t}/QuantizeLinear`),
      input: [source, scale, zp],
      output: [q],
    });
  };
  // A quantized value that is also a graph output: its producer writes `<name>/float`, and the output is the
  // dequantized value (so a Conv at the end of the graph fuses too, and the output lies on the uint8 grid).
  const graphOutputs = new Set(model.graph.output.map((o) => o.name));
  for (const i of model.graph.input) if (plan.tensors.has(i.name)) emitQ(i.name);

  for (const n of model.graph.node) {
    const inputs = [...n.input];
    // every quantized value this node reads comes through its own DequantizeLinear
    inputs.forEach((v, k) => {
      if (!v || !qName.has(v)) return;
      const { scale, zp } = paramsOf(v);
      const dq = unique(`${v}/dequantized`);
      out.push({
        op_type: 'DequantizeLinear',
        name: unique(`${v}/DequantizeLinear`),
        input: [qName.get(v)!, scale, zp],
        output: [dq],
      });
      inputs[k] = dq;
    });
    if (quantizedConvs.has(n) || weightOnly.has(n)) {
      const qw = weightDq(n, inputs);
      if (n.input[2] && quantizedConvs.has(n)) {
        const b = inits.get(n.input[2])!;
        const inScale = activations.get(n.input[0])!.scale;
        const qb = quantizeBias(tensorToArray(b) as Float32Array, inScale, qw.scales);
        const bb = n.input[2];
        const bq = addInit(`${bb}/int32`, DataType.INT32, b.dims ?? [qb.data.length], qb.data);
        const bs = addInit(`${bb}/scale`, DataType.FLOAT, [qb.scales.length], qb.scales);
        const bz = addInit(`${bb}/zero_point`, DataType.INT32, [qb.scales.length], new Int32Array(qb.scales.length));
        const bdq = unique(`${bb}/dequantized`);
        out.push({
          op_type: 'DequantizeLinear',
          name: unique(`${bb}/DequantizeLinear`),
          input: [bq, bs, bz],
          output: [bdq],
          attribute: [{ name: 'axis', type: 2, i: 0 }],
        });
        inputs[2] = bdq;
        dropped.add(n.input[2]);
      }
    }
    const outputs = n.output.map((o) => (plan.tensors.has(o) && graphOutputs.has(o) ? unique(`${o}/float`) : o));
    out.push({ ...n, input: inputs, output: outputs });
    n.output.forEach((o, k) => {
      if (!plan.tensors.has(o)) return;
      emitQ(o, outputs[k]);
      if (outputs[k] !== o) {
        const { scale, zp } = paramsOf(o);
        out.push({
          op_type: 'DequantizeLinear',
          name: unique(`${o}/DequantizeLinear`),
          input: [qName.get(o)!, scale, zp],
          output: [o],
        });
      }
    });
  }

  // float weights still read by a node that was not rewritten stay
  const stillUsed = new Set(out.flatMap((n) => n.input));
  const initializer = [
    ...(model.graph.initializer ?? []).filter((t) => !dropped.has(t.name ?? '') || stillUsed.has(t.name ?? '')),
    ...newInits,
  ];
  return {
    model: { ...model, graph: { ...model.graph, node: out, initializer } },
    activations,
    quantizedConvs: plan.convs.length,
    floatConvs: plan.floatConvs.length,
    int8WeightConvs: weightOnly.size,
  };
}
