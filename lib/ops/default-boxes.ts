/**
 * Default boxes (priors, anchors) of SSD from a declarative spec: torchvision `DefaultBoxGenerator`,
 * the SSD paper, Caffe SSD and TF Object Detection `create_ssd_anchors` are all presets of one generator.
 */
import { binding } from '../binding.ts';
import {
  assertArray,
  assertBoolean,
  assertFiniteNumber,
  assertInteger,
  assertKnownKeys,
  assertPositive,
  assertObject,
  assertOneOf,
  invalidParameterError,
  object,
  outOfRangeError,
} from '../is.ts';

/** One feature map (pyramid level). */
export interface FeatureMapSpec {
  /** Feature-map rows, cols (square if a number); positive integers. */
  size: number | [number, number];
  /** Input pixels between neighbouring centres (y, x); default: input size / map size. */
  step?: number | [number, number];
  /** Centre offset in cells; default 0.5. */
  offset?: number;
  /** s_k, fraction of the input side; required unless `boxes` is given. */
  scale?: number;
  /** s_{k+1}; required when `extraBox` is true. */
  nextScale?: number;
  /** Aspect ratios in emission order, e.g. [1, 2, 1/2, 3, 1/3]; w = s·√a, h = s/√a. Required unless `boxes` is given. */
  aspectRatios?: number[];
  /** Adds a box of scale √(s_k·s_{k+1}) at ratio 1, emitted right after the FIRST ratio; default false. */
  extraBox?: boolean;
  /** Explicit shapes in emission order; when given, replaces scale / aspectRatios / extraBox. */
  boxes?: Array<{ scale: number; aspectRatio: number }>;
}

/** A whole default-box configuration. */
export interface DefaultBoxSpec {
  /** Network input (H, W) in pixels (square if a number); positive integers. */
  inputSize: number | [number, number];
  featureMaps: FeatureMapSpec[];
  /** 'none' (default); 'wh': clamp w, h to [0, 1] (torchvision clip=True); 'xyxy': clip the box to [0, 1], back to cxcywh (Caffe). */
  clip?: 'none' | 'wh' | 'xyxy';
}

/** What the native `defaultBoxes` takes: the spec flattened to numbers. */
export interface ExpandedDefaultBoxSpec {
  inputH: number;
  inputW: number;
  /** 0 = none, 1 = wh, 2 = xyxy. */
  clipMode: 0 | 1 | 2;
  /** Float64Array [L·6]: per level (rows, cols, stepY, stepX, offset, numShapes), steps in input pixels. */
  levels: Float64Array;
  /** Float64Array [S·2]: (w, h) normalized, level after level in emission order, before clipping. */
  shapes: Float64Array;
}

const CLIP_MODES = ['none', 'wh', 'xyxy'] as const;

/** The keys a spec, a feature map and an explicit box shape may have (any other key is rejected). */
const SPEC_KEYS: readonly (keyof DefaultBoxSpec)[] = ['inputSize', 'featureMaps', 'clip'];
const MAP_KEYS: readonly (keyof FeatureMapSpec)[] = [
  'size',
  'step',
  'offset',
  'scale',
  'nextScale',
  'aspectRatios',
  'extraBox',
  'boxes',
];
const SHAPE_KEYS = ['scale', 'aspectRatio'] as const;

/** Ratios [1, 2, 1/2] or [1, 2, 1/2, 3, 1/3] from torchvision's [2] / [2, 3]. */
const RATIOS_4 = [1, 2, 1 / 2];
const RATIOS_6 = [1, 2, 1 / 2, 3, 1 / 3];

/** Maps of a 300-pixel SSD with a given scale list (length maps + 1) and per-map ratio lists. */
function ssd300Maps(scales: number[], steps: number[] | null, ratios: number[][]): FeatureMapSpec[] {
  return [38, 19, 10, 5, 3, 1].map((size, k) => ({
    size,
    ...(steps ? { step: steps[k] } : {}),
    scale: scales[k],
    nextScale: scales[k + 1],
    aspectRatios: ratios[k],
    extraBox: true,
  }));
}

const SSD300_RATIOS = [RATIOS_4, RATIOS_6, RATIOS_6, RATIOS_6, RATIOS_4, RATIOS_4];
const CAFFE_MIN = [30, 60, 111, 162, 213, 264, 315];
const LITE_SCALES = [0.2, 0.35, 0.5, 0.65, 0.8, 0.95, 1.0];
const TF_SCALES = [0, 1, 2, 3, 4, 5].map((k) => 0.2 + 0.15 * k).concat(1.0);

export type DefaultBoxPresetName =
  | 'ssd300-paper'
  | 'ssd300-caffe'
  | 'torchvision-ssd300-vgg16'
  | 'torchvision-ssdlite320'
  | 'tf-ssd-mobilenetv1-512';

/**
 * The built-in configurations, by the names `defaultBoxes` accepts:
 * - `ssd300-paper` (8732): s_k = 0.2 + 0.7·(k−1)/5, s_7 = 1.04, steps 300/size, clip none.
 * - `ssd300-caffe` (8732): min sizes 30…264, max 60…315 (/300), steps 8, 16, 32, 64, 100, 300, clip none.
 * - `torchvision-ssd300-vgg16` (8732): scales 0.07…1.05, steps 8…300, clip wh.
 * - `torchvision-ssdlite320` (3234): scales 0.2…0.95, 1.0, maps 20…1 on 320, clip wh.
 * - `tf-ssd-mobilenetv1-512` (5118): face-api / TF-OD `create_ssd_anchors`, maps 32…1 on 512, clip none.
 */
export const DEFAULT_BOX_PRESETS: Readonly<Record<DefaultBoxPresetName, DefaultBoxSpec>> = Object.freeze({
  'ssd300-paper': {
    inputSize: 300,
    featureMaps: ssd300Maps(
      [0, 1, 2, 3, 4, 5, 6].map((k) => 0.2 + (0.7 * k) / 5),
      null,
      SSD300_RATIOS,
    ),
    clip: 'none',
  },
  'ssd300-caffe': {
    inputSize: 300,
    featureMaps: ssd300Maps(
      CAFFE_MIN.map((m) => m / 300),
      [8, 16, 32, 64, 100, 300],
      SSD300_RATIOS,
    ),
    clip: 'none',
  },
  'torchvision-ssd300-vgg16': {
    inputSize: 300,
    featureMaps: ssd300Maps([0.07, 0.15, 0.33, 0.51, 0.69, 0.87, 1.05], [8, 16, 32, 64, 100, 300], SSD300_RATIOS),
    clip: 'wh',
  },
  'torchvision-ssdlite320': {
    inputSize: 320,
    featureMaps: [20, 10, 5, 3, 2, 1].map((size, k) => ({
      size,
      scale: LITE_SCALES[k],
      nextScale: LITE_SCALES[k + 1],
      aspectRatios: RATIOS_6,
      extraBox: true,
    })),
    clip: 'wh',
  },
  'tf-ssd-mobilenetv1-512': {
    inputSize: 512,
    featureMaps: [
      {
        size: 32,
        boxes: [
          { scale: 0.1, aspectRatio: 1 },
          { scale: 0.2, aspectRatio: 2 },
          { scale: 0.2, aspectRatio: 0.5 },
        ],
      },
      ...[16, 8, 4, 2, 1].map((size, i) => ({
        size,
        scale: TF_SCALES[i + 1],
        nextScale: TF_SCALES[i + 2],
        aspectRatios: [1, 2, 0.5, 3, 0.3333],
        extraBox: true,
      })),
    ],
    clip: 'none',
  },
});
const PRESET_NAMES = Object.keys(DEFAULT_BOX_PRESETS) as DefaultBoxPresetName[];

/** A number or a [y, x] pair of numbers, each checked by `check`. */
function pair(name: string, value: unknown, check: (name: string, v: unknown) => void): [number, number] {
  if (Array.isArray(value)) {
    if (value.length !== 2) throw invalidParameterError(name, 'number or [number, number]', value);
    check(`${name}[0]`, value[0]);
    check(`${name}[1]`, value[1]);
    return [value[0], value[1]];
  }
  check(name, value);
  return [value as number, value as number];
}

/** Limits shared with the addon: a map side ≤ 10^6 cells, < 2^29 boxes (the result is one typed array). */
const MAX_MAP_SIDE = 1_000_000;
const MAX_BOXES = 2 ** 29 - 1;

function mapSide(name: string, value: unknown): asserts value is number {
  positiveInteger(name, value);
  if ((value as number) > MAX_MAP_SIDE) throw outOfRangeError(name, `integer in [1, ${MAX_MAP_SIDE}]`, value);
}

function positive(name: string, value: unknown): asserts value is number {
  assertPositive(name, value, true);
}
function positiveInteger(name: string, value: unknown): asserts value is number {
  assertInteger(name, value, 1);
}

/** The (w, h) pairs of one feature map, in emission order, float64. */
function mapShapes(name: string, map: Record<string, unknown>): number[] {
  const shape = (scale: number, ratio: number) => [scale * Math.sqrt(ratio), scale / Math.sqrt(ratio)];
  if (map.boxes !== undefined) {
    assertArray(`${name}.boxes`, map.boxes);
    return map.boxes.flatMap((box, b) => {
      assertObject(`${name}.boxes[${b}]`, box);
      assertKnownKeys(`${name}.boxes[${b}]`, box, SHAPE_KEYS);
      positive(`${name}.boxes[${b}].scale`, box.scale);
      positive(`${name}.boxes[${b}].aspectRatio`, box.aspectRatio);
      return shape(box.scale, box.aspectRatio);
    });
  }
  positive(`${name}.scale`, map.scale);
  assertArray(`${name}.aspectRatios`, map.aspectRatios);
  const scale = map.scale;
  const shapes = map.aspectRatios.flatMap((ratio, r) => {
    positive(`${name}.aspectRatios[${r}]`, ratio);
    return shape(scale, ratio);
  });
  const extraBox = map.extraBox ?? false;
  assertBoolean(`${name}.extraBox`, extraBox);
  if (extraBox) {
    positive(`${name}.nextScale`, map.nextScale);
    const s = Math.sqrt(scale * map.nextScale);
    shapes.splice(2, 0, s, s);
  }
  return shapes;
}

/**
 * Validates a spec and flattens it into the numeric form both implementations consume: per level
 * (rows, cols, stepY, stepX, offset, numShapes) and the (w, h) pairs computed in float64
 * (w = s·√a, h = s/√a; extra box √(s_k·s_{k+1}) after the first ratio). Clipping is not applied here.
 *
 * @param spec A {@link DefaultBoxSpec}.
 * @returns `{ inputH, inputW, clipMode (0 none, 1 wh, 2 xyxy), levels: Float64Array [L·6], shapes: Float64Array [S·2] }`.
 * @throws {TypeError} A field has the wrong type (message names it, e.g. `featureMaps[2].aspectRatios`), or an
 *   object has a key the spec does not define (`Unknown key 'ratios' in featureMaps[0]: expected one of …`).
 * @throws {RangeError} A size is not a positive integer, a scale/ratio/step is not > 0, the offset is not finite.
 * @example
 * expandDefaultBoxSpec({ inputSize: 300, featureMaps: [{ size: 1, scale: 0.5, aspectRatios: [1] }] });
 * // { inputH: 300, inputW: 300, clipMode: 0, levels: [1, 1, 300, 300, 0.5, 1], shapes: [0.5, 0.5] }
 */
export function expandDefaultBoxSpec(spec: DefaultBoxSpec): ExpandedDefaultBoxSpec {
  assertObject('spec', spec);
  assertKnownKeys('spec', spec, SPEC_KEYS);
  const [inputH, inputW] = pair('inputSize', spec.inputSize, positiveInteger);
  const clip = spec.clip ?? 'none';
  assertOneOf('clip', clip, CLIP_MODES);
  assertArray('featureMaps', spec.featureMaps);
  const levels = new Float64Array(6 * spec.featureMaps.length);
  const shapes: number[] = [];
  let total = 0;
  spec.featureMaps.forEach((map: unknown, k) => {
    const name = `featureMaps[${k}]`;
    assertObject(name, map);
    assertKnownKeys(name, map, MAP_KEYS);
    const [rows, cols] = pair(`${name}.size`, map.size, mapSide);
    const [stepY, stepX] =
      map.step === undefined ? [inputH / rows, inputW / cols] : pair(`${name}.step`, map.step, positive);
    const offset = map.offset ?? 0.5;
    assertFiniteNumber(`${name}.offset`, offset);
    const mine = mapShapes(name, map);
    levels.set([rows, cols, stepY, stepX, offset, mine.length / 2], 6 * k);
    shapes.push(...mine);
    total += rows * cols * (mine.length / 2);
  });
  if (total > MAX_BOXES)
    throw outOfRangeError(
      'featureMaps',
      `feature maps with at most ${MAX_BOXES} boxes in all (rows·cols·shapes)`,
      total,
    );
  return { inputH, inputW, clipMode: CLIP_MODES.indexOf(clip) as 0 | 1 | 2, levels, shapes: Float64Array.from(shapes) };
}

/** A spec object, or the spec of a preset name. */
function resolveSpec(spec: DefaultBoxSpec | DefaultBoxPresetName): DefaultBoxSpec {
  if (typeof spec !== 'string' && object(spec)) return spec;
  if (!PRESET_NAMES.includes(spec as DefaultBoxPresetName)) {
    throw invalidParameterError(
      'spec',
      `DefaultBoxSpec object or one of ${PRESET_NAMES.map((n) => `'${n}'`).join(', ')}`,
      spec,
    );
  }
  return DEFAULT_BOX_PRESETS[spec as DefaultBoxPresetName];
}

/**
 * Default boxes (anchors) of an SSD, cxcywh normalized to the network input.
 *
 * Order: feature map by feature map; inside a map row-major over cells (y outer, x inner); inside a cell the
 * shapes in emission order. Centres cx = (j + offset)·stepX / W, cy = (i + offset)·stepY / H are computed in
 * float64 (in that operation order) and stored as float32; they are never clipped by 'wh'. Widths/heights are
 * float64 (see {@link expandDefaultBoxSpec}), clipped per `clip` ('xyxy': corners clamped to [0, 1], then
 * cx = (x1 + x2)/2, w = x2 − x1, all float64), stored as float32.
 *
 * @param spec A {@link DefaultBoxSpec} or a preset name of {@link DEFAULT_BOX_PRESETS}.
 * @returns Float32Array [N·4], cxcywh normalized (N = Σ rows·cols·shapes per map).
 * @throws {TypeError} Unknown preset name or malformed spec (see {@link expandDefaultBoxSpec}).
 * @throws {RangeError} Out-of-range numbers in the spec.
 * @example
 * defaultBoxes('torchvision-ssd300-vgg16').length / 4; // 8732
 * defaultBoxes({ inputSize: 300, featureMaps: [{ size: 1, scale: 0.5, aspectRatios: [1] }] }); // [0.5, 0.5, 0.5, 0.5]
 */
export function defaultBoxes(spec: DefaultBoxSpec | DefaultBoxPresetName): Float32Array {
  const e = expandDefaultBoxSpec(resolveSpec(spec));
  return binding
    ? binding.defaultBoxes(e.inputH, e.inputW, e.clipMode, e.levels, e.shapes)
    : defaultBoxesFromExpanded(e);
}

/** Pure-TypeScript twin of {@link defaultBoxes}: same checks and messages, same values, same order. */
export function defaultBoxesTs(spec: DefaultBoxSpec | DefaultBoxPresetName): Float32Array {
  return defaultBoxesFromExpanded(expandDefaultBoxSpec(resolveSpec(spec)));
}

function defaultBoxesFromExpanded({ inputH, inputW, clipMode, levels, shapes }: ExpandedDefaultBoxSpec): Float32Array {
  let count = 0;
  for (let l = 0; l < levels.length; l += 6) count += levels[l] * levels[l + 1] * levels[l + 5];
  const out = new Float32Array(4 * count);
  const clamp01 = (v: number) => Math.min(Math.max(v, 0), 1);
  let o = 0;
  let s0 = 0;
  for (let l = 0; l < levels.length; l += 6) {
    const [rows, cols, stepY, stepX, offset, numShapes] = levels.subarray(l, l + 6);
    for (let i = 0; i < rows; i++) {
      const cy = ((i + offset) * stepY) / inputH;
      for (let j = 0; j < cols; j++) {
        const cx = ((j + offset) * stepX) / inputW;
        for (let s = s0; s < s0 + numShapes; s++) {
          let box = [cx, cy, shapes[2 * s], shapes[2 * s + 1]];
          if (clipMode === 1) {
            box = [cx, cy, clamp01(box[2]), clamp01(box[3])];
          } else if (clipMode === 2) {
            const [x1, y1, x2, y2] = [cx - 0.5 * box[2], cy - 0.5 * box[3], cx + 0.5 * box[2], cy + 0.5 * box[3]].map(
              clamp01,
            );
            box = [0.5 * (x1 + x2), 0.5 * (y1 + y2), x2 - x1, y2 - y1];
          }
          out.set(box, o);
          o += 4;
        }
      }
    }
    s0 += numShapes;
  }
  return out;
}
