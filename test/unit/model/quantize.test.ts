/**
 * lib/model/quantize pieces on their own: the quantization arithmetic against hand-computed values, the calibration
 * methods on histograms whose answer is known, which Convs the plan keeps float, option errors, the CPU features the
 * addon reports against /proc/cpuinfo, and the reduce-range decision.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { binding } from '../../../lib/binding.ts';
import { GraphBuilder } from '../../../lib/model/graph.ts';
import { writeOnnx } from '../../../lib/model/onnx.ts';
import {
  activationParams,
  quantizeBias,
  quantizeValue,
  quantizeWeights,
  roundHalfEven,
} from '../../../lib/model/quantize/params.ts';
import {
  entropyThresholdBins,
  exposeOutputs,
  histogramQuantile,
  calibrate,
  rangeFromHistogram,
} from '../../../lib/model/quantize/calibrate.ts';
import { planQdq } from '../../../lib/model/quantize/qdq.ts';
import { hasSaturationFreeInt8, int8Support, resolveReduceRange } from '../../../lib/model/quantize/cpu.ts';
import { listCalibrationImages, quantizeGraph, quantizeModel } from '../../../lib/model/quantize/index.ts';
import { readOnnx } from '../../../lib/model/onnx.ts';

test('roundHalfEven: ties to even, like numpy.rint and QuantizeLinear', (t) => {
  t.deepEqual(
    [0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 2.4999, 2.5001, -3.7].map(roundHalfEven),
    [0, 2, 2, -0, -2, -2, 2, 3, -4],
  );
});

test('activationParams: range widened to contain 0, scale (max − min)/255, zero point rounded and clamped', (t) => {
  const p = activationParams(-1, 3);
  t.is(p.scale, Math.fround(4 / 255));
  t.is(p.zeroPoint, Math.round(1 / Math.fround(4 / 255))); // 63.75 → 64
  t.deepEqual(activationParams(0.5, 6), { scale: Math.fround(6 / 255), zeroPoint: 0, min: 0.5, max: 6 }); // rmin → 0
  t.is(activationParams(-5, -1).zeroPoint, 255); // rmax → 0
  t.deepEqual(activationParams(0, 0), { scale: 1, zeroPoint: 0, min: 0, max: 0 }); // constant zero
  // zero is exactly representable: QuantizeLinear(0) = zero point
  t.is(quantizeValue(0, p), p.zeroPoint);
  t.is(quantizeValue(1e9, p), 255);
  t.is(quantizeValue(-1e9, p), 0);
});

test('quantizeWeights: symmetric per channel, max |w| maps to ±127 (±64 with reduce range), zero channel kept', (t) => {
  const w = Float32Array.from([0.5, -1, 0.25, 0, /* channel 1 */ 0, 0, 0, 0, /* channel 2 */ 2, 1, -0.01, 0.7]);
  const q = quantizeWeights(w, 3, false);
  t.deepEqual(Array.from(q.scales), [Math.fround(1 / 127), 1, Math.fround(2 / 127)]);
  t.deepEqual(Array.from(q.data), [64, -127, 32, 0, 0, 0, 0, 0, 127, 64, -1, 44]);
  const r = quantizeWeights(w, 3, true);
  t.deepEqual(Array.from(r.data.slice(0, 4)), [32, -64, 16, 0]);
  t.true(r.data.every((v) => v >= -64 && v <= 64));
  // per tensor: one scale from the largest |w|
  const one = quantizeWeights(w, 1, false);
  t.deepEqual(Array.from(one.scales), [Math.fround(2 / 127)]);
});

test('quantizeBias: int32 with scale input scale × weight scale per channel', (t) => {
  const b = quantizeBias(Float32Array.from([0.1, -0.3]), 0.02, Float32Array.from([0.5, 0.25]));
  t.deepEqual(Array.from(b.scales), [Math.fround(0.01), Math.fround(0.005)]);
  t.deepEqual(Array.from(b.data), [10, -60]);
});

test('histogramQuantile and entropy: an outlier is clipped, a uniform distribution is not', (t) => {
  // 2048 bins over [0, 100]: 99 999 values uniform in [0, 1] (the first 20 bins) and one at 100
  const hist = new Float64Array(2048);
  for (let b = 0; b < 20; b++) hist[b] = 99_999 / 20;
  hist[2047] = 1;
  const q = histogramQuantile(hist, 0, 100, 0.99999);
  t.true(q > 0.9 && q < 1.1, `percentile ${q}`);
  // entropy on a ReLU-like decaying histogram (e^(−b/40)) with three lone outliers up to the last bin: the KL
  // threshold ends where the bulk ends, far below the outliers
  const relu = new Float64Array(2048);
  for (let b = 0; b < 2048; b++) relu[b] = Math.round(1e6 * Math.exp(-b / 40));
  relu[1000] += 1;
  relu[1500] += 1;
  relu[2047] += 1;
  const bins = entropyThresholdBins(relu, 255);
  t.true(bins >= 255 && bins < 1000, `entropy threshold ${bins} bins`);
  // a distribution that fills the whole range keeps it
  const uniform = new Float64Array(2048).fill(10);
  t.is(entropyThresholdBins(uniform, 255), 2048);
});

test('entropy after a ReLU6: the spike of exact zeros does not drag the threshold down (saturated mass kept)', (t) => {
  // 60 % exact zeros, a decaying tail over [0, 6], 2 % saturated at 6 (what the face model's ReLU6 layers look like)
  const h = new Float64Array(2048);
  h[0] = 6e6;
  for (let b = 1; b < 2048; b++) h[b] = Math.round((4e6 / 600) * Math.exp(-b / 600));
  h[2047] += 2e5;
  // with the zero bin in the divergence the threshold would be ≈ 1.49 (bins [0, 509)), which cost the face model
  // all its detections; without it the saturated tail keeps the full range
  t.true(entropyThresholdBins(h, 255) * (6 / 2048) < 2);
  t.deepEqual(rangeFromHistogram(h, 0, 6, 'entropy', 99.999), { min: 0, max: 6 });
  // percentile: 2 % of the mass is at 6, so the 99.999 % quantile is the top bin
  t.deepEqual(rangeFromHistogram(h, 0, 6, 'percentile', 99.999), { min: 0, max: 6 });
});

/** x → Conv → Relu → Conv → Clip → MaxPool → {box head Conv, class head Conv} → Concat → y */
function tinySsd(opset = 13) {
  const g = new GraphBuilder('tiny', { opset });
  g.addInput('x', [1, 2, 8, 8]);
  const conv = (input: string, cin: number, cout: number, name: string) => {
    const w = g.addInitializer(
      `${name}.w`,
      Float32Array.from({ length: cout * cin * 9 }, (_, i) => Math.sin(i + cout) * 0.3),
      [cout, cin, 3, 3],
    );
    const b = g.addInitializer(
      `${name}.b`,
      Float32Array.from({ length: cout }, (_, i) => 0.01 * i),
      [cout],
    );
    return g.addNode('Conv', [input, w, b], [name], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] })[0];
  };
  g.addNode('Relu', [conv('x', 2, 4, 'c1')], ['r1']);
  g.addInitializer('zero', Float32Array.of(0), []);
  g.addInitializer('six', Float32Array.of(6), []);
  g.addNode('Clip', [conv('r1', 4, 4, 'c2'), 'zero', 'six'], ['r2']);
  g.addNode('MaxPool', ['r2'], ['p'], { kernel_shape: [2, 2], strides: [2, 2] });
  const box = conv('p', 4, 4, 'box');
  const cls = conv('p', 4, 2, 'cls');
  g.addNode('Concat', [box, cls], ['y'], { axis: 1 });
  g.addOutput('y', [1, 6, 4, 4]);
  return g.toModel();
}

test('planQdq: heads = Convs that reach an output without another Conv; first = Convs fed by the input', (t) => {
  const names = (ns: { name?: string }[]) => ns.map((n) => n.name).sort();
  const heads = planQdq(tinySsd(), ['heads']);
  t.deepEqual(names(heads.convs), ['c1', 'c2']);
  t.deepEqual(names(heads.floatConvs), ['box', 'cls']);
  // inputs and outputs (after the Relu/Clip) of the quantized convs; the pool shares its input's parameters
  t.deepEqual([...heads.tensors.entries()].sort(), [
    ['p', 'r2'],
    ['r1', 'r1'],
    ['r2', 'r2'],
    ['x', 'x'],
  ]);
  t.deepEqual(heads.calibrate.sort(), ['r1', 'r2', 'x']);
  t.deepEqual(names(planQdq(tinySsd(), ['first', 'heads']).convs), ['c2']);
  t.deepEqual(names(planQdq(tinySsd(), []).convs), ['box', 'c1', 'c2', 'cls']);
});

test('quantizeGraph: heads stay float Convs reading dequantized values; the model still runs; opset < 13 refused', async (t) => {
  const feeds = [{ x: { data: Float32Array.from({ length: 128 }, (_, i) => Math.cos(i)), dims: [1, 2, 8, 8] } }];
  const q = await quantizeGraph(tinySsd(), feeds, { reduceRange: 'off', threads: 1 });
  const ops = q.model.graph.node.map((n) => n.op_type);
  t.is(ops.filter((o) => o === 'QuantizeLinear').length, 4); // x, r1, r2, and p (the pool's output, r2's parameters)
  t.is(ops.filter((o) => o === 'Conv').length, 4);
  for (const head of q.model.graph.node.filter((n) => n.name === 'box' || n.name === 'cls'))
    t.regex(head.input[0], /dequantized/);
  // the float weights of quantized convs are gone, the heads' are kept (int8 with int8Weights: weight-only)
  const inits = new Set(q.model.graph.initializer?.map((i) => i.name));
  t.false(inits.has('c1.w'));
  t.true(inits.has('c1.w/int8') && inits.has('box.w'));
  const w8 = await quantizeGraph(tinySsd(), feeds, { reduceRange: 'off', threads: 1, int8Weights: true });
  const w8inits = new Set(w8.model.graph.initializer?.map((i) => i.name));
  t.true(w8inits.has('box.w/int8') && !w8inits.has('box.w'));
  await t.throwsAsync(quantizeGraph(tinySsd(12), feeds, { threads: 1 }), {
    instanceOf: TypeError,
    message: /opset ≥ 13 .* received opset 12/,
  });
});

test('calibrate: exposeOutputs adds intermediate outputs to a copy; percentile and entropy ranges lie within min/max', async (t) => {
  const model = tinySsd();
  const copy = readOnnx(exposeOutputs(model, ['r1', 'y']));
  t.deepEqual(
    copy.graph.output.map((o) => o.name),
    ['y', 'r1'],
  );
  t.deepEqual(
    model.graph.output.map((o) => o.name),
    ['y'],
  );
  const feeds = [0, 1, 2].map((k) => ({
    x: { data: Float32Array.from({ length: 128 }, (_, i) => Math.sin(i * (k + 1))), dims: [1, 2, 8, 8] },
  }));
  const mm = await calibrate(model, ['x', 'r1'], feeds, { method: 'minmax', threads: 1 });
  const xs = feeds.flatMap((f) => Array.from(f.x.data));
  t.is(mm.get('x')!.min, Math.min(...xs));
  t.is(mm.get('x')!.max, Math.max(...xs));
  t.is(mm.get('r1')!.min, 0);
  for (const method of ['percentile', 'entropy'] as const) {
    const r = await calibrate(model, ['x', 'r1'], feeds, { method, threads: 1 });
    for (const k of ['x', 'r1']) {
      t.true(r.get(k)!.max <= mm.get(k)!.max + 1e-6 && r.get(k)!.max > 0, `${method} ${k} max`);
      t.true(r.get(k)!.min >= Math.min(mm.get(k)!.min, 0) - 1e-6, `${method} ${k} min`);
    }
  }
});

test('options: unknown keys and bad values name the parameter', async (t) => {
  const feeds = [{ x: { data: new Float32Array(128), dims: [1, 2, 8, 8] } }];
  await t.throwsAsync(quantizeGraph(tinySsd(), feeds, { mehtod: 'minmax' } as never), {
    instanceOf: TypeError,
    message: /^Unknown key 'mehtod' in options/,
  });
  await t.throwsAsync(quantizeGraph(tinySsd(), feeds, { method: 'kl' as never }), {
    instanceOf: TypeError,
    message: /^Expected one of 'minmax', 'percentile', 'entropy' for method but received "kl"/,
  });
  await t.throwsAsync(quantizeGraph(tinySsd(), feeds, { keepFloat: ['tail' as never] }), {
    message: /for keepFloat\[0\] but received "tail"/,
  });
  await t.throwsAsync(quantizeGraph(tinySsd(), feeds, { percentile: 30 }), { instanceOf: RangeError });
  await t.throwsAsync(quantizeGraph(tinySsd(), feeds, { reduceRange: 'yes' as never }), {
    message: /for reduceRange but received "yes"/,
  });
  await t.throwsAsync(quantizeGraph(tinySsd(), feeds, { int8Weights: 'yes' as never }), {
    instanceOf: TypeError,
    message: /int8Weights/,
  });
});

test('quantizeModel: a model without ssd-edge metadata, an empty folder, a missing folder', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssd-edge-q8-'));
  try {
    await t.throwsAsync(quantizeModel(writeOnnx(tinySsd()), [Buffer.from('x')]), {
      instanceOf: TypeError,
      message: /ssd-edge metadata/,
    });
    await t.throwsAsync(listCalibrationImages(dir), {
      message: `No calibration images (.jpg .jpeg .png .webp .gif .bmp) in folder ${dir}`,
    });
    await t.throwsAsync(listCalibrationImages(path.join(dir, 'nope')), { message: /no such folder/ });
    for (const n of ['b.jpg', 'a.png', 'c.txt', 'd.JPEG', 'e.jpg']) fs.writeFileSync(path.join(dir, n), '');
    t.deepEqual(
      (await listCalibrationImages(dir)).map((f) => path.basename(f)),
      ['a.png', 'b.jpg', 'd.JPEG', 'e.jpg'],
    );
    t.deepEqual(
      (await listCalibrationImages(dir, 2)).map((f) => path.basename(f)),
      ['a.png', 'd.JPEG'],
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('capabilities().cpu agrees with /proc/cpuinfo; reduce range follows VNNI / dot product', (t) => {
  const cpu = binding?.capabilities().cpu;
  if (!cpu) return t.pass('no addon with CPU features (TypeScript fallback)');
  let flags: Set<string> | null = null;
  try {
    const m = /^(?:flags|Features)\s*:\s*(.*)$/m.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'));
    flags = m ? new Set(m[1].split(/\s+/)) : null;
  } catch {
    flags = null;
  }
  if (flags && process.arch === 'x64') {
    t.is(cpu.avx2, flags.has('avx2'));
    t.is(cpu.avx512Vnni, flags.has('avx512_vnni'));
    t.is(cpu.vnni, flags.has('avx512_vnni') || flags.has('avx_vnni'));
    t.is(cpu.avx512, flags.has('avx512f') && flags.has('avx512bw'));
  }
  const s = int8Support();
  t.is(s.source, 'addon');
  t.is(s.reduceRange, !hasSaturationFreeInt8(cpu));
  t.is(resolveReduceRange('auto'), s.reduceRange);
  t.true(resolveReduceRange('on'));
  t.false(resolveReduceRange('off'));
  t.true(
    hasSaturationFreeInt8({ ...cpu, vnni: false, dotProduct: false, i8mm: false }) === false &&
      hasSaturationFreeInt8({ ...cpu, vnni: false, dotProduct: true, i8mm: false }),
  );
});
