/** JSONL datasets: paths relative to the file, boxes as written, flags, errors with line numbers. */
import test from 'ava';
import path from 'node:path';
import { checkDataset, openDataset } from '../../../lib/data/index.ts';
import { tmpDir, writeImage, writeJsonl } from './trees.ts';

test('image paths are relative to the JSONL file; boxes xyxy as written; labels sorted; id = the path as written', async (t) => {
  const dir = tmpDir(t);
  writeImage(path.join(dir, 'imgs', 'a.jpg'), 64, 48);
  const abs = writeImage(path.join(dir, 'b.png'), 32, 24, 'png');
  const file = writeJsonl(path.join(dir, 'sets', 'train.jsonl'), [
    {
      image: '../imgs/a.jpg',
      boxes: [
        { label: 'dog', box: [1.5, 2, 30, 40] },
        { label: 'cat', box: [0, 0, 64, 48], difficult: true },
      ],
    },
    '',
    { image: abs, width: 32, height: 24, boxes: [] },
    { image: '../imgs/a.jpg', boxes: [] },
  ]);
  const { dataset, problems } = await checkDataset(file);
  t.is(dataset!.format, 'jsonl');
  t.deepEqual(dataset!.classes, ['cat', 'dog']);
  const [a, b] = dataset!.samples;
  t.is(a.id, '../imgs/a.jpg');
  t.is(a.image, path.join(dir, 'imgs', 'a.jpg'));
  t.deepEqual([a.width, a.height], [64, 48]); // from the header
  t.deepEqual([...a.boxes], [1.5, 2, 30, 40, 0, 0, 64, 48]);
  t.deepEqual([...a.labels], [1, 0]);
  t.deepEqual([...a.difficult!], [0, 1]);
  t.is(b.id, abs);
  t.is(b.labels.length, 0);
  // the repeated image is a duplicate id on line 4 (blank line 2 counted)
  t.deepEqual(
    problems.map((p) => [p.code, p.line]),
    [['duplicate-id', 4]],
  );
  t.regex(problems[0].message, /train\.jsonl:4: image id "\.\.\/imgs\/a\.jpg" repeats the one at .*train\.jsonl:1$/);
});

test('lines that are not JSON or not an entry, and malformed boxes, are parse errors with line and box', async (t) => {
  const dir = tmpDir(t);
  writeImage(path.join(dir, 'a.jpg'), 64, 48);
  const file = writeJsonl(path.join(dir, 'd.jsonl'), [
    '{"image": "a.jpg", "boxes": [',
    { file: 'a.jpg' },
    { image: 'a.jpg', boxes: { label: 'x' } },
    {
      image: 'a.jpg',
      boxes: [{ box: [0, 0, 1, 1] }, { label: 'cat', box: [0, 0, 1] }, { label: 'cat', box: [0, 0, '1', 1] }],
    },
  ]);
  const { problems } = await checkDataset(file);
  t.deepEqual(
    problems.map((p) => [p.code, p.line, p.object]),
    [
      ['parse-error', 1, undefined],
      ['parse-error', 2, undefined],
      ['parse-error', 3, undefined],
      ['duplicate-id', 4, undefined],
      ['parse-error', 4, 0],
      ['parse-error', 4, 1],
      ['parse-error', 4, 2],
    ],
  );
  t.regex(
    problems.find((p) => p.object === 1)!.message,
    /d\.jsonl:4 object 1 \(cat\): box is \[0,0,1\], expected \[x1, y1, x2, y2\] numbers$/,
  );
});

test('an empty JSONL file has no images: an error whatever the policy', async (t) => {
  const file = writeJsonl(path.join(tmpDir(t), 'e.jsonl'), []);
  for (const boxPolicy of ['error', 'clip', 'drop'] as const) {
    const err = await t.throwsAsync(openDataset(file, { boxPolicy }), {
      name: 'DatasetError',
      message: /1 problem:\n {2}.*e\.jsonl: the dataset lists no images$/,
    });
    t.is((err as unknown as { problems: { code: string }[] }).problems[0].code, 'no-images');
  }
});
