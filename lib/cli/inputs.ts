/**
 * Command-line image arguments → a list of files: files as given, directories listed (image extensions only),
 * glob patterns (`*`, `?`, `**`, `[…]`, `{a,b}`) matched when the shell did not expand them.
 */
import fs from 'node:fs';
import path from 'node:path';
import { UsageError } from './handle-error.ts';

/** Extensions taken from directories and `**` globs (files named explicitly may have any extension). */
export const IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.webp', '.gif', '.bmp'];

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
        const body = pattern.slice(i + 1, end).replace(/^!/, '^').replace(/\\/g, '\\\\');
        re += `[${body}]`;
        i = end;
      }
    } else if (c === '{') {
      const end = pattern.indexOf('}', i + 1);
      if (end < 0) re += '\\{';
      else {
        re += `(?:${pattern.slice(i + 1, end).split(',').map(globBody).join('|')})`;
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

/**
 * Expands image arguments in order, without duplicates.
 *
 * @param args Files, directories (their image files, sorted; subfolders with `recursive`) or globs.
 * @returns File paths as typed (relative stays relative).
 * @throws {UsageError} No arguments.
 * @throws {Error} A path that does not exist (code ENOENT), a glob that matches nothing, a directory without images.
 */
export async function expandInputs(args: readonly string[], { recursive = false } = {}): Promise<string[]> {
  if (args.length === 0) throw new UsageError('no images given');
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
      const images = all.filter(isImageName);
      if (images.length === 0) throw Object.assign(new Error(`No images (${IMAGE_EXTENSIONS.join(' ')}) in directory ${arg}`), { code: 'ENOENT' });
      files.push(...images);
    } else if (hasGlob(arg)) {
      const matches = await matchGlob(arg);
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
  const norm = pattern.split(path.sep).join('/').replace(/^(\.\/)+/, '');
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
