/**
 * train()'s options: every bad value is a TypeError or RangeError naming the option, the expected and the received
 * value, thrown before anything is loaded or written; the defaults; and the CLI's `train` command turning its flags
 * into those options (usage errors exit 2).
 */
import test from 'ava';
import { resolveTrainOptions, train, type TrainOptions } from '../../../lib/train/train.ts';
import { toTrainOptions } from '../../../lib/cli/commands/train.ts';
import { createProgram } from '../../../lib/cli/program.ts';
import { UsageError } from '../../../lib/cli/handle-error.ts';

const ok: TrainOptions = { data: 'd.jsonl', classes: ['sign'] };

test('defaults: heads on cached features, Adam, warm-up + cosine, out model.onnx beside its checkpoint and curve', (t) => {
  const r = resolveTrainOptions(ok);
  t.like(r, {
    epochs: 10,
    batch: 8,
    lr: 1e-3,
    optimizer: 'adam',
    weightDecay: 1e-4,
    warmupEpochs: 1,
    freeze: 'extras',
    augment: 'default',
    variants: 2,
    refreshEvery: 5,
    seed: 0,
    out: 'model.onnx',
    curve: 'model.curve.png',
    checkpointDir: 'model.train',
    backend: 'auto',
    memoryBudgetMB: 1024,
    alpha: 1,
    negPosRatio: 3,
    boxPolicy: 'error',
    resume: false,
    overwrite: false,
  });
  t.like(resolveTrainOptions({ ...ok, optimizer: 'sgd', freeze: 'none', out: 'x/m.ONNX' }), {
    lr: 1e-2,
    weightDecay: 5e-4,
    momentum: 0.9,
    variants: 1,
    refreshEvery: 1,
    curve: 'x/m.curve.png',
    checkpointDir: 'x/m.train',
  });
});

test('bad options: TypeError / RangeError naming the option, the expected and the received value', async (t) => {
  const bad: Array<[Partial<TrainOptions> & Record<string, unknown>, new (...a: never[]) => Error, string]> = [
    [{ data: '' }, TypeError, 'Expected non-empty string (a path) for data but received ""'],
    [{ data: 3 as never }, TypeError, 'Expected non-empty string (a path) for data but received 3'],
    [{ classes: [] }, TypeError, 'Expected Array of length ≥ 1 for classes but received Array of length 0'],
    [{ classes: ['a', 'a'] }, TypeError, 'Expected a class name listed once for classes[1] but received "a"'],
    [{ classes: ['background'] }, TypeError, /for classes\[0\] but received "background"/ as never],
    [{ classes: [' a'] }, TypeError, /without surrounding spaces for classes\[0\]/ as never],
    [{ epochs: 0 }, RangeError, 'Expected integer ≥ 1 for epochs but received 0'],
    [{ epochs: 2.5 }, RangeError, 'Expected integer ≥ 1 for epochs but received 2.5'],
    [{ batch: '8' as never }, TypeError, 'Expected integer ≥ 1 for batch but received "8"'],
    [{ lr: -1 }, RangeError, 'Expected finite number > 0 for lr but received -1'],
    [{ lr: NaN }, RangeError, 'Expected finite number > 0 for lr but received NaN'],
    [
      { optimizer: 'rmsprop' as never },
      TypeError,
      `Expected one of 'adam', 'sgd' for optimizer but received "rmsprop"`,
    ],
    [{ momentum: 1 }, RangeError, 'Expected number in [0, 0.999] for momentum but received 1'],
    [{ weightDecay: -0.1 }, RangeError, 'Expected number in [0, 1] for weightDecay but received -0.1'],
    [{ warmupEpochs: 11 }, RangeError, 'Expected number in [0, 10] for warmupEpochs but received 11'],
    [
      { freeze: 'all' as never },
      TypeError,
      `Expected one of 'extras', 'backbone', 'none' for freeze but received "all"`,
    ],
    [{ augment: 'heavy' as never }, TypeError, `Expected one of 'default', 'none' for augment but received "heavy"`],
    [{ variants: 0 }, RangeError, 'Expected integer ≥ 1 for variants but received 0'],
    [{ refreshEvery: -2 }, RangeError, 'Expected integer ≥ 1 for refreshEvery but received -2'],
    [{ seed: -1 }, RangeError, 'Expected integer ≥ 0 for seed but received -1'],
    [
      { backend: 'webgl' as never },
      TypeError,
      `Expected one of 'auto', 'wasm', 'cpu', 'tensorflow' for backend but received "webgl"`,
    ],
    [{ memoryBudgetMB: 0 }, RangeError, 'Expected finite number > 0 for memoryBudgetMB but received 0'],
    [{ resume: 'yes' as never }, TypeError, 'Expected boolean for resume but received "yes"'],
    [{ onEpoch: 1 as never }, TypeError, 'Expected function for onEpoch but received 1'],
    [{ signal: {} as never }, TypeError, 'Expected AbortSignal for signal but received object'],
    [
      { boxPolicy: 'fix' as never },
      TypeError,
      `Expected one of 'error', 'clip', 'drop' for boxPolicy but received "fix"`,
    ],
    [{ epoch: 3 } as never, TypeError, /^Unknown key 'epoch' in options: expected one of 'data', 'val'/ as never],
  ];
  for (const [patch, type, message] of bad) {
    const o = { ...ok, ...patch } as TrainOptions;
    t.throws(() => resolveTrainOptions(o), { instanceOf: type, message }, JSON.stringify(patch));
    // train() rejects the same way, before reading the dataset (which does not exist)
    await t.throwsAsync(train(o), { instanceOf: type, message }, JSON.stringify(patch));
  }
  await t.throwsAsync(train(undefined as never), {
    instanceOf: TypeError,
    message: 'Expected object for options but received undefined',
  });
});

test('CLI: flags become train options; required flags and bad values are usage errors', async (t) => {
  t.deepEqual(toTrainOptions({ data: 'd', classes: ['a'], memoryBudget: 512, json: true, epochs: 3 } as never), {
    data: 'd',
    classes: ['a'],
    memoryBudgetMB: 512,
    epochs: 3,
  });
  t.throws(() => toTrainOptions({ classes: ['a'] } as never), {
    instanceOf: UsageError,
    message: /^--data is required/,
  });
  t.throws(() => toTrainOptions({ data: 'd' } as never), { instanceOf: UsageError, message: /^--classes is required/ });
  const parse = async (...args: string[]) => {
    const program = createProgram();
    const cmd = program.commands.find((c) => c.name() === 'train')!;
    cmd.action(() => {}); // parse only
    await program.parseAsync(['node', 'ssd-edge', 'train', ...args]);
    return cmd.opts();
  };
  t.like(
    await parse(
      '--data',
      'd',
      '-c',
      'a,b',
      '--epochs',
      '4',
      '--lr',
      '3e-3',
      '--freeze',
      'backbone',
      '--no-curve',
      '--memory-budget',
      '900',
    ),
    {
      data: 'd',
      classes: ['a', 'b'],
      epochs: 4,
      lr: 0.003,
      freeze: 'backbone',
      curve: false,
      memoryBudget: 900,
    },
  );
  await t.throwsAsync(parse('--data', 'd', '-c', 'a', '--epochs', '0'), {
    message: /--epochs must be an integer in \[1, /,
  });
  await t.throwsAsync(parse('--data', 'd', '-c', 'a', '--freeze', 'all'), {
    message: /Allowed choices are extras, backbone, none/,
  });
  await t.throwsAsync(parse('--data', 'd', '-c', 'a', '--bogus'), { message: /unknown option '--bogus'/ });
});
