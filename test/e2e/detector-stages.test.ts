/**
 * The detector's stages on their own (prepare → forward → finish give what `detect` gives), the load-time check of
 * the declared output layout (decoded boxes declared, raw deltas emitted), unknown option keys, the one "disposed"
 * message, and the warm-up's stop rule.
 */
import test from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Detector } from '../../lib/detector/detector.ts';
import { checkOutputLayout, finish, forward, prepare, type ForwardOutput } from '../../lib/detector/stages.ts';
import { classFilter, detectDefaults } from '../../lib/detector/options.ts';
import { GraphBuilder, int64s } from '../../lib/model/graph.ts';
import { importModelFile } from '../../lib/model/import.ts';
import { writeModelSpec } from '../../lib/model/metadata.ts';
import type { ModelSpec } from '../../lib/model/spec.ts';
import { writeOnnx } from '../../lib/model/onnx.ts';
import { Session } from '../../lib/runtime/session.ts';
import type { RawImage } from '../../lib/image/decode.ts';
import { fixturesDir } from '../helpers/fixtures.ts';
import { tinyDecodedSpec, writeTinyDecodedModel } from '../helpers/tiny-detector-model.ts';
import { tinyPytorchSsd } from '../helpers/tiny-models.ts';

const ASTRONAUT = path.join(fixturesDir, 'images', 'astronaut.png');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ssd-edge-stages-'));
test.after.always(() => fs.rmSync(tmp, { recursive: true, force: true }));

let detector: Detector;
test.before(async () => {
  detector = await Detector.load(undefined, { device: 'cpu' });
});
test.after.always(async () => {
  await detector?.dispose();
});

/** Deterministic standard normal values (Box–Muller over an LCG). */
function normals(n: number, seed: number): number[] {
  let s = seed >>> 0;
  const u = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) + 1) / 2 ** 32;
  return Array.from({ length: n }, () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u()));
}

/** A model whose outputs are constants (+ 0·mean(input)): boxes [1, N, 4], scores [1, N, C]. */
function writeConstantModel(name: string, boxes: number[], scores: number[], spec: ModelSpec): string {
  const n = boxes.length / 4,
    c = scores.length / n;
  const g = new GraphBuilder(name);
  g.addInput('image', ['batch', 3, 8, 8]);
  const mean = g.op('ReduceMean', ['image'], { axes: [1, 2, 3], keepdims: 1 });
  const zero = g.op('Mul', [mean, g.addInitializer('zero', new Float32Array([0]), [])]);
  const z = g.op('Reshape', [zero, g.addInitializer('shape_b11', int64s([-1, 1, 1]), [3])]);
  g.addNode('Add', [z, g.addInitializer('const_boxes', Float32Array.from(boxes), [1, n, 4])], ['boxes']);
  g.addNode('Add', [z, g.addInitializer('const_scores', Float32Array.from(scores), [1, n, c])], ['scores']);
  g.addOutput('boxes', ['batch', n, 4]);
  g.addOutput('scores', ['batch', n, c]);
  const model = g.toModel({ producerName: 'tiny-test' });
  writeModelSpec(model, spec);
  const file = path.join(tmp, `${name}.onnx`);
  fs.writeFileSync(file, writeOnnx(model));
  return file;
}

/** Probabilities [N, 3] that sum to 1 per row. */
function probabilities(n: number): number[] {
  return Array.from({ length: n }, (_, i) => [0.5, 0.3 + 0.001 * (i % 10), 0.2 - 0.001 * (i % 10)]).flat();
}

// --- stages -----------------------------------------------------------------------------------------------

test('prepare → forward → finish on their own give exactly what detect gives', async (t) => {
  const expected = await detector.detect(ASTRONAUT);
  const { spec, session, anchors } = detector;
  const prepared = await prepare([ASTRONAUT], spec.input);
  t.deepEqual(prepared.input.dims, [1, 3, 512, 512]);
  t.deepEqual(prepared.sizes, [{ width: 512, height: 512 }]);
  const output = await forward(session, spec, prepared.input);
  t.like(output, { batch: 1, numBoxes: 5118, numClasses: 2 });
  const opts = detectDefaults(spec);
  const { classes, ...thresholds } = opts;
  const [dets] = await finish(output, spec, anchors, prepared.transforms, {
    ...thresholds,
    classFilter: classFilter(spec.labels, 0, classes),
  });
  t.deepEqual(dets, expected);
  t.true(expected.length > 0);
});

test('prepare: two frames of different sizes in one batch, a reusable buffer, fixed-batch padding', async (t) => {
  const { spec, session, anchors } = detector;
  const small: RawImage = { data: new Uint8Array(64 * 48 * 3).fill(90), width: 64, height: 48, channels: 3 };
  const per = 3 * 512 * 512;
  const out = new Float32Array(3 * per).fill(7);
  const prepared = await prepare([ASTRONAUT, small], spec.input, { batch: 3, out });
  t.is(prepared.input.data, out, 'writes into the given buffer');
  t.deepEqual(prepared.input.dims, [3, 3, 512, 512]);
  t.true(
    out.subarray(2 * per).every((v) => v === 0),
    'the padding slot is zero-filled',
  );
  t.deepEqual(prepared.sizes, [
    { width: 512, height: 512 },
    { width: 64, height: 48 },
  ]);
  const output = await forward(session, spec, prepared.input);
  const { classes: _, ...thresholds } = detectDefaults(spec);
  const results = await finish(output, spec, anchors, prepared.transforms, { ...thresholds, classFilter: null });
  t.is(results.length, 2, 'one result per image, the padding slot dropped');
  t.deepEqual(results[0], await detector.detect(ASTRONAUT));
  await t.throwsAsync(prepare([ASTRONAUT], spec.input, { out: new Float32Array(10) }), {
    instanceOf: TypeError,
    message: /^Expected Float32Array of length ≥ 786432/,
  });
  await t.throwsAsync(prepare([ASTRONAUT, small], spec.input, { batch: 1 }), { instanceOf: RangeError });
});

// --- B6: declared layout vs the graph's outputs -----------------------------------------------------------

test('decoded boxes declared, raw deltas emitted: load fails naming output.kind', async (t) => {
  const n = 200;
  const file = writeConstantModel(
    'deltas-as-decoded',
    normals(4 * n, 7),
    probabilities(n),
    tinyDecodedSpec({ name: 'deltas-as-decoded' }),
  );
  const err = await t.throwsAsync(Detector.load(file, { device: 'cpu' }), { instanceOf: TypeError });
  t.regex(
    err.message,
    /^Model deltas-as-decoded: its spec declares decoded boxes \(output\.kind 'decoded', normalized xyxy in output 'boxes'\) but on the warm-up input \d+ of 200 boxes have x1 > x2 or y1 > y2 \(e\.g\. \[.*\]\): the graph looks like it emits raw box deltas\. Fix output\.kind/,
  );
  t.false(err.message.includes('\n'));
  // Without the warm-up nothing runs at load, so nothing is checked (documented on `warmup`).
  const d = await Detector.load(file, { device: 'cpu', warmup: false });
  await d.dispose();
});

test('probabilities declared (scoring none), logits emitted: load fails naming postprocess.scoring', async (t) => {
  const n = 100;
  const boxes = Array.from({ length: n }, (_, i) => [0.1, 0.1, 0.2 + i / 200, 0.3]).flat();
  const logits = normals(3 * n, 3).map((v) => 3 * v);
  const file = writeConstantModel(
    'logits-as-probabilities',
    boxes,
    logits,
    tinyDecodedSpec({ name: 'logits-as-probabilities' }),
  );
  await t.throwsAsync(Detector.load(file, { device: 'cpu' }), {
    instanceOf: TypeError,
    message:
      /^Model logits-as-probabilities: its spec declares probabilities in output 'scores' \(postprocess\.scoring 'none'\) but on the warm-up input \d+ of 300 scores lie far outside \[0, 1\]/,
  });
});

test('the layout check accepts valid decoded models: the tiny model, a pytorch-ssd import, degenerate and clipped boxes', async (t) => {
  const tiny = await Detector.load(writeTinyDecodedModel(undefined, tmp), { device: 'cpu' });
  await tiny.dispose();
  const src = path.join(tmp, 'mb1-ssd.onnx');
  fs.writeFileSync(src, writeOnnx(tinyPytorchSsd(3000, 3)));
  const { path: imported } = await importModelFile('pytorch-ssd', src, {
    out: path.join(tmp, 'mb1-imported.onnx'),
    labels: ['BACKGROUND', 'a', 'b'],
  });
  const d = await Detector.load(imported, { device: 'cpu' }); // outputs = mean of the input: equal corners, ordered
  await d.dispose();
  // Straight on the stage output: zero-area, clipped-to-edge and slightly out-of-image boxes are valid.
  const spec = tinyDecodedSpec();
  const out = (boxes: number[], scores: number[]): ForwardOutput => ({
    boxes: Float32Array.from(boxes),
    scores: Float32Array.from(scores),
    batch: 1,
    numBoxes: boxes.length / 4,
    numClasses: 3,
    ms: 0,
  });
  t.notThrows(() =>
    checkOutputLayout(
      out([0, 0, 0, 0, 1, 1, 1, 1, -0.2, 0.5, 1.3, 1.0, 0.3, 0.3, 0.3 - 1e-6, 0.4], probabilities(4)),
      spec,
    ),
  );
  t.notThrows(
    () => checkOutputLayout(out([NaN, 0, 0, 0, 0.1, 0.1, 0.2, 0.2], probabilities(2)), spec),
    'non-finite boxes are not counted',
  );
  t.throws(() => checkOutputLayout(out([0.5, 0, 0, 0.37, 0.6, 0.2, 0.1, 0.5], probabilities(2)), spec), {
    message: /2 of 2 boxes have x1 > x2/,
  });
  t.throws(() => checkOutputLayout(out([0, 0, 300, 200, 0, 0, 500, 400], probabilities(2)), spec), {
    message: /2 of 2 boxes lie more than 64 input sizes outside/,
  });
  // Raw outputs are never checked (deltas and logits take any value).
  const raw = { ...spec, output: { ...spec.output, kind: 'raw' as const } } as ModelSpec;
  t.notThrows(() => checkOutputLayout(out([0.5, 0, 0, 0.37], [5, -3, 2]), raw));
});

// --- B8: unknown option keys -------------------------------------------------------------------------------

test('unknown option keys throw a TypeError naming the key and the valid ones', async (t) => {
  await t.throwsAsync(detector.detect(ASTRONAUT, { threshold: 0.1 } as never), {
    instanceOf: TypeError,
    message:
      "Unknown key 'threshold' in options: expected one of 'scoreThreshold', 'iouThreshold', 'maxDetections', 'classes'",
  });
  await t.throwsAsync(detector.detectBatch([ASTRONAUT], { maxDetection: 3 } as never), {
    instanceOf: TypeError,
    message: /^Unknown key 'maxDetection' in options/,
  });
  await t.throwsAsync(Detector.load(undefined, { threshold: 0.1 } as never), {
    instanceOf: TypeError,
    message:
      "Unknown key 'threshold' in options: expected one of 'scoreThreshold', 'iouThreshold', 'maxDetections', 'classes', 'device', 'deviceId', " +
      "'providerOptions', 'threads', 'spinning', 'warmup', 'maxBatch', 'worker', 'precision'",
  });
  await t.throwsAsync(Detector.load(undefined, { providerOptions: { tensorrt: { fp32: true } } } as never), {
    instanceOf: TypeError,
    message: /^Unknown key 'fp32' in providerOptions\.tensorrt: expected one of 'fp16', 'int8'/,
  });
  await t.throwsAsync(detector.draw(ASTRONAUT, [], { colour: 'red' } as never), {
    instanceOf: TypeError,
    message:
      "Unknown key 'colour' in options: expected one of 'format', 'quality', 'lineWidth', 'fontSize', 'color', 'labels', 'scoreDigits'",
  });
  await t.throwsAsync(Session.create(writeTinyDecodedModel(undefined, tmp), { thread: 2 } as never), {
    instanceOf: TypeError,
    message: /^Unknown key 'thread' in options: expected one of 'device', 'deviceId'/,
  });
  // Known keys with undefined values are fine.
  t.true(Array.isArray(await detector.detect(ASTRONAUT, { scoreThreshold: undefined })));
});

// --- B7: one "disposed" message --------------------------------------------------------------------------

test('dispose with detects in flight (in-process): each completes or fails with "Session is disposed", nothing else', async (t) => {
  const d = await Detector.load(undefined, { device: 'cpu', warmup: false });
  const pending = [1, 2, 3, 4].map(() =>
    d.detect(ASTRONAUT).then(
      () => 'done',
      (e: Error) => e.message,
    ),
  );
  await new Promise((r) => setImmediate(r));
  await d.dispose();
  const outcomes = await Promise.all(pending);
  t.true(
    outcomes.every((o) => o === 'done' || o === 'Session is disposed'),
    outcomes.join(' | '),
  );
  await t.throwsAsync(d.detect(ASTRONAUT), { message: 'Session is disposed' });
  await d.dispose(); // idempotent
});

// --- B9: warm-up until the forward settles ---------------------------------------------------------------

test('warm-up: forward passes until two consecutive ones are within 20 % (at most 8, at most 3 s after two); none with warmup: false', async (t) => {
  const ms = detector.warmupForwardMs;
  t.true(ms.length >= 2 && ms.length <= 8, `${ms.length} runs`);
  const settled = (k: number) => Math.abs(ms[k] - ms[k - 1]) <= 0.2 * ms[k - 1];
  const spent = (k: number) => ms.slice(0, k + 1).reduce((a, b) => a + b, 0) >= 3000;
  for (let k = 1; k < ms.length - 1; k++)
    t.false(settled(k) || spent(k), `stopped at the first settled pair or the budget (${ms.map((v) => v.toFixed(1))})`);
  if (ms.length < 8) t.true(settled(ms.length - 1) || spent(ms.length - 1));
  t.log(`warm-up forward ms: ${ms.map((v) => v.toFixed(1)).join(', ')}`);
  const cold = await Detector.load(undefined, { device: 'cpu', warmup: false });
  t.deepEqual(cold.warmupForwardMs, []);
  await cold.dispose();
});
