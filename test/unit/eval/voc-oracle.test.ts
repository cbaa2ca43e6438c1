/**
 * evaluateVoc against the Python/numpy oracle (scripts/eval-oracle.py, py-faster-rcnn voc_eval): every AP, the mAP and
 * the PR curves of every committed set (random sets with ties, duplicates, difficult boxes, empty classes and images;
 * hand-made exact-threshold boxes; real model outputs), within 1e-6, for all-point, 11-point, +1 pixels and other IoU
 * thresholds.
 */
import test, { type ExecutionContext } from 'ava';
import { evaluateVoc, type VocOptions } from '../../../lib/index.ts';
import { num, readJson } from '../../helpers/fixtures.ts';

const TOL = 1e-6;
const sets = readJson<{ sets: string[] }>('eval/index.json').sets;

function near(t: ExecutionContext, actual: number, expected: number | string, what: string): void {
  const e = num(expected);
  if (Number.isNaN(e)) t.true(Number.isNaN(actual), `${what}: expected NaN, got ${actual}`);
  else t.true(Math.abs(actual - e) <= TOL, `${what}: ${actual} vs oracle ${e}`);
}

test('the oracle sets are all there', (t) => {
  t.deepEqual(sets, [
    'random-voc',
    'random-coco',
    'random-dense',
    'random-mixed',
    'random-large',
    'thresholds',
    'real-astronaut',
  ]);
});

for (const name of sets) {
  const set = readJson(`eval/${name}.json`);
  for (const exp of set.expected.voc) {
    const options = exp.options as VocOptions;
    test(`${name}: VOC ${JSON.stringify(options)} equals the oracle`, (t) => {
      const r = evaluateVoc(set.groundTruth, set.detections, options);
      t.deepEqual(r.classes, Object.keys(exp.ap), 'classes, sorted');
      for (const c of r.classes) near(t, r.ap[c], exp.ap[c], `AP ${c}`);
      near(t, r.map, exp.map, 'mAP');
      if (exp.curves) {
        for (const c of r.classes) {
          const want = exp.curves[c];
          const got = r.curves[c];
          t.is(got.npos, want.npos, `npos ${c}`);
          t.is(got.ndet, want.ndet, `ndet ${c}`);
          t.is(got.recall.length, want.recall.length);
          want.recall.forEach((v: number | string, i: number) => near(t, got.recall[i], v, `recall ${c}[${i}]`));
          want.precision.forEach((v: number | string, i: number) =>
            near(t, got.precision[i], v, `precision ${c}[${i}]`),
          );
          t.deepEqual(Array.from(got.scores), want.scores.map(num), `scores ${c} in sorted order`);
        }
      }
    });
  }
}
