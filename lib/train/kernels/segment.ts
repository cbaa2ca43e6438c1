/**
 * `UnsortedSegmentSum` for wasm (the gradient of `tf.gather`): out[s, …] = Σ_{i: ids[i] = s} x[i, …] for the
 * segment ids of the first dims of x, as OneHot(ids, S)ᵀ · x — one matmul ([S, n] × [n, rest]) on wasm's kernels.
 * Ids outside [0, S) contribute nothing (as tfjs-core's cpu kernel).
 */
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import type { Tf } from '../backend.ts';
import { type KernelBackend, KernelScope } from './run.ts';

export function unsortedSegmentSumConfig(tf: Tf, backendName: string): KernelConfig {
  const kernelFunc: KernelFunc = ({ inputs, backend, attrs }) => {
    const { x, segmentIds } = inputs as { x: TensorInfo; segmentIds: TensorInfo };
    const { numSegments } = attrs as unknown as { numSegments: number };
    const s = new KernelScope(tf, backend as unknown as KernelBackend, backendName);
    const idRank = segmentIds.shape.length;
    const n = segmentIds.shape.reduce((a, b) => a * b, 1);
    const rest = x.shape.slice(idRank);
    const restSize = rest.reduce((a, b) => a * b, 1);
    const ids = s.reshape(
      segmentIds.dtype === 'int32' ? segmentIds : s.run('Cast', { x: segmentIds }, { dtype: 'int32' }),
      [n],
    );
    // wasm's OneHot writes int32 whatever the dtype attribute says: cast.
    const hot = s.run('OneHot', { indices: ids }, { depth: numSegments, onValue: 1, offValue: 0, dtype: 'int32' });
    // [1, S, n] explicitly (wasm's transposeA matmul is a slow plain loop).
    const hotT = s.run(
      'Transpose',
      { x: s.reshape(s.run('Cast', { x: hot }, { dtype: 'float32' }), [1, n, numSegments]) },
      { perm: [0, 2, 1] },
    );
    const xf = x.dtype === 'float32' ? x : s.run('Cast', { x }, { dtype: 'float32' });
    const sum = s.run(
      'BatchMatMul',
      { a: hotT, b: s.reshape(xf, [1, n, restSize]) },
      { transposeA: false, transposeB: false },
    );
    const out = s.reshape(sum, [numSegments, ...rest]);
    return s.done(x.dtype === 'float32' ? out : s.run('Cast', { x: out }, { dtype: x.dtype }));
  };
  return { kernelName: 'UnsortedSegmentSum', backendName, kernelFunc };
}
