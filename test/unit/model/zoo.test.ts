/**
 * The default-model cache (issue #6 B5): a sha256 beside each cached model, verified on load; bytes changed inside the
 * cached file (zeroed, not truncated: it still loads and detects worse) make the next load rebuild it, atomically.
 * Detections are compared with face-api's own on astronaut.png (test/fixtures/detector/astronaut_faceapi_detections.json).
 */
import test from 'ava';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Detector } from '../../../lib/index.ts'; // (lib/detector.ts moves to lib/detector/: the public entry stays)
import { ensureDefaultModel, modelCachePath, modelHashPath, sha256File } from '../../../lib/model/zoo.ts';
import { fixturesDir, readJson } from '../../helpers/fixtures.ts';

const ASTRONAUT = path.join(fixturesDir, 'images', 'astronaut.png');
const [REF_SCORE, ...REF_BOX] = readJson<{ runs: Array<{ detections: number[][] }> }>('detector/astronaut_faceapi_detections.json').runs[0].detections[0];

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

const matchesFaceApi = (f: { score: number; box: number[] }) =>
  Math.abs(f.score - REF_SCORE) <= 1e-3 && f.box.length === 4 && f.box.every((v, i) => Math.abs(v - REF_BOX[i]) <= 1);

test.serial('a cached model whose bytes changed is rebuilt on the next load and detects as face-api again', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssd-edge-zoo-'));
  const saved = process.env.SSD_EDGE_CACHE;
  process.env.SSD_EDGE_CACHE = dir;
  t.teardown(() => {
    if (saved === undefined) delete process.env.SSD_EDGE_CACHE;
    else process.env.SSD_EDGE_CACHE = saved;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const p = await ensureDefaultModel();
  t.is(p, modelCachePath());
  t.is(modelHashPath(p), `${p}.sha256`);
  t.is(fs.readFileSync(modelHashPath(p), 'utf8'), `${sha256(p)}  ssd-mobilenetv1-face.onnx\n`); // sha256sum format
  t.is(await sha256File(p), sha256(p));
  t.deepEqual(fs.readdirSync(path.dirname(p)).sort(), ['ssd-mobilenetv1-face.onnx', 'ssd-mobilenetv1-face.onnx.sha256']);
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
  t.deepEqual(fs.readdirSync(path.dirname(p)).sort(), ['ssd-mobilenetv1-face.onnx', 'ssd-mobilenetv1-face.onnx.sha256'], 'no temp files left');

  // A missing or malformed hash file also means rebuild (a cache from before hashes, or a write cut short).
  for (const damage of [() => fs.rmSync(modelHashPath(p)), () => fs.writeFileSync(modelHashPath(p), 'nonsense\n')]) {
    damage();
    fs.utimesSync(p, 0, 0);
    await ensureDefaultModel();
    t.not(fs.statSync(p).mtimeMs, 0, 'rebuilt');
    t.is(fs.readFileSync(modelHashPath(p), 'utf8').slice(0, 64), sha256(p));
  }
});
