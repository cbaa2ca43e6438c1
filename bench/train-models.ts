/**
 * The trainable tfjs SSD models (lib/train/models), measured in one run on one backend:
 * - forward of the default face model (SSD-MobileNetV1 512×512, batch 1): tfjs vs ONNX Runtime on the same weights;
 * - the fast path at batch 8: ONNX Runtime on frozenPartOnnx(freeze) image by image (the features a per-image cache
 *   would hold), then one tfjs training step from them (forwardFrom + ssdLossTf + gradients + an SGD update), for
 *   freeze 'extras' (heads) and 'backbone' (extras + heads); the new class head of one class;
 * - a full fine-tuning step (freeze 'none') of the generated SSD300-VGG16 (channels ÷ 16) at batch 2, and the full
 *   face model's at batch 2;
 * - peak RSS of the fast path ('extras', batch 8: 8 images through ORT one by one, 5 tfjs steps) in a fresh child
 *   process (process.resourceUsage().maxRSS). ORT at batch 8 instead holds ~360 MB more in its activation arena.
 *
 *   node --import=tsx bench/train-models.ts [--backend wasm|cpu] [--runs N]   → bench/results/train-models[-cpu].json
 *
 * Medians of N runs (default 5) after one warm-up. The machine is shared: quote ratios measured in the same run.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureDefaultModel } from '../lib/model/zoo.ts';
import { Session } from '../lib/runtime/session.ts';
import { loadTf, type Tf, type TrainBackendName } from '../lib/train/backend.ts';
import { buildTargets, ssdLossTf, type ImageTargets } from '../lib/train/loss.ts';
import { generateSsd300, loadTrainable, type Freeze, type TrainableSsd } from '../lib/train/models/index.ts';
import { fmt, machine, summarize, type Timing } from './measure.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : def;
};
const BACKEND = arg('--backend', 'wasm') as TrainBackendName;
const RUNS = Number(arg('--runs', '5'));
const LR = 1e-3;

async function timeAsync(fn: () => Promise<unknown> | unknown, runs = RUNS): Promise<Timing> {
  await fn();
  const t: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    await fn();
    t.push(performance.now() - t0);
  }
  return summarize(t);
}

/** Random images (0..255 for the face model, ±128 for SSD300's mean-only normalization) and 1–3 boxes each. */
function batchOf(model: TrainableSsd, batch: number, seed: number) {
  const { height, width } = model.spec.input;
  let s = seed;
  const rand = () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
  const offset = model.architecture === 'ssd300-vgg16' ? -128 : 0;
  const input = Float32Array.from({ length: batch * 3 * height * width }, () => rand() * 255 + offset);
  const targets: ImageTargets[] = [];
  const order = model.spec.postprocess.boxCoder.order;
  for (let b = 0; b < batch; b++) {
    const n = 1 + Math.floor(rand() * 3);
    const boxes = new Float32Array(4 * n);
    for (let i = 0; i < n; i++) {
      const [x, y, w, h] = [rand() * 0.6, rand() * 0.6, 0.1 + rand() * 0.3, 0.1 + rand() * 0.3];
      boxes.set([x, y, x + w, y + h], 4 * i);
    }
    const labels = Int32Array.from({ length: n }, () => 1 + Math.floor(rand() * (model.numClasses - 1)));
    targets.push(
      buildTargets(model.anchors, boxes, labels, model.numAnchors, {
        anchorFormat: 'cxcywh',
        boxCoder: { ...model.spec.postprocess.boxCoder, order },
      }),
    );
  }
  return { input, targets, dims: [batch, 3, height, width] as [number, number, number, number] };
}

/** One SGD step on `vars` from the head outputs of `forward()`; returns the loss. */
function step(
  tf: Tf,
  model: TrainableSsd,
  freeze: Freeze,
  forward: () => ReturnType<TrainableSsd['forward']>,
  targets: ImageTargets[],
) {
  const vars = model.trainableVariables(freeze);
  const { value, grads } = tf.variableGrads(() => ssdLossTf(tf, forward(), targets).total, vars);
  tf.tidy(() => {
    for (const v of vars) v.assign(tf.sub(v, tf.mul(grads[v.name], LR)));
  });
  const loss = value.dataSync()[0];
  tf.dispose([value, ...Object.values(grads)]);
  return loss;
}

/**
 * Features of a batch from the frozen part, computed image by image (as a per-image feature cache fills) and
 * stacked into batch tensors: ONNX Runtime at batch 1 keeps its activation arena small.
 */
async function frozenFeatures(model: TrainableSsd, freeze: Freeze, input: Float32Array, dims: number[]) {
  const session = await Session.create(model.frozenPartOnnx(freeze), { device: 'cpu' });
  const [batch, ...image] = dims;
  const size = image.reduce((a, b) => a * b, 1);
  const runOne = async (b: number) => {
    const out = await session.run({
      [model.spec.input.name]: { data: input.subarray(b * size, (b + 1) * size), dims: [1, ...image] },
    });
    return model.cutPoints(freeze).map((n) => out[n] as { data: Float32Array; dims: readonly number[] });
  };
  const run = async () => {
    const parts: Array<Array<{ data: Float32Array; dims: readonly number[] }>> = [];
    for (let b = 0; b < batch; b++) parts.push(await runOne(b));
    return parts[0].map((first, k) => {
      const data = new Float32Array(first.data.length * batch);
      parts.forEach((p, b) => data.set(p[k].data, b * first.data.length));
      return { data, dims: [batch, ...first.dims.slice(1)] };
    });
  };
  return { session, run };
}

async function fastPath(tf: Tf, model: TrainableSsd, freeze: Freeze, batch: number, runs = RUNS) {
  const { input, targets, dims } = batchOf(model, batch, 1);
  const { session, run } = await frozenFeatures(model, freeze, input, dims);
  const ortTime = await timeAsync(run, runs);
  const feats = await run();
  const cut = feats.map((f) => tf.tensor4d(f.data, f.dims.map(Number) as [number, number, number, number]));
  const tfjsStep = await timeAsync(
    () => step(tf, model, freeze, () => model.forwardFrom(freeze, cut, true), targets),
    runs,
  );
  tf.dispose(cut);
  await session.dispose();
  return {
    batch,
    ortFeaturesPerImage: {
      ...ortTime,
      median: ortTime.median / batch,
      p10: ortTime.p10 / batch,
      p90: ortTime.p90 / batch,
    },
    tfjsStep,
    imagesPerSecond: (1000 * batch) / tfjsStep.median,
  };
}

async function fullStep(tf: Tf, model: TrainableSsd, batch: number, runs = RUNS) {
  const { input, targets, dims } = batchOf(model, batch, 2);
  const x = tf.tensor4d(input, dims);
  const t = await timeAsync(() => step(tf, model, 'none', () => model.forward(x, true), targets), runs);
  x.dispose();
  return { batch, tfjsStep: t, imagesPerSecond: (1000 * batch) / t.median };
}

if (process.argv.includes('--rss-child')) {
  // the fast path alone in a fresh process: load, cut, ORT features, 5 steps at batch 8
  const { tf } = await loadTf(BACKEND);
  const model = await loadTrainable(tf, await ensureDefaultModel(), { classes: ['object'] });
  await fastPath(tf, model, 'extras', 8, 4);
  console.log(JSON.stringify({ maxRssMB: process.resourceUsage().maxRSS / 1024, tensors: tf.memory().numTensors }));
  process.exit(0);
}

const { tf, backend } = await loadTf(BACKEND);
console.log(`backend ${backend}, ${RUNS} runs`);
const file = await ensureDefaultModel();
const face = await loadTrainable(tf, file, { classes: ['object'] });

const { input: one } = batchOf(face, 1, 3);
const x1 = tf.tensor4d(one, [1, 3, 512, 512]);
const faceTfjs = await timeAsync(() => {
  const y = face.forward(x1);
  y.classLogits.dataSync();
  tf.dispose([y.boxRegression, y.classLogits]);
});
x1.dispose();
const ortSession = await Session.create(file, { device: 'cpu' });
const faceOrt = await timeAsync(() => ortSession.run({ image: { data: one, dims: [1, 3, 512, 512] } }));
await ortSession.dispose();
console.log(`face forward: tfjs ${fmt(faceTfjs.median)}, ORT ${fmt(faceOrt.median)}`);

const fast: Record<string, unknown> = {};
for (const freeze of ['extras', 'backbone'] as const) {
  const r = await fastPath(tf, face, freeze, 8);
  fast[freeze] = r;
  console.log(
    `fast path '${freeze}' batch 8: ORT features ${fmt(r.ortFeaturesPerImage.median)}/image, tfjs step ${fmt(r.tfjsStep.median)} (${r.imagesPerSecond.toFixed(1)} img/s)`,
  );
}
const faceFull = await fullStep(tf, face, 2, 1); // one run after the warm-up: it is slow
console.log(`face full step batch 2: ${fmt(faceFull.tfjsStep.median)} (${faceFull.imagesPerSecond.toFixed(2)} img/s)`);
face.dispose();

const ssd = await loadTrainable(tf, generateSsd300({ labels: ['background', 'a', 'b'], seed: 1 }));
const ssdFull = await fullStep(tf, ssd, 2);
console.log(`generated SSD300 (÷16) full step batch 2: ${fmt(ssdFull.tfjsStep.median)}`);
ssd.dispose();

const child = spawnSync(
  process.execPath,
  ['--import=tsx', fileURLToPath(import.meta.url), '--rss-child', '--backend', BACKEND],
  { encoding: 'utf8', maxBuffer: 1 << 24 },
);
const line = child.stdout.trim().split('\n').pop() ?? '';
const rss = child.status === 0 ? (JSON.parse(line) as { maxRssMB: number }) : { error: child.stderr.slice(-500) };
console.log(`fast path 'extras' batch 8 peak RSS (fresh process): ${JSON.stringify(rss)}`);

const result = {
  date: new Date().toISOString(),
  machine: machine(),
  backend,
  runs: RUNS,
  results: {
    faceForwardBatch1: { tfjs: faceTfjs, ort: faceOrt, ratio: faceTfjs.median / faceOrt.median },
    fastPathBatch8: fast,
    faceFullStepBatch2: faceFull,
    generatedSsd300FullStepBatch2: ssdFull,
    fastPathPeakRss: rss,
  },
};
const out = path.join(here, 'results', `train-models${backend === 'wasm' ? '' : `-${backend}`}.json`);
fs.writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
console.log(`→ ${path.relative(process.cwd(), out)}`);
