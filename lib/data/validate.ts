/**
 * Validation: every problem of a parsed dataset at once, each with its file and object, and the samples that the
 * box policy lets through. The checks, per image: the id is not a duplicate; the image exists, has a known format and
 * (when the annotation states one) the annotated size; optionally it decodes completely. Per object: the label is
 * known, the coordinates are finite, x1 < x2 and y1 < y2, the box lies inside the image. Boxes are checked as the
 * float32 values a sample holds, so a box that passes has positive area in float32 too.
 */
import { decodeProblem, mapLimit, readImageHeader } from './images.ts';
import {
  type BoxPolicy,
  type DataProblem,
  type ParsedDataset,
  type RawRecord,
  type Sample,
  VOC_CLASSES,
} from './types.ts';
import { displayPath, problem } from './util.ts';

/** How far a problem reaches: one object, one image, or the whole dataset. */
export type ProblemScope = 'object' | 'sample' | 'dataset';

/** A problem and what the policies do with it. */
export interface Finding {
  problem: DataProblem;
  scope: ProblemScope;
}

/** A finding and the record it belongs to (for ordering). */
interface Located extends Finding {
  record: number;
}

export interface ValidateOptions {
  classes?: string[];
  policy: BoxPolicy;
  /** Read image headers to verify existence and size (sizes not annotated are read whatever this says). */
  checkImages: boolean;
  /** Decode every image completely. */
  decodeImages: boolean;
}

export interface Validated {
  classes: string[];
  /** The samples the policy lets through (with 'error': all of them, meaningful only when there is no finding). */
  samples: Sample[];
  findings: Finding[];
  /** Whether the policy cannot go on with these findings (dataset-level ones always; sample-level ones unless 'drop'). */
  blocked: boolean;
}

/** Images whose headers are read at once. */
const HEADER_CONCURRENCY = 16;
/** Images decoded at once. */
const DECODE_CONCURRENCY = 4;

/** The default label order for a format (see `OpenDatasetOptions.classes`). */
export function defaultClasses(parsed: ParsedDataset, found: ReadonlySet<string>): string[] {
  if (parsed.classes) return parsed.classes;
  if (parsed.format === 'voc' && found.size > 0 && [...found].every((l) => VOC_CLASSES.includes(l)))
    return [...VOC_CLASSES];
  return [...found].sort();
}

/**
 * Validates a parsed dataset and applies the box policy.
 *
 * - 'error': nothing is repaired; any finding blocks.
 * - 'clip': a box outside the image is clipped to it; boxes that cannot be repaired (non-finite, empty, entirely
 *   outside, unknown label, unparsable) are dropped; image-level findings block.
 * - 'drop': every bad box is dropped, and every image with an image-level finding (missing, undecodable, size
 *   mismatch, duplicate id, unparsable annotation).
 * Dataset-level findings (no images, an unreadable annotation file) block whatever the policy.
 */
export async function validateDataset(parsed: ParsedDataset, options: ValidateOptions): Promise<Validated> {
  const { policy } = options;
  const findings: Located[] = [];
  const badRecords = new Set(parsed.badRecords);
  const { records } = parsed;
  const recordOf = new Map<string, number>();
  records.forEach((r, i) => {
    if (!recordOf.has(r.id)) recordOf.set(r.id, i);
  });
  for (const p of parsed.problems) {
    // an object's own parse problem is object-level; one that spoils the image's record is sample-level
    const scope: ProblemScope = parsed.fatal
      ? 'dataset'
      : (parsed.scopes?.get(p) ?? (p.object !== undefined ? 'object' : 'sample'));
    const record = parsed.recordOf?.get(p) ?? (p.id !== undefined ? recordOf.get(p.id) : undefined) ?? -1;
    findings.push({ problem: p, scope, record });
  }
  if (!parsed.fatal && records.length === 0) {
    findings.push({
      problem: problem('no-images', { file: parsed.root }, 'the dataset lists no images'),
      scope: 'dataset',
      record: -1,
    });
  }

  // duplicate ids: the first keeps the id, later ones are findings
  const seen = new Map<string, RawRecord>();
  const duplicates = new Set<number>();
  records.forEach((r, i) => {
    const first = seen.get(r.id);
    if (first) {
      const at = (x: RawRecord) => x.listedAt ?? `${displayPath(x.file)}${x.line !== undefined ? `:${x.line}` : ''}`;
      const here = r.listedAt !== undefined ? ` (${r.listedAt})` : '';
      findings.push({
        problem: problem(
          'duplicate-id',
          { file: r.file, line: r.line, id: r.id },
          `image id ${JSON.stringify(r.id)}${here} repeats the one at ${at(first)}`,
        ),
        scope: 'sample',
        record: i,
      });
      badRecords.add(i);
      duplicates.add(i);
    } else seen.set(r.id, r);
  });
  // one image file under two ids (JSONL 'a.jpg' and './a.jpg', two VOC XMLs with one <filename>, two COCO entries with
  // one file_name): its objects would be counted twice
  const byImage = new Map<string, RawRecord>();
  records.forEach((r, i) => {
    if (badRecords.has(i)) return;
    const first = byImage.get(r.image);
    if (!first) {
      byImage.set(r.image, r);
      return;
    }
    const at = (x: RawRecord) => x.listedAt ?? `${displayPath(x.file)}${x.line !== undefined ? `:${x.line}` : ''}`;
    findings.push({
      problem: problem(
        'duplicate-image',
        { file: r.file, line: r.line, id: r.id },
        `image ${displayPath(r.image)} (id ${JSON.stringify(r.id)}) is already listed as id ${JSON.stringify(first.id)} at ${at(first)}`,
      ),
      scope: 'sample',
      record: i,
    });
    badRecords.add(i);
    duplicates.add(i);
  });

  // label map
  const found = new Set<string>();
  records.forEach((r, i) => {
    if (!badRecords.has(i)) for (const o of r.objects) found.add(o.label);
  });
  const classes = options.classes ? [...options.classes] : defaultClasses(parsed, found);
  const classIndex = new Map(classes.map((c, k) => [c, k]));

  // images: headers (sizes), optionally full decodes
  const sizes = await mapLimit(records, HEADER_CONCURRENCY, async (r, i) => {
    if (badRecords.has(i)) return null;
    const stated = r.width !== undefined && r.height !== undefined;
    if (!options.checkImages && !options.decodeImages && stated) return { width: r.width!, height: r.height! };
    const h = await readImageHeader(r.image);
    const where = { file: r.file, line: r.line, id: r.id };
    if (!h.ok) {
      findings.push({
        problem:
          h.code === 'missing-image'
            ? problem(h.code, where, `image ${displayPath(r.image)}: ${h.why}`)
            : imageProblem(r, `cannot be decoded: ${h.why}`),
        scope: 'sample',
        record: i,
      });
      badRecords.add(i);
      return null;
    }
    if (stated && (h.width !== r.width || h.height !== r.height)) {
      findings.push({
        problem: problem(
          'size-mismatch',
          where,
          `annotated size ${r.width}×${r.height} but image ${displayPath(r.image)} is ${h.width}×${h.height}`,
        ),
        scope: 'sample',
        record: i,
      });
      badRecords.add(i);
      return null;
    }
    return { width: h.width, height: h.height };
  });
  if (options.decodeImages) {
    await mapLimit(records, DECODE_CONCURRENCY, async (r, i) => {
      if (badRecords.has(i)) return;
      const why = await decodeProblem(r.image);
      if (why) {
        findings.push({
          problem: imageProblem(r, `cannot be decoded: ${why}`),
          scope: 'sample',
          record: i,
        });
        badRecords.add(i);
      }
    });
  }

  // boxes
  const samples: Sample[] = [];
  records.forEach((r, i) => {
    const size = sizes[i];
    if (duplicates.has(i)) return; // reported as a duplicate (a VOC id listed twice would repeat its XML's problems)
    // An image left out (missing, undecodable, mis-sized, unparsable): its boxes are still checked, so that every
    // problem shows at once; without a verified size, not against the image, and labels only against a given class
    // list (the label map is made from the images that are kept).
    const usable = !badRecords.has(i) && !!size;
    const W = size ? size.width : 0;
    const H = size ? size.height : 0;
    const boxes: number[] = [];
    const labels: number[] = [];
    const difficult: number[] = [];
    const truncated: number[] = [];
    const iscrowd: number[] = [];
    const area: number[] = [];
    let hasDifficult = parsed.format === 'voc';
    let hasCrowd = parsed.format === 'coco';
    for (const o of r.objects) {
      const where = { file: r.file, line: r.line, id: r.id, object: o.index, label: o.label, note: o.note };
      const report = (code: Parameters<typeof problem>[0], what: string) =>
        findings.push({
          problem: problem(code, where, what, parsed.format === 'coco'),
          scope: 'object',
          record: i,
        });
      let keep = true;
      const label = classIndex.get(o.label);
      if (label === undefined && (usable || options.classes)) {
        report('unknown-label', `unknown label ${JSON.stringify(o.label)} (classes: ${listClasses(classes)})`);
        keep = false;
      }
      // checked as float32, the type a sample holds
      let [x1, y1, x2, y2] = o.box.map(Math.fround);
      const shown = `[${o.box.join(', ')}]`;
      if (![x1, y1, x2, y2].every(Number.isFinite)) {
        const why = o.box.every(Number.isFinite) ? 'coordinates beyond the float32 range' : 'non-finite coordinates';
        report('non-finite', `box ${shown} has ${why}`);
        continue;
      }
      if (!(x1 < x2) || !(y1 < y2)) {
        const [a, b, name] = !(x1 < x2) ? [0, 2, 'x'] : [1, 3, 'y'];
        const why =
          o.box[a] < o.box[b]
            ? `${name}1 = ${o.box[a]} and ${name}2 = ${o.box[b]} are equal in float32`
            : `${name}1 = ${o.box[a]} ≥ ${name}2 = ${o.box[b]}`;
        report('empty-box', `box ${shown} is empty (${why})`);
        continue;
      }
      if (size && (x1 < 0 || y1 < 0 || x2 > W || y2 > H)) {
        const c = [Math.max(0, x1), Math.max(0, y1), Math.min(W, x2), Math.min(H, y2)].map(Math.fround);
        const inside = c[0] < c[2] && c[1] < c[3];
        report(
          'box-outside',
          `box ${shown} is outside the ${W}×${H} image${inside ? ` (clipped: [${c.join(', ')}])` : ' entirely'}`,
        );
        if (policy !== 'clip' || !inside) continue;
        [x1, y1, x2, y2] = c;
      }
      if (!keep || !usable) continue;
      boxes.push(x1, y1, x2, y2);
      labels.push(label!);
      difficult.push(o.difficult ? 1 : 0);
      truncated.push(o.truncated ? 1 : 0);
      iscrowd.push(o.iscrowd ? 1 : 0);
      area.push(o.area ?? (x2 - x1) * (y2 - y1));
      hasDifficult ||= o.difficult !== undefined;
      hasCrowd ||= o.iscrowd !== undefined;
    }
    if (!usable) return;
    const sample: Sample = {
      id: r.id,
      image: r.image,
      width: W,
      height: H,
      boxes: Float32Array.from(boxes),
      labels: Int32Array.from(labels),
    };
    if (hasDifficult) sample.difficult = Uint8Array.from(difficult);
    if (parsed.format === 'voc') sample.truncated = Uint8Array.from(truncated);
    if (hasCrowd) sample.iscrowd = Uint8Array.from(iscrowd);
    if (parsed.format === 'coco') sample.area = Float64Array.from(area);
    samples.push(sample);
  });

  const blocked = findings.some(
    (f) => f.scope === 'dataset' || policy === 'error' || (f.scope === 'sample' && policy === 'clip'),
  );
  return { classes, samples, findings: sortFindings(findings), blocked };
}

/**
 * An 'undecodable-image' problem: in the image file, named by its id, with where it is annotated (`line` is kept as
 * the annotation's line, shown after the annotation file rather than the image).
 */
function imageProblem(r: RawRecord, what: string): DataProblem {
  const at = `${displayPath(r.file)}${r.line !== undefined ? `:${r.line}` : ''}`;
  const p = problem('undecodable-image', { file: r.image, id: r.id }, `${what} (annotated in ${at})`, true);
  if (r.line !== undefined) p.line = r.line;
  return p;
}

/** At most 10 class names, for messages. */
function listClasses(classes: readonly string[]): string {
  return classes.length === 0
    ? 'none'
    : classes.length > 10
      ? `${classes.slice(0, 10).join(', ')}, …`
      : classes.join(', ');
}

/** Findings in dataset order: dataset-level first, then by image (as listed), object, then as found. */
function sortFindings(findings: Located[]): Finding[] {
  return findings
    .map((f, k) => ({ f, k }))
    .sort((a, b) => {
      const r = a.f.record - b.f.record;
      if (r !== 0) return r;
      const o = (a.f.problem.object ?? -1) - (b.f.problem.object ?? -1);
      return o !== 0 ? o : a.k - b.k;
    })
    .map(({ f: { problem, scope } }) => ({ problem, scope }));
}
