// A small namespace-aware XML reader. Hand-written rather than fast-xml-parser because
// validation needs things that parser does not give: resolved namespaces per element,
// the position of stray text among child elements, and hard failures on malformed input
// (libxml2 refuses to validate a document it cannot parse, so we must too).
// It never expands anything but the five predefined entities and character references,
// and refuses any DOCTYPE, so no entity expansion attack can reach it.

import { XmlSyntaxError } from '../../sfmc/xml.js';

const XML_NS = 'http://www.w3.org/XML/1998/namespace';

export interface XmlAttr {
  readonly name: string;
  readonly ns: string;
  readonly local: string;
  readonly value: string;
}

export interface XmlElement {
  readonly name: string;
  readonly ns: string;
  readonly local: string;
  readonly attrs: readonly XmlAttr[];
  readonly children: XmlElement[];
  /** All character data directly inside this element, CDATA included. */
  text: string;
  /** How many child elements precede the first non-whitespace text; -1 if there is none. */
  textAt: number;
  /** In-scope namespace bindings; '' is the default namespace. */
  readonly scope: ReadonlyMap<string, string>;
}

// One XmlSyntaxError for the project: the SOAP parser's (src/sfmc/xml.ts).
export { XmlSyntaxError };

const NAME = /[A-Za-z_:\u00C0-\uFFFD][\w.\-:\u00B7\u00C0-\uFFFD]*/y;
const NCNAME = /^[A-Za-z_\u00C0-\uFFFD][\w.\-\u00B7\u00C0-\uFFFD]*$/;
const SPACE = /[ \t\n]*/y;
// eslint-disable-next-line no-control-regex -- XML 1.0 forbids these characters; finding them is the point.
const BAD_CHAR = /[\x00-\x08\x0B\x0C\x0E-\x1F\uFFFE\uFFFF]/;
// The input is already a JS string, so only encodings libxml2 itself would accept for it pass.
const XML_DECL = /<\?xml[ \t\n]+version[ \t\n]*=[ \t\n]*(["'])1\.\d+\1(?:[ \t\n]+encoding[ \t\n]*=[ \t\n]*(["'])(?:UTF-?8|US-ASCII|ASCII|ISO-8859-1|ISO-Latin-1)\2)?(?:[ \t\n]+standalone[ \t\n]*=[ \t\n]*(["'])(?:yes|no)\3)?[ \t\n]*\?>/y;
const REF = /&([^;&]*);?/g;
const PREDEFINED: Readonly<Record<string, string>> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };
// libxml2's default nesting limit; it also keeps the recursive validator off the stack limit.
const MAX_DEPTH = 256;
const EMPTY_SCOPE: ReadonlyMap<string, string> = new Map([['xml', XML_NS]]);

function fail(message: string): never {
  throw new XmlSyntaxError(message);
}

function decodeRefs(raw: string): string {
  if (!raw.includes('&')) return raw;
  return raw.replace(REF, (whole, ref: string) => {
    if (!whole.endsWith(';')) fail(`EntityRef: expecting ';' after '&${ref}'`);
    if (ref.startsWith('#')) {
      const code = ref[1] === 'x' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
      const ok = /^#(x[0-9a-fA-F]+|[0-9]+)$/.test(ref) && code <= 0x10ffff && !(code >= 0xd800 && code <= 0xdfff);
      const ch = ok ? String.fromCodePoint(code) : '';
      if (!ok || BAD_CHAR.test(ch) || code === 0) fail(`Invalid character reference '&${ref};'`);
      return ch;
    }
    const value = PREDEFINED[ref];
    if (value === undefined) fail(`Entity '${ref}' not defined`);
    return value;
  });
}

function isSpace(text: string): boolean {
  return /^[ \t\n]*$/.test(text);
}

interface RawAttr {
  name: string;
  value: string;
}

function resolveName(name: string, scope: ReadonlyMap<string, string>, isAttr: boolean): [string, string] {
  const colon = name.indexOf(':');
  if (colon < 0) return [isAttr ? '' : (scope.get('') ?? ''), name];
  const prefix = name.slice(0, colon);
  const local = name.slice(colon + 1);
  if (!NCNAME.test(prefix) || !NCNAME.test(local)) fail(`Failed to parse QName '${name}'`);
  const ns = scope.get(prefix);
  if (ns === undefined) fail(`Namespace prefix ${prefix} on ${local} is not defined`);
  return [ns, local];
}

function makeElement(name: string, raw: RawAttr[], parentScope: ReadonlyMap<string, string>): XmlElement {
  let own: Map<string, string> | undefined;
  const plain: RawAttr[] = [];
  const rawNames = new Set<string>();
  for (const a of raw) {
    if (rawNames.has(a.name)) fail(`Attribute ${a.name} redefined`);
    rawNames.add(a.name);
    const prefix = a.name === 'xmlns' ? '' : a.name.startsWith('xmlns:') ? a.name.slice(6) : null;
    if (prefix === null) {
      plain.push(a);
      continue;
    }
    if (a.name !== 'xmlns' && !NCNAME.test(prefix)) fail(`Failed to parse QName '${a.name}'`);
    own ??= new Map(parentScope);
    // libxml2 only warns about xmlns:p="", so treat it as undeclaring p (Namespaces 1.1).
    if (prefix !== '' && a.value === '') own.delete(prefix);
    else own.set(prefix, a.value);
  }
  const scope = own ?? parentScope;
  const [ns, local] = resolveName(name, scope, false);
  const seen = new Set<string>();
  const attrs = plain.map((a): XmlAttr => {
    const [ans, alocal] = resolveName(a.name, scope, true);
    const key = `{${ans}}${alocal}`;
    if (seen.has(key)) fail(`Namespaced attribute ${alocal} in '${ans}' redefined`);
    seen.add(key);
    return { name: a.name, ns: ans, local: alocal, value: a.value };
  });
  return { name, ns, local, attrs, children: [], text: '', textAt: -1, scope };
}

class Reader {
  private readonly src: string;
  private pos = 0;
  private readonly stack: XmlElement[] = [];
  private root: XmlElement | undefined;

  constructor(src: string) {
    // XML parsers see every line break as a single \n.
    this.src = src.includes('\r') ? src.replace(/\r\n?/g, '\n') : src;
  }

  read(): XmlElement {
    const { src } = this;
    if (BAD_CHAR.test(src)) fail('Char 0x0 out of allowed range or invalid control character');
    if (src.charCodeAt(0) === 0xfeff) this.pos = 1;
    if (/^<\?xml[ \t\n]/.test(src.slice(this.pos, this.pos + 6))) this.xmlDeclaration();
    while (this.pos < src.length) {
      const lt = src.indexOf('<', this.pos);
      const end = lt < 0 ? src.length : lt;
      if (end > this.pos) this.text(src.slice(this.pos, end));
      if (lt < 0) break;
      this.pos = lt;
      if (src.startsWith('</', lt)) this.endTag();
      else if (src.startsWith('<!--', lt)) this.comment();
      else if (src.startsWith('<![CDATA[', lt)) this.cdata();
      else if (src.startsWith('<!DOCTYPE', lt)) fail('DOCTYPE is not allowed (entities are never resolved)');
      else if (src.startsWith('<?', lt)) this.processingInstruction();
      else if (src.startsWith('<!', lt)) fail('Markup declarations are not allowed');
      else this.startTag();
    }
    if (this.stack.length > 0) fail(`Premature end of data in tag ${this.stack[this.stack.length - 1]?.name}`);
    if (!this.root) fail('Document is empty');
    return this.root;
  }

  private xmlDeclaration(): void {
    XML_DECL.lastIndex = this.pos;
    if (!XML_DECL.test(this.src)) fail('Malformed XML declaration');
    this.pos = XML_DECL.lastIndex;
  }

  private skipPast(terminator: string, what: string): number {
    const at = this.src.indexOf(terminator, this.pos);
    if (at < 0) fail(`${what} not terminated`);
    const start = this.pos;
    this.pos = at + terminator.length;
    return start;
  }

  private text(raw: string): void {
    const top = this.stack[this.stack.length - 1];
    if (!top) {
      if (!isSpace(raw)) fail(this.root ? 'Extra content at the end of the document' : "Start tag expected, '<' not found");
      return;
    }
    if (raw.includes(']]>')) fail("Sequence ']]>' not allowed in content");
    this.addText(top, decodeRefs(raw));
  }

  private addText(top: XmlElement, text: string): void {
    top.text += text;
    if (top.textAt < 0 && !isSpace(text)) top.textAt = top.children.length;
  }

  private comment(): void {
    this.pos += 4;
    const start = this.skipPast('-->', 'Comment');
    if (this.src.slice(start, this.pos - 3).includes('--')) fail('Double hyphen within comment');
  }

  private cdata(): void {
    const top = this.stack[this.stack.length - 1];
    if (!top) fail('CDATA section outside the root element');
    this.pos += 9;
    const start = this.skipPast(']]>', 'CData section');
    this.addText(top, this.src.slice(start, this.pos - 3));
  }

  private processingInstruction(): void {
    this.pos += 2;
    const target = this.name();
    if (target.toLowerCase() === 'xml') fail('XML declaration allowed only at the start of the document');
    if (!this.space() && !this.src.startsWith('?>', this.pos)) fail(`ParsePI: PI ${target} space expected`);
    this.skipPast('?>', 'Processing instruction');
  }

  private name(): string {
    NAME.lastIndex = this.pos;
    const m = NAME.exec(this.src);
    if (!m) fail('Name expected');
    this.pos = NAME.lastIndex;
    return m[0];
  }

  private space(): boolean {
    SPACE.lastIndex = this.pos;
    SPACE.exec(this.src);
    const moved = SPACE.lastIndex > this.pos;
    this.pos = SPACE.lastIndex;
    return moved;
  }

  private startTag(): void {
    const { src } = this;
    if (this.root && this.stack.length === 0) fail('Extra content at the end of the document');
    if (this.stack.length >= MAX_DEPTH) fail(`Excessive depth in document: ${MAX_DEPTH}`);
    this.pos++;
    const name = this.name();
    const attrs: RawAttr[] = [];
    for (;;) {
      const spaced = this.space();
      if (src.startsWith('/>', this.pos) || src[this.pos] === '>') break;
      if (!spaced) fail(`attributes construct error in tag ${name}`);
      const attrName = this.name();
      this.space();
      if (src[this.pos] !== '=') fail(`Specification mandates value for attribute ${attrName}`);
      this.pos++;
      this.space();
      const quote = src[this.pos];
      if (quote !== '"' && quote !== "'") fail('AttValue: " or \' expected');
      const close = src.indexOf(quote, this.pos + 1);
      if (close < 0) fail(`AttValue: ${quote} expected`);
      const raw = src.slice(this.pos + 1, close);
      if (raw.includes('<')) fail(`Unescaped '<' not allowed in attribute value of ${attrName}`);
      attrs.push({ name: attrName, value: decodeRefs(raw.replace(/[\t\n]/g, ' ')) });
      this.pos = close + 1;
    }
    const parent = this.stack[this.stack.length - 1];
    const el = makeElement(name, attrs, parent?.scope ?? EMPTY_SCOPE);
    if (parent) parent.children.push(el);
    else this.root = el;
    if (src[this.pos] === '>') {
      this.stack.push(el);
      this.pos++;
    } else {
      this.pos += 2;
    }
  }

  private endTag(): void {
    this.pos += 2;
    const name = this.name();
    this.space();
    if (this.src[this.pos] !== '>') fail(`expected '>' after end tag ${name}`);
    this.pos++;
    const top = this.stack.pop();
    if (!top || top.name !== name) fail(`Opening and ending tag mismatch: ${top?.name ?? '(none)'} and ${name}`);
  }
}

/** Parses a whole document and returns its root element. Throws XmlSyntaxError. */
export function parseXml(src: string): XmlElement {
  return new Reader(src).read();
}
