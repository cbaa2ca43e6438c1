/**
 * `ssd-edge/reference`: the pure-TypeScript twin of every native op, for tests and for checking another
 * implementation against them. Each twin validates its arguments exactly as its op does (same checks, same
 * messages) and returns the same values in the same order; the ops in `ssd-edge` (and `ssd-edge/train`) already
 * fall back to them when the addon does not load, so applications never need this entry.
 *
 * @example
 * import { nms } from 'ssd-edge';
 * import { nmsTs } from 'ssd-edge/reference';
 * assert.deepEqual(nms(boxes, scores, 0.5), nmsTs(boxes, scores, 0.5));
 */
export { boxIouTs } from './ops/iou.ts';
export { defaultBoxesTs } from './ops/default-boxes.ts';
export { decodeBoxesTs, encodeBoxesTs } from './ops/box-coder.ts';
export { batchedNmsTs, nmsTs, softNmsTs } from './ops/nms.ts';
export { postprocessDetectionsTs } from './ops/postprocess.ts';
export { matchAnchorsTs } from './ops/matcher.ts';
export { hardNegativeMiningTs, ssdLossPartsTs } from './ops/loss.ts';
export { preprocessTs } from './image/preprocess.ts';
export { applyAugmentPlanTs, augmentForInputTs, augmentTs } from './train/augment.ts';
