/**
 * End to end: Detector with the default face model against face-api's own detections on astronaut.png
 * (test/fixtures/detector/astronaut_faceapi_detections.json), batch vs single, resize/EXIF mapping on transformed
 * copies of the image, drawing; and the decoded-output path on a tiny constant model.
 */
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { createCanvas, loadImage } from '@napi-rs/canvas';
import { Detector, type Detection } from '../../lib/detector/detector.ts';
import { decodeImage, exifOrientationSegment, type RawImage } from '../../lib/image/decode.ts';
import { fixturesDir, readJson } from '../helpers/fixtures.ts';
import { tinyDecodedSpec, writeTinyDecodedModel } from '../helpers/tiny-detector-model.ts';

const ASTRONAUT = path.join(fixturesDir, 'images', 'astronaut.png');
type Row = [number, number, number, number, number]; // score, x1, y1, x2, y2
const reference = readJson<{ runs: Array<{ minConfidence: number; maxResults: number; detections: Row[] }> }>(
  'detector/astronaut_faceapi_detections.json',
);

let detector: Detector;
test.before(async () => {
  detector = await Detector.load(undefined, { device: 'cpu' });
});
test.after.always(async () => {
  await detector?.dispose();
});

const boxOf = (d: Detection) => [d.box.x1, d.box.y1, d.box.x2, d.box.y2];

function iou(a: number[], b: number[]): number {
  const iw = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
  const ih = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
  const inter = iw * ih;
  return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter);
}

for (const minConfidence of [0.5, 0.02]) {
  test(`default face model reproduces face-api on astronaut.png at minConfidence ${minConfidence} (≤ 1 px, ≤ 1e-3 score)`, async (t) => {
    const run = reference.runs.find((r) => r.minConfidence === minConfidence)!;
    const dets = await detector.detect(ASTRONAUT, { scoreThreshold: minConfidence, maxDetections: run.maxResults });
    t.is(dets.length, run.detections.length);
    for (let k = 1; k < dets.length; k++) t.true(dets[k - 1].score >= dets[k].score, 'sorted by decreasing score');
    // Near-equal scores may swap order: match as sets, one to one.
    const unmatched = new Set(dets.map((_, k) => k));
    let worstPx = 0;
    let worstScore = 0;
    for (const [score, ...box] of run.detections) {
      let best = -1;
      let bestPx = Infinity;
      for (const k of unmatched) {
        const px = Math.max(...boxOf(dets[k]).map((v, i) => Math.abs(v - box[i])));
        if (px <= 1 && Math.abs(dets[k].score - score) <= 1e-3 && px < bestPx) {
          best = k;
          bestPx = px;
        }
      }
      if (best < 0) {
        t.fail(`no detection within 1 px / 1e-3 of face-api's ${score} [${box.map((v) => v.toFixed(2))}]`);
        return;
      }
      unmatched.delete(best);
      worstPx = Math.max(worstPx, bestPx);
      worstScore = Math.max(worstScore, Math.abs(dets[best].score - score));
    }
    t.log(`max |Δbox| ${worstPx.toExponential(2)} px, max |Δscore| ${worstScore.toExponential(2)}`);
    t.true(dets.every((d) => d.label === 'face' && d.classId === 1));
  });
}

test('provider, timings and the spec are exposed', async (t) => {
  t.is(detector.provider, 'cpu');
  t.true(Array.isArray(detector.providerErrors));
  t.is(detector.spec.name, 'ssd-mobilenetv1-face');
  t.deepEqual(detector.labels, ['background', 'face']);
  await detector.detect(ASTRONAUT);
  const tm = detector.timings!;
  for (const k of ['decode', 'preprocess', 'forward', 'postprocess', 'total'] as const)
    t.true(tm[k] >= 0 && Number.isFinite(tm[k]), k);
  t.true(tm.total >= tm.forward);
});

/** astronaut.png drawn onto a canvas of another size / orientation, as raw RGBA. */
async function transformed(
  width: number,
  height: number,
  paint: (
    ctx: ReturnType<ReturnType<typeof createCanvas>['getContext']>,
    img: Awaited<ReturnType<typeof loadImage>>,
  ) => void,
): Promise<RawImage> {
  const img = await loadImage(fs.readFileSync(ASTRONAUT));
  const canvas = createCanvas(width, height);
  const ctx = canvas.getContext('2d');
  paint(ctx, img);
  return { data: ctx.getImageData(0, 0, width, height).data, width, height, channels: 4 };
}

test('detectBatch gives the same detections as detect, image by image', async (t) => {
  const jpeg = await detector.draw(ASTRONAUT, [], { format: 'jpeg', quality: 92 });
  const wide = await transformed(700, 512, (ctx, img) => ctx.drawImage(img, 0, 0)); // pad mode: 700×512 → 700² square
  const images = [ASTRONAUT, jpeg, wide, fs.readFileSync(ASTRONAUT)];
  const options = { scoreThreshold: 0.05 };
  const batch = await detector.detectBatch(images, options);
  t.is(batch.length, images.length);
  for (let i = 0; i < images.length; i++) {
    const single = await detector.detect(images[i], options);
    t.is(batch[i].length, single.length, `image ${i}`);
    single.forEach((d, k) => {
      t.is(batch[i][k].classId, d.classId);
      t.true(Math.abs(batch[i][k].score - d.score) <= 1e-4, `image ${i} det ${k} score`);
      t.true(
        boxOf(batch[i][k]).every((v, j) => Math.abs(v - boxOf(d)[j]) <= 0.05),
        `image ${i} det ${k} box`,
      );
    });
  }
  t.true(batch[2].length > 0);
  t.deepEqual(await detector.detectBatch([]), []);
});

test('boxes come back in source pixels through the resize: scaled, padded and EXIF-rotated copies', async (t) => {
  const [face] = await detector.detect(ASTRONAUT);
  const ref = boxOf(face);
  // 2× larger and 0.6× smaller (pad mode resizes them to 512): the face scales with the image
  for (const s of [2, 0.6]) {
    const img = await transformed(Math.round(512 * s), Math.round(512 * s), (ctx, im) =>
      ctx.drawImage(im, 0, 0, 512 * s, 512 * s),
    );
    const [d] = await detector.detect(img);
    t.true(
      iou(
        boxOf(d),
        ref.map((v) => v * s),
      ) > 0.9,
      `scale ${s}: ${boxOf(d)}`,
    );
  }
  // shifted right inside a wider black frame: the box shifts with it
  const shifted = await transformed(800, 512, (ctx, im) => {
    ctx.fillStyle = '#000';
    ctx.fillRect(0, 0, 800, 512);
    ctx.drawImage(im, 200, 0);
  });
  const [d2] = await detector.detect(shifted);
  t.true(iou(boxOf(d2), [ref[0] + 200, ref[1], ref[2] + 200, ref[3]]) > 0.9, `shifted: ${boxOf(d2)}`);
  // stored rotated 90° counter-clockwise with EXIF orientation 6 (= rotate clockwise to view): same box as upright
  const canvas = createCanvas(512, 512);
  const ctx = canvas.getContext('2d');
  const im = await loadImage(fs.readFileSync(ASTRONAUT));
  ctx.translate(0, 512);
  ctx.rotate(-Math.PI / 2);
  ctx.drawImage(im, 0, 0);
  const stored = canvas.encodeSync('jpeg', 95);
  const tagged = Buffer.concat([stored.subarray(0, 2), exifOrientationSegment(6), stored.subarray(2)]);
  t.is((await decodeImage(tagged)).orientation, 6);
  const [d3] = await detector.detect(tagged);
  t.true(iou(boxOf(d3), ref) > 0.9, `EXIF 6: ${boxOf(d3)}`);
});

test('draw returns a decodable PNG (and JPEG) of the source size', async (t) => {
  const dets = await detector.detect(ASTRONAUT);
  const png = await detector.draw(ASTRONAUT, dets);
  t.deepEqual([...png.subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47]);
  const back = await decodeImage(png);
  t.like(back, { width: 512, height: 512, format: 'png' });
  // the box outline changed pixels on the box edge, not far from it
  const src = await decodeImage(ASTRONAUT);
  const at = (img: RawImage, x: number, y: number) =>
    Array.from(img.data.subarray((y * 512 + x) * 4, (y * 512 + x) * 4 + 3));
  const { x1, y1, y2 } = dets[0].box;
  const edge = [Math.round(x1), Math.round((y1 + y2) / 2)] as const;
  t.notDeepEqual(at(back, ...edge), at(src, ...edge));
  t.deepEqual(at(back, 500, 500), at(src, 500, 500));
  const jpeg = await detector.draw(ASTRONAUT, dets, { format: 'jpeg' });
  t.like(await decodeImage(jpeg), { width: 512, height: 512, format: 'jpeg' });
});

test('option validation and the classes filter', async (t) => {
  t.deepEqual(await detector.detect(ASTRONAUT, { classes: ['face'] }), await detector.detect(ASTRONAUT));
  t.deepEqual(await detector.detect(ASTRONAUT, { classes: [0] }), []);
  await t.throwsAsync(detector.detect(ASTRONAUT, { classes: ['cat'] }), {
    instanceOf: TypeError,
    message: 'Expected a label of the model (\'face\') for classes[0] but received "cat"',
  });
  await t.throwsAsync(detector.detect(ASTRONAUT, { scoreThreshold: 1.5 }), {
    instanceOf: RangeError,
    message: 'Expected number in [0, 1] for scoreThreshold but received 1.5',
  });
  t.is((await detector.detect(ASTRONAUT, { scoreThreshold: 0.01, maxDetections: 3 })).length, 3);
});

// --- decoded outputs (scoring 'none', xyxy boxes) -------------------------------------------------------

test('decoded-output models: scores used as given, xyxy boxes, per-class NMS, classes and maxDetections', async (t) => {
  const file = writeTinyDecodedModel();
  const d = await Detector.load(file, { device: 'cpu', threads: 1 });
  try {
    const img: RawImage = { data: new Uint8Array(100 * 50 * 3), width: 100, height: 50, channels: 3 }; // stretch → ×100, ×50
    const dets = await d.detect(img);
    const f = Math.fround;
    t.deepEqual(
      dets.map((x) => [x.label, x.score]),
      [
        ['cat', f(0.9)],
        ['dog', f(0.7)],
        ['dog', f(0.6)],
      ],
    );
    const close = (a: number[], b: number[]) => a.every((v, i) => Math.abs(v - b[i]) < 1e-4);
    t.true(close(boxOf(dets[0]), [10, 5, 50, 25]), String(boxOf(dets[0])));
    t.true(close(boxOf(dets[1]), [60, 30, 90, 40]), String(boxOf(dets[1])));
    t.true(close(boxOf(dets[2]), [12, 5, 52, 25]), String(boxOf(dets[2])));
    t.deepEqual(
      (await d.detect(img, { classes: ['dog'] })).map((x) => x.score),
      [f(0.7), f(0.6)],
    );
    t.deepEqual(
      (await d.detect(img, { classes: [2], maxDetections: 1 })).map((x) => x.score),
      [f(0.7)],
    );
    t.deepEqual(
      (await d.detect(img, { iouThreshold: 0.95 })).map((x) => x.score),
      [f(0.9), f(0.8), f(0.7), f(0.6)],
    );
    t.deepEqual(
      (await d.detect(img, { scoreThreshold: 0.65 })).map((x) => x.score),
      [f(0.9), f(0.7)],
    );
    const batch = await d.detectBatch([img, img, img]);
    t.deepEqual(batch, [dets, dets, dets]);
  } finally {
    await d.dispose();
  }
});

test('loading a model that is not an ssd-edge model fails with one clear message', async (t) => {
  const noMeta = writeTinyDecodedModel(null);
  const err = await t.throwsAsync(Detector.load(noMeta), { instanceOf: TypeError });
  t.regex(err.message, /ssd-edge metadata/);
  t.false(err.message.includes('\n'));
  await t.throwsAsync(Detector.load(path.join(path.dirname(noMeta), 'missing.onnx')), {
    message: `Cannot read model ${path.join(path.dirname(noMeta), 'missing.onnx')}: no such file`,
  });
  const wrongLabels = writeTinyDecodedModel(tinyDecodedSpec({ labels: ['background', 'cat'] }));
  await t.throwsAsync(Detector.load(wrongLabels), { instanceOf: TypeError, message: /labels/ });
});
