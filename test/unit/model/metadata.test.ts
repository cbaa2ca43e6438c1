/**
 * The model format: ModelSpec in metadata key `ssd_edge` — round trips, validation messages, anchors, and the
 * graph-vs-spec checks of loadModelFile.
 */
import test from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  checkModelSpec,
  loadModelFile,
  readModelSpec,
  serializeModelSpec,
  writeModelSpec,
} from '../../../lib/model/metadata.ts';
import { encodeAnchors, resolveAnchors, validateModelSpec } from '../../../lib/model/spec.ts';
import { getMetadata, readOnnx, setMetadata, writeOnnx } from '../../../lib/model/onnx.ts';
import { defaultBoxes } from '../../../lib/ops/default-boxes.ts';
import { tinySsdliteSpec as spec, tinyTorchvision } from '../../helpers/tiny-models.ts';

const tiny = () => tinyTorchvision(3234, 3, 320);

test('writeModelSpec / readModelSpec round trip, Infinity included, other metadata kept', (t) => {
  const model = setMetadata(tiny(), { other: 'x' });
  writeModelSpec(model, spec());
  const back = readOnnx(writeOnnx(model));
  t.deepEqual(readModelSpec(back), spec());
  const meta = getMetadata(back);
  t.is(meta.other, 'x');
  t.is(meta['ssd_edge.version'], '1');
  t.true(meta.ssd_edge.includes('"topkCandidates":"Infinity"'));
  // writing again replaces, not duplicates
  writeModelSpec(model, { ...spec(), name: 'again' });
  t.is(model.metadata_props!.filter((e) => e.key === 'ssd_edge').length, 1);
  t.is(readModelSpec(model).name, 'again');
});

test('a label named "Infinity" stays a string', (t) => {
  const s = { ...spec(), labels: ['background', 'Infinity', 'NaN'] };
  t.deepEqual(readModelSpec(writeModelSpec(tiny(), s)).labels, ['background', 'Infinity', 'NaN']);
});

test('readModelSpec: no metadata → the import hint', (t) => {
  t.throws(() => readModelSpec(tiny()), {
    instanceOf: TypeError,
    message:
      "Expected ONNX model with ssd-edge metadata (metadata_props key 'ssd_edge') for model but received a model without it — import it first with `ssd-edge model import`",
  });
  t.throws(() => readModelSpec(tiny(), 'x.onnx'), { message: /for x\.onnx but received a model without it/ });
});

test('readModelSpec: newer schema version, bad JSON', (t) => {
  const m = setMetadata(tiny(), { ssd_edge: serializeModelSpec(spec()), 'ssd_edge.version': '2' });
  t.throws(() => readModelSpec(m), {
    instanceOf: RangeError,
    message: 'Expected ssd-edge metadata version 1..1 for model but received "2" — upgrade ssd-edge to read it',
  });
  setMetadata(m, { ssd_edge: '{oops', 'ssd_edge.version': '1' });
  t.throws(() => readModelSpec(m), {
    instanceOf: TypeError,
    message: /^Expected JSON for metadata 'ssd_edge' but received text that does not parse/,
  });
});

test('validateModelSpec fills boxEncoding and boxCoder defaults, returns a copy', (t) => {
  const s = spec() as any;
  delete s.postprocess.boxEncoding;
  s.postprocess.boxCoder = { order: 'yxhw' };
  const v = validateModelSpec(s);
  t.is(v.postprocess.boxEncoding, 'deltas');
  t.deepEqual(v.postprocess.boxCoder, { weights: [10, 10, 5, 5], order: 'yxhw', clip: Math.log(1000 / 16) });
  t.not(v.input, s.input);
});

const invalid: Array<[string, (s: any) => void, RegExp | string, typeof TypeError | typeof RangeError]> = [
  ['not an object', () => {}, 'Expected object for spec but received null', TypeError],
  ['name', (s) => (s.name = ''), 'Expected non-empty string for name but received ""', TypeError],
  [
    'output.kind',
    (s) => (s.output.kind = 'logits'),
    `Expected one of 'raw', 'decoded' for output.kind but received "logits"`,
    TypeError,
  ],
  ['input.height', (s) => (s.input.height = 0), 'Expected integer ≥ 1 for input.height but received 0', RangeError],
  [
    'input.std',
    (s) => (s.input.std = [1, 0, 1]),
    'Expected finite number > 0 for input.std[1] but received 0',
    RangeError,
  ],
  [
    'input.mean',
    (s) => (s.input.mean = [1, 2]),
    'Expected Array of 3 numbers for input.mean but received Array of length 2',
    TypeError,
  ],
  [
    'input.resize',
    (s) => (s.input.resize = 'crop'),
    `Expected one of 'stretch', 'pad', 'letterbox' for input.resize but received "crop"`,
    TypeError,
  ],
  [
    'labels',
    (s) => (s.labels = []),
    'Expected Array of length ≥ 1 for labels but received Array of length 0',
    TypeError,
  ],
  [
    'backgroundIndex',
    (s) => (s.postprocess.backgroundIndex = 3),
    'Expected integer in [-1, 2] (labels has 3) for postprocess.backgroundIndex but received 3',
    RangeError,
  ],
  [
    'scoreThresh',
    (s) => (s.postprocess.scoreThresh = 2),
    'Expected number in [0, 1] for postprocess.scoreThresh but received 2',
    RangeError,
  ],
  [
    'scoring',
    (s) => (s.postprocess.scoring = 'relu'),
    `Expected one of 'softmax', 'sigmoid', 'none' for postprocess.scoring but received "relu"`,
    TypeError,
  ],
  [
    'no coder',
    (s) => delete s.postprocess.boxCoder,
    'Expected object for postprocess.boxCoder but received undefined',
    TypeError,
  ],
  [
    'detectionsPerImg',
    (s) => (s.postprocess.detectionsPerImg = -1),
    'Expected integer ≥ 0 or Infinity (all) for postprocess.detectionsPerImg but received -1',
    RangeError,
  ],
  [
    'coder',
    (s) => (s.postprocess.boxCoder.order = 'xy'),
    `Expected one of 'xywh', 'yxhw' for postprocess.boxCoder.order but received "xy"`,
    TypeError,
  ],
  [
    'raw without anchors',
    (s) => delete s.anchors,
    "Expected AnchorSpec (required when output.kind is 'raw') for anchors but received undefined",
    TypeError,
  ],
  [
    'raw with xyxy',
    (s) => (s.postprocess.boxEncoding = 'xyxy'),
    `Expected 'deltas' (output.kind is 'raw') for postprocess.boxEncoding but received "xyxy"`,
    TypeError,
  ],
  [
    'decoded with deltas',
    (s) => (s.output.kind = 'decoded'),
    `Expected 'xyxy' (output.kind is 'decoded') for postprocess.boxEncoding but received "deltas"`,
    TypeError,
  ],
  [
    'two anchor kinds',
    (s) => (s.anchors = { preset: 'x', data: 'y' }),
    `Expected object with exactly one of 'preset', 'spec', 'data' for anchors but received object with 'preset', 'data'`,
    TypeError,
  ],
  [
    'unknown preset',
    (s) => (s.anchors = { preset: 'yolo' }),
    /^Expected one of 'ssd300-paper', .* for anchors.preset but received "yolo"$/,
    TypeError,
  ],
  [
    'short data',
    (s) => (s.anchors = { data: Buffer.alloc(12).toString('base64'), count: 1 }),
    'Expected base64 of 16 bytes (float32 [count·4], count 1) for anchors.data but received 12 bytes',
    TypeError,
  ],
];
for (const [label, mutate, message, instanceOf] of invalid) {
  test(`validateModelSpec rejects: ${label}`, (t) => {
    const s: any = label === 'not an object' ? null : spec();
    if (s) mutate(s);
    t.throws(() => validateModelSpec(s), { instanceOf, message });
  });
}

test('resolveAnchors: preset, spec and base64 data', (t) => {
  const preset = resolveAnchors({ anchors: { preset: 'torchvision-ssdlite320' } });
  t.deepEqual(preset, defaultBoxes('torchvision-ssdlite320'));
  const one = { inputSize: 100, featureMaps: [{ size: 1, scale: 0.5, aspectRatios: [1] }] };
  t.deepEqual(resolveAnchors({ anchors: { spec: one } }), Float32Array.of(0.5, 0.5, 0.5, 0.5));
  t.deepEqual(resolveAnchors({ anchors: encodeAnchors(preset) }), preset);
  t.throws(() => resolveAnchors({}), { message: 'Expected AnchorSpec for anchors but received undefined' });
  t.throws(() => encodeAnchors(new Float32Array(3)), {
    message: 'Expected Float32Array of length 4·N (N ≥ 1) for anchors but received Float32Array of length 3',
  });
});

test('checkModelSpec: names, shapes and anchor count against the graph', (t) => {
  const m = tiny();
  const anchors = resolveAnchors(spec());
  t.notThrows(() => checkModelSpec(m, spec(), anchors));
  t.throws(() => checkModelSpec(m, { ...spec(), input: { ...spec().input, name: 'x' } }), {
    message: "Expected ONNX input 'x' (input.name) for model but received inputs 'images'",
  });
  t.throws(() => checkModelSpec(m, { ...spec(), output: { ...spec().output, scores: 'logits' } }), {
    message:
      "Expected ONNX output 'logits' (output.scores) for model but received outputs 'bbox_regression', 'cls_logits'",
  });
  t.throws(() => checkModelSpec(m, { ...spec(), labels: ['bg', 'a'] }), {
    message: 'Expected output.scores with dim 2 = 2 (labels.length) for model but received shape [1,3234,3]',
  });
  t.throws(() => checkModelSpec(m, spec(), defaultBoxes('torchvision-ssd300-vgg16')), {
    message: 'Expected output.boxes with dim 1 = 8732 (anchor count) for model but received shape [1,3234,4]',
  });
  t.throws(() => checkModelSpec(m, { ...spec(), input: { ...spec().input, height: 300 } }), {
    message: "Expected input 'images' of shape [B,3,300,320] (input.*) for model but received [1,3,320,320]",
  });
  t.throws(() => checkModelSpec(m, { ...spec(), input: { ...spec().input, dynamicBatch: true } }), {
    message: "Expected input.dynamicBatch false for model (input 'images' has a fixed batch of 1) but received true",
  });
});

test('loadModelFile: header, spec, path, anchors (the weights never read); errors name the file', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssd-edge-meta-'));
  try {
    const good = path.join(dir, 'good.onnx');
    fs.writeFileSync(good, writeOnnx(writeModelSpec(tiny(), spec())));
    const loaded = await loadModelFile(good);
    t.deepEqual(loaded.spec, spec());
    t.is(loaded.anchors!.length, 3234 * 4);
    t.is(loaded.path, good);
    t.is(loaded.size, fs.statSync(good).size);
    t.is(loaded.header.graph.output.length, 2);
    t.deepEqual(Object.keys(loaded).sort(), ['anchors', 'header', 'path', 'size', 'spec']); // no weights read

    const bare = path.join(dir, 'bare.onnx');
    fs.writeFileSync(bare, writeOnnx(tiny()));
    await t.throwsAsync(loadModelFile(bare), {
      instanceOf: TypeError,
      message: new RegExp(`for ${bare.replace(/[.]/g, '\\.')} but received a model without it`),
    });
    const junk = path.join(dir, 'junk.onnx');
    fs.writeFileSync(junk, 'not a model');
    await t.throwsAsync(loadModelFile(junk), {
      instanceOf: TypeError,
      message: /^Expected ONNX model for .*junk\.onnx but received a file that does not parse/,
    });
    await t.throwsAsync(loadModelFile(path.join(dir, 'missing.onnx')), {
      code: 'ENOENT',
      message: `Cannot read model ${path.join(dir, 'missing.onnx')}: no such file`,
    });
    await t.throwsAsync(loadModelFile(dir), {
      code: 'EISDIR',
      message: `Cannot read model ${dir}: is a directory, expected an .onnx file`,
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
