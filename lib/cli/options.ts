/**
 * Options shared by the CLI's commands, so every command spells and checks them the same way: the model and the
 * execution provider, the detection thresholds, class filters, output format (table / --json / --jsonl) and --out.
 * Each helper returns commander `Option`s; `resolve…` turns parsed values into the library's option objects.
 *
 * Thresholds use one vocabulary: the flag is the API option in kebab case (`--score-threshold` ↔ `scoreThreshold`,
 * `--iou-threshold` ↔ `iouThreshold`, `--max-detections` ↔ `maxDetections`); the short historical flags
 * (`-t/--threshold`, `--iou`, `--max`) stay as aliases. README, "Thresholds", maps them to the model spec's
 * torchvision names (`scoreThresh`, `nmsThresh`, `detectionsPerImg`).
 */
import { type Command, InvalidArgumentError, Option } from 'commander';
import { DEVICES, type Device } from '../runtime/providers.ts';
import { UsageError } from './handle-error.ts';

/**
 * A commander argument parser for a number in [min, max] (an integer when `integer`).
 *
 * @example
 * new Option('--threads <n>').argParser(parseNumber('--threads', 1, 1024, true))
 */
export const parseNumber =
  (name: string, min: number, max: number, integer = false) =>
  (value: string): number => {
    const v = Number(value);
    if (value.trim() === '' || Number.isNaN(v) || v < min || v > max || (integer && !Number.isInteger(v))) {
      throw new InvalidArgumentError(`${name} must be ${integer ? 'an integer' : 'a number'} in [${min}, ${max}]`);
    }
    return v;
  };

/** A comma-separated list (`person,dog` → ['person', 'dog']), blanks dropped. */
export const parseList = (value: string): string[] =>
  value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

/** Adds options to a command (commander has no addOptions). */
export function addOptions(cmd: Command, options: readonly Option[]): Command {
  for (const o of options) cmd.addOption(o);
  return cmd;
}

/** What {@link modelOptions} parse into. */
export interface ModelCliOptions {
  model?: string;
  device: Device;
  threads?: number;
}

/** `-m/--model`, `-d/--device`, `--threads`: which model runs where. */
export function modelOptions(): Option[] {
  return [
    new Option('-m, --model <file>', 'ssd-edge .onnx model (default: the built-in face model)'),
    new Option('-d, --device <device>', 'execution provider').choices(DEVICES as string[]).default('auto'),
    new Option('--threads <n>', 'intra-op threads (default: chosen for this machine)').argParser(
      parseNumber('--threads', 1, 1024, true),
    ),
  ];
}

/** What {@link thresholdOptions} parse into (aliases included, before {@link resolveThresholds}). */
export interface ThresholdCliOptions {
  scoreThreshold?: number;
  iouThreshold?: number;
  maxDetections?: number;
  classes?: string[];
  /** Alias of scoreThreshold (-t, --threshold). */
  threshold?: number;
  /** Alias of iouThreshold (--iou). */
  iou?: number;
  /** Alias of maxDetections (--max). */
  max?: number;
}

/** The thresholds as the Detector API names them (`DetectOptions`). */
export interface Thresholds {
  scoreThreshold?: number;
  iouThreshold?: number;
  maxDetections?: number;
  classes?: string[];
}

/** Each threshold flag, its alias and the API option it sets. */
export const THRESHOLD_FLAGS = [
  { flag: '--score-threshold', alias: '--threshold', short: '-t', key: 'scoreThreshold', aliasKey: 'threshold' },
  { flag: '--iou-threshold', alias: '--iou', short: undefined, key: 'iouThreshold', aliasKey: 'iou' },
  { flag: '--max-detections', alias: '--max', short: undefined, key: 'maxDetections', aliasKey: 'max' },
] as const;

/**
 * `-t/--score-threshold`, `--iou-threshold`, `--max-detections` (aliases `--threshold`, `--iou`, `--max`, hidden from
 * the help but named in each description) and `-c/--classes`.
 */
export function thresholdOptions(): Option[] {
  const score = (flag: string) => parseNumber(flag, 0, 1);
  const count = (flag: string) => parseNumber(flag, 0, Number.MAX_SAFE_INTEGER, true);
  return [
    new Option(
      '-t, --score-threshold <score>',
      "keep detections scoring above this, 0..1 (default: the model's; alias --threshold)",
    ).argParser(score('--score-threshold')),
    new Option('--threshold <score>').argParser(score('--threshold')).hideHelp(),
    new Option(
      '--iou-threshold <iou>',
      "NMS drops boxes overlapping a better one by more than this IoU, 0..1 (default: the model's; alias --iou)",
    ).argParser(score('--iou-threshold')),
    new Option('--iou <iou>').argParser(score('--iou')).hideHelp(),
    new Option('--max-detections <n>', "at most n detections per image (default: the model's; alias --max)").argParser(
      count('--max-detections'),
    ),
    new Option('--max <n>').argParser(count('--max')).hideHelp(),
    new Option('-c, --classes <labels>', 'only these classes, comma-separated labels').argParser(parseList),
  ];
}

/**
 * The thresholds under their API names, aliases folded in.
 *
 * @throws {UsageError} A flag given together with its alias.
 */
export function resolveThresholds(o: ThresholdCliOptions): Thresholds {
  const out: Thresholds = {};
  for (const { flag, alias, key, aliasKey } of THRESHOLD_FLAGS) {
    if (o[key] !== undefined && o[aliasKey] !== undefined)
      throw new UsageError(`${flag} and ${alias} are the same option; give one`);
    const v = o[key] ?? o[aliasKey];
    if (v !== undefined) out[key] = v;
  }
  if (o.classes !== undefined) out.classes = o.classes;
  return out;
}

export type OutputFormat = 'table' | 'json' | 'jsonl';

/** `--json` and `--jsonl` (exclusive): machine-readable output instead of the table. */
export function formatOptions(): Option[] {
  return [
    new Option('--json', 'print one JSON array when done (README, "CLI JSON schema")').conflicts('jsonl'),
    new Option('--jsonl', 'print one JSON object per line as each result completes'),
  ];
}

/** The output format chosen by {@link formatOptions}. */
export function outputFormat(o: { json?: boolean; jsonl?: boolean }): OutputFormat {
  if (o.json && o.jsonl) throw new UsageError('--json and --jsonl are exclusive');
  return o.json ? 'json' : o.jsonl ? 'jsonl' : 'table';
}

/** `-o/--out <dir>` and `--overwrite`: where files are written, and whether existing ones may be replaced. */
export function outOptions(what: string): Option[] {
  return [
    new Option(
      '-o, --out <dir>',
      `write ${what} into this directory (never over an input; existing files are kept unless --overwrite)`,
    ),
    new Option('--overwrite', 'replace existing files under --out (inputs are never replaced)'),
  ];
}
