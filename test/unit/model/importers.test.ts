/**
 * Importers on tiny stand-in models (built here: right names and shapes, a few ops): torchvision SSD300 /
 * SSDLite320 exports, pytorch-ssd exports, and the file-level importModelFile.
 */
import test from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { importModelFile } from '../../../lib/model/import.ts';
import { faceApiModelDir } from '../../../lib/model/importers/faceapi.ts';
import { importPytorchSsd } from '../../../lib/model/importers/pytorch-ssd.ts';
import { importTorchvisionSsd } from '../../../lib/model/importers/torchvision.ts';
import { COCO_91_LABELS, VOC_21_LABELS, readLabelsFile } from '../../../lib/model/labels.ts';
import { loadModelFile, readModelSpec } from '../../../lib/model/metadata.ts';
import { writeOnnx } from '../../../lib/model/onnx.ts';
import { POSTPROCESS_PRESETS, postprocessDetections } from '../../../lib/ops/postprocess.ts';
import { tinyPytorchSsd, tinyTorchvision } from '../../helpers/tiny-models.ts';

function tmpDir(t: { teardown(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssd-edge-import-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('label lists: torchvision COCO-91 and VOC-21', (t) => {
  t.is(COCO_91_LABELS.length, 91);
  t.is(COCO_91_LABELS[1], 'person');
  t.is(COCO_91_LABELS[90], 'toothbrush');
  t.is(COCO_91_LABELS.filter((l) => l === 'N/A').length, 10); // 91 = background + 80 classes + 10 unused ids
  t.is(VOC_21_LABELS.length, 21);
  t.is(VOC_21_LABELS[20], 'tvmonitor');
});

test('torchvision SSD300: preset anchors, normalization in the spec, torchvision postprocess, VOC labels for C = 21', (t) => {
  const { model, spec } = importTorchvisionSsd(tinyTorchvision(8732, 21, 300), { source: 'x.onnx' });
  t.deepEqual(readModelSpec(model), spec);
  t.like(spec, {
    name: 'ssd300-vgg16',
    architecture: 'ssd300-vgg16',
    source: 'x.onnx',
    input: {
      name: 'images',
      height: 300,
      width: 300,
      mean: [122.99925, 116.9991, 103.9992],
      std: [1, 1, 1],
      resize: 'stretch',
      interpolation: 'bilinear',
      dynamicBatch: false,
    },
    output: { kind: 'raw', boxes: 'bbox_regression', scores: 'cls_logits' },
    anchors: { preset: 'torchvision-ssd300-vgg16' },
  });
  t.deepEqual(spec.labels, [...VOC_21_LABELS]);
  t.deepEqual(spec.postprocess, { ...POSTPROCESS_PRESETS.torchvision, boxEncoding: 'deltas' });
});

test('torchvision SSDLite320: COCO labels for C = 91, dynamic batch detected, --labels and --name', (t) => {
  const { spec } = importTorchvisionSsd(tinyTorchvision(3234, 91, 320, 'batch'));
  t.like(spec, {
    architecture: 'ssdlite320-mobilenetv3-large',
    anchors: { preset: 'torchvision-ssdlite320' },
    input: { mean: [127.5, 127.5, 127.5], std: [127.5, 127.5, 127.5], dynamicBatch: true },
  });
  t.deepEqual(spec.labels, [...COCO_91_LABELS]);
  t.deepEqual(spec.postprocess, { ...POSTPROCESS_PRESETS.torchvisionSsdlite, boxEncoding: 'deltas' });
  const labels = ['bg', 'cat', 'dog'];
  t.like(importTorchvisionSsd(tinyTorchvision(3234, 3, 320), { labels, name: 'pets' }).spec, { name: 'pets', labels });
});

test('torchvision importer errors', (t) => {
  t.throws(() => importTorchvisionSsd(tinyTorchvision(1000, 21, 300)), {
    instanceOf: TypeError,
    message:
      "Expected 8732 (SSD300-VGG16) or 3234 (SSDLite320) anchors in output 'bbox_regression' for torchvision SSD export but received 1000",
  });
  t.throws(() => importTorchvisionSsd(tinyTorchvision(8732, 21, 320)), {
    message: 'Expected input size 300 for ssd300-vgg16 (8732 anchors) but received 320',
  });
  t.throws(() => importTorchvisionSsd(tinyTorchvision(3234, 5, 320)), {
    message:
      'Expected labels for the 5 classes of the torchvision SSD export (built-in lists: 91 COCO, 21 VOC) — pass --labels FILE',
  });
  t.throws(() => importTorchvisionSsd(tinyTorchvision(3234, 3, 320), { labels: ['a'] }), {
    message: 'Expected 3 labels (one per class column of the torchvision SSD export, background first) but received 1',
  });
  t.throws(() => importTorchvisionSsd(tinyPytorchSsd(3000, 21)), {
    message: "Expected torchvision SSD export with input 'images' but received inputs 'input_0' [1, 3, 300, 300]",
  });
  t.throws(() => importTorchvisionSsd(tinyTorchvision(3234, 91, 320), { rebuild: true }), {
    message: 'Expected an SSD300-VGG16 export (8732 anchors) for rebuild but received 3234 anchors',
  });
});

test('pytorch-ssd: decoded outputs, scoring none, xyxy, jetson thresholds, BACKGROUND prepended', (t) => {
  const { model, spec } = importPytorchSsd(tinyPytorchSsd(3000, 3), { labels: ['person', 'car'] });
  t.deepEqual(readModelSpec(model), spec);
  t.like(spec, {
    name: 'pytorch-ssd-mobilenet',
    architecture: 'pytorch-ssd-mobilenet',
    input: { name: 'input_0', height: 300, width: 300, mean: [127, 127, 127], std: [128, 128, 128], resize: 'stretch' },
    output: { kind: 'decoded', boxes: 'boxes', scores: 'scores' },
    labels: ['BACKGROUND', 'person', 'car'],
    postprocess: {
      scoring: 'none',
      boxEncoding: 'xyxy',
      backgroundIndex: 0,
      scoreThresh: 0.5,
      nmsThresh: 0.45,
      topkCandidates: 200,
      detectionsPerImg: 200,
      clipBoxes: false,
    },
  });
  t.is(spec.anchors, undefined);
  // The spec's postprocess runs as is on decoded outputs (no anchors): scores used as given, boxes as xyxy.
  const scores = new Float32Array(3000 * 3);
  const boxes = new Float32Array(3000 * 4);
  scores.set([0.1, 0.9, 0], 0);
  scores.set([0.5, 0.2, 0.55], 3 * 7);
  boxes.set([0.1, 0.2, 0.5, 0.6], 0);
  boxes.set([0.5, 0.5, 1.2, 0.9], 4 * 7);
  const [det] = postprocessDetections(
    {
      boxRegression: boxes,
      classLogits: scores,
      anchors: new Float32Array(0),
      numClasses: 3,
      imageSizes: [[100, 200]],
    },
    spec.postprocess,
  );
  t.deepEqual([...det.labels], [1, 2]);
  t.deepEqual([...det.scores], [Math.fround(0.9), Math.fround(0.55)]);
  [20, 20, 100, 60, 100, 50, 240, 90].forEach((v, k) => t.true(Math.abs(det.boxes[k] - v) < 1e-4, `box ${k}`)); // pixels, not clipped
  t.like(importPytorchSsd(tinyPytorchSsd(8732, 21)).spec, {
    architecture: 'pytorch-ssd-vgg16',
    input: { mean: [123, 117, 104], std: [1, 1, 1] },
    labels: [...VOC_21_LABELS],
  });
  t.like(importPytorchSsd(tinyPytorchSsd(3000, 21), { preprocess: 'jetson' }).spec, {
    input: { mean: [127.5, 127.5, 127.5], std: [127.5, 127.5, 127.5] },
  });
  t.throws(() => importPytorchSsd(tinyPytorchSsd(3000, 4), { labels: ['a'] }), { message: /^Expected 4 labels/ });
  t.throws(() => importPytorchSsd(tinyPytorchSsd(3000, 21), { preprocess: 'caffe' as never }), {
    message: `Expected one of 'mobilenet', 'jetson', 'vgg16' for preprocess but received "caffe"`,
  });
});

test('readLabelsFile: one per line, CRLF and trailing blank lines tolerated', (t) => {
  const dir = tmpDir(t);
  const f = path.join(dir, 'labels.txt');
  fs.writeFileSync(f, 'BACKGROUND\r\nperson\r\n\r\ncar\n\n');
  t.deepEqual(readLabelsFile(f), ['BACKGROUND', 'person', '', 'car']);
  fs.writeFileSync(f, '\n\n');
  t.throws(() => readLabelsFile(f), { message: /^Expected one class name per line in .* but received an empty file$/ });
});

test('importModelFile: pytorch-ssd with labels.txt → a file loadModelFile accepts and onnxruntime runs', async (t) => {
  const dir = tmpDir(t);
  const src = path.join(dir, 'ssd-mobilenet.onnx');
  fs.writeFileSync(src, writeOnnx(tinyPytorchSsd(3000, 3)));
  fs.writeFileSync(path.join(dir, 'labels.txt'), 'BACKGROUND\nperson\ncar\n');
  const r = await importModelFile('pytorch-ssd', src, {
    out: path.join(dir, 'out', 'm.onnx'),
    labels: path.join(dir, 'labels.txt'),
    name: 'people',
  });
  t.is(r.path, path.join(dir, 'out', 'm.onnx'));
  const loaded = await loadModelFile(r.path);
  t.like(loaded.spec, { name: 'people', labels: ['BACKGROUND', 'person', 'car'] });
  t.is(loaded.anchors, null);
  const session = await ort.InferenceSession.create(loaded.path);
  const out = await session.run({
    input_0: new ort.Tensor('float32', new Float32Array(3 * 300 * 300).fill(2), [1, 3, 300, 300]),
  });
  t.deepEqual(out.scores.dims, [1, 3000, 3]);
  t.is((out.boxes.data as Float32Array)[0], 2);
  t.deepEqual(fs.readdirSync(path.join(dir, 'out')), ['m.onnx']);
});

test('importModelFile errors: unknown format, missing source, labels for face-api, no out', async (t) => {
  const dir = tmpDir(t);
  await t.throwsAsync(importModelFile('keras' as never, 'x', { out: 'y' }), {
    message: `Expected one of 'auto', 'onnx', 'torchvision', 'pytorch-ssd', 'face-api', 'tflite', 'caffe', 'tf', 'tfjs' for format but received "keras"`,
  });
  await t.throwsAsync(importModelFile('torchvision', undefined, { out: 'y' }), {
    message: 'Expected a source ONNX file for torchvision import but received none',
  });
  await t.throwsAsync(importModelFile('torchvision', path.join(dir, 'nope.onnx'), { out: 'y' }), { code: 'ENOENT' });
  await t.throwsAsync(importModelFile('face-api', undefined, { out: 'y', labels: ['a', 'b'] }), {
    message: /^Expected no labels for face-api import/,
  });
  await t.throwsAsync(importModelFile('face-api', undefined, { out: '' }), {
    message: 'Expected an output path for out but received none',
  });
});

test('importModelFile never replaces its source, a directory, or (without overwrite) an existing file; unknown keys throw', async (t) => {
  const dir = tmpDir(t);
  const src = path.join(dir, 'ssd-mobilenet.onnx');
  fs.writeFileSync(src, writeOnnx(tinyPytorchSsd(3000, 3)));
  const original = fs.readFileSync(src);
  const labels = ['BACKGROUND', 'a', 'b'];
  const link = path.join(dir, 'link.onnx');
  fs.symlinkSync(src, link);
  for (const out of [src, link]) {
    await t.throwsAsync(importModelFile('pytorch-ssd', src, { out, labels, overwrite: true }), {
      code: 'ERR_SSD_EDGE_INPUT',
      message: `Not writing ${out}: it is the source model`,
    });
  }
  t.true(fs.readFileSync(src).equals(original));
  const out = path.join(dir, 'm.onnx');
  fs.writeFileSync(out, 'keep me');
  await t.throwsAsync(importModelFile('pytorch-ssd', src, { out, labels }), {
    code: 'EEXIST',
    message: `Not writing ${out}: the file exists (overwrite: true replaces it)`,
  });
  t.is(fs.readFileSync(out, 'utf8'), 'keep me');
  const r = await importModelFile('pytorch-ssd', src, { out, labels, overwrite: true });
  t.is(r.bytes, fs.statSync(out).size);
  t.deepEqual((await loadModelFile(out)).spec.labels, labels);
  // a directory as out (`--out /tmp`): refused before any work, nothing written beside it
  const sub = path.join(dir, 'sub');
  fs.mkdirSync(sub);
  for (const overwrite of [false, true]) {
    await t.throwsAsync(importModelFile('face-api', undefined, { out: sub, overwrite }), {
      code: 'EISDIR',
      message: `Not writing ${sub}: it is a directory`,
    });
  }
  t.deepEqual(fs.readdirSync(dir).sort(), ['link.onnx', 'm.onnx', 'ssd-mobilenet.onnx', 'sub']);
  t.deepEqual(fs.readdirSync(sub), []);
  await t.throwsAsync(
    importModelFile('pytorch-ssd', src, { out: path.join(dir, 'n.onnx'), labels, overWrite: true } as never),
    {
      instanceOf: TypeError,
      message:
        "Unknown key 'overWrite' in options: expected one of 'out', 'labels', 'name', 'preprocess', 'rebuild', 'overwrite', 'dequantize', 'inputSize', 'channels', 'mean', 'std', 'set'",
    },
  );
  t.false(fs.existsSync(path.join(dir, 'n.onnx')));
});

test('importModelFile: face-api from its weights manifest', async (t) => {
  const dir = tmpDir(t);
  const manifest = path.join(faceApiModelDir(), 'ssd_mobilenetv1_model-weights_manifest.json');
  const r = await importModelFile('face-api', manifest, { out: path.join(dir, 'face.onnx'), name: 'faces' });
  const loaded = await loadModelFile(r.path);
  t.like(loaded.spec, { name: 'faces', architecture: 'ssd-mobilenetv1', labels: ['background', 'face'] });
  t.is(loaded.anchors!.length, 5118 * 4);
});
