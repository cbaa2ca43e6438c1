/**
 * TensorFlow GraphDef reading: binary frozen graphs (`.pb`) and protobuf text graphs (`.pbtxt`, e.g. OpenCV's text
 * graphs), both into the same plain objects ({@link TfNode}), with the schema subset in `graph.proto` next to this file.
 *
 * The text-format reader is generic: a small tokenizer plus protobufjs reflection (field names, nested message types,
 * enums, maps), so any message of the schema can be read from text.
 */
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

const root = protobuf.loadSync(fileURLToPath(new URL('./graph.proto', import.meta.url)));
const GraphDefType = root.lookupType('ssdedge.tf.GraphDef');

/** A TF tensor as stored (TensorProto, camelCase fields as protobufjs gives them). */
export interface TfTensorProto {
  dtype?: string;
  tensorShape?: { dim?: Array<{ size?: number }>; unknownRank?: boolean };
  tensorContent?: Uint8Array;
  halfVal?: number[];
  floatVal?: number[];
  doubleVal?: number[];
  intVal?: number[];
  int64Val?: number[];
  boolVal?: boolean[];
}

/** AttrValue (one of the fields set). */
export interface TfAttr {
  s?: Uint8Array;
  i?: number;
  f?: number;
  b?: boolean;
  type?: string;
  shape?: { dim?: Array<{ size?: number }>; unknownRank?: boolean };
  tensor?: TfTensorProto;
  list?: { s?: Uint8Array[]; i?: number[]; f?: number[]; b?: boolean[]; type?: string[] };
}

/** NodeDef. */
export interface TfNode {
  name: string;
  op: string;
  input: string[];
  attr: Record<string, TfAttr>;
}

const TO_OBJECT: protobuf.IConversionOptions = {
  longs: Number,
  enums: String,
  bytes: Uint8Array as never,
  arrays: true,
};

function normalize(g: Record<string, unknown>): TfNode[] {
  const nodes = (g.node as Array<Record<string, unknown>>) ?? [];
  return nodes.map((n) => ({
    name: (n.name as string) ?? '',
    op: (n.op as string) ?? '',
    input: (n.input as string[]) ?? [],
    attr: (n.attr as Record<string, TfAttr>) ?? {},
  }));
}

/**
 * Nodes of a binary GraphDef.
 * @throws {TypeError} The bytes are not a GraphDef protobuf.
 */
export function readGraphDef(bytes: Uint8Array): TfNode[] {
  let msg: protobuf.Message;
  try {
    msg = GraphDefType.decode(bytes);
  } catch (err) {
    throw new TypeError(`Expected a TensorFlow GraphDef (.pb) but the bytes do not parse: ${(err as Error).message}`);
  }
  return normalize(GraphDefType.toObject(msg, TO_OBJECT));
}

/** Binary GraphDef from nodes in the protobuf JSON mapping (TF.js model.json: base64 bytes, int64 as strings). */
export function writeGraphDefObject(nodes: unknown[]): Uint8Array {
  return GraphDefType.encode(GraphDefType.fromObject({ node: nodes })).finish();
}

/** Binary GraphDef from nodes (used by tests to write small graphs). */
export function writeGraphDef(nodes: TfNode[]): Uint8Array {
  return GraphDefType.encode(GraphDefType.fromObject({ node: nodes })).finish();
}

// --- protobuf text format -------------------------------------------------------------------------

type Token = { kind: 'ident' | 'string' | 'number' | 'punct'; text: string; value?: Uint8Array; line: number };

function tokenize(text: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  let line = 1;
  const n = text.length;
  while (i < n) {
    const c = text[i];
    if (c === '\n') {
      line++;
      i++;
    } else if (c === ' ' || c === '\t' || c === '\r' || c === ',' || c === ';') i++;
    else if (c === '#') {
      while (i < n && text[i] !== '\n') i++;
    } else if (c === '{' || c === '}' || c === ':' || c === '<' || c === '>' || c === '[' || c === ']') {
      out.push({ kind: 'punct', text: c, line });
      i++;
    } else if (c === '"' || c === "'") {
      const bytes: number[] = [];
      i++;
      while (i < n && text[i] !== c) {
        if (text[i] === '\\') {
          const e = text[i + 1];
          i += 2;
          if (e >= '0' && e <= '7') {
            let v = Number(e);
            for (let k = 0; k < 2 && text[i] >= '0' && text[i] <= '7'; k++) v = v * 8 + Number(text[i++]);
            bytes.push(v & 255);
          } else if (e === 'x') {
            let v = 0;
            for (let k = 0; k < 2 && /[0-9a-fA-F]/.test(text[i]); k++) v = v * 16 + Number.parseInt(text[i++], 16);
            bytes.push(v);
          } else {
            const map: Record<string, number> = { n: 10, t: 9, r: 13, a: 7, b: 8, f: 12, v: 11 };
            bytes.push(map[e] ?? e.charCodeAt(0));
          }
        } else {
          const cp = text.codePointAt(i) as number;
          bytes.push(...new TextEncoder().encode(String.fromCodePoint(cp)));
          i += cp > 0xffff ? 2 : 1;
        }
      }
      if (i >= n) throw new TypeError(`Expected a closing quote in the TensorFlow text graph (line ${line})`);
      i++;
      const value = Uint8Array.from(bytes);
      // adjacent strings concatenate
      const prev = out[out.length - 1];
      if (prev?.kind === 'string' && prev.value) {
        const joined = new Uint8Array(prev.value.length + value.length);
        joined.set(prev.value);
        joined.set(value, prev.value.length);
        prev.value = joined;
      } else out.push({ kind: 'string', text: '', value, line });
    } else {
      const chunk = text.slice(i, i + 128);
      const num = /^[-+]?(?:0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?[fF]?)/.exec(chunk);
      const m = num ?? /^[-+]?[A-Za-z_][A-Za-z0-9_.]*/.exec(chunk);
      if (!m) throw new TypeError(`Unexpected character '${c}' in the TensorFlow text graph (line ${line})`);
      const t = m[0];
      out.push({ kind: num ? 'number' : 'ident', text: t, line });
      i += t.length;
    }
  }
  return out;
}

function scalarOf(tok: Token, field: protobuf.Field): unknown {
  const where = `field '${field.name}' (line ${tok.line})`;
  if (field.resolvedType instanceof protobuf.Enum) {
    if (tok.kind === 'ident') return tok.text;
    if (tok.kind === 'number') return Number(tok.text);
    throw new TypeError(`Expected an enum value for ${where} in the TensorFlow text graph`);
  }
  switch (field.type) {
    case 'bytes':
      if (tok.kind !== 'string') throw new TypeError(`Expected a string for ${where} in the TensorFlow text graph`);
      return tok.value;
    case 'string':
      if (tok.kind !== 'string') throw new TypeError(`Expected a string for ${where} in the TensorFlow text graph`);
      return new TextDecoder().decode(tok.value);
    case 'bool':
      if (tok.text === 'true' || tok.text === 't' || tok.text === '1') return true;
      if (tok.text === 'false' || tok.text === 'f' || tok.text === '0') return false;
      throw new TypeError(`Expected true or false for ${where} in the TensorFlow text graph`);
    default: {
      const t = tok.text.replace(/[fF]$/, '');
      const lower = t.toLowerCase();
      const v =
        lower === 'inf' || lower === 'infinity' || lower === '+inf'
          ? Infinity
          : lower === '-inf' || lower === '-infinity'
            ? -Infinity
            : lower === 'nan'
              ? NaN
              : Number(t);
      if (Number.isNaN(v) && lower !== 'nan')
        throw new TypeError(`Expected a number for ${where} in the TensorFlow text graph but received '${tok.text}'`);
      return field.type === 'float' ? Math.fround(v) : v; // as the binary reader gives it
    }
  }
}

function parseMessage(
  toks: Token[],
  pos: { i: number },
  type: protobuf.Type,
  close: string | null,
): Record<string, unknown> {
  const obj: Record<string, unknown> = {};
  for (;;) {
    const tok = toks[pos.i];
    if (!tok) {
      if (close) throw new TypeError(`Expected '${close}' before the end of the TensorFlow text graph`);
      return obj;
    }
    if (close && tok.kind === 'punct' && tok.text === close) {
      pos.i++;
      return obj;
    }
    if (tok.kind !== 'ident')
      throw new TypeError(
        `Expected a field name in the TensorFlow text graph but received '${tok.text}' (line ${tok.line})`,
      );
    pos.i++;
    const field = type.fields[tok.text] ?? type.fields[protobuf.util.camelCase(tok.text)];
    if (!field) {
      skipValue(toks, pos); // outside the schema subset: skipped, as the binary reader skips unknown fields
      continue;
    }
    field.resolve();
    let next = toks[pos.i];
    if (next?.kind === 'punct' && next.text === ':') {
      pos.i++;
      next = toks[pos.i];
    }
    const readOne = (): unknown => {
      const t = toks[pos.i];
      if (!t)
        throw new TypeError(`Expected a value for field '${field.name}' before the end of the TensorFlow text graph`);
      if (t.kind === 'punct' && (t.text === '{' || t.text === '<')) {
        pos.i++;
        const sub = field.map ? mapEntryType(field) : field.resolvedType;
        if (!(sub instanceof protobuf.Type))
          throw new TypeError(
            `Expected a scalar for field '${field.name}' (line ${t.line}) in the TensorFlow text graph`,
          );
        return parseMessage(toks, pos, sub, t.text === '{' ? '}' : '>');
      }
      pos.i++;
      return scalarOf(t, field);
    };
    const values: unknown[] = [];
    if (next?.kind === 'punct' && next.text === '[') {
      pos.i++;
      while (!(toks[pos.i]?.kind === 'punct' && toks[pos.i].text === ']')) values.push(readOne());
      pos.i++;
    } else values.push(readOne());
    const key = field.name;
    if (field.map) {
      const m = (obj[key] ??= {}) as Record<string, unknown>;
      for (const e of values as Array<{ key?: unknown; value?: unknown }>) m[String(e.key ?? '')] = e.value ?? {};
    } else if (field.repeated) ((obj[key] ??= []) as unknown[]).push(...values);
    else obj[key] = values[values.length - 1];
  }
}

/** Skips the value of a field outside the schema (`: scalar`, `: [ … ]`, or `{ … }`). */
function skipValue(toks: Token[], pos: { i: number }): void {
  if (toks[pos.i]?.kind === 'punct' && toks[pos.i].text === ':') pos.i++;
  let depth = 0;
  do {
    const t = toks[pos.i++];
    if (!t) throw new TypeError('Expected a closing bracket before the end of the TensorFlow text graph');
    if (t.kind === 'punct' && '{<['.includes(t.text)) depth++;
    else if (t.kind === 'punct' && '}>]'.includes(t.text)) depth--;
  } while (depth > 0);
}

/** The text format's entry message of a map field (only NodeDef.attr in this schema). */
function mapEntryType(field: protobuf.Field): protobuf.Type {
  if (field.name !== 'attr')
    throw new TypeError(`Expected no map field but '${field.name}' in the TensorFlow text graph`);
  return root.lookupType('ssdedge.tf.NodeDefAttrEntry');
}

/**
 * Nodes of a text GraphDef (protobuf text format, as `tf.io.write_graph(as_text=True)` or OpenCV's text graphs).
 * @throws {TypeError} A syntax error or an unknown field, with its line.
 */
export function readTextGraphDef(text: string): TfNode[] {
  const toks = tokenize(text);
  const obj = parseMessage(toks, { i: 0 }, GraphDefType, null);
  // round trip through the message type: fills types (enum names, Long → number) exactly as the binary reader does
  return normalize(GraphDefType.toObject(GraphDefType.fromObject(obj), TO_OBJECT));
}

// --- tensors ----------------------------------------------------------------------------------------

/** Numeric data of a TF tensor: float32 for DT_FLOAT/DT_HALF/DT_DOUBLE, Int32Array for ints, Uint8Array for (q)uint8. */
export interface TfTensor {
  dims: number[];
  dtype: string;
  data: Float32Array | Int32Array | Uint8Array;
}

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

/**
 * Decode a TensorProto (tensor_content or the typed *_val fields; a single *_val value fills the whole shape, as TF
 * does).
 * @throws {TypeError} An unsupported dtype or a size that does not match the shape; `what` names the node.
 */
export function decodeTfTensor(t: TfTensorProto, what: string): TfTensor {
  const dims = (t.tensorShape?.dim ?? []).map((d) => d.size ?? 0);
  const size = dims.reduce((a, b) => a * b, 1);
  const dtype = t.dtype ?? 'DT_INVALID';
  const content = t.tensorContent;
  const view = content?.length ? new DataView(content.buffer, content.byteOffset, content.byteLength) : undefined;
  const fill = <T extends Float32Array | Int32Array | Uint8Array>(out: T, vals: ArrayLike<number> | undefined): T => {
    if (!vals || vals.length === 0) return out;
    if (vals.length !== size && vals.length !== 1)
      throw new TypeError(`Expected ${size} values in TensorFlow tensor '${what}' but received ${vals.length}`);
    for (let i = 0; i < size; i++) out[i] = vals[Math.min(i, vals.length - 1)];
    return out;
  };
  const checkBytes = (per: number) => {
    if (view && view.byteLength !== size * per)
      throw new TypeError(
        `Expected ${size * per} bytes of tensor_content in TensorFlow tensor '${what}' but received ${view.byteLength}`,
      );
  };
  switch (dtype) {
    case 'DT_FLOAT':
    case 'DT_DOUBLE':
    case 'DT_HALF': {
      const out = new Float32Array(size);
      if (view) {
        const per = dtype === 'DT_FLOAT' ? 4 : dtype === 'DT_DOUBLE' ? 8 : 2;
        checkBytes(per);
        for (let i = 0; i < size; i++)
          out[i] =
            per === 4
              ? view.getFloat32(4 * i, true)
              : per === 8
                ? view.getFloat64(8 * i, true)
                : halfToFloat(view.getUint16(2 * i, true));
        return { dims, dtype, data: out };
      }
      const vals =
        dtype === 'DT_FLOAT' ? t.floatVal : dtype === 'DT_DOUBLE' ? t.doubleVal : t.halfVal?.map(halfToFloat);
      return { dims, dtype, data: fill(out, vals) };
    }
    case 'DT_INT32':
    case 'DT_INT64':
    case 'DT_INT16':
    case 'DT_INT8':
    case 'DT_UINT16': {
      const out = new Int32Array(size);
      if (view) {
        const per = { DT_INT32: 4, DT_INT64: 8, DT_INT16: 2, DT_INT8: 1, DT_UINT16: 2 }[dtype];
        checkBytes(per);
        for (let i = 0; i < size; i++)
          out[i] =
            per === 4
              ? view.getInt32(4 * i, true)
              : per === 8
                ? Number(view.getBigInt64(8 * i, true))
                : dtype === 'DT_INT16'
                  ? view.getInt16(2 * i, true)
                  : dtype === 'DT_UINT16'
                    ? view.getUint16(2 * i, true)
                    : view.getInt8(i);
        return { dims, dtype, data: out };
      }
      return { dims, dtype, data: fill(out, dtype === 'DT_INT64' ? t.int64Val : t.intVal) };
    }
    case 'DT_UINT8':
    case 'DT_QUINT8': {
      const out = new Uint8Array(size);
      if (view) {
        checkBytes(1);
        out.set(new Uint8Array(view.buffer, view.byteOffset, size));
        return { dims, dtype, data: out };
      }
      return { dims, dtype, data: fill(out, t.intVal) };
    }
    default:
      throw new TypeError(`Expected a numeric TensorFlow tensor for '${what}' but received dtype ${dtype}`);
  }
}
