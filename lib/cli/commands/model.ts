/**
 * `ssd-edge model`: inspect and import model files. Actions only parse options and call lib/model; errors are
 * thrown (the CLI's handleError prints them as one line and sets the exit code: 2 for usage errors).
 *
 *   ssd-edge model inspect FILE [--json]
 *   ssd-edge model import FILE… [--out FILE] [--format KIND] [--labels FILE] [--name NAME] [--input-size WxH]
 *                         [--channels rgb|bgr] [--mean v[,v,v]] [--std v[,v,v]] [--set key=value]…
 *                         [--preprocess mobilenet|jetson|vgg16] [--rebuild] [--dequantize] [--overwrite]
 *   ssd-edge model import <torchvision|pytorch-ssd|face-api> [FILE] …   (the old form, still accepted)
 */
import fs from 'node:fs';
import path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { MAX_INPUT_SIDE } from '../../image/preprocess.ts';
import { IMPORT_FORMATS, importModelFiles, type ImportFormat } from '../../model/import.ts';
import { PYTORCH_SSD_PREPROCESS, type PytorchSsdPreprocess } from '../../model/importers/pytorch-ssd.ts';
import { formatModelInfo, inspectModelFile } from '../../model/inspect.ts';
import { serializeModelSpec } from '../../model/metadata.ts';
import { checkWriteTarget, fileIds } from '../../files.ts';
import { UsageError } from '../handle-error.ts';
import { quantizeCommand } from './model-quantize.ts';

/** Where the command writes its results (stdout by default; tests pass their own). */
export interface ModelCommandIo {
  out(text: string): void;
}

/** Kinds of the old `model import <kind> FILE` form. */
const LEGACY_KINDS = ['torchvision', 'pytorch-ssd', 'face-api'] as const;

interface ImportOpts {
  out?: string;
  format?: ImportFormat;
  inputSize?: [number, number];
  channels?: 'rgb' | 'bgr';
  mean?: number[];
  std?: number[];
  set?: Record<string, string>;
  labels?: string;
  name?: string;
  preprocess?: PytorchSsdPreprocess;
  rebuild?: boolean;
  dequantize?: boolean;
  overwrite?: boolean;
}

/**
 * --out must not be a directory, nor the source model (whatever path reaches it), nor, without --overwrite, an
 * existing file: checked before the import's work (importModelFile applies the same rules when it writes).
 *
 * @throws {WriteError} Naming --out and why.
 */
async function checkImportTarget(out: string, sources: string[], overwrite: boolean | undefined): Promise<void> {
  await checkWriteTarget(out, {
    overwrite,
    protect: await fileIds(sources),
    protectedAs: 'the source model',
    existsHint: '--overwrite replaces it',
  });
}

/** `--input-size WxH` → [W, H]. */
export function parseInputSize(value: string): [number, number] {
  const m = /^\s*(\d+)\s*[xX×]\s*(\d+)\s*$/.exec(value);
  const w = m ? Number(m[1]) : Number.NaN;
  const h = m ? Number(m[2]) : Number.NaN;
  if (!m || w < 1 || h < 1 || w > MAX_INPUT_SIDE || h > MAX_INPUT_SIDE)
    throw new InvalidArgumentError(`--input-size must be WxH with integers in [1, ${MAX_INPUT_SIDE}], e.g. 320x240`);
  return [w, h];
}

/** `--mean 104,117,123` / `--mean 127.5` → numbers (one or three). */
export function parseTriple(flag: string, value: string): number[] {
  const parts = value.split(',').map((s) => s.trim());
  const v = parts.map(Number);
  if ((v.length !== 1 && v.length !== 3) || parts.some((p) => p === '') || v.some((x) => !Number.isFinite(x)))
    throw new InvalidArgumentError(`${flag} must be one number or three comma-separated numbers, e.g. 104,117,123`);
  if (flag === '--std' && v.some((x) => x <= 0)) throw new InvalidArgumentError(`${flag} values must be > 0`);
  return v;
}

/** `--set key=value`, repeatable: collects into one object. */
export function parseSet(value: string, previous: Record<string, string> = {}): Record<string, string> {
  const eq = value.indexOf('=');
  if (eq <= 0) throw new InvalidArgumentError('--set must be key=value, e.g. postprocess.nmsThresh=0.3');
  return { ...previous, [value.slice(0, eq).trim()]: value.slice(eq + 1).trim() };
}

/** Default --out: `<source name without extension>.ssd-edge.onnx` beside the (first) source file. */
export function defaultImportOut(source: string | undefined): string {
  if (!source) return 'face-api.ssd-edge.onnx';
  const base = path.basename(source).replace(/\.(onnx|tflite|pb|pbtxt|prototxt|caffemodel|json)$/i, '');
  return path.join(path.dirname(source), `${base || 'model'}.ssd-edge.onnx`);
}

const stdout: ModelCommandIo = { out: (text) => void process.stdout.write(text) };

/**
 * The `model` command with its `inspect` and `import` subcommands.
 *
 * @param io Output sink (default: process.stdout).
 * @example
 * program.addCommand(modelCommand());
 */
export function modelCommand(io: ModelCommandIo = stdout): Command {
  const model = new Command('model').description('inspect and import SSD model files (ONNX + ssd-edge metadata)');

  model
    .command('inspect')
    .description("print a model's ssd-edge spec (input, outputs, anchors, labels, postprocess) and its ONNX interface")
    .argument('<file>', 'ONNX model file')
    .option('--json', 'print the gathered data as JSON')
    .action(async (file: string, opts: { json?: boolean }) => {
      const info = await inspectModelFile(file);
      // serializeModelSpec keeps Infinity as "Infinity" (plain JSON.stringify would write null)
      io.out(
        opts.json
          ? `${JSON.stringify({ ...info, spec: info.spec && JSON.parse(serializeModelSpec(info.spec)) }, null, 2)}\n`
          : `${formatModelInfo(info)}\n`,
      );
    });

  model
    .command('import')
    .description(
      'turn an SSD you already have (ONNX, TFLite, Caffe, TensorFlow, TensorFlow.js, face-api) into an ssd-edge model file; the format is recognised from the bytes',
    )
    .argument(
      '<files...>',
      'source file(s): one model file, or two when the format has two (Caffe .prototxt + .caffemodel, TF .pb + .pbtxt); a TF.js model.json reads its weight shards beside it; the old form `import <kind> [FILE]` still works',
    )
    .option('-o, --out <file>', 'output .onnx file (default: <source name>.ssd-edge.onnx beside the source)')
    .addOption(
      new Option('--format <kind>', 'force the source format instead of recognising it').choices(
        IMPORT_FORMATS.filter((f) => f !== 'auto'),
      ),
    )
    .option('--labels <file>', 'class names, one per line, background first (pytorch-ssd: labels.txt)')
    .option('--name <name>', 'model name stored in the spec')
    .option('--input-size <WxH>', 'network input size, e.g. 320x240', parseInputSize)
    .addOption(new Option('--channels <order>', 'channel order the network expects').choices(['rgb', 'bgr']))
    .option(
      '--mean <v[,v,v]>',
      "per-channel mean on 0..255 values, network channel order: x' = (x - mean) / std",
      (v) => parseTriple('--mean', v),
    )
    .option('--std <v[,v,v]>', 'per-channel std on 0..255 values', (v) => parseTriple('--std', v))
    .option(
      '--set <key=value>',
      'any other spec field by its dotted path, e.g. postprocess.nmsThresh=0.3 (repeatable)',
      parseSet,
      {} as Record<string, string>,
    )
    .addOption(
      new Option(
        '--preprocess <preset>',
        'pytorch-ssd input normalization (default: vgg16 for 8732 anchors, else mobilenet)',
      ).choices(Object.keys(PYTORCH_SSD_PREPROCESS)),
    )
    .option('--rebuild', 'torchvision SSD300-VGG16: rebuild the graph from its weights with a dynamic batch')
    .option('--dequantize', 'TFLite: write a uint8-quantized model as a float graph (default: kept quantized)')
    .option('--overwrite', 'replace an existing --out file (never the source model)')
    .action(async (args: string[], opts: ImportOpts) => {
      // old form: `import <kind> [FILE]` (a kind that is not also an existing file)
      let format: ImportFormat | undefined = opts.format;
      let files = args;
      if ((LEGACY_KINDS as readonly string[]).includes(args[0]) && !fs.existsSync(args[0])) {
        if (opts.format && opts.format !== args[0])
          throw new UsageError(`the source format is given twice: '${args[0]}' and --format ${opts.format}`);
        format = args[0] as ImportFormat;
        files = args.slice(1);
      }
      if (opts.preprocess && format !== undefined && format !== 'pytorch-ssd' && format !== 'onnx')
        throw new UsageError(`--preprocess applies to pytorch-ssd imports only, not ${format}`);
      if (opts.rebuild && format !== undefined && format !== 'torchvision' && format !== 'onnx')
        throw new UsageError(`--rebuild applies to torchvision imports only, not ${format}`);
      if (opts.dequantize && format !== undefined && format !== 'tflite')
        throw new UsageError(`--dequantize applies to tflite imports only, not ${format}`);
      if (files.length === 0 && format !== 'face-api')
        throw new UsageError('model import needs a model file (only face-api has bundled weights)');
      const out = opts.out ?? defaultImportOut(files[0]);
      await checkImportTarget(out, files, opts.overwrite);
      const { labels, name, preprocess, rebuild, dequantize, overwrite, inputSize, channels, mean, std } = opts;
      const set = Object.keys(opts.set ?? {}).length ? opts.set : undefined;
      const r = await importModelFiles(files, {
        format,
        out,
        labels,
        name,
        preprocess,
        rebuild,
        dequantize,
        overwrite,
        inputSize,
        channels,
        mean,
        std,
        set,
      });
      io.out(
        `${r.report.map((l) => `  ${l}\n`).join('')}wrote ${r.path} (${(r.bytes / 1e6).toFixed(1)} MB): ${r.spec.name}, ${r.spec.architecture}, ${r.spec.labels.length} labels\n`,
      );
    });

  model.addCommand(quantizeCommand());
  return model;
}
