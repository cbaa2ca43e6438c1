/**
 * End to end: the ONNX model built from face-api's SSD MobileNetV1 weights reproduces face-api's raw head
 * outputs on astronaut.png (fixtures captured from @vladmandic/face-api 1.7.15 / tfjs-backend-cpu, see
 * test/fixtures/README.md and the reference README's faceapi/ section).
 *
 * Fixtures (copied from the reference data; the test never reads the shared reference folder):
 *   test/fixtures/images/astronaut.png                    512×512 RGB
 *   test/fixtures/faceapi/astronaut_box_encodings.f32     [5118,4] ty,tx,th,tw
 *   test/fixtures/faceapi/astronaut_class_logits.f32      [5118,3] (the model keeps columns 0..1)
 *   test/fixtures/faceapi/astronaut_scores.f32            [5118] sigmoid(logit[:,1])
 *   test/fixtures/default_boxes/faceapi_ssd_mobilenetv1_anchors_yxyx.f32  [5118,4]
 */
import test from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { createCanvas, loadImage } from '@napi-rs/canvas';
import * as ort from 'onnxruntime-node'; // CommonJS; Node's ESM interop exposes its named exports
import { FACEAPI_NUM_ANCHORS, importFaceApiSsdMobilenetv1 } from '../../lib/model/importers/faceapi.ts';
import { loadModelFile, readModelSpec, serializeModelSpec } from '../../lib/model/metadata.ts';
import { resolveAnchors } from '../../lib/model/spec.ts';
import { getMetadata, readOnnx, setMetadata, writeOnnx } from '../../lib/model/onnx.ts';
import { ensureDefaultModel, modelCachePath } from '../../lib/model/zoo.ts';
import { POSTPROCESS_PRESETS, postprocessDetections } from '../../lib/ops/postprocess.ts';
import { diffOfRange } from '../helpers/compare.ts';

const fixtures = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');
const N = FACEAPI_NUM_ANCHORS;

function readF32(rel: string): Float32Array {
  const b = fs.readFileSync(path.join(fixtures, rel));
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

/** sha256 of Pillow's `Image.open('astronaut.png').convert('RGB').tobytes()` (how the reference was fed). */
const PILLOW_RGB_SHA256 = 'a8c429c18afa7b0fd5673e598d73a21225d94c864a71bbb3885126fdecb41071';

/** Decode a PNG to packed RGB uint8 with @napi-rs/canvas (RGBA → drop alpha). */
async function decodeRgb(file: string): Promise<{ width: number; height: number; rgb: Uint8Array }> {
  const img = await loadImage(fs.readFileSync(file));
  const canvas = createCanvas(img.width, img.height);
  const ctx = canvas.getContext('2d');
  ctx.drawImage(img, 0, 0);
  const rgba = ctx.getImageData(0, 0, img.width, img.height).data;
  const rgb = new Uint8Array(img.width * img.height * 3);
  for (let i = 0, j = 0; i < rgba.length; i += 4, j += 3) {
    rgb[j] = rgba[i];
    rgb[j + 1] = rgba[i + 1];
    rgb[j + 2] = rgba[i + 2];
  }
  return { width: img.width, height: img.height, rgb };
}

/** HWC RGB uint8 → NCHW float32 0..255 (the model normalizes internally). */
function toNchw(rgb: Uint8Array, width: number, height: number): Float32Array {
  const plane = width * height;
  const out = new Float32Array(3 * plane);
  for (let i = 0; i < plane; i++) {
    out[i] = rgb[3 * i];
    out[plane + i] = rgb[3 * i + 1];
    out[2 * plane + i] = rgb[3 * i + 2];
  }
  return out;
}

/** Columns [0, cols) of a row-major [rows, width] matrix. */
function columns(m: Float32Array, width: number, cols: number): Float32Array {
  const out = new Float32Array((m.length / width) * cols);
  for (let r = 0; r < m.length / width; r++) out.set(m.subarray(r * width, r * width + cols), r * cols);
  return out;
}

// Build once for the whole file (in memory; ~0.2 s).
const metadata = { 'test.key': 'value', 'test.other': 'ünïcode ✓' };
const built = importFaceApiSsdMobilenetv1({ metadata });
const onnxBytes = writeOnnx(built.model);

test('decoding astronaut.png with @napi-rs/canvas matches Pillow exactly', async (t) => {
  const { width, height, rgb } = await decodeRgb(path.join(fixtures, 'images', 'astronaut.png'));
  t.is(width, 512);
  t.is(height, 512);
  t.is(createHash('sha256').update(rgb).digest('hex'), PILLOW_RGB_SHA256);
});

test('ONNX round trip: structure and metadata survive readOnnx/writeOnnx', (t) => {
  const model = readOnnx(onnxBytes);
  t.is(model.opset_import[0].version, 13);
  t.like(getMetadata(model), { ...metadata, 'ssd_edge.version': '1' });
  t.deepEqual(readModelSpec(model), built.spec);
  t.deepEqual(
    model.graph.input.map((i) => i.name),
    ['image'],
  );
  t.deepEqual(
    model.graph.output.map((o) => o.name),
    ['box_encodings', 'class_logits'],
  );
  const dims = model.graph.input[0].type?.tensor_type?.shape?.dim ?? [];
  t.deepEqual(dims, [{ dim_param: 'batch' }, { dim_value: 3 }, { dim_value: 512 }, { dim_value: 512 }]);
  // re-encoding what we read gives the same bytes
  t.true(Buffer.from(writeOnnx(model)).equals(onnxBytes)); // (t.deepEqual is too slow for 22 MB)
  setMetadata(model, { 'test.key': 'changed', added: 'x' });
  t.like(getMetadata(readOnnx(writeOnnx(model))), { 'test.key': 'changed', 'test.other': 'ünïcode ✓', added: 'x' });
});

test("anchors are face-api's Output/extra_dim, bit for bit; the spec's preset matches them within 1.2e-7", (t) => {
  const ref = readF32('default_boxes/faceapi_ssd_mobilenetv1_anchors_yxyx.f32');
  t.is(built.anchors.length, N * 4);
  t.true(Buffer.from(built.anchors.buffer).equals(Buffer.from(ref.buffer)));
  const preset = resolveAnchors(built.spec); // cxcywh
  let maxDiff = 0;
  for (let i = 0; i < N; i++) {
    const [y1, x1, y2, x2] = ref.subarray(4 * i, 4 * i + 4);
    const cxcywh = [(x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1];
    for (let k = 0; k < 4; k++) maxDiff = Math.max(maxDiff, Math.abs(preset[4 * i + k] - cxcywh[k]));
  }
  t.true(maxDiff <= 2e-7, `max diff ${maxDiff}`);
});

test('the spec: face-api preprocessing, 2 labels, face-api postprocess', (t) => {
  t.like(built.spec, {
    name: 'ssd-mobilenetv1-face',
    architecture: 'ssd-mobilenetv1',
    input: {
      name: 'image',
      height: 512,
      width: 512,
      resize: 'pad',
      interpolation: 'bilinear-asymmetric',
      mean: [0, 0, 0],
      std: [1, 1, 1],
      dynamicBatch: true,
    },
    output: { kind: 'raw', boxes: 'box_encodings', scores: 'class_logits' },
    anchors: { preset: 'tf-ssd-mobilenetv1-512' },
    labels: ['background', 'face'],
  });
  t.deepEqual(built.spec.postprocess, { ...POSTPROCESS_PRESETS.faceApi, boxEncoding: 'deltas' });
});

test('onnxruntime-node reproduces face-api raw outputs on astronaut.png', async (t) => {
  const { width, height, rgb } = await decodeRgb(path.join(fixtures, 'images', 'astronaut.png'));
  const session = await ort.InferenceSession.create(onnxBytes);
  t.deepEqual(session.inputNames, ['image']);
  const out = await session.run({ image: new ort.Tensor('float32', toNchw(rgb, width, height), [1, 3, 512, 512]) });
  t.deepEqual(out.box_encodings.dims, [1, N, 4]);
  t.deepEqual(out.class_logits.dims, [1, N, 2]); // column 2 (unused by face-api) is sliced off in the graph
  const box = out.box_encodings.data as Float32Array;
  const logits = out.class_logits.data as Float32Array;

  // Target: max |diff| ≤ 1e-4 of the reference's value range (measured: ~1.6e-6 and ~1.1e-6).
  const b = diffOfRange(box, readF32('faceapi/astronaut_box_encodings.f32'));
  const c = diffOfRange(logits, columns(readF32('faceapi/astronaut_class_logits.f32'), 3, 2));
  t.log(
    `box_encodings: max abs ${b.maxAbs.toExponential(2)}, range ${b.range.toFixed(2)}, rel ${b.rel.toExponential(2)}`,
  );
  t.log(
    `class_logits:  max abs ${c.maxAbs.toExponential(2)}, range ${c.range.toFixed(2)}, rel ${c.rel.toExponential(2)}`,
  );
  t.true(b.rel <= 1e-4, `box_encodings rel diff ${b.rel}`);
  t.true(c.rel <= 1e-4, `class_logits rel diff ${c.rel}`);

  // face-api's score = sigmoid(logit[:, 1]) (columns 0 and 2 are unused).
  const scores = new Float32Array(N);
  for (let i = 0; i < N; i++) scores[i] = 1 / (1 + Math.exp(-logits[2 * i + 1]));
  const s = diffOfRange(scores, readF32('faceapi/astronaut_scores.f32'));
  t.log(`scores: max abs ${s.maxAbs.toExponential(2)}`);
  t.true(s.maxAbs <= 1e-5, `score diff ${s.maxAbs}`);

  // Whole chain with the spec's defaults (sigmoid per column, background 0, anchors from the preset): the best
  // detection is face-api's best anchor, its box = face-api's decoded box (ymin,xmin,ymax,xmax → xyxy pixels).
  const [det] = postprocessDetections(
    {
      boxRegression: box,
      classLogits: logits,
      anchors: resolveAnchors(built.spec),
      numClasses: 2,
      imageSizes: [[height, width]],
    },
    built.spec.postprocess,
  );
  const refScores = readF32('faceapi/astronaut_scores.f32');
  const best = refScores.indexOf(Math.max(...refScores));
  const [y1, x1, y2, x2] = readF32('faceapi/astronaut_boxes_yxyx.f32').subarray(4 * best, 4 * best + 4);
  t.is(det.labels[0], 1);
  t.true(Math.abs(det.scores[0] - refScores[best]) <= 1e-5);
  const boxDiff = Math.max(
    ...[x1 * width, y1 * height, x2 * width, y2 * height].map((v, k) => Math.abs(v - det.boxes[k])),
  );
  t.log(
    `face: ${det.labels.length} detection(s) ≥ ${built.spec.postprocess.scoreThresh}, best score ${det.scores[0].toFixed(4)}, box diff ${boxDiff.toExponential(2)} px`,
  );
  t.true(boxDiff <= 0.01, `box diff ${boxDiff}`);

  // The batch dimension is symbolic: a batch of two identical images gives the same rows twice.
  const one = toNchw(rgb, width, height);
  const two = new Float32Array(2 * one.length);
  two.set(one, 0);
  two.set(one, one.length);
  const out2 = await session.run({ image: new ort.Tensor('float32', two, [2, 3, 512, 512]) });
  t.deepEqual(out2.class_logits.dims, [2, N, 2]);
  const l2 = out2.class_logits.data as Float32Array;
  t.true(diffOfRange(l2.subarray(0, 2 * N), logits).maxAbs <= 1e-4);
  t.true(diffOfRange(l2.subarray(2 * N), logits).maxAbs <= 1e-4);
});

test('ensureDefaultModel builds into $SSD_EDGE_CACHE once, reuses it, rebuilds files without current metadata', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssd-edge-cache-'));
  const saved = process.env.SSD_EDGE_CACHE;
  process.env.SSD_EDGE_CACHE = dir;
  try {
    const p = await ensureDefaultModel();
    t.is(p, path.join(dir, 'models', 'ssd-mobilenetv1-face.onnx'));
    t.is(p, modelCachePath());
    const first = fs.statSync(p);
    t.true(first.size > 1e6);
    t.is(await ensureDefaultModel(), p);
    t.is(fs.statSync(p).mtimeMs, first.mtimeMs); // not rebuilt
    const files = ['ssd-mobilenetv1-face.onnx', 'ssd-mobilenetv1-face.onnx.sha256'];
    t.deepEqual(fs.readdirSync(path.dirname(p)).sort(), files); // the model and its hash, no temp files left
    const loaded = await loadModelFile(p);
    t.is(loaded.spec.name, 'ssd-mobilenetv1-face');
    t.is(loaded.anchors?.length, 4 * N);

    // A cached file from an older converter (or without metadata) is rebuilt, even with a matching hash.
    const writeWithHash = (bytes: Uint8Array) => {
      fs.writeFileSync(p, bytes);
      fs.writeFileSync(`${p}.sha256`, `${createHash('sha256').update(bytes).digest('hex')}  ${path.basename(p)}\n`);
    };
    const old = readOnnx(fs.readFileSync(p));
    setMetadata(old, { ssd_edge: serializeModelSpec({ ...loaded.spec, converter: 'ssd-edge/face-api-importer@1' }) });
    t.is(readModelSpec(old).converter, 'ssd-edge/face-api-importer@1'); // valid, just old
    writeWithHash(writeOnnx(old));
    await ensureDefaultModel();
    t.is(readModelSpec(readOnnx(fs.readFileSync(p))).converter, built.spec.converter);
    const bare = readOnnx(fs.readFileSync(p));
    bare.metadata_props = [];
    writeWithHash(writeOnnx(bare));
    await ensureDefaultModel();
    t.is(readModelSpec(readOnnx(fs.readFileSync(p))).name, 'ssd-mobilenetv1-face');
    t.deepEqual(fs.readdirSync(path.dirname(p)).sort(), files);
  } finally {
    if (saved === undefined) delete process.env.SSD_EDGE_CACHE;
    else process.env.SSD_EDGE_CACHE = saved;
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
