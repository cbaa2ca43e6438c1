/**
 * End to end: the SSD300-VGG16 graph builder against torchvision.
 *
 * Needs the tamed SSD300 export (105 MB, not in git), made by
 *   /usr/bin/python3 scripts/export-torchvision-ssd.py      (Debian python3-torchvision; ~10 s)
 * at $SSD_EDGE_CACHE/torchvision/ssd300_vgg16_tamed.onnx (default ~/.cache/ssd-edge/...). Without it the tests are
 * skipped with that instruction.
 *
 * Weights: the export's initializers mapped to torchvision parameter names by `torchvisionWeightsFromOnnx`
 * (initializer names are the parameter names; deduplicated equal tensors come back through their Identity
 * aliases; the folded [1,512,1,1] `scale_weight` is reshaped to [512]).
 * Checks: (1) builder graph vs torch's own ONNX export on a random input, ≤ 1e-4 of the output range;
 * (2) builder graph on astronaut.png, preprocessed here as torchvision does (uint8/255, (x − mean)/std, bilinear
 * resize to 300 with align_corners=False), vs torchvision's stored head outputs (test/fixtures/postprocess/
 * ssd300_astronaut_*.f32), ≤ 1e-4 of the range; then the whole chain (spec from the torchvision importer,
 * postprocessDetections) vs torchvision's detections.
 */
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { createCanvas, loadImage } from '@napi-rs/canvas';
import * as ort from 'onnxruntime-node';
import { buildSsd300Vgg16, torchvisionWeightsFromOnnx } from '../../lib/model/builder/ssd300-vgg16.ts';
import { importTorchvisionSsd } from '../../lib/model/importers/torchvision.ts';
import { readModelSpec } from '../../lib/model/metadata.ts';
import { resolveAnchors } from '../../lib/model/spec.ts';
import { readOnnx, writeOnnx } from '../../lib/model/onnx.ts';
import { cacheRoot } from '../../lib/model/zoo.ts';
import { postprocessDetections } from '../../lib/ops/postprocess.ts';
import { f32, fixturesDir, readF32, readJson } from '../helpers/fixtures.ts';
import { mulberry32 } from '../helpers/random.ts';
import { diffOfRange } from '../helpers/compare.ts';

const exportPath = path.join(cacheRoot(), 'torchvision', 'ssd300_vgg16_tamed.onnx');
const have = fs.existsSync(exportPath);
const maybe = have ? test : test.skip;
if (!have)
  console.warn(
    `ssd300-builder: ${exportPath} missing — make it with /usr/bin/python3 scripts/export-torchvision-ssd.py`,
  );

/**
 * torchvision's SSD300 preprocessing of a uint8 RGB image: x/255, (x − mean)/std (float32), then bilinear resize to
 * out×out like torch.nn.functional.interpolate(align_corners=False, antialias=False): src = (dst + 0.5)·(in/out) − 0.5,
 * clamped at 0, neighbours floor(src) and min(floor(src) + 1, in − 1). Returns NCHW float32.
 */
function torchvisionPreprocess(
  rgb: Uint8Array,
  w: number,
  h: number,
  out: number,
  mean: number[],
  std: number[],
): Float32Array {
  const f = Math.fround;
  const plane = new Float32Array(w * h);
  const result = new Float32Array(3 * out * out);
  const axis = (inSize: number) => {
    const scale = f(inSize / out);
    return Array.from({ length: out }, (_, d) => {
      const src = Math.max(f(f(f(d + 0.5) * scale) - 0.5), 0);
      const i0 = Math.floor(src);
      const l1 = f(src - i0);
      return { i0, i1: Math.min(i0 + 1, inSize - 1), l0: f(1 - l1), l1 };
    });
  };
  const ys = axis(h);
  const xs = axis(w);
  for (let c = 0; c < 3; c++) {
    for (let i = 0; i < w * h; i++) plane[i] = f(f(f(rgb[3 * i + c] / 255) - f(mean[c])) / f(std[c]));
    for (let y = 0; y < out; y++) {
      const { i0: y0, i1: y1, l0: hy0, l1: hy1 } = ys[y];
      for (let x = 0; x < out; x++) {
        const { i0: x0, i1: x1, l0: wx0, l1: wx1 } = xs[x];
        const top = f(f(wx0 * plane[y0 * w + x0]) + f(wx1 * plane[y0 * w + x1]));
        const bottom = f(f(wx0 * plane[y1 * w + x0]) + f(wx1 * plane[y1 * w + x1]));
        result[(c * out + y) * out + x] = f(f(hy0 * top) + f(hy1 * bottom));
      }
    }
  }
  return result;
}

async function decodeRgb(file: string): Promise<{ width: number; height: number; rgb: Uint8Array }> {
  const img = await loadImage(fs.readFileSync(file));
  const ctx = createCanvas(img.width, img.height).getContext('2d');
  ctx.drawImage(img, 0, 0);
  const rgba = ctx.getImageData(0, 0, img.width, img.height).data;
  const rgb = new Uint8Array(img.width * img.height * 3);
  for (let i = 0, j = 0; i < rgba.length; i += 4, j += 3) rgb.set(rgba.subarray(i, i + 3), j);
  return { width: img.width, height: img.height, rgb };
}

// Built lazily once (reading + building + serializing ~105 MB takes ~1 s).
let cache: Promise<{ exported: ort.InferenceSession; built: ort.InferenceSession; builtBytes: Uint8Array }> | undefined;
const sessions = () =>
  (cache ??= (async () => {
    const exportedBytes = fs.readFileSync(exportPath);
    const weights = torchvisionWeightsFromOnnx(readOnnx(exportedBytes));
    const { model, numAnchors, numClasses } = buildSsd300Vgg16(weights);
    if (numAnchors !== 8732 || numClasses !== 21) throw new Error(`built ${numAnchors} anchors, ${numClasses} classes`);
    const builtBytes = writeOnnx(model);
    return {
      exported: await ort.InferenceSession.create(exportedBytes),
      built: await ort.InferenceSession.create(builtBytes),
      builtBytes,
    };
  })());

maybe('torchvisionWeightsFromOnnx maps every torchvision parameter of the export', (t) => {
  const weights = torchvisionWeightsFromOnnx(readOnnx(fs.readFileSync(exportPath)));
  t.is(Object.keys(weights).length, 71); // 35 convs × (weight, bias) + scale_weight
  t.deepEqual(weights['backbone.scale_weight'].dims, [512]);
  t.deepEqual(weights['backbone.extra.0.7.1.weight'].dims, [1024, 512, 3, 3]);
  t.truthy(weights['backbone.features.2.bias']); // an Identity alias in the export
});

maybe('builder graph = torchvision export on a random input (≤ 1e-4 of the range)', async (t) => {
  const { exported, built } = await sessions();
  const rng = mulberry32(7);
  const x = Float32Array.from({ length: 3 * 300 * 300 }, () => rng() * 255 - 125);
  const feeds = { images: new ort.Tensor('float32', x, [1, 3, 300, 300]) };
  const [a, b] = [await exported.run(feeds), await built.run(feeds)];
  for (const k of ['bbox_regression', 'cls_logits']) {
    t.deepEqual(b[k].dims, a[k].dims);
    const d = diffOfRange(b[k].data as Float32Array, a[k].data as Float32Array);
    t.log(`${k}: max abs ${d.maxAbs.toExponential(2)}, range ${d.range.toFixed(2)}, rel ${d.rel.toExponential(2)}`);
    t.true(d.rel <= 1e-4, `${k} rel ${d.rel}`);
  }
});

maybe(
  "builder graph on astronaut.png reproduces torchvision's stored head outputs; full chain gives its detections",
  async (t) => {
    const { built, builtBytes } = await sessions();
    const meta = readJson('postprocess/ssd300_astronaut.json');
    const { width, height, rgb } = await decodeRgb(path.join(fixturesDir, 'images', 'astronaut.png'));
    // torchvision ssd300_vgg16: image_mean [0.48235, 0.45882, 0.40784], image_std [1/255]·3 (reference README).
    const x = torchvisionPreprocess(rgb, width, height, 300, [0.48235, 0.45882, 0.40784], [1 / 255, 1 / 255, 1 / 255]);
    const out = await built.run({ images: new ort.Tensor('float32', x, [1, 3, 300, 300]) });
    const reg = out.bbox_regression.data as Float32Array;
    const logits = out.cls_logits.data as Float32Array;
    for (const [k, got] of [
      ['bbox_regression', reg],
      ['cls_logits', logits],
    ] as const) {
      const d = diffOfRange(got, readF32(`postprocess/ssd300_astronaut_${k}.f32`));
      t.log(
        `${k} vs torchvision: max abs ${d.maxAbs.toExponential(2)}, range ${d.range.toFixed(2)}, rel ${d.rel.toExponential(2)}`,
      );
      t.true(d.rel <= 1e-4, `${k} rel ${d.rel}`);
    }

    // Whole chain: the torchvision importer's spec (anchors, postprocess defaults) on our outputs.
    const { spec } = importTorchvisionSsd(readOnnx(builtBytes));
    t.deepEqual(readModelSpec(importTorchvisionSsd(readOnnx(builtBytes)).model), spec);
    const [det] = postprocessDetections(
      {
        boxRegression: reg,
        classLogits: logits,
        anchors: resolveAnchors(spec),
        numClasses: spec.labels.length,
        imageSizes: [[height, width]],
      },
      spec.postprocess,
    );
    const ref = meta.detections_original_frame;
    const n = ref.labels.length;
    t.is(det.labels.length, n);
    // Raw outputs differ from torch's at the 1e-6 level, so compare the detections as sets keyed by label and
    // box (order may swap between near-equal scores): every reference detection has a match ≤ 0.01 px, ≤ 1e-5 score.
    const refBoxes = f32(ref.boxes_xyxy);
    let matched = 0;
    let maxScore = 0;
    const used = new Set<number>();
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        if (used.has(j) || det.labels[j] !== ref.labels[i]) continue;
        let dBox = 0;
        for (let k = 0; k < 4; k++) dBox = Math.max(dBox, Math.abs(det.boxes[4 * j + k] - refBoxes[4 * i + k]));
        if (dBox <= 0.01 && Math.abs(det.scores[j] - ref.scores[i]) <= 1e-5) {
          used.add(j);
          matched++;
          maxScore = Math.max(maxScore, Math.abs(det.scores[j] - ref.scores[i]));
          break;
        }
      }
    }
    t.log(`detections: ${matched}/${n} matched (max score diff ${maxScore.toExponential(2)})`);
    t.is(matched, n);
  },
);

maybe('the built graph has a dynamic batch: two images in one call give the single-image rows', async (t) => {
  const { built } = await sessions();
  const rng = mulberry32(3);
  const one = Float32Array.from({ length: 3 * 300 * 300 }, () => rng() * 200 - 100);
  const two = new Float32Array(2 * one.length);
  two.set(one);
  two.set(
    one.map((v) => -v),
    one.length,
  );
  const single = await built.run({ images: new ort.Tensor('float32', one, [1, 3, 300, 300]) });
  const pair = await built.run({ images: new ort.Tensor('float32', two, [2, 3, 300, 300]) });
  t.deepEqual(pair.cls_logits.dims, [2, 8732, 21]);
  const d = diffOfRange(
    (pair.cls_logits.data as Float32Array).subarray(0, 8732 * 21),
    single.cls_logits.data as Float32Array,
  );
  t.true(d.rel <= 1e-5, `rel ${d.rel}`);
});
