/**
 * COCO bbox evaluation, after pycocotools' `COCOeval` (evaluate → accumulate → summarize), on typed arrays.
 *
 * - evaluate, per class × image: detections sorted by score (stable: ties keep input order), cut to the largest
 *   maxDet; IoU as `maskUtils.iou` on xywh boxes (a crowd box: intersection / detection area). Per area range
 *   (all, small < 32², medium, large > 96², on the ground truth's `area`, the box area when absent, and the
 *   detection's box area) ground truth outside the range, crowd or difficult is "ignored" and sorted last (stable);
 *   per IoU threshold each detection, by score, takes the not-yet-taken box (crowd boxes are never taken) with the
 *   largest IoU ≥ threshold (capped at 1 − 1e-10; a later box with an equal IoU wins), preferring boxes not ignored.
 *   A detection matched to an ignored box is ignored; an unmatched one outside the area range too.
 * - accumulate, per class × area × maxDet: the first maxDet detections of every image, stable-sorted by score
 *   (images in ground-truth order); cumulative TP / FP (ignored ones count as neither but keep their place);
 *   recall = TP / npig (boxes not ignored), precision = TP / (TP + FP + ε) made non-increasing from the right, read at
 *   the 101 recall thresholds 0:.01:1 with `searchsorted(recall, thresholds, side='left')` (0 past the end).
 *   A class without ground truth in the range (npig = 0) stays −1 there.
 * - summarize: the mean of the entries > −1 (−1 when none) as `COCOeval.summarize()`: AP over all thresholds, AP50,
 *   AP75, AP small/medium/large at the last maxDet, AR at each maxDet, AR small/medium/large at the last maxDet.
 *   −1 is returned as NaN. (pycocotools reads AP at maxDets = 100 literally; here the last maxDet, the same by default.)
 *   Per class: the same means restricted to the class.
 * Differences from pycocotools: difficult ground truth (VOC) is ignored like a box outside the area range; a COCO
 * annotation id of 0 does not count as "unmatched"; matching uses flags, not ids.
 */
import { assertInRange, assertInteger, assertKnownKeys, invalidParameterError } from '../is.ts';
import { checkClassesOption, type EvalData, groupBy, groupDetections, setOwn, sortByScore } from './inputs.ts';
import type { CocoAccumulated, CocoMetrics, CocoOptions, CocoResult } from './types.ts';

const EPS = 2.220446049250313e-16; // numpy.spacing(1)
const AREA_RANGES: CocoAccumulated['areaRanges'] = [
  { name: 'all', range: [0, 1e5 ** 2] },
  { name: 'small', range: [0, 32 ** 2] },
  { name: 'medium', range: [32 ** 2, 96 ** 2] },
  { name: 'large', range: [96 ** 2, 1e5 ** 2] },
];

/** Number of set bits of a 32-bit word. */
function popcount(x: number): number {
  let v = x - ((x >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (((v + (v >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

/** numpy.linspace(start, stop, num): i·step + start, the last exactly `stop`. */
function linspace(start: number, stop: number, num: number): Float64Array {
  const out = new Float64Array(num);
  const step = (stop - start) / (num - 1);
  for (let i = 0; i < num; i++) out[i] = i * step + start;
  out[num - 1] = stop;
  return out;
}

/** pycocotools' default IoU thresholds .50:.05:.95 (numpy.linspace). */
export const COCO_IOU_THRESHOLDS: Float64Array = linspace(0.5, 0.95, 10);
/** pycocotools' recall thresholds 0:.01:1 (numpy.linspace). */
export const COCO_RECALL_THRESHOLDS: Float64Array = linspace(0, 1, 101);

export interface CheckedCocoOptions {
  maxDets: [number, number, number];
  iouThresholds: Float64Array;
  classes?: string[];
}

/** Checks COCO options; returns them with defaults. */
export function cocoOptions(options: CocoOptions | undefined): CheckedCocoOptions {
  if (options !== undefined && (typeof options !== 'object' || options === null || Array.isArray(options))) {
    throw invalidParameterError('options', 'object', options);
  }
  assertKnownKeys('options', options, ['maxDets', 'iouThresholds', 'classes']);
  let maxDets: [number, number, number] = [1, 10, 100];
  if (options?.maxDets !== undefined) {
    const m = options.maxDets as unknown;
    if (!Array.isArray(m) || m.length !== 3) throw invalidParameterError('options.maxDets', 'Array of 3 integers', m);
    m.forEach((v, i) => assertInteger(`options.maxDets[${i}]`, v, 1));
    if (!(m[0] <= m[1] && m[1] <= m[2])) {
      throw new RangeError(`Expected ascending integers for options.maxDets but received [${m.join(', ')}]`);
    }
    maxDets = [m[0], m[1], m[2]];
  }
  let iouThresholds = COCO_IOU_THRESHOLDS;
  if (options?.iouThresholds !== undefined) {
    const t = options.iouThresholds as unknown;
    if (!Array.isArray(t) || t.length === 0) {
      throw invalidParameterError('options.iouThresholds', 'Array of numbers in [0, 1] (length ≥ 1)', t);
    }
    t.forEach((v, i) => assertInRange(`options.iouThresholds[${i}]`, v, 0, 1));
    iouThresholds = Float64Array.from(t as number[]);
  }
  const classes = checkClassesOption('options.classes', options?.classes);
  return { maxDets, iouThresholds, classes };
}

/** evaluate + accumulate: pycocotools' `eval` arrays. */
export function accumulateCoco(data: EvalData, options: CheckedCocoOptions): CocoAccumulated {
  const { images, classes, gtBoxes, gtCrowd, gtDifficult, gtArea } = data;
  const I = images.length;
  const K = classes.length;
  const thresholds = options.iouThresholds;
  const T = thresholds.length;
  const recThrs = COCO_RECALL_THRESHOLDS;
  const R = recThrs.length;
  const A = AREA_RANGES.length;
  const maxDets = options.maxDets;
  const M = maxDets.length;
  const maxDet = maxDets[M - 1];
  const precision = new Float64Array(T * R * K * A * M).fill(-1);
  const recall = new Float64Array(T * K * A * M).fill(-1);
  const scoresOut = new Float64Array(T * R * K * A * M).fill(-1);

  const gtKey = new Int32Array(data.gtClass.length);
  for (let g = 0; g < gtKey.length; g++) gtKey[g] = data.gtClass[g] * I + data.gtImage[g];
  const gtGroups = groupBy(gtKey, K * I);
  const dtKey = new Int32Array(data.dtClass.length);
  for (let d = 0; d < dtKey.length; d++) dtKey[d] = data.dtClass[d] * I + data.dtImage[d];
  // Detections grouped by class and image (input order kept within): each class's data is contiguous.
  const dtGroups = groupDetections(data, dtKey, K * I);
  const { boxes: dtBoxes, score: dtScore, identity } = dtGroups;

  // Scratch, grown as needed.
  let ious = new Float64Array(64);
  let gtOrder = new Int32Array(16);
  let gtIg = new Uint8Array(16);
  let gtCr = new Uint8Array(16);
  let gtTaken = new Int32Array(16);
  let generation = 0;
  const thrCap = thresholds.map((t) => Math.min(t, 1 - 1e-10));
  const dtArea = new Float64Array(dtKey.length);
  for (let d = 0; d < dtKey.length; d++) {
    dtArea[d] = (dtBoxes[4 * d + 2] - dtBoxes[4 * d]) * (dtBoxes[4 * d + 3] - dtBoxes[4 * d + 1]);
  }

  const areaLo = Float64Array.from(AREA_RANGES, (r) => r.range[0]);
  const areaHi = Float64Array.from(AREA_RANGES, (r) => r.range[1]);
  for (let k = 0; k < K; k++) {
    // The class's detections: per image by score (stable), cut to maxDet; `rank` = place within its image.
    let n = 0;
    for (let i = 0; i < I; i++) n += Math.min(maxDet, dtGroups.start[k * I + i + 1] - dtGroups.start[k * I + i]);
    const dets = new Int32Array(n);
    const rank = new Int32Array(n);
    const imageStart = new Int32Array(I + 1);
    n = 0;
    for (let i = 0; i < I; i++) {
      const key = k * I + i;
      const s = dtGroups.start[key];
      const e = dtGroups.start[key + 1];
      imageStart[i] = n;
      if (e === s) continue;
      if (e - s <= maxDet && e - s < 64) {
        // Small group: stable insertion sort by decreasing score, in place.
        for (let j = s; j < e; j++) {
          const sv = dtScore[j];
          let q = n + (j - s) - 1;
          while (q >= n && dtScore[dets[q]] < sv) {
            dets[q + 1] = dets[q];
            q--;
          }
          dets[q + 1] = j;
        }
        for (let r = 0; r < e - s; r++) rank[n + r] = r;
        n += e - s;
        continue;
      }
      const list = sortByScore(identity.subarray(s, e), dtScore);
      const keep = Math.min(maxDet, list.length);
      for (let r = 0; r < keep; r++) {
        dets[n] = list[r];
        rank[n] = r;
        n++;
      }
    }
    imageStart[I] = n;
    // One stable sort by score over the class (images in order, then rank): the order of accumulate's concatenation;
    // each smaller maxDet is a subsequence of it. pos[j] = place of detection j in that order.
    const classScores = new Float64Array(n);
    for (let j = 0; j < n; j++) classScores[j] = dtScore[dets[j]];
    const order = sortByScore(identity.subarray(0, n), classScores);
    const pos = new Int32Array(n);
    const sRank = new Int32Array(n);
    const sScore = new Float64Array(n);
    for (let s = 0; s < n; s++) {
      const j = order[s];
      pos[j] = s;
      sRank[s] = rank[j];
      sScore[s] = classScores[j];
    }
    // Bitmaps, bit s = the detection at place s in score order. inRangeBits[a]: its area is in area range a;
    // keptBits[mi]: it is among the first maxDets[mi] of its image.
    const W = (n + 31) >>> 5;
    const inRangeBits = new Uint32Array(A * W);
    const keptBits = new Uint32Array(M * W);
    for (let s = 0; s < n; s++) {
      const ar = dtArea[dets[order[s]]];
      const w = s >>> 5;
      const b = 1 << (s & 31);
      for (let a = 0; a < A; a++) if (!(ar < areaLo[a] || ar > areaHi[a])) inRangeBits[a * W + w] |= b;
      for (let mi = 0; mi < M; mi++) if (sRank[s] < maxDets[mi]) keptBits[mi * W + w] |= b;
    }
    // Bitmaps per (area, threshold): matched, and matched to an ignored box. Every other detection is unmatched: a
    // false positive when in the area range, else ignored.
    const matchedBits = new Uint32Array(A * T * W);
    const ignoredBits = new Uint32Array(A * T * W);
    const npig = new Int32Array(A);
    for (let i = 0; i < I; i++) {
      const key = k * I + i;
      const gs = gtGroups.start[key];
      const G = gtGroups.start[key + 1] - gs;
      const ds = imageStart[i];
      const D = imageStart[i + 1] - ds;
      if (G === 0) continue; // every detection unmatched (code 0; the area range is applied in accumulate)
      if (G > gtOrder.length) {
        gtOrder = new Int32Array(2 * G);
        gtIg = new Uint8Array(2 * G);
        gtCr = new Uint8Array(2 * G);
        gtTaken = new Int32Array(2 * G);
        generation = 0;
      }
      if (D * G > ious.length) ious = new Float64Array(2 * D * G);
      // IoU[d·G + g] in the ground truth's input order (maskUtils.iou on xywh).
      for (let d = 0; d < D; d++) {
        const di = dets[ds + d];
        const dx = dtBoxes[4 * di];
        const dy = dtBoxes[4 * di + 1];
        const dw = dtBoxes[4 * di + 2] - dx;
        const dh = dtBoxes[4 * di + 3] - dy;
        const da = dw * dh;
        for (let g = 0; g < G; g++) {
          const gi = gtGroups.order[gs + g];
          const gx = gtBoxes[4 * gi];
          const gy = gtBoxes[4 * gi + 1];
          const gw = gtBoxes[4 * gi + 2] - gx;
          const gh = gtBoxes[4 * gi + 3] - gy;
          let o = 0;
          const w = Math.min(dw + dx, gw + gx) - Math.max(dx, gx);
          if (w > 0) {
            const h = Math.min(dh + dy, gh + gy) - Math.max(dy, gy);
            if (h > 0) {
              const inter = w * h;
              o = inter / (gtCrowd[gi] ? da : da + gw * gh - inter);
            }
          }
          ious[d * G + g] = o;
        }
      }
      for (let a = 0; a < A; a++) {
        const lo = areaLo[a];
        const hi = areaHi[a];
        // Ground truth: not ignored first, then ignored (stable).
        let p = 0;
        for (let pass = 0; pass < 2; pass++) {
          for (let g = 0; g < G; g++) {
            const gi = gtGroups.order[gs + g];
            const ig = gtCrowd[gi] || gtDifficult[gi] || gtArea[gi] < lo || gtArea[gi] > hi ? 1 : 0;
            if (ig === pass) {
              gtOrder[p] = g;
              gtIg[p] = ig;
              gtCr[p] = gtCrowd[gi];
              p++;
            }
          }
        }
        for (let g = 0; g < G; g++) if (!gtIg[g]) npig[a]++;
        for (let t = 0; t < T; t++) {
          const taken = ++generation; // gtTaken[q] === taken: box q is taken at this threshold
          const base = (a * T + t) * W;
          for (let d = 0; d < D; d++) {
            let iou = thrCap[t];
            let m = -1;
            for (let q = 0; q < G; q++) {
              if (gtTaken[q] === taken && !gtCr[q]) continue;
              if (m > -1 && gtIg[m] === 0 && gtIg[q] === 1) break;
              const o = ious[d * G + gtOrder[q]];
              if (o < iou) continue;
              iou = o;
              m = q;
            }
            if (m !== -1) {
              const p = pos[ds + d];
              matchedBits[base + (p >>> 5)] |= 1 << (p & 31);
              if (gtIg[m]) ignoredBits[base + (p >>> 5)] |= 1 << (p & 31);
              gtTaken[m] = taken;
            }
          }
        }
      }
    }
    // accumulate. Walking the detections by score, only true positives move recall: searchsorted(recall, r, 'left')
    // is the place where TP first reaches v(r) = the least v with v / npig ≥ r, and the precision envelope there is
    // the largest v' / (FP + v' + ε) over the true positives from it on (a false positive or an ignored detection
    // never raises precision). Place 0 (threshold 0) is the first detection (the class's best: rank 0 in its image).
    // FP before place s = in-range detections before s (prefix count) − matched in-range ones before s, so each
    // (area, threshold, maxDet) costs its matched detections, not all of them.
    const tpFp = new Float64Array(n + 2);
    const tpScore = new Float64Array(n + 2);
    const env = new Float64Array(n + 2);
    const vFor = new Int32Array(R);
    // Per (area, maxDet): eligible = in range and kept; eligibleBefore[w] = eligible detections in words < w.
    const eligible = new Uint32Array(M * W);
    const eligibleBefore = new Int32Array(M * (W + 1));
    const ndFor = new Int32Array(M);
    for (let mi = 0; mi < M; mi++) for (let w = 0; w < W; w++) ndFor[mi] += popcount(keptBits[mi * W + w]);
    for (let a = 0; a < A; a++) {
      const np = npig[a];
      if (np === 0) continue;
      for (let r = 0, v = 0; r < R; r++) {
        while (v <= np && v / np < recThrs[r]) v++; // thresholds ascend, so v does too
        vFor[r] = v;
      }
      for (let mi = 0; mi < M; mi++) {
        const eb = mi * (W + 1);
        for (let w = 0; w < W; w++) {
          const e = inRangeBits[a * W + w] & keptBits[mi * W + w];
          eligible[mi * W + w] = e;
          eligibleBefore[eb + w + 1] = eligibleBefore[eb + w] + popcount(e);
        }
      }
      for (let t = 0; t < T; t++) {
        const base = (a * T + t) * W;
        for (let mi = 0; mi < M; mi++) {
          const nd = ndFor[mi];
          const eb = mi * (W + 1);
          let tp = 0;
          let matchedIn = 0; // matched detections that are eligible, before the current one
          for (let w = 0; w < W; w++) {
            let word = matchedBits[base + w] & keptBits[mi * W + w];
            if (word === 0) continue;
            const ignored = ignoredBits[base + w];
            const e = eligible[mi * W + w];
            while (word !== 0) {
              const low = word & -word;
              word ^= low;
              if ((ignored & low) === 0) {
                tp++;
                // False positives before it: eligible before it, less the matched eligible ones.
                tpFp[tp] = eligibleBefore[eb + w] + popcount(e & (low - 1)) - matchedIn;
                tpScore[tp] = sScore[(w << 5) + 31 - Math.clz32(low)];
              }
              if (e & low) matchedIn++;
            }
          }
          recall[((t * K + k) * A + a) * M + mi] = nd ? tp / np : 0;
          env[tp + 1] = 0;
          for (let v = tp; v >= 1; v--) env[v] = Math.max(v / (tpFp[v] + v + EPS), env[v + 1]);
          for (let r = 0; r < R; r++) {
            const v = vFor[r];
            const at = (((t * R + r) * K + k) * A + a) * M + mi;
            if (nd === 0 || v > tp) {
              precision[at] = 0;
              scoresOut[at] = 0;
            } else if (v === 0) {
              precision[at] = tp ? env[1] : 0;
              scoresOut[at] = sScore[0];
            } else {
              precision[at] = env[v];
              scoresOut[at] = tpScore[v];
            }
          }
        }
      }
    }
  }
  return {
    iouThresholds: Float64Array.from(thresholds),
    recallThresholds: Float64Array.from(recThrs),
    maxDets: [...maxDets],
    areaRanges: AREA_RANGES.map((r) => ({ name: r.name, range: [...r.range] as [number, number] })),
    precision,
    recall,
    scores: scoresOut,
  };
}

/** The mean of the entries > −1 of a slice (NaN when none), as `_summarize`. */
function summarizeOne(
  acc: CocoAccumulated,
  ap: boolean,
  classes: number,
  k: number | undefined,
  iouThr: number | undefined,
  area: number,
  maxDetIndex: number,
): number {
  const T = acc.iouThresholds.length;
  const R = ap ? acc.recallThresholds.length : 1;
  const A = acc.areaRanges.length;
  const M = acc.maxDets.length;
  const K = classes;
  const arr = ap ? acc.precision : acc.recall;
  let sum = 0;
  let count = 0;
  for (let t = 0; t < T; t++) {
    if (iouThr !== undefined && acc.iouThresholds[t] !== iouThr) continue;
    for (let r = 0; r < R; r++) {
      for (let kk = k ?? 0; kk < (k === undefined ? K : k + 1); kk++) {
        const v = arr[(((t * R + r) * K + kk) * A + area) * M + maxDetIndex];
        if (v > -1) {
          sum += v;
          count++;
        }
      }
    }
  }
  return count ? sum / count : Number.NaN;
}

/** The 12 numbers of `COCOeval.summarize()` (all classes, or class k). */
export function summarizeCoco(acc: CocoAccumulated, classes: number, k?: number): CocoMetrics {
  const last = acc.maxDets.length - 1;
  const s = (ap: boolean, iou: number | undefined, area: number, m: number) =>
    summarizeOne(acc, ap, classes, k, iou, area, m);
  return {
    AP: s(true, undefined, 0, last),
    AP50: s(true, 0.5, 0, last),
    AP75: s(true, 0.75, 0, last),
    APs: s(true, undefined, 1, last),
    APm: s(true, undefined, 2, last),
    APl: s(true, undefined, 3, last),
    AR1: s(false, undefined, 0, 0),
    AR10: s(false, undefined, 0, 1),
    AR100: s(false, undefined, 0, 2),
    ARs: s(false, undefined, 1, last),
    ARm: s(false, undefined, 2, last),
    ARl: s(false, undefined, 3, last),
  };
}

/** COCO metrics of the flattened inputs. */
export function cocoFromData(data: EvalData, options: CheckedCocoOptions): CocoResult {
  const acc = accumulateCoco(data, options);
  const K = data.classes.length;
  const perClass: Record<string, CocoMetrics> = {};
  data.classes.forEach((c, k) => {
    setOwn(perClass, c, summarizeCoco(acc, K, k));
  });
  return { ...summarizeCoco(acc, K), perClass, classes: [...data.classes], accumulated: acc };
}
