/**
 * A detection set for a new object, made from real photographs: each image is a random square crop of a photo,
 * rescaled, with 0–2 copies of a synthetic warning sign (a yellow triangle with a black border and an exclamation
 * mark, in random sizes, tilts and shades) pasted at known boxes. Written as JPEGs and a JSONL annotation file
 * (the `ssd-edge` JSONL dataset format), ready for `ssd-edge train --data DIR/train.jsonl`.
 *
 * Used by examples/train-new-object.ts and by the demonstration test (test/e2e/train-demo.test.ts).
 *
 * @example
 * await makeNewObjectDataset('signs', { photos: ['examples/astronaut.jpg'], train: 48, val: 16 });
 * // signs/train.jsonl, signs/val.jsonl, signs/images/*.jpg
 */
import fs from 'node:fs';
import path from 'node:path';
import { createCanvas, loadImage, type Image, type SKRSContext2D } from '@napi-rs/canvas';

export interface NewObjectDatasetOptions {
  /** Photographs to crop the backgrounds from. */
  photos: string[];
  /** Images in the training and the validation set (default 48 and 16). */
  train?: number;
  val?: number;
  /** Side of the square images, px (default 320). */
  size?: number;
  /** Seed of every draw (default 1); the validation set uses other draws than the training set. */
  seed?: number;
  /** The object's label (default 'sign'). */
  label?: string;
}

/** mulberry32: a small seeded generator (the data only needs to be reproducible). */
function generator(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Draws the sign (an upright triangle of side `s`, tilted by `angle`) centred at (cx, cy); returns its box. */
function drawSign(
  ctx: SKRSContext2D,
  cx: number,
  cy: number,
  s: number,
  angle: number,
  shade: number,
): [number, number, number, number] {
  const h = (s * Math.sqrt(3)) / 2;
  // vertices around the centroid of the box (not the triangle's): top, bottom right, bottom left
  const pts: Array<[number, number]> = [
    [0, -h / 2],
    [s / 2, h / 2],
    [-s / 2, h / 2],
  ].map(([x, y]) => [cx + x * Math.cos(angle) - y * Math.sin(angle), cy + x * Math.sin(angle) + y * Math.cos(angle)]);
  const border = Math.max(2, s * 0.09);
  ctx.save();
  ctx.lineJoin = 'round';
  ctx.beginPath();
  ctx.moveTo(...pts[0]);
  ctx.lineTo(...pts[1]);
  ctx.lineTo(...pts[2]);
  ctx.closePath();
  ctx.fillStyle = `rgb(${Math.round(255 * shade)}, ${Math.round(200 * shade)}, 20)`;
  ctx.fill();
  ctx.lineWidth = border;
  ctx.strokeStyle = '#111';
  ctx.stroke();
  // the exclamation mark
  ctx.translate(cx, cy);
  ctx.rotate(angle);
  ctx.fillStyle = '#111';
  ctx.fillRect(-s * 0.045, -h * 0.12, s * 0.09, h * 0.38);
  ctx.beginPath();
  ctx.arc(0, h * 0.36, s * 0.055, 0, 2 * Math.PI);
  ctx.fill();
  ctx.restore();
  const xs = pts.map((p) => p[0]);
  const ys = pts.map((p) => p[1]);
  const half = border / 2;
  return [Math.min(...xs) - half, Math.min(...ys) - half, Math.max(...xs) + half, Math.max(...ys) + half];
}

const overlaps = (a: number[], b: number[]) => !(a[2] < b[0] || b[2] < a[0] || a[3] < b[1] || b[3] < a[1]);

async function makeSplit(
  dir: string,
  name: 'train' | 'val',
  count: number,
  photos: Image[],
  o: Required<Omit<NewObjectDatasetOptions, 'photos'>>,
): Promise<string> {
  const rand = generator(o.seed * 2 + (name === 'val' ? 1 : 0));
  const lines: string[] = [];
  const S = o.size;
  for (let k = 0; k < count; k++) {
    const photo = photos[Math.floor(rand() * photos.length)];
    const side = Math.min(photo.width, photo.height) * (0.45 + 0.55 * rand());
    const sx = rand() * (photo.width - side);
    const sy = rand() * (photo.height - side);
    const canvas = createCanvas(S, S);
    const ctx = canvas.getContext('2d');
    if (rand() < 0.5) {
      // mirrored background
      ctx.translate(S, 0);
      ctx.scale(-1, 1);
    }
    ctx.drawImage(photo, sx, sy, side, side, 0, 0, S, S);
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    // one image in eight has no object: a valid sample of background only
    const n = rand() < 0.125 ? 0 : rand() < 0.6 ? 1 : 2;
    const boxes: number[][] = [];
    for (let tries = 0; boxes.length < n && tries < 50; tries++) {
      const s = S * (0.15 + 0.35 * rand());
      const margin = s * 0.6;
      const cx = margin + rand() * (S - 2 * margin);
      const cy = margin + rand() * (S - 2 * margin);
      const probe = [cx - margin, cy - margin, cx + margin, cy + margin];
      if (boxes.some((b) => overlaps(b, probe))) continue;
      const box = drawSign(ctx, cx, cy, s, (rand() - 0.5) * 0.5, 0.8 + 0.2 * rand());
      boxes.push(box.map((v) => Math.min(S, Math.max(0, Math.round(v * 100) / 100))));
    }
    const file = `${name}-${String(k).padStart(3, '0')}.jpg`;
    fs.writeFileSync(path.join(dir, 'images', file), canvas.encodeSync('jpeg', 92));
    lines.push(
      JSON.stringify({
        image: `images/${file}`,
        width: S,
        height: S,
        boxes: boxes.map((box) => ({ label: o.label, box })),
      }),
    );
  }
  const out = path.join(dir, `${name}.jsonl`);
  fs.writeFileSync(out, `${lines.join('\n')}\n`);
  return out;
}

/** Writes `dir`/train.jsonl, `dir`/val.jsonl and `dir`/images/; returns the two annotation files. */
export async function makeNewObjectDataset(
  dir: string,
  options: NewObjectDatasetOptions,
): Promise<{ train: string; val: string }> {
  const o = { train: 48, val: 16, size: 320, seed: 1, label: 'sign', ...options };
  fs.mkdirSync(path.join(dir, 'images'), { recursive: true });
  const photos = await Promise.all(o.photos.map((p) => loadImage(fs.readFileSync(p))));
  return {
    train: await makeSplit(dir, 'train', o.train, photos, o),
    val: await makeSplit(dir, 'val', o.val, photos, o),
  };
}
