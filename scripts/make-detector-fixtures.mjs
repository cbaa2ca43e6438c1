// Trims face-api's reference detections on astronaut.png to what test/e2e/detector.test.ts compares.
//   node scripts/make-detector-fixtures.mjs [REFERENCE_DIR]   (default ../shared/reference)
// → test/fixtures/detector/astronaut_faceapi_detections.json: per minConfidence run, [score, x1, y1, x2, y2] rows.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ref = path.resolve(process.argv[2] ?? path.join(root, '..', 'shared', 'reference'));
const src = JSON.parse(fs.readFileSync(path.join(ref, 'faceapi', 'astronaut_detections.json'), 'utf8'));
const out = {
  source: 'reference faceapi/astronaut_detections.json (@vladmandic/face-api 1.7.15, tfjs-backend-cpu, detectAllFaces)',
  image: src.image,
  image_hw: src.image_hw,
  columns: ['score', 'x1', 'y1', 'x2', 'y2'],
  runs: src.runs.map((r) => ({
    minConfidence: r.options.minConfidence,
    maxResults: r.options.maxResults,
    detections: r.detections.map((d) => [d.score, ...d.box_xyxy_px]),
  })),
};
const file = path.join(root, 'test', 'fixtures', 'detector', 'astronaut_faceapi_detections.json');
fs.writeFileSync(file, JSON.stringify(out) + '\n');
console.log(file, fs.statSync(file).size, 'bytes');
