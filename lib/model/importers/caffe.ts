/**
 * Importer: Caffe SSD (the SSD paper's own implementation, weiliu89/caffe "Caffe-SSD", and nets in its format such as
 * libfacedetection's YuFaceDetectNet) — a deploy `.prototxt` plus its `.caffemodel` → ssd-edge ONNX model.
 *
 * The prototxt is read schema-free (../caffe/prototxt.ts), so fork-only fields (`visualize`, `transform_param` in
 * DetectionOutput) are tolerated; the weights are read from the binary NetParameter with protobufjs
 * (../caffe/caffemodel.ts). The layers become ONNX (opset 13), with Caffe's semantics reproduced exactly:
 * - Convolution (groups, dilation, bias_term) → Conv; BatchNorm (blobs mean, variance, scale factor) →
 *   BatchNormalization; Scale (γ, optional β, per channel) → Mul / Add; ReLU (negative_slope) → Relu / LeakyRelu;
 *   PReLU → PRelu; Eltwise SUM (coeff) / PROD / MAX → Add / Mul / Max; Dropout / Split → identity;
 * - Pooling MAX / AVE with Caffe's output size (ceil rounding, and the last window dropped when it would start in the
 *   padding): explicit end pads computed here; AVE divides by the window clipped to the padded input (as Caffe),
 *   done as a zero Pad + AveragePool(count_include_pad = 0); global_pooling → GlobalMax/AveragePool;
 * - Normalize (Caffe-SSD's L2 normalization, learned scale, across_spatial or per position, channel_shared or
 *   not, eps) → x / sqrt(ReduceSumSquare(x) + eps) · scale;
 * - Permute → Transpose; Flatten (axis, end_axis) and Reshape (0 = copy, −1 = infer, axis, num_axes) → Reshape with
 *   the batch dimension kept symbolic; Concat → Concat; Softmax (axis) → Softmax;
 * - PriorBox layers → the default-box spec (one feature map per layer, in the order the priors are concatenated:
 *   boxes per cell min_size, √(min·max), then the aspect ratios with flip, as Caffe emits them; step, offset, clip
 *   → 'xyxy'); their variances → the box coder weights (1/variance);
 * - DetectionOutput (CENTER_SIZE, share_location) → the outputs `boxes` = its location input as [B, N, 4] (dx, dy,
 *   dw, dh) and `scores` = its confidence input as [B, N, C], used as given (scoring 'none': Caffe's layer does not
 *   activate them; the net's own Softmax does), and the postprocess settings: background_label_id,
 *   confidence_threshold, nms_threshold, top_k (candidates per class), keep_top_k, no box clipping.
 *
 * The input normalization is not in a deploy prototxt: the spec says BGR 0..255 with no mean (Caffe's convention
 * and YuFaceDetectNet's); the `transform_param` of a DetectionOutput layer is for its visualization and is not used
 * (the report says so). Override with the import flags (`--mean`, `--std`, `--channels`).
 */
import { GraphBuilder, float, int64s, type Dim } from '../graph.ts';
import { writeModelSpec } from '../metadata.ts';
import type { ModelProto } from '../onnx.ts';
import type { ModelSpec } from '../spec.ts';
import type { DefaultBoxSpec, FeatureMapSpec } from '../../ops/default-boxes.ts';
import { assertKnownKeys, assertObject } from '../../is.ts';
import { readCaffemodel, type CaffeBlob, type CaffeWeights } from '../caffe/caffemodel.ts';
import { Fields, parsePrototxt } from '../caffe/prototxt.ts';
import { pickLabels } from './common.ts';

export const CAFFE_CONVERTER = 'ssd-edge/caffe-importer@1';

export interface CaffeSource {
  /** The deploy `.prototxt` (text). */
  prototxt: string | Uint8Array;
  /** The `.caffemodel` bytes (binary NetParameter with the weights). Missing → an error saying so. */
  caffemodel?: Uint8Array;
  /** File names for messages and the spec's `source`. */
  prototxtName?: string;
  caffemodelName?: string;
}

export interface CaffeImportOptions {
  /** Class names, background first (C names; C − 1 names get 'background' put first). */
  labels?: string[];
  /** Spec name (default: the net's name, else 'caffe-ssd'). */
  name?: string;
  /** Spec `source` text (default: the file names). */
  source?: string;
}

const CAFFE_IMPORT_OPTION_KEYS = ['labels', 'name', 'source'] as const satisfies ReadonlyArray<
  keyof CaffeImportOptions
>;

export interface CaffeImport {
  model: ModelProto;
  spec: ModelSpec;
  /** What was found, one line per fact (printed by `model import`). */
  report: string[];
}

/** A Caffe blob during conversion: its ONNX value, its shape (batch 1), whether the batch dimension stays dim 0. */
interface Blob {
  value: string;
  shape: number[];
}

interface PriorBoxInfo {
  layer: string;
  map: FeatureMapSpec;
  variance: number[];
  clip: boolean;
  count: number;
}

const what = 'Caffe SSD';

function err(message: string): TypeError {
  return new TypeError(message);
}

/** repeated-or-single spatial parameter (kernel_size / stride / pad / dilation) with its _h/_w forms. */
function hw(p: Fields, name: string, fallback: number, hName?: string, wName?: string): [number, number] {
  if (hName && wName && (p.has(hName) || p.has(wName))) {
    const h = p.num(hName);
    const w = p.num(wName);
    if (h === undefined || w === undefined)
      throw err(`Expected both ${hName} and ${wName} in ${p.where} but received only one`);
    return [h, w];
  }
  const v = p.nums(name);
  if (v.length === 0) return [fallback, fallback];
  if (v.length === 1) return [v[0], v[0]];
  if (v.length === 2) return [v[0], v[1]];
  throw err(`Expected 1 or 2 values for ${name} in ${p.where} (2-D only) but received ${v.length}`);
}

const size = (s: number[]) => s.reduce((a, b) => a * b, 1);

/**
 * Imports a Caffe SSD (deploy prototxt + caffemodel).
 *
 * @throws {TypeError} The caffemodel is missing ("Caffe prototxt found; the .caffemodel with the weights is
 *   missing"), a syntax error in the prototxt, an unsupported layer type or parameter (named with its layer), weights
 *   missing or misshapen, no DetectionOutput / PriorBox layers, labels that do not fit.
 * @example
 * const { model, spec, report } = importCaffe(
 *   { prototxt: fs.readFileSync('deploy.prototxt', 'utf8'), caffemodel: fs.readFileSync('net.caffemodel') },
 *   { labels: ['background', 'face'] });
 */
export function importCaffe(source: CaffeSource, options: CaffeImportOptions = {}): CaffeImport {
  assertObject('source', source as unknown);
  assertObject('options', options as unknown);
  assertKnownKeys('options', options, CAFFE_IMPORT_OPTION_KEYS);
  const protoName = source.prototxtName ?? 'the prototxt';
  if (source.caffemodel === undefined) throw err('Caffe prototxt found; the .caffemodel with the weights is missing');
  const text = typeof source.prototxt === 'string' ? source.prototxt : new TextDecoder().decode(source.prototxt);
  const net = new Fields(parsePrototxt(text, protoName), protoName);
  const weights = readCaffemodel(source.caffemodel, source.caffemodelName ?? 'the .caffemodel');
  if (net.has('layers'))
    throw err(`Expected a prototxt with 'layer' entries (current Caffe format) but ${protoName} uses the V1 'layers'`);

  const g = new GraphBuilder('caffe_ssd');
  const blobs = new Map<string, Blob>();
  const report: string[] = [];
  const counts = new Map<string, number>();
  let batchKept = true;

  // --- input ---------------------------------------------------------------------------------------
  let inputName: string | undefined;
  let inputShape: number[] | undefined;
  const inputs = net.strs('input');
  if (inputs.length > 1) throw err(`Expected one network input but ${protoName} declares ${inputs.join(', ')}`);
  if (inputs.length === 1) {
    inputName = inputs[0];
    const shapes = net.subs('input_shape');
    inputShape = shapes.length ? shapes[0].nums('dim') : net.nums('input_dim');
  }
  const layers = net.subs('layer').filter((l) => {
    const include = l.subs('include');
    return include.length === 0 || include.some((i) => i.enumName('phase', ['TRAIN', 'TEST'], 'TEST') === 'TEST');
  });
  for (const l of layers) {
    if (l.str('type') !== 'Input') continue;
    if (inputName) throw err(`Expected one network input but ${protoName} declares more than one`);
    inputName = l.strs('top')[0];
    inputShape = l.sub('input_param').subs('shape')[0]?.nums('dim');
  }
  if (!inputName || !inputShape)
    throw err(`Expected a network input ('input' + 'input_shape', or an Input layer) in ${protoName} but found none`);
  if (inputShape.length !== 4 || inputShape[1] !== 3 || inputShape.some((d) => !Number.isInteger(d) || d < 1))
    throw err(
      `Expected input '${inputName}' of shape [N, 3, H, W] in ${protoName} but received [${inputShape.join(', ')}]`,
    );
  const [, , inH, inW] = inputShape;
  const onnxInput = 'data';
  g.addInput(onnxInput, ['batch', 3, inH, inW]);
  blobs.set(inputName, { value: onnxInput, shape: [1, 3, inH, inW] });

  // --- layers --------------------------------------------------------------------------------------
  const priorBoxes = new Map<string, PriorBoxInfo>(); // by top blob name
  const concatOf = new Map<string, string[]>(); // priorbox bookkeeping: top → bottoms (Concat/Flatten/Reshape)
  let detection: Fields | undefined;
  const usedWeights = new Set<string>();

  const blobOf = (name: string, layer: string): Blob => {
    const b = blobs.get(name);
    if (!b) throw err(`Expected blob '${name}' (bottom of layer '${layer}') to be produced by an earlier layer`);
    return b;
  };
  const weightsOf = (layer: string, type: string, min: number, max = min): CaffeBlob[] => {
    const w = weights.layers.get(layer);
    if (!w || w.length < min || w.length > max)
      throw err(
        `Expected ${min === max ? min : `${min}..${max}`} weight blobs for ${type} layer '${layer}' in ${source.caffemodelName ?? 'the .caffemodel'} but received ${w?.length ?? 0}`,
      );
    usedWeights.add(layer);
    return w;
  };
  const checkCount = (b: CaffeBlob, n: number, what: string, layer: string) => {
    if (b.data.length !== n)
      throw err(`Expected ${n} values for the ${what} of layer '${layer}' but received ${b.data.length} ([${b.dims}])`);
  };
  const onnxShape = (shape: number[]): BigInt64Array => int64s([0, ...shape.slice(1)]);

  for (const l of layers) {
    const name = l.str('name') ?? '';
    const type = l.str('type') ?? '';
    const bottoms = l.strs('bottom');
    const tops = l.strs('top');
    counts.set(type, (counts.get(type) ?? 0) + 1);
    const where = `${type} layer '${name}'`;
    const setTop = (value: string, shape: number[], k = 0) => {
      if (!tops[k]) throw err(`Expected a top for ${where}`);
      blobs.set(tops[k], { value, shape });
    };
    const safe = (s: string) => s.replace(/[^A-Za-z0-9_./-]/g, '_') || 'v';
    const outName = safe(tops[0] ?? name);
    const x = () => blobOf(bottoms[0], name);

    switch (type) {
      case 'Input':
        break;
      case 'Convolution': {
        const p = l.sub('convolution_param');
        const inp = x();
        const [kh, kw] = hw(p, 'kernel_size', 0, 'kernel_h', 'kernel_w');
        const [sh, sw] = hw(p, 'stride', 1, 'stride_h', 'stride_w');
        const [ph, pw] = hw(p, 'pad', 0, 'pad_h', 'pad_w');
        const [dh, dw] = hw(p, 'dilation', 1);
        const group = p.num('group', 1);
        const out = p.num('num_output');
        const bias = p.bool('bias_term', true);
        if (!out || kh < 1 || kw < 1) throw err(`Expected num_output and kernel_size in ${where}`);
        const c = inp.shape[1];
        if (c % group || out % group)
          throw err(`Expected group ${group} to divide channels ${c} and num_output ${out} in ${where}`);
        const w = weightsOf(name, type, bias ? 2 : 1);
        checkCount(w[0], out * (c / group) * kh * kw, 'weights', name);
        const inputsOnnx = [
          inp.value,
          g.addInitializer(g.uniqueName(`${outName}.weight`), w[0].data, [out, c / group, kh, kw]),
        ];
        if (bias) {
          checkCount(w[1], out, 'bias', name);
          inputsOnnx.push(g.addInitializer(g.uniqueName(`${outName}.bias`), w[1].data, [out]));
        }
        const y = g.op(
          'Conv',
          inputsOnnx,
          {
            kernel_shape: [kh, kw],
            strides: [sh, sw],
            pads: [ph, pw, ph, pw],
            dilations: [dh, dw],
            group,
          },
          outName,
        );
        const oh = Math.floor((inp.shape[2] + 2 * ph - (dh * (kh - 1) + 1)) / sh) + 1;
        const ow = Math.floor((inp.shape[3] + 2 * pw - (dw * (kw - 1) + 1)) / sw) + 1;
        if (oh < 1 || ow < 1) throw err(`Expected a positive output size for ${where} but it is ${oh}×${ow}`);
        setTop(y, [inp.shape[0], out, oh, ow]);
        break;
      }
      case 'ReLU': {
        const slope = l.sub('relu_param').num('negative_slope', 0);
        const inp = x();
        setTop(
          slope === 0
            ? g.op('Relu', [inp.value], {}, outName)
            : g.op('LeakyRelu', [inp.value], { alpha: float(slope) }, outName),
          inp.shape,
        );
        break;
      }
      case 'PReLU': {
        const inp = x();
        const [w] = weightsOf(name, type, 1);
        const c = inp.shape[1];
        const shared = l.sub('prelu_param').bool('channel_shared', false);
        checkCount(w, shared ? 1 : c, 'slopes', name);
        const dims = shared ? [1] : [c, ...inp.shape.slice(2).map(() => 1)];
        setTop(
          g.op('PRelu', [inp.value, g.addInitializer(g.uniqueName(`${outName}.slope`), w.data, dims)], {}, outName),
          inp.shape,
        );
        break;
      }
      case 'BatchNorm': {
        const inp = x();
        const p = l.sub('batch_norm_param');
        if (!p.bool('use_global_stats', true)) throw err(`Expected use_global_stats true (inference) in ${where}`);
        const eps = p.num('eps', 1e-5);
        const [mean, variance, factor] = weightsOf(name, type, 3);
        const c = inp.shape[1];
        checkCount(mean, c, 'mean', name);
        checkCount(variance, c, 'variance', name);
        checkCount(factor, 1, 'scale factor', name);
        const f = factor.data[0] === 0 ? 0 : 1 / factor.data[0];
        const m = mean.data.map((v) => v * f);
        const v = variance.data.map((u) => u * f);
        const y = g.op(
          'BatchNormalization',
          [
            inp.value,
            g.addInitializer(g.uniqueName(`${outName}.ones`), new Float32Array(c).fill(1), [c]),
            g.addInitializer(g.uniqueName(`${outName}.zeros`), new Float32Array(c), [c]),
            g.addInitializer(g.uniqueName(`${outName}.mean`), m, [c]),
            g.addInitializer(g.uniqueName(`${outName}.var`), v, [c]),
          ],
          { epsilon: float(eps) },
          outName,
        );
        setTop(y, inp.shape);
        break;
      }
      case 'Scale': {
        const inp = x();
        if (bottoms.length !== 1)
          throw err(`Expected one bottom for ${where} (a learned scale) but received ${bottoms.length}`);
        const p = l.sub('scale_param');
        const axis = p.num('axis', 1);
        const numAxes = p.num('num_axes', 1);
        if (axis !== 1 || numAxes !== 1)
          throw err(`Expected axis 1, num_axes 1 in ${where} but received ${axis}, ${numAxes}`);
        const bias = p.bool('bias_term', false);
        const w = weightsOf(name, type, bias ? 2 : 1);
        const c = inp.shape[1];
        const dims = [c, ...inp.shape.slice(2).map(() => 1)];
        checkCount(w[0], c, 'scale', name);
        let y = g.op(
          'Mul',
          [inp.value, g.addInitializer(g.uniqueName(`${outName}.scale`), w[0].data, dims)],
          {},
          outName,
        );
        if (bias) {
          checkCount(w[1], c, 'bias', name);
          y = g.op('Add', [y, g.addInitializer(g.uniqueName(`${outName}.bias`), w[1].data, dims)], {}, outName);
        }
        setTop(y, inp.shape);
        break;
      }
      case 'Eltwise': {
        const ins = bottoms.map((b) => blobOf(b, name));
        const p = l.sub('eltwise_param');
        const op = p.enumName('operation', ['PROD', 'SUM', 'MAX'], 'SUM');
        const coeff = p.nums('coeff');
        if (coeff.length && coeff.length !== ins.length)
          throw err(`Expected ${ins.length} coeff values in ${where} but received ${coeff.length}`);
        if (ins.some((i) => i.shape.join() !== ins[0].shape.join()))
          throw err(`Expected bottoms of equal shape in ${where}`);
        let values = ins.map((i) => i.value);
        if (op === 'SUM' && coeff.some((c) => c !== 1))
          values = values.map((v, k) =>
            g.op(
              'Mul',
              [v, g.addInitializer(g.uniqueName(`${outName}.coeff${k}`), new Float32Array([coeff[k]]), [])],
              {},
              outName,
            ),
          );
        const onnxOp = op === 'SUM' ? 'Sum' : op === 'PROD' ? 'Mul' : 'Max';
        let y = values[0];
        if (onnxOp === 'Mul') for (const v of values.slice(1)) y = g.op('Mul', [y, v], {}, outName);
        else y = g.op(onnxOp, values, {}, outName);
        setTop(y, ins[0].shape);
        break;
      }
      case 'Pooling': {
        const inp = x();
        const p = l.sub('pooling_param');
        const pool = p.enumName('pool', ['MAX', 'AVE', 'STOCHASTIC'], 'MAX');
        if (pool === 'STOCHASTIC') throw err(`Expected MAX or AVE pooling in ${where} but received STOCHASTIC`);
        if (p.bool('global_pooling', false)) {
          setTop(g.op(pool === 'MAX' ? 'GlobalMaxPool' : 'GlobalAveragePool', [inp.value], {}, outName), [
            ...inp.shape.slice(0, 2),
            1,
            1,
          ]);
          break;
        }
        const [kh, kw] = hw(p, 'kernel_size', 0, 'kernel_h', 'kernel_w');
        const [sh, sw] = hw(p, 'stride', 1, 'stride_h', 'stride_w');
        const [ph, pw] = hw(p, 'pad', 0, 'pad_h', 'pad_w');
        if (kh < 1 || kw < 1) throw err(`Expected kernel_size in ${where}`);
        const ceil = p.enumName('round_mode', ['CEIL', 'FLOOR'], 'CEIL') === 'CEIL';
        const [H, W] = [inp.shape[2], inp.shape[3]];
        const outSize = (n: number, k: number, s: number, pad: number) => {
          let o = (ceil ? Math.ceil((n + 2 * pad - k) / s) : Math.floor((n + 2 * pad - k) / s)) + 1;
          if (pad > 0 && (o - 1) * s >= n + pad) o--; // Caffe: the last window must start inside the image
          return o;
        };
        const oh = outSize(H, kh, sh, ph);
        const ow = outSize(W, kw, sw, pw);
        // explicit end pads so that ONNX's floor formula gives Caffe's size: the smallest e ≥ 0 with
        // floor((n + p + e − k) / s) + 1 = o (extra end padding that no window reaches changes nothing)
        const endPad = (n: number, o: number, k: number, s: number, p: number) => {
          const e = Math.max(0, (o - 1) * s + k - n - p);
          if (o < 1 || e >= k || e > o * s - 1 + k - n - p)
            throw err(
              `Expected pooling windows that fit the input in ${where} (kernel ${kh}×${kw} stride ${sh}×${sw} on ${H}×${W})`,
            );
          return e;
        };
        const endH = endPad(H, oh, kh, sh, ph);
        const endW = endPad(W, ow, kw, sw, pw);
        let y: string;
        if (pool === 'MAX') {
          y = g.op(
            'MaxPool',
            [inp.value],
            { kernel_shape: [kh, kw], strides: [sh, sw], pads: [ph, pw, endH, endW] },
            outName,
          );
        } else {
          // Caffe AVE divides by the window clipped to the padded input (zeros of the pad counted, the ceil overhang
          // not): pad with zeros explicitly, then average without counting ONNX's end pads
          let v = inp.value;
          if (ph || pw)
            v = g.op(
              'Pad',
              [v, g.addInitializer(g.uniqueName(`${outName}.pads`), int64s([0, 0, ph, pw, 0, 0, ph, pw]), [8])],
              { mode: 'constant' },
              outName,
            );
          y = g.op(
            'AveragePool',
            [v],
            {
              kernel_shape: [kh, kw],
              strides: [sh, sw],
              pads: [0, 0, endPad(H + 2 * ph, oh, kh, sh, 0), endPad(W + 2 * pw, ow, kw, sw, 0)],
              count_include_pad: 0,
            },
            outName,
          );
        }
        setTop(y, [...inp.shape.slice(0, 2), oh, ow]);
        break;
      }
      case 'Normalize': {
        const inp = x();
        const p = l.sub('norm_param');
        const acrossSpatial = p.bool('across_spatial', true);
        const shared = p.bool('channel_shared', true);
        const eps = p.num('eps', 1e-10);
        const c = inp.shape[1];
        const [scale] = weightsOf(name, type, 1);
        checkCount(scale, shared ? 1 : c, 'scale', name);
        const axes = acrossSpatial ? inp.shape.map((_, k) => k).slice(1) : [1];
        const ss = g.op('ReduceSumSquare', [inp.value], { axes, keepdims: 1 }, `${outName}.sumsq`);
        const plus = g.op(
          'Add',
          [ss, g.addInitializer(g.uniqueName(`${outName}.eps`), new Float32Array([eps]), [])],
          {},
          `${outName}.sumsq_eps`,
        );
        const norm = g.op('Sqrt', [plus], {}, `${outName}.norm`);
        const div = g.op('Div', [inp.value, norm], {}, `${outName}.unit`);
        const dims = shared ? [] : [c, ...inp.shape.slice(2).map(() => 1)];
        const y = g.op('Mul', [div, g.addInitializer(g.uniqueName(`${outName}.scale`), scale.data, dims)], {}, outName);
        setTop(y, inp.shape);
        break;
      }
      case 'Permute': {
        const inp = x();
        const order = l.sub('permute_param').nums('order');
        const perm = [...order];
        for (let k = 0; k < inp.shape.length; k++) if (!perm.includes(k)) perm.push(k);
        if (perm.length !== inp.shape.length || perm.some((k) => k < 0 || k >= inp.shape.length))
          throw err(`Expected a permutation of ${inp.shape.length} axes for order in ${where} but received [${order}]`);
        if (perm[0] !== 0) batchKept = false;
        setTop(
          g.op('Transpose', [inp.value], { perm }, outName),
          perm.map((k) => inp.shape[k]),
        );
        break;
      }
      case 'Flatten':
      case 'Reshape': {
        const inp = x();
        const r = inp.shape.length;
        let shape: number[];
        if (type === 'Flatten') {
          const p = l.sub('flatten_param');
          const axis = (p.num('axis', 1) + r) % r;
          const end = (p.num('end_axis', -1) + r) % r;
          shape = [...inp.shape.slice(0, axis), size(inp.shape.slice(axis, end + 1)), ...inp.shape.slice(end + 1)];
        } else {
          const p = l.sub('reshape_param');
          const dims = p.sub('shape').nums('dim');
          const axis0 = p.num('axis', 0);
          const axis = axis0 < 0 ? r + 1 + axis0 : axis0;
          const numAxes = p.num('num_axes', -1);
          const endAx = numAxes === -1 ? r : axis + numAxes;
          const mid = dims.map((d, k) => (d === 0 ? inp.shape[axis + k] : d));
          const known = size([...inp.shape.slice(0, axis), ...mid.filter((d) => d !== -1), ...inp.shape.slice(endAx)]);
          const inferred = size(inp.shape) / known;
          shape = [
            ...inp.shape.slice(0, axis),
            ...mid.map((d) => (d === -1 ? inferred : d)),
            ...inp.shape.slice(endAx),
          ];
          if (!Number.isInteger(inferred) || size(shape) !== size(inp.shape))
            throw err(
              `Expected a reshape of [${inp.shape}] that keeps ${size(inp.shape)} values in ${where} but received dims [${dims}]`,
            );
        }
        // the batch stays dim 0 unless the reshape folds it (Flatten from axis 0, Reshape dims not starting with 0)
        const keep =
          type === 'Flatten'
            ? (l.sub('flatten_param').num('axis', 1) + r) % r > 0
            : !(
                l.sub('reshape_param').num('axis', 0) === 0 && l.sub('reshape_param').sub('shape').nums('dim')[0] !== 0
              );
        if (!keep) batchKept = false;
        const dims = keep ? onnxShape(shape) : int64s(shape);
        const y = g.op(
          'Reshape',
          [inp.value, g.addInitializer(g.uniqueName(`${outName}.shape`), dims, [shape.length])],
          {},
          outName,
        );
        setTop(y, shape);
        if (priorOrigin(bottoms[0])) concatOf.set(tops[0], [bottoms[0]]);
        break;
      }
      case 'Concat': {
        const p = l.sub('concat_param');
        const isPrior = bottoms.every((b) => priorOrigin(b));
        if (isPrior) {
          concatOf.set(tops[0], bottoms);
          break;
        }
        const ins = bottoms.map((b) => blobOf(b, name));
        const r = ins[0].shape.length;
        const axis = ((p.has('concat_dim') ? p.num('concat_dim', 1) : p.num('axis', 1)) + r) % r;
        if (axis === 0) batchKept = false;
        const shape = [...ins[0].shape];
        shape[axis] = ins.reduce((a, i) => a + i.shape[axis], 0);
        if (ins.some((i) => i.shape.length !== r || i.shape.some((d, k) => k !== axis && d !== shape[k])))
          throw err(
            `Expected bottoms of ${where} to agree except on axis ${axis} but received ${ins.map((i) => `[${i.shape}]`).join(', ')}`,
          );
        setTop(
          g.op(
            'Concat',
            ins.map((i) => i.value),
            { axis },
            outName,
          ),
          shape,
        );
        break;
      }
      case 'Softmax': {
        const inp = x();
        const r = inp.shape.length;
        const axis = (l.sub('softmax_param').num('axis', 1) + r) % r;
        if (axis === 0) batchKept = false;
        setTop(g.op('Softmax', [inp.value], { axis }, outName), inp.shape);
        break;
      }
      case 'Dropout':
      case 'Split':
        for (let k = 0; k < tops.length; k++) setTop(x().value, x().shape, k);
        break;
      case 'Silence':
        break;
      case 'PriorBox': {
        const fm = x();
        const p = l.sub('prior_box_param');
        const minSizes = p.nums('min_size');
        const maxSizes = p.nums('max_size');
        const flip = p.bool('flip', true);
        const ratios: number[] = [];
        for (const a of p.nums('aspect_ratio')) {
          for (const r of flip ? [a, 1 / a] : [a])
            if (Math.abs(r - 1) >= 1e-6 && !ratios.some((q) => Math.abs(q - r) < 1e-6)) ratios.push(r);
        }
        if (minSizes.length === 0) throw err(`Expected min_size in ${where}`);
        if (maxSizes.length && maxSizes.length !== minSizes.length)
          throw err(
            `Expected as many max_size as min_size values in ${where} but received ${maxSizes.length} and ${minSizes.length}`,
          );
        if (p.has('img_size') || p.has('img_h') || p.has('img_w')) {
          const [ih, iw] = hw(p, 'img_size', 0, 'img_h', 'img_w');
          if (ih !== inH || iw !== inW)
            throw err(`Expected img_size equal to the input ${inW}×${inH} in ${where} but received ${iw}×${ih}`);
        }
        const [rows, cols] = [fm.shape[2], fm.shape[3]];
        let step: [number, number] = [inH / rows, inW / cols];
        if (p.has('step') || p.has('step_h') || p.has('step_w')) {
          const [a, b] = hw(p, 'step', 0, 'step_h', 'step_w');
          step = [a, b];
        }
        // boxes per cell as Caffe emits them: per min_size: min, √(min·max), then each ratio (w = m√a, h = m/√a px)
        const boxes: Array<{ scale: number; aspectRatio: number }> = [];
        const box = (bw: number, bh: number) => {
          const w = bw / inW;
          const h = bh / inH;
          boxes.push({ scale: Math.sqrt(w * h), aspectRatio: w / h });
        };
        minSizes.forEach((m, k) => {
          box(m, m);
          if (maxSizes.length) box(Math.sqrt(m * maxSizes[k]), Math.sqrt(m * maxSizes[k]));
          for (const a of ratios) box(m * Math.sqrt(a), m / Math.sqrt(a));
        });
        let variance = p.nums('variance');
        if (variance.length === 0) variance = [0.1, 0.1, 0.1, 0.1];
        else if (variance.length === 1) variance = [variance[0], variance[0], variance[0], variance[0]];
        else if (variance.length !== 4)
          throw err(`Expected 1 or 4 variance values in ${where} but received ${variance.length}`);
        priorBoxes.set(tops[0], {
          layer: name,
          map: { size: [rows, cols], step: step[0] === step[1] ? step[0] : step, offset: p.num('offset', 0.5), boxes },
          variance,
          clip: p.bool('clip', false),
          count: rows * cols * boxes.length,
        });
        break;
      }
      case 'DetectionOutput':
        if (detection) throw err(`Expected one DetectionOutput layer in ${protoName} but found more`);
        detection = l;
        break;
      default:
        throw err(
          `Expected Caffe layers of the supported types (Convolution, BatchNorm, Scale, ReLU, PReLU, Eltwise, Pooling, Normalize, Permute, Flatten, Reshape, Concat, Softmax, Dropout, Split, PriorBox, DetectionOutput) but ${protoName} has ${type || 'an untyped'} layer '${name}'`,
        );
    }
  }

  function priorOrigin(blob: string): boolean {
    return priorBoxes.has(blob) || concatOf.has(blob);
  }
  function priorLayers(blob: string, seen = new Set<string>()): PriorBoxInfo[] {
    const pb = priorBoxes.get(blob);
    if (pb) return [pb];
    if (seen.has(blob)) throw err(`Expected the priorbox blobs to form a tree but '${blob}' feeds itself`);
    seen.add(blob);
    return (concatOf.get(blob) ?? []).flatMap((b) => priorLayers(b, seen));
  }

  // --- outputs, priors, spec ------------------------------------------------------------------------
  if (!detection)
    throw err(
      `Expected a DetectionOutput layer (Caffe SSD) in ${protoName} but found none; cannot tell the SSD outputs`,
    );
  const dp = detection.sub('detection_output_param');
  const detName = detection.str('name') ?? 'DetectionOutput';
  const dBottoms = detection.strs('bottom');
  if (dBottoms.length < 3)
    throw err(`Expected DetectionOutput '${detName}' with bottoms loc, conf, priorbox but received ${dBottoms.length}`);
  const numClasses = dp.num('num_classes');
  if (!numClasses || numClasses < 1) throw err(`Expected num_classes in DetectionOutput '${detName}'`);
  if (!dp.bool('share_location', true)) throw err(`Expected share_location true in DetectionOutput '${detName}'`);
  const codeType = dp.enumName('code_type', ['', 'CORNER', 'CENTER_SIZE', 'CORNER_SIZE'], 'CORNER');
  if (codeType !== 'CENTER_SIZE')
    throw err(`Expected code_type CENTER_SIZE in DetectionOutput '${detName}' but received ${codeType}`);
  const varianceInTarget = dp.bool('variance_encoded_in_target', false);
  const priors = priorLayers(dBottoms[2]);
  if (priors.length === 0)
    throw err(
      `Expected the priorbox input '${dBottoms[2]}' of DetectionOutput '${detName}' to come from PriorBox layers`,
    );
  const v0 = priors[0].variance;
  const c0 = priors[0].clip;
  for (const pb of priors) {
    if (pb.variance.some((v, k) => v !== v0[k]))
      throw err(
        `Expected the same variance in every PriorBox layer but '${pb.layer}' has [${pb.variance}], '${priors[0].layer}' [${v0}]`,
      );
    if (pb.clip !== c0) throw err(`Expected the same clip in every PriorBox layer but '${pb.layer}' differs`);
  }
  const numPriors = priors.reduce((a, p) => a + p.count, 0);
  const loc = blobOf(dBottoms[0], detName);
  const conf = blobOf(dBottoms[1], detName);
  if (size(loc.shape) !== numPriors * 4)
    throw err(
      `Expected the loc input '${dBottoms[0]}' of DetectionOutput to hold ${numPriors}·4 values (the priors) but it holds ${size(loc.shape)}`,
    );
  if (size(conf.shape) !== numPriors * numClasses)
    throw err(
      `Expected the conf input '${dBottoms[1]}' of DetectionOutput to hold ${numPriors}·${numClasses} values but it holds ${size(conf.shape)}`,
    );
  const boxes = g.addNode(
    'Reshape',
    [loc.value, g.addInitializer('boxes.shape', int64s([batchKept ? 0 : 1, numPriors, 4]), [3])],
    ['boxes'],
  )[0];
  const scores = g.addNode(
    'Reshape',
    [conf.value, g.addInitializer('scores.shape', int64s([batchKept ? 0 : 1, numPriors, numClasses]), [3])],
    ['scores'],
  )[0];
  const batch: Dim = batchKept ? 'batch' : 1;
  g.addOutput(boxes, [batch, numPriors, 4]);
  g.addOutput(scores, [batch, numPriors, numClasses]);
  const unused = [...weights.layers.keys()].filter(
    (n) => !usedWeights.has(n) && layers.some((l) => l.str('name') === n),
  );
  if (unused.length) throw err(`Expected every weighted layer to be used but ${unused.join(', ')} were not`);

  const round = (v: number) => Number((1 / v).toPrecision(7)); // 1/0.1f → 10 (prototxt variances are float32)
  const weightsCoder = varianceInTarget
    ? ([1, 1, 1, 1] as const)
    : ([round(v0[0]), round(v0[1]), round(v0[2]), round(v0[3])] as const);
  const anchorSpec: DefaultBoxSpec = {
    inputSize: [inH, inW],
    featureMaps: priors.map((p) => p.map),
    clip: c0 ? 'xyxy' : 'none',
  };
  const nms = dp.sub('nms_param');
  const topK = nms.num('top_k', -1);
  const keepTopK = dp.num('keep_top_k', -1);
  const netName = net.str('name') || 'caffe-ssd';
  const model = g.toModel({
    producerName: 'ssd-edge',
    docString: `Caffe SSD '${netName}' converted by ${CAFFE_CONVERTER}. Input data: float32 NCHW BGR 0..255 (${inW}x${inH}). Outputs: boxes (dx,dy,dw,dh against the priors, variances ${v0.join(',')}) and scores (the net's own confidences).`,
  });
  if (!batchKept) {
    const d = model.graph.input[0].type?.tensor_type?.shape?.dim?.[0];
    if (d) {
      delete d.dim_param;
      d.dim_value = 1;
    }
  }
  const spec: ModelSpec = {
    name: options.name ?? netName,
    architecture: 'caffe-ssd',
    source: options.source ?? [source.prototxtName, source.caffemodelName].filter(Boolean).join(' + '),
    converter: CAFFE_CONVERTER,
    input: {
      name: onnxInput,
      height: inH,
      width: inW,
      layout: 'NCHW',
      colorOrder: 'BGR',
      mean: [0, 0, 0],
      std: [1, 1, 1],
      resize: 'stretch',
      interpolation: 'bilinear',
      dynamicBatch: batchKept,
    },
    output: { kind: 'raw', boxes: 'boxes', scores: 'scores' },
    anchors: { spec: anchorSpec },
    labels: pickLabels(options.labels, numClasses, what, 'background'),
    postprocess: {
      scoring: 'none',
      boxEncoding: 'deltas',
      backgroundIndex: dp.num('background_label_id', 0),
      scoreThresh: dp.num('confidence_threshold', 0),
      nmsThresh: nms.num('nms_threshold', 0.3),
      topkCandidates: topK < 0 ? Infinity : topK,
      detectionsPerImg: keepTopK < 0 ? Infinity : keepTopK,
      boxCoder: { weights: [...weightsCoder], order: 'xywh', clip: Infinity },
      clipBoxes: false,
    },
  };
  if (!spec.source) delete spec.source;
  writeModelSpec(model, spec);

  report.push(
    `Caffe SSD '${netName}': input '${inputName}' [N, 3, ${inH}, ${inW}] (NCHW; assumed BGR 0..255, no mean: a deploy prototxt does not state the normalization)`,
    `layers: ${[...counts].map(([t, n]) => `${n} ${t || '?'}`).join(', ')}`,
    `priors: ${numPriors} from ${priors.length} PriorBox layers (maps ${priors.map((p) => (p.map.size as number[]).join('x')).join(', ')}), variances ${v0.map((v) => Number(v.toPrecision(7))).join(', ')}, clip ${c0}`,
    `classes: ${numClasses} (background ${spec.postprocess.backgroundIndex}); outputs boxes [${batch}, ${numPriors}, 4], scores [${batch}, ${numPriors}, ${numClasses}]`,
    `DetectionOutput: confidence > ${spec.postprocess.scoreThresh}, NMS ${spec.postprocess.nmsThresh} over top ${topK} per class, keep ${keepTopK}`,
  );
  if (detection.has('transform_param'))
    report.push(
      'DetectionOutput transform_param (visualization only in Caffe-SSD) ignored: it is not the input normalization',
    );
  return { model, spec, report };
}

export type { CaffeWeights };
