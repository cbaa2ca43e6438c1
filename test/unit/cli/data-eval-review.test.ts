/**
 * Regressions found reviewing issue 7 as a new user: plots never written over a file the dataset or the evaluation
 * was read from (--overwrite or not), `eval --gt` that scores nothing fails, and the --gt table says what a class
 * without detections or without ground truth does to the means.
 */
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { runDataStats } from '../../../lib/cli/commands/data.ts';
import { type EvalCliOptions, problemLine, runEval } from '../../../lib/cli/commands/eval.ts';
import type { CliIo } from '../../../lib/cli/output.ts';
import { ImageDecodeError } from '../../../lib/image/decode.ts';
import { evaluateVoc } from '../../../lib/eval/index.ts';
import { tmpDir, writeImage, writeJsonl, writeVoc } from '../data/trees.ts';

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

test('data stats --plot --overwrite never replaces an image, an annotation or the split file of the dataset', async (t) => {
  const dir = writeVoc(tmpDir(t), [{ id: 'a', size: [64, 48], objects: [{ name: 'cat', box: [1, 1, 10, 10] }] }], {
    test: ['a'],
  });
  const targets = [
    path.join(dir, 'JPEGImages', 'a.jpg'),
    path.join(dir, 'Annotations', 'a.xml'),
    path.join(dir, 'ImageSets', 'Main', 'test.txt'),
  ];
  for (const plot of targets) {
    const before = fs.readFileSync(plot);
    await t.throwsAsync(runDataStats(dir, { plot, overwrite: true }, capture()), {
      message: `Not writing ${plot}: it is part of the dataset`,
    });
    t.deepEqual(fs.readFileSync(plot), before, plot);
  }
  // a JSONL dataset's image, next to it
  const jsonl = writeJsonl(path.join(dir, 'd.jsonl'), [{ image: 'p.png', boxes: [] }]);
  const png = writeImage(path.join(dir, 'p.png'), 32, 24, 'png');
  const before = fs.readFileSync(png);
  await t.throwsAsync(runDataStats(jsonl, { plot: png, overwrite: true }, capture()), {
    message: `Not writing ${png}: it is part of the dataset`,
  });
  t.deepEqual(fs.readFileSync(png), before);
  t.deepEqual(
    fs.readdirSync(dir).filter((f) => f.endsWith('.tmp')),
    [],
  );
});

test('eval --plots --overwrite never replaces --gt, --detections or an image of --data', async (t) => {
  const dir = tmpDir(t);
  const plots = path.join(dir, 'plots');
  fs.mkdirSync(plots);
  const gt = path.join(plots, 'pr-curves.png');
  const det = path.join(plots, 'summary.png');
  fs.writeFileSync(gt, JSON.stringify([{ image: 'a.jpg', boxes: [{ label: 'cat', box: [0, 0, 10, 10] }] }]));
  fs.writeFileSync(det, JSON.stringify([{ image: 'a.jpg', detections: [] }]));
  const [g0, d0] = [fs.readFileSync(gt, 'utf8'), fs.readFileSync(det, 'utf8')];
  await t.throwsAsync(runEval(opts({ gt, detections: det, plots, overwrite: true }), capture()), {
    message: `Not writing ${gt}: it is one of the inputs`,
  });
  t.deepEqual([fs.readFileSync(gt, 'utf8'), fs.readFileSync(det, 'utf8')], [g0, d0]);

  // --data: the dataset's image is found once the dataset is open, before the model runs
  const img = writeImage(path.join(dir, 'imgs', 'summary.png'), 64, 48, 'png');
  const data = writeJsonl(path.join(dir, 'faces.jsonl'), [
    { image: 'imgs/summary.png', boxes: [{ label: 'face', box: [1, 1, 20, 20] }] },
  ]);
  const before = fs.readFileSync(img);
  await t.throwsAsync(runEval(opts({ data, plots: path.join(dir, 'imgs'), overwrite: true }), capture()), {
    message: `Not writing ${img}: it is one of the inputs`,
  });
  t.deepEqual(fs.readFileSync(img), before);
  t.deepEqual(fs.readdirSync(path.join(dir, 'imgs')), ['summary.png']); // pr-curves.png not written either
});

test('eval --gt with no images or no ground-truth objects prints the table and exits 1', async (t) => {
  const dir = tmpDir(t);
  const empty = path.join(dir, 'empty.json');
  fs.writeFileSync(empty, '[]');
  const det = path.join(dir, 'det.json');
  fs.writeFileSync(det, '[]');
  let io = capture();
  t.is(await runEval(opts({ gt: empty, detections: det }), io), 1);
  t.is(io.stderr, `ssd-edge: ${empty} lists no images: nothing was scored\n`);
  t.regex(io.stdout, /^CLASS/);

  const onlyDifficult = path.join(dir, 'difficult.json');
  fs.writeFileSync(
    onlyDifficult,
    JSON.stringify([{ image: 'a.jpg', boxes: [{ label: 'cat', box: [0, 0, 10, 10], difficult: true }] }]),
  );
  io = capture();
  t.is(await runEval(opts({ gt: onlyDifficult, detections: det, json: true }), io), 1);
  t.is(
    io.stderr,
    `ssd-edge: ${onlyDifficult} has no ground-truth objects (difficult and crowd ones do not count): nothing was scored\n`,
  );
  t.is(JSON.parse(io.stdout).ap50, 'NaN');
});

test('eval --gt: a class without detections is scored as AP 0 (and said so), a label without ground truth is not', async (t) => {
  const dir = tmpDir(t);
  const groundTruth = [
    { image: 'a.jpg', boxes: [{ label: 'cat', box: [0, 0, 10, 10] as [number, number, number, number] }] },
    { image: 'b.jpg', boxes: [{ label: 'dog', box: [0, 0, 10, 10] as [number, number, number, number] }] },
  ];
  const detections = [{ image: 'b.jpg', detections: [{ label: 'dog', score: 0.9, box: [0, 0, 10, 10] }] }];
  detections[0].detections.push({ label: 'bird', score: 0.5, box: [0, 0, 5, 5] });
  const gt = path.join(dir, 'gt.json');
  const det = path.join(dir, 'det.json');
  fs.writeFileSync(gt, JSON.stringify(groundTruth));
  fs.writeFileSync(det, JSON.stringify(detections));
  const io = capture();
  t.is(await runEval(opts({ gt, detections: det }), io), 0);
  // the mean is over cat (0, no detections) and dog (1), as evaluateVoc computes it independently of the CLI
  const voc = evaluateVoc(groundTruth, detections as never);
  t.is(voc.map, 0.5);
  t.regex(io.stdout, /\nmean +0\.500 /);
  t.regex(io.stdout, /\nno detections \(AP 0\): cat\n/);
  t.regex(io.stdout, /\nnot scored, no ground truth \(detections only\): bird\n/);
  t.notRegex(io.stdout, /missing in the model/);
});

test('eval --gt with one --data-only option: one readable line, exit 2 (singular verb)', async (t) => {
  const err = await t.throwsAsync(runEval(opts({ gt: 'g.json', detections: 'd.json', split: 'x' }), capture()));
  t.is(err?.message, '--split only applies with --data (a model over a dataset), not with --gt');
  t.is(err?.name, 'UsageError');
});

test('eval --plots onto a file (or below one) is refused before any work, with one line', async (t) => {
  const dir = tmpDir(t);
  const gt = path.join(dir, 'gt.json');
  const det = path.join(dir, 'det.json');
  fs.writeFileSync(gt, JSON.stringify([{ image: 'a.jpg', boxes: [{ label: 'cat', box: [0, 0, 10, 10] }] }]));
  fs.writeFileSync(det, '[]');
  const io = capture();
  await t.throwsAsync(runEval(opts({ gt, detections: det, plots: gt }), io), {
    message: `Not writing the plots into ${gt}: it is a file, not a folder`,
  });
  t.is(io.stdout, ''); // nothing scored nor printed: refused first
  await t.throwsAsync(runEval(opts({ gt, detections: det, plots: path.join(gt, 'sub') }), capture()), {
    message: /: .*gt\.json is a file, not a folder$/,
  });
  t.deepEqual(fs.readdirSync(dir).sort(), ['det.json', 'gt.json']);
});

test('eval --data refuses an image cut short (the decoder would fill it with grey and score it silently)', async (t) => {
  const dir = tmpDir(t);
  const full = fs.readFileSync(writeImage(path.join(dir, 'full.jpg'), 96, 64));
  fs.writeFileSync(path.join(dir, 'cut.jpg'), full.subarray(0, Math.floor(full.length * 0.8)));
  const data = writeJsonl(path.join(dir, 'd.jsonl'), [
    { image: 'full.jpg', boxes: [{ label: 'face', box: [10, 10, 40, 40] }] },
    { image: 'cut.jpg', boxes: [{ label: 'face', box: [10, 10, 40, 40] }] },
  ]);
  const io = capture();
  await t.throwsAsync(runEval(opts({ data }), io), {
    instanceOf: ImageDecodeError,
    message: `Cannot decode ${path.join(dir, 'cut.jpg')} (cut.jpg): truncated JPEG data (no end-of-image marker); \`ssd-edge data check\` finds every such image`,
  });
  t.is(io.stdout, '');
});

test('problemLine: a message that names its file relative to the working directory is not prefixed again', (t) => {
  const file = path.join(process.cwd(), 'd.jsonl');
  t.is(
    problemLine({ file, code: 'missing-image', message: 'd.jsonl:1: image nope.jpg: no such file' }),
    'd.jsonl:1: image nope.jpg: no such file',
  );
  t.is(problemLine({ file, code: 'x', message: 'something' }), 'd.jsonl: something');
});
