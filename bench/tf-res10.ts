/**
 * Benchmark of the TensorFlow importer's real model: OpenCV's res10 SSD300 face detector (frozen GraphDef, uint8
 * weights, + OpenCV text graph), read from SSD_EDGE_MODELS_DIR (never from the repository). Reports the import time
 * and, per detect call on examples/astronaut.jpg, the forward pass and the end-to-end time (decode + preprocess +
 * forward + postprocess) as medians of repeated runs, with the machine and its load. OpenCV dnn (the original
 * runtime) is not installed here; `tools/cvdnn_detection_output.py` in the models folder times it where it is.
 *
 *   SSD_EDGE_MODELS_DIR=/path/to/shared/models node --import=tsx bench/tf-res10.ts [--runs 20] [--json out.json]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Detector } from '../lib/detector/detector.ts';
import { importTensorflow } from '../lib/model/importers/tensorflow.ts';
import { writeOnnx } from '../lib/model/onnx.ts';
import { machine, measure, summarize } from './measure.ts';

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
for (const threads of [1, undefined]) {
  const detector = await Detector.load(file, { threads });
  const forward: number[] = [];
  const total: number[] = [];
  for (let i = 0; i < 3; i++) await detector.detect(image);
  for (let i = 0; i < runs; i++) {
    await detector.detect(image);
    forward.push(detector.timings?.forward ?? Number.NaN);
    total.push(detector.timings?.total ?? Number.NaN);
  }
  await detector.dispose();
  result[`threads ${threads ?? 'default'}`] = { forwardMs: summarize(forward), endToEndMs: summarize(total) };
}
fs.rmSync(tmp, { recursive: true, force: true });
console.log(JSON.stringify(result, null, 1));
const out = opt('--json', '');
if (out) fs.writeFileSync(out, `${JSON.stringify(result, null, 1)}\n`);
