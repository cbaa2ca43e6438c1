/**
 * An ONNX Runtime session living in a worker thread, so a forward pass (which onnxruntime-node runs synchronously
 * on the thread that calls `run`) never blocks the event loop of the app. The worker's code is ./ort-worker.ts
 * (compiled to ./ort-worker.js); inputs are copied to the worker (structured clone), outputs come back by transfer.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { OrtModule } from './ort.ts';
import type { WireTensor, WorkerRequest } from './ort-worker.ts';
import { tensorType, type TensorMap } from './tensor.ts';

/** Input/output description as ONNX Runtime reports it (symbolic dims as strings). */
export interface ValueInfo {
  name: string;
  isTensor: boolean;
  type?: string;
  shape?: ReadonlyArray<number | string>;
}

/** What {@link Session} needs of a session, in-process or in a worker: plain tensors in and out. */
export interface SessionBackend {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  readonly inputMetadata: readonly ValueInfo[];
  readonly outputMetadata: readonly ValueInfo[];
  run(feeds: TensorMap): Promise<TensorMap>;
  release(): Promise<void>;
}

type Info = Pick<SessionBackend, 'inputNames' | 'outputNames' | 'inputMetadata' | 'outputMetadata'>;

/**
 * How to start the worker module next to this one: `ort-worker.js` when running compiled (dist/), directly;
 * `ort-worker.ts` under a TypeScript loader (tests, `node --import tsx`), through a two-line bootstrap that registers
 * tsx inside the worker first (in Node 20 a worker does not get the parent's `--import tsx` hooks, and
 * `execArgv: ['--import=tsx']` does not make it load .ts either). The worker gets no execArgv of the app.
 */
export function workerEntry(): { source: URL | string; eval: boolean } {
  const ext = path.extname(fileURLToPath(import.meta.url)) === '.ts' ? '.ts' : '.js';
  const url = new URL(`./ort-worker${ext}`, import.meta.url);
  if (ext === '.js') return { source: url, eval: false };
  const api = import.meta.resolve('tsx/esm/api');
  const source = `import(${JSON.stringify(api)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(url.href)}); });`;
  return { source, eval: true };
}

export class WorkerOrtSession implements SessionBackend {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  readonly inputMetadata: readonly ValueInfo[];
  readonly outputMetadata: readonly ValueInfo[];
  readonly #worker: Worker;
  readonly #channel: Channel;

  private constructor(worker: Worker, channel: Channel, info: Info) {
    this.#worker = worker;
    this.#channel = channel;
    this.inputNames = info.inputNames;
    this.outputNames = info.outputNames;
    this.inputMetadata = info.inputMetadata;
    this.outputMetadata = info.outputMetadata;
  }

  /**
   * Starts a worker and creates the session there (same arguments as `InferenceSession.create`), loading the
   * onnxruntime-node file `ortEntry` (the one the main thread loaded).
   */
  static async create(
    model: string | Uint8Array,
    options: OrtModule.InferenceSession.SessionOptions,
    ortEntry: string,
  ): Promise<WorkerOrtSession> {
    const { source, eval: isEval } = workerEntry();
    const worker = new Worker(source, { eval: isEval, workerData: { ortEntry }, execArgv: [] });
    const channel = new Channel(worker);
    try {
      const info = (await channel.call({ type: 'create', model, options })) as Info;
      return new WorkerOrtSession(worker, channel, info);
    } catch (err) {
      await worker.terminate();
      throw err;
    }
  }

  async run(feeds: TensorMap): Promise<TensorMap> {
    const wire: Record<string, WireTensor> = {};
    for (const [k, t] of Object.entries(feeds))
      wire[k] = { type: tensorType(t.data), data: t.data as WireTensor['data'], dims: t.dims };
    const out = (await this.#channel.call({ type: 'run', feeds: wire })) as Record<string, WireTensor>;
    const result: TensorMap = {};
    for (const [k, t] of Object.entries(out)) result[k] = { data: t.data as Float32Array, dims: t.dims };
    return result;
  }

  /**
   * Releases the session after the runs already queued, then stops the (now idle) worker: it is never terminated
   * mid-run, which would abort the process inside onnxruntime-node. Await it before `process.exit()` while a run
   * may be in flight.
   */
  async release(): Promise<void> {
    if (this.#channel.dead) return;
    try {
      await this.#channel.call({ type: 'release' });
    } finally {
      this.#channel.dead ??= new Error('session released');
      await this.#worker.terminate();
    }
  }
}

/** An error as it crosses the thread boundary: its class name, message and `code` (e.g. 'ENOENT') if any. */
export interface WireError {
  name: string;
  message: string;
  code?: string | number;
}

/** The fields of `err` the main thread needs to rebuild it (see {@link errorFromWire}). */
export function errorToWire(err: unknown): WireError {
  if (!(err instanceof Error)) return { name: 'Error', message: String(err) };
  const code = (err as { code?: unknown }).code;
  return {
    name: err.name,
    message: err.message,
    ...(typeof code === 'string' || typeof code === 'number' ? { code } : {}),
  };
}

const ERROR_CLASSES: Record<string, ErrorConstructor> = {
  Error,
  TypeError,
  RangeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
};

/**
 * Rebuilds a worker's error on this thread with the same class (TypeError, RangeError… stay themselves, so contract
 * errors keep their class across the worker), message and `code`; another name (a custom class) gives an Error with
 * that `name`.
 */
export function errorFromWire(w: WireError): Error {
  const Class = Object.hasOwn(ERROR_CLASSES, w.name) ? ERROR_CLASSES[w.name] : Error;
  const err = new Class(w.message);
  if (err.name !== w.name) err.name = w.name;
  if (w.code !== undefined) (err as Error & { code?: string | number }).code = w.code;
  return err;
}

/** A request without its id (the channel numbers them). */
type Request = WorkerRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

/**
 * Request/response over a worker's message port, one promise per request id; a dying worker rejects them all.
 * The worker keeps the process alive only while a request is pending (an idle detector never blocks exit).
 */
class Channel {
  #next = 0;
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  /** Set once the worker has exited or failed: later calls reject at once. */
  dead: Error | null = null;

  constructor(private readonly worker: Worker) {
    worker.on('message', (m: { id: number; ok: boolean; value?: unknown; error?: WireError }) => {
      const p = this.#pending.get(m.id);
      if (!p) return;
      this.#settled(m.id);
      if (m.ok) p.resolve(m.value);
      else p.reject(errorFromWire(m.error ?? { name: 'Error', message: 'ONNX Runtime worker failed' }));
    });
    const fail = (err: Error) => {
      this.dead ??= err;
      for (const p of this.#pending.values()) p.reject(err);
      this.#pending.clear();
      this.worker.unref();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`ONNX Runtime worker exited (code ${code})`)));
  }

  call(msg: Request): Promise<unknown> {
    if (this.dead) return Promise.reject(new Error(`ONNX Runtime worker is gone: ${this.dead.message}`));
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      if (this.#pending.size === 0) this.worker.ref();
      this.#pending.set(id, { resolve, reject });
      try {
        this.worker.postMessage({ ...msg, id });
      } catch (err) {
        // e.g. DataCloneError: a detached or uncloneable input
        this.#settled(id);
        reject(err as Error);
      }
    });
  }

  #settled(id: number): void {
    this.#pending.delete(id);
    if (this.#pending.size === 0) this.worker.unref();
  }
}
