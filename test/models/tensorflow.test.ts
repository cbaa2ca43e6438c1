/**
 * Conformance: OpenCV's res10 SSD300 face detector (TensorFlow frozen GraphDef with uint8 weights + OpenCV text graph)
 * imported from SSD_EDGE_MODELS_DIR, against the OpenCV dnn oracle (shared/models/opencv-face-res10-tf-uint8/oracle).
 *
 * The oracle images are not 300×300, so the oracle's input went through OpenCV's uint8 INTER_LINEAR resize and ours
 * through a float half-pixel bilinear one: the ordinary-photo tolerance applies (≤ 1.5 px, ≤ 0.02). Rows whose box
 * lies wholly outside the image (the model's priors reach beyond 1.0; both sides clip them to an empty box) are left
 * out of the comparison.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Detector } from '../../lib/detector/detector.ts';
import { importModelFiles } from '../../lib/model/import.ts';
import { defaultBoxes, type DefaultBoxSpec } from '../../lib/ops/default-boxes.ts';
import { modelTest } from '../helpers/models-dir.ts';
import { compareToOracle, readOracle, type DetectionLike, type Oracle } from '../helpers/oracle.ts';

const FAMILY = 'opencv-face-res10-tf-uint8';
const FILES = ['opencv_face_detector_uint8.pb', 'opencv_face_detector.pbtxt'];
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const inside = (d: DetectionLike, w: number, h: number) =>
  Math.min(d.box.x2, w) - Math.max(d.box.x1, 0) > 0 && Math.min(d.box.y2, h) - Math.max(d.box.y1, 0) > 0;

modelTest(
  'res10 TF face detector: import (.pb + .pbtxt) and detections vs OpenCV dnn',
  FAMILY,
  FILES,
  async (t, dir) => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ssd-edge-tf-'));
    t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }));
    const out = path.join(tmp, 'res10.onnx');
    // both files, the text graph first: the format is recognised from the bytes
    const r = await importModelFiles([path.join(dir, FILES[1]), path.join(dir, FILES[0])], { out });
    t.is(r.format, 'tf');
    t.like(r.spec.input, { width: 300, height: 300, colorOrder: 'BGR', mean: [104, 117, 123], std: [1, 1, 1] });
    t.like(r.spec.postprocess, { topkCandidates: 400, detectionsPerImg: 200, backgroundIndex: 0, scoring: 'none' });
    t.deepEqual(r.spec.labels, ['background', 'face']);
    t.true(r.report.some((l) => /8892 from 6 PriorBox layers \(feature maps 38, 19, 10, 5, 5, 5\)/.test(l)));

    // the priors equal the ones OpenCV's PriorBox layers produce (stored by the oracle tool, xyxy)
    const stored = new Float32Array(
      fs.readFileSync(path.join(dir, 'priors/mbox_priorbox_300x300_xyxy.f32')).buffer.slice(0),
    );
    const ours = defaultBoxes((r.spec.anchors as { spec: DefaultBoxSpec }).spec);
    t.is(ours.length, stored.length);
    let maxPrior = 0;
    for (let i = 0; i < ours.length; i += 4) {
      const [cx, cy, w, h] = [ours[i], ours[i + 1], ours[i + 2], ours[i + 3]];
      const xyxy = [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2];
      for (let k = 0; k < 4; k++) maxPrior = Math.max(maxPrior, Math.abs(xyxy[k] - stored[i + k]));
    }
    t.true(maxPrior < 1e-6, `priors differ by ${maxPrior}`);

    const detector = await Detector.load(out, { warmup: false });
    t.teardown(() => detector.dispose());
    const images: Array<[string, string]> = [
      ['astronaut.jpg', path.join(root, 'examples/astronaut.jpg')],
      ['astronaut.png', path.join(dir, '../../reference/images/astronaut.png')],
      ['chelsea.png', path.join(dir, '../../reference/images/chelsea.png')],
      ['coffee.png', path.join(dir, '../../reference/images/coffee.png')],
    ];
    for (const [name, file] of images) {
      if (!fs.existsSync(file)) {
        t.log(`${name}: image ${file} not found, skipped`);
        continue;
      }
      const oracle: Oracle = readOracle(path.join(dir, 'oracle', `${name}.opencv.json`));
      const got = await detector.detect(file);
      const o = { ...oracle, detections: oracle.detections.filter((d) => inside(d, oracle.width, oracle.height)) };
      const c = compareToOracle(
        got.filter((d) => inside(d, oracle.width, oracle.height)),
        o,
        { box: 1.5, score: 0.02, minScore: 0.1 },
      );
      t.log(
        `${name}: ${c.matched} rows ≥ 0.1 matched, max box Δ ${c.maxBoxDiff.toFixed(3)} px, max score Δ ${c.maxScoreDiff.toExponential(2)}`,
      );
      t.deepEqual(c.problems, [], name);
      if (name.startsWith('astronaut')) t.true(c.matched >= 1 && got[0].score > 0.99, `${name}: the astronaut's face`);
    }

    // exact input size (test/fixtures/res10-exact, made by scripts/res10-exact-size-oracles.sh): both resizes are the
    // identity, so the float model's tolerance applies (0.1 px, 1e-3 in score)
    for (const image of ['astronaut-300x300.png', 'chelsea-300x300.png', 'coffee-300x300.png']) {
      const oracle = readOracle(path.join(root, 'test/fixtures/res10-exact/oracle', `${image}.opencv.json`));
      const got = await detector.detect(path.join(root, 'test/fixtures/res10-exact', image));
      const o = { ...oracle, detections: oracle.detections.filter((d) => inside(d, oracle.width, oracle.height)) };
      const c = compareToOracle(
        got.filter((d) => inside(d, oracle.width, oracle.height)),
        o,
        { box: 0.1, score: 1e-3, minScore: 0.1 },
      );
      t.log(
        `${image} (exact size): ${c.matched} rows ≥ 0.1 matched, max box Δ ${c.maxBoxDiff.toExponential(2)} px, max score Δ ${c.maxScoreDiff.toExponential(2)}`,
      );
      t.deepEqual(c.problems, [], image);
      t.true(c.matched >= 1, `${image}: at least one row compared`);
    }
  },
);
