/**
 * Peak memory of loading a model: the old path (read the whole file into JS, copy it, decode every protobuf field
 * with protobufjs, hand the bytes to ONNX Runtime) against the new one (stream only the ONNX header through a file
 * descriptor, hand ONNX Runtime the path).
 *
 *   node --import=tsx bench/model-load.ts [--runs 5] [--ssd300 FILE]     → bench/results/model-load.json
 *
 * Models: the SSD300-VGG16 torchvision export (`/usr/bin/python3 scripts/export-torchvision-ssd.py` writes it to
 * $SSD_EDGE_CACHE/torchvision/ssd300_vgg16_tamed.onnx, ~105 MB), imported once into a temporary ssd-edge model; and
 * the default face model (22 MB). Each measurement runs in its own child process (peak RSS only grows), which loads
 * every module first, then does one load; reported: the process's peak RSS (VmHWM, see `peakRssKb`) and
 * that peak minus the peak of `imports` (the same process loading nothing). Modes, in rotation, `runs` times each
 * (medians reported):
 * - `imports`: nothing loaded (the floor);
 * - `old-metadata` / `new-metadata`: the spec only (old: readFile + copy + readOnnx + readModelSpec + anchors + check;
 *   new: loadModelFile, header only);
 * - `old-session` / `new-session`: the above, then `Session.create` (old: from the bytes, as Detector.load did; new:
 *   from the path), no warm-up;
 * - `detector-load`: `Detector.load(file, { warmup: false })` (lib/detector/detector.ts).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Detector } from '../lib/index.ts';
import { importModelFile } from '../lib/model/import.ts';
import { checkModelSpec, loadModelFile, readModelSpec } from '../lib/model/metadata.ts';
import { readOnnxFrom } from '../lib/model/onnx.ts';
import { resolveAnchors } from '../lib/model/spec.ts';
import { cacheRoot, ensureDefaultModel } from '../lib/model/zoo.ts';
import { Session } from '../lib/runtime/session.ts';
import { machine } from './measure.ts';

const MODES = ['imports', 'old-metadata', 'new-metadata', 'old-session', 'new-session', 'detector-load'] as const;
type Mode = (typeof MODES)[number];

/** The load as it was before the header scanner (lib/model/metadata.ts loadModelFile at 6f25f4b + Detector.load). */
async function oldLoad(file: string) {
  const bytes = new Uint8Array(await fs.promises.readFile(file));
  const model = readOnnxFrom(bytes, file);
  const spec = readModelSpec(model, file);
  const anchors = spec.anchors ? resolveAnchors(spec) : null;
  checkModelSpec(model, spec, anchors, file);
  return { model, spec, bytes, anchors };
}

/**
 * Peak RSS of this process in KB: VmHWM of /proc/self/status on Linux (the high-water mark of this process's own
 * memory: `getrusage`'s maxRSS, behind `process.resourceUsage().maxRSS`, carries the parent's RSS across fork + exec
 * on Linux, so a child of a big parent would report the parent's size), else maxRSS.
 */
function peakRssKb(): number {
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]);
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS;
}

async function child(mode: Mode, file: string): Promise<void> {
  const mb = (kb: number) => kb / 1024;
  const before = process.memoryUsage().rss / 1024; // KB, after every import
  const t0 = performance.now();
  let keep: unknown = null;
  if (mode === 'imports') keep = null;
  else if (mode === 'old-metadata') keep = await oldLoad(file);
  else if (mode === 'new-metadata') keep = await loadModelFile(file);
  else if (mode === 'old-session') {
    const loaded = await oldLoad(file);
    keep = [loaded, await Session.create(loaded.bytes, { device: 'cpu' })];
  } else if (mode === 'new-session') {
    const loaded = await loadModelFile(file);
    keep = [loaded, await Session.create(loaded.path, { device: 'cpu' })];
  } else {
    keep = await Detector.load(file, { device: 'cpu', warmup: false });
  }
  const ms = performance.now() - t0;
  const peak = peakRssKb();
  process.stdout.write(JSON.stringify({ mode, baseMB: mb(before), peakMB: mb(peak), ms, kept: keep !== undefined }));
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

export async function benchModelLoad(options: { runs?: number; ssd300?: string } = {}) {
  const runs = options.runs ?? 5;
  const self = fileURLToPath(import.meta.url);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ssd-edge-bench-load-'));
  try {
    const models: Array<{ name: string; file: string }> = [];
    const exported = options.ssd300 ?? path.join(cacheRoot(), 'torchvision', 'ssd300_vgg16_tamed.onnx');
    if (fs.existsSync(exported)) {
      const out = path.join(tmp, 'ssd300.onnx');
      await importModelFile('torchvision', exported, { out });
      models.push({ name: 'ssd300-vgg16 (torchvision export)', file: out });
    } else {
      console.log(`(no ${exported}: run /usr/bin/python3 scripts/export-torchvision-ssd.py for the SSD300 rows)`);
    }
    models.push({ name: 'ssd-mobilenetv1-face (default)', file: await ensureDefaultModel() });
    const results = [];
    for (const { name, file } of models) {
      const samples: Record<Mode, Array<{ peakMB: number; baseMB: number; ms: number }>> = Object.fromEntries(
        MODES.map((m) => [m, []]),
      ) as never;
      for (let r = 0; r < runs; r++) {
        for (const mode of MODES) {
          const out = execFileSync(process.execPath, ['--import=tsx', self, '--child', mode, file], {
            encoding: 'utf8',
            maxBuffer: 1 << 20,
          });
          samples[mode].push(JSON.parse(out));
        }
      }
      const floor = median(samples.imports.map((s) => s.peakMB));
      const rows = MODES.map((mode) => ({
        mode,
        peakMB: median(samples[mode].map((s) => s.peakMB)),
        addedMB: median(samples[mode].map((s) => s.peakMB)) - floor,
        baseMB: median(samples[mode].map((s) => s.baseMB)),
        ms: median(samples[mode].map((s) => s.ms)),
      }));
      const by = Object.fromEntries(rows.map((r) => [r.mode, r]));
      const size = fs.statSync(file).size / 2 ** 20;
      console.log(
        `\n${name}: ${size.toFixed(1)} MB, median of ${runs} runs (peak RSS of the process; above the imports-only peak; ms)`,
      );
      for (const r of rows)
        console.log(
          `  ${r.mode.padEnd(14)} peak ${r.peakMB.toFixed(1).padStart(6)} MB   +${r.addedMB.toFixed(1).padStart(6)} MB   ${r.ms.toFixed(0).padStart(5)} ms`,
        );
      const ratio = (a: Mode, b: Mode) => by[a].peakMB / by[b].peakMB;
      console.log(
        `  peak RSS old/new: metadata ${ratio('old-metadata', 'new-metadata').toFixed(2)}×, with the session ${ratio('old-session', 'new-session').toFixed(2)}×`,
      );
      results.push({
        model: name,
        fileMB: size,
        runs,
        rows,
        ratios: { metadata: ratio('old-metadata', 'new-metadata'), session: ratio('old-session', 'new-session') },
      });
    }
    return results;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

const argv = process.argv.slice(2);
if (argv[0] === '--child') {
  await child(argv[1] as Mode, argv[2]);
  process.exit(0); // (sessions are not disposed: the process ends here)
} else if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const opt = (name: string) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined);
  const results = await benchModelLoad({ runs: Number(opt('--runs') ?? 5), ssd300: opt('--ssd300') });
  const file = path.join(path.dirname(fileURLToPath(import.meta.url)), 'results', 'model-load.json');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(
    file,
    JSON.stringify({ date: new Date().toISOString(), machine: machine(), results }, null, 2) + '\n',
  );
  console.log(`→ ${path.relative(process.cwd(), file)}`);
}
