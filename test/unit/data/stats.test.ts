/** Dataset statistics: per-class counts and the relative box-size histogram against hand-computed numbers; the plot. */
import test from 'ava';
import path from 'node:path';
import { createCanvas, loadImage } from '@napi-rs/canvas';
import { datasetStats, openDataset, plotSizeHistogram, SSD300_SCALES, sizeHistogram } from '../../../lib/data/index.ts';
import { tmpDir, writeImage, writeJsonl } from './trees.ts';

/**
 * Two images, 100×100 and 200×50 (area 10 000 each). Relative sizes sqrt(w·h / 10 000):
 * - a: cat 12×12 → 0.12 (bin 2 of 20); cat 33×33 → 0.33 (bin 6); dog 50×80 → sqrt(0.4) = 0.632… (bin 12);
 *   dog 100×100 → 1 (the last bin, 19);
 * - b: cat 150×40 → sqrt(0.6) = 0.774… (bin 15, difficult);
 * - c: no boxes.
 */
async function fixture(t: { teardown(fn: () => void): void }) {
  const dir = tmpDir(t);
  writeImage(path.join(dir, 'a.jpg'), 100, 100);
  writeImage(path.join(dir, 'b.jpg'), 200, 50);
  writeImage(path.join(dir, 'c.jpg'), 30, 30);
  const file = writeJsonl(path.join(dir, 's.jsonl'), [
    {
      image: 'a.jpg',
      boxes: [
        { label: 'cat', box: [10, 10, 22, 22] },
        { label: 'cat', box: [50, 50, 83, 83] },
        { label: 'dog', box: [0, 20, 50, 100] },
        { label: 'dog', box: [0, 0, 100, 100] },
      ],
    },
    { image: 'b.jpg', boxes: [{ label: 'cat', box: [20, 5, 170, 45], difficult: true }] },
    { image: 'c.jpg', boxes: [] },
  ]);
  return openDataset(file);
}

test('images and boxes per class, and the size histogram, match the hand count', async (t) => {
  const stats = datasetStats(await fixture(t));
  t.is(stats.images, 3);
  t.is(stats.boxes, 5);
  t.is(stats.imagesWithoutBoxes, 1);
  const expected = new Array(20).fill(0);
  for (const bin of [2, 6, 12, 19, 15]) expected[bin]++;
  t.deepEqual(stats.sizes.counts, expected);
  t.is(stats.sizes.edges.length, 21);
  t.is(stats.sizes.edges[0], 0);
  t.is(stats.sizes.edges[20], 1);
  t.is(stats.sizes.edges[7], 0.35);
  const [cat, dog] = stats.classes;
  t.like(cat, { name: 'cat', images: 2, boxes: 3, difficult: 1, crowd: 0 });
  t.like(dog, { name: 'dog', images: 1, boxes: 2, difficult: 0 });
  t.deepEqual(
    cat.sizes.flatMap((n, k) => (n ? [k] : [])),
    [2, 6, 15],
  );
  t.deepEqual(
    dog.sizes.flatMap((n, k) => (n ? [k] : [])),
    [12, 19],
  );
  // 10 bins: 0.12 → 1, 0.33 → 3, 0.632 → 6, 0.774 → 7, 1 → 9
  t.deepEqual(datasetStats(await fixture(t), { bins: 10 }).sizes.counts, [0, 1, 0, 1, 0, 0, 1, 1, 0, 1]);
});

test('sizeHistogram: bin k holds [k/n, (k+1)/n), the last one 1 and above, the first one below 0', (t) => {
  t.deepEqual(sizeHistogram([0, 0.09, 0.1, 0.55, 0.999, 1, 1.5, -0.2], 10).counts, [3, 1, 0, 0, 0, 1, 0, 0, 0, 3]);
  t.throws(() => sizeHistogram([], 0), {
    instanceOf: RangeError,
    message: 'Expected integer ≥ 1 for bins but received 0',
  });
});

test('the SSD300 scales are the paper’s: 0.1 for conv4_3, then 0.2 … 0.9 evenly over five maps', (t) => {
  t.deepEqual(
    SSD300_SCALES.map((s) => s.scale),
    [0.1, 0.2, 0.375, 0.55, 0.725, 0.9],
  );
  t.deepEqual(
    SSD300_SCALES.map((s) => s.featureMap),
    ['38×38', '19×19', '10×10', '5×5', '3×3', '1×1'],
  );
});

test('the histogram plot is a PNG of the requested size that decodes', async (t) => {
  const stats = datasetStats(await fixture(t));
  for (const [width, height] of [
    [800, 480],
    [400, 300],
  ]) {
    const png = plotSizeHistogram(stats, width === 800 ? {} : { width, height });
    t.deepEqual([...png.subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47]);
    const img = await loadImage(png);
    t.deepEqual([img.width, img.height], [width, height]);
  }
  // bars where the histogram has boxes, background where it has none (default layout: plot area x 64…780, y 48…424)
  const img = await loadImage(plotSizeHistogram(stats));
  const ctx = createCanvas(800, 480).getContext('2d');
  ctx.drawImage(img, 0, 0);
  const pixel = (bin: number) => [...ctx.getImageData(Math.round(64 + ((bin + 0.5) / 20) * 716), 418, 1, 1).data];
  for (const bin of [2, 6, 12, 15, 19]) t.deepEqual(pixel(bin), [0x4e, 0x79, 0xa7, 255], `bin ${bin}`);
  for (const bin of [0, 4, 9, 17]) t.deepEqual(pixel(bin), [255, 255, 255, 255], `bin ${bin}`);
  t.throws(() => plotSizeHistogram(stats, { width: 10 }), {
    instanceOf: RangeError,
    message: /for width but received 10$/,
  });
  t.throws(() => plotSizeHistogram(stats, { size: 1 } as object), {
    instanceOf: TypeError,
    message: /^Unknown key 'size'/,
  });
});
