/**
 * What this install runs on — platform, native addon or TypeScript fallback and its SIMD level, which ONNX Runtime
 * is loaded (bundled or `SSD_EDGE_ORT`, binding and library paths, version) and its providers, how to get the GPU
 * providers here, default thread settings, the default model's cache state. `gatherDoctor` returns a plain object;
 * `ssd-edge doctor` (lib/cli/commands/doctor.ts) prints it as text or JSON.
 */
import fs from 'node:fs';
import os from 'node:os';
import { createRequire } from 'node:module';
import { backend, binding, bindingError, type Capabilities } from './binding.ts';
import { firstLine } from './errors.ts';
import { loadModelFile } from './model/metadata.ts';
import { DEFAULT_MODEL_NAME, modelCachePath } from './model/zoo.ts';
import { ORT_ENV, ortInfo, type OrtInfo } from './runtime/ort.ts';
import { listProviders, type ProviderInfo } from './runtime/providers.ts';
import { defaultThreadOptions, type ThreadOptions } from './runtime/session.ts';
import { int8Support, type Int8Support } from './model/quantize/cpu.ts';
import { trainingBackendReport, type TrainingBackendReport } from './train/backend.ts';

export interface DoctorReport {
  ssdEdge: string;
  platform: { os: string; arch: string; node: string; napi: string; cpu: string; cores: number; memoryGiB: number };
  addon: {
    backend: 'native' | 'typescript';
    simd: Capabilities | { compiled: ['typescript']; supported: ['typescript']; active: 'typescript' };
    /** First line of why the addon did not load (null when it did). */
    error: string | null;
  };
  onnxruntime: {
    /** The loaded ONNX Runtime (null when it failed to load: see `error`). */
    loaded: OrtInfo | null;
    /** The value of SSD_EDGE_ORT (null when unset: the bundled onnxruntime-node). */
    override: string | null;
    /** Version (kept at this level for scripts reading the earlier report). */
    version: string | null;
    /** Folder of the native binding, where ONNX Runtime looks for provider libraries. */
    binaryDir: string | null;
    providers: ProviderInfo[];
    /** How to get the CUDA/TensorRT providers on this platform (one line). */
    gpuHint: string;
    /** Why ONNX Runtime did not load (one line), else null. */
    error: string | null;
  };
  threads: ThreadOptions;
  /** What int8 models gain on this CPU (VNNI / AVX-512 / dot product) and whether quantize picks 7-bit weights. */
  int8?: Int8Support;
  defaultModel: {
    name: string;
    path: string;
    cached: boolean;
    bytes: number | null;
    /** The model's spec name and converter when the cached file loads; the reason when it does not. */
    spec: { name: string; converter?: string } | null;
    error: string | null;
  };
  /** `ssd-edge/train`'s tfjs backends: installed ones and what training would use (packages resolved, none loaded). */
  training?: TrainingBackendReport;
}

const require = createRequire(import.meta.url);

/** How to enable the GPU providers on `platform`/`arch`, given whether they are installed already. */
export function gpuHint(platform: string = process.platform, arch: string = process.arch, installed = false): string {
  if (installed)
    return 'CUDA/TensorRT provider libraries are installed (they also need CUDA 12, cuDNN 9 and TensorRT on the system)';
  if (platform === 'linux' && arch === 'x64') {
    return 'CUDA: `ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node`, online, with CUDA 12 + cuDNN 9 installed';
  }
  if (platform === 'linux' && arch === 'arm64') {
    return `onnxruntime-node has no GPU build for linux-arm64: build ONNX Runtime with CUDA/TensorRT (docs/jetson.md) and set ${ORT_ENV} to its onnxruntime-node package`;
  }
  if (platform === 'win32')
    return 'DirectML is bundled on Windows; CUDA needs the onnxruntime-node CUDA install (`ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node`)';
  return `no CUDA build of onnxruntime-node for ${platform}-${arch}`;
}

/**
 * Collects the report (does not build the default model; loads ONNX Runtime to list its providers).
 *
 * @example
 * const r = await gatherDoctor(); r.onnxruntime.loaded?.binding; // '/…/onnxruntime_binding.node'
 */
export async function gatherDoctor(): Promise<DoctorReport> {
  const pkg = require('../package.json') as { version: string };
  const file = modelCachePath(DEFAULT_MODEL_NAME);
  let bytes: number | null = null;
  try {
    bytes = (await fs.promises.stat(file)).size;
  } catch {
    bytes = null;
  }
  let spec: DoctorReport['defaultModel']['spec'] = null;
  let error: string | null = null;
  if (bytes !== null) {
    try {
      const loaded = await loadModelFile(file);
      spec = { name: loaded.spec.name, ...(loaded.spec.converter ? { converter: loaded.spec.converter } : {}) };
    } catch (err) {
      error = firstLine(err);
    }
  }
  let loaded: OrtInfo | null = null;
  let providers: ProviderInfo[] = [];
  let ortError: string | null = null;
  try {
    loaded = ortInfo();
    providers = listProviders();
  } catch (err) {
    ortError = firstLine(err);
  }
  const gpuInstalled = providers.some((p) => (p.name === 'cuda' || p.name === 'tensorrt') && p.installed);
  return {
    ssdEdge: pkg.version,
    platform: {
      os: `${process.platform} ${os.release()}`,
      arch: process.arch,
      node: process.version,
      napi: process.versions.napi ?? 'unknown',
      cpu: os.cpus()[0]?.model?.trim() ?? 'unknown',
      cores: os.availableParallelism?.() ?? os.cpus().length,
      memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    },
    addon: {
      backend,
      simd: binding
        ? binding.capabilities()
        : { compiled: ['typescript'], supported: ['typescript'], active: 'typescript' },
      error: bindingError ? bindingError.message.split('\n')[0] : null,
    },
    onnxruntime: {
      loaded,
      override: process.env[ORT_ENV] || null,
      version: loaded?.version ?? null,
      binaryDir: loaded?.binding ? loaded.binding.replace(/[/\\][^/\\]+$/, '') : null,
      providers,
      gpuHint: gpuHint(process.platform, process.arch, gpuInstalled),
      error: ortError,
    },
    threads: defaultThreadOptions(),
    int8: int8Support(),
    defaultModel: { name: DEFAULT_MODEL_NAME, path: file, cached: bytes !== null, bytes, spec, error },
    training: await trainingBackendReport(),
  };
}

/** The training line: the backend training would use, what else is installed, how to get tfjs-node. */
function formatTraining(t: TrainingBackendReport): string {
  if (t.selected === 'none')
    return 'no tfjs backend installed (ssd-edge/train needs @tensorflow/tfjs-core + -backend-wasm)';
  const others = t.available.filter((b) => b !== t.selected);
  const hint = t.tfjsNode ? '' : '; `npm install @tensorflow/tfjs-node` (or -gpu) to train on libtensorflow';
  return `tfjs ${t.selected}${t.tfjsNodePackage && t.selected === 'tensorflow' ? ` (${t.tfjsNodePackage})` : ''}, tfjs-core ${t.tfjsCore ?? '?'}${others.length ? ` (also: ${others.join(', ')})` : ''}${hint}`;
}

/** Human-readable report: one `key  value` line per item. */
export function formatDoctor(r: DoctorReport): string {
  const mb = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;
  const o = r.onnxruntime;
  const providers = o.providers.map((p) => `${p.name}${p.installed ? '' : ' (not installed)'}`).join(', ');
  const simd =
    r.addon.simd.active === 'typescript'
      ? 'none (TypeScript ops)'
      : `${r.addon.simd.active} (compiled: ${r.addon.simd.compiled.join(', ')}; CPU supports: ${r.addon.simd.supported.join(', ')})`;
  const model = !r.defaultModel.cached
    ? `not built yet (${r.defaultModel.path}; the first detect builds it from the face-api package, nothing is downloaded)`
    : r.defaultModel.error
      ? `${r.defaultModel.path}, ${mb(r.defaultModel.bytes!)}, will be rebuilt: ${r.defaultModel.error}`
      : `${r.defaultModel.path}, ${mb(r.defaultModel.bytes!)}${r.defaultModel.spec?.converter ? `, ${r.defaultModel.spec.converter}` : ''}`;
  const l = o.loaded;
  const runtime: Array<[string, string]> = l
    ? [
        [
          'onnxruntime',
          `${l.version} (${l.packageName ?? 'package'}@${l.packageVersion ?? '?'}, ${l.source === 'bundled' ? 'bundled' : `${ORT_ENV}=${o.override}`})`,
        ],
        ['ort binding', l.binding ?? `(not found under ${l.packageDir ?? l.entry})`],
        ...(l.library ? [['ort library', l.library] as [string, string]] : []),
        ['providers', providers],
        ['gpu', o.gpuHint],
      ]
    : [['onnxruntime', `not loaded — ${o.error}`]];
  const lines: Array<[string, string]> = [
    ['ssd-edge', r.ssdEdge],
    ['platform', `${r.platform.os} ${r.platform.arch}, Node ${r.platform.node} (N-API ${r.platform.napi})`],
    ['cpu', `${r.platform.cpu}, ${r.platform.cores} cores, ${r.platform.memoryGiB} GiB`],
    [
      'ops backend',
      r.addon.backend === 'native' ? 'native addon' : `TypeScript fallback — ${r.addon.error ?? 'addon not loaded'}`,
    ],
    ['simd', simd],
    ...runtime,
    ['threads', `intra-op ${r.threads.intraOpNumThreads}, spinning ${r.threads.spinning ? 'on' : 'off'}`],
    ...(r.int8 ? [['int8', r.int8.summary] as [string, string]] : []),
    ['default model', model],
    ...(r.training ? [['training', formatTraining(r.training)] as [string, string]] : []),
  ];
  const w = Math.max(...lines.map(([k]) => k.length));
  return lines.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n');
}
