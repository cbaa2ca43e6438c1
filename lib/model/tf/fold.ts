/**
 * Constant folding of TensorFlow ops: the TF importer evaluates here every node whose inputs are all constants, so
 * the shape arithmetic of TF Object Detection API graphs (Shape → StridedSlice → Pack → Reshape) and their anchor
 * generators (Range, meshgrids of Reshape/Tile, Pack/Unpack, ConcatV2, element-wise maths) become plain constants.
 *
 * Values are TF-layout tensors: `dims` and row-major `data` (Float32Array for floats, Int32Array for integers and
 * booleans). Element-wise maths runs in float32 for floats (Math.fround after each op, as TF's CPU kernels) and in
 * int32 for integers; binary ops broadcast as NumPy.
 */
import type { TfAttr } from './graphdef.ts';

/** A folded tensor. */
export interface FoldedTensor {
  dims: number[];
  data: Float32Array | Int32Array;
}

const size = (dims: number[]) => dims.reduce((a, b) => a * b, 1);
const isInt = (t: FoldedTensor) => t.data instanceof Int32Array;
const like = (t: FoldedTensor, n: number) => (isInt(t) ? new Int32Array(n) : new Float32Array(n));
const FLOAT_TYPES = new Set(['DT_FLOAT', 'DT_HALF', 'DT_DOUBLE', 'DT_BFLOAT16']);

/** Row-major strides of dims. */
function strides(dims: number[]): number[] {
  const s = new Array<number>(dims.length).fill(1);
  for (let i = dims.length - 2; i >= 0; i--) s[i] = s[i + 1] * dims[i + 1];
  return s;
}

/** NumPy broadcasting of two tensors through fn. */
function broadcast(a: FoldedTensor, b: FoldedTensor, fn: (x: number, y: number) => number, what: string): FoldedTensor {
  const rank = Math.max(a.dims.length, b.dims.length);
  const pa = [...new Array(rank - a.dims.length).fill(1), ...a.dims];
  const pb = [...new Array(rank - b.dims.length).fill(1), ...b.dims];
  const dims = pa.map((d, i) => {
    if (d === pb[i] || pb[i] === 1) return d;
    if (d === 1) return pb[i];
    throw new TypeError(`Expected broadcastable shapes in '${what}' but received [${a.dims}] and [${b.dims}]`);
  });
  const sa = strides(pa).map((s, i) => (pa[i] === 1 ? 0 : s));
  const sb = strides(pb).map((s, i) => (pb[i] === 1 ? 0 : s));
  const so = strides(dims);
  const int = isInt(a) && isInt(b);
  const n = size(dims);
  const out = int ? new Int32Array(n) : new Float32Array(n);
  for (let k = 0; k < n; k++) {
    let ia = 0;
    let ib = 0;
    let r = k;
    for (let d = 0; d < rank; d++) {
      const q = Math.floor(r / so[d]);
      r -= q * so[d];
      ia += q * sa[d];
      ib += q * sb[d];
    }
    out[k] = fn(a.data[ia], b.data[ib]);
  }
  return { dims, data: out };
}

const BINARY: Record<string, (x: number, y: number, int: boolean) => number> = {
  Add: (x, y) => x + y,
  AddV2: (x, y) => x + y,
  BiasAdd: (x, y) => x + y,
  Sub: (x, y) => x - y,
  Mul: (x, y) => x * y,
  RealDiv: (x, y) => x / y,
  Div: (x, y, int) => (int ? Math.trunc(x / y) : x / y),
  FloorDiv: (x, y) => Math.floor(x / y),
  Maximum: (x, y) => Math.max(x, y),
  Minimum: (x, y) => Math.min(x, y),
  Pow: (x, y) => x ** y,
  Greater: (x, y) => +(x > y),
  Less: (x, y) => +(x < y),
  Equal: (x, y) => +(x === y),
};
const UNARY: Record<string, (x: number) => number> = {
  Sqrt: Math.sqrt,
  Rsqrt: (x) => 1 / Math.sqrt(x),
  Exp: Math.exp,
  Neg: (x) => -x,
  Square: (x) => x * x,
  Floor: Math.floor,
  Ceil: Math.ceil,
  Round: (x) => {
    const r = Math.round(x); // banker's rounding as tf.round
    return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
  },
  Sigmoid: (x) => 1 / (1 + Math.exp(-x)),
  Reciprocal: (x) => 1 / x,
  Log: Math.log,
};

/** Ops this module can fold (the importer folds them when every input is a constant). */
export const FOLDABLE_OPS: ReadonlySet<string> = new Set([
  ...Object.keys(BINARY),
  ...Object.keys(UNARY),
  'Cast',
  'Range',
  'Reshape',
  'ExpandDims',
  'Squeeze',
  'Tile',
  'Transpose',
  'Pack',
  'Unpack',
  'ConcatV2',
  'StridedSlice',
  'Slice',
  'Fill',
  'ZerosLike',
  'OnesLike',
  'Size',
  'Rank',
  'GatherV2',
  'Split',
  'SplitV',
]);

function axisOf(axis: number, rank: number, what: string): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!(a >= 0 && a < rank))
    throw new TypeError(`Expected an axis in [${-rank}, ${rank}) for '${what}' but received ${axis}`);
  return a;
}

/** Moves axis `axis` of t to the front: [d_axis, rest…] as consecutive slices. */
function slicesAlong(t: FoldedTensor, axis: number): FoldedTensor[] {
  const outer = size(t.dims.slice(0, axis));
  const n = t.dims[axis];
  const inner = size(t.dims.slice(axis + 1));
  const dims = [...t.dims.slice(0, axis), ...t.dims.slice(axis + 1)];
  return Array.from({ length: n }, (_, k) => {
    const out = like(t, outer * inner);
    for (let o = 0; o < outer; o++) out.set(t.data.subarray((o * n + k) * inner, (o * n + k + 1) * inner), o * inner);
    return { dims, data: out };
  });
}

function concat(parts: FoldedTensor[], axis: number, what: string): FoldedTensor {
  const rank = parts[0].dims.length;
  const ax = axisOf(axis, rank, what);
  for (const p of parts)
    if (p.dims.length !== rank || p.dims.some((d, i) => i !== ax && d !== parts[0].dims[i]))
      throw new TypeError(`Expected ConcatV2 inputs of matching shapes in '${what}'`);
  const outer = size(parts[0].dims.slice(0, ax));
  const dims = [...parts[0].dims];
  dims[ax] = parts.reduce((s, p) => s + p.dims[ax], 0);
  const int = parts.every(isInt);
  const out = int ? new Int32Array(size(dims)) : new Float32Array(size(dims));
  let at = 0;
  for (let o = 0; o < outer; o++)
    for (const p of parts) {
      const chunk = size(p.dims.slice(ax));
      out.set(p.data.subarray(o * chunk, (o + 1) * chunk), at);
      at += chunk;
    }
  return { dims, data: out };
}

/** StridedSlice with begin/end/ellipsis-free masks (begin_mask, end_mask, shrink_axis_mask, new_axis_mask 0). */
function stridedSlice(
  t: FoldedTensor,
  b: ArrayLike<number>,
  e: ArrayLike<number>,
  s: ArrayLike<number>,
  a: Record<string, TfAttr>,
  what: string,
) {
  const bm = a.begin_mask?.i ?? 0;
  const em = a.end_mask?.i ?? 0;
  const sm = a.shrink_axis_mask?.i ?? 0;
  if (a.ellipsis_mask?.i || a.new_axis_mask?.i)
    throw new TypeError(`Expected StridedSlice '${what}' without ellipsis_mask / new_axis_mask`);
  const ranges: number[][] = [];
  const dims: number[] = [];
  t.dims.forEach((d, i) => {
    if (i >= b.length) {
      ranges.push(Array.from({ length: d }, (_, k) => k));
      dims.push(d);
      return;
    }
    const st = s[i] || 1;
    const norm = (v: number) => (v < 0 ? v + d : v);
    if (sm & (1 << i)) {
      ranges.push([norm(b[i])]);
      return;
    }
    let lo = bm & (1 << i) ? (st > 0 ? 0 : d - 1) : norm(b[i]);
    let hi = em & (1 << i) ? (st > 0 ? d : -1) : norm(e[i]);
    lo = st > 0 ? Math.min(Math.max(lo, 0), d) : Math.min(Math.max(lo, -1), d - 1);
    hi = st > 0 ? Math.min(Math.max(hi, 0), d) : Math.min(Math.max(hi, -1), d - 1);
    const r: number[] = [];
    for (let k = lo; st > 0 ? k < hi : k > hi; k += st) r.push(k);
    ranges.push(r);
    dims.push(r.length);
  });
  const st = strides(t.dims);
  const out = like(t, size(dims));
  let at = 0;
  const walk = (d: number, base: number) => {
    if (d === ranges.length) {
      out[at++] = t.data[base];
      return;
    }
    for (const k of ranges[d]) walk(d + 1, base + k * st[d]);
  };
  walk(0, 0);
  return { dims, data: out };
}

/**
 * Evaluates one TF op on constant inputs. Returns undefined for ops not in {@link FOLDABLE_OPS}; an array for
 * multi-output ops (Unpack).
 *
 * @throws {TypeError} Inputs that do not fit the op (named with the node).
 */
export function foldTfOp(
  op: string,
  attr: Record<string, TfAttr>,
  ins: FoldedTensor[],
  name: string,
): FoldedTensor | FoldedTensor[] | undefined {
  const [x] = ins;
  if (op in BINARY) {
    const int = isInt(ins[0]) && isInt(ins[1]);
    const f = BINARY[op];
    return broadcast(ins[0], ins[1], int ? (p, q) => f(p, q, true) : (p, q) => Math.fround(f(p, q, false)), name);
  }
  if (op in UNARY) return { dims: x.dims, data: Float32Array.from(x.data, UNARY[op]) };
  switch (op) {
    case 'Cast': {
      const to = attr.DstT?.type ?? 'DT_FLOAT';
      return FLOAT_TYPES.has(to)
        ? { dims: x.dims, data: Float32Array.from(x.data) }
        : { dims: x.dims, data: Int32Array.from(x.data, (v) => (to === 'DT_BOOL' ? +(v !== 0) : Math.trunc(v))) };
    }
    case 'Range': {
      const [start, limit, delta] = ins.map((t) => t.data[0]);
      const n = Math.max(Math.ceil((limit - start) / delta), 0);
      const data = ins.every(isInt) ? new Int32Array(n) : new Float32Array(n);
      for (let k = 0; k < n; k++) data[k] = start + k * delta;
      return { dims: [n], data };
    }
    case 'Reshape': {
      const shape = Array.from(ins[1].data);
      const known = shape.reduce((a, d) => (d >= 0 ? a * d : a), 1);
      const dims = shape.map((d) => (d < 0 ? x.data.length / known : d));
      if (size(dims) !== x.data.length)
        throw new TypeError(`Expected Reshape '${name}' to keep ${x.data.length} values but shape is [${shape}]`);
      return { dims, data: x.data };
    }
    case 'ExpandDims': {
      const ax = axisOf(ins[1].data[0], x.dims.length + 1, name);
      return { dims: [...x.dims.slice(0, ax), 1, ...x.dims.slice(ax)], data: x.data };
    }
    case 'Squeeze': {
      const list = (attr.squeeze_dims ?? attr.axis)?.list?.i ?? [];
      const axes = list.map((a) => axisOf(a, x.dims.length, name));
      return { dims: x.dims.filter((d, i) => (axes.length ? !axes.includes(i) : d !== 1)), data: x.data };
    }
    case 'Tile': {
      const mult = Array.from(ins[1].data);
      let t = x;
      for (let ax = 0; ax < mult.length; ax++) if (mult[ax] !== 1) t = concat(new Array(mult[ax]).fill(t), ax, name);
      return t;
    }
    case 'Transpose': {
      const perm = Array.from(ins[1].data);
      const dims = perm.map((p) => x.dims[p]);
      const si = strides(x.dims);
      const so = strides(dims);
      const out = like(x, x.data.length);
      for (let k = 0; k < out.length; k++) {
        let src = 0;
        let r = k;
        for (let d = 0; d < dims.length; d++) {
          const q = Math.floor(r / so[d]);
          r -= q * so[d];
          src += q * si[perm[d]];
        }
        out[k] = x.data[src];
      }
      return { dims, data: out };
    }
    case 'Pack': {
      const ax = attr.axis?.i ?? 0;
      const expanded = ins.map((t) => {
        const a = axisOf(ax, t.dims.length + 1, name);
        return { dims: [...t.dims.slice(0, a), 1, ...t.dims.slice(a)], data: t.data };
      });
      return concat(expanded, ax, name);
    }
    case 'Unpack':
      return slicesAlong(x, axisOf(attr.axis?.i ?? 0, x.dims.length, name));
    case 'ConcatV2':
      return concat(ins.slice(0, -1), ins[ins.length - 1].data[0], name);
    case 'StridedSlice':
      return stridedSlice(x, ins[1].data, ins[2].data, ins[3].data, attr, name);
    case 'Slice': {
      const begin = Array.from(ins[1].data);
      const sz = Array.from(ins[2].data);
      const end = begin.map((b, i) => (sz[i] < 0 ? x.dims[i] : b + sz[i]));
      return stridedSlice(
        x,
        begin,
        end,
        begin.map(() => 1),
        {},
        name,
      );
    }
    case 'Fill': {
      const dims = Array.from(x.data);
      const v = ins[1];
      const data = like(v, size(dims)).fill(v.data[0]);
      return { dims, data };
    }
    case 'ZerosLike':
    case 'OnesLike':
      return { dims: x.dims, data: like(x, x.data.length).fill(op === 'OnesLike' ? 1 : 0) };
    case 'GatherV2': {
      const ax = axisOf(ins[2]?.data[0] ?? 0, x.dims.length, name);
      if (attr.batch_dims?.i) throw new TypeError(`Expected GatherV2 '${name}' with batch_dims 0`);
      const slices = slicesAlong(x, ax);
      const idx = ins[1];
      const picked = Array.from(idx.data, (i) => {
        const k = i < 0 ? i + x.dims[ax] : i;
        if (!slices[k])
          throw new TypeError(`Expected GatherV2 '${name}' indices in [0, ${x.dims[ax]}) but received ${i}`);
        return slices[k];
      });
      const inner = slices[0]?.dims ?? [];
      // stack the picked slices along `ax`, then shape: x.dims[:ax] + idx.dims + x.dims[ax+1:]
      const stacked = picked.length
        ? concat(
            picked.map((t) => ({ dims: [...t.dims.slice(0, ax), 1, ...t.dims.slice(ax)], data: t.data })),
            ax,
            name,
          )
        : { dims: [...inner.slice(0, ax), 0, ...inner.slice(ax)], data: like(x, 0) };
      return { dims: [...x.dims.slice(0, ax), ...idx.dims, ...x.dims.slice(ax + 1)], data: stacked.data };
    }
    case 'Split':
    case 'SplitV': {
      // Split(axis, value) with num_split; SplitV(value, size_splits, axis)
      const [value, axisT] = op === 'Split' ? [ins[1], ins[0]] : [ins[0], ins[2]];
      const ax = axisOf(axisT.data[0], value.dims.length, name);
      const n = value.dims[ax];
      let sizes: number[];
      if (op === 'Split') {
        const k = attr.num_split?.i ?? 1;
        sizes = new Array(k).fill(n / k);
      } else {
        sizes = Array.from(ins[1].data);
        const known = sizes.filter((v) => v >= 0).reduce((a, b) => a + b, 0);
        sizes = sizes.map((v) => (v < 0 ? n - known : v));
      }
      const parts = slicesAlong(value, ax);
      let at = 0;
      return sizes.map((len) => {
        const group = parts.slice(at, (at += len));
        return group.length
          ? concat(
              group.map((t) => ({ dims: [...t.dims.slice(0, ax), 1, ...t.dims.slice(ax)], data: t.data })),
              ax,
              name,
            )
          : { dims: [...value.dims.slice(0, ax), 0, ...value.dims.slice(ax + 1)], data: like(value, 0) };
      });
    }
    case 'Size':
      return { dims: [], data: Int32Array.of(x.data.length) };
    case 'Rank':
      return { dims: [], data: Int32Array.of(x.dims.length) };
    default:
      return undefined;
  }
}
