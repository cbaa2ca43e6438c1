/**
 * The expected AP of the default face model on the face set (test/fixtures/eval/faces/), computed by the Python
 * oracle on the model's own detections:
 *
 *   1. runs `evaluateModel` (default model, score > 0.01, batch 8) over faces.jsonl and writes what it scored to
 *      test/fixtures/eval/faces/model-output.json: `{ settings, groundTruth, detections }` (sample ids as images);
 *   2. runs `/usr/bin/python3 scripts/eval-oracle-score.py` on it (py-faster-rcnn voc_eval and pycocotools COCOeval
 *      in numpy, from scripts/eval-oracle.py), which writes test/fixtures/eval/faces/expected.json.
 *
 *   node --import=tsx scripts/make-eval-faces-expected.ts        (after scripts/make-eval-faces.ts)
 *
 * The tests compare `evaluateModel`'s and `ssd-edge eval`'s numbers with expected.json within 1e-6, and the model's
 * detections now with model-output.json (a changed model or postprocess shows up there first).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openDataset } from '../lib/data/index.ts';
import { Detector } from '../lib/detector/detector.ts';
import { evaluateModel } from '../lib/eval/run.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dir = path.join(root, 'test/fixtures/eval/faces');
const detector = await Detector.load(undefined, { threads: 1 });
try {
  const dataset = await openDataset(path.join(dir, 'faces.jsonl'));
  const r = await evaluateModel(detector, dataset);
  const out = path.join(dir, 'model-output.json');
  const { settings, groundTruth, detections } = r;
  fs.writeFileSync(out, `${JSON.stringify({ model: 'ssd-mobilenetv1-face', settings, groundTruth, detections })}\n`);
  console.log(`${path.relative(root, out)}: ${detections.reduce((a, d) => a + d.detections.length, 0)} detections`);
  console.log(`evaluateModel: ap50 ${r.ap50} map ${r.map} ap75 ${r.ap75}`);
  execFileSync(
    '/usr/bin/python3',
    [path.join(root, 'scripts/eval-oracle-score.py'), out, path.join(dir, 'expected.json')],
    {
      stdio: 'inherit',
    },
  );
} finally {
  await detector.dispose();
}
