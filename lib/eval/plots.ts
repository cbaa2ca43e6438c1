/**
 * Evaluation plots as PNG (@napi-rs/canvas, the bundled DejaVu font of lib/image/draw.ts):
 *
 *   pr-curves.png   precision–recall curves, one panel per class in a grid (the VOC curves at the matching IoU:
 *                   the raw precision as a thin line, the interpolated precision VOC integrates as a thick one;
 *                   the panel title gives the AP and the ground-truth count)
 *   summary.png     AP per class as horizontal bars (VOC AP at the matching IoU and COCO mAP@[.5:.95] side by side),
 *                   the means on the first row
 *
 * One grid rather than one file per class: the names stay fixed (no class name in a file name to sanitize) and a
 * glance compares the classes; 80 COCO classes make a 10 × 8 grid of 2600 × 2080 pixels.
 * Files are written atomically (lib/files.ts) and never over an existing one unless `overwrite`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createCanvas, type SKRSContext2D } from '@napi-rs/canvas';
import { checkWriteTarget, type FileId, writeFileAtomic } from '../files.ts';
import { FONT_FAMILY, PALETTE, registerFont } from '../image/draw.ts';
import { assertInteger, assertKnownKeys, assertObject, invalidParameterError } from '../is.ts';
import type { ClassCurve } from './types.ts';

/** Geometry of one precision–recall panel (pixels): the plot area is inside the margins. */
export const PR_PANEL = { width: 260, height: 260, left: 42, right: 12, top: 30, bottom: 36 } as const;
/** Colours: the curve (interpolated), the raw precision, the grid. */
export const PLOT_COLORS = { curve: PALETTE[0], raw: '#a0b8d0', grid: '#e4e4e4', axis: '#303030', text: '#202020' };
/** Geometry of the summary chart (pixels): one row per class, bars from `left` to `width - right`. */
export const SUMMARY_CHART = { width: 720, left: 200, right: 70, top: 44, rowHeight: 24, bottom: 34 } as const;
/** Colours of the summary bars: VOC AP (first bar of a row) and COCO mAP (second). */
export const SUMMARY_COLORS = { ap50: PALETTE[0], map: PALETTE[1] } as const;

/** Where a point of [0, 1]² lands in the panel at column `col`, row `row` (recall → x, precision → y). */
export function prPoint(recall: number, precision: number, col = 0, row = 0): [number, number] {
  const { width, height, left, right, top, bottom } = PR_PANEL;
  const w = width - left - right;
  const h = height - top - bottom;
  return [col * width + left + recall * w, row * height + top + (1 - precision) * h];
}

/** VOC's interpolated precision: at each point the highest precision at this recall or beyond. */
export function interpolatedPrecision(precision: ArrayLike<number>): Float64Array {
  const out = Float64Array.from(precision as ArrayLike<number>);
  for (let i = out.length - 2; i >= 0; i--) if (out[i + 1] > out[i]) out[i] = out[i + 1];
  return out;
}

/** Options of {@link renderPrCurves}. */
export interface PrCurvesOptions {
  /** Classes to draw, in order (default: the keys of `curves`). */
  classes?: readonly string[];
  /** Panels per row (default: ⌈√n⌉, at most 10). */
  columns?: number;
  /** Matching IoU named in the titles (default 0.5). */
  iouThreshold?: number;
}

const fmtAp = (v: number | undefined) => (v === undefined || Number.isNaN(v) ? '–' : v.toFixed(3));

/**
 * Precision–recall curves, one panel per class, as one PNG.
 *
 * @param curves Per class: `recall` and `precision` at each detection by decreasing score (the VOC curves), `npos`.
 * @param ap Per class AP, for the titles (NaN or missing: '–').
 * @returns PNG bytes.
 * @throws {TypeError} `curves` not an object, a curve without recall/precision arrays of one length, unknown option keys.
 * @example
 * fs.writeFileSync('pr.png', renderPrCurves(result.voc.curves, result.voc.ap));
 */
export function renderPrCurves(
  curves: Readonly<Record<string, ClassCurve>>,
  ap: Readonly<Record<string, number>> = {},
  options: PrCurvesOptions = {},
): Buffer {
  assertObject('curves', curves);
  assertObject('options', options);
  assertKnownKeys('options', options, ['classes', 'columns', 'iouThreshold']);
  const classes = options.classes ?? Object.keys(curves);
  if (!Array.isArray(classes)) throw invalidParameterError('classes', 'Array of class names', classes);
  for (const name of classes) {
    const c = curves[name];
    if (c === undefined) continue; // drawn as 'no detections or ground truth'
    if (!c || c.recall?.length === undefined || c.precision?.length !== c.recall.length)
      throw invalidParameterError(`curves['${name}']`, 'recall and precision arrays of one length', c);
  }
  const n = Math.max(1, classes.length);
  const columns = options.columns ?? Math.min(10, Math.ceil(Math.sqrt(n)));
  assertInteger('columns', columns, 1);
  const rows = Math.ceil(n / columns);
  const { width: pw, height: ph, left, right, top } = PR_PANEL;
  const canvas = createCanvas(pw * Math.min(columns, n), ph * rows);
  const ctx = canvas.getContext('2d');
  registerFont();
  ctx.fillStyle = '#ffffff';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  const iou: number = (options as PrCurvesOptions).iouThreshold ?? 0.5;

  classes.forEach((name, k) => {
    const col = k % columns;
    const row = Math.floor(k / columns);
    const [x0, y0] = prPoint(0, 1, col, row);
    const [x1, y1] = prPoint(1, 0, col, row);
    // grid and axes
    ctx.lineWidth = 1;
    ctx.strokeStyle = PLOT_COLORS.grid;
    for (let v = 0.2; v < 1; v += 0.2) {
      const [gx] = prPoint(v, 0, col, row);
      const [, gy] = prPoint(0, v, col, row);
      line(ctx, gx, y0, gx, y1);
      line(ctx, x0, gy, x1, gy);
    }
    ctx.strokeStyle = PLOT_COLORS.axis;
    ctx.strokeRect(x0, y0, x1 - x0, y1 - y0);
    ctx.fillStyle = PLOT_COLORS.text;
    ctx.font = `11px "${FONT_FAMILY}"`;
    ctx.textAlign = 'right';
    ctx.textBaseline = 'middle';
    for (const v of [0, 0.5, 1]) ctx.fillText(String(v), x0 - 4, prPoint(0, v, col, row)[1]);
    ctx.textAlign = 'center';
    ctx.textBaseline = 'top';
    for (const v of [0, 0.5, 1]) ctx.fillText(String(v), prPoint(v, 0, col, row)[0], y1 + 3);
    ctx.fillText('recall', (x0 + x1) / 2, y1 + 17);
    ctx.save();
    ctx.translate(col * pw + 10, (y0 + y1) / 2);
    ctx.rotate(-Math.PI / 2);
    ctx.fillText('precision', 0, -6);
    ctx.restore();
    const c = curves[name];
    ctx.font = `bold 12px "${FONT_FAMILY}"`;
    ctx.textAlign = 'left';
    ctx.textBaseline = 'alphabetic';
    const title = `${name}  AP${Math.round(iou * 100)} ${fmtAp(ap[name])}  (${c?.npos ?? 0} gt)`;
    ctx.fillText(clip(ctx, title, pw - left - right + 30), col * pw + left - 30, row * ph + top - 10);
    if (!c || c.recall.length === 0) {
      ctx.font = `11px "${FONT_FAMILY}"`;
      ctx.textAlign = 'center';
      ctx.fillText(c && c.npos > 0 ? 'no detections' : 'no ground truth', (x0 + x1) / 2, (y0 + y1) / 2);
      return;
    }
    // the raw precision, then the interpolated curve over it; both as steps from (0, p[0])
    const interp = interpolatedPrecision(c.precision);
    const steps = (p: ArrayLike<number>) => {
      ctx.beginPath();
      let [px, py] = prPoint(0, p[0], col, row);
      ctx.moveTo(px, py);
      for (let i = 0; i < p.length; i++) {
        const [x, y] = prPoint(c.recall[i], p[i], col, row);
        ctx.lineTo(x, py);
        ctx.lineTo(x, y);
        [px, py] = [x, y];
      }
      ctx.stroke();
    };
    ctx.lineJoin = 'miter';
    ctx.strokeStyle = PLOT_COLORS.raw;
    ctx.lineWidth = 1.5;
    steps(c.precision);
    ctx.strokeStyle = PLOT_COLORS.curve;
    ctx.lineWidth = 2.5;
    steps(interp);
  });
  return canvas.encodeSync('png');
}

/** Per-class numbers of the summary chart (an evaluation's `perClass`). */
export interface SummaryClass {
  ap50: number;
  map: number;
  npos?: number;
}

/** Where the bar of `value` ∈ [0, 1] ends, and the vertical middle of bar `bar` (0: VOC AP, 1: mAP) of row `row` (row 0: the means). */
export function summaryBar(value: number, row: number, bar: 0 | 1): [number, number] {
  const { width, left, right, top, rowHeight } = SUMMARY_CHART;
  const x = left + Math.max(0, Math.min(1, value)) * (width - left - right);
  const y = top + row * rowHeight + 3 + (bar + 0.5) * ((rowHeight - 6) / 2);
  return [x, y];
}

/**
 * The summary chart: per class a VOC AP bar and a COCO mAP bar, the means first, as one PNG.
 *
 * @param perClass Per class `{ ap50, map, npos? }` (an evaluation's `perClass`); NaN values draw no bar ('–').
 * @param means `{ ap50, map }` over the classes (the evaluation's `ap50` and `map`).
 * @param options `title` (first line), `iouThreshold` (named in the legend, default 0.5).
 * @returns PNG bytes.
 * @throws {TypeError} `perClass` or `means` not objects, unknown option keys.
 */
export function renderSummaryChart(
  perClass: Readonly<Record<string, SummaryClass>>,
  means: { ap50: number; map: number },
  options: { title?: string; iouThreshold?: number } = {},
): Buffer {
  assertObject('perClass', perClass);
  assertObject('means', means);
  assertObject('options', options);
  assertKnownKeys('options', options, ['title', 'iouThreshold']);
  const names = Object.keys(perClass);
  const { width, left, top, rowHeight, bottom } = SUMMARY_CHART;
  const rows: Array<[string, SummaryClass]> = [
    ['mean', { ap50: means.ap50, map: means.map }],
    ...names.map((n) => [n, perClass[n]] as [string, SummaryClass]),
  ];
  const canvas = createCanvas(width, top + rows.length * rowHeight + bottom);
  const ctx = canvas.getContext('2d');
  registerFont();
  ctx.fillStyle = '#ffffff';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  const iou = Math.round((options.iouThreshold ?? 0.5) * 100);
  ctx.fillStyle = PLOT_COLORS.text;
  ctx.font = `bold 13px "${FONT_FAMILY}"`;
  ctx.textBaseline = 'alphabetic';
  ctx.fillText(clip(ctx, options.title ?? 'Average precision per class', width - 20), 10, 18);
  // legend
  ctx.font = `11px "${FONT_FAMILY}"`;
  const legend: Array<[string, string]> = [
    [SUMMARY_COLORS.ap50, `VOC AP${iou}`],
    [SUMMARY_COLORS.map, 'COCO mAP@[.5:.95]'],
  ];
  let lx = left;
  for (const [color, text] of legend) {
    ctx.fillStyle = color;
    ctx.fillRect(lx, 26, 12, 10);
    ctx.fillStyle = PLOT_COLORS.text;
    ctx.fillText(text, lx + 16, 35);
    lx += 24 + ctx.measureText(text).width;
  }
  // grid
  const [gx0] = summaryBar(0, 0, 0);
  const [gx1] = summaryBar(1, 0, 0);
  const yEnd = top + rows.length * rowHeight;
  ctx.lineWidth = 1;
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  for (let v = 0; v <= 1.0001; v += 0.2) {
    const [x] = summaryBar(v, 0, 0);
    ctx.strokeStyle = v === 0 ? PLOT_COLORS.axis : PLOT_COLORS.grid;
    line(ctx, x, top, x, yEnd);
    ctx.fillStyle = PLOT_COLORS.text;
    ctx.fillText(v.toFixed(1), x, yEnd + 4);
  }
  ctx.strokeStyle = PLOT_COLORS.axis;
  line(ctx, gx0, yEnd, gx1, yEnd);
  rows.forEach(([name, v], row) => {
    ctx.textBaseline = 'middle';
    ctx.textAlign = 'right';
    ctx.fillStyle = PLOT_COLORS.text;
    ctx.font = `${row === 0 ? 'bold ' : ''}12px "${FONT_FAMILY}"`;
    const label = row === 0 || v.npos === undefined ? name : `${name} (${v.npos})`;
    ctx.fillText(clip(ctx, label, left - 14), left - 8, top + row * rowHeight + rowHeight / 2);
    ctx.font = `11px "${FONT_FAMILY}"`;
    ([0, 1] as const).forEach((bar) => {
      const value = bar === 0 ? v.ap50 : v.map;
      const [x, y] = summaryBar(value, row, bar);
      const h = (rowHeight - 6) / 2 - 1;
      if (Number.isFinite(value)) {
        ctx.fillStyle = bar === 0 ? SUMMARY_COLORS.ap50 : SUMMARY_COLORS.map;
        ctx.fillRect(gx0, y - h / 2, x - gx0, h);
      }
      ctx.fillStyle = PLOT_COLORS.text;
      ctx.textAlign = 'left';
      ctx.fillText(fmtAp(value), (Number.isFinite(value) ? x : gx0) + 4, y);
    });
  });
  return canvas.encodeSync('png');
}

/** What {@link writeEvalPlots} takes: an evaluation (from `evaluateModel` or `scoreDetections`). */
export interface PlottableEvaluation {
  ap50: number;
  map: number;
  perClass: Readonly<Record<string, SummaryClass>>;
  voc: { curves: Readonly<Record<string, ClassCurve>>; ap: Readonly<Record<string, number>> };
}

/** File names {@link writeEvalPlots} writes into its folder. */
export const PLOT_FILES = { curves: 'pr-curves.png', summary: 'summary.png' } as const;

/**
 * Writes `pr-curves.png` and `summary.png` into `dir` (created when missing). Both targets are checked before either
 * is written, so a refusal leaves nothing half done; each file is written to a temporary name and renamed.
 *
 * @param evaluation An evaluation (`evaluateModel`'s or `scoreDetections`' result).
 * @param dir Output folder.
 * @param options `overwrite` (default false: an existing file is an error), `title` (of the summary),
 *   `iouThreshold` (the matching IoU, for the labels), `protect` (identities of files never written over, overwrite
 *   or not: the inputs; lib/files.ts `fileIds`) and `protectedAs` (what they are, for the message).
 * @returns The paths written.
 * @throws {WriteError} A target exists (without `overwrite`) or is a directory, or the write fails; the message names it.
 * @example
 * await writeEvalPlots(await evaluateModel(detector, dataset), 'plots/');
 */
export async function writeEvalPlots(
  evaluation: PlottableEvaluation,
  dir: string,
  options: {
    overwrite?: boolean;
    title?: string;
    iouThreshold?: number;
    existsHint?: string;
    protect?: ReadonlySet<FileId>;
    protectedAs?: string;
  } = {},
): Promise<string[]> {
  assertObject('evaluation', evaluation);
  if (typeof dir !== 'string' || dir === '') throw invalidParameterError('dir', 'a folder path', dir);
  assertObject('options', options);
  assertKnownKeys('options', options, ['overwrite', 'title', 'iouThreshold', 'existsHint', 'protect', 'protectedAs']);
  const curvesFile = path.join(dir, PLOT_FILES.curves);
  const summaryFile = path.join(dir, PLOT_FILES.summary);
  const write = {
    overwrite: options.overwrite,
    existsHint: options.existsHint,
    protect: options.protect,
    protectedAs: options.protectedAs,
  };
  await checkWriteTarget(curvesFile, write);
  await checkWriteTarget(summaryFile, write);
  const classes = Object.keys(evaluation.perClass);
  const curves = renderPrCurves(evaluation.voc.curves, evaluation.voc.ap, {
    classes,
    iouThreshold: options.iouThreshold,
  });
  const summary = renderSummaryChart(evaluation.perClass, evaluation, {
    title: options.title,
    iouThreshold: options.iouThreshold,
  });
  try {
    await fs.promises.mkdir(dir, { recursive: true });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'EEXIST' || e.code === 'ENOTDIR' ? 'a file of that name is in the way' : e.message;
    throw new Error(`Cannot create the plots folder ${dir}: ${why}`, { cause: err });
  }
  await writeFileAtomic(curvesFile, curves, write);
  await writeFileAtomic(summaryFile, summary, write);
  return [curvesFile, summaryFile];
}

function line(ctx: SKRSContext2D, x0: number, y0: number, x1: number, y1: number): void {
  ctx.beginPath();
  ctx.moveTo(x0, y0);
  ctx.lineTo(x1, y1);
  ctx.stroke();
}

/** `text` cut with '…' to fit `max` pixels in the current font. */
function clip(ctx: SKRSContext2D, text: string, max: number): string {
  if (ctx.measureText(text).width <= max) return text;
  let t = text;
  while (t.length > 1 && ctx.measureText(`${t}…`).width > max) t = t.slice(0, -1);
  return `${t}…`;
}
