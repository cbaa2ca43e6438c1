/** COCO instances JSON: xywh → xyxy, iscrowd, area, categories by id, image folders, splits. */
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { checkDataset, openDataset } from '../../../lib/data/index.ts';
import { tmpDir, writeImage } from './trees.ts';

/** A COCO folder: annotations/instances_<split>.json and <split>/<file_name> images. */
function cocoTree(dir: string, split = 'val2017', json?: object): string {
  writeImage(path.join(dir, split, '000000000001.jpg'), 64, 48);
  writeImage(path.join(dir, split, '000000000007.jpg'), 40, 30, 'png');
  const file = path.join(dir, 'annotations', `instances_${split}.json`);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(
    file,
    JSON.stringify(
      json ?? {
        info: {},
        images: [
          { id: 7, file_name: '000000000007.jpg', width: 40, height: 30 },
          { id: 1, file_name: '000000000001.jpg', width: 64, height: 48 },
        ],
        annotations: [
          { id: 100, image_id: 1, category_id: 18, bbox: [10, 5, 20.5, 10], area: 150.25, iscrowd: 0 },
          { id: 101, image_id: 7, category_id: 1, bbox: [0, 0, 40, 30], area: 1000, iscrowd: 1 },
          { id: 102, image_id: 1, category_id: 1, bbox: [1.5, 2.5, 3, 4], area: 9, iscrowd: 0 },
        ],
        // out of id order in the file: the label order is by id
        categories: [
          { id: 18, name: 'dog', supercategory: 'animal' },
          { id: 1, name: 'person', supercategory: 'person' },
          { id: 3, name: 'car', supercategory: 'vehicle' },
        ],
      },
    ),
  );
  return file;
}

test('bbox [x, y, w, h] → xyxy; iscrowd and area kept; categories by id ascending; id = String(image id)', async (t) => {
  const dir = tmpDir(t);
  const file = cocoTree(dir);
  for (const source of [file, dir]) {
    const ds = await openDataset(source);
    t.is(ds.format, 'coco');
    t.deepEqual(ds.classes, ['person', 'car', 'dog']);
    t.deepEqual(
      ds.samples.map((s) => s.id),
      ['7', '1'],
    );
    const [seven, one] = ds.samples;
    t.is(seven.image, path.join(dir, 'val2017', '000000000007.jpg'));
    t.deepEqual([seven.width, seven.height], [40, 30]);
    t.deepEqual([...seven.boxes], [0, 0, 40, 30]);
    t.deepEqual([...seven.iscrowd!], [1]);
    t.deepEqual([...one.boxes], [10, 5, 30.5, 15, 1.5, 2.5, 4.5, 6.5]);
    t.deepEqual(
      [...one.labels].map((l) => ds.classes[l]),
      ['dog', 'person'],
    );
    t.deepEqual([...one.iscrowd!], [0, 0]);
    t.deepEqual([...one.area!], [150.25, 9]);
    t.is(one.difficult, undefined);
  }
});

test('image folders: <root>/<split>/, <root>/images/, next to the JSON', async (t) => {
  const dir = tmpDir(t);
  const file = cocoTree(dir);
  fs.renameSync(path.join(dir, 'val2017'), path.join(dir, 'images'));
  t.is((await openDataset(file)).samples[0].image, path.join(dir, 'images', '000000000007.jpg'));
  for (const f of fs.readdirSync(path.join(dir, 'images')))
    fs.renameSync(path.join(dir, 'images', f), path.join(dir, 'annotations', f));
  t.is((await openDataset(file)).samples[0].image, path.join(dir, 'annotations', '000000000007.jpg'));
});

test('a folder with several splits: the val one by default, --split chooses, an unknown split lists them', async (t) => {
  const dir = tmpDir(t);
  cocoTree(dir, 'val2017');
  cocoTree(dir, 'train2017');
  t.is((await openDataset(dir)).samples[0].image, path.join(dir, 'val2017', '000000000007.jpg'));
  t.is(
    (await openDataset(dir, { split: 'train2017' })).samples[0].image,
    path.join(dir, 'train2017', '000000000007.jpg'),
  );
  await t.throwsAsync(openDataset(dir, { split: 'test2017' }), {
    message:
      /No split 'test2017' in .*: annotations\/instances_test2017\.json does not exist \(splits: train2017, val2017\)/,
  });
});

test('bad annotations are found with the annotation id and the object index within its image', async (t) => {
  const dir = tmpDir(t);
  const file = cocoTree(dir, 'val2017', {
    images: [
      { id: 1, file_name: '000000000001.jpg', width: 64, height: 48 },
      { id: 1, file_name: '000000000007.jpg', width: 40, height: 30 },
    ],
    annotations: [
      { id: 1, image_id: 1, category_id: 1, bbox: [0, 0, 10, 10] },
      { id: 2, image_id: 1, category_id: 99, bbox: [0, 0, 10, 10] },
      { id: 3, image_id: 1, category_id: 1, bbox: [null, 0, 10, 10] },
      { id: 4, image_id: 1, category_id: 1, bbox: [5, 5, 0, 10] },
      { id: 5, image_id: 1, category_id: 1, bbox: [60, 40, 10, 10] },
      { id: 6, image_id: 42, category_id: 1, bbox: [0, 0, 1, 1] },
      { id: 7, image_id: 1, category_id: 1, bbox: [0, 0, 'ten', 10] },
    ],
    categories: [{ id: 1, name: 'person' }],
  });
  const { problems } = await checkDataset(file);
  t.deepEqual(
    problems.map((p) => [p.code, p.id, p.object]),
    [
      ['unknown-image', undefined, undefined],
      ['unknown-label', '1', 1],
      ['non-finite', '1', 2],
      ['empty-box', '1', 3],
      ['box-outside', '1', 4],
      ['parse-error', '1', 5],
      ['duplicate-id', '1', undefined],
    ],
  );
  for (const p of problems) t.is(p.file, file);
  t.regex(problems[0].message, /instances_val2017\.json, annotation id 6: image_id 42 is not in "images"$/);
  t.regex(
    problems[1].message,
    /instances_val2017\.json image 1 object 1, annotation id 2: category_id 99 is not in "categories"$/,
  );
  t.regex(
    problems[2].message,
    /image 1 object 2 \(person\), annotation id 3, bbox \[null, 0, 10, 10\]: box \[NaN, 0, NaN, 10\] has non-finite coordinates$/,
  );
  t.regex(
    problems[4].message,
    /object 4 \(person\), annotation id 5, bbox \[60, 40, 10, 10\]: box \[60, 40, 70, 50\] is outside the 64×48 image \(clipped: \[60, 40, 64, 48\]\)$/,
  );
  t.regex(problems[6].message, /image id "1" \(images\[1\]\) repeats the one at images\[0\]$/);
});

test('a file that is not COCO JSON is one parse-error with its line, whatever the policy', async (t) => {
  const dir = tmpDir(t);
  const file = path.join(dir, 'bad.json');
  fs.writeFileSync(file, '{\n  "images": [\n    {"id": 1,,}\n  ]\n}\n');
  for (const boxPolicy of ['error', 'clip', 'drop'] as const) {
    const err = await t.throwsAsync(openDataset(file, { boxPolicy }), { name: 'DatasetError' });
    t.is((err as unknown as { problems: { code: string; line: number }[] }).problems[0].code, 'parse-error');
    t.is((err as unknown as { problems: { code: string; line: number }[] }).problems[0].line, 3);
  }
  fs.writeFileSync(file, '{"annotations": []}');
  t.deepEqual(
    (await checkDataset(file)).problems.map((p) => p.message),
    ['bad.json: not a COCO instances file: expected an object with an "images" array'].map((m) => expect(file, m)),
  );
});

/** The message as displayPath shows `file` (relative to the working directory when inside it). */
function expect(file: string, message: string): string {
  const rel = path.relative(process.cwd(), file);
  const shown = rel && !rel.startsWith('..') ? rel : file;
  return message.replace(path.basename(file), shown);
}

test('a malformed image entry is dropped with policy drop; a malformed category list stops every policy', async (t) => {
  const dir = tmpDir(t);
  const file = cocoTree(dir, 'val2017', {
    images: [{ id: 1, file_name: '000000000001.jpg' }, { id: 2 }, { id: 7, file_name: '000000000007.jpg' }],
    annotations: [],
    categories: [{ id: 1, name: 'person' }],
  });
  const ds = await openDataset(file, { boxPolicy: 'drop' });
  t.deepEqual(
    ds.samples.map((s) => [s.id, s.width, s.height]),
    [
      ['1', 64, 48],
      ['7', 40, 30],
    ],
  );
  t.deepEqual(
    ds.problems.map((p) => p.message.slice(p.message.indexOf(': ') + 2)),
    ['images[1] is not { id, file_name, width, height }'],
  );
  await t.throwsAsync(openDataset(file, { boxPolicy: 'clip' }), { message: /has 1 problem:/ });

  cocoTree(dir, 'val2017', {
    images: [{ id: 1, file_name: '000000000001.jpg' }],
    annotations: [],
    categories: [
      { id: 1, name: 'person' },
      { id: 2, name: 'person' },
    ],
  });
  await t.throwsAsync(openDataset(file, { boxPolicy: 'drop' }), {
    message: /categories\[1\]: category name "person" is used by ids 1 and 2$/,
  });
});
