/**
 * Multi-object tracking test kit: generated sequences with ground-truth identities, the CLEAR MOT counts (id
 * switches, fragmentations, misses, false positives) and a plain IoU tracker to compare against. Nothing here uses
 * lib/stream/tracker.ts, so the counts are an independent reference for it.
 */
import { mulberry32, type Rng } from './random.ts';

export type Box = { x1: number; y1: number; x2: number; y2: number };
export interface Det {
  label: string;
  classId: number;
  score: number;
  box: Box;
}
export interface Hypothesis {
  trackId: number;
  box: Box;
}
/** One ground-truth object visible on a frame. */
export interface GtBox {
  id: number;
  classId: number;
  box: Box;
}

export interface Sequence {
  name: string;
  /** Per frame: the objects visible (the truth the counts are measured against). */
  gt: GtBox[][];
  /** Per frame: what a detector saw (jittered, missed, low scores, false positives). */
  detections: Det[][];
}

/** One object of a generated sequence: a straight constant-velocity path, and what the detector does on it. */
export interface ObjectSpec {
  classId: number;
  /** Centre and size on the first frame it exists. */
  cx: number;
  cy: number;
  w: number;
  h: number;
  /** Pixels per frame. */
  vx: number;
  vy: number;
  /** First and last frame it exists (default the whole sequence). */
  from?: number;
  to?: number;
  /** Frames [start, end) where it is hidden: not in the truth, never detected. */
  hidden?: Array<[number, number]>;
  /** Frames [start, end) where its detection score is `score` (a dip), e.g. [[10, 16, 0.3]]. */
  scoreDips?: Array<[number, number, number]>;
}

export interface SequenceSpec {
  name: string;
  frames: number;
  objects: ObjectSpec[];
  seed: number;
  /** Standard deviation of the box jitter, as a fraction of the box size (default 0.03). */
  jitter?: number;
  /** Probability that a visible object is not detected on a frame (default 0). */
  missRate?: number;
  /** Expected false positives per frame (small random boxes, default 0). */
  falsePositives?: number;
  /** Score of an ordinary detection: uniform in [lo, hi] (default [0.6, 0.95]). */
  scores?: [number, number];
}

const LABELS = ['background', 'person', 'dog', 'car'];

/** Standard normal (Box–Muller). */
function gauss(rng: Rng): number {
  return Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
}

/** Builds a sequence from its spec (deterministic for a seed). */
export function makeSequence(spec: SequenceSpec): Sequence {
  const rng = mulberry32(spec.seed);
  const jitter = spec.jitter ?? 0.03;
  const [slo, shi] = spec.scores ?? [0.6, 0.95];
  const gt: GtBox[][] = [];
  const detections: Det[][] = [];
  for (let f = 0; f < spec.frames; f++) {
    const truth: GtBox[] = [];
    const dets: Det[] = [];
    spec.objects.forEach((o, id) => {
      const from = o.from ?? 0;
      const to = o.to ?? spec.frames - 1;
      if (f < from || f > to) return;
      if (o.hidden?.some(([a, b]) => f >= a && f < b)) return;
      const cx = o.cx + o.vx * (f - from);
      const cy = o.cy + o.vy * (f - from);
      const box = { x1: cx - o.w / 2, y1: cy - o.h / 2, x2: cx + o.w / 2, y2: cy + o.h / 2 };
      truth.push({ id: id + 1, classId: o.classId, box });
      if (rng() < (spec.missRate ?? 0)) return;
      const dip = o.scoreDips?.find(([a, b]) => f >= a && f < b);
      const score = dip ? dip[2] : slo + (shi - slo) * rng();
      const jx = jitter * o.w;
      const jy = jitter * o.h;
      const x1 = box.x1 + jx * gauss(rng);
      const x2 = box.x2 + jx * gauss(rng);
      const y1 = box.y1 + jy * gauss(rng);
      const y2 = box.y2 + jy * gauss(rng);
      dets.push({
        label: LABELS[o.classId],
        classId: o.classId,
        score,
        box: { x1: Math.min(x1, x2), y1: Math.min(y1, y2), x2: Math.max(x1, x2), y2: Math.max(y1, y2) },
      });
    });
    const fps = spec.falsePositives ?? 0;
    for (let k = 0; k < 5; k++) {
      if (rng() >= fps / 5) continue;
      const x = 600 * rng();
      const y = 400 * rng();
      const s = 10 + 30 * rng();
      dets.push({ label: 'person', classId: 1, score: 0.5 + 0.2 * rng(), box: { x1: x, y1: y, x2: x + s, y2: y + s } });
    }
    // A detector lists its detections by decreasing score.
    dets.sort((p, q) => q.score - p.score);
    gt.push(truth);
    detections.push(dets);
  }
  return { name: spec.name, gt, detections };
}

export function iou(p: Box, q: Box): number {
  const iw = Math.min(p.x2, q.x2) - Math.max(p.x1, q.x1);
  const ih = Math.min(p.y2, q.y2) - Math.max(p.y1, q.y1);
  if (iw <= 0 || ih <= 0) return 0;
  const inter = iw * ih;
  return inter / ((p.x2 - p.x1) * (p.y2 - p.y1) + (q.x2 - q.x1) * (q.y2 - q.y1) - inter);
}

/**
 * Maximum matching by exhaustive search (the frames here hold a handful of objects): the most pairs with IoU ≥ t,
 * ties broken by the largest IoU sum. Returns [gtIndex, hypIndex] pairs.
 */
function bestMatching(gts: Box[], hyps: Box[], t: number): Array<[number, number]> {
  let best: Array<[number, number]> = [];
  let bestCount = -1;
  let bestSum = -1;
  const used = new Array<boolean>(hyps.length).fill(false);
  const current: Array<[number, number]> = [];
  const visit = (g: number, sum: number) => {
    if (g === gts.length) {
      if (current.length > bestCount || (current.length === bestCount && sum > bestSum)) {
        best = current.slice();
        bestCount = current.length;
        bestSum = sum;
      }
      return;
    }
    visit(g + 1, sum); // g unmatched
    for (let h = 0; h < hyps.length; h++) {
      if (used[h]) continue;
      const v = iou(gts[g], hyps[h]);
      if (v < t) continue;
      used[h] = true;
      current.push([g, h]);
      visit(g + 1, sum + v);
      current.pop();
      used[h] = false;
    }
  };
  visit(0, 0);
  return best;
}

export interface MotCounts {
  /** Ground-truth boxes over all frames. */
  gt: number;
  matches: number;
  misses: number;
  falsePositives: number;
  /** A ground-truth object matched to a different track id than on its last match (CLEAR MOT). */
  idSwitches: number;
  /** A ground-truth trajectory that stops being tracked and is tracked again later (counted per interruption). */
  fragmentations: number;
  /** 1 − (misses + false positives + id switches) / gt. */
  mota: number;
  /** Distinct track ids reported. */
  ids: number;
}

/**
 * The CLEAR MOT counts (Bernardin & Stiefelhagen 2008, as in MOTChallenge / py-motmetrics): per frame, a ground-truth
 * object keeps its previous hypothesis if that one is still present with IoU ≥ `threshold`; the rest are matched
 * anew (most pairs, then largest IoU). An id switch is a match to another id than the object's last match;
 * a fragmentation is an interruption (tracked → not tracked) of a trajectory that is tracked again later.
 *
 * @throws {Error} A frame of hypotheses with a duplicate track id.
 */
export function countMot(gtFrames: GtBox[][], hypFrames: Hypothesis[][], threshold = 0.5): MotCounts {
  if (gtFrames.length !== hypFrames.length) throw new Error('gt and hypotheses differ in frame count');
  const last = new Map<number, number>(); // gt id -> last matched track id
  const tracked = new Map<number, boolean[]>(); // gt id -> matched? on each frame it is present
  const ids = new Set<number>();
  let gt = 0;
  let matches = 0;
  let falsePositives = 0;
  let idSwitches = 0;
  gtFrames.forEach((gts, f) => {
    const hyps = hypFrames[f];
    const seen = new Set<number>();
    for (const h of hyps) {
      if (seen.has(h.trackId)) throw new Error(`frame ${f}: track id ${h.trackId} reported twice`);
      seen.add(h.trackId);
      ids.add(h.trackId);
    }
    gt += gts.length;
    const pairs: Array<[number, number]> = [];
    const gtDone = new Set<number>();
    const hypDone = new Set<number>();
    // Keep the previous correspondences that still hold.
    gts.forEach((g, gi) => {
      const prev = last.get(g.id);
      if (prev === undefined) return;
      const hi = hyps.findIndex((h) => h.trackId === prev);
      if (hi >= 0 && !hypDone.has(hi) && iou(g.box, hyps[hi].box) >= threshold) {
        pairs.push([gi, hi]);
        gtDone.add(gi);
        hypDone.add(hi);
      }
    });
    const restG = gts.map((_, i) => i).filter((i) => !gtDone.has(i));
    const restH = hyps.map((_, i) => i).filter((i) => !hypDone.has(i));
    for (const [a, b] of bestMatching(
      restG.map((i) => gts[i].box),
      restH.map((i) => hyps[i].box),
      threshold,
    )) {
      pairs.push([restG[a], restH[b]]);
    }
    const matchedG = new Set<number>();
    for (const [gi, hi] of pairs) {
      const id = gts[gi].id;
      const prev = last.get(id);
      if (prev !== undefined && prev !== hyps[hi].trackId) idSwitches++;
      last.set(id, hyps[hi].trackId);
      matchedG.add(gi);
    }
    matches += pairs.length;
    falsePositives += hyps.length - pairs.length;
    gts.forEach((g, gi) => {
      if (!tracked.has(g.id)) tracked.set(g.id, []);
      tracked.get(g.id)!.push(matchedG.has(gi));
    });
  });
  let fragmentations = 0;
  for (const states of tracked.values()) {
    const first = states.indexOf(true);
    const lastTrue = states.lastIndexOf(true);
    for (let k = first + 1; first >= 0 && k <= lastTrue; k++) if (states[k - 1] && !states[k]) fragmentations++;
  }
  const misses = gt - matches;
  return {
    gt,
    matches,
    misses,
    falsePositives,
    idSwitches,
    fragmentations,
    mota: 1 - (misses + falsePositives + idSwitches) / gt,
    ids: ids.size,
  };
}

export interface PlainIouOptions {
  /** Detections below this score are ignored (default 0.5). */
  scoreThreshold?: number;
  /** A detection continues a track when IoU with the track's last box ≥ this (default 0.3). */
  iouThreshold?: number;
  minHits?: number;
  maxMissed?: number;
}

/**
 * The plain IoU tracker other tools ship (Bochinski et al. 2017, with a missed-frame tolerance): no motion model,
 * greedy matching by decreasing IoU against each track's last box, class-aware, one score threshold. Same life
 * cycle as ours: tentative until `minHits` consecutive matches, ends after `maxMissed` unmatched frames.
 */
export function plainIouTracker(options: PlainIouOptions = {}) {
  const { scoreThreshold = 0.5, iouThreshold = 0.3, minHits = 2, maxMissed = 30 } = options;
  type T = { id: number; classId: number; box: Box; hits: number; lastSeen: number };
  let tracks: T[] = [];
  let nextId = 1;
  let frame = -1;
  return {
    update(detections: readonly Det[]): Array<Det & { trackId: number }> {
      frame++;
      const dets = detections.filter((d) => d.score >= scoreThreshold);
      const pairs: Array<[number, number, number]> = [];
      tracks.forEach((t, ti) => {
        dets.forEach((d, di) => {
          if (d.classId !== t.classId) return;
          const v = iou(t.box, d.box);
          if (v >= iouThreshold) pairs.push([v, ti, di]);
        });
      });
      pairs.sort((p, q) => q[0] - p[0]);
      const tUsed = new Set<number>();
      const owner = new Map<number, T>();
      for (const [, ti, di] of pairs) {
        if (tUsed.has(ti) || owner.has(di)) continue;
        tUsed.add(ti);
        const t = tracks[ti];
        t.box = dets[di].box;
        t.hits++;
        t.lastSeen = frame;
        if (t.id === 0 && t.hits >= minHits) t.id = nextId++;
        owner.set(di, t);
      }
      tracks = tracks.filter((t, ti) => tUsed.has(ti) || (t.id > 0 && frame - t.lastSeen <= maxMissed));
      dets.forEach((d, di) => {
        if (owner.has(di)) return;
        const t: T = { id: 0, classId: d.classId, box: d.box, hits: 1, lastSeen: frame };
        if (minHits <= 1) t.id = nextId++;
        tracks.push(t);
        owner.set(di, t);
      });
      const out: Array<Det & { trackId: number }> = [];
      dets.forEach((d, di) => {
        const t = owner.get(di)!;
        if (t.id > 0) out.push({ ...d, trackId: t.id });
      });
      return out;
    },
  };
}

/** Runs a tracker over a sequence and counts. */
export function runTracker(
  sequence: Sequence,
  update: (detections: Det[], frame: number) => Array<{ trackId: number; box: Box }>,
): MotCounts {
  const hyps = sequence.detections.map((dets, f) => update(dets, f).map((d) => ({ trackId: d.trackId, box: d.box })));
  return countMot(sequence.gt, hyps);
}

/** Sums counts over sequences (mota recomputed from the sums). */
export function sumCounts(all: MotCounts[]): MotCounts {
  const s = { gt: 0, matches: 0, misses: 0, falsePositives: 0, idSwitches: 0, fragmentations: 0, mota: 0, ids: 0 };
  for (const c of all) {
    s.gt += c.gt;
    s.matches += c.matches;
    s.misses += c.misses;
    s.falsePositives += c.falsePositives;
    s.idSwitches += c.idSwitches;
    s.fragmentations += c.fragmentations;
    s.ids += c.ids;
  }
  s.mota = 1 - (s.misses + s.falsePositives + s.idSwitches) / s.gt;
  return s;
}

/** A hand annotation of a video (test/fixtures/stream/*.pedestrians.json): key-frame boxes per pedestrian. */
export interface VideoAnnotation {
  width: number;
  height: number;
  frames: number;
  pedestrians: Array<{ id: number; keys: Record<string, number[]>; hidden?: Array<[number, number]> }>;
}

/**
 * The ground truth of an annotation: on each frame, every pedestrian between its first and last key frame and not
 * hidden, with its box linearly interpolated between the key frames around it (class 1, 'person').
 */
export function annotationTruth(a: VideoAnnotation): GtBox[][] {
  const gt: GtBox[][] = Array.from({ length: a.frames }, () => []);
  for (const p of a.pedestrians) {
    const keys = Object.keys(p.keys)
      .map(Number)
      .sort((x, y) => x - y);
    for (let f = keys[0]; f <= keys[keys.length - 1]; f++) {
      if (p.hidden?.some(([s, e]) => f >= s && f <= e)) continue;
      const k = keys.findIndex((key) => key >= f);
      const hi = keys[k];
      const lo = keys[Math.max(0, k - 1)];
      const t = hi === lo ? 0 : (f - lo) / (hi - lo);
      const [x1, y1, x2, y2] = p.keys[lo].map((v, i) => v + t * (p.keys[hi][i] - v));
      gt[f].push({ id: p.id, classId: 1, box: { x1, y1, x2, y2 } });
    }
  }
  return gt;
}

/**
 * A simulated person detector over ground-truth boxes: each visible box jittered by `jitter` of its size, missed
 * with probability `missRate`, scored in [0.55, 0.9] — or in [0.2, 0.45] when more than `occludedFraction` of it is
 * covered by a box nearer the camera (lower bottom edge), the score dip a real detector shows on a partly hidden
 * person.
 */
export function simulateDetector(
  gt: GtBox[][],
  seed: number,
  { jitter = 0.03, missRate = 0.1, occludedFraction = 0.3 } = {},
): Det[][] {
  const rng = mulberry32(seed);
  return gt.map((boxes) => {
    const dets: Det[] = [];
    for (const g of boxes) {
      const miss = rng() < missRate;
      const area = (g.box.x2 - g.box.x1) * (g.box.y2 - g.box.y1);
      const covered = Math.max(
        0,
        ...boxes
          .filter((o) => o !== g && o.box.y2 > g.box.y2)
          .map((o) => {
            const iw = Math.min(g.box.x2, o.box.x2) - Math.max(g.box.x1, o.box.x1);
            const ih = Math.min(g.box.y2, o.box.y2) - Math.max(g.box.y1, o.box.y1);
            return iw > 0 && ih > 0 ? (iw * ih) / area : 0;
          }),
      );
      const score = covered > occludedFraction ? 0.2 + 0.25 * rng() : 0.55 + 0.35 * rng();
      const w = g.box.x2 - g.box.x1;
      const h = g.box.y2 - g.box.y1;
      const x1 = g.box.x1 + jitter * w * gauss(rng);
      const x2 = g.box.x2 + jitter * w * gauss(rng);
      const y1 = g.box.y1 + jitter * h * gauss(rng);
      const y2 = g.box.y2 + jitter * h * gauss(rng);
      if (miss) continue;
      dets.push({
        label: 'person',
        classId: 1,
        score,
        box: { x1: Math.min(x1, x2), y1: Math.min(y1, y2), x2: Math.max(x1, x2), y2: Math.max(y1, y2) },
      });
    }
    return dets.sort((p, q) => q.score - p.score);
  });
}
