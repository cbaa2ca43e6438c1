/**
 * A real training step of SSD-MobileNetV1's and SSD300-VGG16's layer types gives the same gradients on wasm (with
 * lib/train/kernels registered) and cpu. A file of its own (its own process): after several hundred runs of the
 * composed kernels on *distinct* geometries in one process (kernels.test.ts), tfjs-backend-wasm 4.22 aborts in a
 * later Multiply ("Aborted()"); the same kernels on fixed shapes (a training loop: 400 steps measured) do not.
 */
import test from 'ava';
import type * as tfc from '@tensorflow/tfjs-core';
import { loadTf, type Tf } from '../../../lib/train/backend.ts';
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
async function onBoth(tf: Tf, fn: () => tfc.Tensor[]): Promise<{ wasm: Float32Array[]; cpu: Float32Array[] }> {
  const out: Record<string, Float32Array[]> = {};
  for (const b of ['wasm', 'cpu']) {
    await tf.setBackend(b);
    const before = tf.memory().numTensors;
    const list = tf.tidy(fn);
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

/**
 * One training step's gradients of a network with SSD-MobileNetV1's layer types (strided conv, batch norm folded as
 * affine, ReLU6, depthwise 3×3 stride 1 and 2, pointwise conv) and SSD300-VGG16's (3×3 convs, ReLU, 2×2 and 3×3/1
 * max pools, L2Norm with a learned scale, 1×1 and strided 3×3 extras), 3×3 heads on two maps, reshape + concat, the
 * softmax cross-entropy + smooth-L1 of the SSD loss.
 */
function stepGrads(tf: Tf, arch: 'mobilenet' | 'vgg'): tfc.Tensor[] {
  const r = (shape: number[], seed: number, scale: number) => tf.variable(rand(tf, shape, seed, scale));
  const c = 4;
  const k = 2; // boxes per location
  const vars: Record<string, tfc.Variable> =
    arch === 'mobilenet'
      ? {
          conv0: r([3, 3, 3, 8], 1, 0.5),
          bnScale: r([8], 2, 1),
          bnShift: r([8], 3, 0.2),
          dw1: r([3, 3, 8, 1], 4, 0.5),
          pw1: r([1, 1, 8, 12], 5, 0.4),
          dw2: r([3, 3, 12, 1], 6, 0.5),
          pw2: r([1, 1, 12, 16], 7, 0.3),
          box0: r([3, 3, 12, 4 * k], 8, 0.2),
          cls0: r([3, 3, 12, c * k], 9, 0.2),
          box1: r([3, 3, 16, 4 * k], 10, 0.2),
          cls1: r([3, 3, 16, c * k], 11, 0.2),
        }
      : {
          conv1: r([3, 3, 3, 8], 1, 0.5),
          conv2: r([3, 3, 8, 8], 2, 0.3),
          l2scale: r([8], 3, 1),
          conv3: r([3, 3, 8, 12], 4, 0.3),
          extra1: r([1, 1, 12, 6], 5, 0.4),
          extra2: r([3, 3, 6, 10], 6, 0.3),
          box0: r([3, 3, 8, 4 * k], 8, 0.2),
          cls0: r([3, 3, 8, c * k], 9, 0.2),
          box1: r([3, 3, 10, 4 * k], 10, 0.2),
          cls1: r([3, 3, 10, c * k], 11, 0.2),
        };
  const x = rand(tf, [2, 16, 16, 3], 99) as tfc.Tensor4D;
  const list = Object.values(vars);
  const loss = () => {
    const v = vars as Record<string, tfc.Tensor4D>;
    let maps: tfc.Tensor4D[];
    if (arch === 'mobilenet') {
      let y = tf.conv2d(x, v.conv0, 2, 'same'); // 8×8
      y = tf.relu6(tf.add(tf.mul(y, vars.bnScale), vars.bnShift));
      y = tf.relu6(tf.conv2d(tf.depthwiseConv2d(y, v.dw1, 1, 'same'), v.pw1, 1, 'same'));
      const m0 = y;
      y = tf.relu6(tf.conv2d(tf.relu6(tf.depthwiseConv2d(y, v.dw2, 2, 'same')), v.pw2, 1, 'same')); // 4×4
      maps = [m0, y];
    } else {
      let y = tf.relu(tf.conv2d(x, v.conv1, 1, 'same'));
      y = tf.maxPool(y, 2, 2, 'valid'); // 8×8
      y = tf.relu(tf.conv2d(y, v.conv2, 1, 'same'));
      const norm = tf.sqrt(tf.add(tf.sum(tf.square(y), -1, true), 1e-10));
      const m0 = tf.mul(tf.div(y, norm), vars.l2scale) as tfc.Tensor4D; // L2Norm (conv4_3)
      y = tf.maxPool(y, 3, 1, 'same'); // pool5
      y = tf.relu(tf.conv2d(y, v.conv3, 1, 'same'));
      y = tf.relu(tf.conv2d(tf.relu(tf.conv2d(y, v.extra1, 1, 'valid')), v.extra2, 2, 'same')); // 4×4
      maps = [m0, y];
    }
    const box = tf.concat(
      maps.map((m, i) => tf.reshape(tf.conv2d(m, v[`box${i}`], 1, 'same'), [2, -1, 4])),
      1,
    );
    const cls = tf.concat(
      maps.map((m, i) => tf.reshape(tf.conv2d(m, v[`cls${i}`], 1, 'same'), [2, -1, c])),
      1,
    );
    const n = box.shape[1] as number;
    const labels = tf.tensor2d(
      Int32Array.from({ length: 2 * n }, (_, i) => (i % 7 === 0 ? 1 + (i % 3) : 0)),
      [2, n],
      'int32',
    );
    const ce = tf.neg(tf.sum(tf.mul(tf.oneHot(labels, c), tf.logSoftmax(cls)), -1));
    const d = tf.abs(tf.sub(box, 0.3));
    const q = tf.minimum(d, 1);
    return tf.add(tf.mean(ce), tf.mean(tf.add(tf.mul(tf.square(q), 0.5), tf.sub(d, q)))) as tfc.Scalar;
  };
  const { value, grads } = tf.variableGrads(loss, list);
  const out = [value, ...list.map((l) => grads[l.name])];
  tf.dispose(list);
  return out;
}

for (const arch of ['mobilenet', 'vgg'] as const) {
  test.serial(
    `a training step of ${arch === 'mobilenet' ? 'SSD-MobileNetV1' : 'SSD300-VGG16'}'s layer types: wasm gradients = cpu within 1e-4`,
    async (t) => {
      const tf = await getTf();
      const r = await onBoth(tf, () => stepGrads(tf, arch));
      t.true(r.wasm.length > 8);
      r.wasm.forEach((g, i) => {
        t.true(
          g.some((v) => v !== 0),
          `gradient ${i} not all zero`,
        );
        assertClose(t, g, r.cpu[i], { abs: 1e-4, rel: 1e-4 }, `${arch} ${i === 0 ? 'loss' : `gradient ${i}`}`);
      });
    },
  );
}
