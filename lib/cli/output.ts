/**
 * How commands print: a table for people, `--json` (one document at the end) or `--jsonl` (one line per result as
 * it completes) for programs, a progress bar on a terminal's stderr, and error lines that never mix with stdout.
 * Commands gather results first and hand them here; nothing in this file knows what a detection is.
 */
import type { OutputFormat } from './options.ts';

/** Where a command writes (the process's streams by default; tests pass their own). */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  /** Whether stderr is a terminal (progress bars only then). */
  readonly errIsTTY?: boolean;
}

export const processIo: CliIo = {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
  get errIsTTY() {
    return Boolean(process.stderr.isTTY);
  },
};

/**
 * Plain-text table: a header row, columns padded to their widest cell, `numeric` columns right-aligned.
 *
 * @example
 * formatTable([['FILE', 'SCORE'], ['a.jpg', '0.973']], new Set([1]))
 */
export function formatTable(rows: readonly (readonly string[])[], numeric: ReadonlySet<number> = new Set()): string {
  if (rows.length === 0) return '';
  const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => (row[c] ?? '').length)));
  return rows
    .map((row) =>
      row
        .map((cell, c) => (numeric.has(c) ? cell.padStart(widths[c]) : cell.padEnd(widths[c])))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** JSON for machine-readable output: numbers at full precision; non-finite numbers as strings ("Infinity"). */
export function toJson(value: unknown, indent?: number): string {
  return JSON.stringify(value, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v), indent);
}

/**
 * Prints results in the chosen format: `jsonl` one line per `add`; `json` one array at `end`; `table` the rows of
 * `toRows` at `end`. Errors go to stderr at once (one line each), the progress bar erased first.
 */
export class ResultPrinter<T> {
  readonly #results: T[] = [];
  readonly #progress: Progress;
  constructor(
    readonly format: OutputFormat,
    readonly toTable: (results: readonly T[]) => string,
    readonly total: number,
    readonly io: CliIo = processIo,
  ) {
    this.#progress = new Progress(total, io);
  }

  /** One result (printed now with --jsonl, else kept for the end). */
  add(result: T, label: string): void {
    if (this.format === 'jsonl') {
      this.#progress.clear();
      this.io.out(`${toJson(result)}\n`);
    } else this.#results.push(result);
    this.#progress.tick(label);
  }

  /** One error line `ssd-edge: …` on stderr. */
  error(line: string): void {
    this.#progress.clear();
    this.io.err(`ssd-edge: ${line}\n`);
  }

  /** A processed item with no result of its own (e.g. a failed file), for the progress bar. */
  skip(label: string): void {
    this.#progress.tick(label);
  }

  /** Prints what was kept (json: the array, even when empty; table: only when there are rows). */
  end(): void {
    this.#progress.clear();
    if (this.format === 'json') this.io.out(`${toJson(this.#results, 2)}\n`);
    else if (this.format === 'table' && this.#results.length > 0) this.io.out(`${this.toTable(this.#results)}\n`);
  }
}

/** A progress bar on stderr (only when stderr is a terminal and there is more than one item). */
export class Progress {
  #done = 0;
  readonly #enabled: boolean;
  constructor(
    readonly total: number,
    readonly io: CliIo = processIo,
  ) {
    this.#enabled = Boolean(io.errIsTTY) && total > 1;
  }

  tick(label: string): void {
    this.#done++;
    if (!this.#enabled) return;
    const width = 24;
    const filled = Math.round((width * this.#done) / this.total);
    const cols = columns();
    const line = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${this.#done}/${this.total} ${label}`;
    this.io.err(`\r${line.slice(0, cols - 1).padEnd(cols - 1)}`);
  }

  /** Erases the bar (before printing a line on stderr, and at the end). */
  clear(): void {
    if (this.#enabled) this.io.err(`\r${' '.repeat(columns() - 1)}\r`);
  }
}

/** Terminal width (a TTY may report 0 columns, e.g. under `script`). */
const columns = () => Math.max(20, process.stderr.columns || 80);
