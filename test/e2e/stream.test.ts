/**
 * Streams end to end with the default face model: `every` gives exactly one result per frame, in order, equal to
 * `Detector.detect` on the same frame decoded by a separate ffmpeg run; `break` stops ffmpeg; `latest` drops and
 * counts; pushed frames; a local HTTP MJPEG server that is killed and restarted (reconnect observed, results resume)
 * or that stalls (the watchdog reconnects).
 */
import test from 'ava';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { createCanvas } from '@napi-rs/canvas';
import { Detector, type Detection } from '../../lib/detector/detector.ts';
import type { RawImage } from '../../lib/image/decode.ts';
import { createPushSource, stream, type ReconnectInfo, type StreamResult } from '../../lib/stream/index.ts';
import { fixturesDir } from '../helpers/fixtures.ts';

const CLIP = path.join(fixturesDir, 'stream', 'vtest_30.mp4');
const SCORE = 0.05; // low, so that the pedestrians' frames give detections to compare

let detector: Detector;
test.before(async () => {
  detector = await Detector.load(undefined, { device: 'cpu' });
});
test.after.always(async () => {
  await detector?.dispose();
});

/** The clip's frames decoded by a separate ffmpeg command, rgb24, `vf` applied. */
function decodeClip(vf: string | null, w: number, h: number): RawImage[] {
  const args = ['-hide_banner', '-loglevel', 'error', '-i', CLIP];
  if (vf) args.push('-vf', vf);
  args.push('-fps_mode', 'passthrough', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-');
  const out = execFileSync('ffmpeg', args, { maxBuffer: 1 << 28 });
  const size = w * h * 3;
  const frames: RawImage[] = [];
  for (let o = 0; o + size <= out.length; o += size)
    frames.push({ data: out.subarray(o, o + size), width: w, height: h, channels: 3 });
  return frames;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

function close(
  t: { true: (v: boolean, m?: string) => void },
  a: Detection[],
  b: Detection[],
  tol: number,
  what: string,
) {
  t.true(a.length === b.length, `${what}: ${a.length} vs ${b.length} detections`);
  a.forEach((d, k) => {
    const e = b[k];
    const ok =
      d.classId === e.classId &&
      d.score === e.score &&
      Math.abs(d.box.x1 - e.box.x1) <= tol &&
      Math.abs(d.box.y1 - e.box.y1) <= tol &&
      Math.abs(d.box.x2 - e.box.x2) <= tol &&
      Math.abs(d.box.y2 - e.box.y2) <= tol;
    t.true(ok, `${what} detection ${k}: ${JSON.stringify(d)} vs ${JSON.stringify(e)}`);
  });
}

test.serial(
  'every + image: one result per frame, in order, identical to detect on the same decoded frame',
  async (t) => {
    const frames = decodeClip(null, 384, 288);
    t.is(frames.length, 30);
    const results: StreamResult[] = [];
    const s = stream(detector, CLIP, { image: true, scoreThreshold: SCORE });
    t.is(s.policy, 'every');
    for await (const r of s) results.push(r);
    t.deepEqual(
      results.map((r) => r.frame),
      Array.from({ length: 30 }, (_, k) => k),
    );
    let total = 0;
    for (const [k, r] of results.entries()) {
      t.true(Math.abs(r.pts - k / 10) < 1e-6);
      t.deepEqual([r.width, r.height], [384, 288]);
      t.true(Buffer.from(r.image!.data).equals(Buffer.from(frames[k].data)), `frame ${k} pixels`);
      const ref = await detector.detect(frames[k], { scoreThreshold: SCORE });
      t.deepEqual(r.detections, ref, `frame ${k}`);
      total += ref.length;
    }
    t.true(total > 0, 'the comparison saw detections');
    const st = s.stats();
    t.is(st.processed, 30);
    t.is(st.dropped, 0);
  },
);

test.serial(
  'every, scaled by ffmpeg to the model geometry: detect on the scaled frame, boxes ×0.75 to the source',
  async (t) => {
    // 384×288 into the 512×512 pad model: ffmpeg scales to 512×384, the detector pads it
    const frames = decodeClip('scale=512:384:flags=bilinear', 512, 384);
    const results: StreamResult[] = [];
    for await (const r of stream(detector, CLIP, { scoreThreshold: SCORE })) results.push(r);
    t.is(results.length, 30);
    let total = 0;
    for (const [k, r] of results.entries()) {
      t.is(r.frame, k);
      t.is(r.image, undefined);
      const ref = (await detector.detect(frames[k], { scoreThreshold: SCORE })).map((d) => ({
        ...d,
        box: { x1: d.box.x1 * 0.75, y1: d.box.y1 * 0.75, x2: d.box.x2 * 0.75, y2: d.box.y2 * 0.75 },
      }));
      close(t, r.detections, ref, 1e-3, `frame ${k}`);
      total += ref.length;
    }
    t.true(total > 0);
  },
);

test.serial(
  'worker detector (two frames in flight by default): results in frame order, equal to detect on the same frames',
  async (t) => {
    const worker = await Detector.load(undefined, { device: 'cpu', worker: true });
    try {
      const a: StreamResult[] = [];
      const s = stream(worker, CLIP, { scoreThreshold: SCORE, image: true });
      for await (const r of s) a.push(r);
      t.is(a.length, 30);
      t.deepEqual(
        a.map((r) => r.frame),
        Array.from({ length: 30 }, (_, k) => k),
      );
      for (const r of a) t.deepEqual(r.detections, await detector.detect(r.image!, { scoreThreshold: SCORE }));
    } finally {
      await worker.dispose();
    }
  },
);

test.serial(
  'a source that fails: the iteration throws with the reason ffmpeg gave, then error and end are emitted',
  async (t) => {
    const bad = path.join(os.tmpdir(), `ssd-edge-bad-${process.pid}.mp4`);
    fs.writeFileSync(bad, 'not a video');
    try {
      const s = stream(detector, bad);
      const events: string[] = [];
      s.on('error', (e) => events.push(`error: ${e.message.split(':')[0]}`));
      s.on('end', () => events.push('end'));
      await t.throwsAsync(
        (async () => {
          for await (const _ of s) t.fail('no frame expected');
        })(),
        { message: /^Cannot read .*: ffmpeg exited with 1: .*Invalid data/ },
      );
      t.deepEqual(events, ['error: Cannot read ' + bad, 'end']);
      t.true(s.ended);
    } finally {
      fs.rmSync(bad, { force: true });
    }
  },
);

test.serial('break stops the stream: ffmpeg has exited, end is emitted with the final stats', async (t) => {
  const s = stream(detector, CLIP, { scoreThreshold: SCORE });
  let ended: unknown = null;
  s.on('end', (st) => (ended = st));
  let pid = 0;
  let n = 0;
  for await (const r of s) {
    pid = (s.source as unknown as { pid: number }).pid;
    t.is(r.frame, n);
    if (++n === 3) break;
  }
  t.true(pid > 0);
  t.false(alive(pid), 'ffmpeg is gone');
  t.truthy(ended);
  t.is((ended as { processed: number }).processed, 3);
});

test.serial('latest on a 30 fps live-like source: frames in order, every gap counted as dropped', async (t) => {
  const s = stream(detector, 'testsrc2=size=320x240:rate=30', {
    format: 'lavfi',
    realtime: true,
    policy: 'latest',
  });
  const got: number[] = [];
  for await (const r of s) {
    got.push(r.frame);
    if (got.length === 12) break;
  }
  for (let k = 1; k < got.length; k++) t.true(got[k] > got[k - 1]);
  const missing = got[got.length - 1] + 1 - got.length;
  const st = s.stats();
  t.true(st.dropped >= missing, `dropped ${st.dropped} ≥ gaps ${missing}`);
  t.true(st.frames >= st.processed + st.dropped);
});

test.serial('pushed frames (every): results equal detect on the pushed image', async (t) => {
  const frames = decodeClip(null, 384, 288).slice(0, 5);
  const source = createPushSource({ live: false });
  const s = stream(detector, source, { scoreThreshold: SCORE });
  t.is(s.policy, 'every');
  const feeding = (async () => {
    for (const f of frames) await source.push(f, { pts: 0 });
    source.end();
  })();
  const results: StreamResult[] = [];
  for await (const r of s) results.push(r);
  await feeding;
  t.is(results.length, 5);
  for (const [k, r] of results.entries())
    t.deepEqual(r.detections, await detector.detect(frames[k], { scoreThreshold: SCORE }));
  t.throws(() => stream(detector, source, { fps: 3 }), {
    message: "Options 'fps' apply to sources named by a string, not to a source object",
  });
});

/** An MJPEG-over-HTTP server (multipart/x-mixed-replace), one frame per `intervalMs`; `stall` sends headers only. */
function mjpegServer(port = 0, options: { stall?: boolean } = {}) {
  const jpeg = (k: number) => {
    const c = createCanvas(160, 120);
    const ctx = c.getContext('2d');
    ctx.fillStyle = `rgb(${(k * 40) % 256}, 80, 120)`;
    ctx.fillRect(0, 0, 160, 120);
    return c.encodeSync('jpeg', 80);
  };
  let k = 0;
  const timers = new Set<NodeJS.Timeout>();
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'multipart/x-mixed-replace; boundary=frame', Connection: 'close' });
    if (options.stall) return;
    const timer = setInterval(() => {
      const img = jpeg(k++);
      res.write(`--frame\r\nContent-Type: image/jpeg\r\nContent-Length: ${img.length}\r\n\r\n`);
      res.write(img);
      res.write('\r\n');
    }, 40);
    timers.add(timer);
    res.on('close', () => {
      clearInterval(timer);
      timers.delete(timer);
    });
  });
  return {
    server,
    listen: () =>
      new Promise<number>((r) => server.listen(port, '127.0.0.1', () => r((server.address() as AddressInfo).port))),
    kill: () =>
      new Promise<void>((r) => {
        for (const tm of timers) clearInterval(tm);
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

test.serial(
  'MJPEG over HTTP: the server is killed and restarted; the stream reconnects and results resume',
  async (t) => {
    const first = mjpegServer();
    const port = await first.listen();
    const url = `http://127.0.0.1:${port}/video.mjpg`;
    const s = stream(detector, url, { reconnectDelayMs: 200, format: 'mpjpeg' });
    t.is(s.policy, 'latest');
    const reconnects: ReconnectInfo[] = [];
    s.on('reconnect', (r) => reconnects.push(r));
    let before = 0;
    let after = 0;
    let killed = false;
    let second: ReturnType<typeof mjpegServer> | null = null;
    for await (const r of s) {
      t.deepEqual([r.width, r.height], [160, 120]);
      if (!killed) {
        if (++before === 5) {
          killed = true;
          await first.kill();
          setTimeout(() => {
            second = mjpegServer(port);
            void second.listen();
          }, 600);
        }
      } else if (reconnects.length > 0 && ++after === 5) break;
    }
    await (second as ReturnType<typeof mjpegServer> | null)?.kill();
    t.is(before, 5);
    t.is(after, 5, 'results resumed after the restart');
    t.true(reconnects.length >= 1);
    t.is(reconnects[0].attempt, 1);
    t.is(reconnects[0].delayMs, 200);
    t.is(s.stats().reconnects, reconnects.length);
  },
);

test.serial('a source that stalls (headers, no frames) is failed by the watchdog and retried', async (t) => {
  const srv = mjpegServer(0, { stall: true });
  const port = await srv.listen();
  const s = stream(detector, `http://127.0.0.1:${port}/`, {
    format: 'mpjpeg',
    stallTimeoutMs: 200,
    reconnectDelayMs: 50,
  });
  const info = await new Promise<ReconnectInfo>((resolve, reject) => {
    s.on('reconnect', resolve);
    (async () => {
      for await (const _ of s) {
        // no frames come
      }
    })().catch(reject);
  });
  await s.stop();
  await srv.kill();
  t.is(info.reason, 'no frame for 0.6 s');
});
