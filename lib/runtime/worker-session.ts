/**
 * An ONNX Runtime session living in a worker thread, so a forward pass (which onnxruntime-node runs synchronously
 * on the thread that calls `run`) never blocks the event loop of the app. It has the subset of the
 * `ort.InferenceSession` surface that {@link Session} uses; inputs are copied to the worker (structured clone),
 * outputs come back by transfer (no copy).
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';

/** What {@link Session} needs of a session, in-process or in a worker. */
export interface OrtSessionLike {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  readonly inputMetadata: readonly ort.InferenceSession.ValueMetadata[];
  readonly outputMetadata: readonly ort.InferenceSession.ValueMetadata[];
  run(feeds: Record<string, ort.Tensor>): Promise<Record<string, ort.Tensor>>;
  release(): Promise<void>;
}

interface WireTensor {
  type: ort.Tensor.Type;
  data: ort.Tensor.DataType;
  dims: readonly number[];
}

// The worker is plain CommonJS given as source (no file to locate after compilation, no TypeScript loader needed
// in the worker); it loads onnxruntime-node from the absolute path this module resolves.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const ort = require(workerData.ortPath);
let session = null;
const meta = (m) => m.map((v) => ({ ...v, shape: v.shape ? [...v.shape] : undefined }));
async function handle(msg) {
  try {
    if (msg.type === 'create') {
      session = await ort.InferenceSession.create(msg.model, msg.options);
      parentPort.postMessage({ id: msg.id, ok: true, value: {
        inputNames: session.inputNames, outputNames: session.outputNames,
        inputMetadata: meta(session.inputMetadata), outputMetadata: meta(session.outputMetadata) } });
    } else if (msg.type === 'run') {
      const feeds = {};
      for (const [k, t] of Object.entries(msg.feeds)) feeds[k] = new ort.Tensor(t.type, t.data, t.dims);
      const out = await session.run(feeds);
      const value = {}, transfer = [];
      for (const [k, t] of Object.entries(out)) {
        value[k] = { type: t.type, data: t.data, dims: t.dims };
        if (t.data && t.data.buffer instanceof ArrayBuffer && !transfer.includes(t.data.buffer)) transfer.push(t.data.buffer);
      }
      parentPort.postMessage({ id: msg.id, ok: true, value }, transfer);
    } else if (msg.type === 'release') {
      if (session) await session.release();
      session = null;
      parentPort.postMessage({ id: msg.id, ok: true });
    }
  } catch (err) {
    parentPort.postMessage({ id: msg.id, ok: false, message: err && err.message ? err.message : String(err) });
  }
}
// One request at a time, in arrival order: a release waits for the runs queued before it, so the main thread
// terminates the worker only when it is idle (terminating it inside an onnxruntime-node run aborts the process).
let queue = Promise.resolve();
parentPort.on('message', (msg) => { queue = queue.then(() => handle(msg)); });
`;

export class WorkerOrtSession implements OrtSessionLike {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  readonly inputMetadata: readonly ort.InferenceSession.ValueMetadata[];
  readonly outputMetadata: readonly ort.InferenceSession.ValueMetadata[];
  readonly #worker: Worker;
  readonly #channel: Channel;

  private constructor(worker: Worker, channel: Channel, info: Pick<OrtSessionLike, 'inputNames' | 'outputNames' | 'inputMetadata' | 'outputMetadata'>) {
    this.#worker = worker;
    this.#channel = channel;
    this.inputNames = info.inputNames;
    this.outputNames = info.outputNames;
    this.inputMetadata = info.inputMetadata;
    this.outputMetadata = info.outputMetadata;
  }

  /** Starts a worker and creates the session there (same arguments as `ort.InferenceSession.create`). */
  static async create(model: string | Uint8Array, options: ort.InferenceSession.SessionOptions): Promise<WorkerOrtSession> {
    const ortPath = createRequire(import.meta.url).resolve('onnxruntime-node');
    // execArgv: [] — the source is CommonJS whatever flags (e.g. --input-type=module) the app was started with.
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { ortPath }, execArgv: [] });
    const channel = new Channel(worker);
    try {
      const info = await channel.call({ type: 'create', model, options }) as Pick<OrtSessionLike, 'inputNames' | 'outputNames' | 'inputMetadata' | 'outputMetadata'>;
      return new WorkerOrtSession(worker, channel, info);
    } catch (err) {
      await worker.terminate();
      throw err;
    }
  }

  async run(feeds: Record<string, ort.Tensor>): Promise<Record<string, ort.Tensor>> {
    const wire: Record<string, WireTensor> = {};
    for (const [k, t] of Object.entries(feeds)) wire[k] = { type: t.type, data: t.data, dims: t.dims };
    const out = await this.#channel.call({ type: 'run', feeds: wire }) as Record<string, WireTensor>;
    const result: Record<string, ort.Tensor> = {};
    for (const [k, t] of Object.entries(out)) result[k] = new ort.Tensor(t.type as 'float32', t.data as Float32Array, t.dims);
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
    worker.on('message', (m: { id: number; ok: boolean; value?: unknown; message?: string }) => {
      const p = this.#pending.get(m.id);
      if (!p) return;
      this.#settled(m.id);
      if (m.ok) p.resolve(m.value);
      else p.reject(new Error(m.message));
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

  call(msg: Record<string, unknown>): Promise<unknown> {
    if (this.dead) return Promise.reject(new Error(`ONNX Runtime worker is gone: ${this.dead.message}`));
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      if (this.#pending.size === 0) this.worker.ref();
      this.#pending.set(id, { resolve, reject });
      try {
        this.worker.postMessage({ ...msg, id });
      } catch (err) {  // e.g. DataCloneError: a detached or uncloneable input
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
