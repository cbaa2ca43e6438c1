/**
 * Sinks: JSON lines (the record shape, a file that appears only when complete and never replaces one, a function
 * target), snapshots when a class appears (atomic, never over a file), and the video sink's rate and encoder errors.
 */
import test from 'ava';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import type { Detection } from '../../../lib/detector/options.ts';
import {
  createJsonlSink,
  createSnapshotSink,
  createVideoSink,
  toJsonlRecord,
  type SinkResult,
} from '../../../lib/stream/sinks.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ssd-edge-sinks-'));
test.after.always(() => fs.rmSync(tmp, { recursive: true, force: true }));

const det = (classId: number, label: string, x = 10): Detection => ({
  label,
  classId,
  score: 0.75,
  box: { x1: x, y1: 5, x2: x + 20, y2: 30 },
});

function result(frame: number, detections: Detection[], withImage = false): SinkResult {
  const r: SinkResult = { frame, pts: frame / 10, time: 1_700_000_000_000 + frame, detections };
  if (withImage) {
    const data = new Uint8Array(64 * 48 * 3).fill(frame * 20);
    r.image = { data, width: 64, height: 48, channels: 3 };
  }
  return r;
}

test('toJsonlRecord: frame, pts, time, detections with [x1, y1, x2, y2] boxes and trackId when tracked', (t) => {
  const tracked = { ...det(1, 'face'), trackId: 7 };
  t.deepEqual(toJsonlRecord(result(3, [det(2, 'dog'), tracked])), {
    frame: 3,
    pts: 0.3,
    time: 1_700_000_000_003,
    detections: [
      { label: 'dog', classId: 2, score: 0.75, box: [10, 5, 30, 30] },
      { label: 'face', classId: 1, score: 0.75, box: [10, 5, 30, 30], trackId: 7 },
    ],
  });
});

test('JSONL file: written under a temporary name, in place at close; an existing file is refused up front', async (t) => {
  const file = path.join(tmp, 'a.jsonl');
  const sink = await createJsonlSink(file);
  await sink.write(result(0, [det(1, 'face')]));
  await sink.write(result(1, []));
  t.false(fs.existsSync(file), 'not visible before close');
  await sink.close();
  const lines = fs.readFileSync(file, 'utf8').trimEnd().split('\n');
  t.is(lines.length, 2);
  t.deepEqual(JSON.parse(lines[1]), { frame: 1, pts: 0.1, time: 1_700_000_000_001, detections: [] });
  t.deepEqual(
    fs.readdirSync(tmp).filter((f) => f.startsWith('.a.jsonl')),
    [],
    'no temporary file left',
  );
  await t.throwsAsync(createJsonlSink(file), {
    message: `Not writing ${file}: the file exists (overwrite: true replaces it)`,
  });
  const again = await createJsonlSink(file, { overwrite: true });
  await again.write(result(5, []));
  await again.close();
  t.is(JSON.parse(fs.readFileSync(file, 'utf8')).frame, 5);
});

test('JSONL file: a file created at the target meanwhile is kept; the results stay in the temporary file', async (t) => {
  const file = path.join(tmp, 'race.jsonl');
  const sink = await createJsonlSink(file);
  await sink.write(result(0, []));
  fs.writeFileSync(file, 'theirs');
  const err = await t.throwsAsync(sink.close());
  t.regex(
    err!.message,
    /^Not writing .*race\.jsonl: the file exists \(overwrite: true replaces it\); the results are in .*\.race\.jsonl\..*\.tmp$/,
  );
  t.is(fs.readFileSync(file, 'utf8'), 'theirs');
});

test('JSONL to a function and to a Writable', async (t) => {
  const got: string[] = [];
  const sink = await createJsonlSink((text) => got.push(text));
  await sink.write(result(0, []));
  await sink.close();
  t.deepEqual(got, [`${JSON.stringify({ frame: 0, pts: 0, time: 1_700_000_000_000, detections: [] })}\n`]);
  const through = new PassThrough();
  const chunks: Buffer[] = [];
  through.on('data', (c: Buffer) => chunks.push(c));
  const ws = await createJsonlSink(through);
  await ws.write(result(2, [det(1, 'face')]));
  await ws.close();
  t.false(through.writableEnded, 'a stream given is not closed (stdout stays open)');
  t.is(JSON.parse(Buffer.concat(chunks).toString()).frame, 2);
  await t.throwsAsync(createJsonlSink(42 as unknown as string), {
    instanceOf: TypeError,
    message: 'Expected file path, Writable stream or function for target but received 42',
  });
});

test('snapshots: a JPEG when a class of interest appears (not while it stays), never over an existing file', async (t) => {
  const dir = path.join(tmp, 'shots');
  const sink = await createSnapshotSink(dir, { classes: new Set([1]) });
  await sink.write(result(0, [], true));
  await sink.write(result(1, [det(1, 'person')], true)); // appears
  await sink.write(result(2, [det(1, 'person')], true)); // stays
  await sink.write(result(3, [det(2, 'dog')], true)); // not of interest; person gone
  await sink.write(result(4, [det(1, 'person'), det(2, 'dog')], true)); // appears again
  t.deepEqual(fs.readdirSync(dir).sort(), ['frame-000001-person.jpg', 'frame-000004-person.jpg']);
  t.deepEqual(
    sink.written.map((f) => path.basename(f)),
    ['frame-000001-person.jpg', 'frame-000004-person.jpg'],
  );
  const jpeg = fs.readFileSync(path.join(dir, 'frame-000001-person.jpg'));
  t.deepEqual([...jpeg.subarray(0, 3)], [0xff, 0xd8, 0xff]);
  // the box is drawn: the JPEG decodes to more than the flat grey of the frame
  const rgb = execFileSync('ffmpeg', [
    '-v',
    'error',
    '-i',
    path.join(dir, 'frame-000001-person.jpg'),
    '-f',
    'rawvideo',
    '-pix_fmt',
    'rgb24',
    '-',
  ]);
  t.true(rgb.some((v) => Math.abs(v - 20) > 60));
  const again = await createSnapshotSink(dir, { classes: new Set([1]) });
  await t.throwsAsync(again.write(result(1, [det(1, 'person')], true)), { message: /the file exists/ });
  await t.throwsAsync((await createSnapshotSink(path.join(tmp, 'x'))).write(result(0, [det(1, 'a')])), {
    instanceOf: TypeError,
    message: "The snapshot sink needs each result's image: run the stream with image: true",
  });
});

test('video sink: the rate from the first two pts, every frame encoded, in place at close', async (t) => {
  const file = path.join(tmp, 'v.mp4');
  const sink = await createVideoSink(file);
  for (let k = 0; k < 8; k++) await sink.write({ ...result(k, [det(1, 'face', 4 + k)], true), pts: k / 5 });
  t.false(fs.existsSync(file));
  await sink.close();
  const probe = JSON.parse(
    execFileSync(
      'ffprobe',
      [
        '-v',
        'error',
        '-count_frames',
        '-show_entries',
        'stream=codec_name,nb_read_frames,r_frame_rate,width,height',
        '-of',
        'json',
        file,
      ],
      { encoding: 'utf8' },
    ),
  ).streams[0];
  t.like(probe, { codec_name: 'h264', nb_read_frames: '8', r_frame_rate: '5/1', width: 64, height: 48 });
  await t.throwsAsync(createVideoSink(file), {
    message: `Not writing ${file}: the file exists (overwrite: true replaces it)`,
  });
});

test('video sink: an encoder ffmpeg does not have fails with its message and leaves no file', async (t) => {
  const file = path.join(tmp, 'bad.mp4');
  const sink = await createVideoSink(file, { codec: 'no_such_codec', fps: 10 });
  await sink.write(result(0, [], true)).catch(() => {});
  const err = await t.throwsAsync(sink.close());
  t.regex(err!.message, /^Cannot encode .*bad\.mp4: ffmpeg exited with \d+: .*no_such_codec/i);
  t.deepEqual(
    fs.readdirSync(tmp).filter((f) => f.includes('bad.mp4')),
    [],
  );
});

test('file sinks refuse a target in a missing folder up front, naming the target, not a temporary file', async (t) => {
  const missing = path.join(tmp, 'no-such-folder', 'x');
  const jsonl = await t.throwsAsync(createJsonlSink(`${missing}.jsonl`));
  t.is(jsonl?.message, `Cannot write ${missing}.jsonl: the folder ${path.dirname(missing)} does not exist`);
  t.is((jsonl as NodeJS.ErrnoException).code, 'ENOENT');
  const video = await t.throwsAsync(createVideoSink(`${missing}.mp4`));
  t.is(video?.message, `Cannot write ${missing}.mp4: the folder ${path.dirname(missing)} does not exist`);
  const file = path.join(tmp, 'a-file');
  fs.writeFileSync(file, 'kept');
  const under = await t.throwsAsync(createJsonlSink(path.join(file, 'x.jsonl')));
  t.is(under?.message, `Cannot write ${path.join(file, 'x.jsonl')}: ${file} is not a folder`);
  t.false(fs.existsSync(path.dirname(missing)));
  t.is(fs.readFileSync(file, 'utf8'), 'kept');
});

test('snapshot sink: a --snapshot-dir that is a file is refused with one clear line, the file kept', async (t) => {
  const file = path.join(tmp, 'snapshots-is-a-file');
  fs.writeFileSync(file, 'kept');
  const err = await t.throwsAsync(createSnapshotSink(file));
  t.is(err?.message, `Cannot write snapshots to ${file}: it (or a folder above it) is a file, not a folder`);
  const below = await t.throwsAsync(createSnapshotSink(path.join(file, 'shots')));
  t.regex(
    below?.message ?? '',
    /^Cannot write snapshots to .*shots: it \(or a folder above it\) is a file, not a folder$/,
  );
  t.is(fs.readFileSync(file, 'utf8'), 'kept');
});
