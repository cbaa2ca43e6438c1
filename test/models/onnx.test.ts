/**
 * Conformance (`npm run test:models`): the five real UltraFace ONNX exports (pytorch-ssd family), imported with
 * recognition from the bytes and the output probe, reproduce the detections of OpenCV dnn + upstream's
 * post-processing (shared/models/ultraface/oracle, see its ORIGIN.md). Reads SSD_EDGE_MODELS_DIR; skips without it.
 *
 * - Ordinary photos (resized to the network by OpenCV's uint8 INTER_LINEAR in the oracle, by ssd-edge's float
 *   bilinear here): within 1.5 px and 0.02 in score (the issue's bound for different resize implementations).
 * - Images of exactly the network size (test/fixtures/ultraface-exact, made by scripts/make-ultraface-exact-oracles.sh
 *   with OpenCV's resize, oracles on those PNGs): ssd-edge's resize is the identity, so every row above the
 *   threshold matches within 0.1 px and 1e-3 (the issue's bound for float models), down to score 0.05, uncapped.
 * - The raw-delta trap: `version-RFB-320_simplified.onnx` must be found to hold raw deltas and decode, with the
 *   importer's priors, to the detections of `version-RFB-320.onnx` (same weights, decoding inside the graph) within
 *   1e-3 px and 1e-5 in score, and its priors equal the published ones (priors/*.f32) exactly.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ExecutionContext } from 'ava';
import { Detector } from '../../lib/detector/detector.ts';
import { importModelFiles } from '../../lib/model/import.ts';
import { ultrafacePriorSpec } from '../../lib/model/importers/pytorch-ssd.ts';
import { defaultBoxes } from '../../lib/ops/default-boxes.ts';
import { modelTest } from '../helpers/models-dir.ts';
import { compareToOracle, readOracle } from '../helpers/oracle.ts';

const FAMILY = 'ultraface';
const PROJECT = path.resolve(import.meta.dirname, '../..');

interface Variant {
  file: string;
  oracle: string;
  labels: string;
  boxes: 'decoded' | 'raw';
  scoreThreshold?: number;
}
const VARIANTS: Variant[] = [
  { file: 'version-RFB-320.onnx', oracle: 'version-RFB-320', labels: 'voc-model-labels.txt', boxes: 'decoded' },
  { file: 'version-slim-320.onnx', oracle: 'version-slim-320', labels: 'voc-model-labels.txt', boxes: 'decoded' },
  { file: 'version-RFB-640.onnx', oracle: 'version-RFB-640', labels: 'voc-model-labels.txt', boxes: 'decoded' },
  {
    file: 'version-RFB-320_simplified.onnx',
    oracle: 'version-RFB-320_simplified',
    labels: 'voc-model-labels.txt',
    boxes: 'raw',
  },
  {
    file: 'RFB-640-masked_face-v2.onnx',
    oracle: 'RFB-640-masked_face-v2',
    labels: 'masked_face-voc-model-labels.txt',
    boxes: 'decoded',
  },
  {
    file: 'RFB-640-masked_face-v2.onnx',
    oracle: 'RFB-640-masked_face-v2-thr0.05',
    labels: 'masked_face-voc-model-labels.txt',
    boxes: 'decoded',
    scoreThreshold: 0.05,
  },
];

function tmpDir(t: ExecutionContext): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssd-edge-models-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** The oracle's image: shared/reference/images (beside the models folder), or the project's examples/. */
function imagePath(dir: string, file: string): string | undefined {
  const candidates = [path.join(dir, '..', '..', 'reference', 'images', file), path.join(PROJECT, 'examples', file)];
  return candidates.find((p) => fs.existsSync(p));
}

async function importVariant(t: ExecutionContext, dir: string, v: Variant) {
  const out = path.join(tmpDir(t), 'model.onnx');
  const r = await importModelFiles([path.join(dir, v.file)], { out, labels: path.join(dir, v.labels) });
  return r;
}

for (const v of VARIANTS) {
  modelTest(
    `UltraFace ${v.oracle}: imported from the bytes, reproduces the OpenCV oracle on photos`,
    FAMILY,
    [v.file, v.labels, `oracle/${v.oracle}`],
    async (t, dir) => {
      const r = await importVariant(t, dir, v);
      t.is(r.format, 'onnx');
      t.is(r.spec.architecture, 'ultraface');
      t.is(r.spec.output.kind, v.boxes === 'raw' ? 'raw' : 'decoded');
      t.true(
        r.report.some((l) => l.startsWith('probe: box centres') && l.endsWith(`→ ${v.boxes}`)),
        r.report.join('\n'),
      );
      t.is(r.spec.input.name, 'input');
      t.deepEqual([r.spec.input.width, r.spec.input.height], v.file.includes('640') ? [640, 480] : [320, 240]);
      t.like(r.spec.postprocess, { scoreThresh: 0.7, nmsThresh: 0.3, topkCandidates: 200, scoring: 'none' });
      const detector = await Detector.load(r.path, { device: 'cpu', scoreThreshold: v.scoreThreshold });
      t.teardown(() => detector.dispose());
      const oracles = fs.readdirSync(path.join(dir, 'oracle', v.oracle)).filter((f) => f.endsWith('.json'));
      t.true(oracles.length >= 3);
      let compared = 0;
      for (const f of oracles) {
        const oracle = readOracle(path.join(dir, 'oracle', v.oracle, f));
        const image = imagePath(dir, oracle.file);
        if (!image) {
          t.log(`no image ${oracle.file} beside the models folder nor in examples/: not compared`);
          continue;
        }
        const got = await detector.detect(image);
        // rows ≥ 0.5 (the bound the shared README measured resize differences on); lower ones can swap anchors
        const c = compareToOracle(got, oracle, {
          box: 1.5,
          score: 0.02,
          minScore: Math.max(v.scoreThreshold ?? 0.7, 0.5),
        });
        t.log(
          `${oracle.file}: ${c.matched}/${oracle.detections.length} matched, max box Δ ${c.maxBoxDiff.toFixed(3)} px, max score Δ ${c.maxScoreDiff.toExponential(2)}`,
        );
        t.deepEqual(c.problems, [], `${v.oracle} ${oracle.file}`);
        compared++;
      }
      t.true(compared >= 3, 'at least three oracle images compared');
    },
  );
}

const EXACT = path.join(PROJECT, 'test', 'fixtures', 'ultraface-exact');
/**
 * `compareFrom`: rows compared from this score up. Greedy NMS decides a row only from the rows above it, so a
 * comparison restricted to scores ≥ s is exact. On astronaut-320x240 (930 rows ≥ 0.05) the rows 0.0679 and 0.0620 have
 * IoU 0.3000x: upstream's NMS adds 1e-5 to the normalized union (IoU 0.2998, kept), ssd-edge's does not
 * (IoU > 0.3, suppressed), and the chain below it differs.
 */
const EXACT_CASES: Array<{ oracle: string; variant: Variant; threshold: number; compareFrom: number }> = [
  { oracle: 'version-RFB-320', variant: VARIANTS[0], threshold: 0.7, compareFrom: 0.7 },
  { oracle: 'version-slim-320', variant: VARIANTS[1], threshold: 0.7, compareFrom: 0.7 },
  { oracle: 'version-RFB-640', variant: VARIANTS[2], threshold: 0.7, compareFrom: 0.7 },
  { oracle: 'version-RFB-320_simplified-thr0.05', variant: VARIANTS[3], threshold: 0.05, compareFrom: 0.065 },
  { oracle: 'RFB-640-masked_face-v2-thr0.05', variant: VARIANTS[4], threshold: 0.05, compareFrom: 0.05 },
];

for (const { oracle: name, variant: v, threshold, compareFrom } of EXACT_CASES) {
  modelTest(
    `UltraFace ${name}: images of the network's size reproduce the oracle within 0.1 px and 1e-3`,
    FAMILY,
    [v.file, v.labels],
    async (t, dir) => {
      const out = path.join(tmpDir(t), 'model.onnx');
      // the candidate cap lifted on import (the oracle has none): --set postprocess.topkCandidates=Infinity
      const r = await importModelFiles([path.join(dir, v.file)], {
        out,
        labels: path.join(dir, v.labels),
        set: { 'postprocess.topkCandidates': 'Infinity', 'postprocess.detectionsPerImg': 'Infinity' },
      });
      t.is(r.spec.postprocess.topkCandidates, Infinity);
      const detector = await Detector.load(r.path, { device: 'cpu', scoreThreshold: threshold });
      t.teardown(() => detector.dispose());
      const folder = path.join(EXACT, 'oracle', name);
      const files = fs.readdirSync(folder);
      t.is(files.length, 2);
      for (const f of files) {
        const oracle = readOracle(path.join(folder, f));
        const got = await detector.detect(path.join(EXACT, oracle.file));
        const c = compareToOracle(got, oracle, { box: 0.1, score: 1e-3, minScore: compareFrom });
        const above = oracle.detections.filter((d) => d.score >= compareFrom).length;
        t.log(
          `${oracle.file}: ${c.matched}/${above} rows ≥ ${compareFrom} matched (oracle ${oracle.detections.length} rows, ssd-edge ${got.length}), max box Δ ${c.maxBoxDiff.toExponential(2)} px, max score Δ ${c.maxScoreDiff.toExponential(2)}`,
        );
        t.deepEqual(c.problems, [], `${name} ${oracle.file}`);
        t.true(c.matched >= above - 1, 'all rows matched (but one straddling the threshold)');
      }
    },
  );
}

modelTest(
  'UltraFace simplified (raw deltas): priors equal the published ones; decodes to the decoded export within 1e-3 px',
  FAMILY,
  [
    'version-RFB-320.onnx',
    'version-RFB-320_simplified.onnx',
    'voc-model-labels.txt',
    'priors/priors_320x240_cxcywh.f32',
  ],
  async (t, dir) => {
    for (const [w, h] of [
      [320, 240],
      [640, 480],
    ]) {
      const file = path.join(dir, 'priors', `priors_${w}x${h}_cxcywh.f32`);
      if (!fs.existsSync(file)) continue;
      const buf = fs.readFileSync(file);
      const published = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
      const ours = defaultBoxes(ultrafacePriorSpec(w, h));
      t.is(ours.length, published.length);
      let max = 0;
      for (let k = 0; k < ours.length; k++) max = Math.max(max, Math.abs(ours[k] - published[k]));
      t.true(max <= 1e-7, `priors ${w}x${h} max |Δ| ${max}`);
    }
    const decoded = await importVariant(t, dir, VARIANTS[0]);
    const raw = await importVariant(t, dir, VARIANTS[3]);
    t.is(raw.spec.output.kind, 'raw');
    const a = await Detector.load(decoded.path, { device: 'cpu', scoreThreshold: 0.05 });
    const b = await Detector.load(raw.path, { device: 'cpu', scoreThreshold: 0.05 });
    t.teardown(() => Promise.all([a.dispose(), b.dispose()]));
    for (const image of ['astronaut.png', 'coffee.png', 'chelsea.png']) {
      const p = imagePath(dir, image);
      if (!p) continue;
      const [da, db] = [await a.detect(p), await b.detect(p)];
      t.true(da.length > 0);
      t.is(db.length, da.length, image);
      da.forEach((d, k) => {
        t.is(db[k].label, d.label);
        t.true(Math.abs(db[k].score - d.score) <= 1e-5, `${image} score ${db[k].score} vs ${d.score}`);
        for (const key of ['x1', 'y1', 'x2', 'y2'] as const)
          t.true(Math.abs(db[k].box[key] - d.box[key]) <= 1e-3, `${image} ${key} ${db[k].box[key]} vs ${d.box[key]}`);
      });
    }
  },
);
