/**
 * Validation: every bad-label case of the issue found at once, each with its file and object; the box policies;
 * hostile annotations never reaching a sample as NaN, empty or outside boxes.
 */
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { checkDataset, type DataProblem, DatasetError, openDataset } from '../../../lib/data/index.ts';
import { mulberry32 } from '../../helpers/random.ts';
import { displayPath } from '../../../lib/data/util.ts';
import { image, tmpDir, writeImage, writeJsonl, writeVoc } from './trees.ts';

/**
 * A VOC folder with one of each problem:
 * - a: a good cat, a dog sticking out (clippable), an empty box, NaN, Inf, an unknown label, a box entirely outside;
 * - b: image missing;           - c: <size> 100×100 but the image is 64×48;
 * - d: not an image;            - e: a JPEG cut short (header fine: found only by a full decode);
 * - f: broken XML;              - h: an object without <bndbox>;
 * - a listed twice in test.txt (duplicate id), g listed without an annotation.
 */
function badVoc(dir: string): string {
  writeVoc(
    dir,
    [
      {
        id: 'a',
        size: [64, 48],
        objects: [
          { name: 'cat', box: [1, 1, 10, 10] },
          { name: 'dog', box: [50, 40, 70, 48] },
          { name: 'cat', box: [20, 20, 10, 30] },
          { name: 'cat', box: ['nan', 1, 5, 5] },
          { name: 'dog', box: [1, 1, 'inf', 5] },
          { name: 'zebra', box: [1, 1, 5, 5] },
          { name: 'cat', box: [100, 100, 120, 120] },
        ],
      },
      { id: 'b', size: [64, 48], image: null, objects: [{ name: 'cat', box: [1, 1, 5, 5] }] },
      { id: 'c', size: [100, 100], image: [64, 48], objects: [] },
      { id: 'd', size: [64, 48], image: null, objects: [] },
      { id: 'e', size: [64, 48], image: null, objects: [{ name: 'cat', box: [1, 1, 5, 5] }] },
      { id: 'f', xml: '<annotation>\n  <size><width>64</width>\n</annotation>\n', image: [64, 48] },
      { id: 'h', size: [64, 48], objects: [{ name: 'cat' }, { name: 'dog', box: [2, 2, 8, 8] }] },
    ],
    { test: ['a', 'b', 'c', 'd', 'e', 'f', 'h', 'a', 'g'] },
  );
  fs.writeFileSync(path.join(dir, 'JPEGImages', 'd.jpg'), 'this is not a JPEG');
  const jpeg = image(64, 48);
  fs.writeFileSync(path.join(dir, 'JPEGImages', 'e.jpg'), jpeg.subarray(0, Math.floor(jpeg.length * 0.9)));
  return dir;
}

/** [code, file relative to the dataset, id, object] of each problem. */
const summary = (dir: string, problems: readonly DataProblem[]) =>
  problems.map((p) => [p.code, path.relative(dir, p.file), p.id, p.object]);

const A_OBJECTS = [
  ['box-outside', 'Annotations/a.xml', 'a', 1],
  ['empty-box', 'Annotations/a.xml', 'a', 2],
  ['non-finite', 'Annotations/a.xml', 'a', 3],
  ['non-finite', 'Annotations/a.xml', 'a', 4],
  ['unknown-label', 'Annotations/a.xml', 'a', 5],
  ['box-outside', 'Annotations/a.xml', 'a', 6],
];
const IMAGES = [
  ['missing-image', 'Annotations/b.xml', 'b', undefined],
  ['size-mismatch', 'Annotations/c.xml', 'c', undefined],
  ['undecodable-image', 'JPEGImages/d.jpg', 'd', undefined],
];
const REST = [
  ['parse-error', 'Annotations/f.xml', 'f', undefined],
  ['parse-error', 'Annotations/h.xml', 'h', 0],
  ['duplicate-id', 'Annotations/a.xml', 'a', undefined],
  ['missing-annotation', 'ImageSets/Main/test.txt', 'g', undefined],
];
const TRUNCATED = ['undecodable-image', 'JPEGImages/e.jpg', 'e', undefined];

test('checkDataset finds every problem at once, each with its file and object, in dataset order', async (t) => {
  const dir = badVoc(tmpDir(t));
  const { problems } = await checkDataset(dir, { classes: ['cat', 'dog'] });
  t.deepEqual(summary(dir, problems), [...A_OBJECTS, ...IMAGES, TRUNCATED, ...REST]);
  const shown = `${displayPath(dir)}/`;
  const messages = problems.map((p) => p.message.split(shown).join(''));
  t.deepEqual(messages, [
    'Annotations/a.xml object 1 (dog): box [49, 39, 70, 48] is outside the 64×48 image (clipped: [49, 39, 64, 48])',
    'Annotations/a.xml object 2 (cat): box [19, 19, 10, 30] is empty (x1 = 19 ≥ x2 = 10)',
    'Annotations/a.xml object 3 (cat): box [NaN, 0, 5, 5] has non-finite coordinates',
    'Annotations/a.xml object 4 (dog): box [0, 0, Infinity, 5] has non-finite coordinates',
    'Annotations/a.xml object 5 (zebra): unknown label "zebra" (classes: cat, dog)',
    'Annotations/a.xml object 6 (cat): box [99, 99, 120, 120] is outside the 64×48 image entirely',
    `Annotations/b.xml: image JPEGImages/b.jpg: no such file`,
    `Annotations/c.xml: annotated size 100×100 but image JPEGImages/c.jpg is 64×48`,
    'JPEGImages/d.jpg image d: cannot be decoded: not a JPEG, PNG, WebP, GIF or BMP image (annotated in Annotations/d.xml)',
    'JPEGImages/e.jpg image e: cannot be decoded: truncated JPEG data (no end-of-image marker) ' +
      `(annotated in Annotations/e.xml)`,
    'Annotations/f.xml:3: not valid XML (end tag </annotation> does not match <size> (line 2))',
    'Annotations/h.xml object 0 (cat): no <bndbox>',
    `Annotations/a.xml: image id "a" (ImageSets/Main/test.txt:8) repeats the one at ImageSets/Main/test.txt:1`,
    `ImageSets/Main/test.txt:9: annotation Annotations/g.xml of image g: no such file`,
  ]);
});

test("openDataset (policy 'error') throws one DatasetError listing every problem; headers only, so not the truncated JPEG", async (t) => {
  const dir = badVoc(tmpDir(t));
  const err = await t.throwsAsync(openDataset(dir, { classes: ['cat', 'dog'] }), { instanceOf: DatasetError });
  t.deepEqual(summary(dir, err!.problems), [...A_OBJECTS, ...IMAGES, ...REST]);
  t.regex(err!.message, /^Dataset .* has 13 problems:\n {2}.*a\.xml object 1 \(dog\): box/);
  t.is(err!.message.split('\n').length, 14);
  // checkDataset with decodeImages: false reads headers only too
  const { problems } = await checkDataset(dir, { classes: ['cat', 'dog'], decodeImages: false });
  t.deepEqual(problems, err!.problems);
});

test("policy 'clip' repairs boxes but stops at image-level problems; 'drop' drops boxes and images", async (t) => {
  const dir = badVoc(tmpDir(t));
  const clip = await t.throwsAsync(openDataset(dir, { classes: ['cat', 'dog'], boxPolicy: 'clip' }), {
    instanceOf: DatasetError,
  });
  t.is(clip!.problems.length, 13);

  const ds = await openDataset(dir, { classes: ['cat', 'dog'], boxPolicy: 'drop' });
  t.deepEqual(
    ds.samples.map((s) => s.id),
    ['a', 'e', 'h'],
  );
  t.deepEqual([...ds.samples[0].boxes], [0, 0, 10, 10]);
  t.deepEqual([...ds.samples[0].labels], [0]);
  t.deepEqual([...ds.samples[2].boxes], [1, 1, 8, 8]); // h: the dog; the cat without a box dropped
  t.deepEqual(summary(dir, ds.problems), [...A_OBJECTS, ...IMAGES, ...REST]);

  // only box problems: clip keeps the clipped dog and drops what cannot be repaired
  const only = writeVoc(tmpDir(t), [
    {
      id: 'a',
      size: [64, 48],
      objects: [
        { name: 'cat', box: [1, 1, 10, 10] },
        { name: 'dog', box: [50, 40, 70, 48] },
        { name: 'cat', box: [-5, -5, 0, 0] },
        { name: 'cat', box: ['nan', 1, 5, 5] },
        { name: 'cat', box: [5, 5, 4, 9] }, // VOC [5, 5, 5, 9] would be one pixel wide
      ],
    },
  ]);
  const clipped = await openDataset(only, { boxPolicy: 'clip' });
  t.deepEqual([...clipped.samples[0].boxes], [0, 0, 10, 10, 49, 39, 64, 48]);
  t.deepEqual(
    clipped.problems.map((p) => p.code),
    ['box-outside', 'box-outside', 'non-finite', 'empty-box'],
  );
  const dropped = await openDataset(only, { boxPolicy: 'drop' });
  t.deepEqual([...dropped.samples[0].boxes], [0, 0, 10, 10]);
  await t.throwsAsync(openDataset(only), { instanceOf: DatasetError, message: /has 4 problems/ });
});

test('hostile annotations: with clip or drop every box reaching a sample is finite, positive-area and inside', async (t) => {
  const dir = tmpDir(t);
  writeImage(path.join(dir, 'a.png'), 37, 23, 'png');
  const rng = mulberry32(7);
  const specials = [0, -0, 1e-30, -1e-30, 1e-7, 36.999999, 37, 37.000001, 23, -1, 1e308, 1e999, -1e999, null];
  const coord = () => (rng() < 0.4 ? specials[Math.floor(rng() * specials.length)] : (rng() - 0.25) * 60);
  const boxes = Array.from({ length: 600 }, (_, k) => {
    if (k % 50 === 0) {
      const x = 10 + rng() * 10; // a box 1e-7 wide collapses to nothing in float32
      return { label: 'cat', box: [x, 5, x + 1e-7, 10] };
    }
    return { label: rng() < 0.5 ? 'cat' : 'dog', box: [coord(), coord(), coord(), coord()] };
  });
  const file = writeJsonl(path.join(dir, 'h.jsonl'), [{ image: 'a.png', boxes }]);
  let kept = 0;
  for (const boxPolicy of ['clip', 'drop'] as const) {
    const ds = await openDataset(file, { boxPolicy });
    const [s] = ds.samples;
    t.is(s.boxes.length, 4 * s.labels.length);
    for (let k = 0; k < s.labels.length; k++) {
      const [x1, y1, x2, y2] = s.boxes.subarray(4 * k, 4 * k + 4);
      t.true([x1, y1, x2, y2].every(Number.isFinite));
      t.true(x1 < x2 && y1 < y2 && (x2 - x1) * (y2 - y1) > 0, `box ${[x1, y1, x2, y2]}`);
      t.true(x1 >= 0 && y1 >= 0 && x2 <= 37 && y2 <= 23, `box ${[x1, y1, x2, y2]}`);
    }
    // each input box is reported at most once (labels are all known); it is kept, or dropped with its problem
    // (with clip, a box-outside problem drops the box only when it lies entirely outside)
    const dropping = ds.problems.filter(
      (p) => p.code !== 'box-outside' || boxPolicy === 'drop' || p.message.endsWith('entirely'),
    );
    t.is(s.labels.length + dropping.length, 600);
    kept += s.labels.length;
  }
  t.true(kept > 50, `kept ${kept}`); // the fuzz is not all rejects
  const err = await t.throwsAsync(openDataset(file), { instanceOf: DatasetError });
  t.true(err!.problems.length > 100);
  t.true(err!.problems.some((p) => /is empty \(x1 = [\d.]+ and x2 = [\d.]+ are equal in float32\)$/.test(p.message)));
  t.true(err!.problems.some((p) => /has coordinates beyond the float32 range$/.test(p.message)));
  t.true(err!.problems.some((p) => /has non-finite coordinates$/.test(p.message)));
  t.true(err!.problems.every((p) => p.line === 1 && p.object !== undefined));
});

test('JPEG EXIF orientation 5–8 swaps the header size, as the decoder does; headers past the first 16 KiB are read', async (t) => {
  const dir = tmpDir(t);
  const jpeg = image(40, 20);
  const { exifOrientationSegment } = await import('../../../lib/image/decode.ts');
  // a 30 000-byte APP2 segment first pushes the EXIF and the SOF past the first chunk read
  const app2 = Buffer.alloc(30_000);
  app2.writeUInt16BE(0xffe2, 0);
  app2.writeUInt16BE(app2.length - 2, 2);
  fs.writeFileSync(
    path.join(dir, 'r.jpg'),
    Buffer.concat([jpeg.subarray(0, 2), exifOrientationSegment(6), jpeg.subarray(2)]),
  );
  fs.writeFileSync(
    path.join(dir, 'big.jpg'),
    Buffer.concat([jpeg.subarray(0, 2), app2, exifOrientationSegment(8), jpeg.subarray(2)]),
  );
  const file = writeJsonl(path.join(dir, 'r.jsonl'), [
    { image: 'r.jpg', width: 20, height: 40, boxes: [{ label: 'x', box: [0, 0, 20, 40] }] },
    { image: 'big.jpg', boxes: [] },
  ]);
  const ds = await openDataset(file);
  t.deepEqual(
    ds.samples.map((s) => [s.width, s.height]),
    [
      [20, 40],
      [20, 40],
    ],
  );
  t.deepEqual((await checkDataset(file)).problems, []); // and both decode completely
});

test('truncated PNG data and checkImages: false', async (t) => {
  const dir = tmpDir(t);
  const png = image(64, 48, 'png');
  fs.writeFileSync(path.join(dir, 'p.png'), png.subarray(0, png.length - 20));
  const file = writeJsonl(path.join(dir, 'p.jsonl'), [{ image: 'p.png', width: 64, height: 48, boxes: [] }]);
  const { problems } = await checkDataset(file);
  t.deepEqual(
    problems.map((p) => [p.code, p.file]),
    [['undecodable-image', path.join(dir, 'p.png')]],
  );
  t.is(problems[0].line, 1);
  t.regex(
    problems[0].message,
    /p\.png image p\.png: cannot be decoded: truncated PNG data \(chunk IDAT cut short\) \(annotated in .*p\.jsonl:1\)$/,
  );
  // openDataset reads headers only: the header is fine
  t.is((await openDataset(file)).size, 1);
  // without image checks a missing image is not seen when the annotation states the size
  fs.rmSync(path.join(dir, 'p.png'));
  await t.throwsAsync(openDataset(file), { message: /missing|no such file/ });
  t.is((await openDataset(file, { checkImages: false })).size, 1);
  t.deepEqual((await checkDataset(file, { checkImages: false })).problems, []);
  t.deepEqual(
    (await checkDataset(file, { decodeImages: false })).problems.map((p) => p.code),
    ['missing-image'],
  );
});
