/**
 * The optimizers of `train`, written on tfjs ops (not tf.train's) so that their whole state is plain arrays a
 * checkpoint can hold and give back bit for bit:
 *
 * - `adam`: Adam (Kingma & Ba) with bias correction and **decoupled** weight decay (AdamW, Loshchilov & Hutter):
 *   `w ← w − lr · (m̂ / (√v̂ + ε) + wd · w)`. Coupling the decay into the gradient would have Adam's scaling cancel it
 *   for weights with large gradients.
 * - `sgd`: SGD with momentum exactly as PyTorch's `torch.optim.SGD` (the paper's optimizer: momentum 0.9, weight decay
 *   5e-4), the decay **coupled** as an L2 term: `g ← g + wd · w; b ← μ · b + g` (b = g at the first step); `w ← w − lr · b`.
 *
 * Weight decay applies to weights of rank ≥ 2 (convolution kernels) only, never to biases or normalisation scales
 * (torchvision's references do the same with `norm_weight_decay = 0`).
 */
import type { Tf } from './backend.ts';
import {
  assertInRange,
  assertKnownKeys,
  assertObject,
  assertOneOf,
  assertPositive,
  invalidParameterError,
} from '../is.ts';

type Tensor = ReturnType<Tf['zeros']>;
type Variable = ReturnType<Tf['variable']>;

export type OptimizerName = 'adam' | 'sgd';
export const OPTIMIZERS: readonly OptimizerName[] = ['adam', 'sgd'];

export interface OptimizerConfig {
  optimizer: OptimizerName;
  /** SGD momentum in [0, 1) (default 0.9); Adam's β1 stays 0.9. */
  momentum?: number;
  /** Weight decay ≥ 0 (default 0): decoupled for Adam, L2 for SGD. */
  weightDecay?: number;
  /** Adam β2 (default 0.999) and ε (default 1e-8). */
  beta2?: number;
  epsilon?: number;
}

/** The state of an optimizer as plain arrays (for checkpoints). */
export interface OptimizerState {
  optimizer: OptimizerName;
  /** Steps taken. */
  step: number;
  /** Per variable name: its slots (`m`, `v` for Adam; `b` for SGD) as float32 arrays of the variable's size. */
  slots: Record<string, Record<string, Float32Array>>;
}

/** An optimizer over a fixed list of tfjs variables. */
export class Optimizer {
  readonly config: Required<OptimizerConfig>;
  #step = 0;
  readonly #tf: Tf;
  readonly #vars: Variable[];
  readonly #slots = new Map<string, Record<string, Variable>>();

  /**
   * @param tf tfjs (from loadTf).
   * @param variables The variables to train (names must be unique: they key the state).
   * @throws {TypeError|RangeError} Bad config, duplicate variable names.
   */
  constructor(tf: Tf, variables: readonly Variable[], config: OptimizerConfig) {
    assertObject('optimizer config', config);
    assertKnownKeys('optimizer config', config, ['optimizer', 'momentum', 'weightDecay', 'beta2', 'epsilon']);
    assertOneOf('optimizer', config.optimizer, OPTIMIZERS);
    this.config = {
      optimizer: config.optimizer,
      momentum: config.momentum ?? 0.9,
      weightDecay: config.weightDecay ?? 0,
      beta2: config.beta2 ?? 0.999,
      epsilon: config.epsilon ?? 1e-8,
    };
    assertInRange('momentum', this.config.momentum, 0, 0.999999);
    assertInRange('weightDecay', this.config.weightDecay, 0, 1);
    assertInRange('beta2', this.config.beta2, 0, 0.999999999);
    assertPositive('epsilon', this.config.epsilon, true);
    this.#tf = tf;
    this.#vars = [...variables];
    const names = new Set<string>();
    for (const v of this.#vars) {
      if (names.has(v.name)) throw invalidParameterError('variables', 'variables with unique names', v.name);
      names.add(v.name);
      const slotNames = config.optimizer === 'adam' ? ['m', 'v'] : ['b'];
      const slots: Record<string, Variable> = {};
      for (const s of slotNames) slots[s] = tf.variable(tf.zerosLike(v), false, `${v.name}/${s}`);
      this.#slots.set(v.name, slots);
    }
  }

  /** Steps taken so far. */
  get step(): number {
    return this.#step;
  }

  /** The variables, in order. */
  get variables(): readonly Variable[] {
    return this.#vars;
  }

  /**
   * One update with these gradients (by variable name; a variable without gradient is left alone, its slots too) at
   * learning rate `lr`.
   */
  apply(grads: Record<string, Tensor>, lr: number): void {
    const tf = this.#tf;
    const { optimizer, momentum, weightDecay, beta2, epsilon } = this.config;
    const beta1 = 0.9;
    this.#step++;
    const t = this.#step;
    tf.tidy(() => {
      for (const v of this.#vars) {
        const g = grads[v.name];
        if (!g) continue;
        const slots = this.#slots.get(v.name)!;
        const decay = weightDecay > 0 && v.rank >= 2;
        if (optimizer === 'adam') {
          const m = tf.add(tf.mul(slots.m, beta1), tf.mul(g, 1 - beta1));
          const s = tf.add(tf.mul(slots.v, beta2), tf.mul(tf.square(g), 1 - beta2));
          slots.m.assign(m);
          slots.v.assign(s);
          const mHat = tf.div(m, 1 - beta1 ** t);
          const vHat = tf.div(s, 1 - beta2 ** t);
          let update = tf.div(mHat, tf.add(tf.sqrt(vHat), epsilon));
          if (decay) update = tf.add(update, tf.mul(v, weightDecay));
          v.assign(tf.sub(v, tf.mul(update, lr)));
        } else {
          const gd = decay ? tf.add(g, tf.mul(v, weightDecay)) : g;
          const b = momentum > 0 ? (t === 1 ? gd : tf.add(tf.mul(slots.b, momentum), gd)) : gd;
          if (momentum > 0) slots.b.assign(b);
          v.assign(tf.sub(v, tf.mul(b, lr)));
        }
      }
    });
  }

  /** The state as plain arrays (copies). */
  getState(): OptimizerState {
    const slots: OptimizerState['slots'] = {};
    for (const [name, s] of this.#slots) {
      slots[name] = {};
      for (const [k, t] of Object.entries(s)) slots[name][k] = Float32Array.from(t.dataSync() as Float32Array);
    }
    return { optimizer: this.config.optimizer, step: this.#step, slots };
  }

  /**
   * Restores a state from {@link getState} (a checkpoint).
   *
   * @throws {TypeError} Another optimizer, a missing variable or slot, or a slot of another size.
   */
  setState(state: OptimizerState): void {
    if (state.optimizer !== this.config.optimizer)
      throw invalidParameterError('state.optimizer', `'${this.config.optimizer}'`, state.optimizer);
    for (const [name, s] of this.#slots) {
      const saved = state.slots[name];
      if (!saved) throw invalidParameterError(`state.slots['${name}']`, 'the slots of this variable', saved);
      for (const [k, t] of Object.entries(s)) {
        const data = saved[k];
        if (!(data instanceof Float32Array) || data.length !== t.size)
          throw invalidParameterError(`state.slots['${name}'].${k}`, `Float32Array of length ${t.size}`, data);
        const value = this.#tf.tensor(data, t.shape);
        t.assign(value);
        value.dispose();
      }
    }
    this.#step = state.step;
  }

  /** Releases the slot tensors. */
  dispose(): void {
    for (const s of this.#slots.values()) for (const t of Object.values(s)) t.dispose();
    this.#slots.clear();
  }
}
