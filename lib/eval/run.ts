/**
 * A model over a dataset: `evaluateModel(detector, dataset)` runs the staged detector (lib/detector/stages.ts:
 * prepare → forward → finish) batch by batch over every sample, keeps the detections at an evaluation score
 * threshold (0.01 by default, as the usual protocols), maps the model's labels to the dataset's classes by name, then
 * scores them with the VOC and COCO metrics (./index.ts). `scoreDetections` does the scoring part alone, for saved
 * detections (`ssd-edge eval --gt … --detections …`).
 *
 * Classes are matched by name, exactly. A class of the dataset that the model lacks (`missingInModel`) and a label of
 * the model that the dataset lacks (`extraInModel`) are both reported; neither enters the means: the means are over
 * the classes the model and the dataset share (those with ground truth in the dataset; a shared class without any
 * ground-truth object gets NaN, as in the metrics). So a face model run over a dataset of faces and cats reports its
 * face AP as `ap50` and lists `cat` as missing, instead of averaging in a zero it could never have avoided.
 */
import {
  assertInRange,
  assertInteger,
  assertKnownKeys,
  assertObject,
  invalidParameterError,
  outOfRangeError,
} from '../is.ts';
import fs from 'node:fs';
import type { Dataset, Sample } from '../data/index.ts';
import { truncation } from '../data/images.ts';
import { ImageDecodeError } from '../image/decode.ts';
import type { Detector } from '../detector/detector.ts';
import { finish, forward, prepare, type PreparedInput } from '../detector/stages.ts';
import { evaluateCoco, evaluateVoc } from './index.ts';
import { setOwn } from './inputs.ts';
import type { CocoOptions, CocoResult, DetectionImage, GroundTruthImage, VocOptions, VocResult } from './types.ts';

/** Score threshold of evaluation runs (detections with score > 0.01 are kept, as torchvision's and the VOC protocol's). */
export const EVAL_SCORE_THRESHOLD = 0.01;
/** Images per forward pass when the model's batch is dynamic and no `batchSize` is given. */
export const EVAL_BATCH_SIZE = 8;

/** Options of {@link evaluateModel}. */
export interface EvaluateModelOptions {
  /** Images per forward pass (default: the model's fixed batch, else {@link EVAL_BATCH_SIZE}). */
  batchSize?: number;
  /** Keep detections with score > this, in [0, 1] (default {@link EVAL_SCORE_THRESHOLD}). */
  scoreThreshold?: number;
  /** NMS IoU threshold of the detector, in [0, 1] (default: the model's). Not the matching IoU: see `voc.iouThreshold`. */
  iouThreshold?: number;
  /** At most this many detections per image (default: the model's `detectionsPerImg`; COCO scores the best 100). */
  maxDetections?: number;
  /** VOC options: `use07Metric` (11-point), `iouThreshold` (matching IoU, default 0.5), `pixelOffset`. */
  voc?: Omit<VocOptions, 'classes'>;
  /** COCO options passed to `evaluateCoco` (`maxDets`, `iouThresholds`). */
  coco?: Omit<CocoOptions, 'classes'>;
  /** Called after each batch with the images done so far and the total. */
  onProgress?: (done: number, total: number) => void;
}

/** The keys of {@link EvaluateModelOptions}. */
export const EVALUATE_MODEL_OPTION_KEYS = [
  'batchSize',
  'scoreThreshold',
  'iouThreshold',
  'maxDetections',
  'voc',
  'coco',
  'onProgress',
] as const satisfies ReadonlyArray<keyof EvaluateModelOptions>;

/** One class's numbers. */
export interface ClassEvaluation {
  /** VOC AP at the matching IoU (0.5 by default; all-point, or 11-point with `use07Metric`). NaN without ground truth. */
  ap50: number;
  /** COCO AP@[.5:.95]. NaN without ground truth. */
  map: number;
  /** COCO AP at IoU 0.75. */
  ap75: number;
  /** Ground-truth objects counted by VOC (difficult ones excluded). */
  npos: number;
}

/** What {@link scoreDetections} returns. */
export interface Evaluation {
  /** Mean VOC AP at the matching IoU over the evaluated classes with ground truth. */
  ap50: number;
  /** COCO mAP@[.5:.95]. */
  map: number;
  /** COCO AP at IoU 0.75. */
  ap75: number;
  /** Per evaluated class, in `classes` order. */
  perClass: Record<string, ClassEvaluation>;
  /** The classes scored. */
  classes: string[];
  /** Images scored. */
  images: number;
  /** The full VOC result (per-class AP and precision–recall curves, for plots). */
  voc: VocResult;
  /** The full COCO result (the 12 numbers, overall and per class). */
  coco: CocoResult;
  /** Milliseconds computing the metrics. */
  metricsMs: number;
}

/** What {@link evaluateModel} returns. */
export interface ModelEvaluation extends Evaluation {
  /** Wall-clock seconds of the whole evaluation (detection and metrics). */
  seconds: number;
  /** `images / seconds`. */
  imagesPerSecond: number;
  /** Classes of the dataset the model has no label for (sorted; their objects are not scored). */
  missingInModel: string[];
  /** Labels of the model (background excluded) that are not classes of the dataset (sorted; their detections are not scored). */
  extraInModel: string[];
  /** Milliseconds in each stage, summed over the batches. */
  timings: { decode: number; preprocess: number; forward: number; postprocess: number; metrics: number };
  /** The ground truth as scored (sample ids as `image`, evaluated classes only). */
  groundTruth: GroundTruthImage[];
  /** The detections as scored (sample ids as `image`, evaluated classes only, score > scoreThreshold). */
  detections: DetectionImage[];
  /** Options in effect: the batch size, thresholds and cap. */
  settings: { batchSize: number; scoreThreshold: number; iouThreshold: number; maxDetections: number };
}

/** The model's batch size when its input has a fixed batch dimension, else null (as the Detector decides). */
function fixedBatchOf(detector: Detector): number | null {
  const { spec } = detector;
  const input = detector.session.inputMetadata.find((m) => m.name === spec.input.name);
  const b = input?.shape?.[0];
  return spec.input.dynamicBatch || typeof b !== 'number' ? null : b;
}

/** The ground truth of one sample as the metrics take it (only boxes of `keep` classes). */
export function sampleGroundTruth(
  sample: Sample,
  classes: readonly string[],
  keep?: ReadonlySet<string>,
): GroundTruthImage {
  const boxes: GroundTruthImage['boxes'] = [];
  for (let i = 0; i < sample.labels.length; i++) {
    const label = classes[sample.labels[i]];
    if (keep && !keep.has(label)) continue;
    const b = sample.boxes;
    const box: GroundTruthImage['boxes'][number] = { label, box: [b[4 * i], b[4 * i + 1], b[4 * i + 2], b[4 * i + 3]] };
    if (sample.difficult?.[i]) box.difficult = true;
    if (sample.iscrowd?.[i]) box.iscrowd = true;
    if (sample.area) box.area = sample.area[i]; // COCO's annotation area decides small/medium/large
    boxes.push(box);
  }
  return { image: sample.id, width: sample.width, height: sample.height, boxes };
}

function checkOptions(options: unknown): asserts options is EvaluateModelOptions {
  assertObject('options', options);
  assertKnownKeys('options', options, EVALUATE_MODEL_OPTION_KEYS);
  const o = options as EvaluateModelOptions;
  if (o.batchSize !== undefined) assertInteger('batchSize', o.batchSize, 1);
  if (o.scoreThreshold !== undefined) assertInRange('scoreThreshold', o.scoreThreshold, 0, 1);
  if (o.iouThreshold !== undefined) assertInRange('iouThreshold', o.iouThreshold, 0, 1);
  if (o.maxDetections !== undefined) assertInteger('maxDetections', o.maxDetections, 1, true);
  if (o.voc !== undefined) assertObject('voc', o.voc);
  if (o.coco !== undefined) assertObject('coco', o.coco);
  if (o.onProgress !== undefined && typeof o.onProgress !== 'function')
    throw invalidParameterError('onProgress', 'function (done, total)', o.onProgress);
}

/**
 * Scores detections against ground truth with both metrics: VOC AP (per class, mean = `ap50`) and COCO (`map` =
 * AP@[.5:.95], `ap75`). Every label of the ground truth and the detections is a class (one without ground truth gets
 * NaN and stays out of the means); `classes` puts these first, in this order.
 *
 * @param groundTruth One entry per image (`image` ids must be unique).
 * @param detections One entry per image with detections; `image` ids must be ground-truth images.
 * @throws {TypeError} Whatever the metrics reject (e.g. a detection image absent from the ground truth).
 * @example
 * const e = scoreDetections(await readGroundTruthFile('gt.json'), await readDetectionsFile('dets.json'));
 * e.ap50; e.perClass.face.map;
 */
export function scoreDetections(
  groundTruth: GroundTruthImage[],
  detections: DetectionImage[],
  options: { voc?: VocOptions; coco?: CocoOptions; classes?: string[] } = {},
): Evaluation {
  const t = performance.now();
  const classes0 = options.classes ? { classes: options.classes } : {};
  const voc = evaluateVoc(groundTruth, detections, { ...options.voc, ...classes0 });
  const coco = evaluateCoco(groundTruth, detections, { ...options.coco, ...classes0 });
  const metricsMs = performance.now() - t;
  const classes = [...voc.classes];
  for (const c of coco.classes) if (!classes.includes(c)) classes.push(c);
  const perClass: Record<string, ClassEvaluation> = {};
  for (const name of classes) {
    const own = <T>(r: Record<string, T>): T | undefined => (Object.hasOwn(r, name) ? r[name] : undefined);
    const c = own(coco.perClass);
    setOwn(perClass, name, {
      ap50: own(voc.ap) ?? NaN,
      map: c ? c.AP : NaN,
      ap75: c ? c.AP75 : NaN,
      npos: own(voc.curves)?.npos ?? 0,
    });
  }
  return {
    ap50: voc.map,
    map: coco.AP,
    ap75: coco.AP75,
    perClass,
    classes,
    images: groundTruth.length,
    voc,
    coco,
    metricsMs,
  };
}

/**
 * Runs a detector over every sample of a dataset and scores its detections (VOC AP and COCO mAP).
 *
 * The images go through the detector's stages in batches of `batchSize` (the model's fixed batch when it has one);
 * the next batch is decoded and preprocessed while the current one runs through the network. Detections are kept
 * at score > `scoreThreshold` (0.01), their labels matched to the dataset's classes by name.
 *
 * @param detector A loaded {@link Detector} (its session, spec and anchors are used; its per-call defaults are not).
 * @param dataset A dataset from `openDataset` (its samples' images are read here; boxes in source pixels, xyxy).
 * @param options {@link EvaluateModelOptions}.
 * @returns {@link ModelEvaluation}: `ap50`, `map`, `ap75`, `perClass`, `images`, `seconds`, `imagesPerSecond`,
 *   `missingInModel`, `extraInModel`, the full `voc` and `coco` results and the detections scored.
 * @throws {TypeError|RangeError} Invalid or unknown options; a batch size the model's fixed batch cannot take.
 * @throws {ImageDecodeError} An image that cannot be read or decoded.
 * @throws {Error} An image whose decoded size differs from its annotation (boxes would not line up).
 * @example
 * const detector = await Detector.load();
 * const dataset = await openDataset('faces/faces.jsonl'); // or a VOC folder, a COCO instances JSON
 * const r = await evaluateModel(detector, dataset, { onProgress: (done, total) => console.log(done, total) });
 * console.log(r.ap50, r.map, r.perClass.face, r.missingInModel);
 */
export async function evaluateModel(
  detector: Detector,
  dataset: Dataset,
  options: EvaluateModelOptions = {},
): Promise<ModelEvaluation> {
  const t0 = performance.now();
  if (!detector || typeof detector !== 'object' || !('spec' in detector) || !('session' in detector))
    throw invalidParameterError('detector', 'a Detector (Detector.load)', detector);
  if (!dataset || typeof dataset !== 'object' || !Array.isArray(dataset.samples) || !Array.isArray(dataset.classes))
    throw invalidParameterError('dataset', 'a Dataset (openDataset)', dataset);
  checkOptions(options);
  const { spec, anchors, session } = detector;
  const fixed = fixedBatchOf(detector);
  const batchSize = options.batchSize ?? fixed ?? EVAL_BATCH_SIZE;
  if (fixed !== null && batchSize > fixed)
    throw outOfRangeError('batchSize', `at most ${fixed} (the model's fixed batch)`, batchSize);
  const settings = {
    batchSize,
    scoreThreshold: options.scoreThreshold ?? EVAL_SCORE_THRESHOLD,
    iouThreshold: options.iouThreshold ?? spec.postprocess.nmsThresh,
    maxDetections: options.maxDetections ?? spec.postprocess.detectionsPerImg,
  };

  // Classes by name: the model's labels (background excluded) against the dataset's.
  const labels = spec.labels.filter((_, i) => i !== spec.postprocess.backgroundIndex);
  const modelLabels = new Set(labels);
  const dataClasses = new Set(dataset.classes);
  const shared = new Set(dataset.classes.filter((c) => modelLabels.has(c)));
  const missingInModel = dataset.classes.filter((c) => !modelLabels.has(c)).sort();
  const extraInModel = [...new Set(labels.filter((l) => !dataClasses.has(l)))].sort();
  // Only shared classes come out of finish (its class filter applies the cap after filtering), so detections of
  // labels the dataset lacks neither reach the metrics nor take places under the per-image cap.
  const classFilter = new Set(
    spec.labels.flatMap((l, i) => (shared.has(l) && i !== spec.postprocess.backgroundIndex ? [i] : [])),
  );

  const samples = dataset.samples;
  const total = samples.length;
  const tensorBatch = fixed ?? batchSize;
  const per = 3 * spec.input.width * spec.input.height;
  // Two input buffers: the next batch is prepared into one while the network reads the other.
  const buffers = [new Float32Array(per * tensorBatch), new Float32Array(per * tensorBatch)];
  const timings = { decode: 0, preprocess: 0, forward: 0, postprocess: 0, metrics: 0 };
  const groundTruth: GroundTruthImage[] = samples.map((s) => sampleGroundTruth(s, dataset.classes, shared));
  const detections: DetectionImage[] = [];

  const prepareBatch = async (start: number, k: number): Promise<PreparedInput> => {
    const group = samples.slice(start, start + batchSize);
    // The decoder fills a cut-short JPEG/PNG with grey and goes on: such an image would be scored silently (its
    // objects missed). Its structure is checked first (the read is cached for the decode that follows).
    await Promise.all(
      group.map(async (s) => {
        const why = truncation(await fs.promises.readFile(s.image));
        if (why)
          throw new ImageDecodeError(
            `Cannot decode ${s.image} (${s.id}): ${why}; \`ssd-edge data check\` finds every such image`,
          );
      }),
    );
    return prepare(
      group.map((s) => s.image),
      spec.input,
      { batch: fixed ?? group.length, out: buffers[k % 2] },
    );
  };
  let next: Promise<PreparedInput> | null = total > 0 ? prepareBatch(0, 0) : null;
  for (let start = 0, k = 0; start < total; start += batchSize, k++) {
    const prepared = await next!;
    next = start + batchSize < total ? prepareBatch(start + batchSize, k + 1) : null;
    // A failure preparing the next batch surfaces when it is awaited, not as an unhandled rejection meanwhile.
    next?.catch(() => {});
    const group = samples.slice(start, start + batchSize);
    group.forEach((s, i) => {
      const { width, height } = prepared.sizes[i];
      if (width !== s.width || height !== s.height) {
        throw new Error(
          `Image ${s.image} (${s.id}) decodes to ${width}×${height} but its annotation says ${s.width}×${s.height}: its boxes would not line up`,
        );
      }
    });
    const output = await forward(session, spec, prepared.input);
    const t = performance.now();
    const dets = await finish(output, spec, anchors, prepared.transforms, {
      scoreThreshold: settings.scoreThreshold,
      iouThreshold: settings.iouThreshold,
      maxDetections: settings.maxDetections,
      classFilter,
    });
    timings.postprocess += performance.now() - t;
    timings.decode += prepared.timings.decode;
    timings.preprocess += prepared.timings.preprocess;
    timings.forward += output.ms;
    group.forEach((s, i) => {
      detections.push({
        image: s.id,
        detections: dets[i].map((d) => ({
          label: d.label,
          score: d.score,
          box: [d.box.x1, d.box.y1, d.box.x2, d.box.y2],
        })),
      });
    });
    options.onProgress?.(Math.min(total, start + batchSize), total);
  }

  const scored = scoreDetections(groundTruth, detections, {
    voc: options.voc,
    coco: options.coco,
    classes: dataset.classes.filter((c) => shared.has(c)),
  });
  timings.metrics = scored.metricsMs;
  // Shared classes, in the dataset's order (also those neither side has an object of).
  const perClass: Record<string, ClassEvaluation> = {};
  for (const name of dataset.classes) {
    if (!shared.has(name)) continue;
    const c = Object.hasOwn(scored.perClass, name) ? scored.perClass[name] : undefined;
    setOwn(perClass, name, c ?? { ap50: NaN, map: NaN, ap75: NaN, npos: 0 });
  }
  const seconds = (performance.now() - t0) / 1000;
  return {
    ...scored,
    perClass,
    classes: Object.keys(perClass),
    images: total,
    seconds,
    imagesPerSecond: total / seconds,
    missingInModel,
    extraInModel,
    timings,
    groundTruth,
    detections,
    settings,
  };
}
