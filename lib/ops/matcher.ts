/**
 * Anchor ↔ ground-truth matching for SSD training targets, with torchvision's `SSDMatcher` semantics
 * (`Matcher(threshold, threshold)` plus "each ground-truth box keeps its best anchor").
 */
import { binding } from '../binding.ts';
import {
  assertBoolean,
  assertFloat32Array,
  assertInRange,
  assertKnownKeys,
  assertObject,
  assertOneOf,
  withDefaults,
} from '../is.ts';
import type { AnchorFormat } from './box-coder.ts';
import { boxConvert } from './box-convert.ts';
import { f32 } from './float32.ts';
import { boxArea32, boxAreas32, pairIou32 } from './iou.ts';

/** Matched index of an anchor that no ground-truth box claims (torchvision `Matcher.BELOW_LOW_THRESHOLD`). */
export const BELOW_THRESHOLD = -1;

export interface MatchAnchorsOptions {
  /** An anchor is matched to its best gt when their float32 IoU is ≥ iouThreshold (as float32); default 0.5. */
  iouThreshold?: number;
  /** Then force each gt's best anchor to that gt, whatever its IoU (torchvision SSD); default true. */
  allowLowQuality?: boolean;
  /** Layout of `anchors`: 'xyxy' (torchvision) or 'cxcywh' (the output of `defaultBoxes`, scaled); default 'xyxy'. */
  anchorFormat?: AnchorFormat;
}

const MATCH_DEFAULTS: Required<MatchAnchorsOptions> = {
  iouThreshold: 0.5,
  allowLowQuality: true,
  anchorFormat: 'xyxy',
};
/** The keys of {@link MatchAnchorsOptions} (any other key is rejected). */
export const MATCH_OPTION_KEYS = Object.keys(MATCH_DEFAULTS) as (keyof MatchAnchorsOptions)[];

/** Validates the options of {@link matchAnchors} and merges them over the defaults. */
export function resolveMatchOptions(options: MatchAnchorsOptions | undefined): Required<MatchAnchorsOptions> {
  if (options !== undefined) assertObject('options', options);
  assertKnownKeys('options', options, MATCH_OPTION_KEYS);
  const o = withDefaults(MATCH_DEFAULTS, options);
  assertInRange('iouThreshold', o.iouThreshold, 0, 1);
  assertBoolean('allowLowQuality', o.allowLowQuality);
  assertOneOf('anchorFormat', o.anchorFormat, ['xyxy', 'cxcywh']);
  return o;
}

/**
 * Matches anchors to ground-truth boxes exactly as torchvision's `SSDMatcher` (IoU in float32, as `box_iou`):
 * 1. each anchor takes the gt with the highest IoU (equal IoUs → the lower gt index) when that IoU is
 *    ≥ iouThreshold (compared as float32, as torch compares a float32 tensor with a Python float), else −1;
 * 2. with `allowLowQuality`, then for each gt j = 0…M−1 in order its best anchor (equal IoUs → the lowest
 *    anchor index, like `torch.max`) is set to j whatever its IoU, also when step 1 gave it to another gt —
 *    so when two gts share a best anchor, the later gt gets it.
 * IoU is the project's float32 IoU (`boxIou`): 0 for zero-area or non-finite boxes (never NaN), so such a
 * gt still forces anchor 0 (every IoU 0, the first maximum) and anchors with a non-finite coordinate match
 * nothing unless iouThreshold is 0 or they are forced. M = 0 gives all −1 (torchvision skips the matcher).
 * `anchorFormat: 'cxcywh'` converts anchors as (cx − 0.5·w, cy − 0.5·h, cx + 0.5·w, cy + 0.5·h) in float32.
 *
 * @param gtBoxes Float32Array [M·4], xyxy.
 * @param anchors Float32Array [N·4] in `anchorFormat`, same units as gtBoxes (torchvision: pixels of the input).
 * @param options `{ iouThreshold = 0.5, allowLowQuality = true, anchorFormat = 'xyxy' }`.
 * @returns Int32Array [N]: the matched gt index of each anchor, or −1 ({@link BELOW_THRESHOLD}).
 * @throws {TypeError} gtBoxes / anchors not a Float32Array of length 4·N, options not an object or with a key other
 *   than iouThreshold / allowLowQuality / anchorFormat, allowLowQuality
 *   not a boolean, unknown anchorFormat.
 * @throws {RangeError} iouThreshold NaN or outside [0, 1].
 * @example
 * const gt = new Float32Array([0, 0, 10, 10]);
 * const anchors = new Float32Array([0, 0, 10, 9, 20, 20, 30, 30, 1, 0, 10, 10]);
 * matchAnchors(gt, anchors); // Int32Array [0, -1, 0]  (IoUs 0.9, 0, 0.9)
 */
export function matchAnchors(gtBoxes: Float32Array, anchors: Float32Array, options?: MatchAnchorsOptions): Int32Array {
  const o = resolveMatch(gtBoxes, anchors, options);
  return binding
    ? binding.matchAnchors(gtBoxes, anchors, o.anchorFormat === 'cxcywh', o.iouThreshold, o.allowLowQuality)
    : matchResolved(gtBoxes, anchors, o);
}

/** Pure-TypeScript twin of {@link matchAnchors}: same checks and messages, the same indices. */
export function matchAnchorsTs(
  gtBoxes: Float32Array,
  anchors: Float32Array,
  options?: MatchAnchorsOptions,
): Int32Array {
  return matchResolved(gtBoxes, anchors, resolveMatch(gtBoxes, anchors, options));
}

/** The argument checks of {@link matchAnchors} and its twin. */
function resolveMatch(
  gtBoxes: unknown,
  anchors: unknown,
  options: MatchAnchorsOptions | undefined,
): Required<MatchAnchorsOptions> {
  assertFloat32Array('gtBoxes', gtBoxes, 4);
  assertFloat32Array('anchors', anchors, 4);
  return resolveMatchOptions(options);
}

/** The twin's matching with checked arguments (the loss twin calls it directly). */
export function matchResolved(
  gtBoxes: Float32Array,
  anchors: Float32Array,
  { iouThreshold, allowLowQuality, anchorFormat }: Required<MatchAnchorsOptions>,
): Int32Array {
  const n = anchors.length / 4;
  const m = gtBoxes.length / 4;
  const matched = new Int32Array(n).fill(BELOW_THRESHOLD);
  if (m === 0 || n === 0) return matched;
  const xyxy = anchorFormat === 'cxcywh' ? boxConvert(anchors, 'cxcywh', 'xyxy') : anchors;
  const areas = boxAreas32(xyxy);
  const bestIou = new Float32Array(n).fill(-1); // IoUs are in [0, 1]: gt 0 always takes the first place
  const bestAnchor = new Int32Array(m);
  for (let j = 0; j < m; j++) {
    const areaG = boxArea32(gtBoxes, j);
    let arg = 0;
    let argIou = -1;
    for (let i = 0; i < n; i++) {
      const iou = pairIou32(gtBoxes, j, areaG, xyxy, i, areas[i]);
      if (iou > bestIou[i]) {
        bestIou[i] = iou;
        matched[i] = j;
      } // strict: equal IoUs keep the lower gt
      if (iou > argIou) {
        argIou = iou;
        arg = i;
      } //                 strict: equal IoUs keep the lower anchor
    }
    bestAnchor[j] = arg;
  }
  const threshold32 = f32(iouThreshold);
  for (let i = 0; i < n; i++) if (!(bestIou[i] >= threshold32)) matched[i] = BELOW_THRESHOLD;
  if (allowLowQuality) for (let j = 0; j < m; j++) matched[bestAnchor[j]] = j;
  return matched;
}
