/**
 * Types of the trainable tfjs SSD models (`ssd-edge/train`). Type-only imports of tfjs: nothing here loads it.
 */
import type * as tfc from '@tensorflow/tfjs-core';
import type { ModelSpec } from '../../model/spec.ts';

export type { Tf } from '../backend.ts';

/** Architectures the tfjs builders know (the `architecture` of an ssd-edge model spec). */
export type Architecture = 'ssd-mobilenetv1' | 'ssd300-vgg16';

/**
 * What stays frozen while training:
 * - `'extras'`: backbone and extra feature layers frozen, only the heads trained (the fast-path default);
 * - `'backbone'`: backbone frozen, extra feature layers and heads trained;
 * - `'none'`: everything trained.
 *
 * Backbone = MobileNetV1 conv_0 … conv_13 / VGG16 conv1_1 … conv7 with the L2Norm scale of conv4_3; extras =
 * face-api's prediction convs 0…7 / conv8_1 … conv11_2; heads = the box and class predictors.
 */
export type Freeze = 'extras' | 'backbone' | 'none';

/** The values a freeze mode accepts (for option validation). */
export const FREEZE_MODES: readonly Freeze[] = Object.freeze(['extras', 'backbone', 'none'] as const);

/** One weight tensor: row-major data and its shape (the builder's layout, see {@link TrainableSsd.getWeights}). */
export interface WeightEntry {
  data: Float32Array;
  shape: number[];
}

/** Head outputs: `boxRegression` [B, N, 4] (deltas in the spec's coder order) and `classLogits` [B, N, C]. */
export interface HeadOutputs {
  boxRegression: tfc.Tensor3D;
  classLogits: tfc.Tensor3D;
}

/** An SSD held as tfjs variables, trainable, exportable back to an ssd-edge ONNX model. */
export interface TrainableSsd {
  architecture: Architecture;
  /** The ssd-edge spec of the model as it will be exported (labels = the new classes when a class set was given). */
  spec: ModelSpec;
  /** C, background included (= spec.labels.length). */
  numClasses: number;
  /** N. */
  numAnchors: number;
  /** resolveAnchors(spec): [N·4] cxcywh normalized to the input, the units/format the spec's coder expects. */
  anchors: Float32Array;
  /**
   * Names of the tensors where the graph is cut for `freeze`, in the order `forwardFrom` takes them (NCHW, as ORT
   * returns them): the 6 feature maps for 'extras', the backbone outputs the extras and heads read for 'backbone',
   * the model input for 'none'. They name tensors of the graph that the project's builder writes (the default face
   * model, `exportOnnx` output, and SSD300 models built by `buildSsd300Vgg16`).
   */
  cutPoints(freeze: Freeze): string[];
  /**
   * The model's ONNX graph cut at `cutPoints(freeze)`: the model input (raw, as `prepare()` gives it) in, those
   * tensors out, with the current weights; nodes and initializers not needed for them are dropped. For 'none' the
   * graph is the identity on the input.
   */
  frozenPartOnnx(freeze: Freeze): Uint8Array;
  /**
   * tfjs forward from the cut tensors (NCHW float32, as ORT returns them) to the head outputs. `training` changes
   * nothing today (batch norms are folded into the convs, there is no dropout); it is there for layers that will.
   */
  forwardFrom(freeze: Freeze, cut: readonly tfc.Tensor4D[], training?: boolean): HeadOutputs;
  /** Full forward from the preprocessed input (NCHW [B, 3, H, W], exactly what lib/detector/stages.ts prepare() gives). */
  forward(input: tfc.Tensor4D, training?: boolean): HeadOutputs;
  /** The variables `freeze` leaves trainable (heads; extras + heads; all). */
  trainableVariables(freeze: Freeze): tfc.Variable[];
  /** The stable names (those of {@link getWeights}) of `trainableVariables(freeze)`, in the same order. */
  trainableVariableNames(freeze: Freeze): string[];
  /**
   * All weights by stable name, copied out: the names and layouts of the graph builder's weight map
   * (SSD-MobileNetV1: TF names, HWIO; SSD300-VGG16: torchvision names, OIHW).
   */
  getWeights(): Record<string, WeightEntry>;
  /** Assigns weights by name (all of them: exactly the names and shapes `getWeights` gives). */
  setWeights(weights: Record<string, WeightEntry>): void;
  /** Frees every variable. The model is unusable afterwards. */
  dispose(): void;
}
