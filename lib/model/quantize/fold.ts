/**
 * Folds per-channel affine ops that follow a Conv into its weights and bias before quantization: Conv → Add(c) /
 * Mul(s) / BatchNormalization (inference) becomes one Conv. ONNX Runtime does this itself for a float graph
 * (ConvAddFusion, ConvMulFusion, ConvBNFusion), but not once the Conv is quantized: a QDQ Conv whose output goes
 * through float Add/Mul/BatchNormalization before its Relu has its output requantized and dequantized around those
 * ops at every run, and loses the Conv + Relu fusion. Imported graphs have exactly that shape (TensorFlow's Conv2D →
 * BiasAdd → FusedBatchNorm → Mul → Add → Relu in OpenCV's res10; Caffe's Convolution → BatchNorm → Scale).
 *
 * A chain is folded while the Conv's output has that one consumer, is not a graph output, and the constant is
 * per output channel along axis 1 ([1, C, 1, 1] or [C, 1, 1]) or a single value. The folded Conv writes the last
 * folded op's output name, so the rest of the graph is unchanged.
 */
import { DataType, tensorToArray, type ModelProto, type NodeProto, type TensorProto } from '../onnx.ts';

/**
 * The per-output-channel values of a constant broadcast against [N, C, H, W] (`vector`: a [C] vector, as
 * BatchNormalization's parameters are), or null when it is not one.
 */
function perChannel(t: TensorProto | undefined, channels: number, vector = false): Float32Array | null {
  if (!t || t.data_type !== DataType.FLOAT) return null;
  const dims = (t.dims ?? []).map(Number);
  const v = tensorToArray(t) as Float32Array;
  if (v.length === 1 && dims.length <= 4) return new Float32Array(channels).fill(v[0]);
  if (vector) return dims.length === 1 && v.length === channels ? v : null;
  const ok =
    (dims.length === 4 && dims[0] === 1 && dims[1] === channels && dims[2] === 1 && dims[3] === 1) ||
    (dims.length === 3 && dims[0] === channels && dims[1] === 1 && dims[2] === 1);
  return ok && v.length === channels ? v : null;
}

function floatTensor(name: string, dims: number[], data: Float32Array): TensorProto {
  return { name, dims, data_type: DataType.FLOAT, raw_data: new Uint8Array(data.buffer.slice(0)) };
}

/**
 * Returns a copy of `model` where each Conv with float initializer weights absorbs the Add / Mul /
 * BatchNormalization (per channel, constant) ops that follow it (see the module note), and how many ops were folded.
 * The input model is not changed; a model with nothing to fold is returned as is.
 */
export function foldConvAffine(model: ModelProto): { model: ModelProto; folded: number } {
  const nodes = model.graph.node;
  const inits = new Map((model.graph.initializer ?? []).map((t) => [t.name ?? '', t]));
  const consumers = new Map<string, number[]>();
  nodes.forEach((n, k) => {
    for (const i of n.input) if (i) consumers.set(i, [...(consumers.get(i) ?? []), k]);
  });
  const graphOutputs = new Set(model.graph.output.map((o) => o.name));
  const used = new Set([...inits.keys(), ...nodes.flatMap((n) => n.output)]);
  const unique = (base: string): string => {
    let name = base;
    for (let k = 1; used.has(name); k++) name = `${base}_${k}`;
    used.add(name);
    return name;
  };

  const removed = new Set<number>();
  const replaced = new Map<number, NodeProto>();
  const newInits: TensorProto[] = [];
  let folded = 0;
  nodes.forEach((conv, k) => {
    if (conv.op_type !== 'Conv' || conv.input.length < 2) return;
    const w0 = inits.get(conv.input[1]);
    if (!w0 || w0.data_type !== DataType.FLOAT || (w0.dims ?? []).length !== 4) return;
    const b0 = conv.input[2] ? inits.get(conv.input[2]) : undefined;
    if (conv.input[2] && (!b0 || b0.data_type !== DataType.FLOAT)) return;
    const channels = Number(w0.dims![0]);
    let w: Float32Array | null = null; // copied on the first fold
    let b: Float32Array | null = null;
    let out = conv.output[0];
    for (;;) {
      const c = consumers.get(out) ?? [];
      if (c.length !== 1 || graphOutputs.has(out)) break;
      const n = nodes[c[0]];
      const other = n.input.filter((i) => i !== out);
      let scale: Float32Array | null = null;
      let shift: Float32Array | null = null;
      if ((n.op_type === 'Add' || n.op_type === 'Mul') && n.input.length === 2 && other.length === 1) {
        const v = perChannel(inits.get(other[0]), channels);
        if (!v) break;
        if (n.op_type === 'Add') shift = v;
        else scale = v;
      } else if (n.op_type === 'BatchNormalization' && n.input[0] === out && n.output.length === 1) {
        if (n.attribute?.some((a) => a.name === 'training_mode' && Number(a.i) !== 0)) break;
        const [gamma, beta, mean, variance] = n.input.slice(1, 5).map((i) => perChannel(inits.get(i), channels, true));
        if (!gamma || !beta || !mean || !variance) break;
        const eps = n.attribute?.find((a) => a.name === 'epsilon')?.f ?? 1e-5;
        scale = new Float32Array(channels);
        shift = new Float32Array(channels);
        for (let i = 0; i < channels; i++) {
          scale[i] = gamma[i] / Math.sqrt(variance[i] + eps);
          shift[i] = beta[i] - mean[i] * scale[i];
        }
      } else break;
      w ??= Float32Array.from(tensorToArray(w0) as Float32Array);
      b ??= b0 ? Float32Array.from(tensorToArray(b0) as Float32Array) : new Float32Array(channels);
      const per = w.length / channels;
      for (let ch = 0; ch < channels; ch++) {
        if (scale) {
          for (let i = ch * per; i < (ch + 1) * per; i++) w[i] *= scale[ch];
          b[ch] *= scale[ch];
        }
        if (shift) b[ch] += shift[ch];
      }
      removed.add(c[0]);
      folded++;
      out = n.output[0];
    }
    if (!w || !b) return;
    const wName = unique(`${conv.input[1]}/folded`);
    const bName = unique(`${conv.input[2] || `${conv.name ?? conv.output[0]}.bias`}/folded`);
    newInits.push(floatTensor(wName, (w0.dims ?? []).map(Number), w), floatTensor(bName, [channels], b));
    replaced.set(k, { ...conv, input: [conv.input[0], wName, bName], output: [out] });
  });
  if (folded === 0) return { model, folded };
  const node = nodes.flatMap((n, k) => (removed.has(k) ? [] : [replaced.get(k) ?? n]));
  const read = new Set([...node.flatMap((n) => n.input), ...model.graph.input.map((i) => i.name)]);
  const initializer = [...(model.graph.initializer ?? []).filter((t) => read.has(t.name ?? '')), ...newInits];
  return { model: { ...model, graph: { ...model.graph, node, initializer } }, folded };
}
