/**
 * Conformance: the COCO SSD MobileNet v1 quantized TFLite model (third-party file, read from SSD_EDGE_MODELS_DIR,
 * never committed) imported kept quantized and dequantized, run by ssd-edge, against the Arm NN oracle
 * (`oracle/<image>.armnn.json`). Issue #10's rule for this model: same labels, IoU ≥ 0.85, scores within 0.05 for
 * detections ≥ 0.3 (two runtimes of the same file differ that much: scores are quantized in 1/256 steps and tied
 * anchors can swap). Skips with a printed reason when SSD_EDGE_MODELS_DIR is unset or lacks the model.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Detector } from '../../lib/detector/detector.ts';
import type { Detection } from '../../lib/detector/options.ts';
import { importTflite } from '../../lib/model/importers/tflite.ts';
import { readLabelsFile } from '../../lib/model/labels.ts';
import { writeOnnx } from '../../lib/model/onnx.ts';
import { modelsDir as modelsRoot, modelTest } from '../helpers/models-dir.ts';
import { iou, readOracle } from '../helpers/oracle.ts';

const root = modelsRoot();
const modelsDir = 'dir' in root ? root.dir : undefined;
const FAMILY = 'coco-ssd-mobilenet-v1-quant-tflite';

/** The images of the oracle: the project's own copies first, else the reference folder next to the models. */
function findImage(file: string): string | undefined {
  const candidates = [
    path.resolve('test/fixtures/images', file),
    path.resolve('examples', file.replace(/^astronaut\.jpg$/, 'astronaut.jpg')),
    ...(modelsDir ? [path.resolve(modelsDir, '..', 'reference', 'images', file)] : []),
  ];
  return candidates.find((p) => fs.existsSync(p) && path.basename(p) === file);
}

interface OracleDetection {
  label: string;
  score: number;
  box: { x1: number; y1: number; x2: number; y2: number };
}

const MIN_SCORE = 0.3;
const SCORE_TOL = 0.05;
const MIN_IOU = 0.85;

/**
 * Problems between two lists: every detection ≥ MIN_SCORE of one list needs a partner in the other with the same
 * label, IoU ≥ MIN_IOU and |Δscore| ≤ SCORE_TOL. A detection within SCORE_TOL of MIN_SCORE may lack one (in the
 * other runtime it can score below MIN_SCORE, or fall out of the op's 10 rows). Unlike test/helpers/oracle.ts's
 * compareToOracle, a borderline row is also let off when its nearest same-label box is another anchor's (coffee.png's
 * spoon: Arm NN 0.332 vs ssd-edge 0.320, three 1/256 steps, two anchors at IoU 0.77 — one suppresses the other).
 */
function compare(ours: OracleDetection[], oracle: OracleDetection[]): { problems: string[]; tolerated: string[] } {
  const problems: string[] = [];
  const tolerated: string[] = [];
  const side = (from: OracleDetection[], to: OracleDetection[], fromName: string, toName: string) => {
    for (const d of from) {
      if (d.score < MIN_SCORE) continue;
      const partner = to.find(
        (o) => o.label === d.label && Math.abs(o.score - d.score) <= SCORE_TOL && iou(o.box, d.box) >= MIN_IOU,
      );
      if (partner) continue;
      const b = d.box;
      const text = `${fromName} ${d.label} ${d.score.toFixed(4)} [${[b.x1, b.y1, b.x2, b.y2].map((v) => v.toFixed(1))}] has no partner in ${toName}`;
      // borderline: in the other runtime it may score < 0.3 or fall past the 10 rows
      if (d.score < MIN_SCORE + SCORE_TOL) tolerated.push(text);
      else problems.push(text);
    }
  };
  side(oracle, ours, 'oracle', 'ssd-edge');
  side(ours, oracle, 'ssd-edge', 'oracle');
  return { problems, tolerated };
}

for (const mode of ['quantized', 'dequantized'] as const) {
  modelTest(
    `COCO SSD MobileNet v1 TFLite (${mode}) reproduces the Arm NN oracle`,
    FAMILY,
    ['detect.tflite', 'labelmap.txt'],
    async (t, dir) => {
      const labels = readLabelsFile(path.join(dir, 'labelmap.txt'));
      const { model, spec, report } = importTflite(fs.readFileSync(path.join(dir, 'detect.tflite')), {
        labels,
        source: 'detect.tflite',
        dequantize: mode === 'dequantized',
      });
      t.is(spec.labels.length, 91);
      t.is(spec.anchors && 'count' in spec.anchors ? spec.anchors.count : 0, 1917);
      t.deepEqual(spec.input.mean, [128, 128, 128]);
      t.deepEqual(spec.input.std, [128, 128, 128]);
      t.deepEqual(spec.postprocess.boxCoder.weights, [10, 10, 5, 5]);
      t.is(spec.postprocess.detectionsPerImg, 10);
      t.log(report.join('\n'));
      const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ssd-edge-tflite-'));
      const file = path.join(tmp, `coco-${mode}.onnx`);
      fs.writeFileSync(file, writeOnnx(model));
      const detector = await Detector.load(file);
      let compared = 0;
      try {
        const oracles = fs.readdirSync(path.join(dir, 'oracle')).filter((f) => f.endsWith('.armnn.json'));
        for (const o of oracles) {
          const oracle = readOracle(path.join(dir, 'oracle', o));
          const image = findImage(oracle.file);
          if (!image) {
            t.log(`${oracle.file}: image not found, not compared`);
            continue;
          }
          const ours: Detection[] = await detector.detect(image);
          const { problems, tolerated } = compare(ours, oracle.detections);
          t.deepEqual(problems, [], `${oracle.file} (${mode})`);
          for (const line of tolerated) t.log(`${oracle.file}: borderline, tolerated: ${line}`);
          compared++;
        }
      } finally {
        await detector.dispose();
        fs.rmSync(tmp, { recursive: true, force: true });
      }
      t.log(`${compared} oracle images compared`);
      t.true(compared >= 1, 'no oracle image found');
    },
  );
}
