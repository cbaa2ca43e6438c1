/**
 * `model inspect` of an int8 model prints its quantization note (spec.quantization written by quantizeModel): method,
 * reduce range, convolutions kept float, calibration images and the float model's SHA-256; a float model has no
 * such line.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { Command } from 'commander';
import { fileURLToPath } from 'node:url';
import { modelCommand } from '../../../lib/cli/commands/model.ts';
import { formatModelInfo, inspectModelFile } from '../../../lib/model/inspect.ts';
import { quantizeModel } from '../../../lib/model/quantize/index.ts';
import { GraphBuilder, int64s } from '../../../lib/model/graph.ts';
import { writeModelSpec } from '../../../lib/model/metadata.ts';
import { writeOnnx } from '../../../lib/model/onnx.ts';
import { TINY_BOXES, TINY_SCORES, tinyDecodedSpec } from '../../helpers/tiny-detector-model.ts';

/** The tiny decoded-output model with two Convs on the way (the second one is a "head"): something to quantize. */
function writeTinyConvModel(dir: string): string {
  const n = TINY_BOXES.length;
  const g = new GraphBuilder('tiny_conv');
  g.addInput('image', ['batch', 3, 8, 8]);
  const w0 = g.addInitializer(
    'c0.w',
    Float32Array.from({ length: 27 }, (_, i) => Math.sin(i) * 0.2),
    [1, 3, 3, 3],
  );
  const w1 = g.addInitializer(
    'c1.w',
    Float32Array.from({ length: 9 }, (_, i) => Math.cos(i) * 0.2),
    [1, 1, 3, 3],
  );
  const conv = { kernel_shape: [3, 3], pads: [1, 1, 1, 1] };
  const r0 = g.op('Relu', [g.op('Conv', ['image', w0], conv)]);
  const x = g.op('Relu', [g.op('Conv', [r0, w1], conv)]);
  const mean = g.op('ReduceMean', [x], { axes: [1, 2, 3], keepdims: 1 });
  const zero = g.op('Mul', [mean, g.addInitializer('zero', new Float32Array([0]), [])]);
  const z = g.op('Reshape', [zero, g.addInitializer('shape_b11', int64s([-1, 1, 1]), [3])]);
  g.addNode('Add', [z, g.addInitializer('const_boxes', Float32Array.from(TINY_BOXES.flat()), [1, n, 4])], ['boxes']);
  g.addNode('Add', [z, g.addInitializer('const_scores', Float32Array.from(TINY_SCORES.flat()), [1, n, 3])], ['scores']);
  g.addOutput('boxes', ['batch', n, 4]);
  g.addOutput('scores', ['batch', n, 3]);
  const model = g.toModel({ producerName: 'tiny-test' });
  writeModelSpec(model, tinyDecodedSpec());
  const file = path.join(dir, 'tiny-conv.onnx');
  fs.writeFileSync(file, writeOnnx(model));
  return file;
}

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const IMAGE = path.join(root, 'test/fixtures/images/astronaut.png');

async function inspectCli(file: string): Promise<string> {
  let printed = '';
  const cmd = modelCommand({ out: (s) => (printed += s) });
  const program = new Command('ssd-edge').exitOverride().addCommand(cmd);
  for (const c of [cmd, ...cmd.commands]) c.exitOverride();
  await program.parseAsync(['model', 'inspect', file], { from: 'user' });
  return printed;
}

test('model inspect: an int8 model shows method, reduce range, kept float, calibration and float sha256', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssd-edge-inspect-q-'));
  const float = writeTinyConvModel(dir);
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const floatSha = crypto.createHash('sha256').update(fs.readFileSync(float)).digest('hex');

  const q = await quantizeModel(float, [IMAGE], {
    method: 'percentile',
    percentile: 99.9,
    reduceRange: 'on',
    keepFloat: ['heads'],
    calibrationSource: 'my-frames/',
    threads: 1,
  });
  const int8 = path.join(dir, 'tiny.int8.onnx');
  fs.writeFileSync(int8, q.bytes);

  const text = await inspectCli(int8);
  t.regex(text, /^quantization {2}int8 QDQ by ssd-edge\/quantize@\d+: 1 Conv quantized, 1 kept float \(heads\)$/m);
  t.regex(text, /^ {14}weights int8 symmetric, per output channel, \[−64, 64\], reduce range on \(7-bit\)$/m);
  t.regex(text, /^ {14}activations uint8 asymmetric/m);
  t.regex(text, /^ {14}calibration 1 image\(s\) from my-frames\/, method percentile 99\.9 %$/m);
  t.regex(text, new RegExp(`^ {14}float model sha256 ${floatSha}$`, 'm'));
  t.is(text, `${formatModelInfo(await inspectModelFile(int8))}\n`);

  // minmax without reduce range; the source defaults to the image count and is not repeated
  const q2 = await quantizeModel(float, [IMAGE, IMAGE], { reduceRange: 'off', keepFloat: [], threads: 1 });
  fs.writeFileSync(int8, q2.bytes);
  const text2 = await inspectCli(int8);
  t.regex(text2, /2 Conv quantized, 0 kept float \(none\)$/m);
  t.regex(text2, /\[−127, 127\], reduce range off$/m);
  t.regex(text2, /^ {14}calibration 2 image\(s\), method minmax$/m);

  // a float model: no quantization line
  t.notRegex(await inspectCli(float), /quantization|float model sha256/);
});
