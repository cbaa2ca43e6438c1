/**
 * `ssd-edge stream` as users run it (a child process): JSON lines equal to the API's results, an annotated H.264
 * video with every frame, snapshots, usage errors as one line with exit code 2, and SIGINT/SIGTERM on a live source:
 * clean stop, sinks flushed and put in place, final stats, no ffmpeg left behind.
 */
import test from 'ava';
import { execFile, execFileSync, spawn } from 'node:child_process';
import http from 'node:http';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Detector } from '../../lib/detector/detector.ts';
import { stream } from '../../lib/stream/index.ts';
import { toJsonlRecord, type JsonlRecord } from '../../lib/stream/sinks.ts';
import { fixturesDir } from '../helpers/fixtures.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const TSX = pathToFileURL(path.join(root, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;
const CLI = [`--import=${TSX}`, path.join(root, 'lib/cli/index.ts')];
const CLIP = path.join(fixturesDir, 'stream', 'vtest_30.mp4');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ssd-edge-stream-cli-'));
test.after.always(() => fs.rmSync(tmp, { recursive: true, force: true }));

function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [...CLI, ...args],
      { cwd: tmp, env: { ...process.env, SSD_EDGE_DEBUG: '' }, maxBuffer: 1 << 26 },
      (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

const lines = (text: string): JsonlRecord[] =>
  text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));

const withoutTime = (r: JsonlRecord) => ({ ...r, time: 0 });

test("JSON lines on stdout: one per frame, equal to the API's results", async (t) => {
  const r = await cli('stream', CLIP, '-t', '0.05');
  t.is(r.code, 0, r.stderr);
  const got = lines(r.stdout);
  t.is(got.length, 30);
  const detector = await Detector.load(undefined, { device: 'cpu' });
  const ref: JsonlRecord[] = [];
  for await (const x of stream(detector, CLIP, { scoreThreshold: 0.05 })) ref.push(toJsonlRecord(x));
  await detector.dispose();
  t.deepEqual(got.map(withoutTime), ref.map(withoutTime));
  t.true(got.some((g) => g.detections.length > 0));
  for (const g of got) {
    t.deepEqual(Object.keys(g), ['frame', 'pts', 'time', 'detections']);
    for (const d of g.detections) {
      t.deepEqual(Object.keys(d), ['label', 'classId', 'score', 'box']);
      t.true(d.box.length === 4 && d.box[0] <= d.box[2] && d.box[1] <= d.box[3]);
    }
  }
});

test('--jsonl FILE, --out video.mp4 and --snapshot-dir: every frame in the file and the video; existing files kept', async (t) => {
  const dir = path.join(tmp, 'sinks');
  fs.mkdirSync(dir);
  const jsonl = path.join(dir, 'dets.jsonl');
  const video = path.join(dir, 'annotated.mp4');
  const shots = path.join(dir, 'shots');
  const r = await cli(
    'stream',
    CLIP,
    '-t',
    '0.05',
    '--jsonl',
    jsonl,
    '--out',
    video,
    '--snapshot-dir',
    shots,
    '--classes',
    'face',
  );
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout, '', 'no JSON on stdout when it goes to a file');
  t.is(lines(fs.readFileSync(jsonl, 'utf8')).length, 30);
  const probe = execFileSync(
    'ffprobe',
    [
      '-v',
      'error',
      '-count_frames',
      '-show_entries',
      'stream=codec_name,width,height,nb_read_frames',
      '-of',
      'json',
      video,
    ],
    { encoding: 'utf8' },
  );
  t.like(JSON.parse(probe).streams[0], { codec_name: 'h264', width: 384, height: 288, nb_read_frames: '30' });
  // the boxes are drawn: frame 0 of the video differs from frame 0 of the clip where the boxes are
  const frame0 = (file: string) =>
    execFileSync('ffmpeg', ['-v', 'error', '-i', file, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'], {
      maxBuffer: 1 << 24,
    });
  const a = frame0(video);
  const b = frame0(CLIP);
  const box = lines(fs.readFileSync(jsonl, 'utf8'))[0].detections[0].box.map(Math.round);
  let diff = 0;
  for (let x = box[0]; x <= box[2]; x++) {
    const i = (box[1] * 384 + x) * 3; // the top edge of the first box
    diff += Math.abs(a[i] - b[i]) + Math.abs(a[i + 1] - b[i + 1]) + Math.abs(a[i + 2] - b[i + 2]);
  }
  t.true(diff / (box[2] - box[0] + 1) > 30, `mean difference on the box edge ${diff / (box[2] - box[0] + 1)}`);
  const snaps = fs.readdirSync(shots);
  t.deepEqual(snaps, ['frame-000000-face.jpg']);
  t.deepEqual([...fs.readFileSync(path.join(shots, snaps[0])).subarray(0, 3)], [0xff, 0xd8, 0xff]);
  t.deepEqual(fs.readdirSync(dir).sort(), ['annotated.mp4', 'dets.jsonl', 'shots'], 'no temporary file left');

  const before = fs.readFileSync(jsonl);
  const again = await cli('stream', CLIP, '--jsonl', jsonl);
  t.is(again.code, 1);
  t.is(again.stderr, `ssd-edge: Not writing ${jsonl}: the file exists (--overwrite replaces it)\n`);
  t.true(fs.readFileSync(jsonl).equals(before));
  const input = await cli('stream', CLIP, '--out', CLIP, '--overwrite');
  t.is(input.code, 2);
  t.is(input.stderr, `ssd-edge: Not writing ${CLIP}: it is the input\n`);
});

test("stdin: raw frames piped from another program ('-' --raw WxH:pixfmt:rate), one JSON line per frame", async (t) => {
  const raw = execFileSync('ffmpeg', ['-v', 'error', '-i', CLIP, '-f', 'rawvideo', '-pix_fmt', 'bgr24', '-'], {
    maxBuffer: 1 << 26,
  });
  t.is(raw.length, 30 * 384 * 288 * 3);
  const r = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [...CLI, 'stream', '-', '--raw', '384x288:bgr24:10', '-t', '0.05'], {
      cwd: tmp,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(raw);
  });
  t.is(r.code, 0, r.stderr);
  const got = lines(r.stdout);
  t.deepEqual(
    got.map((g) => [g.frame, Math.round(g.pts * 10)]),
    Array.from({ length: 30 }, (_, k) => [k, k]),
  );
  // the same results as the API on the same stdin bytes
  const detector = await Detector.load(undefined, { device: 'cpu' });
  const ref: JsonlRecord[] = [];
  const input = Readable.from([raw]);
  for await (const x of stream(detector, '-', {
    raw: { width: 384, height: 288, pixelFormat: 'bgr24', rate: 10 },
    input,
    scoreThreshold: 0.05,
  }))
    ref.push(toJsonlRecord(x));
  await detector.dispose();
  t.deepEqual(got.map(withoutTime), ref.map(withoutTime));
  t.true(got.some((g) => g.detections.length > 0));
});

test('usage errors: one line, exit code 2', async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [['--raw', '64x48'], /^ssd-edge: --raw describes frames on stdin: give '-' as the source$/],
    [
      ['--policy', 'newest'],
      /^ssd-edge: option '--policy <policy>' argument 'newest' is invalid. Allowed choices are latest, every.$/,
    ],
    [['--fps', '0'], /^ssd-edge: .*--fps must be a number in \[0.001, 1000\]/],
    [
      ['--classes', 'dog'],
      /^ssd-edge: --classes: Expected a label of the model \('face'\) for classes\[0\] but received "dog"$/,
    ],
  ];
  for (const [args, re] of cases) {
    const r = await cli('stream', CLIP, ...args);
    t.is(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    t.regex(r.stderr.trim(), re);
    t.is(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
  const raw = await cli('stream', '-', '--raw', '64xx');
  t.is(raw.code, 2);
  t.regex(raw.stderr, /--raw must be WIDTHxHEIGHT\[:PIXEL_FORMAT\[:RATE\]\]/);
});

test('--track on a face panning across 20 frames: one track id throughout; the annotated video has every frame', async (t) => {
  // the astronaut photo, a 320×320 window sliding 8 px per frame: the face moves, the tracker must keep its id
  const pan = path.join(tmp, 'pan.mp4');
  execFileSync('ffmpeg', [
    '-v',
    'error',
    '-loop',
    '1',
    '-framerate',
    '10',
    '-i',
    path.join(fixturesDir, 'images', 'astronaut.png'),
    '-vf',
    "crop=320:320:'n*8':40",
    '-frames:v',
    '20',
    '-c:v',
    'libx264',
    '-pix_fmt',
    'yuv420p',
    pan,
  ]);
  const r = await cli('stream', pan, '--track', '--jsonl', '-', '--out', path.join(tmp, 'pan-tracked.mp4'));
  t.is(r.code, 0, r.stderr);
  const got = lines(r.stdout);
  t.is(got.length, 20);
  const ids = new Set<number>();
  for (const g of got) {
    const frameIds = g.detections.map((d) => d.trackId!);
    t.true(frameIds.every((id) => Number.isInteger(id) && id >= 1));
    t.is(new Set(frameIds).size, frameIds.length);
    for (const id of frameIds) ids.add(id);
  }
  t.true(ids.size > 0, 'something was tracked');
  t.deepEqual([...ids], [1], 'one face, one id');
  // reported from the second frame on (minHits 2), every frame after
  t.deepEqual(
    got.map((g) => g.detections.length),
    [0, ...Array(19).fill(1)],
  );
  // the face moves left in the picture as the window slides right
  const x = got.slice(1).map((g) => g.detections[0].box[0]);
  t.true(x[x.length - 1] < x[0] - 100, `x from ${x[0]} to ${x[x.length - 1]}`);
  const frames = execFileSync(
    'ffprobe',
    [
      '-v',
      'error',
      '-count_frames',
      '-show_entries',
      'stream=nb_read_frames',
      '-of',
      'csv=p=0',
      path.join(tmp, 'pan-tracked.mp4'),
    ],
    { encoding: 'utf8' },
  );
  t.is(frames.trim(), '20');
});

/** Children of a process (from /proc/<pid>/stat's ppid field). */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  test(`${signal} on a live source: clean stop, JSON lines put in place, final stats, no ffmpeg left`, async (t) => {
    const jsonl = path.join(tmp, `${signal}.jsonl`);
    const child = spawn(
      process.execPath,
      [...CLI, 'stream', 'testsrc2=size=160x120:rate=10', '--format', 'lavfi', '--jsonl', jsonl, '--stats'],
      { cwd: tmp, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr.setEncoding('utf8');
    const statsSeen = new Promise<void>((resolve) =>
      child.stderr.on('data', (s: string) => {
        stderr += s;
        if (/processed [1-9]/.test(stderr)) resolve();
      }),
    );
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    await statsSeen;
    const ffmpeg = childrenOf(child.pid!);
    t.is(ffmpeg.length, 1, 'one ffmpeg child');
    t.regex(fs.readFileSync(`/proc/${ffmpeg[0]}/cmdline`, 'utf8'), /ffmpeg/);
    child.kill(signal);
    const code = await exited;
    t.is(code, 0, stderr);
    t.regex(stderr, /\nfinal: frames \d+ processed \d+ dropped \d+/);
    t.false(alive(ffmpeg[0]), 'ffmpeg has exited');
    const got = lines(fs.readFileSync(jsonl, 'utf8'));
    t.true(got.length >= 1);
    t.deepEqual(
      got.map((g) => g.frame),
      got.map((g) => g.frame).sort((a, b) => a - b),
    );
    t.deepEqual(
      fs.readdirSync(tmp).filter((f) => f.startsWith(`.${signal}.jsonl`)),
      [],
      'no temporary file left',
    );
  });
}

test('--serve: the preview page, detection events and annotated snapshots while the stream runs; SIGINT closes it', async (t) => {
  const child = spawn(
    process.execPath,
    [...CLI, 'stream', CLIP, '--realtime', '--serve', '0', '--jsonl', path.join(tmp, 'serve.jsonl')],
    {
      cwd: tmp,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr.setEncoding('utf8');
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr.on('data', (s: string) => {
      stderr += s;
      const m = /live preview on (http:\/\/\S+)/.exec(stderr);
      if (m) resolve(m[1]);
    });
    child.on('close', () => reject(new Error(`exited: ${stderr}`)));
  });
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  t.regex(url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
  const get = (p: string) =>
    new Promise<{ status: number; type: string; body: Buffer }>((resolve, reject) =>
      http
        .get(new URL(p, url), (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({
              status: res.statusCode!,
              type: String(res.headers['content-type']),
              body: Buffer.concat(chunks),
            }),
          );
        })
        .on('error', reject),
    );
  const page = await get('/');
  t.is(page.status, 200);
  t.regex(page.type, /^text\/html/);
  // the first detections event names a frame of the clip
  const event = await new Promise<string>((resolve, reject) => {
    const req = http.get(new URL('/events', url), (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (s: string) => {
        text += s;
        const m = /event: detections\ndata: (.*)\n/.exec(text);
        if (m) {
          req.destroy();
          resolve(m[1]);
        }
      });
    });
    req.on('error', reject);
  });
  t.true(Number.isInteger(JSON.parse(event).frame));
  let snap = await get('/snapshot.jpg');
  for (let k = 0; k < 20 && snap.status !== 200; k++) {
    await new Promise((r) => setTimeout(r, 100));
    snap = await get('/snapshot.jpg');
  }
  t.is(snap.status, 200);
  t.deepEqual([...snap.body.subarray(0, 3)], [0xff, 0xd8, 0xff]);
  child.kill('SIGINT');
  t.is(await exited, 0, stderr);
  await t.throwsAsync(get('/'), { code: 'ECONNREFUSED' });
});

test('bad sources and outputs: one line naming the problem, exit code 1, nothing written', async (t) => {
  const file = path.join(tmp, 'bad-cases-file');
  fs.writeFileSync(file, 'kept');
  const cases: [string[], string][] = [
    [[path.join(tmp, 'missing.mp4')], `ssd-edge: No such video file: ${path.join(tmp, 'missing.mp4')}\n`],
    [[path.join(tmp, 'none-*.jpg')], `ssd-edge: No file matches the image glob ${path.join(tmp, 'none-*.jpg')}\n`],
    [['/dev/video99'], 'ssd-edge: No such video device: /dev/video99\n'],
    // the source is checked before the model is loaded: its error comes first (and at once)
    [
      [path.join(tmp, 'missing.mp4'), '--model', path.join(tmp, 'no-model.onnx')],
      `ssd-edge: No such video file: ${path.join(tmp, 'missing.mp4')}\n`,
    ],
    [
      [CLIP, '--jsonl', path.join(tmp, 'no-dir', 'd.jsonl')],
      `ssd-edge: Cannot write ${path.join(tmp, 'no-dir', 'd.jsonl')}: the folder ${path.join(tmp, 'no-dir')} does not exist\n`,
    ],
    [
      [CLIP, '--out', path.join(tmp, 'no-dir', 'v.mp4')],
      `ssd-edge: Cannot write ${path.join(tmp, 'no-dir', 'v.mp4')}: the folder ${path.join(tmp, 'no-dir')} does not exist\n`,
    ],
    [
      [CLIP, '--snapshot-dir', file],
      `ssd-edge: Cannot write snapshots to ${file}: it (or a folder above it) is a file, not a folder\n`,
    ],
  ];
  for (const [args, message] of cases) {
    const r = await cli('stream', ...args);
    t.is(r.code, 1, args.join(' '));
    t.is(r.stderr, message);
    t.is(r.stdout, '');
  }
  t.false(fs.existsSync(path.join(tmp, 'no-dir')));
  t.is(fs.readFileSync(file, 'utf8'), 'kept');
});

test('--out with a source that gives no frame: exit 0, a line says the video was not written', async (t) => {
  const out = path.join(tmp, 'empty-stdin.mp4');
  const r = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [...CLI, 'stream', '-', '--raw', '64x48', '--out', out], { cwd: tmp });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end();
  });
  t.is(r.code, 0, r.stderr);
  t.is(r.stderr, `ssd-edge: no frame was processed: ${out} not written\n`);
  t.false(fs.existsSync(out));
});
