/**
 * `ssd-edge data check|stats`: validate a dataset (every problem, one line each, exit 1 if any) and summarize it
 * (images and boxes per class, a PNG histogram of box sizes relative to the image). Actions only parse options and
 * call lib/data; gathering is separate from printing.
 *
 *   ssd-edge data check PATH [--format voc|coco|jsonl] [--split NAME] [--classes a,b] [--headers-only] [--json]
 *   ssd-edge data stats PATH [--format …] [--split NAME] [--classes a,b] [--json] [--plot hist.png] [--overwrite]
 *   ssd-edge data preview PATH --out sheet.png [--count N] [--seed S] [--size WxH] [--augment default|none] [--overwrite]
 */
import path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { checkDataset, datasetFiles, openDataset } from '../../data/index.ts';
import { type DatasetStats, datasetStats, plotSizeHistogram, SSD300_SCALES } from '../../data/stats.ts';
import { DATASET_FORMATS, type DataProblem, type Dataset, type DatasetFormat } from '../../data/types.ts';
import { displayPath } from '../../data/util.ts';
import { checkWriteTarget, fileIds, writeFileAtomic } from '../../files.ts';
import { previewAugmentations } from '../../train/preview.ts';
import { addOptions, parseList, parseNumber } from '../options.ts';
import { type CliIo, formatTable, processIo, toJson } from '../output.ts';

export interface DataCliOptions {
  format?: DatasetFormat;
  split?: string;
  classes?: string[];
  json?: boolean;
}

export interface DataCheckCliOptions extends DataCliOptions {
  /** Read image headers only (commander's --headers-only). */
  headersOnly?: boolean;
}

export interface DataStatsCliOptions extends DataCliOptions {
  plot?: string;
  overwrite?: boolean;
  bins?: number;
}

/** What `data check --json` prints. */
export interface CheckReport {
  path: string;
  format?: DatasetFormat;
  /** Images / boxes that passed (undefined when the dataset could not be read at all). */
  images?: number;
  boxes?: number;
  classes?: string[];
  problems: DataProblem[];
  /** Problems per code. */
  counts: Record<string, number>;
}

/** Problems per code, most frequent first. */
function countCodes(problems: readonly DataProblem[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const p of problems) counts[p.code] = (counts[p.code] ?? 0) + 1;
  return Object.fromEntries(Object.entries(counts).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)));
}

const boxCount = (d: Dataset) => d.samples.reduce((n, s) => n + s.labels.length, 0);
const plural = (n: number, word: string, words = `${word}s`) => `${n} ${n === 1 ? word : words}`;

/** The options shared by both subcommands. */
function datasetOptions(): Option[] {
  return [
    new Option('-f, --format <format>', 'dataset format (default: detected from the path)').choices(
      DATASET_FORMATS as string[],
    ),
    new Option(
      '-s, --split <name>',
      'VOC ImageSets/Main/<name>.txt (default: test, val, trainval, else every XML) or COCO annotations/instances_<name>.json (default: the only one, else the val one)',
    ),
    new Option(
      '-c, --classes <labels>',
      'the label list, comma-separated (others are unknown-label problems)',
    ).argParser(parseList),
    new Option('--json', 'print the gathered data as JSON'),
  ];
}

/**
 * `data check`: prints every problem (one line each: file, object, what) and a summary; resolves to the exit code
 * (0 clean, 1 any problem).
 */
export async function runDataCheck(dir: string, options: DataCheckCliOptions, io: CliIo = processIo): Promise<number> {
  const { dataset, problems } = await checkDataset(dir, {
    format: options.format,
    split: options.split,
    classes: options.classes,
    decodeImages: !options.headersOnly,
  });
  const report: CheckReport = { path: dir, problems, counts: countCodes(problems) };
  if (dataset) {
    Object.assign(report, {
      format: dataset.format,
      images: dataset.size,
      boxes: boxCount(dataset),
      classes: dataset.classes,
    });
  }
  if (options.json) {
    io.out(`${toJson(report, 2)}\n`);
  } else {
    for (const p of problems) io.out(`${p.message}\n`);
    io.out(`${checkSummary(report)}\n`);
  }
  return problems.length > 0 ? 1 : 0;
}

/** The summary line of `data check`. */
export function checkSummary(r: CheckReport): string {
  const what =
    r.images !== undefined
      ? `${plural(r.images, 'image')}, ${plural(r.boxes!, 'box', 'boxes')}, ${plural(r.classes!.length, 'class', 'classes')}`
      : 'the dataset cannot be read';
  if (r.problems.length === 0) return `${displayPath(path.resolve(r.path))}: ${what}; no problems`;
  const kinds = Object.entries(r.counts)
    .map(([code, n]) => `${n} ${code}`)
    .join(', ');
  const usable = r.images !== undefined ? ` (usable after dropping them: ${what})` : ` (${what})`;
  return `${displayPath(path.resolve(r.path))}: ${plural(r.problems.length, 'problem')}: ${kinds}${usable}`;
}

/** The per-class table of `data stats`. */
export function statsTable(s: DatasetStats): string {
  const rows = [['CLASS', 'IMAGES', 'BOXES', 'DIFFICULT', 'CROWD']];
  for (const c of s.classes)
    rows.push([c.name, String(c.images), String(c.boxes), String(c.difficult), String(c.crowd)]);
  const sum = (k: 'difficult' | 'crowd') => String(s.classes.reduce((n, c) => n + c[k], 0));
  rows.push(['(all)', String(s.images), String(s.boxes), sum('difficult'), sum('crowd')]);
  return formatTable(rows, new Set([1, 2, 3, 4]));
}

/** Box counts per size bin as text lines (`0.00–0.05  12`), with the SSD300 scales inside each bin named. */
export function sizeLines(s: DatasetStats): string {
  const rows = [['RELATIVE SIZE', 'BOXES', 'SSD300 SCALE']];
  s.sizes.counts.forEach((n, k) => {
    const lo = s.sizes.edges[k];
    const hi = s.sizes.edges[k + 1];
    const last = k === s.sizes.counts.length - 1;
    const maps = SSD300_SCALES.filter((m) => m.scale >= lo && (m.scale < hi || last)).map(
      (m) => `${m.scale} (${m.featureMap})`,
    );
    rows.push([`${lo.toFixed(2)}–${hi.toFixed(2)}`, String(n), maps.join(', ')]);
  });
  return formatTable(rows, new Set([1]));
}

/**
 * `data stats`: images and boxes per class, the relative box-size histogram, and the PNG plot with --plot.
 * Problems in the data do not stop it: the bad boxes and images are left out (as `boxPolicy: 'drop'`) and counted on
 * stderr. Resolves to the exit code (0).
 */
export async function runDataStats(dir: string, options: DataStatsCliOptions, io: CliIo = processIo): Promise<number> {
  const protect = await fileIds([dir]);
  const writeRules = {
    overwrite: options.overwrite,
    protect,
    protectedAs: 'the dataset',
    existsHint: '--overwrite replaces it',
  };
  if (options.plot) await checkWriteTarget(options.plot, writeRules);
  const { dataset, problems } = await checkDataset(dir, {
    format: options.format,
    split: options.split,
    classes: options.classes,
    decodeImages: false,
  });
  if (!dataset) {
    throw new Error(
      `${displayPath(path.resolve(dir))} cannot be read: ${plural(problems.length, 'problem')}, the first: ${problems[0]?.message}; \`ssd-edge data check\` lists them all`,
    );
  }
  const stats = datasetStats(dataset, { bins: options.bins });
  if (problems.length > 0) {
    io.err(
      `ssd-edge: ${plural(problems.length, 'problem')} (${Object.entries(countCodes(problems))
        .map(([c, n]) => `${n} ${c}`)
        .join(', ')}): those boxes and images are left out; \`ssd-edge data check\` lists them\n`,
    );
  }
  if (options.plot) {
    // nor over any file the dataset was read from (an image, an annotation), --overwrite or not
    const files = await fileIds(datasetFiles(dataset, problems));
    await writeFileAtomic(options.plot, plotSizeHistogram(stats), {
      ...writeRules,
      protect: new Set([...protect, ...files]),
      protectedAs: 'part of the dataset',
    });
  }
  if (options.json) {
    io.out(`${toJson({ ...stats, problems: problems.length, ...(options.plot ? { plot: options.plot } : {}) }, 2)}\n`);
  } else {
    io.out(
      `${displayPath(stats.root)} (${stats.format}): ${plural(stats.images, 'image')} (${stats.imagesWithoutBoxes} without boxes), ` +
        `${stats.boxes} boxes, ${stats.classes.length} classes\n\n${statsTable(stats)}\n\n` +
        `box size relative to the image, sqrt(w·h / (W·H)):\n${sizeLines(stats)}\n`,
    );
    if (options.plot) io.out(`\nwrote ${options.plot}\n`);
  }
  return 0;
}

export interface DataPreviewCliOptions extends DataCliOptions {
  out: string;
  count?: number;
  seed?: number;
  size?: { width: number; height: number };
  augment?: 'default' | 'none';
  overwrite?: boolean;
}

/** `--size WxH` (each side 1…8192). */
export function parseSize(value: string): { width: number; height: number } {
  const m = /^(\d+)x(\d+)$/.exec(value.trim());
  const width = m ? Number(m[1]) : 0;
  const height = m ? Number(m[2]) : 0;
  if (!m || width < 1 || height < 1 || width > 8192 || height > 8192) {
    throw new InvalidArgumentError(`--size must be WxH with sides in [1, 8192], e.g. 300x300 (received "${value}")`);
  }
  return { width, height };
}

/**
 * `data preview`: a contact sheet of augmented samples (the training augmentation, seeded) with their boxes and
 * labels, written atomically to --out (never over an existing file without --overwrite, never over the dataset).
 * Images with problems are left out (as `boxPolicy: 'drop'`), counted on stderr. Resolves to the exit code (0).
 */
export async function runDataPreview(
  dir: string,
  options: DataPreviewCliOptions,
  io: CliIo = processIo,
): Promise<number> {
  const protect = await fileIds([dir]);
  const writeRules = {
    overwrite: options.overwrite,
    protect,
    protectedAs: 'the dataset',
    existsHint: '--overwrite replaces it',
  };
  await checkWriteTarget(options.out, writeRules);
  const dataset = await openDataset(dir, {
    format: options.format,
    split: options.split,
    classes: options.classes,
    boxPolicy: 'drop',
  });
  if (dataset.problems.length > 0) {
    io.err(
      `ssd-edge: ${plural(dataset.problems.length, 'problem')} (${Object.entries(countCodes(dataset.problems))
        .map(([c, n]) => `${n} ${c}`)
        .join(', ')}): those boxes and images are left out; \`ssd-edge data check\` lists them\n`,
    );
  }
  if (dataset.size === 0) throw new Error(`${displayPath(path.resolve(dir))}: no usable images to preview`);
  const sheet = await previewAugmentations(dataset, {
    count: options.count,
    seed: options.seed,
    size: options.size,
    augment: options.augment === 'none' ? 'none' : undefined,
  });
  const files = await fileIds(datasetFiles(dataset));
  await writeFileAtomic(options.out, sheet.png, {
    ...writeRules,
    protect: new Set([...protect, ...files]),
    protectedAs: 'part of the dataset',
  });
  const boxes = sheet.tiles.reduce((n, t) => n + t.labels.length, 0);
  if (options.json) {
    io.out(
      `${toJson(
        {
          out: options.out,
          width: sheet.width,
          height: sheet.height,
          tiles: sheet.tiles.map((t) => ({
            id: t.id,
            image: t.image,
            boxes: Array.from(t.boxes),
            labels: Array.from(t.labels, (l) => dataset.classes[l]),
          })),
        },
        2,
      )}\n`,
    );
  } else {
    io.out(
      `wrote ${options.out}: ${plural(sheet.tiles.length, 'sample')}, ${plural(boxes, 'box', 'boxes')} (${sheet.width}×${sheet.height})\n`,
    );
  }
  return 0;
}

/**
 * The `data` command with its `check`, `stats` and `preview` subcommands.
 *
 * @example
 * ssd-edge data check VOCdevkit/VOC2007 --split test
 * ssd-edge data stats coco/annotations/instances_val2017.json --plot sizes.png
 */
export function dataCommand(io: CliIo = processIo): Command {
  const data = new Command('data').description('check and summarize datasets (Pascal VOC, COCO JSON, JSONL)');
  const check = data
    .command('check')
    .description('list every problem of a dataset (file, object, what); exit 1 if any')
    .argument('<path>', 'VOC folder, COCO instances .json (or folder), or .jsonl file');
  addOptions(check, datasetOptions());
  check
    .option('--headers-only', 'read image headers only (faster; misses images whose data is truncated or corrupt)')
    .action(async (dir: string, options: DataCheckCliOptions) => {
      process.exitCode = await runDataCheck(dir, options, io);
    });

  const stats = data
    .command('stats')
    .description('images and boxes per class, and a histogram of box sizes relative to the image')
    .argument('<path>', 'VOC folder, COCO instances .json (or folder), or .jsonl file');
  addOptions(stats, datasetOptions());
  stats
    .option('--plot <file>', 'write the box-size histogram as a PNG (SSD300 feature-map scales marked)')
    .option('--overwrite', 'replace an existing --plot file')
    .addOption(
      new Option('--bins <n>', 'histogram bins over [0, 1] (default 20)').argParser(
        parseNumber('--bins', 1, 1000, true),
      ),
    )
    .action(async (dir: string, options: DataStatsCliOptions) => {
      process.exitCode = await runDataStats(dir, options, io);
    });

  const preview = data
    .command('preview')
    .description("contact sheet of augmented training samples (the paper's augmentation, seeded) with their boxes")
    .argument('<path>', 'VOC folder, COCO instances .json (or folder), or .jsonl file');
  addOptions(preview, datasetOptions());
  preview
    .requiredOption('-o, --out <file>', 'the PNG to write')
    .addOption(
      new Option('-n, --count <n>', 'samples on the sheet, 1…256 (default 16)').argParser(
        parseNumber('--count', 1, 256, true),
      ),
    )
    .addOption(
      new Option('--seed <s>', 'seed of the picks and augmentations (default 0)').argParser(
        parseNumber('--seed', 0, Number.MAX_SAFE_INTEGER, true),
      ),
    )
    .addOption(new Option('--size <WxH>', 'tile size = the model input (default 300x300)').argParser(parseSize))
    .addOption(
      new Option('--augment <mode>', 'default: the full chain; none: resize only').choices(['default', 'none']),
    )
    .option('--overwrite', 'replace an existing --out file')
    .action(async (dir: string, options: DataPreviewCliOptions) => {
      process.exitCode = await runDataPreview(dir, options, io);
    });
  return data;
}
