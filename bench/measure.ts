/** Timing helpers for the benchmarks: medians of repeated runs after a warm-up (never used by tests). */
import os from 'node:os';

export interface Timing {
  /** Median milliseconds per call. */
  median: number;
  p10: number;
  p90: number;
  runs: number;
}

/** Runs `fn` `warmup` times, then `runs` times (each run may repeat `fn` `inner` times), and reports ms per call. */
export function measure(fn: () => unknown, { runs = 30, warmup = 5, inner = 1 } = {}): Timing {
  for (let i = 0; i < warmup; i++) fn();
  const t: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < inner; i++) fn();
    t.push(Number(process.hrtime.bigint() - t0) / 1e6 / inner);
  }
  return summarize(t);
}

export async function measureAsync(fn: () => Promise<unknown>, { runs = 20, warmup = 3 } = {}): Promise<Timing> {
  for (let i = 0; i < warmup; i++) await fn();
  const t: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = process.hrtime.bigint();
    await fn();
    t.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return summarize(t);
}

export function summarize(t: number[]): Timing {
  const s = [...t].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * (s.length - 1) + 0.5))];
  return { median: q(0.5), p10: q(0.1), p90: q(0.9), runs: s.length };
}

export function machine() {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    platform: `${process.platform}-${process.arch}`,
    node: process.version,
    loadavg: os.loadavg().map((v) => +v.toFixed(2)),
  };
}

export const fmt = (ms: number) => (ms < 1 ? `${(ms * 1000).toFixed(0)} µs` : `${ms.toFixed(2)} ms`);
