/**
 * Trainable tfjs SSD-MobileNetV1 (lib/train/models) on the default face model, against ONNX Runtime on the model file
 * (an independent implementation of the same graph):
 * - tfjs forward = ORT forward within 1e-4 of the output range, on a photo prepared by the detector's own stage and
 *   on noise;
 * - the fast path's cut: ORT on frozenPartOnnx(freeze) → forwardFrom = forward, for each freeze;
 * - export: the unchanged base exports the default model's weights bit for bit; after random perturbations of
 *   backbone, extras and heads, Detector on the export gives the tfjs model's scores and boxes before NMS and the
 *   same detections;
 * - a new class set: head shapes, seeded Xavier init, box head kept, softmax spec;
 * - weights in and out, freeze groups and gradients, argument errors, dispose.
 * tfjs runs on the wasm backend (loadTf('wasm'); forward passes need no gradient kernel).
 */
import test from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { Detector } from '../../../lib/detector/detector.ts';
import { forward as ortForward, prepare } from '../../../lib/detector/stages.ts';
import { readModelSpec } from '../../../lib/model/metadata.ts';
import { readOnnx, tensorToArray } from '../../../lib/model/onnx.ts';
import { ensureDefaultModel } from '../../../lib/model/zoo.ts';
import { decodeBoxes } from '../../../lib/ops/box-coder.ts';
import { postprocessDetections } from '../../../lib/ops/postprocess.ts';
import { loadTf, type Tf } from '../../../lib/train/backend.ts';
import {
  exportOnnx,
  loadTrainable,
  TRAIN_EXPORT_CONVERTER,
  type Freeze,
  type TrainableSsd,
} from '../../../lib/train/models/index.ts';
import { diffOfRange } from '../../helpers/compare.ts';
import { fixturesDir } from '../../helpers/fixtures.ts';
import { mulberry32 } from '../../helpers/random.ts';

const PHOTO = path.join(fixturesDir, 'images', 'astronaut.png');
const FREEZES: Freeze[] = ['extras', 'backbone', 'none'];

interface Setup {
  tf: Tf;
  file: string;
  model: TrainableSsd;
  /** [2, 3, 512, 512]: the photo as prepare() gives it, then noise in 0..255. */
  input: Float32Array;
  /** ORT on the model file. */
  ref: { box: Float32Array; cls: Float32Array };
}

let setup: Promise<Setup> | undefined;
const shared = () =>
  (setup ??= (async () => {
    const { tf } = await loadTf('wasm');
    const file = await ensureDefaultModel();
    const model = await loadTrainable(tf, file);
    const spec = readModelSpec(readOnnx(fs.readFileSync(file)));
    const photo = await prepare([PHOTO], spec.input);
    const n = 3 * 512 * 512;
    const rng = mulberry32(11);
    const input = new Float32Array(2 * n);
    input.set(photo.input.data.subarray(0, n));
    for (let i = n; i < 2 * n; i++) input[i] = rng() * 255;
    const session = await ort.InferenceSession.create(file);
    const out = await session.run({ image: new ort.Tensor('float32', input, [2, 3, 512, 512]) });
    await session.release();
    return {
      tf,
      file,
      model,
      input,
      ref: { box: out.box_encodings.data as Float32Array, cls: out.class_logits.data as Float32Array },
    };
  })());

/** Runs `fn` on the model's head outputs as plain arrays, disposing the tensors. */
function heads(out: {
  boxRegression: { dataSync(): unknown; dispose(): void };
  classLogits: typeof out.boxRegression;
}) {
  const r = { box: out.boxRegression.dataSync() as Float32Array, cls: out.classLogits.dataSync() as Float32Array };
  out.boxRegression.dispose();
  out.classLogits.dispose();
  return r;
}

test.after.always(async () => {
  if (setup) (await setup).model.dispose();
});

test('face model: tfjs forward = ONNX Runtime forward within 1e-4 of the range (a photo and noise, batch 2)', async (t) => {
  const { tf, model, input, ref } = await shared();
  t.is(model.architecture, 'ssd-mobilenetv1');
  t.is(model.numClasses, 2);
  t.is(model.numAnchors, 5118);
  t.is(model.anchors.length, 5118 * 4);
  const x = tf.tensor4d(input, [2, 3, 512, 512]);
  const before = tf.memory().numTensors;
  const out = model.forward(x);
  t.deepEqual(out.boxRegression.shape, [2, 5118, 4]);
  t.deepEqual(out.classLogits.shape, [2, 5118, 2]);
  t.is(tf.memory().numTensors, before + 2, 'forward keeps only its two outputs');
  const got = heads(out);
  x.dispose();
  for (const [k, a, b] of [
    ['box_encodings', got.box, ref.box],
    ['class_logits', got.cls, ref.cls],
  ] as const) {
    const d = diffOfRange(a, b);
    t.log(`${k}: max abs ${d.maxAbs.toExponential(2)}, range ${d.range.toFixed(2)}, rel ${d.rel.toExponential(2)}`);
    t.true(d.rel <= 1e-4, `${k} rel ${d.rel}`);
    t.true(d.range > 1, `${k} has a real range`);
  }
});

test('cut: ORT on frozenPartOnnx(freeze) → forwardFrom equals forward within 1e-4, for each freeze', async (t) => {
  const { tf, model, input, ref } = await shared();
  const expected: Record<Freeze, string[]> = {
    extras: [
      'MobilenetV1/Conv2d_11_pointwise/relu6',
      'MobilenetV1/Conv2d_13_pointwise/relu6',
      'Prediction/Conv2d_1_pointwise/relu6',
      'Prediction/Conv2d_3_pointwise/relu6',
      'Prediction/Conv2d_5_pointwise/relu6',
      'Prediction/Conv2d_7_pointwise/relu6',
    ],
    backbone: ['MobilenetV1/Conv2d_11_pointwise/relu6', 'MobilenetV1/Conv2d_13_pointwise/relu6'],
    none: ['image'],
  };
  const sizes = [32, 16, 8, 4, 2, 1];
  for (const freeze of FREEZES) {
    const names = model.cutPoints(freeze);
    t.deepEqual(names, expected[freeze], freeze);
    const bytes = model.frozenPartOnnx(freeze);
    const graph = readOnnx(bytes).graph;
    t.deepEqual(
      graph.output.map((o) => o.name),
      names,
    );
    const inits = (graph.initializer ?? []).map((i) => i.name ?? '');
    t.false(
      inits.some((n) => n.includes('BoxPredictor')),
      `${freeze}: no head weights`,
    );
    if (freeze !== 'extras')
      t.false(
        inits.some((n) => n.startsWith('Prediction/')),
        `${freeze}: no extras`,
      );
    if (freeze === 'none') t.is(inits.length, 0);
    const session = await ort.InferenceSession.create(bytes);
    const out = await session.run({ image: new ort.Tensor('float32', input, [2, 3, 512, 512]) });
    await session.release();
    const cut = names.map((n) =>
      tf.tensor4d(out[n].data as Float32Array, out[n].dims as [number, number, number, number]),
    );
    if (freeze === 'extras')
      t.deepEqual(
        cut.map((c) => c.shape[2]),
        sizes,
      );
    const got = heads(model.forwardFrom(freeze, cut));
    for (const c of cut) c.dispose();
    for (const [k, a, b] of [
      ['box', got.box, ref.box],
      ['cls', got.cls, ref.cls],
    ] as const) {
      const d = diffOfRange(a, b);
      t.log(`${freeze} ${k}: rel ${d.rel.toExponential(2)} (${(bytes.byteLength / 1e6).toFixed(1)} MB)`);
      t.true(d.rel <= 1e-4, `${freeze} ${k} rel ${d.rel}`);
    }
  }
});

test('export of the unchanged base: the default model’s weights bit for bit and its outputs exactly', async (t) => {
  const { model, file, input, ref } = await shared();
  const bytes = exportOnnx(model, { producer: 'test' });
  const exported = readOnnx(bytes);
  const base = readOnnx(fs.readFileSync(file));
  t.is(exported.producer_version, 'test');
  const spec = readModelSpec(exported);
  t.is(spec.converter, TRAIN_EXPORT_CONVERTER);
  t.deepEqual(spec.labels, ['background', 'face']);
  t.is(spec.postprocess.scoring, 'sigmoid', 'base classes keep the base scoring');
  const baseInit = new Map((base.graph.initializer ?? []).map((i) => [i.name, i]));
  let same = 0;
  for (const init of exported.graph.initializer ?? []) {
    if (init.name?.includes('ClassPredictor') || init.data_type !== 1) continue; // sliced to 2 columns in the export
    const b = baseInit.get(init.name);
    t.truthy(b, `${init.name} in the base`);
    if (b) t.deepEqual(tensorToArray(init), tensorToArray(b), init.name);
    same++;
  }
  t.true(same > 80, `${same} weights compared`);
  const session = await ort.InferenceSession.create(bytes);
  const out = await session.run({ image: new ort.Tensor('float32', input, [2, 3, 512, 512]) });
  await session.release();
  t.deepEqual(out.box_encodings.data, ref.box);
  t.deepEqual(out.class_logits.data, ref.cls);
});

/** Adds seeded noise (relative to each tensor's own scale) to backbone, extras and head weights. */
function perturb(model: TrainableSsd, seed: number, names: (n: string) => boolean): number {
  const rng = mulberry32(seed);
  const w = model.getWeights();
  let changed = 0;
  for (const [name, e] of Object.entries(w)) {
    if (!names(name)) continue;
    const scale = Math.sqrt(e.data.reduce((s, v) => s + v * v, 0) / e.data.length) || 0.01;
    for (let i = 0; i < e.data.length; i++) e.data[i] += (rng() - 0.5) * 0.2 * scale;
    changed++;
  }
  model.setWeights(w);
  return changed;
}

test('export after perturbing the weights: Detector gives the tfjs model’s scores and boxes before NMS and its detections', async (t) => {
  const { tf, file, ref } = await shared();
  const model = await loadTrainable(tf, file, { classes: ['face', 'hat'], seed: 5 });
  const changed = perturb(model, 3, (n) =>
    /Conv2d_(0|5|13)_pointwise|Prediction\/Conv2d_[2-5]|BoxPredictor_[0-5]/.test(n),
  );
  t.true(changed >= 10);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssd-edge-trmodel-'));
  const out = path.join(dir, 'perturbed.onnx');
  fs.writeFileSync(out, exportOnnx(model));
  const detector = await Detector.load(out);
  try {
    t.deepEqual(detector.labels, ['background', 'face', 'hat']);
    const prepared = await prepare([PHOTO], detector.spec.input);
    const viaOrt = await ortForward(detector.session, detector.spec, prepared.input);
    const x = tf.tensor4d(prepared.input.data, prepared.input.dims as [number, number, number, number]);
    const got = heads(model.forward(x));
    x.dispose();
    // not the base passing through: the perturbed box head moves the outputs far from the base model's (same photo)
    t.true(
      diffOfRange(got.box, ref.box.subarray(0, got.box.length)).maxAbs > 0.05,
      'perturbation changed the box outputs',
    );

    // scores (softmax, the exported spec's scoring) and boxes in source pixels, per anchor, before NMS
    const { width, height } = prepared.sizes[0];
    const coder = { ...detector.spec.postprocess.boxCoder, anchorFormat: 'cxcywh' as const };
    const anchors = detector.anchors as Float32Array;
    const scale = Math.max(width, height); // 'pad' resize: the square input covers max(w, h) source pixels
    const px = (deltas: Float32Array) => decodeBoxes(deltas, anchors, coder).map((v) => v * scale);
    const softmax = (logits: Float32Array) => {
      const s = new Float32Array(logits.length);
      for (let i = 0; i < logits.length; i += 3) {
        const m = Math.max(logits[i], logits[i + 1], logits[i + 2]);
        const e = [0, 1, 2].map((k) => Math.exp(logits[i + k] - m));
        const sum = e[0] + e[1] + e[2];
        for (let k = 0; k < 3; k++) s[i + k] = e[k] / sum;
      }
      return s;
    };
    const dBox = diffOfRange(px(got.box), px(viaOrt.boxes));
    const dScore = diffOfRange(softmax(got.cls), softmax(viaOrt.scores));
    t.log(`before NMS: boxes max ${dBox.maxAbs.toExponential(2)} px, scores max ${dScore.maxAbs.toExponential(2)}`);
    t.true(dScore.maxAbs <= 1e-4, `scores ${dScore.maxAbs}`);
    // 1e-4 px is below what two float32 conv implementations can agree on at 512 px (float32's step there is
    // 6e-5 px and exp(dh/5)·anchor amplifies the head's last-bit differences): measured 4.3e-4 px = 8e-7 of the side
    t.true(dBox.maxAbs <= 1e-3, `boxes ${dBox.maxAbs} px`);
    const raw = diffOfRange(got.box, viaOrt.boxes);
    t.true(raw.rel <= 1e-4, `raw box outputs rel ${raw.rel}`);

    // the whole chain: Detector.detect vs the postprocess on the tfjs outputs, mapped the same way
    const opts = { scoreThreshold: 0.3 };
    const dets = await detector.detect(PHOTO, opts);
    const [mine] = postprocessDetections(
      { boxRegression: got.box, classLogits: got.cls, anchors, numClasses: 3 },
      { ...detector.spec.postprocess, scoreThresh: 0.3 },
    );
    t.is(dets.length, mine.labels.length);
    t.true(dets.length > 0, 'the perturbed random head still detects something at 0.3');
    dets.forEach((d, k) => {
      t.is(d.classId, mine.labels[k]);
      t.true(Math.abs(d.score - mine.scores[k]) <= 1e-4);
      const box = [d.box.x1, d.box.y1, d.box.x2, d.box.y2];
      for (let j = 0; j < 4; j++) {
        const v = Math.min(Math.max(mine.boxes[4 * k + j] * scale, 0), j % 2 ? height : width);
        t.true(Math.abs(box[j] - v) <= 1e-3, `detection ${k} coord ${j}: ${box[j]} vs ${v}`);
      }
    });
  } finally {
    await detector.dispose();
    model.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a new class set: class heads of A·(c+1) channels, seeded Xavier init with zero biases, box head kept, softmax spec', async (t) => {
  const { tf, file, model: base } = await shared();
  const a = await loadTrainable(tf, file, { classes: ['mug', 'cat', 'dog'], seed: 42 });
  const b = await loadTrainable(tf, file, { classes: ['mug', 'cat', 'dog'], seed: 42 });
  const c = await loadTrainable(tf, file, { classes: ['mug', 'cat', 'dog'], seed: 43 });
  try {
    t.is(a.numClasses, 4);
    t.deepEqual(a.spec.labels, ['background', 'mug', 'cat', 'dog']);
    t.is(a.spec.postprocess.scoring, 'softmax');
    t.is(a.spec.postprocess.backgroundIndex, 0);
    const [wa, wb, wc, w0] = [a.getWeights(), b.getWeights(), c.getWeights(), base.getWeights()];
    const anchorsPerLevel = [3, 6, 6, 6, 6, 6]; // face-api's box predictors
    for (let l = 0; l < 6; l++) {
      const cls = `Prediction/BoxPredictor_${l}/ClassPredictor`;
      const box = `Prediction/BoxPredictor_${l}/BoxEncodingPredictor`;
      const w = wa[`${cls}/weights`];
      const [kh, kw, cin, cout] = w.shape;
      t.is(cout, anchorsPerLevel[l] * 4, `level ${l}: A·(c+1)`);
      const bound = Math.sqrt(6 / ((cin + cout) * kh * kw));
      const max = w.data.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      const std = Math.sqrt(w.data.reduce((s, v) => s + v * v, 0) / w.data.length);
      t.true(max <= bound && max > 0.9 * bound, `level ${l}: |w| ≤ ${bound}`);
      t.true(Math.abs(std - bound / Math.sqrt(3)) < 0.1 * bound, `level ${l}: uniform std ${std}`);
      t.true(
        wa[`${cls}/biases`].data.every((v) => v === 0),
        'zero biases',
      );
      t.deepEqual(wb[`${cls}/weights`].data, w.data, 'same seed, same init');
      t.notDeepEqual(wc[`${cls}/weights`].data, w.data, 'another seed, another init');
      t.deepEqual(wa[`${box}/weights`], w0[`${box}/weights`], 'box head kept');
      t.deepEqual(wa[`${box}/biases`], w0[`${box}/biases`]);
    }
    t.deepEqual(wa['MobilenetV1/Conv2d_7_pointwise/weights'], w0['MobilenetV1/Conv2d_7_pointwise/weights']);
    // the box outputs equal the base model's (same box head), the logits have 4 columns
    const x = tf.randomUniform([1, 3, 512, 512], 0, 255, 'float32', 3) as Parameters<TrainableSsd['forward']>[0];
    const ya = heads(a.forward(x));
    const y0 = heads(base.forward(x));
    x.dispose();
    t.deepEqual(ya.box, y0.box);
    t.is(ya.cls.length, 5118 * 4);
  } finally {
    for (const m of [a, b, c]) m.dispose();
  }
});

test('getWeights / setWeights round trip; a bad map throws naming the weight and changes nothing', async (t) => {
  const { tf, file } = await shared();
  const m = await loadTrainable(tf, file);
  try {
    const w = m.getWeights();
    t.is(Object.keys(w).length, 94); // 14 convs + 13 depthwise (weights, bias) + 8 extras + 12 head convs, ×2
    t.deepEqual(w['MobilenetV1/Conv2d_1_depthwise/depthwise_weights'].shape, [3, 3, 32, 1]);
    t.deepEqual(w['MobilenetV1/Conv2d_0_pointwise/weights'].shape, [3, 3, 3, 32]);
    const changed = structuredClone(w);
    changed['Prediction/Conv2d_0_pointwise/convolution_bn_offset'].data.fill(0.25);
    m.setWeights(changed);
    t.true(m.getWeights()['Prediction/Conv2d_0_pointwise/convolution_bn_offset'].data.every((v) => v === 0.25));
    const bad = structuredClone(changed);
    bad['Prediction/Conv2d_0_pointwise/convolution_bn_offset'].data.fill(1);
    bad['Prediction/BoxPredictor_0/BoxEncodingPredictor/weights'].shape = [1, 1, 12, 512];
    t.throws(() => m.setWeights(bad), {
      instanceOf: TypeError,
      message:
        /^Expected \{ data: Float32Array\(6144\), shape: \[1,1,512,12\] \} for weights\['Prediction\/BoxPredictor_0\/BoxEncodingPredictor\/weights'\] but received Float32Array of length 6144 with shape \[1,1,12,512\]$/,
    });
    t.true(m.getWeights()['Prediction/Conv2d_0_pointwise/convolution_bn_offset'].data.every((v) => v === 0.25));
    const missing = structuredClone(changed);
    delete (missing as Record<string, unknown>)['Prediction/Conv2d_0_pointwise/weights'];
    t.throws(() => m.setWeights(missing), {
      instanceOf: TypeError,
      message: /Prediction\/Conv2d_0_pointwise\/weights… are missing/,
    });
    t.throws(() => m.setWeights({ ...changed, extra: { data: new Float32Array(1), shape: [1] } }), {
      instanceOf: TypeError,
      message: /extra are unknown/,
    });
  } finally {
    m.dispose();
  }
});

test('trainableVariables per freeze; gradients reach exactly those variables', async (t) => {
  const { tf, model, input } = await shared();
  t.is(model.trainableVariables('extras').length, 24);
  t.is(model.trainableVariables('backbone').length, 24 + 16);
  t.is(model.trainableVariables('none').length, 94);
  t.deepEqual(model.trainableVariableNames('none'), Object.keys(model.getWeights()));
  t.true(model.trainableVariableNames('extras').every((n) => n.includes('BoxPredictor')));
  t.true(model.trainableVariableNames('backbone').every((n) => n.startsWith('Prediction/')));
  // heads-only step on features from the frozen part: all 24 head variables get a finite, non-zero gradient
  const session = await ort.InferenceSession.create(model.frozenPartOnnx('extras'));
  const out = await session.run({
    image: new ort.Tensor('float32', input.subarray(0, 3 * 512 * 512), [1, 3, 512, 512]),
  });
  await session.release();
  const cut = model
    .cutPoints('extras')
    .map((n) => tf.tensor4d(out[n].data as Float32Array, out[n].dims as [number, number, number, number]));
  const vars = model.trainableVariables('extras');
  const { value, grads } = tf.variableGrads(() => {
    const y = model.forwardFrom('extras', cut, true);
    return tf.add(tf.sum(tf.square(y.boxRegression)), tf.sum(y.classLogits)) as ReturnType<typeof tf.scalar>;
  }, vars);
  t.true(Number.isFinite(value.dataSync()[0]));
  t.is(Object.keys(grads).length, vars.length);
  for (const g of Object.values(grads)) {
    const d = g.dataSync();
    t.true(d.every(Number.isFinite) && d.some((v) => v !== 0));
  }
  tf.dispose([value, ...Object.values(grads), ...cut]);
});

test('argument errors name the parameter', async (t) => {
  const { tf, file, model } = await shared();
  await t.throwsAsync(loadTrainable({} as Tf, file), {
    instanceOf: TypeError,
    message: /^Expected the tfjs-core namespace \(loadTf\(\)\.tf\) for tf/,
  });
  await t.throwsAsync(loadTrainable(tf, 42 as unknown as string), {
    instanceOf: TypeError,
    message: /for base but received 42/,
  });
  await t.throwsAsync(loadTrainable(tf, file, { clases: ['a'] } as object), {
    instanceOf: TypeError,
    message: /clases/,
  });
  await t.throwsAsync(loadTrainable(tf, file, { classes: [] }), { instanceOf: TypeError, message: /options\.classes/ });
  await t.throwsAsync(loadTrainable(tf, file, { classes: ['a', 'a'] }), {
    message: /distinct class names for options\.classes but received "a" twice/,
  });
  await t.throwsAsync(loadTrainable(tf, file, { classes: ['background'] }), { message: /without 'background'/ });
  await t.throwsAsync(loadTrainable(tf, file, { scoring: 'relu' } as object), {
    instanceOf: TypeError,
    message: /^Expected one of 'softmax', 'sigmoid' for options\.scoring but received "relu"/,
  });
  const softmax = await loadTrainable(tf, file, { scoring: 'softmax' });
  t.is(softmax.spec.postprocess.scoring, 'softmax', 'a sigmoid base fine-tuned on its own classes');
  t.deepEqual(softmax.spec.labels, ['background', 'face']);
  softmax.dispose();
  await t.throwsAsync(loadTrainable(tf, file, { classes: ['a'], seed: -1 }), {
    instanceOf: RangeError,
    message: /options\.seed/,
  });
  await t.throwsAsync(loadTrainable(tf, path.join(os.tmpdir(), 'no-such-model.onnx')), {
    message: /Cannot read model .*no such file/,
  });
  await t.throwsAsync(loadTrainable(tf, new Uint8Array([1, 2, 3])), { instanceOf: TypeError });
  t.throws(() => model.cutPoints('heads' as Freeze), {
    instanceOf: TypeError,
    message: /^Expected one of 'extras', 'backbone', 'none' for freeze/,
  });
  t.throws(() => model.frozenPartOnnx('all' as Freeze), { instanceOf: TypeError, message: /for freeze/ });
  t.throws(() => model.forwardFrom('backbone', []), {
    instanceOf: TypeError,
    message:
      /^Expected Array of 2 tensors \(MobilenetV1\/Conv2d_11_pointwise\/relu6, MobilenetV1\/Conv2d_13_pointwise\/relu6\) for cut/,
  });
  const wrong = tf.zeros([1, 3, 300, 300]) as Parameters<TrainableSsd['forward']>[0];
  t.throws(() => model.forward(wrong), {
    instanceOf: TypeError,
    message: /^Expected Tensor4D \[B, 3, 512, 512\] \(NCHW\) for input but received Tensor \[1,3,300,300\]/,
  });
  wrong.dispose();
  t.throws(() => exportOnnx({} as TrainableSsd), { instanceOf: TypeError, message: /for model/ });
  t.throws(() => exportOnnx(model, { producr: 'x' } as object), { instanceOf: TypeError, message: /producr/ });
});

test('dispose frees every variable; a disposed model refuses work', async (t) => {
  const { tf, file } = await shared();
  const before = tf.memory().numTensors;
  const m = await loadTrainable(tf, file, { classes: ['x'] });
  t.is(tf.memory().numTensors, before + 94);
  m.dispose();
  t.is(tf.memory().numTensors, before);
  t.throws(() => m.getWeights(), { message: /disposed/ });
  t.throws(() => exportOnnx(m), { message: /disposed/ });
});
