/**
 * The part every tfjs SSD shares: weights held once as tfjs variables under the graph builder's names, grouped as
 * backbone / extras / heads; getWeights/setWeights in the builder's layout; forward from the cut points; export
 * through the builder (lib/model/builder) and the cut of that graph for the fast path.
 */
import type * as tfc from '@tensorflow/tfjs-core';
import { assertObject, describe, invalidParameterError } from '../../is.ts';
import type { WeightsMap } from '../../model/builder/weights.ts';
import { writeModelSpec } from '../../model/metadata.ts';
import { writeOnnx, type ModelProto } from '../../model/onnx.ts';
import type { ModelSpec } from '../../model/spec.ts';
import { cutOnnxGraph } from './cut.ts';
import { toNhwc } from './layers.ts';
import {
  FREEZE_MODES,
  type Architecture,
  type Freeze,
  type HeadOutputs,
  type Tf,
  type TrainableSsd,
  type WeightEntry,
} from './types.ts';

/** Which part of the network a weight belongs to (what `Freeze` freezes). */
export type Group = 'backbone' | 'extras' | 'heads';

/** Groups trained under each freeze mode. */
const TRAINED: Record<Freeze, readonly Group[]> = {
  extras: ['heads'],
  backbone: ['extras', 'heads'],
  none: ['backbone', 'extras', 'heads'],
};

/** Converter id written into exported specs. */
export const TRAIN_EXPORT_CONVERTER = 'ssd-edge/train-export@1';

export function assertFreeze(freeze: unknown): asserts freeze is Freeze {
  if (!FREEZE_MODES.includes(freeze as Freeze))
    throw invalidParameterError('freeze', `one of ${FREEZE_MODES.map((f) => `'${f}'`).join(', ')}`, freeze);
}

interface Param {
  variable: tfc.Variable;
  group: Group;
}

export abstract class TfSsd implements TrainableSsd {
  readonly numClasses: number;
  private readonly params = new Map<string, Param>();
  private disposed = false;

  protected constructor(
    protected readonly tf: Tf,
    readonly architecture: Architecture,
    readonly spec: ModelSpec,
    readonly anchors: Float32Array,
    readonly numAnchors: number,
  ) {
    this.numClasses = spec.labels.length;
  }

  /** Registers a weight (tfjs layout) as a variable; `data` is handed over, not copied again by us. */
  protected addParam(name: string, data: Float32Array, shape: number[], group: Group): void {
    if (this.params.has(name)) throw new Error(`weight ${name} registered twice`);
    const t = this.tf.tensor(data, shape, 'float32');
    this.params.set(name, { variable: this.tf.variable(t, true), group });
    t.dispose();
  }

  /** A weight's variable (tfjs layout). */
  protected p<R extends tfc.Rank>(name: string): tfc.Tensor<R> {
    const param = this.params.get(name);
    if (!param) throw new Error(`no weight ${name}`);
    return param.variable as unknown as tfc.Tensor<R>;
  }

  protected paramNames(): string[] {
    return [...this.params.keys()];
  }

  /** Builder layout → tfjs layout of one weight (identity unless overridden). */
  protected toTfLayout(_name: string, w: WeightEntry): WeightEntry {
    return w;
  }

  /** tfjs layout → builder layout of one weight (identity unless overridden). */
  protected toBuilderLayout(_name: string, w: WeightEntry): WeightEntry {
    return w;
  }

  /** Cut point names for a valid freeze (see {@link TrainableSsd.cutPoints}). */
  protected abstract cutNames(freeze: Freeze): string[];

  cutPoints(freeze: Freeze): string[] {
    this.checkLive();
    assertFreeze(freeze);
    return this.cutNames(freeze);
  }

  /** Forward from the cut tensors already in NHWC (for 'none': the NHWC input). Runs inside a tidy. */
  protected abstract forwardNhwc(freeze: Freeze, cut: tfc.Tensor4D[]): HeadOutputs;

  /** The ONNX graph of the builder from weights in builder layout (no spec yet). */
  protected abstract buildGraph(weights: WeightsMap, producerVersion?: string): ModelProto;

  private checkLive(): void {
    if (this.disposed) throw new Error('This TrainableSsd was disposed');
  }

  forwardFrom(freeze: Freeze, cut: readonly tfc.Tensor4D[], _training = false): HeadOutputs {
    this.checkLive();
    assertFreeze(freeze);
    const names = this.cutPoints(freeze);
    if (!Array.isArray(cut) || cut.length !== names.length)
      throw invalidParameterError('cut', `Array of ${names.length} tensors (${names.join(', ')})`, cut);
    cut.forEach((t, k) => {
      if (!t || typeof t !== 'object' || !Array.isArray((t as tfc.Tensor).shape) || t.rank !== 4)
        throw invalidParameterError(`cut[${k}]`, `Tensor4D (NCHW) for ${names[k]}`, t);
    });
    const [boxRegression, classLogits] = this.tf.tidy(() => {
      const out = this.forwardNhwc(
        freeze,
        cut.map((t) => toNhwc(this.tf, t)),
      );
      return [out.boxRegression, out.classLogits];
    });
    return { boxRegression: boxRegression as tfc.Tensor3D, classLogits: classLogits as tfc.Tensor3D };
  }

  forward(input: tfc.Tensor4D, training = false): HeadOutputs {
    const { height, width } = this.spec.input;
    if (input?.rank !== 4 || input.shape[1] !== 3 || input.shape[2] !== height || input.shape[3] !== width)
      throw new TypeError(
        `Expected Tensor4D [B, 3, ${height}, ${width}] (NCHW) for input but received ` +
          (input && Array.isArray(input.shape) ? `Tensor [${input.shape}]` : describe(input)),
      );
    return this.forwardFrom('none', [input], training);
  }

  trainableVariables(freeze: Freeze): tfc.Variable[] {
    this.checkLive();
    assertFreeze(freeze);
    const groups = TRAINED[freeze];
    return [...this.params.values()].filter((p) => groups.includes(p.group)).map((p) => p.variable);
  }

  trainableVariableNames(freeze: Freeze): string[] {
    this.checkLive();
    assertFreeze(freeze);
    const groups = TRAINED[freeze];
    return [...this.params].filter(([, p]) => groups.includes(p.group)).map(([name]) => name);
  }

  getWeights(): Record<string, WeightEntry> {
    this.checkLive();
    const out: Record<string, WeightEntry> = {};
    for (const [name, { variable }] of this.params) {
      out[name] = this.toBuilderLayout(name, { data: variable.dataSync() as Float32Array, shape: [...variable.shape] });
    }
    return out;
  }

  setWeights(weights: Record<string, WeightEntry>): void {
    this.checkLive();
    assertObject('weights', weights);
    const names = Object.keys(weights);
    const missing = this.paramNames().filter((n) => !Object.hasOwn(weights, n));
    const extra = names.filter((n) => !this.params.has(n));
    if (missing.length || extra.length)
      throw new TypeError(
        `Expected exactly the ${this.params.size} weights of this ${this.architecture} model for weights but ` +
          [
            missing.length ? `${missing.slice(0, 3).join(', ')}… are missing` : '',
            extra.length ? `${extra.slice(0, 3).join(', ')} are unknown` : '',
          ]
            .filter(Boolean)
            .join(' and '),
      );
    // check every entry before assigning any, so a bad map changes nothing
    const converted = new Map<string, WeightEntry>();
    for (const [name, { variable }] of this.params) {
      const w = weights[name];
      const builderShape = this.toBuilderLayout(name, { data: new Float32Array(0), shape: [...variable.shape] }).shape;
      if (
        !w ||
        !(w.data instanceof Float32Array) ||
        !Array.isArray(w.shape) ||
        w.shape.join() !== builderShape.join() ||
        w.data.length !== variable.size
      )
        throw new TypeError(
          `Expected { data: Float32Array(${variable.size}), shape: [${builderShape}] } for weights['${name}'] but ` +
            `received ${w && Array.isArray(w.shape) ? `${describe(w.data)} with shape [${w.shape}]` : describe(w)}`,
        );
      converted.set(name, this.toTfLayout(name, w));
    }
    for (const [name, { variable }] of this.params) {
      const w = converted.get(name) as WeightEntry;
      this.tf.tidy(() => variable.assign(this.tf.tensor(w.data, variable.shape, 'float32')));
    }
  }

  /** The builder's weight map of the current weights. */
  protected builderWeights(): WeightsMap {
    const out: WeightsMap = {};
    for (const [name, w] of Object.entries(this.getWeights())) out[name] = { dims: w.shape, data: w.data };
    return out;
  }

  /** The self-describing ssd-edge ONNX model of the current weights. */
  toOnnxModel(producerVersion?: string): ModelProto {
    this.checkLive();
    const model = this.buildGraph(this.builderWeights(), producerVersion);
    writeModelSpec(model, this.spec);
    return model;
  }

  frozenPartOnnx(freeze: Freeze): Uint8Array {
    this.checkLive();
    assertFreeze(freeze);
    const full = this.buildGraph(this.builderWeights());
    return writeOnnx(cutOnnxGraph(full, this.cutPoints(freeze)));
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const { variable } of this.params.values()) variable.dispose();
    this.params.clear();
  }
}
