/**
 * The `ssd-edge` command line: one commander program, one file per command in ./commands/. Loaded by ./index.ts
 * inside its error handler, so even a failure to load a dependency (e.g. onnxruntime-node on an unsupported
 * platform) ends as one line and a non-zero exit.
 */
import { createRequire } from 'node:module';
import { Command } from 'commander';
import { detectCommand } from './commands/detect.ts';
import { doctorCommand } from './commands/doctor.ts';
import { modelCommand } from './commands/model.ts';
import { EXIT_USAGE } from './handle-error.ts';
import { setOrtLogLevel } from '../runtime/ort.ts';

const require = createRequire(import.meta.url);

/**
 * Commander's own errors (unknown option, missing argument, invalid value) as one line `ssd-edge: …` and exit
 * code 2, on a command and all its subcommands (addCommand does not pass settings down by itself).
 */
function oneLineErrors(cmd: Command): Command {
  cmd
    .configureOutput({ outputError: (str, write) => write(`ssd-edge: ${str.replace(/^error:\s*/, '').split('\n').filter(Boolean)[0]}\n`) })
    .exitOverride((err) => {
      process.exit(err.exitCode === 0 ? 0 : EXIT_USAGE);
    });
  cmd.commands.forEach(oneLineErrors);
  return cmd;
}

/** The program with every command registered (exported for tests and embedding). */
export function createProgram(): Command {
  const { version } = require('../../package.json') as { version: string };
  const program = new Command('ssd-edge')
    .description('SSD object detection: ONNX Runtime inference with a native box-ops core')
    .version(version)
    .addCommand(detectCommand())
    .addCommand(doctorCommand())
    .addCommand(modelCommand());
  return oneLineErrors(program);
}

/** Runs the CLI on `argv`. */
export async function main(argv: string[]): Promise<void> {
  // ONNX Runtime logs failed provider loads on stderr itself; the CLI reports errors as one line of its own.
  if (!process.env.SSD_EDGE_DEBUG) setOrtLogLevel('fatal');
  await createProgram().parseAsync(argv);
}
