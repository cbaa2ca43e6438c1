/**
 * readGroundTruthFile / readDetectionsFile on every format: our JSON and JSON Lines, COCO instances JSON, COCO results,
 * `detect --json` / `--jsonl` output; what they return, that the metrics on them equal the oracle, and their errors
 * (missing file, not JSON, a bad line, invalid values named by file and path).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { evaluateCoco, evaluateVoc, readDetectionsFile, readGroundTruthFile } from '../../../lib/index.ts';
import { fixturesDir, num, readJson } from '../../helpers/fixtures.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssd-edge-eval-files-'));
test.after.always(() => fs.rmSync(dir, { recursive: true, force: true }));
const fixture = (name: string) => path.join(fixturesDir, 'eval', name);
const write = (name: string, text: string) => {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
};
const set = readJson('eval/random-coco.json');
const KEYS = ['AP', 'AP50', 'AP75', 'APs', 'APm', 'APl', 'AR1', 'AR10', 'AR100', 'ARs', 'ARm', 'ARl'] as const;

function sameAsOracle(
  t: import('ava').ExecutionContext,
  voc: ReturnType<typeof evaluateVoc>,
  coco: ReturnType<typeof evaluateCoco>,
) {
  const v = set.expected.voc[0];
  for (const c of voc.classes) {
    const e = num(v.ap[c]);
    t.true(Number.isNaN(e) ? Number.isNaN(voc.ap[c]) : Math.abs(voc.ap[c] - e) <= 1e-6, `VOC AP ${c}`);
  }
  const c0 = set.expected.coco[0];
  t.deepEqual(coco.classes, Object.keys(c0.perClass));
  for (const k of KEYS) {
    const e = num(c0[k]);
    t.true(Number.isNaN(e) ? Number.isNaN(coco[k]) : Math.abs(coco[k] - e) <= 1e-6, `COCO ${k}: ${coco[k]} vs ${e}`);
  }
}

test('our JSON: ground truth and detections read back as given', async (t) => {
  const gtFile = write('gt.json', JSON.stringify(set.groundTruth));
  const dtFile = write('dt.json', JSON.stringify(set.detections));
  const gt = await readGroundTruthFile(gtFile);
  t.deepEqual(gt, set.groundTruth);
  const dt = await readDetectionsFile(dtFile, gt);
  t.deepEqual(dt, set.detections);
  t.deepEqual(await readDetectionsFile(dtFile), set.detections, 'without ground truth too');
  sameAsOracle(t, evaluateVoc(gt, dt), evaluateCoco(gt, dt));
});

test('JSON Lines (the JSONL dataset shape, detect --jsonl): one object per line, blank lines skipped', async (t) => {
  const gtFile = write('gt.jsonl', `${set.groundTruth.map((e: unknown) => JSON.stringify(e)).join('\n')}\n\n`);
  const gt = await readGroundTruthFile(gtFile);
  t.deepEqual(gt, set.groundTruth);
  const detect = readJson('eval/detect-output.json');
  const dtFile = write('detect.jsonl', detect.map((e: unknown) => JSON.stringify(e)).join('\n'));
  const dt = await readDetectionsFile(dtFile, gt);
  sameAsOracle(t, evaluateVoc(gt, dt), evaluateCoco(gt, dt));
  // A one-line file is one record.
  t.deepEqual(await readGroundTruthFile(write('one.jsonl', JSON.stringify(set.groundTruth[0]))), [set.groundTruth[0]]);
});

test('COCO instances JSON + COCO results: images by id, ids kept, categories mapped, metrics equal the oracle', async (t) => {
  const gt = await readGroundTruthFile(fixture('coco-instances.json'));
  t.deepEqual(
    gt.map((e) => e.image),
    set.groundTruth.map((e: { image: string }) => e.image),
    'images sorted by id (the file lists them out of order)',
  );
  t.is(gt[0].id, 100);
  t.deepEqual(
    gt.categories?.map((c) => c.name),
    ['car', 'kite', 'person', 'truck', 'zebra'],
    'every category, also one without annotations (kite), by id',
  );
  t.is(gt[0].width, 640);
  const firstBox = gt.find((e) => e.boxes.length)!.boxes[0];
  t.is(typeof firstBox.categoryId, 'number');
  t.is(typeof firstBox.area, 'number');
  const dt = await readDetectionsFile(fixture('coco-results.json'), gt);
  t.deepEqual(
    dt.map((e) => e.image),
    set.detections.map((e: { image: string }) => e.image),
  );
  t.deepEqual(
    dt.flatMap((e) => e.detections.map((d) => d.label)),
    set.detections.flatMap((e: { detections: Array<{ label: string }> }) => e.detections.map((d) => d.label)),
  );
  sameAsOracle(t, evaluateVoc(gt, dt), evaluateCoco(gt, dt));
});

test('COCO results without ground truth: images and categories are their ids as strings', async (t) => {
  const dt = await readDetectionsFile(fixture('coco-results.json'));
  const results = readJson('eval/coco-results.json');
  t.is(dt[0].image, String(results[0].image_id));
  t.is(dt[0].detections[0].label, String(results[0].category_id));
  const [x, y, w, h] = results[0].bbox;
  t.deepEqual(dt[0].detections[0].box, [x, y, x + w, y + h]);
  t.is(
    dt.reduce((n, e) => n + e.detections.length, 0),
    results.length,
  );
});

test('detect --json output: files mapped onto the ground truth by base name; kept as given without it', async (t) => {
  const gt = await readGroundTruthFile(write('gt2.json', JSON.stringify(set.groundTruth)));
  const dt = await readDetectionsFile(fixture('detect-output.json'), gt);
  t.deepEqual(
    dt.map((e) => e.image),
    set.detections.map((e: { image: string }) => e.image),
  );
  sameAsOracle(t, evaluateVoc(gt, dt), evaluateCoco(gt, dt));
  const raw = await readDetectionsFile(fixture('detect-output.json'));
  t.true(raw[0].image.startsWith('photos/val/'));
  t.throws(() => evaluateVoc(gt, raw), { instanceOf: TypeError, message: /detections\[0\]\.image/ });
  // An image listed with no detections is kept.
  const empty = write('empty.json', JSON.stringify([{ file: 'x/img2_000.jpg', width: 1, height: 1, detections: [] }]));
  t.deepEqual(await readDetectionsFile(empty, gt), [{ image: 'img2_000.jpg', detections: [] }]);
});

test('errors: missing file, not JSON, a bad JSONL line, invalid values named by file and path', async (t) => {
  await t.throwsAsync(readGroundTruthFile(path.join(dir, 'nope.json')), { code: 'ENOENT' });
  const notJson = write('bad.json', 'hello');
  await t.throwsAsync(readGroundTruthFile(notJson), {
    instanceOf: SyntaxError,
    message: new RegExp(`^${notJson}: not JSON or JSON Lines`),
  });
  const badLine = write('bad.jsonl', '{"image":"a","boxes":[]}\n\n{"image":"b","boxes":[]\n');
  await t.throwsAsync(readGroundTruthFile(badLine), {
    instanceOf: SyntaxError,
    message: new RegExp(`^${badLine}:3: not JSON`),
  });
  const badBox = write('badbox.json', JSON.stringify([{ image: 'a', boxes: [{ label: 'cat', box: [0, 0, -1, 1] }] }]));
  await t.throwsAsync(readGroundTruthFile(badBox), {
    instanceOf: RangeError,
    message: `Expected x1 ≤ x2 and y1 ≤ y2 for ${badBox}[0].boxes[0].box but received [0, 0, -1, 1]`,
  });
  const badScore = write(
    'badscore.json',
    JSON.stringify([{ image: 'a', detections: [{ label: 'cat', score: null, box: [0, 0, 1, 1] }] }]),
  );
  await t.throwsAsync(readDetectionsFile(badScore), {
    instanceOf: TypeError,
    message: `Expected finite number for ${badScore}[0].detections[0].score but received null`,
  });
  const gt = [{ image: 'a.jpg', boxes: [] }];
  const other = write('other.json', JSON.stringify([{ file: 'b.jpg', detections: [] }]));
  await t.throwsAsync(readDetectionsFile(other, gt), {
    instanceOf: TypeError,
    message: `Expected ${other}[0].file to name a ground-truth image but received "b.jpg" (no image matches it)`,
  });
  await t.throwsAsync(readGroundTruthFile(42 as unknown as string), {
    instanceOf: TypeError,
    message: 'Expected a file path (non-empty string) for file but received 42',
  });
});
