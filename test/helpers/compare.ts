/** Array comparisons that report where and by how much two arrays differ. */
import type { ExecutionContext } from 'ava';

type Num = ArrayLike<number>;

export interface Tolerance {
  /** Absolute tolerance. */
  abs?: number;
  /** Relative tolerance (|a − e| ≤ rel·|e|). An element passes when it meets abs OR rel. */
  rel?: number;
  /** Treat NaN == NaN as equal (default false). */
  nanEqual?: boolean;
}

export interface Diff {
  ok: boolean;
  maxAbs: number;
  maxRel: number;
  worst: number; // index of the first failing element (or of the largest abs diff when ok)
  failures: number;
}

export function diff(actual: Num, expected: Num, tol: Tolerance = {}): Diff {
  const { abs = 0, rel = 0, nanEqual = false } = tol;
  let maxAbs = 0;
  let maxRel = 0;
  let worst = -1;
  let failures = 0;
  let firstFail = -1;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    const e = expected[i];
    if (Number.isNaN(a) || Number.isNaN(e)) {
      if (!(nanEqual && Number.isNaN(a) && Number.isNaN(e))) {
        failures++;
        if (firstFail < 0) firstFail = i;
      }
      continue;
    }
    if (a === e) continue; // also equal infinities
    const d = Math.abs(a - e);
    const r = e !== 0 ? d / Math.abs(e) : Infinity;
    if (d > maxAbs) {
      maxAbs = d;
      worst = i;
    }
    if (Number.isFinite(r) && r > maxRel) maxRel = r;
    if (!(d <= abs || d <= rel * Math.abs(e))) {
      failures++;
      if (firstFail < 0) firstFail = i;
    }
  }
  return { ok: failures === 0, maxAbs, maxRel, worst: firstFail >= 0 ? firstFail : worst, failures };
}

/** Asserts equal length and closeness; the message gives the first failing index, both values and the max diffs. */
export function assertClose(t: ExecutionContext, actual: Num, expected: Num, tol: Tolerance, label = ''): Diff {
  const prefix = label ? `${label}: ` : '';
  t.is(actual.length, expected.length, `${prefix}length`);
  const d = diff(actual, expected, tol);
  const at = d.worst;
  t.true(
    d.ok,
    `${prefix}${d.failures} element(s) outside abs ${tol.abs ?? 0} / rel ${tol.rel ?? 0}; first at [${at}] ` +
      `actual ${actual[at]} expected ${expected[at]}; max abs diff ${d.maxAbs}, max rel diff ${d.maxRel}`,
  );
  return d;
}

/** Exact equality of two integer (or float) arrays, reporting the first difference. */
export function assertSameArray(t: ExecutionContext, actual: Num, expected: Num, label = ''): void {
  const prefix = label ? `${label}: ` : '';
  const n = Math.min(actual.length, expected.length);
  let first = -1;
  for (let i = 0; i < n; i++) {
    if (!Object.is(actual[i], expected[i])) {
      first = i;
      break;
    }
  }
  if (first < 0 && actual.length === expected.length) {
    t.pass();
    return;
  }
  if (first < 0) first = n;
  t.fail(
    `${prefix}arrays differ (lengths ${actual.length} vs ${expected.length}) first at [${first}]: ` +
      `actual ${fmt(actual, first)} expected ${fmt(expected, first)}`,
  );
}

function fmt(a: Num, i: number): string {
  const lo = Math.max(0, i - 2);
  const parts: string[] = [];
  for (let k = lo; k < Math.min(a.length, i + 3); k++) parts.push(k === i ? `>${a[k]}<` : String(a[k]));
  return `[…${parts.join(', ')}…]`;
}

/** Flat [N·4] → array of 4-tuples (for readable failure output). */
export function rows4(a: Num): number[][] {
  const out: number[][] = [];
  for (let i = 0; i + 3 < a.length; i += 4) out.push([a[i], a[i + 1], a[i + 2], a[i + 3]]);
  return out;
}

/** max |actual − expected| and its ratio to the value range of `expected` (for network outputs of any scale). */
export function diffOfRange(actual: Num, expected: Num): { maxAbs: number; range: number; rel: number } {
  let maxAbs = 0;
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < expected.length; i++) {
    maxAbs = Math.max(maxAbs, Math.abs(actual[i] - expected[i]));
    lo = Math.min(lo, expected[i]);
    hi = Math.max(hi, expected[i]);
  }
  return { maxAbs, range: hi - lo, rel: maxAbs / (hi - lo) };
}
