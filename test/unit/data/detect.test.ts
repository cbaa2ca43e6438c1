/** Format detection from the path, and `format` forcing it. */
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { detectFormat, openDataset } from '../../../lib/data/index.ts';
import { fixturesDir } from '../../helpers/fixtures.ts';
import { tmpDir, writeImage, writeJsonl, writeVoc } from './trees.ts';

test('voc: a folder with Annotations/; coco: a .json or a folder with annotations/instances_*.json; jsonl: .jsonl', async (t) => {
  const dir = tmpDir(t);
  writeVoc(path.join(dir, 'voc'), []);
  fs.mkdirSync(path.join(dir, 'coco', 'annotations'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'coco', 'annotations', 'instances_val.json'), '{}');
  fs.writeFileSync(path.join(dir, 'x.JSON'), '{}');
  fs.writeFileSync(path.join(dir, 'x.jsonl'), '');
  fs.writeFileSync(path.join(dir, 'x.txt'), '');
  t.is(detectFormat(path.join(dir, 'voc')), 'voc');
  t.is(detectFormat(path.join(dir, 'coco')), 'coco');
  t.is(detectFormat(path.join(dir, 'coco', 'annotations', 'instances_val.json')), 'coco');
  t.is(detectFormat(path.join(dir, 'x.JSON')), 'coco');
  t.is(detectFormat(path.join(dir, 'x.jsonl')), 'jsonl');
  t.throws(() => detectFormat(path.join(dir, 'x.txt')), {
    message:
      /^Cannot tell the dataset format of .*x\.txt: expected a folder with Annotations\/ \(Pascal VOC\), .*name the format \(--format voc\|coco\|jsonl, or \{ format: 'voc' \}\)$/,
  });
  t.throws(() => detectFormat(dir), { message: /^Cannot tell the dataset format of / });
  for (const format of ['voc', 'coco', 'jsonl'] as const) {
    await t.throwsAsync(openDataset(path.join(dir, 'nope'), { format }), {
      message: /^Cannot open dataset .*nope: no such file or directory$/,
    });
  }
  t.throws(() => detectFormat(path.join(dir, 'nope')), {
    message: /^Cannot open dataset .*nope: no such file or directory$/,
  });
});

test('format forces the reader: a JSONL file named .txt', async (t) => {
  const dir = tmpDir(t);
  writeImage(path.join(dir, 'a.jpg'), 32, 24);
  const file = path.join(dir, 'list.txt');
  writeJsonl(file, [{ image: 'a.jpg', boxes: [{ label: 'cat', box: [0, 0, 8, 8] }] }]);
  await t.throwsAsync(openDataset(file), { message: /^Cannot tell the dataset format/ });
  const ds = await openDataset(file, { format: 'jsonl' });
  t.is(ds.format, 'jsonl');
  t.deepEqual([...ds.samples[0].boxes], [0, 0, 8, 8]);
});

test('bad options name the parameter, the expected and the received value', async (t) => {
  const dir = tmpDir(t);
  await t.throwsAsync(openDataset(dir, { format: 'yolo' as 'voc' }), {
    instanceOf: TypeError,
    message: `Expected one of 'voc', 'coco', 'jsonl' for format but received "yolo"`,
  });
  await t.throwsAsync(openDataset(dir, { boxPolicy: 'fix' as 'clip', format: 'voc' }), {
    instanceOf: TypeError,
    message: `Expected one of 'clip', 'drop', 'error' for boxPolicy but received "fix"`,
  });
  await t.throwsAsync(openDataset(dir, { policy: 'clip' } as object), {
    instanceOf: TypeError,
    message: /^Unknown key 'policy' in options: expected one of 'format', /,
  });
  await t.throwsAsync(openDataset(dir, { classes: ['a', 'a'], format: 'voc' }), {
    instanceOf: TypeError,
    message: 'Expected a name not listed before for classes[1] but received "a"',
  });
  await t.throwsAsync(openDataset(dir, { checkImages: 1 as unknown as boolean, format: 'voc' }), {
    instanceOf: TypeError,
    message: 'Expected boolean for checkImages but received 1',
  });
  await t.throwsAsync(openDataset(42 as unknown as string), {
    instanceOf: TypeError,
    message: 'Expected dataset path (string) for path but received 42',
  });
});

test('the main entry exports the dataset API; both option objects reject unknown keys', async (t) => {
  const main = await import('../../../lib/index.ts');
  const voc = path.join(fixturesDir, 'data', 'voc-mini');
  for (const name of ['openDataset', 'checkDataset', 'detectFormat', 'DatasetError'] as const)
    t.is(typeof main[name], 'function', name);
  for (const call of [main.openDataset, main.checkDataset]) {
    await t.throwsAsync(call(voc, { bogus: 1 } as never), {
      instanceOf: TypeError,
      message:
        /^Unknown key 'bogus' in options: expected one of 'format', 'split', 'boxPolicy', 'checkImages', 'classes'/,
    });
    await t.notThrowsAsync(call(voc, {}));
  }
});
