/**
 * RTSP, offline: our reader (ffmpeg pulling over TCP interleaved transport) reads a local RTSP server
 * (./rtsp-server.ts: MJPEG/RTP from ffmpeg's testsrc2, relayed); the frames are testsrc2's pictures (compared with
 * frames rendered by a separate ffmpeg run); when the server drops the connection the source reconnects and frames
 * resume; stop() leaves no ffmpeg. And `stream()` over RTSP: results in order, equal to `detect` on the same frames.
 */
import test from 'ava';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { Detector } from '../../../lib/detector/detector.ts';
import { stream } from '../../../lib/stream/index.ts';
import { openSource, type Frame, type ReconnectInfo } from '../../../lib/stream/sources.ts';
import { writeTinyDecodedModel } from '../../helpers/tiny-detector-model.ts';
import { startRtspServer } from './rtsp-server.ts';

const W = 160;
const H = 120;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** testsrc2's first `n` frames at W×H, 10 fps, rendered and MJPEG round-tripped like the producer's (a separate run). */
function referenceFrames(n: number): Uint8Array[] {
  const raw = execFileSync(
    'ffmpeg',
    [
      '-hide_banner',
      '-loglevel',
      'error',
      '-f',
      'lavfi',
      '-i',
      `testsrc2=size=${W}x${H}:rate=10`,
      '-frames:v',
      String(n),
    ].concat(['-c:v', 'mjpeg', '-pix_fmt', 'yuvj420p', '-q:v', '5', '-huffman', 'default', '-f', 'mjpeg', '-']),
    { maxBuffer: 1 << 28 },
  );
  const rgb = execFileSync(
    'ffmpeg',
    ['-hide_banner', '-loglevel', 'error', '-f', 'mjpeg', '-i', '-', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'],
    { input: raw, maxBuffer: 1 << 28 },
  );
  const size = W * H * 3;
  return Array.from({ length: rgb.length / size }, (_, i) => rgb.subarray(i * size, (i + 1) * size));
}

/** Processes whose command line names `needle` (our reader's ffmpeg, by its URL). */
function processesWith(needle: string): number[] {
  const pids: number[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (fs.readFileSync(`/proc/${name}/cmdline`, 'utf8').includes(needle)) pids.push(Number(name));
    } catch {}
  }
  return pids;
}

const mad = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i] - b[i]);
  return s / a.length;
};

test.serial(
  'RTSP: frames are the served pictures; a dropped connection is reconnected, frames resume; stop leaves no ffmpeg',
  async (t) => {
    const server = await startRtspServer({ source: `testsrc2=size=${W}x${H}:rate=10` });
    t.teardown(() => server.dispose());
    const src = openSource(server.url, { scale: null, reconnectDelayMs: 200, reconnectMaxMs: 400 });
    t.is(src.kind, 'url');
    t.true(src.live);
    const frames: Frame[] = [];
    const reconnects: ReconnectInfo[] = [];
    let framesAtDrop = -1;
    let pidBefore = 0;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`timed out: ${frames.length} frames, ${reconnects.length} reconnects`)),
        60_000,
      );
      src.start({
        frame: (f) => {
          frames.push(f);
          if (frames.length === 8 && framesAtDrop < 0) {
            framesAtDrop = frames.length;
            pidBefore = src.pid!;
            void server.close(); // the network drops: every client connection closed, nobody listening
          }
          if (reconnects.length > 0 && frames.length >= framesAtDrop + 5) {
            clearTimeout(timer);
            resolve();
          }
        },
        end: () => reject(new Error('the live source ended')),
        error: reject,
        reconnect: (r) => {
          reconnects.push(r);
          if (reconnects.length === 2) void server.restart(); // back after a failed retry
        },
      });
    });
    const pid = src.pid!;
    await src.stop();
    t.false(alive(pid), 'ffmpeg has exited');
    t.false(alive(pidBefore));
    t.true(reconnects.length >= 2);
    t.deepEqual(
      reconnects.slice(0, 2).map((r) => r.delayMs),
      [200, 400],
    );
    t.true(frames.length >= framesAtDrop + 5, 'frames resumed after the reconnect');
    t.deepEqual(
      frames.map((f) => f.index),
      frames.map((_, i) => i),
    );
    t.deepEqual(server.requests.slice(0, 4), ['OPTIONS', 'DESCRIBE', 'SETUP', 'PLAY']);
    t.true(server.requests.filter((r) => r === 'PLAY').length >= 2, 'a second session after the reconnect');
    // pixels: each frame is one of testsrc2's frames (JPEG round trip: small error), not anything else
    const refs = referenceFrames(300);
    for (const f of [frames[0], frames[framesAtDrop - 1], frames.at(-1)!]) {
      t.is(f.image.width, W);
      t.is(f.image.height, H);
      t.is(f.image.channels, 3);
      const best = Math.min(...refs.map((r) => mad(f.image.data, r)));
      t.log(`mean abs difference to the nearest testsrc2 frame: ${best.toFixed(2)}`);
      t.true(best < 1, `mean abs difference to the nearest testsrc2 frame ${best.toFixed(2)}`);
      t.true(
        mad(
          f.image.data,
          refs[0].map(() => 128),
        ) > 30,
        'not a flat picture',
      );
    }
  },
);

test.serial(
  'stream() over RTSP: results in frame order, each equal to detect on the same frame; break stops ffmpeg',
  async (t) => {
    const server = await startRtspServer({ source: `testsrc2=size=${W}x${H}:rate=10` });
    t.teardown(() => server.dispose());
    const detector = await Detector.load(writeTinyDecodedModel(), { device: 'cpu' });
    t.teardown(() => detector.dispose());
    const s = stream(detector, server.url, { image: true, scoreThreshold: 0.3 });
    let last = -1;
    let n = 0;
    for await (const r of s) {
      t.true(r.frame > last);
      last = r.frame;
      t.is(r.width, W);
      const ref = await detector.detect(r.image!, { scoreThreshold: 0.3 });
      t.deepEqual(r.detections, ref);
      t.true(r.detections.length > 0);
      if (n === 0) t.true(processesWith(server.url).length > 0, 'the reader runs (the check below can see it)');
      if (++n === 5) break;
    }
    t.is(n, 5);
    t.is(s.stats().reconnects, 0);
    await s.stop();
    t.deepEqual(processesWith(server.url), [], 'no ffmpeg reading the URL is left');
  },
);
