/**
 * The package's entry points: `ssd-edge` lists what users call (no `*Ts` twins, no training ops), `ssd-edge/reference`
 * holds every twin, `ssd-edge/train` the training-time ops, `ssd-edge/stream` the streaming API (sources, pipeline, sinks); the export map points at
 * the files tsc emits for them; and importing the main entry or the reference entry loads no `@tensorflow/*` module
 * (checked in a child process whose module hooks refuse any tfjs import, with a positive control).
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as main from '../../lib/index.ts';
import * as reference from '../../lib/reference.ts';
import * as stream from '../../lib/stream/index.ts';
import * as train from '../../lib/train/index.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const TWINS = [
  'applyAugmentPlanTs',
  'augmentForInputTs',
  'augmentTs',
  'batchedNmsTs',
  'boxIouTs',
  'decodeBoxesTs',
  'defaultBoxesTs',
  'encodeBoxesTs',
  'hardNegativeMiningTs',
  'matchAnchorsTs',
  'nmsTs',
  'postprocessDetectionsTs',
  'preprocessTs',
  'softNmsTs',
  'ssdLossPartsTs',
];
const TRAINING_OPS = ['BELOW_THRESHOLD', 'hardNegativeMining', 'matchAnchors', 'ssdLoss', 'ssdLossParts'];
/** lib/train/augment.ts, rng.ts, preview.ts (issue #8 augmentation). */
const AUGMENTATION = [
  'DEFAULT_AUGMENT',
  'Rng',
  'applyAugmentPlan',
  'augment',
  'augmentBackend',
  'augmentForInput',
  'planAugment',
  'previewAugmentations',
  'rgbPixels',
  'toInputTensor',
];

test('the main entry exports the inference ops and no twin or training op', (t) => {
  const names = Object.keys(main);
  t.deepEqual(
    names.filter((n) => /Ts$/.test(n)),
    [],
  );
  t.deepEqual(
    names.filter((n) => TRAINING_OPS.includes(n)),
    [],
  );
  for (const op of [
    'defaultBoxes',
    'BoxCoder',
    'decodeBoxes',
    'encodeBoxes',
    'boxIou',
    'boxConvert',
    'nms',
    'batchedNms',
    'softNms',
    'postprocessDetections',
    'postprocessDetectionsAsync',
    'Detector',
  ]) {
    t.is(typeof (main as Record<string, unknown>)[op], 'function', op);
  }
});

test('ssd-edge/reference exports exactly the twins, ssd-edge/train the training ops, ssd-edge/stream the stream API', (t) => {
  t.deepEqual(Object.keys(reference).sort(), TWINS);
  for (const twin of TWINS) t.is(typeof (reference as Record<string, unknown>)[twin], 'function');
  // ssd-edge/train: the training-time ops, the augmentation, and the rest of the training wing (issue 8) around them
  for (const op of [...TRAINING_OPS, ...AUGMENTATION]) t.true(op in train, op);
  for (const name of [
    'train',
    'loadTf',
    'loadTrainable',
    'exportOnnx',
    'ssdLossTf',
    'buildTargets',
    'augment',
    'Rng',
    'Optimizer',
  ])
    t.is(typeof (train as Record<string, unknown>)[name], 'function', name);
  t.is(train.BELOW_THRESHOLD, -1);
  for (const name of [
    'stream',
    'createPushSource',
    'openSource',
    'DetectionStream',
    'createJsonlSink',
    'createVideoSink',
    'createSnapshotSink',
    'createTracker',
    'createPreviewServer',
  ])
    t.is(typeof (stream as Record<string, unknown>)[name], 'function', name);
  t.false('stream' in main, 'the main entry stays light: streams live in ssd-edge/stream');
});

test('the export map names ./reference, ./train and ./stream, each emitted from its lib/ source', (t) => {
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as {
    exports: Record<string, unknown>;
  };
  const sources: Record<string, string> = {
    '.': 'lib/index.ts',
    './reference': 'lib/reference.ts',
    './train': 'lib/train/index.ts',
    './stream': 'lib/stream/index.ts',
  };
  for (const [subpath, source] of Object.entries(sources)) {
    const target = pkg.exports[subpath] as { types: string; default: string };
    t.truthy(target, subpath);
    // tsc maps lib/x.ts to dist/x.js and dist/x.d.ts (rootDir lib, outDir dist).
    const emitted = source.replace(/^lib\//, './dist/').replace(/\.ts$/, '');
    t.is(target.default, `${emitted}.js`, subpath);
    t.is(target.types, `${emitted}.d.ts`, subpath);
    t.true(fs.existsSync(path.join(root, source)), source);
  }
});

/** Runs `body` in a child whose ESM resolve hook and CJS loader refuse every `@tensorflow/*` module. */
function withoutTfjs(body: string) {
  const script = `
    import { register, createRequire } from 'node:module';
    const refuse = (what, from) => { throw new Error('tfjs loaded: ' + what + ' from ' + from); };
    register('data:text/javascript,' + encodeURIComponent(\`
      export async function resolve(specifier, context, next) {
        if (specifier.startsWith('@tensorflow/')) throw new Error('tfjs loaded: ' + specifier + ' from ' + context.parentURL);
        return next(specifier, context);
      }\`));
    const Module = createRequire(import.meta.url)('node:module');
    const load = Module._load;
    Module._load = function (request, parent, isMain) {
      if (request.startsWith('@tensorflow/')) refuse(request, parent && parent.filename);
      return load.call(this, request, parent, isMain);
    };
    ${body}`;
  return spawnSync(process.execPath, ['--import=tsx', '--input-type=module', '-e', script], {
    cwd: root,
    encoding: 'utf8',
  });
}

test('importing ssd-edge and ssd-edge/reference loads no @tensorflow module', (t) => {
  const r = withoutTfjs(`
    const main = await import('./lib/index.ts');
    const reference = await import('./lib/reference.ts');
    const keep = main.nms(new Float32Array([0, 0, 10, 10, 1, 1, 10, 10]), new Float32Array([0.9, 0.8]), 0.5);
    const twin = reference.nmsTs(new Float32Array([0, 0, 10, 10, 1, 1, 10, 10]), new Float32Array([0.9, 0.8]), 0.5);
    console.log(JSON.stringify({ keep: [...keep], twin: [...twin] }));`);
  t.is(r.status, 0, r.stderr);
  t.deepEqual(JSON.parse(r.stdout.trim().split('\n').pop()!), { keep: [0], twin: [0] });
});

test('positive control: the same child refuses tfjs when something does import it', (t) => {
  const esm = withoutTfjs(`await import('@tensorflow/tfjs-core');`);
  t.not(esm.status, 0);
  t.regex(esm.stderr, /tfjs loaded: @tensorflow\/tfjs-core/);
  const cjs = withoutTfjs(`createRequire(import.meta.url)('@tensorflow/tfjs-core');`);
  t.not(cjs.status, 0);
  t.regex(cjs.stderr, /tfjs loaded: @tensorflow\/tfjs-core/);
});
