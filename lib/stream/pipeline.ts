/**
 * The stream pipeline: frames from a source go through a bounded queue into the detector's stages
 * (lib/detector/stages.ts: preprocess → forward → finish), several frames at once when the session runs in a worker
 * (`concurrency`), results out in frame order.
 *
 *   source ──► FrameQueue (bounded) ──► preprocess ─► forward (one at a time) ─► finish ──► results (in order)
 *
 * Policies when the detector is slower than the source:
 * - `every`: no frame is lost. A full queue pauses the source (ffmpeg then blocks on its full pipe), so a file is
 *   read exactly as fast as it is processed. Default for files, globs and stdin.
 * - `latest`: the queue keeps only the newest frames; older ones are dropped (and counted), so the picture is never
 *   more than queue + in-flight frames old, however long the run. Default for devices, URLs and pushed frames.
 *   Load the detector with `worker: true` for it: onnxruntime-node's in-process forward pass blocks the event loop,
 *   so ffmpeg's pipe is not read meanwhile and frames back up in ffmpeg and the network buffers instead of being
 *   dropped here (measured on a 30 fps source and a 260 ms forward pass: in process, input fps fell to the processed
 *   rate and no frame was dropped; in a worker, input stayed at 30 fps and the stale frames were dropped).
 *
 * Stages talk through the queue and promises only; the source (and its ffmpeg) has one owner, the stream, which stops
 * it when the iteration ends for any reason — done, `break`, an error, `stop()`.
 */
import { EventEmitter } from 'node:events';
import type { Detector } from '../detector/detector.ts';
import { classFilter, resolveDetectOptions, type DetectOptions, type Detection } from '../detector/options.ts';
import { finish, forward, inputDims, type FinishOptions } from '../detector/stages.ts';
import type { RawImage } from '../image/decode.ts';
import { preprocess, type InputTransform } from '../image/preprocess.ts';
import {
  assertBoolean,
  assertInteger,
  assertKnownKeys,
  assertObject,
  assertOneOf,
  assertInRange,
  invalidParameterError,
} from '../is.ts';
import type { Frame, FrameSource, ReconnectInfo } from './sources.ts';

export type StreamPolicy = 'latest' | 'every';
export const STREAM_POLICIES: readonly StreamPolicy[] = ['latest', 'every'];

/** Options of the pipeline (the source's own options are in `SourceOptions`). */
export interface PipelineOptions extends DetectOptions {
  /** What to do when frames come faster than they are processed (default: `every` for files, `latest` for live sources). */
  policy?: StreamPolicy;
  /** Results carry the frame's pixels (`image`, at source size for ffmpeg sources) — for overlays and sinks. */
  image?: boolean;
  /** Frames waiting for the detector at most (default 4 for `every`, 1 for `latest`). */
  queueSize?: number;
  /**
   * Frames in the stages at once (default 2 for `every` when the detector runs in a worker, so preprocess and
   * postprocess overlap the next forward pass; else 1 — for `latest` a second frame in flight would only wait).
   */
  concurrency?: number;
  /** Emit `stats` every this many ms (default 1000; 0: only once, at the end). */
  statsIntervalMs?: number;
}

export const PIPELINE_OPTION_KEYS = [
  'scoreThreshold',
  'iouThreshold',
  'maxDetections',
  'classes',
  'policy',
  'image',
  'queueSize',
  'concurrency',
  'statsIntervalMs',
] as const satisfies ReadonlyArray<keyof PipelineOptions>;

/** One processed frame. */
export interface StreamResult {
  /** Frame number from 0 (gaps are frames dropped by the `latest` policy). */
  frame: number;
  /** Presentation timestamp in seconds. */
  pts: number;
  /** Wall-clock capture time, ms since the epoch. */
  time: number;
  /** Detections, boxes in source pixels (as `Detector.detect`), by decreasing score. */
  detections: Detection[];
  /** Source frame size. */
  width: number;
  height: number;
  /** Capture → result, ms. */
  latencyMs: number;
  /** The frame's pixels (with `image: true`). */
  image?: RawImage;
}

/** Running statistics (event `stats`, `stream.stats()`). Rates over the most recent frames (up to 5 s). */
export interface StreamStats {
  /** Frames received from the source. */
  frames: number;
  /** Frames processed (results out). */
  processed: number;
  /** Frames dropped by the `latest` policy. */
  dropped: number;
  /** Reconnects of the source. */
  reconnects: number;
  /** Frames per second received, and processed. */
  inputFps: number;
  processedFps: number;
  /** Capture → result over the last 512 results, ms. */
  latencyMs: { p50: number; p95: number };
  /** Median forward pass over the last 512, ms. */
  forwardMs: number;
  /** Since the stream started, ms. */
  elapsedMs: number;
}

/** The ring size of latencies and timestamps kept for statistics. */
const WINDOW = 512;
const RATE_WINDOW_MS = 5000;

/** p-th percentile (nearest rank) of a copy of `values`; NaN when empty. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

/** Counters, rates and latency percentiles of a stream. */
export class StatsTracker {
  frames = 0;
  processed = 0;
  dropped = 0;
  reconnects = 0;
  readonly #start = performance.now();
  readonly #arrivals: number[] = [];
  readonly #outs: number[] = [];
  readonly #latencies: number[] = [];
  readonly #forwards: number[] = [];

  arrived(now = performance.now()): void {
    this.frames++;
    push(this.#arrivals, now);
  }

  done(latencyMs: number, forwardMs: number, now = performance.now()): void {
    this.processed++;
    push(this.#outs, now);
    push(this.#latencies, latencyMs);
    push(this.#forwards, forwardMs);
  }

  snapshot(now = performance.now()): StreamStats {
    return {
      frames: this.frames,
      processed: this.processed,
      dropped: this.dropped,
      reconnects: this.reconnects,
      inputFps: rate(this.#arrivals, now),
      processedFps: rate(this.#outs, now),
      latencyMs: { p50: percentile(this.#latencies, 50), p95: percentile(this.#latencies, 95) },
      forwardMs: percentile(this.#forwards, 50),
      elapsedMs: now - this.#start,
    };
  }
}

function push(ring: number[], v: number): void {
  ring.push(v);
  if (ring.length > WINDOW) ring.shift();
}

/** Events per second over the timestamps of the last {@link RATE_WINDOW_MS}. */
function rate(times: readonly number[], now: number): number {
  let k = times.length - 1;
  while (k > 0 && now - times[k - 1] <= RATE_WINDOW_MS) k--;
  const n = times.length - k;
  if (n < 2) return 0;
  return ((n - 1) * 1000) / (times[times.length - 1] - times[k]);
}

/**
 * The bounded queue between a source and the stages. `every`: a full queue pauses the source and a `take` that makes
 * room resumes it. `latest`: a frame arriving at a full queue pushes out the oldest (counted in `dropped`).
 */
export class FrameQueue {
  readonly #frames: Frame[] = [];
  #waiter: { resolve: (f: Frame | null) => void; reject: (e: Error) => void } | null = null;
  #ended = false;
  #error: Error | null = null;
  dropped = 0;

  constructor(
    readonly capacity: number,
    readonly policy: StreamPolicy,
    readonly source: Pick<FrameSource, 'pause' | 'resume'>,
  ) {}

  get length(): number {
    return this.#frames.length;
  }

  put(frame: Frame): void {
    if (this.#ended) return;
    if (this.#waiter) {
      const w = this.#waiter;
      this.#waiter = null;
      w.resolve(frame);
      return;
    }
    this.#frames.push(frame);
    if (this.policy === 'latest') {
      while (this.#frames.length > this.capacity) {
        this.#frames.shift();
        this.dropped++;
      }
    } else if (this.#frames.length >= this.capacity) this.source.pause();
  }

  /** The source has no more frames: takes drain what is queued, then get null. */
  end(): void {
    this.#ended = true;
    this.#settle();
  }

  /** The source failed: takes drain what is queued, then throw. */
  fail(err: Error): void {
    this.#error ??= err;
    this.#ended = true;
    this.#settle();
  }

  /** The next frame, null once the source has ended and the queue is empty. @throws The source's error. */
  take(): Promise<Frame | null> {
    const f = this.#frames.shift();
    if (f) {
      if (this.policy === 'every' && this.#frames.length < this.capacity) this.source.resume();
      return Promise.resolve(f);
    }
    if (this.#error) return Promise.reject(this.#error);
    if (this.#ended) return Promise.resolve(null);
    if (this.policy === 'every') this.source.resume();
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject };
    });
  }

  #settle(): void {
    if (!this.#waiter || this.#frames.length > 0) return;
    const w = this.#waiter;
    this.#waiter = null;
    if (this.#error) w.reject(this.#error);
    else w.resolve(null);
  }
}

/** Checks {@link PipelineOptions}' own fields (keys are checked by the caller). */
export function checkPipelineOptions(o: PipelineOptions): void {
  if (o.policy !== undefined) assertOneOf('policy', o.policy, STREAM_POLICIES);
  if (o.image !== undefined) assertBoolean('image', o.image);
  if (o.queueSize !== undefined) assertInteger('queueSize', o.queueSize, 1);
  if (o.concurrency !== undefined) assertInteger('concurrency', o.concurrency, 1);
  if (o.statsIntervalMs !== undefined) assertInRange('statsIntervalMs', o.statsIntervalMs, 0, Infinity);
}

/** Events of a {@link DetectionStream}. */
export interface DetectionStreamEvents {
  stats: [StreamStats];
  reconnect: [ReconnectInfo];
  error: [Error];
  end: [StreamStats];
}

/**
 * Detections over a source: an async iterable of {@link StreamResult} (in frame order) and an EventEmitter of
 * `stats` (every `statsIntervalMs`), `reconnect` (each retry of a live source), `error` (the failure that ends
 * the stream, when a listener is attached; the iteration throws it too) and `end` (final stats, always last).
 *
 * Iterate it once. Leaving the loop (`break`, `return`, an exception) or calling {@link stop} stops the source and
 * its ffmpeg; `stopped` resolves once nothing is left running.
 *
 * @example
 * const s = stream(detector, 'rtsp://cam/stream');
 * s.on('stats', (st) => console.log(st.processedFps, st.latencyMs.p95));
 * for await (const r of s) if (r.detections.length) console.log(r.frame, r.detections);
 */
export class DetectionStream extends EventEmitter<DetectionStreamEvents> implements AsyncIterable<StreamResult> {
  readonly source: FrameSource;
  readonly policy: StreamPolicy;
  readonly #detector: Detector;
  readonly #queue: FrameQueue;
  readonly #stats = new StatsTracker();
  readonly #options: PipelineOptions;
  readonly #finishOptions: FinishOptions;
  readonly #concurrency: number;
  readonly #batch: number;
  #iterated = false;
  #stopping: Promise<void> | null = null;
  #timer: NodeJS.Timeout | null = null;
  #forwardChain: Promise<unknown> = Promise.resolve();
  #spare: Float32Array[] = [];
  #ended = false;

  constructor(detector: Detector, source: FrameSource, options: PipelineOptions = {}) {
    super();
    assertObject('options', options as unknown);
    assertKnownKeys('options', options, PIPELINE_OPTION_KEYS);
    checkPipelineOptions(options);
    this.#detector = detector;
    this.source = source;
    this.#options = options;
    const { scoreThreshold, iouThreshold, maxDetections, classes } = options;
    const resolved = resolveDetectOptions(detector.detectDefaults, {
      scoreThreshold,
      iouThreshold,
      maxDetections,
      classes,
    });
    const { spec } = detector;
    this.#finishOptions = {
      scoreThreshold: resolved.scoreThreshold,
      iouThreshold: resolved.iouThreshold,
      maxDetections: resolved.maxDetections,
      classFilter: classFilter(spec.labels, spec.postprocess.backgroundIndex, resolved.classes),
    };
    this.policy = options.policy ?? (source.live ? 'latest' : 'every');
    this.#concurrency = options.concurrency ?? (detector.inWorker && this.policy === 'every' ? 2 : 1);
    const input = detector.session.inputMetadata.find((m) => m.name === spec.input.name);
    const b = input?.shape?.[0];
    this.#batch = spec.input.dynamicBatch || typeof b !== 'number' ? 1 : b;
    this.#queue = new FrameQueue(options.queueSize ?? (this.policy === 'every' ? 4 : 1), this.policy, source);
  }

  /** The statistics now. */
  stats(): StreamStats {
    const s = this.#stats.snapshot();
    s.dropped = this.#queue.dropped;
    return s;
  }

  /** Stops the source (kills ffmpeg); the iteration ends after the frames in flight. Resolves once all is stopped. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      this.#queue.end();
      await this.source.stop();
    })();
    return this.#stopping;
  }

  [Symbol.asyncIterator](): AsyncIterator<StreamResult> {
    if (this.#iterated) throw new Error('A DetectionStream can be iterated once');
    this.#iterated = true;
    return this.#run();
  }

  async *#run(): AsyncGenerator<StreamResult> {
    const queue = this.#queue;
    this.source.start({
      frame: (f) => {
        this.#stats.arrived(f.captured);
        queue.put(f);
      },
      end: () => queue.end(),
      error: (err) => queue.fail(err),
      reconnect: (info) => {
        this.#stats.reconnects++;
        this.emit('reconnect', info);
      },
    });
    const interval = this.#options.statsIntervalMs ?? 1000;
    if (interval > 0) {
      this.#timer = setInterval(() => this.emit('stats', this.stats()), interval);
      this.#timer.unref();
    }
    const inflight: Array<Promise<StreamResult>> = [];
    let failure: Error | null = null;
    try {
      for (;;) {
        const frame = await queue.take();
        if (!frame) break;
        const p = this.#process(frame);
        p.catch(() => {}); // awaited in order below; no unhandled rejection meanwhile
        inflight.push(p);
        if (inflight.length >= this.#concurrency) yield this.#deliver(await inflight.shift()!);
      }
      while (inflight.length > 0) yield this.#deliver(await inflight.shift()!);
    } catch (err) {
      failure = err instanceof Error ? err : new Error(String(err));
      throw failure;
    } finally {
      if (this.#timer) clearInterval(this.#timer);
      await this.stop();
      await Promise.allSettled(inflight);
      if (failure && this.listenerCount('error') > 0) this.emit('error', failure);
      this.#ended = true;
      this.emit('end', this.stats());
    }
  }

  /** Whether the iteration has finished (`end` emitted). */
  get ended(): boolean {
    return this.#ended;
  }

  #deliver(r: StreamResult): StreamResult {
    const now = performance.now();
    r.latencyMs = now - r.latencyMs; // held the capture time until now
    this.#stats.done(r.latencyMs, (r as { forwardMs?: number }).forwardMs ?? NaN, now);
    delete (r as { forwardMs?: number }).forwardMs;
    return r;
  }

  /** preprocess → forward (serialized) → finish, boxes mapped to the source frame. */
  async #process(frame: Frame): Promise<StreamResult> {
    const spec = this.#detector.spec;
    const per = 3 * spec.input.width * spec.input.height;
    const buf = this.#spare.pop() ?? new Float32Array(per * this.#batch);
    let transform: InputTransform;
    let output: Awaited<ReturnType<typeof forward>>;
    try {
      transform = preprocess(frame.image, spec.input, { out: buf }).transform;
      const input = { data: buf, dims: inputDims(spec.input, this.#batch) };
      const run = this.#forwardChain.then(() => forward(this.#detector.session, spec, input));
      this.#forwardChain = run.catch(() => {});
      output = await run;
    } finally {
      this.#spare.push(buf);
    }
    const [detections] = await finish(
      output,
      spec,
      this.#detector.anchors,
      [toSource(transform, frame)],
      this.#finishOptions,
    );
    const r: StreamResult & { forwardMs: number } = {
      frame: frame.index,
      pts: frame.pts,
      time: frame.time,
      detections,
      width: frame.sourceWidth,
      height: frame.sourceHeight,
      latencyMs: frame.captured,
      forwardMs: output.ms,
    };
    if (this.#options.image) r.image = frame.image;
    return r;
  }
}

/**
 * The transform of a frame scaled by ffmpeg (`image` smaller than the source) extended to the source's pixels: boxes
 * map through the model's resize to the scaled frame, then by source/scaled size per axis, clipped to the source.
 */
export function toSource(
  t: InputTransform,
  frame: Pick<Frame, 'image' | 'sourceWidth' | 'sourceHeight'>,
): InputTransform {
  const { width, height } = frame.image;
  if (width === frame.sourceWidth && height === frame.sourceHeight) return t;
  if (!(frame.sourceWidth > 0 && frame.sourceHeight > 0))
    throw invalidParameterError('frame.sourceWidth', 'positive source size', frame.sourceWidth);
  return {
    ...t,
    srcWidth: frame.sourceWidth,
    srcHeight: frame.sourceHeight,
    scaleX: (t.scaleX * frame.sourceWidth) / width,
    scaleY: (t.scaleY * frame.sourceHeight) / height,
  };
}
