/**
 * Builds the face set test/fixtures/eval/faces/ (a JSONL dataset, < 500 KB) from the shared reference photos, with
 * face boxes made by hand: the astronaut's face in the 512×512 original is [182, 72, 268, 181] (xyxy, continuous
 * pixels; chosen by drawing it over the photo: cheek to cheek, hairline to chin), and every variant's box follows from
 * its geometry exactly (scale, mirror, offset). chelsea and coffee are negatives (no face).
 *
 *   node --import=tsx scripts/make-eval-faces.ts [/work/shared/reference/images] [--check out.png]
 *
 * `--check` also writes a contact sheet with every box drawn, to look at. Then run
 * `node --import=tsx scripts/make-eval-faces-expected.ts` to refresh the expected AP (see there).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createCanvas, loadImage, type Image } from '@napi-rs/canvas';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const checkAt = args.indexOf('--check');
const checkFile = checkAt >= 0 ? args.splice(checkAt, 2)[1] : null;
const src = args[0] ?? '/work/shared/reference/images';
const out = path.join(root, 'test/fixtures/eval/faces');

/** The astronaut's face in the 512×512 original (hand-made, see the header). */
const FACE: [number, number, number, number] = [182, 72, 268, 181];

type Box = [number, number, number, number];
interface Item {
  name: string;
  width: number;
  height: number;
  draw(ctx: ReturnType<ReturnType<typeof createCanvas>['getContext']>, img: Record<string, Image>): void;
  faces: Box[];
}

const scaled = (s: number, dx = 0, dy = 0): Box => [
  FACE[0] * s + dx,
  FACE[1] * s + dy,
  FACE[2] * s + dx,
  FACE[3] * s + dy,
];
/** The face box of the astronaut drawn mirrored at scale s with its left edge at dx (image width 512·s). */
const mirrored = (s: number, dx = 0, dy = 0): Box => [
  (512 - FACE[2]) * s + dx,
  FACE[1] * s + dy,
  (512 - FACE[0]) * s + dx,
  FACE[3] * s + dy,
];

const items: Item[] = [
  {
    name: 'astronaut',
    width: 320,
    height: 320,
    draw: (c, i) => c.drawImage(i.astronaut, 0, 0, 320, 320),
    faces: [scaled(0.625)],
  },
  {
    name: 'astronaut-flipped',
    width: 320,
    height: 320,
    draw: (c, i) => {
      c.translate(320, 0);
      c.scale(-1, 1);
      c.drawImage(i.astronaut, 0, 0, 320, 320);
    },
    faces: [mirrored(0.625)],
  },
  {
    name: 'astronaut-small',
    width: 160,
    height: 160,
    draw: (c, i) => c.drawImage(i.astronaut, 0, 0, 160, 160),
    faces: [scaled(0.3125)],
  },
  {
    name: 'astronaut-tiny',
    width: 64,
    height: 64,
    draw: (c, i) => c.drawImage(i.astronaut, 0, 0, 64, 64),
    faces: [scaled(0.125)],
  },
  {
    name: 'astronaut-padded',
    width: 560,
    height: 400,
    draw: (c, i) => {
      c.fillStyle = '#7f7f7f';
      c.fillRect(0, 0, 560, 400);
      c.drawImage(i.astronaut, 200, 50, 256, 256);
    },
    faces: [scaled(0.5, 200, 50)],
  },
  {
    name: 'astronaut-pair',
    width: 480,
    height: 240,
    draw: (c, i) => {
      c.drawImage(i.astronaut, 0, 0, 240, 240);
      c.translate(480, 0);
      c.scale(-1, 1);
      c.drawImage(i.astronaut, 0, 0, 240, 240);
    },
    faces: [scaled(0.46875), mirrored(0.46875, 240)],
  },
  { name: 'chelsea', width: 300, height: 200, draw: (c, i) => c.drawImage(i.chelsea, 0, 0, 300, 200), faces: [] },
  { name: 'coffee', width: 320, height: 240, draw: (c, i) => c.drawImage(i.coffee, 0, 0, 320, 240), faces: [] },
];

const images: Record<string, Image> = {};
for (const n of ['astronaut', 'chelsea', 'coffee'])
  images[n] = await loadImage(fs.readFileSync(path.join(src, `${n}.png`)));

fs.mkdirSync(path.join(out, 'images'), { recursive: true });
const lines: string[] = [];
const round = (v: number) => Math.round(v * 1e4) / 1e4;
for (const it of items) {
  const canvas = createCanvas(it.width, it.height);
  it.draw(canvas.getContext('2d'), images);
  fs.writeFileSync(path.join(out, 'images', `${it.name}.jpg`), canvas.encodeSync('jpeg', 85));
  lines.push(
    JSON.stringify({
      image: `images/${it.name}.jpg`,
      boxes: it.faces.map((b) => ({ label: 'face', box: b.map(round) })),
    }),
  );
}
fs.writeFileSync(path.join(out, 'faces.jsonl'), `${lines.join('\n')}\n`);
console.log(`wrote ${items.length} images and faces.jsonl under ${path.relative(root, out)}`);

if (checkFile) {
  // Contact sheet: every image with its boxes, side by side.
  const W = items.reduce((a, it) => a + it.width + 8, 8);
  const H = Math.max(...items.map((it) => it.height)) + 16;
  const sheet = createCanvas(W, H);
  const ctx = sheet.getContext('2d');
  ctx.fillStyle = '#ffffff';
  ctx.fillRect(0, 0, W, H);
  let x = 8;
  for (const it of items) {
    const img = await loadImage(fs.readFileSync(path.join(out, 'images', `${it.name}.jpg`)));
    ctx.drawImage(img, x, 8);
    ctx.strokeStyle = '#00ff00';
    ctx.lineWidth = 1;
    for (const [x1, y1, x2, y2] of it.faces) ctx.strokeRect(x + x1, 8 + y1, x2 - x1, y2 - y1);
    x += it.width + 8;
  }
  fs.writeFileSync(checkFile, sheet.encodeSync('png'));
}
