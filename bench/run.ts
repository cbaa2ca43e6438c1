/**
 * `npm run bench`: runs every benchmark, prints a summary and writes bench/results/<name>.json.
 * `npm run bench -- core` runs one. Close other programs first: numbers are medians, but a busy machine shifts them.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { machine } from './measure.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const only = process.argv.slice(2);
const suites: Record<string, () => Promise<unknown>> = {
  core: async () => (await import('./core.ts')).benchCore(),
  detector: async () => (await import('./detector.ts')).benchDetector(),
  'model-load': async () => (await import('./model-load.ts')).benchModelLoad(),
  'eval-model': async () => (await import('./eval-model.ts')).benchEvalModel(),
  eval: async () => (await import('./eval.ts')).benchEval(),
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
