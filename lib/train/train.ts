/**
 * `train(options)`: fine-tunes an ssd-edge SSD on a dataset (issue 8, "Training") — torchvision's
 * `references/detection` loop (train one epoch, evaluate, checkpoint) with the paper's loss and augmentation:
 *
 *   dataset (lib/data openDataset) ─► augment (seeded, per image × variant) ─► model input (lib/image preprocess)
 *     ─► frozen part by ONNX Runtime (the graph cut at `freeze`) ─► features, cached (./cache.ts)
 *     ─► tfjs forward of the trained part ─► SSD loss (native matching + mining, tfjs gradients) ─► Adam / SGD step
 *
 * Fast path (default `freeze: 'extras'`): backbone and extras run once per image variant in ONNX Runtime and only the
 * heads train in tfjs; `freeze: 'backbone'` trains the extras too; `freeze: 'none'` runs and trains everything in
 * tfjs (the cached "features" are then the model inputs themselves). Each image has `variants` augmented versions,
 * drawn again every `refreshEvery` epochs; epoch e uses variant e mod variants of the generation ⌊e / refreshEvery⌋.
 * Every random draw derives from `seed`: an augmentation from (seed, image, variant, generation), the batch order from
 * one generator whose state the checkpoint keeps — so a run resumed from a checkpoint continues exactly as the
 * uninterrupted run would.
 *
 * After each epoch: validation AP50/mAP (lib/eval) on `val` with the tfjs model, the best epoch's weights kept,
 * a checkpoint written atomically (./checkpoint.ts). At the end the best (or last, without `val`) weights are exported
 * as a self-describing ssd-edge ONNX model (`Detector.load` and `ssd-edge detect --model` take it) and the loss/AP
 * curve is drawn (./curve.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import { datasetFiles, openDataset, type BoxPolicy, type Dataset, type Sample } from '../data/index.ts';
import { finish, prepare, type ForwardOutput } from '../detector/stages.ts';
import { sampleGroundTruth, scoreDetections } from '../eval/run.ts';
import type { DetectionImage } from '../eval/types.ts';
import { checkWriteTarget, fileIds, writeFileAtomic, type FileId } from '../files.ts';
import { decodeImage } from '../image/decode.ts';
import { preprocess, type InputTransform } from '../image/preprocess.ts';
import {
  assertArray,
  assertBoolean,
  assertInRange,
  assertInteger,
  assertKnownKeys,
  assertObject,
  assertOneOf,
  assertPositive,
  invalidParameterError,
} from '../is.ts';
import { readModelSpec } from '../model/metadata.ts';
import { readOnnxHeaderFile } from '../model/onnx-header.ts';
import { ensureDefaultModel } from '../model/zoo.ts';
import { Session } from '../runtime/session.ts';
import { augmentForInput, toInputTensor, type AugmentOptions } from './augment.ts';
import { loadTf, TRAIN_BACKENDS, type Tf, type TrainBackendName } from './backend.ts';
import { type CacheEntry, FeatureCache, type Features } from './cache.ts';
import { CheckpointError, readCheckpoint, writeCheckpoint } from './checkpoint.ts';
import { renderTrainingCurve } from './curve.ts';
import { buildTargets, ssdLossTf, type ImageTargets } from './loss.ts';
import { exportOnnx, FREEZE_MODES, loadTrainable, type Freeze } from './models/index.ts';
import { Optimizer, OPTIMIZERS, type OptimizerName, type OptimizerState } from './optim.ts';
import { type EpochReport, peakRssMB, type TrainProgress } from './progress.ts';
import { Rng } from './rng.ts';
import { learningRate } from './schedule.ts';

export type { EpochReport, TrainProgress } from './progress.ts';

/** Options of {@link train}. */
export interface TrainOptions {
  /** Training set: a Pascal VOC folder, a COCO instances .json, or a .jsonl file (lib/data openDataset). */
  data: string;
  /** Validation set (same formats): AP50 and mAP after each epoch; the best epoch is exported. */
  val?: string;
  /** Base ssd-edge ONNX model (default: the package's face model, SSD-MobileNetV1). */
  base?: string;
  /**
   * The classes to detect, without background; dataset labels are matched by name. The base model's own labels
   * keep its class head; any other set gets a new, randomly initialised class head.
   */
  classes: string[];
  /** Epochs (default 10). */
  epochs?: number;
  /** Images per batch (default 8). */
  batch?: number;
  /** Peak learning rate (default 1e-3 for Adam, 1e-2 for SGD). */
  lr?: number;
  /** 'adam' (default; decoupled weight decay) or 'sgd' (momentum, L2 weight decay, as the paper). */
  optimizer?: OptimizerName;
  /** SGD momentum (default 0.9). */
  momentum?: number;
  /** Weight decay (default 5e-4 for SGD, 1e-4 for Adam). */
  weightDecay?: number;
  /** Linear warm-up, in epochs (default 1; fractions allowed). */
  warmupEpochs?: number;
  /** What stays frozen: 'extras' (default: heads train), 'backbone' (extras and heads train), 'none' (everything). */
  freeze?: Freeze;
  /** The paper's augmentation chain ('default') or none (default 'default'). */
  augment?: 'default' | 'none';
  /** Augmented variants per image (default 2, or 1 with freeze 'none'). */
  variants?: number;
  /** Epochs between redraws of the variants (default 5, or 1 with freeze 'none'). */
  refreshEvery?: number;
  /** Seed of every random draw (default 0). */
  seed?: number;
  /** Where the trained model goes (default 'model.onnx'); never over an existing file without `overwrite`. */
  out?: string;
  /** Replace an existing `out`, curve or (without `resume`) checkpoint. Inputs are never replaced. */
  overwrite?: boolean;
  /** The loss/AP curve PNG (default: `out` with `.curve.png` for `.onnx`); false: none. */
  curve?: string | false;
  /** Continue from the checkpoint in `checkpointDir` (the same options must be given). */
  resume?: boolean;
  /** Checkpoint folder (default: `out` with `.train` for `.onnx`); holds `checkpoint.ckpt`. */
  checkpointDir?: string;
  /** tfjs backend (default 'auto': tfjs-node if installed, else wasm, else cpu). */
  backend?: TrainBackendName;
  /** Memory budget for the process, MB (default 1024): the feature cache is sized to stay under it. */
  memoryBudgetMB?: number;
  /** Loss weight α of the localisation part (default 1) and hard negatives per positive (default 3). */
  alpha?: number;
  negPosRatio?: number;
  /**
   * Dataset reading: format, the split of `data` (default: a VOC folder's `trainval`, else `train`; a COCO folder's
   * `instances_*train*.json`) and of `val` (default: `split`, else lib/data's: test, else val), the box policy
   * (default 'error').
   */
  format?: 'voc' | 'coco' | 'jsonl';
  split?: string;
  valSplit?: string;
  boxPolicy?: BoxPolicy;
  /** ONNX Runtime intra-op threads for the frozen part (default: chosen for the machine). */
  threads?: number;
  onProgress?(p: TrainProgress): void;
  onEpoch?(e: EpochReport): void;
  /** Stops training between batches (the last checkpoint stays; nothing is exported). */
  signal?: AbortSignal;
}

export const TRAIN_OPTION_KEYS = [
  'data',
  'val',
  'base',
  'classes',
  'epochs',
  'batch',
  'lr',
  'optimizer',
  'momentum',
  'weightDecay',
  'warmupEpochs',
  'freeze',
  'augment',
  'variants',
  'refreshEvery',
  'seed',
  'out',
  'overwrite',
  'curve',
  'resume',
  'checkpointDir',
  'backend',
  'memoryBudgetMB',
  'alpha',
  'negPosRatio',
  'format',
  'split',
  'valSplit',
  'boxPolicy',
  'threads',
  'onProgress',
  'onEpoch',
  'signal',
] as const satisfies ReadonlyArray<keyof TrainOptions>;

/** What {@link train} returns. */
export interface TrainResult {
  /** The exported model (absolute path). */
  out: string;
  /** The curve PNG written (absolute), if any. */
  curve?: string;
  /** The checkpoint file (absolute). */
  checkpoint: string;
  /** The epoch exported (1-based): the best by validation AP50, else the last. */
  bestEpoch: number;
  history: EpochReport[];
  /** Peak resident memory of the process, MB. */
  peakRssMB: number;
  /** The tfjs backend used. */
  backend: string;
  /** Wall-clock seconds of this call. */
  seconds: number;
  /** Epochs done before this call (resumed from a checkpoint), 0 otherwise. */
  resumedFrom: number;
  /** The feature cache: entries needed per epoch, entries held, MB per entry, the budget given to it. */
  cache: { entries: number; cached: number; entryMB: number; budgetMB: number };
  /** The exported weights' validation result with the tfjs model (with `val`): AP50, mAP and its detections. */
  validation?: { ap50: number; map: number; detections: DetectionImage[] };
}

/** Loss is NaN or Inf: training stopped, naming the batch's images; no model is written. */
export class TrainingError extends Error {
  code = 'ERR_SSD_EDGE_TRAINING_DIVERGED';
  constructor(
    message: string,
    readonly epoch: number,
    readonly batch: number,
    readonly images: string[],
  ) {
    super(message);
    this.name = 'TrainingError';
  }
}

/** Options with every default filled in (what a checkpoint records). */
export interface ResolvedTrainOptions {
  data: string;
  val?: string;
  base?: string;
  classes: string[];
  epochs: number;
  batch: number;
  lr: number;
  optimizer: OptimizerName;
  momentum: number;
  weightDecay: number;
  warmupEpochs: number;
  freeze: Freeze;
  augment: 'default' | 'none';
  variants: number;
  refreshEvery: number;
  seed: number;
  out: string;
  overwrite: boolean;
  curve: string | false;
  resume: boolean;
  checkpointDir: string;
  backend: TrainBackendName;
  memoryBudgetMB: number;
  alpha: number;
  negPosRatio: number;
  format?: 'voc' | 'coco' | 'jsonl';
  split?: string;
  valSplit?: string;
  boxPolicy: BoxPolicy;
  threads?: number;
}

const stripOnnx = (file: string) => (file.toLowerCase().endsWith('.onnx') ? file.slice(0, -5) : file);

/**
 * Validates {@link TrainOptions} and fills in the defaults.
 *
 * @throws {TypeError} A missing or mistyped option, an unknown key, naming it.
 * @throws {RangeError} A number out of range, naming it.
 */
export function resolveTrainOptions(options: TrainOptions): ResolvedTrainOptions {
  assertObject('options', options as unknown);
  assertKnownKeys('options', options, TRAIN_OPTION_KEYS);
  const o = options;
  const str = (name: string, v: unknown) => {
    if (typeof v !== 'string' || v === '') throw invalidParameterError(name, 'non-empty string (a path)', v);
  };
  str('data', o.data);
  if (o.val !== undefined) str('val', o.val);
  if (o.base !== undefined) str('base', o.base);
  assertArray('classes', o.classes);
  const seen = new Set<string>();
  for (const [i, c] of o.classes.entries()) {
    if (typeof c !== 'string' || c.trim() === '' || c !== c.trim())
      throw invalidParameterError(`classes[${i}]`, 'non-empty class name without surrounding spaces', c);
    if (c === 'background')
      throw invalidParameterError(`classes[${i}]`, "a class name other than 'background' (index 0, implicit)", c);
    if (seen.has(c)) throw invalidParameterError(`classes[${i}]`, 'a class name listed once', c);
    seen.add(c);
  }
  const optimizer = o.optimizer ?? 'adam';
  assertOneOf('optimizer', optimizer, OPTIMIZERS);
  const freeze = o.freeze ?? 'extras';
  assertOneOf('freeze', freeze, FREEZE_MODES);
  const aug = o.augment ?? 'default';
  assertOneOf('augment', aug, ['default', 'none'] as const);
  const backend = o.backend ?? 'auto';
  assertOneOf('backend', backend, TRAIN_BACKENDS);
  const boxPolicy = o.boxPolicy ?? 'error';
  assertOneOf('boxPolicy', boxPolicy, ['error', 'clip', 'drop'] as const);
  if (o.format !== undefined) assertOneOf('format', o.format, ['voc', 'coco', 'jsonl'] as const);
  for (const k of ['split', 'valSplit'] as const) if (o[k] !== undefined) str(k, o[k]);
  const r: ResolvedTrainOptions = {
    data: o.data,
    val: o.val,
    base: o.base,
    classes: [...o.classes],
    epochs: o.epochs ?? 10,
    batch: o.batch ?? 8,
    lr: o.lr ?? (optimizer === 'adam' ? 1e-3 : 1e-2),
    optimizer,
    momentum: o.momentum ?? 0.9,
    weightDecay: o.weightDecay ?? (optimizer === 'adam' ? 1e-4 : 5e-4),
    warmupEpochs: o.warmupEpochs ?? 1,
    freeze,
    augment: aug,
    variants: o.variants ?? (freeze === 'none' ? 1 : 2),
    refreshEvery: o.refreshEvery ?? (freeze === 'none' ? 1 : 5),
    seed: o.seed ?? 0,
    out: o.out ?? 'model.onnx',
    overwrite: o.overwrite ?? false,
    curve: o.curve === undefined ? `${stripOnnx(o.out ?? 'model.onnx')}.curve.png` : o.curve,
    resume: o.resume ?? false,
    checkpointDir: o.checkpointDir ?? `${stripOnnx(o.out ?? 'model.onnx')}.train`,
    backend,
    memoryBudgetMB: o.memoryBudgetMB ?? 1024,
    alpha: o.alpha ?? 1,
    negPosRatio: o.negPosRatio ?? 3,
    format: o.format,
    split: o.split,
    valSplit: o.valSplit,
    boxPolicy,
    threads: o.threads,
  };
  assertInteger('epochs', r.epochs, 1);
  assertInteger('batch', r.batch, 1);
  if (r.batch > 4096) throw new RangeError(`Expected integer in [1, 4096] for batch but received ${r.batch}`);
  assertPositive('lr', r.lr, true);
  if (r.lr > 10) throw new RangeError(`Expected number in (0, 10] for lr but received ${r.lr}`);
  assertInRange('momentum', r.momentum, 0, 0.999);
  assertInRange('weightDecay', r.weightDecay, 0, 1);
  assertInRange('warmupEpochs', r.warmupEpochs, 0, r.epochs);
  assertInteger('variants', r.variants, 1);
  assertInteger('refreshEvery', r.refreshEvery, 1);
  assertInteger('seed', r.seed, 0);
  if (r.seed > Number.MAX_SAFE_INTEGER)
    throw new RangeError(`Expected integer in [0, 2^53 − 1] for seed but received ${r.seed}`);
  str('out', r.out);
  if (r.curve !== false) str('curve', r.curve);
  str('checkpointDir', r.checkpointDir);
  assertBoolean('overwrite', r.overwrite);
  assertBoolean('resume', r.resume);
  assertPositive('memoryBudgetMB', r.memoryBudgetMB, true);
  assertInRange('alpha', r.alpha, 0, 1000);
  assertPositive('negPosRatio', r.negPosRatio, true);
  if (r.threads !== undefined) assertInteger('threads', r.threads, 1);
  for (const k of ['onProgress', 'onEpoch'] as const)
    if (o[k] !== undefined && typeof o[k] !== 'function') throw invalidParameterError(k, 'function', o[k]);
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal))
    throw invalidParameterError('signal', 'AbortSignal', o.signal);
  return r;
}

/** The options a resumed run must share with the checkpoint's run (everything that changes the numbers). */
function runKey(r: ResolvedTrainOptions, baseId: string): Record<string, unknown> {
  return {
    data: path.resolve(r.data),
    val: r.val === undefined ? null : path.resolve(r.val),
    base: baseId,
    classes: r.classes,
    epochs: r.epochs,
    batch: r.batch,
    lr: r.lr,
    optimizer: r.optimizer,
    momentum: r.momentum,
    weightDecay: r.weightDecay,
    warmupEpochs: r.warmupEpochs,
    freeze: r.freeze,
    augment: r.augment,
    variants: r.variants,
    refreshEvery: r.refreshEvery,
    seed: r.seed,
    alpha: r.alpha,
    negPosRatio: r.negPosRatio,
  };
}

/** The option names as the CLI spells them, for resume mismatch messages. */
const FLAG_OF: Record<string, string> = {
  data: 'data',
  val: 'val',
  base: 'base',
  classes: 'classes',
  epochs: 'epochs',
  batch: 'batch',
  lr: 'lr',
  optimizer: 'optimizer',
  momentum: 'momentum',
  weightDecay: 'weightDecay (--weight-decay)',
  warmupEpochs: 'warmupEpochs (--warmup-epochs)',
  freeze: 'freeze',
  augment: 'augment',
  variants: 'variants',
  refreshEvery: 'refreshEvery (--refresh-every)',
  seed: 'seed',
  alpha: 'alpha',
  negPosRatio: 'negPosRatio (--neg-pos-ratio)',
};

/** What a checkpoint holds. */
interface CheckpointData {
  kind: 'ssd-edge-train';
  run: Record<string, unknown>;
  epoch: number;
  rng: string;
  featureCacheKey: string;
  history: EpochReport[];
  best: { epoch: number; ap50: number } | null;
  weights: Record<string, { data: Float32Array; shape: number[] }>;
  bestWeights: Record<string, { data: Float32Array; shape: number[] } | undefined> | null;
  optimizer: OptimizerState;
}

/** Stream of the augmentation generator of one image variant (a seed names everything; see the module comment). */
function augmentStream(image: number, variant: number, generation: number): number {
  // image < 2^26, variant < 2^10, generation < 2^16 keep the stream below 2^53
  return ((image % 2 ** 26) * 1024 + (variant % 1024)) * 65536 + (generation % 65536);
}

/** RGB pixels (drops alpha). */
function toRgb(img: {
  data: Uint8Array | Uint8ClampedArray;
  width: number;
  height: number;
  channels: number;
}): Uint8Array {
  if (img.channels === 3) return new Uint8Array(img.data.buffer, img.data.byteOffset, img.data.length);
  const n = img.width * img.height;
  const out = new Uint8Array(n * 3);
  for (let p = 0, s = 0, d = 0; p < n; p++, s += img.channels, d += 3) {
    out[d] = img.data[s];
    out[d + 1] = img.data[s + 1];
    out[d + 2] = img.data[s + 2];
  }
  return out;
}

/** The dataset's labels as model class ids (1-based; 0 is background), by name. */
function modelLabels(sample: Sample, dataset: Dataset, classes: readonly string[]): Int32Array {
  const out = new Int32Array(sample.labels.length);
  for (let i = 0; i < out.length; i++) out[i] = classes.indexOf(dataset.classes[sample.labels[i]]) + 1;
  return out;
}

/**
 * The split a training set is read from when none is given: a VOC folder's `trainval` (else `train`), a COCO folder's
 * `instances_*train*.json` — lib/data's own default picks the test/val split, right for evaluation only.
 */
function trainSplit(file: string): string | undefined {
  try {
    if (!fs.statSync(file).isDirectory()) return undefined;
  } catch {
    return undefined;
  }
  for (const s of ['trainval', 'train']) if (fs.existsSync(path.join(file, 'ImageSets', 'Main', `${s}.txt`))) return s;
  const ann = path.join(file, 'annotations');
  const coco = fs.existsSync(ann) ? fs.readdirSync(ann).filter((f) => /^instances_.*train.*\.json$/.test(f)) : [];
  return coco.length === 1 ? coco[0].slice('instances_'.length, -'.json'.length) : undefined;
}

async function openSet(file: string, r: ResolvedTrainOptions, split: string | undefined): Promise<Dataset> {
  return openDataset(file, { format: r.format, split, boxPolicy: r.boxPolicy, classes: r.classes });
}

/**
 * Fine-tunes an SSD and exports it (see the module comment for the pipeline).
 *
 * @returns {@link TrainResult}: the model written, the best epoch, the history, peak RSS, the cache, the validation.
 * @throws {TypeError|RangeError} Invalid options (naming the option).
 * @throws {DatasetError} A dataset with problems (listing each; `boxPolicy` 'clip' or 'drop' repairs them).
 * @throws {WriteError} `out`, the curve or the checkpoint exists (without `overwrite` / `resume`) or is an input.
 * @throws {CheckpointError} `resume` without a readable checkpoint, or one written with other options.
 * @throws {TrainingError} The loss became NaN or Inf (naming the batch's images); nothing is exported.
 * @example
 * import { train } from 'ssd-edge/train';
 * const r = await train({ data: 'mugs/train.jsonl', val: 'mugs/val.jsonl', classes: ['mug'], epochs: 20, out: 'mug.onnx' });
 * console.log(r.bestEpoch, r.history.at(-1)?.ap50, r.peakRssMB);
 */
export async function train(options: TrainOptions): Promise<TrainResult> {
  const t0 = performance.now();
  const r = resolveTrainOptions(options);
  const signal = options.signal;
  const out = path.resolve(r.out);
  const curveFile = r.curve === false ? undefined : path.resolve(r.curve);
  const ckptFile = path.resolve(r.checkpointDir, 'checkpoint.ckpt');

  // --- inputs and where things go, checked before any work --------------------------------------------------------
  const base = r.base ?? (await ensureDefaultModel());
  const baseSpec = readModelSpec((await readOnnxHeaderFile(base)).header, base);
  const dataset = await openSet(r.data, r, r.split ?? trainSplit(r.data));
  const valSet = r.val !== undefined ? await openSet(r.val, r, r.valSplit ?? r.split) : undefined;
  if (dataset.size === 0) throw new RangeError(`Dataset ${r.data} has no images to train on`);
  const protect = new Set<FileId>(
    await fileIds([base, ...datasetFiles(dataset), ...(valSet ? datasetFiles(valSet) : [])]),
  );
  const writeRules = {
    overwrite: r.overwrite,
    protect,
    protectedAs: 'one of the inputs',
    existsHint: 'overwrite: true or --overwrite replaces it',
  };
  await checkWriteTarget(out, writeRules);
  if (curveFile) await checkWriteTarget(curveFile, writeRules);
  const baseId = `${path.resolve(base)}:${(await fs.promises.stat(base)).size}`;
  const run = runKey(r, baseId);
  let saved: CheckpointData | null = null;
  const existing = await readCheckpoint(ckptFile).catch((err) => {
    if (r.resume) throw err;
    if (err instanceof CheckpointError && r.overwrite) return null;
    throw err;
  });
  if (r.resume) {
    if (existing === null) throw new CheckpointError(`Nothing to resume: no checkpoint at ${ckptFile}`);
    saved = existing as CheckpointData;
    if (saved.kind !== 'ssd-edge-train') throw new CheckpointError(`${ckptFile} is not a training checkpoint`);
    const diff = Object.keys(run).filter((k) => JSON.stringify(run[k]) !== JSON.stringify(saved!.run[k]));
    if (diff.length > 0)
      throw new CheckpointError(
        `Cannot resume from ${ckptFile}: it was written with other options (${diff
          .map((k) => `${FLAG_OF[k] ?? k} ${JSON.stringify(saved!.run[k])}, now ${JSON.stringify(run[k])}`)
          .join('; ')}); give the same options, or start over with --overwrite`,
      );
  } else if (existing !== null && !r.overwrite) {
    throw new CheckpointError(
      `A checkpoint exists at ${ckptFile}: resume continues it (--resume), overwrite starts over (--overwrite)`,
    );
  }

  // --- model, backend, frozen part -------------------------------------------------------------------------------
  const { tf, backend } = await loadTf(r.backend);
  const baseClasses = baseSpec.labels.filter((_, i) => i !== baseSpec.postprocess.backgroundIndex);
  // The same classes as the base keep its class head (background 0 needed), scored with softmax: what the loss
  // trains (a sigmoid-scored base such as the face model switches); any other class set gets a new, seeded head.
  const keepHead =
    JSON.stringify(baseClasses) === JSON.stringify(r.classes) && baseSpec.postprocess.backgroundIndex === 0;
  const model = await loadTrainable(
    tf,
    base,
    keepHead ? { seed: r.seed, scoring: 'softmax' } : { classes: r.classes, seed: r.seed },
  );
  const cutNames = model.cutPoints(r.freeze);
  const frozen =
    r.freeze === 'none'
      ? null
      : await Session.create(model.frozenPartOnnx(r.freeze), {
          device: 'cpu',
          threads: r.threads ?? 'auto',
          graphOptimizationLevel: 'all',
        });
  const spec = model.spec;
  const { width: W, height: H } = spec.input;
  const N = model.anchors.length / 4;
  // anchors are cxcywh normalized to the input (resolveAnchors); the ground truth is normalized the same way
  const lossOptions = { iouThreshold: 0.5, anchorFormat: 'cxcywh' as const, boxCoder: spec.postprocess.boxCoder };
  const augmentOptions: AugmentOptions = { fill: meanFill(spec.input) };

  /** The frozen part on one model input: the cut tensors (or the input itself with freeze 'none'). */
  const features = async (input: Float32Array): Promise<Features> => {
    if (!frozen) return { data: [input], dims: [[1, 3, H, W]] };
    const res = await frozen.run({ [spec.input.name]: { data: input, dims: [1, 3, H, W] } });
    const data: Float32Array[] = [];
    const dims: number[][] = [];
    for (const name of cutNames) {
      const t = res[name];
      if (!t || !(t.data instanceof Float32Array))
        throw new Error(`The frozen part of ${spec.name} did not return the float32 tensor '${name}'`);
      data.push(t.data);
      dims.push(t.dims.map(Number));
    }
    return { data, dims };
  };

  // --- the feature cache ---------------------------------------------------------------------------------------
  const probe = await features(new Float32Array(3 * W * H));
  const entryBytes = probe.data.reduce((a, d) => a + d.byteLength, 0) + N * 13;
  // The cache grows while the process stays under the budget less a reserve for one training step (the batch's
  // features, the activations and gradients of the trained part: a generous 6 copies of the batch, + 64 MB), measured
  // on the process's resident memory itself before each entry is kept (the wasm heap and ONNX Runtime's arena never
  // shrink, so what is measured is what stays).
  const reserveMB = (6 * r.batch * entryBytes) / 2 ** 20 + 64;
  const valEntries = valSet?.size ?? 0;
  const roomFor = () => process.memoryUsage.rss() / 2 ** 20 + entryBytes / 2 ** 20 + reserveMB <= r.memoryBudgetMB;
  const variants = r.augment === 'none' ? 1 : r.variants;
  const cache = new FeatureCache(dataset.size * variants + valEntries, roomFor);
  const featureCacheKey = JSON.stringify({
    base: baseId,
    freeze: r.freeze,
    seed: r.seed,
    augment: r.augment,
    variants: r.variants,
    refreshEvery: r.refreshEvery,
  });

  const trainEntry = async (i: number, variant: number, generation: number) => {
    const key = `t:${i}:${variant}`;
    const hit = cache.get(key, generation);
    if (hit) return hit;
    const s = dataset.samples[i];
    // decoded again for each variant: holding every decoded image would cost more memory than the decode costs time
    const d = await decodeImage(s.image, s.image);
    if (d.width !== s.width || d.height !== s.height)
      throw new Error(
        `Image ${s.image} (${s.id}) decodes to ${d.width}×${d.height} but its annotation says ${s.width}×${s.height}`,
      );
    const img = { pixels: toRgb(d), width: d.width, height: d.height };
    const labels = modelLabels(s, dataset, r.classes);
    let input: Float32Array;
    let norm: Float32Array;
    let kept: Int32Array;
    if (r.augment === 'none') {
      // no augmentation: exactly the inference preprocess (the model's resize mode: stretch, pad or letterbox)
      const p = preprocess({ data: img.pixels, width: img.width, height: img.height, channels: 3 }, spec.input);
      const t = p.transform;
      input = p.data;
      norm = new Float32Array(s.boxes.length);
      for (let k = 0; k < norm.length; k += 2) {
        norm[k] = (s.boxes[k] / t.scaleX + t.offsetX) / t.inputWidth;
        norm[k + 1] = (s.boxes[k + 1] / t.scaleY + t.offsetY) / t.inputHeight;
      }
      kept = labels;
    } else {
      const rng = new Rng(r.seed, augmentStream(i, variant, generation));
      // the model's resize mode: stretched to the input, or aspect kept and padded / letterboxed as inference does
      const a = augmentForInput(
        { pixels: img.pixels, width: img.width, height: img.height, boxes: s.boxes, labels },
        rng,
        spec.input,
        augmentOptions,
      );
      input = toInputTensor(a.pixels, a.width, a.height, spec.input);
      norm = new Float32Array(a.boxes.length);
      for (let k = 0; k < norm.length; k += 2) {
        norm[k] = a.boxes[k] / a.width;
        norm[k + 1] = a.boxes[k + 1] / a.height;
      }
      kept = a.labels;
    }
    const targets = buildTargets(model.anchors, norm, kept, N, lossOptions);
    const entry = { features: await features(input), targets, id: s.id };
    cache.put(key, generation, entry, entryBytes);
    return entry;
  };

  const valPrepared = new Map<number, { features: Features; transform: InputTransform }>();
  const valEntry = async (i: number) => {
    const hit = valPrepared.get(i);
    if (hit) return hit;
    const s = valSet!.samples[i];
    const p = await prepare([s.image], spec.input);
    if (p.sizes[0].width !== s.width || p.sizes[0].height !== s.height)
      throw new Error(
        `Image ${s.image} (${s.id}) decodes to ${p.sizes[0].width}×${p.sizes[0].height} but its annotation says ${s.width}×${s.height}`,
      );
    const entry = { features: await features(p.input.data), transform: p.transforms[0] };
    if (cache.reserve(entryBytes)) valPrepared.set(i, entry);
    return entry;
  };

  /** Stacks B entries' features into one tensor per cut point. */
  const stack = (items: readonly Features[]) =>
    cutNames.map((_, k) => {
      const dims = items[0].dims[k];
      const per = items[0].data[k].length;
      const buf = new Float32Array(per * items.length);
      items.forEach((it, b) => buf.set(it.data[k], b * per));
      return tf.tensor4d(buf, [items.length, dims[1], dims[2], dims[3]]);
    });

  /** Detections of the current tfjs model on the validation set, scored. */
  const validate = async (): Promise<{ ap50: number; map: number; detections: DetectionImage[] }> => {
    const detections: DetectionImage[] = [];
    const vs = valSet!;
    for (let start = 0; start < vs.size; start += r.batch) {
      const idx = [...Array(Math.min(r.batch, vs.size - start)).keys()].map((k) => start + k);
      const entries = [];
      for (const i of idx) entries.push(await valEntry(i));
      const cuts = stack(entries.map((e) => e.features));
      const { boxes, scores } = tf.tidy(() => {
        const o = model.forwardFrom(r.freeze, cuts, false);
        return { boxes: o.boxRegression.dataSync() as Float32Array, scores: o.classLogits.dataSync() as Float32Array };
      });
      for (const c of cuts) c.dispose();
      const output: ForwardOutput = {
        boxes,
        scores,
        batch: idx.length,
        numBoxes: N,
        numClasses: model.numClasses,
        ms: 0,
      };
      const dets = await finish(
        output,
        spec,
        model.anchors,
        entries.map((e) => e.transform),
        { scoreThreshold: 0.01 },
      );
      idx.forEach((i, b) =>
        detections.push({
          image: vs.samples[i].id,
          detections: dets[b].map((d) => ({
            label: d.label,
            score: d.score,
            box: [d.box.x1, d.box.y1, d.box.x2, d.box.y2],
          })),
        }),
      );
    }
    const gt = vs.samples.map((s) => sampleGroundTruth(s, vs.classes));
    const e = scoreDetections(gt, detections, { classes: r.classes });
    return { ap50: e.ap50, map: e.map, detections };
  };

  // --- optimizer, schedule, state ------------------------------------------------------------------------------
  const vars = model.trainableVariables(r.freeze);
  const optimizer = new Optimizer(tf, vars, {
    optimizer: r.optimizer,
    momentum: r.momentum,
    weightDecay: r.weightDecay,
  });
  const batchesPerEpoch = Math.ceil(dataset.size / r.batch);
  const schedule = {
    lr: r.lr,
    totalSteps: r.epochs * batchesPerEpoch,
    warmupSteps: Math.min(r.epochs * batchesPerEpoch, Math.round(r.warmupEpochs * batchesPerEpoch)),
  };
  let rng = new Rng(r.seed, 1);
  let history: EpochReport[] = [];
  let best: CheckpointData['best'] = null;
  let bestWeights: CheckpointData['bestWeights'] = null;
  let startEpoch = 0;
  if (saved) {
    model.setWeights(saved.weights);
    optimizer.setState(saved.optimizer);
    rng = Rng.fromState(saved.rng);
    history = saved.history;
    best = saved.best;
    bestWeights = saved.bestWeights;
    startEpoch = saved.epoch;
  }
  const resumedFrom = startEpoch;

  try {
    for (let epoch = startEpoch; epoch < r.epochs; epoch++) {
      const te = performance.now();
      // without augmentation every variant would be the same: one, computed once
      const generation = r.augment === 'none' ? 0 : Math.floor(epoch / r.refreshEvery);
      const variant = r.augment === 'none' ? 0 : epoch % r.variants;
      const order = shuffle(dataset.size, rng);
      let sumLoss = 0;
      let sumLoc = 0;
      let sumConf = 0;
      let sumPos = 0;
      let trainMs = 0;
      let images = 0;
      for (let b = 0; b < batchesPerEpoch; b++) {
        if (signal?.aborted) throw signal.reason ?? new Error('Training aborted');
        const idx = order.slice(b * r.batch, (b + 1) * r.batch);
        const entries: CacheEntry[] = [];
        for (const i of idx) entries.push(await trainEntry(i, variant, generation));
        const ts = performance.now();
        const lr = learningRate(schedule, epoch * batchesPerEpoch + b);
        const cuts = stack(entries.map((e) => e.features));
        const targets: ImageTargets[] = entries.map((e) => e.targets);
        let parts = { loc: NaN, conf: NaN, positives: 0 };
        const { value, grads } = tf.variableGrads(() => {
          const o = model.forwardFrom(r.freeze, cuts, true);
          const l = ssdLossTf(tf, o, targets, { alpha: r.alpha, negPosRatio: r.negPosRatio });
          parts = { loc: l.values.loc, conf: l.values.conf, positives: l.numForeground };
          return l.total;
        }, vars);
        for (const c of cuts) c.dispose();
        const loss = value.dataSync()[0];
        value.dispose();
        if (!Number.isFinite(loss)) {
          for (const g of Object.values(grads)) g.dispose();
          throw new TrainingError(
            `The loss is ${loss} at epoch ${epoch + 1}, batch ${b + 1} (images: ${entries.map((e) => e.id).join(', ')}): ` +
              `training stopped, no model written (the last checkpoint is kept). Try a lower lr (now ${r.lr}) or check these images' boxes.`,
            epoch + 1,
            b + 1,
            entries.map((e) => dataset.samples[idx[entries.indexOf(e)]].image),
          );
        }
        optimizer.apply(grads as Record<string, ReturnType<Tf['zeros']>>, lr);
        for (const g of Object.values(grads)) g.dispose();
        trainMs += performance.now() - ts;
        images += idx.length;
        sumLoss += loss;
        sumLoc += parts.loc;
        sumConf += parts.conf;
        sumPos += parts.positives;
        options.onProgress?.({
          epoch: epoch + 1,
          epochs: r.epochs,
          batch: b + 1,
          batches: batchesPerEpoch,
          loss,
          loc: parts.loc,
          conf: parts.conf,
          positives: parts.positives,
          lr,
          imagesPerSecond: images / (trainMs / 1000),
        });
      }
      let ap50: number | undefined;
      let map: number | undefined;
      if (valSet) ({ ap50, map } = await validate());
      const isBest = valSet ? best === null || (Number.isFinite(ap50) && ap50! > best.ap50) : true;
      if (isBest) {
        best = { epoch: epoch + 1, ap50: ap50 ?? NaN };
        bestWeights = valSet ? model.getWeights() : null;
      }
      const report: EpochReport = {
        epoch: epoch + 1,
        epochs: r.epochs,
        loss: sumLoss / batchesPerEpoch,
        loc: sumLoc / batchesPerEpoch,
        conf: sumConf / batchesPerEpoch,
        positivesPerBatch: sumPos / batchesPerEpoch,
        ap50,
        map,
        best: isBest,
        seconds: (performance.now() - te) / 1000,
        imagesPerSecond: images / (trainMs / 1000),
        peakRssMB: peakRssMB(),
      };
      history.push(report);
      const ckpt: CheckpointData = {
        kind: 'ssd-edge-train',
        run,
        epoch: epoch + 1,
        rng: rng.state(),
        featureCacheKey,
        history,
        best,
        weights: model.getWeights(),
        bestWeights,
        optimizer: optimizer.getState(),
      };
      await writeCheckpoint(ckptFile, ckpt);
      options.onEpoch?.(report);
    }

    // --- export -----------------------------------------------------------------------------------------------
    if (valSet && bestWeights) model.setWeights(bestWeights as Record<string, { data: Float32Array; shape: number[] }>);
    const validation = valSet ? await validate() : undefined;
    const bytes = exportOnnx(model, { producer: 'ssd-edge train' });
    await writeFileAtomic(out, bytes, { ...writeRules, mkdir: true });
    if (curveFile)
      await writeFileAtomic(curveFile, renderTrainingCurve(history, { title: `Training loss (${spec.name})` }), {
        ...writeRules,
        mkdir: true,
      });
    return {
      out,
      curve: curveFile,
      checkpoint: ckptFile,
      bestEpoch: best?.epoch ?? r.epochs,
      history,
      peakRssMB: peakRssMB(),
      backend,
      seconds: (performance.now() - t0) / 1000,
      resumedFrom,
      cache: {
        entries: dataset.size * variants + valEntries,
        cached: cache.size,
        entryMB: entryBytes / 2 ** 20,
        budgetMB: r.memoryBudgetMB - reserveMB,
      },
      validation,
    };
  } finally {
    optimizer.dispose();
    model.dispose();
    await frozen?.dispose();
  }
}

/** A permutation of 0…n−1 (Fisher–Yates on the generator). */
function shuffle(n: number, rng: Rng): number[] {
  const a = [...Array(n).keys()];
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng.uniform() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

/**
 * The zoom-out fill: the model's mean pixel in RGB (the paper fills with the mean), or the ImageNet mean when the
 * model takes raw pixels (mean 0).
 */
function meanFill(input: { mean: readonly number[]; colorOrder?: string }): [number, number, number] {
  const m = input.mean;
  if (m?.length !== 3 || m.every((v) => v === 0)) return [123, 117, 104];
  const rgb = input.colorOrder === 'BGR' ? [m[2], m[1], m[0]] : [m[0], m[1], m[2]];
  return rgb.map((v) => Math.max(0, Math.min(255, Math.round(v)))) as [number, number, number];
}
