/**
 * Where stream results go: JSON lines (stdout or a file), an annotated video encoded by ffmpeg (H.264 mp4 by
 * default), and snapshots (an annotated JPEG when a class of interest appears). Boxes and labels are drawn by
 * lib/image/draw.ts (the bundled DejaVu font).
 *
 * Nothing a user gave is overwritten and no partial file is left: files are written under a temporary name in the
 * target's folder and put in place when the sink closes (without `overwrite`, by a hard link that fails if the target
 * appeared meanwhile); `close()` is called on every exit path — end, error, SIGINT — so results already computed
 * are kept.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import type { Detection } from '../detector/options.ts';
import { checkWriteTarget, WriteError, writeFileAtomic } from '../files.ts';
import { draw } from '../image/draw.ts';
import { assertKnownKeys, assertObject, invalidParameterError } from '../is.ts';
import { FfmpegProcess } from './ffmpeg.ts';
import type { StreamResult } from './pipeline.ts';

/**
 * Refuses, before any work, a file target whose folder does not exist (or is not a folder): the temporary file beside
 * it could not be opened, and the error would name that temporary file.
 */
async function checkTargetFolder(target: string): Promise<void> {
  const dir = path.dirname(path.resolve(target));
  const stat = await fs.promises.stat(dir).catch(() => null);
  if (!stat) throw new WriteError(`Cannot write ${target}: the folder ${dir} does not exist`, 'ENOENT');
  if (!stat.isDirectory()) throw new WriteError(`Cannot write ${target}: ${dir} is not a folder`, 'ENOTDIR');
}

/** A result as sinks take it: a {@link StreamResult}, detections possibly with track ids. */
export type SinkResult = Pick<StreamResult, 'frame' | 'pts' | 'time' | 'image'> & {
  detections: ReadonlyArray<Detection & { trackId?: number }>;
};

/** A consumer of results. `write` resolves when the sink can take the next one; `close` flushes and finishes. */
export interface Sink {
  write(result: SinkResult): Promise<void>;
  close(): Promise<void>;
}

/** One detection in a JSON line: the box as [x1, y1, x2, y2] in source pixels, numbers at full precision. */
export interface JsonlDetection {
  label: string;
  classId: number;
  score: number;
  box: [number, number, number, number];
  trackId?: number;
}

/** One JSON line: `{ "frame", "pts", "time", "detections": [...] }` (time: ms since the epoch at capture). */
export interface JsonlRecord {
  frame: number;
  pts: number;
  time: number;
  detections: JsonlDetection[];
}

/** Detections to draw: a tracked one's label gets its id (`person #3`). */
function drawable(r: SinkResult): Detection[] {
  return r.detections.map((d) => (d.trackId !== undefined ? { ...d, label: `${d.label} #${d.trackId}` } : d));
}

/** A result → its JSON line's object. */
export function toJsonlRecord(r: SinkResult): JsonlRecord {
  return {
    frame: r.frame,
    pts: r.pts,
    time: r.time,
    detections: r.detections.map((d) => {
      const o: JsonlDetection = {
        label: d.label,
        classId: d.classId,
        score: d.score,
        box: [d.box.x1, d.box.y1, d.box.x2, d.box.y2],
      };
      if (d.trackId !== undefined) o.trackId = d.trackId;
      return o;
    }),
  };
}

/** Options of the file sinks. */
export interface FileSinkOptions {
  /** Replace an existing file (default false: an existing target is an error before anything runs). */
  overwrite?: boolean;
  /** How to replace an existing file, for the message (default 'overwrite: true replaces it'). */
  existsHint?: string;
}

/** `.name.<pid>.<random>.tmp` beside `target`. */
function tempName(target: string): string {
  return path.join(
    path.dirname(target),
    `.${path.basename(target)}.${process.pid}.${crypto.randomBytes(6).toString('hex')}.tmp`,
  );
}

/** Puts a finished temporary file in place (link without overwrite: never clobbers a file that appeared meanwhile). */
async function commit(tmp: string, target: string, o: FileSinkOptions): Promise<void> {
  try {
    if (o.overwrite) await fs.promises.rename(tmp, target);
    else {
      try {
        await fs.promises.link(tmp, target);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EEXIST')
          throw new WriteError(
            `Not writing ${target}: the file exists (${o.existsHint ?? 'overwrite: true replaces it'}); the results are in ${tmp}`,
            'EEXIST',
          );
        if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'EMLINK') throw err;
        await fs.promises.rename(tmp, target);
      }
      await fs.promises.rm(tmp, { force: true });
    }
  } catch (err) {
    if (err instanceof WriteError) throw err;
    throw new WriteError(
      `Cannot write ${target}: ${(err as Error).message}`,
      (err as NodeJS.ErrnoException).code ?? 'ERR_SSD_EDGE_WRITE',
      {
        cause: err,
      },
    );
  }
}

/**
 * JSON lines, one per result: to a Writable (e.g. process.stdout; never closed), a function given each line, or to a file (written under a
 * temporary name, put in place by `close()`).
 *
 * @throws {WriteError} The file exists (without `overwrite`) or is a directory — before anything is written.
 * @example
 * const sink = await createJsonlSink('detections.jsonl');
 * for await (const r of s) await sink.write(r);
 * await sink.close();
 */
export async function createJsonlSink(
  target: string | Writable | ((text: string) => void),
  options: FileSinkOptions = {},
): Promise<Sink> {
  assertObject('options', options as unknown);
  assertKnownKeys('options', options, ['overwrite', 'existsHint']);
  let out: Writable;
  let tmp: string | null = null;
  if (typeof target === 'string') {
    await checkWriteTarget(target, options);
    await checkTargetFolder(target);
    tmp = tempName(target);
    out = fs.createWriteStream(tmp, { flags: 'wx' });
    await new Promise<void>((resolve, reject) => {
      out.once('open', () => resolve());
      out.once('error', (err) =>
        reject(
          new WriteError(
            `Cannot write ${target}: ${err.message}`,
            (err as NodeJS.ErrnoException).code ?? 'ERR_SSD_EDGE_WRITE',
          ),
        ),
      );
    });
  } else if (typeof target === 'function') {
    const fn = target;
    out = new Writable({
      write(chunk: Buffer, _enc, cb) {
        fn(chunk.toString());
        cb();
      },
    });
  } else if (target && typeof (target as Writable).write === 'function') out = target;
  else throw invalidParameterError('target', 'file path, Writable stream or function', target);
  let failure: Error | null = null;
  out.on('error', (err) => (failure ??= err));
  let closed = false;
  return {
    async write(r) {
      if (failure) throw failure;
      if (!out.write(`${JSON.stringify(toJsonlRecord(r))}\n`))
        await new Promise<void>((resolve) => {
          const done = () => {
            out.off('drain', done);
            out.off('error', done);
            out.off('close', done);
            resolve();
          };
          out.on('drain', done);
          out.on('error', done);
          out.on('close', done);
        });
    },
    async close() {
      if (closed) return;
      closed = true;
      if (tmp === null) return;
      await new Promise<void>((resolve) => out.end(resolve));
      if (failure) {
        await fs.promises.rm(tmp, { force: true });
        throw new WriteError(`Cannot write ${target as string}: ${(failure as Error).message}`, 'ERR_SSD_EDGE_WRITE');
      }
      await commit(tmp, target as string, options);
    },
  };
}

/** Options of {@link createVideoSink}. */
export interface VideoSinkOptions extends FileSinkOptions {
  /** Frames per second of the video (default: from the first two results' pts, else 25). */
  fps?: number;
  /** ffmpeg video encoder (default 'libx264', H.264). */
  codec?: string;
  /** Container format (default from the extension: mp4 for .mp4, matroska for .mkv, …; 'mp4' when unknown). */
  format?: string;
}

const CONTAINERS: Record<string, string> = {
  '.mp4': 'mp4',
  '.m4v': 'mp4',
  '.mov': 'mov',
  '.mkv': 'matroska',
  '.webm': 'webm',
  '.avi': 'avi',
};

/**
 * An annotated video: each result's image (`image: true` in the stream) with its boxes and labels drawn, encoded
 * by ffmpeg into `target` (H.264 in mp4 by default), written under a temporary name and put in place by `close()`.
 * Frames go at a constant rate (frames dropped by the `latest` policy are simply absent: the video plays faster).
 *
 * @throws {WriteError} The target exists (without `overwrite`) — before anything runs.
 * @throws {Error} On write: a result without `image`; ffmpeg's encoder failing (its message).
 */
export async function createVideoSink(target: string, options: VideoSinkOptions = {}): Promise<Sink> {
  assertObject('options', options as unknown);
  assertKnownKeys('options', options, ['overwrite', 'existsHint', 'fps', 'codec', 'format']);
  if (typeof target !== 'string' || target === '')
    throw invalidParameterError('target', 'path of a video file', target);
  await checkWriteTarget(target, { overwrite: options.overwrite, existsHint: options.existsHint });
  await checkTargetFolder(target);
  const format = options.format ?? CONTAINERS[path.extname(target).toLowerCase()] ?? 'mp4';
  const tmp = tempName(target);
  let proc: FfmpegProcess | null = null;
  let pending: SinkResult | null = null;
  let closed = false;

  const start = (fps: number) => {
    const args = ['-hide_banner', '-nostats', '-loglevel', 'error', '-f', 'image2pipe', '-framerate', String(fps)];
    args.push('-c:v', 'mjpeg', '-i', 'pipe:0', '-c:v', options.codec ?? 'libx264');
    if ((options.codec ?? 'libx264') === 'libx264') args.push('-preset', 'veryfast');
    args.push('-pix_fmt', 'yuv420p', '-vf', 'pad=ceil(iw/2)*2:ceil(ih/2)*2');
    if (format === 'mp4' || format === 'mov') args.push('-movflags', '+faststart');
    args.push('-f', format, '-y', tmp);
    proc = new FfmpegProcess(args, { stdin: true });
  };

  const send = async (r: SinkResult) => {
    if (!r.image) throw new TypeError("The video sink needs each result's image: run the stream with image: true");
    const jpeg = await draw(r.image, drawable(r), { format: 'jpeg', quality: 92 });
    const stdin = proc!.child.stdin!;
    if (proc!.child.exitCode !== null)
      throw new Error(`Cannot encode ${target}: ${proc!.lastError() || 'ffmpeg exited'}`);
    if (!stdin.write(jpeg))
      await new Promise<void>((resolve) => {
        const done = () => {
          stdin.off('drain', done);
          stdin.off('close', done);
          resolve();
        };
        stdin.on('drain', done);
        stdin.on('close', done);
      });
  };

  return {
    async write(r) {
      if (closed) throw new Error(`Video sink ${target} is closed`);
      if (!proc) {
        if (options.fps === undefined && !pending) {
          pending = r; // the rate comes from the first two pts
          return;
        }
        const dt = pending ? r.pts - pending.pts : NaN;
        start(options.fps ?? (Number.isFinite(dt) && dt > 0 ? Math.min(240, 1 / dt) : 25));
      }
      if (pending) {
        const p = pending;
        pending = null;
        await send(p);
      }
      await send(r);
    },
    async close() {
      if (closed) return;
      closed = true;
      if (!proc && pending) start(options.fps ?? 25);
      if (pending) await send(pending);
      if (!proc) return; // no frame: no video
      const p = proc as FfmpegProcess;
      const code = await p.finish();
      if (code !== 0) {
        await fs.promises.rm(tmp, { force: true });
        throw new Error(`Cannot encode ${target}: ffmpeg exited with ${code}: ${p.lastError() || 'no message'}`);
      }
      await commit(tmp, target, options);
    },
  };
}

/** Options of {@link createSnapshotSink}. */
export interface SnapshotSinkOptions {
  /** Class ids of interest (default: every class). */
  classes?: ReadonlySet<number> | null;
  /** JPEG quality (default 90). */
  quality?: number;
}

/**
 * Snapshots: when a class of interest appears (present in a frame, absent from the previous processed one), the
 * frame with all its boxes drawn is written as `frame-<n>-<label>.jpg` into `dir` (created), atomically, never over
 * an existing file. Needs each result's image (`image: true`).
 *
 * @returns The sink; `written` lists the files written.
 */
export async function createSnapshotSink(
  dir: string,
  options: SnapshotSinkOptions = {},
): Promise<Sink & { written: string[] }> {
  assertObject('options', options as unknown);
  assertKnownKeys('options', options, ['classes', 'quality']);
  if (typeof dir !== 'string' || dir === '') throw invalidParameterError('dir', 'path of a directory', dir);
  try {
    await fs.promises.mkdir(dir, { recursive: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'EEXIST' || code === 'ENOTDIR'
        ? 'it (or a folder above it) is a file, not a folder'
        : (err as Error).message;
    throw new WriteError(`Cannot write snapshots to ${dir}: ${why}`, code ?? 'ERR_SSD_EDGE_WRITE', { cause: err });
  }
  let previous = new Set<number>();
  const written: string[] = [];
  const interest = options.classes ?? null;
  return {
    written,
    async write(r) {
      const present = new Set(r.detections.map((d) => d.classId).filter((c) => !interest || interest.has(c)));
      const appeared = [...present].filter((c) => !previous.has(c));
      previous = present;
      if (appeared.length === 0) return;
      if (!r.image) throw new TypeError("The snapshot sink needs each result's image: run the stream with image: true");
      const labels = appeared
        .map((c) => r.detections.find((d) => d.classId === c)!.label.replace(/[^\w.-]+/g, '_'))
        .join('+');
      const file = path.join(dir, `frame-${String(r.frame).padStart(6, '0')}-${labels}.jpg`);
      const jpeg = await draw(r.image, drawable(r), { format: 'jpeg', quality: options.quality ?? 90 });
      await writeFileAtomic(file, jpeg, { existsHint: 'snapshots never replace a file' });
      written.push(file);
    },
    async close() {},
  };
}
