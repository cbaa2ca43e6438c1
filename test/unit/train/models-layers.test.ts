/**
 * The building blocks of the tfjs SSD models (lib/train/models/layers.ts, cut.ts):
 * - weight layouts OIHW ↔ HWIO (hand-indexed element, round trip);
 * - the dilated conv as space-to-batch: equals tfjs's own dilated conv2d, and its gradients equal those of an
 *   undilated conv with the zero-inserted kernel (an independent formulation of the same function);
 * - max pool in ONNX ceil mode and with padding, against ONNX Runtime's MaxPool;
 * - cutOnnxGraph: keeps what the named tensors need, drops the rest, ORT runs the cut graph.
 */
import test from 'ava';
import * as ort from 'onnxruntime-node';
import type * as tfc from '@tensorflow/tfjs-core';
import { GraphBuilder } from '../../../lib/model/graph.ts';
import { readOnnx, writeOnnx } from '../../../lib/model/onnx.ts';
import { loadTf } from '../../../lib/train/backend.ts';
import { cutOnnxGraph } from '../../../lib/train/models/cut.ts';
import {
  conv2d,
  hwioToOihw,
  maxPool,
  oihwToHwio,
  seededUniform,
  xavierUniform,
} from '../../../lib/train/models/layers.ts';
import { mulberry32 } from '../../helpers/random.ts';

const random = (n: number, seed: number) => {
  const r = mulberry32(seed);
  return Float32Array.from({ length: n }, () => r() * 2 - 1);
};

test('OIHW ↔ HWIO: element [o, i, y, x] lands at [y, x, i, o]; round trip is exact', (t) => {
  const dims = [5, 3, 2, 4]; // O, I, kh, kw
  const w = random(5 * 3 * 2 * 4, 1);
  const hwio = oihwToHwio(w, dims);
  const [o, i, y, x] = [4, 2, 1, 3];
  t.is(hwio[((y * 4 + x) * 3 + i) * 5 + o], w[((o * 3 + i) * 2 + y) * 4 + x]);
  t.deepEqual(hwioToOihw(hwio, [2, 4, 3, 5]), w);
});

test('seeded Xavier-uniform: deterministic, within ±√(6/(fan_in+fan_out)), spread like a uniform', (t) => {
  const shape = [3, 3, 64, 24];
  const a = xavierUniform(shape, seededUniform(9));
  t.deepEqual(xavierUniform(shape, seededUniform(9)), a);
  t.notDeepEqual(xavierUniform(shape, seededUniform(10)), a);
  const bound = Math.sqrt(6 / ((64 + 24) * 9));
  t.true(a.every((v) => Math.abs(v) <= bound));
  const mean = a.reduce((s, v) => s + v, 0) / a.length;
  const std = Math.sqrt(a.reduce((s, v) => s + (v - mean) ** 2, 0) / a.length);
  t.true(Math.abs(mean) < 0.02 * bound && Math.abs(std - bound / Math.sqrt(3)) < 0.02 * bound, `${mean} ${std}`);
});

/** The HWIO kernel of a dilated conv written out with zeros between the taps: [(k−1)·d + 1]² taps. */
function zeroInserted(w: Float32Array, [kh, kw, ci, co]: number[], d: number): { data: Float32Array; shape: number[] } {
  const eh = (kh - 1) * d + 1;
  const ew = (kw - 1) * d + 1;
  const out = new Float32Array(eh * ew * ci * co);
  for (let y = 0; y < kh; y++)
    for (let x = 0; x < kw; x++)
      for (let c = 0; c < ci * co; c++) out[(y * d * ew + x * d) * ci * co + c] = w[(y * kw + x) * ci * co + c];
  return { data: out, shape: [eh, ew, ci, co] };
}

for (const backend of ['wasm', 'cpu'] as const) {
  test.serial(
    `${backend}: dilated conv as space-to-batch = tfjs dilated conv2d; gradients = the zero-inserted kernel's`,
    async (t) => {
      const { tf } = await loadTf(backend);
      const cases: Array<[number, number, number, number, number]> = [
        [19, 19, 6, 6, 3], // SSD300 conv6
        [10, 13, 2, 2, 3],
        [7, 9, 0, 3, 2],
        [12, 11, 1, 4, 3],
      ];
      for (const [h, w, pad, d, k] of cases) {
        const what = `${h}×${w} pad ${pad} dilation ${d} kernel ${k}`;
        const xData = random(2 * h * w * 5, h);
        const fData = random(k * k * 5 * 7, w);
        const x = tf.tensor4d(xData, [2, h, w, 5]);
        const f = tf.tensor4d(fData, [k, k, 5, 7]);
        const b = tf.tensor1d(random(7, 3));
        const pads = [pad, pad, pad, pad];
        const got = conv2d(tf, x, f, b, 1, pads, d);
        const ref = tf.add(
          tf.conv2d(
            x,
            f,
            1,
            [
              [0, 0],
              [pad, pad],
              [pad, pad],
              [0, 0],
            ],
            'NHWC',
            d,
          ),
          b,
        );
        t.deepEqual(got.shape, ref.shape, what);
        t.deepEqual(got.dataSync(), ref.dataSync(), `${what}: forward`);
        // gradients: loss = Σ c·y, against an undilated conv with the zero-inserted kernel
        const c = tf.tensor(random(got.size, 4), got.shape);
        const ez = zeroInserted(fData, [k, k, 5, 7], d);
        const big = tf.tensor4d(ez.data, ez.shape as [number, number, number, number]);
        const [gx, gf] = tf.grads((xx: tfc.Tensor, ff: tfc.Tensor) =>
          tf.sum(tf.mul(conv2d(tf, xx as tfc.Tensor4D, ff as tfc.Tensor4D, b, 1, pads, d), c)),
        )([x, f]);
        const [rx, rbig] = tf.grads((xx: tfc.Tensor, ff: tfc.Tensor) =>
          tf.sum(
            tf.mul(
              tf.add(
                tf.conv2d(
                  xx as tfc.Tensor4D,
                  ff as tfc.Tensor4D,
                  1,
                  [
                    [0, 0],
                    [pad, pad],
                    [pad, pad],
                    [0, 0],
                  ],
                  'NHWC',
                ),
                b,
              ),
              c,
            ),
          ),
        )([x, big]);
        const close = (a: ArrayLike<number>, e: ArrayLike<number>, label: string) => {
          let m = 0;
          for (let i = 0; i < e.length; i++) m = Math.max(m, Math.abs(a[i] - e[i]) / Math.max(1, Math.abs(e[i])));
          t.true(m <= 1e-4, `${what} ${label}: ${m}`);
        };
        close(gx.dataSync(), rx.dataSync(), 'd/dx');
        const rb = rbig.dataSync();
        const rf = new Float32Array(fData.length);
        const ew = (k - 1) * d + 1;
        for (let y = 0; y < k; y++)
          for (let xx = 0; xx < k; xx++)
            for (let ch = 0; ch < 35; ch++) rf[(y * k + xx) * 35 + ch] = rb[(y * d * ew + xx * d) * 35 + ch];
        close(gf.dataSync(), rf, 'd/dw');
        tf.dispose([x, f, b, got, ref, c, big, gx, gf, rx, rbig]);
      }
    },
  );
}

test.serial('maxPool: ONNX ceil_mode and padding, as ONNX Runtime computes them', async (t) => {
  const { tf } = await loadTf('wasm');
  for (const [size, k, s, pad, ceil] of [
    [75, 2, 2, 0, true], // SSD300 pool3: 75 → 38
    [38, 2, 2, 0, false],
    [19, 3, 1, 1, false], // pool5
    [9, 3, 2, 0, true],
  ] as const) {
    const data = random(2 * 3 * size * size, size); // NCHW
    const g = new GraphBuilder('pool');
    g.addInput('x', [2, 3, size, size]);
    g.addNode('MaxPool', ['x'], ['y'], {
      kernel_shape: [k, k],
      strides: [s, s],
      pads: [pad, pad, pad, pad],
      ceil_mode: ceil ? 1 : 0,
    });
    g.addOutput('y', [2, 3, 'h', 'w']);
    const session = await ort.InferenceSession.create(writeOnnx(g.toModel()));
    const ref = (await session.run({ x: new ort.Tensor('float32', data, [2, 3, size, size]) })).y;
    await session.release();
    const x = tf.transpose(tf.tensor4d(data, [2, 3, size, size]), [0, 2, 3, 1]) as tfc.Tensor4D;
    const y = tf.transpose(maxPool(tf, x, k, s, pad, ceil), [0, 3, 1, 2]);
    t.deepEqual(y.shape, ref.dims.map(Number), `${size} k${k} s${s} p${pad} ceil ${ceil}`);
    t.deepEqual(y.dataSync(), ref.data as Float32Array);
    tf.dispose([x, y]);
  }
});

test('cutOnnxGraph keeps exactly what the named tensors need; ORT runs the cut graph', async (t) => {
  const g = new GraphBuilder('net');
  g.addInput('x', ['batch', 4]);
  const w1 = g.addInitializer('w1', random(16, 1), [4, 4]);
  const w2 = g.addInitializer('w2', random(16, 2), [4, 4]);
  const w3 = g.addInitializer('w3', random(16, 3), [4, 4]);
  const a = g.op('MatMul', ['x', w1], {}, 'a');
  const r = g.op('Relu', [a], {}, 'r');
  const bOut = g.op('MatMul', [r, w2], {}, 'b');
  const c = g.op('MatMul', [r, w3], {}, 'c');
  g.addNode('Add', [bOut, c], ['out']);
  g.addOutput('out', ['batch', 4]);
  const full = g.toModel();
  const cut = cutOnnxGraph(full, ['r', 'b']);
  t.deepEqual(
    cut.graph.node.map((n) => n.output[0]),
    ['a', 'r', 'b'],
  );
  t.deepEqual(
    (cut.graph.initializer ?? []).map((i) => i.name),
    ['w1', 'w2'],
  );
  t.deepEqual(
    cut.graph.output.map((o) => o.name),
    ['r', 'b'],
  );
  t.is(cut.metadata_props, undefined);
  const x = random(8, 7);
  const session = await ort.InferenceSession.create(writeOnnx(cut));
  const out = await session.run({ x: new ort.Tensor('float32', x, [2, 4]) });
  await session.release();
  // independent: the same products by hand
  const w1d = random(16, 1);
  const w2d = random(16, 2);
  const mm = (m: ArrayLike<number>, w: Float32Array) =>
    Float32Array.from({ length: 8 }, (_, i) => {
      let s = 0;
      for (let k = 0; k < 4; k++) s += m[Math.floor(i / 4) * 4 + k] * w[k * 4 + (i % 4)];
      return s;
    });
  const rRef = mm(x, w1d).map((v) => Math.max(v, 0));
  const bRef = mm(rRef, w2d);
  (['r', 'b'] as const).forEach((name, j) => {
    const ref = [rRef, bRef][j];
    const got = out[name].data as Float32Array;
    t.true(
      got.every((v, i) => Math.abs(v - ref[i]) <= 1e-5),
      name,
    );
  });
  // an input as a cut point: the identity graph
  const ident = readOnnx(writeOnnx(cutOnnxGraph(full, ['x'])));
  t.is(ident.graph.node.length, 0);
  t.throws(() => cutOnnxGraph(full, ['nope']), {
    instanceOf: TypeError,
    message: "Expected a tensor of the graph for cut point 'nope' but the graph has no tensor of that name",
  });
});
