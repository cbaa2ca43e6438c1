/**
 * Small dataset trees for the data tests, built in a temporary folder from tiny generated images (canvas): Pascal
 * VOC folders, COCO instances JSON and JSONL files.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createCanvas } from '@napi-rs/canvas';

/** A temporary folder removed after the test. */
export function tmpDir(t: { teardown(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssd-edge-data-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A w×h image (a grey background with a coloured square) encoded as JPEG or PNG. */
export function image(width: number, height: number, format: 'jpeg' | 'png' = 'jpeg'): Buffer {
  const c = createCanvas(width, height);
  const ctx = c.getContext('2d');
  ctx.fillStyle = '#808080';
  ctx.fillRect(0, 0, width, height);
  ctx.fillStyle = '#d04020';
  ctx.fillRect(width / 4, height / 4, width / 2, height / 2);
  return format === 'jpeg' ? c.encodeSync('jpeg', 90) : c.encodeSync('png');
}

export interface VocObject {
  name?: string;
  /** xmin, ymin, xmax, ymax as written in the XML (strings allowed: 'nan', 'inf'). */
  box?: (number | string)[];
  difficult?: boolean;
  truncated?: boolean;
}

export interface VocImage {
  id: string;
  /** Size written in <size>; null writes none. */
  size?: [number, number] | null;
  /** The image file to write (w, h) in JPEGImages/<id>.jpg; null writes none. */
  image?: [number, number] | null;
  objects?: VocObject[];
  /** Raw XML instead of the generated one. */
  xml?: string;
}

/** The XML VOC writes for one image. */
export function vocXml(img: VocImage): string {
  const size =
    img.size === null
      ? ''
      : img.size
        ? `<size><width>${img.size[0]}</width><height>${img.size[1]}</height><depth>3</depth></size>`
        : '';
  const objects = (img.objects ?? [])
    .map((o) => {
      const name = o.name === undefined ? '' : `<name>${o.name}</name>`;
      const box = o.box
        ? `<bndbox>${['xmin', 'ymin', 'xmax', 'ymax'].map((k, i) => `<${k}>${o.box![i]}</${k}>`).join('')}</bndbox>`
        : '';
      return `  <object>${name}<truncated>${o.truncated ? 1 : 0}</truncated><difficult>${o.difficult ? 1 : 0}</difficult>${box}</object>`;
    })
    .join('\n');
  return `<?xml version="1.0"?>\n<annotation>\n  <folder>VOC</folder>\n  <filename>${img.id}.jpg</filename>\n  ${size}\n${objects}\n</annotation>\n`;
}

/**
 * Writes a VOC folder: Annotations/<id>.xml, JPEGImages/<id>.jpg (sized as `image`, default `size`), and the
 * split files given.
 */
export function writeVoc(dir: string, images: VocImage[], splits: Record<string, string[]> = {}): string {
  fs.mkdirSync(path.join(dir, 'Annotations'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'JPEGImages'), { recursive: true });
  for (const img of images) {
    fs.writeFileSync(path.join(dir, 'Annotations', `${img.id}.xml`), img.xml ?? vocXml(img));
    const px = img.image === undefined ? img.size : img.image;
    if (px) fs.writeFileSync(path.join(dir, 'JPEGImages', `${img.id}.jpg`), image(px[0], px[1]));
  }
  if (Object.keys(splits).length > 0) fs.mkdirSync(path.join(dir, 'ImageSets', 'Main'), { recursive: true });
  for (const [name, ids] of Object.entries(splits)) {
    fs.writeFileSync(path.join(dir, 'ImageSets', 'Main', `${name}.txt`), ids.map((id) => `${id}\n`).join(''));
  }
  return dir;
}

/** Writes `lines` (objects are JSON-encoded, strings written as is) to a .jsonl file. */
export function writeJsonl(file: string, lines: (object | string)[]): string {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n') + '\n');
  return file;
}

/** Writes an image file of the given size, creating folders. */
export function writeImage(file: string, width: number, height: number, format: 'jpeg' | 'png' = 'jpeg'): string {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, image(width, height, format));
  return file;
}
