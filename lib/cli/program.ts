/**
 * The `ssd-edge` command line: one commander program, one file per command in ./commands/. Loaded by ./index.ts
 * inside its error handler, so even a failure to load a dependency (e.g. onnxruntime-node on an unsupported
 * platform) ends as one line and a non-zero exit.
 */
import { createRequire } from 'node:module';
import { Command } from 'commander';
import { dataCommand } from './commands/data.ts';
import { detectCommand } from './commands/detect.ts';
import { doctorCommand } from './commands/doctor.ts';
import { evalCommand } from './commands/eval.ts';
import { modelCommand } from './commands/model.ts';
import { streamCommand } from './commands/stream.ts';
import { trainCommand } from './commands/train.ts';
import { debugEnabled, UsageError } from './handle-error.ts';
import { setOrtLogLevel } from '../runtime/ort.ts';

const require = createRequire(import.meta.url);

/**
 * Commander's own errors (unknown option, missing argument, invalid value) are thrown instead of printed, on a
 * command and all its subcommands (addCommand does not pass settings down by itself), so that they end in the one
 * handleError (lib/cli/index.ts): one line `ssd-edge: …`, exit code 2. Help and --version still print and exit 0.
 */
function oneLineErrors(cmd: Command): Command {
  cmd.configureOutput({ outputError: () => {} }).exitOverride((err) => {
    throw err;
  });
  cmd.commands.forEach(oneLineErrors);
  return cmd;
}

/**
 * Rejects an unknown command before commander sees it: commander treats `ssd-edge train --help` as a request for
 * the top-level help (exit 0) and never reports `train`. Walks the command path of `args` (options skipped: the
 * commands with subcommands take no option values) down to the first command without subcommands.
 *
 * @throws {UsageError} `unknown command 'train' (commands: detect, doctor, model)`.
 */
export function assertKnownCommands(program: Command, args: readonly string[]): void {
  let cmd = program;
  let rest = args;
  while (cmd.commands.length > 0) {
    const i = rest.findIndex((a) => a === '--' || !a.startsWith('-'));
    if (i < 0 || rest[i] === '--') return;
    let name = rest[i];
    rest = rest.slice(i + 1);
    if (name === 'help') {
      // `help [command…]`: the named path must exist too
      if (rest.length === 0 || rest[0].startsWith('-')) return;
      name = rest[0];
      rest = rest.slice(1);
    }
    const sub = cmd.commands.find((c) => c.name() === name || c.aliases().includes(name));
    if (!sub) {
      const where = cmd === program ? '' : ` for '${cmd.name()}'`;
      throw new UsageError(
        `unknown command '${name}'${where} (commands: ${cmd.commands.map((c) => c.name()).join(', ')})`,
      );
    }
    cmd = sub;
  }
}

/** The program with every command registered (exported for tests and embedding). */
export function createProgram(): Command {
  const { version } = require('../../package.json') as { version: string };
  const program = new Command('ssd-edge')
    .description('SSD object detection: ONNX Runtime inference with a native box-ops core')
    .version(version)
    .addCommand(dataCommand())
    .addCommand(detectCommand())
    .addCommand(doctorCommand())
    .addCommand(evalCommand())
    .addCommand(modelCommand())
    .addCommand(streamCommand())
    .addCommand(trainCommand());
  return oneLineErrors(program);
}

/** Runs the CLI on `argv`. */
export async function main(argv: string[]): Promise<void> {
  // ONNX Runtime logs failed provider loads on stderr itself; the CLI reports errors as one line of its own.
  if (!debugEnabled()) setOrtLogLevel('fatal');
  const program = createProgram();
  assertKnownCommands(program, argv.slice(2));
  await program.parseAsync(argv);
}
