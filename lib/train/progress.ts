/**
 * What `train` reports while it runs (per batch: {@link TrainProgress}; per epoch: {@link EpochReport}) and their
 * one-line text forms, which the CLI shows as its progress bar label and its per-epoch lines.
 */

/** After each optimizer step. */
export interface TrainProgress {
  /** 1-based epoch and its number of batches; `batch` is 1-based within the epoch. */
  epoch: number;
  epochs: number;
  batch: number;
  batches: number;
  /** This batch's loss: total = (conf + α·loc) / N, and its parts (each already divided by N). */
  loss: number;
  loc: number;
  conf: number;
  /** Matched (foreground) anchors in the batch, N. */
  positives: number;
  /** The learning rate of this step. */
  lr: number;
  /** Images per second of the training steps over the epoch so far (feature computation excluded). */
  imagesPerSecond: number;
}

/** After each epoch. */
export interface EpochReport {
  epoch: number;
  epochs: number;
  /** Means over the epoch's batches. */
  loss: number;
  loc: number;
  conf: number;
  positivesPerBatch: number;
  /** Validation AP50 / COCO mAP (only with a validation set; else undefined). */
  ap50?: number;
  map?: number;
  /** Whether this epoch is the best so far (by AP50 with a validation set, else the last). */
  best: boolean;
  /** Seconds of the epoch (feature refresh, training and validation). */
  seconds: number;
  /** Images per second of the training steps. */
  imagesPerSecond: number;
  /** Peak resident memory of the process so far, MB. */
  peakRssMB: number;
}

const f = (v: number, d = 3) => (Number.isFinite(v) ? v.toFixed(d) : String(v));

/** `loss 2.345 (loc 0.812, conf 1.533), 11.0 pos/batch, lr 1.0e-3` — the progress bar's label. */
export function formatProgress(p: TrainProgress): string {
  return `loss ${f(p.loss)} (loc ${f(p.loc)}, conf ${f(p.conf)}), ${p.positives} pos/batch, lr ${p.lr.toExponential(1)}`;
}

/** `epoch 3/10: loss 2.345 (loc 0.812, conf 1.533), 11.0 pos/batch, val AP50 0.812 (best), 12.3 s, 9.8 img/s, 412 MB` */
export function formatEpoch(e: EpochReport): string {
  const val = e.ap50 !== undefined ? `, val AP50 ${f(e.ap50)} mAP ${f(e.map ?? NaN)}${e.best ? ' (best)' : ''}` : '';
  return (
    `epoch ${e.epoch}/${e.epochs}: loss ${f(e.loss)} (loc ${f(e.loc)}, conf ${f(e.conf)}), ` +
    `${e.positivesPerBatch.toFixed(1)} pos/batch${val}, ${e.seconds.toFixed(1)} s, ` +
    `${e.imagesPerSecond.toFixed(1)} img/s, peak RSS ${Math.round(e.peakRssMB)} MB`
  );
}

/** Peak resident set size of this process so far, in MB (getrusage's ru_maxrss). */
export function peakRssMB(): number {
  return process.resourceUsage().maxRSS / 1024;
}
