/**
 * Cutting an ONNX graph at named intermediate tensors (the frozen part of the fast path): the graph's inputs stay,
 * the named tensors become the outputs, and every node and initializer they do not depend on is dropped.
 */
import { DataType, type ModelProto, type NodeProto } from '../../model/onnx.ts';

/**
 * The part of `model` that computes `outputs` (names of node outputs or graph inputs) from the graph inputs.
 * Nodes keep their order (a topological order stays one); initializers, graph inputs, value_info and nodes no output
 * depends on are dropped; metadata is not copied (the result is no detector model). Outputs are float32 with the
 * shape left to the runtime.
 *
 * @throws {TypeError} An output name is neither produced by a node nor a graph input.
 * @example
 * const frozen = cutOnnxGraph(readOnnx(bytes), ['MobilenetV1/Conv2d_11_pointwise/relu6']);
 */
export function cutOnnxGraph(model: ModelProto, outputs: readonly string[]): ModelProto {
  const { graph } = model;
  const producer = new Map<string, NodeProto>();
  for (const n of graph.node) for (const o of n.output) if (o) producer.set(o, n);
  const inputs = new Set(graph.input.map((i) => i.name));
  for (const o of outputs) {
    if (!producer.has(o) && !inputs.has(o))
      throw new TypeError(
        `Expected a tensor of the graph for cut point '${o}' but the graph has no tensor of that name`,
      );
  }
  const keep = new Set<NodeProto>();
  const needed = new Set<string>();
  const stack = [...outputs];
  while (stack.length) {
    const name = stack.pop() as string;
    if (needed.has(name)) continue;
    needed.add(name);
    const n = producer.get(name);
    if (n && !keep.has(n)) {
      keep.add(n);
      for (const i of n.input) if (i) stack.push(i);
    }
  }
  return {
    ir_version: model.ir_version,
    producer_name: model.producer_name,
    ...(model.producer_version !== undefined ? { producer_version: model.producer_version } : {}),
    opset_import: model.opset_import.map((o) => ({ ...o })),
    doc_string: `The part of ${graph.name ?? 'the graph'} up to ${outputs.join(', ')} (cut by ssd-edge/train).`,
    graph: {
      name: `${graph.name ?? 'graph'}_cut`,
      node: graph.node.filter((n) => keep.has(n)),
      initializer: (graph.initializer ?? []).filter((t) => t.name && needed.has(t.name)),
      input: graph.input.filter((i) => needed.has(i.name)),
      output: outputs.map((name) => ({ name, type: { tensor_type: { elem_type: DataType.FLOAT } } })),
    },
  };
}
