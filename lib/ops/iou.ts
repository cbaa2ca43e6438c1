/**
 * Pairwise IoU (torchvision `box_iou`; native/core/iou.cc), plus the float32 area and IoU helpers that the NMS,
 * postprocess and matcher twins share.
 */
import { binding } from '../binding.ts';
import { assertFloat32Array } from '../is.ts';
import { f32 } from './float32.ts';

/** float32 area of box i of a flat xyxy array: (x2 − x1)·(y2 − y1), each operation rounded to float32. */
export function boxArea32(boxes: Float32Array, i: number): number {
  const o = 4 * i;
  return f32(f32(boxes[o + 2] - boxes[o]) * f32(boxes[o + 3] - boxes[o + 1]));
}

/** float32 areas of all boxes of a flat xyxy array. */
export function boxAreas32(boxes: Float32Array): Float32Array {
  const areas = new Float32Array(boxes.length / 4);
  for (let i = 0; i < areas.length; i++) areas[i] = boxArea32(boxes, i);
  return areas;
}

/**
 * float32 IoU of box i of `a` (area `areaA`) and box j of `b` (area `areaB`), torchvision's operation order:
 * inter = max(0, min x2 − max x1)·max(0, min y2 − max y1); union = (areaA + areaB) − inter; inter / union.
 * Returns 0 when either area is not finite (any non-finite coordinate, or float32 overflow) or union ≤ 0,
 * so the result is never NaN.
 */
export function pairIou32(
  a: Float32Array,
  i: number,
  areaA: number,
  b: Float32Array,
  j: number,
  areaB: number,
): number {
  if (!Number.isFinite(areaA) || !Number.isFinite(areaB)) return 0;
  const p = 4 * i;
  const q = 4 * j;
  const w = Math.max(0, f32(Math.min(a[p + 2], b[q + 2]) - Math.max(a[p], b[q])));
  const h = Math.max(0, f32(Math.min(a[p + 3], b[q + 3]) - Math.max(a[p + 1], b[q + 1])));
  const inter = f32(w * h);
  const union = f32(f32(areaA + areaB) - inter);
  return union > 0 ? f32(inter / union) : 0;
}

/**
 * Pairwise IoU of two sets of xyxy boxes, in float32 (torchvision `box_iou`), except that the result is 0
 * instead of NaN: IoU = 0 when union ≤ 0 (e.g. two zero-area boxes, where torchvision gives NaN) and when a
 * box has a non-finite coordinate.
 *
 * @param a Float32Array [N·4], xyxy.
 * @param b Float32Array [M·4], xyxy.
 * @returns Float32Array [N·M], row-major: element i·M + j = IoU(a_i, b_j). Empty when N or M is 0.
 * @throws {TypeError} `a` or `b` is not a Float32Array of length 4·N.
 * @example
 * boxIou(new Float32Array([0, 0, 2, 2]), new Float32Array([1, 1, 3, 3, 0, 0, 2, 2])); // [0.14285714, 1]
 */
export function boxIou(a: Float32Array, b: Float32Array): Float32Array {
  checkBoxIou(a, b);
  return binding ? binding.boxIou(a, b) : iouMatrix(a, b);
}

/** Pure-TypeScript twin of {@link boxIou}: same checks and messages, same values, same layout. */
export function boxIouTs(a: Float32Array, b: Float32Array): Float32Array {
  checkBoxIou(a, b);
  return iouMatrix(a, b);
}

/** The argument checks of {@link boxIou} and its twin. */
function checkBoxIou(a: unknown, b: unknown): void {
  assertFloat32Array('a', a, 4);
  assertFloat32Array('b', b, 4);
}

function iouMatrix(a: Float32Array, b: Float32Array): Float32Array {
  const areasA = boxAreas32(a);
  const areasB = boxAreas32(b);
  const m = areasB.length;
  const out = new Float32Array(areasA.length * m);
  for (let i = 0; i < areasA.length; i++) {
    for (let j = 0; j < m; j++) out[i * m + j] = pairIou32(a, i, areasA[i], b, j, areasB[j]);
  }
  return out;
}
