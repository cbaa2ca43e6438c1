/**
 * A thin wrapper over an ONNX Runtime session (in this thread, or in a worker thread): provider selection with
 * fallback (and the reasons each provider was not used), thread settings for small devices, a warm-up run, dispose.
 * It takes and returns plain `{ data, dims }` tensors (./tensor.ts), so nothing outside lib/runtime/ depends on the
 * onnxruntime-node API; which onnxruntime-node is loaded (bundled or SSD_EDGE_ORT) is decided in ./ort.ts.
 */
import os from 'node:os';
import {
  assertBoolean,
  assertInteger,
  assertKnownKeys,
  assertObject,
  assertOneOf,
  invalidParameterError,
} from '../is.ts';
import { oneLine } from '../errors.ts';
import { SESSION_DISPOSED } from './messages.ts';
import { ort, ortEntry, type OrtModule } from './ort.ts';
import { WorkerOrtSession, type SessionBackend, type ValueInfo } from './worker-session.ts';
import { assertTensor, tensorType, type Tensor, type TensorMap } from './tensor.ts';
import {
  AUTO_ORDER,
  DEVICES,
  assertProviderOptions,
  executionProvidersFor,
  providerUnavailableReason,
  type Device,
  type Provider,
  type ProviderError,
  type ProviderOptions,
} from './providers.ts';

export type { Device, Provider, ProviderError, ProviderOptions, Tensor, TensorMap, ValueInfo };

export interface SessionOptions {
  /** 'auto' (default): TensorRT → CUDA → CPU, the first whose session can be created. */
  device?: Device;
  /** GPU index for cuda/tensorrt (the only provider option the stock onnxruntime-node binding passes on). Default 0. */
  deviceId?: number;
  /**
   * TensorRT/CUDA options (fp16, int8, engine cache, memory limit), passed to ONNX Runtime under its own key names;
   * the stock onnxruntime-node binding ignores them, a build that forwards them applies them (docs/jetson.md).
   */
  providerOptions?: ProviderOptions;
  /**
   * Intra-op threads: a count, or 'auto' (default) for {@link defaultThreadOptions} of this machine.
   * With an explicit count, spinning stays on (ONNX Runtime's default) unless `spinning: false`.
   */
  threads?: number | 'auto';
  /** Let idle intra-op threads spin (busy-wait) between ops: lower latency, CPU burnt while waiting. */
  spinning?: boolean;
  /**
   * Run ONNX Runtime in a worker thread (default false): onnxruntime-node runs a forward pass synchronously on the
   * calling thread, so in-process the event loop is blocked for its duration; in a worker it stays free (inputs
   * are copied to the worker, ~1 ms for a 3 MB tensor).
   */
  worker?: boolean;
  /** Graph optimization level (default 'all'). */
  graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
  /**
   * Run the model once at creation on these feeds, or on the feeds this function builds from the new session (the
   * first run allocates and is several times slower). With device 'auto' a GPU provider whose first run fails is
   * released and recorded, and the next provider is tried.
   */
  warmup?: TensorMap | ((session: Session) => TensorMap);
}

/** The keys {@link SessionOptions} accepts. */
export const SESSION_OPTION_KEYS = [
  'device',
  'deviceId',
  'providerOptions',
  'threads',
  'spinning',
  'worker',
  'graphOptimizationLevel',
  'warmup',
] as const satisfies ReadonlyArray<keyof SessionOptions>;

export interface ThreadOptions {
  intraOpNumThreads: number;
  spinning: boolean;
}

/**
 * The thread settings used by default for a machine with `cores` logical CPUs.
 *
 * Measured with the face model (SSD MobileNetV1, 1×3×512×512) on a 2-core x86-64 VM, onnxruntime-node 1.30, each
 * configuration in its own process (bench/session-threads.ts → bench/results/session-threads.json), median wall ms
 * per forward over 90 runs:
 *
 * | intra-op threads            | quiet machine | other processes busy |
 * |-----------------------------|---------------|----------------------|
 * | 1                           | 36.1          | 36.8                 |
 * | 2, spinning (ORT default)   | 18.1          | 54.8 (p90 71)        |
 * | 2, spinning off             | 18.9          | 22.2 (p90 43)        |
 *
 * Two threads halve the forward; spinning buys < 1 ms when the cores are free and costs 2.5× when they are not
 * (a spinning thread busy-waits on a core another process needs), which is the normal case on a device where
 * decoding and the app share the cores. So: one thread per core, spinning off. Above 2 cores this is not measured
 * here; the count is capped at 4 (MobileNet-sized convolutions scale poorly beyond), spinning off for the same reason.
 */
export function defaultThreadOptions(cores: number = os.availableParallelism?.() ?? os.cpus().length): ThreadOptions {
  if (cores <= 1) return { intraOpNumThreads: 1, spinning: false };
  return { intraOpNumThreads: Math.min(cores, 4), spinning: false };
}

/** The onnxruntime SessionOptions for a provider and thread settings. */
export function sessionOptionsFor(
  provider: Provider,
  threads: ThreadOptions,
  options: SessionOptions = {},
): OrtModule.InferenceSession.SessionOptions {
  return {
    executionProviders: executionProvidersFor(provider, options.deviceId ?? 0, options.providerOptions),
    intraOpNumThreads: threads.intraOpNumThreads,
    interOpNumThreads: 1, // sequential execution: no inter-op pool needed
    graphOptimizationLevel: options.graphOptimizationLevel ?? 'all',
    extra: { session: { intra_op: { allow_spinning: threads.spinning ? '1' : '0' } } },
  };
}

/**
 * An ONNX Runtime session on the first provider that works.
 *
 * @example
 * const s = await Session.create('model.onnx', { device: 'auto' });
 * s.provider;        // 'cpu' here
 * s.providerErrors;  // [{ provider: 'tensorrt', message: '…not installed…', skipped: true }, { provider: 'cuda', … }]
 * const out = await s.run({ image: { data, dims: [1, 3, 512, 512] } }); // { boxes: { data: Float32Array, dims }, … }
 * await s.dispose();
 */
export class Session {
  /** The provider the session runs on. */
  readonly provider: Provider;
  /** Providers tried before it and why each was not used (empty when the first choice worked). */
  readonly providerErrors: ProviderError[];
  readonly threads: ThreadOptions;
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  /** Whether ONNX Runtime runs in a worker thread. */
  readonly inWorker: boolean;
  #session: SessionBackend | null;
  /** Runs started and not yet settled (dispose waits for them, so no run ever meets a released session). */
  #inFlight = new Set<Promise<unknown>>();

  private constructor(
    session: SessionBackend,
    provider: Provider,
    providerErrors: ProviderError[],
    threads: ThreadOptions,
  ) {
    this.#session = session;
    this.provider = provider;
    this.providerErrors = providerErrors;
    this.threads = threads;
    this.inputNames = session.inputNames;
    this.outputNames = session.outputNames;
    this.inWorker = session instanceof WorkerOrtSession;
  }

  /**
   * Creates a session. `device: 'auto'` tries TensorRT, CUDA, then CPU: a GPU provider whose library is not
   * installed is skipped without trying (recorded with `skipped: true`), one that fails to load or initialise is
   * recorded with ONNX Runtime's message. An explicit device is tried alone and its failure is thrown (also without
   * trying when its library is not installed).
   *
   * @param model Path of an .onnx file or its bytes.
   * @param options {@link SessionOptions}.
   * @throws {TypeError|RangeError} Invalid options.
   * @throws {Error} The model cannot be loaded (message from ONNX Runtime), or the requested device fails
   *   (message starts with `Cannot use device '<device>'`).
   */
  static async create(model: string | Uint8Array, options: SessionOptions = {}): Promise<Session> {
    assertObject('options', options as unknown);
    assertKnownKeys('options', options, SESSION_OPTION_KEYS);
    const device = options.device ?? 'auto';
    assertOneOf('device', device, DEVICES);
    if (options.deviceId !== undefined) assertInteger('deviceId', options.deviceId, 0);
    if (options.providerOptions !== undefined) assertProviderOptions(options.providerOptions);
    if (options.worker !== undefined) assertBoolean('worker', options.worker);
    if (options.spinning !== undefined) assertBoolean('spinning', options.spinning);
    if (options.graphOptimizationLevel !== undefined) {
      assertOneOf('graphOptimizationLevel', options.graphOptimizationLevel, ['disabled', 'basic', 'extended', 'all']);
    }
    const threads = resolveThreads(options);
    const candidates: readonly Provider[] = device === 'auto' ? AUTO_ORDER : [device];
    const errors: ProviderError[] = [];
    for (const provider of candidates) {
      // A provider library that is not installed: skip without trying (ONNX Runtime would log the failed load).
      const reason = providerUnavailableReason(provider);
      if (reason) {
        if (device !== 'auto')
          throw new Error(
            `Cannot use device '${device}': ${reason}. Use device 'auto' or 'cpu' to fall back to the CPU.`,
          );
        errors.push({ provider, message: reason, skipped: true });
        continue;
      }
      let session: SessionBackend;
      try {
        const ortOptions = sessionOptionsFor(provider, threads, options);
        session = options.worker
          ? await WorkerOrtSession.create(model, ortOptions, ortEntry())
          : new InProcessSession(await ort().InferenceSession.create(model as string, ortOptions));
      } catch (err) {
        // A CPU failure is the model's fault (or the runtime's): nothing left to fall back to.
        if (provider === 'cpu') throw err;
        if (device !== 'auto') {
          throw new Error(
            `Cannot use device '${device}': ${oneLine(err)}. Use device 'auto' or 'cpu' to fall back to the CPU.`,
            { cause: err },
          );
        }
        errors.push({ provider, message: oneLine(err), skipped: false });
        continue;
      }
      const s = new Session(session, provider, errors, threads);
      if (options.warmup) {
        try {
          await s.run(typeof options.warmup === 'function' ? options.warmup(s) : options.warmup);
        } catch (err) {
          await s.dispose();
          if (provider === 'cpu') throw err;
          if (device !== 'auto') {
            throw new Error(
              `Cannot use device '${device}': its first run failed: ${oneLine(err)}. Use device 'auto' or 'cpu' to fall back to the CPU.`,
              { cause: err },
            );
          }
          errors.push({ provider, message: `first run failed: ${oneLine(err)}`, skipped: false });
          continue;
        }
      }
      return s;
    }
    /* c8 ignore next */
    throw new Error('unreachable: cpu is always the last candidate');
  }

  #backend(): SessionBackend {
    if (!this.#session) throw new Error(SESSION_DISPOSED);
    return this.#session;
  }

  /** Input/output metadata as onnxruntime reports it (names, types, shapes with symbolic dims as strings). */
  get inputMetadata(): readonly ValueInfo[] {
    return this.#backend().inputMetadata;
  }
  get outputMetadata(): readonly ValueInfo[] {
    return this.#backend().outputMetadata;
  }

  /**
   * Runs the model on plain tensors (`{ data: typed array, dims }`, element type from the array) and returns plain
   * tensors. In-process, onnxruntime-node runs it synchronously on the main thread (after a setImmediate), so the
   * event loop is blocked for the duration of the forward pass; with `worker: true` it is not. ONNX Runtime does not
   * keep the inputs: their arrays may be reused once the promise settles.
   *
   * @throws {TypeError} A feed that is not a `{ data, dims }` tensor.
   * @throws {Error} `Session is disposed` after {@link dispose}; ONNX Runtime's message for a failed run.
   */
  async run(feeds: TensorMap): Promise<TensorMap> {
    const backend = this.#backend();
    if (typeof feeds !== 'object' || feeds === null)
      throw invalidParameterError('feeds', 'object of { data, dims } tensors', feeds);
    for (const [k, t] of Object.entries(feeds)) assertTensor(`feeds.${k}`, t);
    const p = backend.run(feeds);
    this.#inFlight.add(p);
    try {
      return await p;
    } catch (err) {
      // A run the worker received after its release answers with the same message; keep one wording.
      if (this.#session === null && err instanceof Error && /disposed|not initialized/i.test(err.message))
        throw new Error(SESSION_DISPOSED, { cause: err });
      throw err;
    } finally {
      this.#inFlight.delete(p);
    }
  }

  /**
   * Releases the native session once the runs already started have settled (they complete; none is cut off).
   * Idempotent; later calls to `run` throw `Session is disposed`.
   */
  async dispose(): Promise<void> {
    const s = this.#session;
    this.#session = null;
    if (!s) return;
    await Promise.allSettled([...this.#inFlight]);
    await s.release();
  }

  /** Whether `dispose` was called. */
  get disposed(): boolean {
    return this.#session === null;
  }
}

/** onnxruntime-node's session in this thread, behind plain tensors. */
class InProcessSession implements SessionBackend {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  readonly inputMetadata: readonly ValueInfo[];
  readonly outputMetadata: readonly ValueInfo[];

  constructor(private readonly session: OrtModule.InferenceSession) {
    this.inputNames = session.inputNames;
    this.outputNames = session.outputNames;
    this.inputMetadata = session.inputMetadata as readonly ValueInfo[];
    this.outputMetadata = session.outputMetadata as readonly ValueInfo[];
  }

  async run(feeds: TensorMap): Promise<TensorMap> {
    const { Tensor } = ort();
    const ortFeeds: Record<string, OrtModule.Tensor> = {};
    for (const [k, t] of Object.entries(feeds))
      ortFeeds[k] = new Tensor(tensorType(t.data) as 'float32', t.data as Float32Array, t.dims);
    const out = await this.session.run(ortFeeds);
    const result: TensorMap = {};
    for (const [k, t] of Object.entries(out)) result[k] = { data: t.data as Float32Array, dims: t.dims };
    return result;
  }

  release(): Promise<void> {
    return this.session.release();
  }
}

function resolveThreads(options: SessionOptions): ThreadOptions {
  const t = options.threads ?? 'auto';
  if (t === 'auto') {
    const d = defaultThreadOptions();
    return options.spinning === undefined ? d : { ...d, spinning: options.spinning };
  }
  if (typeof t !== 'number') throw invalidParameterError('threads', "integer ≥ 1 or 'auto'", t);
  assertInteger('threads', t, 1);
  return { intraOpNumThreads: t, spinning: options.spinning ?? true };
}
