/**
 * The addon validates its arguments again (after the TS facade): called directly with bad arguments it throws
 * a TypeError / RangeError naming the parameter, never crashes the process. Skipped without the addon.
 */
import test from 'ava';
import { binding, type NativePostprocessOptions } from '../../../lib/binding.ts';

const box = Float32Array.from([0, 0, 1, 1]);
const one = Float32Array.from([0.5]);
const w = Float32Array.from([10, 10, 5, 5]);
/** A valid options object for the native postprocess (kept in step with NativePostprocessOptions). */
const opts: NativePostprocessOptions = {
  scoring: 'softmax',
  boxesDecoded: false,
  backgroundIndex: 0,
  scoreThresh: 0.01,
  nmsThresh: 0.45,
  topkCandidates: 400,
  detectionsPerImg: 200,
  weights: w,
  orderYx: false,
  bboxClip: Math.log(1000 / 16),
  clipBoxes: true,
};
const hw = Float32Array.from([1, 1]);

type Call = [string, (b: NonNullable<typeof binding>) => unknown, 'TypeError' | 'RangeError', string];
const calls: Call[] = [
  ['boxIou: a as Float64Array', (b) => b.boxIou(new Float64Array(4) as never, box), 'TypeError', 'a'],
  ['boxIou: b of length 3', (b) => b.boxIou(box, new Float32Array(3)), 'TypeError', 'b'],
  [
    'nms: scores length mismatch',
    (b) => b.nms(box, new Float32Array(2), 0.5, -Infinity, -1, -1),
    'TypeError',
    'scores',
  ],
  ['nms: iouThreshold NaN', (b) => b.nms(box, one, NaN, -Infinity, -1, -1), 'RangeError', 'iouThreshold'],
  ['nms: iouThreshold 2', (b) => b.nms(box, one, 2, -Infinity, -1, -1), 'RangeError', 'iouThreshold'],
  ['nms: scoreThreshold NaN', (b) => b.nms(box, one, 0.5, NaN, -1, -1), 'RangeError', 'scoreThreshold'],
  ['nms: topK 1.5', (b) => b.nms(box, one, 0.5, 0, 1.5, -1), 'RangeError', 'topK'],
  ['nms: maxOutput -2', (b) => b.nms(box, one, 0.5, 0, -1, -2), 'RangeError', 'maxOutput'],
  ['nms: boxes missing', (b) => (b.nms as (...a: unknown[]) => unknown)(), 'TypeError', 'boxes'],
  [
    'batchedNms: classIds as Uint32Array',
    (b) => b.batchedNms(box, one, new Uint32Array(1) as never, 0.5, 0, -1),
    'TypeError',
    'classIds',
  ],
  [
    'batchedNms: classIds too short',
    (b) => b.batchedNms(box, one, new Int32Array(0), 0.5, 0, -1),
    'TypeError',
    'classIds',
  ],
  ['softNms: sigma 0', (b) => b.softNms(box, one, 0, -1, 0.001, -1), 'RangeError', 'sigma'],
  ['softNms: iouThreshold 5', (b) => b.softNms(box, one, 0.5, 5, 0.001, -1), 'RangeError', 'iouThreshold'],
  [
    'encodeBoxes: anchors length mismatch',
    (b) => b.encodeBoxes(box, new Float32Array(8), false, w, false),
    'TypeError',
    'anchors',
  ],
  [
    'encodeBoxes: weights of length 3',
    (b) => b.encodeBoxes(box, box, false, new Float32Array(3), false),
    'TypeError',
    'weights',
  ],
  [
    'decodeBoxes: zero weight',
    (b) => b.decodeBoxes(box, box, false, Float32Array.from([10, 0, 5, 5]), false, 4),
    'RangeError',
    'weights',
  ],
  ['decodeBoxes: bboxClip NaN', (b) => b.decodeBoxes(box, box, false, w, false, NaN), 'RangeError', 'bboxClip'],
  ['decodeBoxes: orderYx not boolean', (b) => b.decodeBoxes(box, box, false, w, 1 as never, 4), 'TypeError', 'orderYx'],
  [
    'defaultBoxes: clipMode 3',
    (b) => b.defaultBoxes(300, 300, 3, new Float64Array(6), new Float64Array(0)),
    'RangeError',
    'clipMode',
  ],
  [
    'defaultBoxes: levels of length 5',
    (b) => b.defaultBoxes(300, 300, 0, new Float64Array(5), new Float64Array(0)),
    'TypeError',
    'levels',
  ],
  [
    'defaultBoxes: more shapes used than given',
    (b) => b.defaultBoxes(300, 300, 0, Float64Array.from([1, 1, 300, 300, 0.5, 2]), Float64Array.from([0.1, 0.1])),
    'RangeError',
    'shapes',
  ],
  [
    'defaultBoxes: NaN rows',
    (b) => b.defaultBoxes(300, 300, 0, Float64Array.from([NaN, 1, 300, 300, 0.5, 1]), Float64Array.from([0.1, 0.1])),
    'RangeError',
    'levels',
  ],
  [
    'postprocess: boxRegression too short',
    (b) =>
      b.postprocess(
        new Float32Array(0),
        Float32Array.from([0, 0]),
        Float32Array.from([0.5, 0.5, 0.1, 0.1]),
        1,
        2,
        hw,
        opts,
      ),
    'TypeError',
    'boxRegression',
  ],
  [
    'postprocess: classLogits too short',
    (b) => b.postprocess(box, Float32Array.from([0]), Float32Array.from([0.5, 0.5, 0.1, 0.1]), 1, 2, hw, opts),
    'TypeError',
    'classLogits',
  ],
  [
    'postprocess: options missing',
    (b) =>
      b.postprocess(
        box,
        Float32Array.from([0, 0]),
        Float32Array.from([0.5, 0.5, 0.1, 0.1]),
        1,
        2,
        hw,
        undefined as never,
      ),
    'TypeError',
    '',
  ],
  [
    'postprocess: nmsThresh NaN',
    (b) =>
      b.postprocess(box, Float32Array.from([0, 0]), Float32Array.from([0.5, 0.5, 0.1, 0.1]), 1, 2, hw, {
        ...opts,
        nmsThresh: NaN,
      }),
    'RangeError',
    'nmsThresh',
  ],
  ['setSimd: unknown level', (b) => b.setSimd('sse9' as never), 'RangeError', ''],
  [
    'matchAnchors: gtBoxes of length 3',
    (b) => b.matchAnchors(new Float32Array(3), box, false, 0.5, true),
    'TypeError',
    'gtBoxes',
  ],
  [
    'matchAnchors: anchors as Float64Array',
    (b) => b.matchAnchors(box, new Float64Array(4) as never, false, 0.5, true),
    'TypeError',
    'anchors',
  ],
  ['matchAnchors: iouThreshold NaN', (b) => b.matchAnchors(box, box, false, NaN, true), 'RangeError', 'iouThreshold'],
  [
    'matchAnchors: allowLowQuality not boolean',
    (b) => b.matchAnchors(box, box, false, 0.5, 1 as never),
    'TypeError',
    'allowLowQuality',
  ],
  [
    'hardNegativeMining: positives too short',
    (b) => b.hardNegativeMining(one, new Uint8Array(0), 3),
    'TypeError',
    'positives',
  ],
  [
    'hardNegativeMining: positives as Float32Array',
    (b) => b.hardNegativeMining(one, one as never, 3),
    'TypeError',
    'positives',
  ],
  [
    'hardNegativeMining: negPosRatio -1',
    (b) => b.hardNegativeMining(one, new Uint8Array(1), -1),
    'RangeError',
    'negPosRatio',
  ],
  [
    'ssdLossParts: classLogits too short',
    (b) => b.ssdLossParts(new Float32Array(1), box, box, false, box, Int32Array.from([1]), 2, 0.5, 3, w, false),
    'TypeError',
    'classLogits',
  ],
  [
    'ssdLossParts: boxRegression too short',
    (b) => b.ssdLossParts(new Float32Array(2), one, box, false, box, Int32Array.from([1]), 2, 0.5, 3, w, false),
    'TypeError',
    'boxRegression',
  ],
  [
    'ssdLossParts: numClasses 0',
    (b) => b.ssdLossParts(new Float32Array(0), box, box, false, box, Int32Array.from([1]), 0, 0.5, 3, w, false),
    'RangeError',
    'numClasses',
  ],
  [
    'ssdLossParts: label out of range',
    (b) => b.ssdLossParts(new Float32Array(2), box, box, false, box, Int32Array.from([2]), 2, 0.5, 3, w, false),
    'RangeError',
    'gtLabels',
  ],
  [
    'ssdLossParts: gtLabels too long',
    (b) => b.ssdLossParts(new Float32Array(2), box, box, false, box, new Int32Array(2), 2, 0.5, 3, w, false),
    'TypeError',
    'gtLabels',
  ],
  [
    'ssdLossParts: negPosRatio NaN',
    (b) => b.ssdLossParts(new Float32Array(2), box, box, false, box, Int32Array.from([1]), 2, 0.5, NaN, w, false),
    'RangeError',
    'negPosRatio',
  ],
  [
    'ssdLossParts: weights of length 3',
    (b) =>
      b.ssdLossParts(
        new Float32Array(2),
        box,
        box,
        false,
        box,
        Int32Array.from([1]),
        2,
        0.5,
        3,
        new Float32Array(3),
        false,
      ),
    'TypeError',
    'weights',
  ],
];

if (!binding) {
  test('native binding validation: skipped — the addon is not loaded', (t) => t.pass());
} else {
  const native = binding;
  test('native postprocess accepts the options object the invalid cases start from', (t) => {
    const out = native.postprocess(
      box,
      Float32Array.from([0, 5]),
      Float32Array.from([0.5, 0.5, 0.1, 0.1]),
      1,
      2,
      hw,
      opts,
    );
    t.is(out.length, 1);
    t.deepEqual(Array.from(out[0].labels), [1]);
  });

  for (const [what, call, type, param] of calls) {
    test(`native ${what}: ${type}${param ? ` naming ${param}` : ''}`, (t) => {
      const err = t.throws(() => call(native));
      t.is(err?.constructor.name, type, err?.message);
      if (param) t.true(err!.message.includes(param), err!.message);
    });
  }

  test('native postprocessAsync: bad arguments throw synchronously or call back with an error, never crash', async (t) => {
    const err = await new Promise<Error | null>((resolve) => {
      try {
        native.postprocessAsync(
          box,
          Float32Array.from([0]),
          Float32Array.from([0.5, 0.5, 0.1, 0.1]),
          1,
          2,
          hw,
          opts,
          (e) => resolve(e),
        );
      } catch (e) {
        resolve(e as Error);
      }
    });
    t.truthy(err);
    t.regex(err!.constructor.name, /TypeError|RangeError/);
  });
}
