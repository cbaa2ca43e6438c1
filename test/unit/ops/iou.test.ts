/**
 * boxIou: torchvision box_iou oracle (NaN cells → 0 in ours), random inputs against an obvious float64
 * reference and the float32 operation order, shapes, and invalid inputs.
 */
import test from 'ava';
import { boxIou } from '../../../lib/index.ts';
import { f32, readJson } from '../../helpers/fixtures.ts';
import { assertClose } from '../../helpers/compare.ts';
import { iouImpls } from '../../helpers/implementations.ts';
import { mulberry32, randInt, randomBoxes, seeds } from '../../helpers/random.ts';
import { iouF32, iouF64 } from '../../helpers/reference.ts';

const oracle = readJson('iou.json');

/** Obvious reference: the whole N×M matrix with `pair`. */
function referenceIou(a: Float32Array, b: Float32Array, pair: typeof iouF64): Float64Array {
  const n = a.length / 4;
  const m = b.length / 4;
  const out = new Float64Array(n * m);
  for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) out[i * m + j] = pair(a, i, b, j);
  return out;
}

for (const impl of iouImpls) {
  test(`${impl.name}: matches torchvision box_iou [30×20]; its 6 NaN cells (two zero-area boxes) are 0`, (t) => {
    const a = f32(oracle.boxes1);
    const b = f32(oracle.boxes2);
    const iou = impl.boxIou(a, b);
    t.true(iou instanceof Float32Array);
    t.is(iou.length, 30 * 20);
    const expected = f32(oracle.iou);
    const nanCells = (oracle.degenerate.nan_cells as number[][]).map(([i, j]) => i * 20 + j);
    t.is(nanCells.length, 6);
    for (const k of nanCells) {
      t.true(Number.isNaN(expected[k]), `torchvision gives NaN at ${k}`);
      t.is(iou[k], 0, `cell ${Math.floor(k / 20)},${k % 20} is 0 (torchvision: NaN)`);
      expected[k] = 0;
    }
    t.false(iou.some(Number.isNaN), 'no NaN anywhere');
    assertClose(t, iou, expected, { abs: 1e-6 }, 'vs torchvision float32');
    const expected64 = f32(oracle.iou_float64);
    for (const k of nanCells) expected64[k] = 0;
    assertClose(t, iou, expected64, { abs: 1e-6 }, 'vs torchvision float64');
  });

  test(`${impl.name}: hand-checked pairs (identical → 1, shared edge → 0, nested, disjoint, zero-area)`, (t) => {
    const a = Float32Array.from([0, 0, 2, 2]);
    const b = Float32Array.from([
      0,
      0,
      2,
      2, // identical
      2,
      0,
      4,
      2, // shares an edge
      1,
      1,
      3,
      3, // 1 / 7
      0,
      0,
      1,
      2, // nested: 2 / 4
      5,
      5,
      6,
      6, // disjoint
      1,
      1,
      1,
      1, // a point inside
      0,
      1,
      2,
      1, // a zero-height segment inside
    ]);
    t.deepEqual(Array.from(impl.boxIou(a, b)), [1, 0, Math.fround(1 / 7), 0.5, 0, 0, 0]);
    // Two zero-area boxes: 0 (torchvision: 0/0 = NaN), also identical points.
    const p = Float32Array.from([1, 1, 1, 1, 3, 0, 3, 5]);
    t.deepEqual(Array.from(impl.boxIou(p, p)), [0, 0, 0, 0]);
  });

  test(`${impl.name}: random boxes over 60 seeds vs an obvious float64 reference (≤ 1e-6) and the float32 order (exact)`, (t) => {
    for (const seed of seeds(60)) {
      const rng = mulberry32(seed);
      const n = randInt(rng, 1, 40);
      const m = randInt(rng, 1, 40);
      const opts = {
        extent: seed % 3 === 0 ? 50 : 300,
        minSide: 0,
        maxSide: 120,
        zeroAreaFraction: seed % 4 === 0 ? 0.2 : 0,
        integer: seed % 5 === 0,
      };
      const a = randomBoxes(rng, n, opts);
      const b = randomBoxes(rng, m, opts);
      const iou = impl.boxIou(a, b);
      t.is(iou.length, n * m);
      assertClose(t, iou, referenceIou(a, b, iouF64), { abs: 1e-6 }, `seed ${seed} float64`);
      assertClose(t, iou, referenceIou(a, b, iouF32), { abs: 0 }, `seed ${seed} float32 operation order`);
    }
  });

  test(`${impl.name}: IoU is symmetric: boxIou(b, a) is the transpose of boxIou(a, b)`, (t) => {
    const rng = mulberry32(99);
    const a = randomBoxes(rng, 17);
    const b = randomBoxes(rng, 11);
    const ab = impl.boxIou(a, b);
    const ba = impl.boxIou(b, a);
    for (let i = 0; i < 17; i++) for (let j = 0; j < 11; j++) t.is(ab[i * 11 + j], ba[j * 17 + i]);
  });

  test(`${impl.name}: empty sets give an empty matrix`, (t) => {
    const a = Float32Array.from([0, 0, 1, 1]);
    t.is(impl.boxIou(new Float32Array(0), a).length, 0);
    t.is(impl.boxIou(a, new Float32Array(0)).length, 0);
    t.is(impl.boxIou(new Float32Array(0), new Float32Array(0)).length, 0);
  });

  test(`${impl.name}: a box with a NaN coordinate has IoU 0, never NaN`, (t) => {
    const a = Float32Array.from([NaN, 0, 2, 2, 0, 0, 2, 2]);
    const b = Float32Array.from([0, 0, 2, 2]);
    t.deepEqual(Array.from(impl.boxIou(a, b)), [0, 1]);
  });
}

// ---- invalid inputs ----------------------------------------------------------------------------------------
const box = Float32Array.from([0, 0, 1, 1]);
const invalid: Array<[string, () => unknown, string]> = [
  [
    'a of length 5',
    () => boxIou(new Float32Array(5), box),
    'Expected Float32Array of length 4·N for a but received Float32Array of length 5',
  ],
  [
    'b of length 3',
    () => boxIou(box, new Float32Array(3)),
    'Expected Float32Array of length 4·N for b but received Float32Array of length 3',
  ],
  [
    'a as a plain array',
    () => boxIou([0, 0, 1, 1] as never, box),
    'Expected Float32Array of length 4·N for a but received Array of length 4',
  ],
  [
    'b as Float64Array',
    () => boxIou(box, new Float64Array(4) as never),
    'Expected Float32Array of length 4·N for b but received Float64Array of length 4',
  ],
  [
    'a missing',
    () => boxIou(undefined as never, box),
    'Expected Float32Array of length 4·N for a but received undefined',
  ],
  ['b null', () => boxIou(box, null as never), 'Expected Float32Array of length 4·N for b but received null'],
];
for (const [what, fn, message] of invalid) {
  test(`boxIou rejects ${what}: TypeError`, (t) => {
    t.throws(fn, { instanceOf: TypeError, message });
  });
}
