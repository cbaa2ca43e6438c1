/**
 * decodeImage: the three input kinds and the errors for what cannot be read or decoded (messages asserted).
 */
import test from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { createCanvas } from '@napi-rs/canvas';
import zlib from 'node:zlib';
import { loadImage } from '@napi-rs/canvas';
import {
  decodeImage,
  exifOrientationSegment,
  ImageDecodeError,
  MAX_DECODE_PIXELS,
  readImageSize,
  sniffImageFormat,
} from '../../../lib/image/decode.ts';
import { fixturesDir } from '../../helpers/fixtures.ts';

const astronaut = path.join(fixturesDir, 'images', 'astronaut.png');
/** sha256 of Pillow's RGB bytes of astronaut.png (see test/e2e/faceapi-model.test.ts). */
const PILLOW_RGB_SHA256 = 'a8c429c18afa7b0fd5673e598d73a21225d94c864a71bbb3885126fdecb41071';

function rgbOf(rgba: Uint8Array | Uint8ClampedArray): Uint8Array {
  const rgb = new Uint8Array((rgba.length / 4) * 3);
  for (let i = 0, j = 0; i < rgba.length; i += 4, j += 3) rgb.set(rgba.subarray(i, i + 3), j);
  return rgb;
}

test('a PNG path decodes to the same RGB bytes as Pillow', async (t) => {
  const img = await decodeImage(astronaut);
  t.like(img, { width: 512, height: 512, channels: 4, format: 'png', orientation: 1 });
  t.is(img.data.length, 512 * 512 * 4);
  t.is(createHash('sha256').update(rgbOf(img.data)).digest('hex'), PILLOW_RGB_SHA256);
});

test('Buffer input gives the same pixels as the path; JPEG and WebP are recognised', async (t) => {
  const bytes = fs.readFileSync(astronaut);
  const a = await decodeImage(astronaut);
  const b = await decodeImage(bytes);
  t.true(Buffer.from(a.data).equals(Buffer.from(b.data)));
  const canvas = createCanvas(8, 6);
  canvas.getContext('2d').fillRect(0, 0, 4, 3);
  for (const format of ['jpeg', 'webp'] as const) {
    const img = await decodeImage(canvas.encodeSync(format, 90));
    t.like(img, { width: 8, height: 6, channels: 4, format });
  }
});

test('raw pixels pass through without a copy', async (t) => {
  const data = new Uint8Array(3 * 2 * 3);
  const img = await decodeImage({ data, width: 3, height: 2, channels: 3 });
  t.is(img.data, data);
  t.like(img, { width: 3, height: 2, channels: 3, format: 'raw', orientation: 1 });
});

test('invalid raw pixels: exact messages', async (t) => {
  await t.throwsAsync(decodeImage({ data: new Uint8Array(17), width: 3, height: 2, channels: 3 }), {
    instanceOf: TypeError,
    message:
      'Expected Uint8Array of length 18 (width·height·channels) for image.data but received Uint8Array of length 17',
  });
  await t.throwsAsync(decodeImage({ data: new Uint8Array(12), width: 3, height: 2, channels: 2 as 3 }), {
    instanceOf: TypeError,
    message: 'Expected 3 or 4 for image.channels but received 2',
  });
  await t.throwsAsync(
    decodeImage({ data: new Float32Array(6) as unknown as Uint8Array, width: 1, height: 2, channels: 3 }),
    {
      instanceOf: TypeError,
      message: 'Expected Uint8Array or Uint8ClampedArray for image.data but received Float32Array of length 6',
    },
  );
  await t.throwsAsync(decodeImage({ data: new Uint8Array(0), width: 0, height: 2, channels: 3 }), {
    instanceOf: TypeError,
    message: 'Expected integer ≥ 1 for image.width but received 0',
  });
  await t.throwsAsync(decodeImage(42 as never), {
    instanceOf: TypeError,
    message: 'Expected file path, encoded image Buffer or { data, width, height, channels } for image but received 42',
  });
});

test('unreadable or undecodable input: ImageDecodeError with one readable message', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssd-edge-decode-'));
  const missing = path.join(dir, 'missing.jpg');
  const e1 = await t.throwsAsync(decodeImage(missing), { instanceOf: ImageDecodeError });
  t.is(e1.message, `Cannot read image ${missing}: no such file`);
  t.is(e1.code, 'ENOENT');
  const e2 = await t.throwsAsync(decodeImage(dir), { instanceOf: ImageDecodeError });
  t.is(e2.message, `Cannot read image ${dir}: is a directory`);

  const text = path.join(dir, 'notes.jpg');
  fs.writeFileSync(text, 'hello world');
  await t.throwsAsync(decodeImage(text), {
    instanceOf: ImageDecodeError,
    message: `Cannot decode ${text}: not a JPEG, PNG, WebP, GIF or BMP image (starts with 68 65 6c 6c)`,
  });
  await t.throwsAsync(decodeImage(new Uint8Array(0)), {
    instanceOf: ImageDecodeError,
    message: 'Cannot decode image: empty data',
  });
  // a PNG cut inside its header: recognised, but corrupt
  const cut = fs.readFileSync(astronaut).subarray(0, 40);
  const e3 = await t.throwsAsync(decodeImage(cut), { instanceOf: ImageDecodeError });
  t.regex(e3.message, /^Cannot decode image: corrupt or unsupported PNG data \(/);
  t.is(e3.code, 'ERR_SSD_EDGE_IMAGE');
  fs.rmSync(dir, { recursive: true });
});

test('sniffImageFormat', (t) => {
  t.is(sniffImageFormat(Buffer.from([0xff, 0xd8, 0xff, 0xe0])), 'jpeg');
  t.is(sniffImageFormat(fs.readFileSync(astronaut)), 'png');
  t.is(sniffImageFormat(Buffer.from('RIFF\0\0\0\0WEBPVP8 ', 'latin1')), 'webp');
  t.is(sniffImageFormat(Buffer.from('GIF89a', 'latin1')), 'gif');
  t.is(sniffImageFormat(Buffer.from('BM', 'latin1')), 'bmp');
  t.is(sniffImageFormat(Buffer.from('<svg', 'latin1')), null);
});

/** A PNG chunk: length, type, data, CRC-32. */
function pngChunk(type: string, data: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const head = Buffer.alloc(4);
  head.writeUInt32BE(data.length);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(zlib.crc32(body) >>> 0);
  return Buffer.concat([head, body, crc]);
}

/** A complete, valid 1-bit grayscale PNG, all black: rows of zeros compress about 1000:1. */
function blackPng(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 1; // bit depth; colour type 0 (gray), deflate, filter 0, no interlace
  const raw = Buffer.alloc((1 + Math.ceil(width / 8)) * height); // filter byte 0 + packed bits, per row
  return Buffer.concat([
    Buffer.from('89504e470d0a1a0a', 'hex'),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', zlib.deflateSync(raw, { level: 9 })),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/** Keeps only the image chunk of a VP8X WebP (a simple-format 'VP8 ' or 'VP8L' file). */
function simpleWebp(vp8x: Buffer): Buffer {
  for (let i = 12; i + 8 <= vp8x.length; ) {
    const type = vp8x.toString('latin1', i, i + 4);
    const len = vp8x.readUInt32LE(i + 4);
    if (type === 'VP8 ' || type === 'VP8L') {
      const chunk = vp8x.subarray(i, i + 8 + len + (len & 1));
      const head = Buffer.from('RIFF0000WEBP', 'latin1');
      head.writeUInt32LE(4 + chunk.length, 4);
      return Buffer.concat([head, chunk]);
    }
    i += 8 + len + (len & 1);
  }
  throw new Error('no VP8/VP8L chunk');
}

/** A 24-bit BMP (BITMAPINFOHEADER), bottom-up or top-down (negative height). */
function bmp(width: number, height: number, topDown = false): Buffer {
  const stride = Math.ceil((width * 3) / 4) * 4;
  const b = Buffer.alloc(54 + stride * height);
  b.write('BM', 0, 'latin1');
  b.writeUInt32LE(b.length, 2);
  b.writeUInt32LE(54, 10);
  b.writeUInt32LE(40, 14);
  b.writeInt32LE(width, 18);
  b.writeInt32LE(topDown ? -height : height, 22);
  b.writeUInt16LE(1, 26);
  b.writeUInt16LE(24, 28);
  return b;
}

test("readImageSize reads every format's header as the decoder sizes the image", async (t) => {
  const files: Array<[string, Buffer]> = [];
  for (const [w, h] of [
    [37, 23],
    [1, 1],
    [300, 7],
  ]) {
    const canvas = createCanvas(w, h);
    canvas.getContext('2d').fillRect(0, 0, 1, 1);
    files.push([`png ${w}x${h}`, canvas.encodeSync('png')], [`jpeg ${w}x${h}`, canvas.encodeSync('jpeg', 90)]);
    const webp = canvas.encodeSync('webp', 80);
    files.push(
      [`webp VP8X ${w}x${h}`, webp],
      [`webp VP8 ${w}x${h}`, simpleWebp(webp)],
      [`webp VP8L ${w}x${h}`, simpleWebp(canvas.encodeSync('webp', 100))],
    );
    files.push([`bmp ${w}x${h}`, bmp(w, h)], [`bmp top-down ${w}x${h}`, bmp(w, h, true)]);
  }
  // GIF: a 1×1 image on a 5×3 logical screen
  files.push([
    'gif 5x3',
    Buffer.from('47494638396105000300800000000000ffffff21f90401000000002c00000000010001000002024401003b', 'hex'),
  ]);
  // JPEG with an EXIF segment before the frame header
  const jpeg = createCanvas(9, 4).encodeSync('jpeg', 90);
  files.push(['jpeg + APP1', Buffer.concat([jpeg.subarray(0, 2), exifOrientationSegment(1), jpeg.subarray(2)])]);
  for (const [name, bytes] of files) {
    const img = await loadImage(bytes);
    t.deepEqual(readImageSize(bytes), { width: img.width, height: img.height }, name);
  }
  t.is(readImageSize(Buffer.from('not an image')), null);
  t.is(readImageSize(Buffer.from('89504e470d0a1a0a', 'hex')), null); // PNG signature, no IHDR
  t.is(readImageSize(Buffer.from([0xff, 0xd8, 0xff, 0xd9])), null); // JPEG without a frame header
});

test("a valid 32768×32768 PNG is refused from its header: over the decoder's limit, with the size and the limit", async (t) => {
  t.is(MAX_DECODE_PIXELS, 1073741823); // 4294967295 bytes of RGBA
  // the generator makes valid PNGs: a small one decodes to black pixels
  const small = await decodeImage(blackPng(40, 30));
  t.like(small, { width: 40, height: 30, format: 'png' });
  t.true(small.data.every((v, i) => (i % 4 === 3 ? v === 255 : v === 0)));
  const big = blackPng(32768, 32768);
  t.true(big.length < 200_000);
  t.like(await loadImage(big), { width: 32768, height: 32768 }); // canvas reads it as a valid image
  const err = await t.throwsAsync(decodeImage(big, 'huge.png'), {
    instanceOf: ImageDecodeError,
    message:
      "Cannot decode huge.png: the PNG is 32768×32768 (1073741824 pixels), over the decoder's limit of 1073741823 pixels " +
      '(@napi-rs/canvas returns RGBA in one buffer of at most 4294967295 bytes); scale it down first',
  });
  t.is(err.code, 'ERR_SSD_EDGE_IMAGE_TOO_LARGE');
  // a JPEG frame header of 65500×65500 (the JPEG maximum) is refused the same way, before any decoding
  const sof = Buffer.from([
    0xff, 0xd8, 0xff, 0xc0, 0x00, 0x11, 0x08, 0xff, 0xdc, 0xff, 0xdc, 0x03, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1, 0xff,
    0xd9,
  ]);
  t.deepEqual(readImageSize(sof), { width: 65500, height: 65500 });
  await t.throwsAsync(decodeImage(sof), {
    code: 'ERR_SSD_EDGE_IMAGE_TOO_LARGE',
    message: /^Cannot decode image: the JPEG is 65500×65500 \(4290250000 pixels\), over/,
  });
});
