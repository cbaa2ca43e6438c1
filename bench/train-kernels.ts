/**
 * Training step time of small conv nets with SSD-MobileNetV1's layer types (strided conv, depthwise + pointwise,
 * ReLU6) and SSD300-VGG16's (3×3 convs, max pool), wasm (with lib/train/kernels registered) vs the cpu backend in the
 * same run; the composed Conv2DBackpropFilter / depthwise backprop kernels alone on a 19×19×64 layer; the SSD loss
 * (ssdLossTf + its gradient, 8732 anchors × 21 classes, batch 8). Medians of repeated runs.
 *
 *   npm run bench -- train-kernels
 */
import type * as tfc from '@tensorflow/tfjs-core';
import { loadTf, type Tf } from '../lib/train/backend.ts';
import { buildTargets, ssdLossTf } from '../lib/train/loss.ts';
import { fmt, measure as measureWall, type Timing } from './measure.ts';

/** measure() plus the process CPU time per call (both backends run single-threaded here; on a loaded machine the
 *  CPU time is the steadier number). */
function measure(fn: () => unknown, o: { runs: number; warmup: number }): Timing & { cpuMs: number } {
  const c0 = process.cpuUsage();
  const t = measureWall(fn, o);
  const c = process.cpuUsage(c0);
  return { ...t, cpuMs: +((c.user + c.system) / 1000 / (o.runs + o.warmup)).toFixed(3) };
}

type Net = { vars: tfc.Variable[]; loss: () => tfc.Scalar };

function mobilenetNet(tf: Tf, batch: number, size: number): Net {
  const v = (shape: number[]) => tf.variable(tf.randomNormal(shape, 0, 0.2));
  const w = {
    c0: v([3, 3, 3, 32]),
    d1: v([3, 3, 32, 1]),
    p1: v([1, 1, 32, 64]),
    d2: v([3, 3, 64, 1]),
    p2: v([1, 1, 64, 64]),
    d3: v([3, 3, 64, 1]),
    p3: v([1, 1, 64, 128]),
  };
  const x = tf.randomNormal([batch, size, size, 3]) as tfc.Tensor4D;
  const c = (t: tfc.Variable) => t as unknown as tfc.Tensor4D;
  return {
    vars: Object.values(w),
    loss: () => {
      let y = tf.relu6(tf.conv2d(x, c(w.c0), 2, 'same'));
      y = tf.relu6(tf.conv2d(tf.relu6(tf.depthwiseConv2d(y, c(w.d1), 1, 'same')), c(w.p1), 1, 'same'));
      y = tf.relu6(tf.conv2d(tf.relu6(tf.depthwiseConv2d(y, c(w.d2), 2, 'same')), c(w.p2), 1, 'same'));
      y = tf.relu6(tf.conv2d(tf.relu6(tf.depthwiseConv2d(y, c(w.d3), 2, 'same')), c(w.p3), 1, 'same'));
      return tf.mean(tf.square(y)) as tfc.Scalar;
    },
  };
}

function vggNet(tf: Tf, batch: number, size: number): Net {
  const v = (shape: number[]) => tf.variable(tf.randomNormal(shape, 0, 0.1));
  const w = { a: v([3, 3, 3, 16]), b: v([3, 3, 16, 32]), c: v([3, 3, 32, 64]), d: v([3, 3, 64, 64]) };
  const x = tf.randomNormal([batch, size, size, 3]) as tfc.Tensor4D;
  const c = (t: tfc.Variable) => t as unknown as tfc.Tensor4D;
  return {
    vars: Object.values(w),
    loss: () => {
      let y = tf.maxPool(tf.relu(tf.conv2d(x, c(w.a), 1, 'same')), 2, 2, 'valid');
      y = tf.maxPool(tf.relu(tf.conv2d(y, c(w.b), 1, 'same')), 2, 2, 'valid');
      y = tf.relu(tf.conv2d(y, c(w.c), 1, 'same'));
      y = tf.maxPool(tf.relu(tf.conv2d(y, c(w.d), 1, 'same')), 3, 1, 'same');
      return tf.mean(tf.square(y)) as tfc.Scalar;
    },
  };
}

function stepTiming(tf: Tf, make: () => Net, runs: number): Timing & { cpuMs: number } {
  const net = make();
  const opt = tf.train.sgd(1e-4);
  const t = measure(
    () => {
      const cost = opt.minimize(net.loss, true, net.vars);
      cost?.dataSync();
      cost?.dispose();
    },
    { runs, warmup: 2 },
  );
  opt.dispose();
  tf.dispose(net.vars);
  return t;
}

function kernelTiming(
  tf: Tf,
  name: string,
  inputs: Record<string, tfc.Tensor>,
  attrs: object,
  runs: number,
): Timing & { cpuMs: number } {
  return measure(
    () => {
      const out = tf.engine().runKernel(name, inputs, attrs as never) as tfc.Tensor;
      out.dataSync();
      out.dispose();
    },
    { runs, warmup: 1 },
  );
}

export async function benchTrainKernels() {
  const { tf } = await loadTf('wasm');
  await import('@tensorflow/tfjs-backend-cpu');
  tf.enableProdMode();
  const results: Record<string, { wasm: Timing; cpu: Timing; cpuOverWasm: number; cpuOverWasmCpuTime: number }> = {};
  const both = async (what: string, fn: (backend: string) => Timing & { cpuMs: number }) => {
    const r: Record<string, Timing & { cpuMs: number }> = {};
    for (const b of ['wasm', 'cpu']) {
      await tf.setBackend(b);
      r[b] = fn(b);
    }
    results[what] = {
      wasm: r.wasm,
      cpu: r.cpu,
      cpuOverWasm: +(r.cpu.median / r.wasm.median).toFixed(2),
      cpuOverWasmCpuTime: +(r.cpu.cpuMs / r.wasm.cpuMs).toFixed(2),
    };
    console.log(
      `${what.padEnd(58)} wasm ${fmt(r.wasm.median).padStart(10)}  cpu ${fmt(r.cpu.median).padStart(10)}  cpu/wasm ${results[what].cpuOverWasm}× (CPU time: wasm ${fmt(r.wasm.cpuMs)}, cpu ${fmt(r.cpu.cpuMs)}, ${results[what].cpuOverWasmCpuTime}×)`,
    );
  };
  await both('step: MobileNetV1-type net, batch 2, 48×48', (b) =>
    stepTiming(tf, () => mobilenetNet(tf, 2, 48), b === 'cpu' ? 3 : 15),
  );
  await both('step: VGG16-type net, batch 1, 48×48', (b) =>
    stepTiming(tf, () => vggNet(tf, 1, 48), b === 'cpu' ? 3 : 15),
  );

  const x = tf.randomNormal([1, 19, 19, 64]);
  const dy = tf.randomNormal([1, 19, 19, 64]);
  const dwFilter = tf.randomNormal([3, 3, 64, 1]);
  const same = { strides: 1, pad: 'same', dilations: 1, dimRoundingMode: undefined };
  await both('Conv2DBackpropFilter 19×19×64 → 3×3×64×64', (b) =>
    kernelTiming(
      tf,
      'Conv2DBackpropFilter',
      { x, dy },
      { ...same, dataFormat: 'NHWC', filterShape: [3, 3, 64, 64] },
      b === 'cpu' ? 3 : 20,
    ),
  );
  await both('DepthwiseConv2dNativeBackpropFilter 19×19×64, 3×3', (b) =>
    kernelTiming(
      tf,
      'DepthwiseConv2dNativeBackpropFilter',
      { x, dy },
      { ...same, filterShape: [3, 3, 64, 1] },
      b === 'cpu' ? 5 : 30,
    ),
  );
  await both('DepthwiseConv2dNativeBackpropInput 19×19×64, 3×3', (b) =>
    kernelTiming(
      tf,
      'DepthwiseConv2dNativeBackpropInput',
      { dy, filter: dwFilter },
      { ...same, inputShape: [1, 19, 19, 64] },
      b === 'cpu' ? 5 : 30,
    ),
  );
  tf.dispose([x, dy, dwFilter]);

  // The SSD loss and its gradient w.r.t. the head outputs: 8732 anchors, 21 classes, batch 8, 3 objects per image.
  const n = 8732;
  const anchors = new Float32Array(4 * n);
  for (let i = 0; i < n; i++) {
    const cx = ((i * 37) % 300) + 0.5;
    const cy = ((i * 91) % 300) + 0.5;
    const s = 20 + (i % 7) * 30;
    anchors.set([cx - s / 2, cy - s / 2, cx + s / 2, cy + s / 2], 4 * i);
  }
  const targets = Array.from({ length: 8 }, (_, b) =>
    buildTargets(
      anchors,
      Float32Array.from([10 + b, 20, 120, 160, 150, 40 + b, 290, 200, 60, 180, 140, 290]),
      Int32Array.from([1, 7, 15]),
      n,
    ),
  );
  const box = tf.randomNormal([8, n, 4]);
  const cls = tf.randomNormal([8, n, 21]);
  await both('ssdLossTf + gradient, 8 × 8732 anchors × 21 classes', (b) =>
    measure(
      () => {
        const g = tf.grads(
          (bx, cl) =>
            ssdLossTf(tf, { boxRegression: bx as tfc.Tensor3D, classLogits: cl as tfc.Tensor3D }, targets).total,
        )([box, cls]);
        g[0].dataSync();
        tf.dispose(g);
      },
      { runs: b === 'cpu' ? 3 : 15, warmup: 2 },
    ),
  );
  tf.dispose([box, cls]);
  return {
    note: 'wasm = tfjs-backend-wasm 4.22 (SIMD, no threads in Node) with lib/train/kernels; cpu = tfjs-backend-cpu',
    results,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) await benchTrainKernels();
