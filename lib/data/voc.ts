/**
 * Pascal VOC folders: `Annotations/<id>.xml`, `JPEGImages/<image>`, `ImageSets/Main/<split>.txt`.
 *
 * Coordinates: VOC's `bndbox` holds 1-based pixel indices, both ends inclusive (a box over the whole W×H image is
 * xmin 1, ymin 1, xmax W, ymax H). They become continuous coordinates as `[xmin − 1, ymin − 1, xmax, ymax]`, so
 * that whole-image box is [0, 0, W, H] and its width is xmax − xmin + 1, as the devkit counts it.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { DataProblem, ParsedDataset, RawObject, RawRecord } from './types.ts';
import { displayPath, parseNumberText, problem } from './util.ts';
import { child, childText, parseXml, XmlError } from './xml.ts';

/** The splits to try, in order, when none is given. */
export const VOC_DEFAULT_SPLITS = ['test', 'val', 'trainval'] as const;

/** The split files present in `ImageSets/Main/` (names without `.txt`, class-specific `cat_train` ones excluded). */
export function vocSplits(root: string): string[] {
  const dir = path.join(root, 'ImageSets', 'Main');
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .filter((n) => n.endsWith('.txt'))
    .map((n) => n.slice(0, -4))
    .filter((n) => !/_(train|val|trainval|test)$/.test(n))
    .sort();
}

/**
 * Which split file is read: `split` when given (an Error naming the splits present when it is missing), else the
 * first of test, val, trainval present; null means every XML in Annotations/.
 */
export function resolveVocSplit(root: string, split?: string): string | null {
  const present = vocSplits(root);
  if (split !== undefined) {
    if (!fs.existsSync(path.join(root, 'ImageSets', 'Main', `${split}.txt`))) {
      throw new Error(
        `No split '${split}' in ${displayPath(root)}: ImageSets/Main/${split}.txt does not exist (splits: ${present.length > 0 ? present.join(', ') : 'none; without --split every XML in Annotations/ is read'})`,
      );
    }
    return split;
  }
  return VOC_DEFAULT_SPLITS.find((s) => present.includes(s)) ?? null;
}

/**
 * Reads a VOC folder's annotations (not the images).
 *
 * @param root The folder holding Annotations/ (and JPEGImages/, ImageSets/).
 * @param split See {@link resolveVocSplit}.
 * @throws {Error} Annotations/ cannot be listed, or the named split does not exist.
 */
export function readVoc(root: string, split?: string): ParsedDataset {
  const annotations = path.join(root, 'Annotations');
  if (!fs.statSync(root).isDirectory())
    throw new Error(`Cannot read ${displayPath(root)} as Pascal VOC: it is a file, not a folder with Annotations/`);
  if (!fs.existsSync(annotations))
    throw new Error(`Cannot read ${displayPath(root)} as Pascal VOC: it has no Annotations/ folder`);
  const images = path.join(root, 'JPEGImages');
  const chosen = resolveVocSplit(root, split);
  const problems: DataProblem[] = [];
  const badRecords = new Set<number>();
  const records: RawRecord[] = [];
  let ids: { id: string; line?: number }[];
  const splitFile = chosen === null ? null : path.join(root, 'ImageSets', 'Main', `${chosen}.txt`);
  if (splitFile) {
    // one id per line; class-specific files add a second column (1 / -1 / 0), ignored here
    ids = [];
    fs.readFileSync(splitFile, 'utf8')
      .split(/\r?\n/)
      .forEach((text, k) => {
        const id = text.trim().split(/\s+/)[0];
        if (id) ids.push({ id, line: k + 1 });
      });
  } else {
    let names: string[];
    try {
      names = fs.readdirSync(annotations);
    } catch (err) {
      throw new Error(`Cannot list ${displayPath(annotations)}: ${(err as Error).message}`);
    }
    ids = names
      .filter((n) => n.toLowerCase().endsWith('.xml'))
      .map((n) => ({ id: n.slice(0, -4) }))
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  for (const { id, line } of ids) {
    const file = path.join(annotations, `${id}.xml`);
    const record: RawRecord = { id, image: path.join(images, `${id}.jpg`), file, objects: [] };
    if (splitFile && line !== undefined) record.listedAt = `${displayPath(splitFile)}:${line}`;
    const index = records.push(record) - 1;
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const why = code === 'ENOENT' ? 'no such file' : (err as Error).message;
      const where = splitFile ? { file: splitFile, line, id } : { file, id };
      problems.push(problem('missing-annotation', where, `annotation ${displayPath(file)} of image ${id}: ${why}`));
      badRecords.add(index);
      continue;
    }
    const parsed = parseAnnotation(text, file, id, images);
    record.image = parsed.image;
    record.width = parsed.width;
    record.height = parsed.height;
    record.objects = parsed.objects;
    problems.push(...parsed.problems);
    if (parsed.bad) badRecords.add(index);
  }
  return { format: 'voc', root, records, problems, badRecords, fatal: false, files: splitFile ? [splitFile] : [] };
}

interface ParsedAnnotation {
  image: string;
  width?: number;
  height?: number;
  objects: RawObject[];
  problems: DataProblem[];
  /** The whole file is unusable (not XML, not an <annotation>). */
  bad: boolean;
}

/** One VOC XML: image file, size, objects (coordinates converted to continuous). */
export function parseAnnotation(text: string, file: string, id: string, imagesDir: string): ParsedAnnotation {
  const out: ParsedAnnotation = { image: path.join(imagesDir, `${id}.jpg`), objects: [], problems: [], bad: false };
  let root: ReturnType<typeof parseXml>;
  try {
    root = parseXml(text);
  } catch (err) {
    const line = err instanceof XmlError ? err.line : undefined;
    const why = err instanceof XmlError ? err.reason : (err as Error).message;
    out.problems.push(problem('parse-error', { file, line, id }, `not valid XML (${why})`));
    out.bad = true;
    return out;
  }
  if (root.name !== 'annotation') {
    out.problems.push(problem('parse-error', { file, id }, `the root element is <${root.name}>, not <annotation>`));
    out.bad = true;
    return out;
  }
  const filename = childText(root, 'filename');
  if (filename) {
    // the stated file when it exists; a misnamed <filename> falls back to <id>.jpg when that exists
    const stated = path.join(imagesDir, filename);
    out.image = fs.existsSync(stated) || !fs.existsSync(out.image) ? stated : out.image;
  }
  const size = child(root, 'size');
  const wText = childText(size, 'width');
  const hText = childText(size, 'height');
  const w = parseNumberText(wText);
  const h = parseNumberText(hText);
  // a stated size that is no size at all (negative, NaN, not a number): the annotation cannot be trusted
  const badSize = (['width', 'height'] as const).flatMap((k, i) => {
    const [text, v] = i === 0 ? [wText, w] : [hText, h];
    return text !== undefined && text !== '' && !(v !== undefined && Number.isFinite(v) && v >= 0)
      ? [`<${k}> is ${JSON.stringify(text)}, not a size ≥ 0`]
      : [];
  });
  if (badSize.length > 0) {
    out.problems.push(problem('parse-error', { file, id }, `<size>: ${badSize.join(', ')}`));
    out.bad = true;
  }
  // a missing or zero <size> (common in converted sets) means "not stated": the image header gives it
  if (w !== undefined && h !== undefined && w > 0 && h > 0 && Number.isFinite(w) && Number.isFinite(h)) {
    out.width = w;
    out.height = h;
  }
  root.children
    .filter((c) => c.name === 'object')
    .forEach((obj, index) => {
      const label = childText(obj, 'name') ?? '';
      const where = { file, id, object: index, label };
      if (label === '') {
        out.problems.push(problem('parse-error', where, 'no <name>'));
        return;
      }
      const bndbox = child(obj, 'bndbox');
      if (!bndbox) {
        out.problems.push(problem('parse-error', where, 'no <bndbox>'));
        return;
      }
      const keys = ['xmin', 'ymin', 'xmax', 'ymax'] as const;
      const texts = keys.map((k) => childText(bndbox, k));
      const values = texts.map(parseNumberText);
      const bad = keys.filter((_, k) => values[k] === undefined);
      if (bad.length > 0) {
        const what = bad.map((k) => {
          const t = texts[keys.indexOf(k)];
          return t === undefined ? `no <${k}>` : `<${k}> is ${JSON.stringify(t)}, not a number`;
        });
        out.problems.push(problem('parse-error', where, what.join(', ')));
        return;
      }
      // a flag that is neither 0 nor 1 would silently count a difficult object (or the reverse) in the AP
      const badFlags = (['difficult', 'truncated'] as const).flatMap((k) => {
        const t = childText(obj, k);
        return t === undefined || t === '' || /^(0|1|true|false)$/i.test(t)
          ? []
          : [`<${k}> is ${JSON.stringify(t)}, expected 0 or 1`];
      });
      if (badFlags.length > 0) {
        out.problems.push(problem('parse-error', where, badFlags.join(', ')));
        return;
      }
      const [xmin, ymin, xmax, ymax] = values as number[];
      out.objects.push({
        index,
        label,
        box: [xmin - 1, ymin - 1, xmax, ymax],
        difficult: flag(childText(obj, 'difficult')),
        truncated: flag(childText(obj, 'truncated')),
      });
    });
  return out;
}

/** VOC flags are '0' / '1' (some tools write 'true'). */
const flag = (text: string | undefined): boolean => text === '1' || text?.toLowerCase() === 'true';
