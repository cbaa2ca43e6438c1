/**
 * The feature cache of the fast path: the frozen part's outputs (the cut tensors, NCHW float32 as ONNX Runtime
 * returns them) and the loss targets of each image variant, so that each epoch only runs the trained part.
 * Entries carry the generation of the variants they were computed for; a lookup for another generation misses
 * (the variants were redrawn). The cache holds at most `capacity` entries, and keeps a new one only while `room()`
 * says so (train.ts: the process's resident memory stays under the budget); beyond that, entries are computed when
 * needed and not kept, so the budget holds whatever the dataset's size.
 */
import type { ImageTargets } from './loss.ts';

/** The tensors where the graph is cut, in the order of the model's cut points, and their dims. */
export interface Features {
  data: Float32Array[];
  dims: number[][];
}

/** One training sample as the trained part takes it. */
export interface CacheEntry {
  features: Features;
  targets: ImageTargets;
  /** The sample id, for messages (a NaN loss names its batch's images). */
  id: string;
}

export class FeatureCache {
  readonly #entries = new Map<string, { generation: number; entry: CacheEntry }>();
  #reserved = 0;
  #hits = 0;
  #misses = 0;

  /**
   * @param capacity Entries that may be held at most (≥ 0).
   * @param room Asked before a new entry is kept: false keeps it out (the memory budget is reached).
   */
  constructor(
    readonly capacity: number,
    readonly room: () => boolean = () => true,
  ) {}

  /** The entry for `key` computed for `generation`, or undefined. */
  get(key: string, generation: number): CacheEntry | undefined {
    const e = this.#entries.get(key);
    if (e && e.generation === generation) {
      this.#hits++;
      return e.entry;
    }
    this.#misses++;
    return undefined;
  }

  /** Keeps an entry when there is room (an entry of an older generation under the same key is replaced). */
  put(key: string, generation: number, entry: CacheEntry, _bytes?: number): boolean {
    if (this.#entries.has(key) || (this.size < this.capacity && this.room())) {
      this.#entries.set(key, { generation, entry });
      return true;
    }
    return false;
  }

  /** Takes one slot for something else of the same size (validation features); false when full. */
  reserve(_bytes?: number): boolean {
    if (this.size >= this.capacity || !this.room()) return false;
    this.#reserved++;
    return true;
  }

  /** Entries held (reserved slots included). */
  get size(): number {
    return this.#entries.size + this.#reserved;
  }

  /** Lookups that found / did not find their entry. */
  get stats(): { hits: number; misses: number } {
    return { hits: this.#hits, misses: this.#misses };
  }

  clear(): void {
    this.#entries.clear();
    this.#reserved = 0;
  }
}
