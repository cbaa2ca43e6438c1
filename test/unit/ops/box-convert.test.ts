/**
 * boxConvert: hand-computed conversions between xyxy, cxcywh and xywh (torchvision `box_convert` formulas), a
 * round trip, the result is always a new array, and invalid input — a Proxy and a detached array included — is
 * reported in the project's words (not V8's "incompatible receiver" / "Cannot perform Construct on a detached
 * ArrayBuffer").
 */
import test from 'ava';
import { boxConvert } from '../../../lib/index.ts';

const f = (...v: number[]) => Float32Array.from(v);

test('hand-computed conversions', (t) => {
  const xyxy = f(10, 20, 30, 60, -4, -2, 0, 6);
  t.deepEqual(boxConvert(xyxy, 'xyxy', 'cxcywh'), f(20, 40, 20, 40, -2, 2, 4, 8));
  t.deepEqual(boxConvert(xyxy, 'xyxy', 'xywh'), f(10, 20, 20, 40, -4, -2, 4, 8));
  t.deepEqual(boxConvert(f(20, 40, 20, 40), 'cxcywh', 'xyxy'), f(10, 20, 30, 60));
  t.deepEqual(boxConvert(f(10, 20, 20, 40), 'xywh', 'xyxy'), f(10, 20, 30, 60));
  t.deepEqual(boxConvert(f(10, 20, 20, 40), 'xywh', 'cxcywh'), f(20, 40, 20, 40));
  t.deepEqual(boxConvert(f(20, 40, 20, 40), 'cxcywh', 'xywh'), f(10, 20, 20, 40));
  t.deepEqual(boxConvert(new Float32Array(0), 'xyxy', 'cxcywh'), new Float32Array(0));
});

test('same format: a copy, never the input', (t) => {
  const boxes = f(1, 2, 3, 4);
  const out = boxConvert(boxes, 'xyxy', 'xyxy');
  t.deepEqual(out, boxes);
  t.not(out, boxes);
});

test('invalid input: exact messages, Proxy and detached arrays included', (t) => {
  t.throws(() => boxConvert(new Float32Array(7), 'xyxy', 'xywh'), {
    instanceOf: TypeError,
    message: 'Expected Float32Array of length 4·N for boxes but received Float32Array of length 7',
  });
  t.throws(() => boxConvert(f(0, 0, 1, 1), 'xy' as never, 'xywh'), {
    instanceOf: TypeError,
    message: `Expected one of 'xyxy', 'cxcywh', 'xywh' for inFmt but received "xy"`,
  });
  t.throws(() => boxConvert(new Proxy(f(0, 0, 1, 1), {}), 'xyxy', 'xywh'), {
    instanceOf: TypeError,
    message: 'Expected Float32Array of length 4·N for boxes but received Proxy',
  });
  const gone = f(0, 0, 1, 1);
  structuredClone(gone.buffer, { transfer: [gone.buffer] });
  t.throws(() => boxConvert(gone, 'xyxy', 'xywh'), {
    instanceOf: TypeError,
    message: 'Expected Float32Array of length 4·N for boxes but received detached Float32Array',
  });
});
