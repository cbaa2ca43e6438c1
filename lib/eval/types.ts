/**
 * The shapes that the evaluation API takes and returns (issue 7, "Evaluation"). Boxes are xyxy in source-image
 * pixels, continuous coordinates (a box [0, 0, 10, 10] is 10 px wide); VOC's old +1 convention is an option.
 */

/** A box [x1, y1, x2, y2], x1 ≤ x2, y1 ≤ y2, source-image pixels. */
export type XYXY = [number, number, number, number];

/** One ground-truth object. */
export interface GroundTruthBox {
  label: string;
  box: XYXY;
  /** VOC "difficult": neither a true nor a false positive (COCO: an ignored region, like a box outside the area range). */
  difficult?: boolean;
  /** COCO crowd region: IoU = intersection / detection area, never consumed, detections on it ignored (VOC: as difficult). */
  iscrowd?: boolean;
  /** COCO area (the segmentation's); the box area when absent. Decides the small/medium/large range. */
  area?: number;
  /** The COCO category id, when read from a COCO instances JSON (maps a COCO results file's `category_id`). */
  categoryId?: number;
}

/** The ground truth of one image; `image` is its key (detections are matched to it by this string). */
export interface GroundTruthImage {
  image: string;
  width?: number;
  height?: number;
  /** The COCO image id, when read from a COCO instances JSON (maps a COCO results file's `image_id`). */
  id?: number;
  boxes: GroundTruthBox[];
}

/**
 * Ground truth as `readGroundTruthFile` returns it: the images, plus (from a COCO instances JSON) every category, so
 * that a COCO results file's `category_id` maps to its name even for a category without annotations.
 */
export type GroundTruthList = GroundTruthImage[] & {
  categories?: Array<{ id: number; name: string }>;
  /**
   * The folder the images' paths are relative to (`readGroundTruthFile`: the file's folder, as the JSONL dataset
   * format says), so that a `detect --json` file path matches its image even when base names repeat.
   */
  baseDir?: string;
};

/** A detection box: [x1, y1, x2, y2] or the Detector's `{ x1, y1, x2, y2 }`. */
export type DetectionBox = XYXY | { x1: number; y1: number; x2: number; y2: number };

/** The detections of one image (any order; ties in score keep this order). */
export interface DetectionImage {
  image: string;
  detections: Array<{ label: string; score: number; box: DetectionBox }>;
}

/** COCO instances JSON (the fields used; others are ignored). */
export interface CocoGroundTruthJson {
  images: Array<{ id: number; file_name?: string; width?: number; height?: number }>;
  annotations: Array<{
    id?: number;
    image_id: number;
    category_id: number;
    bbox: [number, number, number, number];
    area?: number;
    iscrowd?: 0 | 1 | boolean;
  }>;
  categories: Array<{ id: number; name: string }>;
}

/** A COCO results list (bbox xywh). */
export type CocoResultsJson = Array<{
  image_id: number;
  category_id: number;
  bbox: [number, number, number, number];
  score: number;
}>;

/** The output of `ssd-edge detect --json` (or the objects of `--jsonl`). */
export type DetectJsonOutput = Array<{
  file: string;
  width?: number;
  height?: number;
  detections: Array<{
    label: string;
    classId?: number;
    score: number;
    box: { x1: number; y1: number; x2: number; y2: number };
  }>;
  annotated?: string;
}>;

/** Ground truth in any accepted form. */
export type GroundTruthInput = GroundTruthList | CocoGroundTruthJson;
/** Detections in any accepted form. */
export type DetectionsInput = DetectionImage[] | CocoResultsJson | DetectJsonOutput;

export interface VocOptions {
  /** VOC2007 11-point interpolated AP (default false: all-point, VOC2010+). */
  use07Metric?: boolean;
  /** A detection matches when IoU ≥ this (default 0.5). */
  iouThreshold?: number;
  /** 0 = continuous coordinates (default); 1 = the old devkit's +1 in widths and heights. */
  pixelOffset?: 0 | 1;
  /** Class order of the result: these first, then any other label found (sorted). */
  classes?: string[];
}

/** One class's precision–recall curve: one point per detection, by decreasing score. */
export interface ClassCurve {
  recall: Float64Array;
  precision: Float64Array;
  scores: Float64Array;
  /** Ground-truth objects that count (not difficult). */
  npos: number;
  /** Detections of the class. */
  ndet: number;
}

export interface VocResult {
  /** Mean AP over the classes with ground truth (npos > 0). NaN when none has. */
  map: number;
  /** AP per class; NaN for a class without (non-difficult) ground truth. */
  ap: Record<string, number>;
  curves: Record<string, ClassCurve>;
  classes: string[];
}

export interface CocoMetrics {
  AP: number;
  AP50: number;
  AP75: number;
  APs: number;
  APm: number;
  APl: number;
  AR1: number;
  AR10: number;
  AR100: number;
  ARs: number;
  ARm: number;
  ARl: number;
}

export interface CocoOptions {
  /** Detections per image for AR1/AR10/AR100 (default [1, 10, 100], ascending); AP uses the last. */
  maxDets?: [number, number, number];
  /** IoU thresholds (default .50:.05:.95 as numpy.linspace makes them); AP50/AP75 are NaN if 0.5/0.75 are absent. */
  iouThresholds?: number[];
  /** Class order of the result: these first, then any other label found (sorted). */
  classes?: string[];
}

/** pycocotools' accumulated arrays (`COCOeval.eval`), -1 where undefined, for plots and tables. */
export interface CocoAccumulated {
  iouThresholds: Float64Array;
  recallThresholds: Float64Array;
  maxDets: [number, number, number];
  areaRanges: Array<{ name: 'all' | 'small' | 'medium' | 'large'; range: [number, number] }>;
  /** [T, R, K, A, M] row-major (T IoU thresholds, R recall thresholds, K classes, A area ranges, M maxDets). */
  precision: Float64Array;
  /** [T, K, A, M]. */
  recall: Float64Array;
  /** [T, R, K, A, M]: the score at each precision point. */
  scores: Float64Array;
}

export interface CocoResult extends CocoMetrics {
  /** Per class; all NaN for a class without ground truth. */
  perClass: Record<string, CocoMetrics>;
  classes: string[];
  accumulated: CocoAccumulated;
}
