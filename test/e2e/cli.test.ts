/**
 * The CLI as users run it: `node --import=tsx lib/cli/index.ts …` in a child process. Output formats, and the rule
 * that a failure is exactly one line on stderr with a non-zero exit code.
 */
import test from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { fixturesDir, readJson } from '../helpers/fixtures.ts';
import { writeTinyDecodedModel } from '../helpers/tiny-detector-model.ts';
import { Detector } from '../../lib/detector/detector.ts';
import { createCanvas } from '@napi-rs/canvas';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const ASTRONAUT = path.join(fixturesDir, 'images', 'astronaut.png');
/** tsx's loader by URL, so the CLI runs from any working directory. */
const TSX = pathToFileURL(path.join(root, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ssd-edge-cli-'));

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(...args: string[]): Promise<Result> {
  return cliIn(root, ...args);
}

/** The CLI run from `cwd` (relative paths then resolve there). */
function cliIn(cwd: string, ...args: string[]): Promise<Result> {
  return run(process.execPath, [`--import=${TSX}`, path.join(root, 'lib/cli/index.ts'), ...args], cwd);
}

function run(file: string, args: string[], cwd: string): Promise<Result> {
  return new Promise((resolve) => {
    execFile(file, args, { cwd, env: { ...process.env, SSD_EDGE_DEBUG: '' } }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as NodeJS.ErrnoException & { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** Files left in a directory, sorted (temporary files included: none may remain). */
const ls = (dir: string) => fs.readdirSync(dir).sort();
const isPng = (file: string) =>
  fs
    .readFileSync(file)
    .subarray(0, 4)
    .equals(Buffer.from([0x89, 0x50, 0x4e, 0x47]));

/** stderr holds exactly one line, starting with 'ssd-edge: '. */
function oneLine(t: import('ava').ExecutionContext, r: Result): string {
  const lines = r.stderr.split('\n').filter(Boolean);
  t.is(lines.length, 1, `stderr: ${r.stderr}`);
  t.true(lines[0].startsWith('ssd-edge: '), lines[0]);
  return lines[0];
}

test.after.always(() => fs.rmSync(tmp, { recursive: true, force: true }));

test('detect --json prints one array of { file, width, height, detections } matching face-api', async (t) => {
  const r = await cli('detect', ASTRONAUT, '--json');
  t.is(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  t.true(Array.isArray(out) && out.length === 1);
  t.like(out[0], { file: ASTRONAUT, width: 512, height: 512 });
  t.is(out[0].detections.length, 1);
  const [d] = out[0].detections;
  t.deepEqual(Object.keys(d), ['label', 'classId', 'score', 'box']);
  t.deepEqual(Object.keys(d.box), ['x1', 'y1', 'x2', 'y2']);
  t.like(d, { label: 'face', classId: 1 });
  const [score, ...box] = readJson<{ runs: Array<{ detections: number[][] }> }>(
    'detector/astronaut_faceapi_detections.json',
  ).runs[0].detections[0];
  t.true(Math.abs(d.score - score) < 1e-3);
  t.true(
    [d.box.x1, d.box.y1, d.box.x2, d.box.y2].every((v: number, i: number) => Math.abs(v - box[i]) <= 1),
    JSON.stringify(d.box),
  );
});

test("--json and --jsonl carry the API's detections at full precision (nothing rounded)", async (t) => {
  const detector = await Detector.load();
  const api = await detector.detect(ASTRONAUT);
  await detector.dispose();
  const [json, jsonl] = [await cli('detect', ASTRONAUT, '--json'), await cli('detect', ASTRONAUT, '--jsonl')];
  t.is(json.code, 0, json.stderr);
  t.is(jsonl.code, 0, jsonl.stderr);
  t.deepEqual(JSON.parse(json.stdout)[0].detections, JSON.parse(JSON.stringify(api)));
  t.deepEqual(JSON.parse(jsonl.stdout.trim()).detections, JSON.parse(JSON.stringify(api)));
  // the values are the float32 numbers themselves, not 2-decimal roundings of them
  t.true(api.some((d) => [d.box.x1, d.box.y1, d.box.x2, d.box.y2].some((v) => Math.round(v * 100) / 100 !== v)));
});

test('the table, --jsonl and --out', async (t) => {
  const copy = path.join(tmp, 'copy.png');
  fs.copyFileSync(ASTRONAUT, copy);
  const table = await cli('detect', ASTRONAUT, copy, '--threshold', '0.5');
  t.is(table.code, 0, table.stderr);
  const lines = table.stdout.trim().split('\n');
  t.regex(lines[0], /^FILE\s+SIZE\s+LABEL\s+SCORE\s+X1\s+Y1\s+X2\s+Y2$/);
  t.is(lines.length, 3);
  t.regex(lines[1], /512x512\s+face\s+0\.96\d\s+181\.1\s+72\.9\s+264\.4\s+174\.6$/);

  const outDir = path.join(tmp, 'annotated');
  const jsonl = await cli('detect', path.join(tmp, '*.png'), '--jsonl', '--out', outDir);
  t.is(jsonl.code, 0, jsonl.stderr);
  const rows = jsonl.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  t.deepEqual(
    rows.map((r) => r.file),
    [copy],
  );
  t.is(rows[0].annotated, path.join(outDir, 'copy.png'));
  t.deepEqual([...fs.readFileSync(rows[0].annotated).subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47]);
});

test('a missing file: exit 1 and one line', async (t) => {
  const missing = path.join(tmp, 'nope.jpg');
  const r = await cli('detect', missing);
  t.is(r.code, 1);
  t.is(oneLine(t, r), `ssd-edge: Cannot read image ${missing}: no such file`);
  t.is(r.stdout, '');
});

test('--out naming a file: exit 1 and one line before any work', async (t) => {
  const file = path.join(tmp, 'not-a-dir');
  fs.writeFileSync(file, 'x');
  const r = await cli('detect', ASTRONAUT, '--out', file);
  t.is(r.code, 1);
  t.is(oneLine(t, r), `ssd-edge: Cannot create output directory ${file}: a file of that name is in the way`);
  t.is(fs.readFileSync(file, 'utf8'), 'x');
});

test('an undecodable image: exit 1 and one line', async (t) => {
  const bad = path.join(tmp, 'bad.jpg');
  fs.writeFileSync(bad, 'not really a jpeg');
  const r = await cli('detect', bad, '--json');
  t.is(r.code, 1);
  t.is(
    oneLine(t, r),
    `ssd-edge: Cannot decode ${bad}: not a JPEG, PNG, WebP, GIF or BMP image (starts with 6e 6f 74 20)`,
  );
});

test('a model without ssd-edge metadata, and a file that is not ONNX: exit 1 and one line', async (t) => {
  const noMeta = writeTinyDecodedModel(null, tmp);
  const r = await cli('detect', ASTRONAUT, '--model', noMeta);
  t.is(r.code, 1);
  t.regex(
    oneLine(t, r),
    /^ssd-edge: Expected ONNX model with ssd-edge metadata .* import it first with `ssd-edge model import`$/,
  );
  const text = path.join(tmp, 'text.onnx');
  fs.writeFileSync(text, 'hello');
  const r2 = await cli('detect', ASTRONAUT, '--model', text);
  t.is(r2.code, 1);
  t.regex(oneLine(t, r2), /^ssd-edge: Expected ONNX model for .*text\.onnx but received a file that does not parse/);
});

test('invalid usage: exit 2 and one line', async (t) => {
  const r = await cli('detect', ASTRONAUT, '--threshold', '2');
  t.is(r.code, 2);
  t.is(
    oneLine(t, r),
    "ssd-edge: option '--threshold <score>' argument '2' is invalid. --threshold must be a number in [0, 1]",
  );
  const r1 = await cli('detect', ASTRONAUT, '-t', '2');
  t.is(r1.code, 2);
  t.is(
    oneLine(t, r1),
    "ssd-edge: option '-t, --score-threshold <score>' argument '2' is invalid. --score-threshold must be a number in [0, 1]",
  );
  const r2 = await cli('detect', ASTRONAUT, '--device', 'npu');
  t.is(r2.code, 2);
  oneLine(t, r2);
});

test('doctor --json reports the runtime', async (t) => {
  const r = await cli('doctor', '--json');
  t.is(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  t.is(report.onnxruntime.version, '1.30.0');
  t.true(report.onnxruntime.providers.some((p: { name: string }) => p.name === 'cpu'));
  t.true(['native', 'typescript'].includes(report.addon.backend));
  t.is(report.defaultModel.name, 'ssd-mobilenetv1-face');
  t.true(report.threads.intraOpNumThreads >= 1);
});

test('unknown commands: exit 2 and one line, --help included', async (t) => {
  for (const args of [['fit', '--help'], ['bogus'], ['help', 'fit']]) {
    const r = await cli(...args);
    t.is(r.code, 2, args.join(' '));
    t.is(
      oneLine(t, r),
      `ssd-edge: unknown command '${args.at(-1) === '--help' ? args[0] : args.at(-1)}' (commands: data, detect, doctor, eval, model, stream, train)`,
    );
    t.is(r.stdout, '');
  }
  const m = await cli('model', 'bogus');
  t.is(m.code, 2);
  t.is(oneLine(t, m), "ssd-edge: unknown command 'bogus' for 'model' (commands: inspect, import, quantize)");
  const help = await cli('detect', '--help');
  t.is(help.code, 0);
  t.regex(help.stdout, /--score-threshold <score>[\s\S]*alias --threshold/);
});

test("--out into the inputs' own folder never replaces an input, nor an existing file without --overwrite", async (t) => {
  const dir = fs.mkdtempSync(path.join(tmp, 'same-'));
  const jpg = path.join(root, 'examples', 'astronaut.jpg');
  fs.copyFileSync(ASTRONAUT, path.join(dir, 'a.png'));
  fs.copyFileSync(jpg, path.join(dir, 'b.jpg'));
  const originals = { 'a.png': fs.readFileSync(ASTRONAUT), 'b.jpg': fs.readFileSync(jpg) };
  const unchanged = () =>
    Object.entries(originals).every(([f, bytes]) => fs.readFileSync(path.join(dir, f)).equals(bytes));

  // detect photos/ --out photos/: annotated copies beside the originals
  const r1 = await cli('detect', dir, '--out', dir, '--jsonl');
  t.is(r1.code, 0, r1.stderr);
  t.true(unchanged());
  t.deepEqual(ls(dir), ['a.annotated.png', 'a.png', 'b.annotated.jpg', 'b.jpg']);
  t.deepEqual(
    r1.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).annotated),
    [path.join(dir, 'a.annotated.png'), path.join(dir, 'b.annotated.jpg')],
  );
  t.true(isPng(path.join(dir, 'a.annotated.png')));

  // detect a.png --out . : the annotated name exists and is not replaced; the result is still printed, exit 1
  fs.writeFileSync(path.join(dir, 'a.annotated.png'), 'keep me');
  const r2 = await cliIn(dir, 'detect', 'a.png', '--out', '.', '--jsonl');
  t.is(r2.code, 1);
  t.is(oneLine(t, r2), 'ssd-edge: Not writing a.annotated.png: the file exists (--overwrite replaces it)');
  const row = JSON.parse(r2.stdout);
  t.is(row.file, 'a.png');
  t.is(row.detections.length, 1);
  t.false('annotated' in row);
  t.is(fs.readFileSync(path.join(dir, 'a.annotated.png'), 'utf8'), 'keep me');
  t.true(unchanged());

  // --overwrite replaces the existing annotated copy, never the input
  const r3 = await cliIn(dir, 'detect', 'a.png', '--out', '.', '--overwrite');
  t.is(r3.code, 0, r3.stderr);
  t.true(isPng(path.join(dir, 'a.annotated.png')));
  t.true(unchanged());

  // an input reached through a symlink under --out is recognised too (identity, not names)
  const out = fs.mkdtempSync(path.join(tmp, 'link-'));
  fs.symlinkSync(path.join(dir, 'a.png'), path.join(out, 'a.png'));
  const r4 = await cli('detect', path.join(dir, 'a.png'), '--out', out, '--overwrite');
  t.is(r4.code, 0, r4.stderr);
  t.deepEqual(ls(out), ['a.annotated.png', 'a.png']);
  t.true(unchanged());
  t.deepEqual(ls(dir), ['a.annotated.png', 'a.png', 'b.annotated.jpg', 'b.jpg']); // no temporary file left
});

test('a failing write (ulimit -f) leaves no partial file, names the file, goes on and prints every result', async (t) => {
  const dir = fs.mkdtempSync(path.join(tmp, 'efbig-'));
  const small = path.join(dir, 'small.png');
  const canvas = createCanvas(64, 48);
  canvas.getContext('2d').fillRect(8, 8, 16, 16);
  fs.writeFileSync(small, canvas.encodeSync('png'));
  const out = path.join(dir, 'out');
  // 60 KiB: the small annotated copy fits, the 512² one (≈ 400 KB) does not. Node ignores SIGXFSZ, so the write
  // fails with EFBIG instead of killing the process.
  const script = `ulimit -f 60; exec "$0" --import=tsx lib/cli/index.ts detect "$1" "$2" --out "$3" --json`;
  const r = await run('bash', ['-c', script, process.execPath, ASTRONAUT, small, out], root);
  t.is(r.code, 1);
  t.is(
    oneLine(t, r),
    `ssd-edge: Cannot write ${path.join(out, 'astronaut.png')}: file too large (a file-size limit, e.g. ulimit -f) (EFBIG)`,
  );
  const results = JSON.parse(r.stdout);
  t.deepEqual(
    results.map((x: { file: string }) => x.file),
    [ASTRONAUT, small],
  );
  t.is(results[0].detections.length, 1);
  t.false('annotated' in results[0]);
  t.is(results[1].annotated, path.join(out, 'small.png'));
  t.deepEqual(ls(out), ['small.png']);
  t.true(isPng(path.join(out, 'small.png')));
});

test('rerunning `detect dir/ --out dir/` never detects on its own annotated copies', async (t) => {
  const dir = fs.mkdtempSync(path.join(tmp, 'rerun-'));
  fs.copyFileSync(path.join(root, 'examples', 'astronaut.jpg'), path.join(dir, 'a.jpg'));
  fs.copyFileSync(ASTRONAUT, path.join(dir, 'b.png'));
  const names = ['a.annotated.jpg', 'a.jpg', 'b.annotated.png', 'b.png'];
  const rows = (r: Result) =>
    r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
  const annotated = [path.join(dir, 'a.annotated.jpg'), path.join(dir, 'b.annotated.png')];

  const r1 = await cli('detect', dir, '--out', dir, '--jsonl');
  t.is(r1.code, 0, r1.stderr);
  t.deepEqual(ls(dir), names);
  const first = rows(r1);
  t.deepEqual(
    first.map((x) => x.file),
    [path.join(dir, 'a.jpg'), path.join(dir, 'b.png')],
  );
  const copies = annotated.map((f) => fs.readFileSync(f));

  // the same command again: the originals only (not the copies), the copies kept, each refusal on its own line
  const r2 = await cli('detect', dir, '--out', dir, '--jsonl');
  t.is(r2.code, 1);
  t.deepEqual(
    r2.stderr.trim().split('\n'),
    annotated.map((f) => `ssd-edge: Not writing ${f}: the file exists (--overwrite replaces it)`),
  );
  t.deepEqual(
    rows(r2).map((x) => x.file),
    first.map((x) => x.file),
  );
  t.deepEqual(
    rows(r2).map((x) => x.detections),
    first.map((x) => x.detections),
    'the same images, the same detections',
  );
  t.deepEqual(ls(dir), names);
  t.true(annotated.every((f, i) => fs.readFileSync(f).equals(copies[i])));

  // with --overwrite: the copies are replaced, from the originals (a glob the shell did not expand, and a relative
  // --out reaching the same folder, behave the same)
  const r3 = await cliIn(dir, 'detect', '*', '--out', '.', '--overwrite', '--jsonl');
  t.is(r3.code, 0, r3.stderr);
  t.deepEqual(
    rows(r3).map((x) => x.file),
    ['a.jpg', 'b.png'],
  );
  t.deepEqual(
    rows(r3).map((x) => x.detections),
    first.map((x) => x.detections),
  );
  t.deepEqual(ls(dir), names);

  // into another folder, the input folder's annotated copies are images like any other (only --out's own are skipped)
  const other = path.join(tmp, 'rerun-other');
  const r4 = await cli('detect', dir, '--out', other, '--jsonl');
  t.is(r4.code, 0, r4.stderr);
  t.deepEqual(
    rows(r4).map((x) => path.basename(x.file)),
    names,
  );
});

test('a bad --model or --classes leaves no --out folder behind; --classes naming no label of the model is a usage error', async (t) => {
  const out = path.join(tmp, 'never-created');
  const text = path.join(tmp, 'not-onnx.onnx');
  fs.writeFileSync(text, 'hello');
  const r1 = await cli('detect', ASTRONAUT, '--model', text, '--out', out);
  t.is(r1.code, 1);
  oneLine(t, r1);
  t.false(fs.existsSync(out));
  const r2 = await cli('detect', ASTRONAUT, '--classes', 'face,cat', '--out', out);
  t.is(r2.code, 2);
  t.is(oneLine(t, r2), "ssd-edge: --classes: 'cat' is not a label of the model (its labels: 'face')");
  t.is(r2.stdout, '');
  t.false(fs.existsSync(out));
  const r3 = await cli('detect', ASTRONAUT, '--classes', 'face', '--json');
  t.is(r3.code, 0, r3.stderr);
  t.is(JSON.parse(r3.stdout)[0].detections.length, 1);
});
