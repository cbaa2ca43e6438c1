/**
 * One sample of first-call latency, run by bench/detector.ts in a fresh process per sample (never by tests): loads the
 * default face model, times the first `detect` of an image file, then the steady state (median of 10 more), in wall
 * and process-CPU milliseconds, and prints one JSON line.
 *
 *   node --import=tsx bench/first-detect.ts --mode settle|single|none --image examples/astronaut.jpg
 *
 * Modes: 'settle' = the warm-up of `Detector.load` (every stage, forward passes until they settle); 'single' = what
 * load did before it (one forward pass on a zero input, nothing else warmed): `warmup: false` plus that one run;
 * 'none' = `warmup: false`.
 */
import { Detector } from '../lib/detector/detector.ts';
import { inputDims } from '../lib/detector/stages.ts';

const arg = (k: string, d: string) => {
  const i = process.argv.indexOf(k);
  return i > 0 ? process.argv[i + 1] : d;
};
const mode = arg('--mode', 'settle');
const image = arg('--image', 'examples/astronaut.jpg');

const t0 = performance.now();
const detector = await Detector.load(undefined, { device: 'cpu', warmup: mode === 'settle' });
if (mode === 'single') {
  const dims = inputDims(detector.spec.input, 1);
  await detector.session.run({
    [detector.spec.input.name]: { data: new Float32Array(dims.reduce((a, b) => a * b, 1)), dims },
  });
}
const load = performance.now() - t0;
// Wall ms and process CPU ms (all threads; less sensitive than wall time to other processes on the machine).
const timed = async (): Promise<[number, number]> => {
  const c = process.cpuUsage();
  const t = performance.now();
  await detector.detect(image);
  const u = process.cpuUsage(c);
  return [performance.now() - t, (u.user + u.system) / 1000];
};
const [first, firstCpu] = await timed();
const firstTimings = detector.timings;
const steady: number[] = [];
const steadyCpu: number[] = [];
const stages: Record<string, number[]> = { decode: [], preprocess: [], forward: [], postprocess: [] };
for (let k = 0; k < 10; k++) {
  const [w, c] = await timed();
  steady.push(w);
  steadyCpu.push(c);
  for (const key of Object.keys(stages)) stages[key].push((detector.timings as unknown as Record<string, number>)[key]);
}
const med = (v: number[]) => {
  const s = [...v].sort((a, b) => a - b);
  return (s[4] + s[5]) / 2;
};
const steadyTimings = Object.fromEntries(Object.entries(stages).map(([k, v]) => [k, med(v)]));
console.log(
  JSON.stringify({
    mode,
    load,
    first,
    firstCpu,
    firstTimings,
    steady: med(steady),
    steadyCpu: med(steadyCpu),
    steadyTimings,
    warmupForwardMs: detector.warmupForwardMs,
  }),
);
await detector.dispose();
