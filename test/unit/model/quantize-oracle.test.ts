/**
 * Exactness of static int8 quantization against an independent numpy oracle (scripts/quant-oracle.py →
 * test/fixtures/quant/oracle.json): the same 3-conv float network, calibrated on the same inputs, must get the same
 * activation parameters, the same int8 weights and int32 biases, and ONNX Runtime's output of the QDQ model (run by
 * its QLinearConv integer kernels, checked in the optimized graph) must equal the oracle's simulation within one
 * quantization step of the output — with full 8-bit weights and with reduce range (7-bit).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { GraphBuilder } from '../../../lib/model/graph.ts';
import { readOnnx, tensorToArray, writeOnnx, DataType, type ModelProto } from '../../../lib/model/onnx.ts';
import { quantizeGraph } from '../../../lib/model/quantize/index.ts';
import { Session } from '../../../lib/runtime/session.ts';
import { writeOptimizedModel } from '../../../lib/runtime/optimized-model.ts';

interface ConvDef {
  weight: number[];
  dims: number[];
  bias: number[];
  pads: number;
  stride: number;
  group: number;
}
interface Variant {
  qmax: number;
  weights: Record<'A' | 'B' | 'C', { int8: number[]; scales: number[] }>;
  bias: Record<'A' | 'B' | 'C', { int32: number[]; scales: number[] }>;
  output: number[];
}
const fixture = JSON.parse(fs.readFileSync(new URL('../../fixtures/quant/oracle.json', import.meta.url), 'utf8')) as {
  network: { A: ConvDef; B: ConvDef; C: ConvDef };
  calibration: number[][];
  testInput: number[];
  floatOutput: number[];
  ranges: Record<'x' | 'a' | 'b' | 'y', [number, number]>;
  activations: Record<'x' | 'a' | 'b' | 'y', { scale: number; zeroPoint: number }>;
  full: Variant;
  reduceRange: Variant;
};

/** The oracle's float network as ONNX (value names x, a, b, y as in the oracle). */
function floatNetwork(): ModelProto {
  const g = new GraphBuilder('quant_oracle');
  g.addInput('x', [1, 3, 12, 12]);
  const conv = (name: string, input: string, d: ConvDef, out: string) => {
    const w = g.addInitializer(`w${name}`, Float32Array.from(d.weight), d.dims);
    const b = g.addInitializer(`b${name}`, Float32Array.from(d.bias), [d.bias.length]);
    const k = d.dims[2];
    return g.addNode('Conv', [input, w, b], [out], {
      kernel_shape: [k, k],
      pads: [d.pads, d.pads, d.pads, d.pads],
      strides: [d.stride, d.stride],
      group: d.group,
    })[0];
  };
  const { A, B, C } = fixture.network;
  g.addNode('Relu', [conv('A', 'x', A, 'convA')], ['a']);
  g.addInitializer('zero', Float32Array.of(0), []);
  g.addInitializer('six', Float32Array.of(6), []);
  g.addNode('Clip', [conv('B', 'a', B, 'convB'), 'zero', 'six'], ['b']);
  g.addNode('MaxPool', ['b'], ['pooled'], { kernel_shape: [2, 2], strides: [2, 2] });
  conv('C', 'pooled', C, 'y');
  g.addOutput('y', [1, 6, 3, 3]);
  return g.toModel();
}

const feeds = () => fixture.calibration.map((c) => ({ x: { data: Float32Array.from(c), dims: [1, 3, 12, 12] } }));

async function run(model: ModelProto): Promise<Float32Array> {
  const s = await Session.create(writeOnnx(model), { device: 'cpu', threads: 1 });
  try {
    const out = await s.run({ x: { data: Float32Array.from(fixture.testInput), dims: [1, 3, 12, 12] } });
    return out.y.data as Float32Array;
  } finally {
    await s.dispose();
  }
}

const init = (m: ModelProto, name: string) => {
  const t = m.graph.initializer?.find((i) => i.name === name);
  if (!t) throw new Error(`no initializer ${name}`);
  return t;
};
const int8Of = (m: ModelProto, name: string) => {
  const t = init(m, name);
  if (t.data_type !== DataType.INT8) throw new Error(`${name} is not int8`);
  return Array.from(new Int8Array(Uint8Array.from(t.raw_data!).buffer));
};

test('float network: ONNX Runtime agrees with the oracle float64 forward (the references are the same network)', async (t) => {
  const y = await run(floatNetwork());
  const err = Math.max(...fixture.floatOutput.map((v, i) => Math.abs(v - y[i])));
  t.true(err < 1e-4, `max error ${err}`);
});

for (const [label, variant, reduceRange] of [
  ['8-bit weights', fixture.full, 'off'],
  ['reduce range (7-bit weights)', fixture.reduceRange, 'on'],
] as const) {
  test(`quantizeGraph equals the numpy oracle: ${label}`, async (t) => {
    const model = floatNetwork();
    const q = await quantizeGraph(model, feeds(), { keepFloat: [], reduceRange, method: 'minmax', threads: 1 });
    t.is(q.quantizedConvs, 3);
    t.is(q.floatConvs, 0);
    t.is(q.reduceRange, reduceRange === 'on');

    // calibrated ranges (ORT float32 vs numpy float64 forward) and the activation parameters made from them
    for (const k of ['x', 'a', 'b', 'y'] as const) {
      const r = q.ranges.get(k)!;
      const [lo, hi] = fixture.ranges[k];
      t.true(Math.abs(r.min - lo) <= 1e-5 * Math.max(1, Math.abs(lo)), `${k} min ${r.min} vs ${lo}`);
      t.true(Math.abs(r.max - hi) <= 1e-5 * Math.max(1, Math.abs(hi)), `${k} max ${r.max} vs ${hi}`);
      const scale = tensorToArray(init(q.model, `${k}/q_scale`))[0] as number;
      const zp = init(q.model, `${k}/q_zero_point`).raw_data![0];
      t.true(Math.abs(scale - fixture.activations[k].scale) <= 1e-6 * fixture.activations[k].scale, `${k} scale`);
      t.is(zp, fixture.activations[k].zeroPoint, `${k} zero point`);
    }
    // weights depend on the weights only: exactly equal; biases on the calibrated input scale: within 1
    for (const c of ['A', 'B', 'C'] as const) {
      t.deepEqual(int8Of(q.model, `w${c}/int8`), variant.weights[c].int8, `weights ${c}`);
      t.deepEqual(
        Array.from(tensorToArray(init(q.model, `w${c}/scale`)) as Float32Array),
        variant.weights[c].scales,
        `scales ${c}`,
      );
      const bias = Array.from(tensorToArray(init(q.model, `b${c}/int32`)) as Int32Array);
      bias.forEach((b, i) => t.true(Math.abs(b - variant.bias[c].int32[i]) <= 1, `bias ${c}[${i}] ${b}`));
    }

    // ORT's integer kernels vs the numpy QDQ simulation: within one output quantization step
    const y = await run(q.model);
    const step = fixture.activations.y.scale;
    const err = Math.max(...variant.output.map((v, i) => Math.abs(v - y[i])));
    t.true(err <= step * 1.0001, `max |ORT − oracle| ${err} > one step ${step}`);
    // …and the comparison is not vacuous: quantization moved the output off the float result
    const floatErr = Math.max(...fixture.floatOutput.map((v, i) => Math.abs(v - y[i])));
    t.true(floatErr > 0 && floatErr < 8 * step, `int8 vs float ${floatErr}`);
  });
}

test('ONNX Runtime fuses the QDQ graph: every Conv becomes a QLinearConv (optimized graph)', async (t) => {
  const q = await quantizeGraph(floatNetwork(), feeds(), { keepFloat: [], reduceRange: 'off', threads: 1 });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssd-edge-q8-'));
  try {
    const file = path.join(dir, 'optimized.onnx');
    await writeOptimizedModel(writeOnnx(q.model), file, 'extended');
    const ops = readOnnx(fs.readFileSync(file)).graph.node.map((n) => n.op_type);
    t.is(ops.filter((o) => o === 'QLinearConv').length, 3, ops.join(' '));
    t.is(ops.filter((o) => o === 'Conv').length, 0, ops.join(' '));
    t.false(ops.includes('Relu') || ops.includes('Clip'), 'Relu/Clip folded into the quantized range');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
