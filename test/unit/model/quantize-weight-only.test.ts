/**
 * Weight-only quantization of the Convs kept float (issue 11 follow-up): with `int8Weights: true` their weights are
 * stored int8 (symmetric, per output channel) behind a DequantizeLinear while the Conv computes in float; by default
 * they stay float. The outputs of the two differ by the weight rounding only, within the bound derived here:
 * a head output y_c = Σ w·a + b over its window; with w' = s_c·round(w/s_c), |w' − w| ≤ s_c/2, so
 * |y'_c − y_c| ≤ (s_c/2)·Σ_window |a| ≤ (s_c/2)·K·max|a| (K = Cin·kh·kw), where both models see the same head input a
 * (same calibration, same activation quantization) and max|a| is bounded by the uint8 grid of that input.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { quantizeCommand } from '../../../lib/cli/commands/model-quantize.ts';
import { readModelSpec } from '../../../lib/model/metadata.ts';
import { readOnnx } from '../../../lib/model/onnx.ts';
import { writeTinyConvModel } from '../../helpers/tiny-detector-model.ts';
import { GraphBuilder } from '../../../lib/model/graph.ts';
import { DataType, tensorToArray, writeOnnx, type TensorProto } from '../../../lib/model/onnx.ts';
import { quantizeGraph } from '../../../lib/model/quantize/index.ts';
import { activationParams } from '../../../lib/model/quantize/params.ts';
import { formatQuantization } from '../../../lib/model/inspect.ts';
import type { ModelSpec } from '../../../lib/model/spec.ts';
import { Session } from '../../../lib/runtime/session.ts';

/** x → Conv → Relu → MaxPool → {box head Conv, class head Conv} → Concat → y (heads: 3×3, 8 → 4 and 8 → 6). */
function tinySsd() {
  const g = new GraphBuilder('tiny', { opset: 13 });
  g.addInput('x', [1, 3, 8, 8]);
  const conv = (input: string, cin: number, cout: number, name: string, scale: number) => {
    const w = g.addInitializer(
      `${name}.w`,
      // uneven magnitudes per channel, so per-channel scales differ
      Float32Array.from({ length: cout * cin * 9 }, (_, i) => Math.sin(1.7 * i + cout) * scale * (1 + (i % 5))),
      [cout, cin, 3, 3],
    );
    const b = g.addInitializer(
      `${name}.b`,
      Float32Array.from({ length: cout }, (_, i) => 0.013 * (i - 1)),
      [cout],
    );
    return g.addNode('Conv', [input, w, b], [name], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] })[0];
  };
  g.addNode('Relu', [conv('x', 3, 8, 'c1', 0.2)], ['r1']);
  g.addNode('MaxPool', ['r1'], ['p'], { kernel_shape: [2, 2], strides: [2, 2] });
  const box = conv('p', 8, 4, 'box', 0.05);
  const cls = conv('p', 8, 6, 'cls', 0.11);
  g.addNode('Concat', [box, cls], ['y'], { axis: 1 });
  g.addOutput('y', [1, 10, 4, 4]);
  return g.toModel();
}

const feeds = [0, 1, 2].map((k) => ({
  x: { data: Float32Array.from({ length: 192 }, (_, i) => Math.cos(0.37 * i + k) * 2), dims: [1, 3, 8, 8] },
}));

async function run(model: Parameters<typeof writeOnnx>[0], x: (typeof feeds)[number]) {
  const s = await Session.create(writeOnnx(model), { device: 'cpu' });
  try {
    return (await s.run(x)).y.data as Float32Array;
  } finally {
    await s.dispose();
  }
}

test('int8Weights: kept-float heads: weights int8 per channel + DequantizeLinear in the file, bias float, Conv still float', async (t) => {
  const q = await quantizeGraph(tinySsd(), feeds, { reduceRange: 'off', threads: 1, int8Weights: true });
  t.is(q.int8WeightConvs, 2);
  const inits = new Map((q.model.graph.initializer ?? []).map((i) => [i.name, i]));
  const producer = new Map(q.model.graph.node.flatMap((n) => n.output.map((o) => [o, n] as const)));
  for (const [head, cout] of [
    ['box', 4],
    ['cls', 6],
  ] as const) {
    const conv = q.model.graph.node.find((n) => n.name === head)!;
    t.is(conv.op_type, 'Conv');
    t.false(inits.has(`${head}.w`), 'the float weights are gone');
    const dq = producer.get(conv.input[1])!;
    t.is(dq.op_type, 'DequantizeLinear');
    t.is(dq.attribute?.find((a) => a.name === 'axis')?.i, 0);
    const [w, s, z] = dq.input.map((n) => inits.get(n) as TensorProto);
    t.is(w.data_type, DataType.INT8);
    t.deepEqual(w.dims?.map(Number), [cout, 8, 3, 3]);
    t.deepEqual(s.dims?.map(Number), [cout]);
    t.is(z.data_type, DataType.INT8);
    // the bias is not quantized (the Conv computes in float): still the float initializer
    t.is(conv.input[2], `${head}.b`);
    t.is(inits.get(`${head}.b`)?.data_type, DataType.FLOAT);
    // the head's activation input is the dequantized pool output, as before
    t.regex(conv.input[0], /dequantized/);
  }
  // the default keeps the float weights
  const f = await quantizeGraph(tinySsd(), feeds, { reduceRange: 'off', threads: 1 });
  t.is(f.int8WeightConvs, 0);
  const finits = new Set((f.model.graph.initializer ?? []).map((i) => i.name));
  t.true(finits.has('box.w') && finits.has('cls.w'));
  t.is(
    f.model.graph.node.filter((n) => n.op_type === 'DequantizeLinear').length + 2,
    q.model.graph.node.filter((n) => n.op_type === 'DequantizeLinear').length,
  );
});

test('int8Weights: kept-float heads with int8 weights: outputs equal the float-weight model within the weight rounding bound', async (t) => {
  const float = tinySsd();
  const floatInits = new Map((float.graph.initializer ?? []).map((i) => [i.name, tensorToArray(i) as Float32Array]));
  const q = await quantizeGraph(tinySsd(), feeds, { reduceRange: 'off', threads: 1, int8Weights: true });
  const f = await quantizeGraph(tinySsd(), feeds, { reduceRange: 'off', threads: 1 });
  // max |a| of the heads' input: the uint8 grid of the pool output (it shares r1's parameters)
  const r = q.ranges.get('r1')!;
  t.deepEqual(f.ranges.get('r1'), r, 'both models calibrate the same ranges');
  const p = activationParams(r.min, r.max);
  const maxA = Math.max(Math.abs((0 - p.zeroPoint) * p.scale), Math.abs((255 - p.zeroPoint) * p.scale));
  // per output channel: s_c = max|w_c| / 127 (independent of the quantizer's code), K = 8·3·3
  const bounds: number[] = [];
  for (const [head, cout] of [
    ['box', 4],
    ['cls', 6],
  ] as const) {
    const w = floatInits.get(`${head}.w`)!;
    const k = w.length / cout;
    for (let c = 0; c < cout; c++) {
      let m = 0;
      for (let i = 0; i < k; i++) m = Math.max(m, Math.abs(w[c * k + i]));
      bounds.push((m / 127 / 2) * k * maxA);
    }
  }
  let changed = 0;
  for (const x of feeds) {
    const [a, b] = [await run(q.model, x), await run(f.model, x)];
    for (let i = 0; i < a.length; i++) {
      const c = Math.floor(i / 16); // y: [1, 10, 4, 4]
      const d = Math.abs(a[i] - b[i]);
      if (d > 0) changed++;
      // 1e-5 relative: float32 accumulation order
      t.true(d <= bounds[c] + 1e-5 * Math.abs(b[i]) + 1e-6, `y[${i}] differs by ${d} > bound ${bounds[c]}`);
    }
  }
  t.true(changed > 0, 'the int8 weights change the outputs (the comparison is not of one model with itself)');
});

test('model inspect: the kept-float Convs with int8 weights are named; float weights (the default) are not', (t) => {
  const note = {
    quantizer: 'ssd-edge/quantize@2',
    format: 'QDQ',
    quantizedConvs: 3,
    floatConvs: 2,
    keepFloat: ['heads'],
  };
  const line = (extra: object) =>
    formatQuantization({ quantization: { ...note, ...extra } } as unknown as ModelSpec)[0];
  t.regex(line({ keptFloatWeights: 'int8' }), /3 Conv quantized, 2 kept float \(heads; int8 weights\)$/);
  t.regex(line({ keptFloatWeights: 'float' }), /3 Conv quantized, 2 kept float \(heads\)$/);
});

test('model quantize --int8-weights: the note says int8, the kept Conv reads int8 weights; without it float', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssd-edge-q8-w8-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const float = writeTinyConvModel(dir);
  const images = path.resolve(import.meta.dirname, '../../fixtures/eval/faces/images');
  const quantize = async (out: string, ...args: string[]) => {
    await quantizeCommand({ out: () => {}, err: () => {} })
      .exitOverride()
      .parseAsync([float, '--calibration', images, '--images', '1', '--threads', '1', '--out', out, ...args], {
        from: 'user',
      });
    const model = readOnnx(fs.readFileSync(out));
    const note = (readModelSpec(model, out) as unknown as { quantization: { keptFloatWeights: string } }).quantization;
    const inits = new Map((model.graph.initializer ?? []).map((i) => [i.name, i]));
    const producer = new Map(model.graph.node.flatMap((n) => n.output.map((o) => [o, n] as const)));
    // image → Conv → Relu → Conv (the head, kept float) → Relu → …: the kept Conv is the second
    const convs = model.graph.node.filter((n) => n.op_type === 'Conv');
    t.is(convs.length, 2);
    const kept = convs.slice(1);
    return { note, kept, inits, producer };
  };
  const w8 = await quantize(path.join(dir, 'w8.onnx'), '--int8-weights');
  t.is(w8.note.keptFloatWeights, 'int8');
  t.is(w8.kept.length, 1);
  const dq = w8.producer.get(w8.kept[0].input[1]);
  t.is(dq?.op_type, 'DequantizeLinear');
  t.is(w8.inits.get(dq!.input[0])?.data_type, DataType.INT8);
  const fl = await quantize(path.join(dir, 'fl.onnx'));
  t.is(fl.note.keptFloatWeights, 'float');
  t.is(fl.kept.length, 1);
  t.is(fl.inits.get(fl.kept[0].input[1])?.data_type, DataType.FLOAT);
});
