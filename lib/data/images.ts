/**
 * What a dataset needs to know about its image files without decoding them: that they exist, their format and
 * upright size from the header (JPEG EXIF orientation 5–8 swaps width and height, as `decodeImage` does), and —
 * for `data check` — whether the whole file is there and decodes.
 */
import fs from 'node:fs';
import { decodeImage, readImageSize, sniffImageFormat } from '../image/decode.ts';
import { readJpegOrientation } from '../image/exif.ts';

/** What the header says, or why the file cannot be used. */
export type ImageHeader =
  | { ok: true; format: string; width: number; height: number }
  | { ok: false; code: 'missing-image' | 'undecodable-image'; why: string };

/**
 * Bytes read first for the header; when the size is not in them (a JPEG whose EXIF APP1, up to 64 KiB, comes before
 * its SOF), the whole file is read. A SOF found in them means any APP1 before it is complete too (orientation).
 */
const HEAD_BYTES = 1 << 14;

/**
 * Reads an image file's header (the first 16 KiB; the whole file when the size is further in).
 *
 * @example await readImageHeader('a.jpg') // { ok: true, format: 'jpeg', width: 500, height: 375 }
 */
export async function readImageHeader(file: string): Promise<ImageHeader> {
  let bytes: Buffer;
  let total: number;
  try {
    const fh = await fs.promises.open(file, 'r');
    try {
      const stat = await fh.stat();
      if (stat.isDirectory()) return { ok: false, code: 'missing-image', why: 'is a directory' };
      total = stat.size;
      const buf = Buffer.alloc(Math.min(HEAD_BYTES, total));
      const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
      bytes = buf.subarray(0, bytesRead);
    } finally {
      await fh.close();
    }
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOENT') return { ok: false, code: 'missing-image', why: 'no such file' };
    if (e.code === 'EISDIR') return { ok: false, code: 'missing-image', why: 'is a directory' };
    return { ok: false, code: 'missing-image', why: `cannot be read (${e.code ?? e.message})` };
  }
  const format = sniffImageFormat(bytes);
  if (!format) {
    return {
      ok: false,
      code: 'undecodable-image',
      why: total === 0 ? 'the file is empty' : 'not a JPEG, PNG, WebP, GIF or BMP image',
    };
  }
  let size = readImageSize(bytes);
  if (!size && total > bytes.length) {
    bytes = await fs.promises.readFile(file);
    size = readImageSize(bytes);
  }
  if (!size) return { ok: false, code: 'undecodable-image', why: `${format.toUpperCase()} header without a size` };
  const orientation = format === 'jpeg' ? readJpegOrientation(bytes) : 1;
  const swap = orientation >= 5;
  return { ok: true, format, width: swap ? size.height : size.width, height: swap ? size.width : size.height };
}

/**
 * Why an encoded image is incomplete, or null when its structure ends properly: a JPEG needs an end-of-image marker
 * after its first start-of-scan, a PNG its IEND chunk, a GIF its trailer, WebP/BMP the length their header states.
 * (The decoder accepts some truncated files and fills the rest with grey; this catches them.)
 */
export function truncation(bytes: Uint8Array): string | null {
  const b = bytes;
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  switch (sniffImageFormat(b)) {
    case 'jpeg': {
      let i = 2;
      while (i + 3 < b.length) {
        if (b[i] !== 0xff) return 'corrupt JPEG marker structure';
        const marker = b[i + 1];
        if (marker === 0xff) {
          i++;
          continue;
        }
        if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
          i += 2;
          continue;
        }
        if (marker === 0xd9) return 'JPEG ends before its image data';
        if (marker === 0xda) break;
        i += 2 + view.getUint16(i + 2);
      }
      // entropy-coded data stuffs 0xFF as FF 00, so FF D9 after the scan starts can only be the end marker
      for (let k = b.length - 2; k > i; k--) if (b[k] === 0xff && b[k + 1] === 0xd9) return null;
      return 'truncated JPEG data (no end-of-image marker)';
    }
    case 'png': {
      let i = 8;
      while (i + 8 <= b.length) {
        const length = view.getUint32(i);
        const type = String.fromCharCode(b[i + 4], b[i + 5], b[i + 6], b[i + 7]);
        if (i + 12 + length > b.length) return `truncated PNG data (chunk ${type} cut short)`;
        if (type === 'IEND') return null;
        i += 12 + length;
      }
      return 'truncated PNG data (no IEND chunk)';
    }
    case 'gif':
      return b[b.length - 1] === 0x3b ? null : 'truncated GIF data (no trailer)';
    case 'webp':
      return 8 + view.getUint32(4, true) <= b.length ? null : 'truncated WebP data (shorter than its RIFF size)';
    case 'bmp': {
      const stated = b.length >= 6 ? view.getUint32(2, true) : 0;
      return stated <= b.length ? null : 'truncated BMP data (shorter than its header says)';
    }
    default:
      return 'not a JPEG, PNG, WebP, GIF or BMP image';
  }
}

/** Decodes the whole file; the reason it cannot be used, or null when it decodes completely. */
export async function decodeProblem(file: string): Promise<string | null> {
  let bytes: Buffer;
  try {
    bytes = await fs.promises.readFile(file);
  } catch (err) {
    return `cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`;
  }
  const cut = truncation(bytes);
  if (cut) return cut;
  try {
    await decodeImage(bytes, file);
    return null;
  } catch (err) {
    return (err as Error).message.replace(/^Cannot decode [^:]*: /, '');
  }
}

/** Runs `fn` over `items` with at most `limit` at a time, results in order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, i: number) => Promise<R>) {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
