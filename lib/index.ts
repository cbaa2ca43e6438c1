/**
 * ssd-edge public API (`ssd-edge`): the Detector, images, the runtime, models, and the SSD inference ops (default
 * boxes, box coder, IoU, NMS, postprocess), each backed by the native addon when it loads and by a pure-TypeScript
 * twin otherwise (same results). Other entries: `ssd-edge/reference` (the twins themselves, as test references),
 * `ssd-edge/train` (training-time ops: anchor matching, the SSD loss), `ssd-edge/stream` (reserved). Nothing here
 * loads tfjs.
 */
import { backend, binding, bindingError, type Capabilities, type SimdLevel } from './binding.ts';
import { assertOneOf } from './is.ts';

export { backend, bindingError };
export type { Capabilities, SimdLevel };

export { boxConvert, type BoxFormat } from './ops/box-convert.ts';
export { boxIou } from './ops/iou.ts';
export {
  DEFAULT_BOX_PRESETS,
  defaultBoxes,
  expandDefaultBoxSpec,
  type DefaultBoxPresetName,
  type DefaultBoxSpec,
  type ExpandedDefaultBoxSpec,
  type FeatureMapSpec,
} from './ops/default-boxes.ts';
export {
  BoxCoder,
  decodeBoxes,
  encodeBoxes,
  type AnchorFormat,
  type BoxCoderOptions,
  type BoxCodingOptions,
  type DeltaOrder,
} from './ops/box-coder.ts';
export {
  batchedNms,
  nms,
  softNms,
  type BatchedNmsOptions,
  type NmsOptions,
  type SoftNmsOptions,
  type SoftNmsResult,
} from './ops/nms.ts';
export {
  POSTPROCESS_PRESETS,
  postprocessDetections,
  postprocessDetectionsAsync,
  type Detections,
  type PostprocessInput,
  type PostprocessOptions,
  type PostprocessOptionsInput,
} from './ops/postprocess.ts';

/** What runs the ops when the addon is not loaded. */
export interface TypeScriptCapabilities {
  compiled: ['typescript'];
  supported: ['typescript'];
  active: 'typescript';
}

/**
 * The SIMD variants of the native addon: compiled into the binary, runnable on this CPU, and in use; or
 * `{ compiled: ['typescript'], supported: ['typescript'], active: 'typescript' }` when the addon is not loaded
 * (see `bindingError` for why).
 *
 * @example
 * capabilities(); // { compiled: ['scalar', 'avx2'], supported: ['scalar', 'avx2'], active: 'avx2' }
 */
export function capabilities(): Capabilities | TypeScriptCapabilities {
  return binding
    ? binding.capabilities()
    : { compiled: ['typescript'], supported: ['typescript'], active: 'typescript' };
}

/**
 * Forces a SIMD variant of the native addon ('auto' = the best this CPU supports), e.g. to test every path.
 *
 * @param level 'auto' | 'scalar' | 'avx2' | 'neon'.
 * @returns The variant now active.
 * @throws {TypeError} Unknown level.
 * @throws {Error} The addon is not loaded (the message includes why), or the variant is not compiled / supported.
 * @example
 * setSimd('scalar'); // 'scalar'
 */
export function setSimd(level: 'auto' | SimdLevel): SimdLevel {
  assertOneOf('level', level, ['auto', 'scalar', 'avx2', 'neon']);
  if (!binding)
    throw new Error(
      `ssd-edge: setSimd('${level}') needs the native addon, which is not loaded.\n${bindingError?.message}`,
    );
  return binding.setSimd(level);
}

// --- Detector, images, runtime -------------------------------------------------------------------
export {
  Detector,
  type Detection,
  type DetectOptions,
  type DetectorOptions,
  type DetectTimings,
  type ModelSource,
} from './detector/detector.ts';
export {
  checkOutputLayout,
  finish,
  forward,
  inputDims,
  prepare,
  type FinishOptions,
  type ForwardOutput,
  type PreparedInput,
  type PrepareOptions,
} from './detector/stages.ts';
export {
  decodeImage,
  ImageDecodeError,
  sniffImageFormat,
  type DecodedImage,
  type ImageFormat,
  type ImageInput,
  type RawImage,
} from './image/decode.ts';
export { applyOrientation, readJpegOrientation, type Orientation } from './image/exif.ts';
export {
  boxToSource,
  inputGeometry,
  preprocess,
  type InputTransform,
  type PreprocessOptions,
  type PreprocessSpec,
} from './image/preprocess.ts';
export { draw, type DrawableDetection, type DrawOptions } from './image/draw.ts';
export {
  listProviders,
  type Device,
  type Provider,
  type ProviderError,
  type ProviderInfo,
  type ProviderOptions,
} from './runtime/providers.ts';
export {
  defaultThreadOptions,
  Session,
  type SessionOptions,
  type Tensor,
  type TensorMap,
  type ThreadOptions,
} from './runtime/session.ts';
export { ortInfo, type OrtInfo } from './runtime/ort.ts';

// --- Models: format, importers, builders, the default model ---------------------------------------
export * from './model/index.ts';
// int8 (issue 11): static QDQ quantization, the accuracy gate, the default model's int8 copy
export {
  int8Support,
  quantizationOf,
  quantizeGraph,
  quantizeModel,
  type Int8Support,
  type QuantizationNote,
  type QuantizedModel,
  type QuantizeOptions,
} from './model/quantize/index.ts';
export { accuracyGate, type AccuracyGate } from './model/quantize/gate.ts';
export { ensureDefaultInt8Model } from './model/zoo.ts';

// --- Evaluation: VOC AP, COCO mAP, ground-truth and detection files -------------------------------
export * from './eval/index.ts';
export {
  EVAL_BATCH_SIZE,
  EVAL_SCORE_THRESHOLD,
  evaluateModel,
  scoreDetections,
  type ClassEvaluation,
  type EvaluateModelOptions,
  type Evaluation,
  type ModelEvaluation,
} from './eval/run.ts';
export {
  PLOT_FILES,
  renderPrCurves,
  renderSummaryChart,
  writeEvalPlots,
  type PlottableEvaluation,
  type PrCurvesOptions,
} from './eval/plots.ts';

// --- Datasets: VOC / COCO / JSONL readers and validation -------------------------------------------
export {
  checkDataset,
  DatasetError,
  detectFormat,
  openDataset,
  type BoxPolicy,
  type CheckDatasetOptions,
  type DataProblem,
  type Dataset,
  type DatasetFormat,
  type OpenDatasetOptions,
  type Sample,
} from './data/index.ts';
