/**
 * The stages' contracts without a model: `finish` validates its options like `detect` does (unknown keys, ranges) and
 * fills a missing threshold or cap from the spec, rejects more transforms than output batches with a contract error,
 * and `forward` checks the length of the scores output as it does the boxes'.
 */
import test from 'ava';
import { finish, forward, type ForwardOutput } from '../../../lib/detector/stages.ts';
import { inputGeometry } from '../../../lib/image/preprocess.ts';
import type { Session } from '../../../lib/runtime/session.ts';
import { tinyDecodedSpec } from '../../helpers/tiny-detector-model.ts';

// spec: labels background/cat/dog, scoring 'none', decoded xyxy, scoreThresh 0.3, nmsThresh 0.5, detectionsPerImg 10.
const spec = tinyDecodedSpec();

/**
 * One image, 12 disjoint boxes (box k at x ∈ [k/12, (k+0.5)/12], y ∈ [0, 0.5]), class 'cat' with score 0.95 − 0.05k
 * (0.95, 0.90, …, 0.40), background the rest, 'dog' 0. Batch `batch` repeats the image.
 */
function output(batch = 1): ForwardOutput {
  const n = 12;
  const boxes = new Float32Array(batch * n * 4);
  const scores = new Float32Array(batch * n * 3);
  for (let b = 0; b < batch; b++) {
    for (let k = 0; k < n; k++) {
      boxes.set([k / n, 0, (k + 0.5) / n, 0.5], (b * n + k) * 4);
      const s = 0.95 - 0.05 * k;
      scores.set([1 - s, s, 0], (b * n + k) * 3);
    }
  }
  return { boxes, scores, batch, numBoxes: n, numClasses: 3, ms: 0 };
}

// A 120×80 source stretched to the 8×8 input: normalized x maps to 120·x pixels, y to 80·y.
const transform = inputGeometry(120, 80, spec.input);

test('finish with partial options takes the missing thresholds and cap from spec.postprocess', async (t) => {
  // Only a score threshold: the cap comes from the spec (10), not `undefined` (which used to return nothing).
  const [strict] = await finish(output(), spec, null, [transform], { scoreThreshold: 0.5 });
  // Scores 0.95 … 0.55 are > 0.5: 9 boxes (k = 0..8), under the cap of 10.
  t.is(strict.length, 9);
  t.deepEqual(
    strict.map((d) => d.label),
    Array(9).fill('cat'),
  );
  t.true(Math.abs(strict[8].score - 0.55) < 1e-6);
  t.true(Math.abs(strict[0].box.x2 - 120 * (0.5 / 12)) < 1e-3);
  t.true(Math.abs(strict[0].box.y2 - 40) < 1e-3);
  // No options: spec threshold 0.3 keeps all 12, the spec's cap of 10 keeps the 10 best.
  const [all] = await finish(output(), spec, null, [transform]);
  t.is(all.length, 10);
  t.true(Math.abs(all[9].score - 0.5) < 1e-6);
  // Only a cap.
  const [two] = await finish(output(), spec, null, [transform], { maxDetections: 2 });
  t.deepEqual(
    two.map((d) => Number(d.score.toFixed(2))),
    [0.95, 0.9],
  );
});

test('finish rejects unknown or misspelt option keys and out-of-range values like detect', async (t) => {
  await t.throwsAsync(finish(output(), spec, null, [transform], { threshold: 0.99 } as never), {
    instanceOf: TypeError,
    message:
      "Unknown key 'threshold' in options: expected one of 'scoreThreshold', 'iouThreshold', 'maxDetections', 'classFilter'",
  });
  await t.throwsAsync(finish(output(), spec, null, [transform], { scoreThreshold: 1.5 }), {
    instanceOf: RangeError,
    message: /scoreThreshold/,
  });
  await t.throwsAsync(finish(output(), spec, null, [transform], { iouThreshold: -0.1 }), {
    instanceOf: RangeError,
    message: /iouThreshold/,
  });
  await t.throwsAsync(finish(output(), spec, null, [transform], { maxDetections: -1 }), {
    instanceOf: RangeError,
    message: /maxDetections/,
  });
  await t.throwsAsync(finish(output(), spec, null, [transform], { classFilter: [1] as never }), {
    instanceOf: TypeError,
    message: /classFilter/,
  });
  await t.throwsAsync(finish(output(), spec, null, [transform], 0.5 as never), {
    instanceOf: TypeError,
    message: /options/,
  });
});

test('finish with more transforms than output batches throws a contract error, fewer drops padding slots', async (t) => {
  await t.throwsAsync(finish(output(1), spec, null, [transform, transform]), {
    instanceOf: RangeError,
    message:
      'Expected at most 1 (output.batch: one transform per image of the batch) for transforms.length but received 2',
  });
  await t.throwsAsync(finish(output(1), spec, null, transform as never), {
    instanceOf: TypeError,
    message: /^Expected Array of InputTransform/,
  });
  const results = await finish(output(3), spec, null, [transform, transform]);
  t.is(results.length, 2);
  t.deepEqual(results[1], results[0]);
});

/** A stand-in session returning the given outputs. */
function fakeSession(
  boxes: { data: Float32Array; dims: number[] },
  scores: { data: Float32Array; dims: number[] },
): Session {
  return { run: async () => ({ boxes, scores }) } as unknown as Session;
}

test('forward checks the scores output holds batch·N·C values, as it checks boxes', async (t) => {
  const input = { data: new Float32Array(3 * 64), dims: [1, 3, 8, 8] };
  const boxes = { data: new Float32Array(2 * 5 * 4), dims: [2, 5, 4] };
  // dims claim [2, 5, 3] but only 2·5·3 − 3 values came back.
  const short = fakeSession(boxes, { data: new Float32Array(2 * 5 * 3 - 3), dims: [2, 5, 3] });
  await t.throwsAsync(forward(short, spec, input), {
    instanceOf: TypeError,
    message: "Expected 30 values (shape [2, 5, 3]) in output 'scores' of tiny-decoded but received 27",
  });
  const ok = fakeSession(boxes, { data: new Float32Array(2 * 5 * 3), dims: [2, 5, 3] });
  t.like(await forward(ok, spec, input), { batch: 2, numBoxes: 5, numClasses: 3 });
});
