/** Seeded random inputs for the property tests (deterministic: a failing seed reproduces). */

/** mulberry32: tiny 32-bit PRNG, uniform in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type Rng = () => number;

export const uniform = (rng: Rng, lo: number, hi: number): number => lo + (hi - lo) * rng();
export const randInt = (rng: Rng, lo: number, hi: number): number => lo + Math.floor(rng() * (hi - lo + 1)); // inclusive

export interface BoxOptions {
  /** Centres uniform in [0, extent]. */
  extent?: number;
  minSide?: number;
  maxSide?: number;
  /** Fraction of boxes made degenerate (zero width, zero height or a point). */
  zeroAreaFraction?: number;
  /** Round coordinates to integers (makes exact ties in IoU likely). */
  integer?: boolean;
}

/** n random xyxy boxes (x1 ≤ x2, y1 ≤ y2), float32. */
export function randomBoxes(rng: Rng, n: number, opts: BoxOptions = {}): Float32Array {
  const { extent = 300, minSide = 5, maxSide = 80, zeroAreaFraction = 0, integer = false } = opts;
  const out = new Float32Array(n * 4);
  for (let i = 0; i < n; i++) {
    const cx = uniform(rng, 0, extent);
    const cy = uniform(rng, 0, extent);
    let w = uniform(rng, minSide, maxSide);
    let h = uniform(rng, minSide, maxSide);
    if (zeroAreaFraction > 0 && rng() < zeroAreaFraction) {
      const k = randInt(rng, 0, 2);
      if (k !== 1) w = 0;
      if (k !== 0) h = 0;
    }
    let b = [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2];
    if (integer) b = b.map(Math.round);
    out.set(b, i * 4);
  }
  return out;
}

/** n random boxes clustered around a few centres (heavy overlaps), float32 xyxy. */
export function clusteredBoxes(
  rng: Rng,
  n: number,
  clusters: number,
  opts: { extent?: number; side?: number; jitter?: number } = {},
): Float32Array {
  const { extent = 1000, side = 40, jitter = 3 } = opts;
  const centres: number[][] = [];
  for (let c = 0; c < clusters; c++) centres.push([uniform(rng, 0, extent), uniform(rng, 0, extent)]);
  const out = new Float32Array(n * 4);
  for (let i = 0; i < n; i++) {
    const [cx, cy] = centres[Math.floor(rng() * clusters)];
    out[i * 4] = cx - side / 2 + uniform(rng, -jitter, jitter);
    out[i * 4 + 1] = cy - side / 2 + uniform(rng, -jitter, jitter);
    out[i * 4 + 2] = cx + side / 2 + uniform(rng, -jitter, jitter);
    out[i * 4 + 3] = cy + side / 2 + uniform(rng, -jitter, jitter);
  }
  return out;
}

/** n scores in [0, 1); with `levels` > 0 they are drawn from that many values (many exact ties). */
export function randomScores(rng: Rng, n: number, levels = 0): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = levels > 0 ? (1 + Math.floor(rng() * levels)) / levels : rng();
  return out;
}

/** Uniform float32 array in [lo, hi). */
export function randomArray(rng: Rng, n: number, lo: number, hi: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = uniform(rng, lo, hi);
  return out;
}

/** Seeds 1..count (a fixed list so failures name a reproducible seed). */
export const seeds = (count: number): number[] => Array.from({ length: count }, (_, i) => i + 1);

/** Replaces one coordinate of about `fraction` of the boxes by NaN, +Infinity or −Infinity (in place). */
export function sprinkleNonFinite(rng: Rng, boxes: Float32Array, fraction: number): Float32Array {
  const bad = [NaN, Infinity, -Infinity];
  for (let i = 0; i < boxes.length / 4; i++) {
    if (rng() < fraction) boxes[4 * i + randInt(rng, 0, 3)] = bad[randInt(rng, 0, 2)];
  }
  return boxes;
}
