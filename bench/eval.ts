/**
 * Metric computation time (issue 7: 5 000 images × 100 detections "well under a second"): evaluateVoc (all-point and
 * VOC07) and evaluateCoco, input validation included, on a seeded random set of 5 000 images × 100 detections over
 * 20 classes (~6 ground-truth boxes per image). Baseline in the same run: a naive TypeScript port of the same
 * definitions (py-faster-rcnn voc_eval, pycocotools COCOeval) on objects and per-image×class maps — what one writes
 * first — whose results are checked equal to ours; the ratio is naive / ours. Medians of repeated runs, wall-clock and
 * process CPU time (on a shared machine the CPU time says more; both are reported).
 * `npm run bench -- eval`; `node --import=tsx bench/eval.ts [images]` alone.
 */
import { fileURLToPath } from 'node:url';
import { evaluateCoco, evaluateVoc } from '../lib/index.ts';
import type { DetectionImage, GroundTruthImage, XYXY } from '../lib/index.ts';
import { fmt, summarize, type Timing } from './measure.ts';

/** Seeded set: `images` images, `perImage` detections each (jittered copies of the truth and random boxes). */
export function benchSet(images: number, perImage = 100, classes = 20, seed = 7) {
  let s = seed >>> 0;
  const rnd = () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
  const labels = Array.from({ length: classes }, (_, k) => `class${k}`);
  const box = (): XYXY => {
    const w = 4 + rnd() * 200;
    const h = 4 + rnd() * 200;
    const x = rnd() * (640 - w);
    const y = rnd() * (480 - h);
    return [x, y, x + w, y + h];
  };
  const groundTruth: GroundTruthImage[] = [];
  const detections: DetectionImage[] = [];
  for (let i = 0; i < images; i++) {
    const image = `img${i}.jpg`;
    const boxes = Array.from({ length: 1 + Math.floor(rnd() * 10) }, () => ({
      label: labels[Math.floor(rnd() * classes)],
      box: box(),
      ...(rnd() < 0.05 ? { difficult: true } : {}),
      ...(rnd() < 0.03 ? { iscrowd: true } : {}),
    }));
    groundTruth.push({ image, boxes });
    const dets: DetectionImage['detections'] = [];
    for (let d = 0; d < perImage; d++) {
      const near = rnd() < 0.3 ? boxes[Math.floor(rnd() * boxes.length)] : undefined;
      let b: XYXY;
      if (near) {
        const [x1, y1, x2, y2] = near.box;
        const jx = (x2 - x1) * 0.15;
        const jy = (y2 - y1) * 0.15;
        b = [x1 + (rnd() - 0.5) * jx, y1 + (rnd() - 0.5) * jy, x2 + (rnd() - 0.5) * jx, y2 + (rnd() - 0.5) * jy];
      } else {
        b = box();
      }
      const label = near && rnd() < 0.8 ? near.label : labels[Math.floor(rnd() * classes)];
      dets.push({ label, score: Math.round(rnd() * 1000) / 1000, box: b });
    }
    detections.push({ image, detections: dets });
  }
  return { groundTruth, detections };
}

// --- the naive baseline: objects, string-keyed maps, per-pair arrays --------------------------------------------

const xyxy = (b: DetectionImage['detections'][number]['box']): XYXY =>
  Array.isArray(b) ? b : [b.x1, b.y1, b.x2, b.y2];
const vocApNaive = (rec: number[], prec: number[], use07: boolean) => {
  if (use07) {
    let ap = 0;
    for (let k = 0; k <= 10; k++) {
      const ps = prec.filter((_, i) => rec[i] >= k * 0.1);
      ap += (ps.length ? Math.max(...ps) : 0) / 11;
    }
    return ap;
  }
  const mrec = [0, ...rec, 1];
  const mpre = [0, ...prec, 0];
  for (let i = mpre.length - 1; i > 0; i--) mpre[i - 1] = Math.max(mpre[i - 1], mpre[i]);
  let ap = 0;
  for (let i = 0; i < mrec.length - 1; i++) if (mrec[i + 1] !== mrec[i]) ap += (mrec[i + 1] - mrec[i]) * mpre[i + 1];
  return ap;
};

export function naiveVoc(gt: GroundTruthImage[], dets: DetectionImage[], use07 = false): number {
  const labels = [
    ...new Set([
      ...gt.flatMap((e) => e.boxes.map((b) => b.label)),
      ...dets.flatMap((e) => e.detections.map((d) => d.label)),
    ]),
  ].sort();
  const aps: number[] = [];
  for (const c of labels) {
    const recs = new Map<string, { boxes: XYXY[]; difficult: boolean[]; det: boolean[] }>();
    let npos = 0;
    for (const e of gt) {
      const R = e.boxes.filter((b) => b.label === c);
      recs.set(e.image, {
        boxes: R.map((b) => b.box),
        difficult: R.map((b) => !!(b.difficult || b.iscrowd)),
        det: R.map(() => false),
      });
      npos += R.filter((b) => !(b.difficult || b.iscrowd)).length;
    }
    const list = dets.flatMap((e) =>
      e.detections.filter((d) => d.label === c).map((d) => ({ image: e.image, score: d.score, box: xyxy(d.box) })),
    );
    list.sort((a, b) => b.score - a.score);
    const tp: number[] = [];
    const fp: number[] = [];
    for (const d of list) {
      const R = recs.get(d.image)!;
      const ov = R.boxes.map((g) => {
        const iw = Math.max(Math.min(g[2], d.box[2]) - Math.max(g[0], d.box[0]), 0);
        const ih = Math.max(Math.min(g[3], d.box[3]) - Math.max(g[1], d.box[1]), 0);
        const inter = iw * ih;
        const uni = (d.box[2] - d.box[0]) * (d.box[3] - d.box[1]) + (g[2] - g[0]) * (g[3] - g[1]) - inter;
        return uni > 0 ? inter / uni : 0;
      });
      const ovmax = ov.length ? Math.max(...ov) : -Infinity;
      const j = ov.indexOf(ovmax);
      let t = 0;
      let f = 0;
      if (ovmax >= 0.5) {
        if (!R.difficult[j]) {
          if (!R.det[j]) {
            t = 1;
            R.det[j] = true;
          } else f = 1;
        }
      } else f = 1;
      tp.push((tp.at(-1) ?? 0) + t);
      fp.push((fp.at(-1) ?? 0) + f);
    }
    if (npos === 0) continue;
    const rec = tp.map((v) => v / npos);
    const prec = tp.map((v, i) => v / Math.max(v + fp[i], 2.220446049250313e-16));
    aps.push(vocApNaive(rec, prec, use07));
  }
  return aps.reduce((a, b) => a + b, 0) / aps.length;
}

interface NaiveEval {
  dtScores: number[];
  dtMatched: boolean[][];
  dtIgnore: boolean[][];
  gtIgnore: boolean[];
}

/** pycocotools' evaluateImg / accumulate on objects; returns AP@[.5:.95] (all areas, 100 detections). */
export function naiveCocoAp(gt: GroundTruthImage[], dets: DetectionImage[]): number {
  const iouThrs = Array.from({ length: 10 }, (_, i) => (i === 9 ? 0.95 : i * ((0.95 - 0.5) / 9) + 0.5));
  const labels = [
    ...new Set([
      ...gt.flatMap((e) => e.boxes.map((b) => b.label)),
      ...dets.flatMap((e) => e.detections.map((d) => d.label)),
    ]),
  ].sort();
  const gts = new Map<string, Array<{ box: XYXY; crowd: boolean; ignore: boolean }>>();
  const dts = new Map<string, Array<{ box: XYXY; score: number }>>();
  for (const e of gt)
    for (const b of e.boxes) {
      const k = `${e.image}|${b.label}`;
      if (!gts.has(k)) gts.set(k, []);
      gts.get(k)!.push({ box: b.box, crowd: !!b.iscrowd, ignore: !!(b.iscrowd || b.difficult) });
    }
  for (const e of dets)
    for (const d of e.detections) {
      const k = `${e.image}|${d.label}`;
      if (!dts.has(k)) dts.set(k, []);
      dts.get(k)!.push({ box: xyxy(d.box), score: d.score });
    }
  let sum = 0;
  let count = 0;
  for (const c of labels) {
    const evals: NaiveEval[] = [];
    for (const e of gt) {
      const g = [...(gts.get(`${e.image}|${c}`) ?? [])].sort((a, b) => Number(a.ignore) - Number(b.ignore));
      const d = [...(dts.get(`${e.image}|${c}`) ?? [])].sort((a, b) => b.score - a.score).slice(0, 100);
      if (!g.length && !d.length) continue;
      const ious = d.map((dd) =>
        g.map((gg) => {
          const [dx, dy, dw, dh] = [dd.box[0], dd.box[1], dd.box[2] - dd.box[0], dd.box[3] - dd.box[1]];
          const [gx, gy, gw, gh] = [gg.box[0], gg.box[1], gg.box[2] - gg.box[0], gg.box[3] - gg.box[1]];
          const w = Math.min(dw + dx, gw + gx) - Math.max(dx, gx);
          const h = Math.min(dh + dy, gh + gy) - Math.max(dy, gy);
          if (w <= 0 || h <= 0) return 0;
          return (w * h) / (gg.crowd ? dw * dh : dw * dh + gw * gh - w * h);
        }),
      );
      const dtMatched = iouThrs.map(() => d.map(() => false));
      const dtIgnore = iouThrs.map(() => d.map(() => false));
      iouThrs.forEach((t, ti) => {
        const taken = g.map(() => false);
        d.forEach((_, di) => {
          let iou = Math.min(t, 1 - 1e-10);
          let m = -1;
          for (let gi = 0; gi < g.length; gi++) {
            if (taken[gi] && !g[gi].crowd) continue;
            if (m > -1 && !g[m].ignore && g[gi].ignore) break;
            if (ious[di][gi] < iou) continue;
            iou = ious[di][gi];
            m = gi;
          }
          if (m === -1) return;
          dtIgnore[ti][di] = g[m].ignore;
          dtMatched[ti][di] = true;
          taken[m] = true;
        });
      });
      evals.push({ dtScores: d.map((x) => x.score), dtMatched, dtIgnore, gtIgnore: g.map((x) => x.ignore) });
    }
    const npig = evals.reduce((n, e) => n + e.gtIgnore.filter((x) => !x).length, 0);
    if (!evals.length || npig === 0) continue;
    const all = evals.flatMap((e, ei) => e.dtScores.map((score, di) => ({ score, ei, di })));
    all.sort((a, b) => b.score - a.score);
    for (let ti = 0; ti < iouThrs.length; ti++) {
      let tp = 0;
      let fp = 0;
      const rc: number[] = [];
      const pr: number[] = [];
      for (const { ei, di } of all) {
        const ig = evals[ei].dtIgnore[ti][di];
        const m = evals[ei].dtMatched[ti][di];
        if (m && !ig) tp++;
        if (!m && !ig) fp++;
        rc.push(tp / npig);
        pr.push(tp / (fp + tp + 2.220446049250313e-16));
      }
      for (let i = pr.length - 1; i > 0; i--) if (pr[i] > pr[i - 1]) pr[i - 1] = pr[i];
      let pi = 0;
      for (let r = 0; r <= 100; r++) {
        while (pi < rc.length && rc[pi] < r * 0.01) pi++;
        sum += pi < rc.length ? pr[pi] : 0;
        count++;
      }
    }
  }
  return sum / count;
}

// --- the benchmark ---------------------------------------------------------------------------------------------

interface Timings {
  /** Wall-clock ms per call. */
  wall: Timing;
  /** CPU ms per call (user + system, whole process): less sensitive to other processes on a shared machine. */
  cpu: Timing;
}

/** Medians of `runs` calls after one warm-up, wall-clock and process CPU time. */
function measureBoth(fn: () => unknown, runs: number): Timings {
  fn();
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let r = 0; r < runs; r++) {
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    fn();
    wall.push(Number(process.hrtime.bigint() - t0) / 1e6);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  return { wall: summarize(wall), cpu: summarize(cpu) };
}

export async function benchEval(log: (line: string) => void = console.log, images = 5000) {
  const t0 = Date.now();
  const { groundTruth, detections } = benchSet(images);
  log(
    `set: ${images} images × 100 detections, 20 classes, ${groundTruth.reduce((n, e) => n + e.boxes.length, 0)} ground-truth boxes (built in ${Date.now() - t0} ms)`,
  );
  const rows: Record<string, { ours: Timings; naive: Timings; ratio: number; ratioCpu: number; value: number }> = {};
  const row = (name: string, ours: () => number, naive: () => number) => {
    const a = ours();
    const b = naive();
    if (Math.abs(a - b) > 1e-9) throw new Error(`${name}: ours ${a} ≠ naive ${b}`);
    const t = measureBoth(ours, 7);
    const n = measureBoth(naive, 3);
    const ratio = n.wall.median / t.wall.median;
    const ratioCpu = n.cpu.median / t.cpu.median;
    rows[name] = { ours: t, naive: n, ratio, ratioCpu, value: a };
    log(
      `${name.padEnd(22)} ours ${fmt(t.wall.median).padStart(10)} (cpu ${fmt(t.cpu.median).padStart(10)})   naive TS ${fmt(n.wall.median).padStart(10)} (cpu ${fmt(n.cpu.median).padStart(10)})   ×${ratio.toFixed(1)} (cpu ×${ratioCpu.toFixed(1)})   value ${a.toFixed(6)}`,
    );
  };
  row(
    'VOC all-point',
    () => evaluateVoc(groundTruth, detections).map,
    () => naiveVoc(groundTruth, detections),
  );
  row(
    'VOC07 11-point',
    () => evaluateVoc(groundTruth, detections, { use07Metric: true }).map,
    () => naiveVoc(groundTruth, detections, true),
  );
  row(
    'COCO (12 + per class)',
    () => evaluateCoco(groundTruth, detections).AP,
    () => naiveCocoAp(groundTruth, detections),
  );
  return { images, detectionsPerImage: 100, classes: 20, rows };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await benchEval(console.log, Number(process.argv[2] ?? 5000));
}
