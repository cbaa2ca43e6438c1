/**
 * lib/files.ts, the one writer (CLI outputs, imported models, the model cache): complete files or none, never over an
 * input, never over an existing file without overwrite, never over a directory; errors name the file.
 */
import test from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { checkWriteTarget, fileId, fileIds, writeFileAtomic, WriteError } from '../../lib/files.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

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
  await t.throwsAsync(writeFileAtomic(f, Buffer.from('two')), {
    instanceOf: WriteError,
    code: 'EEXIST',
    message: `Not writing ${f}: the file exists (overwrite: true replaces it)`,
  });
  await t.throwsAsync(writeFileAtomic(f, Buffer.from('two'), { existsHint: '--overwrite replaces it' }), {
    code: 'EEXIST',
    message: `Not writing ${f}: the file exists (--overwrite replaces it)`,
  });
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
    await t.throwsAsync(writeFileAtomic(target, Buffer.from('x'), { overwrite: true, protect }), {
      code: 'ERR_SSD_EDGE_INPUT',
      message: `Not writing ${target}: it is one of the inputs`,
    });
    await t.throwsAsync(
      writeFileAtomic(target, Buffer.from('x'), { overwrite: true, protect, protectedAs: 'the source model' }),
      { code: 'ERR_SSD_EDGE_INPUT', message: `Not writing ${target}: it is the source model` },
    );
  }
  t.is(fs.readFileSync(input, 'utf8'), 'original');
  t.is(await fileId(path.join(dir, 'sym.jpg')), await fileId(input));
  t.is(await fileId(path.join(dir, 'nope')), null);
});

test('a failed write names the target, keeps its fs code and leaves nothing behind', async (t) => {
  const dir = tmpdir(t);
  const missing = path.join(dir, 'no', 'out.png');
  await t.throwsAsync(writeFileAtomic(missing, Buffer.from('x')), {
    code: 'ENOENT',
    message: `Cannot write ${missing}: no such directory (ENOENT)`,
  });
  // the target is a directory: refused before anything is written, with or without overwrite (no temporary file in
  // its parent: for `--out /tmp` that parent was `/`)
  const asDir = path.join(dir, 'taken');
  fs.mkdirSync(asDir);
  fs.writeFileSync(path.join(asDir, 'inside'), '');
  for (const overwrite of [false, true]) {
    await t.throwsAsync(writeFileAtomic(asDir, Buffer.from('x'), { overwrite }), {
      instanceOf: WriteError,
      code: 'EISDIR',
      message: `Not writing ${asDir}: it is a directory`,
    });
    await t.throwsAsync(checkWriteTarget(`${asDir}/`, { overwrite }), {
      code: 'EISDIR',
      message: `Not writing ${asDir}/: it is a directory`,
    });
  }
  t.deepEqual(fs.readdirSync(dir), ['taken']);
  t.deepEqual(fs.readdirSync(asDir), ['inside']);
});

test('mkdir creates the folder; unknown option keys are a TypeError', async (t) => {
  const dir = tmpdir(t);
  const f = path.join(dir, 'a', 'b', 'model.onnx');
  await writeFileAtomic(f, Buffer.from('m'), { mkdir: true });
  t.is(fs.readFileSync(f, 'utf8'), 'm');
  await t.throwsAsync(writeFileAtomic(path.join(dir, 'x'), Buffer.from('x'), { overwite: true } as never), {
    instanceOf: TypeError,
    message:
      "Unknown key 'overwite' in options: expected one of 'overwrite', 'protect', 'protectedAs', 'existsHint', 'mkdir'",
  });
  t.false(fs.existsSync(path.join(dir, 'x')));
});

test('a write cut short by a file-size limit (EFBIG) names the file and leaves neither it nor a temporary file', async (t) => {
  const dir = tmpdir(t);
  const out = path.join(dir, 'big.bin');
  // a child with `ulimit -f 100` (100 blocks of 1 KiB): Node ignores SIGXFSZ, so the write fails with EFBIG
  const script = `ulimit -f 100; exec "$0" --import=tsx -e "import('./lib/files.ts').then((m) => m.writeFileAtomic(process.argv[1], new Uint8Array(1 << 20))).catch((e) => { console.log(e.code + ' ' + e.message); })" "$1"`;
  const stdout = await new Promise<string>((resolve, reject) =>
    execFile('bash', ['-c', script, process.execPath, out], { cwd: root }, (err, so) =>
      err ? reject(err) : resolve(so),
    ),
  );
  t.is(stdout.trim(), `EFBIG Cannot write ${out}: file too large (a file-size limit, e.g. ulimit -f) (EFBIG)`);
  t.deepEqual(fs.readdirSync(dir), []);
});
