/**
 * A parser for protobuf text format as Caffe's `.prototxt` files use it, schema-free: every message becomes a
 * {@link TextMessage} (field name → the list of its values in file order), so fields of any Caffe fork (Caffe-SSD's
 * `visualize`, `transform_param` inside DetectionOutput, …) are kept and simply ignored by readers that do not ask.
 *
 * Grammar: `name: value`, `name { … }` / `name: { … }` / `name < … >`, list values `name: [a, b]`, `#` comments,
 * optional `,` / `;` separators. Values: numbers (decimal, `1e-3`, `0x1F`, `inf`, `nan`, trailing `f`), strings in
 * double or single quotes (adjacent strings concatenated, C escapes), identifiers (enum values, `true` / `false`).
 */

/** A scalar of text format: numbers as numbers, strings as strings, enum identifiers as {@link TextEnum}. */
export type TextScalar = number | string | boolean | TextEnum;
/** An identifier value (enum constant such as `MAX`, `CENTER_SIZE`). */
export interface TextEnum {
  enum: string;
}
export type TextValue = TextScalar | TextMessage;
/** A message: its fields in file order, each with every value it was given (repeated or not). */
export type TextMessage = Map<string, TextValue[]>;

class Lexer {
  pos = 0;
  line = 1;
  constructor(
    readonly text: string,
    readonly file: string,
  ) {}

  error(what: string): TypeError {
    return new TypeError(`Expected ${what} at line ${this.line} of ${this.file} but received ${this.describeNext()}`);
  }

  private describeNext(): string {
    this.skip();
    if (this.pos >= this.text.length) return 'the end of the file';
    return `'${this.text.slice(this.pos, this.pos + 20).split('\n')[0]}'`;
  }

  skip(): void {
    const t = this.text;
    while (this.pos < t.length) {
      const c = t[this.pos];
      if (c === '\n') {
        this.line++;
        this.pos++;
      } else if (c === ' ' || c === '\t' || c === '\r' || c === '\f' || c === '\v') this.pos++;
      else if (c === '#') {
        while (this.pos < t.length && t[this.pos] !== '\n') this.pos++;
      } else break;
    }
  }

  peek(): string {
    this.skip();
    return this.text[this.pos] ?? '';
  }

  eat(c: string): boolean {
    if (this.peek() === c) {
      this.pos++;
      return true;
    }
    return false;
  }

  /** An identifier or number-like token ([A-Za-z0-9_.+-]). */
  word(): string {
    this.skip();
    const m = /^[A-Za-z0-9_.+-]+/.exec(this.text.slice(this.pos, this.pos + 256));
    if (!m) throw this.error('a field name or value');
    this.pos += m[0].length;
    return m[0];
  }

  string(): string {
    let out = '';
    while (this.peek() === '"' || this.peek() === "'") {
      const q = this.text[this.pos++];
      for (;;) {
        const c = this.text[this.pos++];
        if (c === undefined || c === '\n') throw this.error(`a closing ${q}`);
        if (c === q) break;
        if (c !== '\\') {
          out += c;
          continue;
        }
        const e = this.text[this.pos++];
        const simple: Record<string, string> = {
          n: '\n',
          t: '\t',
          r: '\r',
          '\\': '\\',
          "'": "'",
          '"': '"',
          a: '\x07',
          b: '\b',
          f: '\f',
          v: '\v',
          '?': '?',
        };
        if (e in simple) out += simple[e];
        else if (/[0-7]/.test(e)) {
          const m = /^[0-7]{1,3}/.exec(this.text.slice(this.pos - 1))!;
          out += String.fromCharCode(Number.parseInt(m[0], 8));
          this.pos += m[0].length - 1;
        } else if (e === 'x') {
          const m = /^[0-9a-fA-F]{1,2}/.exec(this.text.slice(this.pos));
          if (!m) throw this.error('hex digits after \\x');
          out += String.fromCharCode(Number.parseInt(m[0], 16));
          this.pos += m[0].length;
        } else throw this.error('a valid escape');
      }
    }
    return out;
  }
}

const FIELD = /^[A-Za-z_][A-Za-z0-9_]*$/;

function scalar(word: string, lx: Lexer): TextScalar {
  if (word === 'true' || word === 'True' || word === 't') return true;
  if (word === 'false' || word === 'False' || word === 'f') return false;
  const w = word.toLowerCase();
  if (/^[-+]?(inf|infinity)$/.test(w)) return w.startsWith('-') ? -Infinity : Infinity;
  if (/^[-+]?nan$/.test(w)) return Number.NaN;
  if (/^[-+]?0x[0-9a-f]+$/.test(w))
    return (w.startsWith('-') ? -1 : 1) * Number.parseInt(w.replace(/^[-+]?0x/, ''), 16);
  if (/^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?f?$/.test(w)) return Number(w.replace(/f$/, ''));
  if (FIELD.test(word)) return { enum: word };
  throw lx.error('a number, string or identifier value');
}

function value(lx: Lexer): TextScalar {
  const c = lx.peek();
  if (c === '"' || c === "'") return lx.string();
  const word = lx.word();
  return scalar(word, lx);
}

/** Deepest nesting accepted (Caffe nets nest 4 levels; a deeper file is refused instead of exhausting the stack). */
const MAX_DEPTH = 64;

function message(lx: Lexer, close: string, depth = 0): TextMessage {
  if (depth > MAX_DEPTH) throw lx.error(`messages nested at most ${MAX_DEPTH} deep`);
  const msg: TextMessage = new Map();
  const add = (k: string, v: TextValue) => {
    const list = msg.get(k);
    if (list) list.push(v);
    else msg.set(k, [v]);
  };
  for (;;) {
    if (close ? lx.eat(close) : lx.peek() === '') return msg;
    if (lx.peek() === '') throw lx.error(`'${close}'`);
    const name = lx.word();
    if (!FIELD.test(name)) throw lx.error('a field name');
    const colon = lx.eat(':');
    const open = lx.peek();
    if (open === '{' || open === '<') {
      lx.pos++;
      add(name, message(lx, open === '{' ? '}' : '>', depth + 1));
    } else if (!colon) {
      throw lx.error(`':' or '{' after field '${name}'`);
    } else if (lx.eat('[')) {
      if (!lx.eat(']')) {
        do {
          const o = lx.peek();
          if (o === '{' || o === '<') {
            lx.pos++;
            add(name, message(lx, o === '{' ? '}' : '>', depth + 1));
          } else add(name, value(lx));
        } while (lx.eat(','));
        if (!lx.eat(']')) throw lx.error(`']' closing the list of '${name}'`);
      }
    } else add(name, value(lx));
    if (!lx.eat(',')) lx.eat(';');
  }
}

/**
 * Parses protobuf text format (a `.prototxt`).
 *
 * @param text The file's text.
 * @param file Name used in error messages.
 * @throws {TypeError} A syntax error, naming the line: `Expected ':' or '{' after field 'layer' at line 3 of net.prototxt but received …`.
 * @example
 * const net = parsePrototxt('name: "n" layer { name: "c" type: "ReLU" }');
 * net.get('layer')?.length; // 1
 */
export function parsePrototxt(text: string, file = 'the prototxt'): TextMessage {
  return message(new Lexer(text, file), '');
}

// --- typed access -----------------------------------------------------------------------------------

/** Typed getters over a {@link TextMessage} that name the field and the message in errors. */
export class Fields {
  constructor(
    readonly msg: TextMessage,
    readonly where: string,
  ) {}

  has(name: string): boolean {
    return this.msg.has(name);
  }

  private one(name: string): TextValue | undefined {
    const list = this.msg.get(name);
    return list?.[list.length - 1]; // text format: a repeated singular field keeps its last value
  }

  num(name: string, fallback: number): number;
  num(name: string): number | undefined;
  num(name: string, fallback?: number): number | undefined {
    const v = this.one(name);
    if (v === undefined) return fallback;
    if (typeof v !== 'number')
      throw new TypeError(`Expected a number for ${name} in ${this.where} but received ${show(v)}`);
    return v;
  }

  nums(name: string): number[] {
    return (this.msg.get(name) ?? []).map((v) => {
      if (typeof v !== 'number')
        throw new TypeError(`Expected numbers for ${name} in ${this.where} but received ${show(v)}`);
      return v;
    });
  }

  bool(name: string, fallback: boolean): boolean {
    const v = this.one(name);
    if (v === undefined) return fallback;
    if (typeof v === 'boolean') return v;
    if (v === 0 || v === 1) return v === 1;
    throw new TypeError(`Expected true or false for ${name} in ${this.where} but received ${show(v)}`);
  }

  str(name: string): string | undefined {
    const v = this.one(name);
    if (v === undefined) return undefined;
    if (typeof v !== 'string')
      throw new TypeError(`Expected a string for ${name} in ${this.where} but received ${show(v)}`);
    return v;
  }

  strs(name: string): string[] {
    return (this.msg.get(name) ?? []).map((v) => {
      if (typeof v !== 'string')
        throw new TypeError(`Expected strings for ${name} in ${this.where} but received ${show(v)}`);
      return v;
    });
  }

  /** An enum field given by name (`MAX`) or number (`0`), returned as the name from `names` (index = number). */
  enumName(name: string, names: readonly string[], fallback: string): string {
    const v = this.one(name);
    if (v === undefined) return fallback;
    const n = typeof v === 'number' ? names[v] : typeof v === 'object' && 'enum' in v ? v.enum : undefined;
    if (n === undefined || !names.includes(n))
      throw new TypeError(`Expected one of ${names.join(', ')} for ${name} in ${this.where} but received ${show(v)}`);
    return n;
  }

  sub(name: string): Fields {
    const v = this.one(name);
    if (v === undefined) return new Fields(new Map(), `${this.where}.${name}`);
    if (!(v instanceof Map))
      throw new TypeError(`Expected a message for ${name} in ${this.where} but received ${show(v)}`);
    return new Fields(v, `${this.where}.${name}`);
  }

  subs(name: string): Fields[] {
    return (this.msg.get(name) ?? []).map((v, k) => {
      if (!(v instanceof Map))
        throw new TypeError(`Expected messages for ${name} in ${this.where} but received ${show(v)}`);
      return new Fields(v, `${this.where}.${name}[${k}]`);
    });
  }
}

function show(v: TextValue): string {
  if (v instanceof Map) return 'a message';
  if (typeof v === 'object') return v.enum;
  return JSON.stringify(v) ?? String(v);
}
