/**
 * float32 arithmetic of the TypeScript twins, in one place: rounding, torch's exp (SLEEF `expf_u10`), and torch's
 * 8-lane order for sums of exponentials (softmax, log-softmax). The native kernels (native/simd) compute the same
 * operations in the same order, so the twins, every SIMD variant and torchvision agree bit for bit.
 */

/** Rounds a double to the nearest float32 (every float32 operation is a double operation followed by this). */
export const f32 = Math.fround;

/** float32 a·b + c with one rounding (a·b of two float32 values is exact in float64). */
export const fma32 = (a: number, b: number, c: number): number => f32(a * b + c);

/**
 * float32 exp(x) computed like SLEEF's `expf_u10` (≤ 1 ulp; FMA emulated in float64), the vector exp of torch's
 * CPU kernels: with it decode and softmax reproduce torchvision bit for bit (with a correctly rounded exp,
 * decoded boxes differ by up to 4 ulp). Used for every float32 exp of the twins (decode, softmax, sigmoid,
 * cross-entropy, soft-NMS). x below −104 gives 0, above 100 gives Infinity, NaN gives NaN.
 */
export function expf32(x: number): number {
  if (x < -104) return 0;
  if (x > 100) return Infinity;
  const t = f32(x * f32(Math.LOG2E));
  const q = Math.abs(t % 1) === 0.5 ? 2 * Math.round(t / 2) : Math.round(t); // round half to even
  const s = fma32(q, f32(-1.428606765330187045e-6), fma32(q, f32(-0.693145751953125), x));
  let u = f32(0.000198527617612853646278381);
  for (const c of [
    0.00139304355252534151077271, 0.00833336077630519866943359, 0.0416664853692054748535156, 0.166666671633720397949219,
    0.5,
  ]) {
    u = fma32(u, s, f32(c));
  }
  return f32(f32(1 + fma32(f32(s * s), u, s)) * 2 ** q);
}

/** The eight float32 accumulators of {@link expSum8} (the twins run on one thread, one call at a time). */
const lanes = new Float32Array(8);

/**
 * Σ_k exp(x[start + k] − max) for k < count, in float32 and in the order of torch's AVX2 CPU kernels: e_k =
 * expf32(float32(x_k − max)) is added into lane k mod 8 (float32), the lanes are combined as
 * ((l0 + l4) + (l2 + l6)) + ((l1 + l5) + (l3 + l7)); with fewer than 8 values, the plain sum in index order.
 *
 * @param out When given, receives e_k at out[k].
 */
export function expSum8(x: Float32Array, start: number, count: number, max: number, out?: Float32Array): number {
  lanes.fill(0);
  for (let k = 0; k < count; k++) {
    const e = expf32(f32(x[start + k] - max));
    if (out) out[k] = e;
    lanes[k & 7] += e;
  }
  if (count < 8) {
    let sum = 0;
    for (let k = 0; k < count; k++) sum = f32(sum + lanes[k]);
    return sum;
  }
  const [l0, l1, l2, l3, l4, l5, l6, l7] = lanes;
  return f32(f32(f32(l0 + l4) + f32(l2 + l6)) + f32(f32(l1 + l5) + f32(l3 + l7)));
}

/**
 * float32 softmax of one row as torch's CPU kernel computes it: max (NaN if any logit is NaN), e_c = exp(x_c − max),
 * sum by {@link expSum8}, score = e_c · (1 / sum).
 */
export function softmax32(logits: Float32Array, out: Float32Array): void {
  const max = logits.reduce((m, v) => Math.max(m, v), -Infinity);
  const inv = f32(1 / expSum8(logits, 0, logits.length, max, out));
  for (let c = 0; c < logits.length; c++) out[c] *= inv;
}

/** float32 logistic sigmoid of each logit: 1 / (1 + exp(−x)). */
export function sigmoid32(logits: Float32Array, out: Float32Array): void {
  for (let c = 0; c < logits.length; c++) out[c] = 1 / f32(1 + expf32(-logits[c]));
}
