/**
 * EXIF orientation: the APP1 reader on JPEGs built here (EXIF segments written byte by byte, both byte orders), the
 * pixel transform against an obvious reference built from transpose and flips, and decodeImage end to end.
 */
import test from 'ava';
import { createCanvas, loadImage } from '@napi-rs/canvas';
import { applyOrientation, orientedSize, readJpegOrientation, type Orientation } from '../../../lib/image/exif.ts';
import { decodeImage, decoderAppliesOrientation } from '../../../lib/image/decode.ts';

/** A small JPEG (no EXIF) with four differently coloured quadrants and a gradient, so every transform differs. */
function baseJpeg(width = 24, height = 16): Buffer {
  const canvas = createCanvas(width, height);
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#d02020';
  ctx.fillRect(0, 0, width / 2, height / 2);
  ctx.fillStyle = '#20d020';
  ctx.fillRect(width / 2, 0, width / 2, height / 2);
  ctx.fillStyle = '#2020d0';
  ctx.fillRect(0, height / 2, width / 2, height / 2);
  ctx.fillStyle = '#e0e020';
  ctx.fillRect(width / 2, height / 2, width / 2, height / 2);
  return canvas.encodeSync('jpeg', 95);
}

/**
 * APP1 segment "Exif\0\0" + TIFF header + IFD0 with `entries` (tag, type, count, value) in the given byte order.
 * The orientation tag is 0x0112, type 3 (SHORT), count 1.
 */
function exifSegment(order: 'II' | 'MM', entries: Array<[number, number, number, number]>): Buffer {
  const le = order === 'II';
  const tiff = Buffer.alloc(8 + 2 + 12 * entries.length + 4);
  tiff.write(order, 0, 'latin1');
  le ? tiff.writeUInt16LE(42, 2) : tiff.writeUInt16BE(42, 2);
  le ? tiff.writeUInt32LE(8, 4) : tiff.writeUInt32BE(8, 4);
  le ? tiff.writeUInt16LE(entries.length, 8) : tiff.writeUInt16BE(entries.length, 8);
  entries.forEach(([tag, type, count, value], k) => {
    const e = 10 + 12 * k;
    if (le) {
      tiff.writeUInt16LE(tag, e);
      tiff.writeUInt16LE(type, e + 2);
      tiff.writeUInt32LE(count, e + 4);
      tiff.writeUInt16LE(value, e + 8);
    } else {
      tiff.writeUInt16BE(tag, e);
      tiff.writeUInt16BE(type, e + 2);
      tiff.writeUInt32BE(count, e + 4);
      tiff.writeUInt16BE(value, e + 8);
    }
  });
  return app(0xe1, Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), tiff]));
}

/** A marker segment: FF <marker> <length incl. itself> <body>. */
function app(marker: number, body: Buffer): Buffer {
  const head = Buffer.from([0xff, marker, 0, 0]);
  head.writeUInt16BE(body.length + 2, 2);
  return Buffer.concat([head, body]);
}

/** The JPEG with segments inserted right after SOI. */
function withSegments(jpeg: Buffer, ...segments: Buffer[]): Buffer {
  return Buffer.concat([jpeg.subarray(0, 2), ...segments, jpeg.subarray(2)]);
}

const orientationEntry = (o: number): [number, number, number, number] => [0x0112, 3, 1, o];
const ALL: Orientation[] = [1, 2, 3, 4, 5, 6, 7, 8];

test('reads every orientation value in both byte orders', (t) => {
  const jpeg = baseJpeg();
  for (const order of ['II', 'MM'] as const) {
    for (const o of ALL)
      t.is(readJpegOrientation(withSegments(jpeg, exifSegment(order, [orientationEntry(o)]))), o, `${order} ${o}`);
  }
});

test('finds the tag among other IFD0 entries and after an APP0 (JFIF) segment', (t) => {
  const jpeg = baseJpeg();
  const jfif = app(0xe0, Buffer.from('JFIF\0\x01\x01\0\0\x01\0\x01\0\0', 'latin1'));
  const exif = exifSegment('II', [[0x010f, 2, 4, 0], [0x0110, 2, 4, 0], orientationEntry(8), [0x011a, 5, 1, 0]]);
  t.is(readJpegOrientation(withSegments(jpeg, jfif, exif)), 8);
  // an APP1 that is XMP, not Exif, before the real one
  const xmp = app(0xe1, Buffer.from('http://ns.adobe.com/xap/1.0/\0<x/>', 'latin1'));
  t.is(readJpegOrientation(withSegments(jpeg, xmp, exifSegment('MM', [orientationEntry(3)]))), 3);
});

test('anything missing, malformed or truncated reads as 1', (t) => {
  const jpeg = baseJpeg();
  t.is(readJpegOrientation(jpeg), 1, 'no EXIF');
  t.is(readJpegOrientation(new Uint8Array(0)), 1, 'empty');
  t.is(readJpegOrientation(Buffer.from('\x89PNG\r\n\x1a\n', 'latin1')), 1, 'not a JPEG');
  t.is(readJpegOrientation(withSegments(jpeg, exifSegment('II', [orientationEntry(9)]))), 1, 'value 9');
  t.is(readJpegOrientation(withSegments(jpeg, exifSegment('II', [orientationEntry(0)]))), 1, 'value 0');
  t.is(readJpegOrientation(withSegments(jpeg, exifSegment('II', [[0x0112, 4, 1, 6]]))), 1, 'type LONG, not SHORT');
  t.is(readJpegOrientation(withSegments(jpeg, exifSegment('II', [[0x0110, 2, 4, 0]]))), 1, 'no orientation tag');
  const badMagic = exifSegment('II', [orientationEntry(6)]);
  badMagic.write('XX', 4 + 6, 'latin1');
  t.is(readJpegOrientation(withSegments(jpeg, badMagic)), 1, 'bad byte-order mark');
  const full = withSegments(jpeg, exifSegment('MM', [orientationEntry(6)]));
  for (const cut of [3, 6, 12, 20, 30]) t.is(readJpegOrientation(full.subarray(0, cut)), 1, `truncated at ${cut}`);
  // IFD offset pointing past the segment
  const far = exifSegment('MM', [orientationEntry(6)]);
  far.writeUInt32BE(4000, 4 + 6 + 4);
  t.is(readJpegOrientation(withSegments(jpeg, far)), 1, 'IFD offset out of range');
});

test('EXIF after the start of scan is ignored', (t) => {
  const jpeg = baseJpeg();
  const sos = jpeg.indexOf(Buffer.from([0xff, 0xda]));
  const late = Buffer.concat([
    jpeg.subarray(0, sos),
    Buffer.from([0xff, 0xda, 0, 2]),
    exifSegment('II', [orientationEntry(6)]),
  ]);
  t.is(readJpegOrientation(late), 1);
});

// --- applyOrientation vs an obvious reference ------------------------------------------------------

type Grid = number[][]; // [y][x] pixel ids
const transpose = (g: Grid): Grid => g[0].map((_, x) => g.map((row) => row[x]));
const flipH = (g: Grid): Grid => g.map((row) => [...row].reverse());
const flipV = (g: Grid): Grid => [...g].reverse();
/** Each orientation as the composition that makes the image upright (TIFF/EXIF definitions). */
const REFERENCE: Record<Orientation, (g: Grid) => Grid> = {
  1: (g) => g,
  2: flipH,
  3: (g) => flipV(flipH(g)), // 180°
  4: flipV,
  5: transpose,
  6: (g) => flipH(transpose(g)), // 90° clockwise
  7: (g) => flipV(flipH(transpose(g))), // transverse
  8: (g) => flipV(transpose(g)), // 90° counter-clockwise
};

function packed(g: Grid, channels: 3 | 4): Uint8Array {
  const out = new Uint8Array(g.length * g[0].length * channels);
  g.flat().forEach((id, p) => {
    for (let c = 0; c < channels; c++) out[p * channels + c] = (id * 7 + c * 50) & 255;
  });
  return out;
}

test('applyOrientation matches transpose/flip compositions for every orientation, 3 and 4 channels', (t) => {
  const W = 5;
  const H = 3;
  const grid: Grid = Array.from({ length: H }, (_, y) => Array.from({ length: W }, (_, x) => y * W + x));
  for (const channels of [3, 4] as const) {
    for (const o of ALL) {
      const expected = REFERENCE[o](grid);
      const r = applyOrientation(packed(grid, channels), W, H, channels, o);
      t.is(r.width, expected[0].length, `width o=${o}`);
      t.is(r.height, expected.length, `height o=${o}`);
      t.deepEqual(orientedSize(W, H, o), { width: r.width, height: r.height });
      t.deepEqual(Array.from(r.data), Array.from(packed(expected, channels)), `pixels o=${o} c=${channels}`);
    }
  }
});

test('applyOrientation keeps the array type, does not modify the input, and returns it for 1', (t) => {
  const data = new Uint8ClampedArray([1, 2, 3, 4, 5, 6, 7, 8]);
  const copy = data.slice();
  const r = applyOrientation(data, 2, 1, 4, 2);
  t.true(r.data instanceof Uint8ClampedArray);
  t.deepEqual(Array.from(r.data), [5, 6, 7, 8, 1, 2, 3, 4]);
  t.deepEqual(data, copy);
  t.is(applyOrientation(data, 2, 1, 4, 1).data, data);
  // an RGBA view at an unaligned offset takes the byte path
  const buf = new Uint8Array(9);
  buf.set([1, 2, 3, 4, 5, 6, 7, 8], 1);
  t.deepEqual(Array.from(applyOrientation(buf.subarray(1), 2, 1, 4, 2).data), [5, 6, 7, 8, 1, 2, 3, 4]);
});

// --- decodeImage ------------------------------------------------------------------------------------

test('decodeImage returns upright pixels for every orientation (orientation applied exactly once)', async (t) => {
  const jpeg = baseJpeg();
  const plain = await decodeImage(jpeg);
  t.is(plain.orientation, 1);
  for (const order of ['II', 'MM'] as const) {
    for (const o of ALL) {
      const img = await decodeImage(withSegments(jpeg, exifSegment(order, [orientationEntry(o)])));
      const expected = applyOrientation(plain.data, plain.width, plain.height, 4, o);
      t.is(img.orientation, o);
      t.is(img.width, expected.width, `width ${order} ${o}`);
      t.is(img.height, expected.height, `height ${order} ${o}`);
      t.true(Buffer.from(img.data).equals(Buffer.from(expected.data)), `pixels ${order} ${o}`);
    }
  }
});

test('the decoder probe agrees with what decoding an orientation-6 JPEG does to the size', async (t) => {
  const applies = await decoderAppliesOrientation();
  t.is(typeof applies, 'boolean');
  const img = await loadImage(withSegments(baseJpeg(24, 16), exifSegment('MM', [orientationEntry(6)])));
  t.is(img.width === 16, applies);
});
