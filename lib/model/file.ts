/**
 * Model files on disk: opening and reading them with errors that name the path and say what is wrong in one line
 * ("Cannot read model /tmp: is a directory, expected an .onnx file"), keeping the system code (ENOENT, EISDIR…).
 */
import fs from 'node:fs';

/** A model file that cannot be opened or read; `code` is the system error code (ENOENT, EISDIR, EACCES…), `path` the file. */
export class ModelFileError extends Error {
  readonly code: string;
  readonly path: string;
  constructor(message: string, code: string, file: string, cause?: unknown) {
    super(message, { cause });
    this.name = 'ModelFileError';
    this.code = code;
    this.path = file;
  }
}

const WHY: Record<string, string> = {
  ENOENT: 'no such file',
  EISDIR: 'is a directory, expected an .onnx file',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  ENOTDIR: 'a parent of it is not a directory',
  ELOOP: 'too many symbolic links',
  ENAMETOOLONG: 'the path is too long',
};

/** One-line error naming the model file and what is wrong with it, keeping the system code (ENOENT…). */
export function modelFileError(file: string, err: NodeJS.ErrnoException): ModelFileError {
  const code = err.code ?? 'EIO';
  const why = WHY[code] ?? `cannot be read (${code}: ${err.message.replace(/^[A-Z]+: /, '').split(',')[0]})`;
  return new ModelFileError(`Cannot read model ${file}: ${why}`, code, file, err);
}

/**
 * Opens a model file for reading, checking it is a regular file: errors name the path and say what is wrong
 * ("Cannot read model /tmp: is a directory, expected an .onnx file").
 */
export async function openModelFile(file: string): Promise<fs.promises.FileHandle> {
  if (typeof file !== 'string' || file.length === 0)
    throw new TypeError(`Expected path of an .onnx file for model but received ${JSON.stringify(file)}`);
  let handle: fs.promises.FileHandle;
  try {
    handle = await fs.promises.open(file, 'r');
  } catch (err) {
    throw modelFileError(file, err as NodeJS.ErrnoException);
  }
  try {
    const st = await handle.stat();
    if (st.isDirectory()) throw Object.assign(new Error('EISDIR'), { code: 'EISDIR' });
    if (!st.isFile())
      throw new ModelFileError(`Cannot read model ${file}: not a regular file, expected an .onnx file`, 'EINVAL', file);
  } catch (err) {
    await handle.close();
    throw err instanceof ModelFileError ? err : modelFileError(file, err as NodeJS.ErrnoException);
  }
  return handle;
}

/**
 * The whole file, for the importers and builders that need the weights (loading a model for inference reads only
 * its header: see readOnnxHeaderFile).
 *
 * @throws {ModelFileError} Missing, a directory, unreadable (the message names the path).
 */
export function readModelBytes(file: string): Buffer {
  if (typeof file !== 'string' || file.length === 0)
    throw new TypeError(`Expected path of an .onnx file for model but received ${JSON.stringify(file)}`);
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
    if (st.isDirectory()) throw Object.assign(new Error('EISDIR'), { code: 'EISDIR' });
    return fs.readFileSync(file);
  } catch (err) {
    throw modelFileError(file, err as NodeJS.ErrnoException);
  }
}
