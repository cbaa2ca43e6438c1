/**
 * The frame cutter: exact frames out of a byte stream chunked at random, with descriptions (size, pts) arriving
 * before, after or between the bytes, and frame sizes that change mid-stream; showinfo lines as ffmpeg 5.1 prints them.
 */
import test from 'ava';
import {
  FrameCutter,
  parseShowinfo,
  ShowinfoPairer,
  type CutFrame,
  type FrameInfo,
} from '../../../lib/stream/frame-reader.ts';
import { mulberry32, randInt } from '../../helpers/random.ts';

const LINE0 =
  '[Parsed_showinfo_0 @ 0x55bcc85b2100] n:   0 pts:      0 pts_time:0       pos:     2485 fmt:yuv420p sar:0/1 s:768x576 i:P iskey:1 type:I checksum:C9629C03 plane_checksum:[54303277 BFBBD65B 56F29322] mean:[120 112 128] stdev:[45.7 12.5 7.2]';
const LINE3 =
  '[Parsed_showinfo_3 @ 0x55bcc85b5880] n:  12 pts:  12288 pts_time:1.2     pos:    90210 fmt:rgb24 sar:0/1 s:512x384 i:P iskey:0 type:P checksum:AF65F0C8 plane_checksum:[AF65F0C8] mean:[112] stdev:[60.3]';

test('parseShowinfo reads filter index, frame number, pts_time and size; other lines give null', (t) => {
  t.deepEqual(parseShowinfo(LINE0), { filter: 0, info: { n: 0, pts: 0, width: 768, height: 576 } });
  t.deepEqual(parseShowinfo(LINE3), { filter: 3, info: { n: 12, pts: 1.2, width: 512, height: 384 } });
  t.deepEqual(parseShowinfo(LINE3.replace('pts_time:1.2', 'pts_time:NOPTS')), {
    filter: 3,
    info: { n: 12, pts: NaN, width: 512, height: 384 },
  });
  t.is(parseShowinfo('[Parsed_showinfo_0 @ 0x55] config in time_base: 1/10240, frame_rate: 10/1'), null);
  t.is(parseShowinfo('[Parsed_showinfo_0 @ 0x55]   side data - User Data Unregistered:'), null);
  t.is(parseShowinfo('Stream #0:0: Video: h264, yuv420p, 768x576'), null);
});

test('ShowinfoPairer pairs the source and output lines of each frame in order', (t) => {
  const got: Array<{ source: FrameInfo; output: FrameInfo }> = [];
  const p = new ShowinfoPairer(0, 3, (f) => got.push(f));
  p.line(LINE0);
  p.line('[Parsed_showinfo_0 @ 0x1] color_range:unknown');
  p.line(LINE3.replace('n:  12', 'n:   0').replace('pts_time:1.2', 'pts_time:0'));
  t.is(got.length, 1);
  t.deepEqual(got[0].source, { n: 0, pts: 0, width: 768, height: 576 });
  t.deepEqual(got[0].output, { n: 0, pts: 0, width: 512, height: 384 });
});

/** A stream of frames of random sizes with known bytes (a counter pattern seeded per frame). */
function makeFrames(rng: () => number, n: number) {
  const frames: Array<{ info: { source: FrameInfo; output: FrameInfo }; bytes: Uint8Array }> = [];
  for (let k = 0; k < n; k++) {
    const width = k === 0 ? randInt(rng, 1, 40) : frames[0].info.output.width;
    const height = k === 0 ? randInt(rng, 1, 30) : frames[0].info.output.height;
    const sw = randInt(rng, 1, 2000);
    const sh = randInt(rng, 1, 2000);
    const bytes = new Uint8Array(width * height * 3);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7 + k * 31) & 255;
    const pts = k / 25;
    frames.push({
      // later frames report their own output size in showinfo; the pipe keeps the first one's
      info: {
        source: { n: k, pts, width: sw, height: sh },
        output: { n: k, pts, width: k === 0 ? width : sw, height: k === 0 ? height : sh },
      },
      bytes,
    });
  }
  return frames;
}

for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
  // frame sizes vary: source sizes freely, pipe sizes are the first frame's (see the module doc)
  test(`FrameCutter: random chunking and interleaving give the exact frames (seed ${seed})`, (t) => {
    const rng = mulberry32(seed);
    const frames = makeFrames(rng, 40);
    const all = new Uint8Array(frames.reduce((a, f) => a + f.bytes.length, 0));
    let o = 0;
    for (const f of frames) {
      all.set(f.bytes, o);
      o += f.bytes.length;
    }
    // chunks of 1 byte up to a few frames, never aligned on purpose
    const chunks: Uint8Array[] = [];
    for (let p = 0; p < all.length; ) {
      const len = Math.min(all.length - p, rng() < 0.2 ? 1 : randInt(rng, 1, 9000));
      chunks.push(all.slice(p, p + len));
      p += len;
    }
    const out: CutFrame[] = [];
    const cutter = new FrameCutter((f) => out.push(f));
    let ci = 0;
    let fi = 0;
    while (ci < chunks.length || fi < frames.length) {
      const describe = fi < frames.length && (ci >= chunks.length || rng() < 0.3);
      if (describe) cutter.describe(frames[fi++].info);
      else cutter.push(chunks[ci++]);
    }
    t.is(out.length, frames.length);
    t.is(cutter.pending, 0);
    t.is(cutter.waiting, 0);
    out.forEach((f, k) => {
      const ref = frames[k];
      t.is(f.width, frames[0].info.output.width);
      t.is(f.height, frames[0].info.output.height);
      t.is(f.sourceWidth, ref.info.source.width);
      t.is(f.sourceHeight, ref.info.source.height);
      t.is(f.pts, k / 25);
      t.deepEqual(Buffer.from(f.data), Buffer.from(ref.bytes), `frame ${k}`);
    });
  });
}

test('FrameCutter: a frame is never handed out before all its bytes (and its description) have arrived', (t) => {
  const out: CutFrame[] = [];
  const cutter = new FrameCutter((f) => out.push(f));
  cutter.push(new Uint8Array(5 * 4 * 3 + 10)); // one frame and a bit, no description yet
  t.is(out.length, 0);
  const info = { n: 0, pts: 0.5, width: 5, height: 4 };
  cutter.describe({ source: info, output: info });
  t.is(out.length, 1);
  t.is(cutter.pending, 10);
  cutter.describe({ source: { ...info, n: 1 }, output: { ...info, n: 1 } });
  t.is(out.length, 1, 'the second frame has 10 of its 60 bytes');
  cutter.push(new Uint8Array(49));
  t.is(out.length, 1);
  cutter.push(new Uint8Array(1));
  t.is(out.length, 2);
  t.is(cutter.pending, 0);
});

test('FrameCutter: NaN output pts falls back to the source pts', (t) => {
  const out: CutFrame[] = [];
  const cutter = new FrameCutter((f) => out.push(f));
  cutter.describe({ source: { n: 0, pts: 2.5, width: 2, height: 2 }, output: { n: 0, pts: NaN, width: 1, height: 1 } });
  cutter.push(new Uint8Array([1, 2, 3]));
  t.is(out[0].pts, 2.5);
  t.deepEqual([...out[0].data], [1, 2, 3]);
});
