/**
 * `ssd-edge/train`: training-time ops — anchor ↔ ground-truth matching (torchvision `SSDMatcher`), hard negative
 * mining and the SSD loss parts (torchvision `SSD.compute_loss`), backed by the native addon like the inference ops.
 * This entry is where the training wing lands (the loop, augmentations, tfjs for the gradients); tfjs is loaded only
 * from here, never from `ssd-edge` itself. Today nothing here loads tfjs either.
 */
export { BELOW_THRESHOLD, matchAnchors, type MatchAnchorsOptions } from '../ops/matcher.ts';
export {
  hardNegativeMining,
  ssdLoss,
  ssdLossParts,
  type SsdLoss,
  type SsdLossImage,
  type SsdLossOptions,
  type SsdLossParts,
} from '../ops/loss.ts';
export { Rng } from './rng.ts';
export {
  augment,
  augmentBackend,
  applyAugmentPlan,
  DEFAULT_AUGMENT,
  planAugment,
  toInputTensor,
  type AugmentInput,
  type AugmentOptions,
  type AugmentOutput,
  type AugmentPlan,
  type PhotometricParams,
  rgbPixels,
} from './augment.ts';
export { previewAugmentations, type PreviewOptions, type PreviewTile } from './preview.ts';
