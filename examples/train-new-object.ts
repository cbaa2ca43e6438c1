/**
 * Teach the default face model a new object, on this machine, in a few minutes — a script to copy.
 *
 *   node --import=tsx examples/train-new-object.ts [workdir]        (from the repository)
 *
 * 1. makes a small detection set from the bundled photograph (examples/astronaut.jpg): random crops with a
 *    synthetic warning sign pasted at known boxes (examples/new-object-data.ts) — replace this step with your own
 *    data: a Pascal VOC folder, a COCO instances .json or a .jsonl file (README, "Datasets");
 * 2. fine-tunes the face model's heads to the class 'sign' on the fast path (backbone and extra layers frozen in
 *    ONNX Runtime, their outputs cached, the heads trained in tfjs), checking AP50 on the validation images after
 *    each epoch and keeping the best epoch;
 * 3. writes sign.onnx (+ sign.curve.png, and a checkpoint folder sign.train/ — rerun with `resume: true` after a crash)
 *    and detects with it like with any ssd-edge model.
 *
 * The same from the shell:
 *   npx ssd-edge train --data work/signs/train.jsonl --val work/signs/val.jsonl --classes sign --epochs 10 --lr 5e-3 --out work/sign.onnx
 *   npx ssd-edge detect work/signs/images/val-000.jpg --model work/sign.onnx
 *
 * In your app, import from the package instead: `import { train } from 'ssd-edge/train'; import { Detector } from 'ssd-edge';`
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Detector } from '../lib/index.ts';
import { train } from '../lib/train/index.ts';
import { makeNewObjectDataset } from './new-object-data.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const work = path.resolve(process.argv[2] ?? 'train-new-object');
fs.mkdirSync(work, { recursive: true });

// 1. the data (48 training and 16 validation images of 320×320)
const set = await makeNewObjectDataset(path.join(work, 'signs'), {
  photos: [path.join(here, 'astronaut.jpg')],
  train: 48,
  val: 16,
});

// 2. fine-tuning: the heads only (freeze 'extras', the default), Adam with warm-up and cosine decay
const result = await train({
  data: set.train,
  val: set.val,
  classes: ['sign'],
  epochs: 10,
  batch: 8,
  lr: 5e-3,
  out: path.join(work, 'sign.onnx'),
  overwrite: true,
  onEpoch: (e) =>
    console.log(
      `epoch ${e.epoch}/${e.epochs}: loss ${e.loss.toFixed(3)}, val AP50 ${e.ap50?.toFixed(3)}${e.best ? ' (best)' : ''}, ${e.seconds.toFixed(1)} s`,
    ),
});
console.log(
  `wrote ${result.out} (epoch ${result.bestEpoch}), ${result.curve}; ${result.seconds.toFixed(0)} s, peak RSS ${Math.round(result.peakRssMB)} MB`,
);

// 3. detect with the new model
const detector = await Detector.load(result.out);
const image = path.join(work, 'signs', 'images', 'val-000.jpg');
console.log(image, await detector.detect(image, { scoreThreshold: 0.5 }));
await detector.dispose();
