/**
 * foldConvAffine (issue 11 follow-up, OpenCV's res10 imported from TensorFlow ran slower in int8 than float): the
 * Add / Mul / BatchNormalization ops after a Conv are folded into its weights and bias before quantization, so the
 * quantized Conv's Relu and QuantizeLinear fuse into one QLinearConv. References: ONNX Runtime's forward of the
 * unfolded float graph (the folded graph must compute the same function), and ONNX Runtime's optimized graph.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { GraphBuilder } from '../../../lib/model/graph.ts';
import { readOnnx, writeOnnx, type ModelProto } from '../../../lib/model/onnx.ts';
import { foldConvAffine } from '../../../lib/model/quantize/fold.ts';
import { quantizeGraph } from '../../../lib/model/quantize/index.ts';
import { writeOptimizedModel } from '../../../lib/runtime/optimized-model.ts';
import { Session } from '../../../lib/runtime/session.ts';

const vals = (n: number, k: number, s = 1) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 1.3 + k) * s);

/**
 * TF-import shape: x → Conv(no bias) → Add(b) → BatchNormalization → Mul(s) → Add(t) → Relu → Conv → Add(b [C,1,1])
 * → Relu → {Add(residual with the first Relu) → y}. The residual Add reads two computed values: never folded.
 */
function importedGraph(): ModelProto {
  const g = new GraphBuilder('tf', { opset: 13 });
  g.addInput('x', [1, 3, 6, 6]);
  const C = 4;
  g.addInitializer('w1', vals(C * 3 * 9, 1, 0.4), [C, 3, 3, 3]);
  g.addNode('Conv', ['x', 'w1'], ['c1'], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] });
  g.addInitializer('b1', vals(C, 2, 0.1), [1, C, 1, 1]);
  g.addNode('Add', ['c1', 'b1'], ['a1']);
  g.addInitializer('gamma', Float32Array.from([1.5, 0.5, -0.8, 1]), [C]);
  g.addInitializer('beta', vals(C, 3, 0.2), [C]);
  g.addInitializer('mean', vals(C, 4, 0.3), [C]);
  g.addInitializer('var', Float32Array.from([0.5, 2, 1, 0.1]), [C]);
  g.addNode('BatchNormalization', ['a1', 'gamma', 'beta', 'mean', 'var'], ['bn'], { epsilon: 0.001 });
  g.addInitializer('s', Float32Array.from([2, -1, 0.5, 3]), [C, 1, 1]);
  g.addNode('Mul', ['s', 'bn'], ['m']); // constant first: commutative
  g.addInitializer('t', Float32Array.of(0.05), []);
  g.addNode('Add', ['m', 't'], ['a2']);
  g.addNode('Relu', ['a2'], ['r1']);
  g.addInitializer('w2', vals(C * C * 9, 5, 0.3), [C, C, 3, 3]);
  g.addNode('Conv', ['r1', 'w2'], ['c2'], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] });
  g.addInitializer('b2', vals(C, 6, 0.1), [C, 1, 1]);
  g.addNode('Add', ['c2', 'b2'], ['a3']);
  g.addNode('Relu', ['a3'], ['r2']);
  g.addNode('Add', ['r2', 'r1'], ['y']);
  g.addOutput('y', [1, C, 6, 6]);
  return g.toModel();
}

async function forward(model: ModelProto, x: Float32Array) {
  const s = await Session.create(writeOnnx(model), { device: 'cpu' });
  try {
    return (await s.run({ x: { data: x, dims: [1, 3, 6, 6] } })).y.data as Float32Array;
  } finally {
    await s.dispose();
  }
}

test('foldConvAffine: Add / BatchNormalization / Mul / Add after a Conv become its weights and bias; same outputs', async (t) => {
  const model = importedGraph();
  const f = foldConvAffine(model);
  t.is(f.folded, 5); // Add, BatchNormalization, Mul, Add after c1; Add after c2
  t.deepEqual(
    f.model.graph.node.map((n) => n.op_type),
    ['Conv', 'Relu', 'Conv', 'Relu', 'Add'],
  );
  t.deepEqual(f.model.graph.node[0].output, ['a2']);
  t.is(model.graph.node.length, 10, 'the input model is not changed');
  t.false(
    (f.model.graph.initializer ?? []).some((i) => ['w1', 'b1', 'gamma', 's', 'w2'].includes(i.name ?? '')),
    'folded constants are dropped',
  );
  for (const k of [0, 1, 2]) {
    const x = vals(108, 10 + k, 2);
    const [a, b] = [await forward(model, x), await forward(f.model, x)];
    let diff = 0;
    for (let i = 0; i < a.length; i++) diff = Math.max(diff, Math.abs(a[i] - b[i]) / (1 + Math.abs(a[i])));
    t.true(diff < 1e-5, `relative difference ${diff}`);
  }
});

test('foldConvAffine: nothing foldable (a Conv output read twice, a per-position constant, a [C] vector) is left alone', (t) => {
  const g = new GraphBuilder('nofold', { opset: 13 });
  g.addInput('x', [1, 2, 4, 4]);
  g.addInitializer('w', vals(2 * 2 * 9, 1), [2, 2, 3, 3]);
  g.addNode('Conv', ['x', 'w'], ['c'], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] });
  g.addInitializer('p', vals(16, 2), [1, 1, 4, 4]); // varies over positions: not per channel
  g.addNode('Add', ['c', 'p'], ['a']);
  g.addNode('Conv', ['a', 'w'], ['c2'], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] });
  g.addInitializer('q', vals(2, 3), [2]); // [C] broadcasts along W, not C
  g.addNode('Mul', ['c2', 'q'], ['m']);
  g.addNode('Conv', ['m', 'w'], ['c3'], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] });
  g.addInitializer('b', vals(2, 4), [1, 2, 1, 1]);
  g.addNode('Add', ['c3', 'b'], ['y1']);
  g.addNode('Relu', ['c3'], ['y2']); // c3 read twice
  g.addOutput('y1', [1, 2, 4, 4]);
  g.addOutput('y2', [1, 2, 4, 4]);
  const model = g.toModel();
  const f = foldConvAffine(model);
  t.is(f.folded, 0);
  t.is(f.model, model);
});

test('quantizeGraph on the TF-import shape: every Conv a QLinearConv, no float Add/Mul/BatchNormalization between', async (t) => {
  const feeds = [0, 1, 2, 3].map((k) => ({ x: { data: vals(108, 20 + k, 2), dims: [1, 3, 6, 6] } }));
  const q = await quantizeGraph(importedGraph(), feeds, { keepFloat: [], reduceRange: 'off', threads: 1 });
  t.is(q.foldedOps, 5);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssd-edge-q8fold-'));
  try {
    const file = path.join(dir, 'optimized.onnx');
    await writeOptimizedModel(writeOnnx(q.model), file, 'extended');
    const ops = readOnnx(fs.readFileSync(file)).graph.node.map((n) => n.op_type);
    t.is(ops.filter((o) => o === 'QLinearConv').length, 2, ops.join(' '));
    t.false(ops.includes('Conv') || ops.includes('Mul') || ops.includes('BatchNormalization'), ops.join(' '));
    // one Add: the residual (two computed inputs)
    t.true(ops.filter((o) => o === 'Add' || o === 'QLinearAdd').length <= 1, ops.join(' '));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
