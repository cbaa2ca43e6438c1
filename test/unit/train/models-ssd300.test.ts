/**
 * Trainable tfjs SSD300-VGG16 (lib/train/models) against ONNX Runtime on the builder's graph:
 * - a small generated model (generateSsd300: the paper's topology, channels ÷ 16, random weights): forward parity,
 *   the cut for each freeze, export → Detector parity after perturbation, a new class set, gradients of every
 *   variable (finite, also where L2Norm sees all-zero locations; the L2Norm scale's gradient against a central
 *   difference);
 * - the real torchvision SSD300 export when it is cached (made by scripts/export-torchvision-ssd.py, not in git):
 *   forward parity and a bit-identical export.
 * tfjs runs on the wasm backend with trcore's gradient kernels (loadTf('wasm')).
 */
import test from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import type * as tfc from '@tensorflow/tfjs-core';
import { Detector } from '../../../lib/detector/detector.ts';
import { forward as ortForward, prepare } from '../../../lib/detector/stages.ts';
import { torchvisionWeightsFromOnnx } from '../../../lib/model/builder/ssd300-vgg16.ts';
import { importTorchvisionSsd } from '../../../lib/model/importers/torchvision.ts';
import { readModelSpec } from '../../../lib/model/metadata.ts';
import { readOnnx, writeOnnx } from '../../../lib/model/onnx.ts';
import { cacheRoot } from '../../../lib/model/zoo.ts';
import { decodeBoxes } from '../../../lib/ops/box-coder.ts';
import { loadTf, type Tf } from '../../../lib/train/backend.ts';
import {
  exportOnnx,
  generateSsd300,
  loadTrainable,
  type Freeze,
  type HeadOutputs,
  type TrainableSsd,
} from '../../../lib/train/models/index.ts';
import { diffOfRange } from '../../helpers/compare.ts';
import { fixturesDir } from '../../helpers/fixtures.ts';
import { mulberry32 } from '../../helpers/random.ts';

const PHOTO = path.join(fixturesDir, 'images', 'astronaut.png');
const LABELS = ['background', 'square', 'circle'];
const N = 8732;
const FREEZES: Freeze[] = ['extras', 'backbone', 'none'];
const TV_EXPORT = path.join(cacheRoot(), 'torchvision', 'ssd300_vgg16_tamed.onnx');

interface Setup {
  tf: Tf;
  bytes: Uint8Array;
  model: TrainableSsd;
  /** [2, 3, 300, 300]: the photo as prepare() gives it (torchvision normalization), then noise in ±128. */
  input: Float32Array;
  ref: { box: Float32Array; cls: Float32Array };
}

let setup: Promise<Setup> | undefined;
const shared = () =>
  (setup ??= (async () => {
    const { tf } = await loadTf('wasm');
    const bytes = generateSsd300({ labels: LABELS, seed: 7 });
    const model = await loadTrainable(tf, bytes);
    const photo = await prepare([PHOTO], readModelSpec(readOnnx(bytes)).input);
    const n = 3 * 300 * 300;
    const rng = mulberry32(5);
    const input = new Float32Array(2 * n);
    input.set(photo.input.data.subarray(0, n));
    for (let i = n; i < 2 * n; i++) input[i] = rng() * 256 - 128;
    const ref = await runOrt(bytes, input, 2);
    return { tf, bytes, model, input, ref };
  })());

async function runOrt(bytes: Uint8Array, input: Float32Array, batch: number) {
  const session = await ort.InferenceSession.create(bytes);
  const out = await session.run({ images: new ort.Tensor('float32', input, [batch, 3, 300, 300]) });
  await session.release();
  return { box: out.bbox_regression.data as Float32Array, cls: out.cls_logits.data as Float32Array };
}

function heads(out: HeadOutputs) {
  const r = { box: out.boxRegression.dataSync() as Float32Array, cls: out.classLogits.dataSync() as Float32Array };
  out.boxRegression.dispose();
  out.classLogits.dispose();
  return r;
}

const tensor4d = (tf: Tf, data: Float32Array, dims: readonly number[]) =>
  tf.tensor4d(data, dims as [number, number, number, number]);

test.after.always(async () => {
  if (setup) (await setup).model.dispose();
});

test('generateSsd300: the paper’s topology with narrow channels, deterministic per seed, a valid detector model', async (t) => {
  const { bytes, model } = await shared();
  t.deepEqual(generateSsd300({ labels: LABELS, seed: 7 }), bytes);
  t.notDeepEqual(generateSsd300({ labels: LABELS, seed: 8 }), bytes);
  t.true(bytes.byteLength < 1e6, `${bytes.byteLength} bytes`);
  const onnx = readOnnx(bytes);
  const spec = readModelSpec(onnx);
  t.is(spec.architecture, 'ssd300-vgg16');
  t.deepEqual(spec.labels, LABELS);
  const w = torchvisionWeightsFromOnnx(onnx);
  t.deepEqual(w['backbone.features.0.weight'].dims, [4, 3, 3, 3]);
  t.deepEqual(w['backbone.extra.0.7.1.weight'].dims, [64, 32, 3, 3]);
  t.deepEqual(w['head.classification_head.module_list.1.weight'].dims, [6 * 3, 64, 3, 3]);
  // the trainable model's weights are the file's, in torchvision names and layouts (scale_weight back to [C])
  const mine = model.getWeights();
  t.is(Object.keys(mine).length, 71);
  for (const [name, e] of Object.entries(mine)) {
    const ref = name === 'backbone.scale_weight' ? { dims: [32], data: w[name].data } : w[name];
    t.deepEqual(e.shape, ref.dims, name);
    t.deepEqual(e.data, ref.data, name);
  }
  t.is(model.numAnchors, N);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssd-edge-trmodel-'));
  try {
    fs.writeFileSync(path.join(dir, 'gen.onnx'), bytes);
    const detector = await Detector.load(path.join(dir, 'gen.onnx'));
    t.true(Array.isArray(await detector.detect(PHOTO)));
    await detector.dispose();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  t.throws(() => generateSsd300({ channelDivisor: 3 }), { instanceOf: TypeError, message: /options\.channelDivisor/ });
  t.throws(() => generateSsd300({ labels: ['only'] }), { instanceOf: TypeError, message: /options\.labels/ });
  t.throws(() => generateSsd300({ sed: 1 } as object), { instanceOf: TypeError, message: /sed/ });
});

test('generated SSD300: tfjs forward = ONNX Runtime within 1e-4 of the range (a photo and noise, batch 2)', async (t) => {
  const { tf, model, input, ref } = await shared();
  const x = tensor4d(tf, input, [2, 3, 300, 300]);
  const out = model.forward(x);
  t.deepEqual(out.boxRegression.shape, [2, N, 4]);
  t.deepEqual(out.classLogits.shape, [2, N, 3]);
  const got = heads(out);
  x.dispose();
  for (const [k, a, b] of [
    ['bbox_regression', got.box, ref.box],
    ['cls_logits', got.cls, ref.cls],
  ] as const) {
    const d = diffOfRange(a, b);
    t.log(`${k}: max abs ${d.maxAbs.toExponential(2)}, range ${d.range.toFixed(2)}, rel ${d.rel.toExponential(2)}`);
    t.true(d.rel <= 1e-4, `${k} rel ${d.rel}`);
    t.true(d.range > 1);
  }
});

test('generated SSD300 cut: ORT on frozenPartOnnx(freeze) → forwardFrom equals forward within 1e-4, for each freeze', async (t) => {
  const { tf, model, input, ref } = await shared();
  t.deepEqual(model.cutPoints('backbone'), ['backbone.l2norm', 'backbone.extra.0.7.3/relu']);
  t.deepEqual(model.cutPoints('extras'), [
    'backbone.l2norm',
    'backbone.extra.0.7.3/relu',
    'backbone.extra.1.2/relu',
    'backbone.extra.2.2/relu',
    'backbone.extra.3.2/relu',
    'backbone.extra.4.2/relu',
  ]);
  t.deepEqual(model.cutPoints('none'), ['images']);
  for (const freeze of FREEZES) {
    const bytes = model.frozenPartOnnx(freeze);
    const graph = readOnnx(bytes).graph;
    const inits = (graph.initializer ?? []).map((i) => i.name ?? '');
    t.false(
      inits.some((n) => n.startsWith('head.')),
      freeze,
    );
    if (freeze === 'backbone') t.false(inits.some((n) => /^backbone\.extra\.[1-4]\./.test(n)));
    const session = await ort.InferenceSession.create(bytes);
    const out = await session.run({ images: new ort.Tensor('float32', input, [2, 3, 300, 300]) });
    await session.release();
    const cut = model.cutPoints(freeze).map((n) => tensor4d(tf, out[n].data as Float32Array, out[n].dims));
    if (freeze === 'extras')
      t.deepEqual(
        cut.map((c) => c.shape[2]),
        [38, 19, 10, 5, 3, 1],
      );
    const got = heads(model.forwardFrom(freeze, cut));
    tf.dispose(cut);
    const db = diffOfRange(got.box, ref.box);
    const dc = diffOfRange(got.cls, ref.cls);
    t.log(`${freeze}: box rel ${db.rel.toExponential(2)}, cls rel ${dc.rel.toExponential(2)}`);
    t.true(db.rel <= 1e-4 && dc.rel <= 1e-4, freeze);
  }
});

test('generated SSD300 export after perturbation: Detector gives the tfjs scores and boxes before NMS', async (t) => {
  const { tf, bytes, ref } = await shared();
  const model = await loadTrainable(tf, bytes, { classes: ['a', 'b', 'c'], seed: 2 });
  const rng = mulberry32(9);
  const w = model.getWeights();
  for (const name of [
    'backbone.features.7.weight',
    'backbone.scale_weight',
    'backbone.extra.2.2.bias',
    'head.regression_head.module_list.0.weight',
  ]) {
    const e = w[name];
    const scale = Math.sqrt(e.data.reduce((s, v) => s + v * v, 0) / e.data.length);
    for (let i = 0; i < e.data.length; i++) e.data[i] += (rng() - 0.5) * 0.3 * scale;
  }
  model.setWeights(w);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssd-edge-trmodel-'));
  const file = path.join(dir, 'perturbed.onnx');
  fs.writeFileSync(file, exportOnnx(model));
  const detector = await Detector.load(file);
  try {
    t.deepEqual(detector.labels, ['background', 'a', 'b', 'c']);
    const prepared = await prepare([PHOTO], detector.spec.input);
    const viaOrt = await ortForward(detector.session, detector.spec, prepared.input);
    const x = tensor4d(tf, prepared.input.data, prepared.input.dims);
    const got = heads(model.forward(x));
    x.dispose();
    t.true(diffOfRange(got.box, ref.box.subarray(0, got.box.length)).maxAbs > 0.05, 'not the base passing through');
    const { width, height } = prepared.sizes[0];
    const coder = { ...detector.spec.postprocess.boxCoder, anchorFormat: 'cxcywh' as const };
    const px = (d: Float32Array) =>
      decodeBoxes(d, detector.anchors as Float32Array, coder).map((v, i) => v * (i % 2 ? height : width)); // stretch
    const softmax = (l: Float32Array) => {
      const s = new Float32Array(l.length);
      for (let i = 0; i < l.length; i += 4) {
        const m = Math.max(l[i], l[i + 1], l[i + 2], l[i + 3]);
        let sum = 0;
        for (let k = 0; k < 4; k++) sum += Math.exp(l[i + k] - m);
        for (let k = 0; k < 4; k++) s[i + k] = Math.exp(l[i + k] - m) / sum;
      }
      return s;
    };
    const dBox = diffOfRange(px(got.box), px(viaOrt.boxes));
    const dScore = diffOfRange(softmax(got.cls), softmax(viaOrt.scores));
    t.log(`before NMS: boxes max ${dBox.maxAbs.toExponential(2)} px, scores max ${dScore.maxAbs.toExponential(2)}`);
    t.true(dBox.maxAbs <= 1e-3, `boxes ${dBox.maxAbs} px`);
    t.true(dScore.maxAbs <= 1e-4, `scores ${dScore.maxAbs}`);
  } finally {
    await detector.dispose();
    model.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('generated SSD300 with a new class set: 3×3 class heads of A·(c+1) channels, box head kept', async (t) => {
  const { tf, bytes, model: base } = await shared();
  const m = await loadTrainable(tf, bytes, { classes: ['x'], seed: 1 });
  try {
    const [w, w0] = [m.getWeights(), base.getWeights()];
    [4, 6, 6, 6, 4, 4].forEach((a, l) => {
      const cls = w[`head.classification_head.module_list.${l}.weight`];
      t.is(cls.shape[0], a * 2);
      t.deepEqual(cls.shape.slice(2), [3, 3]);
      t.deepEqual(
        w[`head.regression_head.module_list.${l}.weight`],
        w0[`head.regression_head.module_list.${l}.weight`],
      );
    });
    t.is(m.spec.postprocess.scoring, 'softmax');
    t.is(m.numClasses, 2);
  } finally {
    m.dispose();
  }
});

test('generated SSD300: every trainable variable gets a finite gradient, also with all-zero L2Norm inputs; the scale’s gradient matches a central difference', async (t) => {
  const { tf, bytes } = await shared();
  const m = await loadTrainable(tf, bytes, { seed: 3 });
  try {
    t.is(m.trainableVariables('extras').length, 24);
    t.is(m.trainableVariables('backbone').length, 40);
    t.is(m.trainableVariables('none').length, 71);
    const rng = mulberry32(4);
    const x = tensor4d(
      tf,
      Float32Array.from({ length: 3 * 300 * 300 }, () => rng() * 256 - 128),
      [1, 3, 300, 300],
    );
    const cBox = tf.randomUniform([1, N, 4], -1, 1, 'float32', 1);
    const cCls = tf.randomUniform([1, N, 3], -1, 1, 'float32', 2);
    const loss = () => {
      const y = m.forward(x, true);
      return tf.add(tf.sum(tf.mul(y.boxRegression, cBox)), tf.sum(tf.mul(y.classLogits, cCls))) as tfc.Scalar;
    };
    const check = (what: string) => {
      const vars = m.trainableVariables('none');
      const { value, grads } = tf.variableGrads(loss, vars);
      t.true(Number.isFinite(value.dataSync()[0]), what);
      const bad = Object.entries(grads).filter(([, g]) => !g.dataSync().every(Number.isFinite));
      t.deepEqual(
        bad.map(([k]) => k),
        [],
        `${what}: non-finite gradients`,
      );
      const zero = Object.values(grads).filter((g) => g.dataSync().every((v) => v === 0)).length;
      const out = { value: value.dataSync()[0], grads, zero };
      value.dispose();
      return out;
    };
    const normal = check('random input');
    t.is(normal.zero, 0, 'every variable has a non-zero gradient');

    // central difference along a random direction of backbone.scale_weight: the loss is linear in the scale
    const w = m.getWeights();
    const scale = w['backbone.scale_weight'];
    const dir = Float32Array.from(scale.data, () => rng() - 0.5);
    const scaleVar = m.trainableVariables('none')[m.trainableVariableNames('none').indexOf('backbone.scale_weight')];
    const g = normal.grads[scaleVar.name].dataSync() as Float32Array;
    const analytic = g.reduce((s, v, i) => s + v * dir[i], 0);
    const eps = 0.5;
    const at = (sign: number) => {
      m.setWeights({
        ...w,
        'backbone.scale_weight': { shape: scale.shape, data: scale.data.map((v, i) => v + sign * eps * dir[i]) },
      });
      const l = tf.tidy(() => loss().dataSync()[0]);
      return l;
    };
    const numeric = (at(1) - at(-1)) / (2 * eps);
    m.setWeights(w);
    t.log(`scale gradient · direction: analytic ${analytic.toFixed(4)}, central difference ${numeric.toFixed(4)}`);
    t.true(Math.abs(analytic - numeric) <= 1e-3 * Math.max(1, Math.abs(numeric)), `${analytic} vs ${numeric}`);
    tf.dispose(Object.values(normal.grads));

    // conv4_3 dead everywhere (bias −1e4 under the ReLU): ‖x‖ = 0 at every location, L2Norm's clamp must keep
    // the gradient finite (√ of a sum of squares has an infinite derivative at 0)
    const b = w['backbone.features.21.bias'];
    m.setWeights({ ...w, 'backbone.features.21.bias': { shape: b.shape, data: b.data.map(() => -1e4) } });
    const dead = check('all-zero conv4_3');
    tf.dispose(Object.values(dead.grads));
    tf.dispose([x, cBox, cCls]);
  } finally {
    m.dispose();
  }
});

const haveTv = fs.existsSync(TV_EXPORT);
if (!haveTv)
  console.warn(`models-ssd300: ${TV_EXPORT} missing — make it with /usr/bin/python3 scripts/export-torchvision-ssd.py`);
(haveTv ? test : test.skip)(
  'torchvision SSD300-VGG16 export: tfjs forward = ONNX Runtime within 1e-4; the export is bit-identical in ORT',
  async (t) => {
    const { tf } = await shared();
    const bytes = writeOnnx(importTorchvisionSsd(readOnnx(fs.readFileSync(TV_EXPORT))).model);
    const model = await loadTrainable(tf, bytes);
    try {
      t.is(model.numClasses, 21);
      const rng = mulberry32(21);
      const input = Float32Array.from({ length: 3 * 300 * 300 }, () => rng() * 256 - 128);
      const ref = await runOrt(bytes, input, 1);
      const x = tensor4d(tf, input, [1, 3, 300, 300]);
      const got = heads(model.forward(x));
      x.dispose();
      for (const [k, a, b] of [
        ['bbox_regression', got.box, ref.box],
        ['cls_logits', got.cls, ref.cls],
      ] as const) {
        const d = diffOfRange(a, b);
        t.log(`${k}: max abs ${d.maxAbs.toExponential(2)}, range ${d.range.toFixed(2)}, rel ${d.rel.toExponential(2)}`);
        t.true(d.rel <= 1e-4, `${k} rel ${d.rel}`);
      }
      const exported = await runOrt(exportOnnx(model), input, 1);
      t.deepEqual(exported.box, ref.box);
      t.deepEqual(exported.cls, ref.cls);
    } finally {
      model.dispose();
    }
  },
);
