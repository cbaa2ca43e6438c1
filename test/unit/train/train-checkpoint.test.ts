/**
 * lib/train/checkpoint.ts (the file format: arrays, non-finite numbers, nesting round trip exactly; a truncated, bit-
 * flipped or foreign file is refused with a CheckpointError naming it; writes are atomic and replace the previous
 * checkpoint), lib/train/cache.ts (capacity and generations) and lib/train/curve.ts (the PNG: size, and the curves
 * drawn where the data puts them).
 */
import test from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadImage, createCanvas } from '@napi-rs/canvas';
import { FeatureCache } from '../../../lib/train/cache.ts';
import {
  CheckpointError,
  decodeCheckpoint,
  encodeCheckpoint,
  readCheckpoint,
  writeCheckpoint,
} from '../../../lib/train/checkpoint.ts';
import { CURVE_COLORS, CURVE_PANEL, renderTrainingCurve } from '../../../lib/train/curve.ts';

const value = () => ({
  kind: 'ssd-edge-train',
  epoch: 3,
  rng: 'pcg32:0123456789abcdef:0000000000000037',
  weights: {
    'conv/w': { data: Float32Array.from([1.5, -2, 3e-39, Math.PI]), shape: [2, 2] },
    empty: { data: new Float32Array(0), shape: [0] },
  },
  history: [
    { epoch: 1, loss: 2.5, ap50: NaN },
    { epoch: 2, loss: Infinity, ap50: -Infinity },
  ],
  best: null,
  flags: [true, false, 'x'],
});

test('a checkpoint round-trips arrays (bit for bit), NaN/±Infinity, nesting, null', (t) => {
  const v = value();
  const back = decodeCheckpoint(encodeCheckpoint(v)) as ReturnType<typeof value>;
  t.deepEqual(Array.from(back.weights['conv/w'].data), Array.from(Float32Array.from([1.5, -2, 3e-39, Math.PI])));
  t.true(back.weights['conv/w'].data instanceof Float32Array);
  t.is(back.weights.empty.data.length, 0);
  t.deepEqual(back.weights['conv/w'].shape, [2, 2]);
  t.true(Number.isNaN(back.history[0].ap50));
  t.is(back.history[1].loss, Infinity);
  t.is(back.history[1].ap50, -Infinity);
  t.is(back.best, null);
  t.deepEqual(back.flags, [true, false, 'x']);
  t.is(back.rng, v.rng);
});

test('a truncated, corrupted or foreign file is a CheckpointError naming the file', (t) => {
  const bytes = encodeCheckpoint(value());
  t.throws(() => decodeCheckpoint(bytes.subarray(0, bytes.length - 4), 'ck.ckpt'), {
    instanceOf: CheckpointError,
    message: /^ck.ckpt is truncated or corrupt/,
  });
  t.throws(() => decodeCheckpoint(bytes.subarray(0, 20), 'ck.ckpt'), {
    instanceOf: CheckpointError,
    message: /ck.ckpt is truncated/,
  });
  const flipped = Uint8Array.from(bytes);
  flipped[flipped.length - 3] ^= 0x10;
  t.throws(() => decodeCheckpoint(flipped, 'ck.ckpt'), {
    instanceOf: CheckpointError,
    message: /do not match their checksum/,
  });
  t.throws(() => decodeCheckpoint(new TextEncoder().encode('{"not": "a checkpoint"}'), 'x.json'), {
    instanceOf: CheckpointError,
    message: 'x.json is not an ssd-edge training checkpoint',
  });
  const other = Uint8Array.from(bytes);
  other[8] = 9;
  t.throws(() => decodeCheckpoint(other, 'ck.ckpt'), {
    instanceOf: CheckpointError,
    message: /format 9; this ssd-edge reads format 1/,
  });
  t.throws(() => encodeCheckpoint({ f: () => 1 }), {
    instanceOf: TypeError,
    message: /Cannot store a value of type \[object Function\]/,
  });
});

test('writeCheckpoint replaces the previous checkpoint atomically and leaves no temporary file; a missing one reads as null', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ckpt-'));
  const file = path.join(dir, 'run', 'checkpoint.ckpt');
  t.is(await readCheckpoint(file), null);
  await writeCheckpoint(file, { epoch: 1 });
  await writeCheckpoint(file, { epoch: 2 });
  t.deepEqual(await readCheckpoint(file), { epoch: 2 });
  t.deepEqual(fs.readdirSync(path.dirname(file)), ['checkpoint.ckpt']);
  fs.rmSync(dir, { recursive: true });
});

test('feature cache: holds at most its capacity, misses another generation, replaces in place', (t) => {
  const c = new FeatureCache(2);
  const e = (id: string) => ({
    features: { data: [], dims: [] },
    targets: { labels: new Int32Array(0), locTargets: new Float32Array(0), foreground: new Uint8Array(0) },
    id,
  });
  t.true(c.put('a', 0, e('a')));
  t.true(c.put('b', 0, e('b')));
  t.false(c.put('c', 0, e('c')), 'full');
  t.is(c.get('a', 0)?.id, 'a');
  t.is(c.get('a', 1), undefined, 'variants redrawn');
  t.true(c.put('a', 1, e('a1')), 'same key replaced even when full');
  t.is(c.get('a', 1)?.id, 'a1');
  t.is(c.get('c', 0), undefined);
  t.false(c.reserve());
  t.deepEqual(c.stats, { hits: 2, misses: 2 });
});

test('curve PNG: two panels, each curve drawn where its values put it', async (t) => {
  const history = [1, 2, 3, 4].map((epoch) => ({
    epoch,
    loss: 8 / epoch,
    loc: 2 / epoch,
    conf: 6 / epoch,
    ap50: epoch / 5,
  }));
  const png = renderTrainingCurve(history);
  const img = await loadImage(png);
  t.is(img.width, 2 * CURVE_PANEL.width);
  t.is(img.height, CURVE_PANEL.height);
  const canvas = createCanvas(img.width, img.height);
  const ctx = canvas.getContext('2d');
  ctx.drawImage(img, 0, 0);
  const px = (x: number, y: number) =>
    Array.from(ctx.getImageData(Math.round(x), Math.round(y), 1, 1).data.slice(0, 3));
  const rgb = (hex: string) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  const { width: pw, height: ph, left, right, top, bottom } = CURVE_PANEL;
  // the loss panel's y axis runs to 1.05 × the largest value (8); epochs 1…4 span the x axis
  const X = (col: number, e: number) => col * pw + left + ((e - 1) / 3) * (pw - left - right);
  const Yl = (v: number) => ph - bottom - (v / (8 * 1.05)) * (ph - bottom - top);
  const Ya = (v: number) => ph - bottom - v * (ph - bottom - top);
  const close = (a: number[], b: number[]) => a.every((v, i) => Math.abs(v - b[i]) < 40);
  t.true(close(px(X(0, 2), Yl(4)), rgb(CURVE_COLORS.loss)), `total loss at epoch 2: ${px(X(0, 2), Yl(4))}`);
  t.true(close(px(X(0, 4), Yl(0.5)), rgb(CURVE_COLORS.loc)), 'loc loss at epoch 4');
  t.true(close(px(X(0, 1), Yl(6)), rgb(CURVE_COLORS.conf)), 'conf loss at epoch 1');
  t.true(close(px(X(1, 3), Ya(0.6)), rgb(CURVE_COLORS.ap50)), 'AP50 at epoch 3');
  // nothing drawn where no value lies (AP panel, AP 0.9 between epochs 1 and 2)
  t.deepEqual(px(X(1, 1.5), Ya(0.93)), [255, 255, 255]);
  t.throws(() => renderTrainingCurve('x' as never), { instanceOf: TypeError, message: /for history but received "x"/ });
});

test('feature cache: keeps nothing new once room() says the budget is reached', (t) => {
  let room = true;
  const c = new FeatureCache(10, () => room);
  const e = {
    features: { data: [], dims: [] },
    targets: { labels: new Int32Array(0), locTargets: new Float32Array(0), foreground: new Uint8Array(0) },
    id: 'x',
  };
  t.true(c.put('a', 0, e));
  room = false;
  t.false(c.put('b', 0, e));
  t.true(c.put('a', 1, e), 'an entry replaced takes no new room');
  t.false(c.reserve());
  t.is(c.size, 1);
});
