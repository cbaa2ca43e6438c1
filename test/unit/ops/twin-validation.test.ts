/**
 * Every TS twin validates its arguments like its op: on the same bad input both throw the same error class with the
 * same message (wrong types and lengths, out-of-range numbers, unknown option keys, a Proxy around a typed array, a
 * detached typed array). The messages of the new cases are spelled out, so the shared validator is checked too.
 */
import test, { type ExecutionContext } from 'ava';
import {
  batchedNms,
  boxIou,
  decodeBoxes,
  defaultBoxes,
  encodeBoxes,
  nms,
  postprocessDetections,
  postprocessDetectionsAsync,
  softNms,
} from '../../../lib/index.ts';
import {
  batchedNmsTs,
  boxIouTs,
  decodeBoxesTs,
  defaultBoxesTs,
  encodeBoxesTs,
  hardNegativeMiningTs,
  matchAnchorsTs,
  nmsTs,
  postprocessDetectionsTs,
  softNmsTs,
  ssdLossPartsTs,
} from '../../../lib/reference.ts';
import { hardNegativeMining, matchAnchors, ssdLossParts } from '../../../lib/train/index.ts';

/** A Float32Array whose buffer has been transferred away (reads as length 0, copies throw). */
function detachedF32(n: number): Float32Array {
  const a = new Float32Array(n);
  structuredClone(a.buffer, { transfer: [a.buffer] });
  return a;
}
const proxied = <T extends object>(value: T): T => new Proxy(value, {});

const f = (...v: number[]) => Float32Array.from(v);
const BOXES = f(0, 0, 10, 10, 1, 1, 11, 11);
const SCORES = f(0.9, 0.8);
const CLASS_IDS = new Int32Array([0, 1]);

type AnyFn = (...args: any[]) => unknown;

/** Both throw, with the same class and message; returns the message. */
function sameError(t: ExecutionContext, op: AnyFn, twin: AnyFn, args: unknown[]): string {
  const a = t.throws(() => op(...args));
  const b = t.throws(() => twin(...args));
  t.is(b?.constructor, a?.constructor);
  t.is(b?.message, a?.message);
  return a?.message ?? '';
}

interface Case {
  what: string;
  args: unknown[];
  message?: string | RegExp;
}

function check(name: string, op: AnyFn, twin: AnyFn, cases: Case[]): void {
  for (const c of cases) {
    test(`${name} and its twin reject ${c.what} alike`, (t) => {
      const message = sameError(t, op, twin, c.args);
      if (typeof c.message === 'string') t.is(message, c.message);
      else if (c.message) t.regex(message, c.message);
    });
  }
}

check('boxIou', boxIou, boxIouTs, [
  {
    what: 'a of length 7',
    args: [new Float32Array(7), BOXES],
    message: 'Expected Float32Array of length 4·N for a but received Float32Array of length 7',
  },
  { what: 'b as an Array', args: [BOXES, [0, 0, 1, 1]] },
  {
    what: 'a Proxy',
    args: [proxied(BOXES), BOXES],
    message: 'Expected Float32Array of length 4·N for a but received Proxy',
  },
  {
    what: 'a detached array',
    args: [BOXES, detachedF32(8)],
    message: 'Expected Float32Array of length 4·N for b but received detached Float32Array',
  },
]);

check('defaultBoxes', defaultBoxes, defaultBoxesTs, [
  { what: 'an unknown preset', args: ['ssd512'] },
  { what: 'a negative size', args: [{ inputSize: 300, featureMaps: [{ size: -1, scale: 0.2, aspectRatios: [1] }] }] },
  {
    what: 'an unknown spec key',
    args: [{ inputSize: 300, featureMaps: [{ size: 1, scale: 0.2, aspectRatios: [1] }], clipping: 'wh' }],
    message: "Unknown key 'clipping' in spec: expected one of 'inputSize', 'featureMaps', 'clip'",
  },
  {
    what: 'an unknown feature-map key',
    args: [{ inputSize: 300, featureMaps: [{ size: 1, scale: 0.2, ratios: [2] }] }],
    message: /^Unknown key 'ratios' in featureMaps\[0\]: expected one of 'size', 'step', /,
  },
  {
    what: 'an unknown box-shape key',
    args: [{ inputSize: 300, featureMaps: [{ size: 1, boxes: [{ scale: 0.2, ratio: 2 }] }] }],
    message: "Unknown key 'ratio' in featureMaps[0].boxes[0]: expected one of 'scale', 'aspectRatio'",
  },
]);

for (const [name, op, twin, first] of [
  ['encodeBoxes', encodeBoxes, encodeBoxesTs, 'boxes'],
  ['decodeBoxes', decodeBoxes, decodeBoxesTs, 'deltas'],
] as const) {
  check(name, op, twin, [
    { what: 'anchors of another length', args: [BOXES, new Float32Array(4)] },
    { what: 'a weight of 0', args: [BOXES, BOXES, { weights: [10, 10, 0, 5] }] },
    { what: 'an unknown order', args: [BOXES, BOXES, { order: 'whxy' }] },
    {
      what: 'an unknown option key',
      args: [BOXES, BOXES, { anchorFmt: 'cxcywh' }],
      message: "Unknown key 'anchorFmt' in options: expected one of 'weights', 'order', 'clip', 'anchorFormat'",
    },
    {
      what: 'a Proxy',
      args: [proxied(BOXES), BOXES],
      message: `Expected Float32Array of length 4·N for ${first} but received Proxy`,
    },
    {
      what: 'detached anchors',
      args: [BOXES, detachedF32(8)],
      message: `Expected Float32Array of length 8 (same as ${first}) for anchors but received detached Float32Array`,
    },
  ]);
}

check('nms', nms, nmsTs, [
  { what: 'boxes of length 7', args: [new Float32Array(7), SCORES, 0.5] },
  { what: 'scores of the wrong length', args: [BOXES, f(1), 0.5] },
  { what: 'iouThreshold NaN', args: [BOXES, SCORES, NaN] },
  { what: 'topK 1.5', args: [BOXES, SCORES, 0.5, { topK: 1.5 }] },
  { what: 'options a number', args: [BOXES, SCORES, 0.5, 3] },
  {
    what: 'an unknown option key',
    args: [BOXES, SCORES, 0.5, { threshold: 0.1 }],
    message: "Unknown key 'threshold' in options: expected one of 'scoreThreshold', 'topK', 'maxOutput'",
  },
  {
    what: 'a Proxy',
    args: [proxied(BOXES), SCORES, 0.5],
    message: 'Expected Float32Array of length 4·N for boxes but received Proxy',
  },
  {
    what: 'detached boxes',
    args: [detachedF32(8), SCORES, 0.5],
    message: 'Expected Float32Array of length 4·N for boxes but received detached Float32Array',
  },
  {
    what: 'detached scores',
    args: [BOXES, detachedF32(2), 0.5],
    message: 'Expected Float32Array of length 2 (one per box) for scores but received detached Float32Array',
  },
]);

check('batchedNms', batchedNms, batchedNmsTs, [
  { what: 'classIds as Float32Array', args: [BOXES, SCORES, f(0, 1), 0.5] },
  { what: 'maxOutput -3', args: [BOXES, SCORES, CLASS_IDS, 0.5, { maxOutput: -3 }] },
  {
    what: 'an unknown option key (topK is nms-only)',
    args: [BOXES, SCORES, CLASS_IDS, 0.5, { topK: 3 }],
    message: "Unknown key 'topK' in options: expected one of 'scoreThreshold', 'maxOutput'",
  },
  {
    what: 'Proxy classIds',
    args: [BOXES, SCORES, proxied(CLASS_IDS), 0.5],
    message: 'Expected Int32Array of length 2 (one per box) for classIds but received Proxy',
  },
]);

check('softNms', softNms, softNmsTs, [
  { what: 'sigma 0', args: [BOXES, SCORES, { sigma: 0 }] },
  { what: 'iouThreshold 2', args: [BOXES, SCORES, { iouThreshold: 2 }] },
  {
    what: 'an unknown option key',
    args: [BOXES, SCORES, { method: 'gaussian' }],
    message: "Unknown key 'method' in options: expected one of 'sigma', 'scoreThreshold', 'maxOutput', 'iouThreshold'",
  },
  {
    what: 'Proxy scores',
    args: [BOXES, proxied(SCORES)],
    message: 'Expected Float32Array of length 2 (one per box) for scores but received Proxy',
  },
]);

const ANCHORS = f(0.5, 0.5, 0.2, 0.2, 0.3, 0.3, 0.4, 0.4);
const input = (over: Record<string, unknown> = {}) => ({
  boxRegression: new Float32Array(8),
  classLogits: new Float32Array(6),
  anchors: ANCHORS,
  numClasses: 3,
  ...over,
});

check('postprocessDetections', postprocessDetections, postprocessDetectionsTs, [
  { what: 'classLogits of the wrong length', args: [input({ classLogits: new Float32Array(5) })] },
  { what: 'scoreThresh 2', args: [input(), { scoreThresh: 2 }] },
  { what: 'an unknown scoring', args: [input(), { scoring: 'softplus' }] },
  {
    what: 'an unknown option key',
    args: [input(), { scoreThreshold: 0.5 }],
    message:
      "Unknown key 'scoreThreshold' in options: expected one of 'scoring', 'backgroundIndex', 'scoreThresh', 'nmsThresh', " +
      "'topkCandidates', 'detectionsPerImg', 'boxCoder', 'clipBoxes', 'boxEncoding', 'classAgnostic'",
  },
  {
    what: 'an unknown boxCoder key',
    args: [input(), { boxCoder: { weight: [1, 1, 1, 1] } }],
    message: "Unknown key 'weight' in boxCoder: expected one of 'weights', 'order', 'clip'",
  },
  {
    what: 'an unknown input key',
    args: [input({ imageSize: [[480, 640]] })],
    message:
      "Unknown key 'imageSize' in input: expected one of 'boxRegression', 'classLogits', 'anchors', 'batchSize', 'numClasses', 'imageSizes'",
  },
  {
    what: 'Proxy logits',
    args: [input({ classLogits: proxied(new Float32Array(6)) })],
    message: 'Expected Float32Array of length 6 (B·N·C) for classLogits but received Proxy',
  },
  {
    what: 'detached anchors',
    args: [input({ anchors: detachedF32(8) })],
    message: 'Expected Float32Array of length 4·N for anchors but received detached Float32Array',
  },
  {
    what: 'detached boxRegression',
    args: [input({ boxRegression: detachedF32(8) })],
    message: 'Expected Float32Array of length 8 (4·B·N) for boxRegression but received detached Float32Array',
  },
]);

test('postprocessDetectionsAsync rejects an unknown option key with the same message', async (t) => {
  const message = t.throws(() => postprocessDetections(input(), { threshold: 0.1 } as never))?.message;
  await t.throwsAsync(postprocessDetectionsAsync(input(), { threshold: 0.1 } as never), {
    instanceOf: TypeError,
    message,
  });
});

const GT = f(0, 0, 10, 10);
check('matchAnchors', matchAnchors, matchAnchorsTs, [
  { what: 'iouThreshold 1.5', args: [GT, BOXES, { iouThreshold: 1.5 }] },
  { what: 'allowLowQuality a string', args: [GT, BOXES, { allowLowQuality: 'yes' }] },
  {
    what: 'an unknown option key',
    args: [GT, BOXES, { threshold: 0.5 }],
    message: "Unknown key 'threshold' in options: expected one of 'iouThreshold', 'allowLowQuality', 'anchorFormat'",
  },
  {
    what: 'detached gtBoxes',
    args: [detachedF32(4), BOXES],
    message: 'Expected Float32Array of length 4·N for gtBoxes but received detached Float32Array',
  },
  {
    what: 'Proxy anchors',
    args: [GT, proxied(BOXES)],
    message: 'Expected Float32Array of length 4·N for anchors but received Proxy',
  },
]);

check('hardNegativeMining', hardNegativeMining, hardNegativeMiningTs, [
  { what: 'positives of another length', args: [f(1, 2, 3), new Uint8Array(2)] },
  { what: 'negPosRatio -1', args: [f(1, 2, 3), new Uint8Array(3), -1] },
  {
    what: 'Proxy positives',
    args: [f(1, 2, 3), proxied(new Uint8Array(3))],
    message: 'Expected Uint8Array or Int32Array of length 3 (one per anchor) for positives but received Proxy',
  },
  {
    what: 'detached clsLoss',
    args: [detachedF32(3), new Uint8Array(3)],
    message: 'Expected Float32Array for clsLoss but received detached Float32Array',
  },
]);

const lossImage = (over: Record<string, unknown> = {}) => ({
  classLogits: new Float32Array(6),
  boxRegression: new Float32Array(8),
  anchors: BOXES,
  numClasses: 3,
  gtBoxes: GT,
  gtLabels: new Int32Array([1]),
  ...over,
});
check('ssdLossParts', ssdLossParts, ssdLossPartsTs, [
  { what: 'a label out of range', args: [lossImage({ gtLabels: new Int32Array([3]) })] },
  { what: 'negPosRatio NaN', args: [lossImage(), { negPosRatio: NaN }] },
  {
    what: 'an unknown option key (allowLowQuality is the matcher’s)',
    args: [lossImage(), { allowLowQuality: false }],
    message:
      "Unknown key 'allowLowQuality' in options: expected one of 'iouThreshold', 'negPosRatio', 'anchorFormat', 'boxCoder'",
  },
  {
    what: 'an unknown boxCoder key',
    args: [lossImage(), { boxCoder: { clamp: 4 } }],
    message: "Unknown key 'clamp' in boxCoder: expected one of 'weights', 'order', 'clip'",
  },
  {
    what: 'detached gtBoxes',
    args: [lossImage({ gtBoxes: detachedF32(4) })],
    message: 'Expected Float32Array of length 4·N for gtBoxes but received detached Float32Array',
  },
  {
    what: 'Proxy gtLabels',
    args: [lossImage({ gtLabels: proxied(new Int32Array([1])) })],
    message: 'Expected Int32Array of length 1 (one per gt box) for gtLabels but received Proxy',
  },
]);

test('valid calls of the twins still give the ops’ results', (t) => {
  t.deepEqual(nmsTs(BOXES, SCORES, 0.5, { maxOutput: 5 }), nms(BOXES, SCORES, 0.5, { maxOutput: 5 }));
  t.deepEqual(boxIouTs(BOXES, BOXES), boxIou(BOXES, BOXES));
  t.deepEqual(matchAnchorsTs(GT, BOXES, { iouThreshold: 0.5 }), matchAnchors(GT, BOXES, { iouThreshold: 0.5 }));
});
