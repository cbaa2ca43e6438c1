/**
 * Regressions found by reviewing `model quantize` as a new user: a model path that cannot be read is named in a
 * one-line error (not Node's bare "ENOENT: … open"), like `model inspect` and `detect` do.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { ModelFileError } from '../../../lib/model/file.ts';
import { quantizeModel } from '../../../lib/model/quantize/index.ts';

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
