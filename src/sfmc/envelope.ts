import {
  badEnvelope,
  classifyFault,
  classifyMalformedXml,
  classifyNonSoapResponse,
  classifyUnexpectedSoapStatus,
} from './classify.js';
import { el, parseXml, serialize, type XmlNode } from './xml.js';

/**
 * SOAP 1.1 envelopes, built and parsed as pure functions: no I/O here, so every shape the client
 * sends and every reply it can get is tested with recorded XML alone.
 */

export const SOAP_ENV_NS = 'http://schemas.xmlsoap.org/soap/envelope/';
export const SOAP12_ENV_NS = 'http://www.w3.org/2003/05/soap-envelope';
export const PARTNER_NS = 'http://exacttarget.com/wsdl/partnerAPI';
export const XSI_NS = 'http://www.w3.org/2001/XMLSchema-instance';
export const XSD_NS = 'http://www.w3.org/2001/XMLSchema';
/** Not defined in the WSDL; every SDK sends the OAuth token in this out-of-band header. */
export const FUELOAUTH_NS = 'http://exacttarget.com';
// The seed document misspells both WS-Security namespaces (`oasisopen`, `wssecuritysecext`);
// these are the OASIS ones, which a WS-Security stack matches byte for byte.
export const WSSE_NS = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd';
export const WSU_NS = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd';
export const PASSWORD_TEXT =
  'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText';

/** The same for every request, so written once rather than built and serialized at every call. */
const ENVELOPE_START = `<?xml version="1.0" encoding="UTF-8"?><soap:Envelope xmlns:soap="${SOAP_ENV_NS}" xmlns:xsi="${XSI_NS}" xmlns:xsd="${XSD_NS}">`;

/**
 * The request document. The body element carries the partnerAPI default namespace, so unprefixed
 * `xsi:type` values such as `SimpleFilterPart` resolve to partnerAPI types.
 */
export function buildEnvelope(headers: XmlNode[], body: XmlNode): string {
  const header = headers.length > 0 ? `<soap:Header>${headers.map(serialize).join('')}</soap:Header>` : '';
  return `${ENVELOPE_START}${header}<soap:Body>${serialize({ name: body.name, attrs: { xmlns: PARTNER_NS, ...body.attrs }, children: body.children, text: body.text })}</soap:Body></soap:Envelope>`;
}

export function fueloauthHeader(accessToken: string): XmlNode {
  return el('fueloauth', { xmlns: FUELOAUTH_NS }, accessToken);
}

/**
 * WS-Security UsernameToken with a PasswordText password. `tokenId` only labels the element
 * (wsu:Id); it is a parameter so the function stays pure.
 */
export function wsseHeader(username: string, password: string, tokenId = 'UsernameToken-1'): XmlNode {
  return el('wsse:Security', { 'xmlns:wsse': WSSE_NS, 'xmlns:wsu': WSU_NS, 'soap:mustUnderstand': '1' }, [
    el('wsse:UsernameToken', { 'wsu:Id': tokenId }, [
      el('wsse:Username', username),
      el('wsse:Password', { Type: PASSWORD_TEXT }, password),
    ]),
  ]);
}

/** The Body's one child element: its local name and its parsed content. */
export interface SoapBody {
  name: string;
  value: Record<string, unknown>;
}

export interface ParseContext {
  /** Create / Retrieve / Perform: named in error messages. */
  operation?: string;
}

const XML_MEDIA_TYPES = new Set(['text/xml', 'application/soap+xml', 'application/xml']);

export function mediaTypeOf(contentType: string | undefined): string | undefined {
  const media = contentType?.split(';')[0]?.trim().toLowerCase();
  return media ? media : undefined;
}

/**
 * From an HTTP reply to the Body's child element, or a thrown SfmcError. The content type is
 * checked before any parsing: an HTML page from a proxy is a transport-level answer, never a
 * parser crash.
 */
export function parseEnvelope(
  httpStatus: number,
  contentType: string | undefined,
  bodyText: string,
  context: ParseContext = {},
): SoapBody {
  const media = mediaTypeOf(contentType);
  // Field by field: a spread followed by more fields takes V8's slow path on Node 20 (~3 µs a reply).
  const ctx = context.operation === undefined ? { httpStatus, contentType: media } : { operation: context.operation, httpStatus, contentType: media };
  const looksLikeMarkup = bodyText.trimStart().startsWith('<');
  // Proxies label error pages carelessly; an HTML page is never a SOAP reply, whatever its label.
  const looksLikeHtml = /^\s*<(!doctype\s+html|html)[\s>]/i.test(bodyText);
  if (!media || !XML_MEDIA_TYPES.has(media) || !looksLikeMarkup || looksLikeHtml) {
    throw classifyNonSoapResponse({ ...ctx, bodyText });
  }

  let doc: Record<string, unknown>;
  try {
    doc = parseXml(bodyText, { reply: true });
  } catch (err) {
    throw classifyMalformedXml(err, ctx);
  }

  checkEnvelopeNamespace(bodyText, ctx);

  const envelope = doc['Envelope'];
  const body = isRecord(envelope) ? envelope['Body'] : undefined;
  if (!isRecord(body)) throw badEnvelope('the SOAP envelope has no Body', ctx);
  const children = Object.keys(body).filter((k) => !k.startsWith('@_') && k !== '#text');
  const name = children[0];
  if (children.length !== 1 || name === undefined || Array.isArray(body[name])) {
    throw badEnvelope(`the SOAP Body holds ${children.length === 0 ? 'no element' : 'several elements'}`, ctx);
  }
  const raw = body[name];
  const value = isRecord(raw) ? raw : {};

  if (name === 'Fault') throw classifyFault(value, ctx);
  if (httpStatus < 200 || httpStatus >= 300) throw classifyUnexpectedSoapStatus(name, ctx);
  return { name, value };
}

/**
 * The parser strips prefixes and drops xmlns attributes, so the envelope namespace is read from the
 * root start tag itself (a root element's namespace can only be declared there). A SOAP 1.2 or
 * foreign document is refused: SFMC speaks SOAP 1.1 only.
 */
function checkEnvelopeNamespace(text: string, ctx: { operation?: string; httpStatus: number; contentType?: string }): void {
  const start = rootStartTag(text);
  const match = start ? /^<(?:([A-Za-z_][\w.-]*):)?Envelope[\s/>]/.exec(start) : null;
  if (!start || !match) throw badEnvelope('the reply is XML but not a SOAP envelope', ctx);
  const declaration = declarationOf(match[1]).exec(start);
  const ns = declaration ? (declaration[2] ?? declaration[3]) : undefined;
  if (ns === SOAP_ENV_NS) return;
  if (ns === SOAP12_ENV_NS) throw badEnvelope('the reply is a SOAP 1.2 envelope; SFMC speaks SOAP 1.1', ctx);
  throw badEnvelope(`the envelope is in namespace ${JSON.stringify(ns ?? '(none)')}, not SOAP 1.1`, ctx);
}

const DEFAULT_DECLARATION = /\sxmlns\s*=\s*("([^"]*)"|'([^']*)')/;
/** Per prefix, made once: every reply of a process uses the same one or two (`soap`, `s`). */
const prefixDeclarations = new Map<string, RegExp>();

/** The pattern of the namespace declaration of `prefix` (the default namespace without one). */
function declarationOf(prefix: string | undefined): RegExp {
  if (!prefix) return DEFAULT_DECLARATION;
  let re = prefixDeclarations.get(prefix);
  if (!re) {
    re = new RegExp(`\\sxmlns:${prefix.replace(/[.-]/g, '\\$&')}\\s*=\\s*("([^"]*)"|'([^']*)')`);
    // Bounded: a prefix comes from the reply, and a server could send a new one every time.
    if (prefixDeclarations.size < 16) prefixDeclarations.set(prefix, re);
  }
  return re;
}

/** The first element start tag, skipping a BOM, the XML declaration, comments and PIs. */
function rootStartTag(text: string): string | undefined {
  let rest = text.replace(/^\uFEFF/, '');
  for (;;) {
    rest = rest.trimStart();
    if (rest.startsWith('<?')) rest = rest.slice(rest.indexOf('?>') + 2);
    else if (rest.startsWith('<!--')) rest = rest.slice(rest.indexOf('-->') + 3);
    else break;
  }
  // Attribute values may legally hold '>', so the tag is matched quote-aware.
  return /^<(?:[^>"']|"[^"]*"|'[^']*')*>/.exec(rest)?.[0];
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
