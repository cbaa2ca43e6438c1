/**
 * Stream throughput in `every` mode against the model's own speed, measured in the same run:
 * processed fps vs 1 / (median forward time) of the same model on the same input size. The target: ≥ 0.9×
 * (pipelining hides decode, preprocess and postprocess behind the forward pass).
 *
 *   node --import=tsx bench/stream.ts [--passes 3] [--loops 4] [--seconds 20] [--worker]   → bench/results/stream.json
 *
 * (`--worker`: the every-mode passes with ONNX Runtime in a worker thread, two frames in flight.)
 *
 * The source is the 30-frame test clip (test/fixtures/stream/vtest_30.mp4, 384×288) looped `loops` + 1 times by ffmpeg
 * (`-stream_loop`), scaled by ffmpeg to the default face model's 512×384. Each pass: 30 timed forward passes on a
 * prepared frame of that size (after 3 warm-up ones), then one stream run; processed fps counts from the first result
 * to the last (the ffmpeg start-up is not in it). Passes alternate so that load from other processes spreads over both.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Detector } from '../lib/detector/detector.ts';
import { forward, inputDims } from '../lib/detector/stages.ts';
import { preprocess } from '../lib/image/preprocess.ts';
import { percentile, stream, type StreamStats } from '../lib/stream/index.ts';
import { openSource, type Frame } from '../lib/stream/sources.ts';
import { machine, summarize, type Timing } from './measure.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLIP = path.join(root, 'test', 'fixtures', 'stream', 'vtest_30.mp4');

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

export interface StreamBenchPass {
  forward: Timing;
  frames: number;
  /** Processed frames per second, first result to last. */
  processedFps: number;
  /** 1000 / median forward ms. */
  forwardFps: number;
  ratio: number;
  latencyP50: number;
  latencyP95: number;
  /** Median forward ms inside the stream run, and processed fps against it (the pipeline's own overhead, whatever
   * the machine's load did between the two phases). */
  inStreamForwardMs: number;
  inStreamRatio: number;
}

/** One frame of the clip at the model geometry, as the stream gets it. */
async function firstFrame(width: number, height: number, resize: 'stretch' | 'pad' | 'letterbox'): Promise<Frame> {
  const src = openSource(CLIP, { scale: { width, height, resize } });
  return new Promise((resolve, reject) =>
    src.start({
      frame: (f) => {
        void src.stop();
        resolve(f);
      },
      end: () => reject(new Error('no frame')),
      error: reject,
      reconnect: () => {},
    }),
  );
}

export async function benchStream(options: { passes?: number; loops?: number; worker?: boolean } = {}) {
  const { passes = 3, loops = 4, worker = false } = options;
  const detector = await Detector.load(undefined, { device: 'cpu', worker });
  const { spec } = detector;
  const frame = await firstFrame(spec.input.width, spec.input.height, spec.input.resize);
  const data = new Float32Array(3 * spec.input.width * spec.input.height);
  preprocess(frame.image, spec.input, { out: data });
  const input = { data, dims: inputDims(spec.input, 1) };
  const results: StreamBenchPass[] = [];
  try {
    for (let p = 0; p < passes; p++) {
      const ms: number[] = [];
      for (let i = 0; i < 33; i++) {
        const out = await forward(detector.session, spec, input);
        if (i >= 3) ms.push(out.ms);
      }
      const fwd = summarize(ms);
      const s = stream(detector, CLIP, { inputArgs: ['-stream_loop', String(loops)] });
      let first = 0;
      let last = 0;
      let n = 0;
      for await (const _ of s) {
        last = performance.now();
        if (n++ === 0) first = last;
      }
      const st = s.stats();
      const processedFps = ((n - 1) * 1000) / (last - first);
      const forwardFps = 1000 / fwd.median;
      results.push({
        forward: fwd,
        frames: n,
        processedFps,
        forwardFps,
        ratio: processedFps / forwardFps,
        latencyP50: st.latencyMs.p50,
        latencyP95: st.latencyMs.p95,
        inStreamForwardMs: st.forwardMs,
        inStreamRatio: (processedFps * st.forwardMs) / 1000,
      });
      console.log(
        `pass ${p + 1}: ${n} frames, processed ${processedFps.toFixed(1)} fps, forward ${fwd.median.toFixed(1)} ms ` +
          `(${forwardFps.toFixed(1)} fps) → ratio ${(processedFps / forwardFps).toFixed(3)}; forward in the stream ` +
          `${st.forwardMs.toFixed(1)} ms → ratio ${((processedFps * st.forwardMs) / 1000).toFixed(3)}`,
      );
    }
  } finally {
    await detector.dispose();
  }
  const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
  return {
    worker,
    loops,
    passes: results,
    medianRatio: median(results.map((r) => r.ratio)),
    medianInStreamRatio: median(results.map((r) => r.inStreamRatio)),
  };
}

/**
 * `latest` mode on a live-like source faster than the model (ffmpeg's testsrc2 at 30 fps, real time, 640×480; the
 * detector in a worker thread by default, as the CLI runs it for `latest`):
 * latency p50/p95 (capture → result) against the median forward time inside the run, and p95 of the first and the
 * second half of the run (a growing latency would show there).
 */
export async function benchLatest(options: { seconds?: number; worker?: boolean } = {}) {
  const { seconds = 20, worker = true } = options;
  const detector = await Detector.load(undefined, { device: 'cpu', worker });
  const latencies: number[] = [];
  let stats: StreamStats;
  try {
    const s = stream(detector, 'testsrc2=size=640x480:rate=30', { format: 'lavfi', realtime: true, policy: 'latest' });
    const end = performance.now() + seconds * 1000;
    for await (const r of s) {
      latencies.push(r.latencyMs);
      if (performance.now() > end) break;
    }
    stats = s.stats();
  } finally {
    await detector.dispose();
  }
  const half = Math.floor(latencies.length / 2);
  return {
    worker,
    seconds,
    frames: stats.frames,
    processed: stats.processed,
    dropped: stats.dropped,
    forwardMs: stats.forwardMs,
    latencyP50: percentile(latencies, 50),
    latencyP95: percentile(latencies, 95),
    p95FirstHalf: percentile(latencies.slice(0, half), 95),
    p95SecondHalf: percentile(latencies.slice(half), 95),
    p95OverForward: percentile(latencies, 95) / stats.forwardMs,
  };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const result = await benchStream({
    passes: arg('--passes', 3),
    loops: arg('--loops', 4),
    worker: process.argv.includes('--worker'),
  });
  console.log(
    `median ratio processed fps / (1 / forward): ${result.medianRatio.toFixed(3)} (target ≥ 0.9); ` +
      `against the forward time inside the stream: ${result.medianInStreamRatio.toFixed(3)}`,
  );
  // latest runs ONNX Runtime in a worker, as the CLI does for it (see the policy notes in lib/stream/pipeline.ts)
  const latest = await benchLatest({ seconds: arg('--seconds', 20), worker: true });
  console.log(
    `latest, 30 fps source, ${latest.seconds} s: ${latest.processed} processed, ${latest.dropped} dropped; latency p50 ` +
      `${latest.latencyP50.toFixed(0)} ms, p95 ${latest.latencyP95.toFixed(0)} ms = ${latest.p95OverForward.toFixed(2)} × forward ` +
      `(${latest.forwardMs.toFixed(0)} ms; target ≤ 2); p95 first half ${latest.p95FirstHalf.toFixed(0)} ms, second half ${latest.p95SecondHalf.toFixed(0)} ms`,
  );
  const out = path.join(root, 'bench', 'results', 'stream.json');
  fs.writeFileSync(
    out,
    `${JSON.stringify({ machine: machine(), date: new Date().toISOString(), every: result, latest }, null, 2)}\n`,
  );
  console.log(`→ ${path.relative(root, out)}`);
}
