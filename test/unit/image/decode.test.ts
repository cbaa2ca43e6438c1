/**
 * decodeImage: the three input kinds and the errors for what cannot be read or decoded (messages asserted).
 */
import test from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { createCanvas } from '@napi-rs/canvas';
import { decodeImage, ImageDecodeError, sniffImageFormat } from '../../../lib/image/decode.ts';
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
    message: 'Expected Uint8Array of length 18 (width·height·channels) for image.data but received Uint8Array of length 17',
  });
  await t.throwsAsync(decodeImage({ data: new Uint8Array(12), width: 3, height: 2, channels: 2 as 3 }), {
    instanceOf: TypeError, message: 'Expected 3 or 4 for image.channels but received 2',
  });
  await t.throwsAsync(decodeImage({ data: new Float32Array(6) as unknown as Uint8Array, width: 1, height: 2, channels: 3 }), {
    instanceOf: TypeError, message: 'Expected Uint8Array or Uint8ClampedArray for image.data but received Float32Array of length 6',
  });
  await t.throwsAsync(decodeImage({ data: new Uint8Array(0), width: 0, height: 2, channels: 3 }), {
    instanceOf: TypeError, message: 'Expected integer ≥ 1 for image.width but received 0',
  });
  await t.throwsAsync(decodeImage(42 as never), {
    instanceOf: TypeError, message: 'Expected file path, encoded image Buffer or { data, width, height, channels } for image but received 42',
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
    instanceOf: ImageDecodeError, message: `Cannot decode ${text}: not a JPEG, PNG, WebP, GIF or BMP image (starts with 68 65 6c 6c)`,
  });
  await t.throwsAsync(decodeImage(new Uint8Array(0)), { instanceOf: ImageDecodeError, message: 'Cannot decode image: empty data' });
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
