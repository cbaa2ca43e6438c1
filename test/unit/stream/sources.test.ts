/**
 * Sources: what a source string names, the ffmpeg command lines, and real ffmpeg runs (lavfi testsrc2, the shared
 * clip, image globs, stdin raw and MJPEG, pushed frames) checked against frames decoded by a separate ffmpeg
 * run, byte for byte; stopping leaves no process behind; a missing ffmpeg names its package.
 */
import test from 'ava';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { createCanvas } from '@napi-rs/canvas';
import { FfmpegMissingError, findFfmpeg } from '../../../lib/stream/ffmpeg.ts';
import {
  checkSource,
  createPushSource,
  ffmpegArgs,
  globMatches,
  openSource,
  scaleFilter,
  sourceKind,
  type Frame,
  type FrameSource,
  type ReconnectInfo,
  type SourceOptions,
} from '../../../lib/stream/sources.ts';
import { fixturesDir } from '../../helpers/fixtures.ts';

const CLIP = path.join(fixturesDir, 'stream', 'vtest_30.mp4');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ssd-edge-sources-'));
test.after.always(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Runs a source to its end; the frames, and how it ended. */
function collect(src: FrameSource): Promise<{ frames: Frame[]; error?: Error; reconnects: ReconnectInfo[] }> {
  return new Promise((resolve) => {
    const frames: Frame[] = [];
    const reconnects: ReconnectInfo[] = [];
    src.start({
      frame: (f) => frames.push(f),
      end: () => resolve({ frames, reconnects }),
      error: (error) => resolve({ frames, error, reconnects }),
      reconnect: (r) => reconnects.push(r),
    });
  });
}

/** Frames decoded by an independent ffmpeg command: rgb24 bytes of `w×h` each. */
function reference(inputArgs: string[], vf: string | null, w: number, h: number, input?: Buffer): Buffer[] {
  const args = ['-hide_banner', '-loglevel', 'error', ...inputArgs];
  if (vf) args.push('-vf', vf);
  args.push('-fps_mode', 'passthrough', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-');
  const out = execFileSync('ffmpeg', args, { input, maxBuffer: 1 << 28 });
  const size = w * h * 3;
  const frames: Buffer[] = [];
  for (let o = 0; o + size <= out.length; o += size) frames.push(out.subarray(o, o + size));
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

test('sourceKind names files, globs, URLs, devices and stdin', (t) => {
  t.is(sourceKind('-'), 'stdin');
  t.is(sourceKind('clip.mp4'), 'file');
  t.is(sourceKind('file:///tmp/clip.mp4'), 'file');
  t.is(sourceKind('frames/*.jpg'), 'glob');
  t.is(sourceKind('img_[0-9].png'), 'glob');
  t.is(sourceKind('rtsp://10.0.0.2:554/stream'), 'url');
  t.is(sourceKind('rtmp://host/live/key'), 'url');
  t.is(sourceKind('http://127.0.0.1:8080/video.mjpg'), 'url');
  t.is(sourceKind('https://example.org/a.m3u8'), 'url');
  t.is(sourceKind('/dev/video0'), 'device');
  t.is(sourceKind('v4l2:///dev/video2'), 'device');
  t.throws(() => sourceKind(''), {
    instanceOf: TypeError,
    message: /^Expected path, glob, URL.* for source but received ""$/,
  });
  t.throws(() => sourceKind(3), { instanceOf: TypeError, message: /for source but received 3$/ });
});

test('ffmpeg command lines: rawvideo rgb24 on stdout, passthrough timing, two showinfo around the scale', (t) => {
  const target = { width: 300, height: 300, resize: 'stretch' as const };
  const file = ffmpegArgs('clip.mp4', 'file', { scale: target, fps: 5 });
  const a = file.args;
  t.true(a.includes('-nostdin'));
  t.deepEqual(a.slice(a.indexOf('-i'), a.indexOf('-i') + 2), ['-i', 'clip.mp4']);
  t.is(
    a[a.indexOf('-vf') + 1],
    'fps=5,showinfo=checksum=0,scale=w=300:h=300:flags=bilinear,format=rgb24,showinfo=checksum=0',
  );
  t.deepEqual([file.sourceFilter, file.outputFilter], [1, 4]);
  t.deepEqual(a.slice(-7), ['-f', 'rawvideo', '-pix_fmt', 'rgb24', '-flush_packets', '1', 'pipe:1']);
  const rtsp = ffmpegArgs('rtsp://cam/s', 'url', {}).args;
  t.true(rtsp.join(' ').includes('-fflags nobuffer -flags low_delay -rtsp_transport tcp -i rtsp://cam/s'));
  const glob = ffmpegArgs('f/*.png', 'glob', { fps: 2 }).args.join(' ');
  t.true(glob.includes('-f image2 -pattern_type glob -framerate 2 -i f/*.png'));
  t.false(glob.includes('fps=2'), 'a glob gets its rate from -framerate');
  const dev = ffmpegArgs('v4l2:///dev/video1', 'device', {}).args.join(' ');
  t.true(dev.includes('-f v4l2 -i /dev/video1'));
  const raw = ffmpegArgs('-', 'stdin', { raw: { width: 64, height: 48, pixelFormat: 'bgr24', rate: 30 } }).args;
  t.false(raw.includes('-nostdin'));
  t.true(raw.join(' ').includes('-f rawvideo -pixel_format bgr24 -video_size 64x48 -framerate 30 -i pipe:0'));
  t.true(ffmpegArgs('-', 'stdin', {}).args.join(' ').includes('-f mjpeg -i pipe:0'));
  t.true(ffmpegArgs('-x.mp4', 'file', {}).args.includes('file:-x.mp4'), 'a file name is never read as an option');
});

test('invalid source options are rejected naming the option', (t) => {
  t.throws(() => openSource(CLIP, { fps: 0 }), {
    instanceOf: RangeError,
    message: 'Expected finite number > 0 for fps but received 0',
  });
  t.throws(() => openSource(CLIP, { fpz: 1 } as SourceOptions), {
    instanceOf: TypeError,
    message: /^Unknown key 'fpz' in options/,
  });
  t.throws(() => openSource(CLIP, { format: 'x; rm' }), {
    instanceOf: TypeError,
    message: /for format but received "x; rm"$/,
  });
  t.throws(() => openSource(path.join(tmp, 'missing.mp4')), { message: /^No such video file: .*missing\.mp4$/ });
  t.throws(() => openSource('/dev/video99'), { message: 'No such video device: /dev/video99' });
});

test('a missing ffmpeg is a clear error naming the Debian and Homebrew packages', (t) => {
  const saved = process.env.SSD_EDGE_FFMPEG;
  process.env.SSD_EDGE_FFMPEG = path.join(tmp, 'no-ffmpeg-here');
  try {
    const err = t.throws(() => openSource(CLIP), { instanceOf: FfmpegMissingError });
    t.regex(
      err!.message,
      /^Streams need the ffmpeg program \(.*no-ffmpeg-here: not found\): install it \(Debian\/Ubuntu: apt-get install ffmpeg; macOS: brew install ffmpeg\)/,
    );
    t.is((err as FfmpegMissingError).code, 'ERR_SSD_EDGE_FFMPEG_MISSING');
  } finally {
    if (saved === undefined) delete process.env.SSD_EDGE_FFMPEG;
    else process.env.SSD_EDGE_FFMPEG = saved;
  }
  t.truthy(findFfmpeg().version);
});

test('lavfi testsrc2: every frame, pts k/rate, bytes equal to an independent ffmpeg decode (stretch scale)', async (t) => {
  const spec = 'testsrc2=size=320x240:rate=25:duration=2';
  const { frames, error } = await collect(
    openSource(spec, { format: 'lavfi', scale: { width: 160, height: 100, resize: 'stretch' } }),
  );
  t.is(error, undefined);
  const ref = reference(['-f', 'lavfi', '-i', spec], 'scale=w=160:h=100:flags=bilinear', 160, 100);
  t.is(frames.length, 50);
  t.is(ref.length, 50);
  frames.forEach((f, k) => {
    t.is(f.index, k);
    t.true(Math.abs(f.pts - k / 25) < 1e-9, `pts ${f.pts}`);
    t.deepEqual(
      [f.image.width, f.image.height, f.image.channels, f.sourceWidth, f.sourceHeight],
      [160, 100, 3, 320, 240],
    );
    t.true(Buffer.from(f.image.data).equals(ref[k]), `frame ${k}`);
  });
});

test('the clip, scaled for a pad model (aspect kept) and at source size', async (t) => {
  const padded = await collect(openSource(CLIP, { scale: { width: 512, height: 512, resize: 'pad' } }));
  t.is(padded.frames.length, 30);
  const f0 = padded.frames[0];
  t.deepEqual([f0.image.width, f0.image.height, f0.sourceWidth, f0.sourceHeight], [512, 384, 384, 288]);
  const ref = reference(['-i', CLIP], 'scale=512:384:flags=bilinear', 512, 384);
  t.is(ref.length, 30);
  padded.frames.forEach((f, k) => t.true(Buffer.from(f.image.data).equals(ref[k]), `frame ${k}`));
  t.deepEqual(
    padded.frames.map((f) => Math.round(f.pts * 10)),
    Array.from({ length: 30 }, (_, k) => k),
  );
  const full = await collect(openSource(CLIP, { fps: 5 }));
  t.is(full.frames.length, 15, '--fps 5 on a 10 fps clip');
  t.deepEqual([full.frames[0].image.width, full.frames[0].image.height], [384, 288]);
  t.true(full.frames.every((f, k) => Math.abs(f.pts - k / 5) < 1e-6));
});

test('scaleFilter keeps the aspect ratio for pad and letterbox (longer side fitted)', (t) => {
  t.is(scaleFilter({ width: 300, height: 300, resize: 'stretch' }), 'scale=w=300:h=300:flags=bilinear');
  t.regex(
    scaleFilter({ width: 512, height: 512, resize: 'pad' }),
    /^scale=w='max\(1\\,min\(512\\,round\(iw\/max\(iw\/512\\,ih\/512\)\)\)\)'/,
  );
});

test('an image glob with images of different sizes: frames at the first size (ffmpeg scales the others), source sizes kept', async (t) => {
  const dir = path.join(tmp, 'glob');
  fs.mkdirSync(dir);
  const sizes = [
    [64, 48],
    [40, 40],
    [33, 17],
  ];
  sizes.forEach(([w, h], k) => {
    const c = createCanvas(w, h);
    const ctx = c.getContext('2d');
    ctx.fillStyle = ['#ff0000', '#00ff00', '#0000ff'][k];
    ctx.fillRect(0, 0, w, h);
    fs.writeFileSync(path.join(dir, `img${k}.png`), c.encodeSync('png'));
  });
  const { frames, error } = await collect(openSource(path.join(dir, '*.png')));
  t.is(error, undefined);
  t.deepEqual(
    frames.map((f) => [f.image.width, f.image.height, f.sourceWidth, f.sourceHeight]),
    sizes.map(([w, h]) => [64, 48, w, h]),
  );
  // each frame is one flat colour: its first pixel is that colour
  t.deepEqual(
    frames.map((f) => [...f.image.data.subarray(0, 3)]),
    [
      [255, 0, 0],
      [0, 255, 0],
      [0, 0, 255],
    ],
  );
});

test('stdin: raw bgr24 frames of a given size, and MJPEG', async (t) => {
  const w = 16;
  const h = 8;
  const n = 7;
  const raw = Buffer.alloc(w * h * 3 * n);
  for (let i = 0; i < raw.length; i++) raw[i] = (i * 13) & 255;
  const input = new PassThrough();
  const src = openSource('-', { raw: { width: w, height: h, pixelFormat: 'bgr24', rate: 10 }, input });
  const done = collect(src);
  // written in uneven pieces
  for (let o = 0; o < raw.length; o += 100) input.write(raw.subarray(o, o + 100));
  input.end();
  const { frames, error } = await done;
  t.is(error, undefined);
  t.is(frames.length, n);
  frames.forEach((f, k) => {
    const bgr = raw.subarray(k * w * h * 3, (k + 1) * w * h * 3);
    const rgb = Buffer.alloc(bgr.length);
    for (let p = 0; p < bgr.length; p += 3) {
      rgb[p] = bgr[p + 2];
      rgb[p + 1] = bgr[p + 1];
      rgb[p + 2] = bgr[p];
    }
    t.true(Buffer.from(f.image.data).equals(rgb), `frame ${k}`);
    t.true(Math.abs(f.pts - k / 10) < 1e-9);
  });

  const jpegs = [0, 1, 2].map((k) => {
    const c = createCanvas(32, 24);
    const ctx = c.getContext('2d');
    ctx.fillStyle = ['#ffffff', '#000000', '#808080'][k];
    ctx.fillRect(0, 0, 32, 24);
    return c.encodeSync('jpeg', 95);
  });
  const mjpeg = new PassThrough();
  const got = collect(openSource('-', { input: mjpeg }));
  mjpeg.end(Buffer.concat(jpegs));
  const m = await got;
  t.is(m.frames.length, 3);
  const mean = (f: Frame) => Array.from(f.image.data).reduce((a, b) => a + b, 0) / f.image.data.length;
  t.deepEqual(
    m.frames.map((f) => Math.round(mean(f) / 32)),
    [8, 0, 4],
  );
});

test("a file ffmpeg cannot decode fails with ffmpeg's reason, and no retry", async (t) => {
  const bad = path.join(tmp, 'not-a-video.mp4');
  fs.writeFileSync(bad, 'hello');
  const { frames, error, reconnects } = await collect(openSource(bad));
  t.is(frames.length, 0);
  t.is(reconnects.length, 0);
  t.regex(error!.message, /^Cannot read .*not-a-video\.mp4: ffmpeg exited with 1: .*Invalid data/);
});

test('stop() kills ffmpeg and resolves once it has exited', async (t) => {
  const src = openSource('testsrc2=size=64x48:rate=25', { format: 'lavfi', realtime: true });
  let n = 0;
  await new Promise<void>((resolve) =>
    src.start({ frame: () => ++n === 3 && resolve(), end: resolve, error: () => resolve(), reconnect: () => {} }),
  );
  const pid = src.pid!;
  t.true(alive(pid));
  await src.stop();
  t.false(alive(pid));
  await src.stop(); // idempotent
});

test('a live source that fails reconnects with exponential backoff and a cap; once: no retry', async (t) => {
  // a URL nobody listens on: every attempt fails at once
  const url = 'http://127.0.0.1:9/none.mjpg';
  const src = openSource(url, { reconnectDelayMs: 20, reconnectMaxMs: 50 });
  const delays: number[] = [];
  await new Promise<void>((resolve) =>
    src.start({
      frame: () => {},
      end: resolve,
      error: () => resolve(),
      reconnect: (r) => {
        delays.push(r.delayMs);
        t.regex(r.reason, /^ffmpeg exited with/);
        if (delays.length === 4) resolve();
      },
    }),
  );
  await src.stop();
  t.deepEqual(delays, [20, 40, 50, 50]);
  const once = await collect(openSource(url, { once: true }));
  t.regex(once.error!.message, /^Cannot read http:\/\/127\.0\.0\.1:9\/none\.mjpg: ffmpeg exited with/);
  t.is(once.reconnects.length, 0);
});

test('push source: frames as pushed, pts given or from the clock, back-pressure while paused, end', async (t) => {
  const src = createPushSource();
  t.true(src.live);
  const frames: Frame[] = [];
  let ended = false;
  const img = { data: new Uint8Array(4 * 2 * 3), width: 4, height: 2, channels: 3 as const };
  const first = src.push(img, { pts: 1.5 }); // before start: waits
  src.start({ frame: (f) => frames.push(f), end: () => (ended = true), error: () => {}, reconnect: () => {} });
  await first;
  src.pause();
  let second = false;
  const p = src.push(img).then(() => (second = true));
  await new Promise((r) => setTimeout(r, 20));
  t.false(second, 'a paused source holds the push');
  src.resume();
  await p;
  t.deepEqual(
    frames.map((f) => f.index),
    [0, 1],
  );
  t.is(frames[0].pts, 1.5);
  t.true(frames[1].pts >= 0);
  t.is(frames[0].image, img, 'no copy');
  await t.throwsAsync(src.push({ data: new Uint8Array(5), width: 4, height: 2, channels: 3 }), {
    instanceOf: TypeError,
    message: /^Expected \{ data, width, height, channels: 3 \| 4 \} raw pixels for image but received object$/,
  });
  src.end();
  t.true(ended);
  await t.throwsAsync(src.push(img), { message: 'Cannot push a frame after end() or stop()' });
});

test('an image glob that matches no file fails before ffmpeg starts, with one clear line', (t) => {
  const dir = path.join(tmp, 'glob-match');
  fs.mkdirSync(dir, { recursive: true });
  for (const n of ['a1.jpg', 'a2.jpg', 'b.png', '.hidden.jpg', 'x.y+z.jpg']) fs.writeFileSync(path.join(dir, n), '');
  // independent reference: the names ffmpeg's glob(3) would take, listed by hand
  t.true(globMatches(path.join(dir, '*.jpg')));
  t.true(globMatches(path.join(dir, 'a?.jpg')));
  t.true(globMatches(path.join(dir, 'a[12].jpg')));
  t.true(globMatches(path.join(dir, 'x.y+z.*')));
  t.false(globMatches(path.join(dir, 'a[!12].jpg')));
  t.false(globMatches(path.join(dir, '*.gif')));
  t.false(globMatches(path.join(dir, 'x?y+z.jp')));
  t.false(globMatches(path.join(dir, '*hidden*'))); // a leading dot needs a leading dot in the pattern
  t.true(globMatches(path.join(dir, '.hid*')));
  t.false(globMatches(path.join(tmp, 'no-such-folder', '*.jpg')));
  t.is(globMatches(path.join(tmp, '*', '*.jpg')), null); // wildcards in a folder name: left to ffmpeg
  t.throws(() => openSource(path.join(dir, '*.gif')), {
    message: `No file matches the image glob ${path.join(dir, '*.gif')}`,
  });
  t.notThrows(() => openSource(path.join(dir, '*.jpg')));
});

test('a filter source without format lavfi: the error says to give it', (t) => {
  t.throws(() => openSource('testsrc2=size=64x48:rate=5'), {
    message:
      /^No such video file: testsrc2=size=64x48:rate=5 \(an ffmpeg filter source such as testsrc2=… needs format 'lavfi'/,
  });
});

test('checkSource: what can be known without reading — a missing file, device or glob match — before anything starts', (t) => {
  t.throws(() => checkSource(path.join(tmp, 'missing.mp4')), { message: /^No such video file: .*missing\.mp4$/ });
  t.throws(() => checkSource('/dev/video99'), { message: 'No such video device: /dev/video99' });
  t.throws(() => checkSource(path.join(tmp, 'none-*.png')), { message: /^No file matches the image glob / });
  t.notThrows(() => checkSource(CLIP));
  t.notThrows(() => checkSource('testsrc2=size=8x8', { format: 'lavfi' }));
  t.notThrows(() => checkSource('rtsp://127.0.0.1:9/x')); // a URL is only known by trying
});
