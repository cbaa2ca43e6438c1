/**
 * YuFaceDetectNet v1 / v2 (Caffe SSD, libfacedetection) imported with importCaffe: import time, forward pass (ONNX
 * Runtime session.run on one 320×240 input) and end-to-end `Detector.detect` on a 600×400 photo (decode, resize,
 * forward, postprocess), against the original runtime measured in the same run — OpenCV dnn through Debian's
 * python3-opencv (bench/caffe_opencv.py: forward, and imread + blobFromImage + forward; its graph includes
 * DetectionOutput). ssd-edge is measured before and after OpenCV and the rounds pooled, so load drift hits both.
 *
 *   SSD_EDGE_MODELS_DIR=/path/to/shared/models node --import=tsx bench/caffe.ts [--runs 20]   → bench/results/caffe.json
 *
 * The models are third-party files read from SSD_EDGE_MODELS_DIR (never committed). OpenCV's numbers are left out
 * (with the reason) when /usr/bin/python3 has no cv2.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { Detector } from '../lib/detector/detector.ts';
import { importCaffe } from '../lib/model/importers/caffe.ts';
import { writeOnnx } from '../lib/model/onnx.ts';
import { fmt, machine, summarize, type Timing } from './measure.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 20;
const modelsDir = process.env.SSD_EDGE_MODELS_DIR;
if (!modelsDir) {
  console.log('skipped: SSD_EDGE_MODELS_DIR is unset');
  process.exit(0);
}
const dir = path.resolve(modelsDir, 'libfacedetection-yufacedetectnet');
const photo = [
  path.resolve(modelsDir, '..', 'reference', 'images', 'coffee.png'),
  path.resolve('examples/astronaut.jpg'),
].find((p) => fs.existsSync(p))!;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ssd-edge-bench-caffe-'));

async function timeRounds(fn: () => Promise<unknown>, runs: number): Promise<number[]> {
  for (let i = 0; i < 3; i++) await fn();
  const t: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = process.hrtime.bigint();
    await fn();
    t.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return t;
}

const results: Record<string, unknown> = {};
for (const version of ['v1', 'v2']) {
  const base = path.join(dir, `yufacedetectnet-open-${version}`);
  const prototxt = fs.readFileSync(`${base}.prototxt`, 'utf8');
  const caffemodel = fs.readFileSync(`${base}.caffemodel`);
  const importTimes: number[] = [];
  let model = importCaffe({ prototxt, caffemodel }, { labels: ['background', 'face'] }).model;
  for (let r = 0; r < 5; r++) {
    const t0 = process.hrtime.bigint();
    model = importCaffe({ prototxt, caffemodel }, { labels: ['background', 'face'] }).model;
    importTimes.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  const file = path.join(tmp, `yu-${version}.onnx`);
  fs.writeFileSync(file, writeOnnx(model));
  const session = await ort.InferenceSession.create(file);
  const detector = await Detector.load(file);
  const px = new Float32Array(3 * 240 * 320);
  for (let i = 0; i < px.length; i++) px[i] = (i * 7919) % 256;
  const feed = { data: new ort.Tensor('float32', px, [1, 3, 240, 320]) };
  const half = Math.ceil(RUNS / 2);
  const forward = await timeRounds(() => session.run(feed), half);
  const e2e = await timeRounds(() => detector.detect(photo), half);
  const cv = spawnSync(
    '/usr/bin/python3',
    [
      path.join(here, 'caffe_opencv.py'),
      `${base}.opencv.prototxt`,
      `${base}.caffemodel`,
      photo,
      '320',
      '240',
      String(RUNS),
    ],
    { encoding: 'utf8' },
  );
  forward.push(...(await timeRounds(() => session.run(feed), RUNS - half)));
  e2e.push(...(await timeRounds(() => detector.detect(photo), RUNS - half)));
  let opencv: { version?: string; threads?: number; forward?: Timing; endToEnd?: Timing; skipped?: string };
  if (cv.status === 0) {
    const o = JSON.parse(cv.stdout.trim().split('\n').pop()!);
    opencv = {
      version: o.opencv,
      threads: o.threads,
      forward: summarize(o.forward),
      endToEnd: summarize(o.end_to_end),
    };
  } else opencv = { skipped: (cv.stderr || cv.error?.message || 'failed').trim().split('\n').pop() };
  const r = {
    import: summarize(importTimes),
    forward: summarize(forward),
    endToEnd: summarize(e2e),
    opencv,
    ratios: opencv.forward
      ? {
          forward: +(summarize(forward).median / opencv.forward.median).toFixed(3),
          endToEnd: +(summarize(e2e).median / opencv.endToEnd!.median).toFixed(3),
        }
      : undefined,
  };
  results[version] = r;
  console.log(
    `YuFaceDetectNet ${version}: import ${fmt(r.import.median)}, forward ${fmt(r.forward.median)}, detect (${path.basename(photo)}) ${fmt(r.endToEnd.median)}` +
      (opencv.forward
        ? ` | OpenCV ${opencv.version} (${opencv.threads} threads): forward ${fmt(opencv.forward.median)}, imread+blob+forward ${fmt(opencv.endToEnd!.median)} | ssd-edge/OpenCV ${r.ratios!.forward} / ${r.ratios!.endToEnd}`
        : ` | OpenCV skipped: ${opencv.skipped}`),
  );
  await session.release();
}
fs.rmSync(tmp, { recursive: true, force: true });
fs.mkdirSync(path.join(here, 'results'), { recursive: true });
fs.writeFileSync(
  path.join(here, 'results', 'caffe.json'),
  `${JSON.stringify({ date: new Date().toISOString(), machine: machine(), runs: RUNS, image: path.basename(photo), results }, null, 2)}\n`,
);
console.log('→ bench/results/caffe.json');
