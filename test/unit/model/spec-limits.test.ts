/**
 * Work driven by metadata (issue #6 B4): a spec that claims 4·10^8 default boxes, huge stored anchors, a huge input or
 * label list must be rejected before anything sized from it is allocated or generated, with a RangeError / TypeError
 * naming the spec field, the expected and the received value — through the spec validator, loadModelFile, `model
 * inspect` (API and CLI) and Detector.load. The models are tiny stand-ins; each case finishes in milliseconds.
 */
import test from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { modelCommand } from '../../../lib/cli/commands/model.ts';
import { Detector } from '../../../lib/index.ts';
import { inspectModelFile } from '../../../lib/model/inspect.ts';
import { loadModelFile, serializeModelSpec, writeModelSpec } from '../../../lib/model/metadata.ts';
import { setMetadata, writeOnnx, type ModelProto } from '../../../lib/model/onnx.ts';
import { anchorCount, MODEL_LIMITS, validateModelSpec, type ModelSpec } from '../../../lib/model/spec.ts';
import { tinySsdliteSpec as spec, tinyTorchvision } from '../../helpers/tiny-models.ts';

/** 10^4 × 10^4 cells × 4 shapes = 4·10^8 default boxes (6.4 GB of float32 if generated). */
const HUGE_SPEC = {
  inputSize: 320,
  featureMaps: [{ size: 10_000, boxes: [1, 2, 3, 4].map((r) => ({ scale: 0.1, aspectRatio: r })) }],
};
/** 1000 × 1000 × 2 = 2·10^6: under the limit, but not the graph's 3234. */
const BIG_SPEC = { inputSize: 320, featureMaps: [{ size: 1000, scale: 0.1, aspectRatios: [1, 2] }] };

/** Writes `model` with `spec` stored as is (not validated: the point is a file whose metadata lies). */
function write(
  t: { teardown(fn: () => void): void },
  s: unknown,
  model: ModelProto = tinyTorchvision(3234, 3, 320),
): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssd-edge-limits-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'm.onnx');
  fs.writeFileSync(
    file,
    writeOnnx(setMetadata(model, { ssd_edge: serializeModelSpec(s as ModelSpec), 'ssd_edge.version': '1' })),
  );
  return file;
}

const HUGE_MESSAGE = `Expected at most ${MODEL_LIMITS.anchors} anchors (MODEL_LIMITS.anchors) for anchors.spec.featureMaps but received 400000000`;

test('a spec claiming 4·10^8 default boxes: RangeError from the validator, loadModelFile, inspect and Detector.load', async (t) => {
  const s = { ...spec(), anchors: { spec: HUGE_SPEC } };
  t.throws(() => validateModelSpec(s), { instanceOf: RangeError, message: HUGE_MESSAGE });
  const file = write(t, s);
  await t.throwsAsync(loadModelFile(file), { instanceOf: RangeError, message: HUGE_MESSAGE });
  await t.throwsAsync(inspectModelFile(file), { instanceOf: RangeError, message: HUGE_MESSAGE });
  await t.throwsAsync(Detector.load(file, { device: 'cpu' }), { instanceOf: RangeError, message: HUGE_MESSAGE });
});

test("an anchor count under the limit is checked against the graph's output dims before any box is generated", async (t) => {
  const s = { ...spec(), anchors: { spec: BIG_SPEC } };
  t.is(anchorCount(s), 2_000_000); // counted, not generated
  const file = write(t, s);
  const message = `Expected output.boxes with dim 1 = 2000000 (anchor count) for ${file} but received shape [1,3234,4]`;
  await t.throwsAsync(loadModelFile(file), { instanceOf: TypeError, message });
  await t.throwsAsync(inspectModelFile(file), { instanceOf: TypeError, message });
});

test('every size the metadata controls is bounded, the message names the field', (t) => {
  const cases: Array<[string, (s: any) => void, string]> = [
    [
      'stored anchors',
      (s) => (s.anchors = { data: 'AAAA', count: 5_000_000 }),
      `Expected at most ${MODEL_LIMITS.anchors} anchors (MODEL_LIMITS.anchors) for anchors.count but received 5000000`,
    ],
    [
      'input height',
      (s) => (s.input.height = 100_000),
      'Expected integer in [1, 8192] for input.height but received 100000',
    ],
    ['input width', (s) => (s.input.width = 8193), 'Expected integer in [1, 8192] for input.width but received 8193'],
    [
      'labels',
      (s) => (s.labels = new Array(70_000).fill('x')),
      `Expected Array of at most ${MODEL_LIMITS.labels} names (MODEL_LIMITS.labels) for labels but received Array of length 70000`,
    ],
    [
      'feature map side',
      (s) =>
        (s.anchors = { spec: { inputSize: 320, featureMaps: [{ size: 2_000_000, scale: 0.1, aspectRatios: [1] }] } }),
      'Expected integer in [1, 1000000] for anchors.spec.featureMaps[0].size but received 2000000',
    ],
  ];
  for (const [label, mutate, message] of cases) {
    const s: any = spec();
    mutate(s);
    t.throws(() => validateModelSpec(s), { instanceOf: RangeError, message }, label);
  }
});

test('stored anchors whose base64 does not hold count·16 bytes are rejected without decoding', (t) => {
  const s = { ...spec(), anchors: { data: Buffer.alloc(32).toString('base64'), count: 3 } };
  t.throws(() => validateModelSpec(s), {
    instanceOf: TypeError,
    message: 'Expected base64 of 48 bytes (float32 [count·4], count 3) for anchors.data but received 32 bytes',
  });
});

test('a fixed batch whose input tensor would be too large is rejected before the warm-up allocates it', async (t) => {
  const file = write(t, spec(), tinyTorchvision(3234, 3, 320, 4096));
  await t.throwsAsync(loadModelFile(file), {
    instanceOf: RangeError,
    message:
      "Expected a fixed batch B with B·3·320·320 ≤ 3·8192² elements for batch of input 'images' but received 4096",
  });
});

test('`model inspect` of a lying model exits through the error path with the field named', async (t) => {
  const file = write(t, { ...spec(), anchors: { spec: HUGE_SPEC } });
  const cmd = modelCommand({ out: () => {} });
  const program = new Command('ssd-edge').exitOverride().addCommand(cmd);
  for (const c of [cmd, ...cmd.commands]) c.exitOverride();
  await t.throwsAsync(program.parseAsync(['model', 'inspect', file], { from: 'user' }), {
    instanceOf: RangeError,
    message: HUGE_MESSAGE,
  });
});

test('a valid spec still loads (writeModelSpec validates it too)', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssd-edge-limits-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'ok.onnx');
  fs.writeFileSync(file, writeOnnx(writeModelSpec(tinyTorchvision(3234, 3, 320), spec())));
  const loaded = await loadModelFile(file);
  t.is(loaded.anchors!.length, 4 * 3234);
  t.is(loaded.header.graph.nodeCount, 4);
});
