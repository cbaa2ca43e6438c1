/**
 * Command-line image arguments → a list of files: files as given, directories listed (image extensions only),
 * glob patterns (`*`, `?`, `**`, `[…]`, `{a,b}`) matched when the shell did not expand them. Listing a folder that is
 * also `detect --out` skips the annotated copies an earlier run wrote there, so a rerun never detects on them.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileId } from '../files.ts';
import { UsageError } from './handle-error.ts';

/** Extensions taken from directories and `**` globs (files named explicitly may have any extension). */
export const IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.webp', '.gif', '.bmp'];

/**
 * Names `detect --out` gives annotated copies beside their inputs (see outputPath in commands/detect.ts):
 * `<stem>.annotated.jpg|png`, with `-1`, `-2`… when two inputs of the same name meet.
 */
export const ANNOTATED_NAME = /\.annotated(?:-\d+)?\.(?:jpg|png)$/i;

const isImageName = (name: string) => IMAGE_EXTENSIONS.includes(path.extname(name).toLowerCase());
const hasGlob = (p: string) => /[*?[{]/.test(p);

/** Regular expression for one glob pattern (path separators '/'). */
export function globToRegExp(pattern: string): RegExp {
  return new RegExp(`^${globBody(pattern)}$`);
}

/** The regular-expression source of a glob (no anchors); `{a,b}` alternatives are globs themselves. */
function globBody(pattern: string): string {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '*') {
      if (pattern[i + 1] === '*') {
        // '**/' = any number of directories (zero included); a trailing '**' = anything
        const slash = pattern[i + 2] === '/';
        re += slash ? '(?:[^/]*/)*' : '.*';
        i += slash ? 2 : 1;
      } else re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 1);
      if (end < 0) re += '\\[';
      else {
        const body = pattern
          .slice(i + 1, end)
          .replace(/^!/, '^')
          .replace(/\\/g, '\\\\');
        re += `[${body}]`;
        i = end;
      }
    } else if (c === '{') {
      const end = pattern.indexOf('}', i + 1);
      if (end < 0) re += '\\{';
      else {
        re += `(?:${pattern
          .slice(i + 1, end)
          .split(',')
          .map(globBody)
          .join('|')})`;
        i = end;
      }
    } else re += c.replace(/[.+^$()|\\\]}]/g, '\\$&');
  }
  return re;
}

async function walk(dir: string, recursive: boolean, out: string[]): Promise<void> {
  const entries = await fs.promises.readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      if (recursive && !e.name.startsWith('.')) await walk(p, recursive, out);
    } else if (e.isFile() || e.isSymbolicLink()) out.push(p);
  }
}

export interface ExpandInputsOptions {
  /** Take subfolders of directory arguments too (default false). */
  recursive?: boolean;
  /**
   * The `--out` folder of the run: files that directories and globs list inside it under an annotated-copy name
   * ({@link ANNOTATED_NAME}) are our own earlier outputs and are skipped. Files named explicitly are always kept.
   */
  skipOutputsOf?: string;
}

/**
 * Expands image arguments in order, without duplicates.
 *
 * @param args Files, directories (their image files, sorted; subfolders with `recursive`) or globs.
 * @returns File paths as typed (relative stays relative).
 * @throws {UsageError} No arguments.
 * @throws {Error} A path that does not exist (code ENOENT), a glob that matches nothing, a directory without images
 *   (annotated copies skipped by `skipOutputsOf` do not count).
 */
export async function expandInputs(
  args: readonly string[],
  { recursive = false, skipOutputsOf }: ExpandInputsOptions = {},
): Promise<string[]> {
  if (args.length === 0) throw new UsageError('no images given');
  const outDir = skipOutputsOf ? await fileId(skipOutputsOf).catch(() => null) : null;
  /** Drops our annotated copies inside --out (identity of the folder, whatever path reaches it). */
  const notOutputs = async (list: string[]): Promise<string[]> => {
    if (!outDir) return list;
    const keep: string[] = [];
    for (const f of list) {
      if (!ANNOTATED_NAME.test(path.basename(f)) || (await fileId(path.dirname(f)).catch(() => null)) !== outDir)
        keep.push(f);
    }
    return keep;
  };
  const files: string[] = [];
  for (const arg of args) {
    let stat: fs.Stats | null = null;
    try {
      stat = await fs.promises.stat(arg);
    } catch {
      stat = null;
    }
    if (stat?.isFile()) {
      files.push(arg);
    } else if (stat?.isDirectory()) {
      const all: string[] = [];
      await walk(arg, recursive, all);
      const images = await notOutputs(all.filter(isImageName));
      if (images.length === 0)
        throw Object.assign(new Error(`No images (${IMAGE_EXTENSIONS.join(' ')}) in directory ${arg}`), {
          code: 'ENOENT',
        });
      files.push(...images);
    } else if (hasGlob(arg)) {
      const matches = await notOutputs(await matchGlob(arg));
      if (matches.length === 0) throw Object.assign(new Error(`No files match ${arg}`), { code: 'ENOENT' });
      files.push(...matches);
    } else {
      throw Object.assign(new Error(`Cannot read image ${arg}: no such file`), { code: 'ENOENT' });
    }
  }
  return [...new Set(files)];
}

/** Files matching a glob, sorted; the walk starts at the longest directory prefix without glob characters. */
async function matchGlob(pattern: string): Promise<string[]> {
  const norm = pattern
    .split(path.sep)
    .join('/')
    .replace(/^(\.\/)+/, '');
  const parts = norm.split('/');
  const firstGlob = parts.findIndex(hasGlob);
  const base = parts.slice(0, firstGlob).join('/') || (norm.startsWith('/') ? '/' : '.');
  const re = globToRegExp(norm);
  const all: string[] = [];
  try {
    await walk(base, norm.includes('**') || parts.length - firstGlob > 1, all);
  } catch {
    return [];
  }
  return all
    .map((p) => p.split(path.sep).join('/')) // path.join drops a leading './', as the pattern now has
    .filter((p) => re.test(p));
}
