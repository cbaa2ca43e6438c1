/** The conformance harness's helpers (test/helpers/models-dir.ts, test/helpers/oracle.ts) on hand-made inputs. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { modelFamily, modelsDir } from '../../helpers/models-dir.ts';
import { compareToOracle, iou, type Oracle } from '../../helpers/oracle.ts';

test('modelsDir / modelFamily: the reason when unset, not a folder, or a file is missing', (t) => {
  t.deepEqual(modelsDir({}), {
    reason: 'SSD_EDGE_MODELS_DIR is not set (e.g. SSD_EDGE_MODELS_DIR=/path/to/shared/models)',
  });
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ssd-edge-models-dir-'));
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  const file = path.join(root, 'f');
  fs.writeFileSync(file, '');
  t.deepEqual(modelsDir({ SSD_EDGE_MODELS_DIR: file }), { reason: `SSD_EDGE_MODELS_DIR=${file} is not a folder` });
  t.deepEqual(modelsDir({ SSD_EDGE_MODELS_DIR: root }), { dir: root });
  fs.mkdirSync(path.join(root, 'fam'));
  fs.writeFileSync(path.join(root, 'fam', 'a.onnx'), '');
  const env = { SSD_EDGE_MODELS_DIR: root };
  t.deepEqual(modelFamily('fam', ['a.onnx'], env), { dir: path.join(root, 'fam') });
  t.deepEqual(modelFamily('fam', ['a.onnx', 'b.onnx'], env), {
    reason: `missing in ${path.join(root, 'fam')}: b.onnx`,
  });
  t.deepEqual(modelFamily('other', [], env), { reason: `${path.join(root, 'other')} does not exist` });
});

const box = (x1: number, y1: number, x2: number, y2: number) => ({ x1, y1, x2, y2 });
const oracle = (detections: Oracle['detections']): Oracle => ({
  file: 'x.png',
  width: 100,
  height: 50,
  model: 'm',
  runtime: 'r',
  preprocess: '',
  postprocess: '',
  detections,
});

test('compareToOracle: pairs by label and IoU, clips the oracle to the image, names every difference', (t) => {
  t.is(iou(box(0, 0, 10, 10), box(5, 0, 15, 10)), 50 / 150);
  const o = oracle([
    { label: 'face', score: 0.9, box: box(-5, 10, 40, 60) }, // clipped to (0, 10, 40, 50)
    { label: 'face', score: 0.8, box: box(60, 0, 90, 30) },
  ]);
  const same = compareToOracle(
    [
      { label: 'face', score: 0.8004, box: box(60.05, 0, 90, 30) },
      { label: 'face', score: 0.9, box: box(0, 10, 40, 50) },
    ],
    o,
    { box: 0.1, score: 1e-3 },
  );
  t.deepEqual(same.problems, []);
  t.is(same.matched, 2);
  t.true(Math.abs(same.maxBoxDiff - 0.05) < 1e-9);
  t.true(Math.abs(same.maxScoreDiff - 0.0004) < 1e-9);
  const off = compareToOracle(
    [
      { label: 'face', score: 0.9, box: box(0, 10, 41, 50) },
      { label: 'cat', score: 0.8, box: box(60, 0, 90, 30) },
    ],
    o,
    { box: 0.1, score: 1e-3 },
  );
  t.deepEqual(off.problems, [
    'oracle face 0.9000 [0.0, 10.0, 40.0, 50.0] vs ssd-edge face 0.9000 [0.0, 10.0, 41.0, 50.0]: box Δ 1.0000 px, IoU 0.9756, score Δ 0.00e+0',
    'oracle face 0.8000 [60.0, 0.0, 90.0, 30.0] has no match',
    'ssd-edge cat 0.8000 [60.0, 0.0, 90.0, 30.0] is not in the oracle',
  ]);
  // with iou: corners may move; rows below minScore + score tolerance may be missing on either side
  const loose = compareToOracle(
    [
      { label: 'face', score: 0.9, box: box(0, 10, 41, 50) },
      { label: 'face', score: 0.8, box: box(60, 0, 90, 30) },
      { label: 'face', score: 0.305, box: box(0, 0, 5, 5) },
    ],
    o,
    { iou: 0.9, score: 0.01, minScore: 0.3 },
  );
  t.deepEqual(loose.problems, []);
  t.is(loose.matched, 2);
});
