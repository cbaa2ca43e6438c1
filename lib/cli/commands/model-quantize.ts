/**
 * `ssd-edge model quantize MODEL --calibration DIR [--images N] [--out M.int8.onnx] [--method minmax|percentile|entropy]
 *  [--percentile P] [--keep-float first,heads|none] [--int8-weights] [--no-per-channel] [--reduce-range auto|on|off] [--eval DATA]
 *  [--max-loss POINTS] [--overwrite] [--json]`
 *
 * Quantizes a float ssd-edge model to int8 (lib/model/quantize) and, with --eval, scores float and int8 on a labelled
 * set (AP50, mAP) and warns on stderr when int8 loses more than --max-loss points. The action only parses options and
 * calls the library; the model is written to a temporary name and renamed, never over the source model nor, without
 * --overwrite, over an existing file.
 */
import path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { checkWriteTarget, fileIds, writeFileAtomic } from '../../files.ts';
import {
  CALIBRATION_METHODS,
  DEFAULT_CALIBRATION_IMAGES,
  int8Support,
  quantizeModel,
  REDUCE_RANGE_MODES,
  type CalibrationMethod,
  type QuantizedModel,
  type ReduceRangeMode,
} from '../../model/quantize/index.ts';
import { openDataset } from '../../data/index.ts';
import { UsageError } from '../handle-error.ts';
import { accuracyGate, DEFAULT_MAX_LOSS_POINTS, type AccuracyGate } from '../../model/quantize/gate.ts';

export interface QuantizeCommandIo {
  out(text: string): void;
  err(text: string): void;
}

interface QuantizeCliOptions {
  calibration: string;
  images?: number;
  out?: string;
  method?: CalibrationMethod;
  percentile?: number;
  keepFloat?: Array<'first' | 'heads'>;
  int8Weights?: boolean;
  perChannel: boolean;
  reduceRange: ReduceRangeMode;
  eval?: string;
  maxLoss?: number;
  overwrite?: boolean;
  json?: boolean;
  threads?: number;
}

/** `--keep-float first,heads` / `none` → the parts. */
export function parseKeepFloat(value: string): Array<'first' | 'heads'> {
  const v = value.trim();
  if (v === 'none') return [];
  const parts = v.split(',').map((s) => s.trim());
  if (parts.some((p) => p !== 'first' && p !== 'heads'))
    throw new InvalidArgumentError("--keep-float must be 'none' or a comma list of first, heads (e.g. first,heads)");
  return [...new Set(parts)] as Array<'first' | 'heads'>;
}

function positiveInt(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\s*\d+\s*$/.test(value) || !Number.isSafeInteger(n) || n < 1)
      throw new InvalidArgumentError(`${flag} must be an integer ≥ 1`);
    return n;
  };
}

function number(flag: string, min: number, max: number, openMin = false) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n > max || (openMin ? n <= min : n < min))
      throw new InvalidArgumentError(`${flag} must be a number in ${openMin ? '(' : '['}${min}, ${max}]`);
    return n;
  };
}

/** Default --out: `<model name without .onnx>.int8.onnx` beside the model. */
export function defaultQuantizeOut(model: string): string {
  const base = path.basename(model).replace(/\.onnx$/i, '');
  return path.join(path.dirname(model), `${base || 'model'}.int8.onnx`);
}

const pct = (v: number) => (100 * v).toFixed(2);

/** The text report: what was done, and the float vs int8 table with --eval. */
export function formatQuantizeReport(q: QuantizedModel, out: string, gate: AccuracyGate | null): string {
  const lines = q.report.map((l) => `  ${l}`);
  lines.push(`wrote ${out}`);
  if (gate) {
    lines.push(`accuracy on ${gate.images} images:`);
    lines.push('  model   AP50    mAP     forward ms (sum)');
    lines.push(
      `  float   ${pct(gate.float.ap50).padEnd(7)} ${pct(gate.float.map).padEnd(7)} ${gate.float.forwardMs.toFixed(0)}`,
    );
    lines.push(
      `  int8    ${pct(gate.int8.ap50).padEnd(7)} ${pct(gate.int8.map).padEnd(7)} ${gate.int8.forwardMs.toFixed(0)}`,
    );
    lines.push(
      `  loss    ${gate.lossPoints.ap50.toFixed(2)} AP50 points, ${gate.lossPoints.map.toFixed(2)} mAP points (threshold ${gate.maxLossPoints})`,
    );
  }
  return `${lines.join('\n')}\n`;
}

const processIo: QuantizeCommandIo = {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
};

/**
 * The `quantize` subcommand of `ssd-edge model`.
 *
 * @example
 * modelCommand().addCommand(quantizeCommand());
 */
export function quantizeCommand(io: QuantizeCommandIo = processIo): Command {
  return new Command('quantize')
    .description(
      'quantize a float ssd-edge model to int8 (QDQ: int8 per-channel weights, uint8 activations) calibrated on your images; --eval compares AP with the float model',
    )
    .argument('<model>', 'float ssd-edge .onnx model')
    .requiredOption('--calibration <dir>', 'folder of calibration images (typical inputs, a few dozen)')
    .option(
      '--images <n>',
      `calibration images used at most (sorted by name, evenly spaced; default ${DEFAULT_CALIBRATION_IMAGES})`,
      positiveInt('--images'),
    )
    .option('-o, --out <file>', 'output model (default: <model>.int8.onnx beside the model)')
    .addOption(
      new Option('--method <method>', 'activation ranges: min/max, a percentile, or entropy (KL)')
        .choices(CALIBRATION_METHODS)
        .default('minmax'),
    )
    .option(
      '--percentile <p>',
      'quantile kept by --method percentile (default 99.999)',
      number('--percentile', 50, 100, true),
    )
    .option(
      '--keep-float <parts>',
      "convolutions kept float: 'first' (the image's first conv), 'heads' (box/class predictors), both, or 'none' (default heads)",
      parseKeepFloat,
    )
    .option(
      '--int8-weights',
      'store the weights of the --keep-float convs int8 (float compute): a smaller file, a slower forward',
    )
    .option('--per-channel', 'one weight scale per output channel', true)
    .option('--no-per-channel', 'one weight scale per weight tensor')
    .addOption(
      new Option('--reduce-range <mode>', '7-bit weights: auto = when this CPU lacks VNNI / dot product')
        .choices(REDUCE_RANGE_MODES)
        .default('auto'),
    )
    .option('--eval <data>', 'labelled set (VOC folder, COCO .json, .jsonl): AP50 and mAP of float and int8')
    .option(
      '--max-loss <points>',
      `with --eval: warn when int8 loses more AP points than this (default ${DEFAULT_MAX_LOSS_POINTS})`,
      number('--max-loss', 0, 100),
    )
    .option('--threads <n>', 'intra-op threads for calibration and --eval', positiveInt('--threads'))
    .option('--overwrite', 'replace an existing --out file (never the source model)')
    .option('--json', 'print the result as JSON')
    .action(async (model: string, opts: QuantizeCliOptions) => {
      // an option that would be ignored is a usage error (exit 2), as `model import` does for --dequantize …
      if (opts.percentile !== undefined && opts.method !== 'percentile')
        throw new UsageError(`--percentile applies to --method percentile only, not ${opts.method ?? 'minmax'}`);
      if (opts.maxLoss !== undefined && !opts.eval) throw new UsageError('--max-loss applies with --eval only');
      const out = opts.out ?? defaultQuantizeOut(model);
      const protect = await fileIds([model]);
      await checkWriteTarget(out, {
        overwrite: opts.overwrite,
        protect,
        protectedAs: 'the source model',
        existsHint: '--overwrite replaces it',
      });
      // a dataset that cannot be opened fails before the (long) calibration, not after the int8 model is written
      if (opts.eval) await openDataset(opts.eval, { boxPolicy: 'error' });
      const q = await quantizeModel(model, opts.calibration, {
        method: opts.method,
        ...(opts.percentile !== undefined ? { percentile: opts.percentile } : {}),
        ...(opts.keepFloat ? { keepFloat: opts.keepFloat } : {}),
        ...(opts.int8Weights ? { int8Weights: true } : {}),
        perChannel: opts.perChannel,
        reduceRange: opts.reduceRange,
        ...(opts.images ? { images: opts.images } : {}),
        ...(opts.threads ? { threads: opts.threads } : {}),
      });
      await writeFileAtomic(out, q.bytes, {
        mkdir: true, // as `model import` does: a missing output folder is made, not an error after the calibration
        overwrite: opts.overwrite,
        protect,
        protectedAs: 'the source model',
        existsHint: '--overwrite replaces it',
      });
      const gate = opts.eval
        ? await accuracyGate(model, out, opts.eval, {
            ...(opts.maxLoss !== undefined ? { maxLossPoints: opts.maxLoss } : {}),
            ...(opts.threads ? { threads: opts.threads } : {}),
          })
        : null;
      if (opts.json) {
        io.out(
          `${JSON.stringify(
            {
              out,
              bytes: q.bytes.byteLength,
              quantization: q.note,
              cpu: int8Support().summary,
              ...(gate ? { eval: gate } : {}),
            },
            null,
            2,
          )}\n`,
        );
      } else {
        io.out(formatQuantizeReport(q, out, gate));
      }
      for (const w of gate?.warnings ?? []) io.err(`ssd-edge: warning: ${w}\n`);
    });
}
