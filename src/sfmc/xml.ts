import { XMLParser } from 'fast-xml-parser';

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

export function serialize(node: XmlNode): string {
  const attrs = Object.entries(node.attrs ?? {})
    .map(([k, v]) => ` ${k}="${escapeXml(v)}"`)
    .join('');
  if (node.children && node.children.length > 0) {
    return `<${node.name}${attrs}>${node.children.map(serialize).join('')}</${node.name}>`;
  }
  if (node.text !== undefined && node.text !== '') {
    return `<${node.name}${attrs}>${escapeXml(node.text)}</${node.name}>`;
  }
  return `<${node.name}${attrs}/>`;
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
const ARRAY_LEAVES = new Set(['FieldMap', 'List', 'Value', 'DateValue', 'Operand']);

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

const parser = new XMLParser({
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
  tagValueProcessor: (_name, value) => decodeXmlText(value),
  attributeValueProcessor: (_name, value) => decodeXmlText(value),
  isArray: (name, jpath) => ARRAY_PATHS.has(String(jpath)) || ARRAY_LEAVES.has(name),
});

export class XmlSyntaxError extends Error {
  override name = 'XmlSyntaxError';
}

/**
 * Parses a SOAP message. A DTD is refused outright: SOAP 1.1 forbids one in a message, and any
 * document carrying one is either broken or an entity attack.
 */
export function parseXml(text: string): Record<string, unknown> {
  if (/<!DOCTYPE/i.test(text)) throw new XmlSyntaxError('XML with a DOCTYPE is refused (SOAP forbids DTDs)');
  if (!text.trimStart().startsWith('<')) throw new XmlSyntaxError('body is not XML');
  let parsed: unknown;
  try {
    parsed = parser.parse(text, true);
  } catch (err) {
    throw new XmlSyntaxError(`malformed XML: ${(err as Error).message}`);
  }
  if (!parsed || typeof parsed !== 'object') throw new XmlSyntaxError('empty XML document');
  return parsed as Record<string, unknown>;
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
