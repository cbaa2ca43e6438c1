/**
 * Multi-object tracking for streams: track ids that persist across frames (`ssd-edge stream --track`).
 *
 * The tracker follows ByteTrack (Zhang et al., 2022) with the box state of BoT-SORT (Aharon et al., 2022):
 * - **Motion model**: a constant-velocity Kalman filter on the box centre and size (cx, cy, w, h) plus their
 *   velocities. Process and measurement noise are proportional to the box size (standard deviations w/20 and h/20 for
 *   positions, w/160 and h/160 for velocities, as in ByteTrack/BoT-SORT), so the filter behaves the same at every
 *   scale. BoT-SORT found (cx, cy, w, h) predicts widths better than SORT's (cx, cy, aspect, h). Every noise matrix is
 *   diagonal and each coordinate moves only with its own velocity, so the 8-state filter splits exactly into four
 *   independent 2-state filters (position, velocity): that is how it is computed here.
 * - **Association** by IoU between the predicted track boxes and the detections, class-aware (a track only takes
 *   detections of its class), solved optimally with the Hungarian algorithm ({@link linearAssignment}): the matching
 *   maximizes Σ (IoU − gate) over the matched pairs, each of which must have IoU > gate.
 * - **Two passes** (the ByteTrack idea): confirmed tracks first take the high-score detections (score ≥
 *   `highThreshold`, IoU > `iouThreshold`); the tracks left then take the low-score ones (`lowThreshold` ≤ score <
 *   `highThreshold`, stricter gate IoU > `lowIouThreshold`), so an object keeps its track through a score dip or a
 *   partial occlusion. Tentative tracks then take the high-score detections left; new tracks start only from
 *   high-score detections that nothing took.
 * - **Life cycle**: a new track is tentative until it has been matched in `minHits` consecutive updates (a tentative
 *   track that misses once is dropped); then it gets its `trackId` (1, 2, 3… in order of confirmation, never reused,
 *   not even after `reset()`) and is reported. A confirmed track that goes unmatched keeps being predicted by its
 *   Kalman filter (its size velocity stopped) and can be matched again until more than `maxMissed` frames have passed
 *   since its last match; then it ends.
 *
 * Only detections matched to a confirmed track are reported, with the detection's own box (not the filtered one).
 * To use the low-score pass, run the detector with a score threshold at or below `lowThreshold`.
 */
import {
  assertInRange,
  assertInteger,
  assertKnownKeys,
  assertObject,
  invalidParameterError,
  outOfRangeError,
} from '../is.ts';

/** A detection as the detector returns it (lib/detector/options.ts `Detection`): box in pixels, x1 ≤ x2, y1 ≤ y2. */
export interface TrackableDetection {
  label: string;
  classId: number;
  score: number;
  box: { x1: number; y1: number; x2: number; y2: number };
}

/** A detection with the id of the track it belongs to. */
export type TrackedDetection<D extends TrackableDetection = TrackableDetection> = D & { trackId: number };

export interface TrackerOptions {
  /** Detections with score ≥ highThreshold are associated first and may start tracks (default 0.5). In [0, 1]. */
  highThreshold?: number;
  /** Detections with lowThreshold ≤ score < highThreshold are used in the second pass only; lower ones are ignored (default 0.1). In [0, highThreshold]. */
  lowThreshold?: number;
  /** IoU gate of the high-score pass and of tentative tracks: a pair matches only with IoU > iouThreshold (default 0.2). In [0, 1). */
  iouThreshold?: number;
  /** IoU gate of the low-score pass (default 0.5). In [0, 1). */
  lowIouThreshold?: number;
  /** Consecutive matches before a track is confirmed and reported (default 2; 1 reports a track from its first frame). Integer ≥ 1. */
  minHits?: number;
  /** Frames a confirmed track may go unmatched and still be matched again; after more it ends (default 30). Integer ≥ 0. */
  maxMissed?: number;
}

/** The keys of {@link TrackerOptions}. */
export const TRACKER_OPTION_KEYS = [
  'highThreshold',
  'lowThreshold',
  'iouThreshold',
  'lowIouThreshold',
  'minHits',
  'maxMissed',
] as const satisfies ReadonlyArray<keyof TrackerOptions>;

/** The defaults of {@link TrackerOptions} (ByteTrack's, except minHits as SORT counts it). */
export const TRACKER_DEFAULTS: Readonly<Required<TrackerOptions>> = Object.freeze({
  highThreshold: 0.5,
  lowThreshold: 0.1,
  iouThreshold: 0.2,
  lowIouThreshold: 0.5,
  minHits: 2,
  maxMissed: 30,
});

export interface Tracker {
  /**
   * Associates one frame's detections with the tracks and advances them by one frame (or to `frameIndex`).
   *
   * @param detections The frame's detections (any order; not modified).
   * @param frameIndex The frame's index, integers strictly increasing across calls (default: the previous + 1, the
   *   first call 0). A gap (frames dropped by the pipeline) advances the motion model and the missed count by the gap.
   * @returns The detections that belong to confirmed tracks, as new objects with `trackId` added (every other field
   *   kept), in the input order; at most one detection per track.
   * @throws {TypeError} `detections` not an array of detections (`detections[k].box` etc. named).
   * @throws {RangeError} `frameIndex` not an integer greater than the previous one.
   */
  update<D extends TrackableDetection>(detections: readonly D[], frameIndex?: number): TrackedDetection<D>[];
  /** Ends every track (a new scene, a reconnected source). Track ids keep counting up, so an id is never reused. */
  reset(): void;
  /** The options in use (defaults filled in). */
  readonly options: Readonly<Required<TrackerOptions>>;
}

/**
 * Creates a tracker (see the module comment for the algorithm).
 *
 * @param options {@link TrackerOptions}.
 * @throws {TypeError} Unknown option key, an option of the wrong type.
 * @throws {RangeError} An option out of range (the message names it), lowThreshold above highThreshold.
 * @example
 * const tracker = createTracker({ minHits: 3 });
 * for await (const { detections } of detector.stream('cam.mp4')) {
 *   for (const d of tracker.update(detections)) console.log(d.trackId, d.label, d.box);
 * }
 */
export function createTracker(options: TrackerOptions = {}): Tracker {
  const o = validateTrackerOptions(options);
  let tracks: Track[] = [];
  let nextId = 1;
  let lastFrame = -1;

  return {
    options: o,
    reset() {
      tracks = [];
      lastFrame = -1;
    },
    update<D extends TrackableDetection>(detections: readonly D[], frameIndex?: number): TrackedDetection<D>[] {
      assertDetections(detections);
      let frame = lastFrame + 1;
      if (frameIndex !== undefined) {
        assertInteger('frameIndex', frameIndex, 0);
        if (frameIndex <= lastFrame)
          throw outOfRangeError('frameIndex', `integer > ${lastFrame} (the previous frame)`, frameIndex);
        frame = frameIndex;
      }
      const steps = lastFrame < 0 ? 1 : frame - lastFrame;
      // Frames skipped by the caller count as missed: a track may be matched up to maxMissed + 1 frames after it was
      // last seen (maxMissed frames without it in between), whatever the number of updates.
      tracks = tracks.filter((t) => frame - t.lastSeen <= o.maxMissed + 1);
      for (const t of tracks) t.predict(steps, lastFrame);
      lastFrame = frame;

      const high: number[] = [];
      const low: number[] = [];
      detections.forEach((d, k) => {
        if (d.score >= o.highThreshold) high.push(k);
        else if (d.score >= o.lowThreshold) low.push(k);
      });
      const boxes = detections.map((d) => d.box);
      const owner = new Array<Track | null>(detections.length).fill(null);
      const matched = new Set<Track>();
      const associate = (candidates: Track[], dets: number[], gate: number): number[] => {
        const pairs = matchByIou(
          candidates.map((t) => t.box()),
          candidates.map((t) => t.classId),
          dets.map((k) => boxes[k]),
          dets.map((k) => detections[k].classId),
          gate,
        );
        const taken = new Set<number>();
        for (const [ti, di] of pairs) {
          const t = candidates[ti];
          const k = dets[di];
          t.correct(boxes[k], frame);
          matched.add(t);
          owner[k] = t;
          taken.add(di);
        }
        return dets.filter((_, di) => !taken.has(di));
      };

      const confirmed = tracks.filter((t) => t.id > 0);
      const highLeft = associate(confirmed, high, o.iouThreshold);
      associate(
        confirmed.filter((t) => !matched.has(t)),
        low,
        o.lowIouThreshold,
      );
      const highNew = associate(
        tracks.filter((t) => t.id === 0),
        highLeft,
        o.iouThreshold,
      );

      // Confirmation, misses, ends.
      const alive: Track[] = [];
      for (const t of tracks) {
        if (matched.has(t)) {
          if (t.id === 0 && t.hits >= o.minHits) t.id = nextId++;
          alive.push(t);
        } else if (t.id > 0 && frame - t.lastSeen <= o.maxMissed) {
          alive.push(t);
        }
      }
      for (const k of highNew) {
        const t = new Track(boxes[k], detections[k].classId, frame);
        if (t.hits >= o.minHits) t.id = nextId++;
        owner[k] = t;
        alive.push(t);
      }
      tracks = alive;

      const out: TrackedDetection<D>[] = [];
      detections.forEach((d, k) => {
        const t = owner[k];
        if (t && t.id > 0) out.push({ ...d, trackId: t.id });
      });
      return out;
    },
  };
}

/**
 * Checks tracker options and fills in the defaults.
 *
 * @throws {TypeError} Unknown key, wrong type. @throws {RangeError} A value out of range (named).
 */
export function validateTrackerOptions(options: unknown): Readonly<Required<TrackerOptions>> {
  assertObject('options', options);
  assertKnownKeys('options', options, TRACKER_OPTION_KEYS);
  const o = { ...TRACKER_DEFAULTS } as Required<TrackerOptions>;
  for (const [k, v] of Object.entries(options)) if (v !== undefined) (o as Record<string, unknown>)[k] = v;
  assertInRange('highThreshold', o.highThreshold, 0, 1);
  assertInRange('lowThreshold', o.lowThreshold, 0, 1);
  if (o.lowThreshold > o.highThreshold)
    throw outOfRangeError('lowThreshold', `number in [0, ${o.highThreshold}] (≤ highThreshold)`, o.lowThreshold);
  for (const name of ['iouThreshold', 'lowIouThreshold'] as const) {
    assertInRange(name, o[name], 0, 1);
    // IoU > 1 never holds: a gate of 1 would match nothing.
    if (o[name] >= 1) throw outOfRangeError(name, 'number in [0, 1)', o[name]);
  }
  assertInteger('minHits', o.minHits, 1);
  assertInteger('maxMissed', o.maxMissed, 0);
  return Object.freeze(o);
}

function assertDetections(detections: unknown): asserts detections is TrackableDetection[] {
  if (!Array.isArray(detections)) throw invalidParameterError('detections', 'Array of detections', detections);
  detections.forEach((d: unknown, k) => {
    if (typeof d !== 'object' || d === null) throw invalidParameterError(`detections[${k}]`, 'detection object', d);
    const { box, score, classId } = d as Partial<TrackableDetection>;
    if (
      typeof box !== 'object' ||
      box === null ||
      ![box.x1, box.y1, box.x2, box.y2].every((v) => typeof v === 'number' && Number.isFinite(v))
    ) {
      throw invalidParameterError(`detections[${k}].box`, '{ x1, y1, x2, y2 } finite numbers', box);
    }
    if (typeof score !== 'number' || Number.isNaN(score))
      throw invalidParameterError(`detections[${k}].score`, 'number', score);
    if (typeof classId !== 'number' || !Number.isInteger(classId))
      throw invalidParameterError(`detections[${k}].classId`, 'integer', classId);
  });
}

type Box = { x1: number; y1: number; x2: number; y2: number };

// Noise of the Kalman filter, relative to the box size (ByteTrack / BoT-SORT).
const STD_POSITION = 1 / 20;
const STD_VELOCITY = 1 / 160;
const MIN_SIZE = 1e-3;

/**
 * The constant-velocity Kalman filter of a track, on (cx, cy, w, h) and their velocities (state order cx, cy, w, h,
 * vcx, vcy, vw, vh). Noise is proportional to the box size (ByteTrack / BoT-SORT): initial standard deviations
 * 2·σp·s for positions and 10·σv·s for velocities, process noise σp·s and σv·s per frame (s = the width for cx and w,
 * the height for cy and h, taken before the step), measurement noise σp·s of the predicted size; σp = 1/20,
 * σv = 1/160. With these diagonal noises and each coordinate moving only with its own velocity, the covariance stays
 * block-diagonal: coordinate i and its velocity form an independent 2-state filter with covariance [[a, b], [b, c]].
 */
export class BoxKalmanFilter {
  private readonly pos = new Float64Array(4);
  private readonly vel = new Float64Array(4);
  private readonly a = new Float64Array(4);
  private readonly b = new Float64Array(4);
  private readonly c = new Float64Array(4);

  /** Starts at `box` (xyxy) with zero velocity. */
  constructor(box: Box) {
    const z = measure(box);
    const scale = [z[2], z[3], z[2], z[3]];
    for (let i = 0; i < 4; i++) {
      this.pos[i] = z[i];
      this.a[i] = (2 * STD_POSITION * scale[i]) ** 2;
      this.c[i] = (10 * STD_VELOCITY * scale[i]) ** 2;
    }
  }

  /** Advances `steps` frames; `freezeSize` first zeroes the velocities of w and h (a track that went unmatched). */
  predict(steps = 1, freezeSize = false): void {
    if (freezeSize) {
      this.vel[2] = 0;
      this.vel[3] = 0;
    }
    for (let s = 0; s < steps; s++) {
      const w = Math.max(this.pos[2], MIN_SIZE);
      const h = Math.max(this.pos[3], MIN_SIZE);
      const scale = [w, h, w, h];
      for (let i = 0; i < 4; i++) {
        this.pos[i] += this.vel[i];
        const a = this.a[i];
        const b = this.b[i];
        const c = this.c[i];
        this.a[i] = a + 2 * b + c + (STD_POSITION * scale[i]) ** 2;
        this.b[i] = b + c;
        this.c[i] = c + (STD_VELOCITY * scale[i]) ** 2;
      }
    }
  }

  /** The Kalman update with a measured box (xyxy). */
  correct(box: Box): void {
    const z = measure(box);
    const w = Math.max(this.pos[2], MIN_SIZE);
    const h = Math.max(this.pos[3], MIN_SIZE);
    const scale = [w, h, w, h];
    for (let i = 0; i < 4; i++) {
      const r = (STD_POSITION * scale[i]) ** 2;
      const a = this.a[i];
      const b = this.b[i];
      const s = a + r;
      const y = z[i] - this.pos[i];
      this.pos[i] += (a / s) * y;
      this.vel[i] += (b / s) * y;
      this.a[i] = (a * r) / s;
      this.b[i] = (b * r) / s;
      this.c[i] -= (b * b) / s;
    }
  }

  /** The state's box (xyxy), width and height at least 1e-3. */
  box(): Box {
    const w = Math.max(this.pos[2], MIN_SIZE);
    const h = Math.max(this.pos[3], MIN_SIZE);
    return { x1: this.pos[0] - w / 2, y1: this.pos[1] - h / 2, x2: this.pos[0] + w / 2, y2: this.pos[1] + h / 2 };
  }

  /** The state mean: cx, cy, w, h, vcx, vcy, vw, vh. */
  mean(): number[] {
    return [...this.pos, ...this.vel];
  }

  /** The full 8×8 covariance (row-major, same order as `mean`). */
  covariance(): number[][] {
    const p = Array.from({ length: 8 }, () => new Array<number>(8).fill(0));
    for (let i = 0; i < 4; i++) {
      p[i][i] = this.a[i];
      p[i][i + 4] = this.b[i];
      p[i + 4][i] = this.b[i];
      p[i + 4][i + 4] = this.c[i];
    }
    return p;
  }
}

/** One track: its filter, class, confirmation state and the last frame it was matched on. */
class Track {
  /** 0 while tentative, then the reported id. */
  id = 0;
  hits = 1;
  lastSeen: number;
  readonly classId: number;
  private readonly filter: BoxKalmanFilter;

  constructor(box: Box, classId: number, frame: number) {
    this.classId = classId;
    this.lastSeen = frame;
    this.filter = new BoxKalmanFilter(box);
  }

  /**
   * Advances the state by `steps` frames. A track that was not matched on the previous update (`previousFrame`)
   * stops changing size (BoT-SORT), so a long gap cannot shrink or blow up its box.
   */
  predict(steps: number, previousFrame: number): void {
    this.filter.predict(steps, this.lastSeen < previousFrame);
  }

  /** Kalman update with a matched detection's box on `frame`. */
  correct(box: Box, frame: number): void {
    this.filter.correct(box);
    // Tentative tracks are dropped at their first miss, so their hits are consecutive.
    this.hits++;
    this.lastSeen = frame;
  }

  box(): Box {
    return this.filter.box();
  }
}

/** (cx, cy, w, h) of an xyxy box. */
function measure(b: Box): [number, number, number, number] {
  return [(b.x1 + b.x2) / 2, (b.y1 + b.y2) / 2, b.x2 - b.x1, b.y2 - b.y1];
}

/** IoU of two xyxy boxes; 0 when the union is empty. */
export function iou(p: Box, q: Box): number {
  const iw = Math.min(p.x2, q.x2) - Math.max(p.x1, q.x1);
  const ih = Math.min(p.y2, q.y2) - Math.max(p.y1, q.y1);
  if (iw <= 0 || ih <= 0) return 0;
  const inter = iw * ih;
  const union = (p.x2 - p.x1) * (p.y2 - p.y1) + (q.x2 - q.x1) * (q.y2 - q.y1) - inter;
  return union > 0 ? inter / union : 0;
}

/**
 * Optimal class-aware IoU matching: pairs (track, detection) of the same class with IoU > gate, maximizing
 * Σ (IoU − gate). Returns [trackIndex, detectionIndex] pairs.
 *
 * Pairs at or below the gate cost nothing (they stay unmatched), so the problem splits exactly into the connected
 * components of the graph of pairs above the gate; each is solved on its own (a lone pair directly), which keeps a
 * crowded scene of objects far apart from costing O(n³).
 */
export function matchByIou(
  trackBoxes: readonly Box[],
  trackClasses: readonly number[],
  detBoxes: readonly Box[],
  detClasses: readonly number[],
  gate: number,
): Array<[number, number]> {
  const n = trackBoxes.length;
  const m = detBoxes.length;
  if (n === 0 || m === 0) return [];
  const edges: Array<[number, number, number]> = [];
  // Union-find over the n tracks (0…n-1) and m detections (n…n+m-1).
  const parent = Int32Array.from({ length: n + m }, (_, k) => k);
  const find = (k: number): number => {
    while (parent[k] !== k) {
      parent[k] = parent[parent[k]];
      k = parent[k];
    }
    return k;
  };
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < m; j++) {
      if (trackClasses[i] !== detClasses[j]) continue;
      const v = iou(trackBoxes[i], detBoxes[j]);
      if (v > gate) {
        edges.push([i, j, v]);
        parent[find(i)] = find(n + j);
      }
    }
  }
  const components = new Map<number, Array<[number, number, number]>>();
  for (const e of edges) {
    const root = find(e[0]);
    const list = components.get(root);
    if (list) list.push(e);
    else components.set(root, [e]);
  }
  const pairs: Array<[number, number]> = [];
  for (const list of components.values()) {
    if (list.length === 1) {
      pairs.push([list[0][0], list[0][1]]);
      continue;
    }
    const rows = [...new Set(list.map((e) => e[0]))];
    const cols = [...new Set(list.map((e) => e[1]))];
    const rowOf = new Map(rows.map((r, k) => [r, k]));
    const colOf = new Map(cols.map((c, k) => [c, k]));
    const cost = new Float64Array(rows.length * cols.length);
    for (const [i, j, v] of list) cost[rowOf.get(i)! * cols.length + colOf.get(j)!] = gate - v;
    const assignment = linearAssignment(cost, rows.length, cols.length);
    assignment.forEach((c, r) => {
      if (c >= 0 && cost[r * cols.length + c] < 0) pairs.push([rows[r], cols[c]]);
    });
  }
  return pairs;
}

/**
 * The linear assignment problem (Hungarian algorithm, Kuhn–Munkres with potentials, O(n²·m) for n ≤ m): assigns
 * min(rows, cols) rows to distinct columns with the least total cost.
 *
 * @param cost Row-major costs [rows·cols], finite.
 * @returns For each row, its column, or -1 for a row left out (only when rows > cols).
 * @example
 * linearAssignment(Float64Array.of(4, 1, 3, 2, 0, 5), 2, 3); // Int32Array [1, 0]   (cost 1 + 2)
 */
export function linearAssignment(cost: ArrayLike<number>, rows: number, cols: number): Int32Array {
  const result = new Int32Array(rows).fill(-1);
  if (rows === 0 || cols === 0) return result;
  const transpose = rows > cols;
  const n = transpose ? cols : rows;
  const m = transpose ? rows : cols;
  const at = transpose ? (i: number, j: number) => cost[j * cols + i] : (i: number, j: number) => cost[i * cols + j];
  // 1-based arrays; column 0 is the virtual start.
  const u = new Float64Array(n + 1);
  const v = new Float64Array(m + 1);
  const p = new Int32Array(m + 1); // p[j]: row assigned to column j (0 = none)
  const way = new Int32Array(m + 1);
  const minv = new Float64Array(m + 1);
  const used = new Uint8Array(m + 1);
  for (let i = 1; i <= n; i++) {
    p[0] = i;
    let j0 = 0;
    minv.fill(Infinity);
    used.fill(0);
    do {
      used[j0] = 1;
      const i0 = p[j0];
      let delta = Infinity;
      let j1 = 0;
      for (let j = 1; j <= m; j++) {
        if (used[j]) continue;
        const cur = at(i0 - 1, j - 1) - u[i0] - v[j];
        if (cur < minv[j]) {
          minv[j] = cur;
          way[j] = j0;
        }
        if (minv[j] < delta) {
          delta = minv[j];
          j1 = j;
        }
      }
      for (let j = 0; j <= m; j++) {
        if (used[j]) {
          u[p[j]] += delta;
          v[j] -= delta;
        } else {
          minv[j] -= delta;
        }
      }
      j0 = j1;
    } while (p[j0] !== 0);
    do {
      const j1 = way[j0];
      p[j0] = p[j1];
      j0 = j1;
    } while (j0 !== 0);
  }
  for (let j = 1; j <= m; j++) {
    if (p[j] === 0) continue;
    if (transpose) result[j - 1] = p[j] - 1;
    else result[p[j] - 1] = j - 1;
  }
  return result;
}
