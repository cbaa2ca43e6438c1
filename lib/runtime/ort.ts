/**
 * The one place that loads ONNX Runtime (onnxruntime-node). Everything else in ssd-edge speaks plain `{ data, dims }`
 * tensors through {@link Session}; only lib/runtime/ touches the onnxruntime-node API.
 *
 * Which ONNX Runtime: the bundled `onnxruntime-node` dependency, or — for a build of your own, e.g. with CUDA and
 * TensorRT on a Jetson (docs/jetson.md) — the package named by the environment variable `SSD_EDGE_ORT`: the folder of
 * an onnxruntime-node package (the one holding its package.json, `dist/` and `bin/napi-v6/<platform>/<arch>/`), or
 * its entry .js file. It is read once, when ONNX Runtime is first needed (the first session, `listProviders`,
 * `doctor`). A path that does not load fails with one error naming the variable and the path; there is no silent
 * fallback to the bundled build.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import type * as OrtModule from 'onnxruntime-node';
import { firstLine } from '../errors.ts';

/** The onnxruntime-node module type (for lib/runtime only). */
export type Ort = typeof OrtModule;
export type { OrtModule };

/** Environment variable naming an onnxruntime-node package to load instead of the bundled one. */
export const ORT_ENV = 'SSD_EDGE_ORT';

/** Which ONNX Runtime this process loaded. */
export interface OrtInfo {
  /** 'bundled': the onnxruntime-node dependency; 'SSD_EDGE_ORT': the package that variable names. */
  source: 'bundled' | 'SSD_EDGE_ORT';
  /** The module file loaded (its entry .js). */
  entry: string;
  /** The package folder (holds package.json), or null when none was found above the entry. */
  packageDir: string | null;
  /** package.json name and version of that folder (null when absent). */
  packageName: string | null;
  packageVersion: string | null;
  /** ONNX Runtime's version as its JS reports it (`env.versions.node`, else `env.versions.common`). */
  version: string;
  /** The N-API binding (.node) the process loaded, when found among the loaded modules. */
  binding: string | null;
  /** The libonnxruntime shared library mapped into this process (Linux: from /proc/self/maps), when found. */
  library: string | null;
}

const require = createRequire(import.meta.url);

let loaded: { ort: Ort; entry: string; source: OrtInfo['source'] } | null = null;
/** A log level asked for before ONNX Runtime was loaded, applied when it is. */
let pendingLogLevel: OrtLogLevel | null = null;

/** The entry file `SSD_EDGE_ORT` (or the bundled package) resolves to. */
export function resolveOrtEntry(value: string | undefined = process.env[ORT_ENV]): {
  entry: string;
  source: OrtInfo['source'];
} {
  if (value === undefined || value === '') return { entry: require.resolve('onnxruntime-node'), source: 'bundled' };
  const target = path.resolve(value);
  let entry: string;
  try {
    entry = require.resolve(target);
  } catch (err) {
    throw ortLoadError(
      value,
      fs.existsSync(target) ? `no package entry there (${firstLine(err)})` : 'no such file or folder',
      err,
    );
  }
  return { entry, source: 'SSD_EDGE_ORT' };
}

function ortLoadError(value: string, why: string, cause?: unknown): Error {
  return new Error(
    `Cannot load ONNX Runtime from ${ORT_ENV}=${value}: ${why}. Set ${ORT_ENV} to the folder of an onnxruntime-node ` +
      `package (with package.json, dist/ and bin/napi-v6/${process.platform}/${process.arch}/), or unset it to use the bundled onnxruntime-node.`,
    { cause },
  );
}

/**
 * The onnxruntime-node module (loaded on first call, then cached).
 *
 * @throws {Error} `SSD_EDGE_ORT` names something that is not a loadable onnxruntime-node package (one line naming it).
 */
export function ort(): Ort {
  if (loaded) return loaded.ort;
  const { entry, source } = resolveOrtEntry();
  let mod: Ort;
  try {
    mod = require(entry) as Ort;
  } catch (err) {
    if (source === 'bundled') throw err;
    throw ortLoadError(process.env[ORT_ENV]!, firstLine(err), err);
  }
  const missing = ['InferenceSession', 'Tensor', 'env', 'listSupportedBackends'].filter((k) => !(k in (mod as object)));
  if (missing.length) {
    const why = `it loaded, but is not onnxruntime-node (no ${missing.join(', ')} exported)`;
    if (source === 'bundled') throw new Error(`onnxruntime-node: ${why}`);
    throw ortLoadError(process.env[ORT_ENV]!, why);
  }
  loaded = { ort: mod, entry, source };
  if (pendingLogLevel) mod.env.logLevel = pendingLogLevel;
  return mod;
}

/** The entry file of the loaded ONNX Runtime (loads it first); the worker thread loads the same file. */
export function ortEntry(): string {
  ort();
  return loaded!.entry;
}

/** The package folder above `file` (the first ancestor with a package.json), or null. */
function packageDirOf(file: string): string | null {
  for (let dir = path.dirname(file); ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) return null;
  }
}

/**
 * Folder of the loaded onnxruntime-node's native binding (where ONNX Runtime looks for provider libraries), or null.
 */
export function ortBinaryDir(): string | null {
  const binding = loadedBinding();
  if (binding) return path.dirname(binding);
  const dir = packageDirOf(ortEntry());
  if (!dir) return null;
  const bin = path.join(dir, 'bin', 'napi-v6', process.platform, process.arch);
  return fs.existsSync(bin) ? bin : null;
}

/** The onnxruntime_binding .node file among the modules loaded from the ORT package, or null. */
function loadedBinding(): string | null {
  const dir = packageDirOf(ortEntry());
  if (!dir) return null;
  const prefix = dir + path.sep;
  return Object.keys(require.cache).find((f) => f.startsWith(prefix) && f.endsWith('.node')) ?? null;
}

/** The libonnxruntime shared library mapped into this process (Linux only), or null. */
function mappedLibrary(): string | null {
  try {
    const maps = fs.readFileSync('/proc/self/maps', 'utf8');
    const m = /\s(\/\S*libonnxruntime\.so[^\s]*)$/m.exec(maps);
    return m ? m[1] : null;
  } catch {
    return null;
  }
}

/**
 * Which ONNX Runtime is loaded (loads it first): source, entry, package, versions, the binding and library paths.
 *
 * @example
 * ortInfo(); // { source: 'bundled', packageName: 'onnxruntime-node', packageVersion: '1.30.0', version: '1.30.0', binding: '/…/onnxruntime_binding.node', … }
 */
export function ortInfo(): OrtInfo {
  const o = ort();
  const { entry, source } = loaded!;
  const packageDir = packageDirOf(entry);
  let pkg: { name?: string; version?: string } = {};
  if (packageDir) {
    try {
      pkg = JSON.parse(fs.readFileSync(path.join(packageDir, 'package.json'), 'utf8')) as typeof pkg;
    } catch {
      pkg = {};
    }
  }
  return {
    source,
    entry,
    packageDir,
    packageName: pkg.name ?? null,
    packageVersion: pkg.version ?? null,
    version: o.env.versions.node ?? o.env.versions.common,
    binding: loadedBinding(),
    library: mappedLibrary(),
  };
}

export type OrtLogLevel = 'verbose' | 'info' | 'warning' | 'error' | 'fatal';

/**
 * ONNX Runtime's own log level (what it prints on stderr by itself, e.g. failed provider loads). Does not load ONNX
 * Runtime: before it is loaded the level is kept and applied on load (it takes effect at the first session).
 */
export function setOrtLogLevel(level: OrtLogLevel): void {
  pendingLogLevel = level;
  if (loaded) loaded.ort.env.logLevel = level;
}
