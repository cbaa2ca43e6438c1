/** `ssd-edge data check|stats`: output, exit codes, the plot file rules. */
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { loadImage } from '@napi-rs/canvas';
import { runDataCheck, runDataStats } from '../../../lib/cli/commands/data.ts';
import type { CliIo } from '../../../lib/cli/output.ts';
import { displayPath } from '../../../lib/data/util.ts';
import { fixturesDir } from '../../helpers/fixtures.ts';
import { tmpDir, writeImage, writeJsonl, writeVoc } from '../data/trees.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const TSX = pathToFileURL(path.join(root, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;
const VOC_MINI = path.join(fixturesDir, 'data', 'voc-mini');

function capture(): CliIo & { stdout: string; stderr: string } {
  const io = {
    stdout: '',
    stderr: '',
    out: (s: string) => void (io.stdout += s),
    err: (s: string) => void (io.stderr += s),
  };
  return io;
}

/** A VOC folder with a box outside the image, an empty box and a missing image. */
function badVoc(dir: string): string {
  return writeVoc(dir, [
    {
      id: 'a',
      size: [64, 48],
      objects: [
        { name: 'cat', box: [1, 1, 10, 10] },
        { name: 'dog', box: [50, 40, 70, 48] },
        { name: 'cat', box: [20, 20, 10, 30] },
      ],
    },
    { id: 'b', size: [64, 48], image: null, objects: [] },
  ]);
}

test('check: a clean dataset prints one summary line and exits 0', async (t) => {
  const io = capture();
  t.is(await runDataCheck(VOC_MINI, {}, io), 0);
  t.is(io.stdout, `${displayPath(VOC_MINI)}: 3 images, 4 boxes, 20 classes; no problems\n`);
  t.is(io.stderr, '');
});

test('check: every problem on its own line (file, object, what), then the summary; exit 1', async (t) => {
  const dir = badVoc(tmpDir(t));
  const io = capture();
  t.is(await runDataCheck(dir, {}, io), 1);
  const d = displayPath(dir);
  t.deepEqual(io.stdout.split('\n'), [
    `${d}/Annotations/a.xml object 1 (dog): box [49, 39, 70, 48] is outside the 64×48 image (clipped: [49, 39, 64, 48])`,
    `${d}/Annotations/a.xml object 2 (cat): box [19, 19, 10, 30] is empty (x1 = 19 ≥ x2 = 10)`,
    `${d}/Annotations/b.xml: image ${d}/JPEGImages/b.jpg: no such file`,
    `${d}: 3 problems: 1 box-outside, 1 empty-box, 1 missing-image (usable after dropping them: 1 image, 1 box, 20 classes)`,
    '',
  ]);

  const json = capture();
  t.is(await runDataCheck(dir, { json: true, classes: ['cat'] }, json), 1);
  const report = JSON.parse(json.stdout);
  t.is(report.format, 'voc');
  t.deepEqual(report.classes, ['cat']);
  t.deepEqual(report.counts, { 'box-outside': 1, 'empty-box': 1, 'missing-image': 1, 'unknown-label': 1 });
  t.deepEqual(
    report.problems.map((p: { code: string; object?: number }) => [p.code, p.object]),
    [
      ['unknown-label', 1],
      ['box-outside', 1],
      ['empty-box', 2],
      ['missing-image', undefined],
    ],
  );
});

test('stats: the per-class table and the size histogram as text; problems counted on stderr', async (t) => {
  const dir = tmpDir(t);
  writeImage(path.join(dir, 'a.jpg'), 100, 100);
  const file = writeJsonl(path.join(dir, 's.jsonl'), [
    {
      image: 'a.jpg',
      boxes: [
        { label: 'cat', box: [10, 10, 22, 22] },
        { label: 'dog', box: [0, 0, 100, 100] },
        { label: 'dog', box: [5, 5, 1, 1] },
      ],
    },
  ]);
  const io = capture();
  t.is(await runDataStats(file, { bins: 10 }, io), 0);
  const lines = io.stdout.split('\n');
  t.is(lines[0], `${displayPath(file)} (jsonl): 1 image (0 without boxes), 2 boxes, 2 classes`);
  t.deepEqual(lines.slice(2, 6), [
    'CLASS  IMAGES  BOXES  DIFFICULT  CROWD',
    'cat         1      1          0      0',
    'dog         1      1          0      0',
    '(all)       1      2          0      0',
  ]);
  t.deepEqual(lines.slice(7, 19), [
    'box size relative to the image, sqrt(w·h / (W·H)):',
    'RELATIVE SIZE  BOXES  SSD300 SCALE',
    '0.00–0.10          0',
    '0.10–0.20          1  0.1 (38×38)',
    '0.20–0.30          0  0.2 (19×19)',
    '0.30–0.40          0  0.375 (10×10)',
    '0.40–0.50          0',
    '0.50–0.60          0  0.55 (5×5)',
    '0.60–0.70          0',
    '0.70–0.80          0  0.725 (3×3)',
    '0.80–0.90          0',
    '0.90–1.00          1  0.9 (1×1)',
  ]);
  t.regex(
    io.stderr,
    /^ssd-edge: 1 problem \(1 empty-box\): those boxes and images are left out; `ssd-edge data check` lists them\n$/,
  );

  const json = capture();
  await runDataStats(file, { json: true }, json);
  const stats = JSON.parse(json.stdout);
  t.is(stats.boxes, 2);
  t.is(stats.problems, 1);
  t.is(stats.sizes.counts.length, 20);
});

test('stats --plot writes a PNG atomically and never over an existing file without --overwrite', async (t) => {
  const dir = tmpDir(t);
  const plot = path.join(dir, 'sizes.png');
  const io = capture();
  t.is(await runDataStats(VOC_MINI, { plot }, io), 0);
  t.regex(io.stdout, /\nwrote .*sizes\.png\n$/);
  const img = await loadImage(fs.readFileSync(plot));
  t.deepEqual([img.width, img.height], [800, 480]);
  t.deepEqual(fs.readdirSync(dir), ['sizes.png']); // no temporary file left

  fs.writeFileSync(plot, 'mine');
  await t.throwsAsync(runDataStats(VOC_MINI, { plot }, capture()), {
    message: `Not writing ${plot}: the file exists (--overwrite replaces it)`,
  });
  t.is(fs.readFileSync(plot, 'utf8'), 'mine');
  await runDataStats(VOC_MINI, { plot, overwrite: true }, capture());
  t.is((await loadImage(fs.readFileSync(plot))).width, 800);

  // the dataset itself is never the plot target
  const file = writeJsonl(path.join(dir, 'd.jsonl'), [{ image: 'sizes.png', boxes: [] }]);
  await t.throwsAsync(runDataStats(file, { plot: file, overwrite: true }, capture()), {
    message: `Not writing ${file}: it is the dataset`,
  });
});

test('stats on a dataset that cannot be read: one error naming the first problem', async (t) => {
  const file = writeJsonl(path.join(tmpDir(t), 'e.jsonl'), []);
  await t.throwsAsync(runDataStats(file, {}, capture()), {
    message:
      /e\.jsonl cannot be read: 1 problem, the first: .*e\.jsonl: the dataset lists no images; `ssd-edge data check` lists them all$/,
  });
});

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(...args: string[]): Promise<Result> {
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

test('the installed command: exit 1 with problems on stdout; exit 2 for a bad option; one line for a bad path', async (t) => {
  const dir = badVoc(tmpDir(t));
  const bad = await cli('data', 'check', dir, '--headers-only');
  t.is(bad.code, 1);
  t.is(bad.stdout.trim().split('\n').length, 4);
  t.is(bad.stderr, '');

  const usage = await cli('data', 'check', dir, '--format', 'yolo');
  t.is(usage.code, 2);
  t.regex(usage.stderr, /^ssd-edge: .*argument 'yolo' is invalid\. Allowed choices are voc, coco, jsonl\.\n$/);

  const missing = await cli('data', 'stats', path.join(dir, 'nope'));
  t.is(missing.code, 1);
  t.regex(missing.stderr, /^ssd-edge: Cannot open dataset .*nope: no such file or directory\n$/);
});
