/**
 * ssd-edge models: the one-file format (ONNX + `ssd_edge` metadata), importers, graph builders, the zoo.
 */
export {
  METADATA_KEY, METADATA_VERSION_KEY, SCHEMA_VERSION,
  checkModelSpec, encodeAnchors, loadModelFile, parseModelSpec, readModelSpec, resolveAnchors, serializeModelSpec,
  validateModelSpec, writeModelSpec,
  type AnchorSpec, type BoxEncoding, type DecodedOutputSpec, type InputSpec, type LoadedModel, type ModelPostprocessOptions,
  type ModelSpec, type RawOutputSpec, type ResizeMode, type ScoringMode,
} from './metadata.ts';
export { getMetadata, readOnnx, setMetadata, writeOnnx, type ModelProto } from './onnx.ts';
export { describeOnnx, formatModelInfo, inspectModel, inspectModelFile, type ModelInfo, type OnnxInfo, type OnnxValueInfo } from './inspect.ts';
export { IMPORT_FORMATS, importModelFile, type ImportFormat, type ImportModelFileOptions, type ImportModelFileResult } from './import.ts';
export { COCO_91_LABELS, VOC_21_LABELS, defaultLabels, readLabelsFile } from './labels.ts';
export {
  FACEAPI_CONVERTER, faceApiModelDir, faceApiModelSpec, importFaceApiSsdMobilenetv1, readFaceApiSsdWeights,
  type FaceApiSsdImport, type FaceApiSsdImportOptions,
} from './importers/faceapi.ts';
export {
  TORCHVISION_CONVERTER, importTorchvisionSsd, type OnnxImport, type OnnxImportOptions, type TorchvisionImportOptions,
} from './importers/torchvision.ts';
export {
  PYTORCH_SSD_CONVERTER, PYTORCH_SSD_PREPROCESS, importPytorchSsd, type PytorchSsdImportOptions, type PytorchSsdPreprocess,
} from './importers/pytorch-ssd.ts';
export { buildSsd300Vgg16, torchvisionWeightsFromOnnx, type Ssd300Vgg16Build, type Ssd300Vgg16Options } from './builder/ssd300-vgg16.ts';
export { buildSsdMobilenetV1, type SsdMobilenetV1Build, type SsdMobilenetV1Options } from './builder/ssd-mobilenetv1.ts';
export type { WeightTensor, WeightsMap } from './builder/weights.ts';
export { DEFAULT_MODEL_NAME, buildDefaultModel, cacheRoot, ensureDefaultModel, modelCachePath } from './zoo.ts';
