/**
 * `ssd-edge/stream`: detections over video — sources (the system ffmpeg for files, globs, cameras, URLs, stdin; a push
 * source for an app's own frames), the pipeline that overlaps the detector's stages on successive frames with bounded
 * queues, sinks (JSONL, annotated video, snapshots), the tracker (`createTracker`) and the live preview server
 * (`createPreviewServer`). Kept out of the main entry.
 */
export { stream, STREAM_OPTION_KEYS, type StreamOptions } from './stream.ts';
export {
  DetectionStream,
  FrameQueue,
  percentile,
  StatsTracker,
  STREAM_POLICIES,
  type DetectionStreamEvents,
  type PipelineOptions,
  type StreamPolicy,
  type StreamResult,
  type StreamStats,
} from './pipeline.ts';
export {
  checkSource,
  createPushSource,
  ffmpegArgs,
  FfmpegSource,
  isLive,
  openSource,
  sourceKind,
  type Frame,
  type FrameHandler,
  type FrameSource,
  type PushSource,
  type RawInputOptions,
  type ReconnectInfo,
  type SourceKind,
  type SourceOptions,
} from './sources.ts';
export { FfmpegMissingError, findFfmpeg } from './ffmpeg.ts';
export { FrameCutter, parseShowinfo } from './frame-reader.ts';
export {
  createJsonlSink,
  createSnapshotSink,
  createVideoSink,
  toJsonlRecord,
  type JsonlDetection,
  type JsonlRecord,
  type Sink,
  type SinkResult,
  type SnapshotSinkOptions,
  type VideoSinkOptions,
} from './sinks.ts';
export {
  BoxKalmanFilter,
  createTracker,
  linearAssignment,
  TRACKER_DEFAULTS,
  TRACKER_OPTION_KEYS,
  type TrackableDetection,
  type TrackedDetection,
  type Tracker,
  type TrackerOptions,
} from './tracker.ts';
export {
  createPreviewServer,
  PREVIEW_SERVER_OPTION_KEYS,
  type PreviewDetection,
  type PreviewFrameInfo,
  type PreviewServer,
  type PreviewServerOptions,
  type PreviewStats,
  type PreviewStatus,
} from './serve.ts';
