/**
 * The ONNX header scanner (lib/model/onnx-header.ts) against protobufjs' full decode (readOnnx, the independent
 * reference), the bytes it reads from a file (the weights must be skipped, not read), and its errors: malformed or
 * truncated protobuf, paths that are not files.
 */
import test from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GraphBuilder } from '../../../lib/model/graph.ts';
import { importFaceApiSsdMobilenetv1 } from '../../../lib/model/importers/faceapi.ts';
import { DataType, readOnnx, setMetadata, writeOnnx, type ModelProto } from '../../../lib/model/onnx.ts';
import { ModelFileError } from '../../../lib/model/file.ts';
import { onnxHeaderOf, readOnnxHeader, readOnnxHeaderFile } from '../../../lib/model/onnx-header.ts';
import { tinyTorchvision } from '../../helpers/tiny-models.ts';

function tmpDir(t: { teardown(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssd-edge-header-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A model exercising the corners: initializers listed as inputs (old exports), float_data tensors, a negative and a
 * large int64 dim, a symbolic dim, denotations, doc strings, unicode metadata, two opsets. */
function oddModel(): ModelProto {
  const g = new GraphBuilder('odd');
  g.addInput('x', ['batch', 3, 4, 4]);
  const w = g.addInitializer('w', new Float32Array(48).fill(0.5), [1, 3, 4, 4]);
  g.addNode('Mul', ['x', w], ['y']);
  g.addOutput('y', ['batch', 3, 4, 4]);
  const model = g.toModel({ producerName: 'odd-test' });
  model.producer_version = '1.2.3';
  model.opset_import.push({ domain: 'com.example', version: 7 });
  model.graph.initializer!.push({ name: 'floats', dims: [3], data_type: DataType.FLOAT, float_data: [1, 2, 3] });
  model.graph.input.push({
    name: 'w',
    type: {
      tensor_type: {
        elem_type: DataType.FLOAT,
        shape: { dim: [{ dim_value: 1 }, { dim_value: 3 }, { dim_value: 4 }, { dim_value: 4 }] },
      },
    },
  });
  model.graph.output.push({
    name: 'z',
    doc_string: 'doc ✓',
    type: {
      denotation: 'TENSOR',
      tensor_type: {
        elem_type: DataType.INT64,
        shape: { dim: [{ dim_value: -1 }, { dim_value: 2 ** 40 }, { dim_param: 'n', denotation: 'DATA_BATCH' }] },
      },
    },
  });
  return setMetadata(model, { a: 'ünïcode ✓', b: '' });
}

test("readOnnxHeader equals the header of protobufjs' full decode (tiny, odd and face models)", (t) => {
  const face = writeOnnx(importFaceApiSsdMobilenetv1({ metadata: { k: 'v' } }).model);
  for (const bytes of [writeOnnx(tinyTorchvision(3234, 3, 320)), writeOnnx(oddModel()), face]) {
    const reference = onnxHeaderOf(readOnnx(bytes));
    t.deepEqual(readOnnxHeader(bytes), reference);
  }
  const odd = readOnnxHeader(writeOnnx(oddModel()));
  t.deepEqual(odd.graph.initializerNames, ['w', 'floats']);
  t.is(odd.graph.nodeCount, 1);
  t.deepEqual(odd.graph.output[1].type!.tensor_type!.shape!.dim, [
    { dim_value: -1 },
    { dim_value: 2 ** 40 },
    { dim_param: 'n', denotation: 'DATA_BATCH' },
  ]);
  t.deepEqual(odd.metadata_props, [
    { key: 'a', value: 'ünïcode ✓' },
    { key: 'b', value: '' },
  ]);
});

test('readOnnxHeaderFile reads the header, not the weights (40 MB initializer, < 1 MB read)', async (t) => {
  const dir = tmpDir(t);
  const g = new GraphBuilder('big');
  g.addInput('x', [1, 10_000_000]);
  const w = g.addInitializer('weights', new Float32Array(10_000_000), [1, 10_000_000]);
  g.addNode('Add', ['x', w], ['y']);
  g.addOutput('y', [1, 10_000_000]);
  const model = setMetadata(g.toModel({ producerName: 'big' }), { key: 'value' });
  const bytes = writeOnnx(model);
  const file = path.join(dir, 'big.onnx');
  fs.writeFileSync(file, bytes);
  const readSync = fs.readSync;
  let read = 0;
  (fs as { readSync: typeof fs.readSync }).readSync = ((...args: Parameters<typeof fs.readSync>) => {
    const n = readSync(...args);
    read += n;
    return n;
  }) as typeof fs.readSync;
  let result: Awaited<ReturnType<typeof readOnnxHeaderFile>>;
  try {
    result = await readOnnxHeaderFile(file);
  } finally {
    (fs as { readSync: typeof fs.readSync }).readSync = readSync;
  }
  t.is(result.bytes, bytes.byteLength);
  t.deepEqual(result.header, onnxHeaderOf(readOnnx(bytes)));
  t.true(bytes.byteLength > 40e6);
  t.true(read > 0 && read < 1e6, `read ${read} bytes`);
});

test('malformed files: one TypeError naming the file and what is wrong', async (t) => {
  const dir = tmpDir(t);
  const good = writeOnnx(tinyTorchvision(3234, 3, 320));
  const cases: Array<[string, Uint8Array, RegExp]> = [
    ['truncated', good.subarray(0, good.byteLength - 5), /runs past the end|truncated/],
    ['text', Buffer.from('not a model'), /./],
    ['empty', new Uint8Array(0), /has no graph/],
    // field 7 (graph), length-delimited, claims 2^40 bytes
    ['huge length', Uint8Array.of(0x3a, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20, 1, 2, 3), /runs past the end/],
    // a varint of 11 continuation bytes
    ['bad varint', Uint8Array.of(0x08, ...new Array(11).fill(0xff)), /malformed varint|truncated/],
    ['group', Uint8Array.of(0x7b), /unsupported wire type 3/], // field 15, wire type 3 (start group)
  ];
  for (const [name, bytes, why] of cases) {
    const file = path.join(dir, `${name}.onnx`);
    fs.writeFileSync(file, bytes);
    const err = await t.throwsAsync(
      readOnnxHeaderFile(file),
      {
        instanceOf: TypeError,
        message: new RegExp(
          `^Expected ONNX model for ${file.replace(/[.]/g, '\\.')} but received a file that does not parse \\(`,
        ),
      },
      name,
    );
    t.regex(err!.message, why, name);
    t.throws(() => readOnnxHeader(bytes), { instanceOf: Error }, name);
  }
});

test('paths that are not model files: the message names the path and the problem, the code is kept', async (t) => {
  const dir = tmpDir(t);
  const missing = path.join(dir, 'missing.onnx');
  await t.throwsAsync(readOnnxHeaderFile(dir), {
    instanceOf: ModelFileError,
    code: 'EISDIR',
    message: `Cannot read model ${dir}: is a directory, expected an .onnx file`,
  });
  await t.throwsAsync(readOnnxHeaderFile(missing), {
    instanceOf: ModelFileError,
    code: 'ENOENT',
    message: `Cannot read model ${missing}: no such file`,
  });
  await t.throwsAsync(readOnnxHeaderFile(path.join(dir, 'missing', 'x.onnx')), { code: 'ENOENT' });
  const file = path.join(dir, 'f.onnx');
  fs.writeFileSync(file, 'x');
  await t.throwsAsync(readOnnxHeaderFile(path.join(file, 'sub.onnx')), {
    code: 'ENOTDIR',
    message: `Cannot read model ${path.join(file, 'sub.onnx')}: a parent of it is not a directory`,
  });
  await t.throwsAsync(readOnnxHeaderFile(''), {
    instanceOf: TypeError,
    message: 'Expected path of an .onnx file for model but received ""',
  });
});
