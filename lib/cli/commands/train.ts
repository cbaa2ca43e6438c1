/**
 * `ssd-edge train --data DIR --classes a,b [--val DIR] [--base MODEL] …`: fine-tunes an SSD (lib/train/train.ts) and
 * writes the model (`--out`, default model.onnx), its loss/AP curve and a checkpoint after every epoch (`--resume`
 * continues after a crash or a kill). A progress bar with the loss parts on a terminal's stderr, one line per epoch
 * on stderr, the summary (or `--json`) on stdout.
 *
 * The training library (and tfjs) is imported only when the command runs, so the other commands never load it.
 *
 * Exit codes: 0 trained and written; 1 a failure (a dataset problem — each on its own line —, a file that exists, a
 * diverged loss naming its images, an interrupted run: the last checkpoint is kept); 2 invalid usage.
 */
import { Command, Option } from 'commander';
import type { DataProblem } from '../../data/index.ts';
import type { TrainOptions, TrainResult } from '../../train/train.ts';
import { UsageError } from '../handle-error.ts';
import { addOptions, parseList, parseNumber } from '../options.ts';
import { type CliIo, Progress, processIo, toJson } from '../output.ts';
import { problemLine } from './eval.ts';

/** The library's options as flags (--memory-budget for memoryBudgetMB), plus the output flags. */
export type TrainCliOptions = Omit<
  TrainOptions,
  'memoryBudgetMB' | 'alpha' | 'negPosRatio' | 'onProgress' | 'onEpoch' | 'signal'
> & {
  memoryBudget?: number;
  json?: boolean;
  verbose?: boolean;
};

/** The library options of the CLI options (names differ only for --memory-budget). */
export function toTrainOptions(o: TrainCliOptions): TrainOptions {
  if (!o.data) throw new UsageError('--data is required: the training set (a VOC folder, COCO .json or .jsonl)');
  if (!o.classes || o.classes.length === 0)
    throw new UsageError('--classes is required: the classes to train, comma-separated (e.g. --classes mug,cup)');
  const { memoryBudget, json: _json, verbose: _verbose, ...rest } = o;
  const out: TrainOptions = { ...rest, memoryBudgetMB: memoryBudget };
  for (const [k, v] of Object.entries(out)) if (v === undefined) delete (out as unknown as Record<string, unknown>)[k];
  return out;
}

/** What --json prints: the result without the validation detections. */
export function trainReport(r: TrainResult): Record<string, unknown> {
  const { validation, ...rest } = r;
  return validation ? { ...rest, validation: { ap50: validation.ap50, map: validation.map } } : rest;
}

/** The summary lines. */
export function trainSummary(r: TrainResult): string {
  const last = r.history.at(-1);
  const best = r.history.find((e) => e.epoch === r.bestEpoch);
  const val = best?.ap50 !== undefined ? `, val AP50 ${best.ap50.toFixed(3)}` : '';
  const lines = [`wrote ${r.out} (epoch ${r.bestEpoch}${val}${last ? `, final loss ${last.loss.toFixed(3)}` : ''})`];
  if (r.curve) lines.push(`curve: ${r.curve}`);
  lines.push(
    `${r.history.length - r.resumedFrom} epoch${r.history.length - r.resumedFrom === 1 ? '' : 's'} in ${r.seconds.toFixed(1)} s` +
      `${r.resumedFrom > 0 ? ` (resumed after epoch ${r.resumedFrom})` : ''}, backend ${r.backend}, peak RSS ${Math.round(r.peakRssMB)} MB, ` +
      `feature cache ${r.cache.cached}/${r.cache.entries} entries of ${r.cache.entryMB.toFixed(2)} MB; checkpoint ${r.checkpoint}`,
  );
  return lines.join('\n');
}

/**
 * Runs the command; resolves to the exit code.
 *
 * @param signals Where SIGINT/SIGTERM come from (the process; tests pass their own emitter).
 */
export async function runTrain(
  options: TrainCliOptions,
  io: CliIo = processIo,
  signals: Pick<NodeJS.Process, 'on' | 'off'> = process,
): Promise<number> {
  const trainOptions = toTrainOptions(options);
  const { train, resolveTrainOptions } = await import('../../train/train.ts');
  try {
    resolveTrainOptions(trainOptions);
  } catch (err) {
    if (err instanceof TypeError || err instanceof RangeError) throw new UsageError(err.message);
    throw err;
  }
  const { formatEpoch, formatProgress } = await import('../../train/progress.ts');
  const controller = new AbortController();
  let stoppedBy: string | null = null;
  const onSignal = (sig: NodeJS.Signals) => {
    stoppedBy = sig;
    controller.abort(new Error(`stopped by ${sig}`));
  };
  signals.on('SIGINT', onSignal);
  signals.on('SIGTERM', onSignal);
  const bar: { progress: Progress | null; epoch: number } = { progress: null, epoch: 0 };
  try {
    const result = await train({
      ...trainOptions,
      signal: controller.signal,
      onProgress: (p) => {
        if (options.verbose) {
          io.err(`epoch ${p.epoch}/${p.epochs} batch ${p.batch}/${p.batches}: ${formatProgress(p)}\n`);
          return;
        }
        if (p.epoch !== bar.epoch || !bar.progress) {
          bar.progress?.clear();
          bar.progress = new Progress(p.batches, io);
          bar.epoch = p.epoch;
        }
        bar.progress.tick(`epoch ${p.epoch}/${p.epochs} ${formatProgress(p)}`);
      },
      onEpoch: (e) => {
        bar.progress?.clear();
        bar.progress = null;
        io.err(`${formatEpoch(e)}\n`);
      },
    });
    bar.progress?.clear();
    io.out(options.json ? `${toJson(trainReport(result), 2)}\n` : `${trainSummary(result)}\n`);
    return 0;
  } catch (err) {
    bar.progress?.clear();
    if (stoppedBy)
      throw new Error(
        `Training stopped by ${stoppedBy}; nothing exported. The checkpoint of the last finished epoch, if one finished, is kept: rerun with --resume to continue`,
      );
    const problems = (err as { problems?: DataProblem[] }).problems;
    if (Array.isArray(problems) && problems.length > 0) {
      for (const p of problems) io.err(`ssd-edge: ${problemLine(p)}\n`);
      io.err(
        `ssd-edge: ${problems.length} problem${problems.length > 1 ? 's' : ''} in the dataset; nothing trained (--box-policy clip or drop repairs boxes)\n`,
      );
      return 1;
    }
    throw err;
  } finally {
    signals.off('SIGINT', onSignal);
    signals.off('SIGTERM', onSignal);
  }
}

/**
 * The `train` command.
 *
 * @example
 * ssd-edge train --data mugs/train.jsonl --val mugs/val.jsonl --classes mug --epochs 20 --out mug.onnx
 * ssd-edge train --data mugs/train.jsonl --classes mug --out mug.onnx --resume
 */
export function trainCommand(io: CliIo = processIo): Command {
  const cmd = new Command('train').description(
    'fine-tune an SSD on a dataset (default: the face model, heads on cached features) and export it as an ONNX model',
  );
  const int = (flag: string, min: number, max = Number.MAX_SAFE_INTEGER) => parseNumber(flag, min, max, true);
  addOptions(cmd, [
    new Option('--data <path>', 'training set: a Pascal VOC folder, a COCO instances .json or a .jsonl file'),
    new Option('--val <path>', 'validation set (same formats): AP50 after each epoch, the best epoch is exported'),
    new Option('--base <model>', 'ssd-edge .onnx model to start from (default: the built-in face model)'),
    new Option('-c, --classes <labels>', 'classes to train, comma-separated (dataset labels by name)').argParser(
      parseList,
    ),
    new Option('--epochs <n>', 'epochs (default 10)').argParser(int('--epochs', 1)),
    new Option('--batch <n>', 'images per batch (default 8)').argParser(int('--batch', 1, 4096)),
    new Option('--lr <rate>', 'peak learning rate (default 1e-3 adam, 1e-2 sgd)').argParser(
      parseNumber('--lr', 1e-12, 10),
    ),
    new Option('--optimizer <name>', 'adam (decoupled weight decay) or sgd (momentum, L2 decay)').choices([
      'adam',
      'sgd',
    ]),
    new Option('--momentum <m>', 'SGD momentum (default 0.9)').argParser(parseNumber('--momentum', 0, 0.999)),
    new Option('--weight-decay <wd>', 'weight decay (default 1e-4 adam, 5e-4 sgd)').argParser(
      parseNumber('--weight-decay', 0, 1),
    ),
    new Option('--warmup-epochs <n>', 'linear LR warm-up, in epochs, before the cosine decay (default 1)').argParser(
      parseNumber('--warmup-epochs', 0, 1e6),
    ),
    new Option(
      '--freeze <part>',
      'frozen part: extras (default: heads train), backbone (extras + heads), none (all)',
    ).choices(['extras', 'backbone', 'none']),
    new Option('--augment <mode>', "the paper's augmentation (default) or none").choices(['default', 'none']),
    new Option(
      '--variants <n>',
      'augmented variants per image in the feature cache (default 2; 1 with --freeze none)',
    ).argParser(int('--variants', 1, 1024)),
    new Option(
      '--refresh-every <n>',
      'epochs between redraws of the variants (default 5; 1 with --freeze none)',
    ).argParser(int('--refresh-every', 1)),
    new Option('--seed <n>', 'seed of every random draw (default 0)').argParser(int('--seed', 0)),
    new Option(
      '-o, --out <file>',
      'the trained model (default model.onnx; never over an existing file without --overwrite)',
    ),
    new Option('--overwrite', 'replace an existing --out, curve, or checkpoint (without --resume); inputs never'),
    new Option('--curve <file>', 'loss/AP curve PNG (default: --out with .curve.png)'),
    new Option('--no-curve', 'do not draw the curve'),
    new Option('--resume', 'continue from the checkpoint (same options)'),
    new Option('--checkpoint-dir <dir>', 'checkpoint folder (default: --out with .train)'),
    new Option(
      '--backend <name>',
      'tfjs backend: auto (tfjs-node if installed, else wasm), wasm, cpu, tensorflow',
    ).choices(['auto', 'wasm', 'cpu', 'tensorflow']),
    new Option(
      '--memory-budget <MB>',
      'memory budget of the process in MB (default 1024): sizes the feature cache',
    ).argParser(parseNumber('--memory-budget', 1, 1e7)),
    new Option('--format <format>', 'dataset format (default: detected from the path)').choices([
      'voc',
      'coco',
      'jsonl',
    ]),
    new Option('--split <name>', 'VOC/COCO split of --data'),
    new Option('--val-split <name>', 'VOC/COCO split of --val (default: --split)'),
    new Option('--box-policy <policy>', 'bad boxes: error (default), clip or drop').choices(['error', 'clip', 'drop']),
    new Option('--threads <n>', 'ONNX Runtime intra-op threads for the frozen part').argParser(
      int('--threads', 1, 1024),
    ),
    new Option('--json', 'print the result as one JSON object: { out, bestEpoch, history, peakRssMB, … }'),
    new Option(
      '--verbose',
      'one stderr line per batch (loss parts, positives, learning rate) instead of the progress bar',
    ),
  ]);
  return cmd.action(async (options: TrainCliOptions) => {
    if (options.curve === (true as unknown)) delete options.curve; // commander's --no-curve default
    process.exitCode = await runTrain(options, io);
  });
}
