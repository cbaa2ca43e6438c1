/**
 * The training curve PNG `train` writes at the end: two panels side by side, the training loss per epoch (total,
 * localisation and confidence parts) and the validation AP50 per epoch (when a validation set was given), in the
 * style of the evaluation plots (lib/eval/plots.ts: same palette, colours and bundled font).
 */
import { createCanvas, type SKRSContext2D } from '@napi-rs/canvas';
import { FONT_FAMILY, PALETTE, registerFont } from '../image/draw.ts';
import { PLOT_COLORS } from '../eval/plots.ts';
import { invalidParameterError } from '../is.ts';

/** One point per epoch. */
export interface CurvePoint {
  epoch: number;
  loss: number;
  loc: number;
  conf: number;
  /** Validation AP50 (undefined or NaN: none). */
  ap50?: number;
}

/** Geometry of one panel (pixels). */
export const CURVE_PANEL = { width: 420, height: 300, left: 56, right: 16, top: 40, bottom: 44 } as const;
/** Line colours: total, localisation, confidence, AP50. */
export const CURVE_COLORS = { loss: PALETTE[0], loc: PALETTE[1], conf: PALETTE[2], ap50: PALETTE[4] } as const;

/** A tick step of 1, 2 or 5 × 10^k giving about 5 ticks over [0, max]. */
function tickStep(max: number): number {
  const raw = max / 5;
  const p = 10 ** Math.floor(Math.log10(raw));
  const m = raw / p;
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
}

/**
 * Renders the curves as PNG bytes.
 *
 * @param history One point per epoch, in order (non-finite values are left out of the lines).
 * @param options `title` (above the loss panel).
 * @throws {TypeError} `history` is not an array of points.
 * @example
 * fs.writeFileSync('curve.png', renderTrainingCurve(result.history));
 */
export function renderTrainingCurve(history: readonly CurvePoint[], options: { title?: string } = {}): Buffer {
  if (!Array.isArray(history)) throw invalidParameterError('history', 'Array of { epoch, loss, loc, conf }', history);
  const { width: pw, height: ph, left, right, top, bottom } = CURVE_PANEL;
  const canvas = createCanvas(pw * 2, ph);
  const ctx = canvas.getContext('2d');
  registerFont();
  ctx.fillStyle = '#ffffff';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  const epochs = Math.max(1, ...history.map((p) => p.epoch));
  const finite = (v: number | undefined): v is number => typeof v === 'number' && Number.isFinite(v);
  const lossMax = Math.max(1e-6, ...history.flatMap((p) => [p.loss, p.loc, p.conf].filter(finite)));
  const panel = (
    col: number,
    yMax: number,
    title: string,
    series: Array<[string, string, (p: CurvePoint) => number | undefined]>,
  ) => {
    const x0 = col * pw + left;
    const x1 = (col + 1) * pw - right;
    const y0 = top;
    const y1 = ph - bottom;
    const X = (e: number) => x0 + ((e - (epochs > 1 ? 1 : 0)) / Math.max(1, epochs - 1)) * (x1 - x0);
    const Y = (v: number) => y1 - (v / yMax) * (y1 - y0);
    ctx.lineWidth = 1;
    ctx.font = `11px "${FONT_FAMILY}"`;
    const step = tickStep(yMax);
    ctx.textAlign = 'right';
    ctx.textBaseline = 'middle';
    for (let v = 0; v <= yMax * 1.0001; v += step) {
      ctx.strokeStyle = v === 0 ? PLOT_COLORS.axis : PLOT_COLORS.grid;
      line(ctx, x0, Y(v), x1, Y(v));
      ctx.fillStyle = PLOT_COLORS.text;
      ctx.fillText(Number(v.toPrecision(3)).toString(), x0 - 4, Y(v));
    }
    ctx.textAlign = 'center';
    ctx.textBaseline = 'top';
    const eStep = Math.max(1, Math.ceil(epochs / 10));
    for (let e = 1; e <= epochs; e += eStep) ctx.fillText(String(e), X(e), y1 + 4);
    ctx.fillText('epoch', (x0 + x1) / 2, y1 + 20);
    ctx.strokeStyle = PLOT_COLORS.axis;
    ctx.strokeRect(x0, y0, x1 - x0, y1 - y0);
    ctx.font = `bold 13px "${FONT_FAMILY}"`;
    ctx.textAlign = 'left';
    ctx.textBaseline = 'alphabetic';
    ctx.fillText(title, x0, 16);
    let lx = x0;
    ctx.font = `11px "${FONT_FAMILY}"`;
    for (const [name, color, get] of series) {
      ctx.fillStyle = color;
      ctx.fillRect(lx, 24, 12, 8);
      ctx.fillStyle = PLOT_COLORS.text;
      ctx.fillText(name, lx + 16, 32);
      lx += 28 + ctx.measureText(name).width;
      const pts = history.filter((p) => finite(get(p)));
      if (pts.length === 0) continue;
      ctx.strokeStyle = color;
      ctx.fillStyle = color;
      ctx.lineWidth = 2;
      ctx.beginPath();
      pts.forEach((p, i) => (i === 0 ? ctx.moveTo(X(p.epoch), Y(get(p)!)) : ctx.lineTo(X(p.epoch), Y(get(p)!))));
      ctx.stroke();
      for (const p of pts) ctx.fillRect(X(p.epoch) - 2, Y(get(p)!) - 2, 4, 4);
    }
  };
  panel(0, lossMax * 1.05, options.title ?? 'Training loss', [
    ['total', CURVE_COLORS.loss, (p) => p.loss],
    ['localisation', CURVE_COLORS.loc, (p) => p.loc],
    ['confidence', CURVE_COLORS.conf, (p) => p.conf],
  ]);
  const hasAp = history.some((p) => finite(p.ap50));
  panel(1, 1, hasAp ? 'Validation AP50' : 'Validation AP50 (no --val)', [['AP50', CURVE_COLORS.ap50, (p) => p.ap50]]);
  return canvas.encodeSync('png');
}

function line(ctx: SKRSContext2D, x0: number, y0: number, x1: number, y1: number): void {
  ctx.beginPath();
  ctx.moveTo(x0, y0);
  ctx.lineTo(x1, y1);
  ctx.stroke();
}
