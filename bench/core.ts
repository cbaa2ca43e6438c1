/**
 * Native core benchmarks (issue: SSD300 postprocess ≤ 1 ms and ≥ 20× TS; NMS 8732 ≤ 5 ms; IoU, decode; tfjs NMS).
 * Every ratio is against a baseline measured in this same run. Inputs are the torchvision reference files in
 * test/fixtures. Returns a result object; bench/run.ts writes it to bench/results/core.json.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  backend,
  boxIou,
  capabilities,
  decodeBoxes,
  defaultBoxes,
  nms,
  postprocessDetections,
  setSimd,
  softNms,
  POSTPROCESS_PRESETS,
} from '../lib/index.ts';
import { boxIouTs, decodeBoxesTs, nmsTs, postprocessDetectionsTs } from '../lib/reference.ts';
import type { SimdLevel } from '../lib/binding.ts';
import { fmt, measure, type Timing } from './measure.ts';

const fixtures = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../test/fixtures');
const f32 = (p: string) => {
  const b = fs.readFileSync(path.join(fixtures, p));
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
};

function randomBoxes(n: number, seed: number, extent = 300, maxSide = 80): Float32Array {
  let s = seed >>> 0;
  const rnd = () => (s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32;
  const b = new Float32Array(4 * n);
  for (let i = 0; i < n; i++) {
    const x = rnd() * extent,
      y = rnd() * extent;
    b.set([x, y, x + 1 + rnd() * maxSide, y + 1 + rnd() * maxSide], 4 * i);
  }
  return b;
}

export async function benchCore(log: (line: string) => void = console.log) {
  const caps = capabilities();
  const levels = backend === 'native' ? (caps.supported as SimdLevel[]) : [];
  const out: Record<string, unknown> = { backend, capabilities: caps };

  // SSD300 postprocess on the reference head outputs (8732 anchors × 21 classes, tamed torchvision model).
  const input = {
    boxRegression: f32('postprocess/ssd300_astronaut_bbox_regression.f32'),
    classLogits: f32('postprocess/ssd300_astronaut_cls_logits.f32'),
    anchors: defaultBoxes('torchvision-ssd300-vgg16'),
    numClasses: 21,
    imageSizes: [[512, 512]] as Array<[number, number]>,
  };
  const opts = POSTPROCESS_PRESETS.torchvision;
  const pp: Record<string, Timing> = {
    typescript: measure(() => postprocessDetectionsTs(input, opts), { runs: 15, warmup: 3 }),
  };
  for (const level of levels) {
    setSimd(level);
    pp[level] = measure(() => postprocessDetections(input, opts), { runs: 200, warmup: 20 });
  }
  // Batch of 8 through the AsyncWorker-free sync path: per-image cost.
  out.postprocess = summarizeGroup('SSD300 postprocess 8732×21', pp, log, { target: 1 });

  // NMS on the 8732-box reference case at 0.45 (torchvision.ops.nms: ~95 ms on this machine, see ENV.md).
  const boxes = f32('nms/nms_8732_boxes.f32');
  const scores = f32('nms/nms_8732_scores.f32');
  const nm: Record<string, Timing> = { typescript: measure(() => nmsTs(boxes, scores, 0.45), { runs: 10, warmup: 2 }) };
  for (const level of levels) {
    setSimd(level);
    nm[level] = measure(() => nms(boxes, scores, 0.45), { runs: 100, warmup: 10 });
  }
  nm['tfjs-cpu tf.image.nonMaxSuppression'] = await tfjsNms(boxes, scores);
  out.nms = summarizeGroup('NMS 8732 boxes @0.45', nm, log, { target: 5 });

  // IoU 1000×1000 and decode of 8732 boxes.
  const a = randomBoxes(1000, 1),
    b = randomBoxes(1000, 2);
  const iou: Record<string, Timing> = { typescript: measure(() => boxIouTs(a, b), { runs: 10, warmup: 2 }) };
  for (const level of levels) {
    setSimd(level);
    iou[level] = measure(() => boxIou(a, b), { runs: 50, warmup: 5 });
  }
  out.iou = summarizeGroup('IoU 1000×1000', iou, log);

  const anchors = input.anchors;
  const dec: Record<string, Timing> = {
    typescript: measure(() => decodeBoxesTs(input.boxRegression, anchors, { anchorFormat: 'cxcywh' }), {
      runs: 20,
      warmup: 3,
    }),
  };
  for (const level of levels) {
    setSimd(level);
    dec[level] = measure(() => decodeBoxes(input.boxRegression, anchors, { anchorFormat: 'cxcywh' }), {
      runs: 200,
      warmup: 20,
    });
  }
  out.decode = summarizeGroup('decode 8732 boxes', dec, log);
  if (levels.length) setSimd('auto');
  return out;
}

/**
 * `npm run bench -- nms` (bench/results/nms.json): greedy NMS on every adversarial layout at IoU 0.5, 0.45, 0.01 and
 * 0, and soft-NMS (decay-all default) on each, through the addon. Wall-clock medians of 3 runs (one run when the
 * first takes over 5 s).
 */
export function benchNms(log: (line: string) => void = console.log) {
  return { greedy: benchNmsLayouts(log), iou0: benchNmsIou0(log), soft: benchSoftNms(log) };
}

/**
 * Box layouts that once made the grid index quadratic (issue #6 B3) and the ones that stress the bounding-box tree
 * that replaced it, each with random scores (the TS twin is O(N·kept) by design and is not run on these sizes).
 */
export function nmsLayouts(): Array<{ name: string; boxes: Float32Array; scores: Float32Array }> {
  let s = 12345;
  const rnd = () => (s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32;
  const make = (name: string, n: number, box: (i: number, b: Float32Array) => void) => {
    const boxes = new Float32Array(4 * n);
    const scores = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      box(i, boxes.subarray(4 * i, 4 * i + 4));
      scores[i] = rnd();
    }
    return { name, boxes, scores };
  };
  // Small boxes (side 1–9) scattered over a square of `extent`.
  const small = (extent: number) => (_i: number, b: Float32Array) => {
    const x = rnd() * extent,
      y = rnd() * extent;
    b.set([x, y, x + 1 + rnd() * 8, y + 1 + rnd() * 8]);
  };
  const plusHuge = (n: number, extent: number) => (i: number, b: Float32Array) =>
    i === n - 1 ? b.set([0, 0, 1e30, 1e30]) : small(extent)(i, b);
  return [
    make('65 536 small + one [0,0,1e30,1e30]', 65536, plusHuge(65536, 2000)),
    make('262 144 small + one huge', 262144, plusHuge(262144, 4000)),
    make('65 536 small + corners at ±3e38', 65536, (i, b) =>
      i === 0
        ? b.set([-3e38, -3e38, -2.9e38, -2.9e38])
        : i === 1
          ? b.set([2.9e38, 2.9e38, 3e38, 3e38])
          : small(2000)(i, b),
    ),
    make('262 144 with 10% NaN/±Inf + huge', 262144, (i, b) => {
      const r = rnd();
      if (r < 0.05) b.set([NaN, 0, 1, 1]);
      else if (r < 0.1) b.set([-Infinity, -Infinity, Infinity, Infinity]);
      else if (r < 0.1001) b.set([-1e38, -1e38, 1e38, 1e38]);
      else small(4000)(i, b);
    }),
    make('10^6 small, uniform', 1_000_000, small(8000)),
    // Widths and heights drawn independently: long, thin boxes of every orientation.
    make('10^6 sizes 1e-3…1e3 (log-uniform w, h)', 1_000_000, (_i, b) => {
      const x = rnd() * 1e5,
        y = rnd() * 1e5,
        w = 10 ** (rnd() * 6 - 3),
        h = 10 ** (rnd() * 6 - 3);
      b.set([x, y, x + w, y + h]);
    }),
    make('10^6 near-squares 1e-3…1e3', 1_000_000, (_i, b) => {
      const x = rnd() * 1e5,
        y = rnd() * 1e5,
        w = 10 ** (rnd() * 6 - 3);
      b.set([x, y, x + w, y + w * (0.5 + rnd())]);
    }),
    make('10^6 tiny (side 1e-20, span 1e-15)', 1_000_000, (_i, b) => {
      const x = rnd() * 1e-15,
        y = rnd() * 1e-15;
      b.set([x, y, x + 1e-20 * (1 + rnd()), y + 1e-20 * (1 + rnd())]);
    }),
    make('10^6 small + one huge + ±3e38 corners', 1_000_000, (i, b) =>
      i === 0 ? b.set([0, 0, 1e30, 1e30]) : i === 1 ? b.set([-3e38, -3e38, 3e38, 3e38]) : small(8000)(i, b),
    ),
    // Every box overlaps dozens: many candidates per query at 0.5.
    make('10^6 dense (sides 1–9 in 1000²)', 1_000_000, small(1000)),
    make('10^6 crossing bars 1e-3 × 1e3', 1_000_000, (i, b) => {
      const x = rnd() * 1e5,
        y = rnd() * 1e5,
        a = 1e-3 * (1 + rnd()),
        l = 1e3 * (1 + rnd());
      b.set(i % 2 ? [x, y, x + a, y + l] : [x, y, x + l, y + a]);
    }),
    make('10^6 in 16 clusters 1e30 apart, sides 1e-6…1e6', 1_000_000, (i, b) => {
      const cx = (i % 4) * 1e30,
        cy = (Math.floor(i / 4) % 4) * 1e30,
        d = 10 ** (rnd() * 12 - 6);
      b.set([cx - d + rnd() * d, cy - d + rnd() * d, cx + d, cy + d]);
    }),
  ];
}

/**
 * IoU-threshold-0 layouts (issue #6 B3 follow-up), once the size-class grid's worst cases: greedy NMS at 0 and
 * soft-NMS with its decay-all default.
 */
export function nmsLayoutsIou0(): Array<{ name: string; boxes: Float32Array; scores: Float32Array }> {
  let s = 777;
  const rnd = () => (s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32;
  // 14 641 disjoint boxes, one per binade pair [2^e, 2^f, 2^(e+1), 2^(f+1)], e, f in −60…60 (score 2), and 185 000
  // boxes of side 0.5 uniform in [0, 1000]² (score 1).
  const nest = 121 * 121,
    n1 = nest + 185_000;
  const b1 = new Float32Array(4 * n1),
    s1 = new Float32Array(n1);
  for (let e = -60, i = 0; e <= 60; e++)
    for (let f = -60; f <= 60; f++, i++) {
      b1.set([2 ** e, 2 ** f, 2 ** (e + 1), 2 ** (f + 1)], 4 * i);
      s1[i] = 2;
    }
  for (let i = nest; i < n1; i++) {
    const x = rnd() * 1000,
      y = rnd() * 1000;
    b1.set([x, y, x + 0.5, y + 0.5], 4 * i);
    s1[i] = 1;
  }
  const logUniform = (n: number, extent: number) => {
    const boxes = new Float32Array(4 * n),
      scores = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const x = rnd() * extent,
        y = rnd() * extent;
      boxes.set([x, y, x + 10 ** (rnd() * 6 - 3), y + 10 ** (rnd() * 6 - 3)], 4 * i);
      scores[i] = rnd();
    }
    return { boxes, scores };
  };
  return [
    { name: '14 641 binade pairs + 185 000 small', boxes: b1, scores: s1 },
    { name: '10^5 sizes 1e-3…1e3 (log-uniform)', ...logUniform(100_000, 1e5) },
  ];
}

function benchNmsIou0(log: (l: string) => void) {
  const rows: Record<string, Timing & { kept: number }> = {};
  log('NMS at IoU 0 and soft-NMS decay-all (native)');
  for (const { name, boxes, scores } of nmsLayoutsIou0()) {
    const runs: Array<[string, () => number]> = [
      [`${name}, nms @0`, () => nms(boxes, scores, 0).length],
      [`${name}, softNms default`, () => softNms(boxes, scores).indices.length],
    ];
    for (const [label, run] of runs) {
      rows[label] = row(run);
      logRow(log, label, rows[label]);
    }
  }
  return rows;
}

/** One row: a median of 3 runs, or the single first run when it takes over 5 s. */
function row(run: () => number): Timing & { kept: number } {
  const t0 = process.hrtime.bigint();
  const kept = run();
  const first = Number(process.hrtime.bigint() - t0) / 1e6;
  const t = first > 5000 ? { median: first, p10: first, p90: first, runs: 1 } : measure(run, { runs: 3, warmup: 0 });
  return { ...t, kept };
}

function logRow(log: (l: string) => void, label: string, t: Timing & { kept: number }) {
  log(
    `  ${label.padEnd(58)} ${fmt(t.median).padStart(10)}  (p10 ${fmt(t.p10)}, p90 ${fmt(t.p90)}, runs ${t.runs})  kept ${t.kept}`,
  );
}

function benchNmsLayouts(log: (l: string) => void) {
  const rows: Record<string, Timing & { kept: number }> = {};
  log('NMS adversarial layouts (native)');
  for (const { name, boxes, scores } of nmsLayouts()) {
    for (const thr of [0.5, 0.45, 0.01, 0]) {
      const label = `${name} @${thr}`;
      rows[label] = row(() => nms(boxes, scores, thr).length);
      logRow(log, label, rows[label]);
    }
  }
  return rows;
}

/** Soft-NMS with its decay-all default on the 10^6 layouts: its work is the number of overlapping pairs. */
function benchSoftNms(log: (l: string) => void) {
  const rows: Record<string, Timing & { kept: number }> = {};
  log('softNms default (decay-all) on the adversarial layouts (native)');
  for (const { name, boxes, scores } of nmsLayouts()) {
    if (scores.length < 1_000_000) continue;
    rows[name] = row(() => softNms(boxes, scores).indices.length);
    logRow(log, name, rows[name]);
  }
  return rows;
}

/** tfjs NMS on the same boxes (tfjs wants [y1, x1, y2, x2]); its cpu backend, the reference JS implementation. */
async function tfjsNms(boxes: Float32Array, scores: Float32Array): Promise<Timing> {
  const tf = await import('@tensorflow/tfjs-core');
  await import('@tensorflow/tfjs-backend-cpu');
  await tf.setBackend('cpu');
  const yx = new Float32Array(boxes.length);
  for (let i = 0; i < boxes.length; i += 4) yx.set([boxes[i + 1], boxes[i], boxes[i + 3], boxes[i + 2]], i);
  const tb = tf.tensor2d(yx, [scores.length, 4]);
  const ts = tf.tensor1d(scores);
  const run = () => {
    const keep = tf.image.nonMaxSuppression(tb, ts, scores.length, 0.45, -Infinity);
    keep.dataSync();
    keep.dispose();
  };
  const t = measure(run, { runs: 10, warmup: 2 });
  tb.dispose();
  ts.dispose();
  return t;
}

function summarizeGroup(
  title: string,
  t: Record<string, Timing>,
  log: (l: string) => void,
  { target }: { target?: number } = {},
) {
  const best = Object.entries(t)
    .filter(([k]) => k !== 'typescript' && !k.startsWith('tfjs'))
    .sort((x, y) => x[1].median - y[1].median)[0];
  const base = t.typescript.median;
  log(`${title}`);
  for (const [k, v] of Object.entries(t)) {
    log(
      `  ${k.padEnd(38)} ${fmt(v.median).padStart(10)}  (p10 ${fmt(v.p10)}, p90 ${fmt(v.p90)})  ${(base / v.median).toFixed(1)}× vs TS`,
    );
  }
  const result: Record<string, unknown> = { timings: t };
  if (best) {
    result.best = best[0];
    result.speedupVsTs = +(base / best[1].median).toFixed(1);
    if (target !== undefined) {
      result.targetMs = target;
      result.meetsTarget = best[1].median <= target;
      log(
        `  → best ${best[0]} ${fmt(best[1].median)}: target ≤ ${target} ms ${best[1].median <= target ? 'met' : 'NOT met'}`,
      );
    }
  }
  return result;
}
