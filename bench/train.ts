/**
 * Fine-tuning speed (issue 8, "Benchmarks"): one optimizer step (forward, SSD loss, gradients, Adam update) of the
 * default face model (SSD-MobileNetV1, 512×512) with a new one-class head —
 *   - heads on cached features (the fast path, `freeze: 'extras'`): the step starts from the 6 cut tensors;
 *   - full fine-tuning (`freeze: 'none'`): the step starts from the input image tensor, every layer trained;
 * on the tfjs wasm backend and on the pure-JS cpu backend (baseline, same process); plus the fast path's frozen part
 * (ONNX Runtime, per image) that fills the feature cache. Medians of repeated steps; images/s = batch / median.
 * Then, each in its own process (so its peak RSS is its own): the demonstration (48 generated images, 10 epochs, the
 * test/e2e/train-demo.test.ts setting) — wall time until validation AP50 first reaches 0.8, the final AP50, peak RSS —
 * and the fast path at batch 8 under the default 1024 MB budget.
 *
 * `npm run bench -- train`; `node --import=tsx bench/train.ts [frozen-part|wasm-heads|wasm-full|wasm-extras-heads|
 * cpu-heads|cpu-full|demo]` runs one part alone. Slow: the cpu backend takes minutes per step (one step is measured
 * there, each under a time limit; one that runs past it is reported as null).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeNewObjectDataset } from '../examples/new-object-data.ts';
import { ensureDefaultModel } from '../lib/model/zoo.ts';
import { Session } from '../lib/runtime/session.ts';
import { loadTf, type Tf } from '../lib/train/backend.ts';
import { buildTargets, ssdLossTf } from '../lib/train/loss.ts';
import { loadTrainable, type Freeze, type TrainableSsd } from '../lib/train/models/index.ts';
import { Optimizer } from '../lib/train/optim.ts';
import { train } from '../lib/train/train.ts';
import { summarize, type Timing } from './measure.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');

/** One optimizer step on fixed inputs: forward from `cut`, loss, gradients, Adam update. */
function step(
  tf: Tf,
  model: TrainableSsd,
  freeze: Freeze,
  cut: ReturnType<Tf['tensor4d']>[],
  targets: ReturnType<typeof buildTargets>[],
  opt: Optimizer,
) {
  const vars = model.trainableVariables(freeze);
  const { value, grads } = tf.variableGrads(
    () => ssdLossTf(tf, model.forwardFrom(freeze, cut, true), targets).total,
    vars,
  );
  opt.apply(grads as never, 1e-3);
  value.dataSync();
  tf.dispose([value, ...Object.values(grads)]);
}

async function timeSteps(
  backend: 'wasm' | 'cpu',
  freeze: Freeze,
  batch: number,
  runs: number,
  warmup: number,
): Promise<Timing & { cpuMs: number; batch: number; imagesPerSecond: number; loadavg: number }> {
  const { tf } = await loadTf(backend);
  const model = await loadTrainable(tf, await ensureDefaultModel(), { classes: ['sign'] });
  const N = model.anchors.length / 4;
  const { width: W, height: H } = model.spec.input;
  // the cut tensors as the frozen part gives them (ONNX Runtime on a random image), or the input itself
  let cutData: Array<{ data: Float32Array; dims: number[] }>;
  const input = Float32Array.from({ length: 3 * W * H }, (_, i) => ((i * 2654435761) % 1000) / 500 - 1);
  if (freeze === 'none') cutData = [{ data: input, dims: [1, 3, H, W] }];
  else {
    const s = await Session.create(model.frozenPartOnnx(freeze), { device: 'cpu' });
    const out = await s.run({ [model.spec.input.name]: { data: input, dims: [1, 3, H, W] } });
    cutData = model
      .cutPoints(freeze)
      .map((n) => ({ data: out[n].data as Float32Array, dims: out[n].dims.map(Number) }));
    await s.dispose();
  }
  const cut = cutData.map(({ data, dims }) => {
    const buf = new Float32Array(data.length * batch);
    for (let b = 0; b < batch; b++) buf.set(data, b * data.length);
    return tf.tensor4d(buf, [batch, dims[1], dims[2], dims[3]]);
  });
  const gt = Float32Array.from([0.2, 0.3, 0.45, 0.6, 0.6, 0.1, 0.9, 0.5]);
  const targets = Array.from({ length: batch }, () =>
    buildTargets(model.anchors, gt, Int32Array.from([1, 1]), N, {
      anchorFormat: 'cxcywh',
      boxCoder: model.spec.postprocess.boxCoder,
    }),
  );
  const opt = new Optimizer(tf, model.trainableVariables(freeze), { optimizer: 'adam' });
  for (let i = 0; i < warmup; i++) step(tf, model, freeze, cut, targets, opt);
  const t: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    step(tf, model, freeze, cut, targets, opt);
    const c = process.cpuUsage(c0);
    t.push(performance.now() - t0);
    cpu.push((c.user + c.system) / 1000);
  }
  opt.dispose();
  tf.dispose(cut);
  model.dispose();
  const s = summarize(t);
  // the process's CPU time per step (tfjs runs on one thread): on a shared machine it says more than the wall time
  return {
    ...s,
    cpuMs: summarize(cpu).median,
    batch,
    imagesPerSecond: batch / (s.median / 1000),
    loadavg: os.loadavg()[0],
  };
}

/** The frozen part (ONNX Runtime, one image): what computing one cache entry costs, besides decoding and augmenting. */
async function timeFrozenPart(): Promise<Timing & { cpuMs: number; loadavg: number }> {
  const { tf } = await loadTf('wasm');
  const model = await loadTrainable(tf, await ensureDefaultModel(), { classes: ['sign'] });
  const { width: W, height: H } = model.spec.input;
  const s = await Session.create(model.frozenPartOnnx('extras'), { device: 'cpu' });
  const feeds = { [model.spec.input.name]: { data: new Float32Array(3 * W * H).fill(0.5), dims: [1, 3, H, W] } };
  for (let i = 0; i < 3; i++) await s.run(feeds);
  const t: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < 15; i++) {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    await s.run(feeds);
    const c = process.cpuUsage(c0);
    t.push(performance.now() - t0);
    cpu.push((c.user + c.system) / 1000);
  }
  await s.dispose();
  model.dispose();
  return { ...summarize(t), cpuMs: summarize(cpu).median, loadavg: os.loadavg()[0] };
}

/** The demonstration's training, in this process (run as a child by benchTrain for its own peak RSS). */
async function demo(): Promise<Record<string, unknown>> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssd-edge-bench-train-'));
  try {
    const photos = ['images/astronaut.png', 'caffe/chelsea-320x240.png', 'caffe/coffee-320x240.png'].map((f) =>
      path.join(root, 'test/fixtures', f),
    );
    const set = await makeNewObjectDataset(path.join(dir, 'signs'), { photos, train: 48, val: 16, seed: 1 });
    const t0 = performance.now();
    let toAp: number | null = null;
    const r = await train({
      data: set.train,
      val: set.val,
      classes: ['sign'],
      epochs: 10,
      batch: 8,
      lr: 5e-3,
      seed: 0,
      out: path.join(dir, 'sign.onnx'),
      onEpoch: (e) => {
        if (toAp === null && (e.ap50 ?? 0) >= 0.8) toAp = (performance.now() - t0) / 1000;
      },
    });
    return {
      secondsToAp50_0_8: toAp,
      seconds: r.seconds,
      finalAp50: r.validation?.ap50,
      bestEpoch: r.bestEpoch,
      apPerEpoch: r.history.map((e) => e.ap50),
      secondsPerEpoch: r.history.map((e) => e.seconds),
      peakRssMB: r.peakRssMB,
      loadavg: os.loadavg()[0],
      cache: r.cache,
      backend: r.backend,
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs `bench/train.ts <what>` in its own process; null when it runs past `timeoutMs`. */
function child(what: string, timeoutMs = 30 * 60_000): unknown {
  const r = spawnSync(process.execPath, ['--import=tsx', fileURLToPath(import.meta.url), what], {
    cwd: root,
    encoding: 'utf8',
    maxBuffer: 1 << 26,
    timeout: timeoutMs,
  });
  if (r.signal === 'SIGTERM') return null;
  if (r.status !== 0) throw new Error(`bench/train.ts ${what} failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

const STEPS: Record<string, () => Promise<unknown>> = {
  'frozen-part': () => timeFrozenPart(),
  'wasm-heads': () => timeSteps('wasm', 'extras', 8, 7, 2),
  'wasm-full': () => timeSteps('wasm', 'none', 2, 3, 1),
  'wasm-extras-heads': () => timeSteps('wasm', 'backbone', 8, 3, 1),
  'cpu-heads': () => timeSteps('cpu', 'extras', 8, 1, 0),
  'cpu-full': () => timeSteps('cpu', 'none', 1, 1, 0),
};
/** Time limits of the measurements that may not finish on the pure-JS cpu backend (reported as null then). */
const LIMIT_MS: Record<string, number> = { 'cpu-heads': 10 * 60_000, 'cpu-full': 5 * 60_000 };

/** Everything (bench/run.ts): each measurement in its own process (one backend per process, its own peak RSS). */
export async function benchTrain(): Promise<Record<string, unknown>> {
  const steps: Record<string, unknown> = {};
  const run = (name: string) => {
    steps[name] = child(name, LIMIT_MS[name] ?? 30 * 60_000);
    const v = steps[name] as { median: number; batch?: number; imagesPerSecond?: number } | null;
    console.log(
      v === null
        ? `${name}: did not finish in ${(LIMIT_MS[name] ?? 0) / 60_000} min`
        : `${name}: ${v.median.toFixed(0)} ms${v.batch ? ` per step of ${v.batch}, ${v.imagesPerSecond!.toFixed(2)} images/s` : ' per image'}`,
    );
  };
  for (const name of ['frozen-part', 'wasm-heads', 'wasm-full']) run(name);
  const demoResult = child('demo') as Record<string, unknown>;
  console.log(
    `demo: AP50 ≥ 0.8 after ${demoResult.secondsToAp50_0_8} s, final AP50 ${demoResult.finalAp50}, ${demoResult.seconds} s, peak RSS ${demoResult.peakRssMB} MB`,
  );
  for (const name of ['wasm-extras-heads', 'cpu-heads', 'cpu-full']) run(name);
  return { steps, demo: demoResult };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const what = process.argv[2];
  const result = what === 'demo' ? await demo() : what && STEPS[what] ? await STEPS[what]() : await benchTrain();
  console.log(JSON.stringify(result));
}
