/**
 * lib/train/kernels: every gradient kernel registered for wasm equals the cpu backend's kernel within 1e-4 and, for
 * the depthwise ones, the obvious loops (the cpu kernels ignore dilations) — run directly through the engine, so
 * dilations and NCHW are reached too: strides 1–3, dilations 1–3, SAME / VALID /
 * explicit padding, depth multipliers 1–3, 1×1 to 5×5 filters, batch 1–2), frees every intermediate, and a real
 * training step: kernels-step.test.ts.
 */
import test from 'ava';
import type * as tfc from '@tensorflow/tfjs-core';
import { loadTf, type Tf } from '../../../lib/train/backend.ts';
import { registerWasmGradients, WASM_GRADIENT_KERNELS } from '../../../lib/train/kernels/index.ts';
import { assertClose } from '../../helpers/compare.ts';
import { mulberry32, randomArray } from '../../helpers/random.ts';

let tfPromise: Promise<Tf> | undefined;
async function getTf(): Promise<Tf> {
  tfPromise ??= (async () => {
    const { tf } = await loadTf('wasm');
    await import('@tensorflow/tfjs-backend-cpu');
    tf.enableProdMode();
    return tf;
  })();
  return tfPromise;
}

/** Runs `fn` on wasm and on cpu; returns both results as arrays (tensors created inside are disposed). */
async function onBoth(
  tf: Tf,
  fn: () => tfc.Tensor | tfc.Tensor[],
): Promise<{ wasm: Float32Array[]; cpu: Float32Array[] }> {
  const out: Record<string, Float32Array[]> = {};
  for (const b of ['wasm', 'cpu']) {
    await tf.setBackend(b);
    const before = tf.memory().numTensors;
    const r = tf.tidy(fn);
    const list = Array.isArray(r) ? r : [r];
    out[b] = list.map((t) => t.dataSync() as Float32Array);
    tf.dispose(list);
    if (tf.memory().numTensors !== before) throw new Error(`${b}: ${tf.memory().numTensors - before} tensors leaked`);
  }
  await tf.setBackend('wasm');
  return out as { wasm: Float32Array[]; cpu: Float32Array[] };
}

const rand = (tf: Tf, shape: number[], seed: number, scale = 1) =>
  tf.tensor(
    randomArray(
      mulberry32(seed),
      shape.reduce((a, b) => a * b, 1),
      -scale,
      scale,
    ),
    shape,
  );

/** Zeros of a 4-D shape given as number[]. */
function zeros4(tf: Tf, shape: number[]): tfc.Tensor4D {
  const z: tfc.Tensor = tf.zeros(shape);
  return z as tfc.Tensor4D;
}

type Pad = 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];
const explicit = (t: number, b: number, l: number, r: number): Pad => [
  [0, 0],
  [t, b],
  [l, r],
  [0, 0],
];

test.serial('the missing kernels are registered for wasm, once (a second registration adds nothing)', async (t) => {
  const tf = await getTf();
  for (const name of WASM_GRADIENT_KERNELS) t.truthy(tf.getKernel(name, 'wasm'), name);
  t.deepEqual(registerWasmGradients(tf), [], 'idempotent: nothing registered twice');
});

test.serial(
  'wasm Conv2DBackpropFilter = cpu within 1e-4 (strides, SAME/VALID/explicit, 1×1…5×5, NHWC and NCHW)',
  async (t) => {
    const tf = await getTf();
    let worst = 0;
    let k = 0;
    for (const [batch, h, w, cin, cout, fh, fw] of [
      [1, 9, 7, 3, 5, 3, 3],
      [2, 10, 9, 4, 6, 3, 3],
      [2, 8, 8, 2, 3, 1, 1],
      [1, 12, 13, 3, 2, 5, 5],
      [2, 11, 6, 5, 4, 3, 2],
    ]) {
      for (const stride of [1, 2, 3]) {
        for (const pad of ['same', 'valid', explicit(1, 2, 0, 1)] as Pad[]) {
          for (const dataFormat of ['NHWC', 'NCHW'] as const) {
            const seed = 100 + k++;
            const r = await onBoth(tf, () => {
              const x = rand(tf, [batch, h, w, cin], seed);
              const filterShape = [fh, fw, cin, cout];
              const yShape = tf.conv2d(x as tfc.Tensor4D, zeros4(tf, filterShape), stride, pad as never).shape;
              const dy = rand(tf, yShape, seed + 1000);
              const [xx, dyy] =
                dataFormat === 'NCHW' ? [tf.transpose(x, [0, 3, 1, 2]), tf.transpose(dy, [0, 3, 1, 2])] : [x, dy];
              const padF = dataFormat === 'NCHW' && Array.isArray(pad) ? [pad[0], pad[3], pad[1], pad[2]] : pad;
              return tf.engine().runKernel('Conv2DBackpropFilter', { x: xx, dy: dyy }, {
                strides: stride,
                pad: padF,
                dataFormat,
                dimRoundingMode: undefined,
                filterShape,
              } as never) as tfc.Tensor;
            });
            worst = Math.max(
              worst,
              assertClose(
                t,
                r.wasm[0],
                r.cpu[0],
                { abs: 1e-4 },
                `${[batch, h, w, cin, cout, fh, fw, stride, JSON.stringify(pad), dataFormat]}`,
              ).maxAbs,
            );
          }
        }
      }
    }
    t.log(`${k} configurations, max |wasm − cpu| ${worst.toExponential(2)}`);
  },
);

/**
 * The obvious depthwise backprop (loops over every output position and filter tap, dilations included): the
 * reference for dilations, where tfjs's cpu kernels ignore the dilation attribute (tfjs-core's gradient never passes
 * one > 1).
 */
function referenceDepthwiseBackprop(
  x: Float32Array,
  filter: Float32Array,
  dy: Float32Array,
  xShape: number[],
  fShape: number[],
  dyShape: number[],
  stride: number,
  dilation: number,
  top: number,
  left: number,
): { dFilter: Float64Array; dInput: Float64Array } {
  const [b, h, w, c] = xShape;
  const [fh, fw, , m] = fShape;
  const [, ho, wo] = dyShape;
  const dFilter = new Float64Array(fh * fw * c * m);
  const dInput = new Float64Array(b * h * w * c);
  for (let n = 0; n < b; n++)
    for (let y = 0; y < ho; y++)
      for (let xo = 0; xo < wo; xo++)
        for (let i = 0; i < fh; i++)
          for (let j = 0; j < fw; j++) {
            const r = y * stride - top + i * dilation;
            const q = xo * stride - left + j * dilation;
            if (r < 0 || r >= h || q < 0 || q >= w) continue;
            for (let ch = 0; ch < c; ch++)
              for (let k = 0; k < m; k++) {
                const g = dy[((n * ho + y) * wo + xo) * c * m + ch * m + k];
                dFilter[((i * fw + j) * c + ch) * m + k] += x[((n * h + r) * w + q) * c + ch] * g;
                dInput[((n * h + r) * w + q) * c + ch] += filter[((i * fw + j) * c + ch) * m + k] * g;
              }
          }
  return { dFilter, dInput };
}

test.serial(
  'wasm DepthwiseConv2dNativeBackpropFilter / BackpropInput = cpu and the obvious loops within 1e-4 (strides, dilations, pads, multipliers)',
  async (t) => {
    const tf = await getTf();
    let worst = 0;
    let k = 0;
    for (const [batch, h, w, cin, fh, fw] of [
      [1, 9, 7, 3, 3, 3],
      [2, 10, 9, 4, 3, 3],
      [1, 12, 13, 2, 5, 5],
      [2, 8, 11, 3, 1, 1],
      [1, 14, 10, 2, 3, 2],
    ]) {
      for (const mult of [1, 2, 3]) {
        for (const [stride, dilation] of [
          [1, 1],
          [2, 1],
          [3, 1],
          [1, 2],
          [1, 3],
        ]) {
          for (const pad of ['same', 'valid', explicit(2, 0, 1, 1)] as Pad[]) {
            const filterShape = [fh, fw, cin, mult];
            const inputShape = [batch, h, w, cin];
            const seed = 5000 + k++;
            const attrs = { strides: stride, dilations: dilation, pad, dimRoundingMode: undefined };
            let yShape: number[];
            try {
              yShape = tf.depthwiseConv2d(
                zeros4(tf, inputShape),
                zeros4(tf, filterShape),
                stride,
                pad as never,
                'NHWC',
                dilation,
              ).shape;
            } catch {
              continue; // a geometry tfjs itself rejects
            }
            if (yShape.some((d) => d <= 0)) continue;
            const data = {
              x: rand(tf, inputShape, seed),
              f: rand(tf, filterShape, seed + 1),
              dy: rand(tf, yShape, seed + 2),
            };
            const r = await onBoth(tf, () => [
              tf.engine().runKernel('DepthwiseConv2dNativeBackpropFilter', { x: data.x, dy: data.dy }, {
                ...attrs,
                filterShape,
              } as never) as tfc.Tensor,
              tf.engine().runKernel('DepthwiseConv2dNativeBackpropInput', { dy: data.dy, filter: data.f }, {
                ...attrs,
                inputShape,
              } as never) as tfc.Tensor,
            ]);
            const info = tf.backend_util.computeConv2DInfo(
              inputShape as never,
              filterShape as never,
              stride,
              dilation,
              pad as never,
              undefined,
              true,
            );
            const ref = referenceDepthwiseBackprop(
              data.x.dataSync() as Float32Array,
              data.f.dataSync() as Float32Array,
              data.dy.dataSync() as Float32Array,
              inputShape,
              filterShape,
              yShape,
              stride,
              dilation,
              info.padInfo.top,
              info.padInfo.left,
            );
            tf.dispose([data.x, data.f, data.dy]);
            const label = `${[batch, h, w, cin, fh, fw, mult, stride, dilation, JSON.stringify(pad)]}`;
            worst = Math.max(
              worst,
              assertClose(t, r.wasm[0], ref.dFilter, { abs: 1e-4 }, `${label} filter vs loops`).maxAbs,
              assertClose(t, r.wasm[1], ref.dInput, { abs: 1e-4 }, `${label} input vs loops`).maxAbs,
            );
            if (dilation === 1) {
              assertClose(t, r.wasm[0], r.cpu[0], { abs: 1e-4 }, `${label} filter vs cpu`);
              assertClose(t, r.wasm[1], r.cpu[1], { abs: 1e-4 }, `${label} input vs cpu`);
            }
          }
        }
      }
    }
    t.true(k > 150);
    t.log(`${k} configurations, max |wasm − reference| ${worst.toExponential(2)}`);
  },
);

test.serial(
  'wasm UnsortedSegmentSum = cpu (gather gradient, float32 and int32, ids out of range ignored)',
  async (t) => {
    const tf = await getTf();
    const r = await onBoth(tf, () => [
      tf.unsortedSegmentSum(rand(tf, [7, 3, 2], 9), tf.tensor1d([0, 2, 2, 1, 0, 4, 2], 'int32'), 5),
      tf.cast(
        tf.unsortedSegmentSum(tf.tensor2d([1, 2, 3, 4, 5, 6], [3, 2], 'int32'), tf.tensor1d([1, 1, 0], 'int32'), 3),
        'float32',
      ),
      tf.grad((p) => tf.sum(tf.square(tf.gather(p, tf.tensor1d([0, 2, 2, 1, 0], 'int32')))))(rand(tf, [4, 3], 3)),
    ]);
    r.wasm.forEach((a, i) => assertClose(t, a, r.cpu[i], { abs: 1e-5 }, `case ${i}`));
    t.deepEqual([...r.wasm[1]], [5, 6, 4, 6, 0, 0]);
  },
);

test.serial('the composed kernels free every intermediate (wasm data ids before = after)', async (t) => {
  const tf = await getTf();
  await tf.setBackend('wasm');
  const backend = tf.backend() as unknown as { numDataIds(): number };
  const x = rand(tf, [2, 9, 9, 4], 1) as tfc.Tensor4D;
  const f = rand(tf, [3, 3, 4, 2], 2) as tfc.Tensor4D;
  const before = backend.numDataIds();
  for (let i = 0; i < 3; i++) {
    const g = tf.grads((a, b) => tf.sum(tf.depthwiseConv2d(a as tfc.Tensor4D, b as tfc.Tensor4D, 2, 'same')))([x, f]);
    const h = tf.grads((a, b) =>
      tf.sum(tf.conv2d(a as tfc.Tensor4D, tf.reshape(b, [3, 3, 4, 2]) as tfc.Tensor4D, 1, 'valid')),
    )([x, f]);
    tf.dispose([...g, ...h]);
  }
  t.is(backend.numDataIds(), before);
  tf.dispose([x, f]);
});
