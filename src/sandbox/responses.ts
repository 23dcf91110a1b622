import { randomUUID } from 'node:crypto';
import { el, serialize, type XmlNode } from '../sfmc/xml.js';

/** SOAP 1.1 envelopes shaped like SFMC's (see the seed workflow and sfmc-sdk's recorded fixtures). */

export const NS = {
  soap: 'http://schemas.xmlsoap.org/soap/envelope/',
  xsi: 'http://www.w3.org/2001/XMLSchema-instance',
  xsd: 'http://www.w3.org/2001/XMLSchema',
  wsa: 'http://schemas.xmlsoap.org/ws/2004/08/addressing',
  wsse: 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd',
  wsu: 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd',
  partner: 'http://exacttarget.com/wsdl/partnerAPI',
  fault: 'urn:fault.partner.exacttarget.com',
} as const;

const XML_DECL = '<?xml version="1.0" encoding="utf-8"?>';
const ANONYMOUS = 'http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous';
const FAULT_ACTION = 'http://schemas.xmlsoap.org/ws/2004/08/addressing/fault';

export interface EnvelopeContext {
  now: number;
  /** The request's wsa:MessageID, echoed as RelatesTo. */
  relatesTo?: string;
}

/** SFMC answers with WS-Addressing headers and a 5-minute wsu:Timestamp on every call. */
function header(action: string, ctx: EnvelopeContext): XmlNode {
  const created = new Date(ctx.now);
  const expires = new Date(ctx.now + 5 * 60_000);
  const iso = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');
  return el('soap:Header', [
    el('wsa:Action', action),
    el('wsa:MessageID', `urn:uuid:${randomUUID()}`),
    el('wsa:RelatesTo', ctx.relatesTo ?? `urn:uuid:${randomUUID()}`),
    el('wsa:To', ANONYMOUS),
    el('wsse:Security', [
      el('wsu:Timestamp', { 'wsu:Id': `Timestamp-${randomUUID()}` }, [
        el('wsu:Created', iso(created)),
        el('wsu:Expires', iso(expires)),
      ]),
    ]),
  ]);
}

function envelope(head: XmlNode | undefined, bodyChild: XmlNode): string {
  const root = el(
    'soap:Envelope',
    {
      'xmlns:soap': NS.soap,
      'xmlns:xsi': NS.xsi,
      'xmlns:xsd': NS.xsd,
      'xmlns:wsa': NS.wsa,
      'xmlns:wsse': NS.wsse,
      'xmlns:wsu': NS.wsu,
    },
    [head, el('soap:Body', [bodyChild])],
  );
  return XML_DECL + serialize(root);
}

/** A response body element in the partner namespace, e.g. `RetrieveResponseMsg`. */
export function responseEnvelope(action: string, bodyChild: XmlNode, ctx: EnvelopeContext): string {
  const withNs: XmlNode = { ...bodyChild, attrs: { xmlns: NS.partner, ...bodyChild.attrs } };
  return envelope(header(action, ctx), withNs);
}

export type FaultSpec =
  | { kind: 'client'; message: string }
  | { kind: 'security'; message: string }
  | { kind: 'server'; message: string; code: number };

/**
 * The three fault kinds SFMC documents. Security faults copy the recorded `Token Expired` fault
 * exactly (sfmc-sdk test/resources/soap.js `expiredToken`): the q0 prefix is declared on faultcode
 * itself, there is no detail, and faultactor is the Service.asmx URL. Only Server faults carry
 * `detail/apifault` (docs soap_faults page).
 */
export function faultEnvelope(spec: FaultSpec, actor: string, ctx: EnvelopeContext): string {
  let faultcode: XmlNode;
  let detail: XmlNode | undefined;
  if (spec.kind === 'security') {
    faultcode = el('faultcode', { 'xmlns:q0': NS.wsse }, 'q0:Security');
  } else if (spec.kind === 'server') {
    faultcode = el('faultcode', 'soap:Server');
    detail = el('detail', [
      el('apifault', { xmlns: NS.fault, 'xmlns:xsd': NS.xsd, 'xmlns:xsi': NS.xsi }, [
        el('Code', String(spec.code)),
        el('Message', spec.message),
      ]),
    ]);
  } else {
    faultcode = el('faultcode', 'soap:Client');
    detail = el('detail');
  }
  const fault = el('soap:Fault', [faultcode, el('faultstring', spec.message), el('faultactor', actor), detail]);
  return envelope(header(FAULT_ACTION, ctx), fault);
}

/** What SFMC's gateway shows when the service behind it is down: an HTML page, not SOAP. */
export const BAD_GATEWAY_HTML =
  '<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head>' +
  '<body><h1>502 Bad Gateway</h1><p>The server returned an invalid or incomplete response.</p></body></html>';

/** `<ObjectID xsi:nil="true"/>`: SFMC writes nil placeholders for properties it does not fill. */
export function nil(name: string): XmlNode {
  return el(name, { 'xsi:nil': 'true' });
}

export type Results = XmlNode[];

export function retrieveResponse(overallStatus: string, requestId: string, results: Results): XmlNode {
  return el('RetrieveResponseMsg', [el('OverallStatus', overallStatus), el('RequestID', requestId), ...results]);
}

export function createResponse(results: Results, requestId: string): XmlNode {
  return el('CreateResponse', [...results, el('RequestID', requestId), el('OverallStatus', overallStatusOf(results))]);
}

export function performResponse(results: Results, requestId: string, message: string): XmlNode {
  return el('PerformResponseMsg', [
    el('Results', results),
    el('OverallStatus', overallStatusOf(results)),
    el('OverallStatusMessage', message),
    el('RequestID', requestId),
  ]);
}

/** OK when every result is OK, Error when none is, `Has Errors` for a mixed batch. */
export function overallStatusOf(results: Results): string {
  const codes = results.map((r) => r.children?.find((c) => c.name === 'StatusCode')?.text);
  const errors = codes.filter((c) => c !== 'OK').length;
  if (errors === 0) return 'OK';
  return errors === codes.length ? 'Error' : 'Has Errors';
}
