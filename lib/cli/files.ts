/**
 * Writing output files without losing anything: never over a file the user gave us as input, never over an
 * existing file unless asked, and never a partial file (bytes go to a temporary name in the same folder, which is
 * renamed into place once complete and removed when the write fails).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

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
  /** Replace an existing file (default false: an existing file is an error). Inputs are never replaced. */
  overwrite?: boolean;
  /** Identities of files that must never be replaced (the command's inputs). */
  protect?: ReadonlySet<FileId>;
}

/**
 * Writes `bytes` to `target` completely or not at all: into a temporary file beside it (same folder, so the rename
 * stays on one file system), then renamed into place. Without `overwrite` the final step is a hard link, which fails
 * atomically when the target exists (file systems without hard links, e.g. FAT, fall back to check + rename).
 *
 * @throws {WriteError} code 'EEXIST' (target exists, no overwrite), 'ERR_SSD_EDGE_INPUT' (target is one of
 *   `protect`), or the fs code of the failed write (ENOSPC, EFBIG, EACCES…); the message names `target`. No
 *   temporary file is left behind.
 * @example
 * await writeFileAtomic('out/photo.jpg', jpegBytes, { protect: await fileIds(inputs) });
 */
export async function writeFileAtomic(target: string, bytes: Uint8Array, options: WriteFileOptions = {}): Promise<void> {
  const existing = await fileId(target).catch(() => null);
  if (existing && options.protect?.has(existing)) {
    throw new WriteError(`Not writing ${target}: it is one of the input images`, 'ERR_SSD_EDGE_INPUT');
  }
  if (existing && !options.overwrite) throw existsError(target);
  const tmp = path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`);
  try {
    await fs.promises.writeFile(tmp, bytes, { flag: 'wx' });
    if (options.overwrite) {
      await fs.promises.rename(tmp, target);
    } else {
      try {
        await fs.promises.link(tmp, target);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EEXIST') throw existsError(target);
        if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'EMLINK') throw err;
        if (await fileId(target)) throw existsError(target);
        await fs.promises.rename(tmp, target);
      }
    }
  } catch (err) {
    await fs.promises.rm(tmp, { force: true }).catch(() => {});
    if (err instanceof WriteError) throw err;
    const e = err as NodeJS.ErrnoException;
    const code = e.code ?? 'ERR_SSD_EDGE_WRITE';
    throw new WriteError(`Cannot write ${target}: ${WHY[code] ?? e.message}${WHY[code] ? ` (${code})` : ''}`, code, { cause: err });
  }
  // the hard link left the temporary name behind
  await fs.promises.rm(tmp, { force: true });
}

function existsError(target: string): WriteError {
  return new WriteError(`Not writing ${target}: the file exists (--overwrite replaces it)`, 'EEXIST');
}
