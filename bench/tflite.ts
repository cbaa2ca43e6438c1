/**
 * COCO SSD MobileNet v1 quantized (TFLite) imported two ways — kept quantized (QDQ, ONNX Runtime's integer kernels)
 * and dequantized to float — measured in the same run: forward pass (ONNX Runtime session.run on one image) and
 * end-to-end `Detector.detect` (decode, resize, forward, postprocess), alternating the two models round by round;
 * plus each one's difference to the Arm NN oracle (over its rows ≥ 0.30 and ≥ 0.35: largest score difference and
 * smallest IoU of the matched same-label detections, rows without one at IoU ≥ 0.5) and how many QLinear* kernels
 * ONNX Runtime made of the quantized graph.
 *
 *   SSD_EDGE_MODELS_DIR=/path/to/shared/models node --import=tsx bench/tflite.ts [--runs 20]   → bench/results/tflite.json
 *
 * The model is a third-party file read from SSD_EDGE_MODELS_DIR (never committed); the images are the oracle's
 * (test/fixtures/images, examples/, or ../reference/images next to the models folder). Arm NN / the TFLite runtime
 * are not installed here, so the original runtime's time is not measured.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { Detector } from '../lib/detector/detector.ts';
import { importTflite } from '../lib/model/importers/tflite.ts';
import { readLabelsFile } from '../lib/model/labels.ts';
import { readOnnx, writeOnnx } from '../lib/model/onnx.ts';
import { fmt, machine, summarize } from './measure.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 20;

const modelsDir = process.env.SSD_EDGE_MODELS_DIR;
if (!modelsDir) {
  console.log('skipped: SSD_EDGE_MODELS_DIR is unset');
  process.exit(0);
}
const dir = path.resolve(modelsDir, 'coco-ssd-mobilenet-v1-quant-tflite');
const imageOf = (file: string) =>
  [
    path.resolve('test/fixtures/images', file),
    path.resolve('examples', file),
    path.resolve(modelsDir, '..', 'reference', 'images', file),
  ].find((p) => fs.existsSync(p));

type Box = { x1: number; y1: number; x2: number; y2: number };
const iou = (a: Box, b: Box) => {
  const w = Math.max(0, Math.min(a.x2, b.x2) - Math.max(a.x1, b.x1));
  const h = Math.max(0, Math.min(a.y2, b.y2) - Math.max(a.y1, b.y1));
  const area = (r: Box) => (r.x2 - r.x1) * (r.y2 - r.y1);
  return (w * h) / (area(a) + area(b) - w * h);
};

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ssd-edge-bench-tflite-'));
const labels = readLabelsFile(path.join(dir, 'labelmap.txt'));
const bytes = fs.readFileSync(path.join(dir, 'detect.tflite'));
const modes = ['quantized', 'dequantized'] as const;
const files: Record<string, string> = {};
const fused: Record<string, Record<string, number>> = {};
for (const mode of modes) {
  const { model } = importTflite(bytes, { labels, dequantize: mode === 'dequantized', source: 'detect.tflite' });
  files[mode] = path.join(tmp, `${mode}.onnx`);
  fs.writeFileSync(files[mode], writeOnnx(model));
  // what ONNX Runtime runs after its graph optimizations
  const optimized = path.join(tmp, `${mode}.opt.onnx`);
  const s = await ort.InferenceSession.create(files[mode], { optimizedModelFilePath: optimized });
  await s.release();
  const counts: Record<string, number> = {};
  for (const n of readOnnx(fs.readFileSync(optimized)).graph.node) counts[n.op_type] = (counts[n.op_type] ?? 0) + 1;
  fused[mode] = counts;
}

const sessions = Object.fromEntries(
  await Promise.all(modes.map(async (m) => [m, await ort.InferenceSession.create(files[m])] as const)),
);
const detectors = Object.fromEntries(
  await Promise.all(modes.map(async (m) => [m, await Detector.load(files[m])] as const)),
);
const px = new Float32Array(300 * 300 * 3);
for (let i = 0; i < px.length; i++) px[i] = (((i * 7919) % 256) - 128) / 128;
const feed = { image: new ort.Tensor('float32', px, [1, 300, 300, 3]) };
const photo = imageOf('coffee.png') ?? imageOf('astronaut.png')!;

const forward: Record<string, number[]> = { quantized: [], dequantized: [] };
const e2e: Record<string, number[]> = { quantized: [], dequantized: [] };
for (let r = -3; r < RUNS; r++) {
  for (const m of modes) {
    let t0 = process.hrtime.bigint();
    await sessions[m].run(feed);
    const f = Number(process.hrtime.bigint() - t0) / 1e6;
    t0 = process.hrtime.bigint();
    await detectors[m].detect(photo);
    const e = Number(process.hrtime.bigint() - t0) / 1e6;
    if (r >= 0) {
      forward[m].push(f);
      e2e[m].push(e);
    }
  }
}

type OracleStats = { rows: number; maxScoreDiff: number; minIou: number; unmatched: number };
/** Difference to the oracle over its rows ≥ `min`: each matched to our same-label detection of highest IoU. */
const oracle: Record<string, { images: number; atLeast030: OracleStats; atLeast035: OracleStats }> = {};
for (const m of modes) {
  const stats = (): OracleStats => ({ rows: 0, maxScoreDiff: 0, minIou: 1, unmatched: 0 });
  const acc = { images: 0, atLeast030: stats(), atLeast035: stats() };
  for (const f of fs.readdirSync(path.join(dir, 'oracle')).filter((x) => x.endsWith('.armnn.json'))) {
    const o = JSON.parse(fs.readFileSync(path.join(dir, 'oracle', f), 'utf8'));
    const img = imageOf(o.file);
    if (!img) continue;
    acc.images++;
    const ours = await detectors[m].detect(img);
    for (const [min, st] of [
      [0.3, acc.atLeast030],
      [0.35, acc.atLeast035],
    ] as const) {
      for (const d of o.detections.filter((x: { score: number }) => x.score >= min)) {
        st.rows++;
        const same = ours.filter((x) => x.label === d.label);
        const best = same.sort((a, b) => iou(b.box, d.box) - iou(a.box, d.box))[0];
        if (!best || iou(best.box, d.box) < 0.5) {
          st.unmatched++;
          continue;
        }
        st.minIou = Math.min(st.minIou, iou(best.box, d.box));
        st.maxScoreDiff = Math.max(st.maxScoreDiff, Math.abs(best.score - d.score));
      }
    }
  }
  oracle[m] = acc;
}

const results = modes.map((m) => ({
  mode: m,
  forward: summarize(forward[m]),
  endToEnd: summarize(e2e[m]),
  oracle: oracle[m],
  qlinearKernels: Object.entries(fused[m])
    .filter(([k]) => k.startsWith('QLinear'))
    .reduce((n, [, v]) => n + v, 0),
  fileBytes: fs.statSync(files[m]).size,
}));
for (const r of results) {
  console.log(
    `${r.mode.padEnd(12)} forward ${fmt(r.forward.median)} (p10 ${fmt(r.forward.p10)}, p90 ${fmt(r.forward.p90)})  ` +
      `detect ${fmt(r.endToEnd.median)}  QLinear kernels ${r.qlinearKernels}  file ${(r.fileBytes / 1e6).toFixed(1)} MB  ` +
      `vs Arm NN (${r.oracle.images} images): ` +
      (['atLeast030', 'atLeast035'] as const)
        .map((k) => {
          const st = r.oracle[k];
          return `rows ≥ ${k === 'atLeast030' ? '0.30' : '0.35'}: ${st.rows}, max |Δscore| ${st.maxScoreDiff.toFixed(4)}, min IoU ${st.minIou.toFixed(3)}, unmatched ${st.unmatched}`;
        })
        .join('; '),
  );
}
console.log(
  `quantized / dequantized: forward ×${(results[0].forward.median / results[1].forward.median).toFixed(2)}, ` +
    `detect ×${(results[0].endToEnd.median / results[1].endToEnd.median).toFixed(2)}`,
);
for (const m of modes) await detectors[m].dispose();
fs.rmSync(tmp, { recursive: true, force: true });
fs.mkdirSync(path.join(here, 'results'), { recursive: true });
fs.writeFileSync(
  path.join(here, 'results', 'tflite.json'),
  `${JSON.stringify({ date: new Date().toISOString(), machine: machine(), results }, null, 2)}\n`,
);
console.log('→ bench/results/tflite.json');
