/**
 * Which onnxruntime-node thread settings run the default face model fastest here (the numbers behind
 * `defaultThreadOptions` in lib/runtime/session.ts).
 *
 *   node --import=tsx bench/session-threads.ts [--runs 40] [--model FILE]   → bench/results/session-threads.json
 *
 * All configurations are created first and then run round-robin (one forward each per round), so that load from
 * other processes spreads evenly over them; medians over `runs` rounds after 3 warm-up rounds.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { ensureDefaultModel } from '../lib/model/zoo.ts';
import { machine, summarize, type Timing } from './measure.ts';

const NO_SPIN = { session: { intra_op: { allow_spinning: '0' } } };

/** The configurations compared. */
export const THREAD_CONFIGS: Record<string, ort.InferenceSession.SessionOptions> = {
  'ort default (intra 0 = one per core, spinning)': {},
  'intra 1': { intraOpNumThreads: 1 },
  'intra 2': { intraOpNumThreads: 2 },
  'intra 2, spinning off': { intraOpNumThreads: 2, extra: NO_SPIN },
  [`intra ${os.cpus().length}, spinning off`]: { intraOpNumThreads: os.cpus().length, extra: NO_SPIN },
};

export interface ThreadResult {
  config: string;
  options: ort.InferenceSession.SessionOptions;
  /** Wall ms per forward. */
  wall: Timing;
  /** Process CPU ms per forward (all threads): the cost to other work on the device. */
  cpu: Timing;
}

/** Measures every configuration on the model (default: the face model) with a [1, 3, 512, 512] input. */
export async function benchThreads({ runs = 40, model }: { runs?: number; model?: string } = {}): Promise<ThreadResult[]> {
  const file = model ?? (await ensureDefaultModel());
  const entries = Object.entries(THREAD_CONFIGS);
  const sessions = await Promise.all(entries.map(([, o]) => ort.InferenceSession.create(file, o)));
  const meta = sessions[0].inputMetadata[0] as { name: string; shape: Array<number | string> };
  const dims = meta.shape.map((d) => (typeof d === 'number' ? d : 1));
  const data = new Float32Array(dims.reduce((a, b) => a * b, 1));
  for (let i = 0; i < data.length; i++) data[i] = (i * 7919) % 256; // deterministic, image-like range
  const feeds = { [meta.name]: new ort.Tensor('float32', data, dims) };
  const wall = entries.map(() => [] as number[]);
  const cpu = entries.map(() => [] as number[]);
  for (let round = -3; round < runs; round++) {
    for (let k = 0; k < sessions.length; k++) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      await sessions[k].run(feeds);
      const dt = performance.now() - t0;
      const c = process.cpuUsage(c0);
      if (round >= 0) {
        wall[k].push(dt);
        cpu[k].push((c.user + c.system) / 1000);
      }
    }
  }
  await Promise.all(sessions.map((s) => s.release()));
  return entries.map(([config, options], k) => ({ config, options, wall: summarize(wall[k]), cpu: summarize(cpu[k]) }));
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const arg = (name: string) => {
    const i = process.argv.indexOf(name);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  const results = await benchThreads({ runs: Number(arg('--runs') ?? 40), model: arg('--model') });
  for (const r of results) {
    console.log(`${r.config.padEnd(48)} wall ${r.wall.median.toFixed(1).padStart(6)} ms (p10 ${r.wall.p10.toFixed(1)}, p90 ${r.wall.p90.toFixed(1)})  cpu ${r.cpu.median.toFixed(1)} ms`);
  }
  const out = path.join(path.dirname(fileURLToPath(import.meta.url)), 'results', 'session-threads.json');
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, JSON.stringify({ date: new Date().toISOString(), machine: machine(), ort: ort.env.versions, results }, null, 2) + '\n');
  console.log(`→ ${path.relative(process.cwd(), out)}`);
}
