import { readFileSync } from 'node:fs';
import { request } from 'undici';
import { createSandbox, type Sandbox, type SandboxOptions } from '../../src/sandbox/index.js';
import { parseXml } from '../../src/sfmc/xml.js';

/** Shared by the sandbox tests: a controllable clock, raw HTTP calls, fixture loading, request bodies. */

export const PARTNER_NS = 'http://exacttarget.com/wsdl/partnerAPI';
export const SECEXT_NS = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd';

export interface TestClock {
  now: () => number;
  advance(ms: number): void;
}

/** A clock that moves only when told to. */
export function testClock(start = Date.parse('2025-03-01T12:00:00Z')): TestClock {
  let t = start;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  return createSandbox(options);
}

export interface JsonReply {
  status: number;
  contentType: string;
  json: Record<string, unknown>;
}

export async function postJson(url: string, body: unknown, method: 'POST' | 'DELETE' = 'POST'): Promise<JsonReply> {
  const res = await request(url, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.body.text();
  return { status: res.statusCode, contentType: String(res.headers['content-type'] ?? ''), json: text ? JSON.parse(text) : {} };
}

export async function getJson<T = unknown>(url: string): Promise<{ status: number; json: T; text: string }> {
  const res = await request(url);
  const text = await res.body.text();
  return { status: res.statusCode, json: JSON.parse(text) as T, text };
}

export function tokenRequest(sb: Sandbox, overrides: Record<string, unknown> = {}): Promise<JsonReply> {
  return postJson(sb.tokenUrl, {
    grant_type: 'client_credentials',
    client_id: sb.credentials.clientId,
    client_secret: sb.credentials.clientSecret,
    account_id: sb.credentials.accountId,
    ...overrides,
  });
}

export async function accessToken(sb: Sandbox): Promise<string> {
  const reply = await tokenRequest(sb);
  if (reply.status !== 200) throw new Error(`token request failed: ${reply.status}`);
  return String(reply.json['access_token']);
}

export type Login = { mode: 'oauth'; token: string } | { mode: 'wsse'; username: string; password: string };

export function securityHeader(login: Login): string {
  if (login.mode === 'oauth') return `<fueloauth xmlns="http://exacttarget.com">${login.token}</fueloauth>`;
  return (
    `<wsse:Security xmlns:wsse="${SECEXT_NS}" xmlns:wsu="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd">` +
    '<wsse:UsernameToken wsu:Id="UsernameToken-1">' +
    `<wsse:Username>${login.username}</wsse:Username>` +
    '<wsse:Password Type="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText">' +
    `${login.password}</wsse:Password></wsse:UsernameToken></wsse:Security>`
  );
}

export async function login(sb: Sandbox, mode: Login['mode'] = 'oauth'): Promise<Login> {
  if (mode === 'wsse') return { mode, username: sb.credentials.username, password: sb.credentials.password };
  return { mode, token: await accessToken(sb) };
}

/** A request envelope from examples/soap (the seed's requests, made well-formed) with `{{NAME}}` placeholders filled in. */
export function fixture(name: string, vars: Record<string, string>): string {
  const text = readFileSync(new URL(`../../examples/soap/${name}`, import.meta.url), 'utf8');
  return text.replace(/\{\{(\w+)\}\}/g, (_m, key: string) => {
    const value = vars[key];
    if (value === undefined) throw new Error(`fixture ${name} needs {{${key}}}`);
    return value;
  });
}

export function envelope(body: string, auth: Login): string {
  return (
    '<?xml version="1.0" encoding="UTF-8"?>' +
    '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">' +
    `<s:Header>${securityHeader(auth)}</s:Header><s:Body>${body}</s:Body></s:Envelope>`
  );
}

export interface SoapReply {
  status: number;
  contentType: string;
  text: string;
  /** The parsed Envelope (prefixes stripped), or undefined when the body is not XML. */
  envelope: Record<string, unknown> | undefined;
}

export interface SoapCallOptions {
  /** Default: the action; null sends no SOAPAction header. */
  soapAction?: string | null;
  contentType?: string;
  signal?: AbortSignal;
}

export async function soap(sb: Sandbox, action: string, xml: string, opts: SoapCallOptions = {}): Promise<SoapReply> {
  const headers: Record<string, string> = { 'content-type': opts.contentType ?? 'text/xml; charset=utf-8' };
  const soapAction = opts.soapAction === undefined ? action : opts.soapAction;
  if (soapAction !== null) headers['soapaction'] = soapAction;
  const res = await request(sb.soapUrl, { method: 'POST', headers, body: xml, signal: opts.signal });
  const text = await res.body.text();
  const contentType = String(res.headers['content-type'] ?? '');
  let env: Record<string, unknown> | undefined;
  if (text.trimStart().startsWith('<?xml') || text.trimStart().startsWith('<soap')) {
    env = parseXml(text)['Envelope'] as Record<string, unknown>;
  }
  return { status: res.statusCode, contentType, text, envelope: env };
}

/** The Body's one child element, e.g. `bodyOf(reply, 'RetrieveResponseMsg')`. */
export function bodyOf(reply: SoapReply, element: string): Record<string, unknown> {
  const body = reply.envelope?.['Body'] as Record<string, unknown> | undefined;
  const child = body?.[element];
  if (!child || typeof child !== 'object') {
    throw new Error(`expected ${element} in the response, got HTTP ${reply.status}: ${reply.text.slice(0, 500)}`);
  }
  return child as Record<string, unknown>;
}

export interface ParsedFault {
  faultcode: string;
  faultstring: string;
  detail: unknown;
}

export function faultOf(reply: SoapReply): ParsedFault {
  const fault = bodyOf(reply, 'Fault');
  const code = fault['faultcode'];
  return {
    faultcode: typeof code === 'object' && code ? String((code as Record<string, unknown>)['#text']) : String(code),
    faultstring: String(fault['faultstring']),
    detail: fault['detail'],
  };
}

/** `Results` of a Retrieve or Create response, always as an array. */
export function resultsOf(msg: Record<string, unknown>): Record<string, unknown>[] {
  const r = msg['Results'];
  if (r === undefined || r === '') return [];
  return (Array.isArray(r) ? r : [r]) as Record<string, unknown>[];
}

/** Checks `check` until it returns a value, at most `timeoutMs`; for things that happen on their own. */
export async function pollUntil<T>(check: () => T | undefined | Promise<T | undefined>, timeoutMs = 2000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

// ---- request bodies -------------------------------------------------------------------------

export function simpleFilter(property: string, operator: string, value: string, valueTag: 'Value' | 'DateValue' = 'Value'): string {
  return (
    `<Property>${property}</Property><SimpleOperator>${operator}</SimpleOperator>` + `<${valueTag}>${value}</${valueTag}>`
  );
}

export function retrieveBody(objectType: string, properties: string[], filter?: string, extra = ''): string {
  return (
    `<RetrieveRequestMsg xmlns="${PARTNER_NS}"><RetrieveRequest><ObjectType>${objectType}</ObjectType>` +
    properties.map((p) => `<Properties>${p}</Properties>`).join('') +
    (filter ?? '') +
    extra +
    '</RetrieveRequest></RetrieveRequestMsg>'
  );
}

export function simpleFilterEl(property: string, operator: string, value: string, valueTag: 'Value' | 'DateValue' = 'Value'): string {
  return `<Filter xsi:type="SimpleFilterPart">${simpleFilter(property, operator, value, valueTag)}</Filter>`;
}

export function continueBody(objectType: string, requestId: string): string {
  return (
    `<RetrieveRequestMsg xmlns="${PARTNER_NS}"><RetrieveRequest><ObjectType>${objectType}</ObjectType>` +
    `<ContinueRequest>${requestId}</ContinueRequest></RetrieveRequest></RetrieveRequestMsg>`
  );
}

export function createImportDefinitionBody(customerKey: string, listId: string, fileSpec = 'subscribers.csv', extra = ''): string {
  return (
    `<CreateRequest xmlns="${PARTNER_NS}"><Options/><Objects xsi:type="ImportDefinition">` +
    `<CustomerKey>${customerKey}</CustomerKey><Name>${customerKey}</Name>` +
    `<DestinationObject xsi:type="List"><ID>${listId}</ID></DestinationObject>` +
    '<FieldMappingType>MapByOrdinal</FieldMappingType>' +
    '<FieldMaps><FieldMap><SourceOrdinal>0</SourceOrdinal><DestinationName>Email Address</DestinationName></FieldMap></FieldMaps>' +
    `<FileSpec>${fileSpec}</FileSpec><FileType>CSV</FileType>` +
    '<RetrieveFileTransferLocation><CustomerKey>ExactTarget Enhanced FTP</CustomerKey></RetrieveFileTransferLocation>' +
    `<UpdateType>AddAndUpdate</UpdateType>${extra}</Objects></CreateRequest>`
  );
}

export function performStartBody(customerKey: string): string {
  return (
    `<PerformRequestMsg xmlns="${PARTNER_NS}"><Options/><Action>start</Action><Definitions>` +
    `<Definition xsi:type="ImportDefinition"><CustomerKey>${customerKey}</CustomerKey></Definition>` +
    '</Definitions></PerformRequestMsg>'
  );
}

export function createSendBody(emailId: string, listId: string): string {
  return (
    `<CreateRequest xmlns="${PARTNER_NS}"><Options/><Objects xsi:type="Send">` +
    `<Email><ID>${emailId}</ID></Email><List><ID>${listId}</ID></List></Objects></CreateRequest>`
  );
}

export function importResultsBody(taskId: string): string {
  return retrieveBody(
    'ImportResultsSummary',
    ['ImportDefinitionCustomerKey', 'ImportStatus', 'NumberSuccessful', 'NumberErrors', 'NumberDuplicated', 'TotalRows', 'DestinationID', 'TaskResultID'],
    simpleFilterEl('TaskResultID', 'equals', taskId),
  );
}

/** Creates an ImportDefinition and starts it; returns the task id. */
export async function startImport(sb: Sandbox, auth: Login, customerKey: string, listId = '123'): Promise<string> {
  const created = bodyOf(await soap(sb, 'Create', envelope(createImportDefinitionBody(customerKey, listId), auth)), 'CreateResponse');
  if (created['OverallStatus'] !== 'OK') throw new Error(`create failed: ${JSON.stringify(created)}`);
  const performed = bodyOf(await soap(sb, 'Perform', envelope(performStartBody(customerKey), auth)), 'PerformResponseMsg');
  const result = (performed['Results'] as Record<string, unknown>)['Result'] as Record<string, unknown>[];
  return String((result[0]?.['Task'] as Record<string, unknown>)['ID']);
}
