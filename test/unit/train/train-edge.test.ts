/**
 * train() at its edges, on a small generated SSD300-VGG16 (fast path, heads only): images without any object are
 * valid samples (all anchors negative, mining still applies: a finite confidence loss, no localisation loss); a
 * loss that turns NaN stops training with a TrainingError naming the batch's images and writes no model; an
 * AbortSignal stops between batches, keeping the last checkpoint; a bad dataset is refused listing its problems.
 */
import test from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createCanvas } from '@napi-rs/canvas';
import { loadTf } from '../../../lib/train/backend.ts';
import { readCheckpoint } from '../../../lib/train/checkpoint.ts';
import { exportOnnx, generateSsd300, loadTrainable } from '../../../lib/train/models/index.ts';
import { train, TrainingError } from '../../../lib/train/train.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ssd-edge-train-edge-'));
test.after.always(() => fs.rmSync(tmp, { recursive: true, force: true }));
const base = path.join(tmp, 'base.onnx');

/** A JSONL set of `n` 96×96 images; `boxes(k)` gives image k's boxes (label 'dot'). */
function dataset(name: string, n: number, boxes: (k: number) => number[][]): string {
  const dir = path.join(tmp, name);
  fs.mkdirSync(dir, { recursive: true });
  const lines: string[] = [];
  for (let k = 0; k < n; k++) {
    const c = createCanvas(96, 96);
    const ctx = c.getContext('2d');
    ctx.fillStyle = `rgb(${40 * k}, 120, 200)`;
    ctx.fillRect(0, 0, 96, 96);
    ctx.fillStyle = '#ff0';
    for (const [x1, y1, x2, y2] of boxes(k)) ctx.fillRect(x1, y1, x2 - x1, y2 - y1);
    fs.writeFileSync(path.join(dir, `img${k}.png`), c.encodeSync('png'));
    lines.push(JSON.stringify({ image: `img${k}.png`, boxes: boxes(k).map((box) => ({ label: 'dot', box })) }));
  }
  fs.writeFileSync(path.join(dir, 'set.jsonl'), `${lines.join('\n')}\n`);
  return path.join(dir, 'set.jsonl');
}

test.before(() => {
  fs.writeFileSync(base, generateSsd300({ labels: ['background', 'dot'], channelDivisor: 16, seed: 3 }));
});

const common = {
  base,
  classes: ['dot'],
  batch: 2,
  augment: 'none' as const,
  variants: 1,
  curve: false as const,
  backend: 'wasm' as const,
};

test.serial(
  'images without objects are valid samples: finite confidence loss from mined negatives, no localisation loss',
  async (t) => {
    t.timeout(5 * 60_000);
    const data = dataset('empty', 4, () => []);
    const progress: Array<{ loc: number; conf: number; positives: number }> = [];
    const r = await train({
      ...common,
      data,
      epochs: 2,
      out: path.join(tmp, 'empty.onnx'),
      onProgress: (p) => progress.push(p),
    });
    t.is(progress.length, 4);
    for (const p of progress) {
      t.is(p.positives, 0);
      t.is(p.loc, 0);
      t.true(Number.isFinite(p.conf) && p.conf > 0, `conf ${p.conf}`);
    }
    t.true(r.history[1].conf < r.history[0].conf, 'background is learnt');
    t.true(fs.existsSync(r.out));
  },
);

test.serial('a NaN loss stops training naming the batch images; no model is written', async (t) => {
  t.timeout(5 * 60_000);
  // a base whose class head has a NaN weight: every logit of that map is NaN from the first batch on
  const { tf } = await loadTf('wasm');
  const model = await loadTrainable(tf, base);
  const w = model.getWeights();
  const head = Object.keys(w).find((k) => /classification_head.*weight/.test(k))!;
  t.truthy(head, Object.keys(w).join(' '));
  w[head].data[0] = NaN;
  model.setWeights(w);
  const poisoned = path.join(tmp, 'nan.onnx');
  fs.writeFileSync(poisoned, exportOnnx(model));
  model.dispose();
  const data = dataset('dots', 4, (k) => [[10 + k, 20, 50 + k, 60]]);
  const out = path.join(tmp, 'nan-out.onnx');
  const err = await t.throwsAsync(train({ ...common, base: poisoned, data, epochs: 1, out }), {
    instanceOf: TrainingError,
  });
  t.regex(
    err!.message,
    /^The loss is NaN at epoch 1, batch 1 \(images: img\d\.png, img\d\.png\): training stopped, no model written/,
  );
  t.is(err!.images.length, 2);
  t.true(err!.images.every((f) => f.startsWith(path.join(tmp, 'dots'))));
  t.false(fs.existsSync(out));
});

test.serial('an AbortSignal stops between batches; the checkpoint of the last finished epoch stays', async (t) => {
  t.timeout(5 * 60_000);
  const data = dataset('abort', 4, (k) => [[10, 10 + k, 60, 70]]);
  const controller = new AbortController();
  const out = path.join(tmp, 'abort.onnx');
  await t.throwsAsync(
    train({
      ...common,
      data,
      epochs: 3,
      out,
      signal: controller.signal,
      onProgress: (p) => {
        if (p.epoch === 2 && p.batch === 1) controller.abort(new Error('enough'));
      },
    }),
    { message: 'enough' },
  );
  t.false(fs.existsSync(out));
  const ckpt = (await readCheckpoint(path.join(tmp, 'abort.train', 'checkpoint.ckpt'))) as { epoch: number };
  t.is(ckpt.epoch, 1);
});

test.serial('a dataset with problems is refused listing them (boxPolicy error), before any training', async (t) => {
  const data = dataset('bad', 2, () => [[10, 10, 200, 50]]);
  await t.throwsAsync(train({ ...common, data, epochs: 1, out: path.join(tmp, 'bad.onnx') }), {
    name: 'DatasetError',
    message: /has 2 problems/,
  });
});

test.serial(
  "a VOC folder trains on its trainval split by default (lib/data's default, test, is for evaluation)",
  async (t) => {
    t.timeout(5 * 60_000);
    const voc = path.join(tmp, 'voc');
    fs.cpSync(path.join(path.dirname(new URL(import.meta.url).pathname), '../../fixtures/data/voc-mini'), voc, {
      recursive: true,
    });
    fs.writeFileSync(path.join(voc, 'ImageSets/Main/trainval.txt'), 'astronaut\n');
    const batches: number[] = [];
    const r = await train({
      ...common,
      data: voc,
      classes: ['person'],
      boxPolicy: 'drop', // the other VOC classes of the split are dropped
      batch: 1,
      epochs: 1,
      out: path.join(tmp, 'voc.onnx'),
      onProgress: (p) => batches.push(p.batches),
    });
    t.deepEqual(batches, [1], 'one image: astronaut (trainval), not the three of test');
    t.true(r.history[0].positivesPerBatch > 0);
    // an explicit split wins
    const all: number[] = [];
    await train({
      ...common,
      data: voc,
      split: 'test',
      classes: ['person'],
      boxPolicy: 'drop',
      batch: 1,
      epochs: 1,
      out: path.join(tmp, 'voc-test.onnx'),
      onProgress: (p) => all.push(p.batches),
    });
    t.deepEqual(all, [3, 3, 3]);
  },
);
