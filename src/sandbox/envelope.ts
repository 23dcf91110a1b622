import type { SoapOperation } from './types.js';

/** Reading the parts of a SOAP request that the parsed object cannot give back: raw text, headers. */

export const OPERATION_ELEMENT: Record<SoapOperation, string> = {
  Create: 'CreateRequest',
  Retrieve: 'RetrieveRequestMsg',
  Perform: 'PerformRequestMsg',
  Delete: 'DeleteRequest',
};

/** SOAP 1.1 is text/xml; application/soap+xml (SOAP 1.2 framing) is tolerated as well. */
export function isXmlContentType(contentType: string | undefined): boolean {
  const mime = (contentType ?? '').split(';')[0]?.trim().toLowerCase();
  return mime === 'text/xml' || mime === 'application/soap+xml';
}

/**
 * The action the client asked for: the SOAPAction header with its optional quotes removed, or,
 * for application/soap+xml, the content type's `action` parameter. Returns '' when there is none.
 */
export function soapActionOf(soapAction: string | string[] | undefined, contentType: string | undefined): string {
  const header = Array.isArray(soapAction) ? soapAction[0] : soapAction;
  if (header !== undefined) return header.trim().replace(/^"(.*)"$/, '$1');
  const param = /;\s*action\s*=\s*"?([^";]*)"?/i.exec(contentType ?? '');
  return param?.[1] ?? '';
}

export function isSoapOperation(action: string): action is SoapOperation {
  return action === 'Create' || action === 'Retrieve' || action === 'Perform' || action === 'Delete';
}

// A start tag: `<name attr="v" ...>`, with '>' allowed inside quoted attribute values.
const START_TAG = String.raw`<((?:[\w.-]+:)?NAME)\b((?:[^>"']|"[^"]*"|'[^']*')*?)(/?)>`;
const ATTR = /([\w.:-]+)\s*=\s*("([^"]*)"|'([^']*)')/g;

function startTag(xml: string, localName: string, from = 0): { match: RegExpExecArray; qname: string } | undefined {
  const re = new RegExp(START_TAG.replace('NAME', localName), 'g');
  re.lastIndex = from;
  const match = re.exec(xml);
  if (!match) return undefined;
  return { match, qname: match[1] ?? localName };
}

function namespaceDecls(attrs: string): Map<string, string> {
  const decls = new Map<string, string>();
  for (const m of attrs.matchAll(ATTR)) {
    const name = m[1] ?? '';
    if (name === 'xmlns' || name.startsWith('xmlns:')) decls.set(name, m[3] ?? m[4] ?? '');
  }
  return decls;
}

/**
 * The Body's child element exactly as the client wrote it, made standalone: namespace
 * declarations it inherits from the Envelope or Body (typically `xsi` and `ns1`) are copied onto
 * its start tag, so a schema validator sees the same names the service would.
 * Returns undefined when the text has no Envelope/Body with an element inside.
 */
export function extractBodyChild(xml: string): string | undefined {
  const envelope = startTag(xml, 'Envelope');
  if (!envelope) return undefined;
  const body = startTag(xml, 'Body', envelope.match.index + envelope.match[0].length);
  if (!body || body.match[3] === '/') return undefined;
  const contentStart = body.match.index + body.match[0].length;
  const contentEnd = xml.lastIndexOf(`</${body.qname}`);
  if (contentEnd < contentStart) return undefined;
  const content = xml
    .slice(contentStart, contentEnd)
    .replace(/<!--[\s\S]*?-->/g, '')
    .trim();
  const child = /^<([\w.:-]+)((?:[^>"']|"[^"]*"|'[^']*')*?)(\/?)>/.exec(content);
  if (!child) return undefined;

  const inherited = new Map([...namespaceDecls(envelope.match[2] ?? ''), ...namespaceDecls(body.match[2] ?? '')]);
  const own = namespaceDecls(child[2] ?? '');
  const extra = [...inherited]
    .filter(([name]) => !own.has(name))
    .map(([name, uri]) => ` ${name}="${uri}"`)
    .join('');
  return `<${child[1]}${child[2]}${extra}${child[3]}>${content.slice(child[0].length)}`;
}

/** A parsed value's own child element (first one when repeated), or undefined. */
export function child(value: unknown, name: string): unknown {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const v = (value as Record<string, unknown>)[name];
  return Array.isArray(v) ? v[0] : v;
}

/** All occurrences of a parsed child element, whether the parser made it an array or not. */
export function children(value: unknown, name: string): unknown[] {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return [];
  const v = (value as Record<string, unknown>)[name];
  if (v === undefined) return [];
  return Array.isArray(v) ? v : [v];
}

/** The local part of an xsi:type value: `ns1:Send` -> `Send`. */
export function xsiTypeOf(value: unknown): string | undefined {
  if (!value || typeof value !== 'object') return undefined;
  const t = (value as Record<string, unknown>)['@_type'];
  if (typeof t !== 'string') return undefined;
  return t.includes(':') ? t.slice(t.indexOf(':') + 1) : t;
}
