/**
 * The tracker's Kalman filter (`BoxKalmanFilter`, four independent 2-state filters) against a textbook 8-state
 * filter written here with full matrices (F, Q, H, R, S⁻¹ by Gauss–Jordan, P − K·S·Kᵀ), noise as ByteTrack / BoT-SORT
 * define it, over random sequences of predictions (1–4 frames, sizes frozen or not) and updates.
 */
import test from 'ava';
import { BoxKalmanFilter } from '../../../lib/stream/tracker.ts';
import { mulberry32 } from '../../helpers/random.ts';

type M = number[][];
const zeros = (r: number, c: number): M => Array.from({ length: r }, () => new Array<number>(c).fill(0));
const eye = (n: number): M => zeros(n, n).map((row, i) => row.map((_, j) => (i === j ? 1 : 0)));
const mul = (a: M, b: M): M => a.map((row) => b[0].map((_, j) => row.reduce((s, v, k) => s + v * b[k][j], 0)));
const tr = (a: M): M => a[0].map((_, j) => a.map((row) => row[j]));
const add = (a: M, b: M): M => a.map((row, i) => row.map((v, j) => v + b[i][j]));
const sub = (a: M, b: M): M => a.map((row, i) => row.map((v, j) => v - b[i][j]));
const diag = (v: number[]): M => v.map((x, i) => v.map((_, j) => (i === j ? x : 0)));
function inverse(a: M): M {
  const n = a.length;
  const m = a.map((row, i) => [...row, ...eye(n)[i]]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r][c]) > Math.abs(m[p][c])) p = r;
    [m[c], m[p]] = [m[p], m[c]];
    const d = m[c][c];
    for (let j = 0; j < 2 * n; j++) m[c][j] /= d;
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = m[r][c];
      for (let j = 0; j < 2 * n; j++) m[r][j] -= f * m[c][j];
    }
  }
  return m.map((row) => row.slice(n));
}

const SP = 1 / 20;
const SV = 1 / 160;
const F = eye(8).map((row, i) => row.map((v, j) => (i < 4 && j === i + 4 ? 1 : v)));
const H = eye(8).slice(0, 4);

class Reference {
  x: M; // 8×1
  P: M;
  constructor([cx, cy, w, h]: number[]) {
    this.x = [[cx], [cy], [w], [h], [0], [0], [0], [0]];
    this.P = diag(
      [2 * SP * w, 2 * SP * h, 2 * SP * w, 2 * SP * h, 10 * SV * w, 10 * SV * h, 10 * SV * w, 10 * SV * h].map(
        (s) => s * s,
      ),
    );
  }
  predict(freeze: boolean) {
    if (freeze) this.x[6][0] = this.x[7][0] = 0;
    const [w, h] = [this.x[2][0], this.x[3][0]];
    const Q = diag([SP * w, SP * h, SP * w, SP * h, SV * w, SV * h, SV * w, SV * h].map((s) => s * s));
    this.x = mul(F, this.x);
    this.P = add(mul(mul(F, this.P), tr(F)), Q);
  }
  update(z: number[]) {
    const [w, h] = [this.x[2][0], this.x[3][0]];
    const R = diag([SP * w, SP * h, SP * w, SP * h].map((s) => s * s));
    const S = add(mul(mul(H, this.P), tr(H)), R);
    const K = mul(mul(this.P, tr(H)), inverse(S));
    const y = sub(
      z.map((v) => [v]),
      mul(H, this.x),
    );
    this.x = add(this.x, mul(K, y));
    this.P = sub(this.P, mul(mul(K, S), tr(K)));
  }
}

const xyxy = ([cx, cy, w, h]: number[]) => ({ x1: cx - w / 2, y1: cy - h / 2, x2: cx + w / 2, y2: cy + h / 2 });

test('BoxKalmanFilter equals the full 8-state Kalman filter (mean and covariance) over random sequences', (t) => {
  const rng = mulberry32(2024);
  let worst = 0;
  for (let trial = 0; trial < 50; trial++) {
    let z = [50 + 300 * rng(), 50 + 200 * rng(), 10 + 80 * rng(), 20 + 150 * rng()];
    const v = [10 * rng() - 5, 10 * rng() - 5, rng() - 0.5, rng() - 0.5];
    const ours = new BoxKalmanFilter(xyxy(z));
    const ref = new Reference(z);
    for (let step = 0; step < 40; step++) {
      const frames = 1 + Math.floor(rng() * (rng() < 0.8 ? 1 : 4));
      const freeze = rng() < 0.2;
      ours.predict(frames, freeze);
      for (let k = 0; k < frames; k++) ref.predict(freeze && k === 0);
      z = z.map((c, i) => c + frames * v[i]);
      if (rng() < 0.85) {
        const measured = z.map((c, i) => c + (i < 2 ? 2 : 1) * (rng() - 0.5) * 0.1 * z[2 + (i % 2)]);
        // The box as the detector gives it (xyxy); both filters measure its centre and size.
        const b = xyxy(measured);
        ours.correct(b);
        ref.update([(b.x1 + b.x2) / 2, (b.y1 + b.y2) / 2, b.x2 - b.x1, b.y2 - b.y1]);
      }
      const mean = ours.mean();
      const cov = ours.covariance();
      for (let i = 0; i < 8; i++) {
        worst = Math.max(worst, Math.abs(mean[i] - ref.x[i][0]) / (1 + Math.abs(ref.x[i][0])));
        for (let j = 0; j < 8; j++)
          worst = Math.max(worst, Math.abs(cov[i][j] - ref.P[i][j]) / (1 + Math.abs(ref.P[i][i])));
      }
    }
  }
  t.log(`largest relative difference ${worst.toExponential(2)}`);
  t.true(worst < 1e-9, `${worst}`);
});

test('BoxKalmanFilter follows a constant-velocity box: after 30 exact measurements it predicts 5 frames ahead within 1 px', (t) => {
  const at = (f: number) => xyxy([100 + 4 * f, 80 - 2 * f, 40 + 0.2 * f, 90 + 0.4 * f]);
  const kf = new BoxKalmanFilter(at(0));
  for (let f = 1; f <= 30; f++) {
    kf.predict();
    kf.correct(at(f));
  }
  kf.predict(5);
  const p = kf.box();
  const e = at(35);
  for (const k of ['x1', 'y1', 'x2', 'y2'] as const) t.true(Math.abs(p[k] - e[k]) < 1, `${k}: ${p[k]} vs ${e[k]}`);
});
