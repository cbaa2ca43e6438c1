/** Shared CLI options: number parsing, the threshold vocabulary and its aliases, output formats, unknown commands. */
import test from 'ava';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import {
  addOptions,
  formatOptions,
  outputFormat,
  parseList,
  parseNumber,
  resolveThresholds,
  thresholdOptions,
} from '../../../lib/cli/options.ts';
import { exitCodeOf, UsageError } from '../../../lib/cli/handle-error.ts';
import { assertKnownCommands, createProgram } from '../../../lib/cli/program.ts';

/** Parses `args` with the threshold and format options; commander errors throw. */
function parse(...args: string[]): Record<string, unknown> {
  const cmd = addOptions(new Command('x'), [...thresholdOptions(), ...formatOptions()])
    .exitOverride()
    .configureOutput({ writeErr: () => {} });
  cmd.parse(args, { from: 'user' });
  return cmd.opts();
}

test('parseNumber: range and integer checks name the flag', (t) => {
  t.is(parseNumber('--x', 0, 1)('0.25'), 0.25);
  t.is(parseNumber('--n', 1, 10, true)('3'), 3);
  for (const bad of ['', ' ', 'abc', '1.5', '-1', 'NaN']) {
    t.throws(
      () => parseNumber('--x', 0, 1)(bad),
      { instanceOf: InvalidArgumentError, message: '--x must be a number in [0, 1]' },
      bad,
    );
  }
  t.throws(() => parseNumber('--n', 1, 10, true)('2.5'), { message: '--n must be an integer in [1, 10]' });
  t.deepEqual(parseList(' person, dog ,,cat'), ['person', 'dog', 'cat']);
});

test('threshold flags map to the API option names; the short old names are aliases', (t) => {
  t.deepEqual(
    resolveThresholds(
      parse('--score-threshold', '0.4', '--iou-threshold', '0.3', '--max-detections', '7', '-c', 'a,b'),
    ),
    { scoreThreshold: 0.4, iouThreshold: 0.3, maxDetections: 7, classes: ['a', 'b'] },
  );
  t.deepEqual(resolveThresholds(parse('--threshold', '0.4', '--iou', '0.3', '--max', '7')), {
    scoreThreshold: 0.4,
    iouThreshold: 0.3,
    maxDetections: 7,
  });
  t.deepEqual(resolveThresholds(parse('-t', '0.5')), { scoreThreshold: 0.5 });
  t.deepEqual(resolveThresholds(parse()), {});
  t.throws(() => resolveThresholds(parse('-t', '0.5', '--threshold', '0.4')), {
    instanceOf: UsageError,
    message: '--score-threshold and --threshold are the same option; give one',
  });
  t.throws(() => resolveThresholds(parse('--iou', '0.5', '--iou-threshold', '0.4')), {
    instanceOf: UsageError,
    message: '--iou-threshold and --iou are the same option; give one',
  });
  const err = t.throws(() => parse('--iou', '1.5'), { instanceOf: CommanderError });
  t.is(err.message, "error: option '--iou <iou>' argument '1.5' is invalid. --iou must be a number in [0, 1]");
  t.is(exitCodeOf(err), 2);
});

test('output format: table by default, --json and --jsonl exclusive', (t) => {
  t.is(outputFormat(parse()), 'table');
  t.is(outputFormat(parse('--json')), 'json');
  t.is(outputFormat(parse('--jsonl')), 'jsonl');
  t.throws(() => parse('--json', '--jsonl'), {
    message: "error: option '--json' cannot be used with option '--jsonl'",
  });
  t.throws(() => outputFormat({ json: true, jsonl: true }), { instanceOf: UsageError });
});

test('assertKnownCommands: unknown commands are usage errors, wherever --help or options stand', (t) => {
  const program = createProgram();
  for (const args of [
    [],
    ['detect', 'x.jpg'],
    ['--help'],
    ['-V'],
    ['help'],
    ['help', 'detect'],
    ['train', '--help'],
    ['model', 'inspect', 'm.onnx'],
    ['model'],
    ['--', 'x'],
  ]) {
    t.notThrows(() => assertKnownCommands(program, args), args.join(' '));
  }
  const unknown = (args: string[], message: string) => {
    const err = t.throws(() => assertKnownCommands(program, args), { instanceOf: UsageError, message }, args.join(' '));
    t.is(exitCodeOf(err), 2);
  };
  unknown(['fit', '--help'], "unknown command 'fit' (commands: data, detect, doctor, eval, model, stream, train)");
  unknown(['--help', 'fit'], "unknown command 'fit' (commands: data, detect, doctor, eval, model, stream, train)");
  unknown(['help', 'fit'], "unknown command 'fit' (commands: data, detect, doctor, eval, model, stream, train)");
  unknown(['model', 'export', '--help'], "unknown command 'export' for 'model' (commands: inspect, import, quantize)");
  t.is(exitCodeOf(new Error('x')), 1);
});
