/**
 * `Detector`: an ssd-edge model (ONNX + spec in its metadata) behind one call — glue over the three stages of
 * ./stages.ts (prepare → forward → finish), with the session, the anchors, reusable input buffers and the warm-up.
 */
import { createCanvas } from '@napi-rs/canvas';
import { invalidParameterError } from '../is.ts';
import { loadModelFile } from '../model/metadata.ts';
import type { ModelSpec } from '../model/spec.ts';
import { ensureDefaultInt8Model, ensureDefaultModel } from '../model/zoo.ts';
import { decodeImage, type ImageInput } from '../image/decode.ts';
import { draw, type DrawOptions } from '../image/draw.ts';
import { Session, type Provider, type ProviderError, type ThreadOptions } from '../runtime/session.ts';
import type { TensorMap } from '../runtime/tensor.ts';
import {
  classFilter,
  detectDefaults,
  resolveDetectOptions,
  validateDetectorOptions,
  type DetectOptions,
  type Detection,
  type DetectorOptions,
  type DetectTimings,
  type ResolvedDetectOptions,
} from './options.ts';
import { checkOutputLayout, finish, forward, inputDims, prepare, type ForwardOutput } from './stages.ts';

export type { Detection, DetectOptions, DetectorOptions, DetectTimings };

/** What `Detector.load` accepts as a model: a file path, or undefined for the default face model. */
export type ModelSource = string | undefined;

/** Forward passes at load, at most (see {@link Detector.warmupForwardMs}). */
export const WARMUP_MAX_RUNS = 8;
/** Warm-up stops once two consecutive forward passes differ by at most this fraction. */
export const WARMUP_SETTLED = 0.2;
/** …or once its forward passes have taken this many milliseconds in all (slow models on small devices), after two. */
export const WARMUP_BUDGET_MS = 3000;

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
  /** Milliseconds of each forward pass of the warm-up at load (empty with `warmup: false`). */
  readonly warmupForwardMs: number[] = [];
  readonly #session: Session;
  readonly #anchors: Float32Array | null;
  readonly #defaults: ResolvedDetectOptions;
  /** Batch size of the model's input when fixed (null when dynamic). */
  readonly #fixedBatch: number | null;
  readonly #maxBatch: number;
  /** Input buffers not in use (one per concurrent call at most), reused to spare a 3 MB allocation per call. */
  #spare: Float32Array[] = [];

  private constructor(
    session: Session,
    spec: ModelSpec,
    modelPath: string,
    anchors: Float32Array | null,
    options: DetectorOptions,
  ) {
    this.#session = session;
    this.spec = spec;
    this.modelPath = modelPath;
    this.#anchors = anchors;
    this.#defaults = detectDefaults(spec, options);
    this.#fixedBatch = fixedBatch(session, spec);
    this.#maxBatch = options.maxBatch ?? 8;
  }

  /**
   * Loads a model, creates its session and warms it up.
   *
   * @param model Path of an ssd-edge .onnx file (spec in its metadata), or undefined for the default face model
   *   `ssd-mobilenetv1-face` (built into ~/.cache/ssd-edge from the face-api package on first use; nothing is downloaded).
   * @param options Device, threads, warm-up, precision ('int8': the default model's int8 copy, quantized and cached on
   *   first use), and defaults for every `detect` call ({@link DetectorOptions}).
   * @throws {TypeError} Not an ONNX file, no ssd-edge metadata, a spec that does not match the graph (also the
   *   warm-up's outputs: decoded boxes declared but raw deltas emitted, see `checkOutputLayout`), invalid or unknown options.
   * @throws {Error} The file cannot be read (code ENOENT…), the requested device fails (`Cannot use device …`).
   * @example
   * const d = await Detector.load('ssd300.onnx', { device: 'cpu', threads: 2, scoreThreshold: 0.4 });
   */
  static async load(model?: ModelSource, options: DetectorOptions = {}): Promise<Detector> {
    if (model !== undefined && typeof model !== 'string')
      throw invalidParameterError('model', 'path of an .onnx file or undefined', model);
    validateDetectorOptions(options);
    const int8 = options.precision === 'int8';
    const file = model ?? (int8 ? await ensureDefaultInt8Model() : await ensureDefaultModel());
    const loaded = await loadModelFile(file); // a file error names the path (ModelFileError)
    const { spec } = loaded;
    if (int8 && !('quantization' in spec))
      throw new TypeError(
        `Expected an int8 model (made by \`ssd-edge model quantize\`) for precision 'int8' but received the float model ${file} — quantize it first, or drop precision to run it as float`,
      );
    const warm = options.warmup !== false;
    // The first run allocates and plans (several times slower); it runs inside Session.create so that a GPU provider
    // whose first run fails falls back like one that fails to load. A fixed batch needs a full batch.
    const zeros = (s: Session): TensorMap => {
      const dims = inputDims(spec.input, fixedBatch(s, spec) ?? 1);
      return { [spec.input.name]: { data: new Float32Array(dims.reduce((a, b) => a * b, 1)), dims } };
    };
    const session = await Session.create(loaded.path, {
      device: options.device,
      deviceId: options.deviceId,
      providerOptions: options.providerOptions,
      threads: options.threads,
      spinning: options.spinning,
      worker: options.worker,
      warmup: warm ? zeros : undefined,
    });
    const detector = new Detector(session, spec, file, loaded.anchors, options);
    if (warm) {
      try {
        await detector.#warmup();
      } catch (err) {
        await session.dispose();
        throw err;
      }
    }
    return detector;
  }

  /** The provider the session runs on ('tensorrt' | 'cuda' | 'cpu'). */
  get provider(): Provider {
    return this.#session.provider;
  }
  /** Whether ONNX Runtime runs in a worker thread (`worker: true`). */
  get inWorker(): boolean {
    return this.#session.inWorker;
  }
  /** Providers tried before `provider` and why each was not used. */
  get providerErrors(): readonly ProviderError[] {
    return this.#session.providerErrors;
  }
  /** Thread settings of the session. */
  get threads(): ThreadOptions {
    return this.#session.threads;
  }
  /** The model's class names (index = classId). */
  get labels(): readonly string[] {
    return this.spec.labels;
  }
  /** The session (for running the stages yourself: `forward(detector.session, detector.spec, input)`). */
  get session(): Session {
    return this.#session;
  }
  /** The thresholds, cap and classes every `detect` starts from (load options, then the model's spec); a copy. */
  get detectDefaults(): ResolvedDetectOptions {
    return { ...this.#defaults };
  }
  /** The model's anchors (Float32Array [N·4] cxcywh normalized), or null for decoded outputs. */
  get anchors(): Float32Array | null {
    return this.#anchors;
  }

  /**
   * Detects objects in one image.
   *
   * @param image File path, encoded JPEG/PNG/WebP bytes, raw `{ data, width, height, channels: 3 | 4 }` pixels (used
   *   without a copy), or a `DecodedImage`.
   * @param options {@link DetectOptions} for this call.
   * @returns Detections sorted by decreasing score, boxes in source pixels (see {@link Detection}).
   * @throws {TypeError|RangeError} Invalid or unknown options (e.g. an unknown class name, `threshold` for `scoreThreshold`).
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
    const { classes, ...opts } = resolveDetectOptions(this.#defaults, options);
    const finishOptions = {
      ...opts,
      classFilter: classFilter(this.spec.labels, this.spec.postprocess.backgroundIndex, classes),
    };
    const timings: DetectTimings = { decode: 0, preprocess: 0, forward: 0, postprocess: 0, total: 0 };
    const t0 = performance.now();
    const results: Detection[][] = [];
    const chunk = this.#fixedBatch ?? this.#maxBatch;
    for (let start = 0; start < images.length; start += chunk) {
      const group = images.slice(start, start + chunk);
      const batch = this.#fixedBatch ?? group.length;
      const buffer = this.#takeBuffer(batch * 3 * this.spec.input.width * this.spec.input.height);
      let prepared: Awaited<ReturnType<typeof prepare>>;
      let output: Awaited<ReturnType<typeof forward>>;
      try {
        prepared = await prepare(group, this.spec.input, { batch, out: buffer });
        output = await forward(this.#session, this.spec, prepared.input);
      } finally {
        // ONNX Runtime does not keep the input: the buffer serves the next call (at most two kept)
        this.#spare.push(buffer);
        if (this.#spare.length > 2) this.#spare.shift();
      }
      const t = performance.now();
      results.push(...(await finish(output, this.spec, this.#anchors, prepared.transforms, finishOptions)));
      timings.decode += prepared.timings.decode;
      timings.preprocess += prepared.timings.preprocess;
      timings.forward += output.ms;
      timings.postprocess += performance.now() - t;
    }
    timings.total = performance.now() - t0;
    this.timings = timings;
    return results;
  }

  /**
   * Draws detections on an image (see `draw` in lib/image/draw.ts).
   *
   * @returns PNG (default) or JPEG bytes.
   * @throws {TypeError} Invalid or unknown draw options.
   */
  async draw(image: ImageInput, detections: readonly Detection[], options?: DrawOptions): Promise<Buffer> {
    return draw(image, detections, options);
  }

  /** Releases the session once runs in flight have finished. Idempotent; later calls to detect throw `Session is disposed`. */
  async dispose(): Promise<void> {
    await this.#session.dispose();
  }

  #takeBuffer(length: number): Float32Array {
    const k = this.#spare.findIndex((b) => b.length === length);
    return k >= 0 ? this.#spare.splice(k, 1)[0] : new Float32Array(length);
  }

  /**
   * Warms every stage the first `detect` uses, so it runs at steady-state speed, and checks the outputs against the
   * spec. Measured without it (fresh processes, default face model, process CPU time so that other load matters
   * less; bench/detector.ts `benchFirstCall`): the first two forward passes each cost ≈ 25 % more than later ones
   * (87 and 89 ms vs 70 ms of CPU on one thread), so the single zero-input run load used to do left the second slow
   * pass to the first detect; the first JPEG decode (@napi-rs/canvas set-up plus decode.ts's EXIF-orientation probe),
   * the first preprocess of a new geometry (its tap tables) and the first native postprocess add ≈ 2–3 ms each.
   * So: decode a synthetic JPEG and PNG (one at the input size, one small), preprocess both, then repeat forward
   * passes until two consecutive ones are within {@link WARMUP_SETTLED} of each other (at most
   * {@link WARMUP_MAX_RUNS}, and no more once they have taken {@link WARMUP_BUDGET_MS} in all), and postprocess.
   * What cannot be warmed: a new image size builds its tap tables on first sight (then kept per geometry, a few at
   * a time), and caches are cold again after the process has been idle a while.
   */
  async #warmup(): Promise<void> {
    // Synthetic pictures (a gradient), encoded as JPEG and PNG and decoded: one at the input size (the decoders'
    // buffers at a typical size, and the preprocess path without resize), one small (the resize path: tap tables).
    const picture = (w: number, h: number) => {
      const canvas = createCanvas(w, h);
      const ctx = canvas.getContext('2d');
      const g = ctx.createLinearGradient(0, 0, w, h);
      g.addColorStop(0, '#204060');
      g.addColorStop(1, '#e0c080');
      ctx.fillStyle = g;
      ctx.fillRect(0, 0, w, h);
      return canvas;
    };
    const { width, height } = this.spec.input;
    const large = picture(width, height);
    const [full] = await Promise.all([decodeImage(large.encodeSync('jpeg', 90)), decodeImage(large.encodeSync('png'))]);
    const image = await decodeImage(picture(40, 30).encodeSync('jpeg', 90));
    const batch = this.#fixedBatch ?? 1;
    await prepare([full], this.spec.input, { batch });
    const prepared = await prepare([image], this.spec.input, { batch });
    let output: ForwardOutput | null = null;
    for (let run = 0; run < WARMUP_MAX_RUNS; run++) {
      output = await forward(this.#session, this.spec, prepared.input);
      this.warmupForwardMs.push(output.ms);
      if (run === 0) checkOutputLayout(output, this.spec);
      const ms = this.warmupForwardMs;
      const n = ms.length;
      if (n >= 2 && Math.abs(ms[n - 1] - ms[n - 2]) <= WARMUP_SETTLED * ms[n - 2]) break;
      if (n >= 2 && ms.reduce((a, b) => a + b, 0) >= WARMUP_BUDGET_MS) break;
    }
    const { classes: _, ...defaults } = this.#defaults;
    await finish(output!, this.spec, this.#anchors, prepared.transforms, { ...defaults, classFilter: null });
  }
}

/** The model's batch size when its input has a fixed batch dimension, else null (any batch). */
function fixedBatch(session: Session, spec: ModelSpec): number | null {
  const input = session.inputMetadata.find((m) => m.name === spec.input.name);
  const b = input?.shape?.[0];
  return spec.input.dynamicBatch || typeof b !== 'number' ? null : b;
}
