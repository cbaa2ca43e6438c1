/**
 * Image inputs → packed pixels. Files and encoded buffers (JPEG, PNG, WebP, GIF, BMP) are decoded with
 * @napi-rs/canvas to RGBA; raw pixels pass through without a copy. JPEG EXIF orientation is honoured.
 */
import fs from 'node:fs';
import { createCanvas, loadImage } from '@napi-rs/canvas';
import { invalidParameterError, object } from '../is.ts';
import { applyOrientation, readJpegOrientation, type Orientation } from './exif.ts';

/** Packed 8-bit pixels, row-major, `channels` bytes per pixel in RGB(A) order, no row padding. */
export interface RawImage {
  /** `width·height·channels` bytes. */
  data: Uint8Array | Uint8ClampedArray;
  width: number;
  height: number;
  /** 3 = RGB, 4 = RGBA (alpha is ignored by the detector). */
  channels: 3 | 4;
}

/** What `decodeImage` (and therefore `Detector.detect`) accepts: a file path, an encoded image, or raw pixels. */
export type ImageInput = string | Uint8Array | RawImage;

export type ImageFormat = 'jpeg' | 'png' | 'webp' | 'gif' | 'bmp' | 'raw';

/** A decoded image: upright pixels (EXIF orientation applied) and where they came from. */
export interface DecodedImage extends RawImage {
  format: ImageFormat;
  /** EXIF orientation found in the file (1 when none or not a JPEG); the pixels are already upright. */
  orientation: Orientation;
}

/**
 * Error for an input that cannot be read or decoded; `code` is 'ERR_SSD_EDGE_IMAGE', 'ERR_SSD_EDGE_IMAGE_TOO_LARGE'
 * (over {@link MAX_DECODE_PIXELS}) or the fs code (e.g. 'ENOENT').
 */
export class ImageDecodeError extends Error {
  code: string;
  constructor(message: string, code = 'ERR_SSD_EDGE_IMAGE', options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ImageDecodeError';
    this.code = code;
  }
}

/** Format from the first bytes (magic numbers); null when none of the supported ones. */
export function sniffImageFormat(bytes: Uint8Array): Exclude<ImageFormat, 'raw'> | null {
  const b = bytes;
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpeg';
  if (
    b.length >= 8 &&
    b[0] === 0x89 &&
    b[1] === 0x50 &&
    b[2] === 0x4e &&
    b[3] === 0x47 &&
    b[4] === 0x0d &&
    b[5] === 0x0a &&
    b[6] === 0x1a &&
    b[7] === 0x0a
  )
    return 'png';
  if (b.length >= 12 && ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 4) === 'WEBP') return 'webp';
  if (b.length >= 6 && (ascii(b, 0, 6) === 'GIF87a' || ascii(b, 0, 6) === 'GIF89a')) return 'gif';
  if (b.length >= 2 && b[0] === 0x42 && b[1] === 0x4d) return 'bmp';
  return null;
}

/**
 * The most pixels the decoder can return: @napi-rs/canvas hands decoded pixels over as one RGBA buffer of at most
 * 4 294 967 295 bytes (2³² − 1, its "maximum size"), so width·height ≤ 1 073 741 823 (e.g. 32767×32767 decodes,
 * 32768×32768 does not). Files over it are refused from their header, before any decoding.
 */
export const MAX_DECODE_PIXELS = Math.floor(0xffffffff / 4);

/**
 * Width and height as an encoded image's header states them (PNG IHDR, JPEG SOFn, GIF logical screen, BMP DIB
 * header, WebP VP8/VP8L/VP8X), without decoding; null for another format or a header too short to tell.
 *
 * @example
 * readImageSize(fs.readFileSync('photo.jpg')) // { width: 4032, height: 3024 } (as stored, before EXIF rotation)
 */
export function readImageSize(bytes: Uint8Array): { width: number; height: number } | null {
  const b = bytes;
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const size = (width: number, height: number) => (width > 0 && height > 0 ? { width, height } : null);
  switch (sniffImageFormat(b)) {
    case 'png':
      return b.length >= 24 && ascii(b, 12, 4) === 'IHDR' ? size(view.getUint32(16), view.getUint32(20)) : null;
    case 'gif':
      return b.length >= 10 ? size(view.getUint16(6, true), view.getUint16(8, true)) : null;
    case 'bmp': {
      if (b.length < 26) return null;
      if (view.getUint32(14, true) === 12) return size(view.getUint16(18, true), view.getUint16(20, true)); // OS/2 core header
      return size(Math.abs(view.getInt32(18, true)), Math.abs(view.getInt32(22, true))); // negative height = top-down
    }
    case 'webp': {
      const chunk = b.length >= 16 ? ascii(b, 12, 4) : '';
      if (chunk === 'VP8X' && b.length >= 30)
        return size(1 + (view.getUint32(24, true) & 0xffffff), 1 + (view.getUint32(27, true) & 0xffffff));
      if (chunk === 'VP8L' && b.length >= 25) {
        const bits = view.getUint32(21, true);
        return size(1 + (bits & 0x3fff), 1 + ((bits >>> 14) & 0x3fff));
      }
      if (chunk === 'VP8 ' && b.length >= 30)
        return size(view.getUint16(26, true) & 0x3fff, view.getUint16(28, true) & 0x3fff);
      return null;
    }
    case 'jpeg': {
      // markers from after SOI: each 0xFF xx [length…]; SOF0–SOF15 (not DHT C4, JPG C8, DAC CC) hold the size
      let i = 2;
      while (i + 3 < b.length) {
        if (b[i] !== 0xff) return null;
        const marker = b[i + 1];
        if (marker === 0xff) {
          i++; // fill byte
          continue;
        }
        if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
          i += 2; // no length
          continue;
        }
        if (marker === 0xd9 || marker === 0xda) return null; // end of image / start of scan before any SOF
        const length = view.getUint16(i + 2);
        if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
          return i + 9 <= b.length ? size(view.getUint16(i + 7), view.getUint16(i + 5)) : null;
        }
        i += 2 + length;
      }
      return null;
    }
    default:
      return null;
  }
}

function ascii(b: Uint8Array, start: number, length: number): string {
  return String.fromCharCode(...b.subarray(start, start + length));
}

/** Validates raw pixels: `{ data, width, height, channels }` with the exact length. */
export function assertRawImage(name: string, value: unknown): asserts value is RawImage {
  if (!object(value))
    throw invalidParameterError(name, 'file path, encoded image Buffer or { data, width, height, channels }', value);
  const { data, width, height, channels } = value as Partial<RawImage>;
  if (!(data instanceof Uint8Array || data instanceof Uint8ClampedArray)) {
    throw invalidParameterError(`${name}.data`, 'Uint8Array or Uint8ClampedArray', data);
  }
  for (const [k, v] of [
    ['width', width],
    ['height', height],
  ] as const) {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1)
      throw invalidParameterError(`${name}.${k}`, 'integer ≥ 1', v);
  }
  if (channels !== 3 && channels !== 4) throw invalidParameterError(`${name}.channels`, '3 or 4', channels);
  const expected = width! * height! * channels;
  if (data.length !== expected) {
    throw invalidParameterError(
      `${name}.data`,
      `${data.constructor.name} of length ${expected} (width·height·channels)`,
      data,
    );
  }
}

let orientationProbe: Promise<boolean> | null = null;

/**
 * Whether @napi-rs/canvas applies EXIF orientation itself when it decodes a JPEG (1.1.1 does). Probed once with
 * a 16×8 red|blue JPEG tagged orientation 2 (mirror): if the decoded left half is blue, the decoder mirrored it.
 * Knowing this keeps orientation applied exactly once whatever the canvas version does.
 */
export function decoderAppliesOrientation(): Promise<boolean> {
  orientationProbe ??= (async () => {
    const canvas = createCanvas(16, 8);
    const ctx = canvas.getContext('2d');
    ctx.fillStyle = '#ff0000';
    ctx.fillRect(0, 0, 8, 8);
    ctx.fillStyle = '#0000ff';
    ctx.fillRect(8, 0, 8, 8);
    const jpeg = canvas.encodeSync('jpeg', 95);
    const tagged = Buffer.concat([jpeg.subarray(0, 2), exifOrientationSegment(2), jpeg.subarray(2)]);
    const { data } = await decodeToRgba(tagged);
    return data[2] > data[0]; // top-left pixel blue → mirrored by the decoder
  })();
  return orientationProbe;
}

/**
 * An APP1 Exif segment holding only IFD0 with the orientation tag (big-endian TIFF), ready to insert after SOI.
 * Used by the decoder probe; tests build their own.
 */
export function exifOrientationSegment(orientation: number): Buffer {
  const tiff = Buffer.alloc(8 + 2 + 12 + 4);
  tiff.write('MM', 0, 'latin1');
  tiff.writeUInt16BE(42, 2);
  tiff.writeUInt32BE(8, 4); // IFD0 right after the header
  tiff.writeUInt16BE(1, 8); // one entry
  tiff.writeUInt16BE(0x0112, 10); // Orientation
  tiff.writeUInt16BE(3, 12); // SHORT
  tiff.writeUInt32BE(1, 14); // count 1
  tiff.writeUInt16BE(orientation, 18); // value, left-justified; next-IFD offset 0 follows
  const body = Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), tiff]);
  const head = Buffer.from([0xff, 0xe1, 0, 0]);
  head.writeUInt16BE(body.length + 2, 2);
  return Buffer.concat([head, body]);
}

/** Decodes with canvas to straight (unpremultiplied) RGBA at the decoder's size. */
async function decodeToRgba(bytes: Uint8Array): Promise<{ data: Uint8ClampedArray; width: number; height: number }> {
  const img = await loadImage(bytes);
  const { width, height } = img;
  if (!(width > 0 && height > 0)) throw new Error('decoded image has no pixels');
  const canvas = createCanvas(width, height);
  const ctx = canvas.getContext('2d');
  ctx.drawImage(img, 0, 0);
  return { data: ctx.getImageData(0, 0, width, height).data, width, height };
}

/**
 * Decodes an image to packed 8-bit pixels, upright.
 *
 * - a `string` is a file path (read from disk; never a URL or SVG markup);
 * - a `Uint8Array`/`Buffer` is an encoded JPEG, PNG, WebP, GIF (first frame) or BMP;
 * - `{ data, width, height, channels: 3 | 4 }` is raw RGB(A) and is returned as is (no copy).
 *
 * Decoded files are RGBA (`channels: 4`), straight alpha. For JPEG the EXIF orientation (APP1, tag 0x0112) is read
 * and applied once (the pixels come back as the image is meant to be shown; width and height swap for 5–8).
 *
 * @param input Path, encoded bytes or raw pixels.
 * @param name Name used in error messages (default 'image').
 * @returns {@link DecodedImage}.
 * @throws {TypeError} Input of another type, raw pixels with a wrong length / size / channel count.
 * @throws {ImageDecodeError} Unreadable file (code = the fs code, e.g. 'ENOENT'), unknown format or corrupt data
 *   (code 'ERR_SSD_EDGE_IMAGE'), more than {@link MAX_DECODE_PIXELS} pixels by the header (code
 *   'ERR_SSD_EDGE_IMAGE_TOO_LARGE', message with the size and the limit); the message names the file.
 * @example
 * const img = await decodeImage('photo.jpg'); // { data: Uint8ClampedArray [w·h·4], width, height, channels: 4, format: 'jpeg', orientation }
 */
export async function decodeImage(input: ImageInput, name = 'image'): Promise<DecodedImage> {
  if (typeof input === 'string') {
    let bytes: Buffer;
    try {
      bytes = await fs.promises.readFile(input);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      const why = e.code === 'ENOENT' ? 'no such file' : e.code === 'EISDIR' ? 'is a directory' : e.message;
      throw new ImageDecodeError(`Cannot read image ${input}: ${why}`, e.code ?? 'ERR_SSD_EDGE_IMAGE', { cause: err });
    }
    return decodeBytes(bytes, input);
  }
  if (input instanceof Uint8Array) return decodeBytes(input, name);
  assertRawImage(name, input);
  return {
    data: input.data,
    width: input.width,
    height: input.height,
    channels: input.channels,
    format: 'raw',
    orientation: 1,
  };
}

async function decodeBytes(bytes: Uint8Array, label: string): Promise<DecodedImage> {
  const format = sniffImageFormat(bytes);
  if (!format) {
    const what =
      bytes.length === 0 ? 'empty data' : `not a JPEG, PNG, WebP, GIF or BMP image (starts with ${hexHead(bytes)})`;
    throw new ImageDecodeError(`Cannot decode ${label}: ${what}`);
  }
  const stated = readImageSize(bytes);
  if (stated && stated.width * stated.height > MAX_DECODE_PIXELS) {
    const { width, height } = stated;
    throw new ImageDecodeError(
      `Cannot decode ${label}: the ${format.toUpperCase()} is ${width}×${height} (${width * height} pixels), over the decoder's limit of ` +
        `${MAX_DECODE_PIXELS} pixels (@napi-rs/canvas returns RGBA in one buffer of at most 4294967295 bytes); scale it down first`,
      'ERR_SSD_EDGE_IMAGE_TOO_LARGE',
    );
  }
  let decoded: { data: Uint8ClampedArray; width: number; height: number };
  try {
    decoded = await decodeToRgba(bytes);
  } catch (err) {
    throw new ImageDecodeError(
      `Cannot decode ${label}: corrupt or unsupported ${format.toUpperCase()} data (${(err as Error).message})`,
      'ERR_SSD_EDGE_IMAGE',
      { cause: err },
    );
  }
  const orientation = format === 'jpeg' ? readJpegOrientation(bytes) : 1;
  if (orientation !== 1 && !(await decoderAppliesOrientation())) {
    decoded = applyOrientation(decoded.data, decoded.width, decoded.height, 4, orientation);
  }
  return { ...decoded, channels: 4, format, orientation };
}

function hexHead(b: Uint8Array): string {
  return Array.from(b.subarray(0, 4), (x) => x.toString(16).padStart(2, '0')).join(' ');
}
