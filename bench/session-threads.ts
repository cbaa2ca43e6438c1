/**
 * Which onnxruntime-node thread settings run the default face model fastest here (the numbers behind
 * `defaultThreadOptions` in lib/runtime/session.ts).
 *
 *   node --import=tsx bench/session-threads.ts [--runs 30] [--passes 3] [--model FILE]   → bench/results/session-threads.json
 *
 * Each configuration runs in its own child process (sessions in one process disturb each other: spinning intra-op
 * threads of one session keep a core busy while the next one runs), `passes` times in rotation so that load from
 * other processes spreads over all of them; each pass: one warm-up forward + `runs` timed forwards of a
 * [1, 3, 512, 512] input. Reported: medians over all passes of wall ms and process CPU ms per forward. ONNX Runtime
 * is the one ssd-edge loads (bundled, or the build named by SSD_EDGE_ORT: see docs/jetson.md).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ort, type OrtModule } from '../lib/runtime/ort.ts';
import { ensureDefaultModel } from '../lib/model/zoo.ts';
import { machine, summarize, type Timing } from './measure.ts';

const NO_SPIN = { session: { intra_op: { allow_spinning: '0' } } };

/** The configurations compared (interOpNumThreads 1 in all: sequential execution). */
export const THREAD_CONFIGS: Record<string, OrtModule.InferenceSession.SessionOptions> = {
  'ort default (intra 0 = one per core, spinning)': {},
  'intra 1': { intraOpNumThreads: 1 },
  'intra 2 (spinning)': { intraOpNumThreads: 2 },
  'intra 2, spinning off': { intraOpNumThreads: 2, extra: NO_SPIN },
  ...(os.cpus().length > 2
    ? { [`intra ${os.cpus().length}, spinning off`]: { intraOpNumThreads: os.cpus().length, extra: NO_SPIN } }
    : {}),
};

export interface ThreadResult {
  config: string;
  options: OrtModule.InferenceSession.SessionOptions;
  /** Wall ms per forward. */
  wall: Timing;
  /** Process CPU ms per forward (all threads): what the forward costs the other work on the device. */
  cpu: Timing;
}

/** One configuration in this process: [wall ms, cpu ms] per timed forward. */
async function runOne(
  file: string,
  options: OrtModule.InferenceSession.SessionOptions,
  runs: number,
): Promise<Array<[number, number]>> {
  const session = await ort().InferenceSession.create(file, { interOpNumThreads: 1, ...options });
  const meta = session.inputMetadata[0] as { name: string; shape: ReadonlyArray<number | string> };
  const dims = meta.shape.map((d) => (typeof d === 'number' ? d : 1));
  const data = new Float32Array(dims.reduce((a, b) => a * b, 1));
  for (let i = 0; i < data.length; i++) data[i] = (i * 7919) % 256; // deterministic, image-like range
  const feeds = { [meta.name]: new (ort().Tensor)('float32', data, dims) };
  await session.run(feeds);
  const out: Array<[number, number]> = [];
  for (let r = 0; r < runs; r++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await session.run(feeds);
    const dt = performance.now() - t0;
    const c = process.cpuUsage(c0);
    out.push([dt, (c.user + c.system) / 1000]);
  }
  await session.release();
  return out;
}

/** Measures every configuration on the model (default: the face model), each in a child process. */
export async function benchThreads({
  runs = 30,
  passes = 3,
  model,
}: {
  runs?: number;
  passes?: number;
  model?: string;
} = {}): Promise<ThreadResult[]> {
  const file = model ?? (await ensureDefaultModel());
  const self = fileURLToPath(import.meta.url);
  const samples = new Map<string, Array<[number, number]>>(Object.keys(THREAD_CONFIGS).map((k) => [k, []]));
  for (let p = 0; p < passes; p++) {
    for (const config of Object.keys(THREAD_CONFIGS)) {
      const json = execFileSync(
        process.execPath,
        ['--import=tsx', self, '--child', config, '--runs', String(runs), '--model', file],
        { encoding: 'utf8' },
      );
      samples.get(config)!.push(...(JSON.parse(json) as Array<[number, number]>));
    }
  }
  return Object.entries(THREAD_CONFIGS).map(([config, options]) => {
    const v = samples.get(config)!;
    return { config, options, wall: summarize(v.map((x) => x[0])), cpu: summarize(v.map((x) => x[1])) };
  });
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const arg = (name: string) => {
    const i = process.argv.indexOf(name);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  const runs = Number(arg('--runs') ?? 30);
  const child = arg('--child');
  if (child !== undefined) {
    process.stdout.write(JSON.stringify(await runOne(arg('--model')!, THREAD_CONFIGS[child], runs)));
  } else {
    const results = await benchThreads({ runs, passes: Number(arg('--passes') ?? 3), model: arg('--model') });
    for (const r of results) {
      console.log(
        `${r.config.padEnd(48)} wall ${r.wall.median.toFixed(1).padStart(6)} ms (p10 ${r.wall.p10.toFixed(1)}, p90 ${r.wall.p90.toFixed(1)})  cpu ${r.cpu.median.toFixed(1)} ms`,
      );
    }
    const out = path.join(path.dirname(fileURLToPath(import.meta.url)), 'results', 'session-threads.json');
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.writeFileSync(
      out,
      JSON.stringify(
        { date: new Date().toISOString(), machine: machine(), ort: ort().env.versions, runs, results },
        null,
        2,
      ) + '\n',
    );
    console.log(`→ ${path.relative(process.cwd(), out)}`);
  }
}
