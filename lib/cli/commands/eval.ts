/**
 * `ssd-edge eval`: a model's average precision on a dataset (`--data DIR`), or saved detections scored against
 * ground truth (`--gt FILE --detections FILE`, no model). Prints a per-class table (VOC AP at the matching IoU, COCO
 * AP75 and mAP@[.5:.95], ground-truth count) and a summary, or `--json`; `--plots DIR` writes the precision–recall
 * curves and the summary chart (lib/eval/plots.ts).
 *
 * Exit codes: 0 done; 1 a data problem (every problem of the dataset on its own stderr line, as `data check`; an
 * unreadable file, an image that does not decode) or a failed plot; 2 invalid usage (options that do not go
 * together, values out of range).
 */
import fs from 'node:fs';
import path from 'node:path';
import { Command, Option } from 'commander';
import { datasetFiles, openDataset, type BoxPolicy, type DatasetFormat, type DataProblem } from '../../data/index.ts';
import { displayPath } from '../../data/util.ts';
import { Detector } from '../../detector/detector.ts';
import { checkWriteTarget, fileIds, WriteError } from '../../files.ts';
import { readDetectionsFile, readGroundTruthFile } from '../../eval/index.ts';
import { setOwn } from '../../eval/inputs.ts';
import { PLOT_FILES, writeEvalPlots } from '../../eval/plots.ts';
import { EVAL_SCORE_THRESHOLD, evaluateModel, scoreDetections, type Evaluation } from '../../eval/run.ts';
import { UsageError } from '../handle-error.ts';
import { addOptions, modelOptions, parseNumber, type ModelCliOptions } from '../options.ts';
import { type CliIo, formatTable, Progress, processIo, toJson } from '../output.ts';

export interface EvalCliOptions extends ModelCliOptions {
  data?: string;
  format?: DatasetFormat;
  split?: string;
  boxPolicy?: BoxPolicy;
  gt?: string;
  detections?: string;
  iou: number;
  voc07?: boolean;
  json?: boolean;
  plots?: string;
  overwrite?: boolean;
  batch?: number;
  scoreThreshold?: number;
  maxDetections?: number;
}

/** What `--json` prints (and the table is made from). */
export interface EvalReport {
  ap50: number;
  map: number;
  ap75: number;
  perClass: Record<string, { ap50: number; map: number; ap75: number; npos: number }>;
  images: number;
  seconds: number;
  /** Images per second of the model run (--data only). */
  imagesPerSecond?: number;
  /** Dataset classes the model has no label for (--data), or ground-truth classes no detection names (--gt). */
  missingInModel: string[];
  /** Model labels (--data) or detection labels (--gt) that are not classes of the ground truth. */
  extraInModel: string[];
  /** The VOC protocol: matching IoU, 11-point (voc07) or all-point. */
  voc: { iouThreshold: number; use07Metric: boolean };
  /** COCO's 12 numbers over all classes. */
  coco: Record<string, number>;
  /** --data: the model, batch and thresholds used. */
  settings?: { model: string; batchSize: number; scoreThreshold: number; iouThreshold: number; maxDetections: number };
  /** Plot files written (--plots). */
  plots?: string[];
}

const COCO_KEYS = ['AP', 'AP50', 'AP75', 'APs', 'APm', 'APl', 'AR1', 'AR10', 'AR100', 'ARs', 'ARm', 'ARl'] as const;

function report(e: Evaluation, voc: EvalReport['voc'], seconds: number): EvalReport {
  const perClass: EvalReport['perClass'] = {};
  for (const name of e.classes) {
    const c = e.perClass[name];
    setOwn(perClass, name, { ap50: c.ap50, map: c.map, ap75: c.ap75, npos: c.npos });
  }
  const coco: Record<string, number> = {};
  for (const k of COCO_KEYS) coco[k] = (e.coco as unknown as Record<string, number>)[k];
  return {
    ap50: e.ap50,
    map: e.map,
    ap75: e.ap75,
    perClass,
    images: e.images,
    seconds,
    missingInModel: [],
    extraInModel: [],
    voc,
    coco,
  };
}

const num = (v: number) => (Number.isFinite(v) ? v.toFixed(3) : '–');

/** The per-class table and the summary lines. */
export function evalTable(r: EvalReport): string {
  const rows: string[][] = [['CLASS', 'AP50', 'AP75', 'mAP', 'GT']];
  const iouName = r.voc.iouThreshold === 0.5 ? 'AP50' : `AP@${r.voc.iouThreshold}`;
  rows[0][1] = iouName;
  for (const [name, c] of Object.entries(r.perClass))
    rows.push([name, num(c.ap50), num(c.ap75), num(c.map), String(c.npos)]);
  const total = Object.values(r.perClass).reduce((a, c) => a + c.npos, 0);
  rows.push(['mean', num(r.ap50), num(r.ap75), num(r.map), String(total)]);
  const lines = [formatTable(rows, new Set([1, 2, 3, 4]))];
  const speed = r.imagesPerSecond !== undefined ? ` (${r.imagesPerSecond.toFixed(1)} images/s)` : '';
  lines.push(
    `${r.images} images, ${r.seconds.toFixed(2)} s${speed}. ${iouName}: VOC AP at IoU ${r.voc.iouThreshold}, ` +
      `${r.voc.use07Metric ? '11-point (VOC2007)' : 'all-point'}; AP75 and mAP (@[.5:.95]): COCO.`,
  );
  if (r.settings !== undefined) {
    // --data: classes only one side has are left out of the table and the means
    if (r.missingInModel.length > 0) lines.push(`not scored, missing in the model: ${r.missingInModel.join(', ')}`);
    if (r.extraInModel.length > 0) lines.push(`not scored, not in the ground truth: ${r.extraInModel.join(', ')}`);
  } else {
    // --gt: a class without detections is scored (AP 0, in the means); a label without ground truth has no AP
    if (r.missingInModel.length > 0) lines.push(`no detections (AP 0): ${r.missingInModel.join(', ')}`);
    if (r.extraInModel.length > 0)
      lines.push(`not scored, no ground truth (detections only): ${r.extraInModel.join(', ')}`);
  }
  if (r.plots) lines.push(`plots: ${r.plots.join(', ')}`);
  return lines.join('\n');
}

/** A problem of the dataset as one line (its message names the file and object; the file is added when it does not). */
export function problemLine(p: DataProblem): string {
  // messages show the file relative to the working directory when inside it (lib/data/util.ts displayPath)
  const shown = displayPath(p.file);
  return p.message.includes(p.file) || p.message.includes(shown) ? p.message : `${shown}: ${p.message}`;
}

/** Option keys that only mean something with a model (`--data`). */
const MODEL_ONLY = [
  'model',
  'device',
  'threads',
  'batch',
  'scoreThreshold',
  'maxDetections',
  'format',
  'split',
  'boxPolicy',
] as const;
const FLAG: Record<string, string> = {
  model: '--model',
  device: '--device',
  threads: '--threads',
  batch: '--batch',
  scoreThreshold: '--score-threshold',
  maxDetections: '--max-detections',
  format: '--format',
  split: '--split',
  boxPolicy: '--box-policy',
};

/**
 * Runs the command; resolves to the exit code. `given(key)` says whether an option was on the command line (for
 * options with defaults).
 *
 * @throws {UsageError} Options that do not go together (exit 2).
 */
export async function runEval(
  options: EvalCliOptions,
  io: CliIo = processIo,
  given: (key: string) => boolean = (k) => (options as unknown as Record<string, unknown>)[k] !== undefined,
): Promise<number> {
  const { data, gt, detections } = options;
  if (data !== undefined && (gt !== undefined || detections !== undefined))
    throw new UsageError('--data runs a model; --gt with --detections scores saved detections: give one of them');
  if (data === undefined && (gt === undefined) !== (detections === undefined))
    throw new UsageError(
      gt === undefined
        ? '--detections needs --gt (the ground truth)'
        : '--gt needs --detections (the detections to score)',
    );
  if (data === undefined && gt === undefined)
    throw new UsageError('nothing to evaluate: give --data DIR (and --model), or --gt FILE --detections FILE');
  if (gt !== undefined) {
    const bad = MODEL_ONLY.filter(given);
    if (bad.length > 0)
      throw new UsageError(
        `${bad.map((k) => FLAG[k]).join(', ')} only appl${bad.length === 1 ? 'ies' : 'y'} with --data (a model over a dataset), not with --gt`,
      );
  }
  const voc = { iouThreshold: options.iou, use07Metric: Boolean(options.voc07) };
  const vocOptions = { iouThreshold: voc.iouThreshold, use07Metric: voc.use07Metric };
  // a refusal to write the plots comes before any work; the plots never replace an input, --overwrite or not
  const inputs = [gt, detections, data, options.model].filter((f): f is string => typeof f === 'string');
  const protect = new Set(await fileIds(inputs));
  const plotRules = { overwrite: options.overwrite, protect, protectedAs: 'one of the inputs' };
  const checkPlots = async () => {
    if (!options.plots) return;
    // a file where the folder would be (or above it): refused now, not after the model has run
    for (let dir = path.resolve(options.plots); ; dir = path.dirname(dir)) {
      const stat = await fs.promises.stat(dir).catch(() => null);
      if (stat && !stat.isDirectory())
        throw new WriteError(
          `Not writing the plots into ${options.plots}: ${dir === path.resolve(options.plots) ? 'it' : displayPath(dir)} is a file, not a folder`,
          'ENOTDIR',
        );
      if (stat || path.dirname(dir) === dir) break;
    }
    for (const f of Object.values(PLOT_FILES))
      await checkWriteTarget(path.join(options.plots, f), { ...plotRules, existsHint: '--overwrite replaces it' });
  };
  await checkPlots();

  let r: EvalReport;
  let plotSource: Evaluation;
  if (gt !== undefined) {
    const t0 = performance.now();
    const truth = await readGroundTruthFile(gt);
    const dets = await readDetectionsFile(detections!, truth);
    const gtClasses = new Set(truth.flatMap((i) => i.boxes.map((b) => b.label)));
    const detClasses = new Set(dets.flatMap((i) => i.detections.map((d) => d.label)));
    const e = scoreDetections(truth, dets, { voc: vocOptions });
    r = report(e, voc, (performance.now() - t0) / 1000);
    r.missingInModel = [...gtClasses].filter((c) => !detClasses.has(c)).sort();
    r.extraInModel = [...detClasses].filter((c) => !gtClasses.has(c)).sort();
    plotSource = e;
  } else {
    let dataset: Awaited<ReturnType<typeof openDataset>>;
    try {
      dataset = await openDataset(data!, {
        format: options.format,
        split: options.split,
        boxPolicy: options.boxPolicy ?? 'error',
      });
    } catch (err) {
      const problems = (err as { problems?: DataProblem[] }).problems;
      if (!Array.isArray(problems) || problems.length === 0) throw err;
      for (const p of problems) io.err(`ssd-edge: ${problemLine(p)}\n`);
      io.err(`ssd-edge: ${problems.length} problem${problems.length > 1 ? 's' : ''} in ${data}; nothing evaluated\n`);
      return 1;
    }
    for (const p of dataset.problems) io.err(`ssd-edge: ${problemLine(p)} (${options.boxPolicy})\n`);
    for (const id of await fileIds(datasetFiles(dataset))) protect.add(id);
    await checkPlots(); // again, now that the dataset's images are known: before the model runs
    const detector = await Detector.load(options.model, { device: options.device, threads: options.threads });
    const progress = new Progress(dataset.size, io);
    let ticked = 0;
    try {
      const e = await evaluateModel(detector, dataset, {
        batchSize: options.batch,
        scoreThreshold: options.scoreThreshold ?? EVAL_SCORE_THRESHOLD,
        maxDetections: options.maxDetections,
        voc: vocOptions,
        onProgress: (done) => {
          for (; ticked < done; ticked++) progress.tick(path.basename(dataset.samples[ticked].image));
        },
      });
      progress.clear();
      r = report(e, voc, e.seconds);
      r.imagesPerSecond = e.imagesPerSecond;
      r.missingInModel = e.missingInModel;
      r.extraInModel = e.extraInModel;
      r.settings = { model: detector.modelPath, ...e.settings };
      plotSource = e;
    } finally {
      progress.clear();
      await detector.dispose();
    }
  }

  let code = 0;
  // printed, but a failure: nothing was scored
  if (data !== undefined && Object.keys(r.perClass).length === 0 && r.missingInModel.length > 0) {
    io.err(
      `ssd-edge: the model's labels (${r.extraInModel.join(', ')}) and the classes of ${data} (${r.missingInModel.join(', ')}) share none: nothing was scored\n`,
    );
    code = 1;
  } else if (!Object.values(r.perClass).some((c) => c.npos > 0)) {
    const source = data ?? gt;
    const what =
      r.images === 0 ? 'lists no images' : 'has no ground-truth objects (difficult and crowd ones do not count)';
    io.err(`ssd-edge: ${source} ${what}: nothing was scored\n`);
    code = 1;
  }
  if (options.plots) {
    try {
      r.plots = await writeEvalPlots(plotSource, options.plots, {
        ...plotRules,
        iouThreshold: voc.iouThreshold,
        existsHint: '--overwrite replaces it',
        title: `Average precision per class (${r.images} images)`,
      });
    } catch (err) {
      io.err(`ssd-edge: Cannot write the plots: ${(err as Error).message}\n`);
      code = 1;
    }
  }
  io.out(options.json ? `${toJson(r, 2)}\n` : `${evalTable(r)}\n`);
  return code;
}

/**
 * The `eval` command.
 *
 * @example
 * ssd-edge eval --data VOCdevkit/VOC2007 --split test --model ssd300.onnx --voc07
 * ssd-edge eval --gt instances_val2017.json --detections results.json --json
 */
export function evalCommand(io: CliIo = processIo): Command {
  const cmd = new Command('eval').description(
    'average precision (VOC AP, COCO mAP) of a model on a dataset, or of saved detections (default model: faces)',
  );
  addOptions(cmd, [
    new Option(
      '--data <path>',
      'dataset to run the model over: a Pascal VOC folder, a COCO instances .json (or a folder with annotations/instances_*.json), or a .jsonl file',
    ),
    new Option('--format <format>', 'dataset format (default: detected from the path)').choices([
      'voc',
      'coco',
      'jsonl',
    ]),
    new Option('--split <name>', 'VOC split (ImageSets/Main/<name>.txt), e.g. test'),
    new Option('--box-policy <policy>', 'boxes outside the image: error (default), clip or drop').choices([
      'error',
      'clip',
      'drop',
    ]),
    new Option('--gt <file>', 'ground truth to score --detections against (our JSON or COCO instances JSON)'),
    new Option('--detections <file>', 'saved detections: `detect --json` output, our JSON or a COCO results file'),
    ...modelOptions(),
    new Option('--batch <n>', "images per forward pass (default: the model's fixed batch, else 8)").argParser(
      parseNumber('--batch', 1, 4096, true),
    ),
    new Option(
      '-t, --score-threshold <score>',
      `keep detections scoring above this for scoring, 0..1 (default ${EVAL_SCORE_THRESHOLD}, as the usual protocols)`,
    ).argParser(parseNumber('--score-threshold', 0, 1)),
    new Option('--max-detections <n>', "at most n detections per image (default: the model's)").argParser(
      parseNumber('--max-detections', 1, Number.MAX_SAFE_INTEGER, true),
    ),
    new Option(
      '--iou <iou>',
      "IoU a detection needs to match an object, for VOC AP, 0..1 (the NMS IoU stays the model's)",
    )
      .argParser(parseNumber('--iou', 0, 1))
      .default(0.5),
    new Option('--voc07', 'VOC2007 11-point AP instead of all-point (VOC2010+)'),
    new Option('--json', 'print one JSON object: { ap50, map, ap75, perClass, images, seconds, … }'),
    new Option('--plots <dir>', `write ${PLOT_FILES.curves} and ${PLOT_FILES.summary} into this folder`),
    new Option('--overwrite', 'replace existing plot files'),
  ]);
  return cmd.action(async (options: EvalCliOptions, command: Command) => {
    process.exitCode = await runEval(options, io, (k) => {
      const source = command.getOptionValueSource(k);
      return source !== undefined && source !== 'default';
    });
  });
}
