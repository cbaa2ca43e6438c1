/**
 * `ssd-edge detect <images | dirs | globs…>`: detections per image as a table, JSON or JSON lines; annotated
 * copies with --out. Gathering (`detectFiles`) is separate from printing (lib/cli/output.ts).
 *
 * Nothing is lost: an annotated copy never replaces an input (same-named copies in the input's own folder get
 * `.annotated` before the extension) nor an existing file (unless --overwrite), is written to a temporary name and
 * renamed, and a file that cannot be read or written is reported on its own line while the others go on; every
 * result computed is printed and the exit code is 1 when anything failed. A rerun into the same folder never detects
 * on those copies: listing the --out folder skips them (see expandInputs' `skipOutputsOf`).
 */
import fs from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { Detector, type Detection } from '../../detector/detector.ts';
import { decodeImage } from '../../image/decode.ts';
import { errorLine, UsageError } from '../handle-error.ts';
import { fileId, fileIds, type FileId, writeFileAtomic } from '../../files.ts';
import { expandInputs } from '../inputs.ts';
import {
  addOptions,
  formatOptions,
  modelOptions,
  outOptions,
  outputFormat,
  resolveThresholds,
  thresholdOptions,
  type ModelCliOptions,
  type ThresholdCliOptions,
  type Thresholds,
} from '../options.ts';
import { type CliIo, formatTable, processIo, ResultPrinter } from '../output.ts';

export interface DetectCliOptions extends ModelCliOptions, ThresholdCliOptions {
  json?: boolean;
  jsonl?: boolean;
  out?: string;
  overwrite?: boolean;
  recursive?: boolean;
}

/** One detection as --json/--jsonl print it: the API's `Detection`, numbers at full precision. */
export interface JsonDetection {
  label: string;
  classId: number;
  score: number;
  box: { x1: number; y1: number; x2: number; y2: number };
}

/** One image's result, as --json prints it (README, "CLI JSON schema"). */
export interface FileResult {
  file: string;
  width: number;
  height: number;
  detections: JsonDetection[];
  /** Where --out wrote the annotated image (absent when it was not written: see stderr). */
  annotated?: string;
}

/** A file that could not be processed (or whose annotated copy could not be written: `result` then holds its detections). */
export interface FileFailure {
  file: string;
  error: string;
  result?: FileResult;
}

/** Detection → the CLI's JSON shape: the same fields and box object as the API, nothing rounded. */
export function toJsonDetection(d: Detection): JsonDetection {
  return {
    label: d.label,
    classId: d.classId,
    score: d.score,
    box: { x1: d.box.x1, y1: d.box.y1, x2: d.box.x2, y2: d.box.y2 },
  };
}

/**
 * Where --out puts the annotated copy of `file`: the input's base name (.jpg for JPEG inputs, else .png); when that
 * is an input itself (e.g. `--out` is the input's folder) `<stem>.annotated.<ext>`; `-1`, `-2`… when two inputs of
 * the same name meet in one run.
 */
export async function outputPath(
  outDir: string,
  file: string,
  used: Set<string>,
  inputs: ReadonlySet<FileId>,
): Promise<string> {
  const ext = /\.jpe?g$/i.test(file) ? '.jpg' : '.png';
  let stem = path.basename(file).replace(/\.[^.]+$/, '');
  const id = await fileId(path.join(outDir, `${stem}${ext}`)).catch(() => null);
  if (id && inputs.has(id)) stem += '.annotated';
  let name = `${stem}${ext}`;
  for (let k = 1; used.has(name); k++) name = `${stem}-${k}${ext}`;
  used.add(name);
  return path.join(outDir, name);
}

/**
 * Runs the detector over files, yielding each result (or failure) as it completes, in input order. A file that
 * cannot be decoded, or whose annotated copy cannot be written, is yielded as a {@link FileFailure} (with its
 * detections in `result` for the latter); the others go on.
 */
export async function* detectFiles(
  detector: Detector,
  files: readonly string[],
  options: Thresholds & { out?: string; overwrite?: boolean },
): AsyncGenerator<FileResult | FileFailure> {
  const used = new Set<string>();
  const inputs = options.out ? await fileIds(files) : new Set<FileId>();
  for (const file of files) {
    let image: Awaited<ReturnType<typeof decodeImage>>;
    try {
      image = await decodeImage(file);
    } catch (err) {
      yield { file, error: errorLine(err) };
      continue;
    }
    const { scoreThreshold, iouThreshold, maxDetections, classes } = options;
    const dets = await detector.detect(image, { scoreThreshold, iouThreshold, maxDetections, classes });
    const result: FileResult = {
      file,
      width: image.width,
      height: image.height,
      detections: dets.map(toJsonDetection),
    };
    if (options.out) {
      let target: string | undefined;
      try {
        target = await outputPath(options.out, file, used, inputs);
        const bytes = await detector.draw(image, dets, { format: target.endsWith('.jpg') ? 'jpeg' : 'png' });
        await writeFileAtomic(target, bytes, {
          overwrite: options.overwrite,
          protect: inputs,
          protectedAs: 'one of the input images',
          existsHint: '--overwrite replaces it',
        });
        result.annotated = target;
      } catch (err) {
        const why = errorLine(err);
        yield { file, error: target && why.includes(target) ? why : `Cannot annotate ${file}: ${why}`, result };
        continue;
      }
    }
    yield result;
  }
}

/** Plain-text table: one row per detection (files without detections get one row with '-'); boxes to 0.1 px. */
export function detectionTable(results: readonly FileResult[]): string {
  const rows: string[][] = [['FILE', 'SIZE', 'LABEL', 'SCORE', 'X1', 'Y1', 'X2', 'Y2']];
  for (const r of results) {
    const size = `${r.width}x${r.height}`;
    if (r.detections.length === 0) rows.push([r.file, size, '-', '', '', '', '', '']);
    for (const d of r.detections) {
      const { x1, y1, x2, y2 } = d.box;
      rows.push([r.file, size, d.label, d.score.toFixed(3), ...[x1, y1, x2, y2].map((v) => v.toFixed(1))]);
    }
  }
  return formatTable(rows, new Set([3, 4, 5, 6, 7]));
}

/** Creates --out (and its parents) before any work, so a bad path fails at once. */
async function prepareOutDir(dir: string): Promise<void> {
  try {
    await fs.promises.mkdir(dir, { recursive: true });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why =
      e.code === 'EEXIST' || e.code === 'ENOTDIR'
        ? 'a file of that name is in the way'
        : e.code === 'EACCES'
          ? 'permission denied'
          : e.message;
    throw new Error(`Cannot create output directory ${dir}: ${why}`, { cause: err });
  }
}

/**
 * --classes names labels (or ids) of the model: bad command-line input, so a usage error (exit 2) before any image.
 *
 * @throws {UsageError} Naming the unknown class and the model's labels.
 */
function checkClasses(detector: Detector, classes: readonly string[] | undefined): void {
  const { labels, postprocess } = detector.spec;
  const unknown = (classes ?? []).filter((c) => !labels.includes(c));
  if (unknown.length === 0) return;
  const quote = (l: string) => `'${l}'`;
  const known = labels
    .filter((_, i) => i !== postprocess.backgroundIndex)
    .map(quote)
    .join(', ');
  throw new UsageError(
    `--classes: ${unknown.map(quote).join(', ')} ${unknown.length > 1 ? 'are not labels' : 'is not a label'} of the model (its labels: ${known})`,
  );
}

/**
 * Runs the command; resolves to the exit code (0, or 1 when any file failed). Every result computed is printed,
 * also when a later file fails.
 */
export async function runDetect(inputs: string[], options: DetectCliOptions, io: CliIo = processIo): Promise<number> {
  const format = outputFormat(options);
  const thresholds = resolveThresholds(options);
  const files = await expandInputs(inputs, { recursive: options.recursive, skipOutputsOf: options.out });
  // the model first: a bad --model or --classes leaves no empty --out folder behind
  const detector = await Detector.load(options.model, { device: options.device, threads: options.threads });
  try {
    checkClasses(detector, thresholds.classes);
    if (options.out) await prepareOutDir(options.out);
  } catch (err) {
    await detector.dispose();
    throw err;
  }
  const printer = new ResultPrinter<FileResult>(format, detectionTable, files.length, io);
  let failures = 0;
  try {
    for await (const r of detectFiles(detector, files, {
      ...thresholds,
      out: options.out,
      overwrite: options.overwrite,
    })) {
      if ('error' in r) {
        failures++;
        printer.error(r.error);
        if (r.result) printer.add(r.result, r.file);
        else printer.skip(r.file);
      } else printer.add(r, r.file);
    }
  } finally {
    printer.end(); // also when a file stops the run: what was computed is printed
    await detector.dispose();
  }
  return failures > 0 ? 1 : 0;
}

/**
 * The `detect` command.
 *
 * @example
 * ssd-edge detect examples/astronaut.jpg
 * ssd-edge detect photos/ --model ssd300.onnx --score-threshold 0.4 --classes person,dog --json
 */
export function detectCommand(): Command {
  const cmd = new Command('detect')
    .description('detect objects in images (default model: faces)')
    .argument('<images...>', 'image files, directories or glob patterns');
  addOptions(cmd, [...modelOptions(), ...thresholdOptions()]);
  cmd.option('-r, --recursive', 'include images in subdirectories of directory arguments');
  addOptions(cmd, [...formatOptions(), ...outOptions('annotated images')]);
  return cmd.action(async (images: string[], options: DetectCliOptions) => {
    process.exitCode = await runDetect(images, options);
  });
}
