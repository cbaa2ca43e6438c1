/**
 * Regressions found by reviewing `model quantize` as a new user: a model path that cannot be read is named in a
 * one-line error (not Node's bare "ENOENT: … open"), like `model inspect` and `detect` do; an --eval set that cannot
 * be opened fails before quantizing (it used to fail after writing the int8 model, with nothing printed about it).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { ModelFileError } from '../../../lib/model/file.ts';
import { readOnnx, writeOnnx, type NodeProto, type TensorProto } from '../../../lib/model/onnx.ts';
import { quantizeModel } from '../../../lib/model/quantize/index.ts';
import { quantizeCommand } from '../../../lib/cli/commands/model-quantize.ts';
import { UsageError } from '../../../lib/cli/handle-error.ts';
import { writeTinyConvModel, writeTinyDecodedModel } from '../../helpers/tiny-detector-model.ts';

const IMAGES = path.resolve(import.meta.dirname, '../../fixtures/eval/faces/images');

test('quantizeModel: a missing model file or a folder gives a ModelFileError naming the path', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssd-edge-q8-review-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const missing = path.join(dir, 'nope.onnx');
  const e = await t.throwsAsync(quantizeModel(missing, dir), {
    instanceOf: ModelFileError,
    message: `Cannot read model ${missing}: no such file`,
  });
  t.is(e?.code, 'ENOENT');
  await t.throwsAsync(quantizeModel(dir, dir), {
    instanceOf: ModelFileError,
    message: `Cannot read model ${dir}: is a directory, expected an .onnx file`,
  });
});

test('model quantize --eval DATA that cannot be opened: fails before quantizing, writes no model', async (t) => {
  const float = writeTinyDecodedModel();
  const dir = path.dirname(float);
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const out = path.join(dir, 'tiny.int8.onnx');
  const printed: string[] = [];
  const cmd = quantizeCommand({ out: (s) => printed.push(s), err: (s) => printed.push(s) }).exitOverride();
  const missing = path.join(dir, 'no-such-set.jsonl');
  await t.throwsAsync(
    cmd.parseAsync([float, '--calibration', IMAGES, '--eval', missing, '--out', out], { from: 'user' }),
    { message: /^Cannot open dataset .*no-such-set\.jsonl: no such file or directory$/ },
  );
  t.false(fs.existsSync(out));
  t.deepEqual(printed, []);
});

test('quantizeModel: an opset < 13 model (UltraFace exports are opset 9) is refused saying what to do', async (t) => {
  const float = writeTinyDecodedModel();
  t.teardown(() => fs.rmSync(path.dirname(float), { recursive: true, force: true }));
  const model = readOnnx(fs.readFileSync(float));
  for (const o of model.opset_import) if (!o.domain) o.version = 9;
  await t.throwsAsync(quantizeModel(writeOnnx(model), [path.join(IMAGES, 'chelsea.jpg')], { threads: 1 }), {
    instanceOf: TypeError,
    message:
      /^Expected ONNX opset ≥ 13 .* but received opset 9 — an imported model keeps its exporter's opset: re-export it with opset ≥ 13/,
  });
});

test('quantizeModel: nothing to quantize (no Conv, all kept float, weights already quantized) is refused', async (t) => {
  const float = writeTinyDecodedModel(); // no Conv at all
  t.teardown(() => fs.rmSync(path.dirname(float), { recursive: true, force: true }));
  const image = [path.join(IMAGES, 'chelsea.jpg')];
  await t.throwsAsync(quantizeModel(float, image, { threads: 1 }), {
    instanceOf: TypeError,
    message: `Expected a model with a float Conv to quantize for ${float} but received 0 Conv(s) — nothing would change`,
  });
  // a Conv whose weights come from DequantizeLinear (a TFLite uint8 import kept quantized), and one kept float
  const model = readOnnx(fs.readFileSync(float));
  const g = model.graph;
  const init = (name: string, data_type: number, dims: number[], raw: Uint8Array) =>
    (g.initializer ??= []).push({ name, data_type, dims, raw_data: raw } as TensorProto);
  init('wq', 3 /* INT8 */, [3, 3, 1, 1], new Uint8Array(9).fill(1));
  init('ws', 1 /* FLOAT */, [], new Uint8Array(new Float32Array([0.1]).buffer));
  init('wf', 1 /* FLOAT */, [3, 3, 1, 1], new Uint8Array(new Float32Array(9).fill(0.5).buffer));
  g.node.unshift(
    { op_type: 'DequantizeLinear', input: ['wq', 'ws'], output: ['w'], name: 'dq' } as NodeProto,
    { op_type: 'Conv', input: ['image', 'w'], output: ['c1'], name: 'c1' } as NodeProto,
    { op_type: 'Conv', input: ['c1', 'wf'], output: ['c2'], name: 'c2' } as NodeProto,
  );
  const mean = g.node.find((n) => n.op_type === 'ReduceMean')!;
  mean.input[0] = 'c2';
  await t.throwsAsync(quantizeModel(writeOnnx(model), image, { threads: 1 }), {
    instanceOf: TypeError,
    message:
      'Expected a model with a float Conv to quantize for model but received 2 Conv(s): 1 with computed weights (already quantized: DequantizeLinear), 1 kept float (keepFloat: heads) — nothing would change',
  });
});

test('model quantize --out in a folder that does not exist yet: the folder is made (as model import does)', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssd-edge-q8-review-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const float = writeTinyConvModel(dir);
  const out = path.join(dir, 'new', 'folder', 'tiny.int8.onnx');
  const printed: string[] = [];
  const cmd = quantizeCommand({ out: (s) => printed.push(s), err: (s) => printed.push(s) }).exitOverride();
  await cmd.parseAsync([float, '--calibration', IMAGES, '--images', '1', '--out', out, '--threads', '1'], {
    from: 'user',
  });
  t.regex(printed.join(''), /1 Conv quantized.*\n.*\nwrote .*tiny\.int8\.onnx\n$/);
  t.deepEqual(fs.readdirSync(path.dirname(out)), ['tiny.int8.onnx']);
  t.true(fs.statSync(out).size > 0);
});

test('model quantize: --percentile without --method percentile and --max-loss without --eval are usage errors', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssd-edge-q8-review-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const float = writeTinyConvModel(dir);
  const out = path.join(dir, 'q.onnx');
  const run = (...args: string[]) =>
    quantizeCommand({ out: () => {}, err: () => {} })
      .exitOverride()
      .parseAsync([float, '--calibration', IMAGES, '--out', out, ...args], { from: 'user' });
  await t.throwsAsync(run('--percentile', '99.9'), {
    instanceOf: UsageError,
    message: '--percentile applies to --method percentile only, not minmax',
  });
  await t.throwsAsync(run('--method', 'entropy', '--percentile', '99.9'), { message: /not entropy$/ });
  await t.throwsAsync(run('--max-loss', '2'), {
    instanceOf: UsageError,
    message: '--max-loss applies with --eval only',
  });
  t.false(fs.existsSync(out));
  // with --method percentile it is taken
  await run('--method', 'percentile', '--percentile', '99.9', '--images', '1', '--threads', '1');
  t.true(fs.existsSync(out));
});
