/**
 * Writing output files without losing anything: never over a file the user gave us as input, never over an
 * existing file unless asked, and never a partial file (bytes go to a temporary name in the same folder, which is
 * renamed into place once complete and removed when the write fails).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { assertKnownKeys } from './is.ts';

/** A file's identity (device + inode), the same whatever path, symlink or hard link reaches it. */
export type FileId = string;

/** The identity of an existing file; null when it does not exist. */
export async function fileId(file: string): Promise<FileId | null> {
  try {
    const s = await fs.promises.stat(file);
    return `${s.dev}:${s.ino}`;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** Identities of files (those that exist), to refuse writing over any of them. */
export async function fileIds(files: readonly string[]): Promise<Set<FileId>> {
  const ids = new Set<FileId>();
  for (const f of files) {
    const id = await fileId(f);
    if (id) ids.add(id);
  }
  return ids;
}

/** Why a file was not written; `code` says which rule stopped it (or the fs code of the failed write). */
export class WriteError extends Error {
  code: string;
  constructor(message: string, code: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'WriteError';
    this.code = code;
  }
}

/** Readable causes for the write errors a user can act on. */
const WHY: Record<string, string> = {
  ENOSPC: 'no space left on device',
  EFBIG: 'file too large (a file-size limit, e.g. ulimit -f)',
  EDQUOT: 'disk quota exceeded',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOENT: 'no such directory',
  ENOTDIR: 'a parent is not a directory',
  EISDIR: 'is a directory',
  EIO: 'input/output error',
};

export interface WriteFileOptions {
  /** Replace an existing file (default false: an existing file is an error). Protected files are never replaced. */
  overwrite?: boolean;
  /** Identities of files that must never be replaced (a command's inputs, an import's source). */
  protect?: ReadonlySet<FileId>;
  /** What the protected files are, for the message (default 'one of the inputs'). */
  protectedAs?: string;
  /** How to replace an existing file, for the message (default 'overwrite: true replaces it'; the CLI names --overwrite). */
  existsHint?: string;
  /** Create the target's folder (and its parents) first (default false). */
  mkdir?: boolean;
}

const WRITE_OPTION_KEYS = ['overwrite', 'protect', 'protectedAs', 'existsHint', 'mkdir'] as const;

/**
 * Checks, without writing anything, that `target` may be written under `options`' rules: it is not a directory, not
 * one of `protect`, and (without `overwrite`) does not exist. Commands call it before long work, so a refusal comes
 * at once; {@link writeFileAtomic} applies the same rules again when it writes.
 *
 * @throws {WriteError} code 'EISDIR', 'ERR_SSD_EDGE_INPUT' or 'EEXIST'; the message names `target`.
 * @example
 * await checkWriteTarget('model.onnx', { protect: await fileIds([source]), protectedAs: 'the source model' });
 */
export async function checkWriteTarget(target: string, options: WriteFileOptions = {}): Promise<void> {
  assertKnownKeys('options', options, WRITE_OPTION_KEYS);
  let stat: fs.Stats | null = null;
  try {
    stat = await fs.promises.stat(target);
  } catch {
    stat = null; // missing (or unreadable: the write itself will say why)
  }
  if (!stat) return;
  if (stat.isDirectory()) throw new WriteError(`Not writing ${target}: it is a directory`, 'EISDIR');
  if (options.protect?.has(`${stat.dev}:${stat.ino}`)) {
    throw new WriteError(
      `Not writing ${target}: it is ${options.protectedAs ?? 'one of the inputs'}`,
      'ERR_SSD_EDGE_INPUT',
    );
  }
  if (!options.overwrite) throw existsError(target, options);
}

/**
 * Writes `bytes` to `target` completely or not at all: into a temporary file beside it (same folder, so the rename
 * stays on one file system; a random name opened exclusively, `wx`), flushed to disk (fsync), then put in place.
 * Without `overwrite` the final step is a hard link, which fails atomically when the target exists (file systems
 * without hard links, e.g. FAT, fall back to check + rename); with it, a rename.
 *
 * @throws {WriteError} code 'EISDIR' (target is a directory), 'EEXIST' (target exists, no overwrite),
 *   'ERR_SSD_EDGE_INPUT' (target is one of `protect`), or the fs code of the failed write (ENOSPC, EFBIG, EACCES…);
 *   the message names `target`. No temporary file is left behind.
 * @throws {TypeError} An unknown option key.
 * @example
 * await writeFileAtomic('out/photo.jpg', jpegBytes, { protect: await fileIds(inputs) });
 */
export async function writeFileAtomic(
  target: string,
  bytes: Uint8Array,
  options: WriteFileOptions = {},
): Promise<void> {
  await checkWriteTarget(target, options);
  const tmp = path.join(
    path.dirname(target),
    `.${path.basename(target)}.${process.pid}.${crypto.randomBytes(6).toString('hex')}.tmp`,
  );
  try {
    if (options.mkdir) await fs.promises.mkdir(path.dirname(target), { recursive: true });
    const fh = await fs.promises.open(tmp, 'wx');
    try {
      await fh.writeFile(bytes);
      await fh.sync();
    } finally {
      await fh.close();
    }
    if (options.overwrite) {
      await fs.promises.rename(tmp, target);
    } else {
      try {
        await fs.promises.link(tmp, target);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EEXIST') throw existsError(target, options);
        if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'EMLINK') throw err;
        if (await fileId(target).catch(() => null)) throw existsError(target, options);
        await fs.promises.rename(tmp, target);
      }
    }
  } catch (err) {
    await fs.promises.rm(tmp, { force: true }).catch(() => {});
    if (err instanceof WriteError) throw err;
    const e = err as NodeJS.ErrnoException;
    const code = e.code ?? 'ERR_SSD_EDGE_WRITE';
    throw new WriteError(`Cannot write ${target}: ${WHY[code] ?? e.message}${WHY[code] ? ` (${code})` : ''}`, code, {
      cause: err,
    });
  }
  // the hard link left the temporary name behind
  await fs.promises.rm(tmp, { force: true });
}

function existsError(target: string, options: WriteFileOptions): WriteError {
  return new WriteError(
    `Not writing ${target}: the file exists (${options.existsHint ?? 'overwrite: true replaces it'})`,
    'EEXIST',
  );
}
