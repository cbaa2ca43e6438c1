/**
 * `ssd-edge model`: inspect and import model files. Actions only parse options and call lib/model; errors are
 * thrown (the CLI's handleError prints them as one line and sets the exit code: 2 for usage errors).
 *
 *   ssd-edge model inspect FILE [--json]
 *   ssd-edge model import <torchvision|pytorch-ssd|face-api> [FILE] --out FILE [--labels FILE] [--name NAME]
 *                         [--preprocess mobilenet|jetson|vgg16] [--rebuild] [--overwrite]
 */
import { Argument, Command, Option } from 'commander';
import { IMPORT_FORMATS, importModelFile, type ImportFormat } from '../../model/import.ts';
import { PYTORCH_SSD_PREPROCESS, type PytorchSsdPreprocess } from '../../model/importers/pytorch-ssd.ts';
import { formatModelInfo, inspectModelFile } from '../../model/inspect.ts';
import { serializeModelSpec } from '../../model/metadata.ts';
import { checkWriteTarget, fileIds } from '../../files.ts';
import { UsageError } from '../handle-error.ts';

/** Where the command writes its results (stdout by default; tests pass their own). */
export interface ModelCommandIo {
  out(text: string): void;
}

interface ImportOpts {
  out: string;
  labels?: string;
  name?: string;
  preprocess?: PytorchSsdPreprocess;
  rebuild?: boolean;
  overwrite?: boolean;
}

/**
 * --out must not be a directory, nor the source model (whatever path reaches it), nor, without --overwrite, an
 * existing file: checked before the import's work (importModelFile applies the same rules when it writes).
 *
 * @throws {WriteError} Naming --out and why.
 */
async function checkImportTarget(
  out: string,
  source: string | undefined,
  overwrite: boolean | undefined,
): Promise<void> {
  await checkWriteTarget(out, {
    overwrite,
    protect: await fileIds(source ? [source] : []),
    protectedAs: 'the source model',
    existsHint: '--overwrite replaces it',
  });
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
    .description('turn a torchvision / pytorch-ssd ONNX export or face-api weights into an ssd-edge model file')
    .addArgument(new Argument('<format>', 'source format').choices(IMPORT_FORMATS))
    .argument(
      '[file]',
      'source: ONNX file (torchvision, pytorch-ssd) or face-api model folder / manifest (default: the bundled weights)',
    )
    .requiredOption('-o, --out <file>', 'output .onnx file')
    .option('--labels <file>', 'class names, one per line, background first (pytorch-ssd: labels.txt)')
    .option('--name <name>', 'model name stored in the spec')
    .addOption(
      new Option(
        '--preprocess <preset>',
        'pytorch-ssd input normalization (default: vgg16 for 8732 anchors, else mobilenet)',
      ).choices(Object.keys(PYTORCH_SSD_PREPROCESS)),
    )
    .option('--rebuild', 'torchvision SSD300-VGG16: rebuild the graph from its weights with a dynamic batch')
    .option('--overwrite', 'replace an existing --out file (never the source model)')
    .action(async (format: ImportFormat, file: string | undefined, opts: ImportOpts) => {
      if (opts.preprocess && format !== 'pytorch-ssd')
        throw new UsageError(`--preprocess applies to pytorch-ssd imports only, not ${format}`);
      if (opts.rebuild && format !== 'torchvision')
        throw new UsageError(`--rebuild applies to torchvision imports only, not ${format}`);
      await checkImportTarget(opts.out, file, opts.overwrite);
      const { out, labels, name, preprocess, rebuild, overwrite } = opts;
      const r = await importModelFile(format, file, { out, labels, name, preprocess, rebuild, overwrite });
      io.out(
        `wrote ${r.path} (${(r.bytes / 1e6).toFixed(1)} MB): ${r.spec.name}, ${r.spec.architecture}, ${r.spec.labels.length} labels\n`,
      );
    });

  return model;
}
