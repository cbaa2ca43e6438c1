/**
 * The default-model cache (issue #6 B5): a sha256 beside each cached model, verified on load; bytes changed inside the
 * cached file (zeroed, not truncated: it still loads and detects worse) make the next load rebuild it, atomically.
 * Detections are compared with face-api's own on astronaut.png (test/fixtures/detector/astronaut_faceapi_detections.json).
 */
import test, { type ExecutionContext } from 'ava';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Detector } from '../../../lib/index.ts';
import {
  buildDefaultModel,
  ensureDefaultModel,
  modelCachePath,
  modelHashPath,
  sha256File,
} from '../../../lib/model/zoo.ts';
import { fixturesDir, readJson } from '../../helpers/fixtures.ts';

const ASTRONAUT = path.join(fixturesDir, 'images', 'astronaut.png');
const [REF_SCORE, ...REF_BOX] = readJson<{ runs: Array<{ detections: number[][] }> }>(
  'detector/astronaut_faceapi_detections.json',
).runs[0].detections[0];

const sha256 = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

/** The best face on astronaut.png with the model at `file` (undefined: the default model, through the cache). */
async function bestFace(file?: string): Promise<{ score: number; box: number[] }> {
  const detector = await Detector.load(file, { device: 'cpu', warmup: false });
  try {
    const [d] = await detector.detect(ASTRONAUT, { scoreThreshold: 0.3 });
    return { score: d?.score ?? 0, box: d ? [d.box.x1, d.box.y1, d.box.x2, d.box.y2] : [] };
  } finally {
    await detector.dispose();
  }
}

/** Points $SSD_EDGE_CACHE at a fresh temporary folder for this test; restores it and removes the folder after. */
function useTempCache(t: ExecutionContext): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssd-edge-zoo-'));
  const saved = process.env.SSD_EDGE_CACHE;
  process.env.SSD_EDGE_CACHE = dir;
  t.teardown(() => {
    if (saved === undefined) delete process.env.SSD_EDGE_CACHE;
    else process.env.SSD_EDGE_CACHE = saved;
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

const matchesFaceApi = (f: { score: number; box: number[] }) =>
  Math.abs(f.score - REF_SCORE) <= 1e-3 && f.box.length === 4 && f.box.every((v, i) => Math.abs(v - REF_BOX[i]) <= 1);

test.serial(
  'a cached model whose bytes changed is rebuilt on the next load and detects as face-api again',
  async (t) => {
    useTempCache(t);

    const p = await ensureDefaultModel();
    t.is(p, modelCachePath());
    t.is(modelHashPath(p), `${p}.sha256`);
    t.is(fs.readFileSync(modelHashPath(p), 'utf8'), `${sha256(p)}  ssd-mobilenetv1-face.onnx\n`); // sha256sum format
    t.is(await sha256File(p), sha256(p));
    t.deepEqual(fs.readdirSync(path.dirname(p)).sort(), [
      'ssd-mobilenetv1-face.onnx',
      'ssd-mobilenetv1-face.onnx.sha256',
    ]);
    const mtime = fs.statSync(p).mtimeMs;
    t.is(await ensureDefaultModel(), p);
    t.is(fs.statSync(p).mtimeMs, mtime, 'an intact cache is reused');
    t.true(matchesFaceApi(await bestFace()), 'the fresh model detects as face-api');

    // Zero 256 KB inside the weights (from 6 % of the file: the backbone's Conv2d_7 pointwise weights, which every
    // detection goes through): still a valid model of the same size, worse detections.
    const bytes = fs.readFileSync(p);
    const size = bytes.byteLength;
    const at = Math.floor(size * 0.06);
    bytes.fill(0, at, at + (1 << 18));
    fs.writeFileSync(p, bytes);
    t.is(fs.statSync(p).size, size);
    const corrupted = await bestFace(p); // loaded directly: nothing verifies it
    t.false(matchesFaceApi(corrupted), `the corrupted model detects differently (score ${corrupted.score})`);
    t.log(`corrupted: score ${corrupted.score.toFixed(4)}, face-api ${REF_SCORE.toFixed(4)}`);

    // The next default load verifies the hash, rebuilds, and detects as face-api again.
    const rebuilt = await bestFace();
    t.true(matchesFaceApi(rebuilt), `rebuilt: score ${rebuilt.score} vs face-api ${REF_SCORE}`);
    t.is(fs.readFileSync(modelHashPath(p), 'utf8').slice(0, 64), sha256(p));
    t.deepEqual(
      fs.readdirSync(path.dirname(p)).sort(),
      ['ssd-mobilenetv1-face.onnx', 'ssd-mobilenetv1-face.onnx.sha256'],
      'no temp files left',
    );

    // A missing or malformed hash file also means rebuild (a cache from before hashes, or a write cut short).
    for (const damage of [() => fs.rmSync(modelHashPath(p)), () => fs.writeFileSync(modelHashPath(p), 'nonsense\n')]) {
      damage();
      fs.utimesSync(p, 0, 0);
      await ensureDefaultModel();
      t.not(fs.statSync(p).mtimeMs, 0, 'rebuilt');
      t.is(fs.readFileSync(modelHashPath(p), 'utf8').slice(0, 64), sha256(p));
    }
  },
);

test.serial(
  'buildDefaultModel into the cache writes the hash too, so ensureDefaultModel reuses it; elsewhere no hash, no overwrite',
  async (t) => {
    const dir = useTempCache(t);

    const built = await buildDefaultModel();
    const p = modelCachePath();
    t.is(built.path, p);
    t.is(built.bytes, fs.statSync(p).size);
    t.is(fs.readFileSync(modelHashPath(p), 'utf8'), `${sha256(p)}  ssd-mobilenetv1-face.onnx\n`);
    fs.utimesSync(p, 0, 0);
    t.is(await ensureDefaultModel(), p);
    t.is(fs.statSync(p).mtimeMs, 0, 'the model buildDefaultModel cached is reused, not rebuilt');
    // the cache is the cache: building into it again replaces it (and its hash)
    await buildDefaultModel({ outPath: p });
    t.not(fs.statSync(p).mtimeMs, 0);
    t.is(fs.readFileSync(modelHashPath(p), 'utf8').slice(0, 64), sha256(p));

    // an explicit path: no hash beside it; an existing file (or a directory) is not replaced without overwrite
    const out = path.join(dir, 'mine', 'face.onnx');
    await buildDefaultModel({ outPath: out });
    t.deepEqual(fs.readdirSync(path.dirname(out)), ['face.onnx']);
    t.is(sha256(out), sha256(p), 'the same conversion');
    fs.writeFileSync(out, 'keep me');
    await t.throwsAsync(buildDefaultModel({ outPath: out }), {
      code: 'EEXIST',
      message: `Not writing ${out}: the file exists (overwrite: true replaces it)`,
    });
    t.is(fs.readFileSync(out, 'utf8'), 'keep me');
    await buildDefaultModel({ outPath: out, overwrite: true });
    t.is(sha256(out), sha256(p));
    await t.throwsAsync(buildDefaultModel({ outPath: dir }), {
      code: 'EISDIR',
      message: `Not writing ${dir}: it is a directory`,
    });
    t.deepEqual(fs.readdirSync(path.dirname(out)), ['face.onnx'], 'no temporary file left');
    t.deepEqual(
      fs.readdirSync(path.dirname(dir)).filter((f) => f.endsWith('.tmp') && f.includes(path.basename(dir))),
      [],
    );
  },
);

test('ensureDefaultModel and buildDefaultModel reject unknown option keys', async (t) => {
  await t.throwsAsync(ensureDefaultModel({ forse: true } as never), {
    instanceOf: TypeError,
    message: "Unknown key 'forse' in options: expected one of 'force', 'metadata'",
  });
  await t.throwsAsync(buildDefaultModel({ out: 'x.onnx' } as never), {
    instanceOf: TypeError,
    message: "Unknown key 'out' in options: expected one of 'outPath', 'metadata', 'modelDir', 'overwrite'",
  });
});
