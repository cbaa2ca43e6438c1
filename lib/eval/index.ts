/**
 * Evaluation metrics (issue 7): Pascal VOC AP and COCO mAP of any detector's output against ground truth, and the
 * readers of ground-truth and detection files. Inputs and matching rules: lib/eval/inputs.ts; VOC: lib/eval/voc.ts;
 * COCO: lib/eval/coco.ts.
 */
import { cocoFromData, cocoOptions } from './coco.ts';
import { prepareInputs } from './inputs.ts';
import type { CocoOptions, CocoResult, DetectionsInput, GroundTruthInput, VocOptions, VocResult } from './types.ts';
import { vocFromData, vocOptions } from './voc.ts';

export type * from './types.ts';
export { readDetectionsFile, readGroundTruthFile } from './files.ts';
export { COCO_IOU_THRESHOLDS, COCO_RECALL_THRESHOLDS } from './coco.ts';
export { vocAp } from './voc.ts';

/**
 * Pascal VOC average precision per class and their mean (py-faster-rcnn `voc_eval`; rules in lib/eval/voc.ts):
 * greedy matching by decreasing score (ties keep input order) at IoU ≥ `iouThreshold`, difficult boxes neither true
 * nor false positives, all-point AP (VOC2010+) or `use07Metric` 11-point, continuous coordinates (`pixelOffset: 1`
 * for the old devkit's +1).
 *
 * @param groundTruth `[{ image, boxes: [{ label, box: [x1, y1, x2, y2], difficult?, iscrowd? }] }]` or a COCO
 *   instances JSON object.
 * @param detections `[{ image, detections: [{ label, score, box }] }]` (box [x1, y1, x2, y2] or { x1, y1, x2, y2 }),
 *   `ssd-edge detect --json` output, or a COCO results list. Images are matched as lib/eval/inputs.ts says; a
 *   detection image that matches no ground-truth image is an error.
 * @returns `{ map, ap: { label: AP }, curves: { label: { recall, precision, scores, npos, ndet } }, classes }`; a class
 *   without ground truth (npos = 0) has AP NaN and is left out of `map`.
 * @throws {TypeError|RangeError} An invalid input (the message names the path, e.g. `groundTruth[3].boxes[1].box`)
 *   or option.
 * @example
 * evaluateVoc(
 *   [{ image: 'a.jpg', boxes: [{ label: 'cat', box: [0, 0, 10, 10] }] }],
 *   [{ image: 'a.jpg', detections: [{ label: 'cat', score: 0.9, box: [1, 0, 10, 10] }] }],
 * ); // { map: 1, ap: { cat: 1 }, … }
 */
export function evaluateVoc(
  groundTruth: GroundTruthInput,
  detections: DetectionsInput,
  options?: VocOptions,
): VocResult {
  const checked = vocOptions(options);
  return vocFromData(prepareInputs(groundTruth, detections, checked.classes), checked);
}

/**
 * COCO bbox metrics, as pycocotools' `COCOeval` (evaluate → accumulate → summarize; rules in lib/eval/coco.ts):
 * AP@[.5:.95], AP50, AP75, AP small/medium/large, AR@1/10/100, AR small/medium/large, overall (mean over classes with
 * ground truth) and per class, plus the accumulated precision/recall arrays for plots.
 *
 * @param groundTruth As {@link evaluateVoc}; `iscrowd` boxes are crowd regions, `area` decides the area range (box
 *   area when absent), `difficult` boxes are ignored regions.
 * @param detections As {@link evaluateVoc}.
 * @param options `maxDets` (default [1, 10, 100]), `iouThresholds` (default .50:.05:.95), `classes` (result order).
 * @returns The 12 numbers, `perClass` (NaN for a class without ground truth), `classes`, `accumulated`.
 * @throws {TypeError|RangeError} An invalid input or option.
 * @example
 * const { AP, AP50, perClass } = evaluateCoco(groundTruth, detections);
 */
export function evaluateCoco(
  groundTruth: GroundTruthInput,
  detections: DetectionsInput,
  options?: CocoOptions,
): CocoResult {
  const checked = cocoOptions(options);
  return cocoFromData(prepareInputs(groundTruth, detections, checked.classes), checked);
}
