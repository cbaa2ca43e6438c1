/**
 * `ssd-edge train` as a real process: killed with SIGKILL in the middle of an epoch and continued with `--resume`,
 * it loses only the interrupted epoch — the resumed run's next epochs equal an uninterrupted run's on the same seed
 * (the same losses, bit for bit, and the same exported model bytes). Also: the CLI's refusals (an existing
 * checkpoint without --resume, --resume with other options, an existing --out) exit 1 with one line, and a bad
 * flag exits 2.
 *
 * Cost: three short training runs of the face model's heads on 8 generated images (about a minute on 2 cores).
 */
import test from 'ava';
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { makeNewObjectDataset } from '../../examples/new-object-data.ts';
import { readCheckpoint } from '../../lib/train/checkpoint.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const TSX = pathToFileURL(path.join(root, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;
const CLI = [`--import=${TSX}`, path.join(root, 'lib/cli/index.ts')];
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ssd-edge-train-resume-'));
test.after.always(() => fs.rmSync(tmp, { recursive: true, force: true }));

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(...args: string[]): Promise<Result> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [...CLI, ...args],
      { cwd: tmp, env: { ...process.env, SSD_EDGE_DEBUG: '' }, maxBuffer: 1 << 26 },
      (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

let data = '';
test.before(async () => {
  const photos = [
    path.join(root, 'test/fixtures/images/astronaut.png'),
    path.join(root, 'test/fixtures/caffe/coffee-320x240.png'),
  ];
  data = (await makeNewObjectDataset(path.join(tmp, 'signs'), { photos, train: 8, val: 1, size: 256, seed: 5 })).train;
});

/** Same options for every run: 3 epochs of 4 batches, one variant per image, one ORT thread. */
const args = (out: string) => [
  'train',
  '--data',
  data,
  '--classes',
  'sign',
  '--epochs',
  '3',
  '--batch',
  '2',
  '--lr',
  '0.003',
  '--variants',
  '1',
  '--seed',
  '7',
  '--threads',
  '1',
  '--out',
  out,
  '--json',
];

test.serial(
  'SIGKILL mid-epoch, then --resume: the next epochs equal an uninterrupted run on the same seed',
  async (t) => {
    t.timeout(15 * 60_000); // three training runs: about a minute and a half on 2 cores, more on a loaded machine
    const whole = await cli(...args('whole.onnx'));
    t.is(whole.code, 0, whole.stderr);
    const wholeReport = JSON.parse(whole.stdout);
    t.is(wholeReport.history.length, 3);
    t.regex(
      whole.stderr,
      /^epoch 1\/3: loss [\d.]+ \(loc [\d.]+, conf [\d.]+\), [\d.]+ pos\/batch, [\d.]+ s, [\d.]+ img\/s, peak RSS \d+ MB$/m,
    );

    // the second run is killed once it has reported batch 2 of epoch 2 (of 4): mid-epoch by construction
    const child = spawn(process.execPath, [...CLI, ...args('killed.onnx'), '--verbose'], {
      cwd: tmp,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    const killedAt = await new Promise<string>((resolve, reject) => {
      child.stderr.on('data', (chunk) => {
        stderr += chunk;
        if (/^epoch 2\/3 batch 2\/4:/m.test(stderr)) {
          child.kill('SIGKILL');
          resolve(stderr);
        }
      });
      child.on('exit', (code) => reject(new Error(`training ended (${code}) before it could be killed: ${stderr}`)));
    });
    await new Promise((r) => child.on('close', r));
    t.is(child.signalCode, 'SIGKILL');
    t.regex(killedAt, /^epoch 1\/3: loss/m);
    t.false(fs.existsSync(path.join(tmp, 'killed.onnx')), 'nothing exported by the killed run');
    const ckpt = (await readCheckpoint(path.join(tmp, 'killed.train', 'checkpoint.ckpt'))) as { epoch: number };
    t.is(ckpt.epoch, 1, 'the checkpoint holds the last finished epoch');
    t.deepEqual(fs.readdirSync(path.join(tmp, 'killed.train')), ['checkpoint.ckpt'], 'no temporary file left');

    // without --resume the checkpoint is not replaced; with other options it cannot be resumed
    const refused = await cli(...args('killed.onnx'));
    t.is(refused.code, 1);
    t.regex(
      refused.stderr,
      /^ssd-edge: A checkpoint exists at .*checkpoint\.ckpt: resume continues it \(--resume\), overwrite starts over \(--overwrite\)\n$/,
    );
    const other = await cli(...args('killed.onnx'), '--resume', '--lr', '0.01');
    t.is(other.code, 1);
    t.regex(other.stderr, /^ssd-edge: Cannot resume from .*: it was written with other options \(lr 0.003, now 0.01\)/);

    const resumed = await cli(...args('killed.onnx'), '--resume');
    t.is(resumed.code, 0, resumed.stderr);
    const report = JSON.parse(resumed.stdout);
    t.is(report.resumedFrom, 1);
    t.deepEqual(
      report.history.map((e: { loss: number; loc: number; conf: number }) => [e.loss, e.loc, e.conf]),
      wholeReport.history.map((e: { loss: number; loc: number; conf: number }) => [e.loss, e.loc, e.conf]),
      'epochs 1 (from the checkpoint), 2 and 3 (trained again) equal the uninterrupted run',
    );
    t.true(
      Buffer.compare(fs.readFileSync(path.join(tmp, 'killed.onnx')), fs.readFileSync(path.join(tmp, 'whole.onnx'))) ===
        0,
      'the same model bytes',
    );
    // the loss went down over the run (a sanity check that something was trained)
    t.true(wholeReport.history[2].loss < wholeReport.history[0].loss, JSON.stringify(wholeReport.history));
    t.true(fs.readFileSync(path.join(tmp, 'whole.curve.png')).subarray(1, 4).toString() === 'PNG');
  },
);

test.serial(
  'an existing --out is refused before training (exit 1), a bad flag is a usage error (exit 2)',
  async (t) => {
    t.timeout(5 * 60_000);
    fs.writeFileSync(path.join(tmp, 'taken.onnx'), 'mine');
    const r = await cli(...args('taken.onnx'));
    t.is(r.code, 1);
    t.regex(
      r.stderr,
      /^ssd-edge: Not writing .*taken\.onnx: the file exists \(overwrite: true or --overwrite replaces it\)\n$/,
    );
    t.is(fs.readFileSync(path.join(tmp, 'taken.onnx'), 'utf8'), 'mine');
    const bad = await cli('train', '--data', data, '--classes', 'sign', '--batch', '0');
    t.is(bad.code, 2);
    t.is(
      bad.stderr,
      "ssd-edge: option '--batch <n>' argument '0' is invalid. --batch must be an integer in [1, 4096]\n",
    );
    const missing = await cli('train', '--classes', 'sign');
    t.is(missing.code, 2);
    t.regex(missing.stderr, /^ssd-edge: --data is required/);
  },
);
