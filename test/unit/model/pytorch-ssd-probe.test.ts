/**
 * The pytorch-ssd-family importer on small models this test writes: what `boxes` / `scores` hold is found by the
 * probe run, not the names. References are computed here independently: UltraFace priors from the formula in
 * shared/models/ultraface/ORIGIN.md, softmax and pytorch-ssd's delta decoding written out by hand.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { Detector } from '../../../lib/detector/detector.ts';
import { GraphBuilder } from '../../../lib/model/graph.ts';
import { importModelFiles } from '../../../lib/model/import.ts';
import { dropInitializerInputs, probePytorchSsd } from '../../../lib/model/importers/pytorch-ssd.ts';
import { writeOnnx, type ModelProto } from '../../../lib/model/onnx.ts';
import { mulberry32 } from '../../helpers/random.ts';

/** Input 'image' [1,3,H,W]; outputs boxes = B + 0·mean(image), scores = S + 0·mean(image) (constants of the test). */
function constantHeads(W: number, H: number, boxes: Float32Array, scores: Float32Array, C: number): ModelProto {
  const N = boxes.length / 4;
  const g = new GraphBuilder('probe-test');
  g.addInput('image', [1, 3, H, W]);
  const mean = g.op('ReduceMean', ['image'], { axes: [1, 2, 3], keepdims: 0 }); // [1]
  const zero = g.op('Mul', [mean, g.addInitializer('zero', new Float32Array([0]), [1])]);
  g.addNode('Add', [g.addInitializer('B', boxes, [1, N, 4]), zero], ['boxes']);
  g.addNode('Add', [g.addInitializer('S', scores, [1, N, C]), zero], ['scores']);
  g.addOutput('scores', [1, N, C]);
  g.addOutput('boxes', [1, N, 4]);
  return g.toModel({ producerName: 'probe-test' });
}

/** UltraFace priors (cx, cy, w, h) per ORIGIN.md: strides 8/16/32/64, maps ceil(size/stride), clamped to [0, 1]. */
function referencePriors(W: number, H: number): number[][] {
  const minBoxes = [
    [10, 16, 24],
    [32, 48],
    [64, 96],
    [128, 192, 256],
  ];
  const out: number[][] = [];
  [8, 16, 32, 64].forEach((s, k) => {
    const rows = Math.ceil(H / s);
    const cols = Math.ceil(W / s);
    for (let i = 0; i < rows; i++)
      for (let j = 0; j < cols; j++)
        for (const m of minBoxes[k])
          out.push([(j + 0.5) / cols, (i + 0.5) / rows, Math.min(m / W, 1), Math.min(m / H, 1)]);
  });
  return out;
}

function tmpDir(t: { teardown(fn: () => void): void }) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssd-edge-probe-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function importModel(t: { teardown(fn: () => void): void }, model: ModelProto, extra = {}) {
  const dir = tmpDir(t);
  const src = path.join(dir, 'src.onnx');
  fs.writeFileSync(src, writeOnnx(model));
  return importModelFiles([src], { out: path.join(dir, 'out.onnx'), ...extra });
}

test('UltraFace-shaped decoded export (320x240, input "image"): probe says decoded + softmaxed; UltraFace defaults', async (t) => {
  const [W, H] = [320, 240];
  const priors = referencePriors(W, H);
  t.is(priors.length, 4420);
  const rnd = mulberry32(7);
  const boxes = new Float32Array(priors.length * 4);
  const scores = new Float32Array(priors.length * 2);
  priors.forEach(([cx, cy, w, h], n) => {
    const jx = (rnd() - 0.5) * 0.2 * w;
    boxes.set([cx - w / 2 + jx, cy - h / 2, cx + w / 2 + jx, cy + h / 2], n * 4);
    const p = 1 / (1 + Math.exp(-(rnd() * 8 - 4)));
    scores.set([1 - p, p], n * 2);
  });
  const r = await importModel(t, constantHeads(W, H, boxes, scores, 2));
  t.like(r.spec, {
    architecture: 'ultraface',
    input: { name: 'image', width: 320, height: 240, mean: [127, 127, 127], std: [128, 128, 128] },
    output: { kind: 'decoded' },
    labels: ['BACKGROUND', 'face'],
    postprocess: { scoring: 'none', boxEncoding: 'xyxy', scoreThresh: 0.7, nmsThresh: 0.3, topkCandidates: 200 },
  });
  t.is(r.spec.anchors, undefined);
  t.true(r.report.includes('probe: box centres within 2 prior sizes of the UltraFace prior centres: 100.0% → decoded'));
  t.true(r.report.includes('probe: scores softmaxed (rows in [0, 1]: 100.0%, summing to 1: 100.0%)'));
});

test('UltraFace-shaped raw deltas + logits under the same names: probe says raw; detections decode like pytorch-ssd', async (t) => {
  const [W, H] = [320, 240];
  const priors = referencePriors(W, H);
  const rnd = mulberry32(11);
  const N = priors.length;
  const deltas = new Float32Array(N * 4).map(() => rnd() * 2 - 1);
  const logits = new Float32Array(N * 2);
  for (let n = 0; n < N; n++) logits.set([2, -2 - rnd()], n * 2); // face probability < 0.02 everywhere…
  const hit = 1234;
  logits.set([-1, 3], hit * 2); // …except one row
  const r = await importModel(t, constantHeads(W, H, deltas, logits, 2));
  t.like(r.spec, {
    architecture: 'ultraface',
    output: { kind: 'raw' },
    postprocess: { scoring: 'softmax', boxEncoding: 'deltas', boxCoder: { weights: [10, 10, 5, 5], order: 'xywh' } },
  });
  t.true(r.report.some((l) => /^probe: box centres .* → raw$/.test(l)));
  t.true(r.report.some((l) => /^probe: scores logits /.test(l)));
  const detector = await Detector.load(r.path, { device: 'cpu', scoreThreshold: 0.5 });
  t.teardown(() => detector.dispose());
  const dets = await detector.detect({ data: new Uint8Array(W * H * 3).fill(127), width: W, height: H, channels: 3 });
  t.is(dets.length, 1);
  // pytorch-ssd convert_locations_to_boxes (variances 0.1, 0.2) + center_form_to_corner_form, × image size
  const [pcx, pcy, pw, ph] = priors[hit];
  const [dx, dy, dw, dh] = deltas.slice(hit * 4, hit * 4 + 4);
  const cx = pcx + dx * 0.1 * pw;
  const cy = pcy + dy * 0.1 * ph;
  const w = pw * Math.exp(dw * 0.2);
  const h = ph * Math.exp(dh * 0.2);
  const expected = [(cx - w / 2) * W, (cy - h / 2) * H, (cx + w / 2) * W, (cy + h / 2) * H].map((v, k) =>
    Math.min(Math.max(v, 0), k % 2 ? H : W),
  );
  const got = [dets[0].box.x1, dets[0].box.y1, dets[0].box.x2, dets[0].box.y2];
  got.forEach((v, k) => t.true(Math.abs(v - expected[k]) < 1e-3, `coord ${k}: ${v} vs ${expected[k]}`));
  t.is(dets[0].label, 'face');
  t.true(Math.abs(dets[0].score - Math.exp(3) / (Math.exp(3) + Math.exp(-1))) < 1e-6);
});

test('generic pytorch-ssd geometry (3000 rows): decoded boxes spread over the image are recognised; raw deltas are refused (no priors in the file)', async (t) => {
  const N = 3000;
  t.is(referencePriors(300, 300).length, 5329); // UltraFace at 300x300 (the count the error names)
  const rnd = mulberry32(3);
  const decoded = new Float32Array(N * 4);
  for (let n = 0; n < N; n++) {
    const [cx, cy, s] = [rnd(), rnd(), 0.05 + 0.3 * rnd()];
    decoded.set([cx - s / 2, cy - s / 2, cx + s / 2, cy + s / 2], n * 4);
  }
  const scores = new Float32Array(N * 3).fill(1 / 3);
  const ok = await importModel(t, constantHeads(300, 300, decoded, scores, 3), { labels: ['BACKGROUND', 'a', 'b'] });
  t.like(ok.spec, {
    architecture: 'pytorch-ssd-mobilenet',
    output: { kind: 'decoded' },
    postprocess: { scoreThresh: 0.5 },
  });
  t.true(ok.report.some((l) => /^probe: boxes with x2 ≥ x1 and y2 ≥ y1: 100\.0%, .* → decoded$/.test(l)));
  const raw = new Float32Array(N * 4).map(() => rnd() * 2 - 1);
  await t.throwsAsync(importModel(t, constantHeads(300, 300, raw, scores, 3), { labels: ['BACKGROUND', 'a', 'b'] }), {
    instanceOf: TypeError,
    message:
      /^Expected decoded boxes, or raw deltas of a model whose priors are known \(UltraFace geometry; this file has 3000 rows at 300x300, UltraFace would have 5329\) — the priors are not in the file for boxes output but received "raw deltas"$/,
  });
});

test('dropInitializerInputs: IR ≥ 4 graphs lose the weights listed as inputs, IR 3 keeps them; probe of a symbolic size needs inputSize', async (t) => {
  const model = constantHeads(320, 240, new Float32Array(4420 * 4), new Float32Array(4420 * 2), 2);
  const g = model.graph!;
  g.input.push(...g.initializer!.map((i) => ({ name: i.name as string, type: { tensor_type: { elem_type: 1 } } })));
  model.ir_version = 4;
  const before = g.input.length;
  t.is(dropInitializerInputs(model), before - 1);
  t.deepEqual(
    g.input.map((i) => i.name),
    ['image'],
  );
  model.ir_version = 3;
  g.input.push({ name: 'zero', type: { tensor_type: { elem_type: 1 } } });
  t.is(dropInitializerInputs(model), 0); // IR 3 requires initializers to be inputs
  // symbolic H, W: the size must be given
  const dyn = constantHeads(320, 240, new Float32Array(4420 * 4), new Float32Array(4420 * 2), 2);
  const dims = dyn.graph!.input[0].type!.tensor_type!.shape!.dim!;
  dims[2] = { dim_param: 'H' };
  dims[3] = { dim_param: 'W' };
  await t.throwsAsync(probePytorchSsd(dyn), {
    message:
      /^Expected pytorch-ssd export input 'image' with a static height and width but received \[1, 3, H, W\] — give the size with --input-size WxH$/,
  });
  const probe = await probePytorchSsd(dyn, { inputSize: [320, 240] });
  t.is(probe.boxes, 'decoded'); // constant boxes: nothing to tell, declared layout kept
  t.regex(probe.evidence[0], /^probe: boxes constant over the rows/);
});
