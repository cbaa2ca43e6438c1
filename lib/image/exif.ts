/**
 * EXIF orientation of JPEG files: a small reader for the one tag that matters to a detector (0x0112 in IFD0
 * of the APP1 "Exif" segment) and the pixel transform that undoes it.
 *
 * Values (TIFF 6.0 / EXIF 2.3), as the stored pixels must be transformed to be shown upright:
 * 1 as is · 2 mirror left↔right · 3 rotate 180° · 4 mirror top↔bottom · 5 transpose (mirror across the main
 * diagonal) · 6 rotate 90° clockwise · 7 transverse (mirror across the anti-diagonal) · 8 rotate 90° counter-clockwise.
 * Same as Pillow's `ImageOps.exif_transpose`.
 */

/** EXIF orientation value, 1–8. */
export type Orientation = 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8;

const TAG_ORIENTATION = 0x0112;
const TYPE_SHORT = 3;

/**
 * Reads the EXIF orientation of a JPEG file. Never throws: anything that is not a JPEG, has no Exif APP1
 * segment before the image data, or is malformed or truncated gives 1 (as is), as browsers do.
 *
 * @param bytes The whole file (only the header segments are read).
 * @returns 1–8.
 * @example
 * readJpegOrientation(fs.readFileSync('phone.jpg')); // 6 → the stored pixels must be rotated 90° clockwise
 */
export function readJpegOrientation(bytes: Uint8Array): Orientation {
  const n = bytes.length;
  if (n < 4 || bytes[0] !== 0xff || bytes[1] !== 0xd8) return 1;
  let p = 2;
  while (p + 4 <= n) {
    if (bytes[p] !== 0xff) return 1; // not at a marker: corrupt header
    let marker = bytes[p + 1];
    while (marker === 0xff && p + 2 < n) marker = bytes[++p + 1]; // fill bytes
    p += 2;
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) continue; // no length
    if (marker === 0xda || marker === 0xd9) return 1; // start of scan / end of image: no EXIF before the data
    if (p + 2 > n) return 1;
    const length = (bytes[p] << 8) | bytes[p + 1]; // includes the two length bytes
    if (length < 2 || p + length > n) return 1;
    if (marker === 0xe1 && length >= 8 && isExifHeader(bytes, p + 2)) {
      const o = readTiffOrientation(bytes.subarray(p + 8, p + length));
      if (o !== 0) return o;
    }
    p += length;
  }
  return 1;
}

/** "Exif\0\0" at offset p. */
function isExifHeader(b: Uint8Array, p: number): boolean {
  return (
    b[p] === 0x45 && b[p + 1] === 0x78 && b[p + 2] === 0x69 && b[p + 3] === 0x66 && b[p + 4] === 0 && b[p + 5] === 0
  );
}

/** Orientation from a TIFF structure (byte order mark, 42, IFD0 offset); 0 when absent or invalid. */
function readTiffOrientation(tiff: Uint8Array): Orientation | 0 {
  if (tiff.length < 8) return 0;
  let little: boolean;
  if (tiff[0] === 0x49 && tiff[1] === 0x49)
    little = true; // "II"
  else if (tiff[0] === 0x4d && tiff[1] === 0x4d)
    little = false; // "MM"
  else return 0;
  const view = new DataView(tiff.buffer, tiff.byteOffset, tiff.byteLength);
  if (view.getUint16(2, little) !== 42) return 0;
  const ifd = view.getUint32(4, little);
  if (ifd < 8 || ifd + 2 > tiff.length) return 0;
  const count = view.getUint16(ifd, little);
  for (let i = 0; i < count; i++) {
    const e = ifd + 2 + 12 * i;
    if (e + 12 > tiff.length) return 0;
    if (view.getUint16(e, little) !== TAG_ORIENTATION) continue;
    if (view.getUint16(e + 2, little) !== TYPE_SHORT || view.getUint32(e + 4, little) < 1) return 0;
    const value = view.getUint16(e + 8, little); // a SHORT is stored left-justified in the value field
    return value >= 1 && value <= 8 ? (value as Orientation) : 0;
  }
  return 0;
}

/** Size of the image after {@link applyOrientation}: width and height swap for 5–8. */
export function orientedSize(
  width: number,
  height: number,
  orientation: Orientation,
): { width: number; height: number } {
  return orientation >= 5 ? { width: height, height: width } : { width, height };
}

/**
 * Transforms packed pixels so that an image stored with EXIF `orientation` becomes upright.
 *
 * @param data Pixels row-major, `channels` bytes per pixel (3 or 4), `width·height·channels` long.
 * @returns `{ data, width, height }`: a new array (the input is not modified), or the input itself for orientation 1.
 *   Width and height swap for orientations 5–8.
 * @example
 * const up = applyOrientation(rgba, 4000, 3000, 4, 6); // up.width === 3000, up.height === 4000
 */
export function applyOrientation<T extends Uint8Array | Uint8ClampedArray>(
  data: T,
  width: number,
  height: number,
  channels: 3 | 4,
  orientation: Orientation,
): { data: T; width: number; height: number } {
  if (orientation === 1) return { data, width, height };
  const { width: ow, height: oh } = orientedSize(width, height, orientation);
  const out = new (data.constructor as new (n: number) => T)(data.length);
  // Source pixel of output (x, y), as an affine map: sx = ax·x + bx·y + cx, sy = ay·x + by·y + cy.
  let ax = 0,
    bx = 0,
    cx = 0,
    ay = 0,
    by = 0,
    cy = 0;
  switch (orientation) {
    case 2:
      ax = -1;
      cx = width - 1;
      by = 1;
      break; // mirror left↔right
    case 3:
      ax = -1;
      cx = width - 1;
      by = -1;
      cy = height - 1;
      break; // 180°
    case 4:
      ax = 1;
      by = -1;
      cy = height - 1;
      break; // mirror top↔bottom
    case 5:
      bx = 1;
      ay = 1;
      break; // transpose: (x, y) ← (y, x)
    case 6:
      bx = 1;
      ay = -1;
      cy = height - 1;
      break; // 90° clockwise: (x, y) ← (y, H−1−x)
    case 7:
      bx = -1;
      cx = width - 1;
      ay = -1;
      cy = height - 1;
      break; // transverse: (x, y) ← (W−1−y, H−1−x)
    case 8:
      bx = -1;
      cx = width - 1;
      ay = 1;
      break; // 90° counter-clockwise: (x, y) ← (W−1−y, x)
  }
  if (channels === 4 && data.byteOffset % 4 === 0) {
    const src = new Uint32Array(data.buffer, data.byteOffset, width * height);
    const dst = new Uint32Array(out.buffer, out.byteOffset, ow * oh);
    for (let y = 0, o = 0; y < oh; y++) {
      let sx = bx * y + cx;
      let sy = by * y + cy;
      for (let x = 0; x < ow; x++, o++, sx += ax, sy += ay) dst[o] = src[sy * width + sx];
    }
  } else {
    for (let y = 0, o = 0; y < oh; y++) {
      let sx = bx * y + cx;
      let sy = by * y + cy;
      for (let x = 0; x < ow; x++, sx += ax, sy += ay) {
        const s = (sy * width + sx) * channels;
        for (let c = 0; c < channels; c++) out[o++] = data[s + c];
      }
    }
  }
  return { data: out, width: ow, height: oh };
}
