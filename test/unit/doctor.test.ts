/**
 * lib/doctor.ts: the report is a plain JSON-able object gathered in lib/ (the CLI only prints it), naming the loaded
 * ONNX Runtime (package, binding path, version) and its providers, with the GPU hint for the platform.
 */
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { formatDoctor, gatherDoctor, gpuHint } from '../../lib/doctor.ts';

const require = createRequire(import.meta.url);

test('gatherDoctor: a plain object naming the bundled ONNX Runtime, its binding and providers', async (t) => {
  const r = await gatherDoctor();
  t.deepEqual(JSON.parse(JSON.stringify(r)), r, 'plain data (survives JSON)');
  const o = r.onnxruntime;
  t.is(o.error, null);
  t.is(o.override, process.env.SSD_EDGE_ORT || null);
  t.is(o.loaded!.source, 'bundled');
  t.is(o.loaded!.packageName, 'onnxruntime-node');
  const pkgDir = path.dirname(require.resolve('onnxruntime-node/package.json'));
  t.is(o.version, JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8')).version);
  t.is(
    fs.realpathSync(o.loaded!.binding!),
    fs.realpathSync(path.join(pkgDir, 'bin', 'napi-v6', process.platform, process.arch, 'onnxruntime_binding.node')),
  );
  t.is(o.binaryDir, path.dirname(o.loaded!.binding!));
  if (process.platform === 'linux') t.regex(o.loaded!.library ?? '', /libonnxruntime\.so/);
  t.true(o.providers.some((p) => p.name === 'cpu' && p.installed));
  // The hint for this machine, as a literal: provider libraries on disk (looked up here, not through the report), else
  // the linux-x64 install line; other platforms are covered by the gpuHint test below.
  const gpuLibs = fs.readdirSync(o.binaryDir!).some((f) => /providers_(cuda|tensorrt)/.test(f));
  if (gpuLibs) t.regex(o.gpuHint, /^CUDA\/TensorRT provider libraries are installed/);
  else if (process.platform === 'linux' && process.arch === 'x64') {
    t.is(
      o.gpuHint,
      'CUDA: `ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node`, online, with CUDA 12 + cuDNN 9 installed',
    );
  }
  const text = formatDoctor(r);
  // what int8 gains here: the CPU's features and the reduce-range choice, one line in the text
  // from the addon when it reports CPU features (a prebuild older than that falls back to /proc/cpuinfo)
  t.is(r.int8!.source === 'addon', 'cpu' in r.addon.simd);
  const cpu = r.int8!.cpu;
  t.is(r.int8!.reduceRange, cpu ? !(cpu.vnni || cpu.dotProduct || cpu.i8mm) : true);
  t.regex(text, new RegExp(`^int8 +${r.int8!.summary.replace(/[()+.*?[\]]/g, '\\$&')}$`, 'm'));
  t.regex(text, /^onnxruntime +\d+\.\d+\.\d+ \(onnxruntime-node@[\d.]+, bundled\)$/m);
  t.regex(text, /^ort binding +\/.*onnxruntime_binding\.node$/m);
  t.regex(text, /^providers +cpu/m);
});

test('gpuHint: how to get CUDA per platform', (t) => {
  t.is(
    gpuHint('linux', 'x64'),
    'CUDA: `ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node`, online, with CUDA 12 + cuDNN 9 installed',
  );
  t.regex(
    gpuHint('linux', 'arm64'),
    /no GPU build for linux-arm64: build ONNX Runtime with CUDA\/TensorRT \(docs\/jetson\.md\) and set SSD_EDGE_ORT/,
  );
  t.regex(gpuHint('linux', 'x64', true), /^CUDA\/TensorRT provider libraries are installed/);
  t.is(gpuHint('darwin', 'arm64'), 'no CUDA build of onnxruntime-node for darwin-arm64');
});

test('formatDoctor: a runtime that did not load is one line with the reason', (t) => {
  const r = {
    ssdEdge: '0.1.0',
    platform: { os: 'linux 6', arch: 'x64', node: 'v20', napi: '9', cpu: 'cpu', cores: 2, memoryGiB: 4 },
    addon: {
      backend: 'native' as const,
      simd: { compiled: ['scalar'], supported: ['scalar'], active: 'scalar' } as never,
      error: null,
    },
    onnxruntime: {
      loaded: null,
      override: '/x',
      version: null,
      binaryDir: null,
      providers: [],
      gpuHint: 'h',
      error: 'Cannot load ONNX Runtime from SSD_EDGE_ORT=/x: no such file or folder.',
    },
    threads: { intraOpNumThreads: 2, spinning: false },
    defaultModel: { name: 'm', path: '/m.onnx', cached: false, bytes: null, spec: null, error: null },
  };
  t.regex(
    formatDoctor(r),
    /^onnxruntime +not loaded — Cannot load ONNX Runtime from SSD_EDGE_ORT=\/x: no such file or folder\.$/m,
  );
});
