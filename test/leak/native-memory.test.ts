/**
 * Leak check of the addon: tens of thousands of calls (sync, async, errors included) must not grow the resident set
 * beyond a small bound once warmed up. Runs in a child with --expose-gc so collections are forced between rounds.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { binding } from '../../lib/binding.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const child = `
import { nms, softNms, boxIou, decodeBoxes, defaultBoxes, postprocessDetections, postprocessDetectionsAsync } from './lib/index.ts';
const anchors = defaultBoxes('torchvision-ssd300-vgg16'), N = anchors.length / 4, C = 21;
const logits = Float32Array.from({ length: N * C }, (_, i) => Math.sin(i * 0.37) * 3);
const reg = Float32Array.from({ length: 4 * N }, (_, i) => Math.cos(i * 0.11) * 0.5);
const boxes = decodeBoxes(reg, anchors, { anchorFormat: 'cxcywh' });
const scores = Float32Array.from({ length: N }, (_, i) => (i * 7919 % 1000) / 1000);
async function round(n) {
  for (let i = 0; i < n; i++) {
    postprocessDetections({ boxRegression: reg, classLogits: logits, anchors, numClasses: C });
    nms(boxes, scores, 0.45);
    softNms(boxes.subarray(0, 800), scores.subarray(0, 200));
    boxIou(boxes.subarray(0, 400), boxes.subarray(0, 400));
    try { nms(new Float32Array(7), scores, 0.5); } catch {}
    if (i % 4 === 0) await postprocessDetectionsAsync({ boxRegression: reg, classLogits: logits, anchors, numClasses: C });
  }
  globalThis.gc(); await new Promise((r) => setTimeout(r, 20)); globalThis.gc();
  return process.memoryUsage().rss;
}
await round(200);
const before = await round(200);
let after = before;
for (let k = 0; k < 6; k++) after = await round(400);
console.log(JSON.stringify({ before, after, growthMiB: (after - before) / 2 ** 20 }));
`;

if (!binding) {
  test('native leak check: skipped — the addon is not loaded', (t) => t.pass());
} else {
  test('2400 rounds of every op (sync, async, failing calls) leave the resident set flat', (t) => {
    const r = spawnSync(process.execPath, ['--expose-gc', '--import=tsx', '--input-type=module', '-e', child], {
      cwd: root,
      encoding: 'utf8',
      timeout: 300_000,
    });
    t.is(r.status, 0, r.stderr.slice(-2000));
    const { growthMiB } = JSON.parse(r.stdout.trim().split('\n').pop()!);
    t.log(`RSS growth after warm-up: ${growthMiB.toFixed(1)} MiB`);
    // Allocator and V8 heap noise is ~10 MiB here; a per-call leak of any native buffer would be hundreds of MiB.
    t.true(growthMiB < 48, `RSS grew by ${growthMiB.toFixed(1)} MiB`);
  });
}
