/**
 * Native and TypeScript scores agree bit for bit for every class count (softmax sums in order below 8 classes and
 * in torch's 8-lane order from 8 on; sigmoid per logit), on every SIMD level; NaN box deltas stay NaN on every level.
 */
import test from 'ava';
import {
  backend,
  capabilities,
  decodeBoxes,
  postprocessDetections,
  setSimd,
  type SimdLevel,
} from '../../../lib/index.ts';
import { decodeBoxesTs, postprocessDetectionsTs } from '../../../lib/reference.ts';
import { mulberry32 } from '../../helpers/random.ts';

if (backend !== 'native') {
  test('native/TS exactness: skipped — the addon is not loaded', (t) => t.pass());
} else {
  const levels = capabilities().supported as SimdLevel[];
  test.after.always(() => setSimd('auto'));

  for (const scoring of ['softmax', 'sigmoid'] as const) {
    test(`${scoring} postprocess scores are bit-identical to the TS twin for C = 1…24 on ${levels.join(', ')}`, (t) => {
      const rnd = mulberry32(7);
      for (let C = 1; C <= 24; C++) {
        const N = 97;
        const classLogits = Float32Array.from({ length: N * C }, () => (rnd() - 0.5) * 12);
        const boxRegression = Float32Array.from({ length: 4 * N }, () => rnd() - 0.5);
        const anchors = Float32Array.from({ length: 4 * N }, (_, i) => (i % 4 < 2 ? rnd() : 0.05 + 0.3 * rnd()));
        const options = {
          scoring,
          backgroundIndex: C > 1 ? 0 : -1,
          scoreThresh: 0,
          topkCandidates: Infinity,
          detectionsPerImg: Infinity,
          nmsThresh: 1,
        };
        const input = { boxRegression, classLogits, anchors, numClasses: C };
        const ts = postprocessDetectionsTs(input, options)[0];
        for (const level of levels) {
          setSimd(level);
          const nat = postprocessDetections(input, options)[0];
          t.deepEqual([...nat.scores], [...ts.scores], `C=${C} ${level}`);
          t.deepEqual([...nat.labels], [...ts.labels], `C=${C} ${level}`);
        }
      }
    });
  }

  test('all-equal logits (an untrained SSDLite: every score 1/91) keep the lowest anchors per class, as the TS twin', (t) => {
    const N = 700,
      C = 91;
    const input = {
      boxRegression: Float32Array.from({ length: 4 * N }, (_, i) => Math.sin(i) * 0.3),
      classLogits: new Float32Array(N * C).fill(0.25),
      anchors: Float32Array.from({ length: 4 * N }, (_, i) => (i % 4 < 2 ? (i * 0.618) % 1 : 0.1 + ((i * 0.31) % 0.3))),
      numClasses: C,
    };
    const options = { scoreThresh: 0.001, nmsThresh: 0.55, topkCandidates: 300, detectionsPerImg: 300 };
    const ts = postprocessDetectionsTs(input, options)[0];
    for (const level of levels) {
      setSimd(level);
      const nat = postprocessDetections(input, options)[0];
      t.is(nat.scores.length, 300);
      t.deepEqual([...nat.labels], [...ts.labels], level);
      t.deepEqual([...nat.boxes], [...ts.boxes], level);
    }
  });

  test('NaN dw/dh decode to NaN boxes on every level, as in the TS twin (not the clamp value)', (t) => {
    const deltas = new Float32Array([0, 0, NaN, 0, 0, 0, 0, NaN, 1, 1, NaN, NaN]);
    const anchors = new Float32Array([0.5, 0.5, 0.2, 0.2, 0.3, 0.3, 0.1, 0.1, 0.5, 0.5, 0.1, 0.1]);
    const ts = decodeBoxesTs(deltas, anchors, { anchorFormat: 'cxcywh' });
    for (const level of levels) {
      setSimd(level);
      const nat = decodeBoxes(deltas, anchors, { anchorFormat: 'cxcywh' });
      t.deepEqual([...nat].map(Number.isNaN), [...ts].map(Number.isNaN), level);
      t.true(Number.isNaN(nat[0]) && Number.isNaN(nat[5]), level);
    }
  });
}
