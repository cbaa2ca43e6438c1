/**
 * The Hungarian solver of the tracker (`linearAssignment`) against brute force over every assignment, on random
 * square and rectangular cost matrices (ties included), and on hand-made cases; the tracker's IoU matching
 * (`matchByIou`, solved per connected group of pairs) against brute force over every matching.
 */
import test from 'ava';
import { linearAssignment, matchByIou } from '../../../lib/stream/tracker.ts';
import { iou } from '../../helpers/mot.ts';
import { mulberry32 } from '../../helpers/random.ts';

/** The least total cost over every way of assigning min(rows, cols) rows to distinct columns. */
function bruteForce(cost: number[], rows: number, cols: number): number {
  let best = Infinity;
  const used = new Array<boolean>(cols).fill(false);
  const k = Math.min(rows, cols);
  // Choose, row by row, a column or (while enough rows are left to reach k assignments) no column.
  const visit = (r: number, assigned: number, sum: number) => {
    if (assigned === k) {
      best = Math.min(best, sum);
      return;
    }
    if (r === rows) return;
    if (rows - r - 1 >= k - assigned) visit(r + 1, assigned, sum);
    for (let c = 0; c < cols; c++) {
      if (used[c]) continue;
      used[c] = true;
      visit(r + 1, assigned + 1, sum + cost[r * cols + c]);
      used[c] = false;
    }
  };
  visit(0, 0, 0);
  return best;
}

test('linearAssignment finds the least-cost assignment (brute force on 600 random matrices up to 6×6)', (t) => {
  const rng = mulberry32(42);
  for (let trial = 0; trial < 600; trial++) {
    const rows = 1 + Math.floor(rng() * 6);
    const cols = 1 + Math.floor(rng() * 6);
    // Small integers make ties common; some trials use negative and fractional costs.
    const cost = Array.from({ length: rows * cols }, () =>
      trial % 3 === 0 ? Math.floor(rng() * 4) : trial % 3 === 1 ? rng() * 2 - 1 : Math.min(0, rng() - 0.7),
    );
    const a = linearAssignment(Float64Array.from(cost), rows, cols);
    t.is(a.length, rows);
    const assigned = [...a].filter((c) => c >= 0);
    t.is(assigned.length, Math.min(rows, cols), `trial ${trial}: every row or every column is assigned`);
    t.is(new Set(assigned).size, assigned.length, `trial ${trial}: distinct columns`);
    t.true(assigned.every((c) => c < cols));
    const total = [...a].reduce((s, c, r) => (c >= 0 ? s + cost[r * cols + c] : s), 0);
    const best = bruteForce(cost, rows, cols);
    if (Math.abs(total - best) > 1e-9) t.fail(`trial ${trial} ${rows}×${cols}: ${total} vs brute force ${best}`);
  }
  t.pass();
});

test('linearAssignment: hand-made cases, greedy traps and empty sizes', (t) => {
  t.deepEqual([...linearAssignment(Float64Array.of(4, 1, 3, 2, 0, 5), 2, 3)], [1, 0]);
  // Greedy takes the cheapest cell (0) first and pays 100 for the other row; the optimum is 1 + 1.
  t.deepEqual([...linearAssignment(Float64Array.of(0, 1, 1, 100), 2, 2)], [1, 0]);
  // More rows than columns: one row is left out (-1).
  t.deepEqual([...linearAssignment(Float64Array.of(5, 1, 2), 3, 1)], [-1, 0, -1]);
  t.deepEqual([...linearAssignment(new Float64Array(0), 0, 4)], []);
  t.deepEqual([...linearAssignment(new Float64Array(0), 3, 0)], [-1, -1, -1]);
});

test('matchByIou: the best class-aware matching above the gate (split into independent groups), against brute force', (t) => {
  const rng = mulberry32(7);
  const box = () => {
    const x = rng() * 60;
    const y = rng() * 60;
    return { x1: x, y1: y, x2: x + 10 + rng() * 20, y2: y + 10 + rng() * 20 };
  };
  for (let trial = 0; trial < 400; trial++) {
    const n = Math.floor(rng() * 6);
    const m = Math.floor(rng() * 6);
    const tracks = Array.from({ length: n }, box);
    const dets = Array.from({ length: m }, box);
    const tc = tracks.map(() => 1 + Math.floor(rng() * 2));
    const dc = dets.map(() => 1 + Math.floor(rng() * 2));
    const gate = [0, 0.1, 0.3][trial % 3];
    const value = (i: number, j: number) => (tc[i] === dc[j] ? iou(tracks[i], dets[j]) - gate : 0);
    // Brute force: every partial matching of tracks to distinct detections, pairs above the gate only.
    let best = 0;
    const used = new Array<boolean>(m).fill(false);
    const visit = (i: number, sum: number) => {
      if (i === n) {
        best = Math.max(best, sum);
        return;
      }
      visit(i + 1, sum);
      for (let j = 0; j < m; j++) {
        if (used[j] || value(i, j) <= 0) continue;
        used[j] = true;
        visit(i + 1, sum + value(i, j));
        used[j] = false;
      }
    };
    visit(0, 0);
    const pairs = matchByIou(tracks, tc, dets, dc, gate);
    t.is(new Set(pairs.map((p) => p[0])).size, pairs.length, 'one detection per track');
    t.is(new Set(pairs.map((p) => p[1])).size, pairs.length, 'one track per detection');
    for (const [i, j] of pairs) t.true(value(i, j) > 0, 'same class, IoU above the gate');
    const total = pairs.reduce((s, [i, j]) => s + value(i, j), 0);
    if (Math.abs(total - best) > 1e-9) t.fail(`trial ${trial}: ${total} vs brute force ${best}`);
  }
});
