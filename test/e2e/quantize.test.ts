/**
 * INT8 end to end on the default face model: `ssd-edge model quantize` as users run it (child process), the
 * accuracy gate on the bundled face set (test/fixtures/eval/faces), the optimized graph ONNX Runtime runs (QLinearConv),
 * the file size, detections kept on the test images, the same with --reduce-range on, the CLI's refusals, and
 * `Detector.load(undefined, { precision: 'int8' })` with its cache.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import test from 'ava';
import { Detector, type Detection } from '../../lib/detector/detector.ts';
import { readOnnx } from '../../lib/model/onnx.ts';
import { ensureDefaultModel, modelCachePath, modelHashPath } from '../../lib/model/zoo.ts';
import { writeOptimizedModel } from '../../lib/runtime/optimized-model.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const TSX = pathToFileURL(path.join(root, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;
const FACES = path.join(root, 'test/fixtures/eval/faces');
const IMAGES = [
  path.join(root, 'test/fixtures/images/astronaut.png'),
  ...['astronaut-pair.jpg', 'astronaut-padded.jpg', 'chelsea.jpg', 'coffee.jpg'].map((f) =>
    path.join(FACES, 'images', f),
  ),
];
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ssd-edge-quantize-'));
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
      [`--import=${TSX}`, path.join(root, 'lib/cli/index.ts'), ...args],
      { cwd: root, env: { ...process.env, SSD_EDGE_DEBUG: '' }, maxBuffer: 1 << 24 },
      (err, stdout, stderr) =>
        resolve({
          code: err ? Number((err as NodeJS.ErrnoException & { code?: number }).code ?? 1) : 0,
          stdout,
          stderr,
        }),
    );
  });
}

const iou = (a: Detection['box'], b: Detection['box']) => {
  const w = Math.max(0, Math.min(a.x2, b.x2) - Math.max(a.x1, b.x1));
  const h = Math.max(0, Math.min(a.y2, b.y2) - Math.max(a.y1, b.y1));
  const area = (r: Detection['box']) => (r.x2 - r.x1) * (r.y2 - r.y1);
  return (w * h) / (area(a) + area(b) - w * h);
};

/** Every float detection with score ≥ 0.5 has an int8 detection of the same label, score ≥ 0.5, IoU ≥ 0.5. */
async function assertNoneLost(t: import('ava').ExecutionContext, floatModel: string, int8Model: string) {
  const [f, q] = await Promise.all([Detector.load(floatModel), Detector.load(int8Model)]);
  try {
    let kept = 0;
    for (const image of IMAGES) {
      const [fd, qd] = [await f.detect(image, { scoreThreshold: 0.5 }), await q.detect(image, { scoreThreshold: 0.5 })];
      for (const d of fd) {
        const match = qd.find((e) => e.classId === d.classId && iou(e.box, d.box) >= 0.5);
        t.truthy(match, `${path.basename(image)}: float ${d.label} ${d.score.toFixed(3)} lost by int8`);
        if (match) kept++;
      }
    }
    t.true(kept >= 5, `${kept} detections compared`); // 1 + 2 + 1 faces and the cat
  } finally {
    await Promise.all([f.dispose(), q.dispose()]);
  }
}

for (const reduceRange of ['off', 'on'] as const) {
  test.serial(
    `model quantize --eval (reduce range ${reduceRange}): AP50 within 1 point, ≤ 30 % of the size, QLinearConv, no detection ≥ 0.5 lost`,
    async (t) => {
      const floatModel = await ensureDefaultModel();
      const out = path.join(tmp, `face-${reduceRange}.int8.onnx`);
      const r = await cli(
        'model',
        'quantize',
        floatModel,
        '--calibration',
        path.join(FACES, 'images'),
        '--out',
        out,
        '--reduce-range',
        reduceRange,
        '--eval',
        path.join(FACES, 'faces.jsonl'),
        '--json',
      );
      t.is(r.code, 0, r.stderr);
      const j = JSON.parse(r.stdout);
      t.is(j.out, out);
      t.is(j.quantization.reduceRange, reduceRange === 'on');
      t.is(j.quantization.quantizedConvs, 35);
      t.is(j.quantization.floatConvs, 12); // the 12 box/class predictors
      t.is(j.quantization.calibration.images, 8);
      t.true(j.bytes <= 0.3 * fs.statSync(floatModel).size, `${j.bytes} bytes`);
      t.true(j.eval.lossPoints.ap50 <= 1, `AP50 float ${j.eval.float.ap50} int8 ${j.eval.int8.ap50}`);
      // the gate warns on AP50 only beyond 1 point (mAP, the box-tightness metric, may lose more with 7-bit weights)
      t.false(
        j.eval.warnings.some((w: string) => w.includes('AP50')),
        j.eval.warnings.join('; '),
      );
      if (reduceRange === 'off') t.deepEqual(j.eval.warnings, []);
      // the file is a self-describing ssd-edge model with the note
      const model = readOnnx(fs.readFileSync(out));
      const spec = JSON.parse(model.metadata_props!.find((m) => m.key === 'ssd_edge')!.value);
      t.is(spec.name, 'ssd-mobilenetv1-face');
      t.is(spec.quantization.method, 'minmax');
      // 7-bit weights with reduce range
      const qmax = reduceRange === 'on' ? 64 : 127;
      for (const w of model.graph.initializer!.filter((i) => i.name?.endsWith('/int8'))) {
        const v = new Int8Array(Uint8Array.from(w.raw_data!).buffer);
        t.true(
          v.every((x) => x >= -qmax && x <= qmax),
          w.name,
        );
      }
      // what ONNX Runtime runs: 35 QLinearConv, the 12 head Convs float
      const opt = path.join(tmp, `opt-${reduceRange}.onnx`);
      await writeOptimizedModel(out, opt, 'extended');
      const ops = readOnnx(fs.readFileSync(opt)).graph.node.map((n) => n.op_type);
      t.is(ops.filter((o) => o === 'QLinearConv').length, 35);
      t.is(ops.filter((o) => o === 'Conv').length, 12);
      await assertNoneLost(t, floatModel, out);
    },
  );
}

test.serial('model quantize refuses: the source model as --out, an existing --out, bad options (exit 2)', async (t) => {
  const floatModel = await ensureDefaultModel();
  const calib = path.join(FACES, 'images');
  const self = await cli('model', 'quantize', floatModel, '--calibration', calib, '--out', floatModel, '--overwrite');
  t.is(self.code, 1);
  t.regex(self.stderr, /^ssd-edge: Not writing .*: it is the source model\n$/);
  const existing = path.join(tmp, 'exists.onnx');
  fs.writeFileSync(existing, 'keep me');
  const ex = await cli('model', 'quantize', floatModel, '--calibration', calib, '--out', existing);
  t.is(ex.code, 1);
  t.regex(ex.stderr, /exists/);
  t.is(fs.readFileSync(existing, 'utf8'), 'keep me');
  for (const args of [
    ['--method', 'kl'],
    ['--keep-float', 'tail'],
    ['--reduce-range', 'maybe'],
    ['--images', '0'],
    ['--percentile', '120'],
  ]) {
    const r = await cli(
      'model',
      'quantize',
      floatModel,
      '--calibration',
      calib,
      '--out',
      path.join(tmp, 'x.onnx'),
      ...args,
    );
    t.is(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    t.is(r.stderr.split('\n').filter(Boolean).length, 1);
  }
  const noCalib = await cli('model', 'quantize', floatModel);
  t.is(noCalib.code, 2);
  t.regex(noCalib.stderr, /--calibration/);
  const noDir = await cli(
    'model',
    'quantize',
    floatModel,
    '--calibration',
    path.join(tmp, 'none'),
    '--out',
    path.join(tmp, 'y.onnx'),
  );
  t.is(noDir.code, 1);
  t.regex(noDir.stderr, /Cannot read calibration folder .*no such folder/);
  t.false(fs.existsSync(path.join(tmp, 'x.onnx')) || fs.existsSync(path.join(tmp, 'y.onnx')));
});

test.serial(
  "Detector.load(undefined, { precision: 'int8' }): quantized on first use, cached with its hash, rebuilt when changed",
  async (t) => {
    const floatModel = await ensureDefaultModel();
    const cache = path.join(tmp, 'cache');
    fs.mkdirSync(path.join(cache, 'models'), { recursive: true });
    // the float model as the cache holds it (copy: building it again would only cost time)
    fs.copyFileSync(floatModel, path.join(cache, 'models', path.basename(floatModel)));
    fs.copyFileSync(modelHashPath(floatModel), path.join(cache, 'models', path.basename(modelHashPath(floatModel))));
    const saved = process.env.SSD_EDGE_CACHE;
    process.env.SSD_EDGE_CACHE = cache;
    try {
      const d = await Detector.load(undefined, { precision: 'int8' });
      const file = modelCachePath('ssd-mobilenetv1-face.int8');
      t.is(d.modelPath, file);
      t.true(fs.existsSync(modelHashPath(file)));
      const note = (d.spec as unknown as { quantization: Record<string, unknown> }).quantization;
      t.is((note.calibration as { images: number }).images, 16);
      t.deepEqual(note.keepFloat, ['heads']);
      const f = await Detector.load();
      const [fd, qd] = [await f.detect(IMAGES[0]), await d.detect(IMAGES[0])];
      t.is(qd.length, fd.length);
      t.true(iou(fd[0].box, qd[0].box) > 0.9 && Math.abs(fd[0].score - qd[0].score) < 0.05, JSON.stringify(qd));
      await Promise.all([d.dispose(), f.dispose()]);
      // reused as is
      const mtime = fs.statSync(file).mtimeMs;
      await (await Detector.load(undefined, { precision: 'int8', warmup: false })).dispose();
      t.is(fs.statSync(file).mtimeMs, mtime);
      // bytes changed on disk: rebuilt
      const bytes = fs.readFileSync(file);
      bytes[bytes.length - 100] ^= 0xff;
      fs.writeFileSync(file, bytes);
      await (await Detector.load(undefined, { precision: 'int8', warmup: false })).dispose();
      t.notDeepEqual(fs.readFileSync(file), bytes);
      // a float file asked for as int8, a precision that does not exist
      await t.throwsAsync(Detector.load(floatModel, { precision: 'int8' }), {
        instanceOf: TypeError,
        message:
          /^Expected an int8 model \(made by `ssd-edge model quantize`\) for precision 'int8' but received the float model/,
      });
      await t.throwsAsync(Detector.load(undefined, { precision: 'fp16' as never }), {
        instanceOf: TypeError,
        message: `Expected one of 'float', 'int8' for precision but received "fp16"`,
      });
    } finally {
      if (saved === undefined) delete process.env.SSD_EDGE_CACHE;
      else process.env.SSD_EDGE_CACHE = saved;
    }
  },
);
