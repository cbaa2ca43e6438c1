/**
 * The CLI's one way out on failure: one readable line on stderr and a non-zero exit code (after
 * npm-check-updates' `handleError`). `SSD_EDGE_DEBUG=1` prints the stack too.
 */

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

/** The error's message on one line (newlines and indentation collapsed), without a leading "ssd-edge: ". */
export function errorLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.replace(/^ssd-edge:\s*/, '').split('\n').map((l) => l.trim()).filter(Boolean).join(' ');
}

/**
 * Prints `ssd-edge: <message>` on stderr and exits: 2 for a {@link UsageError}, else 1.
 *
 * @example
 * program.parseAsync(process.argv).catch(handleError);
 */
export function handleError(err: unknown): never {
  process.stderr.write(`ssd-edge: ${errorLine(err)}\n`);
  if (process.env.SSD_EDGE_DEBUG && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
  process.exit(err instanceof UsageError ? EXIT_USAGE : EXIT_FAILURE);
}
