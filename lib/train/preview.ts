/**
 * A contact sheet of augmented training samples (`ssd-edge data preview`): what the model will see, with the boxes
 * and labels that survive each augmentation, drawn over the augmented pixels. No tfjs here.
 */
import path from 'node:path';
import { createCanvas, ImageData } from '@napi-rs/canvas';
import type { Dataset } from '../data/types.ts';
import { decodeImage } from '../image/decode.ts';
import { FONT_FAMILY, PALETTE, registerFont } from '../image/draw.ts';
import { assertInteger, assertKnownKeys, assertObject, invalidParameterError, outOfRangeError } from '../is.ts';
import { augment, type AugmentOptions, rgbPixels } from './augment.ts';
import { Rng } from './rng.ts';

export interface PreviewOptions {
  /** Tiles on the sheet, 1…256 (default 16). Images are picked in a seeded random order, repeated when fewer. */
  count?: number;
  /** Seed of the picks and the augmentations (default 0): the same seed draws the same sheet. */
  seed?: number;
  /** Tile size = the model input (default 300×300). */
  size?: { width: number; height: number };
  /** Augmentation steps (default all), or 'none'. */
  augment?: AugmentOptions | 'none';
}

const PREVIEW_OPTION_KEYS = ['count', 'seed', 'size', 'augment'] as const;

/** One tile: which image, and the boxes and labels drawn (tile pixels, after augmentation). */
export interface PreviewTile {
  id: string;
  image: string;
  boxes: Float32Array;
  labels: Int32Array;
}

/** Gap between tiles and the caption strip under each, in pixels. */
const GAP = 6;
const CAPTION = 16;

/**
 * Augments `count` samples of a dataset with one seeded {@link Rng} and lays them out on a grid (⌈√count⌉ columns),
 * each tile with its boxes and class names and a caption with the image id.
 *
 * @returns The PNG and, per tile, what it shows.
 * @throws {TypeError|RangeError} Invalid options; a dataset without images; decoding errors of an image.
 * @example
 * const { png } = await previewAugmentations(await openDataset('data.jsonl'), { count: 9, seed: 1 });
 */
export async function previewAugmentations(
  dataset: Dataset,
  options: PreviewOptions = {},
): Promise<{ png: Buffer; tiles: PreviewTile[]; width: number; height: number }> {
  assertObject('options', options as unknown);
  assertKnownKeys('options', options, PREVIEW_OPTION_KEYS);
  const count = options.count ?? 16;
  assertInteger('count', count, 1);
  if (count > 256) throw outOfRangeError('count', 'integer in [1, 256]', count);
  const rng = new Rng(options.seed ?? 0);
  const size = options.size ?? { width: 300, height: 300 };
  if (dataset.size === 0) throw invalidParameterError('dataset', 'a dataset with at least one image', dataset.root);
  // A seeded shuffle of the images (Fisher–Yates), cycled when count exceeds the dataset.
  const order = Array.from({ length: dataset.size }, (_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = rng.below(i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  const cols = Math.ceil(Math.sqrt(count));
  const rows = Math.ceil(count / cols);
  const tileH = size.height + CAPTION;
  const width = cols * size.width + (cols + 1) * GAP;
  const height = rows * tileH + (rows + 1) * GAP;
  const canvas = createCanvas(width, height);
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#202020';
  ctx.fillRect(0, 0, width, height);
  registerFont();
  const fontSize = Math.max(10, Math.min(14, Math.round(size.width / 24)));
  ctx.font = `${fontSize}px "${FONT_FAMILY}"`;
  ctx.textBaseline = 'top';
  const tiles: PreviewTile[] = [];
  for (let k = 0; k < count; k++) {
    const sample = dataset.samples[order[k % order.length]];
    const img = await decodeImage(sample.image);
    let boxes = sample.boxes;
    if (img.width !== sample.width || img.height !== sample.height) {
      // annotated at another size (checkImages off): scale the boxes to the decoded image
      const sx = img.width / sample.width;
      const sy = img.height / sample.height;
      boxes = boxes.map((v, i) => v * (i % 2 === 0 ? sx : sy));
    }
    const out = augment(
      { pixels: rgbPixels(img), width: img.width, height: img.height, boxes, labels: sample.labels },
      rng,
      size,
      options.augment,
    );
    tiles.push({ id: sample.id, image: sample.image, boxes: out.boxes, labels: out.labels });
    const x0 = GAP + (k % cols) * (size.width + GAP);
    const y0 = GAP + Math.floor(k / cols) * (tileH + GAP);
    const rgba = new Uint8ClampedArray(size.width * size.height * 4);
    for (let p = 0; p < size.width * size.height; p++) {
      rgba[4 * p] = out.pixels[3 * p];
      rgba[4 * p + 1] = out.pixels[3 * p + 1];
      rgba[4 * p + 2] = out.pixels[3 * p + 2];
      rgba[4 * p + 3] = 255;
    }
    ctx.putImageData(new ImageData(rgba, size.width, size.height), x0, y0);
    ctx.save();
    ctx.beginPath();
    ctx.rect(x0, y0, size.width, size.height);
    ctx.clip();
    ctx.lineWidth = 2;
    for (let b = 0; b < out.labels.length; b++) {
      const [x1, y1, x2, y2] = out.boxes.subarray(4 * b, 4 * b + 4);
      const color = PALETTE[out.labels[b] % PALETTE.length];
      ctx.strokeStyle = color;
      ctx.strokeRect(x0 + x1, y0 + y1, x2 - x1, y2 - y1);
      const text = dataset.classes[out.labels[b]] ?? String(out.labels[b]);
      const tw = ctx.measureText(text).width + 4;
      const ty = y1 - fontSize - 3 >= 0 ? y1 - fontSize - 3 : y1 + 1;
      ctx.fillStyle = color;
      ctx.fillRect(x0 + x1, y0 + ty, tw, fontSize + 3);
      ctx.fillStyle = '#ffffff';
      ctx.fillText(text, x0 + x1 + 2, y0 + ty + 1);
    }
    ctx.restore();
    ctx.fillStyle = '#d0d0d0';
    const caption = `${path.basename(sample.id)} · ${out.labels.length} obj`;
    ctx.fillText(caption, x0, y0 + size.height + 2, size.width);
  }
  return { png: await canvas.encode('png'), tiles, width, height };
}
