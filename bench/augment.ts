/**
 * Augmentation throughput (issue #8): the addon's pixel pass vs the pure-TS twin on the same plans, images/s at the
 * SSD300 (300×300) and 512×512 model inputs, from a real photo (astronaut.jpg 512×512, and a 1280×960 upscale of it
 * as a camera-sized source). Every sample draws a full default plan from a fixed seed, so native and TS do the same
 * work; the draws + box handling alone are timed too (the part that stays in TS). Ratios are against the TS twin
 * measured in this run; the native pass is timed per SIMD level too (scalar vs AVX2 photometric kernel). Returns a result object; bench/run.ts writes it to bench/results/augment.json.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeImage } from '../lib/image/decode.ts';
import {
  type AugmentInput,
  applyAugmentPlan,
  applyAugmentPlanTs,
  augmentBackend,
  DEFAULT_AUGMENT,
  planAugment,
  rgbPixels,
} from '../lib/train/augment.ts';
import { Rng } from '../lib/train/rng.ts';
import type { SimdLevel } from '../lib/binding.ts';
import { capabilities, setSimd } from '../lib/index.ts';
import { fmt, measure } from './measure.ts';

const fixtures = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../test/fixtures');

export async function benchAugment(log: (line: string) => void = console.log) {
  const img = await decodeImage(path.join(fixtures, 'eval/faces/images/astronaut.jpg'));
  const small: AugmentInput = {
    pixels: rgbPixels(img),
    width: img.width,
    height: img.height,
    boxes: Float32Array.from([113.75, 45, 167.5, 113.125]),
    labels: Int32Array.from([1]),
  };
  // A camera-sized source: the photo upscaled (nearest) to 1280×960.
  const [W, H] = [1280, 960];
  const big = new Uint8Array(W * H * 3);
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) {
      const s = (Math.floor((y * img.height) / H) * img.width + Math.floor((x * img.width) / W)) * 3;
      big.set(small.pixels.subarray(s, s + 3), (y * W + x) * 3);
    }
  const large: AugmentInput = { ...small, pixels: big, width: W, height: H, boxes: small.boxes.map((v) => v * 2.5) };
  const out: Record<string, unknown> = { backend: augmentBackend(), simd: capabilities().active };
  const levels = (augmentBackend() === 'native' ? capabilities().supported : []) as SimdLevel[];
  const K = 16; // plans cycled through (the same for every implementation)
  for (const [srcName, input] of [
    ['512x512', small],
    ['1280x960', large],
  ] as const) {
    const rng = new Rng(2024);
    const plans = Array.from({ length: K }, () =>
      planAugment(input.width, input.height, input.boxes, rng, DEFAULT_AUGMENT),
    );
    for (const side of [300, 512]) {
      const size = { width: side, height: side };
      let i = 0;
      // native per SIMD level (the photometric kernel is the vector part), interleaved with the TS twin
      const perLevel: Record<string, number> = {};
      for (const level of levels) {
        setSimd(level);
        i = 0;
        perLevel[level] = measure(() => applyAugmentPlan(input, plans[i++ % K], size), { runs: 32, warmup: 4 }).median;
      }
      setSimd('auto');
      i = 0;
      const nat = measure(() => applyAugmentPlan(input, plans[i++ % K], size), { runs: 32, warmup: 4 });
      i = 0;
      const ts = measure(() => applyAugmentPlanTs(input, plans[i++ % K], size), { runs: 16, warmup: 2 });
      const key = `${srcName}->${side}`;
      out[key] = {
        nativeMs: nat.median,
        nativeMsByLevel: perLevel,
        tsMs: ts.median,
        ratio: ts.median / nat.median,
        nativeImagesPerSecond: 1000 / nat.median,
        tsImagesPerSecond: 1000 / ts.median,
      };
      log(
        `augment ${key.padEnd(16)} native ${fmt(nat.median).padStart(9)} (${(1000 / nat.median).toFixed(0)} img/s)   TS ${fmt(ts.median).padStart(9)}   ${(ts.median / nat.median).toFixed(1)}×   ${Object.entries(
          perLevel,
        )
          .map(([l, ms]) => `${l} ${fmt(ms)}`)
          .join(', ')}`,
      );
    }
    const r2 = new Rng(1);
    const plan = measure(() => planAugment(input.width, input.height, input.boxes, r2, DEFAULT_AUGMENT), {
      runs: 30,
      inner: 50,
    });
    out[`${srcName} plan`] = { planMs: plan.median };
    log(`augment ${`${srcName} plan`.padEnd(16)} draws + boxes ${fmt(plan.median)}`);
  }
  return out;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await benchAugment();
