/** The schema-free protobuf text-format parser used for Caffe `.prototxt` files, and the caffemodel reader. */
import test from 'ava';
import { Fields, parsePrototxt } from '../../../lib/model/caffe/prototxt.ts';
import { readCaffemodel, writeCaffemodel } from '../../../lib/model/caffe/caffemodel.ts';

test('prototxt: nested messages, repeated fields, enums, comments, numbers and strings', (t) => {
  const net = parsePrototxt(`
name: "Net"   # a comment
input: 'data'
input_shape { dim: 1 dim: 3 dim: 240 dim: 320 }
layer {
  name: "pool" type: "Pooling"; bottom: "a" top: "b",
  pooling_param: { pool: MAX kernel_size: 2 stride: 2 }
  param < lr_mult: 1.0 >
}
layer {
  name: "det\\x41\\101\\n" type: 'Det' 'Out'
  detection_output_param { visualize: false visualize_threshold: 0.3 nms_param { nms_threshold: .15 top_k: 100 } }
  transform_param { mean_value: [103.94, 116.78, 123.68] }
  x: -1e-3 y: 0x1F z: inf w: -Infinity v: 2.5f u: true
}
`);
  const f = new Fields(net, 'net');
  t.is(f.str('name'), 'Net');
  t.deepEqual(f.strs('input'), ['data']);
  t.deepEqual(f.subs('input_shape')[0].nums('dim'), [1, 3, 240, 320]);
  const [pool, det] = f.subs('layer');
  t.is(pool.str('type'), 'Pooling');
  t.is(pool.sub('pooling_param').enumName('pool', ['MAX', 'AVE'], 'AVE'), 'MAX');
  t.is(pool.sub('pooling_param').num('kernel_size'), 2);
  t.is(pool.sub('param').num('lr_mult'), 1);
  t.is(det.str('name'), 'detAA\n');
  t.is(det.str('type'), 'DetOut'); // adjacent strings concatenate
  const dp = det.sub('detection_output_param');
  t.false(dp.bool('visualize', true)); // the Caffe-SSD field OpenCV's proto rejects is kept and readable
  t.is(dp.sub('nms_param').num('nms_threshold'), 0.15);
  t.deepEqual(det.sub('transform_param').nums('mean_value'), [103.94, 116.78, 123.68]);
  t.deepEqual(
    [det.num('x'), det.num('y'), det.num('z'), det.num('w'), det.num('v')],
    [-1e-3, 31, Infinity, -Infinity, 2.5],
  );
  t.true(det.bool('u', false));
  t.is(det.num('missing', 7), 7);
  // an enum given as its number
  t.is(new Fields(parsePrototxt('pool: 1'), 'p').enumName('pool', ['MAX', 'AVE'], 'MAX'), 'AVE');
});

test('prototxt: syntax and type errors name the line, the field and what was found', (t) => {
  t.throws(() => parsePrototxt('name: "a"\nlayer "x"', 'net.prototxt'), {
    instanceOf: TypeError,
    message: /Expected ':' or '\{' after field 'layer' at line 2 of net\.prototxt but received '"x"'/,
  });
  t.throws(() => parsePrototxt('layer {\n name: "a"\n', 'n.prototxt'), {
    instanceOf: TypeError,
    message: /Expected '}' at line 3 of n\.prototxt but received the end of the file/,
  });
  t.throws(() => parsePrototxt('name: "abc', 'n'), { instanceOf: TypeError, message: /closing "/ });
  t.throws(() => parsePrototxt('a { '.repeat(100_000), 'deep'), {
    instanceOf: TypeError,
    message: /^Expected messages nested at most 64 deep at line 1 of deep/,
  });
  const f = new Fields(parsePrototxt('a: "x" b { }'), 'layer conv');
  t.throws(() => f.num('a'), {
    instanceOf: TypeError,
    message: 'Expected a number for a in layer conv but received "x"',
  });
  t.throws(() => f.str('b'), {
    instanceOf: TypeError,
    message: /Expected a string for b in layer conv but received a message/,
  });
  t.throws(() => new Fields(parsePrototxt('pool: MIN'), 'p').enumName('pool', ['MAX', 'AVE'], 'MAX'), {
    message: 'Expected one of MAX, AVE for pool in p but received MIN',
  });
});

test('caffemodel: blobs by layer name round-trip; legacy 4-D dims; bad bytes give a TypeError naming the file', (t) => {
  const w = new Float32Array([1, 2, 3, 4, 5, 6]);
  const bytes = writeCaffemodel('n', [
    {
      name: 'conv',
      type: 'Convolution',
      blobs: [
        { dims: [2, 1, 1, 3], data: w },
        { dims: [2], data: new Float32Array([7, 8]) },
      ],
    },
    { name: 'relu', type: 'ReLU', blobs: [] },
  ]);
  const read = readCaffemodel(bytes);
  t.is(read.name, 'n');
  t.deepEqual([...read.layers.keys()], ['conv']); // layers without blobs are not listed
  t.deepEqual(read.layers.get('conv')?.[0].dims, [2, 1, 1, 3]);
  t.deepEqual([...(read.layers.get('conv')?.[0].data ?? [])], [...w]);
  t.deepEqual([...(read.layers.get('conv')?.[1].data ?? [])], [7, 8]);
  // legacy BlobProto (num, channels, height, width) written by hand: field 1..4 varints, data = field 5 packed floats
  const floats = new Uint8Array(new Float32Array([0.5, -1]).buffer);
  const blob = [0x08, 1, 0x10, 2, 0x18, 1, 0x20, 1, 0x2a, floats.length, ...floats];
  const layer = [0x0a, 1, 0x70, 0x3a, blob.length, ...blob]; // name 'p', blobs (field 7)
  const net = new Uint8Array([0xa2, 0x06, layer.length, ...layer]); // NetParameter.layer = field 100
  const legacy = readCaffemodel(net);
  t.deepEqual(legacy.layers.get('p')?.[0].dims, [1, 2, 1, 1]);
  t.deepEqual([...(legacy.layers.get('p')?.[0].data ?? [])], [0.5, -1]);
  t.throws(() => readCaffemodel(new Uint8Array([0xff, 0xff, 0xff]), 'x.caffemodel'), {
    instanceOf: TypeError,
    message:
      /^Expected a Caffe \.caffemodel \(binary NetParameter\) for x\.caffemodel but received bytes that do not parse/,
  });
  t.throws(() => readCaffemodel(new TextEncoder().encode(''), 'e.caffemodel'), {
    instanceOf: TypeError,
    message: /for e\.caffemodel but it has no layers/,
  });
});
