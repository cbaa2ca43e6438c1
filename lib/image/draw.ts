/**
 * Annotated images: boxes, labels and scores drawn over the source image with @napi-rs/canvas, encoded as PNG or
 * JPEG. Text uses the bundled DejaVu Sans (assets/fonts/, Bitstream Vera license), so labels look the same on
 * devices without system fonts.
 */
import { fileURLToPath } from 'node:url';
import { createCanvas, GlobalFonts, ImageData } from '@napi-rs/canvas';
import { assertInRange, assertKnownKeys, assertObject, assertOneOf, invalidParameterError } from '../is.ts';
import { decodeImage, type ImageInput, type RawImage } from './decode.ts';

/** A detection as `Detector.detect` returns it (box in source pixels). */
export interface DrawableDetection {
  label: string;
  classId: number;
  score: number;
  box: { x1: number; y1: number; x2: number; y2: number };
}

export interface DrawOptions {
  /** Output encoding (default 'png'). */
  format?: 'png' | 'jpeg';
  /** JPEG quality 0–100 (default 90). */
  quality?: number;
  /** Box line width in pixels (default: about 1/250 of the shorter side, at least 2). */
  lineWidth?: number;
  /** Label font size in pixels (default: about 1/32 of the shorter side, at least 12). */
  fontSize?: number;
  /** One CSS colour for every box, or colours picked by class id (default: a 10-colour palette by class id). */
  color?: string | string[];
  /** Draw `label score` tags (default true). */
  labels?: boolean;
  /** Score digits in the tag (default 2). */
  scoreDigits?: number;
}

/** The keys of {@link DrawOptions}. */
export const DRAW_OPTION_KEYS = [
  'format',
  'quality',
  'lineWidth',
  'fontSize',
  'color',
  'labels',
  'scoreDigits',
] as const satisfies ReadonlyArray<keyof DrawOptions>;

/** Tableau 10: distinct, readable on photos. */
export const PALETTE = [
  '#4e79a7',
  '#f28e2b',
  '#e15759',
  '#76b7b2',
  '#59a14f',
  '#edc948',
  '#b07aa1',
  '#ff9da7',
  '#9c755f',
  '#bab0ac',
];

/** Family name the bundled font is registered under. */
export const FONT_FAMILY = 'SSD Edge Sans';
/** Path of the bundled TTF (assets/fonts/DejaVuSans.ttf; lib/ and dist/ are both two levels below the package root). */
export const FONT_PATH = fileURLToPath(new URL('../../assets/fonts/DejaVuSans.ttf', import.meta.url));

let fontRegistered: boolean | null = null;

/** Registers the bundled font once; false when the file is missing (text then falls back to a system font). */
export function registerFont(): boolean {
  if (fontRegistered === null) fontRegistered = GlobalFonts.registerFromPath(FONT_PATH, FONT_FAMILY) !== null;
  return fontRegistered;
}

/** Black text on light '#rrggbb' colours, white otherwise. */
function textColorOn(color: string): string {
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(color);
  if (!m) return '#ffffff';
  const [r, g, b] = m.slice(1).map((h) => parseInt(h, 16) / 255);
  return 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.6 ? '#000000' : '#ffffff';
}

/** RGBA ImageData for canvas, from RGB or RGBA pixels (RGBA Uint8ClampedArray input is used without a copy). */
function toImageData(img: RawImage): ImageData {
  const { data, width, height, channels } = img;
  let rgba: Uint8ClampedArray;
  if (channels === 4) {
    rgba = data instanceof Uint8ClampedArray ? data : new Uint8ClampedArray(data.buffer, data.byteOffset, data.length);
  } else {
    rgba = new Uint8ClampedArray(width * height * 4);
    for (let p = 0, s = 0, d = 0; p < width * height; p++, s += 3, d += 4) {
      rgba[d] = data[s];
      rgba[d + 1] = data[s + 1];
      rgba[d + 2] = data[s + 2];
      rgba[d + 3] = 255;
    }
  }
  return new ImageData(rgba, width, height);
}

/**
 * Draws detections on an image and encodes the result.
 *
 * @param image A path, encoded bytes, raw pixels, or a `DecodedImage` (decoded again only when it is a path/bytes).
 * @param detections Boxes in the image's pixels (as `Detector.detect` returns them), drawn in the given order.
 * @param options {@link DrawOptions}.
 * @returns PNG or JPEG bytes of the annotated image, same size as the (upright) source.
 * @throws {TypeError} Invalid detections or options; decoding errors as `decodeImage`.
 * @example
 * const dets = await detector.detect('group.jpg');
 * fs.writeFileSync('out.png', await draw('group.jpg', dets));
 */
export async function draw(
  image: ImageInput,
  detections: readonly DrawableDetection[],
  options: DrawOptions = {},
): Promise<Buffer> {
  if (!Array.isArray(detections)) throw invalidParameterError('detections', 'Array of detections', detections);
  assertObject('options', options as unknown);
  assertKnownKeys('options', options, DRAW_OPTION_KEYS);
  const format = options.format ?? 'png';
  assertOneOf('format', format, ['png', 'jpeg']);
  const quality = options.quality ?? 90;
  assertInRange('quality', quality, 0, 100);
  const img = await decodeImage(image);
  const { width, height } = img;
  const short = Math.min(width, height);
  const lineWidth = options.lineWidth ?? Math.max(2, Math.round(short / 250));
  const fontSize = options.fontSize ?? Math.max(12, Math.round(short / 32));
  assertInRange('lineWidth', lineWidth, 0, Infinity);
  assertInRange('fontSize', fontSize, 1, Infinity);
  const digits = options.scoreDigits ?? 2;
  const colorOf = (classId: number) => {
    const c = options.color ?? PALETTE;
    return typeof c === 'string' ? c : c[((classId % c.length) + c.length) % c.length];
  };

  const canvas = createCanvas(width, height);
  const ctx = canvas.getContext('2d');
  ctx.putImageData(toImageData(img), 0, 0);
  registerFont();
  ctx.font = `${fontSize}px "${FONT_FAMILY}"`;
  ctx.textBaseline = 'top';
  ctx.lineJoin = 'miter';
  detections.forEach((d, k) => {
    const b = d?.box;
    if (!b || ![b.x1, b.y1, b.x2, b.y2].every((v) => typeof v === 'number' && Number.isFinite(v))) {
      throw invalidParameterError(`detections[${k}].box`, '{ x1, y1, x2, y2 } finite numbers', b);
    }
    const color = colorOf(d.classId ?? 0);
    ctx.strokeStyle = color;
    ctx.lineWidth = lineWidth;
    ctx.strokeRect(b.x1, b.y1, b.x2 - b.x1, b.y2 - b.y1);
    if (options.labels === false) return;
    const text = `${d.label ?? d.classId} ${typeof d.score === 'number' ? d.score.toFixed(digits) : ''}`.trim();
    const pad = Math.max(2, Math.round(fontSize / 6));
    const tw = ctx.measureText(text).width + 2 * pad;
    const th = fontSize + 2 * pad;
    // Above the box when there is room, else inside its top edge; kept inside the image horizontally.
    const x = Math.min(Math.max(0, b.x1 - lineWidth / 2), Math.max(0, width - tw));
    const y = b.y1 - lineWidth / 2 - th >= 0 ? b.y1 - lineWidth / 2 - th : Math.max(0, b.y1 + lineWidth / 2);
    ctx.fillStyle = color;
    ctx.fillRect(x, y, tw, th);
    ctx.fillStyle = textColorOn(color);
    ctx.fillText(text, x + pad, y + pad);
  });
  return format === 'png' ? canvas.encode('png') : canvas.encode('jpeg', quality);
}
