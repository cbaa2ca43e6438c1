/**
 * The SSD loss oracle (test/fixtures/loss/, torchvision SSD.compute_loss on [astronaut, coffee]) and the anchors
 * torchvision uses with it: the SSD300 default boxes as xyxy pixels of the 300×300 input, converted the way
 * torchvision's DefaultBoxGenerator does ((cx − 0.5·w, cy − 0.5·h, cx + 0.5·w, cy + 0.5·h) · 300, float32).
 */
import { boxConvert, defaultBoxes } from '../../lib/index.ts';
import { readF32, readJson } from './fixtures.ts';

export interface LossRefImage {
  image: string;
  gt_boxes_xyxy: number[][];
  gt_labels: number[];
  best_anchor_per_gt: number[];
  best_iou_per_gt: number[];
  best_anchor_ties_per_gt: number[][];
  forced_matches: Array<{ gt: number; anchor: number; iou: number; match_from_threshold_alone: number }>;
  matched_idxs: number[];
  foreground_idxs: number[];
  foreground_gt: number[];
  foreground_targets_encoded: number[][];
  bbox_loss_sum: number;
  num_positive: number;
  num_hard_negatives: number;
  hard_negative_idxs: number[];
  cls_loss_positive_sum: number;
  cls_loss_hard_negative_sum: number;
  negative_loss_at_cut: [number, number] | null;
}

export interface LossRefCase {
  name: 'all_targets' | 'last_image_without_boxes';
  per_image: LossRefImage[];
  num_foreground: number;
  normalizer_N: number;
  torchvision_losses: { bbox_regression: number; classification: number; sum: number };
}

export const NUM_ANCHORS = 8732;
export const NUM_CLASSES = 21;

/** The two reference cases (`all_targets`, `last_image_without_boxes`). */
export const lossCases = (): LossRefCase[] => readJson<{ cases: LossRefCase[] }>('loss/loss_reference.json').cases;

/** SSD300 anchors as torchvision feeds them to the matcher and the coder: Float32Array [8732·4] xyxy pixels. */
export function ssd300AnchorsXyxyPx(): Float32Array {
  return boxConvert(defaultBoxes('torchvision-ssd300-vgg16'), 'cxcywh', 'xyxy').map((v) => Math.fround(v * 300));
}

/** Head outputs of image b (0 = astronaut, 1 = coffee): classLogits [8732·21], boxRegression [8732·4]. */
export function headOutputs(b: number): { classLogits: Float32Array; boxRegression: Float32Array } {
  const prefix = b === 0 ? 'postprocess/ssd300_astronaut_' : 'loss/coffee_';
  return { classLogits: readF32(`${prefix}cls_logits.f32`), boxRegression: readF32(`${prefix}bbox_regression.f32`) };
}

/** torchvision's cross-entropy of every anchor of image b against its target (case all_targets): [8732]. */
export function referenceClsLoss(b: number): Float32Array {
  return readF32('loss/cls_loss_per_anchor.f32').subarray(b * NUM_ANCHORS, (b + 1) * NUM_ANCHORS);
}

/** gt boxes / labels of a reference image as typed arrays. */
export function groundTruth(im: LossRefImage): { gtBoxes: Float32Array; gtLabels: Int32Array } {
  return { gtBoxes: Float32Array.from(im.gt_boxes_xyxy.flat()), gtLabels: Int32Array.from(im.gt_labels) };
}
