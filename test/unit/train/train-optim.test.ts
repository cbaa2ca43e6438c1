/**
 * lib/train/optim.ts and lib/train/schedule.ts: the optimizers against torch.optim (AdamW; SGD with momentum and L2
 * weight decay) on fixed weights and gradients (test/fixtures/train/optim-oracle.json, scripts/make-optim-oracle.py),
 * their state round trip (a restored optimizer continues bit for bit), and the warm-up + cosine schedule against its
 * formula written out independently.
 */
import test from 'ava';
import fs from 'node:fs';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { Optimizer } from '../../../lib/train/optim.ts';
import { learningRate } from '../../../lib/train/schedule.ts';

const oracle = JSON.parse(fs.readFileSync(new URL('../../fixtures/train/optim-oracle.json', import.meta.url), 'utf8'));

test.before(async () => {
  await tf.setBackend('cpu');
});

function runSteps(
  kind: 'adam' | 'sgd',
  steps: number,
  start?: { w: Float32Array; b: Float32Array; state?: ReturnType<Optimizer['getState']> },
  from = 0,
) {
  const w = tf.variable(tf.tensor(start?.w ?? oracle.w0, [3, 4]), true, `w-${kind}-${Math.random()}`);
  const b = tf.variable(tf.tensor(start?.b ?? oracle.b0, [4]), true, `b-${kind}-${Math.random()}`);
  const opt = new Optimizer(tf, [w, b], { optimizer: kind, momentum: 0.9, weightDecay: oracle.weightDecay });
  if (start?.state) {
    // the state is keyed by variable name: rename the saved slots onto these variables
    const s = start.state;
    const [wn, bn] = Object.keys(s.slots);
    opt.setState({ ...s, slots: { [w.name]: s.slots[wn], [b.name]: s.slots[bn] } });
  }
  for (let k = from; k < from + steps; k++) {
    const gw = tf.tensor(oracle.gradsW[k], [3, 4]);
    const gb = tf.tensor(oracle.gradsB[k], [4]);
    opt.apply({ [w.name]: gw, [b.name]: gb }, oracle.lrs[k]);
    gw.dispose();
    gb.dispose();
  }
  const out = { w: w.dataSync() as Float32Array, b: b.dataSync() as Float32Array, state: opt.getState() };
  opt.dispose();
  w.dispose();
  b.dispose();
  return out;
}

for (const kind of ['adam', 'sgd'] as const) {
  test(`${kind}: 5 steps equal torch.optim (${kind === 'adam' ? 'AdamW, decoupled' : 'SGD momentum 0.9, L2'} weight decay on the kernel only) within 1e-6`, (t) => {
    const { w, b } = runSteps(kind, 5);
    const exp = oracle.expected[kind];
    for (let i = 0; i < 12; i++) t.true(Math.abs(w[i] - exp.w[i]) <= 1e-6, `w[${i}] ${w[i]} vs ${exp.w[i]}`);
    for (let i = 0; i < 4; i++) t.true(Math.abs(b[i] - exp.b[i]) <= 1e-6, `b[${i}] ${b[i]} vs ${exp.b[i]}`);
    // the weights moved: not the initial values
    t.true(Math.abs(w[0] - oracle.w0[0]) > 1e-5);
  });

  test(`${kind}: state saved after 2 steps and restored continues bit for bit`, (t) => {
    const whole = runSteps(kind, 5);
    const first = runSteps(kind, 2);
    t.is(first.state.step, 2);
    const rest = runSteps(kind, 3, { w: first.w, b: first.b, state: first.state }, 2);
    t.deepEqual(Array.from(rest.w), Array.from(whole.w));
    t.deepEqual(Array.from(rest.b), Array.from(whole.b));
  });
}

test('optimizer: bad config and mismatched state are errors naming the field', (t) => {
  const v = tf.variable(tf.zeros([2]), true, 'opt-bad');
  t.throws(() => new Optimizer(tf, [v], { optimizer: 'rmsprop' as 'adam' }), {
    instanceOf: TypeError,
    message: `Expected one of 'adam', 'sgd' for optimizer but received "rmsprop"`,
  });
  t.throws(() => new Optimizer(tf, [v], { optimizer: 'sgd', momentum: 1.5 }), {
    instanceOf: RangeError,
    message: /for momentum but received 1.5/,
  });
  t.throws(() => new Optimizer(tf, [v], { optimizer: 'sgd', weightDecay: -1 }), {
    instanceOf: RangeError,
    message: /for weightDecay/,
  });
  t.throws(() => new Optimizer(tf, [v], { optimizer: 'sgd', lr: 1 } as never), {
    instanceOf: TypeError,
    message: /Unknown key 'lr'/,
  });
  const opt = new Optimizer(tf, [v], { optimizer: 'adam' });
  t.throws(() => opt.setState({ optimizer: 'sgd', step: 1, slots: {} }), {
    instanceOf: TypeError,
    message: /state.optimizer/,
  });
  t.throws(
    () =>
      opt.setState({
        optimizer: 'adam',
        step: 1,
        slots: { 'opt-bad': { m: new Float32Array(3), v: new Float32Array(2) } },
      }),
    {
      instanceOf: TypeError,
      message: /Float32Array of length 2 for state.slots\['opt-bad'\].m/,
    },
  );
  opt.dispose();
  v.dispose();
});

test('schedule: linear warm-up then half cosine to minLr, as the formula', (t) => {
  const s = { lr: 0.01, totalSteps: 50, warmupSteps: 10, minLr: 0.001 };
  for (let step = 0; step < 50; step++) {
    const expected =
      step < 10
        ? (0.01 * (step + 1)) / 10
        : 0.001 + 0.5 * (0.01 - 0.001) * (1 + Math.cos((Math.PI * (step - 10)) / 39));
    t.true(Math.abs(learningRate(s, step) - expected) < 1e-15, `step ${step}`);
  }
  t.is(learningRate(s, 9), 0.01);
  t.true(Math.abs(learningRate(s, 10) - 0.01) < 1e-15);
  t.true(Math.abs(learningRate(s, 49) - 0.001) < 1e-15);
  // no warm-up, one step: the peak rate
  t.is(learningRate({ lr: 0.1, totalSteps: 1, warmupSteps: 0 }, 0), 0.1);
  t.throws(() => learningRate({ lr: 0, totalSteps: 5, warmupSteps: 0 }, 0), {
    instanceOf: RangeError,
    message: /for lr but received 0/,
  });
  t.throws(() => learningRate({ lr: 1, totalSteps: 5, warmupSteps: 6 }, 0), {
    instanceOf: RangeError,
    message: /warmupSteps ≤ totalSteps/,
  });
  t.throws(() => learningRate({ lr: 1, totalSteps: 5, warmupSteps: 0 }, -1), {
    instanceOf: RangeError,
    message: /for step but received -1/,
  });
});
