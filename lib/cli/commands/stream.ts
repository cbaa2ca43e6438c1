/**
 * `ssd-edge stream <source>`: detections over a video file, an image glob, a camera, an RTSP/RTMP/HTTP(S) URL or stdin,
 * as JSON lines (stdout by default, or --jsonl FILE), an annotated video (--out) and snapshots (--snapshot-dir).
 *
 * SIGINT/SIGTERM stop it cleanly: the source (and its ffmpeg) is stopped, the results in flight are written, the
 * sinks are closed (files put in place), the final stats printed with --stats; exit code 0. A source that fails for
 * good (a file ffmpeg cannot read, a live source with --once) ends with one error line and exit code 1, after the
 * sinks are closed with what was computed.
 */
import fs from 'node:fs';
import { Command, Option } from 'commander';
import { Detector } from '../../detector/detector.ts';
import { classFilter } from '../../detector/options.ts';
import { fileIds } from '../../files.ts';
import { STREAM_POLICIES, type StreamPolicy, type StreamStats } from '../../stream/pipeline.ts';
import {
  createJsonlSink,
  createSnapshotSink,
  createVideoSink,
  type Sink,
  type SinkResult,
} from '../../stream/sinks.ts';
import { createPreviewServer, type PreviewServer } from '../../stream/serve.ts';
import { createTracker, TRACKER_DEFAULTS } from '../../stream/tracker.ts';
import { checkSource, isLive, sourceKind, type RawInputOptions } from '../../stream/sources.ts';
import { stream, type StreamOptions } from '../../stream/stream.ts';
import { errorLine, UsageError } from '../handle-error.ts';
import {
  addOptions,
  modelOptions,
  parseNumber,
  resolveThresholds,
  thresholdOptions,
  type ModelCliOptions,
  type ThresholdCliOptions,
} from '../options.ts';
import { type CliIo, processIo } from '../output.ts';

export interface StreamCliOptions extends ModelCliOptions, ThresholdCliOptions {
  fps?: number;
  policy?: StreamPolicy;
  format?: string;
  realtime?: boolean;
  raw?: RawInputOptions;
  track?: boolean;
  jsonl?: string;
  out?: string;
  overwrite?: boolean;
  serve?: number;
  serveHost?: string;
  snapshotDir?: string;
  stats?: boolean;
  once?: boolean;
  stallTimeout?: number;
  reconnectMax?: number;
  worker?: boolean;
  maxFrames?: number;
}

/** `WxH[:pixfmt[:rate]]` → raw stdin options. */
export function parseRaw(value: string): RawInputOptions {
  const m = /^(\d+)x(\d+)(?::(\w+))?(?::(\d+(?:\.\d+)?))?$/.exec(value.trim());
  if (!m || Number(m[1]) < 1 || Number(m[2]) < 1)
    throw new UsageError(`--raw must be WIDTHxHEIGHT[:PIXEL_FORMAT[:RATE]] (e.g. 640x480:bgr24:30), not '${value}'`);
  const raw: RawInputOptions = { width: Number(m[1]), height: Number(m[2]) };
  if (m[3]) raw.pixelFormat = m[3];
  if (m[4]) raw.rate = Number(m[4]);
  return raw;
}

/** One `--stats` line. */
export function statsLine(s: StreamStats): string {
  const f = (v: number, d = 1) => (Number.isFinite(v) ? v.toFixed(d) : '-');
  return (
    `frames ${s.frames} processed ${s.processed} dropped ${s.dropped} | in ${f(s.inputFps)} fps, out ${f(s.processedFps)} fps | ` +
    `latency p50 ${f(s.latencyMs.p50, 0)} ms p95 ${f(s.latencyMs.p95, 0)} ms | forward ${f(s.forwardMs, 0)} ms | reconnects ${s.reconnects}`
  );
}

/**
 * Runs the command; resolves to the exit code (0 done or stopped by a signal, 1 when the source or a sink failed).
 *
 * @param signals The process to watch for SIGINT/SIGTERM (tests pass their own emitter).
 */
export async function runStream(
  source: string,
  options: StreamCliOptions,
  io: CliIo = processIo,
  signals: NodeJS.EventEmitter = process,
): Promise<number> {
  const kind = sourceKind(source);
  if (options.raw && kind !== 'stdin') throw new UsageError("--raw describes frames on stdin: give '-' as the source");
  const thresholds = resolveThresholds(options);
  const outputs = [options.jsonl, options.out].filter((o): o is string => o !== undefined && o !== '-');
  if (new Set(outputs).size < outputs.length) throw new UsageError('--jsonl and --out name the same file');
  // never write over the input (a file source named as --out / --jsonl)
  if (kind === 'file') {
    const input = await fileIds([source.replace(/^file:\/\//i, '')]);
    for (const o of outputs)
      if ([...(await fileIds([o]))].some((id) => input.has(id)))
        throw new UsageError(`Not writing ${o}: it is the input`);
  }

  // a missing file, device or glob match (or ffmpeg) is said at once, not after loading the model
  checkSource(source, { format: options.format });

  // live sources (policy latest) need the event loop free to drain ffmpeg's pipe during forward passes: a worker
  const latest = (options.policy ?? (isLive(kind) ? 'latest' : 'every')) === 'latest';
  const detector = await Detector.load(options.model, {
    device: options.device,
    threads: options.threads,
    worker: options.worker ?? latest,
  });
  const sinks: Sink[] = [];
  let preview: PreviewServer | null = null;
  let code = 0;
  try {
    let classIds: Set<number> | null = null;
    try {
      classIds = classFilter(detector.labels, detector.spec.postprocess.backgroundIndex, thresholds.classes);
    } catch (err) {
      throw new UsageError(`--classes: ${errorLine(err)}`);
    }
    const hint = '--overwrite replaces it';
    // stdout gets the JSON lines unless they go to a file, or other outputs were asked for
    const jsonlTarget = options.jsonl ?? (options.out || options.snapshotDir ? undefined : '-');
    if (jsonlTarget !== undefined)
      sinks.push(
        await createJsonlSink(
          jsonlTarget === '-' ? (io === processIo ? process.stdout : (text) => io.out(text)) : jsonlTarget,
          {
            overwrite: options.overwrite,
            existsHint: hint,
          },
        ),
      );
    if (options.out) sinks.push(await createVideoSink(options.out, { overwrite: options.overwrite, existsHint: hint }));
    // snapshots are taken for --classes only (all classes without it); detections themselves keep --classes too
    if (options.snapshotDir) sinks.push(await createSnapshotSink(options.snapshotDir, { classes: classIds }));

    // --track: the tracker's second pass needs the low-score detections, so the detector's threshold defaults to the
    // tracker's lowThreshold (an explicit --score-threshold wins); only detections of confirmed tracks are written
    const tracker = options.track ? createTracker() : null;
    if (options.serve !== undefined) {
      preview = await createPreviewServer({ port: options.serve, host: options.serveHost });
      io.err(`ssd-edge: live preview on ${preview.url}\n`);
    }
    const streamOptions: StreamOptions = {
      ...thresholds,
      scoreThreshold:
        thresholds.scoreThreshold ??
        (tracker ? Math.min(TRACKER_DEFAULTS.lowThreshold, detector.detectDefaults.scoreThreshold) : undefined),
      policy: options.policy,
      fps: options.fps,
      format: options.format,
      realtime: options.realtime,
      raw: options.raw,
      once: options.once,
      stallTimeoutMs: options.stallTimeout === undefined ? undefined : options.stallTimeout * 1000,
      reconnectMaxMs: options.reconnectMax === undefined ? undefined : options.reconnectMax * 1000,
      image: Boolean(options.out || options.snapshotDir || preview),
      statsIntervalMs: options.stats ? 1000 : 0,
    };
    for (const k of Object.keys(streamOptions) as Array<keyof StreamOptions>)
      if (streamOptions[k] === undefined) delete streamOptions[k];
    const s = stream(detector, source, streamOptions);
    s.on('reconnect', (r) => {
      tracker?.reset(); // the scene may have changed while the source was away
      io.err(
        `ssd-edge: ${source}: ${r.reason}; reconnecting in ${(r.delayMs / 1000).toFixed(1)} s (attempt ${r.attempt})\n`,
      );
    });
    if (options.stats) s.on('stats', (st) => io.err(`${statsLine(st)}\n`));
    const onSignal = () => void s.stop();
    signals.on('SIGINT', onSignal);
    signals.on('SIGTERM', onSignal);
    let n = 0;
    try {
      for await (const r of s) {
        const out: SinkResult = tracker ? { ...r, detections: tracker.update(r.detections, r.frame) } : r;
        for (const sink of sinks) await sink.write(out);
        preview?.pushFrame(r.image!, out.detections, { ...s.stats() }, { frame: r.frame, pts: r.pts });
        if (options.maxFrames !== undefined && ++n >= options.maxFrames) break;
      }
    } catch (err) {
      // stdout closed by its reader (`| head`): a normal way to stop, not a failure
      if ((err as NodeJS.ErrnoException).code !== 'EPIPE') {
        io.err(`ssd-edge: ${errorLine(err)}\n`);
        code = 1;
      }
    } finally {
      signals.off('SIGINT', onSignal);
      signals.off('SIGTERM', onSignal);
      await s.stop();
    }
    for (const sink of sinks.splice(0)) {
      try {
        await sink.close();
      } catch (err) {
        io.err(`ssd-edge: ${errorLine(err)}\n`);
        code = 1;
      }
    }
    // the video sink writes nothing without a frame: say so rather than leave the user looking for the file
    if (options.out && s.stats().processed === 0)
      io.err(`ssd-edge: no frame was processed: ${options.out} not written\n`);
    if (options.stats) io.err(`final: ${statsLine(s.stats())}\n`);
    preview?.pushStats({ ...s.stats() });
  } finally {
    // sinks not closed yet (an error before the loop): close what was opened, keeping nothing half-written
    for (const sink of sinks) await sink.close().catch(() => {});
    await preview?.close();
    await detector.dispose();
  }
  return code;
}

/**
 * The `stream` command.
 *
 * @example
 * ssd-edge stream clip.mp4 --jsonl detections.jsonl --out annotated.mp4
 * ssd-edge stream rtsp://10.0.0.2/stream --stats --snapshot-dir shots --classes person
 * ffmpeg -i cam.mp4 -f rawvideo -pix_fmt bgr24 - | ssd-edge stream - --raw 1280x720:bgr24:30
 */
export function streamCommand(): Command {
  const cmd = new Command('stream')
    .description('detect objects in a video file, image glob, camera, RTSP/RTMP/HTTP stream or stdin (needs ffmpeg)')
    .argument('<source>', "video file, image glob, URL, /dev/videoN, or '-' for stdin");
  addOptions(cmd, [...modelOptions(), ...thresholdOptions()]);
  addOptions(cmd, [
    new Option('--fps <n>', 'process at most n frames per second (ffmpeg resamples)').argParser(
      parseNumber('--fps', 0.001, 1000),
    ),
    new Option(
      '--policy <policy>',
      'when frames come faster than they are processed: drop stale ones, or keep every frame (default: every for files, globs and stdin; latest for cameras and URLs)',
    ).choices(STREAM_POLICIES as StreamPolicy[]),
    new Option('--format <name>', 'ffmpeg input format (e.g. mpjpeg for MJPEG over HTTP, mjpeg on stdin, lavfi)'),
    new Option(
      '--raw <WxH[:pixfmt[:rate]]>',
      'stdin carries raw frames of this size (default pixel format rgb24, 25 fps)',
    ).argParser((v) => parseRaw(v)),
    new Option('--realtime', 'read a file at its native frame rate, as a camera would deliver it'),
    new Option('--once', 'do not reconnect a live source that fails'),
    new Option(
      '--stall-timeout <seconds>',
      'a live source that delivers no frame for this long has failed (default 10)',
    ).argParser(parseNumber('--stall-timeout', 0.1, 86400)),
    new Option(
      '--reconnect-max <seconds>',
      'longest wait between reconnects of a live source (default 30; the first is 0.5 s, doubling)',
    ).argParser(parseNumber('--reconnect-max', 0.5, 86400)),
    new Option(
      '--jsonl <file>',
      "write one JSON line per frame to this file ('-': stdout, the default without --out/--snapshot-dir)",
    ),
    new Option('-o, --out <video>', 'write an annotated video (H.264 mp4; other containers by extension)'),
    new Option('--overwrite', 'replace existing --jsonl / --out files'),
    new Option('--snapshot-dir <dir>', 'write an annotated JPEG when a class (of --classes) appears'),
    new Option('--stats', 'print input/processed fps, drops and latency every second on stderr, and at the end'),
    new Option(
      '--track',
      'track ids across frames (ByteTrack-style, Kalman motion; only tracked detections are written)',
    ),
    new Option(
      '--serve <port>',
      'live preview: an HTTP page with the annotated frames (MJPEG), detections and stats',
    ).argParser(parseNumber('--serve', 0, 65535, true)),
    new Option(
      '--serve-host <host>',
      "interface the preview listens on (default 127.0.0.1; '0.0.0.0' for the network)",
    ),
    new Option(
      '--worker',
      'run ONNX Runtime in a worker thread (default with the latest policy, so stale frames are dropped during forward passes; with every, two frames overlap in the stages)',
    ),
    new Option('--no-worker', 'run ONNX Runtime on the main thread'),
    new Option('--max-frames <n>', 'stop after n processed frames').argParser(
      parseNumber('--max-frames', 1, Number.MAX_SAFE_INTEGER, true),
    ),
  ]);
  return cmd.action(async (source: string, options: StreamCliOptions) => {
    if (options.out && !fs.existsSync(options.out) && options.out.endsWith('/'))
      throw new UsageError(`--out names a video file, not a directory: ${options.out}`);
    process.exitCode = await runStream(source, options);
  });
}
