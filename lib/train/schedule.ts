/**
 * The learning-rate schedule of `train`: a linear warm-up from 0 to the base rate over the first `warmupSteps`
 * optimizer steps, then a half cosine from the base rate down to `minLr` at the last step (torchvision's detection
 * references use the same warm-up; the cosine replaces the paper's step decay, which needs a fixed iteration budget).
 * A pure function of the step, so a resumed run gets exactly the rates an uninterrupted one would.
 */
import { assertInRange, assertInteger, assertKnownKeys, assertObject, assertPositive } from '../is.ts';

/** The schedule's parameters (steps are optimizer steps, i.e. batches). */
export interface LrSchedule {
  /** Peak learning rate (> 0). */
  lr: number;
  /** Steps of the whole run (≥ 1). */
  totalSteps: number;
  /** Linear warm-up steps at the start (≥ 0, ≤ totalSteps). */
  warmupSteps: number;
  /** Rate at the last step (default 0; ≤ lr). */
  minLr?: number;
}

/**
 * The learning rate of step `step` (0-based): `lr · (step + 1) / warmupSteps` during the warm-up, then
 * `minLr + (lr − minLr) · (1 + cos(π · t)) / 2` with t going from 0 (first step after the warm-up) to 1 (the last step).
 *
 * @throws {TypeError|RangeError} A parameter of the wrong type or out of range, naming it.
 * @example
 * learningRate({ lr: 1e-3, totalSteps: 100, warmupSteps: 10 }, 0);   // 1e-4
 * learningRate({ lr: 1e-3, totalSteps: 100, warmupSteps: 10 }, 10);  // 1e-3
 * learningRate({ lr: 1e-3, totalSteps: 100, warmupSteps: 10 }, 99);  // 0
 */
export function learningRate(schedule: LrSchedule, step: number): number {
  assertObject('schedule', schedule);
  assertKnownKeys('schedule', schedule, ['lr', 'totalSteps', 'warmupSteps', 'minLr']);
  const { lr, totalSteps, warmupSteps } = schedule;
  const minLr = schedule.minLr ?? 0;
  assertPositive('lr', lr, true);
  assertInteger('totalSteps', totalSteps, 1);
  assertInteger('warmupSteps', warmupSteps, 0);
  assertInRange('minLr', minLr, 0, lr);
  assertInteger('step', step, 0);
  if (warmupSteps > totalSteps)
    throw new RangeError(`Expected warmupSteps ≤ totalSteps (${totalSteps}) but received ${warmupSteps}`);
  if (step < warmupSteps) return (lr * (step + 1)) / warmupSteps;
  const decaySteps = totalSteps - warmupSteps;
  if (decaySteps <= 1) return lr;
  const t = Math.min(1, (step - warmupSteps) / (decaySteps - 1));
  return minLr + ((lr - minLr) * (1 + Math.cos(Math.PI * t))) / 2;
}
