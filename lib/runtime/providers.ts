/**
 * Execution providers of onnxruntime-node: which exist in this install, and how a device name becomes the
 * `executionProviders` list of a session.
 *
 * What the onnxruntime-node binding can and cannot configure (read from its source, js/node/src/session_options_helper.cc,
 * and the TensorRT provider factory, onnxruntime/core/providers/tensorrt/tensorrt_provider_factory.cc):
 * - CUDA: the binding creates `OrtCUDAProviderOptionsV2` with defaults and sets **only `device_id`**
 *   (`{ name: 'cuda', deviceId }`). No memory limit, cuDNN algorithm search, or CUDA graph option reaches it.
 * - TensorRT: the binding creates `OrtTensorRTProviderOptionsV2` with defaults, sets **only `device_id`**, and
 *   registers it with `AppendExecutionProvider_TensorRT_V2`. That path sets `has_trt_options = true`, and the
 *   TensorRT provider reads the `ORT_TENSORRT_*` environment variables (ORT_TENSORRT_FP16_ENABLE,
 *   ORT_TENSORRT_ENGINE_CACHE_ENABLE, ORT_TENSORRT_CACHE_PATH, …) **only when `has_trt_options` is false**, i.e. when a
 *   program uses the legacy `OrtSessionOptionsAppendExecutionProvider_Tensorrt(options, device_id)` call. So from
 *   Node, FP16 and the engine cache stay off and setting those variables changes nothing; TensorRT rebuilds its
 *   engines for every new session (minutes for large models). Ways around it: give the model fp16 weights (then the
 *   CUDA provider runs it in fp16), or build onnxruntime-node from source with the options wired through
 *   (docs/jetson.md) and load it with SSD_EDGE_ORT: {@link ProviderOptions} are passed in every CUDA/TensorRT entry
 *   under ONNX Runtime's option names, for such a binding to read (the stock one ignores them).
 * - `sessionOptions.extra` entries become session config entries (`AddConfigEntry`), e.g.
 *   `session.intra_op.allow_spinning`; they do not reach provider options.
 * - A provider whose shared library cannot be loaded makes session creation **throw** ("Failed to load shared
 *   library"); onnxruntime-node never falls back by itself. On linux-x64, onnxruntime-node's install script downloads
 *   libonnxruntime_providers_{shared,cuda,tensorrt}.so next to its binding (skipped offline or with
 *   ONNXRUNTIME_NODE_INSTALL=skip); they also need the CUDA 12 / cuDNN 9 / TensorRT libraries on the system.
 *   linux-arm64 (Jetson) builds are CPU-only: Jetson needs an onnxruntime built from source.
 * - Nodes a GPU provider does not support run on the CPU provider, which ONNX Runtime always adds last.
 */
import fs from 'node:fs';
import path from 'node:path';
import { assertBoolean, assertKnownKeys, assertObject, invalidParameterError } from '../is.ts';
import { ort, ortBinaryDir, type OrtModule } from './ort.ts';

export { ortBinaryDir };

/** What the caller asks for: a provider, or 'auto' (TensorRT → CUDA → CPU, the first that loads). */
export type Device = 'auto' | 'cpu' | 'cuda' | 'tensorrt';
/** A provider a session can run on. */
export type Provider = 'cpu' | 'cuda' | 'tensorrt';

export const DEVICES: readonly Device[] = ['auto', 'cpu', 'cuda', 'tensorrt'];
/** The order 'auto' tries. */
export const AUTO_ORDER: readonly Provider[] = ['tensorrt', 'cuda', 'cpu'];

/** Why a provider was not used. */
export interface ProviderError {
  provider: Provider;
  /** One line: the onnxruntime message or why the attempt was skipped. */
  message: string;
  /** true when the attempt was skipped because the provider library is not installed (no session was tried). */
  skipped: boolean;
}

/** One provider as seen by this install. */
export interface ProviderInfo {
  name: string;
  /** Shipped inside the onnxruntime-node package (listSupportedBackends). */
  bundled: boolean;
  /** For cuda/tensorrt: the provider library file, when found next to the binding. */
  library?: string;
  /** Whether a session can be attempted (bundled, or its library is present). */
  installed: boolean;
}

/** File name of a provider library on this platform. */
export function providerLibraryName(provider: 'cuda' | 'tensorrt' | 'shared'): string {
  if (process.platform === 'win32') return `onnxruntime_providers_${provider}.dll`;
  if (process.platform === 'darwin') return `libonnxruntime_providers_${provider}.dylib`;
  return `libonnxruntime_providers_${provider}.so`;
}

/**
 * The providers onnxruntime-node reports (`listSupportedBackends()`), with, for cuda and tensorrt, whether their
 * libraries are installed next to the binding.
 *
 * @example
 * listProviders(); // [{ name: 'cpu', bundled: true, installed: true }, { name: 'cuda', bundled: false, installed: false }, …]
 */
export function listProviders(): ProviderInfo[] {
  const dir = ortBinaryDir();
  return ort()
    .listSupportedBackends()
    .map(({ name, bundled }) => {
      if (name !== 'cuda' && name !== 'tensorrt') return { name, bundled, installed: bundled };
      const file = dir ? path.join(dir, providerLibraryName(name)) : null;
      const present =
        file !== null && fs.existsSync(file) && fs.existsSync(path.join(dir!, providerLibraryName('shared')));
      return { name, bundled, installed: bundled || present, ...(present ? { library: file! } : {}) };
    });
}

/**
 * Why a GPU provider cannot be attempted in this install (its library is absent), or null when it can be tried.
 * Used by 'auto' to skip providers without the noise ONNX Runtime logs on a failed library load.
 */
export function providerUnavailableReason(provider: Provider): string | null {
  if (provider === 'cpu') return null;
  const info = listProviders().find((p) => p.name === provider);
  if (!info)
    return `onnxruntime-node ${ort().env.versions.node ?? ''} on ${process.platform}-${process.arch} has no ${provider} provider`.replace(
      '  ',
      ' ',
    );
  if (info.installed) return null;
  return (
    `${providerLibraryName(provider)} is not installed next to the onnxruntime-node binding ` +
    `(its install script downloads it on linux-x64; it was skipped or offline)`
  );
}

/**
 * Provider options beyond the device id. The stock onnxruntime-node binding (1.30, js/node/src/session_options_helper.cc)
 * reads only `name` and `deviceId` of a CUDA/TensorRT entry and ignores every other key; these are passed on anyway,
 * under ONNX Runtime's own provider-option names (`trt_fp16_enable`, `trt_engine_cache_path`, …, string values), so a
 * build whose binding forwards them (docs/jetson.md shows the few lines) applies them.
 */
export interface ProviderOptions {
  tensorrt?: {
    /** Build FP16 engines (`trt_fp16_enable`). */
    fp16?: boolean;
    /** Build INT8 engines (`trt_int8_enable`; needs a calibration table, `trt_int8_calibration_table_name`). */
    int8?: boolean;
    /** INT8 calibration table file name (`trt_int8_calibration_table_name`). */
    int8CalibrationTable?: string;
    /** Cache built engines in this folder (`trt_engine_cache_enable` + `trt_engine_cache_path`). */
    engineCachePath?: string;
    /** Max workspace bytes for TensorRT tactics (`trt_max_workspace_size`). */
    maxWorkspaceSize?: number;
  };
  cuda?: {
    /** Cap of the CUDA memory arena in bytes (`gpu_mem_limit`). */
    gpuMemLimit?: number;
    /** cuDNN convolution algorithm search (`cudnn_conv_algo_search`). */
    cudnnConvAlgoSearch?: 'EXHAUSTIVE' | 'HEURISTIC' | 'DEFAULT';
  };
}

const TRT_KEYS = ['fp16', 'int8', 'int8CalibrationTable', 'engineCachePath', 'maxWorkspaceSize'] as const;
const CUDA_KEYS = ['gpuMemLimit', 'cudnnConvAlgoSearch'] as const;

/** Validates {@link ProviderOptions} (unknown keys, types). */
export function assertProviderOptions(o: unknown): asserts o is ProviderOptions {
  assertObject('providerOptions', o);
  assertKnownKeys('providerOptions', o, ['tensorrt', 'cuda']);
  const { tensorrt, cuda } = o as ProviderOptions;
  if (tensorrt !== undefined) {
    assertObject('providerOptions.tensorrt', tensorrt);
    assertKnownKeys('providerOptions.tensorrt', tensorrt, TRT_KEYS);
    if (tensorrt.fp16 !== undefined) assertBoolean('providerOptions.tensorrt.fp16', tensorrt.fp16);
    if (tensorrt.int8 !== undefined) assertBoolean('providerOptions.tensorrt.int8', tensorrt.int8);
    for (const k of ['int8CalibrationTable', 'engineCachePath'] as const) {
      const v = tensorrt[k];
      if (v !== undefined && (typeof v !== 'string' || v === ''))
        throw invalidParameterError(`providerOptions.tensorrt.${k}`, 'non-empty string', v);
    }
    const w = tensorrt.maxWorkspaceSize;
    if (w !== undefined && !(Number.isSafeInteger(w) && w > 0))
      throw invalidParameterError('providerOptions.tensorrt.maxWorkspaceSize', 'positive integer (bytes)', w);
  }
  if (cuda !== undefined) {
    assertObject('providerOptions.cuda', cuda);
    assertKnownKeys('providerOptions.cuda', cuda, CUDA_KEYS);
    const m = cuda.gpuMemLimit;
    if (m !== undefined && !(Number.isSafeInteger(m) && m > 0))
      throw invalidParameterError('providerOptions.cuda.gpuMemLimit', 'positive integer (bytes)', m);
    const a = cuda.cudnnConvAlgoSearch;
    if (a !== undefined && !['EXHAUSTIVE', 'HEURISTIC', 'DEFAULT'].includes(a)) {
      throw invalidParameterError(
        'providerOptions.cuda.cudnnConvAlgoSearch',
        "one of 'EXHAUSTIVE', 'HEURISTIC', 'DEFAULT'",
        a,
      );
    }
  }
}

/** ONNX Runtime's provider-option keys (string values) for {@link ProviderOptions}. */
export function providerOptionEntries(
  provider: 'tensorrt' | 'cuda',
  options: ProviderOptions = {},
): Record<string, string> {
  const out: Record<string, string> = {};
  if (provider === 'tensorrt' && options.tensorrt) {
    const t = options.tensorrt;
    if (t.fp16 !== undefined) out.trt_fp16_enable = t.fp16 ? '1' : '0';
    if (t.int8 !== undefined) out.trt_int8_enable = t.int8 ? '1' : '0';
    if (t.int8CalibrationTable !== undefined) out.trt_int8_calibration_table_name = t.int8CalibrationTable;
    if (t.engineCachePath !== undefined) {
      out.trt_engine_cache_enable = '1';
      out.trt_engine_cache_path = t.engineCachePath;
    }
    if (t.maxWorkspaceSize !== undefined) out.trt_max_workspace_size = String(t.maxWorkspaceSize);
  }
  if (provider === 'cuda' && options.cuda) {
    const c = options.cuda;
    if (c.gpuMemLimit !== undefined) out.gpu_mem_limit = String(c.gpuMemLimit);
    if (c.cudnnConvAlgoSearch !== undefined) out.cudnn_conv_algo_search = c.cudnnConvAlgoSearch;
  }
  return out;
}

/**
 * `executionProviders` for a session on `provider`. TensorRT is followed by CUDA so that nodes TensorRT cannot take
 * run on the GPU too; ONNX Runtime appends the CPU provider itself. `providerOptions` ride along in each entry under
 * ONNX Runtime's key names (ignored by the stock binding, see {@link ProviderOptions}).
 */
export function executionProvidersFor(
  provider: Provider,
  deviceId = 0,
  providerOptions: ProviderOptions = {},
): OrtModule.InferenceSession.ExecutionProviderConfig[] {
  const entry = (name: 'tensorrt' | 'cuda') => ({ name, deviceId, ...providerOptionEntries(name, providerOptions) });
  switch (provider) {
    case 'tensorrt':
      return [entry('tensorrt'), entry('cuda')];
    case 'cuda':
      return [entry('cuda')];
    default:
      return ['cpu'];
  }
}
