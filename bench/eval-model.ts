/**
 * Evaluation throughput: `evaluateModel` with the default face model over the face set (test/fixtures/eval/faces/,
 * 8 images repeated to 48), in images per second, against the forward-bound rate of the same model measured in the
 * same run (images / median time of a forward pass over a prepared batch of the same size: what evaluation would
 * reach if decoding, preprocessing, postprocessing and the metrics cost nothing). Rounds interleave the two, so a
 * busy machine shifts both alike; medians over the rounds.
 *
 *   node --import=tsx bench/eval-model.ts [--rounds 5] [--images 48]      → bench/results/eval-model.json
 *   npm run bench -- eval-model                                            (same, through bench/run.ts)
 *
 * Rows per batch size (1 and 8): eval images/s, forward-bound images/s, their ratio; `Detector.detectBatch` over the
 * same images in the same chunks (its stages one after the other, no metrics) as the no-overlap baseline; and the
 * stage times summed over one evaluation (decode, preprocess, forward, postprocess, metrics) against its wall time.
 * `decode` is the wall time of the decode promises, so it includes the forward passes it overlapped with.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openDataset, type Dataset } from '../lib/data/index.ts';
import { Detector } from '../lib/detector/detector.ts';
import { forward, prepare } from '../lib/detector/stages.ts';
import { evaluateModel, type ModelEvaluation } from '../lib/eval/run.ts';
import { machine, summarize } from './measure.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const FACES = path.join(here, '..', 'test', 'fixtures', 'eval', 'faces', 'faces.jsonl');

/** The dataset with its samples repeated to `n` (ids made unique). */
function repeated(dataset: Dataset, n: number): Dataset {
  const samples = Array.from({ length: n }, (_, i) => {
    const s = dataset.samples[i % dataset.samples.length];
    return { ...s, id: `${s.id}#${Math.floor(i / dataset.samples.length)}` };
  });
  return {
    ...dataset,
    samples,
    size: n,
    async *[Symbol.asyncIterator]() {
      yield* samples;
    },
  };
}

export async function benchEvalModel({ rounds = 5, images = 48 } = {}) {
  const detector = await Detector.load();
  const results = [];
  try {
    const dataset = repeated(await openDataset(FACES), images);
    for (const batchSize of [1, 8]) {
      // one prepared batch for the forward-bound rate (decode/preprocess outside the timing)
      const prepared = await prepare(
        dataset.samples.slice(0, batchSize).map((s) => s.image),
        detector.spec.input,
      );
      const forwardMs: number[] = [];
      const evalRates: number[] = [];
      const plainRates: number[] = [];
      const files = dataset.samples.map((s) => s.image);
      let last: ModelEvaluation | null = null;
      await evaluateModel(detector, dataset, { batchSize }); // warm-up (image geometries, buffers)
      for (let r = 0; r < rounds; r++) {
        for (let k = 0; k < Math.max(3, Math.round(8 / batchSize)); k++)
          forwardMs.push((await forward(detector.session, detector.spec, prepared.input)).ms);
        last = await evaluateModel(detector, dataset, { batchSize });
        evalRates.push(last.imagesPerSecond);
        // the same detections through Detector.detectBatch (prepare → forward → finish in turn, no overlap), no metrics
        const t0 = performance.now();
        for (let i = 0; i < files.length; i += batchSize)
          await detector.detectBatch(files.slice(i, i + batchSize), { scoreThreshold: 0.01 });
        plainRates.push((1000 * files.length) / (performance.now() - t0));
      }
      const fwd = summarize(forwardMs);
      const rate = summarize(evalRates);
      const plain = summarize(plainRates);
      const forwardBound = (1000 * batchSize) / fwd.median;
      const t = last!.timings;
      const row = {
        batchSize,
        images,
        evalImagesPerSecond: rate.median,
        evalImagesPerSecondP10: rate.p10,
        evalImagesPerSecondP90: rate.p90,
        detectBatchImagesPerSecond: plain.median,
        forwardMsPerBatch: fwd.median,
        forwardBoundImagesPerSecond: forwardBound,
        ratio: rate.median / forwardBound,
        lastRun: {
          wallMs: last!.seconds * 1000,
          stageSumMs: t.decode + t.preprocess + t.forward + t.postprocess + t.metrics,
          ...t,
        },
        ap50: last!.ap50,
      };
      results.push(row);
      console.log(
        `batch ${batchSize}: eval ${rate.median.toFixed(1)} images/s, forward-bound ${forwardBound.toFixed(1)} images/s ` +
          `(forward ${fwd.median.toFixed(1)} ms per batch) → ${(100 * row.ratio).toFixed(0)} %; detectBatch without ` +
          `overlap ${plain.median.toFixed(1)} images/s; last run ` +
          `${row.lastRun.wallMs.toFixed(0)} ms wall, stages ${row.lastRun.stageSumMs.toFixed(0)} ms ` +
          `(decode ${t.decode.toFixed(0)}, preprocess ${t.preprocess.toFixed(0)}, forward ${t.forward.toFixed(0)}, ` +
          `postprocess ${t.postprocess.toFixed(0)}, metrics ${t.metrics.toFixed(1)})`,
      );
    }
  } finally {
    await detector.dispose();
  }
  return results;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const arg = (name: string, d: number) => {
    const i = process.argv.indexOf(name);
    return i >= 0 ? Number(process.argv[i + 1]) : d;
  };
  const results = await benchEvalModel({ rounds: arg('--rounds', 5), images: arg('--images', 48) });
  fs.mkdirSync(path.join(here, 'results'), { recursive: true });
  const file = path.join(here, 'results', 'eval-model.json');
  fs.writeFileSync(
    file,
    `${JSON.stringify({ date: new Date().toISOString(), machine: machine(), results }, null, 2)}\n`,
  );
  console.log(`→ ${path.relative(process.cwd(), file)}`);
}
