/**
 * The tfjs backend of training: loads `@tensorflow/tfjs-core` with one backend — tfjs-node(-gpu) when the user has
 * installed it (never required), else the WebAssembly backend with the gradient kernels it lacks registered from its
 * own kernels (lib/train/kernels/), else the pure-JS cpu backend. tfjs is imported dynamically, only by
 * {@link loadTf}: importing this module (as `ssd-edge doctor` does) loads no tfjs.
 */
import { createRequire, register } from 'node:module';
import { assertOneOf } from '../is.ts';

/** 'auto' = tfjs-node(-gpu) if resolvable, else wasm, else cpu. */
export type TrainBackendName = 'auto' | 'wasm' | 'cpu' | 'tensorflow';
/** The tfjs-core module (what {@link loadTf} returns; with tfjs-node, its re-export of the same API). */
export type Tf = typeof import('@tensorflow/tfjs-core');
/** The backend a loaded tf runs on. */
export type LoadedBackend = 'tensorflow' | 'wasm' | 'cpu';

export const TRAIN_BACKENDS: readonly TrainBackendName[] = ['auto', 'wasm', 'cpu', 'tensorflow'];

const require = createRequire(import.meta.url);

/** The tfjs-node packages, in order of preference (the GPU build first). */
const TFJS_NODE_PACKAGES = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'] as const;

/** Whether `name` resolves from this package (without loading it). */
function resolvable(name: string): boolean {
  try {
    require.resolve(name);
    return true;
  } catch {
    return false;
  }
}

/**
 * tfjs-core's npm bundle (`dist/tf-core.node.js`) has no gradient functions and no chained ops (`x.square()`): the
 * umbrella `@tensorflow/tfjs` adds them from tfjs-core's ES module files, which import each other without file
 * extensions (Node's ES module loader needs them). This resolve hook, limited to imports made by files inside
 * `@tensorflow/tfjs-core/dist/`, retries a relative extensionless import with `.js` (then `/index.js`). The modules
 * it loads share tfjs's global engine and registries with the bundle (tfjs keeps them on globalThis).
 */
export const TFJS_DIST_HOOK = `
export async function resolve(specifier, context, next) {
  if (context.parentURL && context.parentURL.includes('/@tensorflow/tfjs-core/dist/') &&
      specifier.startsWith('.') && !specifier.endsWith('.js')) {
    try { return await next(specifier + '.js', context); } catch { return next(specifier + '/index.js', context); }
  }
  return next(specifier, context);
}`;

let gradientsRegistered = false;

/** Registers tfjs-core's gradient functions and chained ops once (see {@link TFJS_DIST_HOOK}). */
async function registerGradients(tf: Tf): Promise<void> {
  if (gradientsRegistered || tf.getGradient('Conv2D')) return;
  register(`data:text/javascript,${encodeURIComponent(TFJS_DIST_HOOK)}`);
  await import('@tensorflow/tfjs-core/dist/register_all_gradients.js' as string);
  await import('@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops.js' as string);
  if (!tf.getGradient('Conv2D')) throw new Error("tfjs-core's gradient functions did not register");
  gradientsRegistered = true;
}

let loaded: { tf: Tf; backend: LoadedBackend } | undefined;
let loading: Promise<{ tf: Tf; backend: LoadedBackend }> | undefined;

/**
 * Loads tfjs-core and a backend, registers the wasm gradient kernels once ({@link registerWasmGradients}) and
 * returns tf. Idempotent: later calls return the same tf; asking for another backend than the loaded one switches
 * tf to it (`tf.setBackend`) when it is registered, else loads it.
 *
 * - 'auto': tfjs-node-gpu or tfjs-node when resolvable (backend 'tensorflow'), else 'wasm', else 'cpu'.
 * - 'wasm': `@tensorflow/tfjs-backend-wasm` (SIMD when the CPU has it; no threads in Node).
 * - 'cpu': `@tensorflow/tfjs-backend-cpu` (pure JS; slow, a fallback). Its "install tfjs-node" console hint is
 *   silenced (tf prod mode; tfjs-core's debug mode stays off either way).
 * - 'tensorflow': tfjs-node(-gpu); throws when neither is installed.
 *
 * @param backend Default 'auto'.
 * @returns `{ tf, backend }` — the tf module to use for every tensor of the training run, and the backend it runs on.
 * @throws {TypeError} backend not one of 'auto', 'wasm', 'cpu', 'tensorflow'.
 * @throws {Error} 'tensorflow' asked for and tfjs-node is not installed; the wasm or cpu backend failed to load
 *   (with the cause).
 * @example
 * const { tf, backend } = await loadTf(); // backend: 'wasm' unless tfjs-node is installed
 */
export async function loadTf(backend: TrainBackendName = 'auto'): Promise<{ tf: Tf; backend: LoadedBackend }> {
  assertOneOf('backend', backend, TRAIN_BACKENDS);
  while (loading) await loading.catch(() => undefined);
  if (loaded && (backend === 'auto' || backend === loaded.backend)) return loaded;
  loading = load(backend, loaded?.tf);
  try {
    loaded = await loading;
    return loaded;
  } finally {
    loading = undefined;
  }
}

async function load(backend: TrainBackendName, current: Tf | undefined): Promise<{ tf: Tf; backend: LoadedBackend }> {
  const nodePackage = TFJS_NODE_PACKAGES.find(resolvable);
  if (backend === 'tensorflow' || (backend === 'auto' && nodePackage && !current)) {
    if (!nodePackage) {
      throw new Error(
        "backend 'tensorflow' needs @tensorflow/tfjs-node (or -gpu): `npm install @tensorflow/tfjs-node` (it downloads libtensorflow), or use backend 'wasm'",
      );
    }
    // tfjs-node re-exports the whole tfjs API (its own tfjs-core instance, where its backend is registered).
    const tf = (await import(nodePackage)) as unknown as Tf;
    await tf.setBackend('tensorflow');
    await tf.ready();
    return { tf, backend: 'tensorflow' };
  }
  const tf = current ?? ((await import('@tensorflow/tfjs-core')) as Tf);
  await registerGradients(tf);
  const errors: string[] = [];
  for (const name of backend === 'cpu' ? (['cpu'] as const) : (['wasm', 'cpu'] as const)) {
    try {
      if (name === 'wasm') {
        await withoutNewProcessListeners(async () => {
          await import('@tensorflow/tfjs-backend-wasm');
          const { registerWasmGradients } = await import('./kernels/index.ts');
          registerWasmGradients(tf);
          await activate(tf, name);
        });
      } else {
        await import('@tensorflow/tfjs-backend-cpu');
        tf.enableProdMode(); // silences the cpu backend's "install tfjs-node" console warning
        await activate(tf, name);
      }
      return { tf, backend: name };
    } catch (err) {
      errors.push(`${name}: ${err instanceof Error ? err.message : String(err)}`);
      if (backend === 'wasm') break;
    }
  }
  throw new Error(`no tfjs training backend could be loaded (${errors.join('; ')})`);
}

async function activate(tf: Tf, name: string): Promise<void> {
  if (!(await tf.setBackend(name))) throw new Error(`tf.setBackend('${name}') returned false`);
  await tf.ready();
}

/**
 * Runs `fn` (the wasm backend's import and start) and removes the process 'uncaughtException' /
 * 'unhandledRejection' listeners it added: Emscripten's module adds listeners that rethrow (printing a line of
 * minified source), so errors look as they do without tfjs.
 */
async function withoutNewProcessListeners(fn: () => Promise<void>): Promise<void> {
  const events = ['uncaughtException', 'unhandledRejection'] as const;
  const listeners = (e: string) => process.listeners(e as 'uncaughtException') as unknown[];
  const before = events.map((e) => new Set(listeners(e)));
  try {
    await fn();
  } finally {
    events.forEach((e, i) => {
      for (const l of listeners(e)) if (!before[i].has(l)) process.removeListener(e, l as never);
    });
  }
}

/** What `ssd-edge doctor` shows about training. */
export interface TrainingBackendReport {
  /** Backends whose packages resolve here, in the order 'auto' tries them ('tensorflow', 'wasm', 'cpu'). */
  available: string[];
  /** What `loadTf('auto')` would pick ('none' when no tfjs package is installed). */
  selected: string;
  /** Whether @tensorflow/tfjs-node or -gpu is installed (the first name found when so). */
  tfjsNode: boolean;
  /** The tfjs-node package found (null when none). */
  tfjsNodePackage: string | null;
  /** The installed tfjs-core version (null when it does not resolve). */
  tfjsCore: string | null;
}

/**
 * Which training backends are installed and which `loadTf('auto')` would use, by resolving the packages only
 * (no tfjs is loaded).
 *
 * @example
 * await trainingBackendReport(); // { available: ['wasm', 'cpu'], selected: 'wasm', tfjsNode: false, … }
 */
export async function trainingBackendReport(): Promise<TrainingBackendReport> {
  const nodePackage = TFJS_NODE_PACKAGES.find(resolvable) ?? null;
  const available = [
    ...(nodePackage ? ['tensorflow'] : []),
    ...(resolvable('@tensorflow/tfjs-backend-wasm') ? ['wasm'] : []),
    ...(resolvable('@tensorflow/tfjs-backend-cpu') ? ['cpu'] : []),
  ];
  let tfjsCore: string | null = null;
  try {
    tfjsCore = (require('@tensorflow/tfjs-core/package.json') as { version: string }).version;
  } catch {
    tfjsCore = null;
  }
  const selected = tfjsCore || nodePackage ? (available[0] ?? 'none') : 'none';
  return { available, selected, tfjsNode: nodePackage !== null, tfjsNodePackage: nodePackage, tfjsCore };
}
