/**
 * Detector benchmark: per-image stage times of `Detector.detect` with the default face model (decode, preprocess,
 * forward, postprocess), and face-api (@vladmandic/face-api 1.7.15, its SSD MobileNetV1 on tfjs-backend-wasm) end to
 * end on the same images in the same process, runs interleaved; detections compared.
 *
 * Then the same stage times for torchvision's SSD300-VGG16 and SSDLite320-MobileNetV3 graphs, when their raw-head
 * exports are in the cache ($SSD_EDGE_CACHE/torchvision/, made by `/usr/bin/python3 scripts/export-torchvision-ssd.py
 * --ssdlite`; skipped with that hint otherwise): each imported with the torchvision importer into a temp dir and run
 * by `Detector.load(path)` with torchvision's own postprocess defaults (score > 0.01 / 0.001), so the native
 * postprocess does its full work (the tamed SSD300 keeps ~8700 candidates per class before top-k; random weights,
 * the detections mean nothing).
 *
 *   node --import=tsx bench/detector.ts [--runs 20] [--first-call-samples 7]   → bench/results/detector.json
 *   node --import=tsx bench/detector.ts --first-call-only [--first-call-samples 7] → bench/results/first-call.json
 *
 * Last, the first-call latency (`benchFirstCall`): the first `detect` after `Detector.load` against the steady state,
 * one fresh process per sample (bench/first-detect.ts), for the load's warm-up and the single-run warm-up it replaced.
 *   npm run bench -- detector                           (same, through bench/run.ts)
 *
 * face-api setup (bench only, never in the library): its `face-api.node-wasm.js` bundle requires the `@tensorflow/tfjs`
 * umbrella, which this project does not install (it pulls webgl/converter/data); the require is pointed at
 * `@tensorflow/tfjs-core` instead, and the chained Tensor methods the umbrella would register (`t.as3D()`, …) are
 * added from the core ops. The wasm backend then loads its SIMD binary from @tensorflow/tfjs-backend-wasm/dist
 * (no threads in Node). Both sides decode with the same decoder (@napi-rs/canvas via `decodeImage`); face-api gets
 * the RGB pixels as an int32 [H, W, 3] tensor, as face-api's reference run did.
 */
import fs from 'node:fs';
import Module, { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createCanvas, loadImage } from '@napi-rs/canvas';
import { Detector, type Detection } from '../lib/detector/detector.ts';
import { decodeImage, type DecodedImage } from '../lib/image/decode.ts';
import { importModelFile } from '../lib/model/import.ts';
import { resolveAnchors } from '../lib/model/spec.ts';
import { cacheRoot } from '../lib/model/zoo.ts';
import { machine, summarize, type Timing } from './measure.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const require = createRequire(import.meta.url);

// --- face-api on tfjs-backend-wasm -------------------------------------------------------------------------

/* eslint-disable @typescript-eslint/no-explicit-any */
interface FaceApi {
  tf: any;
  nets: { ssdMobilenetv1: { loadFromDisk(dir: string): Promise<void> } };
  SsdMobilenetv1Options: new (o: { minConfidence: number; maxResults: number }) => unknown;
  detectAllFaces(
    input: unknown,
    options: unknown,
  ): Promise<Array<{ score: number; box: { x: number; y: number; width: number; height: number } }>>;
  version: string;
}

/** Loads face-api's node-wasm bundle over tfjs-core + tfjs-backend-wasm (see the header) with its SSD weights. */
export async function loadFaceApiWasm(): Promise<FaceApi> {
  const M = Module as unknown as { _resolveFilename: (request: string, ...rest: unknown[]) => string };
  const resolve = M._resolveFilename;
  M._resolveFilename = function (request: string, ...rest: unknown[]) {
    return resolve.call(this, request === '@tensorflow/tfjs' ? '@tensorflow/tfjs-core' : request, ...rest);
  };
  let faceapi: FaceApi;
  try {
    faceapi = require('@vladmandic/face-api/dist/face-api.node-wasm.js') as FaceApi;
  } finally {
    M._resolveFilename = resolve;
  }
  const tf = faceapi.tf;
  registerChainedOps(tf);
  require('@tensorflow/tfjs-backend-wasm');
  await tf.setBackend('wasm');
  await tf.ready();
  const modelDir = path.join(path.dirname(require.resolve('@vladmandic/face-api/package.json')), 'model');
  await faceapi.nets.ssdMobilenetv1.loadFromDisk(modelDir);
  return faceapi;
}

/** The Tensor methods `@tensorflow/tfjs` registers (public/chained_ops) that face-api calls, built from core ops. */
function registerChainedOps(tf: any): void {
  const proto = tf.Tensor.prototype;
  const reshapeTo = (shape: (t: any, ...a: number[]) => number[]) =>
    function (this: any, ...a: number[]) {
      this.throwIfDisposed();
      return tf.reshape(this, shape(this, ...a));
    };
  const special: Record<string, (this: any, ...a: any[]) => unknown> = {
    as1D: reshapeTo((t) => [t.size]),
    as2D: reshapeTo((_, r, c) => [r, c]),
    as3D: reshapeTo((_, r, c, d) => [r, c, d]),
    as4D: reshapeTo((_, r, c, d, e) => [r, c, d, e]),
    asScalar: reshapeTo(() => []),
    asType(dtype: string) {
      return tf.cast(this, dtype);
    },
    toFloat() {
      return tf.cast(this, 'float32');
    },
    toInt() {
      return tf.cast(this, 'int32');
    },
    toBool() {
      return tf.cast(this, 'bool');
    },
    resizeBilinear(...a: unknown[]) {
      return tf.image.resizeBilinear(this, ...a);
    },
  };
  for (const [k, f] of Object.entries(special)) if (!(k in proto)) proto[k] = f;
  const plain = [
    'abs',
    'add',
    'all',
    'any',
    'argMax',
    'argMin',
    'avgPool',
    'cast',
    'clipByValue',
    'concat',
    'conv2d',
    'depthwiseConv2d',
    'div',
    'exp',
    'expandDims',
    'floor',
    'gather',
    'greater',
    'less',
    'log',
    'matMul',
    'max',
    'maxPool',
    'maximum',
    'mean',
    'min',
    'minimum',
    'mul',
    'neg',
    'pad',
    'relu',
    'reshape',
    'reverse',
    'round',
    'separableConv2d',
    'sigmoid',
    'slice',
    'softmax',
    'split',
    'sqrt',
    'square',
    'squeeze',
    'stack',
    'sub',
    'sum',
    'tile',
    'transpose',
    'unstack',
    'where',
  ];
  for (const k of plain) {
    if (!(k in proto) && typeof tf[k] === 'function') {
      proto[k] = function (this: any, ...a: unknown[]) {
        this.throwIfDisposed();
        return tf[k](this, ...a);
      };
    }
  }
}
/* eslint-enable @typescript-eslint/no-explicit-any */

function rgbInt32(img: DecodedImage): Int32Array {
  const n = img.width * img.height;
  const out = new Int32Array(3 * n);
  for (let p = 0, s = 0; p < n; p++, s += img.channels) {
    out[3 * p] = img.data[s];
    out[3 * p + 1] = img.data[s + 1];
    out[3 * p + 2] = img.data[s + 2];
  }
  return out;
}

// --- images ------------------------------------------------------------------------------------------------

interface BenchImage {
  name: string;
  bytes: Buffer;
}

/** astronaut.png as is, the example JPEG, and a 1280×720 JPEG (astronaut scaled ×1.2 into a dark 16:9 frame) that needs a resize. */
async function benchImages(): Promise<BenchImage[]> {
  const png = fs.readFileSync(path.join(root, 'test', 'fixtures', 'images', 'astronaut.png'));
  const img = await loadImage(png);
  const canvas = createCanvas(1280, 720);
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#202020';
  ctx.fillRect(0, 0, 1280, 720);
  ctx.drawImage(img, 300, 40, 614, 614);
  return [
    { name: 'astronaut.png 512×512 PNG', bytes: png },
    {
      name: 'examples/astronaut.jpg 512×512 JPEG',
      bytes: fs.readFileSync(path.join(root, 'examples', 'astronaut.jpg')),
    },
    { name: 'astronaut in 1280×720 JPEG (pad + resize)', bytes: canvas.encodeSync('jpeg', 90) },
  ];
}

// --- the benchmark -----------------------------------------------------------------------------------------

export interface StageTimings {
  decode: Timing;
  preprocess: Timing;
  forward: Timing;
  postprocess: Timing;
  total: Timing;
}

/** Overhead beyond the forward pass, from the medians: (preprocess + postprocess) / forward, and with decode. */
export interface Overhead {
  prePost: number;
  decodePrePost: number;
}

function overhead(t: StageTimings): Overhead {
  const f = t.forward.median;
  return {
    prePost: (t.preprocess.median + t.postprocess.median) / f,
    decodePrePost: (t.decode.median + t.preprocess.median + t.postprocess.median) / f,
  };
}

export interface ImageBench {
  image: string;
  ssdEdge: StageTimings;
  overhead: Overhead;
  faceApiWasm: { decode: Timing; detectAllFaces: Timing; total: Timing };
  /** face-api total / ssd-edge total (medians): how many times faster ssd-edge is end to end. */
  speedup: number;
  detections: { ssdEdge: number; faceApi: number; maxBoxDiffPx: number; maxScoreDiff: number };
}

/** One image through a torchvision-imported model (no face-api counterpart). */
export interface ModelImageBench {
  image: string;
  ssdEdge: StageTimings;
  overhead: Overhead;
  /** Detections returned by the last run. */
  detections: number;
}

export interface ModelBench {
  model: string;
  /** The raw-head export imported (file name in the cache's torchvision folder). */
  source: string;
  provider: string;
  threads: { intraOpNumThreads: number; spinning: boolean };
  /** Score threshold used (the model's torchvision default), IoU threshold, detections kept at most. */
  scoreThreshold: number;
  iouThreshold: number;
  maxDetections: number;
  /** Anchors × classes of the raw head (what the postprocess scores). */
  anchors: number;
  classes: number;
  images: ModelImageBench[];
}

export interface DetectorBench {
  runs: number;
  model: string;
  provider: string;
  threads: { intraOpNumThreads: number; spinning: boolean };
  faceApi: string;
  images: ImageBench[];
  /** SSD300 / SSDLite320 rows (torchvision exports from the cache); `skipped` says which exports were missing. */
  torchvision: { models: ModelBench[]; skipped?: string };
  /** First `detect` after `Detector.load` vs the steady state, a fresh process per sample (see `benchFirstCall`). */
  firstCall?: FirstCallBench;
}

/** Per warm-up mode: medians over fresh processes of load, the first detect, its stages, and the steady state. */
export interface FirstCallBench {
  image: string;
  samples: number;
  modes: Array<{
    mode: 'settle' | 'single' | 'none';
    load: number;
    first: number;
    steady: number;
    /** first / steady, from the medians. */
    ratio: number;
    /** Process CPU ms (all threads) of the first detect and of the steady state, and their ratio. */
    firstCpu: number;
    steadyCpu: number;
    cpuRatio: number;
    firstStages: { decode: number; preprocess: number; forward: number; postprocess: number };
    /** The same stages in the steady state (medians). */
    steadyStages: { decode: number; preprocess: number; forward: number; postprocess: number };
    /** Forward passes of the warm-up (median count). */
    warmupRuns: number;
  }>;
}

const median = (v: number[]) => summarize(v).median;

/**
 * First-call latency: `samples` fresh processes per mode (bench/first-detect.ts; modes interleaved so machine load hits
 * them alike): 'settle' (this load's warm-up), 'single' (one zero-input forward, what load did before), 'none'.
 */
export function benchFirstCall({
  samples = 7,
  image = path.join(root, 'examples', 'astronaut.jpg'),
} = {}): FirstCallBench {
  const modes = ['settle', 'single', 'none'] as const;
  const rows: Record<
    string,
    Array<{
      load: number;
      first: number;
      steady: number;
      firstCpu: number;
      steadyCpu: number;
      firstTimings: Record<string, number>;
      steadyTimings: Record<string, number>;
      warmupForwardMs: number[];
    }>
  > = {};
  for (let s = 0; s < samples; s++) {
    for (const mode of modes) {
      const out = execFileSync(
        process.execPath,
        ['--import=tsx', path.join(here, 'first-detect.ts'), '--mode', mode, '--image', image],
        { cwd: root, encoding: 'utf8' },
      );
      (rows[mode] ??= []).push(JSON.parse(out.trim().split('\n').pop()!));
    }
  }
  return {
    image: path.relative(root, image),
    samples,
    modes: modes.map((mode) => {
      const r = rows[mode];
      const first = median(r.map((x) => x.first));
      const steady = median(r.map((x) => x.steady));
      const stage = (k: string) => median(r.map((x) => x.firstTimings[k]));
      const steadyStage = (k: string) => median(r.map((x) => x.steadyTimings[k]));
      const firstCpu = median(r.map((x) => x.firstCpu));
      const steadyCpu = median(r.map((x) => x.steadyCpu));
      return {
        mode,
        load: median(r.map((x) => x.load)),
        first,
        steady,
        ratio: first / steady,
        firstCpu,
        steadyCpu,
        cpuRatio: firstCpu / steadyCpu,
        firstStages: {
          decode: stage('decode'),
          preprocess: stage('preprocess'),
          forward: stage('forward'),
          postprocess: stage('postprocess'),
        },
        steadyStages: {
          decode: steadyStage('decode'),
          preprocess: steadyStage('preprocess'),
          forward: steadyStage('forward'),
          postprocess: steadyStage('postprocess'),
        },
        warmupRuns: median(r.map((x) => x.warmupForwardMs.length)),
      };
    }),
  };
}

/** Greedy one-to-one matching by box distance; max |Δ| over matched pairs (Infinity when counts differ). */
function compareDetections(ours: Detection[], theirs: Awaited<ReturnType<FaceApi['detectAllFaces']>>) {
  let maxBox = ours.length === theirs.length ? 0 : Infinity;
  let maxScore = maxBox;
  const free = new Set(ours.map((_, k) => k));
  for (const f of theirs) {
    const box = [f.box.x, f.box.y, f.box.x + f.box.width, f.box.y + f.box.height];
    let best = -1;
    let bestD = Infinity;
    for (const k of free) {
      const o = ours[k].box;
      const d = Math.max(
        Math.abs(o.x1 - box[0]),
        Math.abs(o.y1 - box[1]),
        Math.abs(o.x2 - box[2]),
        Math.abs(o.y2 - box[3]),
      );
      if (d < bestD) {
        bestD = d;
        best = k;
      }
    }
    if (best < 0) continue;
    free.delete(best);
    maxBox = Math.max(maxBox, bestD);
    maxScore = Math.max(maxScore, Math.abs(ours[best].score - f.score));
  }
  return { ssdEdge: ours.length, faceApi: theirs.length, maxBoxDiffPx: maxBox, maxScoreDiff: maxScore };
}

const summarizeAll = <K extends string>(o: Record<K, number[]>) =>
  Object.fromEntries(Object.entries(o).map(([k, v]) => [k, summarize(v as number[])])) as Record<K, Timing>;

/** The torchvision raw-head exports `scripts/export-torchvision-ssd.py --ssdlite` writes. */
const TORCHVISION_EXPORTS = ['ssd300_vgg16_tamed.onnx', 'ssdlite320_mobilenet_v3_large.onnx'];

/**
 * SSD300 / SSDLite320 rows: each export in the cache imported (torchvision importer) into a temp dir, loaded with
 * `Detector.load` (CPU, default threads), then per image 3 warm-up + `runs` `detect` calls from the encoded bytes.
 */
async function benchTorchvision(images: BenchImage[], runs: number): Promise<DetectorBench['torchvision']> {
  const dir = path.join(cacheRoot(), 'torchvision');
  const present = TORCHVISION_EXPORTS.filter((f) => fs.existsSync(path.join(dir, f)));
  const missing = TORCHVISION_EXPORTS.filter((f) => !present.includes(f));
  const skipped = missing.length
    ? `${missing.map((f) => path.join(dir, f)).join(', ')} missing: make with /usr/bin/python3 scripts/export-torchvision-ssd.py --ssdlite`
    : undefined;
  if (skipped) console.log(`SSD300/SSDLite rows skipped: ${skipped}`);
  const models: ModelBench[] = [];
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ssd-edge-bench-'));
  try {
    for (const file of present) {
      const { path: modelPath, spec } = await importModelFile('torchvision', path.join(dir, file), {
        out: path.join(tmp, file),
      });
      const detector = await Detector.load(modelPath, { device: 'cpu' });
      try {
        const pp = detector.spec.postprocess;
        const rows: ModelImageBench[] = [];
        for (const { name, bytes } of images) {
          const t = {
            decode: [] as number[],
            preprocess: [] as number[],
            forward: [] as number[],
            postprocess: [] as number[],
            total: [] as number[],
          };
          let last: Detection[] = [];
          for (let r = -3; r < runs; r++) {
            const t0 = performance.now();
            last = await detector.detect(bytes);
            const total = performance.now() - t0;
            if (r < 0) continue;
            const tm = detector.timings!;
            t.decode.push(tm.decode);
            t.preprocess.push(tm.preprocess);
            t.forward.push(tm.forward);
            t.postprocess.push(tm.postprocess);
            t.total.push(total);
          }
          const ssdEdge = summarizeAll(t);
          rows.push({ image: name, ssdEdge, overhead: overhead(ssdEdge), detections: last.length });
        }
        models.push({
          model: spec.name,
          source: file,
          provider: detector.provider,
          threads: detector.threads,
          scoreThreshold: pp.scoreThresh,
          iouThreshold: pp.nmsThresh,
          maxDetections: pp.detectionsPerImg,
          anchors: resolveAnchors(spec).length / 4,
          classes: spec.labels.length,
          images: rows,
        });
      } finally {
        await detector.dispose();
      }
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  return skipped ? { models, skipped } : { models };
}

/**
 * Runs the benchmark: for each image, `runs` rounds (after 3 warm-up rounds) of one ssd-edge `detect` from the
 * encoded bytes and one face-api decode + `detectAllFaces`, interleaved. Default threshold 0.5 on both sides.
 * Then the SSD300 / SSDLite320 rows (see `benchTorchvision`) on astronaut.png and the 1280×720 JPEG.
 */
export async function benchDetector({
  runs = 20,
  firstCallSamples = 7,
}: {
  runs?: number;
  firstCallSamples?: number;
} = {}): Promise<DetectorBench> {
  const detector = await Detector.load(undefined, { device: 'cpu' });
  const faceapi = await loadFaceApiWasm();
  const tf = faceapi.tf;
  const options = new faceapi.SsdMobilenetv1Options({ minConfidence: 0.5, maxResults: 100 });
  const images: ImageBench[] = [];
  const bench = await benchImages();
  for (const { name, bytes } of bench) {
    const ours = {
      decode: [] as number[],
      preprocess: [] as number[],
      forward: [] as number[],
      postprocess: [] as number[],
      total: [] as number[],
    };
    const theirs = { decode: [] as number[], detectAllFaces: [] as number[], total: [] as number[] };
    let lastOurs: Detection[] = [];
    let lastTheirs: Awaited<ReturnType<FaceApi['detectAllFaces']>> = [];
    for (let r = -3; r < runs; r++) {
      const t0 = performance.now();
      lastOurs = await detector.detect(bytes);
      const total = performance.now() - t0;
      const tm = detector.timings!;
      let t = performance.now();
      const decoded = await decodeImage(bytes);
      const input = tf.tensor3d(rgbInt32(decoded), [decoded.height, decoded.width, 3], 'int32');
      const decodeMs = performance.now() - t;
      t = performance.now();
      lastTheirs = await faceapi.detectAllFaces(input, options);
      const detectMs = performance.now() - t;
      input.dispose();
      if (r < 0) continue;
      ours.decode.push(tm.decode);
      ours.preprocess.push(tm.preprocess);
      ours.forward.push(tm.forward);
      ours.postprocess.push(tm.postprocess);
      ours.total.push(total);
      theirs.decode.push(decodeMs);
      theirs.detectAllFaces.push(detectMs);
      theirs.total.push(decodeMs + detectMs);
    }
    const ssdEdge = summarizeAll(ours);
    const faceApiWasm = summarizeAll(theirs);
    images.push({
      image: name,
      ssdEdge,
      overhead: overhead(ssdEdge),
      faceApiWasm,
      speedup: faceApiWasm.total.median / ssdEdge.total.median,
      detections: compareDetections(lastOurs, lastTheirs),
    });
  }
  const result: DetectorBench = {
    runs,
    model: detector.spec.name,
    provider: detector.provider,
    threads: detector.threads,
    faceApi: `@vladmandic/face-api ${faceapi.version} on tfjs-backend-wasm ${tf.version_core} (SIMD ${tf.env().getBool('WASM_HAS_SIMD_SUPPORT')}, threads ${tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT')})`,
    images,
    torchvision: { models: [] },
  };
  await detector.dispose();
  result.torchvision = await benchTorchvision([bench[0], bench[2]], runs);
  result.firstCall = benchFirstCall({ samples: firstCallSamples });
  return result;
}

/** Printable summary. */
export function formatDetectorBench(b: DetectorBench): string {
  const ms = (t: Timing) => t.median.toFixed(1).padStart(6);
  const pct = (o: Overhead) =>
    `overhead (pre+post)/fwd ${(100 * o.prePost).toFixed(1)}%, (dec+pre+post)/fwd ${(100 * o.decodePrePost).toFixed(1)}%`;
  const stages = (o: StageTimings) =>
    `decode ${ms(o.decode)}  preprocess ${ms(o.preprocess)}  forward ${ms(o.forward)}  postprocess ${ms(o.postprocess)}  total ${ms(o.total)} ms`;
  const lines = [
    `model ${b.model} on ${b.provider} (intra-op ${b.threads.intraOpNumThreads}, spinning ${b.threads.spinning}), ${b.runs} runs; ${b.faceApi}`,
  ];
  for (const i of b.images) {
    const o = i.ssdEdge;
    const f = i.faceApiWasm;
    lines.push(
      `${i.image}`,
      `  ssd-edge   ${stages(o)}   ${pct(i.overhead)}`,
      `  face-api   decode ${ms(f.decode)}  detectAllFaces ${ms(f.detectAllFaces)}  total ${ms(f.total)} ms   → ssd-edge ${i.speedup.toFixed(1)}× faster`,
      `  detections ${i.detections.ssdEdge} vs ${i.detections.faceApi}, max |Δbox| ${i.detections.maxBoxDiffPx.toExponential(1)} px, max |Δscore| ${i.detections.maxScoreDiff.toExponential(1)}`,
    );
  }
  for (const m of b.torchvision.models) {
    lines.push(
      `model ${m.model} (${m.source}, ${m.anchors}×${m.classes}) on ${m.provider} (intra-op ${m.threads.intraOpNumThreads}, spinning ${m.threads.spinning}), ` +
        `score > ${m.scoreThreshold}, IoU ${m.iouThreshold}, ≤ ${m.maxDetections} detections, ${b.runs} runs`,
    );
    for (const i of m.images)
      lines.push(`  ${i.image.padEnd(42)} ${stages(i.ssdEdge)}   ${pct(i.overhead)}   ${i.detections} detections`);
  }
  if (b.firstCall) lines.push(formatFirstCall(b.firstCall));
  return lines.join('\n');
}

/** Printable first-call table. */
export function formatFirstCall(f: FirstCallBench): string {
  const ms = (v: number) => v.toFixed(1).padStart(6);
  const what = {
    settle: 'warm-up: every stage, forward until settled',
    single: 'one zero-input forward (before)',
    none: 'warmup: false',
  };
  return [
    `first detect after Detector.load, ${f.image}, median of ${f.samples} fresh processes`,
    ...f.modes.map(
      (m) =>
        `  ${what[m.mode].padEnd(44)} load ${ms(m.load)}  first ${ms(m.first)} (decode ${ms(m.firstStages.decode)}  preprocess ${ms(m.firstStages.preprocess)}  ` +
        `forward ${ms(m.firstStages.forward)}  postprocess ${ms(m.firstStages.postprocess)})  steady ${ms(m.steady)} ms (decode ${ms(m.steadyStages.decode)}  ` +
        `preprocess ${ms(m.steadyStages.preprocess)}  forward ${ms(m.steadyStages.forward)}  postprocess ${ms(m.steadyStages.postprocess)})  first/steady ${m.ratio.toFixed(2)}  ` +
        `CPU first ${ms(m.firstCpu)} steady ${ms(m.steadyCpu)} ms (${m.cpuRatio.toFixed(2)})  warm-up runs ${m.warmupRuns}`,
    ),
  ].join('\n');
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf('--runs');
  const j = process.argv.indexOf('--first-call-samples');
  const firstCallSamples = j > 0 ? Number(process.argv[j + 1]) : 7;
  if (process.argv.includes('--first-call-only')) {
    const firstCall = benchFirstCall({ samples: firstCallSamples });
    console.log(formatFirstCall(firstCall));
    const out = path.join(here, 'results', 'first-call.json');
    fs.writeFileSync(
      out,
      JSON.stringify({ date: new Date().toISOString(), machine: machine(), firstCall }, null, 2) + '\n',
    );
    console.log(`→ ${path.relative(process.cwd(), out)}`);
    process.exit(0);
  }
  const results = await benchDetector({ runs: i > 0 ? Number(process.argv[i + 1]) : 20, firstCallSamples });
  console.log(formatDetectorBench(results));
  const out = path.join(here, 'results', 'detector.json');
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(
    out,
    JSON.stringify({ date: new Date().toISOString(), machine: machine(), results }, null, 2) + '\n',
  );
  console.log(`→ ${path.relative(process.cwd(), out)}`);
}
