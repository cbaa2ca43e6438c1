/**
 * The worker-thread side of {@link WorkerOrtSession} (lib/runtime/worker-session.ts): one ONNX Runtime session in a
 * worker, driven by messages `{ id, type: 'create' | 'run' | 'release', … }` and answering `{ id, ok, value | error }` (error: name, message, code).
 * It loads the same onnxruntime-node file as the main thread (`workerData.ortEntry`, see lib/runtime/ort.ts), so a
 * build chosen with SSD_EDGE_ORT is used here too. Outputs go back by transfer (no copy).
 *
 * Requests run one at a time, in arrival order: a release waits for the runs queued before it, so the main thread
 * terminates the worker only when it is idle (terminating it inside an onnxruntime-node run aborts the process).
 */
import { createRequire } from 'node:module';
import { parentPort, workerData } from 'node:worker_threads';
import { SESSION_DISPOSED } from './messages.ts';
import type { OrtModule } from './ort.ts';
import { errorToWire } from './worker-session.ts';

/** A tensor on the wire: the element type, data and dims (structured-clone friendly). */
export interface WireTensor {
  type: OrtModule.Tensor.Type;
  data: OrtModule.Tensor.DataType;
  dims: readonly number[];
}

/** What the main thread sends. */
export type WorkerRequest =
  | { id: number; type: 'create'; model: string | Uint8Array; options: OrtModule.InferenceSession.SessionOptions }
  | { id: number; type: 'run'; feeds: Record<string, WireTensor> }
  | { id: number; type: 'release' };

if (parentPort) {
  const port = parentPort;
  const ort = createRequire(import.meta.url)((workerData as { ortEntry: string }).ortEntry) as typeof OrtModule;
  let session: OrtModule.InferenceSession | null = null;
  const meta = (m: readonly OrtModule.InferenceSession.ValueMetadata[]) =>
    m.map((v) => ({ ...v, shape: 'shape' in v && v.shape ? [...v.shape] : undefined }));

  const handle = async (msg: WorkerRequest): Promise<void> => {
    try {
      if (msg.type === 'create') {
        session = await ort.InferenceSession.create(msg.model as Uint8Array, msg.options);
        port.postMessage({
          id: msg.id,
          ok: true,
          value: {
            inputNames: session.inputNames,
            outputNames: session.outputNames,
            inputMetadata: meta(session.inputMetadata),
            outputMetadata: meta(session.outputMetadata),
          },
        });
      } else if (msg.type === 'run') {
        if (!session) throw new Error(SESSION_DISPOSED); // the answer to a run after release
        const feeds: Record<string, OrtModule.Tensor> = {};
        for (const [k, t] of Object.entries(msg.feeds))
          feeds[k] = new ort.Tensor(t.type as 'float32', t.data as Float32Array, t.dims);
        const out = await session.run(feeds);
        const value: Record<string, WireTensor> = {};
        const transfer: ArrayBuffer[] = [];
        for (const [k, t] of Object.entries(out)) {
          value[k] = { type: t.type, data: t.data, dims: t.dims };
          const buf = (t.data as { buffer?: unknown }).buffer;
          if (buf instanceof ArrayBuffer && !transfer.includes(buf)) transfer.push(buf);
        }
        port.postMessage({ id: msg.id, ok: true, value }, transfer);
      } else if (msg.type === 'release') {
        if (session) await session.release();
        session = null;
        port.postMessage({ id: msg.id, ok: true });
      }
    } catch (err) {
      port.postMessage({ id: msg.id, ok: false, error: errorToWire(err) }); // name and code too: the class survives
    }
  };

  let queue = Promise.resolve();
  port.on('message', (msg: WorkerRequest) => {
    queue = queue.then(() => handle(msg));
  });
}
