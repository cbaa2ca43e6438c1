/**
 * TensorFlow Object Detection API SSDs (frozen GraphDefs of v1 exports, v2-style graphs with `raw_detection_boxes` /
 * `raw_detection_scores`, and `tflite_graph.pb` with `TFLite_Detection_PostProcess`), cut before the in-graph
 * postprocessor so ssd-edge's native postprocess replaces TF's decode and NMS.
 *
 * - **The cut.** The postprocessor is the `TFLite_Detection_PostProcess` node (inputs: box encodings, class scores,
 *   anchors), or the nodes of a `Postprocessor/` scope together with the decode ops behind `raw_detection_boxes` /
 *   `raw_detection_scores` (walked up through element-wise, reshape, pack/unpack and transpose ops, stopping at
 *   ConcatV2 and convolution outputs). Its inputs from outside are classified by the graph itself: the one that
 *   reaches a Sigmoid / Softmax is the class predictions (their score conversion, with a logit scale in between,
 *   becomes the spec's scoring), the one that depends on the image otherwise is the box encodings, and the largest
 *   constant with rows of 4 (anchor generators are folded: lib/model/tf/fold.ts) is the anchors.
 * - **Anchors**: TF-OD's BoxList order (ymin, xmin, ymax, xmax) from a Postprocessor input, or (ycenter, xcenter, h, w)
 *   for `TFLite_Detection_PostProcess`; stored as data in the spec. The box coder (ty, tx, th, tw) scales come from
 *   the `…/Decode/div…` constants (default 10, 10, 5, 5) or the custom op's `y_scale` … attributes.
 * - **Feature extractors and heads** go through the generic converter: FPN top-down paths (ResizeNearestNeighbor /
 *   ResizeBilinear + Add), weight-shared box predictors (one filter constant applied to every level becomes one
 *   initializer), head reshapes built from `Shape` (folded with a symbolic batch).
 * - **Preprocessing**: the `Preprocessor/` scope (TF's resize in a while loop, then `x·a + b`) is replaced by the
 *   network input; its trailing Mul/Sub/Add/RealDiv by scalars becomes the spec's mean/std on 0..255 values
 *   (mobilenets: x·(2/255) − 1 → mean 127.5, std 127.5). The input size comes from `inputSize`, a static Placeholder
 *   shape, or the preprocessor's resize size constant (default 300×300).
 * - **Settings**: NMS IoU and score thresholds from the NonMaxSuppression node's constant inputs or the custom op's
 *   attributes; TF's per-class NMS (`BatchMultiClassNonMaxSuppression`, or `use_regular_nms`) becomes ssd-edge's
 *   per-class NMS, TFLite's fast NMS (`use_regular_nms` false) the class-agnostic one.
 */
import { int64s, type Dim } from '../graph.ts';
import { writeModelSpec } from '../metadata.ts';
import { encodeAnchors, type ModelSpec } from '../spec.ts';
import type { TfAttr, TfNode } from '../tf/graphdef.ts';
import { pickLabels } from './common.ts';
import {
  baseName,
  Converter,
  TENSORFLOW_CONVERTER,
  type ConstValue,
  type GraphValue,
  type TensorflowImport,
  type TensorflowImportOptions,
} from './tensorflow.ts';

const PRE = /(^|\/)Preprocessor\//;
const POST = /(^|\/)Postprocessor\//;
const RAW_OUTPUT = /(^|\/)raw_detection_(boxes|scores)$/;
const POSTPROCESS_OP = 'TFLite_Detection_PostProcess';
const NMS_OPS = new Set([
  'NonMaxSuppression',
  'NonMaxSuppressionV2',
  'NonMaxSuppressionV3',
  'NonMaxSuppressionV4',
  'NonMaxSuppressionV5',
]);
/** Ops the decode behind raw_detection_* is made of (walked up from those outputs). */
const DECODE_OPS = new Set([
  'Identity',
  'Sigmoid',
  'Softmax',
  'RealDiv',
  'Mul',
  'Add',
  'AddV2',
  'Sub',
  'Exp',
  'Unpack',
  'Pack',
  'Transpose',
  'Reshape',
  'Squeeze',
  'ExpandDims',
  'Tile',
  'StridedSlice',
  'Slice',
  'Split',
  'Maximum',
  'Minimum',
  'Cast',
]);
/** Score-path ops between the class predictions and their Sigmoid/Softmax. */
const SCORE_PATH_OPS = new Set(['Identity', 'RealDiv', 'Mul', 'Reshape', 'Squeeze', 'ExpandDims']);

/** Whether a TF graph is a TF Object Detection API export (its postprocessor is cut away by {@link importTfOd}). */
export function isTfOdGraph(nodes: TfNode[]): boolean {
  return nodes.some(
    (n) => n.op === POSTPROCESS_OP || NMS_OPS.has(n.op) || POST.test(n.name) || RAW_OUTPUT.test(n.name),
  );
}

const inputsOf = (n: TfNode) => n.input.filter((i) => !i.startsWith('^')).map(baseName);
const fmt = (v: number) => +v.toPrecision(6);

/**
 * Imports a TF Object Detection API SSD graph (see the module comment), anchors and settings read from the graph.
 *
 * @param nodes The GraphDef's nodes (binary and text graphs merged, or a TF.js graph model's topology).
 * @param weights Constants by node name (a TF.js weights manifest, decoded).
 * @throws {TypeError} What is missing (no box encodings / class predictions / anchors found, named with the
 *   postprocessor's inputs), unsupported ops (named with the node), labels that do not fit.
 */
export function importTfOd(
  nodes: TfNode[],
  options: TensorflowImportOptions,
  weights?: ReadonlyMap<string, { dims: number[]; data: Float32Array | Int32Array }>,
): TensorflowImport {
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const batch: Dim = options.batch ?? 'batch';
  const conv = new Converter(nodes, options, batch);
  // TF.js graph models: the weights of the manifest stand for their (empty) Const nodes
  for (const [name, w] of weights ?? []) conv.values.set(name, { kind: 'const', dims: w.dims, data: w.data });
  const report: string[] = [];

  // --- which nodes depend on the image (Shape of a feature map is static here) -----------------------------
  const imageDep = new Map<string, boolean>();
  const dependsOnImage = (name: string): boolean => {
    const known = imageDep.get(name);
    if (known !== undefined) return known;
    imageDep.set(name, false); // cycles (while loops) count as constant until proven otherwise
    const n = byName.get(name);
    const r =
      !!n &&
      (n.op === 'Placeholder' ||
        (!['Shape', 'Size', 'Rank', 'Const'].includes(n.op) && inputsOf(n).some((i) => dependsOnImage(i))));
    imageDep.set(name, r);
    return r;
  };

  // …and which ones are computed by the network (a convolution among their ancestors): not the image shapes
  const convDep = new Map<string, boolean>();
  const CONVS = new Set(['Conv2D', 'DepthwiseConv2dNative', '_FusedConv2D', 'FusedDepthwiseConv2dNative']);
  const dependsOnConv = (name: string): boolean => {
    const known = convDep.get(name);
    if (known !== undefined) return known;
    convDep.set(name, false);
    const n = byName.get(name);
    const r =
      !!n &&
      !['Shape', 'Size', 'Rank', 'Const'].includes(n.op) &&
      (CONVS.has(n.op) || inputsOf(n).some((i) => dependsOnConv(i)));
    convDep.set(name, r);
    return r;
  };

  // --- the network input replaces the Placeholder and the Preprocessor scope -----------------------------
  const placeholders = nodes.filter((n) => n.op === 'Placeholder');
  const [width, height] = inputSize(options, placeholders, nodes, conv, report);
  let input: GraphValue | undefined;
  let affine: { a: number; b: number; through: string } | undefined;
  const theInput = (): GraphValue => {
    if (!input) {
      conv.g.addInput('image', [batch, 3, height, width]);
      conv.input = { name: 'image', height, width };
      input = { kind: 'tensor', name: 'image', rank: 4, hwc: [height, width, 3] };
    }
    return input;
  };
  conv.intercept = (n) => {
    if (n.op === 'Placeholder') return theInput();
    if (!PRE.test(n.name) || !dependsOnImage(n.name)) return undefined; // constants of the scope fold as usual
    // x·a + b by scalars at the end of the preprocessor, walked from here towards the input
    const ops: Array<{ op: string; c: number; constFirst: boolean }> = [];
    let cur: TfNode | undefined = n;
    while (cur && PRE.test(cur.name) && ['Mul', 'Sub', 'Add', 'AddV2', 'RealDiv'].includes(cur.op)) {
      const [x, y] = inputsOf(cur);
      const constFirst = !dependsOnImage(x);
      if (dependsOnImage(constFirst ? x : y)) break;
      const c = conv.constant(constFirst ? x : y, `${cur.name} constant`);
      if (c.data.length !== 1) break;
      ops.push({ op: cur.op, c: c.data[0], constFirst });
      cur = byName.get(constFirst ? y : x);
    }
    let a = 1;
    let b = 0;
    for (const { op, c, constFirst } of ops.reverse()) {
      if (op === 'Mul') [a, b] = [a * c, b * c];
      else if (op === 'Add' || op === 'AddV2') b += c;
      else if (op === 'Sub') [a, b] = constFirst ? [-a, c - b] : [a, b - c];
      else if (constFirst)
        throw new TypeError(`Expected the preprocessor's RealDiv '${n.name}' to divide by a constant`);
      else [a, b] = [a / c, b / c];
    }
    if (affine && (Math.abs(affine.a - a) > 1e-9 || Math.abs(affine.b - b) > 1e-9))
      throw new TypeError(
        `Expected one preprocessing of the image but '${affine.through}' and '${n.name}' normalize it differently`,
      );
    affine ??= { a, b, through: n.name };
    return theInput();
  };

  // --- the postprocessor and its inputs ---------------------------------------------------------------------
  const pp = nodes.find((n) => n.op === POSTPROCESS_OP);
  let boxesIn: string;
  let scoresIn: string;
  let anchorsIn: string;
  const scoreOps: Array<{ op: string; c: number }> = [];
  let scoring: ModelSpec['postprocess']['scoring'] = 'none';
  if (pp) {
    [boxesIn, scoresIn, anchorsIn] = inputsOf(pp);
    if (!anchorsIn)
      throw new TypeError(`Expected ${POSTPROCESS_OP} '${pp.name}' with 3 inputs (boxes, scores, anchors)`);
    report.push(`TF-OD export for TFLite: cut before ${POSTPROCESS_OP} '${pp.name}'`);
  } else {
    const post = new Set(nodes.filter((n) => POST.test(n.name)).map((n) => n.name));
    const walk = (name: string) => {
      const n = byName.get(name);
      if (!n || post.has(name) || !DECODE_OPS.has(n.op)) return;
      post.add(name);
      for (const i of inputsOf(n)) walk(i);
    };
    for (const n of nodes) if (RAW_OUTPUT.test(n.name)) walk(n.name);
    if (!post.size)
      throw new TypeError(
        'TF Object Detection API graph found (NonMaxSuppression) but no Postprocessor scope, raw_detection_boxes / raw_detection_scores nor TFLite_Detection_PostProcess to cut at',
      );
    const boundary = new Set<string>();
    for (const name of post)
      for (const i of inputsOf(byName.get(name) as TfNode))
        if (!post.has(i) && !PRE.test(i) && byName.get(i)?.op !== 'Placeholder') boundary.add(i);
    const consumers = (name: string) => [...post].filter((p) => inputsOf(byName.get(p) as TfNode).includes(name));
    // class predictions: a chain of score-path ops down to a Sigmoid / Softmax
    const scoreChain = (name: string): { ops: Array<{ op: string; c: number }>; act: string } | undefined => {
      for (const c of consumers(name)) {
        const n = byName.get(c) as TfNode;
        if (n.op === 'Sigmoid' || n.op === 'Softmax') return { ops: [], act: n.op };
        if (!SCORE_PATH_OPS.has(n.op)) continue;
        let step: { op: string; c: number } | undefined;
        if (n.op === 'RealDiv' || n.op === 'Mul') {
          const [x, y] = inputsOf(n);
          if (x !== name || dependsOnImage(y)) continue;
          const k = conv.constant(y, `${n.name} scale`).data;
          if (k.length !== 1) continue;
          step = { op: n.op, c: k[0] };
        }
        const rest = scoreChain(c);
        if (rest) return { ops: step ? [step, ...rest.ops] : rest.ops, act: rest.act };
      }
      return undefined;
    };
    // the network's outputs among the inputs (image shapes and other image-derived values have no convolution)
    const dynamic = [...boundary].filter((b) => dependsOnConv(b));
    const scored = dynamic.map((b) => ({ b, chain: scoreChain(b) })).filter((x) => x.chain);
    let others = dynamic.filter((b) => !scored.some((s) => s.b === b));
    if (scored.length === 0 && dynamic.length === 2) {
      // scores converted before the postprocessor: the tensor with rows of 4 is the box encodings
      const four = dynamic.filter((b) => conv.tensor(b, 'a postprocessor input').last === 4);
      if (four.length !== 1)
        throw new TypeError(
          `Expected the TF-OD postprocessor to take one box-encodings and one class-predictions tensor but neither of ${dynamic.map((b) => `'${b}'`).join(', ')} reaches a Sigmoid/Softmax and ${four.length} have rows of 4`,
        );
      scored.push({ b: dynamic.find((b) => b !== four[0]) as string, chain: { ops: [], act: 'none' } });
      others = four;
    }
    if (scored.length !== 1 || others.length !== 1)
      throw new TypeError(
        `Expected the TF-OD postprocessor to take one box-encodings and one class-predictions tensor but its inputs from the network are ${dynamic.map((b) => `'${b}'`).join(', ') || 'none'} (${scored.length} reach a Sigmoid/Softmax)`,
      );
    const chain = scored[0].chain as NonNullable<ReturnType<typeof scoreChain>>;
    scoresIn = scored[0].b;
    scoreOps.push(...chain.ops);
    scoring = chain.act === 'Sigmoid' ? 'sigmoid' : chain.act === 'Softmax' ? 'softmax' : 'none';
    boxesIn = others[0];
    const candidates = [...boundary]
      .filter((b) => !dependsOnConv(b))
      .map((b) => {
        try {
          const v = conv.value(b);
          return v.kind === 'const' && v.dims.length >= 2 && v.dims[v.dims.length - 1] === 4 ? { b, v } : undefined;
        } catch {
          return undefined; // not foldable: not the anchors
        }
      })
      .filter((x) => x !== undefined)
      .sort((x, y) => y.v.data.length - x.v.data.length);
    if (!candidates.length)
      throw new TypeError(
        `Expected the TF-OD postprocessor to take the anchors as a constant (or a foldable anchor generator) but none of its inputs ${[...boundary].map((b) => `'${b}'`).join(', ')} is one`,
      );
    anchorsIn = candidates[0].b;
    report.push(
      `TF-OD graph: cut before the postprocessor (${post.size} nodes${[...post].some((p) => RAW_OUTPUT.test(p)) ? ', raw_detection_boxes / raw_detection_scores' : ''}); box encodings '${boxesIn}', class predictions '${scoresIn}' (${chain.act === 'none' ? 'already scores' : chain.act}${scoreOps.length ? ` after ${scoreOps.map((o) => `${o.op} ${fmt(o.c)}`).join(', ')}` : ''}), anchors '${anchorsIn}'`,
    );
  }

  // --- outputs ----------------------------------------------------------------------------------------------
  const g = conv.g;
  const boxT = conv.tensor(boxesIn, 'the box encodings');
  let scoreT = conv.tensor(scoresIn, 'the class predictions');
  for (const [k, s] of scoreOps.entries()) {
    const c = g.addInitializer(g.uniqueName(`scores/scale${k}`), Float32Array.of(s.c), []);
    scoreT = { ...scoreT, name: g.op(s.op === 'RealDiv' ? 'Div' : 'Mul', [scoreT.name, c], {}, `scores/scaled${k}`) };
  }
  const columns = scoreT.hwc ? undefined : scoreT.last;
  const ppAttr = pp?.attr ?? {};
  const numClassesAttr = ppAttr.num_classes?.i;
  const numColumns = columns ?? (numClassesAttr !== undefined ? numClassesAttr + 1 : undefined);
  if (!numColumns)
    throw new TypeError(`Expected the class predictions '${scoresIn}' to have a known number of columns ([B, N, C])`);
  g.addNode(
    'Reshape',
    [conv.toNhwc(boxT, 'boxes'), g.addInitializer('boxes/shape', int64s([0, -1, 4]), [3])],
    ['boxes'],
  );
  g.addNode(
    'Reshape',
    [conv.toNhwc(scoreT, 'scores'), g.addInitializer('scores/shape', int64s([0, -1, numColumns]), [3])],
    ['scores'],
  );
  const a = conv.value(anchorsIn);
  if (a.kind !== 'const' || a.data.length % 4 !== 0 || a.dims[a.dims.length - 1] !== 4)
    throw new TypeError(`Expected the anchors '${anchorsIn}' to be a constant [N, 4]`);
  const n = a.data.length / 4;
  const anchors = new Float32Array(4 * n);
  for (let i = 0; i < n; i++) {
    const [p, q, r, s] = a.data.subarray(4 * i, 4 * i + 4);
    // TFLite_Detection_PostProcess: (ycenter, xcenter, h, w); a BoxList: (ymin, xmin, ymax, xmax)
    if (pp) anchors.set([q, p, s, r], 4 * i);
    else anchors.set([(q + s) / 2, (p + r) / 2, s - q, r - p], 4 * i);
  }
  g.addOutput('boxes', [batch, n, 4]);
  g.addOutput('scores', [batch, n, numColumns]);

  // --- settings ---------------------------------------------------------------------------------------------
  let scales = [10, 10, 5, 5]; // ty, tx, th, tw
  let nmsThresh = 0.6;
  let scoreThresh = 1e-8;
  let detections = 100;
  let classAgnostic = false;
  const f = (x: TfAttr | undefined, d: number) => x?.f ?? d;
  if (pp) {
    scales = [f(ppAttr.y_scale, 10), f(ppAttr.x_scale, 10), f(ppAttr.h_scale, 5), f(ppAttr.w_scale, 5)];
    nmsThresh = f(ppAttr.nms_iou_threshold, 0.6);
    scoreThresh = f(ppAttr.nms_score_threshold, 1e-8);
    detections = ppAttr.max_detections?.i ?? 100;
    classAgnostic = ppAttr.use_regular_nms?.b !== true;
    if (classAgnostic && (ppAttr.max_classes_per_detection?.i ?? 1) !== 1)
      throw new TypeError(
        `Expected ${POSTPROCESS_OP} with max_classes_per_detection 1 for its fast NMS but received ${ppAttr.max_classes_per_detection?.i}`,
      );
  } else {
    const divs = nodes
      .filter((x) => x.op === 'RealDiv' && /(^|\/)Decode\/(div|truediv)(_\d+)?$/.test(x.name))
      .map((x) => ({ x, k: Number(/_(\d+)$/.exec(x.name)?.[1] ?? 0) }))
      .sort((p, q) => p.k - q.k)
      .map(({ x }) => inputsOf(x)[1])
      .filter((y) => y && !dependsOnImage(y))
      .map((y) => conv.constant(y, 'box coder scale').data[0]);
    if (divs.length === 4) scales = divs;
    else report.push('box coder: no Decode/div scales in the graph; using TF-OD defaults 10, 10, 5, 5');
    const nms = nodes.find((x) => NMS_OPS.has(x.op));
    const constIn = (k: number) => {
      const i = nms && inputsOf(nms)[k];
      if (!i || dependsOnImage(i)) return undefined;
      try {
        return conv.constant(i, `${nms.name} input ${k}`).data[0];
      } catch {
        return undefined;
      }
    };
    nmsThresh = constIn(3) ?? nmsThresh;
    scoreThresh = constIn(4) ?? scoreThresh;
    if (!nms) report.push('NMS: no NonMaxSuppression node; using IoU 0.6, score > 1e-8');
  }

  const backgroundIndex = numClassesAttr !== undefined && numColumns === numClassesAttr ? -1 : 0;
  const labels = pickLabels(
    options.labels,
    numColumns,
    'TF-OD class predictions',
    backgroundIndex === 0 ? '???' : undefined,
  );
  const mean = affine ? -affine.b / affine.a : 127.5;
  const std = affine ? 1 / affine.a : 127.5;
  const spec: ModelSpec = {
    name: options.name ?? 'tf-od-ssd',
    architecture: 'ssd',
    converter: TENSORFLOW_CONVERTER,
    input: {
      name: 'image',
      height,
      width,
      layout: 'NCHW',
      colorOrder: 'RGB',
      mean: [mean, mean, mean].map(fmt) as [number, number, number],
      std: [std, std, std].map(fmt) as [number, number, number],
      resize: 'stretch',
      interpolation: 'bilinear',
      dynamicBatch: typeof batch === 'string',
    },
    output: { kind: 'raw', boxes: 'boxes', scores: 'scores' },
    anchors: encodeAnchors(anchors),
    labels,
    postprocess: {
      scoring,
      boxEncoding: 'deltas',
      backgroundIndex,
      scoreThresh: Math.fround(Math.min(Math.max(scoreThresh, 0), 1)),
      nmsThresh: Math.fround(nmsThresh),
      topkCandidates: Infinity,
      detectionsPerImg: detections,
      boxCoder: { weights: [scales[1], scales[0], scales[3], scales[2]], order: 'yxhw', clip: Infinity },
      clipBoxes: !pp,
      ...(classAgnostic ? { classAgnostic: true } : {}),
    },
  };
  if (options.source) spec.source = options.source;
  const model = g.toModel({
    producerName: 'ssd-edge',
    docString: `TF Object Detection API SSD converted by ${TENSORFLOW_CONVERTER}, cut before its postprocessor. Outputs: boxes (ty, tx, th, tw against the anchors) and scores (${scoring === 'none' ? 'as the graph converts them' : `logits, ${scoring}`}).`,
  });
  writeModelSpec(model, spec);
  report.push(
    `input 'image' ${width}×${height} RGB, x' = (x − ${fmt(mean)}) / ${fmt(std)}${affine ? ` (the graph's preprocessing, '${affine.through}')` : ' (not in the graph: TF-OD mobilenet default; set --mean/--std)'}`,
    `anchors: ${n} from '${anchorsIn}'; box coder scales y ${scales[0]}, x ${scales[1]}, h ${scales[2]}, w ${scales[3]}`,
    `classes: ${numColumns} columns${backgroundIndex === 0 ? ' (background first)' : ''}; scoring ${scoring}`,
    `NMS: IoU ${fmt(nmsThresh)}, score > ${fmt(scoreThresh)}, ${detections} detections, ${classAgnostic ? "class-agnostic (TFLite's fast NMS)" : 'per class'} — run by ssd-edge's postprocess`,
  );
  return { model, spec, report: [...conv.report, ...report] };
}

/** [width, height]: the option, a static Placeholder shape, the preprocessor's resize size, or 300×300. */
function inputSize(
  options: TensorflowImportOptions,
  placeholders: TfNode[],
  nodes: TfNode[],
  conv: Converter,
  report: string[],
): [number, number] {
  if (options.inputSize) return options.inputSize;
  for (const p of placeholders) {
    const d = (p.attr.shape?.shape?.dim ?? []).map((x) => x.size ?? -1);
    if (d.length === 4 && d[1] > 0 && d[2] > 0) return [d[2], d[1]];
  }
  for (const n of nodes) {
    if (!PRE.test(n.name) || !/^Resize(Bilinear|NearestNeighbor|Area|Bicubic)$/.test(n.op)) continue;
    try {
      const s = conv.constant(n.input[1], `${n.name} size`) as ConstValue;
      if (s.data.length === 2 && s.data[0] > 0 && s.data[1] > 0) {
        report.push(`input size ${s.data[1]}×${s.data[0]} from the preprocessor's resize '${n.name}'`);
        return [s.data[1], s.data[0]];
      }
    } catch {
      // a size computed from the image: not a fixed-shape resizer
    }
  }
  report.push('input size: not in the graph; using 300×300 (set --input-size)');
  return [300, 300];
}
