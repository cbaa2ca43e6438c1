/** Pascal VOC folders: coordinates, flags, splits, the label map, the voc-mini fixture. */
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { openDataset, VOC_CLASSES } from '../../../lib/data/index.ts';
import { fixturesDir } from '../../helpers/fixtures.ts';
import { tmpDir, writeVoc } from './trees.ts';

const VOC_MINI = path.join(fixturesDir, 'data', 'voc-mini');

test('VOC 1-based inclusive indices become continuous coordinates: [xmin - 1, ymin - 1, xmax, ymax]', async (t) => {
  const dir = writeVoc(tmpDir(t), [
    {
      id: 'a',
      size: [64, 48],
      objects: [
        { name: 'cat', box: [1, 1, 64, 48], truncated: true }, // the whole image
        { name: 'dog', box: [11, 21, 30, 40], difficult: true },
        { name: 'cat', box: ['5.5', '6.25', '7.5', '8'] }, // fractional coordinates as written by some tools
      ],
    },
  ]);
  const ds = await openDataset(dir);
  t.is(ds.format, 'voc');
  t.deepEqual(ds.classes, [...VOC_CLASSES]);
  const [s] = ds.samples;
  t.is(s.id, 'a');
  t.is(s.image, path.join(dir, 'JPEGImages', 'a.jpg'));
  t.is(s.width, 64);
  t.is(s.height, 48);
  t.deepEqual([...s.boxes], [0, 0, 64, 48, 10, 20, 30, 40, 4.5, 5.25, 7.5, 8]);
  t.deepEqual(
    [...s.labels].map((l) => ds.classes[l]),
    ['cat', 'dog', 'cat'],
  );
  t.deepEqual([...s.difficult!], [0, 1, 0]);
  t.deepEqual([...s.truncated!], [1, 0, 0]);
  t.is(s.iscrowd, undefined);
  t.deepEqual(ds.problems, []);
});

test('the voc-mini fixture: three real photos, hand-made annotations', async (t) => {
  const ds = await openDataset(VOC_MINI);
  t.is(ds.size, 3);
  t.deepEqual(
    ds.samples.map((s) => [s.id, s.width, s.height]),
    [
      ['astronaut', 256, 256],
      ['chelsea', 225, 150],
      ['coffee', 300, 200],
    ],
  );
  const astronaut = ds.samples[0];
  t.deepEqual([...astronaut.boxes], [9, 6, 181, 256, 176, 0, 235, 143]);
  t.deepEqual(
    [...astronaut.labels].map((l) => ds.classes[l]),
    ['person', 'aeroplane'],
  );
  t.deepEqual([...astronaut.difficult!], [0, 1]);
  const seen: string[] = [];
  for await (const s of ds) seen.push(s.id);
  t.deepEqual(seen, ['astronaut', 'chelsea', 'coffee']);
});

test('split: test, else val, else trainval, else every XML; --split names one; a missing split lists those present', async (t) => {
  const images = ['1', '2', '3', '4'].map((id) => ({ id, size: [32, 24] as [number, number], objects: [] }));
  const base = tmpDir(t);
  const ids = async (dir: string, split?: string) => (await openDataset(dir, { split })).samples.map((s) => s.id);

  const all = writeVoc(path.join(base, 'all'), images);
  t.deepEqual(await ids(all), ['1', '2', '3', '4']);

  const some = writeVoc(path.join(base, 'some'), images, { trainval: ['1', '2', '3'], val: ['3 '], train: ['1', '2'] });
  t.deepEqual(await ids(some), ['3']); // val before trainval
  t.deepEqual(await ids(some, 'train'), ['1', '2']);
  fs.writeFileSync(path.join(some, 'ImageSets', 'Main', 'test.txt'), '4\n\n2\n');
  t.deepEqual(await ids(some), ['4', '2']); // test first, listed order, blank lines skipped
  // class-specific files (cat_train.txt: "id  1") are not splits, but their first column is read when named
  fs.writeFileSync(path.join(some, 'ImageSets', 'Main', 'cat_train.txt'), '1  1\n2 -1\n');
  t.deepEqual(await ids(some, 'cat_train'), ['1', '2']);
  await t.throwsAsync(openDataset(some, { split: 'nope' }), {
    message:
      /^No split 'nope' in .*some: ImageSets\/Main\/nope\.txt does not exist \(splits: test, train, trainval, val\)$/,
  });
});

test('the label map: the 20 VOC classes when every label is one, else the sorted names; classes orders it', async (t) => {
  const dir = writeVoc(tmpDir(t), [
    {
      id: 'a',
      size: [32, 24],
      objects: [
        { name: 'zebra', box: [1, 1, 5, 5] },
        { name: 'cat', box: [1, 1, 5, 5] },
      ],
    },
  ]);
  const ds = await openDataset(dir);
  t.deepEqual(ds.classes, ['cat', 'zebra']);
  t.deepEqual([...ds.samples[0].labels], [1, 0]);
  const ordered = await openDataset(dir, { classes: ['zebra', 'cat', 'dog'] });
  t.deepEqual(ordered.classes, ['zebra', 'cat', 'dog']);
  t.deepEqual([...ordered.samples[0].labels], [0, 1]);
});

test('a missing or zero <size> is taken from the image header', async (t) => {
  const dir = writeVoc(tmpDir(t), [
    { id: 'a', size: null, image: [40, 30], objects: [{ name: 'cat', box: [1, 1, 40, 30] }] },
    { id: 'b', size: [0, 0], image: [20, 10], objects: [] },
  ]);
  // checkImages: false still reads the header when the annotation states no size
  const ds = await openDataset(dir, { checkImages: false });
  t.deepEqual(
    ds.samples.map((s) => [s.width, s.height]),
    [
      [40, 30],
      [20, 10],
    ],
  );
});

test('<filename> names the image; a wrong one falls back to <id>.jpg when that exists', async (t) => {
  const dir = writeVoc(tmpDir(t), [{ id: 'a', size: [32, 24], objects: [] }]);
  fs.writeFileSync(
    path.join(dir, 'Annotations', 'a.xml'),
    '<annotation><filename>wrong.png</filename><size><width>32</width><height>24</height></size></annotation>',
  );
  t.is((await openDataset(dir)).samples[0].image, path.join(dir, 'JPEGImages', 'a.jpg'));
  fs.renameSync(path.join(dir, 'JPEGImages', 'a.jpg'), path.join(dir, 'JPEGImages', 'wrong.png'));
  t.is((await openDataset(dir)).samples[0].image, path.join(dir, 'JPEGImages', 'wrong.png'));
});
