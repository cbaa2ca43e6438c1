/**
 * The header of an ONNX model — everything ssd-edge reads to load a model except the weights: IR version, producer,
 * opsets, metadata_props, graph inputs/outputs with their shapes, initializer names and the node count.
 *
 * `readOnnxHeaderFile` streams the file through a file descriptor with a small protobuf wire-format scanner and skips
 * nodes and tensor contents by their length, so loading a 100 MB model does not hold a second copy of its weights in
 * JS memory while ONNX Runtime loads the same file. `readOnnx` (onnx.ts) still decodes everything, for importers and
 * builders that need the weights; {@link onnxHeaderOf} takes the same header from a decoded model.
 *
 * Wire format (protobuf encoding): a field is a varint key (field number << 3 | wire type) then a varint (type 0),
 * 8 bytes (1), a varint length + that many bytes (2), or 4 bytes (5). Groups (3, 4) are not used by ONNX.
 */
import fs from 'node:fs';
import { modelFileError, openModelFile } from './file.ts';
import type {
  ModelProto,
  OperatorSetIdProto,
  StringStringEntryProto,
  TensorShapeDimension,
  ValueInfoProto,
} from './onnx.ts';

/** What {@link readOnnxHeaderFile} reads: a {@link ModelProto} without nodes and tensor data. */
export interface OnnxHeader {
  ir_version: number;
  producer_name?: string;
  producer_version?: string;
  opset_import: OperatorSetIdProto[];
  metadata_props: StringStringEntryProto[];
  graph: {
    name?: string;
    /** Graph inputs (older exports list the initializers here too). */
    input: ValueInfoProto[];
    output: ValueInfoProto[];
    /** Names of the initializers (the weights themselves are skipped). */
    initializerNames: string[];
    /** Number of nodes. */
    nodeCount: number;
  };
}

/** A model as the loaders take it: the header, or a decoded model (its header is taken from it). */
export type ModelLike = OnnxHeader | ModelProto;

// --- from a decoded model -----------------------------------------------------------------------

/** The subset of a ValueInfoProto the header keeps (name, tensor element type, dims, denotations, doc). */
function valueInfoSubset(v: ValueInfoProto): ValueInfoProto {
  const out: ValueInfoProto = { name: v.name ?? '' };
  const t = v.type;
  if (t) {
    out.type = {};
    if (t.tensor_type) {
      const tt: NonNullable<ValueInfoProto['type']>['tensor_type'] = {};
      if (t.tensor_type.elem_type !== undefined) tt.elem_type = t.tensor_type.elem_type;
      if (t.tensor_type.shape) tt.shape = { dim: (t.tensor_type.shape.dim ?? []).map((d) => ({ ...d })) };
      out.type.tensor_type = tt;
    }
    if (t.denotation !== undefined) out.type.denotation = t.denotation;
  }
  if (v.doc_string !== undefined) out.doc_string = v.doc_string;
  return out;
}

/**
 * The header of a model: a decoded {@link ModelProto} reduced to an {@link OnnxHeader}, or a header as it is.
 *
 * @example
 * onnxHeaderOf(readOnnx(bytes)).graph.nodeCount;
 */
export function onnxHeaderOf(model: ModelLike): OnnxHeader {
  const g = model.graph as OnnxHeader['graph'] | ModelProto['graph'];
  if ('nodeCount' in g) return model as OnnxHeader;
  const m = model as ModelProto;
  return {
    ir_version: m.ir_version ?? 0,
    ...(m.producer_name !== undefined ? { producer_name: m.producer_name } : {}),
    ...(m.producer_version !== undefined ? { producer_version: m.producer_version } : {}),
    opset_import: (m.opset_import ?? []).map((o) => ({
      ...(o.domain !== undefined ? { domain: o.domain } : {}),
      version: o.version ?? 0,
    })),
    metadata_props: (m.metadata_props ?? []).map((e) => ({ key: e.key ?? '', value: e.value ?? '' })),
    graph: {
      ...(g.name !== undefined ? { name: g.name } : {}),
      input: (g.input ?? []).map(valueInfoSubset),
      output: (g.output ?? []).map(valueInfoSubset),
      initializerNames: (g.initializer ?? []).map((t) => t.name ?? ''),
      nodeCount: (g.node ?? []).length,
    },
  };
}

// --- the wire-format scanner ---------------------------------------------------------------------

/** Reads `length` bytes at absolute `position` into `buf` at `offset`; returns the count read (0 at the end). */
type ReadAt = (buf: Uint8Array, offset: number, length: number, position: number) => number;

const WINDOW = 64 * 1024;

/** A forward reader over a byte source of known size, with a small window; skipping costs nothing. */
class Scanner {
  pos = 0;
  readonly #read: ReadAt;
  readonly size: number;
  #buf = new Uint8Array(WINDOW);
  #start = 0;
  #end = 0;

  constructor(read: ReadAt, size: number) {
    this.#read = read;
    this.size = size;
  }

  #fill(): void {
    const n = this.#read(this.#buf, 0, Math.min(WINDOW, this.size - this.pos), this.pos);
    if (n <= 0) throw new Error(`truncated at byte ${this.pos}`);
    this.#start = this.pos;
    this.#end = this.pos + n;
  }

  byte(): number {
    if (this.pos >= this.size) throw new Error(`truncated at byte ${this.pos}`);
    if (this.pos < this.#start || this.pos >= this.#end) this.#fill();
    return this.#buf[this.pos++ - this.#start];
  }

  /** A varint as a JS number (int64 two's complement read as signed, exact up to 2^53 as protobufjs with longs: Number). */
  varint(): number {
    let lo = 0;
    let mul = 1;
    for (let i = 0; i < 7; i++) {
      const b = this.byte();
      lo += (b & 0x7f) * mul;
      if (b < 0x80) return lo;
      mul *= 128;
    }
    let big = BigInt(lo);
    for (let shift = 49n; shift < 70n; shift += 7n) {
      const b = this.byte();
      big |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return Number(BigInt.asIntN(64, big));
    }
    throw new Error(`malformed varint before byte ${this.pos}`);
  }

  /** `n` bytes as an owned array (only called for small fields: names, metadata, shapes). */
  bytes(n: number): Uint8Array {
    this.#bound(n);
    const out = new Uint8Array(n);
    let done = 0;
    while (done < n) {
      // from the window when it holds the bytes, else straight from the source
      if (this.pos >= this.#start && this.pos < this.#end) {
        const k = Math.min(n - done, this.#end - this.pos);
        out.set(this.#buf.subarray(this.pos - this.#start, this.pos - this.#start + k), done);
        done += k;
        this.pos += k;
      } else {
        const k = this.#read(out, done, n - done, this.pos);
        if (k <= 0) throw new Error(`truncated at byte ${this.pos}`);
        done += k;
        this.pos += k;
      }
    }
    return out;
  }

  string(n: number): string {
    return Buffer.from(this.bytes(n).buffer, 0, n).toString('utf8');
  }

  skip(n: number): void {
    this.#bound(n);
    this.pos += n;
  }

  #bound(n: number): void {
    if (!(n >= 0) || this.pos + n > this.size)
      throw new Error(`a field of ${n} bytes at byte ${this.pos} runs past the end (${this.size} bytes)`);
  }

  /** Skips the value of a field of wire type `wire`. */
  skipValue(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.skip(8);
    else if (wire === 2) this.skip(this.varint());
    else if (wire === 5) this.skip(4);
    else throw new Error(`unsupported wire type ${wire} at byte ${this.pos}`);
  }

  /**
   * Calls `field(number, wire, end)` for each field of the message that ends at `end`; a callback that does not
   * consume the value leaves it to be skipped.
   */
  message(end: number, field: (num: number, wire: number) => void): void {
    if (end > this.size) throw new Error(`a message ending at byte ${end} runs past the end (${this.size} bytes)`);
    while (this.pos < end) {
      const key = this.varint();
      const num = Math.floor(key / 8);
      const wire = key & 7;
      const before = this.pos;
      field(num, wire);
      if (this.pos === before) this.skipValue(wire);
      if (this.pos > end) throw new Error(`a field overruns its message at byte ${end}`);
    }
  }

  /** The end position of a length-delimited value starting here (reads its length). */
  sub(wire: number, what: string): number {
    if (wire !== 2)
      throw new Error(`${what}: expected a length-delimited field but found wire type ${wire} at byte ${this.pos}`);
    const n = this.varint();
    this.#bound(n);
    return this.pos + n;
  }
}

function str(s: Scanner, wire: number, what: string): string {
  const end = s.sub(wire, what);
  return s.string(end - s.pos);
}

function int(s: Scanner, wire: number, what: string): number {
  if (wire !== 0) throw new Error(`${what}: expected a varint but found wire type ${wire} at byte ${s.pos}`);
  return s.varint();
}

function dimension(s: Scanner, end: number): TensorShapeDimension {
  const d: TensorShapeDimension = {};
  s.message(end, (num, wire) => {
    if (num === 1) {
      d.dim_value = int(s, wire, 'dim_value');
      delete d.dim_param; // a oneof: the last one set wins
    } else if (num === 2) {
      d.dim_param = str(s, wire, 'dim_param');
      delete d.dim_value;
    } else if (num === 3) d.denotation = str(s, wire, 'denotation');
  });
  return d;
}

function valueInfo(s: Scanner, end: number): ValueInfoProto {
  const v: ValueInfoProto = { name: '' };
  s.message(end, (num, wire) => {
    if (num === 1) v.name = str(s, wire, 'ValueInfoProto.name');
    else if (num === 3) v.doc_string = str(s, wire, 'ValueInfoProto.doc_string');
    else if (num === 2) {
      const type = (v.type ??= {});
      s.message(s.sub(wire, 'TypeProto'), (tn, tw) => {
        if (tn === 6) type.denotation = str(s, tw, 'TypeProto.denotation');
        else if (tn === 1) {
          const tt = (type.tensor_type ??= {});
          s.message(s.sub(tw, 'TypeProto.Tensor'), (n, w) => {
            if (n === 1) tt.elem_type = int(s, w, 'elem_type');
            else if (n === 2) {
              const shape = (tt.shape ??= { dim: [] });
              s.message(s.sub(w, 'TensorShapeProto'), (dn, dw) => {
                if (dn === 1) shape.dim!.push(dimension(s, s.sub(dw, 'Dimension')));
              });
            }
          });
        }
      });
    }
  });
  return v;
}

function scanModel(s: Scanner): OnnxHeader {
  const h: OnnxHeader = {
    ir_version: 0,
    opset_import: [],
    metadata_props: [],
    graph: undefined as unknown as OnnxHeader['graph'],
  };
  s.message(s.size, (num, wire) => {
    switch (num) {
      case 1:
        h.ir_version = int(s, wire, 'ir_version');
        break;
      case 2:
        h.producer_name = str(s, wire, 'producer_name');
        break;
      case 3:
        h.producer_version = str(s, wire, 'producer_version');
        break;
      case 8: {
        const o: OperatorSetIdProto = { version: 0 };
        s.message(s.sub(wire, 'opset_import'), (n, w) => {
          if (n === 1) o.domain = str(s, w, 'opset_import.domain');
          else if (n === 2) o.version = int(s, w, 'opset_import.version');
        });
        h.opset_import.push(o);
        break;
      }
      case 14: {
        const e: StringStringEntryProto = { key: '', value: '' };
        s.message(s.sub(wire, 'metadata_props'), (n, w) => {
          if (n === 1) e.key = str(s, w, 'metadata_props.key');
          else if (n === 2) e.value = str(s, w, 'metadata_props.value');
        });
        h.metadata_props.push(e);
        break;
      }
      case 7: {
        // a repeated message field is merged, as protobuf does
        const g = (h.graph ??= { input: [], output: [], initializerNames: [], nodeCount: 0 });
        s.message(s.sub(wire, 'graph'), (n, w) => {
          if (n === 1) {
            s.skip(s.sub(w, 'node') - s.pos); // nodes: counted, not read
            g.nodeCount++;
          } else if (n === 2) g.name = str(s, w, 'graph.name');
          else if (n === 11) g.input.push(valueInfo(s, s.sub(w, 'graph.input')));
          else if (n === 12) g.output.push(valueInfo(s, s.sub(w, 'graph.output')));
          else if (n === 5) {
            // an initializer: its name (field 8); dims, data and everything else skipped by length
            let name = '';
            s.message(s.sub(w, 'initializer'), (tn, tw) => {
              if (tn === 8) name = str(s, tw, 'initializer.name');
            });
            g.initializerNames.push(name);
          }
        });
        break;
      }
      default:
        break; // skipped by message()
    }
  });
  if (!h.graph) throw new Error('not an ONNX model (ModelProto has no graph)');
  return h;
}

/**
 * The header of a serialized ONNX model in memory (see {@link OnnxHeader}).
 *
 * @throws {Error} Malformed protobuf, or no graph.
 * @example
 * readOnnxHeader(fs.readFileSync('m.onnx')).metadata_props;
 */
export function readOnnxHeader(bytes: Uint8Array): OnnxHeader {
  const read: ReadAt = (buf, offset, length, position) => {
    const n = Math.max(0, Math.min(length, bytes.byteLength - position));
    buf.set(bytes.subarray(position, position + n), offset);
    return n;
  };
  return scanModel(new Scanner(read, bytes.byteLength));
}

/**
 * The header of an ONNX file, read through a file descriptor in 64 KB windows: nodes and tensor contents are
 * skipped by length and never read, so memory stays at the size of the header whatever the size of the weights.
 *
 * @param file Path of the .onnx file.
 * @returns The header and the file size in bytes.
 * @throws {ModelFileError} The path is missing, a directory, unreadable (the message names the path and the problem).
 * @throws {TypeError} The file is not ONNX: `Expected ONNX model for FILE but received a file that does not parse (…)`.
 * @example
 * const { header, bytes } = await readOnnxHeaderFile('ssd300.onnx');
 */
export async function readOnnxHeaderFile(file: string): Promise<{ header: OnnxHeader; bytes: number }> {
  const handle = await openModelFile(file);
  try {
    const { size } = await handle.stat();
    const fd = handle.fd;
    const read: ReadAt = (buf, offset, length, position) => fs.readSync(fd, buf, offset, length, position);
    try {
      return { header: scanModel(new Scanner(read, size)), bytes: size };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code) throw modelFileError(file, err as NodeJS.ErrnoException);
      throw new TypeError(
        `Expected ONNX model for ${file} but received a file that does not parse (${(err as Error).message})`,
      );
    }
  } finally {
    await handle.close();
  }
}
