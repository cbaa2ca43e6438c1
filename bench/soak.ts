/**
 * The soak (`npm run soak`): a long run through `stream()` that checks the pipeline leaks nothing.
 *
 *   npm run soak                               10 000 frames, `every` policy, the tiny test model (default)
 *   npm run soak -- --frames 2000 --model default      the default face model instead (≈ 8 frames/s on 2 cores)
 *   npm run soak -- --size 640x480             frames at 640×480 with their pixels (`image: true`): ffmpeg keeps the
 *                                              source size, the pipeline resizes — 0.9 MB buffers through every stage
 *   npm run soak -- --minutes 5                `latest` policy on a real-time 30 fps source for 5 minutes
 *
 * `every` run: ffmpeg's `testsrc2` at the model's input size (exactly `--frames` frames, decoded as fast as they are
 * processed), RSS sampled every `--sample` frames after a garbage collection when node runs with --expose-gc (the npm
 * script does); the first 10 % of the frames are the warm-up. Growth = mean RSS of the last 10 % of the samples over
 * the mean of the first 10 % after the warm-up, − 1. The run fails (exit code 1) when growth > `--max-growth`
 * (default 5 %), when a frame is missing or out of order, when the process has more open file descriptors
 * (/proc/self/fd) than before the stream, or when a child process (ffmpeg) started during the run is left.
 *
 * `--minutes N` run: `latest` policy, the default face model in a worker thread (the model is slower than the 30 fps
 * source, so stale frames are dropped), latency capture → result per minute: p50/p95 of each minute, the first against
 * the last. The same RSS (warm-up: the first minute), fd and child checks; also fails when the last minute's p95 is
 * above 1.5 × the first's.
 *
 * Writes bench/results/soak-<mode>.json (every, every-image, latest: summary, RSS samples), soak-<mode>-rss.png (the RSS
 * curve), both atomically (`--out DIR` elsewhere). Not part of `npm test`: it runs for minutes.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createCanvas } from '@napi-rs/canvas';
import { Detector } from '../lib/detector/detector.ts';
import { writeFileAtomic } from '../lib/files.ts';
import { FONT_FAMILY, registerFont } from '../lib/image/draw.ts';
import { percentile, stream } from '../lib/stream/index.ts';
import { writeTinyDecodedModel } from '../test/helpers/tiny-detector-model.ts';
import { machine } from './measure.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  if (i < 0) return fallback;
  const v = process.argv[i + 1];
  if (v === undefined || v.startsWith('--')) throw new TypeError(`${name} needs a value`);
  return v;
}

function numArg(name: string, fallback: number, min: number): number {
  const v = Number(arg(name, String(fallback)));
  if (!Number.isFinite(v) || v < min) throw new RangeError(`${name} must be a number ≥ ${min}, got ${arg(name, '')}`);
  return v;
}

const known = ['--size', '--frames', '--model', '--minutes', '--sample', '--max-growth', '--out'];
for (const a of process.argv.slice(2)) {
  if (a.startsWith('--') && !known.includes(a))
    throw new TypeError(`Unknown option ${a} (expected ${known.join(', ')})`);
}

/** Open file descriptors of this process. */
function fdCount(): number {
  return fs.readdirSync('/proc/self/fd').length;
}

/** Live child processes of this process (pid and command name), from /proc. */
function childProcesses(): { pid: number; comm: string }[] {
  const out: { pid: number; comm: string }[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    const close = stat.lastIndexOf(')');
    const fields = stat.slice(close + 2).split(' '); // state, ppid, …
    if (Number(fields[1]) !== process.pid) continue;
    const comm = stat.slice(stat.indexOf('(') + 1, close);
    out.push({ pid: Number(name), comm: fields[0] === 'Z' ? `${comm} (zombie)` : comm });
  }
  return out;
}

const gc = (globalThis as { gc?: () => void }).gc;
/** RSS, and the JS heap in use (a growing heap is a JS leak; RSS growing alone is native memory or fragmentation). */
function memory(): { rssMiB: number; heapMiB: number } {
  gc?.();
  const m = process.memoryUsage();
  return { rssMiB: m.rss / 2 ** 20, heapMiB: m.heapUsed / 2 ** 20 };
}

const mean = (v: readonly number[]) => v.reduce((a, b) => a + b, 0) / v.length;

interface Sample {
  /** Frame index (every) or seconds since the start (latest). */
  x: number;
  rssMiB: number;
  heapMiB: number;
}

/** Growth of the RSS after the warm-up: mean of the last tenth of the samples over the mean of the first tenth. */
function rssGrowth(samples: readonly Sample[], warmupX: number) {
  const after = samples.filter((s) => s.x >= warmupX);
  const k = Math.max(1, Math.floor(after.length / 10));
  const first = mean(after.slice(0, k).map((s) => s.rssMiB));
  const last = mean(after.slice(-k).map((s) => s.rssMiB));
  const heapFirst = mean(after.slice(0, k).map((s) => s.heapMiB));
  const heapLast = mean(after.slice(-k).map((s) => s.heapMiB));
  return {
    samplesAfterWarmup: after.length,
    firstMiB: first,
    lastMiB: last,
    growth: last / first - 1,
    heapFirstMiB: heapFirst,
    heapLastMiB: heapLast,
  };
}

/** The RSS curve as a PNG: x = frames or seconds, y = MiB, the warm-up shaded. */
function plotRss(samples: readonly Sample[], warmupX: number, xLabel: string, title: string): Buffer {
  registerFont();
  const W = 720;
  const H = 360;
  const L = 64;
  const R = 16;
  const T = 34;
  const B = 44;
  const c = createCanvas(W, H);
  const g = c.getContext('2d');
  g.fillStyle = '#ffffff';
  g.fillRect(0, 0, W, H);
  const xs = samples.map((s) => s.x);
  const ys = samples.map((s) => s.rssMiB);
  const x0 = 0;
  const x1 = Math.max(...xs, 1);
  const lo = Math.min(...ys);
  const hi = Math.max(...ys);
  const pad = Math.max(1, (hi - lo) * 0.1);
  const y0 = Math.max(0, Math.floor(lo - pad));
  const y1 = Math.ceil(hi + pad);
  const px = (x: number) => L + ((x - x0) / (x1 - x0)) * (W - L - R);
  const py = (y: number) => H - B - ((y - y0) / (y1 - y0)) * (H - T - B);
  g.fillStyle = '#f0f0f0';
  g.fillRect(px(0), T, px(warmupX) - px(0), H - T - B);
  g.strokeStyle = '#e0e0e0';
  g.fillStyle = '#202020';
  g.font = `12px "${FONT_FAMILY}"`;
  g.lineWidth = 1;
  for (let i = 0; i <= 5; i++) {
    const y = y0 + ((y1 - y0) * i) / 5;
    g.beginPath();
    g.moveTo(L, py(y));
    g.lineTo(W - R, py(y));
    g.stroke();
    g.textAlign = 'right';
    g.fillText(y.toFixed(y1 - y0 < 10 ? 1 : 0), L - 6, py(y) + 4);
    const x = x0 + ((x1 - x0) * i) / 5;
    g.textAlign = 'center';
    g.fillText(x.toFixed(0), px(x), H - B + 16);
  }
  g.fillText(xLabel, (L + W - R) / 2, H - 8);
  g.save();
  g.translate(16, (T + H - B) / 2);
  g.rotate(-Math.PI / 2);
  g.fillText('RSS (MiB)', 0, 0);
  g.restore();
  g.textAlign = 'left';
  g.font = `14px "${FONT_FAMILY}"`;
  g.fillText(title, L, 22);
  g.strokeStyle = '#1f77b4';
  g.lineWidth = 2;
  g.beginPath();
  samples.forEach((s, i) => (i === 0 ? g.moveTo(px(s.x), py(s.rssMiB)) : g.lineTo(px(s.x), py(s.rssMiB))));
  g.stroke();
  g.strokeStyle = '#303030';
  g.lineWidth = 1;
  g.strokeRect(L, T, W - L - R, H - T - B);
  return c.toBuffer('image/png');
}

async function loadModel(name: string, worker: boolean): Promise<{ detector: Detector; model: string }> {
  if (name === 'tiny')
    return { detector: await Detector.load(writeTinyDecodedModel(), { device: 'cpu', worker }), model: 'tiny' };
  if (name === 'default')
    return { detector: await Detector.load(undefined, { device: 'cpu', worker }), model: 'default' };
  return { detector: await Detector.load(name, { device: 'cpu', worker }), model: name };
}

/** Waits (up to 2 s) for children to be reaped and descriptors closed — a child's exit is asynchronous. */
async function settle(fdBaseline: number, before: readonly { pid: number }[]) {
  const known = new Set(before.map((c) => c.pid)); // e.g. tsx's esbuild service, there before the stream
  const children = () => childProcesses().filter((c) => !known.has(c.pid));
  for (let i = 0; i < 20 && (children().length > 0 || fdCount() > fdBaseline); i++) {
    await new Promise((r) => setTimeout(r, 100));
  }
  return { fds: fdCount(), children: children() };
}

async function soakEvery() {
  const frames = numArg('--frames', 10_000, 10);
  const sampleEvery = numArg('--sample', 50, 1);
  const { detector, model } = await loadModel(arg('--model', 'tiny'), false);
  const size = arg('--size', '');
  const m = /^(\d+)x(\d+)$/.exec(size);
  if (size && (!m || Number(m[1]) < 1 || Number(m[2]) < 1))
    throw new RangeError(`--size must be WIDTHxHEIGHT, got ${size}`);
  const width = m ? Number(m[1]) : detector.spec.input.width;
  const height = m ? Number(m[2]) : detector.spec.input.height;
  const image = Boolean(m); // at a size of its own the source is kept at that size, results carry the pixels
  const rate = 25;
  const source = `testsrc2=size=${width}x${height}:rate=${rate}:duration=${frames / rate}`;
  const warmup = Math.floor(frames / 10);
  const samples: Sample[] = [];
  let expected = 0;
  let outOfOrder = 0;
  let wrongImage = 0;
  const fdBefore = fdCount();
  const childrenBefore = childProcesses();
  const t0 = performance.now();
  let stats: ReturnType<ReturnType<typeof stream>['stats']>;
  let end: Awaited<ReturnType<typeof settle>>;
  try {
    const s = stream(detector, source, { format: 'lavfi', policy: 'every', image });
    for await (const r of s) {
      if (r.frame !== expected) outOfOrder++;
      if (image && (r.image?.width !== width || r.image.height !== height)) wrongImage++;
      expected = r.frame + 1;
      if (r.frame % sampleEvery === 0) samples.push({ x: r.frame, ...memory() });
      if (r.frame % 1000 === 0) console.log(`frame ${r.frame}: RSS ${samples.at(-1)?.rssMiB.toFixed(1)} MiB`);
    }
    stats = s.stats();
  } finally {
    end = await settle(fdBefore, childrenBefore); // before dispose: the session's own descriptors are in the baseline
    await detector.dispose();
  }
  const seconds = (performance.now() - t0) / 1000;
  const growth = rssGrowth(samples, warmup);
  return {
    mode: 'every' as const,
    model,
    source,
    image,
    frames,
    processed: stats.processed,
    outOfOrder,
    seconds,
    processedFps: stats.processed / seconds,
    warmupFrames: warmup,
    sampleEvery,
    gc: gc !== undefined,
    rss: growth,
    fds: { before: fdBefore, after: end.fds },
    children: { before: childrenBefore.length, after: end.children },
    samples,
    xLabel: 'frame',
    warmupX: warmup,
    failures: [
      ...(stats.processed !== frames ? [`processed ${stats.processed} frames, expected ${frames}`] : []),
      ...(outOfOrder ? [`${outOfOrder} results out of order`] : []),
      ...(wrongImage ? [`${wrongImage} results without their ${width}×${height} image`] : []),
    ],
  };
}

async function soakLatest(minutes: number) {
  const sampleSeconds = 5;
  const { detector, model } = await loadModel(arg('--model', 'default'), true);
  const source = 'testsrc2=size=640x480:rate=30';
  const latencies: { t: number; ms: number }[] = [];
  const samples: Sample[] = [];
  const fdBefore = fdCount();
  const childrenBefore = childProcesses();
  const t0 = performance.now();
  const endAt = t0 + minutes * 60_000;
  let nextSample = 0;
  let stats: ReturnType<ReturnType<typeof stream>['stats']>;
  let end: Awaited<ReturnType<typeof settle>>;
  try {
    const s = stream(detector, source, { format: 'lavfi', realtime: true, policy: 'latest' });
    for await (const r of s) {
      const t = (performance.now() - t0) / 1000;
      latencies.push({ t, ms: r.latencyMs });
      if (t >= nextSample) {
        samples.push({ x: t, ...memory() });
        if (nextSample % 60 === 0) console.log(`${t.toFixed(0)} s: RSS ${samples.at(-1)?.rssMiB.toFixed(1)} MiB`);
        nextSample += sampleSeconds;
      }
      if (performance.now() >= endAt) break;
    }
    stats = s.stats();
  } finally {
    end = await settle(fdBefore, childrenBefore);
    await detector.dispose();
  }
  const perMinute: { minute: number; results: number; p50: number; p95: number }[] = [];
  for (let m = 0; m < Math.ceil(minutes); m++) {
    const ms = latencies.filter((l) => l.t >= m * 60 && l.t < (m + 1) * 60).map((l) => l.ms);
    if (ms.length)
      perMinute.push({ minute: m + 1, results: ms.length, p50: percentile(ms, 50), p95: percentile(ms, 95) });
  }
  const first = perMinute[0];
  const last = perMinute.at(-1) ?? first;
  // warm-up: the first minute (ONNX Runtime's arenas in the worker settle in it), or the first fifth of a shorter run
  const warmupX = Math.min(60, (minutes * 60) / 5);
  return {
    mode: 'latest' as const,
    model,
    source,
    minutes,
    frames: stats.frames,
    processed: stats.processed,
    dropped: stats.dropped,
    forwardMs: stats.forwardMs,
    latencyP50: percentile(
      latencies.map((l) => l.ms),
      50,
    ),
    latencyP95: percentile(
      latencies.map((l) => l.ms),
      95,
    ),
    perMinute,
    p95LastOverFirst: last.p95 / first.p95,
    p95OverForward:
      percentile(
        latencies.map((l) => l.ms),
        95,
      ) / stats.forwardMs,
    gc: gc !== undefined,
    rss: rssGrowth(samples, warmupX),
    fds: { before: fdBefore, after: end.fds },
    children: { before: childrenBefore.length, after: end.children },
    samples,
    xLabel: 'seconds',
    warmupX,
    failures:
      last.p95 > 1.5 * first.p95
        ? [`p95 latency grew: first minute ${first.p95.toFixed(0)} ms, last ${last.p95.toFixed(0)} ms`]
        : [],
  };
}

const minutesArg = process.argv.includes('--minutes') ? numArg('--minutes', 5, 0.1) : 0;
const maxGrowth = numArg('--max-growth', 0.05, 0);
const outDir = path.resolve(arg('--out', path.join(root, 'bench', 'results')));
const r = minutesArg > 0 ? await soakLatest(minutesArg) : await soakEvery();
const failures = [...r.failures];
if (r.rss.growth > maxGrowth)
  failures.push(
    `RSS grew ${(r.rss.growth * 100).toFixed(2)} % after the warm-up (limit ${(maxGrowth * 100).toFixed(1)} %)`,
  );
if (r.fds.after > r.fds.before) failures.push(`${r.fds.after - r.fds.before} file descriptors left open`);
if (r.children.after.length > 0)
  failures.push(`child processes left: ${r.children.after.map((c) => `${c.comm} (${c.pid})`).join(', ')}`);

const { samples, xLabel, warmupX, failures: _f, ...summary } = r;
const result = {
  date: new Date().toISOString(),
  machine: machine(),
  ...summary,
  maxGrowth,
  failures,
  ok: failures.length === 0,
  samples,
};
const title =
  `${r.mode === 'every' ? `${r.frames} frames${r.image ? ' with images' : ''}, every` : `${r.minutes} min, latest`} · ${r.model} model · RSS ` +
  `${r.rss.firstMiB.toFixed(1)} → ${r.rss.lastMiB.toFixed(1)} MiB (${(r.rss.growth * 100).toFixed(2)} %)`;
const png = plotRss(
  samples,
  warmupX,
  xLabel === 'frame' ? 'frame (warm-up shaded)' : 'seconds (warm-up shaded)',
  title,
);
const base = path.join(outDir, `soak-${r.mode}${r.mode === 'every' && r.image ? '-image' : ''}`);
await writeFileAtomic(`${base}.json`, Buffer.from(`${JSON.stringify(result, null, 2)}\n`), {
  overwrite: true,
  mkdir: true,
});
await writeFileAtomic(`${base}-rss.png`, png, { overwrite: true, mkdir: true });

console.log(
  r.mode === 'every'
    ? `${r.processed}/${r.frames} frames in ${r.seconds.toFixed(1)} s (${r.processedFps.toFixed(0)} fps), in order: ${r.outOfOrder === 0}`
    : `${r.processed} processed, ${r.dropped} dropped of ${r.frames}; forward ${r.forwardMs.toFixed(0)} ms; latency p50 ` +
        `${r.latencyP50.toFixed(0)} ms, p95 ${r.latencyP95.toFixed(0)} ms (${r.p95OverForward.toFixed(2)} × forward); p95 per minute: ` +
        r.perMinute.map((m) => m.p95.toFixed(0)).join(', ') +
        ` ms (last / first ${r.p95LastOverFirst.toFixed(2)})`,
);
console.log(
  `RSS after warm-up ${r.rss.firstMiB.toFixed(1)} → ${r.rss.lastMiB.toFixed(1)} MiB: ${(r.rss.growth * 100).toFixed(2)} % ` +
    `(limit ${(maxGrowth * 100).toFixed(1)} %; JS heap ${r.rss.heapFirstMiB.toFixed(1)} → ${r.rss.heapLastMiB.toFixed(1)} MiB; gc ${r.gc ? 'forced before each sample' : 'not exposed'}); fds ${r.fds.before} → ${r.fds.after}; ` +
    `children left ${r.children.after.length}`,
);
console.log(`→ ${path.relative(root, `${base}.json`)}, ${path.relative(root, `${base}-rss.png`)}`);
if (failures.length) {
  for (const f of failures) console.error(`soak FAILED: ${f}`);
  process.exitCode = 1;
} else console.log('soak passed');
