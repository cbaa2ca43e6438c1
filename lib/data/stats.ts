/**
 * Dataset statistics: images and boxes per class, and the histogram of box sizes relative to their image,
 * sqrt(w·h / (W·H)) — the quantity SSD's default-box scales are expressed in, so the histogram shows which feature
 * map can see the objects — with a PNG plot of it (@napi-rs/canvas, the bundled font).
 */
import { createCanvas } from '@napi-rs/canvas';
import { FONT_FAMILY, registerFont } from '../image/draw.ts';
import { assertInteger, assertKnownKeys } from '../is.ts';
import type { Dataset, Sample } from './types.ts';

/**
 * SSD300's default-box scales per feature map (Liu et al. 2016, section 2.2: conv4_3 at 0.1, then s_min = 0.2 to
 * s_max = 0.9 evenly over the other five maps), with each map's size.
 */
export const SSD300_SCALES: readonly { scale: number; featureMap: string }[] = [
  { scale: 0.1, featureMap: '38×38' },
  { scale: 0.2, featureMap: '19×19' },
  { scale: 0.375, featureMap: '10×10' },
  { scale: 0.55, featureMap: '5×5' },
  { scale: 0.725, featureMap: '3×3' },
  { scale: 0.9, featureMap: '1×1' },
];

/** Counts of values in equal bins over [0, 1]: bin k holds edges[k] ≤ v < edges[k + 1], the last one v ≤ 1 too. */
export interface SizeHistogram {
  /** bins + 1 edges, 0 … 1. */
  edges: number[];
  counts: number[];
}

export interface ClassStats {
  name: string;
  /** Images with at least one box of the class. */
  images: number;
  boxes: number;
  /** Boxes flagged difficult (VOC) / iscrowd (COCO). */
  difficult: number;
  crowd: number;
  /** Relative size histogram of this class's boxes (same edges as the total). */
  sizes: number[];
}

export interface DatasetStats {
  format: string;
  root: string;
  images: number;
  boxes: number;
  imagesWithoutBoxes: number;
  classes: ClassStats[];
  /** Relative box sizes, sqrt(w·h / (W·H)), of every box. */
  sizes: SizeHistogram;
}

/** sqrt(w·h / (W·H)) of box `k` of a sample (xyxy). */
export function relativeSize(sample: Sample, k: number): number {
  const b = sample.boxes;
  const w = b[4 * k + 2] - b[4 * k];
  const h = b[4 * k + 3] - b[4 * k + 1];
  return Math.sqrt((w * h) / (sample.width * sample.height));
}

/**
 * Histogram of values in [0, 1] over `bins` equal bins (values above 1 count in the last bin, below 0 in the first).
 *
 * @example sizeHistogram([0.05, 0.12, 0.5, 1], 10) // { edges: [0, 0.1, …, 1], counts: [1, 1, 0, 0, 0, 1, 0, 0, 0, 1] }
 */
export function sizeHistogram(values: Iterable<number>, bins = 20): SizeHistogram {
  assertInteger('bins', bins, 1);
  const counts = new Array<number>(bins).fill(0);
  for (const v of values) counts[binOf(v, bins)]++;
  return { edges: Array.from({ length: bins + 1 }, (_, k) => k / bins), counts };
}

const binOf = (v: number, bins: number) => Math.max(0, Math.min(bins - 1, Math.floor(v * bins)));

/**
 * Images and boxes per class, and the relative box-size histogram.
 *
 * @param dataset An opened dataset.
 * @param options `bins` of the size histogram (default 20, i.e. 0.05 wide).
 */
export function datasetStats(dataset: Dataset, options: { bins?: number } = {}): DatasetStats {
  assertKnownKeys('options', options, ['bins']);
  const bins = options.bins ?? 20;
  assertInteger('bins', bins, 1);
  const classes: ClassStats[] = dataset.classes.map((name) => ({
    name,
    images: 0,
    boxes: 0,
    difficult: 0,
    crowd: 0,
    sizes: new Array<number>(bins).fill(0),
  }));
  const all: number[] = [];
  let boxes = 0;
  let empty = 0;
  for (const s of dataset.samples) {
    const n = s.labels.length;
    boxes += n;
    if (n === 0) empty++;
    const present = new Set<number>();
    for (let k = 0; k < n; k++) {
      const c = classes[s.labels[k]];
      present.add(s.labels[k]);
      c.boxes++;
      if (s.difficult?.[k]) c.difficult++;
      if (s.iscrowd?.[k]) c.crowd++;
      const r = relativeSize(s, k);
      all.push(r);
      c.sizes[binOf(r, bins)]++;
    }
    for (const l of present) classes[l].images++;
  }
  return {
    format: dataset.format,
    root: dataset.root,
    images: dataset.size,
    boxes,
    imagesWithoutBoxes: empty,
    classes,
    sizes: sizeHistogram(all, bins),
  };
}

/** A round step for about `target` axis ticks up to `max`. */
function niceStep(max: number, target = 5): number {
  const raw = Math.max(max, 1) / target;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const f = raw / mag;
  const step = (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
  return Math.max(1, step);
}

/**
 * Draws the relative box-size histogram as a PNG: bars per bin, count axis, and SSD300's feature-map scales
 * ({@link SSD300_SCALES}) as dashed lines labelled with the map size.
 *
 * @param stats From {@link datasetStats}.
 * @param options `width` and `height` in pixels (default 800 × 480, at least 200 × 150).
 * @returns PNG bytes.
 */
export function plotSizeHistogram(stats: DatasetStats, options: { width?: number; height?: number } = {}): Buffer {
  assertKnownKeys('options', options, ['width', 'height']);
  const width = options.width ?? 800;
  const height = options.height ?? 480;
  assertInteger('width', width, 200);
  assertInteger('height', height, 150);
  registerFont();
  const canvas = createCanvas(width, height);
  const ctx = canvas.getContext('2d');
  const font = (px: number) => `${px}px "${FONT_FAMILY}"`;
  ctx.fillStyle = '#ffffff';
  ctx.fillRect(0, 0, width, height);

  const left = 64;
  const right = 20;
  const top = 48;
  const bottom = 56;
  const plotW = width - left - right;
  const plotH = height - top - bottom;
  const { counts, edges } = stats.sizes;
  const max = Math.max(1, ...counts);
  const step = niceStep(max);
  const yMax = Math.ceil(max / step) * step;
  const x = (v: number) => left + v * plotW;
  const y = (c: number) => top + plotH - (c / yMax) * plotH;

  // title
  ctx.fillStyle = '#000000';
  ctx.font = font(15);
  ctx.textAlign = 'left';
  ctx.textBaseline = 'top';
  ctx.fillText(`Box size relative to the image — ${stats.boxes} boxes in ${stats.images} images`, left, 10);

  // grid and count axis
  ctx.font = font(11);
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  ctx.strokeStyle = '#e0e0e0';
  ctx.lineWidth = 1;
  for (let c = 0; c <= yMax; c += step) {
    ctx.beginPath();
    ctx.moveTo(left, Math.round(y(c)) + 0.5);
    ctx.lineTo(left + plotW, Math.round(y(c)) + 0.5);
    ctx.stroke();
    ctx.fillText(String(c), left - 6, y(c));
  }
  ctx.textBaseline = 'bottom';
  ctx.fillText('boxes', left - 6, top - 4);

  // bars
  ctx.fillStyle = '#4e79a7';
  counts.forEach((c, k) => {
    if (c === 0) return;
    const x0 = x(edges[k]);
    const x1 = x(edges[k + 1]);
    ctx.fillRect(x0 + 1, y(c), Math.max(1, x1 - x0 - 2), y(0) - y(c));
  });

  // SSD300 feature-map scales
  ctx.strokeStyle = '#e15759';
  ctx.fillStyle = '#e15759';
  ctx.setLineDash([5, 4]);
  ctx.textAlign = 'center';
  ctx.textBaseline = 'bottom';
  ctx.font = font(10);
  for (const { scale, featureMap } of SSD300_SCALES) {
    ctx.beginPath();
    ctx.moveTo(Math.round(x(scale)) + 0.5, top);
    ctx.lineTo(Math.round(x(scale)) + 0.5, top + plotH);
    ctx.stroke();
    ctx.fillText(featureMap, x(scale), top - 2);
  }
  ctx.setLineDash([]);

  // x axis
  ctx.strokeStyle = '#000000';
  ctx.fillStyle = '#000000';
  ctx.beginPath();
  ctx.moveTo(left, top + plotH + 0.5);
  ctx.lineTo(left + plotW, top + plotH + 0.5);
  ctx.moveTo(left - 0.5, top);
  ctx.lineTo(left - 0.5, top + plotH);
  ctx.stroke();
  ctx.font = font(11);
  ctx.textBaseline = 'top';
  for (let k = 0; k <= 10; k++) ctx.fillText((k / 10).toFixed(1), x(k / 10), top + plotH + 6);
  ctx.font = font(12);
  ctx.fillText(
    'sqrt(box area / image area)   (dashed: SSD300 default-box scale per feature map)',
    left + plotW / 2,
    top + plotH + 26,
  );
  return canvas.encodeSync('png');
}
