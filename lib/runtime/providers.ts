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
 *   CUDA provider runs it in fp16), or build onnxruntime-node from source with the options wired through.
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
import { createRequire } from 'node:module';
import * as ort from 'onnxruntime-node';

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

const require = createRequire(import.meta.url);

/** Folder of onnxruntime-node's native binding (where ONNX Runtime looks for provider libraries), or null. */
export function ortBinaryDir(): string | null {
  try {
    const pkg = require.resolve('onnxruntime-node/package.json');
    const dir = path.join(path.dirname(pkg), 'bin', 'napi-v6', process.platform, process.arch);
    return fs.existsSync(dir) ? dir : null;
  } catch {
    return null;
  }
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
  return ort.listSupportedBackends().map(({ name, bundled }) => {
    if (name !== 'cuda' && name !== 'tensorrt') return { name, bundled, installed: bundled };
    const file = dir ? path.join(dir, providerLibraryName(name)) : null;
    const present = file !== null && fs.existsSync(file) && fs.existsSync(path.join(dir!, providerLibraryName('shared')));
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
  if (!info) return `onnxruntime-node ${ort.env.versions.node ?? ''} on ${process.platform}-${process.arch} has no ${provider} provider`.replace('  ', ' ');
  if (info.installed) return null;
  return `${providerLibraryName(provider)} is not installed next to the onnxruntime-node binding ` +
    `(its install script downloads it on linux-x64; it was skipped or offline)`;
}

/**
 * `executionProviders` for a session on `provider`. TensorRT is followed by CUDA so that nodes TensorRT cannot take
 * run on the GPU too; ONNX Runtime appends the CPU provider itself.
 */
export function executionProvidersFor(provider: Provider, deviceId = 0): ort.InferenceSession.ExecutionProviderConfig[] {
  switch (provider) {
    case 'tensorrt': return [{ name: 'tensorrt', deviceId }, { name: 'cuda', deviceId }];
    case 'cuda': return [{ name: 'cuda', deviceId }];
    default: return ['cpu'];
  }
}
