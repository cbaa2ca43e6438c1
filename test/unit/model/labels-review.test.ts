/** Regression found by review: a --labels file that cannot be read is named in one line (not Node's bare ENOENT). */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { importModelFiles } from '../../../lib/model/import.ts';
import { readLabelsFile } from '../../../lib/model/labels.ts';

test('readLabelsFile: a missing file or a folder is named with the reason and keeps the system code', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssd-edge-labels-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const missing = path.join(dir, 'labels.txt');
  const e = t.throws(() => readLabelsFile(missing), { message: `Cannot read labels file ${missing}: no such file` });
  t.is((e as NodeJS.ErrnoException).code, 'ENOENT');
  t.throws(() => readLabelsFile(dir), {
    message: `Cannot read labels file ${dir}: is a directory, expected a text file with one class name per line`,
  });
});

test('importModelFiles: a missing labels file fails with its name and writes nothing', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssd-edge-labels-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const tflite = path.join(dir, 'detect.tflite');
  fs.writeFileSync(tflite, Buffer.concat([Buffer.alloc(4), Buffer.from('TFL3'), Buffer.alloc(64)]));
  const labels = path.join(dir, 'labelmap.txt');
  await t.throwsAsync(importModelFiles([tflite], { out: path.join(dir, 'm.onnx'), labels }), {
    message: `Cannot read labels file ${labels}: no such file`,
  });
  t.deepEqual(fs.readdirSync(dir), ['detect.tflite']);
});
