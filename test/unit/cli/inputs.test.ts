/**
 * CLI image arguments: files, directories, globs, and the errors for what does not exist.
 */
import test from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expandInputs, globToRegExp } from '../../../lib/cli/inputs.ts';
import { UsageError } from '../../../lib/cli/handle-error.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssd-edge-inputs-'));
for (const f of ['a.jpg', 'b.PNG', 'notes.txt', 'sub/c.jpeg', 'sub/deep/d.webp', '.hidden/e.jpg']) {
  fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
  fs.writeFileSync(path.join(dir, f), '');
}
const p = (...f: string[]) => f.map((x) => path.join(dir, x));
test.after.always(() => fs.rmSync(dir, { recursive: true, force: true }));

test('files as given, in order, without duplicates', async (t) => {
  t.deepEqual(await expandInputs(p('notes.txt', 'a.jpg', 'notes.txt')), p('notes.txt', 'a.jpg'));
});

test('directories: image files sorted; subfolders with recursive (hidden ones skipped)', async (t) => {
  t.deepEqual(await expandInputs([dir]), p('a.jpg', 'b.PNG'));
  t.deepEqual(await expandInputs([dir], { recursive: true }), p('a.jpg', 'b.PNG', 'sub/c.jpeg', 'sub/deep/d.webp'));
});

test('globs the shell did not expand', async (t) => {
  t.deepEqual(await expandInputs([path.join(dir, '*.jpg')]), p('a.jpg'));
  t.deepEqual(
    await expandInputs([path.join(dir, '**/*.{jpg,jpeg,webp}')]),
    p('a.jpg', 'sub/c.jpeg', 'sub/deep/d.webp'),
  );
  t.deepEqual(await expandInputs([path.join(dir, 'sub/*/?.webp')]), p('sub/deep/d.webp'));
  t.deepEqual(await expandInputs([path.join(dir, '[ab].*')]), p('a.jpg', 'b.PNG'));
});

test('errors: nothing given, missing file, empty glob, directory without images', async (t) => {
  await t.throwsAsync(expandInputs([]), { instanceOf: UsageError, message: 'no images given' });
  await t.throwsAsync(expandInputs(p('zzz.jpg')), { message: `Cannot read image ${p('zzz.jpg')[0]}: no such file` });
  await t.throwsAsync(expandInputs([path.join(dir, '*.gif')]), {
    message: `No files match ${path.join(dir, '*.gif')}`,
  });
  const empty = path.join(dir, 'sub', 'deep');
  fs.mkdirSync(path.join(empty, 'x'), { recursive: true });
  await t.throwsAsync(expandInputs([path.join(empty, 'x')]), { message: /^No images \(.*\) in directory / });
});

test('globToRegExp', (t) => {
  t.true(globToRegExp('a/**/b.jpg').test('a/b.jpg'));
  t.true(globToRegExp('a/**/b.jpg').test('a/x/y/b.jpg'));
  t.false(globToRegExp('a/*.jpg').test('a/x/b.jpg'));
  t.true(globToRegExp('img_?.{png,jpg}').test('img_1.jpg'));
  t.false(globToRegExp('img_?.{png,jpg}').test('img_12.jpg'));
  t.true(globToRegExp('[!a]*.png').test('b.png'));
  t.false(globToRegExp('[!a]*.png').test('a.png'));
  t.true(globToRegExp('x+y(1).png').test('x+y(1).png'));
});

test('skipOutputsOf: listing the --out folder skips the annotated copies there, and only there', async (t) => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'ssd-edge-inputs-out-'));
  t.teardown(() => fs.rmSync(out, { recursive: true, force: true }));
  const names = [
    'a.jpg',
    'a.annotated.jpg',
    'b.png',
    'b.annotated.png',
    'b.annotated-1.png',
    'c.annotated.webp',
    'my.annotated.photo.jpg',
  ];
  for (const f of [...names, 'sub/d.annotated.jpg']) {
    fs.mkdirSync(path.dirname(path.join(out, f)), { recursive: true });
    fs.writeFileSync(path.join(out, f), '');
  }
  const q = (...f: string[]) => f.map((x) => path.join(out, x));
  const kept = q('a.jpg', 'b.png', 'c.annotated.webp', 'my.annotated.photo.jpg');
  t.deepEqual(await expandInputs([out], { skipOutputsOf: out }), kept);
  // the folder's identity counts, not its spelling
  t.deepEqual(await expandInputs([out], { skipOutputsOf: `${out}/sub/..` }), kept);
  t.deepEqual(await expandInputs([path.join(out, '*')], { skipOutputsOf: out }), kept);
  // a subfolder is not --out: its files stay; files named explicitly always stay; another --out skips nothing
  t.deepEqual(await expandInputs([out], { skipOutputsOf: out, recursive: true }), [
    ...kept,
    ...q('sub/d.annotated.jpg'),
  ]);
  t.deepEqual(await expandInputs(q('a.annotated.jpg'), { skipOutputsOf: out }), q('a.annotated.jpg'));
  t.deepEqual(await expandInputs([out], { skipOutputsOf: dir }), q(...[...names].sort()));
  // nothing left once the copies are skipped: the usual error
  const only = path.join(out, 'sub');
  await t.throwsAsync(expandInputs([only], { skipOutputsOf: only }), {
    message: `No images (.jpg .jpeg .png .webp .gif .bmp) in directory ${only}`,
  });
});
