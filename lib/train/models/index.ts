/** Trainable tfjs SSD models: load from ssd-edge ONNX, new class heads, export, the fast path's graph cut. */
export type { Architecture, Freeze, HeadOutputs, Tf, TrainableSsd, WeightEntry } from './types.ts';
export { FREEZE_MODES } from './types.ts';
export { ARCHITECTURES, loadTrainable, type LoadTrainableOptions } from './load.ts';
export { exportOnnx, type ExportOnnxOptions } from './export.ts';
export { cutOnnxGraph } from './cut.ts';
export { TRAIN_EXPORT_CONVERTER } from './base.ts';
export { generateSsd300, type GenerateSsd300Options } from './generate.ts';
