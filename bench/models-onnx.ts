/**
 * Real ONNX SSDs (issue 10, item 1): the five UltraFace exports imported by `importModelFiles`, timed in ssd-edge
 * (forward = one Session.run on the preprocessed tensor; end-to-end = Detector.detect on an image file: decode,
 * resize + normalize, forward, postprocess) and in the original runtime, OpenCV dnn (bench/ultraface_cv2_time.py,
 * Debian python3-opencv), in the same run, one thread each. Medians of `runs` after a warm-up.
 *
 *   SSD_EDGE_MODELS_DIR=/path/to/shared/models node --import=tsx bench/models-onnx.ts [--runs 20] [--no-opencv]
 *     → bench/results/models-onnx.json
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Detector } from '../lib/index.ts';
import { importModelFiles } from '../lib/model/import.ts';
import { Session } from '../lib/runtime/session.ts';
import { fmt, machine, measureAsync } from './measure.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const runs = Number(args[args.indexOf('--runs') + 1]) || 20;
const withOpenCv = !args.includes('--no-opencv');
const root = process.env.SSD_EDGE_MODELS_DIR;
if (!root) {
  console.log('SSD_EDGE_MODELS_DIR is not set (e.g. /path/to/shared/models): nothing to measure');
  process.exit(0);
}
const dir = path.join(root, 'ultraface');
const image = path.join(here, '..', 'examples', 'astronaut.jpg');
const models = [
  ['version-RFB-320.onnx', 'voc-model-labels.txt'],
  ['version-slim-320.onnx', 'voc-model-labels.txt'],
  ['version-RFB-320_simplified.onnx', 'voc-model-labels.txt'],
  ['version-RFB-640.onnx', 'voc-model-labels.txt'],
  ['RFB-640-masked_face-v2.onnx', 'masked_face-voc-model-labels.txt'],
];
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ssd-edge-bench-'));
const rows = [];
try {
  for (const [file, labels] of models) {
    const src = path.join(dir, file);
    if (!fs.existsSync(src)) continue;
    const t0 = process.hrtime.bigint();
    const r = await importModelFiles([src], { out: path.join(tmp, file), labels: path.join(dir, labels) });
    const importMs = Number(process.hrtime.bigint() - t0) / 1e6;
    const { width: W, height: H } = r.spec.input;
    const session = await Session.create(r.path, { device: 'cpu', threads: 1 });
    const x = { data: new Float32Array(3 * W * H).fill(0.1), dims: [1, 3, H, W] };
    const forward = await measureAsync(() => session.run({ [r.spec.input.name]: x }), { runs, warmup: 3 });
    await session.dispose();
    const detector = await Detector.load(r.path, { device: 'cpu', threads: 1 });
    const e2e = await measureAsync(() => detector.detect(image), { runs, warmup: 3 });
    await detector.dispose();
    let opencv: { forward_ms: number; end_to_end_ms: number } | null = null;
    if (withOpenCv) {
      try {
        opencv = JSON.parse(
          execFileSync(
            '/usr/bin/python3',
            [path.join(here, 'ultraface_cv2_time.py'), src, String(W), String(H), image, String(runs)],
            {
              encoding: 'utf8',
              stdio: ['ignore', 'pipe', 'ignore'],
            },
          ),
        );
      } catch (err) {
        console.log(`OpenCV side not measured: ${(err as Error).message.split('\n')[0]}`);
      }
    }
    const row = {
      model: file,
      outputs: r.spec.output.kind,
      input: `${W}x${H}`,
      importMs: +importMs.toFixed(1),
      forwardMs: +forward.median.toFixed(2),
      endToEndMs: +e2e.median.toFixed(2),
      opencvForwardMs: opencv ? +opencv.forward_ms.toFixed(2) : null,
      opencvEndToEndMs: opencv ? +opencv.end_to_end_ms.toFixed(2) : null,
    };
    rows.push(row);
    console.log(
      `${file.padEnd(32)} ${row.input} ${row.outputs.padEnd(7)} import ${fmt(importMs)}  forward ${fmt(forward.median)}  end-to-end ${fmt(e2e.median)}` +
        (opencv ? `  | OpenCV dnn forward ${fmt(opencv.forward_ms)}  end-to-end ${fmt(opencv.end_to_end_ms)}` : ''),
    );
  }
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}
fs.mkdirSync(path.join(here, 'results'), { recursive: true });
fs.writeFileSync(
  path.join(here, 'results', 'models-onnx.json'),
  `${JSON.stringify({ machine: machine(), runs, threads: 1, image: 'examples/astronaut.jpg', rows }, null, 2)}\n`,
);
