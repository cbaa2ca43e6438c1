/**
 * Read a binary `.caffemodel` (a serialized Caffe `NetParameter`) with protobufjs and a minimal subset of
 * BVLC caffe.proto written here: only what carries weights — layer names and types, and each layer's `blobs`.
 * Every other field (layer parameters, which the deploy `.prototxt` states) is skipped by the decoder, so Caffe
 * forks (Caffe-SSD's Normalize / PriorBox / DetectionOutput parameters, `visualize` …) decode too.
 *
 * The schema is kept in this module (parsed once with `protobuf.parse`) so that nothing has to be copied next to
 * the compiled JavaScript. Field numbers follow BVLC caffe.proto: NetParameter.layer = 100 (LayerParameter, current),
 * NetParameter.layers = 2 (V1LayerParameter, pre-2015 files); BlobProto.shape = 7, data = 5 (packed float),
 * double_data = 8, legacy num/channels/height/width = 1..4.
 */
import protobuf from 'protobufjs';

export const CAFFE_PROTO = `
syntax = "proto2";
package ssd_edge_caffe;
message BlobShape { repeated int64 dim = 1 [packed = true]; }
message BlobProto {
  optional BlobShape shape = 7;
  repeated float data = 5 [packed = true];
  repeated double double_data = 8 [packed = true];
  optional int32 num = 1;
  optional int32 channels = 2;
  optional int32 height = 3;
  optional int32 width = 4;
}
message LayerParameter {
  optional string name = 1;
  optional string type = 2;
  repeated string bottom = 3;
  repeated string top = 4;
  repeated BlobProto blobs = 7;
}
message V1LayerParameter {
  repeated string bottom = 2;
  repeated string top = 3;
  optional string name = 4;
  optional int32 type = 5;
  repeated BlobProto blobs = 6;
}
message NetParameter {
  optional string name = 1;
  repeated string input = 3;
  repeated int32 input_dim = 4;
  repeated LayerParameter layer = 100;
  repeated V1LayerParameter layers = 2;
}
`;

/** One weight blob: dims (legacy 4-D num/channels/height/width when the file has no `shape`) and float32 values. */
export interface CaffeBlob {
  dims: number[];
  data: Float32Array;
}

/** The weights of a `.caffemodel`: blobs by layer name, in file order. */
export interface CaffeWeights {
  /** NetParameter.name ('' when absent). */
  name: string;
  layers: Map<string, CaffeBlob[]>;
}

let netType: protobuf.Type | undefined;
function getNetType(): protobuf.Type {
  netType ??= protobuf.parse(CAFFE_PROTO, { keepCase: true }).root.lookupType('ssd_edge_caffe.NetParameter');
  return netType;
}

interface RawBlob {
  shape?: { dim?: number[] };
  data?: number[];
  double_data?: number[];
  num?: number;
  channels?: number;
  height?: number;
  width?: number;
}

function toBlob(b: RawBlob, where: string): CaffeBlob {
  let dims = b.shape?.dim?.map(Number);
  if (!dims || dims.length === 0) {
    const legacy = [b.num, b.channels, b.height, b.width];
    dims = legacy.some((d) => d !== undefined) ? legacy.map((d) => d ?? 1) : [];
  }
  const values = b.data && b.data.length > 0 ? b.data : (b.double_data ?? []);
  const count = dims.reduce((a, d) => a * d, 1);
  if (dims.some((d) => !Number.isInteger(d) || d < 0) || values.length !== count) {
    throw new TypeError(
      `Expected ${count} values (dims [${dims.join(', ')}]) in ${where} but received ${values.length}`,
    );
  }
  return { dims, data: Float32Array.from(values) };
}

/**
 * Decodes `.caffemodel` bytes into blobs by layer name.
 *
 * @throws {TypeError} The bytes are not a NetParameter ("Expected a Caffe .caffemodel (binary NetParameter) …"),
 *   or a blob's value count does not match its dims.
 */
export function readCaffemodel(bytes: Uint8Array, file = 'the .caffemodel'): CaffeWeights {
  const type = getNetType();
  let obj: { name?: string; layer?: Array<{ name?: string; blobs?: RawBlob[] }>; layers?: typeof obj.layer };
  try {
    obj = type.toObject(type.decode(bytes), { longs: Number, arrays: true, defaults: false }) as typeof obj;
  } catch (err) {
    throw new TypeError(
      `Expected a Caffe .caffemodel (binary NetParameter) for ${file} but received bytes that do not parse (${(err as Error).message})`,
    );
  }
  const layers = new Map<string, CaffeBlob[]>();
  for (const l of [...(obj.layers ?? []), ...(obj.layer ?? [])]) {
    if (!l.name || !l.blobs?.length) continue;
    layers.set(
      l.name,
      l.blobs.map((b, k) => toBlob(b, `blob ${k} of layer '${l.name}' in ${file}`)),
    );
  }
  if ((obj.layer?.length ?? 0) + (obj.layers?.length ?? 0) === 0)
    throw new TypeError(
      `Expected a Caffe .caffemodel (binary NetParameter with layers) for ${file} but it has no layers`,
    );
  return { name: obj.name ?? '', layers };
}

/** Encodes weights as a `.caffemodel` (NetParameter with `layer` entries holding only name, type and blobs); for tests. */
export function writeCaffemodel(
  name: string,
  layers: Array<{ name: string; type: string; blobs: CaffeBlob[] }>,
): Uint8Array {
  const type = getNetType();
  const msg = type.fromObject({
    name,
    layer: layers.map((l) => ({
      name: l.name,
      type: l.type,
      blobs: l.blobs.map((b) => ({ shape: { dim: b.dims }, data: Array.from(b.data) })),
    })),
  });
  const out = type.encode(msg).finish();
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}
