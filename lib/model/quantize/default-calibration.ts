/**
 * The calibration set of the default face model's int8 copy, built offline from the one photo the package ships
 * (assets/calibration/astronaut.jpg: NASA's portrait of Eileen Collins, public domain; the same picture as
 * examples/astronaut.jpg) by deterministic augmentations, so `Detector.load(undefined, { precision: 'int8' })`
 * needs nothing but the package: the face at several scales and places (the SSD feature maps see it at different
 * levels), mirrored, darker, brighter, lower contrast, grey, two faces, and crops without a face (background only).
 * 16 images; the same pixels on every machine (canvas drawing with integer geometry, pixel arithmetic in JS).
 *
 * A limitation worth knowing: these are variations of one face. They cover the activation ranges the face model
 * meets on photos, but calibrating on your own images (`ssd-edge model quantize --calibration DIR`) fits your scenes.
 */
import { fileURLToPath } from 'node:url';
import { createCanvas, loadImage, type Image } from '@napi-rs/canvas';
import type { RawImage } from '../../image/decode.ts';

/** The photo the set is made from. */
export const CALIBRATION_PHOTO = fileURLToPath(new URL('../../../assets/calibration/astronaut.jpg', import.meta.url));

type Pixels = (rgba: Uint8ClampedArray) => void;

const brightness =
  (k: number): Pixels =>
  (p) => {
    for (let i = 0; i < p.length; i += 4) for (let c = 0; c < 3; c++) p[i + c] = p[i + c] * k;
  };
const contrast =
  (k: number): Pixels =>
  (p) => {
    for (let i = 0; i < p.length; i += 4) for (let c = 0; c < 3; c++) p[i + c] = 128 + (p[i + c] - 128) * k;
  };
const grey: Pixels = (p) => {
  for (let i = 0; i < p.length; i += 4) {
    const y = (77 * p[i] + 150 * p[i + 1] + 29 * p[i + 2]) >> 8;
    p[i] = p[i + 1] = p[i + 2] = y;
  }
};

interface Shot {
  /** Canvas size. */
  w: number;
  h: number;
  /** Background: a grey level, or 'photo' (the photo stretched over the canvas). */
  bg: number | 'photo';
  /** Copies of the photo: x, y, side, mirrored; or a crop [sx, sy, sw, sh] drawn over the whole canvas. */
  draws: Array<{ x: number; y: number; side: number; mirror?: boolean }>;
  crop?: [number, number, number, number];
  pixels?: Pixels;
}

const SHOTS: Shot[] = [
  { w: 512, h: 512, bg: 0, draws: [{ x: 0, y: 0, side: 512 }] },
  { w: 512, h: 512, bg: 0, draws: [{ x: 0, y: 0, side: 512, mirror: true }] },
  { w: 640, h: 480, bg: 118, draws: [{ x: 180, y: 90, side: 300 }] },
  { w: 640, h: 480, bg: 60, draws: [{ x: 40, y: 200, side: 180, mirror: true }] },
  { w: 512, h: 512, bg: 'photo', draws: [{ x: 300, y: 40, side: 160 }] },
  { w: 800, h: 600, bg: 200, draws: [{ x: 500, y: 380, side: 110 }] },
  {
    w: 480,
    h: 240,
    bg: 128,
    draws: [
      { x: 0, y: 0, side: 240 },
      { x: 240, y: 0, side: 240, mirror: true },
    ],
  },
  { w: 512, h: 512, bg: 0, draws: [{ x: 0, y: 0, side: 512 }], pixels: brightness(0.55) },
  { w: 512, h: 512, bg: 0, draws: [{ x: 0, y: 0, side: 512, mirror: true }], pixels: brightness(1.35) },
  { w: 512, h: 512, bg: 0, draws: [{ x: 0, y: 0, side: 512 }], pixels: contrast(0.6) },
  { w: 512, h: 512, bg: 0, draws: [{ x: 0, y: 0, side: 512 }], pixels: grey },
  { w: 640, h: 360, bg: 90, draws: [{ x: 260, y: 60, side: 240 }], pixels: contrast(1.3) },
  { w: 384, h: 384, bg: 0, draws: [], crop: [300, 0, 212, 212] },
  { w: 384, h: 256, bg: 0, draws: [], crop: [0, 300, 300, 200] },
  { w: 512, h: 384, bg: 0, draws: [], crop: [0, 0, 180, 135], pixels: brightness(0.8) },
  { w: 512, h: 512, bg: 0, draws: [{ x: 64, y: 64, side: 384 }], crop: [256, 256, 256, 256] },
];

/** Number of images in the default calibration set. */
export const DEFAULT_CALIBRATION_SIZE = SHOTS.length;

function render(photo: Image, s: Shot): RawImage {
  const canvas = createCanvas(s.w, s.h);
  const ctx = canvas.getContext('2d');
  if (s.bg === 'photo') ctx.drawImage(photo, 0, 0, s.w, s.h);
  else {
    ctx.fillStyle = `rgb(${s.bg}, ${s.bg}, ${s.bg})`;
    ctx.fillRect(0, 0, s.w, s.h);
  }
  // a crop is the background (a part of the photo filling the canvas); copies of the photo go over it
  if (s.crop) ctx.drawImage(photo, s.crop[0], s.crop[1], s.crop[2], s.crop[3], 0, 0, s.w, s.h);
  for (const d of s.draws) {
    ctx.save();
    if (d.mirror) {
      ctx.translate(d.x + d.side, d.y);
      ctx.scale(-1, 1);
      ctx.drawImage(photo, 0, 0, d.side, d.side);
    } else {
      ctx.drawImage(photo, d.x, d.y, d.side, d.side);
    }
    ctx.restore();
  }
  const img = ctx.getImageData(0, 0, s.w, s.h);
  s.pixels?.(img.data);
  return {
    data: new Uint8Array(img.data.buffer, img.data.byteOffset, img.data.byteLength),
    width: s.w,
    height: s.h,
    channels: 4,
  };
}

/**
 * The default calibration set: {@link DEFAULT_CALIBRATION_SIZE} RGBA images made from {@link CALIBRATION_PHOTO}.
 *
 * @example
 * const images = await defaultCalibrationImages(); // 16 × { data, width, height, channels: 4 }
 */
export async function defaultCalibrationImages(): Promise<RawImage[]> {
  const photo = await loadImage(CALIBRATION_PHOTO);
  return SHOTS.map((s) => render(photo, s));
}
