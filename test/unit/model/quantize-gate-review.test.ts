/**
 * Regression found by review: `model quantize --eval` warned "int8 loses 1.00 points of mAP (…; threshold 1)" when the
 * loss was exactly 1 point, because 100 × (0.5731 − 0.5631) is 1.0000000000000009 in floating point.
 */
import test from 'ava';
import { compareScores } from '../../../lib/model/quantize/gate.ts';

test('compareScores: a loss of exactly the threshold (up to float noise) does not warn; more does', (t) => {
  t.true(100 * (0.5731 - 0.5631) > 1); // the noise this guards against
  const same = compareScores({ ap50: 0.8367, map: 0.5731 }, { ap50: 0.8367, map: 0.5631 }, 1);
  t.deepEqual(same.warnings, []);
  t.is(same.lossPoints.ap50, 0);
  const more = compareScores({ ap50: 0.8367, map: 0.5731 }, { ap50: 0.8167, map: 0.563 }, 1);
  t.deepEqual(more.warnings, [
    'int8 loses 2.00 points of AP50 (float 83.67, int8 81.67; threshold 1)',
    'int8 loses 1.01 points of mAP (float 57.31, int8 56.30; threshold 1)',
  ]);
  // a gain is never a loss; a NaN score warns
  t.deepEqual(compareScores({ ap50: 0.5, map: 0.5 }, { ap50: 0.6, map: 0.6 }, 0).warnings, []);
  t.is(compareScores({ ap50: Number.NaN, map: 0.5 }, { ap50: 0.5, map: 0.5 }, 1).warnings.length, 1);
});
