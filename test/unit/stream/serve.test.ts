/**
 * The live preview server (lib/stream/serve.ts) over plain HTTP: the page, the MJPEG stream (parts parsed and decoded,
 * boxes found in the pixels), server-sent events, snapshots, a client that never reads (frames dropped for it, its
 * buffer bounded, the other clients and the caller unaffected), close() ending every response, and the checks of
 * options and frames. The page in a real browser: serve-chromium.test.ts.
 */
import test from 'ava';
import http from 'node:http';
import net from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { createCanvas } from '@napi-rs/canvas';
import { decodeImage } from '../../../lib/image/decode.ts';
import { PALETTE } from '../../../lib/image/draw.ts';
import { createPreviewServer, type PreviewDetection } from '../../../lib/stream/serve.ts';

/** A width×height RGB frame: a horizontal grey ramp. */
function rampFrame(width: number, height: number) {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++)
      data.fill(60 + Math.floor((100 * x) / width), (y * width + x) * 3, (y * width + x + 1) * 3);
  return { data, width, height, channels: 3 as const };
}

/** A JPEG of random noise (big, barely compressible). */
function noiseJpeg(width: number, height: number, seed: number): Buffer {
  const canvas = createCanvas(width, height);
  const ctx = canvas.getContext('2d');
  const img = ctx.createImageData(width, height);
  let s = seed;
  for (let i = 0; i < img.data.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    img.data[i] = i % 4 === 3 ? 255 : s >>> 24;
  }
  ctx.putImageData(img, 0, 0);
  return canvas.encodeSync('jpeg', 90);
}

const person = (x: number, trackId?: number): PreviewDetection => ({
  label: 'person',
  classId: 1,
  score: 0.875,
  box: { x1: x, y1: 30, x2: x + 40, y2: 100 },
  ...(trackId === undefined ? {} : { trackId }),
});

/** GET that resolves with the response once its headers are in (the body keeps streaming). */
function open(url: string): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => http.get(url, resolve).on('error', reject));
}
async function fetchBytes(url: string, method = 'GET') {
  const r = await fetch(url, { method });
  return { status: r.status, type: r.headers.get('content-type'), body: Buffer.from(await r.arrayBuffer()) };
}

/** Collects the JPEG parts of a multipart/x-mixed-replace response. */
function mjpegParts(res: http.IncomingMessage): { parts: Buffer[]; ended: Promise<void> } {
  const parts: Buffer[] = [];
  let buf = Buffer.alloc(0);
  res.on('data', (chunk: Buffer) => {
    buf = Buffer.concat([buf, chunk]);
    for (;;) {
      const head = buf.indexOf('\r\n\r\n');
      if (head < 0) return;
      const header = buf.subarray(0, head).toString();
      const m = /Content-Length: (\d+)/.exec(header);
      if (!m) return;
      t0(header.startsWith('--ssdedgeframe\r\nContent-Type: image/jpeg'));
      const length = Number(m[1]);
      if (buf.length < head + 4 + length + 2) return;
      parts.push(Buffer.from(buf.subarray(head + 4, head + 4 + length)));
      buf = buf.subarray(head + 4 + length + 2);
    }
  });
  return { parts, ended: new Promise((resolve) => res.on('end', resolve)) };
}
function t0(ok: boolean) {
  if (!ok) throw new Error('malformed MJPEG part header');
}

/** Collects the server-sent events of a text/event-stream response. */
function sseEvents(res: http.IncomingMessage) {
  const events: Array<{ event: string; data: unknown }> = [];
  let text = '';
  res.setEncoding('utf8');
  res.on('data', (chunk: string) => {
    text += chunk;
    let end = text.indexOf('\n\n');
    while (end >= 0) {
      const block = text.slice(0, end);
      text = text.slice(end + 2);
      const event = /^event: (.*)$/m.exec(block)?.[1];
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (event) events.push({ event, data: JSON.parse(data ?? 'null') });
      end = text.indexOf('\n\n');
    }
  });
  return { events, ended: new Promise<void>((resolve) => res.on('end', resolve)) };
}

async function until(cond: () => boolean, what: string, ms = 10_000) {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > ms) throw new Error(`timed out waiting for ${what}`);
    await delay(10);
  }
}

const rgbAt = (
  img: { data: Uint8Array | Uint8ClampedArray; width: number; channels: number },
  x: number,
  y: number,
) => {
  const i = (y * img.width + x) * img.channels;
  return [img.data[i], img.data[i + 1], img.data[i + 2]];
};
/** The distance (max over R, G, B) from `hex` of the pixel nearest to it in the rectangle [x0, x1] × [y0, y1]. */
function nearest(
  img: { data: Uint8Array | Uint8ClampedArray; width: number; channels: number },
  hex: string,
  [x0, y0, x1, y1]: number[],
): number {
  const want = [1, 3, 5].map((k) => parseInt(hex.slice(k, k + 2), 16));
  let best = Infinity;
  for (let y = y0; y <= y1; y++)
    for (let x = x0; x <= x1; x++)
      best = Math.min(best, Math.max(...rgbAt(img, x, y).map((v, i) => Math.abs(v - want[i]))));
  return best;
}

/** Starts a server that the test closes even when it fails. */
async function start(
  t: { teardown(fn: () => Promise<void>): void },
  options?: Parameters<typeof createPreviewServer>[0],
) {
  const server = await createPreviewServer(options);
  t.teardown(() => server.close());
  return server;
}

test('the page, 404, 405 and HEAD', async (t) => {
  const server = await start(t, { title: 'Cam <1>' });
  t.regex(server.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
  const page = await fetchBytes(server.url);
  t.is(page.status, 200);
  t.is(page.type, 'text/html; charset=utf-8');
  const html = page.body.toString();
  t.true(html.includes('src="stream.mjpg"'));
  t.true(html.includes("new EventSource('events')"));
  t.true(html.includes('<title>Cam &lt;1&gt;</title>'), 'the title is escaped');
  t.is((await fetchBytes(`${server.url}nope`)).status, 404);
  t.is((await fetchBytes(server.url, 'POST')).status, 405);
  const head = await fetchBytes(server.url, 'HEAD');
  t.is(head.status, 200);
  t.is(head.body.length, 0);
  await server.close();
});

test('MJPEG: each part is a JPEG of the pushed frame with the boxes drawn; a JPEG without boxes passes as it is', async (t) => {
  const server = await start(t, { quality: 95 });
  const res = await open(`${server.url}stream.mjpg`);
  t.is(res.headers['content-type'], 'multipart/x-mixed-replace; boundary=ssdedgeframe');
  const { parts, ended } = mjpegParts(res);
  await until(() => server.status().clients.stream === 1, 'the client');
  server.pushFrame(rampFrame(200, 120), [person(20, 7), { ...person(120), classId: 2, label: 'dog' }]);
  await until(() => parts.length === 1, 'the first part');
  const img = await decodeImage(parts[0]);
  t.is(img.format, 'jpeg');
  t.deepEqual([img.width, img.height], [200, 120]);
  // Each box's label tag (filled above the box, 16 px tall) has its class colour; the ramp between is grey.
  t.true(nearest(img, PALETTE[1], [20, 14, 40, 28]) <= 8, 'the person tag');
  t.true(nearest(img, PALETTE[2], [120, 14, 140, 28]) <= 8, 'the dog tag');
  t.true(nearest(img, PALETTE[1], [60, 40, 110, 90]) > 30, 'no box colour between the boxes');
  const grey = rgbAt(img, 80, 70);
  t.true(Math.max(...grey) - Math.min(...grey) < 12, `background ${grey}`);
  // A JPEG with no detection is sent byte for byte.
  const jpeg = noiseJpeg(64, 48, 1);
  server.pushFrame(jpeg, []);
  await until(() => parts.length === 2, 'the second part');
  t.true(parts[1].equals(jpeg));
  // A second client gets the latest frame at once.
  const late = mjpegParts(await open(`${server.url}stream.mjpg`));
  await until(() => late.parts.length === 1, "the late client's first part");
  t.true(late.parts[0].equals(jpeg));
  await server.close();
  await ended;
  await late.ended;
  t.is(server.status().renderErrors, 0);
});

test('server-sent events: one detections event per frame (box as [x1, y1, x2, y2], trackId), stats events, end', async (t) => {
  const server = await start(t);
  const res = await open(`${server.url}events`);
  t.is(res.headers['content-type'], 'text/event-stream; charset=utf-8');
  const { events, ended } = sseEvents(res);
  await until(() => server.status().clients.events === 1, 'the client');
  server.pushFrame(rampFrame(80, 60), [person(1, 3)], { fps: 29.5 });
  server.pushFrame(rampFrame(80, 60), [], { fps: 30 }); // stats within 250 ms of the last: not sent
  server.pushFrame(noiseJpeg(64, 48, 2), [person(2), person(3, 4)], undefined, { frame: 41, pts: 4.1 });
  server.pushStats({ fps: 31, dropped: 2 });
  await until(() => events.length === 5, 'five events');
  t.deepEqual(events, [
    {
      event: 'detections',
      data: {
        frame: 1,
        width: 80,
        height: 60,
        detections: [{ label: 'person', classId: 1, score: 0.875, box: [1, 30, 41, 100], trackId: 3 }],
      },
    },
    { event: 'stats', data: { fps: 29.5 } },
    { event: 'detections', data: { frame: 2, width: 80, height: 60, detections: [] } },
    {
      event: 'detections',
      data: {
        frame: 41,
        pts: 4.1,
        width: 64,
        height: 48,
        detections: [
          { label: 'person', classId: 1, score: 0.875, box: [2, 30, 42, 100] },
          { label: 'person', classId: 1, score: 0.875, box: [3, 30, 43, 100], trackId: 4 },
        ],
      },
    },
    { event: 'stats', data: { fps: 31, dropped: 2 } },
  ]);
  await server.close();
  await ended;
  t.deepEqual(events.at(-1), { event: 'end', data: {} });
});

test('snapshot: 503 before the first frame, then the latest frame drawn on demand (no stream client needed)', async (t) => {
  const server = await start(t);
  t.is((await fetchBytes(`${server.url}snapshot.jpg`)).status, 503);
  server.pushFrame(rampFrame(100, 50), [person(10)]);
  server.pushFrame(rampFrame(120, 60), [person(10)]);
  const snap = await fetchBytes(`${server.url}snapshot.jpg`);
  t.is(snap.status, 200);
  t.is(snap.type, 'image/jpeg');
  const img = await decodeImage(snap.body);
  t.deepEqual([img.width, img.height], [120, 60], 'the latest frame');
  t.is(server.status().framesRendered, 1, 'the replaced frame was never drawn');
  await server.close();
});

test('a client that never reads loses frames, holds a bounded buffer, and slows neither the caller nor the others', async (t) => {
  const server = await start(t);
  const { port } = new URL(server.url);
  // A raw client that asks for the stream and never reads a byte.
  const slow = net.connect(Number(port), '127.0.0.1');
  slow.pause();
  slow.write('GET /stream.mjpg HTTP/1.1\r\nHost: x\r\n\r\n');
  const fast = mjpegParts(await open(`${server.url}stream.mjpg`));
  await until(() => server.status().clients.stream === 2, 'both clients');
  const frames = [0, 1, 2, 3].map((k) => noiseJpeg(400, 300, 10 + k));
  const frameSize = Math.max(...frames.map((f) => f.length));
  let maxBuffered = 0;
  let slowestPush = 0;
  for (let k = 0; k < 150; k++) {
    const start = performance.now();
    server.pushFrame(frames[k % 4], []);
    slowestPush = Math.max(slowestPush, performance.now() - start);
    await until(() => fast.parts.length >= k + 1, `the fast client's part ${k}`);
    maxBuffered = Math.max(maxBuffered, server.status().bufferedBytes);
  }
  const s = server.status();
  t.log(
    `frame ~${(frameSize / 1024).toFixed(0)} KiB; sent ${s.framesSent}, dropped ${s.framesDropped}, max buffered ${(maxBuffered / 1024).toFixed(0)} KiB, slowest pushFrame ${slowestPush.toFixed(2)} ms`,
  );
  t.true(s.framesDropped > 0, 'the slow client lost frames');
  t.is(fast.parts.length, 150, 'the fast client got every frame');
  // At most the part in flight for the slow client plus one part being taken by the fast one.
  t.true(maxBuffered <= 2 * (frameSize + 200), `buffered ${maxBuffered}`);
  const closing = server.close();
  await closing; // a client that never reads does not hold close() open
  t.is(server.status().clients.stream, 0);
  slow.destroy();
});

test('an event client that never reads loses events and holds a bounded buffer', async (t) => {
  const server = await start(t);
  const { port } = new URL(server.url);
  const slow = net.connect(Number(port), '127.0.0.1');
  slow.pause();
  slow.write('GET /events HTTP/1.1\r\nHost: x\r\n\r\n');
  await until(() => server.status().clients.events === 1, 'the client');
  const tiny = { data: new Uint8Array(3), width: 1, height: 1, channels: 3 as const };
  const many = Array.from({ length: 100 }, (_, k) => person(k, k));
  const eventSize = JSON.stringify(many).length + 100;
  let maxBuffered = 0;
  for (let k = 0; k < 3000 && server.status().eventsDropped < 100; k++) {
    server.pushFrame(tiny, many);
    maxBuffered = Math.max(maxBuffered, server.status().bufferedBytes);
    if (k % 50 === 0) await delay(1); // let the socket move what the kernel takes
  }
  const s = server.status();
  t.log(
    `event ~${(eventSize / 1024).toFixed(0)} KiB; sent ${s.eventsSent}, dropped ${s.eventsDropped}, max buffered ${(maxBuffered / 1024).toFixed(0)} KiB`,
  );
  t.true(s.eventsDropped >= 100);
  t.true(maxBuffered <= eventSize + 64 * 1024, `buffered ${maxBuffered}`);
  slow.destroy();
  await until(() => server.status().clients.events === 0, 'the client gone');
});

test('clients that go away mid-stream are forgotten; pushing on does not fail', async (t) => {
  const server = await start(t);
  const stream = await open(`${server.url}stream.mjpg`);
  const events = await open(`${server.url}events`);
  await until(() => server.status().clients.stream === 1 && server.status().clients.events === 1, 'clients');
  server.pushFrame(rampFrame(64, 48), [person(1)]);
  stream.destroy();
  events.destroy();
  for (let k = 0; k < 20; k++) {
    server.pushFrame(rampFrame(64, 48), [person(k)]);
    await delay(5);
  }
  await until(() => server.status().clients.stream === 0 && server.status().clients.events === 0, 'no clients');
  t.is(server.status().framesPushed, 21);
});

test('close ends every response, refuses new frames, and is idempotent', async (t) => {
  const server = await start(t);
  const stream = mjpegParts(await open(`${server.url}stream.mjpg`));
  const events = sseEvents(await open(`${server.url}events`));
  await until(() => server.status().clients.events === 1 && server.status().clients.stream === 1, 'clients');
  await server.close();
  await stream.ended;
  await events.ended;
  await server.close();
  t.throws(() => server.pushFrame(rampFrame(8, 8), []), { message: 'The preview server is closed' });
  await t.throwsAsync(fetch(server.url));
});

test('maxClients: one more client gets 503', async (t) => {
  const server = await start(t, { maxClients: 1 });
  const first = await open(`${server.url}events`);
  const second = await fetchBytes(`${server.url}stream.mjpg`);
  t.is(second.status, 503);
  t.is(second.body.toString(), 'Too many clients\n');
  first.destroy();
  await server.close();
});

test('options and frames are checked; a busy port gives one readable error', async (t) => {
  await t.throwsAsync(createPreviewServer({ prot: 80 } as never), {
    instanceOf: TypeError,
    message: /^Unknown key 'prot' in options: expected one of 'port', 'host'/,
  });
  await t.throwsAsync(createPreviewServer({ port: 70000 }), {
    instanceOf: RangeError,
    message: 'Expected number in [0, 65535] for port but received 70000',
  });
  await t.throwsAsync(createPreviewServer({ port: 1.5 }), { instanceOf: RangeError, message: /for port/ });
  await t.throwsAsync(createPreviewServer({ quality: 0 }), {
    instanceOf: RangeError,
    message: 'Expected number in [1, 100] for quality but received 0',
  });
  await t.throwsAsync(createPreviewServer({ host: '' }), { instanceOf: TypeError, message: /for host/ });
  const server = await start(t);
  const { port } = new URL(server.url);
  await t.throwsAsync(createPreviewServer({ port: Number(port) }), {
    message: `Cannot serve the live preview on 127.0.0.1:${port}: address already in use (EADDRINUSE)`,
  });
  t.throws(() => server.pushFrame('frame.jpg' as never, []), { instanceOf: TypeError, message: /for image/ });
  t.throws(() => server.pushFrame(Buffer.from('not an image'), []), {
    instanceOf: TypeError,
    message: /^Expected encoded image bytes \(JPEG, PNG, …\) or raw pixels for image but received Buffer of length 12/,
  });
  t.throws(() => server.pushFrame({ data: new Uint8Array(10), width: 4, height: 4, channels: 3 }, []), {
    instanceOf: TypeError,
    message: /for image\.data/,
  });
  t.throws(() => server.pushFrame(rampFrame(4, 4), null as never), { message: /for detections/ });
  t.throws(() => server.pushFrame(rampFrame(4, 4), [], 5 as never), { message: /for stats/ });
  t.throws(() => server.pushFrame(rampFrame(4, 4), [person(1), { ...person(2), box: null } as never]), {
    instanceOf: TypeError,
    message: 'Expected { x1, y1, x2, y2 } finite numbers for detections[1].box but received null',
  });
  t.throws(() => server.pushFrame(rampFrame(4, 4), [], { n: 1n }), {
    instanceOf: TypeError,
    message: /^Expected JSON-serializable object for stats/,
  });
  t.throws(() => server.pushStats([] as never), { instanceOf: TypeError, message: /for stats/ });
  t.throws(() => server.pushFrame(rampFrame(4, 4), [], undefined, { frame: -1 }), {
    instanceOf: RangeError,
    message: 'Expected integer ≥ 0 for info.frame but received -1',
  });
  t.throws(() => server.pushFrame(rampFrame(4, 4), [], undefined, { pts: Number.NaN }), {
    instanceOf: RangeError,
    message: 'Expected finite number for info.pts but received NaN',
  });
  t.throws(() => server.pushFrame(rampFrame(4, 4), [], undefined, { time: 1 } as never), {
    instanceOf: TypeError,
    message: "Unknown key 'time' in info: expected one of 'frame', 'pts'",
  });
  t.is(server.status().framesPushed, 0, 'a refused frame is not counted');
  await server.close();
});
