/**
 * `stream(detector, source, options)`: detections over a video file, an image glob, a camera, a URL, stdin or frames
 * an app pushes — the entry point of `ssd-edge/stream` (kept out of the main entry, which stays light).
 */
import type { Detector } from '../detector/detector.ts';
import { assertKnownKeys, assertObject, invalidParameterError } from '../is.ts';
import { DetectionStream, PIPELINE_OPTION_KEYS, type PipelineOptions } from './pipeline.ts';
import { FfmpegSource, SOURCE_OPTION_KEYS, type FrameSource, type SourceOptions } from './sources.ts';

/** Options of {@link stream}: the pipeline's and, for a source named by a string, the source's. */
export interface StreamOptions extends PipelineOptions, Omit<SourceOptions, 'scale'> {}

export const STREAM_OPTION_KEYS = [
  ...PIPELINE_OPTION_KEYS,
  ...SOURCE_OPTION_KEYS.filter((k) => k !== 'scale'),
] as const;

/**
 * Runs a detector over a stream of frames.
 *
 * A source named by a string is decoded by the system ffmpeg (see `sourceKind`): a video file, an image glob,
 * `rtsp://` / `rtmp://` / `http(s)://` (MJPEG over HTTP too), `/dev/video0`, or `-` for stdin. ffmpeg scales the
 * frames to the model's input geometry, or keeps the source size with `image: true` (results then carry the pixels).
 * A {@link FrameSource} object (e.g. `createPushSource()`) is used as is.
 *
 * @param detector A loaded {@link Detector} (`worker: true` lets two frames overlap in the stages).
 * @param source What to read.
 * @param options Thresholds (default the detector's), `policy` ('every' for files, globs and stdin; 'latest' for
 *   live sources), `image`, `fps`, reconnect settings, … ({@link StreamOptions}).
 * @returns A {@link DetectionStream}: `for await (const r of s)` gives `{ frame, pts, time, detections, … }` in order.
 * @throws {FfmpegMissingError} ffmpeg is not installed. @throws {TypeError|RangeError} Invalid or unknown options.
 * @throws {Error} code ENOENT: a video file or device that does not exist.
 * @example
 * import { Detector } from 'ssd-edge';
 * import { stream } from 'ssd-edge/stream';
 * const detector = await Detector.load();
 * for await (const r of stream(detector, 'clip.mp4')) console.log(r.frame, r.pts, r.detections.length);
 */
export function stream(detector: Detector, source: string | FrameSource, options: StreamOptions = {}): DetectionStream {
  assertObject('options', options as unknown);
  assertKnownKeys('options', options, STREAM_OPTION_KEYS);
  const pipeline: PipelineOptions = {};
  const src: SourceOptions = {};
  for (const [k, v] of Object.entries(options)) {
    if ((PIPELINE_OPTION_KEYS as readonly string[]).includes(k)) (pipeline as Record<string, unknown>)[k] = v;
    else (src as Record<string, unknown>)[k] = v;
  }
  let frames: FrameSource;
  if (typeof source === 'string') {
    const { width, height, resize } = detector.spec.input;
    frames = new FfmpegSource(source, { ...src, scale: options.image ? null : { width, height, resize } });
  } else if (source && typeof source === 'object' && typeof (source as FrameSource).start === 'function') {
    if (Object.keys(src).length > 0)
      throw new TypeError(
        `Options ${Object.keys(src)
          .map((k) => `'${k}'`)
          .join(', ')} apply to sources named by a string, not to a source object`,
      );
    frames = source;
  } else throw invalidParameterError('source', "path, glob, URL, '/dev/videoN', '-' or a FrameSource", source);
  return new DetectionStream(detector, frames, pipeline);
}
