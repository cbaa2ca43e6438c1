/**
 * evaluateCoco against the Python/numpy oracle (scripts/eval-oracle.py, pycocotools COCOeval evaluate/accumulate/
 * summarize): the 12 numbers overall and per class of every committed set, within 1e-6, with the default parameters,
 * a small maxDets (the per-image cut) and other IoU thresholds.
 */
import test, { type ExecutionContext } from 'ava';
import { COCO_IOU_THRESHOLDS, COCO_RECALL_THRESHOLDS, type CocoOptions, evaluateCoco } from '../../../lib/index.ts';
import { num, readJson } from '../../helpers/fixtures.ts';

const TOL = 1e-6;
const sets = readJson<{ sets: string[] }>('eval/index.json').sets;
const KEYS = ['AP', 'AP50', 'AP75', 'APs', 'APm', 'APl', 'AR1', 'AR10', 'AR100', 'ARs', 'ARm', 'ARl'] as const;

function near(t: ExecutionContext, actual: number, expected: number | string, what: string): void {
  const e = num(expected);
  if (Number.isNaN(e)) t.true(Number.isNaN(actual), `${what}: expected NaN, got ${actual}`);
  else t.true(Math.abs(actual - e) <= TOL, `${what}: ${actual} vs oracle ${e}`);
}

test('IoU and recall thresholds are numpy.linspace exactly', (t) => {
  const set = readJson('eval/thresholds.json');
  t.deepEqual(Array.from(COCO_IOU_THRESHOLDS), set.iouThresholds);
  t.deepEqual(Array.from(COCO_RECALL_THRESHOLDS), set.recallThresholds);
});

for (const name of sets) {
  const set = readJson(`eval/${name}.json`);
  for (const exp of set.expected.coco) {
    const options = exp.options as CocoOptions;
    test(`${name}: COCO ${JSON.stringify(options)} equals the oracle`, (t) => {
      const r = evaluateCoco(set.groundTruth, set.detections, options);
      t.deepEqual(r.classes, Object.keys(exp.perClass));
      for (const k of KEYS) near(t, r[k], exp[k], k);
      for (const c of r.classes) for (const k of KEYS) near(t, r.perClass[c][k], exp.perClass[c][k], `${c} ${k}`);
    });
  }
}
