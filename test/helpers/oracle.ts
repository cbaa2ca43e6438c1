/**
 * Oracle detections (shared/models/<family>/oracle/…/<image>.<runtime>.json: another runtime's detections on the
 * same image, format in shared/models/README.md) and the comparison of ssd-edge's detections against them.
 *
 * Matching: both lists are restricted to scores ≥ `minScore`; oracle rows are taken by descending score and each is
 * paired with the unpaired ssd-edge detection of the same label with the highest IoU. A pair passes when its box
 * corners differ by ≤ `box` px and scores by ≤ `score` (or, with `iou`, IoU ≥ `iou` instead of the corner test).
 * Oracle boxes are not clipped while ssd-edge clips to the image, so oracle boxes are clipped to [0, W] × [0, H]
 * before the comparison. Rows whose score is within `score` of `minScore` may be missing on either side (a
 * threshold straddled by rounding) without failing.
 */
import fs from 'node:fs';

export interface OracleBox {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
}

export interface OracleDetection {
  label: string;
  classId?: number;
  score: number;
  box: OracleBox;
  [extra: string]: unknown;
}

export interface Oracle {
  file: string;
  width: number;
  height: number;
  model: string;
  runtime: string;
  preprocess: string;
  postprocess: string;
  detections: OracleDetection[];
}

export interface DetectionLike {
  label: string;
  score: number;
  box: OracleBox;
}

export interface OracleTolerance {
  /** Max |Δ| of any box corner in pixels (ignored when `iou` is given). */
  box?: number;
  /** Max |Δ| of the score. */
  score: number;
  /** Min IoU instead of the corner test (quantized models). */
  iou?: number;
  /** Compare only rows with score ≥ this (default 0). */
  minScore?: number;
}

export interface OracleComparison {
  /** Empty when everything matched within tolerance. */
  problems: string[];
  matched: number;
  maxBoxDiff: number;
  maxScoreDiff: number;
  minIou: number;
}

export function readOracle(file: string): Oracle {
  const o = JSON.parse(fs.readFileSync(file, 'utf8')) as Oracle;
  if (!Array.isArray(o.detections) || typeof o.width !== 'number')
    throw new TypeError(`Expected an oracle JSON with width and detections in ${file}`);
  return o;
}

export function iou(a: OracleBox, b: OracleBox): number {
  const w = Math.max(0, Math.min(a.x2, b.x2) - Math.max(a.x1, b.x1));
  const h = Math.max(0, Math.min(a.y2, b.y2) - Math.max(a.y1, b.y1));
  const inter = w * h;
  const union = (a.x2 - a.x1) * (a.y2 - a.y1) + (b.x2 - b.x1) * (b.y2 - b.y1) - inter;
  return union > 0 ? inter / union : 0;
}

const clip = (b: OracleBox, w: number, h: number): OracleBox => ({
  x1: Math.min(Math.max(b.x1, 0), w),
  y1: Math.min(Math.max(b.y1, 0), h),
  x2: Math.min(Math.max(b.x2, 0), w),
  y2: Math.min(Math.max(b.y2, 0), h),
});

const fmt = (d: DetectionLike) =>
  `${d.label} ${d.score.toFixed(4)} [${[d.box.x1, d.box.y1, d.box.x2, d.box.y2].map((v) => v.toFixed(1)).join(', ')}]`;

/** Compares detections to an oracle (see the file header). */
export function compareToOracle(
  actual: readonly DetectionLike[],
  oracle: Oracle,
  tol: OracleTolerance,
): OracleComparison {
  const min = tol.minScore ?? 0;
  const expected = oracle.detections
    .filter((d) => d.score >= min)
    .map((d) => ({ ...d, box: clip(d.box, oracle.width, oracle.height) }))
    .sort((a, b) => b.score - a.score);
  const got = actual.filter((d) => d.score >= min);
  const used = new Set<number>();
  const problems: string[] = [];
  let maxBoxDiff = 0;
  let maxScoreDiff = 0;
  let minIou = 1;
  let matched = 0;
  const nearThreshold = (s: number) => s < min + tol.score;
  for (const e of expected) {
    let best = -1;
    let bestIou = -1;
    got.forEach((g, k) => {
      if (used.has(k) || g.label !== e.label) return;
      const v = iou(g.box, e.box);
      if (v > bestIou) {
        bestIou = v;
        best = k;
      }
    });
    if (best < 0 || bestIou <= 0) {
      if (!nearThreshold(e.score)) problems.push(`oracle ${fmt(e)} has no match`);
      continue;
    }
    used.add(best);
    const g = got[best];
    const boxDiff = Math.max(
      Math.abs(g.box.x1 - e.box.x1),
      Math.abs(g.box.y1 - e.box.y1),
      Math.abs(g.box.x2 - e.box.x2),
      Math.abs(g.box.y2 - e.box.y2),
    );
    const scoreDiff = Math.abs(g.score - e.score);
    maxBoxDiff = Math.max(maxBoxDiff, boxDiff);
    maxScoreDiff = Math.max(maxScoreDiff, scoreDiff);
    minIou = Math.min(minIou, bestIou);
    matched++;
    const boxOk = tol.iou !== undefined ? bestIou >= tol.iou : boxDiff <= (tol.box ?? 0);
    if (!boxOk || scoreDiff > tol.score)
      problems.push(
        `oracle ${fmt(e)} vs ssd-edge ${fmt(g)}: box Δ ${boxDiff.toFixed(4)} px, IoU ${bestIou.toFixed(4)}, score Δ ${scoreDiff.toExponential(2)}`,
      );
  }
  got.forEach((g, k) => {
    if (!used.has(k) && !nearThreshold(g.score)) problems.push(`ssd-edge ${fmt(g)} is not in the oracle`);
  });
  return { problems, matched, maxBoxDiff, maxScoreDiff, minIou };
}
