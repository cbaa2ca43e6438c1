/**
 * Pascal VOC average precision per class, after py-faster-rcnn's `voc_eval` / `voc_ap` (the VOC devkit's rules):
 *
 * - Per class, detections are sorted by score, highest first; ties keep input order (images in the order given,
 *   detections in the order listed — a stable sort, numpy's `argsort(-score, kind='mergesort')`).
 * - Each detection takes the ground-truth box of its image and class with the largest IoU (the first of equal ones).
 *   It is a true positive when that IoU ≥ `iouThreshold` (≥ as the MATLAB devkit's `ovmax >= minoverlap`;
 *   py-faster-rcnn writes `>`, which differs only at exactly the threshold) and the box is neither difficult nor
 *   already taken; a false positive when the IoU is below the threshold, there is no box, or the box is taken; and
 *   neither when the box is difficult (or a COCO crowd region).
 * - recall = TP / npos (npos = boxes not difficult), precision = TP / max(TP + FP, ε) at each detection.
 * - AP all-point (VOC2010+, default): area under the precision envelope (precision made non-increasing from the
 *   right) at every recall change. `use07Metric`: VOC2007 11-point, the mean over t = 0, 0.1, …, 1 of the largest
 *   precision at recall ≥ t (0 when none).
 * - IoU on continuous coordinates by default (width = x2 − x1); `pixelOffset: 1` is the old devkit's inclusive pixel
 *   indices (width = x2 − x1 + 1). IoU is 0 when the union is 0.
 * - A class without ground truth that counts (npos = 0) has AP NaN and is left out of the mean.
 */
import { assertBoolean, assertInRange, assertKnownKeys, invalidParameterError } from '../is.ts';
import { checkClassesOption, type EvalData, groupBy, groupDetections, setOwn, sortByScore } from './inputs.ts';
import type { ClassCurve, VocOptions, VocResult } from './types.ts';

const EPS = 2.220446049250313e-16; // numpy.finfo(float64).eps

/** Checks VOC options; returns them with defaults. */
export function vocOptions(options: VocOptions | undefined): Required<Omit<VocOptions, 'classes'>> & {
  classes?: string[];
} {
  if (options !== undefined && (typeof options !== 'object' || options === null || Array.isArray(options))) {
    throw invalidParameterError('options', 'object', options);
  }
  assertKnownKeys('options', options, ['use07Metric', 'iouThreshold', 'pixelOffset', 'classes']);
  const use07Metric = options?.use07Metric ?? false;
  assertBoolean('options.use07Metric', use07Metric);
  const iouThreshold = options?.iouThreshold ?? 0.5;
  assertInRange('options.iouThreshold', iouThreshold, 0, 1);
  const pixelOffset = options?.pixelOffset ?? 0;
  if (pixelOffset !== 0 && pixelOffset !== 1) throw invalidParameterError('options.pixelOffset', '0 or 1', pixelOffset);
  const classes = checkClassesOption('options.classes', options?.classes);
  return { use07Metric, iouThreshold, pixelOffset, classes };
}

/**
 * AP from a precision–recall curve (py-faster-rcnn `voc_ap`).
 * @param recall non-decreasing, one value per detection by decreasing score.
 * @param precision same length.
 * @param use07Metric VOC2007 11-point interpolation instead of all-point.
 */
export function vocAp(recall: ArrayLike<number>, precision: ArrayLike<number>, use07Metric = false): number {
  const n = recall.length;
  if (use07Metric) {
    let ap = 0;
    for (let k = 0; k <= 10; k++) {
      const t = k * 0.1; // numpy.arange(0., 1.1, 0.1)
      let p = 0;
      let any = false;
      for (let i = 0; i < n; i++) {
        if (recall[i] >= t) {
          if (!any || precision[i] > p) p = precision[i];
          any = true;
        }
      }
      ap += (any ? p : 0) / 11;
    }
    return ap;
  }
  // mrec = [0, recall…, 1], mpre = [0, precision…, 0]; envelope from the right; sum over recall changes.
  const mrec = new Float64Array(n + 2);
  const mpre = new Float64Array(n + 2);
  for (let i = 0; i < n; i++) {
    mrec[i + 1] = recall[i];
    mpre[i + 1] = precision[i];
  }
  mrec[n + 1] = 1;
  for (let i = n + 1; i > 0; i--) mpre[i - 1] = Math.max(mpre[i - 1], mpre[i]);
  let ap = 0;
  for (let i = 0; i < n + 1; i++) {
    if (mrec[i + 1] !== mrec[i]) ap += (mrec[i + 1] - mrec[i]) * mpre[i + 1];
  }
  return ap;
}

/** VOC AP of every class of the flattened inputs. */
export function vocFromData(data: EvalData, options: ReturnType<typeof vocOptions>): VocResult {
  const { images, classes, gtBoxes, gtDifficult, gtCrowd } = data;
  const I = images.length;
  const K = classes.length;
  const off = options.pixelOffset;
  const thr = options.iouThreshold;
  // Ground truth grouped by (class, image); detections grouped by class, input order kept.
  const gtKey = new Int32Array(data.gtClass.length);
  for (let g = 0; g < gtKey.length; g++) gtKey[g] = data.gtClass[g] * I + data.gtImage[g];
  const gtGroups = groupBy(gtKey, K * I);
  // Detections grouped by class (input order kept within a class): each class's data is contiguous.
  const dtGroups = groupDetections(data, data.dtClass, K);
  const { boxes: dtBoxes, score: dtScore, image: dtImage, identity } = dtGroups;
  const taken = new Uint8Array(gtKey.length);
  const ap: Record<string, number> = {};
  const curves: Record<string, ClassCurve> = {};
  let sum = 0;
  let counted = 0;
  for (let k = 0; k < K; k++) {
    let npos = 0;
    for (let j = gtGroups.start[k * I]; j < gtGroups.start[(k + 1) * I]; j++) {
      const g = gtGroups.order[j];
      if (!gtDifficult[g] && !gtCrowd[g]) npos++;
    }
    // By score, ties in input order (stable).
    const dets = sortByScore(identity.subarray(dtGroups.start[k], dtGroups.start[k + 1]), dtScore);
    const nd = dets.length;
    const recall = new Float64Array(nd);
    const precision = new Float64Array(nd);
    const scores = new Float64Array(nd);
    let tp = 0;
    let fp = 0;
    for (let d = 0; d < nd; d++) {
      const i = dets[d];
      scores[d] = dtScore[i];
      const bx1 = dtBoxes[4 * i];
      const by1 = dtBoxes[4 * i + 1];
      const bx2 = dtBoxes[4 * i + 2];
      const by2 = dtBoxes[4 * i + 3];
      const barea = (bx2 - bx1 + off) * (by2 - by1 + off);
      const key = k * I + dtImage[i];
      let ovmax = -Infinity;
      let jmax = -1;
      for (let j = gtGroups.start[key]; j < gtGroups.start[key + 1]; j++) {
        const g = gtGroups.order[j];
        const gx1 = gtBoxes[4 * g];
        const gy1 = gtBoxes[4 * g + 1];
        const gx2 = gtBoxes[4 * g + 2];
        const gy2 = gtBoxes[4 * g + 3];
        const iw = Math.max(Math.min(gx2, bx2) - Math.max(gx1, bx1) + off, 0);
        const ih = Math.max(Math.min(gy2, by2) - Math.max(gy1, by1) + off, 0);
        const inters = iw * ih;
        const uni = barea + (gx2 - gx1 + off) * (gy2 - gy1 + off) - inters;
        const ov = uni > 0 ? inters / uni : 0;
        if (ov > ovmax) {
          ovmax = ov;
          jmax = g;
        }
      }
      if (ovmax >= thr) {
        if (!gtDifficult[jmax] && !gtCrowd[jmax]) {
          if (!taken[jmax]) {
            tp++;
            taken[jmax] = 1;
          } else {
            fp++;
          }
        }
      } else {
        fp++;
      }
      recall[d] = tp / npos;
      precision[d] = tp / Math.max(tp + fp, EPS);
    }
    const label = classes[k];
    setOwn(curves, label, { recall, precision, scores, npos, ndet: nd });
    if (npos === 0) {
      setOwn(ap, label, Number.NaN);
    } else {
      const v = vocAp(recall, precision, options.use07Metric);
      setOwn(ap, label, v);
      sum += v;
      counted++;
    }
  }
  return { map: counted ? sum / counted : Number.NaN, ap, curves, classes: [...classes] };
}
