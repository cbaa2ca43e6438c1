/**
 * The live preview (`ssd-edge stream --serve PORT`): a small HTTP server that shows what the pipeline sees.
 *
 * | path | what |
 * |---|---|
 * | `/` | an HTML page (lib/stream/preview-page.ts): the MJPEG stream, the latest detections, live stats |
 * | `/stream.mjpg` | `multipart/x-mixed-replace` MJPEG of the annotated frames (boxes, labels, track ids drawn) |
 * | `/events` | server-sent events: `detections` (one per frame pushed), `stats`, and `end` when the server closes |
 * | `/snapshot.jpg` | the latest annotated frame (503 before the first) |
 *
 * The pipeline is never held up by the server: `pushFrame` only stores the frame and returns. Frames are drawn and
 * encoded off the caller's path, one at a time and only while an MJPEG client watches (or a snapshot is asked for);
 * a frame pushed while the previous one is being drawn replaces it (the latest wins). Each client gets a frame or an
 * event only when its connection has taken the previous one (`writableNeedDrain` is false): a slow client loses
 * frames — counted in {@link PreviewServer.status} — and holds at most one frame in its buffer, never a queue.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  assertFiniteNumber,
  assertInRange,
  assertInteger,
  assertKnownKeys,
  assertObject,
  invalidParameterError,
  object,
} from '../is.ts';
import { assertRawImage, type RawImage, readImageSize, sniffImageFormat } from '../image/decode.ts';
import { type DrawableDetection, draw } from '../image/draw.ts';
import { previewPage } from './preview-page.ts';

/** A detection to draw and list: the detector's fields, and the tracker's `trackId` when there is one. */
export type PreviewDetection = DrawableDetection & { trackId?: number };

/** Live numbers shown on the page (any JSON-serializable fields: fps, drops, latency…). */
export type PreviewStats = Record<string, unknown>;

export interface PreviewServerOptions {
  /** TCP port (default 0: a free port chosen by the system; read it from `url`). Integer in [0, 65535]. */
  port?: number;
  /** Interface to listen on (default '127.0.0.1': this machine only; '0.0.0.0' for the whole network). */
  host?: string;
  /** JPEG quality of the annotated frames, 1–100 (default 80). */
  quality?: number;
  /** Most clients connected at once over all endpoints; more get 503 (default 32). Integer ≥ 1. */
  maxClients?: number;
  /** Page title (default 'ssd-edge live preview'). */
  title?: string;
}

/** The keys of {@link PreviewServerOptions}. */
export const PREVIEW_SERVER_OPTION_KEYS = [
  'port',
  'host',
  'quality',
  'maxClients',
  'title',
] as const satisfies ReadonlyArray<keyof PreviewServerOptions>;

/** Where a pushed frame comes from, for the `detections` event. */
export interface PreviewFrameInfo {
  /** The source's frame number (the pipeline's `frame`, gaps included). */
  frame?: number;
  /** Presentation timestamp, seconds. */
  pts?: number;
}

/** Counters of a preview server (for the pipeline's stats and for tests). */
export interface PreviewStatus {
  /** Clients connected now, per endpoint. */
  clients: { stream: number; events: number };
  /** Bytes written but not yet taken by the clients' connections, summed over clients (bounded: see the module). */
  bufferedBytes: number;
  framesPushed: number;
  /** Frames made ready to send: drawn and encoded, or a JPEG with no box passed through (the others were replaced by a newer one before anyone watched). */
  framesRendered: number;
  /** MJPEG parts written, summed over clients. */
  framesSent: number;
  /** MJPEG parts not sent to a client whose connection still held the previous one, summed over clients. */
  framesDropped: number;
  eventsSent: number;
  /** Events not sent to a client whose connection was still full. */
  eventsDropped: number;
  /** Frames that could not be drawn (an undecodable image); the message of the last one. */
  renderErrors: number;
  lastRenderError?: string;
}

export interface PreviewServer {
  /** `http://host:port/` of the page. */
  readonly url: string;
  /**
   * Shows a frame: stores it (a copy) with its detections and returns at once; the drawing happens later, only if
   * someone watches. Sends the `detections` event to the event clients now.
   *
   * @param image Encoded image bytes (JPEG, PNG… as the source gave them) or raw RGB/RGBA pixels.
   * @param detections Boxes in the image's pixels; `trackId` is drawn and listed when present.
   * @param stats Optional live numbers; sent as a `stats` event at most every 250 ms.
   * @param info The source's frame number and timestamp for the event (default: frames counted from 1, no pts).
   * @throws {TypeError} Not an image, detections not an array, stats not an object, an unknown key in info.
   * @throws {RangeError} info.frame not an integer ≥ 0, info.pts not finite.
   * @throws {Error} The server is closed.
   */
  pushFrame(
    image: Uint8Array | RawImage,
    detections: readonly PreviewDetection[],
    stats?: PreviewStats,
    info?: PreviewFrameInfo,
  ): void;
  /** Sends a `stats` event now (e.g. the final stats), whatever the last one's time. */
  pushStats(stats: PreviewStats): void;
  status(): PreviewStatus;
  /** Ends every response (event clients get an `end` event first) and stops listening. Idempotent. */
  close(): Promise<void>;
}

const BOUNDARY = 'ssdedgeframe';
const STATS_INTERVAL_MS = 250;
const KEEPALIVE_MS = 15_000;

type Frame = {
  seq: number;
  image: Uint8Array | RawImage;
  detections: PreviewDetection[];
  /** Encoded bytes that can be sent as they are (a JPEG with nothing to draw on it). */
  passThrough: boolean;
};

/**
 * Starts the preview server.
 *
 * @param options {@link PreviewServerOptions}.
 * @returns Once it listens: the server, with `url` naming the port actually bound.
 * @throws {TypeError} Unknown option key, wrong type. @throws {RangeError} An option out of range.
 * @throws {Error} The port cannot be bound: `Cannot serve the live preview on 127.0.0.1:8080: address already in
 *   use (EADDRINUSE)`.
 * @example
 * const preview = await createPreviewServer({ port: 8080 });
 * console.log(`preview on ${preview.url}`);
 * for await (const r of detector.stream('rtsp://cam/1', { image: true })) preview.pushFrame(r.image, r.detections, stats);
 * await preview.close();
 */
export async function createPreviewServer(options: PreviewServerOptions = {}): Promise<PreviewServer> {
  assertObject('options', options as unknown);
  assertKnownKeys('options', options, PREVIEW_SERVER_OPTION_KEYS);
  const port = options.port ?? 0;
  assertInteger('port', port, 0);
  assertInRange('port', port, 0, 65535);
  const host = options.host ?? '127.0.0.1';
  if (typeof host !== 'string' || host === '') throw invalidParameterError('host', 'non-empty string', host);
  const quality = options.quality ?? 80;
  assertInRange('quality', quality, 1, 100);
  const maxClients = options.maxClients ?? 32;
  assertInteger('maxClients', maxClients, 1);
  const title = options.title ?? 'ssd-edge live preview';
  if (typeof title !== 'string') throw invalidParameterError('title', 'string', title);
  const page = previewPage(title);

  const streamClients = new Set<http.ServerResponse>();
  const eventClients = new Set<http.ServerResponse>();
  const counts: Omit<PreviewStatus, 'clients' | 'bufferedBytes'> = {
    framesPushed: 0,
    framesRendered: 0,
    framesSent: 0,
    framesDropped: 0,
    eventsSent: 0,
    eventsDropped: 0,
    renderErrors: 0,
  };
  let closed = false;
  let pending: Frame | null = null; // pushed, not drawn yet
  let latest: { seq: number; jpeg: Buffer } | null = null; // the last drawn frame
  let rendering: Promise<void> | null = null;
  let lastStatsAt = -Infinity;

  const render = async (f: Frame): Promise<Buffer | null> => {
    try {
      if (f.passThrough) return Buffer.from(f.image as Uint8Array);
      const dets = f.detections.map((d) => (d.trackId === undefined ? d : { ...d, label: `#${d.trackId} ${d.label}` }));
      return await draw(f.image, dets, { format: 'jpeg', quality });
    } catch (err) {
      counts.renderErrors++;
      counts.lastRenderError = err instanceof Error ? err.message : String(err);
      return null;
    } finally {
      counts.framesRendered++;
    }
  };

  const sendPart = (res: http.ServerResponse, jpeg: Buffer) => {
    if (res.writableNeedDrain) {
      counts.framesDropped++;
      return;
    }
    res.write(`--${BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: ${jpeg.length}\r\n\r\n`);
    res.write(jpeg);
    res.write('\r\n');
    counts.framesSent++;
  };

  // Draws the pending frame while MJPEG clients watch; frames pushed meanwhile replace each other.
  const renderLoop = async () => {
    while (pending && streamClients.size > 0 && !closed) {
      const f = pending;
      pending = null;
      const jpeg = await render(f);
      if (!jpeg || closed) continue;
      if (!latest || latest.seq < f.seq) latest = { seq: f.seq, jpeg };
      for (const res of streamClients) sendPart(res, jpeg);
    }
  };
  const schedule = () => {
    if (rendering || !pending || streamClients.size === 0 || closed) return;
    rendering = renderLoop().finally(() => {
      rendering = null;
      schedule();
    });
  };

  const sendEvent = (res: http.ServerResponse, event: string, data: string, force = false) => {
    if (res.writableNeedDrain && !force) {
      counts.eventsDropped++;
      return;
    }
    res.write(`event: ${event}\ndata: ${data}\n\n`);
    counts.eventsSent++;
  };
  const broadcast = (event: string, text: string, force = false) => {
    for (const res of eventClients) sendEvent(res, event, text, force);
  };

  const keepalive = setInterval(() => {
    for (const res of eventClients) if (!res.writableNeedDrain) res.write(': keepalive\n\n');
  }, KEEPALIVE_MS);
  keepalive.unref();

  const snapshot = async (): Promise<Buffer | null> => {
    const f = pending;
    if (f && (!latest || latest.seq < f.seq)) {
      const jpeg = await render(f);
      if (jpeg && (!latest || latest.seq < f.seq)) latest = { seq: f.seq, jpeg };
    }
    return latest?.jpeg ?? null;
  };

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain' }).end('Method not allowed\n');
      return;
    }
    const head = req.method === 'HEAD';
    switch (url.pathname) {
      case '/':
      case '/index.html':
        res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-cache' });
        res.end(head ? undefined : page);
        return;
      case '/snapshot.jpg':
        snapshot().then(
          (jpeg) => {
            if (!jpeg) {
              res.writeHead(503, { 'Content-Type': 'text/plain', 'Retry-After': '1' }).end('No frame yet\n');
              return;
            }
            res.writeHead(200, {
              'Content-Type': 'image/jpeg',
              'Content-Length': jpeg.length,
              'Cache-Control': 'no-cache',
            });
            res.end(head ? undefined : jpeg);
          },
          () => res.writeHead(500).end(),
        );
        return;
      case '/stream.mjpg':
      case '/events': {
        if (streamClients.size + eventClients.size >= maxClients) {
          res.writeHead(503, { 'Content-Type': 'text/plain', 'Retry-After': '5' }).end('Too many clients\n');
          return;
        }
        const isStream = url.pathname === '/stream.mjpg';
        res.writeHead(200, {
          'Content-Type': isStream
            ? `multipart/x-mixed-replace; boundary=${BOUNDARY}`
            : 'text/event-stream; charset=utf-8',
          'Cache-Control': 'no-cache, no-store',
          Connection: 'keep-alive',
          'X-Accel-Buffering': 'no',
        });
        if (head) {
          res.end();
          return;
        }
        res.flushHeaders(); // the client sees the stream open before the first frame
        req.socket.setNoDelay(true);
        const clients = isStream ? streamClients : eventClients;
        clients.add(res);
        res.on('close', () => clients.delete(res));
        res.on('error', () => clients.delete(res)); // a connection reset is the client's business, never a crash
        if (isStream) {
          if (latest) sendPart(res, latest.jpeg);
          schedule();
        } else {
          res.write('retry: 1000\n\n');
        }
        return;
      }
      default:
        res.writeHead(404, { 'Content-Type': 'text/plain' }).end('Not found\n');
    }
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      clearInterval(keepalive);
      const why =
        err.code === 'EADDRINUSE'
          ? 'address already in use'
          : err.code === 'EACCES'
            ? 'permission denied'
            : err.code === 'EADDRNOTAVAIL'
              ? 'no such address on this machine'
              : err.message;
      reject(
        new Error(`Cannot serve the live preview on ${host}:${port}: ${why}${err.code ? ` (${err.code})` : ''}`, {
          cause: err,
        }),
      );
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const url = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}/`;

  return {
    url,
    pushFrame(image, detections, stats, info) {
      if (closed) throw new Error('The preview server is closed');
      // Everything is checked (and the event text built) before anything changes: a refused frame leaves no trace.
      let size: { width: number; height: number } | null;
      const encoded = image instanceof Uint8Array;
      if (encoded) {
        if (sniffImageFormat(image) === null)
          throw invalidParameterError('image', 'encoded image bytes (JPEG, PNG, …) or raw pixels', image);
        size = readImageSize(image);
      } else {
        assertRawImage('image', image);
        size = { width: image.width, height: image.height };
      }
      if (info !== undefined) {
        assertObject('info', info as unknown);
        assertKnownKeys('info', info, ['frame', 'pts']);
        if (info.frame !== undefined) assertInteger('info.frame', info.frame, 0);
        if (info.pts !== undefined) assertFiniteNumber('info.pts', info.pts);
      }
      const event = detectionsEvent(detections, info?.frame ?? counts.framesPushed + 1, info?.pts, size);
      const statsText = stats === undefined ? undefined : statsEvent(stats);
      const seq = ++counts.framesPushed;
      const frameImage: Uint8Array | RawImage = encoded
        ? Buffer.from(image)
        : { ...(image as RawImage), data: Buffer.from((image as RawImage).data) };
      pending = {
        seq,
        image: frameImage,
        detections: detections.slice(),
        passThrough: detections.length === 0 && encoded && sniffImageFormat(image) === 'jpeg',
      };
      schedule();
      broadcast('detections', event);
      const now = performance.now();
      if (statsText !== undefined && now - lastStatsAt >= STATS_INTERVAL_MS) {
        lastStatsAt = now;
        broadcast('stats', statsText);
      }
    },
    pushStats(stats) {
      if (closed) throw new Error('The preview server is closed');
      const text = statsEvent(stats);
      lastStatsAt = performance.now();
      broadcast('stats', text, true);
    },
    status() {
      let bufferedBytes = 0;
      for (const res of [...streamClients, ...eventClients]) bufferedBytes += res.writableLength;
      return { clients: { stream: streamClients.size, events: eventClients.size }, bufferedBytes, ...counts };
    },
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(keepalive);
      for (const res of eventClients) res.end('event: end\ndata: {}\n\n');
      for (const res of streamClients) res.end(`--${BOUNDARY}--\r\n`);
      eventClients.clear();
      streamClients.clear();
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      // Keep-alive sockets and clients that stopped reading would hold close() open: cut them.
      server.closeIdleConnections();
      setTimeout(() => server.closeAllConnections(), 1000).unref();
      await stopped;
      await rendering;
    },
  };
}

/**
 * The `detections` event's JSON: boxes as [x1, y1, x2, y2] like the JSONL sink, `trackId` when present.
 *
 * @throws {TypeError} Not an array of detections (the element named).
 */
function detectionsEvent(
  detections: unknown,
  frame: number,
  pts: number | undefined,
  size: { width: number; height: number } | null,
): string {
  if (!Array.isArray(detections)) throw invalidParameterError('detections', 'Array of detections', detections);
  const list = detections.map((d: unknown, k) => {
    if (!object(d)) throw invalidParameterError(`detections[${k}]`, 'detection object', d);
    const { label, classId, score, box, trackId } = d as Partial<PreviewDetection>;
    if (!object(box) || ![box.x1, box.y1, box.x2, box.y2].every((v) => typeof v === 'number' && Number.isFinite(v)))
      throw invalidParameterError(`detections[${k}].box`, '{ x1, y1, x2, y2 } finite numbers', box);
    return {
      label,
      classId,
      score,
      box: [box.x1, box.y1, box.x2, box.y2],
      ...(trackId === undefined ? {} : { trackId }),
    };
  });
  return JSON.stringify({ frame, pts, width: size?.width, height: size?.height, detections: list });
}

/** The `stats` event's JSON. @throws {TypeError} Not a plain object, or not serializable (a BigInt, a cycle). */
function statsEvent(stats: unknown): string {
  if (!object(stats)) throw invalidParameterError('stats', 'object', stats);
  try {
    return JSON.stringify(stats);
  } catch (err) {
    throw new TypeError(`Expected JSON-serializable object for stats but it failed: ${(err as Error).message}`, {
      cause: err,
    });
  }
}
