/**
 * ssd-edge models: the one-file format (ONNX + `ssd_edge` metadata), importers, graph builders, the zoo.
 */
export {
  anchorCount,
  encodeAnchors,
  MODEL_LIMITS,
  resolveAnchors,
  validateModelSpec,
  type AnchorSpec,
  type BoxEncoding,
  type DecodedOutputSpec,
  type InputSpec,
  type ModelPostprocessOptions,
  type ModelSpec,
  type RawOutputSpec,
  type ResizeMode,
  type ScoringMode,
} from './spec.ts';
export {
  METADATA_KEY,
  METADATA_VERSION_KEY,
  SCHEMA_VERSION,
  checkModelSpec,
  loadModelFile,
  parseModelSpec,
  readModelSpec,
  serializeModelSpec,
  writeModelSpec,
  type LoadedModel,
} from './metadata.ts';
export { onnxHeaderOf, readOnnxHeader, readOnnxHeaderFile, type ModelLike, type OnnxHeader } from './onnx-header.ts';
export { ModelFileError } from './file.ts';
export { getMetadata, readOnnx, setMetadata, writeOnnx, type ModelProto } from './onnx.ts';
export {
  describeOnnx,
  formatModelInfo,
  inspectModel,
  inspectModelFile,
  type ModelInfo,
  type OnnxInfo,
  type OnnxValueInfo,
} from './inspect.ts';
export {
  IMPORT_FORMATS,
  importModelFile,
  type ImportFormat,
  type ImportModelFileOptions,
  type ImportModelFileResult,
} from './import.ts';
export { COCO_91_LABELS, VOC_21_LABELS, defaultLabels, readLabelsFile } from './labels.ts';
export {
  FACEAPI_CONVERTER,
  faceApiModelDir,
  faceApiModelSpec,
  importFaceApiSsdMobilenetv1,
  readFaceApiSsdWeights,
  type FaceApiSsdImport,
  type FaceApiSsdImportOptions,
} from './importers/faceapi.ts';
export {
  TORCHVISION_CONVERTER,
  importTorchvisionSsd,
  type OnnxImport,
  type OnnxImportOptions,
  type TorchvisionImportOptions,
} from './importers/torchvision.ts';
export {
  PYTORCH_SSD_CONVERTER,
  PYTORCH_SSD_PREPROCESS,
  importPytorchSsd,
  type PytorchSsdImportOptions,
  type PytorchSsdPreprocess,
} from './importers/pytorch-ssd.ts';
export {
  buildSsd300Vgg16,
  torchvisionWeightsFromOnnx,
  type Ssd300Vgg16Build,
  type Ssd300Vgg16Options,
} from './builder/ssd300-vgg16.ts';
export {
  buildSsdMobilenetV1,
  type SsdMobilenetV1Build,
  type SsdMobilenetV1Options,
} from './builder/ssd-mobilenetv1.ts';
export type { WeightTensor, WeightsMap } from './builder/weights.ts';
export {
  DEFAULT_MODEL_NAME,
  buildDefaultModel,
  cacheRoot,
  ensureDefaultModel,
  modelCachePath,
  modelHashPath,
  sha256File,
} from './zoo.ts';
