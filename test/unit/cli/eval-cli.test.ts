/**
 * `ssd-edge eval` as users run it (a child process): the README workflow `detect --json` → `eval --gt --detections`
 * against the oracle's numbers, and the exit codes (2 usage, 1 data problem) with one readable line per error.
 */
import test from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { fixturesDir, num, readJson } from '../../helpers/fixtures.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const TSX = pathToFileURL(path.join(root, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;
const FACES = path.join(fixturesDir, 'eval', 'faces');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ssd-edge-evalcli-'));
test.after.always(() => fs.rmSync(tmp, { recursive: true, force: true }));
const expected = readJson<{ voc: { map: number }; coco: Record<string, number | string> }>('eval/faces/expected.json');

function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [`--import=${TSX}`, path.join(root, 'lib/cli/index.ts'), ...args],
      { cwd: root, env: { ...process.env, SSD_EDGE_DEBUG: '' }, maxBuffer: 1 << 26 },
      (err, stdout, stderr) =>
        resolve({
          code: err ? Number((err as NodeJS.ErrnoException & { code?: number }).code ?? 1) : 0,
          stdout,
          stderr,
        }),
    );
  });
}

test('detect --json then eval --gt --detections: the oracle numbers for the face set', async (t) => {
  const images = path.join(FACES, 'images');
  const d = await cli('detect', images, '--json', '--score-threshold', '0.01', '--max-detections', '100');
  t.is(d.code, 0, d.stderr);
  const det = path.join(tmp, 'detect.json');
  fs.writeFileSync(det, d.stdout);
  // ground truth with the JSONL's image ids (images/astronaut.jpg): detect's paths match them by their ending
  const gt = path.join(tmp, 'gt.json');
  fs.writeFileSync(gt, JSON.stringify(readJson<{ groundTruth: unknown }>('eval/faces/model-output.json').groundTruth));
  const r = await cli('eval', '--gt', gt, '--detections', det, '--json');
  t.is(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  t.is(out.images, 8);
  // one image per forward pass in detect, eight in eval: the same detections up to float rounding
  t.true(Math.abs(out.ap50 - num(expected.voc.map)) < 1e-6, `${out.ap50} vs ${expected.voc.map}`);
  t.true(Math.abs(out.map - num(expected.coco.AP)) < 1e-6, `${out.map} vs ${expected.coco.AP}`);
  t.true(Math.abs(out.ap75 - num(expected.coco.AP75)) < 1e-6);
});

test('exit 2 with one line for usage errors, 1 with every problem for a bad dataset', async (t) => {
  const both = await cli('eval', '--data', path.join(FACES, 'faces.jsonl'), '--gt', 'x.json', '--detections', 'y.json');
  t.is(both.code, 2);
  t.regex(
    both.stderr,
    /^ssd-edge: --data runs a model; --gt with --detections scores saved detections: give one of them\n$/,
  );
  const iou = await cli('eval', '--data', path.join(FACES, 'faces.jsonl'), '--iou', '1.5');
  t.is(iou.code, 2);
  t.regex(iou.stderr, /^ssd-edge: .*--iou must be a number in \[0, 1\]\n$/);
  const fmt = await cli('eval', '--data', path.join(FACES, 'faces.jsonl'), '--format', 'yolo');
  t.is(fmt.code, 2);
  t.is(fmt.stderr.split('\n').filter(Boolean).length, 1);

  const bad = path.join(tmp, 'bad.jsonl');
  fs.writeFileSync(
    bad,
    `${JSON.stringify({ image: path.join(FACES, 'images', 'coffee.jpg'), boxes: [{ label: 'face', box: [0, 0, 10, Number.MAX_VALUE] }] })}\n` +
      `${JSON.stringify({ image: 'nowhere.jpg', boxes: [] })}\n`,
  );
  const r = await cli('eval', '--data', bad);
  t.is(r.code, 1);
  t.is(r.stdout, '');
  const lines = r.stderr.trimEnd().split('\n');
  t.is(lines.length, 3, r.stderr);
  t.regex(lines[0], /^ssd-edge: .*bad\.jsonl:1 object 0/);
  t.regex(lines[1], /^ssd-edge: .*bad\.jsonl:2: .*nowhere\.jpg/);
  t.regex(lines[2], /2 problems in .*bad\.jsonl; nothing evaluated/);

  const missing = await cli('eval', '--gt', path.join(tmp, 'none.json'), '--detections', path.join(tmp, 'none.json'));
  t.is(missing.code, 1);
  t.regex(missing.stderr, /^ssd-edge: .*none\.json.*\n$/);
});
