/**
 * `Detector`: an ssd-edge model (ONNX + spec in its metadata) behind one call — decode → preprocess → forward →
 * postprocess → boxes in source pixels.
 */
import * as ort from 'onnxruntime-node';
import { assertArray, assertBoolean, assertInRange, assertInteger, assertObject, invalidParameterError } from './is.ts';
import { loadModelFile, type ModelSpec } from './model/metadata.ts';
import { ensureDefaultModel } from './model/zoo.ts';
import { postprocessDetections, postprocessDetectionsAsync, type Detections, type PostprocessOptionsInput } from './ops/postprocess.ts';
import { decodeImage, type DecodedImage, type ImageInput } from './image/decode.ts';
import { boxToSource, preprocess, type InputTransform } from './image/preprocess.ts';
import { draw, type DrawOptions } from './image/draw.ts';
import { Session, type Device, type Provider, type ProviderError, type ThreadOptions } from './runtime/session.ts';

/** One detected object. */
export interface Detection {
  /** Class name from the model's labels. */
  label: string;
  /** Index into the model's labels (background included, so the first object class is usually 1). */
  classId: number;
  /** Confidence in [0, 1] (float32 value). */
  score: number;
  /** Box in source-image pixels (upright image, after EXIF orientation), clipped to the image; x1 ≤ x2, y1 ≤ y2. */
  box: { x1: number; y1: number; x2: number; y2: number };
}

/** Per-call options of `detect` / `detectBatch` (each defaults to the Detector's load options, then to the model's spec). */
export interface DetectOptions {
  /** Keep detections with score > scoreThreshold, in [0, 1]. */
  scoreThreshold?: number;
  /** Per-class NMS suppresses boxes with IoU > iouThreshold, in [0, 1]. */
  iouThreshold?: number;
  /** At most this many detections per image (Infinity = all). */
  maxDetections?: number;
  /** Only these classes (labels or class ids); default all. */
  classes?: ReadonlyArray<string | number>;
}

export interface DetectorOptions extends DetectOptions {
  /** 'auto' (default): TensorRT → CUDA → CPU, the first that works (see `providerErrors`). */
  device?: Device;
  /** GPU index for cuda/tensorrt. */
  deviceId?: number;
  /** Intra-op threads, or 'auto' (default, see `defaultThreadOptions`). */
  threads?: number | 'auto';
  /** Intra-op thread spinning (default off with 'auto' threads). */
  spinning?: boolean;
  /** Run one forward pass at load so the first `detect` is not slow (default true). */
  warmup?: boolean;
  /** Images per forward pass in `detectBatch` when the model has a dynamic batch (default 8). */
  maxBatch?: number;
  /**
   * Run ONNX Runtime in a worker thread so `detect` never blocks the event loop (default false: in-process, where
   * onnxruntime-node blocks it for the whole forward pass). For servers and camera apps that must stay responsive.
   */
  worker?: boolean;
}

/** Milliseconds spent in each stage of the last `detect` / `detectBatch` call (summed over its images). */
export interface DetectTimings {
  decode: number;
  preprocess: number;
  forward: number;
  postprocess: number;
  total: number;
}

type ResolvedDetectOptions = Required<Omit<DetectOptions, 'classes'>> & { classes?: ReadonlyArray<string | number> };

/** What `Detector.load` accepts as a model: a file path, or undefined for the default face model. */
export type ModelSource = string | undefined;

/**
 * SSD object detector over ONNX Runtime.
 *
 * @example
 * const detector = await Detector.load();               // default face model (built locally on first use)
 * const faces = await detector.detect('group.jpg');     // [{ label: 'face', classId: 1, score: 0.96, box: { x1, y1, x2, y2 } }]
 * fs.writeFileSync('out.png', await detector.draw('group.jpg', faces));
 * await detector.dispose();
 */
export class Detector {
  /** The model's spec (input, outputs, labels, postprocess defaults). */
  readonly spec: ModelSpec;
  /** Path of the model file. */
  readonly modelPath: string;
  /** Timings of the last completed call (null before the first). Concurrent calls overwrite each other's. */
  timings: DetectTimings | null = null;
  readonly #session: Session;
  readonly #anchors: Float32Array;
  readonly #defaults: ResolvedDetectOptions;
  /** Batch size of the model's input when fixed (null when dynamic). */
  readonly #fixedBatch: number | null;
  readonly #maxBatch: number;

  private constructor(session: Session, spec: ModelSpec, modelPath: string, anchors: Float32Array | null, options: DetectorOptions) {
    this.#session = session;
    this.spec = spec;
    this.modelPath = modelPath;
    this.#anchors = anchors ?? new Float32Array(0);
    const pp = spec.postprocess;
    this.#defaults = {
      scoreThreshold: options.scoreThreshold ?? pp.scoreThresh,
      iouThreshold: options.iouThreshold ?? pp.nmsThresh,
      maxDetections: options.maxDetections ?? pp.detectionsPerImg,
      classes: options.classes,
    };
    this.#fixedBatch = fixedBatch(session, spec);
    this.#maxBatch = options.maxBatch ?? 8;
  }

  /**
   * Loads a model and creates its session.
   *
   * @param model Path of an ssd-edge .onnx file (spec in its metadata), or undefined for the default face model
   *   `ssd-mobilenetv1-face` (built into ~/.cache/ssd-edge from the face-api package on first use; nothing is downloaded).
   * @param options Device, threads, warm-up, and defaults for every `detect` call ({@link DetectorOptions}).
   * @throws {TypeError} Not an ONNX file, no ssd-edge metadata, a spec that does not match the graph, invalid options.
   * @throws {Error} The file cannot be read (code ENOENT…), the requested device fails (`Cannot use device …`).
   * @example
   * const d = await Detector.load('ssd300.onnx', { device: 'cpu', threads: 2, scoreThreshold: 0.4 });
   */
  static async load(model?: ModelSource, options: DetectorOptions = {}): Promise<Detector> {
    if (model !== undefined && typeof model !== 'string') throw invalidParameterError('model', 'path of an .onnx file or undefined', model);
    assertObject('options', options as unknown);
    validateDetectOptions(options);
    if (options.maxBatch !== undefined) assertInteger('maxBatch', options.maxBatch, 1);
    if (options.worker !== undefined) assertBoolean('worker', options.worker);
    const file = model ?? (await ensureDefaultModel());
    let loaded;
    try {
      loaded = await loadModelFile(file);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (e.code === 'ENOENT' || e.code === 'EISDIR' || e.code === 'EACCES') {
        const why = e.code === 'ENOENT' ? 'no such file' : e.code === 'EISDIR' ? 'is a directory' : 'permission denied';
        throw Object.assign(new Error(`Cannot read model ${file}: ${why}`, { cause: err }), { code: e.code });
      }
      throw err;
    }
    const { spec } = loaded;
    // The first run allocates and plans (several times slower); it runs inside Session.create so that a GPU provider
    // whose first run fails falls back like one that fails to load. A fixed batch needs a full batch.
    const warmup = (s: Session) => {
      const dims = inputDims(spec, fixedBatch(s, spec) ?? 1);
      return { [spec.input.name]: new ort.Tensor('float32', new Float32Array(dims.reduce((a, b) => a * b, 1)), dims) };
    };
    const session = await Session.create(loaded.bytes, {
      device: options.device, deviceId: options.deviceId, threads: options.threads, spinning: options.spinning,
      worker: options.worker, warmup: options.warmup !== false ? warmup : undefined,
    });
    return new Detector(session, spec, file, loaded.anchors, options);
  }

  /** The provider the session runs on ('tensorrt' | 'cuda' | 'cpu'). */
  get provider(): Provider { return this.#session.provider; }
  /** Whether ONNX Runtime runs in a worker thread (`worker: true`). */
  get inWorker(): boolean { return this.#session.inWorker; }
  /** Providers tried before `provider` and why each was not used. */
  get providerErrors(): readonly ProviderError[] { return this.#session.providerErrors; }
  /** Thread settings of the session. */
  get threads(): ThreadOptions { return this.#session.threads; }
  /** The model's class names (index = classId). */
  get labels(): readonly string[] { return this.spec.labels; }

  /**
   * Detects objects in one image.
   *
   * @param image File path, encoded JPEG/PNG/WebP bytes, raw `{ data, width, height, channels: 3 | 4 }` pixels (used
   *   without a copy), or a `DecodedImage`.
   * @param options {@link DetectOptions} for this call.
   * @returns Detections sorted by decreasing score, boxes in source pixels (see {@link Detection}).
   * @throws {TypeError|RangeError} Invalid options (e.g. an unknown class name).
   * @throws {ImageDecodeError} Unreadable or undecodable image.
   * @example
   * const dets = await detector.detect(fs.readFileSync('a.jpg'), { scoreThreshold: 0.3, classes: ['face'] });
   */
  async detect(image: ImageInput, options: DetectOptions = {}): Promise<Detection[]> {
    return (await this.detectBatch([image], options))[0];
  }

  /**
   * Detects objects in several images. With a dynamic batch dimension the images go through the network together
   * (`maxBatch` per forward pass); with a fixed batch of B they go B at a time (the last pass padded with zeros).
   * Same results as calling {@link detect} on each image (up to float rounding of batched convolutions).
   *
   * @returns One array of detections per image, in input order.
   */
  async detectBatch(images: readonly ImageInput[], options: DetectOptions = {}): Promise<Detection[][]> {
    if (!Array.isArray(images)) throw invalidParameterError('images', 'Array of images', images);
    assertObject('options', options as unknown);
    validateDetectOptions(options);
    const opts = { ...this.#defaults, ...stripUndefined(options) };
    const classFilter = this.#classFilter(opts.classes);
    const timings: DetectTimings = { decode: 0, preprocess: 0, forward: 0, postprocess: 0, total: 0 };
    const t0 = performance.now();
    const results: Detection[][] = [];
    const chunk = this.#fixedBatch ?? this.#maxBatch;
    for (let start = 0; start < images.length; start += chunk) {
      const group = images.slice(start, start + chunk);
      results.push(...(await this.#run(group, opts, classFilter, timings)));
    }
    timings.total = performance.now() - t0;
    this.timings = timings;
    return results;
  }

  /**
   * Draws detections on an image (see `draw` in lib/image/draw.ts).
   *
   * @returns PNG (default) or JPEG bytes.
   */
  async draw(image: ImageInput, detections: readonly Detection[], options?: DrawOptions): Promise<Buffer> {
    return draw(image, detections, options);
  }

  /** Releases the session. Idempotent; later calls to detect throw. */
  async dispose(): Promise<void> {
    await this.#session.dispose();
  }

  /** Input buffers not in use (one per concurrent call at most), reused to spare a 3 MB allocation per call. */
  #spare: Float32Array[] = [];

  #takeBuffer(length: number): Float32Array {
    const k = this.#spare.findIndex((b) => b.length === length);
    return k >= 0 ? this.#spare.splice(k, 1)[0] : new Float32Array(length);
  }

  #classFilter(classes: ReadonlyArray<string | number> | undefined): Set<number> | null {
    if (classes === undefined) return null;
    assertArray('classes', classes, 0);
    const ids = new Set<number>();
    classes.forEach((c, k) => {
      if (typeof c === 'number') {
        assertInteger(`classes[${k}]`, c, 0);
        if (c >= this.spec.labels.length) throw invalidParameterError(`classes[${k}]`, `class id < ${this.spec.labels.length}`, c);
        ids.add(c);
      } else {
        const id = this.spec.labels.indexOf(c);
        if (id < 0) {
          const known = this.spec.labels.filter((_, i) => i !== this.spec.postprocess.backgroundIndex).map((l) => `'${l}'`).join(', ');
          throw invalidParameterError(`classes[${k}]`, `a label of the model (${known})`, c);
        }
        ids.add(id);
      }
    });
    return ids;
  }

  async #run(images: readonly ImageInput[], opts: ResolvedDetectOptions, classFilter: Set<number> | null, timings: DetectTimings): Promise<Detection[][]> {
    const { spec } = this;
    let t = performance.now();
    const decoded: DecodedImage[] = await Promise.all(images.map((img, k) => decodeImage(img, images.length > 1 ? `images[${k}]` : 'image')));
    timings.decode += performance.now() - t;

    t = performance.now();
    const batch = this.#fixedBatch ?? decoded.length;
    const dims = inputDims(spec, batch);
    const per = 3 * spec.input.width * spec.input.height;
    const data = this.#takeBuffer(per * batch);
    if (decoded.length < batch) data.fill(0, decoded.length * per); // zeros pad a fixed batch
    const transforms: InputTransform[] = decoded.map((img, b) => preprocess(img, spec.input, { out: data, offset: b * per }).transform);
    timings.preprocess += performance.now() - t;

    t = performance.now();
    let out: Record<string, ort.Tensor>;
    try {
      out = await this.#session.run({ [spec.input.name]: new ort.Tensor('float32', data, dims) });
    } finally {
      // ONNX Runtime does not keep the input: the buffer serves the next call (at most two kept)
      this.#spare.push(data);
      if (this.#spare.length > 2) this.#spare.shift();
    }
    timings.forward += performance.now() - t;

    t = performance.now();
    const boxes = out[spec.output.boxes];
    const scores = out[spec.output.scores];
    if (!boxes || !scores) throw new Error(`Model ${this.modelPath} did not return outputs '${spec.output.boxes}' and '${spec.output.scores}'`);
    const numClasses = Number(scores.dims[2]);
    if (numClasses !== spec.labels.length) {
      throw new TypeError(`Expected ${spec.labels.length} classes (labels) in output '${spec.output.scores}' of ${this.modelPath} but received shape [${scores.dims}]`);
    }
    const pp = spec.postprocess;
    const options: PostprocessOptionsInput = {
      ...pp,
      scoring: pp.scoring,
      boxEncoding: pp.boxEncoding,
      scoreThresh: opts.scoreThreshold,
      nmsThresh: opts.iouThreshold,
      // With a class filter every detection must survive until filtered; the cap is applied after.
      detectionsPerImg: classFilter ? Infinity : opts.maxDetections,
    };
    const input = {
      boxRegression: boxes.data as Float32Array,
      classLogits: scores.data as Float32Array,
      anchors: this.#anchors,
      batchSize: batch,
      numClasses,
    };
    // Outputs up to 2^19 scores (face model 5118×2 ≈ 20 µs, SSD300 8732×21 ≈ 0.4 ms, SSDLite 3234×91 ≈ 1 ms) run
    // inline: the thread hop and input copy cost more than they save next to a forward pass that onnxruntime-node
    // runs on this thread anyway. Larger ones (batches, many classes) go to the AsyncWorker.
    const dets: Detections[] = scores.data.length <= SYNC_POSTPROCESS_MAX
      ? postprocessDetections(input, options)
      : await postprocessDetectionsAsync(input, options);
    const results = decoded.map((_, b) => this.#toDetections(dets[b], transforms[b], classFilter, opts.maxDetections));
    timings.postprocess += performance.now() - t;
    return results;
  }

  #toDetections(d: Detections, transform: InputTransform, classFilter: Set<number> | null, max: number): Detection[] {
    const out: Detection[] = [];
    for (let k = 0; k < d.scores.length && out.length < max; k++) {
      const classId = d.labels[k];
      if (classFilter && !classFilter.has(classId)) continue;
      // Normalized input box: face-api clips to [0, 1] before mapping back; boxToSource clips to the image.
      const [x1, y1, x2, y2] = boxToSource(d.boxes.subarray(4 * k, 4 * k + 4), transform);
      // A model that emits NaN/Inf deltas gets NaN boxes (kept by NMS, IoU 0): not a detection anyone can use.
      if (!Number.isFinite(x1 + y1 + x2 + y2)) continue;
      out.push({ label: this.spec.labels[classId] ?? String(classId), classId, score: d.scores[k], box: { x1, y1, x2, y2 } });
    }
    return out;
  }
}

/** The model's batch size when its input has a fixed batch dimension, else null (any batch). */
function fixedBatch(session: Session, spec: ModelSpec): number | null {
  const input = session.inputMetadata.find((m) => m.name === spec.input.name) as { shape?: ReadonlyArray<number | string> } | undefined;
  const b = input?.shape?.[0];
  return spec.input.dynamicBatch || typeof b !== 'number' ? null : b;
}

/** Score elements (B·N·C) up to which the postprocess runs on the calling thread (≈ 1 ms of native work at most). */
const SYNC_POSTPROCESS_MAX = 1 << 19;

/** [B, 3, H, W] or [B, H, W, 3]. */
function inputDims(spec: ModelSpec, batch: number): number[] {
  const { width: w, height: h, layout } = spec.input;
  return layout === 'NCHW' ? [batch, 3, h, w] : [batch, h, w, 3];
}

function validateDetectOptions(o: DetectOptions): void {
  if (o.scoreThreshold !== undefined) assertInRange('scoreThreshold', o.scoreThreshold, 0, 1);
  if (o.iouThreshold !== undefined) assertInRange('iouThreshold', o.iouThreshold, 0, 1);
  if (o.maxDetections !== undefined) assertInteger('maxDetections', o.maxDetections, 0, true);
  if (o.classes !== undefined && !Array.isArray(o.classes)) throw invalidParameterError('classes', 'Array of labels or class ids', o.classes);
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
