/**
 * The demonstration of issue 8 (not a mock): a detection set made from real photographs (the bundled fixtures:
 * astronaut, cat, coffee — random square crops, rescaled, mirrored) with a new object, a synthetic warning sign, pasted
 * at known boxes (examples/new-object-data.ts); the default face model's heads fine-tuned to the new class on the
 * fast path (backbone and extras in ONNX Runtime, cached features, heads in tfjs); then
 * - the exported ONNX model, loaded by `Detector` and scored by lib/eval's `evaluateModel` on held-out generated
 *   images (other crops, other objects), reaches AP50 ≥ 0.8;
 * - its detections equal the tfjs model's (the trained weights before export) on those images;
 * - `ssd-edge detect --model` runs on it.
 * A second test trains a small generated SSD300-VGG16 fully (`freeze: 'none'`, everything in tfjs) and with the
 * backbone frozen (`freeze: 'backbone'`): the loss decreases.
 *
 * Cost: the demonstration trains 10 epochs of 48 images (about 3–5 minutes on 2 shared cores; README
 * "Fine-tuning" has the numbers), the SSD300 runs (6 steps each) about a minute.
 */
import test from 'ava';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { makeNewObjectDataset } from '../../examples/new-object-data.ts';
import { openDataset } from '../../lib/data/index.ts';
import { Detector } from '../../lib/detector/detector.ts';
import { evaluateModel } from '../../lib/eval/run.ts';
import { generateSsd300 } from '../../lib/train/models/index.ts';
import { train } from '../../lib/train/train.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ssd-edge-train-demo-'));
test.after.always(() => fs.rmSync(tmp, { recursive: true, force: true }));
const PHOTOS = ['images/astronaut.png', 'caffe/chelsea-320x240.png', 'caffe/coffee-320x240.png'].map((f) =>
  path.join(root, 'test/fixtures', f),
);

test.serial(
  'demo: the face model fine-tuned to a new object reaches AP50 ≥ 0.8 on held-out images; the export detects as the tfjs model',
  async (t) => {
    t.timeout(20 * 60_000); // 3–5 minutes on 2 cores; generous for a loaded CI machine
    const set = await makeNewObjectDataset(path.join(tmp, 'signs'), { photos: PHOTOS, train: 48, val: 16, seed: 1 });
    const out = path.join(tmp, 'sign.onnx');
    const t0 = performance.now();
    const r = await train({
      data: set.train,
      val: set.val,
      classes: ['sign'],
      epochs: 10,
      batch: 8,
      lr: 5e-3,
      seed: 0,
      out,
    });
    const minutes = (performance.now() - t0) / 60000;
    t.log(
      `${minutes.toFixed(1)} min, best epoch ${r.bestEpoch}, tfjs AP50 ${r.validation!.ap50.toFixed(3)}, peak RSS ${Math.round(r.peakRssMB)} MB, ` +
        `cache ${r.cache.cached}/${r.cache.entries}, AP50 per epoch ${r.history.map((e) => e.ap50!.toFixed(2)).join(' ')}`,
    );
    t.is(r.history.length, 10);
    t.true(r.history[9].loss < r.history[0].loss / 2, 'the loss falls');
    // the fast path of SSD-MobileNetV1 at batch 8 fits in 1 GB (the default budget; the cache gives way)
    t.true(r.peakRssMB <= 1024, `peak RSS ${r.peakRssMB} MB`);

    // the export, through ONNX Runtime and lib/eval: an evaluation independent of the training code
    const detector = await Detector.load(out);
    t.deepEqual(detector.spec.labels, ['background', 'sign']);
    const val = await openDataset(set.val);
    const e = await evaluateModel(detector, val);
    t.log(`export: AP50 ${e.ap50.toFixed(3)}, mAP ${e.map.toFixed(3)} on ${e.images} held-out images`);
    t.true(e.ap50 >= 0.8, `AP50 ${e.ap50}`);
    t.true(Math.abs(e.ap50 - r.validation!.ap50) < 1e-6, 'the same AP as the tfjs model');

    // the same detections as the tfjs model (confident ones: a score at the 0.01 floor may fall either side)
    const strong = (d: { score: number }) => d.score > 0.05;
    for (const [k, sample] of val.samples.entries()) {
      const fromTfjs = r.validation!.detections.find((d) => d.image === sample.id)!.detections.filter(strong);
      const fromOrt = e.detections.find((d) => d.image === sample.id)!.detections.filter(strong);
      t.is(fromOrt.length, fromTfjs.length, `image ${k}: number of detections`);
      fromOrt.forEach((d, i) => {
        const o = fromTfjs[i];
        t.true(Math.abs(d.score - o.score) < 1e-4, `image ${k} detection ${i}: score ${d.score} vs ${o.score}`);
        const [a, b] = [d.box as number[], o.box as number[]];
        t.true(
          a.every((v, j) => Math.abs(v - b[j]) < 1e-2),
          `image ${k} detection ${i}: box ${a} vs ${b}`,
        );
      });
    }
    await detector.dispose();

    // the CLI detects with it
    const TSX = pathToFileURL(path.join(root, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;
    const cli = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
      execFile(
        process.execPath,
        [
          `--import=${TSX}`,
          path.join(root, 'lib/cli/index.ts'),
          'detect',
          val.samples[0].image,
          '--model',
          out,
          '--json',
        ],
        (err, stdout, stderr) => resolve({ code: err ? 1 : 0, stdout, stderr }),
      ),
    );
    t.is(cli.code, 0, cli.stderr);
    const dets = JSON.parse(cli.stdout)[0].detections as Array<{ label: string }>;
    t.true(dets.every((d) => d.label === 'sign'));
    t.true(fs.existsSync(r.curve!));
  },
);

test.serial('SSD300-VGG16 (small, generated): full training and backbone-frozen training lower the loss', async (t) => {
  t.timeout(10 * 60_000);
  const set = await makeNewObjectDataset(path.join(tmp, 'small'), {
    photos: PHOTOS,
    train: 4,
    val: 1,
    size: 300,
    seed: 2,
  });
  const base = path.join(tmp, 'ssd300-small.onnx');
  fs.writeFileSync(base, generateSsd300({ labels: ['background', 'sign'], channelDivisor: 16, seed: 1 }));
  for (const freeze of ['none', 'backbone'] as const) {
    const r = await train({
      data: set.train,
      base,
      classes: ['sign'],
      freeze,
      augment: 'none',
      epochs: 3,
      batch: 2,
      lr: 2e-3,
      warmupEpochs: 0,
      out: path.join(tmp, `ssd300-${freeze}.onnx`),
      curve: false,
      onEpoch: (e) => t.log(`freeze ${freeze} epoch ${e.epoch}: loss ${e.loss.toFixed(3)}, ${e.seconds.toFixed(1)} s`),
    });
    const losses = r.history.map((h) => h.loss);
    t.log(`freeze ${freeze}: loss per epoch ${losses.map((l) => l.toFixed(3)).join(' ')}, ${r.seconds.toFixed(1)} s`);
    t.true(losses.every(Number.isFinite));
    t.true(losses[2] < losses[0], `freeze ${freeze}: ${losses}`);
    const detector = await Detector.load(r.out);
    t.is(detector.spec.architecture, 'ssd300-vgg16');
    await detector.dispose();
  }
});
