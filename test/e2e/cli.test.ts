/**
 * The CLI as users run it: `node --import=tsx lib/cli/index.ts …` in a child process. Output formats, and the rule
 * that a failure is exactly one line on stderr with a non-zero exit code.
 */
import test from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { fixturesDir, readJson } from '../helpers/fixtures.ts';
import { writeTinyDecodedModel } from '../helpers/tiny-detector-model.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const ASTRONAUT = path.join(fixturesDir, 'images', 'astronaut.png');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ssd-edge-cli-'));

interface Result { code: number; stdout: string; stderr: string }

function cli(...args: string[]): Promise<Result> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import=tsx', 'lib/cli/index.ts', ...args], { cwd: root, env: { ...process.env, SSD_EDGE_DEBUG: '' } },
      (err, stdout, stderr) => resolve({ code: err ? Number((err as NodeJS.ErrnoException & { code?: number }).code ?? 1) : 0, stdout, stderr }));
  });
}

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
  t.like(d, { label: 'face', classId: 1 });
  const [score, ...box] = readJson<{ runs: Array<{ detections: number[][] }> }>('detector/astronaut_faceapi_detections.json').runs[0].detections[0];
  t.true(Math.abs(d.score - score) < 1e-3);
  t.true(d.box.every((v: number, i: number) => Math.abs(v - box[i]) <= 1), String(d.box));
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
  const rows = jsonl.stdout.trim().split('\n').map((l) => JSON.parse(l));
  t.deepEqual(rows.map((r) => r.file), [copy]);
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

test('an undecodable image: exit 1 and one line', async (t) => {
  const bad = path.join(tmp, 'bad.jpg');
  fs.writeFileSync(bad, 'not really a jpeg');
  const r = await cli('detect', bad, '--json');
  t.is(r.code, 1);
  t.is(oneLine(t, r), `ssd-edge: Cannot decode ${bad}: not a JPEG, PNG, WebP, GIF or BMP image (starts with 6e 6f 74 20)`);
});

test('a model without ssd-edge metadata, and a file that is not ONNX: exit 1 and one line', async (t) => {
  const noMeta = writeTinyDecodedModel(null, tmp);
  const r = await cli('detect', ASTRONAUT, '--model', noMeta);
  t.is(r.code, 1);
  t.regex(oneLine(t, r), /^ssd-edge: Expected ONNX model with ssd-edge metadata .* import it first with `ssd-edge model import`$/);
  const text = path.join(tmp, 'text.onnx');
  fs.writeFileSync(text, 'hello');
  const r2 = await cli('detect', ASTRONAUT, '--model', text);
  t.is(r2.code, 1);
  t.regex(oneLine(t, r2), /^ssd-edge: Expected ONNX model for .*text\.onnx but received a file that does not parse/);
});

test('invalid usage: exit 2 and one line', async (t) => {
  const r = await cli('detect', ASTRONAUT, '--threshold', '2');
  t.is(r.code, 2);
  t.is(oneLine(t, r), "ssd-edge: option '-t, --threshold <score>' argument '2' is invalid. --threshold must be a number in [0, 1]");
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
