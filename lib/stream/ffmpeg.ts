/**
 * The system ffmpeg: found once (a clear error naming the package when it is missing), spawned with one owner that
 * stops it. Every child process started here belongs to exactly one object ({@link FfmpegProcess}); its `stop()`
 * ends it (SIGTERM, then SIGKILL after a grace period) and resolves once the process is gone, so nothing outlives
 * the stream that started it.
 *
 * Children run in their own process group (`detached`), so a terminal's Ctrl-C reaches only Node, which then stops
 * them in order (flushing sinks first) instead of ffmpeg dying under a live source and looking like a network drop.
 * Should Node itself be killed, a reading ffmpeg dies on its next write (EPIPE) and a writing one at end of input.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';

/** ffmpeg missing or unusable; `code` is 'ERR_SSD_EDGE_FFMPEG_MISSING'. */
export class FfmpegMissingError extends Error {
  code = 'ERR_SSD_EDGE_FFMPEG_MISSING';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'FfmpegMissingError';
  }
}

/** How to install ffmpeg, for the error message. */
export const FFMPEG_INSTALL_HINT =
  'install it (Debian/Ubuntu: apt-get install ffmpeg; macOS: brew install ffmpeg) or set SSD_EDGE_FFMPEG to its path';

/** What {@link findFfmpeg} found. */
export interface FfmpegInfo {
  /** The executable (`SSD_EDGE_FFMPEG`, else `ffmpeg` on PATH). */
  path: string;
  /** e.g. '5.1.9-0+deb12u1' */
  version: string;
  /** Major.minor as numbers ([5, 1]); [0, 0] when the version string has no number (git builds: assume recent). */
  major: number;
  minor: number;
}

let found: FfmpegInfo | null = null;

/**
 * Locates ffmpeg (`SSD_EDGE_FFMPEG`, else `ffmpeg` on PATH) and reads its version; cached after the first success.
 *
 * @throws {FfmpegMissingError} Not found or not runnable, naming the Debian and Homebrew packages.
 */
export function findFfmpeg(): FfmpegInfo {
  const path = process.env.SSD_EDGE_FFMPEG || 'ffmpeg';
  if (found && found.path === path) return found;
  const r = spawnSync(path, ['-hide_banner', '-version'], { encoding: 'utf8', timeout: 10_000 });
  if (r.error || r.status !== 0) {
    const why = r.error
      ? (r.error as NodeJS.ErrnoException).code === 'ENOENT'
        ? 'not found'
        : r.error.message
      : `exited with ${r.status}`;
    throw new FfmpegMissingError(`Streams need the ffmpeg program (${path}: ${why}): ${FFMPEG_INSTALL_HINT}`, {
      cause: r.error,
    });
  }
  const version = /ffmpeg version (\S+)/.exec(r.stdout)?.[1] ?? 'unknown';
  const m = /^n?(\d+)\.(\d+)/.exec(version);
  found = { path, version, major: m ? Number(m[1]) : 0, minor: m ? Number(m[2]) : 0 };
  return found;
}

/** `-fps_mode passthrough` (ffmpeg ≥ 5.1), else `-vsync 0`: every decoded frame out once, none duplicated or dropped. */
export function passthroughArgs(info: FfmpegInfo): string[] {
  const recent = info.major === 0 || info.major > 5 || (info.major === 5 && info.minor >= 1);
  return recent ? ['-fps_mode', 'passthrough'] : ['-vsync', '0'];
}

/** Last lines of a child's stderr kept for error messages. */
const STDERR_LINES = 20;

/**
 * One ffmpeg child and its owner: spawned in its own process group, stderr split into lines (the last ones kept for
 * errors, each passed to `onStderrLine`), stopped by {@link stop}.
 */
export class FfmpegProcess {
  readonly child: ChildProcess;
  /** Resolves with the exit code (or the signal name) once the process has exited and its pipes are closed. */
  readonly exited: Promise<number | string>;
  readonly #tail: string[] = [];
  #partial = '';
  #stopping = false;

  constructor(args: readonly string[], options: { stdin?: boolean; onStderrLine?: (line: string) => void } = {}) {
    const { path } = findFfmpeg();
    this.child = spawn(path, args, {
      stdio: [options.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
      detached: true,
    });
    this.exited = new Promise((resolve) => {
      this.child.once('close', (code, signal) => resolve(code ?? signal ?? -1));
      // spawn failures (ENOENT after findFfmpeg, EMFILE) end as a close with code -2 too; keep the cause
      this.child.once('error', (err) => this.#keep(`spawn failed: ${err.message}`));
    });
    this.child.stderr!.setEncoding('utf8');
    this.child.stderr!.on('data', (text: string) => {
      const lines = (this.#partial + text).split(/\r?\n|\r/);
      this.#partial = lines.pop() ?? '';
      for (const line of lines) {
        this.#keep(line);
        options.onStderrLine?.(line);
      }
    });
    this.child.stderr!.on('end', () => {
      if (this.#partial) {
        this.#keep(this.#partial);
        options.onStderrLine?.(this.#partial);
        this.#partial = '';
      }
    });
    // a write to a dead ffmpeg's stdin (EPIPE) is reported through its exit, not as an unhandled error
    this.child.stdin?.on('error', () => {});
  }

  /** The process id (undefined when the spawn failed). */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Whether {@link stop} was called. */
  get stopping(): boolean {
    return this.#stopping;
  }

  /** ffmpeg's last stderr lines (errors first: lines with "error", "failed", "invalid", "no such"…), one line. */
  lastError(): string {
    const keep = this.#tail.filter((l) => !/^\[Parsed_showinfo/.test(l) && l.trim());
    const bad = keep.filter((l) => /error|fail|invalid|no such|not found|refused|denied|unable|cannot/i.test(l));
    return (bad.length > 0 ? bad.slice(-3) : keep.slice(-2)).map((l) => l.trim()).join('; ');
  }

  #keep(line: string): void {
    this.#tail.push(line);
    if (this.#tail.length > STDERR_LINES) this.#tail.shift();
  }

  /**
   * Ends the process: SIGTERM (ffmpeg closes its output cleanly), SIGKILL after `graceMs`; resolves once it has
   * exited. Idempotent.
   */
  async stop(graceMs = 2000): Promise<void> {
    this.#stopping = true;
    const c = this.child;
    if (c.exitCode === null && c.signalCode === null && c.pid !== undefined) {
      c.kill('SIGTERM');
      const timer = setTimeout(() => {
        if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
      }, graceMs);
      await this.exited;
      clearTimeout(timer);
    } else await this.exited;
  }

  /** Closes stdin (an encoder then finishes its file) and waits for the exit; SIGKILL after `timeoutMs`. */
  async finish(timeoutMs = 30_000): Promise<number | string> {
    this.child.stdin?.end();
    const c = this.child;
    const timer = setTimeout(() => {
      if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    }, timeoutMs);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }
}
