/**
 * `ssd-edge data preview`: the sheet's layout and pixels (tiles equal `augment` with the same seeded draws, boxes
 * drawn on the edges and not over the inside), determinism by seed, the file rules (no overwrite without
 * --overwrite, never over the dataset, atomic), --json, and usage errors from the installed command.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import test from 'ava';
import { runDataPreview } from '../../lib/cli/commands/data.ts';
import type { CliIo } from '../../lib/cli/output.ts';
import { openDataset } from '../../lib/data/index.ts';
import { decodeImage } from '../../lib/image/decode.ts';
import { augment, rgbPixels } from '../../lib/train/augment.ts';
import { Rng } from '../../lib/train/rng.ts';
import { tmpDir } from '../unit/data/trees.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const TSX = pathToFileURL(path.join(root, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;
const FACES = path.join(root, 'test/fixtures/eval/faces/faces.jsonl');

function capture(): CliIo & { stdout: string; stderr: string } {
  const io = {
    stdout: '',
    stderr: '',
    out: (s: string) => void (io.stdout += s),
    err: (s: string) => void (io.stderr += s),
  };
  return io;
}

function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [`--import=${TSX}`, path.join(root, 'lib/cli/index.ts'), ...args],
      { cwd: root, env: { ...process.env, SSD_EDGE_DEBUG: '' } },
      (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

test('the sheet: tiles are the seeded augmentations, boxes drawn on their edges, JSON lists them', async (t) => {
  const out = path.join(tmpDir(t), 'sheet.png');
  const io = capture();
  t.is(await runDataPreview(FACES, { out, count: 8, seed: 5, size: { width: 96, height: 80 }, json: true }, io), 0);
  const report = JSON.parse(io.stdout);
  // 8 tiles → 3 columns × 3 rows of 96×(80 + 16 caption), 6 px gaps
  t.is(report.width, 3 * 96 + 4 * 6);
  t.is(report.height, 3 * 96 + 4 * 6);
  const sheet = await decodeImage(out);
  t.is(sheet.width, report.width);
  t.is(sheet.height, report.height);
  // Independent replay of the documented draw order: a Fisher–Yates shuffle, then one augment per tile, same Rng.
  const ds = await openDataset(FACES);
  const rng = new Rng(5);
  const order = Array.from({ length: ds.size }, (_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = rng.below(i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  let checkedEdges = 0;
  for (let k = 0; k < 8; k++) {
    const s = ds.samples[order[k % order.length]];
    const img = await decodeImage(s.image);
    const a = augment(
      { pixels: rgbPixels(img), width: img.width, height: img.height, boxes: s.boxes, labels: s.labels },
      rng,
      { width: 96, height: 80 },
    );
    const tile = report.tiles[k];
    t.is(tile.id, s.id);
    t.deepEqual(tile.boxes, Array.from(a.boxes));
    t.deepEqual(
      tile.labels,
      Array.from(a.labels, () => 'face'),
    );
    const x0 = 6 + (k % 3) * (96 + 6);
    const y0 = 6 + Math.floor(k / 3) * (96 + 6);
    const sheetPx = (x: number, y: number) => {
      const o = ((y0 + y) * sheet.width + x0 + x) * sheet.channels;
      return [sheet.data[o], sheet.data[o + 1], sheet.data[o + 2]];
    };
    const tilePx = (x: number, y: number) => Array.from(a.pixels.subarray((y * 96 + x) * 3, (y * 96 + x) * 3 + 3));
    if (a.labels.length === 0) {
      for (let y = 0; y < 80; y++)
        for (let x = 0; x < 96; x++) if (sheetPx(x, y).join() !== tilePx(x, y).join()) t.fail(`tile ${k} (${x}, ${y})`);
      continue;
    }
    for (let b = 0; b < a.labels.length; b++) {
      const [x1, y1, x2, y2] = a.boxes.subarray(4 * b, 4 * b + 4);
      if (x2 - x1 < 8 || y2 - y1 < 8) continue;
      // the left edge column is painted over (2 px line), the centre is left as the augmented pixel
      const ex = Math.min(95, Math.max(0, Math.round(x1)));
      const ey = Math.floor((y1 + y2) / 2);
      t.notDeepEqual(sheetPx(ex, ey), tilePx(ex, ey), `tile ${k} box ${b} left edge`);
      const cx = Math.floor((x1 + x2) / 2);
      t.deepEqual(sheetPx(cx, ey), tilePx(cx, ey), `tile ${k} box ${b} centre`);
      checkedEdges++;
    }
  }
  t.true(checkedEdges >= 2, `${checkedEdges} boxes checked`);
});

test('same seed → identical sheet bytes; another seed → another sheet; --augment none draws only the picks', async (t) => {
  const dir = tmpDir(t);
  const files = ['a.png', 'b.png', 'c.png', 'd.png'].map((f) => path.join(dir, f));
  await runDataPreview(FACES, { out: files[0], count: 4, seed: 1 }, capture());
  await runDataPreview(FACES, { out: files[1], count: 4, seed: 1 }, capture());
  await runDataPreview(FACES, { out: files[2], count: 4, seed: 2 }, capture());
  t.deepEqual(fs.readFileSync(files[0]), fs.readFileSync(files[1]));
  t.notDeepEqual(fs.readFileSync(files[0]), fs.readFileSync(files[2]));
  const io = capture();
  await runDataPreview(FACES, { out: files[3], count: 2, seed: 1, augment: 'none', json: true }, io);
  const tiles = JSON.parse(io.stdout).tiles;
  const ds = await openDataset(FACES);
  for (const tile of tiles) {
    const s = ds.samples.find((x) => x.id === tile.id)!;
    const sx = 300 / s.width;
    const sy = 300 / s.height;
    t.deepEqual(
      tile.boxes,
      Array.from(s.boxes, (v, i) => Math.fround(v * (i % 2 ? sy : sx))),
    );
  }
});

test('never overwrites: an existing --out fails with one line (exit 1), --overwrite replaces it; usage errors exit 2', async (t) => {
  const dir = tmpDir(t);
  const out = path.join(dir, 'sheet.png');
  fs.writeFileSync(out, 'precious');
  const refused = await cli('data', 'preview', FACES, '--out', out, '--count', '1');
  t.is(refused.code, 1);
  t.regex(refused.stderr, /^ssd-edge: Not writing .*sheet\.png: the file exists.*\n$/);
  t.is(fs.readFileSync(out, 'utf8'), 'precious');
  const ok = await cli('data', 'preview', FACES, '--out', out, '--count', '2', '--size', '64x48', '--overwrite');
  t.is(ok.code, 0, ok.stderr);
  t.regex(ok.stdout, /^wrote .*sheet\.png: 2 samples, \d+ box(es)? \(146×76\)\n$/);
  t.is((await decodeImage(out)).width, 2 * 64 + 3 * 6);
  t.deepEqual(fs.readdirSync(dir), ['sheet.png']); // no temporary file left behind

  const size = await cli('data', 'preview', FACES, '--out', path.join(dir, 'x.png'), '--size', '300');
  t.is(size.code, 2);
  t.regex(size.stderr, /--size must be WxH with sides in \[1, 8192\], e\.g\. 300x300 \(received "300"\)/);
  const count = await cli('data', 'preview', FACES, '--out', path.join(dir, 'x.png'), '--count', '0');
  t.is(count.code, 2);
  t.regex(count.stderr, /--count must be an integer in \[1, 256\]/);
  const onDataset = await cli('data', 'preview', FACES, '--out', FACES, '--overwrite');
  t.is(onDataset.code, 1);
  t.true(fs.readFileSync(FACES, 'utf8').includes('astronaut.jpg'));
  t.false(fs.existsSync(path.join(dir, 'x.png')));
});
