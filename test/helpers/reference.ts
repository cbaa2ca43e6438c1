/**
 * Obvious float32 reference arithmetic shared by the tests (spelled out operation by operation: every
 * intermediate is rounded to float32 with Math.fround, as torchvision's CPU kernels do in float32).
 */
const f = Math.fround;

/** float32 IoU of box i of `a` and box j of `b` (xyxy), with the spec's rule: 0 when union ≤ 0 or NaN. */
export function iouF32(a: ArrayLike<number>, i: number, b: ArrayLike<number>, j: number): number {
  const ax1 = a[4 * i],
    ay1 = a[4 * i + 1],
    ax2 = a[4 * i + 2],
    ay2 = a[4 * i + 3];
  const bx1 = b[4 * j],
    by1 = b[4 * j + 1],
    bx2 = b[4 * j + 2],
    by2 = b[4 * j + 3];
  const areaA = f(f(ax2 - ax1) * f(ay2 - ay1));
  const areaB = f(f(bx2 - bx1) * f(by2 - by1));
  const w = Math.max(0, f(Math.min(ax2, bx2) - Math.max(ax1, bx1)));
  const h = Math.max(0, f(Math.min(ay2, by2) - Math.max(ay1, by1)));
  const inter = f(w * h);
  const union = f(f(areaA + areaB) - inter);
  if (!(union > 0)) return 0;
  const iou = f(inter / union);
  return Number.isNaN(iou) ? 0 : iou;
}

/** IoU as the NMS contract defines it: boxes with a non-finite coordinate have IoU 0 with everything. */
export function nmsIouF32(a: ArrayLike<number>, i: number, b: ArrayLike<number>, j: number): number {
  for (let k = 0; k < 4; k++) if (!Number.isFinite(a[4 * i + k]) || !Number.isFinite(b[4 * j + k])) return 0;
  return iouF32(a, i, b, j);
}

/** float64 IoU (no rounding), same degenerate rule. */
export function iouF64(a: ArrayLike<number>, i: number, b: ArrayLike<number>, j: number): number {
  const [ax1, ay1, ax2, ay2] = [a[4 * i], a[4 * i + 1], a[4 * i + 2], a[4 * i + 3]];
  const [bx1, by1, bx2, by2] = [b[4 * j], b[4 * j + 1], b[4 * j + 2], b[4 * j + 3]];
  const inter =
    Math.max(0, Math.min(ax2, bx2) - Math.max(ax1, bx1)) * Math.max(0, Math.min(ay2, by2) - Math.max(ay1, by1));
  const union = (ax2 - ax1) * (ay2 - ay1) + (bx2 - bx1) * (by2 - by1) - inter;
  if (!(union > 0)) return 0;
  const iou = inter / union;
  return Number.isNaN(iou) ? 0 : iou;
}

/** Indices sorted by decreasing score, equal scores by ascending index. */
export function argsortDesc(scores: ArrayLike<number>, indices?: number[]): number[] {
  const idx = indices ?? Array.from({ length: scores.length }, (_, i) => i);
  return idx.slice().sort((p, q) => scores[q] - scores[p] || p - q);
}
