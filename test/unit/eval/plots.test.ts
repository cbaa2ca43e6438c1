/**
 * lib/eval/plots.ts: the PNGs are decoded back and read at the pixels where the published geometry (PR_PANEL,
 * SUMMARY_CHART through prPoint / summaryBar) puts a curve step or a bar end, so a curve drawn at the wrong place, an
 * envelope that is not VOC's interpolation, or a bar of the wrong length fails.
 */
import test from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { decodeImage } from '../../../lib/image/decode.ts';
import {
  interpolatedPrecision,
  PLOT_COLORS,
  PLOT_FILES,
  PR_PANEL,
  prPoint,
  renderPrCurves,
  renderSummaryChart,
  SUMMARY_CHART,
  SUMMARY_COLORS,
  summaryBar,
  writeEvalPlots,
} from '../../../lib/eval/plots.ts';

const curve = (recall: number[], precision: number[], npos: number) => ({
  recall: Float64Array.from(recall),
  precision: Float64Array.from(precision),
  scores: Float64Array.from(recall.map((_, i) => 1 - i / 10)),
  npos,
  ndet: recall.length,
});

// 4 objects, 5 detections: TP TP FP TP FP
const CURVES = {
  face: curve([0.25, 0.5, 0.5, 0.75, 0.75], [1, 1, 2 / 3, 0.75, 0.6], 4),
  cat: curve([], [], 3),
  dog: curve([0, 0.5, 1], [0, 0.5, 2 / 3], 2),
};

const hex = (c: string) => [1, 3, 5].map((i) => parseInt(c.slice(i, i + 2), 16));

async function pixels(png: Buffer) {
  const img = await decodeImage(png);
  const at = (x: number, y: number) => {
    const i = 4 * (Math.floor(y) * img.width + Math.floor(x)); // pixel i covers [i, i + 1)
    return [img.data[i], img.data[i + 1], img.data[i + 2]];
  };
  const near = (x: number, y: number, color: string, tol = 40) => {
    const p = at(x, y);
    return hex(color).every((v, k) => Math.abs(v - p[k]) <= tol);
  };
  return { img, at, near };
}

test('interpolatedPrecision is the running maximum from the right (VOC)', (t) => {
  t.deepEqual([...interpolatedPrecision([1, 0.5, 2 / 3, 0.75, 0.6, 0.2, 0.4])], [1, 0.75, 0.75, 0.75, 0.6, 0.4, 0.4]);
  t.deepEqual([...interpolatedPrecision([])], []);
});

test('PR curves: a grid of panels, the interpolated steps and the raw precision where the geometry puts them', async (t) => {
  const png = renderPrCurves(CURVES, { face: 0.6875, cat: 0, dog: 2 / 3 });
  const { img, near } = await pixels(png);
  t.deepEqual([img.width, img.height], [2 * PR_PANEL.width, 2 * PR_PANEL.height]); // 3 classes → 2 × 2
  // face (panel 0, 0): precision 1 up to recall 0.5, then 0.75 (interpolated) up to 0.75
  t.true(near(...prPoint(0.1, 1), PLOT_COLORS.curve));
  t.true(near(...prPoint(0.4, 1), PLOT_COLORS.curve));
  t.true(near(...prPoint(0.6, 0.75), PLOT_COLORS.curve));
  t.true(near(...prPoint(0.6, 2 / 3), PLOT_COLORS.raw, 50), 'the raw precision dips to 2/3 after the FP');
  t.false(near(...prPoint(0.6, 1), PLOT_COLORS.curve));
  t.false(near(...prPoint(0.9, 0.6), PLOT_COLORS.curve), 'nothing beyond the last recall');
  t.true(near(...prPoint(0.3, 0.5), '#ffffff', 3), 'background under the curve');
  // dog (panel 0, 1): interpolated 2/3 over the whole recall range, raw precision 0.5 from recall 0.5
  t.true(near(...prPoint(0.25, 2 / 3, 0, 1), PLOT_COLORS.curve));
  t.true(near(...prPoint(0.9, 2 / 3, 0, 1), PLOT_COLORS.curve));
  t.true(near(...prPoint(0.75, 0.5, 0, 1), PLOT_COLORS.raw, 50));
  // cat (panel 1, 0): no curve at all
  for (const r of [0.1, 0.5, 0.9])
    for (const p of [0.1, 0.6, 1]) t.false(near(...prPoint(r, p, 1, 0), PLOT_COLORS.curve));
});

test('PR curves: columns, class order and one panel for one class', async (t) => {
  const one = await pixels(renderPrCurves(CURVES, {}, { classes: ['dog'] }));
  t.deepEqual([one.img.width, one.img.height], [PR_PANEL.width, PR_PANEL.height]);
  t.true(one.near(...prPoint(0.9, 2 / 3), PLOT_COLORS.curve));
  const row = await pixels(renderPrCurves(CURVES, {}, { columns: 3, classes: ['cat', 'dog', 'face'] }));
  t.deepEqual([row.img.width, row.img.height], [3 * PR_PANEL.width, PR_PANEL.height]);
  t.true(row.near(...prPoint(0.9, 2 / 3, 1, 0), PLOT_COLORS.curve), 'dog second');
  t.true(row.near(...prPoint(0.1, 1, 2, 0), PLOT_COLORS.curve), 'face third');
});

test('PR curves: bad input is a TypeError naming it', (t) => {
  const bad = { x: { ...CURVES.face, precision: new Float64Array(2) } };
  t.throws(() => renderPrCurves(bad), { instanceOf: TypeError, message: /curves\['x'\]/ });
  t.throws(() => renderPrCurves(CURVES, {}, { colums: 2 } as never), { instanceOf: TypeError, message: /colums/ });
  t.throws(() => renderPrCurves(CURVES, {}, { columns: 0 }), { instanceOf: RangeError, message: /columns/ });
  t.throws(() => renderPrCurves(null as never), { instanceOf: TypeError, message: /curves/ });
});

test('summary chart: bars end at AP · width, the means first, NaN draws no bar', async (t) => {
  const perClass = {
    face: { ap50: 0.7, map: 0.41, npos: 4 },
    cat: { ap50: 0, map: 0, npos: 3 },
    dog: { ap50: 0.6, map: NaN, npos: 2 },
  };
  const { img, near } = await pixels(renderSummaryChart(perClass, { ap50: 0.25, map: 0.9 }));
  t.is(img.width, SUMMARY_CHART.width);
  t.is(img.height, SUMMARY_CHART.top + 4 * SUMMARY_CHART.rowHeight + SUMMARY_CHART.bottom);
  const inside = ([x, y]: [number, number]): [number, number] => [x - 3, y];
  const outside = ([x, y]: [number, number]): [number, number] => [x + 3, y];
  for (const [row, ap50, map] of [
    [0, 0.25, 0.9],
    [1, 0.7, 0.41],
    [3, 0.6, NaN],
  ] as const) {
    t.true(near(...inside(summaryBar(ap50, row, 0)), SUMMARY_COLORS.ap50, 10), `row ${row} ap50`);
    t.false(near(...outside(summaryBar(ap50, row, 0)), SUMMARY_COLORS.ap50, 60), `row ${row} ap50 end`);
    if (Number.isFinite(map)) {
      t.true(near(...inside(summaryBar(map, row, 1)), SUMMARY_COLORS.map, 10), `row ${row} map`);
      t.false(near(...outside(summaryBar(map, row, 1)), SUMMARY_COLORS.map, 60), `row ${row} map end`);
    }
  }
  t.false(near(...outside(summaryBar(0.05, 3, 1)), SUMMARY_COLORS.map, 60), 'dog: no mAP bar');
  t.false(near(...outside(summaryBar(0.05, 2, 0)), SUMMARY_COLORS.ap50, 60), 'cat: AP 0, no bar');
});

test('writeEvalPlots writes both PNGs atomically and never over existing files without overwrite', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssd-edge-plots-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const evaluation = {
    ap50: 0.5,
    map: 0.3,
    perClass: { face: { ap50: 0.6875, map: 0.4, npos: 4 }, dog: { ap50: 2 / 3, map: 0.2, npos: 2 } },
    voc: { curves: CURVES, ap: { face: 0.6875, dog: 2 / 3 } },
  };
  const out = path.join(dir, 'plots', 'deeper');
  const files = await writeEvalPlots(evaluation, out);
  t.deepEqual(files, [path.join(out, PLOT_FILES.curves), path.join(out, PLOT_FILES.summary)]);
  t.deepEqual(fs.readdirSync(out).sort(), ['pr-curves.png', 'summary.png']);
  const curves = await pixels(fs.readFileSync(files[0]));
  t.deepEqual(
    [curves.img.width, curves.img.height],
    [2 * PR_PANEL.width, PR_PANEL.height],
    'only the evaluated classes',
  );
  // an existing file is kept, and neither file is written
  fs.writeFileSync(files[1], 'mine');
  fs.rmSync(files[0]);
  await t.throwsAsync(writeEvalPlots(evaluation, out), { code: 'EEXIST', message: /summary\.png/ });
  t.is(fs.readFileSync(files[1], 'utf8'), 'mine');
  t.deepEqual(fs.readdirSync(out), ['summary.png'], 'nothing written, no temporary file left');
  await writeEvalPlots(evaluation, out, { overwrite: true });
  t.true(fs.readFileSync(files[1]).subarray(1, 4).equals(Buffer.from('PNG')));
  t.deepEqual(fs.readdirSync(out).sort(), ['pr-curves.png', 'summary.png']);
  // a file where the folder should be
  const blocked = path.join(dir, 'file');
  fs.writeFileSync(blocked, 'x');
  await t.throwsAsync(writeEvalPlots(evaluation, path.join(blocked, 'sub')), {
    message: /Cannot create the plots folder/,
  });
  await t.throwsAsync(writeEvalPlots(evaluation, dir, { overwrite: true, colour: 1 } as never), {
    instanceOf: TypeError,
  });
});
