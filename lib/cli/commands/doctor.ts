/**
 * `ssd-edge doctor`: what this install runs on — platform, native addon or TypeScript fallback and its SIMD level,
 * ONNX Runtime version and providers, default thread settings, the default model's cache state.
 * `gatherDoctor` collects, `formatDoctor` prints.
 */
import fs from 'node:fs';
import os from 'node:os';
import { createRequire } from 'node:module';
import { Command } from 'commander';
import * as ort from 'onnxruntime-node';
import { backend, bindingError, capabilities } from '../../index.ts';
import { loadModelFile } from '../../model/metadata.ts';
import { DEFAULT_MODEL_NAME, modelCachePath } from '../../model/zoo.ts';
import { listProviders, ortBinaryDir, type ProviderInfo } from '../../runtime/providers.ts';
import { defaultThreadOptions, type ThreadOptions } from '../../runtime/session.ts';
import { errorLine, handleError } from '../handle-error.ts';

export interface DoctorReport {
  ssdEdge: string;
  platform: { os: string; arch: string; node: string; napi: string; cpu: string; cores: number; memoryGiB: number };
  addon: {
    backend: 'native' | 'typescript';
    simd: ReturnType<typeof capabilities>;
    /** First line of why the addon did not load (null when it did). */
    error: string | null;
  };
  onnxruntime: { version: string; binaryDir: string | null; providers: ProviderInfo[] };
  threads: ThreadOptions;
  defaultModel: {
    name: string;
    path: string;
    cached: boolean;
    bytes: number | null;
    /** The model's spec name and converter when the cached file loads; the reason when it does not. */
    spec: { name: string; converter?: string } | null;
    error: string | null;
  };
}

const require = createRequire(import.meta.url);

/** Collects the report (does not build the default model). */
export async function gatherDoctor(): Promise<DoctorReport> {
  const pkg = require('../../../package.json') as { version: string };
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
      error = errorLine(err);
    }
  }
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
    addon: { backend, simd: capabilities(), error: bindingError ? bindingError.message.split('\n')[0] : null },
    onnxruntime: { version: ort.env.versions.node ?? ort.env.versions.common, binaryDir: ortBinaryDir(), providers: listProviders() },
    threads: defaultThreadOptions(),
    defaultModel: { name: DEFAULT_MODEL_NAME, path: file, cached: bytes !== null, bytes, spec, error },
  };
}

/** Human-readable report. */
export function formatDoctor(r: DoctorReport): string {
  const mb = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;
  const providers = r.onnxruntime.providers
    .map((p) => `${p.name}${p.installed ? '' : ' (not installed)'}`)
    .join(', ');
  const simd = r.addon.simd.active === 'typescript'
    ? 'none (TypeScript ops)'
    : `${r.addon.simd.active} (compiled: ${r.addon.simd.compiled.join(', ')}; CPU supports: ${r.addon.simd.supported.join(', ')})`;
  const model = !r.defaultModel.cached
    ? `not built yet (${r.defaultModel.path}; the first detect builds it from the face-api package, nothing is downloaded)`
    : r.defaultModel.error
      ? `${r.defaultModel.path}, ${mb(r.defaultModel.bytes!)}, will be rebuilt: ${r.defaultModel.error}`
      : `${r.defaultModel.path}, ${mb(r.defaultModel.bytes!)}${r.defaultModel.spec?.converter ? `, ${r.defaultModel.spec.converter}` : ''}`;
  const lines: Array<[string, string]> = [
    ['ssd-edge', r.ssdEdge],
    ['platform', `${r.platform.os} ${r.platform.arch}, Node ${r.platform.node} (N-API ${r.platform.napi})`],
    ['cpu', `${r.platform.cpu}, ${r.platform.cores} cores, ${r.platform.memoryGiB} GiB`],
    ['ops backend', r.addon.backend === 'native' ? 'native addon' : `TypeScript fallback — ${r.addon.error ?? 'addon not loaded'}`],
    ['simd', simd],
    ['onnxruntime', `${r.onnxruntime.version} (onnxruntime-node)`],
    ['providers', providers],
    ['threads', `intra-op ${r.threads.intraOpNumThreads}, spinning ${r.threads.spinning ? 'on' : 'off'}`],
    ['default model', model],
  ];
  const w = Math.max(...lines.map(([k]) => k.length));
  return lines.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n');
}

/**
 * The `doctor` command.
 *
 * @example
 * ssd-edge doctor --json
 */
export function doctorCommand(): Command {
  return new Command('doctor')
    .description('show the platform, native addon, ONNX Runtime providers and default model state')
    .option('--json', 'print the report as JSON')
    .action(async (options: { json?: boolean }) => {
      try {
        const report = await gatherDoctor();
        process.stdout.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatDoctor(report)}\n`);
      } catch (err) {
        handleError(err);
      }
    });
}
