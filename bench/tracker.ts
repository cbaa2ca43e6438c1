/**
 * What `--track` and `--serve` cost per frame: the tracker's `update` for 10 to 200 objects, next to the plain IoU
 * tracker of the tests (no motion model, greedy) as the baseline measured in the same run; and the preview server's
 * `pushFrame` (the caller's cost) and drawing + JPEG encoding of one frame (what the server does off the caller's path
 * while a client watches).
 *
 *   node --import=tsx bench/tracker.ts   → bench/results/tracker.json
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { draw } from '../lib/image/draw.ts';
import { createPreviewServer } from '../lib/stream/serve.ts';
import { createTracker } from '../lib/stream/tracker.ts';
import { makeSequence, plainIouTracker } from '../test/helpers/mot.ts';
import { mulberry32 } from '../test/helpers/random.ts';
import { fmt, machine, measure, measureAsync } from './measure.ts';

const here = path.dirname(fileURLToPath(import.meta.url));

function sequence(objects: number) {
  const r = mulberry32(objects);
  return makeSequence({
    name: `${objects} objects`,
    frames: 200,
    seed: objects,
    missRate: 0.1,
    objects: Array.from({ length: objects }, () => ({
      classId: 1 + Math.floor(r() * 2),
      cx: 2000 * r(),
      cy: 2000 * r(),
      w: 30 + 40 * r(),
      h: 60 + 60 * r(),
      vx: 6 * r() - 3,
      vy: 6 * r() - 3,
    })),
  });
}

const results: Record<string, unknown>[] = [];
for (const n of [10, 50, 200]) {
  const seq = sequence(n);
  // ms per frame over the whole sequence (a fresh tracker each run), so track births and ends are included.
  const frames = seq.detections.length;
  const ours = measure(
    () => {
      const t = createTracker();
      for (let f = 0; f < frames; f++) t.update(seq.detections[f], f);
    },
    { runs: 20, warmup: 10 },
  );
  const plain = measure(
    () => {
      const t = plainIouTracker();
      for (let f = 0; f < frames; f++) t.update(seq.detections[f]);
    },
    { runs: 20, warmup: 10 },
  );
  const row = {
    objects: n,
    oursMsPerFrame: ours.median / frames,
    plainMsPerFrame: plain.median / frames,
    ratio: ours.median / plain.median,
  };
  results.push(row);
  console.log(
    `tracker, ${n} objects: ${fmt(row.oursMsPerFrame)} per frame (plain IoU tracker ${fmt(row.plainMsPerFrame)}, ×${row.ratio.toFixed(2)})`,
  );
}

const width = 640;
const height = 480;
const frame = { data: new Uint8Array(width * height * 3).fill(128), width, height, channels: 3 as const };
const dets = Array.from({ length: 10 }, (_, k) => ({
  label: 'person',
  classId: 1,
  score: 0.8,
  trackId: k + 1,
  box: { x1: 20 + 60 * k, y1: 100, x2: 60 + 60 * k, y2: 220 },
}));
const server = await createPreviewServer();
const push = measure(() => server.pushFrame(frame, dets, { fps: 30 }), { runs: 50, warmup: 5 });
await server.close();
const render = await measureAsync(() => draw(frame, dets, { format: 'jpeg', quality: 80 }), { runs: 20, warmup: 3 });
console.log(
  `preview, ${width}×${height} RGB, 10 boxes: pushFrame ${fmt(push.median)} (caller), draw + JPEG ${fmt(render.median)} (server, only while watched)`,
);
results.push({ preview: `${width}x${height} rgb, 10 detections`, pushFrameMs: push.median, renderMs: render.median });

fs.mkdirSync(path.join(here, 'results'), { recursive: true });
fs.writeFileSync(
  path.join(here, 'results', 'tracker.json'),
  `${JSON.stringify({ date: new Date().toISOString(), machine: machine(), results }, null, 2)}\n`,
);
console.log('→ bench/results/tracker.json');
