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
import { writeTinyConvModel } from '../../helpers/tiny-detector-model.ts';

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
