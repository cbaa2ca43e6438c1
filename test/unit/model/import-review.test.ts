/**
 * Regressions found by reviewing `model import` as a new user: a second file the format does not read is refused
 * with what it is, not ignored; a damaged companion file is named as such, not reported as "missing".
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { importModelFiles } from '../../../lib/model/import.ts';
import { sniffModelBytes } from '../../../lib/model/sniff.ts';

function tmpDir(t: { teardown(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssd-edge-import-review-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('importModelFiles: an unrecognised (truncated) companion file is named, not called missing', async (t) => {
  const dir = tmpDir(t);
  const proto = path.join(dir, 'deploy.prototxt');
  fs.writeFileSync(proto, 'name: "n"\ninput: "data"\nlayer {\n  name: "conv1"\n}\n');
  const damaged = path.join(dir, 'weights.caffemodel');
  fs.writeFileSync(damaged, Buffer.alloc(1000, 0xff));
  t.is(sniffModelBytes(fs.readFileSync(damaged)).kind, 'unknown');
  await t.throwsAsync(importModelFiles([proto, damaged], { out: path.join(dir, 'c.onnx') }), {
    instanceOf: TypeError,
    message:
      'Expected the files of a Caffe import (.prototxt + .caffemodel) but received weights.caffemodel: unrecognised file (1000 bytes in no known format) — is it truncated or damaged?',
  });
  // the prototxt alone keeps its "missing" message
  await t.throwsAsync(importModelFiles([proto], { out: path.join(dir, 'c.onnx') }), {
    message: /^Caffe prototxt found \(deploy\.prototxt\); the \.caffemodel with the weights is missing/,
  });
  t.deepEqual(fs.readdirSync(dir).sort(), ['deploy.prototxt', 'weights.caffemodel']);
});

test('importModelFiles: a file the format does not read, or a second file of one kind, is refused', async (t) => {
  const dir = tmpDir(t);
  // recognised as TFLite from its identifier: the file set is checked before the flatbuffer is parsed
  const tflite = path.join(dir, 'detect.tflite');
  fs.writeFileSync(tflite, Buffer.concat([Buffer.alloc(4), Buffer.from('TFL3'), Buffer.alloc(64)]));
  const proto = path.join(dir, 'deploy.prototxt');
  fs.writeFileSync(proto, 'name: "n"\ninput: "data"\nlayer {\n  name: "conv1"\n}\n');
  await t.throwsAsync(importModelFiles([tflite, proto], { out: path.join(dir, 'a.onnx') }), {
    instanceOf: TypeError,
    message:
      'Expected the files of a TFLite import (one .tflite file) but received deploy.prototxt: Caffe prototxt (net "n")',
  });
  await t.throwsAsync(importModelFiles([tflite, tflite], { out: path.join(dir, 'a.onnx') }), {
    instanceOf: TypeError,
    message:
      'Expected the files of a TFLite import (one .tflite file) but received detect.tflite: a second TFLite flatbuffer',
  });
  // a forced format names the file it cannot read
  await t.throwsAsync(importModelFiles([tflite], { out: path.join(dir, 'a.onnx'), format: 'caffe' }), {
    message: /^Expected the files of a Caffe import .* but received detect\.tflite: TFLite flatbuffer/,
  });
  t.deepEqual(fs.readdirSync(dir).sort(), ['deploy.prototxt', 'detect.tflite']);
});
