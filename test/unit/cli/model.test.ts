/** `ssd-edge model inspect|import`: the commander wiring over lib/model (tiny stand-in models). */
import test from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { modelCommand } from '../../../lib/cli/commands/model.ts';
import { writeOnnx } from '../../../lib/model/onnx.ts';
import { tinyPytorchSsd, tinyTorchvision } from '../../helpers/tiny-models.ts';

/** Runs `ssd-edge model …args`, returning what it printed; commander errors throw instead of exiting. */
async function run(...args: string[]): Promise<string> {
  let printed = '';
  const cmd = modelCommand({ out: (s) => (printed += s) });
  const program = new Command('ssd-edge')
    .exitOverride()
    .configureOutput({ writeErr: () => {}, writeOut: () => {} })
    .addCommand(cmd);
  for (const c of [cmd, ...cmd.commands]) c.exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
  await program.parseAsync(['model', ...args], { from: 'user' });
  return printed;
}

function fixture(t: { teardown(fn: () => void): void }) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssd-edge-cli-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const src = path.join(dir, 'ssdlite.onnx');
  fs.writeFileSync(src, writeOnnx(tinyTorchvision(3234, 91, 320)));
  return { dir, src };
}

test('import torchvision then inspect (text and --json)', async (t) => {
  const { dir, src } = fixture(t);
  const out = path.join(dir, 'm.onnx');
  t.regex(
    await run('import', 'torchvision', src, '--out', out, '--name', 'lite'),
    /^wrote .*m\.onnx \(0\.0 MB\): lite, ssdlite320-mobilenetv3-large, 91 labels\n$/m,
  );
  const text = await run('inspect', out);
  t.regex(text, /^name {10}lite$/m);
  t.regex(text, /^anchors {7}3234 \(preset torchvision-ssdlite320\)$/m);
  t.regex(text, /^labels {8}91: __background__, person, bicycle, car, motorcycle, airplane, bus, train, …$/m);
  t.regex(
    text,
    /^postprocess {3}scoring softmax, boxes deltas, background 0, score > 0\.001, nms 0\.55, top-k 300, max 300/m,
  );
  t.regex(text, /^ {2}input {7}images float32 \[1, 3, 320, 320\]$/m);
  t.regex(text, /^onnx {10}opset 13, /m);
  const json = JSON.parse(await run('inspect', out, '--json'));
  t.is(json.spec.name, 'lite');
  t.is(json.anchors, 3234);
  t.deepEqual(
    json.onnx.outputs.map((o: { name: string }) => o.name),
    ['bbox_regression', 'cls_logits'],
  );
});

test('inspect of a model without metadata prints the ONNX interface and the import hint', async (t) => {
  const { src } = fixture(t);
  const text = await run('inspect', src);
  t.regex(text, /^ssd-edge spec none \(no 'ssd_edge' metadata\) — import it first with `ssd-edge model import`$/m);
  t.regex(text, /output {6}cls_logits float32 \[1, 3234, 91\]/);
  t.is(JSON.parse(await run('inspect', src, '--json')).spec, null);
});

test('import pytorch-ssd with --labels and --preprocess', async (t) => {
  const { dir } = fixture(t);
  const src = path.join(dir, 'mb1.onnx');
  fs.writeFileSync(src, writeOnnx(tinyPytorchSsd(3000, 3)));
  fs.writeFileSync(path.join(dir, 'labels.txt'), 'BACKGROUND\na\nb\n');
  const out = path.join(dir, 'p.onnx');
  await run(
    'import',
    'pytorch-ssd',
    src,
    '-o',
    out,
    '--labels',
    path.join(dir, 'labels.txt'),
    '--preprocess',
    'jetson',
  );
  t.regex(await run('inspect', out), /mean \[127\.5, 127\.5, 127\.5\] std \[127\.5, 127\.5, 127\.5\]/);
});

test('errors are thrown with readable messages', async (t) => {
  const { dir, src } = fixture(t);
  // no --out: <source name>.ssd-edge.onnx beside the source (changed on purpose by issue 10: --out was required)
  t.regex(await run('import', 'torchvision', src), /^wrote .*ssdlite\.ssd-edge\.onnx /m);
  t.true(fs.existsSync(path.join(dir, 'ssdlite.ssd-edge.onnx')));
  await t.throwsAsync(run('import', '--format', 'keras', src, '--out', 'x'), {
    message: /^error: option '--format <kind>' argument 'keras' is invalid/,
  });
  await t.throwsAsync(run('import', 'torchvision', src, '--out', path.join(dir, 'x.onnx'), '--preprocess', 'vgg16'), {
    message: '--preprocess applies to pytorch-ssd imports only, not torchvision',
  });
  await t.throwsAsync(run('import', 'pytorch-ssd', src, '--out', path.join(dir, 'x.onnx')), {
    // any input name is accepted now (issue 10); the outputs are what a pytorch-ssd export must have
    message: /^Expected pytorch-ssd export with output 'boxes' but received outputs 'bbox_regression' \[1, 3234, 4\]/,
  });
  const missing = path.join(dir, 'missing.onnx');
  await t.throwsAsync(run('inspect', missing), {
    code: 'ENOENT',
    message: `Cannot read model ${missing}: no such file`,
  });
  await t.throwsAsync(run('inspect', dir), {
    code: 'EISDIR',
    message: `Cannot read model ${dir}: is a directory, expected an .onnx file`,
  });
  await t.throwsAsync(run('import', 'torchvision', dir, '--out', path.join(dir, 'x.onnx')), {
    code: 'EISDIR',
    message: `Cannot read model ${dir}: is a directory, expected an .onnx file`,
  });
});

test('`ssd-edge model inspect DIR` as a user runs it: one line naming the path, exit 1', async (t) => {
  const { dir } = fixture(t);
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
  const r = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      ['--import=tsx', 'lib/cli/index.ts', 'model', 'inspect', dir],
      { cwd: root, env: { ...process.env, SSD_EDGE_DEBUG: '' } },
      (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
  t.is(r.code, 1);
  t.is(r.stdout, '');
  t.is(r.stderr, `ssd-edge: Cannot read model ${dir}: is a directory, expected an .onnx file\n`);
});

test('import never writes over its source model, nor over an existing file without --overwrite', async (t) => {
  const { dir, src } = fixture(t);
  const original = fs.readFileSync(src);
  await t.throwsAsync(run('import', 'torchvision', src, '--out', src, '--overwrite'), {
    message: `Not writing ${src}: it is the source model`,
  });
  const link = path.join(dir, 'link.onnx');
  fs.symlinkSync(src, link);
  await t.throwsAsync(run('import', 'torchvision', src, '--out', link, '--overwrite'), {
    message: `Not writing ${link}: it is the source model`,
  });
  t.true(fs.readFileSync(src).equals(original));
  const out = path.join(dir, 'm.onnx');
  fs.writeFileSync(out, 'keep me');
  await t.throwsAsync(run('import', 'torchvision', src, '--out', out), {
    message: `Not writing ${out}: the file exists (--overwrite replaces it)`,
  });
  t.is(fs.readFileSync(out, 'utf8'), 'keep me');
  t.regex(await run('import', 'torchvision', src, '--out', out, '--overwrite'), /^wrote .*m\.onnx/m);
  t.regex(await run('inspect', out), /^anchors {7}3234 /m);
  // a directory as --out: said so, with or without --overwrite, and nothing written in or beside it
  for (const extra of [[], ['--overwrite']]) {
    await t.throwsAsync(run('import', 'torchvision', src, '--out', dir, ...extra), {
      message: `Not writing ${dir}: it is a directory`,
    });
  }
  t.deepEqual(fs.readdirSync(dir).sort(), ['link.onnx', 'm.onnx', path.basename(src)].sort());
});

test('import FILE (format from the bytes) with --labels, --input-size, --channels, --mean, --std, --set; inspect shows the origin', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssd-edge-cli-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const src = path.join(dir, 'ssd.onnx');
  fs.writeFileSync(src, writeOnnx(tinyPytorchSsd(3000, 3)));
  fs.writeFileSync(path.join(dir, 'labels.txt'), 'person\ncar\n');
  const out = path.join(dir, 'm.onnx');
  const text = await run(
    'import',
    src,
    '--out',
    out,
    '--labels',
    path.join(dir, 'labels.txt'),
    '--input-size',
    '300x300',
    '--channels',
    'bgr',
    '--mean',
    '104,117,123',
    '--std',
    '1',
    '--set',
    'postprocess.topkCandidates=400',
    '--set',
    'postprocess.nmsThresh=0.3',
  );
  t.regex(text, /^ {2}ssd\.onnx: ONNX model \(ir_version \d+, opset \d+, producer tiny-test\)$/m);
  t.regex(text, /^ {2}importer: ssd-edge\/pytorch-ssd-importer@2 \(format recognised from the bytes\)$/m);
  t.regex(
    text,
    /^ {2}overrides: input size 300x300; channels BGR; mean 104,117,123; std 1,1,1; postprocess\.topkCandidates = 400; postprocess\.nmsThresh = 0\.3$/m,
  );
  t.regex(text, /^ {2}input: 'input_0' NCHW 300x300 BGR, x' = \(x - \[104, 117, 123\]\) \/ \[1, 1, 1\]/m);
  t.regex(text, /^ {2}classes: 3 \(BACKGROUND, person, car\)$/m);
  t.regex(text, /^ {2}postprocess: score > 0\.5, NMS 0\.3, 400 candidates, 200 detections$/m);
  t.regex(text, /^wrote .*m\.onnx /m);
  const info = await run('inspect', out);
  t.regex(info, /^source {8}ssd\.onnx \(onnx; sha256 [0-9a-f]{16}\)$/m);
  t.regex(info, /^converter {5}ssd-edge\/pytorch-ssd-importer@2$/m);
  t.regex(info, /^input {9}input_0 NCHW BGR 300x300, .*mean \[104, 117, 123\] std \[1, 1, 1\]/m);
  // bad flags: one readable line each, nothing written
  const out2 = path.join(dir, 'n.onnx');
  await t.throwsAsync(run('import', src, '--out', out2, '--input-size', '300'), {
    message: /--input-size must be WxH with integers in \[1, \d+\], e\.g\. 320x240/,
  });
  await t.throwsAsync(run('import', src, '--out', out2, '--mean', '1,2'), {
    message: /--mean must be one number or three comma-separated numbers/,
  });
  await t.throwsAsync(run('import', src, '--out', out2, '--set', 'nope'), { message: /--set must be key=value/ });
  await t.throwsAsync(
    run('import', src, '--out', out2, '--labels', path.join(dir, 'labels.txt'), '--set', 'postprocess.iou=0.3'),
    {
      message: /^Expected a field of the model spec \(.*\) for set key 'postprocess\.iou' but received "iou"$/,
    },
  );
  await t.throwsAsync(run('import', src, 'x.prototxt', '--out', out2), { code: 'ENOENT' });
  await t.throwsAsync(run('import', 'torchvision', src, '--format', 'onnx', '--out', out2), {
    message: "the source format is given twice: 'torchvision' and --format onnx",
  });
  t.false(fs.existsSync(out2));
});
