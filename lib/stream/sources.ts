/**
 * Frame sources: one string names any input, after jetson-utils' `videoSource` — a video file, an image glob, an
 * RTSP/RTMP/HTTP(S) URL (MJPEG over HTTP included), a V4L2 device (`/dev/video0`, `v4l2:///dev/video0`) or `-`
 * (stdin: raw frames of a given size and pixel format, or MJPEG) — decoded by the system ffmpeg, plus a push source
 * an app feeds with its own frames ({@link createPushSource}).
 *
 * ffmpeg decodes and scales to the model's input geometry (or keeps the source size when the caller wants the image,
 * e.g. for an annotated video) and pipes `-f rawvideo -pix_fmt rgb24`; {@link FrameCutter} cuts the frames and
 * carries each one's presentation timestamp and source size from `showinfo` (see ./frame-reader.ts).
 *
 * Live sources (URLs, devices) that fail — ffmpeg exits, the network drops, the device goes away, or no frame comes
 * for `stallTimeoutMs` — reconnect with exponential backoff up to a cap, each retry reported; `once` turns that off.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import {
  assertBoolean,
  assertInteger,
  assertKnownKeys,
  assertObject,
  assertOneOf,
  assertPositive,
  invalidParameterError,
} from '../is.ts';
import type { RawImage } from '../image/decode.ts';
import type { ResizeMode } from '../image/preprocess.ts';
import { FfmpegProcess, findFfmpeg, passthroughArgs } from './ffmpeg.ts';
import { FrameCutter, ShowinfoPairer } from './frame-reader.ts';

/** What a source string names. */
export type SourceKind = 'file' | 'glob' | 'url' | 'device' | 'stdin' | 'push';

/** One frame from a source. */
export interface Frame {
  /** Frame number from 0, counted by the source across reconnects. */
  index: number;
  /**
   * Presentation timestamp in seconds (ffmpeg's pts_time; for a push source what the app gave, else seconds since
   * start). A live source's timeline starts again with each reconnection (`index` keeps counting).
   */
  pts: number;
  /** Wall-clock capture time (ms since the epoch) — when the frame's last byte arrived. */
  time: number;
  /** `performance.now()` at capture, for latency. */
  captured: number;
  /** RGB (or RGBA for pushed frames) pixels: at the model's geometry, or at source size when the image was asked for. */
  image: RawImage;
  /** Size of the source frame (what boxes are mapped back to). */
  sourceWidth: number;
  sourceHeight: number;
}

/** A reconnect of a live source, as reported (event `reconnect`). */
export interface ReconnectInfo {
  /** 1 for the first retry after a failure, counting up until a frame arrives again. */
  attempt: number;
  /** Wait before this retry. */
  delayMs: number;
  /** Why the connection ended (ffmpeg's error, `no frame for 10 s`, `ffmpeg exited`). */
  reason: string;
}

/** Receives what a source produces. */
export interface FrameHandler {
  frame(frame: Frame): void;
  /** The source has ended (file done, stdin closed, `end()` of a push source). */
  end(): void;
  /** The source failed and will not retry. */
  error(err: Error): void;
  /** A live source failed and retries after `delayMs`. */
  reconnect(info: ReconnectInfo): void;
}

/** A source of frames: started once, paused/resumed for back-pressure, stopped by its owner. */
export interface FrameSource {
  readonly kind: SourceKind;
  /** Live sources (cameras, URLs) are never waited for: the pipeline drops stale frames by default. */
  readonly live: boolean;
  /** For messages: the path, URL or device. */
  readonly description: string;
  start(handler: FrameHandler): void;
  /** Stop delivering frames for now (ffmpeg blocks on its full pipe: nothing is lost). */
  pause(): void;
  resume(): void;
  /** Ends the source (kills ffmpeg) and resolves once nothing is left running. Idempotent. */
  stop(): Promise<void>;
}

/** The model geometry ffmpeg scales to. */
export interface ScaleTarget {
  width: number;
  height: number;
  resize: ResizeMode;
}

/** Raw frames on stdin. */
export interface RawInputOptions {
  width: number;
  height: number;
  /** ffmpeg pixel format (default 'rgb24'; e.g. 'bgr24', 'rgba', 'yuv420p', 'gray'). */
  pixelFormat?: string;
  /** Frames per second of the input (timestamps; default 25). */
  rate?: number;
}

/** Options of an ffmpeg source. */
export interface SourceOptions {
  /** Scale to this geometry in ffmpeg (default none: frames at the source size). */
  scale?: ScaleTarget | null;
  /** Resample to this many frames per second (ffmpeg's `fps` filter). */
  fps?: number;
  /** ffmpeg input format (`-f` before `-i`: 'mjpeg', 'mpjpeg', 'v4l2', 'rtsp'…); default: ffmpeg probes. */
  format?: string;
  /** Read a file at its native rate (`-re`), as a camera would deliver it. */
  realtime?: boolean;
  /** For `-`: raw frames of this size and format; without it stdin carries MJPEG (or what `format` says). */
  raw?: RawInputOptions;
  /** For `-`: the stream to read (default process.stdin). */
  input?: Readable;
  /** Live sources: give up at the first failure instead of reconnecting (default false). */
  once?: boolean;
  /** First reconnect delay (default 500 ms), doubled per failed attempt up to `reconnectMaxMs` (default 30 000). */
  reconnectDelayMs?: number;
  reconnectMaxMs?: number;
  /** A live source that delivers no frame for this long has failed (default 10 000 ms; first frame: 3× that). */
  stallTimeoutMs?: number;
  /** Extra ffmpeg arguments placed before `-i` (e.g. ['-video_size', '1280x720'] for a camera mode). */
  inputArgs?: string[];
}

export const SOURCE_OPTION_KEYS = [
  'scale',
  'fps',
  'format',
  'realtime',
  'raw',
  'input',
  'once',
  'reconnectDelayMs',
  'reconnectMaxMs',
  'stallTimeoutMs',
  'inputArgs',
] as const satisfies ReadonlyArray<keyof SourceOptions>;

const GLOB = /[*?[]/;

/**
 * What a source string names: `-` stdin; `v4l2://…` or `/dev/videoN` a device; `file://…` a file; any other
 * `scheme://` a URL (rtsp, rtmp, http, https, udp, srt…); a string with `*`, `?` or `[` an image glob; else a file.
 *
 * @throws {TypeError} Not a non-empty string.
 */
export function sourceKind(source: unknown): Exclude<SourceKind, 'push'> {
  if (typeof source !== 'string' || source === '')
    throw invalidParameterError('source', "path, glob, URL, '/dev/videoN' or '-'", source);
  if (source === '-') return 'stdin';
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(source)?.[1]?.toLowerCase();
  if (scheme === 'v4l2') return 'device';
  if (scheme === 'file') return 'file';
  if (scheme) return 'url';
  if (/^\/dev\/video\d+$/.test(source)) return 'device';
  if (GLOB.test(source) && !fs.existsSync(source)) return 'glob';
  return 'file';
}

/**
 * Whether an image glob matches a file, for a clear error before ffmpeg starts (ffmpeg itself only says it cannot
 * determine the input format). Wildcards in the last path segment only (`frames/*.jpg`); a pattern with wildcards in a
 * folder name is left to ffmpeg (null).
 */
export function globMatches(pattern: string): boolean | null {
  const dir = path.dirname(pattern);
  if (GLOB.test(dir)) return null;
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return false;
  }
  let re = '';
  const base = path.basename(pattern);
  for (let i = 0; i < base.length; i++) {
    const c = base[i];
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = base.indexOf(']', i + 2);
      if (end < 0) return null; // an unclosed class: glob(3)'s rules, leave it to ffmpeg
      const body = base
        .slice(i + 1, end)
        .replace(/^!/, '^')
        .replace(/\\/g, '\\\\');
      re += `[${body}]`;
      i = end;
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  let matcher: RegExp;
  try {
    matcher = new RegExp(`^${re}$`);
  } catch {
    return null;
  }
  // glob(3): a leading dot is matched only by a pattern with a leading dot
  return names.some((n) => matcher.test(n) && (!n.startsWith('.') || base.startsWith('.')));
}

/**
 * Checks, before anything starts, what can be known about a source named by a string without reading it: ffmpeg is
 * installed, a file, device or image glob exists. `FfmpegSource` runs it; the CLI too, before loading the model.
 *
 * @throws {FfmpegMissingError} ffmpeg is not installed. @throws {Error} code ENOENT: no such file, device or match.
 */
export function checkSource(source: string, options: Pick<SourceOptions, 'format'> = {}): void {
  const kind = sourceKind(source);
  findFfmpeg(); // a missing ffmpeg fails here, before anything starts
  // with an input format (e.g. 'lavfi' for ffmpeg's synthetic sources) the name need not be a file
  if (kind === 'file' && !options.format && !fs.existsSync(source.replace(/^file:\/\//i, '')))
    throw Object.assign(
      new Error(
        `No such video file: ${source}${/^\w+=/.test(source) ? " (an ffmpeg filter source such as testsrc2=… needs format 'lavfi', --format lavfi)" : ''}`,
      ),
      { code: 'ENOENT' },
    );
  if (kind === 'glob' && !options.format && globMatches(source) === false)
    throw Object.assign(new Error(`No file matches the image glob ${source}`), { code: 'ENOENT' });
  if (kind === 'device' && !fs.existsSync(source.replace(/^v4l2:\/\//i, '')))
    throw Object.assign(new Error(`No such video device: ${source}`), { code: 'ENOENT' });
}

/** Whether a kind of source is live (no waiting for it: stale frames are dropped by default; reconnects). */
export function isLive(kind: SourceKind): boolean {
  return kind === 'url' || kind === 'device' || kind === 'push';
}

/** Checks {@link SourceOptions}. @throws {TypeError|RangeError} naming the option. */
export function validateSourceOptions(o: unknown): asserts o is SourceOptions {
  assertObject('options', o);
  assertKnownKeys('options', o, SOURCE_OPTION_KEYS);
  const s = o as SourceOptions;
  if (s.fps !== undefined) assertPositive('fps', s.fps, true);
  if (s.realtime !== undefined) assertBoolean('realtime', s.realtime);
  if (s.once !== undefined) assertBoolean('once', s.once);
  if (s.reconnectDelayMs !== undefined) assertPositive('reconnectDelayMs', s.reconnectDelayMs, true);
  if (s.reconnectMaxMs !== undefined) assertPositive('reconnectMaxMs', s.reconnectMaxMs, true);
  if (s.stallTimeoutMs !== undefined) assertPositive('stallTimeoutMs', s.stallTimeoutMs, true);
  if (s.format !== undefined && (typeof s.format !== 'string' || !/^[\w,.-]+$/.test(s.format)))
    throw invalidParameterError('format', "an ffmpeg input format name (e.g. 'mjpeg')", s.format);
  if (s.inputArgs !== undefined && !(Array.isArray(s.inputArgs) && s.inputArgs.every((a) => typeof a === 'string')))
    throw invalidParameterError('inputArgs', 'Array of strings', s.inputArgs);
  if (s.raw !== undefined) {
    assertObject('raw', s.raw);
    assertKnownKeys('raw', s.raw, ['width', 'height', 'pixelFormat', 'rate']);
    assertInteger('raw.width', s.raw.width, 1);
    assertInteger('raw.height', s.raw.height, 1);
    if (s.raw.rate !== undefined) assertPositive('raw.rate', s.raw.rate, true);
    if (s.raw.pixelFormat !== undefined && !/^\w+$/.test(String(s.raw.pixelFormat)))
      throw invalidParameterError('raw.pixelFormat', "an ffmpeg pixel format (e.g. 'rgb24')", s.raw.pixelFormat);
  }
  if (s.scale !== undefined && s.scale !== null) {
    assertObject('scale', s.scale);
    assertInteger('scale.width', s.scale.width, 1);
    assertInteger('scale.height', s.scale.height, 1);
    assertOneOf('scale.resize', s.scale.resize, ['stretch', 'pad', 'letterbox']);
  }
}

/**
 * ffmpeg's scale for a model geometry: 'stretch' to W×H; 'pad'/'letterbox' keep the aspect ratio, the longer side
 * fitted (round(w/s) × round(h/s), s = max(w/W, h/H), as `inputGeometry`) — the detector pads it, an identity resize.
 */
export function scaleFilter(t: ScaleTarget): string {
  if (t.resize === 'stretch') return `scale=w=${t.width}:h=${t.height}:flags=bilinear`;
  const s = `max(iw/${t.width}\\,ih/${t.height})`;
  return (
    `scale=w='max(1\\,min(${t.width}\\,round(iw/${s})))'` +
    `:h='max(1\\,min(${t.height}\\,round(ih/${s})))':flags=bilinear`
  );
}

/** The ffmpeg command line of a source (exported for tests); the showinfo filters' indices in the chain. */
export function ffmpegArgs(
  source: string,
  kind: Exclude<SourceKind, 'push'>,
  o: SourceOptions,
): { args: string[]; sourceFilter: number; outputFilter: number } {
  const info = findFfmpeg();
  const input: string[] = ['-hide_banner', '-nostats', '-loglevel', 'info'];
  if (kind !== 'stdin') input.push('-nostdin');
  if (o.realtime) input.push('-re');
  if (kind === 'url' || kind === 'device') input.push('-fflags', 'nobuffer', '-flags', 'low_delay');
  if (kind === 'url' && /^rtsps?:/i.test(source)) input.push('-rtsp_transport', 'tcp');
  let url = source;
  if (kind === 'device') {
    url = source.replace(/^v4l2:\/\//i, '');
    if (!o.format) input.push('-f', 'v4l2');
  } else if (kind === 'file') {
    url = source.replace(/^file:\/\//i, '');
    if (url.startsWith('-')) url = `file:${url}`; // never read as an option
  } else if (kind === 'glob') {
    input.push('-f', 'image2', '-pattern_type', 'glob', '-framerate', String(o.fps ?? 25));
  } else if (kind === 'stdin') {
    url = 'pipe:0';
    if (o.raw) {
      const r = o.raw;
      input.push('-f', 'rawvideo', '-pixel_format', r.pixelFormat ?? 'rgb24');
      input.push('-video_size', `${r.width}x${r.height}`, '-framerate', String(r.rate ?? 25));
    } else if (!o.format) input.push('-f', 'mjpeg');
  }
  if (o.format) input.push('-f', o.format);
  if (o.inputArgs) input.push(...o.inputArgs);
  input.push('-i', url);

  const filters: string[] = [];
  if (o.fps !== undefined && kind !== 'glob') filters.push(`fps=${o.fps}`);
  // showinfo's per-plane checksums (on by default) cost a pass over every frame; off where the option exists (5.0+)
  const showinfo = info.major === 0 || info.major >= 5 ? 'showinfo=checksum=0' : 'showinfo';
  const sourceFilter = filters.push(showinfo) - 1;
  if (o.scale) filters.push(scaleFilter(o.scale));
  filters.push('format=rgb24');
  const outputFilter = filters.push(showinfo) - 1;
  const output = ['-an', '-sn', '-dn', '-map', '0:v:0', '-vf', filters.join(','), ...passthroughArgs(info)];
  output.push('-f', 'rawvideo', '-pix_fmt', 'rgb24', '-flush_packets', '1', 'pipe:1');
  return { args: [...input, ...output], sourceFilter, outputFilter };
}

/**
 * A source read by ffmpeg. Frames are cut from its stdout; live sources reconnect on failure (see the module doc).
 *
 * @example
 * const src = openSource('rtsp://cam/stream', { scale: { width: 300, height: 300, resize: 'stretch' } });
 * src.start({ frame: (f) => …, end: () => …, error: (e) => …, reconnect: (r) => … });
 */
export class FfmpegSource implements FrameSource {
  readonly kind: Exclude<SourceKind, 'push'>;
  readonly live: boolean;
  readonly description: string;
  readonly #options: SourceOptions;
  #handler: FrameHandler | null = null;
  #proc: FfmpegProcess | null = null;
  #index = 0;
  #attempt = 0;
  #retry: NodeJS.Timeout | null = null;
  #watchdog: NodeJS.Timeout | null = null;
  #stopped = false;
  #paused = false;
  #finished = false;
  /** Why the watchdog killed the current process (reported instead of ffmpeg's exit). */
  #stallReason: string | null = null;

  constructor(source: string, options: SourceOptions = {}) {
    validateSourceOptions(options);
    this.kind = sourceKind(source);
    this.live = isLive(this.kind);
    this.description = source;
    this.#options = options;
    checkSource(source, options);
  }

  /** The running ffmpeg's pid (undefined between connections). */
  get pid(): number | undefined {
    return this.#proc?.pid;
  }

  start(handler: FrameHandler): void {
    if (this.#handler) throw new Error(`Source ${this.description} is already started`);
    this.#handler = handler;
    this.#connect();
  }

  pause(): void {
    this.#paused = true;
    this.#proc?.child.stdout?.pause();
  }

  resume(): void {
    this.#paused = false;
    this.#proc?.child.stdout?.resume();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#retry) clearTimeout(this.#retry);
    this.#clearWatchdog();
    const input = this.#options.input ?? (this.kind === 'stdin' ? process.stdin : null);
    if (input && this.#proc?.child.stdin) input.unpipe(this.#proc.child.stdin);
    await this.#proc?.stop();
  }

  #connect(): void {
    if (this.#stopped) return;
    const { args, sourceFilter, outputFilter } = ffmpegArgs(this.description, this.kind, this.#options);
    let gotFrame = false;
    const cutter = new FrameCutter((f) => {
      if (this.#stopped) return;
      gotFrame = true;
      this.#attempt = 0;
      this.#armWatchdog(this.#options.stallTimeoutMs ?? 10_000);
      this.#handler!.frame({
        index: this.#index++,
        pts: f.pts,
        time: Date.now(),
        captured: performance.now(),
        image: { data: f.data, width: f.width, height: f.height, channels: 3 },
        sourceWidth: f.sourceWidth,
        sourceHeight: f.sourceHeight,
      });
    });
    const pairer = new ShowinfoPairer(sourceFilter, outputFilter, (info) => cutter.describe(info));
    const proc = new FfmpegProcess(args, { stdin: this.kind === 'stdin', onStderrLine: (l) => pairer.line(l) });
    this.#proc = proc;
    this.#stallReason = null;
    proc.child.stdout!.on('data', (chunk: Buffer) => cutter.push(chunk));
    if (this.#paused) proc.child.stdout!.pause();
    if (this.kind === 'stdin') (this.#options.input ?? process.stdin).pipe(proc.child.stdin!);
    if (this.live) this.#armWatchdog(3 * (this.#options.stallTimeoutMs ?? 10_000));
    void proc.exited.then((code) => {
      this.#clearWatchdog();
      if (this.#stopped || this.#finished) return;
      const leftover = cutter.pending > 0 ? ` (${cutter.pending} bytes of an incomplete frame)` : '';
      const reason =
        this.#stallReason ??
        (code === 0 ? `ffmpeg ended${leftover}` : `ffmpeg exited with ${code}: ${proc.lastError() || 'no message'}`);
      if (!this.live || this.#options.once) {
        this.#finished = true;
        if (code === 0 && !this.#stallReason) this.#handler!.end();
        else this.#handler!.error(new Error(`Cannot read ${this.description}: ${reason}`));
        return;
      }
      if (!gotFrame) this.#attempt++;
      else this.#attempt = 1;
      const base = this.#options.reconnectDelayMs ?? 500;
      const delayMs = Math.min(this.#options.reconnectMaxMs ?? 30_000, base * 2 ** (this.#attempt - 1));
      this.#handler!.reconnect({ attempt: this.#attempt, delayMs, reason });
      this.#retry = setTimeout(() => {
        this.#retry = null;
        this.#connect();
      }, delayMs);
    });
  }

  #armWatchdog(ms: number): void {
    this.#clearWatchdog();
    if (!this.live) return;
    const proc = this.#proc;
    this.#watchdog = setTimeout(() => {
      this.#stallReason = `no frame for ${Math.round(ms / 100) / 10} s`;
      void proc?.stop();
    }, ms);
  }

  #clearWatchdog(): void {
    if (this.#watchdog) clearTimeout(this.#watchdog);
    this.#watchdog = null;
  }
}

/**
 * Opens a source by name (see {@link sourceKind}).
 *
 * @throws {FfmpegMissingError} ffmpeg is not installed.
 * @throws {TypeError|RangeError} Invalid options. @throws {Error} code ENOENT: a file or device that does not exist.
 */
export function openSource(source: string, options: SourceOptions = {}): FfmpegSource {
  return new FfmpegSource(source, options);
}

/** A source an app pushes its own frames into (e.g. from a camera SDK). */
export interface PushSource extends FrameSource {
  /**
   * One frame (RGB or RGBA pixels, any size; the pixels are used without a copy — do not reuse the buffer until the
   * frame's result is out). Resolves when the pipeline can take the next one (back-pressure in `every` mode;
   * immediately in `latest` mode, where stale frames are dropped).
   *
   * @throws {TypeError} Not a raw image; pushing after `end()`.
   */
  push(image: RawImage, options?: { pts?: number }): Promise<void>;
  /** No more frames: the stream ends once the frames pushed are processed. */
  end(): void;
}

/**
 * Creates a {@link PushSource}.
 *
 * @param options `live` (default true: the pipeline's default policy is then `latest`).
 * @example
 * const source = createPushSource();
 * const s = stream(detector, source);
 * camera.on('frame', (rgb) => source.push({ data: rgb, width: 640, height: 480, channels: 3 }));
 * for await (const r of s) console.log(r.detections);
 */
export function createPushSource(options: { live?: boolean } = {}): PushSource {
  assertObject('options', options);
  assertKnownKeys('options', options, ['live']);
  if (options.live !== undefined) assertBoolean('live', options.live);
  let handler: FrameHandler | null = null;
  let paused = false;
  let ended = false;
  let index = 0;
  const t0 = performance.now();
  let waiters: Array<() => void> = [];
  const wake = () => {
    const w = waiters;
    waiters = [];
    for (const f of w) f();
  };
  return {
    kind: 'push',
    live: options.live ?? true,
    description: 'pushed frames',
    start(h) {
      if (handler) throw new Error('Source pushed frames is already started');
      handler = h;
      wake();
      if (ended) h.end();
    },
    pause() {
      paused = true;
    },
    resume() {
      paused = false;
      wake();
    },
    async stop() {
      ended = true;
      wake();
    },
    async push(image, opts = {}) {
      if (ended) throw new TypeError('Cannot push a frame after end() or stop()');
      const ok =
        image !== null &&
        typeof image === 'object' &&
        (image.data instanceof Uint8Array || image.data instanceof Uint8ClampedArray) &&
        Number.isInteger(image.width) &&
        Number.isInteger(image.height) &&
        image.width > 0 &&
        image.height > 0 &&
        (image.channels === 3 || image.channels === 4) &&
        image.data.length === image.width * image.height * image.channels;
      if (!ok) throw invalidParameterError('image', '{ data, width, height, channels: 3 | 4 } raw pixels', image);
      while ((!handler || paused) && !ended) await new Promise<void>((r) => waiters.push(r));
      if (ended) return;
      const now = performance.now();
      handler!.frame({
        index: index++,
        pts: opts.pts ?? (now - t0) / 1000,
        time: Date.now(),
        captured: now,
        image,
        sourceWidth: image.width,
        sourceHeight: image.height,
      });
    },
    end() {
      if (ended) return;
      ended = true;
      wake();
      handler?.end();
    },
  };
}
