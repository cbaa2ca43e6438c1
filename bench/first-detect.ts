/**
 * One sample of first-call latency, run by bench/detector.ts in a fresh process per sample (never by tests): loads the
 * default face model, times the first `detect` of an image file, then the steady state (median of 10 more), and prints
 * one JSON line.
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
  await detector.session.run({ [detector.spec.input.name]: { data: new Float32Array(dims.reduce((a, b) => a * b, 1)), dims } });
}
const load = performance.now() - t0;
let t = performance.now();
await detector.detect(image);
const first = performance.now() - t;
const firstTimings = detector.timings;
const steady: number[] = [];
for (let k = 0; k < 10; k++) {
  t = performance.now();
  await detector.detect(image);
  steady.push(performance.now() - t);
}
steady.sort((a, b) => a - b);
console.log(JSON.stringify({ mode, load, first, firstTimings, steady: (steady[4] + steady[5]) / 2, warmupForwardMs: detector.warmupForwardMs }));
await detector.dispose();
