/**
 * `ssd-edge detect <images | dirs | globs…>`: detections per image as a table, JSON or JSON lines; annotated
 * copies with --out. Gathering (`detectFiles`) is separate from printing (`formatTable`, JSON).
 */
import fs from 'node:fs';
import path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { Detector, type Detection } from '../../detector/detector.ts';
import { decodeImage } from '../../image/decode.ts';
import { DEVICES, type Device } from '../../runtime/providers.ts';
import { errorLine, handleError, UsageError } from '../handle-error.ts';
import { expandInputs } from '../inputs.ts';

export interface DetectCliOptions {
  model?: string;
  device: Device;
  threads?: number;
  threshold?: number;
  iou?: number;
  max?: number;
  classes?: string[];
  json?: boolean;
  jsonl?: boolean;
  out?: string;
  recursive?: boolean;
}

/** One image's result, as --json prints it. */
export interface FileResult {
  file: string;
  width: number;
  height: number;
  detections: Array<{ label: string; classId: number; score: number; box: [number, number, number, number] }>;
  /** Where --out wrote the annotated image. */
  annotated?: string;
}

/** A file that could not be processed. */
export interface FileFailure {
  file: string;
  error: string;
}

const round = (v: number, digits: number) => Math.round(v * 10 ** digits) / 10 ** digits;

/** Detection → the CLI's JSON shape (box as [x1, y1, x2, y2], pixels rounded to 0.01, score to 1e-4). */
export function toJsonDetection(d: Detection): FileResult['detections'][number] {
  return { label: d.label, classId: d.classId, score: round(d.score, 4), box: [d.box.x1, d.box.y1, d.box.x2, d.box.y2].map((v) => round(v, 2)) as [number, number, number, number] };
}

/** Output name under --out: the input's base name (annotated as .jpg for JPEG inputs, else .png), made unique. */
function outputName(file: string, used: Set<string>): string {
  const ext = /\.jpe?g$/i.test(file) ? '.jpg' : '.png';
  const stem = path.basename(file).replace(/\.[^.]+$/, '');
  let name = `${stem}${ext}`;
  for (let k = 1; used.has(name); k++) name = `${stem}-${k}${ext}`;
  used.add(name);
  return name;
}

/**
 * Runs the detector over files, yielding each result (or failure) as it completes, in input order.
 * A file that cannot be decoded is yielded as a {@link FileFailure}; the others go on.
 */
export async function* detectFiles(detector: Detector, files: readonly string[], options: Pick<DetectCliOptions, 'threshold' | 'iou' | 'max' | 'classes' | 'out'>): AsyncGenerator<FileResult | FileFailure> {
  const used = new Set<string>();
  if (options.out) await fs.promises.mkdir(options.out, { recursive: true });
  for (const file of files) {
    let image;
    try {
      image = await decodeImage(file);
    } catch (err) {
      yield { file, error: errorLine(err) };
      continue;
    }
    const dets = await detector.detect(image, {
      scoreThreshold: options.threshold, iouThreshold: options.iou, maxDetections: options.max, classes: options.classes,
    });
    const result: FileResult = { file, width: image.width, height: image.height, detections: dets.map(toJsonDetection) };
    if (options.out) {
      const target = path.join(options.out, outputName(file, used));
      const bytes = await detector.draw(image, dets, { format: target.endsWith('.jpg') ? 'jpeg' : 'png' });
      await fs.promises.writeFile(target, bytes);
      result.annotated = target;
    }
    yield result;
  }
}

/** Plain-text table: one row per detection (files without detections get one row with '-'). */
export function formatTable(results: readonly FileResult[]): string {
  const rows: string[][] = [['FILE', 'SIZE', 'LABEL', 'SCORE', 'X1', 'Y1', 'X2', 'Y2']];
  for (const r of results) {
    const size = `${r.width}x${r.height}`;
    if (r.detections.length === 0) rows.push([r.file, size, '-', '', '', '', '', '']);
    for (const d of r.detections) rows.push([r.file, size, d.label, d.score.toFixed(3), ...d.box.map((v) => v.toFixed(1))]);
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => row[c].length)));
  const numeric = new Set([3, 4, 5, 6, 7]);
  return rows.map((row) => row.map((cell, c) => (numeric.has(c) ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))).join('  ').trimEnd()).join('\n');
}

/** Terminal width (a TTY may report 0 columns, e.g. under `script`). */
const columns = () => Math.max(20, process.stderr.columns || 80);

/** A progress bar on stderr (only when stderr is a terminal). */
class Progress {
  #done = 0;
  readonly #enabled: boolean;
  constructor(readonly total: number) {
    this.#enabled = Boolean(process.stderr.isTTY) && total > 1;
  }
  tick(label: string): void {
    this.#done++;
    if (!this.#enabled) return;
    const width = 24;
    const filled = Math.round((width * this.#done) / this.total);
    const cols = columns();
    const line = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${this.#done}/${this.total} ${label}`;
    process.stderr.write(`\r${line.slice(0, cols - 1).padEnd(cols - 1)}`);
  }
  /** Erases the bar (before printing a line on stderr, and at the end). */
  clear(): void {
    if (this.#enabled) process.stderr.write(`\r${' '.repeat(columns() - 1)}\r`);
  }
}

const parseNumber = (name: string, min: number, max: number, integer = false) => (value: string): number => {
  const v = Number(value);
  if (value.trim() === '' || Number.isNaN(v) || v < min || v > max || (integer && !Number.isInteger(v))) {
    throw new InvalidArgumentError(`${name} must be ${integer ? 'an integer' : 'a number'} in [${min}, ${max}]`);
  }
  return v;
};

/** Runs the command; resolves to the exit code. */
export async function runDetect(inputs: string[], options: DetectCliOptions): Promise<number> {
  if (options.json && options.jsonl) throw new UsageError('--json and --jsonl are exclusive');
  const files = await expandInputs(inputs, { recursive: options.recursive });
  const detector = await Detector.load(options.model, { device: options.device, threads: options.threads });
  const progress = new Progress(files.length);
  const results: FileResult[] = [];
  let failures = 0;
  try {
    for await (const r of detectFiles(detector, files, options)) {
      if ('error' in r) {
        failures++;
        progress.clear();
        process.stderr.write(`ssd-edge: ${r.error}\n`);
      } else if (options.jsonl) {
        progress.clear();
        process.stdout.write(`${JSON.stringify(r)}\n`);
      } else results.push(r);
      progress.tick(r.file);
    }
  } finally {
    progress.clear();
    await detector.dispose();
  }
  if (options.json) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
  else if (!options.jsonl && results.length > 0) process.stdout.write(`${formatTable(results)}\n`);
  return failures > 0 ? 1 : 0;
}

/**
 * The `detect` command.
 *
 * @example
 * ssd-edge detect examples/astronaut.jpg
 * ssd-edge detect photos/ --model ssd300.onnx --threshold 0.4 --classes person,dog --json
 */
export function detectCommand(): Command {
  return new Command('detect')
    .description('detect objects in images (default model: faces)')
    .argument('<images...>', 'image files, directories or glob patterns')
    .option('-m, --model <file>', 'ssd-edge .onnx model (default: the built-in face model)')
    .addOption(new Option('-d, --device <device>', 'execution provider').choices(DEVICES as string[]).default('auto'))
    .option('--threads <n>', 'intra-op threads (default: chosen for this machine)', parseNumber('--threads', 1, 1024, true))
    .option('-t, --threshold <score>', 'minimum score, 0..1 (default: the model\'s)', parseNumber('--threshold', 0, 1))
    .option('--iou <iou>', 'NMS IoU threshold, 0..1 (default: the model\'s)', parseNumber('--iou', 0, 1))
    .option('--max <n>', 'at most n detections per image', parseNumber('--max', 0, Number.MAX_SAFE_INTEGER, true))
    .option('-c, --classes <labels>', 'only these classes, comma-separated', (v: string) => v.split(',').map((s) => s.trim()).filter(Boolean))
    .option('-r, --recursive', 'include images in subdirectories of directory arguments')
    .option('--json', 'print one JSON array of { file, width, height, detections }')
    .option('--jsonl', 'print one JSON object per image as it completes')
    .option('-o, --out <dir>', 'write annotated images into this directory')
    .action(async (images: string[], options: DetectCliOptions) => {
      try {
        process.exitCode = await runDetect(images, options);
      } catch (err) {
        handleError(err);
      }
    });
}
