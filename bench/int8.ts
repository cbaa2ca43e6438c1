/**
 * INT8 benchmark (issue 11): float vs int8 in the same process, runs interleaved (float, int8, float, …) so machine
 * load hits both alike; medians.
 *
 * - forward: `Session.run` on a preprocessed photo, the face model (ssd-mobilenetv1-face, 512²) and SSD300-VGG16
 *   (torchvision's export from the cache, `$SSD_EDGE_CACHE/torchvision/ssd300_vgg16_tamed.onnx` from
 *   `/usr/bin/python3 scripts/export-torchvision-ssd.py`: torchvision's graph with tamed random weights, real dims and
 *   FLOPs), both quantized here (minmax, heads kept float) on the face set's images, and SSD300 with every conv
 *   quantized (`keepFloat: []`);
 * - end to end: `Detector.detect` on raw RGB frames (640×480, decode-free: preprocess + forward + postprocess);
 * - file sizes; AP50 / mAP on the face set (test/fixtures/eval/faces) for float, int8 and int8 with --reduce-range on;
 *   detections ≥ 0.5 of the float model on the test images that int8 loses (same label, IoU ≥ 0.5, score ≥ 0.5);
 * - SSD300 with the heads' weights stored int8 (`int8Weights`: weight-only, float compute): size and forward;
 * - with SSD_EDGE_MODELS_DIR set: OpenCV's res10 imported from TensorFlow, float vs int8 forward, size, AP.
 *
 *   [SSD_EDGE_MODELS_DIR=…/models] node --import=tsx bench/int8.ts [--runs 30]      → bench/results/int8.json
 *   (or: npm run bench -- int8)
 *
 * `--reduce-range on` changes the weights (7-bit), not the kernels ONNX Runtime picks for this CPU: its speed row
 * here is this CPU's; its accuracy rows are what an AVX2-only device gets.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createCanvas, loadImage } from '@napi-rs/canvas';
import { Detector, type Detection } from '../lib/detector/detector.ts';
import { prepare } from '../lib/detector/stages.ts';
import { openDataset } from '../lib/data/index.ts';
import { evaluateModel } from '../lib/eval/run.ts';
import { importModelFile, importModelFiles } from '../lib/model/import.ts';
import { loadModelFile } from '../lib/model/metadata.ts';
import { int8Support, quantizeModel } from '../lib/model/quantize/index.ts';
import { cacheRoot, ensureDefaultModel } from '../lib/model/zoo.ts';
import { Session } from '../lib/runtime/session.ts';
import type { TensorMap } from '../lib/runtime/tensor.ts';
import { machine, summarize, type Timing } from './measure.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const FACES = path.join(root, 'test/fixtures/eval/faces');
const CALIBRATION = path.join(FACES, 'images');
const PHOTO = path.join(root, 'test/fixtures/images/astronaut.png');
const TEST_IMAGES = [
  PHOTO,
  ...['astronaut-pair.jpg', 'astronaut-padded.jpg', 'chelsea.jpg', 'coffee.jpg'].map((f) =>
    path.join(FACES, 'images', f),
  ),
];

/** Median ms of `a` and `b`, interleaved. */
async function interleaved(
  a: () => Promise<unknown>,
  b: () => Promise<unknown>,
  runs: number,
): Promise<{ float: Timing; int8: Timing; speedup: number }> {
  for (let i = 0; i < 3; i++) {
    await a();
    await b();
  }
  const ta: number[] = [];
  const tb: number[] = [];
  for (let r = 0; r < runs; r++) {
    let t = performance.now();
    await a();
    ta.push(performance.now() - t);
    t = performance.now();
    await b();
    tb.push(performance.now() - t);
  }
  const float = summarize(ta);
  const int8 = summarize(tb);
  return { float, int8, speedup: float.median / int8.median };
}

async function forwardBench(floatPath: string, int8Path: string, runs: number) {
  const { spec } = await loadModelFile(floatPath);
  const prepared = await prepare([PHOTO], spec.input);
  const feeds: TensorMap = { [spec.input.name]: prepared.input };
  const [f, q] = [
    await Session.create(floatPath, { device: 'cpu' }),
    await Session.create(int8Path, { device: 'cpu' }),
  ];
  try {
    return await interleaved(
      () => f.run(feeds),
      () => q.run(feeds),
      runs,
    );
  } finally {
    await Promise.all([f.dispose(), q.dispose()]);
  }
}

async function rawFrame(width: number, height: number) {
  const canvas = createCanvas(width, height);
  canvas.getContext('2d').drawImage(await loadImage(PHOTO), 80, 0, 480, 480);
  const rgba = canvas.getContext('2d').getImageData(0, 0, width, height).data;
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0, j = 0; i < rgba.length; i += 4, j += 3) rgb.set(rgba.subarray(i, i + 3), j);
  return { data: rgb, width, height, channels: 3 as const };
}

async function endToEnd(floatPath: string, int8Path: string, runs: number) {
  const frame = await rawFrame(640, 480);
  const [f, q] = [await Detector.load(floatPath, { device: 'cpu' }), await Detector.load(int8Path, { device: 'cpu' })];
  try {
    return await interleaved(
      () => f.detect(frame),
      () => q.detect(frame),
      runs,
    );
  } finally {
    await Promise.all([f.dispose(), q.dispose()]);
  }
}

async function accuracy(model: string) {
  const d = await Detector.load(model, { device: 'cpu' });
  try {
    const r = await evaluateModel(d, await openDataset(path.join(FACES, 'faces.jsonl')));
    return { ap50: r.ap50, map: r.map };
  } finally {
    await d.dispose();
  }
}

const iou = (a: Detection['box'], b: Detection['box']) => {
  const w = Math.max(0, Math.min(a.x2, b.x2) - Math.max(a.x1, b.x1));
  const h = Math.max(0, Math.min(a.y2, b.y2) - Math.max(a.y1, b.y1));
  const area = (r: Detection['box']) => (r.x2 - r.x1) * (r.y2 - r.y1);
  return (w * h) / (area(a) + area(b) - w * h);
};

/** Float detections ≥ 0.5 on the test images, and those int8 loses; median box shift and score change of the rest. */
async function detectionsKept(floatPath: string, int8Path: string) {
  const [f, q] = [await Detector.load(floatPath), await Detector.load(int8Path)];
  let total = 0;
  const lost: string[] = [];
  const shifts: number[] = [];
  const scoreChanges: number[] = [];
  try {
    for (const image of TEST_IMAGES) {
      const fd = await f.detect(image, { scoreThreshold: 0.5 });
      const qd = await q.detect(image, { scoreThreshold: 0.5 });
      for (const d of fd) {
        total++;
        const m = qd.find((e) => e.classId === d.classId && iou(e.box, d.box) >= 0.5);
        if (!m) {
          lost.push(`${path.basename(image)} ${d.label} ${d.score.toFixed(3)}`);
          continue;
        }
        const b = d.box;
        const c = m.box;
        shifts.push(
          Math.max(Math.abs(b.x1 - c.x1), Math.abs(b.y1 - c.y1), Math.abs(b.x2 - c.x2), Math.abs(b.y2 - c.y2)),
        );
        scoreChanges.push(Math.abs(d.score - m.score));
      }
    }
  } finally {
    await Promise.all([f.dispose(), q.dispose()]);
  }
  const med = (v: number[]) => (v.length ? summarize(v).median : null);
  return { floatDetections: total, lost, medianBoxShiftPx: med(shifts), medianScoreChange: med(scoreChanges) };
}

async function ssd300(tmp: string): Promise<{ path: string; source: string }> {
  const exported = path.join(cacheRoot(), 'torchvision', 'ssd300_vgg16_tamed.onnx');
  if (fs.existsSync(exported)) {
    const r = await importModelFile('torchvision', exported, { out: path.join(tmp, 'ssd300.onnx') });
    return { path: r.path, source: exported };
  }
  throw new Error(
    `${exported} missing: make it with /usr/bin/python3 scripts/export-torchvision-ssd.py (SSD300 row needs real dims)`,
  );
}

/** OpenCV's res10 (TensorFlow import) from SSD_EDGE_MODELS_DIR, or null when that is not set (its row is skipped). */
async function res10(tmp: string): Promise<string | null> {
  const dir = process.env.SSD_EDGE_MODELS_DIR;
  if (!dir) return null;
  const d = path.join(dir, 'opencv-face-res10-tf-uint8');
  const r = await importModelFiles(
    [path.join(d, 'opencv_face_detector_uint8.pb'), path.join(d, 'opencv_face_detector.pbtxt')],
    { out: path.join(tmp, 'res10.onnx'), labels: path.join(d, 'labels.txt') },
  );
  return r.path;
}

export async function benchInt8(runs = 30) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ssd-edge-int8-bench-'));
  try {
    const face = await ensureDefaultModel();
    const quantize = async (model: string, out: string, reduceRange: 'on' | 'off') => {
      const q = await quantizeModel(model, CALIBRATION, { reduceRange });
      fs.writeFileSync(out, q.bytes);
      return q;
    };
    const faceInt8 = path.join(tmp, 'face.int8.onnx');
    const faceInt8Rr = path.join(tmp, 'face.int8.rr.onnx');
    const t0 = performance.now();
    const qFace = await quantize(face, faceInt8, 'off');
    const quantizeSeconds = (performance.now() - t0) / 1000;
    await quantize(face, faceInt8Rr, 'on');
    const size = (f: string) => fs.statSync(f).size;

    console.log('face model: forward…');
    const faceForward = await forwardBench(face, faceInt8, runs);
    const faceForwardRr = await forwardBench(face, faceInt8Rr, runs);
    console.log('face model: end to end on raw frames…');
    const faceE2e = await endToEnd(face, faceInt8, runs);
    console.log('face model: accuracy…');
    const acc = {
      float: await accuracy(face),
      int8: await accuracy(faceInt8),
      int8ReduceRange: await accuracy(faceInt8Rr),
    };
    const kept = {
      int8: await detectionsKept(face, faceInt8),
      int8ReduceRange: await detectionsKept(face, faceInt8Rr),
    };

    console.log('SSD300-VGG16: quantize + forward…');
    const s = await ssd300(tmp);
    const ssdInt8 = path.join(tmp, 'ssd300.int8.onnx');
    await quantize(s.path, ssdInt8, 'off');
    const ssdForward = await forwardBench(s.path, ssdInt8, Math.max(10, Math.round(runs / 3)));
    // every conv quantized (heads too): the smaller, faster file; its accuracy is the application's to check
    const ssdInt8All = path.join(tmp, 'ssd300.int8.all.onnx');
    fs.writeFileSync(
      ssdInt8All,
      (await quantizeModel(s.path, CALIBRATION, { reduceRange: 'off', keepFloat: [] })).bytes,
    );
    const ssdForwardAll = await forwardBench(s.path, ssdInt8All, Math.max(10, Math.round(runs / 3)));
    // heads float in compute, int8 in the file (weight-only): the smaller file at the cost of a DequantizeLinear per run
    const ssdInt8W = path.join(tmp, 'ssd300.int8.w8.onnx');
    fs.writeFileSync(
      ssdInt8W,
      (await quantizeModel(s.path, CALIBRATION, { reduceRange: 'off', int8Weights: true })).bytes,
    );
    const ssdForwardW = await forwardBench(s.path, ssdInt8W, Math.max(10, Math.round(runs / 3)));

    // OpenCV's res10 imported from TensorFlow (Conv → BiasAdd → BatchNorm → Mul → Add → Relu, folded before quantizing)
    const r10 = await res10(tmp);
    let res10Result = null;
    if (r10) {
      console.log('res10 (TensorFlow import): quantize + forward + accuracy…');
      const r10Int8 = path.join(tmp, 'res10.int8.onnx');
      const q10 = await quantize(r10, r10Int8, 'off');
      res10Result = {
        report: q10.report,
        bytes: { float: size(r10), int8: size(r10Int8), ratio: size(r10Int8) / size(r10) },
        forward: await forwardBench(r10, r10Int8, runs),
        accuracy: { float: await accuracy(r10), int8: await accuracy(r10Int8) },
      };
    }

    const result = {
      runs,
      int8Support: int8Support(),
      threads: 'default (one intra-op thread per core, spinning off)',
      face: {
        quantizeSeconds,
        note: qFace.note,
        bytes: { float: size(face), int8: size(faceInt8), ratio: size(faceInt8) / size(face) },
        forward: faceForward,
        forwardReduceRange: faceForwardRr,
        endToEndRawFrame640x480: faceE2e,
        accuracy: acc,
        detectionsKept: kept,
      },
      ssd300: {
        source: s.source,
        bytes: { float: size(s.path), int8: size(ssdInt8), ratio: size(ssdInt8) / size(s.path) },
        forward: ssdForward,
        keepFloatNone: {
          bytes: { int8: size(ssdInt8All), ratio: size(ssdInt8All) / size(s.path) },
          forward: ssdForwardAll,
        },
        int8Weights: {
          bytes: { int8: size(ssdInt8W), ratio: size(ssdInt8W) / size(s.path) },
          forward: ssdForwardW,
        },
      },
      res10: res10Result,
    };
    const f = (x: { float: Timing; int8: Timing; speedup: number }) =>
      `${x.float.median.toFixed(1)} → ${x.int8.median.toFixed(1)} ms (${x.speedup.toFixed(2)}×)`;
    console.log(`face forward ${f(faceForward)}; reduce range ${f(faceForwardRr)}`);
    console.log(`face end to end (raw 640×480) ${f(faceE2e)}`);
    console.log(
      `SSD300 forward ${f(ssdForward)}; every conv quantized ${f(ssdForwardAll)}; heads' weights int8 ${f(ssdForwardW)}`,
    );
    if (res10Result)
      console.log(
        `res10 forward ${f(res10Result.forward)}, size ${(res10Result.bytes.ratio * 100).toFixed(1)} %, AP50/mAP ${JSON.stringify(res10Result.accuracy)}`,
      );
    console.log(
      `size ${(result.face.bytes.ratio * 100).toFixed(1)} % (face), ${(result.ssd300.bytes.ratio * 100).toFixed(1)} % (SSD300), ${(result.ssd300.keepFloatNone.bytes.ratio * 100).toFixed(1)} % (SSD300, every conv)`,
    );
    console.log(`AP50/mAP ${JSON.stringify(acc)}; lost ${JSON.stringify(kept)}`);
    return result;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const k = process.argv.indexOf('--runs');
  const runs = k > 0 ? Number(process.argv[k + 1]) : 30;
  const result = { date: new Date().toISOString(), machine: machine(), results: await benchInt8(runs) };
  fs.mkdirSync(path.join(here, 'results'), { recursive: true });
  fs.writeFileSync(path.join(here, 'results', 'int8.json'), `${JSON.stringify(result, null, 2)}\n`);
  console.log('→ bench/results/int8.json');
}
