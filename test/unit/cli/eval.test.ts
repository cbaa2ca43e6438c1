/**
 * `ssd-edge eval` in process (runEval with captured output): --data with the default model on the face set and
 * --gt/--detections on its saved detections, both against the Python oracle's numbers (test/fixtures/eval/faces/
 * expected.json); the table; --plots; usage errors; every data problem listed with exit 1.
 */
import test from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { evalTable, runEval, type EvalCliOptions, type EvalReport } from '../../../lib/cli/commands/eval.ts';
import { UsageError } from '../../../lib/cli/handle-error.ts';
import type { CliIo } from '../../../lib/cli/output.ts';
import { fixturesDir, num, readJson } from '../../helpers/fixtures.ts';

const FACES = path.join(fixturesDir, 'eval', 'faces', 'faces.jsonl');
const expected = readJson<{
  voc: { map: number; ap: Record<string, number> };
  voc07: { map: number };
  coco: Record<string, number | string> & { perClass: Record<string, Record<string, number>> };
}>('eval/faces/expected.json');
const saved = readJson<{ groundTruth: unknown[]; detections: unknown[] }>('eval/faces/model-output.json');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ssd-edge-evalcli-'));
test.after.always(() => fs.rmSync(tmp, { recursive: true, force: true }));

const near = (a: number | string, b: number | string, tol = 1e-6) => Math.abs(num(a) - num(b)) <= tol;

function capture(): CliIo & { stdout: string; stderr: string } {
  const io = {
    stdout: '',
    stderr: '',
    out: (s: string) => void (io.stdout += s),
    err: (s: string) => void (io.stderr += s),
    errIsTTY: false,
  };
  return io;
}

const opts = (o: Partial<EvalCliOptions>): EvalCliOptions => ({ iou: 0.5, ...o }) as EvalCliOptions;

function savedFiles() {
  const gt = path.join(tmp, 'gt.json');
  const det = path.join(tmp, 'det.json');
  fs.writeFileSync(gt, JSON.stringify(saved.groundTruth));
  fs.writeFileSync(det, JSON.stringify(saved.detections));
  return { gt, det };
}

test('--gt --detections --json: the oracle numbers on the saved detections, the documented keys', async (t) => {
  const { gt, det } = savedFiles();
  const io = capture();
  t.is(await runEval(opts({ gt, detections: det, json: true }), io), 0);
  t.is(io.stderr, '');
  const r = JSON.parse(io.stdout) as EvalReport;
  for (const k of ['ap50', 'map', 'ap75', 'perClass', 'images', 'seconds']) t.true(k in r, k);
  t.true(near(r.ap50, expected.voc.map) && near(r.map, expected.coco.AP) && near(r.ap75, expected.coco.AP75));
  t.true(near(r.perClass.face.ap50, expected.voc.ap.face));
  t.true(near(r.perClass.face.map, expected.coco.perClass.face.AP));
  t.is(r.perClass.face.npos, 7);
  t.is(r.images, 8);
  for (const k of Object.keys(r.coco)) t.true(near(r.coco[k], expected.coco[k]) || r.coco[k] === expected.coco[k], k);
  t.deepEqual(r.voc, { iouThreshold: 0.5, use07Metric: false });
  // --voc07: the 11-point mean
  const io07 = capture();
  t.is(await runEval(opts({ gt, detections: det, json: true, voc07: true }), io07), 0);
  t.true(near(JSON.parse(io07.stdout).ap50, expected.voc07.map));
});

test('--data with the default model: the oracle numbers, a table with the class and mean rows', async (t) => {
  const io = { ...capture(), errIsTTY: true }; // a terminal: the progress bar on stderr, stdout only the JSON
  io.out = (s: string) => void (io.stdout += s);
  io.err = (s: string) => void (io.stderr += s);
  t.is(await runEval(opts({ data: FACES, json: true }), io), 0);
  t.regex(io.stderr, /\r\[#{24}\] 8\/8 coffee\.jpg/);
  t.regex(io.stderr, /\r {19,}\r$/, 'the bar is erased at the end');
  const r = JSON.parse(io.stdout) as EvalReport;
  t.true(near(r.ap50, expected.voc.map), `${r.ap50}`);
  t.true(near(r.map, expected.coco.AP) && near(r.ap75, expected.coco.AP75));
  t.is(r.images, 8);
  t.true(r.seconds > 0 && (r.imagesPerSecond ?? 0) > 0);
  t.deepEqual(r.missingInModel, []);
  t.like(r.settings, { scoreThreshold: 0.01, batchSize: 8 });
  const table = evalTable(r).split('\n');
  t.regex(table[0], /^CLASS\s+AP50\s+AP75\s+mAP\s+GT$/);
  t.regex(
    table[1],
    new RegExp(
      `^face\\s+${num(expected.voc.map).toFixed(3)}\\s+${num(expected.coco.AP75).toFixed(3)}\\s+${num(expected.coco.AP).toFixed(3)}\\s+7$`,
    ),
  );
  t.regex(table[2], /^mean\s/);
  t.regex(table[3], /^8 images, .* s \(.* images\/s\)\. AP50: VOC AP at IoU 0\.5, all-point/);
});

test('--plots writes both PNGs, refuses existing ones before any work, --overwrite replaces them', async (t) => {
  const { gt, det } = savedFiles();
  const dir = path.join(tmp, 'plots');
  const io = capture();
  t.is(await runEval(opts({ gt, detections: det, plots: dir }), io), 0);
  t.deepEqual(fs.readdirSync(dir).sort(), ['pr-curves.png', 'summary.png']);
  t.regex(io.stdout, /plots: .*pr-curves\.png, .*summary\.png/);
  const before = fs.readFileSync(path.join(dir, 'summary.png'));
  await t.throwsAsync(runEval(opts({ gt, detections: path.join(tmp, 'missing.json'), plots: dir }), capture()), {
    code: 'EEXIST',
    message: /pr-curves\.png.*--overwrite/,
  });
  t.true(fs.readFileSync(path.join(dir, 'summary.png')).equals(before));
  t.is(await runEval(opts({ gt, detections: det, plots: dir, overwrite: true }), capture()), 0);
});

test('usage errors: --data with --gt, --gt alone, nothing, model options with --gt', async (t) => {
  const { gt, det } = savedFiles();
  const usage = (o: Partial<EvalCliOptions>, re: RegExp, given?: (k: string) => boolean) =>
    t.throwsAsync(runEval(opts(o), capture(), given), { instanceOf: UsageError, message: re });
  await usage({ data: FACES, gt, detections: det }, /give one of them/);
  await usage({ gt }, /--gt needs --detections/);
  await usage({ detections: det }, /--detections needs --gt/);
  await usage({}, /nothing to evaluate/);
  await usage({ gt, detections: det, model: 'm.onnx', batch: 2 }, /--model, --batch only apply with --data/);
  // --device has a default: only a --device given on the command line counts
  t.is(await runEval(opts({ gt, detections: det }), capture(), (k) => k === 'gt' || k === 'detections'), 0);
  await usage({ gt, detections: det }, /--device only applies/, (k) => k === 'device');
});

test('a dataset with problems: each on its own stderr line, exit 1, nothing evaluated', async (t) => {
  const file = path.join(tmp, 'bad.jsonl');
  const img = path.join(fixturesDir, 'eval', 'faces', 'images', 'astronaut.jpg');
  fs.writeFileSync(
    file,
    [
      { image: img, boxes: [{ label: 'face', box: [10, 10, 400, 50] }] }, // outside the 320 × 320 image
      { image: img.replace('astronaut', 'nobody'), boxes: [] }, // missing image
      {
        image: path.join(fixturesDir, 'eval', 'faces', 'images', 'coffee.jpg'),
        boxes: [{ label: 'face', box: [5, 5, 1, 9] }],
      }, // x1 ≥ x2
    ]
      .map((l) => JSON.stringify(l))
      .join('\n'),
  );
  const io = capture();
  t.is(await runEval(opts({ data: file }), io), 1);
  t.is(io.stdout, '');
  const lines = io.stderr.trimEnd().split('\n');
  t.is(lines.length, 4, io.stderr);
  t.true(lines.every((l) => l.startsWith('ssd-edge: ')));
  t.regex(lines[0], /bad\.jsonl:1 object 0 \(face\): box \[10, 10, 400, 50\] is outside the 320×320 image/);
  t.regex(lines[1], /bad\.jsonl:2: .*nobody\.jpg/);
  t.regex(lines[2], /bad\.jsonl:3 object 0 \(face\): .*empty/);
  t.regex(lines[3], /^ssd-edge: 3 problems in .*bad\.jsonl; nothing evaluated$/);
  // --box-policy clip: a box outside is clipped and reported on stderr, the evaluation runs
  const outside = path.join(tmp, 'outside.jsonl');
  fs.writeFileSync(outside, JSON.stringify({ image: img, boxes: [{ label: 'face', box: [113.75, 45, 167.5, 400] }] }));
  const clip = capture();
  t.is(await runEval(opts({ data: outside, boxPolicy: 'clip' }), clip), 0);
  t.regex(clip.stderr, /^ssd-edge: .*outside\.jsonl:1 object 0 \(face\): .*outside the 320×320 image.* \(clip\)\n$/);
  t.regex(clip.stdout, /^CLASS/);
});

test('a model and a dataset without a class in common: the report, one line saying so, exit 1', async (t) => {
  const file = path.join(tmp, 'cats.jsonl');
  fs.writeFileSync(
    file,
    JSON.stringify({
      image: path.join(fixturesDir, 'eval', 'faces', 'images', 'chelsea.jpg'),
      boxes: [{ label: 'cat', box: [60, 20, 240, 190] }],
    }),
  );
  const io = capture();
  t.is(await runEval(opts({ data: file, json: true }), io), 1);
  t.is(
    io.stderr,
    `ssd-edge: the model's labels (face) and the classes of ${file} (cat) share none: nothing was scored\n`,
  );
  const r = JSON.parse(io.stdout) as EvalReport;
  t.deepEqual(r.perClass, {});
  t.deepEqual([r.missingInModel, r.extraInModel], [['cat'], ['face']]);
  t.is(r.ap50 as unknown, 'NaN');
});
