/**
 * Calibration: runs the float model over calibration inputs with the tensors to quantize exposed as extra graph
 * outputs (a temporary copy of the graph; the model itself is not changed) and turns what they hold into one range
 * per tensor (after onnxruntime's `quantization/calibrate.py`: calibration apart from graph rewriting).
 *
 * Methods:
 * - `minmax`: the smallest and largest value seen over all inputs.
 * - `percentile`: a second pass histograms each tensor (2048 bins over its min..max) and clips at the
 *   `percentile` (default 99.999 %) quantile, and at the (100 − percentile) % quantile on the low side when the tensor
 *   has negative values (post-ReLU tensors keep 0).
 * - `entropy`: the same histogram; the high end is the threshold that minimizes the KL divergence between the
 *   clipped distribution and its 255-level quantization (TensorRT's calibrator). Tensors with negative values do the
 *   same on each side with half the levels.
 */
import { DataType, writeOnnx, type ModelProto } from '../onnx.ts';
import { Session } from '../../runtime/session.ts';
import type { TensorMap } from '../../runtime/tensor.ts';

export const CALIBRATION_METHODS = ['minmax', 'percentile', 'entropy'] as const;
export type CalibrationMethod = (typeof CALIBRATION_METHODS)[number];

/** Bins of the histograms of `percentile` and `entropy`. */
export const HISTOGRAM_BINS = 2048;

/** A calibrated range. */
export interface TensorRange {
  min: number;
  max: number;
}

export interface CalibrateOptions {
  method?: CalibrationMethod;
  /** Quantile kept by `percentile`, in (50, 100] (default 99.999). */
  percentile?: number;
  /** Intra-op threads of the calibration session (default: the session's default). */
  threads?: number;
}

/**
 * The model with `names` added as graph outputs (float32, shape left open), serialized. Names already outputs are
 * not added twice.
 */
export function exposeOutputs(model: ModelProto, names: readonly string[]): Uint8Array {
  const existing = new Set(model.graph.output.map((o) => o.name));
  const copy: ModelProto = {
    ...model,
    graph: {
      ...model.graph,
      output: [
        ...model.graph.output,
        ...names
          .filter((n) => !existing.has(n))
          .map((name) => ({ name, type: { tensor_type: { elem_type: DataType.FLOAT } } })),
      ],
    },
  };
  return writeOnnx(copy);
}

/** Min and max of a float array (NaN ignored). */
function minMax(data: ArrayLike<number>): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [lo, hi];
}

/** Adds `data` to a histogram of {@link HISTOGRAM_BINS} bins over [lo, hi] (values outside go to the end bins). */
function addToHistogram(hist: Float64Array, data: ArrayLike<number>, lo: number, hi: number): void {
  const n = hist.length;
  const k = hi > lo ? n / (hi - lo) : 0;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (Number.isNaN(v)) continue;
    let b = Math.floor((v - lo) * k);
    if (b < 0) b = 0;
    else if (b >= n) b = n - 1;
    hist[b]++;
  }
}

/** The value below which `q` (0..1) of the histogram's mass lies (upper edge of the bin that reaches it). */
export function histogramQuantile(hist: Float64Array, lo: number, hi: number, q: number): number {
  let total = 0;
  for (const c of hist) total += c;
  const target = q * total;
  let acc = 0;
  const width = (hi - lo) / hist.length;
  for (let b = 0; b < hist.length; b++) {
    acc += hist[b];
    if (acc >= target) return lo + (b + 1) * width;
  }
  return hi;
}

/**
 * TensorRT's entropy threshold on a one-sided histogram (bin 0 starts at 0): the number of bins i ≥ `levels` that
 * minimizes KL(P‖Q), P = the first i bins with the mass beyond folded into bin i − 1, Q = P merged into `levels`
 * levels and spread back over the nonzero bins of each level. Returns the bin count i.
 */
export function entropyThresholdBins(hist: Float64Array, levels: number): number {
  const n = hist.length;
  if (n <= levels) return n;
  let best = n;
  let bestKl = Infinity;
  let tail = 0;
  for (let b = n - 1; b >= levels; b--) tail += hist[b];
  // tail = mass of bins ≥ i (updated as i grows)
  for (let i = levels; i <= n; i++) {
    if (i > levels) tail -= hist[i - 1];
    const p = Float64Array.from(hist.subarray(0, i));
    p[i - 1] += tail;
    let pSum = 0;
    for (const v of p) pSum += v;
    if (pSum === 0) continue;
    const q = new Float64Array(i);
    const per = i / levels;
    for (let l = 0; l < levels; l++) {
      const start = Math.floor(l * per);
      const end = l === levels - 1 ? i : Math.floor((l + 1) * per);
      let mass = 0;
      let nonzero = 0;
      for (let b = start; b < end; b++) {
        mass += hist[b];
        if (hist[b] > 0) nonzero++;
      }
      if (nonzero === 0) continue;
      for (let b = start; b < end; b++) if (hist[b] > 0) q[b] = mass / nonzero;
    }
    let qSum = 0;
    for (const v of q) qSum += v;
    let kl = 0;
    for (let b = 0; b < i; b++) {
      if (p[b] === 0) continue;
      const pp = p[b] / pSum;
      const qq = q[b] / qSum;
      kl += qq > 0 ? pp * Math.log(pp / qq) : pp * 30; // a bin Q lost entirely: a large penalty
    }
    if (kl < bestKl) {
      bestKl = kl;
      best = i;
    }
  }
  return best;
}

/** A range from one histogram of {@link HISTOGRAM_BINS} bins over [lo, hi] by the method (lo ≤ 0 ≤ hi). */
export function rangeFromHistogram(
  hist: Float64Array,
  lo: number,
  hi: number,
  method: 'percentile' | 'entropy',
  percentile: number,
): TensorRange {
  const n = hist.length;
  const width = (hi - lo) / n;
  if (!(width > 0)) return { min: lo, max: hi };
  if (method === 'percentile') {
    const p = percentile / 100;
    const max = Math.min(hi, histogramQuantile(hist, lo, hi, p));
    const min = lo < 0 ? Math.max(lo, histogramQuantile(hist, lo, hi, 1 - p) - width) : lo;
    return { min: Math.min(min, 0), max: Math.max(max, 0) };
  }
  // entropy: each side of zero separately (post-ReLU tensors have only the positive side)
  const zeroBin = Math.min(n, Math.max(0, Math.round(-lo / width)));
  // the bins next to zero are left out of the divergence: after a ReLU they hold every exact zero, a spike that
  // would dominate both distributions and pull the threshold down (zero is exact in any range anyway)
  const positive = Float64Array.from(hist.subarray(zeroBin));
  const negative = Float64Array.from(hist.subarray(0, zeroBin)).reverse();
  if (positive.length > 0) positive[0] = 0;
  if (negative.length > 0) negative[0] = 0;
  const levels = lo < 0 && hi > 0 ? 128 : 255;
  const max = positive.length > 0 ? (hi > 0 ? entropyThresholdBins(positive, levels) * width : 0) : 0;
  const min = negative.length > 0 && lo < 0 ? -entropyThresholdBins(negative, levels) * width : 0;
  return { min: Math.max(lo, min), max: Math.min(hi, max) };
}

/**
 * Runs the model over `feeds` (one session run each) and returns a range per tensor name.
 *
 * @param model The float model (not modified).
 * @param tensors Names of the float tensors to calibrate (node outputs or graph inputs).
 * @param feeds Inputs of each calibration run (the detector's own preprocess, see `quantizeModel`).
 * @throws {Error} ONNX Runtime's message when the model does not run on the feeds.
 */
export async function calibrate(
  model: ModelProto,
  tensors: readonly string[],
  feeds: Iterable<TensorMap> | AsyncIterable<TensorMap>,
  options: CalibrateOptions = {},
): Promise<Map<string, TensorRange>> {
  const method = options.method ?? 'minmax';
  const percentile = options.percentile ?? 99.999;
  const inputs = new Set(model.graph.input.map((i) => i.name));
  const outputs = tensors.filter((t) => !inputs.has(t));
  const session = await Session.create(exposeOutputs(model, outputs), {
    device: 'cpu',
    ...(options.threads ? { threads: options.threads, spinning: false } : {}),
  });
  const ranges = new Map<string, TensorRange>();
  const stored: TensorMap[] = [];
  const values = (feed: TensorMap, out: TensorMap, name: string) => (inputs.has(name) ? feed[name] : out[name]).data;
  try {
    // pass 1: min/max (and, for the histogram methods, the feeds are kept for pass 2)
    for await (const feed of feeds as AsyncIterable<TensorMap>) {
      const out = await session.run(feed);
      for (const name of tensors) {
        const data = values(feed, out, name) as Float32Array;
        if (!data) throw new Error(`calibration: tensor '${name}' is not produced by the model`);
        const [lo, hi] = minMax(data);
        const r = ranges.get(name);
        ranges.set(name, r ? { min: Math.min(r.min, lo), max: Math.max(r.max, hi) } : { min: lo, max: hi });
      }
      if (method !== 'minmax') stored.push(feed);
    }
    if (ranges.size === 0 && tensors.length > 0) throw new Error('calibration: no calibration input');
    if (method === 'minmax') return ranges;
    // pass 2: histograms over each tensor's [min(min, 0), max(max, 0)]
    const hists = new Map<string, Float64Array>();
    for (const name of tensors) hists.set(name, new Float64Array(HISTOGRAM_BINS));
    for (const feed of stored) {
      const out = await session.run(feed);
      for (const name of tensors) {
        const r = ranges.get(name)!;
        addToHistogram(
          hists.get(name)!,
          values(feed, out, name) as Float32Array,
          Math.min(r.min, 0),
          Math.max(r.max, 0),
        );
      }
    }
    const result = new Map<string, TensorRange>();
    for (const name of tensors) {
      const r = ranges.get(name)!;
      result.set(
        name,
        rangeFromHistogram(hists.get(name)!, Math.min(r.min, 0), Math.max(r.max, 0), method, percentile),
      );
    }
    return result;
  } finally {
    await session.dispose();
  }
}
