/**
 * Benchmark of the TensorFlow importer's real model: OpenCV's res10 SSD300 face detector (frozen GraphDef, uint8
 * weights, + OpenCV text graph), read from SSD_EDGE_MODELS_DIR (never from the repository). Reports the import time
 * and, per detect call on examples/astronaut.jpg, the forward pass and the end-to-end time (decode + preprocess +
 * forward + postprocess) as medians of repeated runs, with the machine and its load, and the original runtime in the
 * same run: OpenCV dnn through Debian's python3-opencv (bench/tf_res10_opencv.py: forward, and imread + blobFromImage
 * + forward, one JSON line), between two halves of ssd-edge's rounds so load drift hits both; left out with the reason
 * when /usr/bin/python3 has no cv2 (`--no-opencv` skips it).
 *
 *   SSD_EDGE_MODELS_DIR=/path/to/shared/models node --import=tsx bench/tf-res10.ts [--runs 20] [--json out.json]
 *     → bench/results/tf-res10.json unless --json names another file
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Detector } from '../lib/detector/detector.ts';
import { importTensorflow } from '../lib/model/importers/tensorflow.ts';
import { writeOnnx } from '../lib/model/onnx.ts';
import { fmt, machine, measure, summarize, type Timing } from './measure.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const k = args.indexOf(name);
  return k >= 0 && args[k + 1] ? args[k + 1] : dflt;
};

const modelsDir = process.env.SSD_EDGE_MODELS_DIR;
if (!modelsDir) {
  console.log('SSD_EDGE_MODELS_DIR is not set (e.g. SSD_EDGE_MODELS_DIR=/path/to/shared/models): nothing to measure');
  process.exit(0);
}
const dir = path.resolve(modelsDir, 'opencv-face-res10-tf-uint8');
const graph = fs.readFileSync(path.join(dir, 'opencv_face_detector_uint8.pb'));
const textGraph = fs.readFileSync(path.join(dir, 'opencv_face_detector.pbtxt'), 'utf8');
const runs = Number(opt('--runs', '20'));

const importTime = measure(() => importTensorflow({ graph, textGraph }), { runs: 5, warmup: 1 });
const { model } = importTensorflow({ graph, textGraph });
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ssd-edge-bench-tf-'));
const file = path.join(tmp, 'res10.onnx');
fs.writeFileSync(file, writeOnnx(model));
const image = path.join(root, 'examples/astronaut.jpg');
const result: Record<string, unknown> = { machine: machine(), model: 'opencv_face_detector_uint8.pb + .pbtxt' };
result.importMs = importTime;
let opencv: { version?: string; threads?: number; forward?: Timing; endToEnd?: Timing; skipped?: string } = {
  skipped: '--no-opencv',
};
for (const threads of [1, undefined]) {
  const detector = await Detector.load(file, { threads });
  const forward: number[] = [];
  const total: number[] = [];
  const rounds = async (n: number) => {
    for (let i = 0; i < n; i++) {
      await detector.detect(image);
      forward.push(detector.timings?.forward ?? Number.NaN);
      total.push(detector.timings?.total ?? Number.NaN);
    }
  };
  for (let i = 0; i < 3; i++) await detector.detect(image);
  await rounds(Math.ceil(runs / 2));
  // OpenCV dnn between the two halves, once (with the default-threads detector, as OpenCV uses its default too)
  if (threads === undefined && !args.includes('--no-opencv')) {
    const cv = spawnSync(
      '/usr/bin/python3',
      [
        path.join(root, 'bench', 'tf_res10_opencv.py'),
        path.join(dir, 'opencv_face_detector_uint8.pb'),
        path.join(dir, 'opencv_face_detector.pbtxt'),
        image,
        String(runs),
      ],
      { encoding: 'utf8' },
    );
    if (cv.status === 0) {
      const o = JSON.parse(cv.stdout.trim().split('\n').pop() as string);
      opencv = {
        version: o.opencv,
        threads: o.threads,
        forward: summarize(o.forward),
        endToEnd: summarize(o.end_to_end),
      };
    } else opencv = { skipped: (cv.stderr || cv.error?.message || 'failed').trim().split('\n').pop() };
  }
  await rounds(runs - Math.ceil(runs / 2));
  await detector.dispose();
  result[`threads ${threads ?? 'default'}`] = { forwardMs: summarize(forward), endToEndMs: summarize(total) };
}
result.opencv = opencv;
const ours = result['threads default'] as { forwardMs: Timing; endToEndMs: Timing };
if (opencv.forward && opencv.endToEnd)
  result.ratios = {
    forward: +(ours.forwardMs.median / opencv.forward.median).toFixed(3),
    endToEnd: +(ours.endToEndMs.median / opencv.endToEnd.median).toFixed(3),
  };
fs.rmSync(tmp, { recursive: true, force: true });
console.log(
  `res10 (TF .pb + .pbtxt): import ${fmt((result.importMs as Timing).median)}, forward ${fmt(ours.forwardMs.median)}, detect (astronaut.jpg) ${fmt(ours.endToEndMs.median)}` +
    (opencv.forward && opencv.endToEnd
      ? ` | OpenCV ${opencv.version} (${opencv.threads} threads): forward ${fmt(opencv.forward.median)}, imread+blob+forward ${fmt(opencv.endToEnd.median)}`
      : ` | OpenCV skipped: ${opencv.skipped}`),
);
const out = opt('--json', path.join(root, 'bench', 'results', 'tf-res10.json'));
fs.mkdirSync(path.dirname(out), { recursive: true });
fs.writeFileSync(out, `${JSON.stringify({ date: new Date().toISOString(), ...result }, null, 1)}\n`);
console.log(`→ ${path.relative(process.cwd(), out)}`);
