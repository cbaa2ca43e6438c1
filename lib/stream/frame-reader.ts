/**
 * Cutting exact frames out of ffmpeg's rawvideo byte stream.
 *
 * The pipe carries frames back to back with no header, and chunks arrive at any size (a 64 KiB pipe buffer never
 * aligns with a 589 824-byte frame). Each frame's size and presentation timestamp come from ffmpeg's `showinfo`
 * filter on stderr: one line per frame before the scale (source size, `pts_time`) and one after it (the size of the
 * pixels on the pipe). ffmpeg runs with passthrough frame timing (`-fps_mode passthrough`), so the n-th frame on the
 * pipe is the n-th frame showinfo reported — no duplicate, no drop.
 *
 * A source whose frame size changes mid-stream (a camera switching resolution, images of different sizes in a glob):
 * ffmpeg's rawvideo encoder keeps the size it started with and scales later frames to it after the filter chain
 * (showinfo then reports the size before that scale). So every frame on the pipe has the first frame's output size;
 * each keeps its own source size, and since both scales are per-axis linear, boxes still map back exactly (the model
 * sees such frames stretched to the first frame's aspect ratio).
 *
 * stdout and stderr are separate pipes read in any order: {@link FrameCutter} keeps the bytes until the description
 * of the next frame is known, and the descriptions until their bytes have arrived.
 */

/** What showinfo says about one frame. */
export interface FrameInfo {
  /** Frame number as ffmpeg counts it (from 0, per process). */
  n: number;
  /** Presentation time in seconds (`pts_time`; NaN when ffmpeg reports none). */
  pts: number;
  /** Size of the frame at that filter. */
  width: number;
  height: number;
}

const SHOWINFO = /^\[Parsed_showinfo_(\d+) @ [^\]]+\] n:\s*(\d+) pts:\s*(\S+)\s+pts_time:(\S+).*? s:(\d+)x(\d+)/;

/** One showinfo frame line → the filter's index in the chain and the frame's info; null for any other line. */
export function parseShowinfo(line: string): { filter: number; info: FrameInfo } | null {
  const m = SHOWINFO.exec(line);
  if (!m) return null;
  const pts = Number(m[4]);
  return {
    filter: Number(m[1]),
    info: { n: Number(m[2]), pts: Number.isFinite(pts) ? pts : NaN, width: Number(m[5]), height: Number(m[6]) },
  };
}

/** One frame cut from the byte stream. */
export interface CutFrame {
  /** Exactly `width·height·3` bytes (RGB), a copy owned by the frame. */
  data: Uint8Array;
  width: number;
  height: number;
  /** Size before the scale (the source's pixels that boxes map back to). */
  sourceWidth: number;
  sourceHeight: number;
  /** Presentation time in seconds. */
  pts: number;
}

/**
 * Joins the byte stream (`push`) with the frame descriptions (`describe`), in order, and hands out whole frames.
 *
 * @example
 * const cutter = new FrameCutter((f) => frames.push(f));
 * cutter.describe({ source: { n: 0, pts: 0, width: 768, height: 576 }, output: { n: 0, pts: 0, width: 512, height: 384 } });
 * for (const chunk of chunks) cutter.push(chunk);
 */
export class FrameCutter {
  readonly #onFrame: (frame: CutFrame) => void;
  readonly #infos: Array<{ source: FrameInfo; output: FrameInfo }> = [];
  readonly #chunks: Uint8Array[] = [];
  #buffered = 0;
  /** Bytes of the first chunk already consumed. */
  #offset = 0;
  readonly #channels: number;
  /** The size of every frame on the pipe: the first frame's output size. */
  #pipe: { width: number; height: number } | null = null;

  constructor(onFrame: (frame: CutFrame) => void, channels = 3) {
    this.#onFrame = onFrame;
    this.#channels = channels;
  }

  /** Bytes received and not yet part of a frame. */
  get pending(): number {
    return this.#buffered;
  }

  /** Descriptions received whose bytes have not all arrived. */
  get waiting(): number {
    return this.#infos.length;
  }

  /** The description of the next frame on the pipe (source size + pts, and the size on the pipe). */
  describe(frame: { source: FrameInfo; output: FrameInfo }): void {
    this.#infos.push(frame);
    this.#drain();
  }

  /** Bytes from the pipe (any length, any alignment). */
  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    this.#drain();
  }

  #drain(): void {
    while (this.#infos.length > 0) {
      const { source, output } = this.#infos[0];
      this.#pipe ??= { width: output.width, height: output.height };
      const { width, height } = this.#pipe;
      const size = width * height * this.#channels;
      if (this.#buffered < size) return;
      this.#infos.shift();
      const data = new Uint8Array(size);
      let filled = 0;
      while (filled < size) {
        const c = this.#chunks[0];
        const take = Math.min(size - filled, c.length - this.#offset);
        data.set(c.subarray(this.#offset, this.#offset + take), filled);
        filled += take;
        this.#offset += take;
        if (this.#offset === c.length) {
          this.#chunks.shift();
          this.#offset = 0;
        }
      }
      this.#buffered -= size;
      this.#onFrame({
        data,
        width,
        height,
        sourceWidth: source.width,
        sourceHeight: source.height,
        pts: Number.isFinite(output.pts) ? output.pts : source.pts,
      });
    }
  }
}

/**
 * Pairs the two showinfo lines of each frame (before and after the scale, filters `sourceFilter` and
 * `outputFilter` of the chain) and passes each pair on in order.
 */
export class ShowinfoPairer {
  readonly #sources: FrameInfo[] = [];
  constructor(
    readonly sourceFilter: number,
    readonly outputFilter: number,
    readonly onFrame: (frame: { source: FrameInfo; output: FrameInfo }) => void,
  ) {}

  /** One stderr line of ffmpeg (anything else than the two showinfo filters is ignored). */
  line(line: string): void {
    const p = parseShowinfo(line);
    if (!p) return;
    if (p.filter === this.sourceFilter) this.#sources.push(p.info);
    if (p.filter === this.outputFilter) {
      // both filters come after any fps filter and nothing between them drops frames: one source line per output line
      const source = this.#sources.shift();
      this.onFrame({ source: source ?? p.info, output: p.info });
    }
  }
}
