/**
 * A small scope for kernels built from other kernels of the same backend: `run(name, inputs, attrs)` calls the
 * backend's registered kernel function directly (no engine, no tape) and remembers every intermediate, `done(out)`
 * frees them all except the output. This is how tfjs's own backends compose kernels (e.g. wasm StridedSlice → Slice
 * + Reshape).
 */
import type { DataId, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import type { Tf } from '../backend.ts';

/** The part of a backend a composed kernel needs. */
export interface KernelBackend {
  disposeData(dataId: DataId, force?: boolean): boolean;
}

export class KernelScope {
  private readonly temps: TensorInfo[] = [];

  constructor(
    private readonly tf: Tf,
    private readonly backend: KernelBackend,
    private readonly backendName: string,
  ) {}

  /** Runs kernel `name` of this backend on `inputs` (TensorInfo or an array, e.g. Concat) and keeps its output. */
  run(name: string, inputs: Record<string, TensorInfo> | TensorInfo[], attrs: object = {}): TensorInfo {
    const kernel = this.tf.getKernel(name, this.backendName);
    if (!kernel) throw new Error(`kernel ${name} is not registered for the ${this.backendName} backend`);
    const out = kernel.kernelFunc({
      inputs: inputs as never,
      backend: this.backend as never,
      attrs: attrs as unknown as NamedAttrMap,
    }) as TensorInfo | TensorInfo[];
    const info = Array.isArray(out) ? out[0] : out;
    this.temps.push(info);
    return info;
  }

  reshape(x: TensorInfo, shape: number[]): TensorInfo {
    return this.run('Reshape', { x }, { shape });
  }

  /** Pads (positive) or crops (negative) every axis: `edges[i] = [before, after]`. */
  padOrCrop(x: TensorInfo, edges: Array<[number, number]>): TensorInfo {
    let out = x;
    if (edges.some(([a, b]) => a > 0 || b > 0)) {
      const paddings = edges.map(([a, b]) => [Math.max(0, a), Math.max(0, b)]);
      out = this.run('PadV2', { x: out }, { paddings, constantValue: 0 });
    }
    if (edges.some(([a, b]) => a < 0 || b < 0)) {
      const begin = edges.map(([a]) => Math.max(0, -a));
      const size = edges.map(([a, b], i) => out.shape[i] - Math.max(0, -a) - Math.max(0, -b));
      out = this.run('Slice', { x: out }, { begin, size });
    }
    return out;
  }

  /** Frees every intermediate except `out` (which the caller returns to the engine). */
  done(out: TensorInfo): TensorInfo {
    for (const t of this.temps) if (t !== out) this.backend.disposeData(t.dataId);
    this.temps.length = 0;
    return out;
  }
}
