/**
 * The accuracy gate of `model quantize --eval`: the float and the int8 model evaluated on the same labelled set by
 * lib/eval (`evaluateModel`: VOC AP50 and COCO mAP), and the points int8 loses. A loss above the threshold is a
 * warning (the caller decides what to do with it), never a silent pass.
 */
import { assertFiniteNumber, assertKnownKeys, assertObject } from '../../is.ts';
import { Detector } from '../../detector/detector.ts';
import { openDataset, type OpenDatasetOptions } from '../../data/index.ts';
import { evaluateModel } from '../../eval/run.ts';

/** Default largest AP50 / mAP loss in points (percentage points, 0..100) before a warning. */
export const DEFAULT_MAX_LOSS_POINTS = 1;

export interface AccuracyGateOptions {
  /** Largest loss in points (AP × 100) of AP50 and of mAP before `warnings` says so (default 1). */
  maxLossPoints?: number;
  /** Dataset options (split, format…) for `openDataset`. */
  dataset?: OpenDatasetOptions;
  /** Intra-op threads of the two sessions. */
  threads?: number;
}

export interface ModelScores {
  ap50: number;
  map: number;
  /** Forward milliseconds summed over the set. */
  forwardMs: number;
}

export interface AccuracyGate {
  images: number;
  float: ModelScores;
  int8: ModelScores;
  /** float − int8, in points (AP × 100); positive = int8 is worse. */
  lossPoints: { ap50: number; map: number };
  maxLossPoints: number;
  /** One line per metric that lost more than `maxLossPoints` (empty when int8 passes). */
  warnings: string[];
}

async function scores(model: string, data: string, options: AccuracyGateOptions): Promise<[ModelScores, number]> {
  const detector = await Detector.load(model, {
    device: 'cpu',
    ...(options.threads ? { threads: options.threads } : {}),
  });
  try {
    const dataset = await openDataset(data, { boxPolicy: 'error', ...options.dataset });
    const r = await evaluateModel(detector, dataset);
    return [{ ap50: r.ap50, map: r.map, forwardMs: r.timings.forward }, r.images];
  } finally {
    await detector.dispose();
  }
}

/**
 * Evaluates both models on `data` and compares them.
 *
 * @param floatModel Path of the float model.
 * @param int8Model Path of its quantized copy.
 * @param data A labelled set `openDataset` reads (VOC folder, COCO .json, .jsonl).
 * @example
 * const g = await accuracyGate('face.onnx', 'face.int8.onnx', 'faces.jsonl');
 * g.lossPoints.ap50; // 0.3
 */
export async function accuracyGate(
  floatModel: string,
  int8Model: string,
  data: string,
  options: AccuracyGateOptions = {},
): Promise<AccuracyGate> {
  assertObject('options', options as unknown);
  assertKnownKeys('options', options, ['maxLossPoints', 'dataset', 'threads']);
  const maxLossPoints = options.maxLossPoints ?? DEFAULT_MAX_LOSS_POINTS;
  assertFiniteNumber('maxLossPoints', maxLossPoints);
  const [f, images] = await scores(floatModel, data, options);
  const [q] = await scores(int8Model, data, options);
  const { lossPoints, warnings } = compareScores(f, q, maxLossPoints);
  return { images, float: f, int8: q, lossPoints, maxLossPoints, warnings };
}

/**
 * The loss in points (float − int8, × 100) of AP50 and mAP, and a warning per metric that lost more than
 * `maxLossPoints`. The comparison allows 1e-9 points of floating-point noise: 100 × (0.5731 − 0.5631) is
 * 1.0000000000000009, which is a loss of exactly 1 point, not more.
 *
 * @example
 * compareScores({ ap50: 0.9, map: 0.5731 }, { ap50: 0.9, map: 0.5631 }, 1).warnings; // []
 */
export function compareScores(
  f: Pick<ModelScores, 'ap50' | 'map'>,
  q: Pick<ModelScores, 'ap50' | 'map'>,
  maxLossPoints: number,
): { lossPoints: { ap50: number; map: number }; warnings: string[] } {
  const lossPoints = { ap50: 100 * (f.ap50 - q.ap50), map: 100 * (f.map - q.map) };
  const warnings: string[] = [];
  for (const k of ['ap50', 'map'] as const) {
    if (!(lossPoints[k] <= maxLossPoints + 1e-9)) {
      warnings.push(
        `int8 loses ${lossPoints[k].toFixed(2)} points of ${k === 'ap50' ? 'AP50' : 'mAP'} (float ${(100 * f[k]).toFixed(2)}, int8 ${(100 * q[k]).toFixed(2)}; threshold ${maxLossPoints})`,
      );
    }
  }
  return { lossPoints, warnings };
}
