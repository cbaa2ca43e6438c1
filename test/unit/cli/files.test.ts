/** writeFileAtomic: complete files or none, never over an input, never over an existing file without overwrite. */
import test from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileId, fileIds, writeFileAtomic, WriteError } from '../../../lib/cli/files.ts';

function tmpdir(t: { teardown(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssd-edge-files-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('writes a new file; an existing one only with overwrite; no temporary file remains', async (t) => {
  const dir = tmpdir(t);
  const f = path.join(dir, 'out.png');
  await writeFileAtomic(f, Buffer.from('one'));
  t.is(fs.readFileSync(f, 'utf8'), 'one');
  await t.throwsAsync(writeFileAtomic(f, Buffer.from('two')), { instanceOf: WriteError, code: 'EEXIST', message: `Not writing ${f}: the file exists (--overwrite replaces it)` });
  t.is(fs.readFileSync(f, 'utf8'), 'one');
  await writeFileAtomic(f, Buffer.from('three'), { overwrite: true });
  t.is(fs.readFileSync(f, 'utf8'), 'three');
  t.deepEqual(fs.readdirSync(dir), ['out.png']);
});

test('never over a protected file, whatever path reaches it (symlink, hard link)', async (t) => {
  const dir = tmpdir(t);
  const input = path.join(dir, 'photo.jpg');
  fs.writeFileSync(input, 'original');
  fs.symlinkSync(input, path.join(dir, 'sym.jpg'));
  fs.linkSync(input, path.join(dir, 'hard.jpg'));
  const protect = await fileIds([input, path.join(dir, 'missing.jpg')]);
  t.is(protect.size, 1);
  for (const name of ['photo.jpg', 'sym.jpg', 'hard.jpg']) {
    const target = path.join(dir, name);
    await t.throwsAsync(writeFileAtomic(target, Buffer.from('x'), { overwrite: true, protect }),
      { code: 'ERR_SSD_EDGE_INPUT', message: `Not writing ${target}: it is one of the input images` });
  }
  t.is(fs.readFileSync(input, 'utf8'), 'original');
  t.is(await fileId(path.join(dir, 'sym.jpg')), await fileId(input));
  t.is(await fileId(path.join(dir, 'nope')), null);
});

test('a failed write names the target, keeps its fs code and leaves nothing behind', async (t) => {
  const dir = tmpdir(t);
  const missing = path.join(dir, 'no', 'out.png');
  await t.throwsAsync(writeFileAtomic(missing, Buffer.from('x')), { code: 'ENOENT', message: `Cannot write ${missing}: no such directory (ENOENT)` });
  // the target is a directory: the temporary file is written, the rename fails, the temporary file goes
  const asDir = path.join(dir, 'taken');
  fs.mkdirSync(asDir);
  fs.writeFileSync(path.join(asDir, 'inside'), '');
  await t.throwsAsync(writeFileAtomic(asDir, Buffer.from('x'), { overwrite: true }), { instanceOf: WriteError, message: new RegExp(`^Cannot write ${asDir}: `) });
  t.deepEqual(fs.readdirSync(dir), ['taken']);
});
