/** Format recognition from bytes (lib/model/sniff.ts) and the import overrides (lib/model/import.ts). */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { applyImportOverrides, importModelFiles } from '../../../lib/model/import.ts';
import { importPytorchSsd } from '../../../lib/model/importers/pytorch-ssd.ts';
import { loadModelFile } from '../../../lib/model/metadata.ts';
import { writeOnnx } from '../../../lib/model/onnx.ts';
import { sniffModelBytes } from '../../../lib/model/sniff.ts';
import { tinyPytorchSsd } from '../../helpers/tiny-models.ts';

// Hand-written protobuf wire format (independent of the walker under test): key = field·8 + wire type.
const varint = (n: number): number[] => {
  const out: number[] = [];
  while (n >= 128) {
    out.push((n % 128) | 128);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
};
const msg = (field: number, payload: number[] | string): number[] => {
  const bytes = typeof payload === 'string' ? [...Buffer.from(payload)] : payload;
  return [...varint(field * 8 + 2), ...varint(bytes.length), ...bytes];
};
const u8 = (a: number[]) => Uint8Array.from(a);

test('sniff: each format from its bytes', (t) => {
  const onnx = sniffModelBytes(writeOnnx(tinyPytorchSsd(3000, 3)));
  t.is(onnx.kind, 'onnx');
  t.regex(onnx.detail, /^ir_version \d+, opset \d+/);
  const tflite = Buffer.alloc(32);
  tflite.write('TFL3', 4);
  t.deepEqual(sniffModelBytes(tflite), { kind: 'tflite', detail: 'FlatBuffers identifier TFL3' });
  // Caffe NetParameter: name (1) + two layer (100) messages {name 1, type 2}
  const layer = (n: string) => msg(100, [...msg(1, n), ...msg(2, 'Convolution')]);
  t.deepEqual(sniffModelBytes(u8([...msg(1, 'YuFaceDetectNet'), ...layer('conv1'), ...layer('conv2')])), {
    kind: 'caffe-model',
    detail: 'net "YuFaceDetectNet", 2 layers',
  });
  // V1 caffemodel: layers (2)
  t.is(sniffModelBytes(u8([...msg(1, 'old'), ...msg(2, [...msg(4, 'conv1')])])).kind, 'caffe-model');
  // TF GraphDef: node (1) × 2 of NodeDef {name 1, op 2}, versions (4) { producer (1) varint }
  const node = (n: string, op: string) => msg(1, [...msg(1, n), ...msg(2, op)]);
  t.deepEqual(sniffModelBytes(u8([...node('data', 'Placeholder'), ...node('conv', 'Conv2D'), ...msg(4, [8, 27])])), {
    kind: 'tf-graphdef',
    detail: '2 nodes',
  });
  const text = (s: string) => Buffer.from(s);
  t.deepEqual(sniffModelBytes(text('name: "YuFaceDetectNet"\ninput: "data"\nlayer {\n  name: "conv1"\n}\n')), {
    kind: 'caffe-prototxt',
    detail: 'net "YuFaceDetectNet"',
  });
  t.is(sniffModelBytes(text('# comment\nlayers {\n name: "x"\n}\n')).kind, 'caffe-prototxt');
  t.is(sniffModelBytes(text('node {\n  name: "data"\n  op: "Placeholder"\n}\n')).kind, 'tf-pbtxt');
  t.is(
    sniffModelBytes(text(JSON.stringify({ format: 'graph-model', modelTopology: {}, weightsManifest: [] }))).kind,
    'tfjs-model',
  );
  t.deepEqual(sniffModelBytes(text(' [{"paths":["a.bin"],"weights":[]}]')), {
    kind: 'tfjs-manifest',
    detail: '1 weight group(s)',
  });
  t.deepEqual(sniffModelBytes(text('{"a":1}')), { kind: 'unknown', detail: 'JSON object with keys a' });
  t.deepEqual(sniffModelBytes(new Uint8Array(0)), { kind: 'unknown', detail: 'empty file' });
  t.deepEqual(sniffModelBytes(u8([0xff, 0xff, 0xff, 0x01, 0x02])), {
    kind: 'unknown',
    detail: '5 bytes in no known format',
  });
  t.is(sniffModelBytes(text('hello world\n')).kind, 'unknown');
});

function tmpDir(t: { teardown(fn: () => void): void }) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssd-edge-sniff-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('importModelFiles: recognises the format, reports it, names what is missing or unknown', async (t) => {
  const dir = tmpDir(t);
  const src = path.join(dir, 'ssd.onnx');
  fs.writeFileSync(src, writeOnnx(tinyPytorchSsd(3000, 3)));
  const r = await importModelFiles([src], { out: path.join(dir, 'm.onnx'), labels: ['BACKGROUND', 'a', 'b'] });
  t.is(r.format, 'onnx');
  t.regex(r.report[0], /^ssd\.onnx: ONNX model \(ir_version/);
  t.true(
    r.report.some((l) => /^importer: ssd-edge\/pytorch-ssd-importer@\d+ \(format recognised from the bytes\)$/.test(l)),
  );
  t.true(r.report.includes('classes: 3 (BACKGROUND, a, b)'));
  const loaded = await loadModelFile(r.path);
  t.regex(loaded.spec.source ?? '', /^ssd\.onnx \(onnx; sha256 [0-9a-f]{16}\)$/);
  // a Caffe prototxt alone: says what was found and what is missing; nothing written
  const proto = path.join(dir, 'deploy.prototxt');
  fs.writeFileSync(proto, 'name: "n"\ninput: "data"\nlayer {\n  name: "conv1"\n}\n');
  await t.throwsAsync(importModelFiles([proto], { out: path.join(dir, 'c.onnx') }), {
    instanceOf: TypeError,
    message: 'Caffe prototxt found (deploy.prototxt); the .caffemodel with the weights is missing — pass both files',
  });
  const junk = path.join(dir, 'junk.bin');
  fs.writeFileSync(junk, 'hello\n');
  await t.throwsAsync(importModelFiles([junk], { out: path.join(dir, 'j.onnx') }), {
    instanceOf: TypeError,
    message: /^Expected an ONNX, TFLite, Caffe .* model but received junk\.bin: unrecognised file \(/,
  });
  // a forced ONNX format on another format's file: says what the file is
  await t.throwsAsync(importModelFiles([proto], { out: path.join(dir, 'p.onnx'), format: 'pytorch-ssd' }), {
    instanceOf: TypeError,
    message: 'Expected an ONNX model for pytorch-ssd import but received deploy.prototxt: Caffe prototxt (net "n")',
  });
  t.deepEqual(fs.readdirSync(dir).sort(), ['deploy.prototxt', 'junk.bin', 'm.onnx', 'ssd.onnx']);
});

test('applyImportOverrides: flags replace what the importer inferred; bad keys and values are named', (t) => {
  const { spec } = importPytorchSsd(tinyPytorchSsd(3000, 3), { labels: ['BACKGROUND', 'a', 'b'] });
  const { spec: s, changed } = applyImportOverrides(spec, {
    inputSize: [320, 240],
    channels: 'bgr',
    mean: [104, 117, 123],
    std: [1],
    set: { 'postprocess.nmsThresh': '0.3', 'postprocess.topkCandidates': '500', name: 'faces' },
  });
  t.like(s, {
    name: 'faces',
    input: { width: 320, height: 240, colorOrder: 'BGR', mean: [104, 117, 123], std: [1, 1, 1] },
    postprocess: { nmsThresh: 0.3, topkCandidates: 500 },
  });
  t.deepEqual(changed, [
    'input size 320x240',
    'channels BGR',
    'mean 104,117,123',
    'std 1,1,1',
    'postprocess.nmsThresh = 0.3',
    'postprocess.topkCandidates = 500',
    'name = faces',
  ]);
  t.is(spec.input.width, 300); // the importer's spec is not changed
  t.throws(() => applyImportOverrides(spec, { set: { 'postprocess.nms': '0.3' } }), {
    instanceOf: TypeError,
    message:
      /^Expected a field of the model spec \(scoring, boxEncoding, .*\) for set key 'postprocess\.nms' but received "nms"$/,
  });
  t.throws(() => applyImportOverrides(spec, { set: { 'postprocess.nmsThresh': '2' } }), { instanceOf: RangeError });
  t.throws(() => applyImportOverrides(spec, { set: { '__proto__.x': '1' } }), { instanceOf: TypeError });
  t.throws(() => applyImportOverrides(spec, { mean: [1, 2] }), {
    message: 'Expected one or three finite numbers for mean but received Array of length 2',
  });
});

test('importModelFiles: an override that contradicts the graph is refused before writing', async (t) => {
  const dir = tmpDir(t);
  const src = path.join(dir, 'ssd.onnx');
  fs.writeFileSync(src, writeOnnx(tinyPytorchSsd(3000, 3)));
  await t.throwsAsync(
    importModelFiles([src], { out: path.join(dir, 'm.onnx'), labels: ['BACKGROUND', 'a', 'b'], inputSize: [320, 240] }),
    {
      instanceOf: TypeError,
      message: "Expected input size 300x300 (the graph's input 'input_0') for inputSize but received 320x240",
    },
  );
  t.deepEqual(fs.readdirSync(dir), ['ssd.onnx']);
});
