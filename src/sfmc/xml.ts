import { XMLParser, XMLValidator } from 'fast-xml-parser';

/**
 * An XML element in document order. Request bodies are built as trees of these so the order of
 * children is explicit: the service behind Service.asmx validates `xs:sequence` order, and an
 * object literal would make the order an accident of key insertion.
 */
export interface XmlNode {
  name: string;
  attrs?: Record<string, string>;
  children?: XmlNode[];
  text?: string;
}

type Child = XmlNode | undefined | false | null;

/** `el('ID', '123')`, `el('List', [el('ID', '1')])`, `el('Objects', { 'xsi:type': 'Send' }, [...])`. */
export function el(name: string, content?: string | number | boolean | Child[]): XmlNode;
export function el(name: string, attrs: Record<string, string>, content?: string | Child[]): XmlNode;
export function el(
  name: string,
  a?: string | number | boolean | Child[] | Record<string, string>,
  b?: string | Child[],
): XmlNode {
  const isContent = (v: unknown): v is string | number | boolean | Child[] =>
    typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' || Array.isArray(v);
  const attrs = a !== undefined && !isContent(a) ? a : undefined;
  const content = attrs ? b : (a as string | number | boolean | Child[] | undefined);
  const node: XmlNode = { name };
  if (attrs) node.attrs = attrs;
  if (Array.isArray(content)) node.children = content.filter((c): c is XmlNode => Boolean(c));
  else if (content !== undefined) node.text = String(content);
  return node;
}

/** An optional leaf: omitted when the value is undefined, so optional fields never become empty tags. */
export function opt(name: string, value: string | number | boolean | undefined): XmlNode | undefined {
  return value === undefined ? undefined : el(name, value);
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };

// XML 1.0 cannot carry most C0 control characters at all, not even as references; refusing them
// here is better than sending a body SFMC would reject as malformed.
// eslint-disable-next-line no-control-regex
const FORBIDDEN_CHARS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/;

export function escapeXml(value: string): string {
  if (FORBIDDEN_CHARS.test(value)) {
    throw new TypeError('text contains a control character that XML 1.0 cannot represent');
  }
  return value.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

/**
 * The element as XML text, written into one string as the tree is walked: per-node arrays of
 * attribute entries and children's strings joined at every level made about 20 KB of garbage
 * for one poll's ~1.5 KB request (bench item 3 polls hundreds of times a second).
 */
export function serialize(node: XmlNode): string {
  let out = '';
  const write = (n: XmlNode): void => {
    out += `<${n.name}`;
    if (n.attrs) for (const k in n.attrs) out += ` ${k}="${escapeXml(n.attrs[k] as string)}"`;
    if (n.children && n.children.length > 0) {
      out += '>';
      for (const child of n.children) write(child);
      out += `</${n.name}>`;
    } else if (n.text !== undefined && n.text !== '') {
      out += `>${escapeXml(n.text)}</${n.name}>`;
    } else {
      out += '/>';
    }
  };
  write(node);
  return out;
}

/** Elements that are lists in the partner API, declared up front instead of patched after parsing. */
const ARRAY_PATHS = new Set([
  'Envelope.Body.RetrieveResponseMsg.Results',
  'Envelope.Body.CreateResponse.Results',
  'Envelope.Body.PerformResponseMsg.Results.Result',
  'Envelope.Body.RetrieveRequestMsg.RetrieveRequest.Properties',
  'Envelope.Body.CreateRequest.Objects',
  'Envelope.Body.PerformRequestMsg.Definitions.Definition',
]);
/**
 * The last names of ARRAY_PATHS: the element's path is built (a string per element) only when its
 * name is one of these, not for every element of every reply.
 */
const ARRAY_PATH_NAMES = new Set([...ARRAY_PATHS].map((p) => p.slice(p.lastIndexOf('.') + 1)));
const ARRAY_LEAVES = new Set(['FieldMap', 'List', 'Value', 'DateValue', 'Operand']);

/** What fast-xml-parser passes as the path with `jPath: false`: its matcher, read only here. */
interface PathMatcher {
  toString(): string;
}

function isArrayElement(name: string, path: string | PathMatcher): boolean {
  if (ARRAY_LEAVES.has(name)) return true;
  return ARRAY_PATH_NAMES.has(name) && ARRAY_PATHS.has(typeof path === 'string' ? path : path.toString());
}

const XML_ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

/**
 * Decodes only the five predefined entities and character references. Entity processing in the
 * parser stays off: a document-defined entity is never expanded (no XXE, no billion laughs).
 */
export function decodeXmlText(value: string): string {
  if (!value.includes('&')) return value;
  return value.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|lt|gt|amp|quot|apos);/g, (_m, ref: string) => {
    if (ref.startsWith('#x')) return String.fromCodePoint(Number.parseInt(ref.slice(2), 16));
    if (ref.startsWith('#')) return String.fromCodePoint(Number.parseInt(ref.slice(1), 10));
    return XML_ENTITIES[ref] ?? '';
  });
}

const PARSER_OPTIONS = {
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  removeNSPrefix: true, // xsi:type -> @_type, xsi:nil -> @_nil, soap:Body -> Body
  parseTagValue: false, // "0012" stays "0012"; ids stay strings
  parseAttributeValue: false,
  processEntities: false,
  htmlEntities: false,
  trimValues: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
  textNodeName: '#text',
  // The callbacks get the parser's path matcher, not a path string built for every element and
  // attribute; isArrayElement builds one for the few names that need it.
  jPath: false,
  tagValueProcessor: (_name: string, value: string) => decodeXmlText(value),
  attributeValueProcessor: (_name: string, value: string) => decodeXmlText(value),
  isArray: (name: string, jpath: unknown) => isArrayElement(name, jpath as string | PathMatcher),
} as const;

const parser = new XMLParser(PARSER_OPTIONS);
/**
 * For SOAP replies: what the client never reads is kept as raw text, not parsed into elements
 * (fast-xml-parser's `stopNodes`; the text is scanned for its end tag and then left alone):
 *   - the Header: SFMC's (WS-Addressing Action, MessageID, RelatesTo, To and a WS-Security
 *     Timestamp, as in the seed's sample replies) is more than half of a small reply;
 *   - a Create or Perform result's `Object`: SFMC echoes the object (the seed's Create
 *     ImportDefinition reply: the whole definition, about 2 KB of its 3.8 KB), and the client
 *     reads the NewID, Task and status fields beside it.
 * On the five replies of a run that is about two fifths of the parse's CPU (bench/parse-cost.ts: 325 -> 186 µs).
 */
const UNREAD_IN_REPLIES = ['Envelope.Header', 'Envelope.Body.CreateResponse.Results.Object', 'Envelope.Body.PerformResponseMsg.Results.Result.Object'];
const replyParser = new XMLParser({ ...PARSER_OPTIONS, stopNodes: UNREAD_IN_REPLIES });

export class XmlSyntaxError extends Error {
  override name = 'XmlSyntaxError';
}

/**
 * Parses a SOAP message. A DTD is refused outright: SOAP 1.1 forbids one in a message, and any
 * document carrying one is either broken or an entity attack.
 *
 * No separate validation pass (fast-xml-parser's `validate`, which read the whole document a
 * second time and cost about as much as the parse): the parser itself throws on a tag cut off
 * inside its name or attributes, and a body cut off anywhere else no longer ends with its root
 * element's end tag, which is checked here. Malformed XML that still ends properly (a mismatched
 * end tag inside) parses leniently; the envelope and response-element checks after the parse
 * (envelope.ts, responses.ts) refuse what is not a reply they know. `strict` adds the full
 * well-formedness check back: the sandbox reads requests as SFMC's own parser would.
 * `reply` leaves what the client never reads of a reply as text (replyParser).
 */
export function parseXml(text: string, options: { strict?: boolean; reply?: boolean } = {}): Record<string, unknown> {
  if (/<!DOCTYPE/i.test(text)) throw new XmlSyntaxError('XML with a DOCTYPE is refused (SOAP forbids DTDs)');
  if (!text.trimStart().startsWith('<')) throw new XmlSyntaxError('body is not XML');
  const root = rootElementName(text);
  if (!root) throw new XmlSyntaxError('malformed XML: no root element');
  if (!endsWithEndTag(text, root)) throw new XmlSyntaxError(`malformed XML: the document does not end with </${root}> (truncated?)`);
  if (options.strict) {
    const verdict = XMLValidator.validate(text);
    if (verdict !== true) throw new XmlSyntaxError(`malformed XML: ${verdict.err.msg}`);
  }
  let parsed: unknown;
  try {
    parsed = (options.reply ? replyParser : parser).parse(text);
  } catch (err) {
    throw new XmlSyntaxError(`malformed XML: ${(err as Error).message}`);
  }
  if (!parsed || typeof parsed !== 'object') throw new XmlSyntaxError('empty XML document');
  return parsed as Record<string, unknown>;
}

/** The qualified name of the first element, skipping a BOM, the XML declaration, comments and PIs. */
function rootElementName(text: string): string | undefined {
  let at = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  for (;;) {
    while (at < text.length && /\s/.test(text[at] as string)) at++;
    if (text.startsWith('<?', at)) at = skipPast(text, '?>', at);
    else if (text.startsWith('<!--', at)) at = skipPast(text, '-->', at);
    else break;
    if (at < 0) return undefined;
  }
  return /^<([A-Za-z_][\w.:-]*)/.exec(text.slice(at, at + 256))?.[1];
}

function skipPast(text: string, marker: string, from: number): number {
  const end = text.indexOf(marker, from);
  return end < 0 ? -1 : end + marker.length;
}

/** Whether the text ends with `</root>`, after trailing blanks and comments. */
function endsWithEndTag(text: string, root: string): boolean {
  let end = text.trimEnd();
  while (end.endsWith('-->')) {
    const open = end.lastIndexOf('<!--');
    if (open < 0) return false;
    end = end.slice(0, open).trimEnd();
  }
  // `</root >` is legal: blanks may come before the '>'.
  return end.endsWith('>') && end.slice(0, -1).trimEnd().endsWith(`</${root}`);
}

/** The text of a parsed leaf, whether it came back as a string or as `{ '#text', '@_attr' }`. */
export function textOf(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    if (obj['@_nil'] === 'true') return undefined;
    const t = obj['#text'];
    return typeof t === 'string' ? t : '';
  }
  return String(value);
}
