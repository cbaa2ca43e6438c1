/**
 * The tracker (lib/stream/tracker.ts) on generated sequences with ground-truth identities: id switches and
 * fragmentations counted per CLEAR MOT (test/helpers/mot.ts), compared with a plain IoU tracker on the same
 * sequences; hand-made cases for the life cycle (minHits, maxMissed, frame gaps, reset) and the option checks.
 * The Hungarian solver is checked against brute force in tracker-assignment.test.ts.
 */
import test from 'ava';
import { createTracker, type TrackerOptions } from '../../../lib/stream/tracker.ts';
import {
  countMot,
  type Det,
  makeSequence,
  type MotCounts,
  plainIouTracker,
  runTracker,
  type SequenceSpec,
  sumCounts,
} from '../../helpers/mot.ts';
import { mulberry32 } from '../../helpers/random.ts';

const SEEDS = [1, 2, 3, 4, 5, 6, 7, 8];

const ours = (spec: SequenceSpec, options?: TrackerOptions): MotCounts => {
  const tracker = createTracker(options);
  return runTracker(makeSequence(spec), (d, f) => tracker.update(d, f));
};
const plain = (spec: SequenceSpec): MotCounts => {
  const tracker = plainIouTracker();
  return runTracker(makeSequence(spec), (d) => tracker.update(d));
};
const both = (specs: SequenceSpec[]) => ({
  ours: sumCounts(specs.map((s) => ours(s))),
  plain: sumCounts(specs.map(plain)),
});

/** Two people walking towards each other on nearly the same line; the one behind is hidden for `hide` frames. */
function crossing(seed: number, hide: number): SequenceSpec {
  const r = mulberry32(seed * 7 + 1);
  const v = 3 + 5 * r();
  const dy = 30 * r() - 15;
  const meet = Math.round(250 / v);
  const start = meet - Math.floor(hide / 2);
  return {
    name: `crossing seed ${seed} hidden ${hide}`,
    frames: 80,
    seed,
    objects: [
      { classId: 1, cx: 50, cy: 200, w: 40, h: 90, vx: v, vy: 0 },
      { classId: 1, cx: 550, cy: 200 + dy, w: 40, h: 90, vx: -v, vy: 0, hidden: hide ? [[start, start + hide]] : [] },
    ],
  };
}

/** Three objects moving right at 3–8 px/frame, each hidden for k frames somewhere in frames 10–40. */
function occlusion(seed: number, k: number, extra: Partial<SequenceSpec> = {}): SequenceSpec {
  const r = mulberry32(seed * 13 + 5);
  const objects = [0, 1, 2].map((i) => {
    const start = 10 + Math.floor(20 * r());
    return {
      classId: 1,
      cx: 40,
      cy: 60 + 130 * i,
      w: 40 + 20 * r(),
      h: 80 + 30 * r(),
      vx: 3 + 5 * r(),
      vy: (r() - 0.5) * 2,
      hidden: [[start, start + k]] as Array<[number, number]>,
    };
  });
  return { name: `occlusion seed ${seed} k ${k}`, frames: 60, seed, objects, ...extra };
}

test('CLEAR MOT counting: id switches, fragmentations, misses and false positives of hand-made hypotheses', (t) => {
  const g = (x: number) => [{ id: 1, classId: 1, box: { x1: x, y1: 0, x2: x + 10, y2: 10 } }];
  const h = (id: number, x: number) => [{ trackId: id, box: { x1: x, y1: 0, x2: x + 10, y2: 10 } }];
  const gt = [g(0), g(1), g(2), g(3), g(4)];
  // Same id throughout: perfect.
  t.like(countMot(gt, [h(1, 0), h(1, 1), h(1, 2), h(1, 3), h(1, 4)]), {
    idSwitches: 0,
    fragmentations: 0,
    misses: 0,
    falsePositives: 0,
    mota: 1,
  });
  // 1 → 2 → 1: two switches, no interruption.
  t.like(countMot(gt, [h(1, 0), h(1, 1), h(2, 2), h(1, 3), h(1, 4)]), { idSwitches: 2, fragmentations: 0 });
  // A gap then a new id: one fragmentation, one switch (measured against the last match, across the gap), one miss.
  t.like(countMot(gt, [h(1, 0), h(1, 1), [], h(2, 3), h(2, 4)]), { idSwitches: 1, fragmentations: 1, misses: 1 });
  // A gap then the same id: a fragmentation only.
  t.like(countMot(gt, [h(1, 0), [], [], h(1, 3), h(1, 4)]), { idSwitches: 0, fragmentations: 1, misses: 2 });
  // Not tracked at the start or the end: misses, no fragmentation.
  t.like(countMot(gt, [[], h(1, 1), h(1, 2), h(1, 3), []]), { fragmentations: 0, misses: 2 });
  // A box too far away (IoU < 0.5) is a miss plus a false positive.
  t.like(countMot(gt, [h(1, 0), h(1, 1), h(1, 8), h(1, 3), h(1, 4)]), {
    misses: 1,
    falsePositives: 1,
    idSwitches: 0,
    fragmentations: 1,
  });
  // A kept correspondence wins over a better-overlapping newcomer (no switch).
  const two = [
    [{ trackId: 1, box: { x1: 2, y1: 0, x2: 12, y2: 10 } }],
    [
      { trackId: 1, box: { x1: 3, y1: 0, x2: 13, y2: 10 } },
      { trackId: 2, box: { x1: 1, y1: 0, x2: 11, y2: 10 } },
    ],
  ];
  t.like(countMot([g(0), g(1)], two), { idSwitches: 0, falsePositives: 1 });
  t.throws(() => countMot([g(0)], [[...h(3, 0), ...h(3, 0)]]), { message: /track id 3 reported twice/ });
});

test('crossing objects: no id switch, fewer than the plain IoU tracker, with and without the one behind hidden', (t) => {
  for (const hide of [0, 4, 8]) {
    const r = both(SEEDS.map((s) => crossing(s, hide)));
    t.log(`hidden ${hide}: ours ${JSON.stringify(r.ours)} plain ${JSON.stringify(r.plain)}`);
    t.is(r.ours.idSwitches, 0, `hidden ${hide}`);
    t.is(r.ours.ids, 2 * SEEDS.length, `hidden ${hide}: one id per object`);
    t.is(r.ours.falsePositives, 0);
    if (hide > 0) {
      t.true(r.plain.idSwitches > 0, `hidden ${hide}: the plain tracker loses the hidden one`);
      t.true(r.ours.fragmentations < r.plain.fragmentations);
    }
    t.true(r.ours.idSwitches <= r.plain.idSwitches);
  }
});

test('occlusions of k frames: the motion model keeps the id (k ≤ maxMissed), the plain IoU tracker does not', (t) => {
  for (const k of [3, 8, 15, 25]) {
    const r = both(SEEDS.map((s) => occlusion(s, k)));
    t.log(`k ${k}: ours ${JSON.stringify(r.ours)} plain ${JSON.stringify(r.plain)}`);
    t.is(r.ours.idSwitches, 0, `k ${k}`);
    t.is(r.ours.fragmentations, 0, `k ${k}`);
    t.is(r.ours.ids, 3 * SEEDS.length);
    t.true(r.plain.idSwitches >= SEEDS.length, `k ${k}: plain switches ${r.plain.idSwitches}`);
  }
  // Hidden longer than maxMissed: the track has ended, the object comes back with a new id (one switch each).
  const long = sumCounts(SEEDS.map((s) => ours(occlusion(s, 12), { maxMissed: 5 })));
  t.is(long.idSwitches, 3 * SEEDS.length);
});

test('missed detections and false positives: ids persist through random misses', (t) => {
  const specs = SEEDS.map((s) => occlusion(s, 0, { missRate: 0.25, falsePositives: 0.3, seed: 100 + s }));
  const r = both(specs);
  t.log(`ours ${JSON.stringify(r.ours)} plain ${JSON.stringify(r.plain)}`);
  t.is(r.ours.idSwitches, 0);
  t.true(r.ours.idSwitches <= r.plain.idSwitches);
  t.true(r.ours.mota >= r.plain.mota);
  // A miss is a frame without a detection: the tracker reports nothing there, so each miss interrupts the
  // trajectory at most once and the id comes back.
  t.true(r.ours.fragmentations <= r.ours.misses);
});

test('score dips below highThreshold: the low-score pass keeps the track reported, a single pass loses it', (t) => {
  const specs = SEEDS.map((s) => {
    const r = mulberry32(s);
    const start = 15 + Math.floor(10 * r());
    return {
      name: `dip ${s}`,
      frames: 50,
      seed: s,
      objects: [
        { classId: 1, cx: 60, cy: 150, w: 50, h: 100, vx: 4 + 3 * r(), vy: 0, scoreDips: [[start, start + 8, 0.3]] },
        { classId: 1, cx: 60, cy: 320, w: 50, h: 100, vx: 3, vy: 0 },
      ],
    } as SequenceSpec;
  });
  const two = sumCounts(specs.map((s) => ours(s)));
  const onePass = sumCounts(specs.map((s) => ours(s, { lowThreshold: 0.5 })));
  const p = sumCounts(specs.map(plain));
  t.log(`two passes ${JSON.stringify(two)}; one pass ${JSON.stringify(onePass)}; plain ${JSON.stringify(p)}`);
  t.is(two.idSwitches, 0);
  t.is(two.fragmentations, 0);
  t.is(two.misses, 2 * SEEDS.length); // only each object's first frame (minHits 2)
  t.is(onePass.fragmentations, SEEDS.length); // the dip interrupts each dipping track once…
  t.is(onePass.idSwitches, 0); // …and the motion model brings its id back
  t.true(onePass.misses >= two.misses + 8 * SEEDS.length);
  t.true(p.fragmentations >= SEEDS.length);
});

test('jittered boxes: ids persist under 8 % box noise', (t) => {
  const specs = SEEDS.map((s) => occlusion(s, 5, { jitter: 0.08, seed: 200 + s }));
  const r = both(specs);
  t.log(`ours ${JSON.stringify(r.ours)} plain ${JSON.stringify(r.plain)}`);
  t.is(r.ours.idSwitches, 0);
  t.true(r.ours.idSwitches < r.plain.idSwitches);
});

test('two classes overlapping: a person and a dog on the same spot keep separate tracks of their own class', (t) => {
  for (const s of SEEDS) {
    const spec: SequenceSpec = {
      name: `two classes ${s}`,
      frames: 40,
      seed: s,
      objects: [
        { classId: 1, cx: 100, cy: 200, w: 60, h: 120, vx: 4, vy: 0 },
        { classId: 2, cx: 104, cy: 205, w: 60, h: 110, vx: 4, vy: 0.2 }, // IoU ≈ 0.8 with the person
        { classId: 2, cx: 500, cy: 200, w: 60, h: 120, vx: -5, vy: 0 }, // crosses the person
      ],
    };
    const seq = makeSequence(spec);
    const tracker = createTracker();
    const classOf = new Map<number, number>();
    const hyps = seq.detections.map((dets, f) =>
      tracker.update(dets, f).map((d) => {
        if (!classOf.has(d.trackId)) classOf.set(d.trackId, d.classId);
        t.is(classOf.get(d.trackId), d.classId, 'a track never changes class');
        return { trackId: d.trackId, box: d.box };
      }),
    );
    const c = countMot(seq.gt, hyps);
    t.is(c.idSwitches, 0, spec.name);
    t.is(c.ids, 3, spec.name);
  }
});

// --- hand-made cases -----------------------------------------------------------------------------

const det = (x: number, score = 0.9, classId = 1, y = 0, w = 20, h = 40): Det => ({
  label: classId === 1 ? 'person' : 'dog',
  classId,
  score,
  box: { x1: x, y1: y, x2: x + w, y2: y + h },
});

test('minHits: a track is reported from its minHits-th consecutive match, with the detection as given', (t) => {
  for (const minHits of [1, 2, 4]) {
    const tracker = createTracker({ minHits });
    const reported = [0, 1, 2, 3, 4, 5].map((f) => tracker.update([det(5 * f)]));
    reported.forEach((r, f) => t.is(r.length, f + 1 >= minHits ? 1 : 0, `minHits ${minHits}, frame ${f}`));
    const last = reported[5][0];
    t.deepEqual(last, { ...det(25), trackId: 1 });
  }
  // A tentative track that misses once is dropped: its next detection starts over.
  const tracker = createTracker({ minHits: 3 });
  tracker.update([det(0)]);
  tracker.update([det(2)]);
  tracker.update([]);
  t.deepEqual(tracker.update([det(6)]), []);
  t.deepEqual(tracker.update([det(8)]), []);
  t.is(tracker.update([det(10)])[0].trackId, 1, 'ids count confirmed tracks only');
});

test('maxMissed: a track is matched again after ≤ maxMissed frames without it, not after more', (t) => {
  for (const gap of [1, 3, 4]) {
    const tracker = createTracker({ maxMissed: 3 });
    for (let f = 0; f < 5; f++) tracker.update([det(10 * f)]);
    for (let g = 0; g < gap; g++) tracker.update([]);
    // It moved on at 10 px/frame while hidden: the prediction is there, the last seen box is not (IoU 0).
    const f = 5 + gap;
    const r = tracker.update([det(10 * f)]);
    t.is(r.length, gap <= 3 ? 1 : 0, `gap ${gap}`);
    if (gap <= 3) t.is(r[0].trackId, 1);
    else t.is(tracker.update([det(10 * (f + 1))])[0].trackId, 2);
  }
});

test('frameIndex: a gap of dropped frames advances the motion model; indices must increase', (t) => {
  const tracker = createTracker();
  for (let f = 0; f < 10; f++) tracker.update([det(10 * f)], f);
  // Frames 10–14 dropped by the pipeline: the object is 60 px further (box 20 px wide) and still the same track.
  t.is(tracker.update([det(150)], 15)[0]?.trackId, 1);
  t.throws(() => tracker.update([], 15), {
    instanceOf: RangeError,
    message: 'Expected integer > 15 (the previous frame) for frameIndex but received 15',
  });
  t.throws(() => tracker.update([], 16.5), { instanceOf: RangeError, message: /frameIndex/ });
  // Without frameIndex the next call is frame 16.
  t.is(tracker.update([det(160)])[0]?.trackId, 1);
  // A gap counts as missed frames: with maxMissed 3, a track seen on frame 9 can be matched on frame 13, not 14.
  for (const [next, id] of [
    [13, 1],
    [14, 2],
  ]) {
    const short = createTracker({ maxMissed: 3, minHits: 1 });
    for (let f = 0; f < 10; f++) short.update([det(10 * f)], f);
    t.is(short.update([det(10 * next)], next)[0]?.trackId, id, `frame ${next}`);
  }
  // The same detections given as consecutive frames (no gap): 150 is too far from the prediction → a new track.
  const noGap = createTracker({ minHits: 1 });
  for (let f = 0; f < 10; f++) noGap.update([det(10 * f)]);
  t.is(noGap.update([det(150)])[0]?.trackId, 2);
});

test('reset ends every track; ids keep counting; detections are not modified and extra fields are kept', (t) => {
  const tracker = createTracker({ minHits: 1 });
  const input = [{ ...det(0), frameTag: 'a' }];
  const frozen = JSON.stringify(input);
  const out = tracker.update(input);
  t.is(JSON.stringify(input), frozen);
  t.is(out[0].frameTag, 'a');
  t.not(out[0], input[0]);
  tracker.reset();
  t.is(tracker.update([det(0)], 0)[0].trackId, 2);
});

test('detections below lowThreshold are ignored; low-score ones never start a track', (t) => {
  const tracker = createTracker({ minHits: 1 });
  t.deepEqual(tracker.update([det(0, 0.3), det(100, 0.05)]), []);
  t.deepEqual(tracker.update([det(0, 0.3)]), []);
  const r = tracker.update([det(0, 0.9)]);
  t.is(r[0].trackId, 1);
  t.is(tracker.update([det(1, 0.3)])[0].trackId, 1, 'a low-score detection continues a track');
  t.deepEqual(tracker.update([det(1, 0.05)]), [], 'below lowThreshold: nothing');
});

test('each track takes at most one detection; one detection goes to one track; output keeps the input order', (t) => {
  const tracker = createTracker({ minHits: 1 });
  tracker.update([det(0), det(100)]);
  const r = tracker.update([det(101, 0.6), det(1, 0.95), det(2, 0.9)]);
  t.deepEqual(
    r.map((d) => [d.box.x1, d.trackId]),
    [
      [101, 2],
      [1, 1],
      [2, 3],
    ],
  );
});

test('options: unknown keys, wrong types and out-of-range values are refused with the option named', (t) => {
  t.throws(() => createTracker({ minHit: 2 } as TrackerOptions), {
    instanceOf: TypeError,
    message: /^Unknown key 'minHit' in options: expected one of 'highThreshold', /,
  });
  t.throws(() => createTracker({ highThreshold: 1.5 }), {
    instanceOf: RangeError,
    message: 'Expected number in [0, 1] for highThreshold but received 1.5',
  });
  t.throws(() => createTracker({ lowThreshold: 0.6 }), {
    instanceOf: RangeError,
    message: 'Expected number in [0, 0.5] (≤ highThreshold) for lowThreshold but received 0.6',
  });
  t.throws(() => createTracker({ iouThreshold: 1 }), {
    instanceOf: RangeError,
    message: 'Expected number in [0, 1) for iouThreshold but received 1',
  });
  t.throws(() => createTracker({ lowIouThreshold: Number.NaN }), {
    instanceOf: RangeError,
    message: /lowIouThreshold/,
  });
  t.throws(() => createTracker({ minHits: 0 }), {
    instanceOf: RangeError,
    message: 'Expected integer ≥ 1 for minHits but received 0',
  });
  t.throws(() => createTracker({ maxMissed: '3' as unknown as number }), {
    instanceOf: TypeError,
    message: 'Expected integer ≥ 0 for maxMissed but received "3"',
  });
  t.throws(() => createTracker(null as unknown as TrackerOptions), { instanceOf: TypeError, message: /for options/ });
  t.deepEqual(createTracker({ minHits: undefined }).options.minHits, 2);
});

test('detections: anything but an array of detections is refused, naming the element', (t) => {
  const tracker = createTracker();
  t.throws(() => tracker.update({} as unknown as Det[]), {
    instanceOf: TypeError,
    message: 'Expected Array of detections for detections but received object',
  });
  t.throws(() => tracker.update([det(0), { ...det(0), box: { x1: 0, y1: 0, x2: Number.NaN, y2: 1 } }]), {
    instanceOf: TypeError,
    message: 'Expected { x1, y1, x2, y2 } finite numbers for detections[1].box but received object',
  });
  t.throws(() => tracker.update([{ ...det(0), score: undefined as unknown as number }]), {
    message: 'Expected number for detections[0].score but received undefined',
  });
  t.throws(() => tracker.update([{ ...det(0), classId: 1.5 }]), {
    message: 'Expected integer for detections[0].classId but received 1.5',
  });
  t.throws(() => tracker.update([null as unknown as Det]), { message: /detections\[0\]/ });
  // A refused frame changes nothing: the next valid frame is frame 0.
  t.deepEqual(tracker.update([det(0)]), []);
  t.is(tracker.update([det(0)], 1)[0].trackId, 1);
});
