/**
 * A small, strict XML reader for annotation files (Pascal VOC): elements, attributes, text, the five predefined
 * entities and character references, comments, CDATA, processing instructions and a DOCTYPE (skipped, internal
 * subsets included). No namespaces, no external entities (nothing is ever fetched or expanded beyond the five).
 * Errors carry the 1-based line of the fault.
 */

/** An element: its name, attributes, child elements and its own text (children's text excluded), entities decoded. */
export interface XmlElement {
  name: string;
  attributes: Record<string, string>;
  children: XmlElement[];
  text: string;
  /** 1-based line of the start tag. */
  line: number;
}

/** Malformed XML; `line` is where the parser stopped (1-based). */
export class XmlError extends Error {
  line: number;
  /** What is wrong, without the line. */
  reason: string;
  constructor(reason: string, line: number) {
    super(`line ${line}: ${reason}`);
    this.name = 'XmlError';
    this.line = line;
    this.reason = reason;
  }
}

const NAME = /[A-Za-z_:][-A-Za-z0-9_:.]*/y;
const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

/**
 * Parses a document and returns its root element.
 *
 * @throws {XmlError} Malformed input (mismatched or unclosed tag, bad attribute, unknown entity, text outside the
 *   root, no root), with the line.
 * @example
 * parseXml('<a x="1"><b>hi &amp; bye</b></a>').children[0].text // 'hi & bye'
 */
export function parseXml(source: string): XmlElement {
  let i = source.charCodeAt(0) === 0xfeff ? 1 : 0; // BOM
  // line numbers counted forward from the last position asked (start tags come in order: linear overall)
  let linePos = 0;
  let lineNo = 1;
  const lineAt = (pos: number): number => {
    if (pos < linePos) {
      linePos = 0;
      lineNo = 1;
    }
    for (; linePos < pos && linePos < source.length; linePos++) if (source.charCodeAt(linePos) === 10) lineNo++;
    return lineNo;
  };
  const fail = (message: string, pos = i): never => {
    throw new XmlError(message, lineAt(pos));
  };
  const stack: XmlElement[] = [];
  let root: XmlElement | null = null;

  const decode = (raw: string, start: number): string =>
    raw.replace(/&([^;&<]*);|&/g, (m, ref: string | undefined, offset: number) => {
      if (ref === undefined) return fail("'&' not followed by an entity reference ending in ';'", start + offset);
      if (ref.startsWith('#')) {
        const code = ref[1] === 'x' ? Number.parseInt(ref.slice(2), 16) : Number.parseInt(ref.slice(1), 10);
        if (!/^#(x[0-9a-fA-F]+|[0-9]+)$/.test(ref) || !(code >= 0 && code <= 0x10ffff))
          return fail(`bad character reference ${m}`, start + offset);
        return String.fromCodePoint(code);
      }
      const v = ENTITIES[ref];
      return v ?? fail(`unknown entity ${m}`, start + offset);
    });

  const skipTo = (end: string, what: string): void => {
    const k = source.indexOf(end, i);
    if (k < 0) fail(`unterminated ${what}`);
    i = k + end.length;
  };

  while (i < source.length) {
    const lt = source.indexOf('<', i);
    const textEnd = lt < 0 ? source.length : lt;
    if (textEnd > i) {
      const raw = source.slice(i, textEnd);
      if (stack.length > 0) stack[stack.length - 1].text += decode(raw, i);
      else if (raw.trim() !== '') fail(root ? 'text after the root element' : 'text before the root element');
      i = textEnd;
      if (lt < 0) break;
    }
    if (source.startsWith('<!--', i)) {
      skipTo('-->', 'comment');
    } else if (source.startsWith('<![CDATA[', i)) {
      if (stack.length === 0) fail('CDATA outside the root element');
      const k = source.indexOf(']]>', i);
      if (k < 0) fail('unterminated CDATA section');
      stack[stack.length - 1].text += source.slice(i + 9, k);
      i = k + 3;
    } else if (source.startsWith('<?', i)) {
      skipTo('?>', 'processing instruction');
    } else if (source.startsWith('<!DOCTYPE', i)) {
      // skip to the matching '>' (an internal subset [ … ] may hold '>' characters)
      let depth = 0;
      let k = i + 9;
      for (; k < source.length; k++) {
        const c = source[k];
        if (c === '[') depth++;
        else if (c === ']') depth--;
        else if (c === '>' && depth <= 0) break;
      }
      if (k >= source.length) fail('unterminated DOCTYPE');
      i = k + 1;
    } else if (source.startsWith('</', i)) {
      NAME.lastIndex = i + 2;
      const m = NAME.exec(source);
      if (!m) fail('bad end tag');
      const name = m![0];
      let k = i + 2 + name.length;
      while (/\s/.test(source[k] ?? '')) k++;
      if (source[k] !== '>') fail(`bad end tag </${name}`);
      const open = stack.pop();
      if (!open) fail(`end tag </${name}> without a start tag`);
      if (open!.name !== name) fail(`end tag </${name}> does not match <${open!.name}> (line ${open!.line})`);
      i = k + 1;
    } else {
      // start tag
      const start = i;
      NAME.lastIndex = i + 1;
      const m = NAME.exec(source);
      if (!m) fail("'<' not followed by a tag name");
      const el: XmlElement = { name: m![0], attributes: {}, children: [], text: '', line: lineAt(start) };
      let k = i + 1 + el.name.length;
      let selfClosing = false;
      for (;;) {
        const ws = k;
        while (/\s/.test(source[k] ?? '')) k++;
        if (k >= source.length) fail(`unterminated start tag <${el.name}`, start);
        if (source[k] === '>') {
          k++;
          break;
        }
        if (source.startsWith('/>', k)) {
          selfClosing = true;
          k += 2;
          break;
        }
        if (k === ws) fail(`expected whitespace, '>' or '/>' in <${el.name}`, k);
        NAME.lastIndex = k;
        const a = NAME.exec(source);
        if (!a) fail(`bad attribute in <${el.name}`, k);
        k += a![0].length;
        while (/\s/.test(source[k] ?? '')) k++;
        if (source[k] !== '=') fail(`attribute ${a![0]} of <${el.name}> has no value`, k);
        k++;
        while (/\s/.test(source[k] ?? '')) k++;
        const q = source[k];
        if (q !== '"' && q !== "'") fail(`attribute ${a![0]} of <${el.name}> is not quoted`, k);
        const end = source.indexOf(q, k + 1);
        if (end < 0) fail(`unterminated attribute ${a![0]} of <${el.name}>`, k);
        if (a![0] in el.attributes) fail(`attribute ${a![0]} repeated in <${el.name}>`, k);
        el.attributes[a![0]] = decode(source.slice(k + 1, end), k + 1);
        k = end + 1;
      }
      if (stack.length > 0) stack[stack.length - 1].children.push(el);
      else if (root) fail(`a second root element <${el.name}>`, start);
      else root = el;
      if (!selfClosing) stack.push(el);
      i = k;
    }
  }
  if (stack.length > 0) {
    const open = stack[stack.length - 1];
    fail(`<${open.name}> (line ${open.line}) is not closed`);
  }
  if (!root) fail('no root element');
  return root!;
}

/** The first child element with this name, or undefined. */
export function child(el: XmlElement | undefined, name: string): XmlElement | undefined {
  return el?.children.find((c) => c.name === name);
}

/** The trimmed text of the first child with this name, or undefined when there is no such child. */
export function childText(el: XmlElement | undefined, name: string): string | undefined {
  const c = child(el, name);
  return c === undefined ? undefined : c.text.trim();
}
