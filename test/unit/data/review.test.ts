/**
 * Regressions found reviewing issue 7 with hostile datasets: a stated image size that is no size (negative, NaN,
 * text) and a COCO `area` that is no area were taken silently (the header's size used, the object moved out of every
 * area range); a duplicate id named the same file twice instead of where each copy is listed.
 */
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { checkDataset, DatasetError, openDataset } from '../../../lib/data/index.ts';
import { displayPath } from '../../../lib/data/util.ts';
import { tmpDir, vocXml, writeImage, writeJsonl, writeVoc } from './trees.ts';

test('VOC: a negative or non-numeric <size> is a problem of its image (zero or missing still means "not stated")', async (t) => {
  const dir = writeVoc(tmpDir(t), [
    { id: 'a', size: [-64, 48], image: [64, 48], objects: [{ name: 'cat', box: [1, 1, 10, 10] }] },
    { id: 'b', size: [64, 48], image: [64, 48], xml: '' },
    { id: 'c', size: [0, 0], image: [32, 24], objects: [] },
    { id: 'd', size: null, image: [32, 24], objects: [] },
  ]);
  fs.writeFileSync(
    path.join(dir, 'Annotations', 'b.xml'),
    vocXml({ id: 'b', size: [64, 48] }).replace('<height>48</height>', '<height>nan</height>'),
  );
  const { problems, dataset } = await checkDataset(dir);
  const d = displayPath(dir);
  t.deepEqual(
    problems.map((p) => [p.code, p.message]),
    [
      ['parse-error', `${d}/Annotations/a.xml: <size>: <width> is "-64", not a size ≥ 0`],
      ['parse-error', `${d}/Annotations/b.xml: <size>: <height> is "nan", not a size ≥ 0`],
    ],
  );
  // policy drop: those images are left out; the zero and missing sizes come from the headers
  t.deepEqual(
    dataset?.samples.map((s) => [s.id, s.width, s.height]),
    [
      ['c', 32, 24],
      ['d', 32, 24],
    ],
  );
  await t.throwsAsync(openDataset(dir), { instanceOf: DatasetError, message: /has 2 problems/ });
});

test('JSONL: a "width"/"height" that is not a size ≥ 0 is a problem with its line', async (t) => {
  const dir = tmpDir(t);
  writeImage(path.join(dir, 'a.jpg'), 32, 24);
  writeImage(path.join(dir, 'b.jpg'), 32, 24);
  const file = writeJsonl(path.join(dir, 'd.jsonl'), [
    { image: 'a.jpg', width: -32, height: '24', boxes: [] },
    { image: 'b.jpg', width: 32, height: 24, boxes: [] },
  ]);
  const { problems, dataset } = await checkDataset(file);
  t.deepEqual(
    problems.map((p) => [p.code, p.line, p.message]),
    [['parse-error', 1, `${displayPath(file)}:1: "width" is -32, not a size ≥ 0, "height" is "24", not a size ≥ 0`]],
  );
  t.deepEqual(
    dataset?.samples.map((s) => s.id),
    ['b.jpg'],
  );
});

test('COCO: a bad image size and a negative or non-numeric area are problems; duplicate ids name images[k]', async (t) => {
  const dir = tmpDir(t);
  writeImage(path.join(dir, 'val', 'a.jpg'), 64, 48);
  writeImage(path.join(dir, 'val', 'b.jpg'), 64, 48);
  const file = path.join(dir, 'annotations', 'instances_val.json');
  fs.mkdirSync(path.dirname(file));
  fs.writeFileSync(
    file,
    JSON.stringify({
      images: [
        { id: 1, file_name: 'a.jpg', width: 64, height: 48 },
        { id: 2, file_name: 'b.jpg', width: 64, height: -48 },
        { id: 1, file_name: 'b.jpg', width: 64, height: 48 },
      ],
      annotations: [
        { id: 10, image_id: 1, category_id: 1, bbox: [1, 1, 10, 10], area: 100 },
        { id: 11, image_id: 1, category_id: 1, bbox: [1, 1, 10, 10], area: -5 },
        { id: 12, image_id: 1, category_id: 1, bbox: [1, 1, 10, 10], area: '100' },
        { id: 13, image_id: 1, category_id: 1, bbox: [1, 1, 10, 10] },
      ],
      categories: [{ id: 1, name: 'cat' }],
    }),
  );
  const { problems, dataset } = await checkDataset(dir);
  const f = displayPath(file);
  t.deepEqual(
    problems.map((p) => p.message),
    [
      `${f} image 1 object 1 (cat), annotation id 11: area is -5, expected a number ≥ 0`,
      `${f} image 1 object 2 (cat), annotation id 12: area is "100", expected a number ≥ 0`,
      `${f} image 2, images[1]: "height" is -48, not a size ≥ 0`,
      `${f}: image id "1" (images[2]) repeats the one at images[0]`,
    ],
  );
  // the good annotations keep their area (given, or the box's)
  t.deepEqual(
    dataset?.samples.map((s) => [s.id, [...s.area!]]),
    [['1', [100, 100]]],
  );
});

test('VOC: an id listed twice in the split file names both lines', async (t) => {
  const dir = writeVoc(
    tmpDir(t),
    [
      { id: 'a', size: [32, 24], objects: [] },
      { id: 'b', size: [32, 24], objects: [] },
    ],
    { test: ['a', 'b', 'a'] },
  );
  const { problems } = await checkDataset(dir);
  const d = displayPath(dir);
  t.deepEqual(
    problems.map((p) => p.message),
    [
      `${d}/Annotations/a.xml: image id "a" (${d}/ImageSets/Main/test.txt:3) repeats the one at ${d}/ImageSets/Main/test.txt:1`,
    ],
  );
});

test('the boxes of an image that is left out are still checked: every problem at once', async (t) => {
  const dir = tmpDir(t);
  writeImage(path.join(dir, 'a.jpg'), 32, 24);
  const file = writeJsonl(path.join(dir, 'd.jsonl'), [
    { image: 'a.jpg', boxes: [{ label: 'cat', box: [1, 1, 10, 10] }] },
    // missing image: its non-finite and empty boxes are problems too; its box outside any 32×24 image is not judged
    // (no verified size)
    {
      image: 'missing.jpg',
      boxes: [
        { label: 'cat', box: [0, 0, Number.NaN, 5] }, // written as null
        { label: 'cat', box: [5, 5, 5, 9] },
        { label: 'dog', box: [-5, 0, 500, 5] },
      ],
    },
    // a duplicate is reported once, as a duplicate
    { image: 'a.jpg', boxes: [{ label: 'cat', box: [9, 9, 1, 1] }] },
  ]);
  const f = displayPath(file);
  const { problems, dataset } = await checkDataset(file);
  t.deepEqual(
    problems.map((p) => p.message),
    [
      `${f}:2: image ${displayPath(path.join(dir, 'missing.jpg'))}: no such file`,
      `${f}:2 object 0 (cat): box [0, 0, NaN, 5] has non-finite coordinates`,
      `${f}:2 object 1 (cat): box [5, 5, 5, 9] is empty (x1 = 5 ≥ x2 = 5)`,
      `${f}:3: image id "a.jpg" repeats the one at ${f}:1`,
    ],
  );
  t.deepEqual(
    dataset?.samples.map((s) => s.id),
    ['a.jpg'],
  );
  // with a class list, the left-out image's labels are checked against it
  const withClasses = await checkDataset(file, { classes: ['cat'] });
  t.true(withClasses.problems.some((p) => p.message === `${f}:2 object 2 (dog): unknown label "dog" (classes: cat)`));
});

test('a forced format that does not fit the path says so in one line (no fs error text)', async (t) => {
  const dir = tmpDir(t);
  const file = writeJsonl(path.join(dir, 'd.jsonl'), [{ image: 'a.jpg', boxes: [] }]);
  await t.throwsAsync(checkDataset(file, { format: 'voc' }), {
    message: `Cannot read ${displayPath(file)} as Pascal VOC: it is a file, not a folder with Annotations/`,
  });
  await t.throwsAsync(checkDataset(dir, { format: 'voc' }), {
    message: `Cannot read ${displayPath(dir)} as Pascal VOC: it has no Annotations/ folder`,
  });
  const { problems } = await checkDataset(dir, { format: 'jsonl' });
  t.deepEqual(
    problems.map((p) => p.message),
    [`${displayPath(dir)}: is a folder, not a JSONL file`],
  );
});

test('COCO: images that no folder holds are looked for next to a JSON not named instances_*.json', async (t) => {
  const dir = tmpDir(t);
  const file = path.join(dir, 'my-set.json');
  fs.writeFileSync(
    file,
    JSON.stringify({
      images: [{ id: 1, file_name: 'a.jpg', width: 32, height: 24 }],
      annotations: [],
      categories: [{ id: 1, name: 'cat' }],
    }),
  );
  const { problems } = await checkDataset(file);
  // was `<dir>/my-set/a.jpg`: a folder named after the file
  t.deepEqual(
    problems.map((p) => p.message),
    [`${displayPath(file)}: image ${displayPath(path.join(dir, 'a.jpg'))}: no such file`],
  );
});

test('a difficult / truncated / iscrowd flag that is neither 0 nor 1 is a problem of its object, in every format', async (t) => {
  const dir = tmpDir(t);
  const voc = writeVoc(path.join(dir, 'voc'), [
    {
      id: 'a',
      size: [32, 24],
      objects: [
        { name: 'cat', box: [1, 1, 10, 10] },
        { name: 'cat', box: [2, 2, 9, 9] },
      ],
    },
  ]);
  const xml = path.join(voc, 'Annotations', 'a.xml');
  fs.writeFileSync(xml, fs.readFileSync(xml, 'utf8').replace('<difficult>0</difficult>', '<difficult>2</difficult>'));
  const v = await checkDataset(voc);
  t.deepEqual(
    v.problems.map((p) => p.message),
    [`${displayPath(xml)} object 0 (cat): <difficult> is "2", expected 0 or 1`],
  );
  t.is(v.dataset?.samples[0].labels.length, 1);

  writeImage(path.join(dir, 'a.jpg'), 32, 24);
  const jsonl = writeJsonl(path.join(dir, 'd.jsonl'), [
    { image: 'a.jpg', boxes: [{ label: 'cat', box: [1, 1, 10, 10], difficult: 'yes', iscrowd: 1 }] },
  ]);
  t.deepEqual(
    (await checkDataset(jsonl)).problems.map((p) => p.message),
    [`${displayPath(jsonl)}:1 object 0 (cat): "difficult" is "yes", expected true, false, 0 or 1`],
  );

  const coco = path.join(dir, 'c.json');
  fs.writeFileSync(
    coco,
    JSON.stringify({
      images: [{ id: 1, file_name: 'a.jpg', width: 32, height: 24 }],
      annotations: [{ id: 5, image_id: 1, category_id: 1, bbox: [1, 1, 5, 5], iscrowd: '1' }],
      categories: [{ id: 1, name: 'cat' }],
    }),
  );
  t.deepEqual(
    (await checkDataset(coco)).problems.map((p) => p.message),
    [`${displayPath(coco)} image 1 object 0 (cat), annotation id 5: iscrowd is "1", expected 0 or 1`],
  );
});

test('a UTF-8 byte order mark (Windows editors) before JSONL or COCO JSON is not a parse error', async (t) => {
  const dir = tmpDir(t);
  writeImage(path.join(dir, 'a.jpg'), 32, 24);
  const jsonl = path.join(dir, 'd.jsonl');
  fs.writeFileSync(
    jsonl,
    `\uFEFF${JSON.stringify({ image: 'a.jpg', boxes: [{ label: 'cat', box: [1, 1, 9, 9] }] })}\n`,
  );
  const a = await checkDataset(jsonl);
  t.deepEqual([a.problems, a.dataset?.size], [[], 1]);
  const coco = path.join(dir, 'c.json');
  fs.writeFileSync(
    coco,
    `\uFEFF${JSON.stringify({ images: [{ id: 1, file_name: 'a.jpg', width: 32, height: 24 }], annotations: [], categories: [] })}`,
  );
  const b = await checkDataset(coco);
  t.deepEqual([b.problems, b.dataset?.size], [[], 1]);
});

test('one image file listed under two ids is a duplicate-image problem (its objects would count twice)', async (t) => {
  const dir = tmpDir(t);
  writeImage(path.join(dir, 'a.jpg'), 32, 24);
  const file = writeJsonl(path.join(dir, 'd.jsonl'), [
    { image: 'a.jpg', boxes: [{ label: 'cat', box: [1, 1, 9, 9] }] },
    { image: './a.jpg', boxes: [{ label: 'cat', box: [1, 1, 9, 9] }] },
  ]);
  const { problems, dataset } = await checkDataset(file);
  const f = displayPath(file);
  t.deepEqual(
    problems.map((p) => [p.code, p.message]),
    [
      [
        'duplicate-image',
        `${f}:2: image ${displayPath(path.join(dir, 'a.jpg'))} (id "./a.jpg") is already listed as id "a.jpg" at ${f}:1`,
      ],
    ],
  );
  t.deepEqual(
    dataset?.samples.map((s) => s.id),
    ['a.jpg'],
  );
  // two VOC annotations naming one image in <filename>
  const voc = writeVoc(path.join(dir, 'voc'), [
    { id: 'x', size: [32, 24], objects: [] },
    { id: 'y', size: [32, 24], objects: [] },
  ]);
  const y = path.join(voc, 'Annotations', 'y.xml');
  fs.writeFileSync(y, fs.readFileSync(y, 'utf8').replace('<filename>y.jpg</filename>', '<filename>x.jpg</filename>'));
  t.deepEqual(
    (await checkDataset(voc)).problems.map((p) => p.code),
    ['duplicate-image'],
  );
});
