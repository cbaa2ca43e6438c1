/** Weights maps the graph builders take (a torchvision state_dict, ONNX initializers, decoded tfjs weights). */

/** One float32 tensor: dims and row-major data (PyTorch / ONNX layout unless a builder says otherwise). */
export interface WeightTensor {
  dims: number[];
  data: Float32Array;
}

/** Tensors by parameter name. */
export type WeightsMap = Record<string, WeightTensor>;

/**
 * Accessor over a weights map that checks shapes and records which tensors were read, so a builder can refuse
 * maps with missing or left-over tensors.
 */
export class WeightReader {
  readonly used = new Set<string>();
  constructor(
    private readonly weights: WeightsMap,
    private readonly what: string,
  ) {}

  /** Whether the map holds a tensor of that name (does not mark it used). */
  has(name: string): boolean {
    return Object.hasOwn(this.weights, name);
  }

  /** Dims of a tensor (throws when missing). */
  dims(name: string): number[] {
    const t = this.weights[name];
    if (!t) throw new TypeError(`Expected tensor '${name}' in ${this.what} weights but it is missing`);
    return t.dims;
  }

  /** Data of a tensor, checking its dims when `dims` is given (−1 = any size). */
  get(name: string, dims?: number[]): Float32Array {
    const actual = this.dims(name);
    const t = this.weights[name];
    if (!(t.data instanceof Float32Array))
      throw new TypeError(`Expected Float32Array data for ${this.what} weight '${name}'`);
    if (dims && (actual.length !== dims.length || dims.some((d, k) => d !== -1 && d !== actual[k]))) {
      throw new TypeError(`Expected dims [${dims}] for ${this.what} weight '${name}' but received [${actual}]`);
    }
    if (t.data.length !== actual.reduce((a, b) => a * b, 1)) {
      throw new TypeError(
        `Expected ${actual.reduce((a, b) => a * b, 1)} values for ${this.what} weight '${name}' but received ${t.data.length}`,
      );
    }
    this.used.add(name);
    return t.data;
  }

  /** Names not read so far (optionally ignoring some). */
  unused(ignore: (name: string) => boolean = () => false): string[] {
    return Object.keys(this.weights).filter((n) => !this.used.has(n) && !ignore(n));
  }
}
