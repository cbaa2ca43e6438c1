/**
 * `npm run bench`: runs every benchmark, prints a summary and writes bench/results/<name>.json.
 * `npm run bench -- core` runs one. Close other programs first: numbers are medians, but a busy machine shifts them.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { machine } from './measure.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const only = process.argv.slice(2);
const suites: Record<string, () => Promise<unknown>> = {
  core: async () => (await import('./core.ts')).benchCore(),
  nms: async () => (await import('./core.ts')).benchNms(),
  detector: async () => (await import('./detector.ts')).benchDetector(),
  'model-load': async () => (await import('./model-load.ts')).benchModelLoad(),
  'eval-model': async () => (await import('./eval-model.ts')).benchEvalModel(),
  eval: async () => (await import('./eval.ts')).benchEval(),
  int8: async () => (await import('./int8.ts')).benchInt8(),
  augment: async () => (await import('./augment.ts')).benchAugment(),
  train: async () => (await import('./train.ts')).benchTrain(),
  'train-kernels': async () => (await import('./train-kernels.ts')).benchTrainKernels(),
  stream: async () => {
    const m = await import('./stream.ts');
    return { every: await m.benchStream(), latest: await m.benchLatest() };
  },
};

fs.mkdirSync(path.join(here, 'results'), { recursive: true });
for (const [name, run] of Object.entries(suites)) {
  if (only.length && !only.includes(name)) continue;
  console.log(`\n# ${name}`);
  const result = { date: new Date().toISOString(), machine: machine(), results: await run() };
  fs.writeFileSync(path.join(here, 'results', `${name}.json`), JSON.stringify(result, null, 2) + '\n');
  console.log(`→ bench/results/${name}.json`);
}

// Real third-party models (issue 10): scripts of their own, each timing ssd-edge and the original runtime (OpenCV dnn
// through /usr/bin/python3's cv2, where it can run the format) in one run and writing bench/results/<name>.json. The
// models are never in the repository: without SSD_EDGE_MODELS_DIR they are skipped, saying why.
for (const name of ['models-onnx', 'caffe', 'tf-res10', 'tflite']) {
  if (only.length && !only.includes(name)) continue;
  console.log(`\n# ${name}`);
  if (!process.env.SSD_EDGE_MODELS_DIR) {
    console.log(`skipped: ${name} measures real third-party models; set SSD_EDGE_MODELS_DIR=/path/to/shared/models`);
    continue;
  }
  const r = spawnSync(process.execPath, ['--import=tsx', path.join(here, `${name}.ts`)], { stdio: 'inherit' });
  if (r.status !== 0) {
    console.log(`${name} failed (exit ${r.status ?? r.signal})`);
    process.exitCode = 1;
  }
}
