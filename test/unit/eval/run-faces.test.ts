/**
 * The default face model over the face set (test/fixtures/eval/faces/: 8 images made from the reference photos,
 * hand-made face boxes), through `evaluateModel`: its numbers against the Python oracle's (scripts/eval-oracle.py,
 * py-faster-rcnn voc_eval and pycocotools COCOeval in numpy) on the model's own detections, saved as fixtures by
 * scripts/make-eval-faces-expected.ts (model-output.json, expected.json).
 */
import test from 'ava';
import path from 'node:path';
import { openDataset } from '../../../lib/data/index.ts';
import { Detector } from '../../../lib/detector/detector.ts';
import { evaluateModel, scoreDetections } from '../../../lib/eval/run.ts';
import type { DetectionImage, GroundTruthImage } from '../../../lib/eval/types.ts';
import { fixturesDir, num, readJson } from '../../helpers/fixtures.ts';

const FACES = path.join(fixturesDir, 'eval', 'faces', 'faces.jsonl');
type Metrics = Record<string, number | string>;
const expected = readJson<{
  voc: {
    map: number;
    ap: Record<string, number>;
    curves: Record<string, { recall: number[]; precision: number[]; npos: number }>;
  };
  voc07: { map: number };
  coco: Metrics & { perClass: Record<string, Metrics> };
}>('eval/faces/expected.json');
const saved = readJson<{ groundTruth: GroundTruthImage[]; detections: DetectionImage[] }>(
  'eval/faces/model-output.json',
);

const near = (a: number, b: number | string, tol = 1e-6) =>
  (Number.isNaN(a) && Number.isNaN(num(b))) || Math.abs(a - num(b)) <= tol;
const COCO_KEYS = ['AP', 'AP50', 'AP75', 'APs', 'APm', 'APl', 'AR1', 'AR10', 'AR100', 'ARs', 'ARm', 'ARl'];

test('the oracle and scoreDetections agree on the saved detections (every COCO number, VOC AP and curve)', (t) => {
  const r = scoreDetections(saved.groundTruth, saved.detections);
  t.true(near(r.ap50, expected.voc.map), `${r.ap50} vs ${expected.voc.map}`);
  for (const k of COCO_KEYS) t.true(near((r.coco as unknown as Record<string, number>)[k], expected.coco[k]), k);
  const curve = r.voc.curves.face;
  t.is(curve.npos, expected.voc.curves.face.npos);
  t.is(curve.recall.length, expected.voc.curves.face.recall.length);
  t.true(curve.precision.every((p, i) => near(p, expected.voc.curves.face.precision[i], 1e-12)));
  t.true(
    near(scoreDetections(saved.groundTruth, saved.detections, { voc: { use07Metric: true } }).ap50, expected.voc07.map),
  );
});

test('evaluateModel with the default model on the face set: the oracle numbers, the same detections', async (t) => {
  const detector = await Detector.load();
  t.teardown(() => detector.dispose());
  const dataset = await openDataset(FACES);
  t.is(dataset.size, 8);
  const r = await evaluateModel(detector, dataset);
  t.deepEqual(r.missingInModel, []);
  t.deepEqual(r.extraInModel, []);
  t.is(r.images, 8);
  t.deepEqual(r.classes, ['face']);
  // the detections the fixture was scored on (same model, same postprocess): per image, same count, labels,
  // scores within 1e-4 and boxes within 0.01 px
  t.is(r.detections.length, saved.detections.length);
  r.detections.forEach((d, i) => {
    const s = saved.detections[i];
    t.is(d.image, s.image);
    t.is(d.detections.length, s.detections.length, d.image);
    const high = d.detections.filter((x) => x.score > 0.05);
    high.forEach((x, k) => {
      const y = s.detections[k];
      t.true(Math.abs(x.score - y.score) < 1e-4, `${d.image} #${k} score ${x.score} vs ${y.score}`);
      t.true(
        (x.box as number[]).every((v, j) => Math.abs(v - (y.box as number[])[j]) < 0.01),
        `${d.image} #${k} box ${x.box} vs ${y.box}`,
      );
    });
  });
  t.deepEqual(r.groundTruth, saved.groundTruth);
  // the numbers: the oracle's on those detections
  t.true(near(r.ap50, expected.voc.map), `ap50 ${r.ap50} vs ${expected.voc.map}`);
  t.true(near(r.map, expected.coco.AP), `map ${r.map} vs ${expected.coco.AP}`);
  t.true(near(r.ap75, expected.coco.AP75), `ap75 ${r.ap75} vs ${expected.coco.AP75}`);
  t.true(near(r.perClass.face.ap50, expected.voc.ap.face));
  t.true(near(r.perClass.face.map, expected.coco.perClass.face.AP));
  t.true(near(r.perClass.face.ap75, expected.coco.perClass.face.AP75));
  t.is(r.perClass.face.npos, 7);
  // a face set where the model finds most faces, with false positives at score > 0.01: neither 0 nor 1
  t.true(r.ap50 > 0.5 && r.ap50 < 1, String(r.ap50));
});

test('evaluateModel with the forward pass in a worker thread: the same numbers', async (t) => {
  const detector = await Detector.load(undefined, { worker: true });
  t.teardown(() => detector.dispose());
  t.true(detector.inWorker);
  const r = await evaluateModel(detector, await openDataset(FACES), { batchSize: 3 });
  t.true(near(r.ap50, expected.voc.map), `ap50 ${r.ap50}`);
  t.true(near(r.map, expected.coco.AP), `map ${r.map}`);
  t.true(near(r.ap75, expected.coco.AP75), `ap75 ${r.ap75}`);
});
