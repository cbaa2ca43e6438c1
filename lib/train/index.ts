/**
 * `ssd-edge/train`: fine-tuning (issue 8). `train()` is the loop (./train.ts: fast path on cached features,
 * checkpoints, validation, export); around it the parts it is made of — the tfjs backend (./backend.ts), the
 * differentiable SSD loss on native matching and mining (./loss.ts), the trainable tfjs models and the ONNX export
 * (./models/), the seeded augmentation (./augment.ts, ./rng.ts), the optimizers, schedule, checkpoints and curve —
 * and the training-time ops of the addon (matching, hard negative mining, the loss parts of torchvision's
 * `SSD.compute_loss`). tfjs is loaded only from here (and only when `loadTf` or `train` runs), never from `ssd-edge`.
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
  augmentForInput,
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
export {
  ARCHITECTURES,
  cutOnnxGraph,
  exportOnnx,
  FREEZE_MODES,
  generateSsd300,
  loadTrainable,
  TRAIN_EXPORT_CONVERTER,
  type Architecture,
  type ExportOnnxOptions,
  type Freeze,
  type GenerateSsd300Options,
  type HeadOutputs,
  type LoadTrainableOptions,
  type TrainableSsd,
  type WeightEntry,
} from './models/index.ts';
export {
  loadTf,
  trainingBackendReport,
  TRAIN_BACKENDS,
  type LoadedBackend,
  type Tf,
  type TrainBackendName,
  type TrainingBackendReport,
} from './backend.ts';
export {
  buildTargets,
  EMPTY_IMAGE_NEGATIVES,
  ssdLossTf,
  type ImageTargets,
  type SsdLossTf,
  type SsdLossTfOptions,
} from './loss.ts';
export {
  resolveTrainOptions,
  train,
  TRAIN_OPTION_KEYS,
  TrainingError,
  type EpochReport,
  type ResolvedTrainOptions,
  type TrainOptions,
  type TrainProgress,
  type TrainResult,
} from './train.ts';
export { Optimizer, OPTIMIZERS, type OptimizerConfig, type OptimizerName, type OptimizerState } from './optim.ts';
export { learningRate, type LrSchedule } from './schedule.ts';
export { CheckpointError, decodeCheckpoint, encodeCheckpoint, readCheckpoint, writeCheckpoint } from './checkpoint.ts';
export { renderTrainingCurve, type CurvePoint } from './curve.ts';
export { formatEpoch, formatProgress } from './progress.ts';
export { previewAugmentations, type PreviewOptions, type PreviewTile } from './preview.ts';
