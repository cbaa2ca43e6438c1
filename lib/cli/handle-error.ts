/**
 * The CLI's one way out on failure: one readable line on stderr and a non-zero exit code (after
 * npm-check-updates' `handleError`). `SSD_EDGE_DEBUG=1` prints the stack too. Every path ends here: errors thrown
 * by command actions, commander's own parse errors (rethrown by the program's exitOverride) and load failures.
 */
import { CommanderError } from 'commander';
import { oneLine } from '../errors.ts';

/** Exit codes: 1 = the command failed (bad file, bad model, runtime error); 2 = invalid usage (options, arguments). */
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** An error the CLI reports as invalid usage (exit code 2). */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/**
 * Whether `SSD_EDGE_DEBUG` turns debugging on (stacks, ONNX Runtime's own log): any non-empty value other than
 * '0' and 'false' (case and surrounding spaces ignored), so `SSD_EDGE_DEBUG=0` means off.
 */
export function debugEnabled(value: string | undefined = process.env.SSD_EDGE_DEBUG): boolean {
  const v = (value ?? '').trim().toLowerCase();
  return v !== '' && v !== '0' && v !== 'false';
}

/** Commander codes for output it has already printed itself (help, version): nothing more to say. */
const PRINTED = new Set(['commander.helpDisplayed', 'commander.help', 'commander.version']);

/** The error's message on one line (newlines and indentation collapsed), without a leading "ssd-edge: " or "error: ". */
export function errorLine(err: unknown): string {
  return oneLine(err).replace(/^(ssd-edge:|error:)\s*/, '');
}

/** The exit code for an error: 2 for usage errors (ours and commander's), 0 after help/--version, else 1. */
export function exitCodeOf(err: unknown): number {
  if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : EXIT_USAGE;
  return err instanceof UsageError ? EXIT_USAGE : EXIT_FAILURE;
}

/**
 * Prints `ssd-edge: <message>` on stderr and exits: 2 for a {@link UsageError} or a commander parse error, else 1
 * (help and --version, already printed by commander, exit quietly with their own code).
 *
 * @example
 * program.parseAsync(process.argv).catch(handleError);
 */
export function handleError(err: unknown): never {
  const code = exitCodeOf(err);
  if (!(err instanceof CommanderError && PRINTED.has(err.code))) {
    process.stderr.write(`ssd-edge: ${errorLine(err)}\n`);
    if (debugEnabled() && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
  }
  process.exit(code);
}
