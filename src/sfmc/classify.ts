import { SfmcError, type ErrorKind, type SfmcErrorCode, type SfmcErrorContext } from './errors.js';
import { textOf, XmlSyntaxError } from './xml.js';

/**
 * The one place that turns a remote failure into a code and a kind (STYLE 7). Every function is
 * pure and returns the error instead of throwing it, so each case is a one-line test. Messages say
 * what happened and what a person can do; they quote only what SFMC said, never a request header,
 * token or password (the client scrubs known secrets once more before throwing).
 */

export interface HttpContext {
  operation?: string;
  httpStatus?: number;
  contentType?: string;
}

const MAX_QUOTE = 300;

/** A remote string made safe to quote in a message: one line, bounded length. */
function quote(value: string | undefined): string {
  const flat = (value ?? '').replace(/\s+/g, ' ').trim();
  return JSON.stringify(flat.length > MAX_QUOTE ? `${flat.slice(0, MAX_QUOTE)}…` : flat);
}

function opName(ctx: { operation?: string }): string {
  return ctx.operation ? `the ${ctx.operation} call` : 'the SOAP call';
}

function make(
  code: SfmcErrorCode,
  message: string,
  kind: ErrorKind,
  mayHaveTakenEffect: boolean,
  context: SfmcErrorContext,
  cause?: unknown,
): SfmcError {
  const clean = Object.fromEntries(Object.entries(context).filter(([, v]) => v !== undefined)) as SfmcErrorContext;
  return new SfmcError(code, message, { kind, mayHaveTakenEffect, context: clean, cause });
}

// ---------------------------------------------------------------------------------------------
// Transport

export interface TransportContext {
  operation?: string;
  /** `token`: the OAuth2 endpoint, so nothing reached the SOAP service yet. */
  phase: 'token' | 'soap';
  /** `request`: connecting, writing, waiting for headers. `body`: reading a reply already begun. */
  stage?: 'request' | 'body';
  /** Our own deadline (SFMC_TIMEOUT_MS) fired. */
  timedOut?: boolean;
  /** The caller's AbortSignal fired (BullMQ cancellation). */
  callerAborted?: boolean;
}

/** Failures that happen before a single request byte can have left this machine. */
const NOT_SENT = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EAI_FAIL',
  'EAI_NONAME',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_DESTROYED',
  'UND_ERR_CLOSED',
  'CERT_HAS_EXPIRED',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

const TIMEOUT_CODES = new Set([
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'ETIMEDOUT',
  'ABORT_ERR_TIMEOUT',
]);

/** The first `code` on the error or its causes (undici and Node both nest them). */
export function transportCodeOf(err: unknown): string | undefined {
  let current: unknown = err;
  for (let depth = 0; depth < 5 && current && typeof current === 'object'; depth++) {
    const { code, name } = current as { code?: unknown; name?: unknown };
    if (typeof code === 'string' && code !== 'UND_ERR' && code !== 'ABORT_ERR') return code;
    if (name === 'TimeoutError') return 'ABORT_ERR_TIMEOUT';
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

export function classifyTransportError(err: unknown, ctx: TransportContext): SfmcError {
  const code = transportCodeOf(err);
  const what = ctx.phase === 'token' ? 'the SFMC token request' : opName(ctx);
  // Whether SFMC may have acted: never for the token phase (the SOAP call was not sent), always
  // once a reply was being read, otherwise unless the socket failed before anything was written.
  const maybeSent = ctx.phase === 'soap' && (ctx.stage === 'body' || !(code !== undefined && NOT_SENT.has(code)));
  const effect = maybeSent ? 'the call may have taken effect' : 'nothing was sent';
  const context: SfmcErrorContext = { operation: ctx.operation };
  const tag = code ? ` (${code})` : '';

  if (ctx.callerAborted) {
    return make('transport', `${what} was cancelled by the caller; ${effect}`, 'retryable', maybeSent, context, err);
  }
  if (ctx.timedOut || (code !== undefined && TIMEOUT_CODES.has(code))) {
    return make(
      'timeout',
      `SFMC did not answer ${what} in time${tag}; ${effect}. Raise SFMC_TIMEOUT_MS if this persists`,
      'retryable',
      maybeSent,
      context,
      err,
    );
  }
  const message = maybeSent
    ? `the connection to SFMC failed during ${what}${tag} after the request was sent; ${effect}`
    : `could not reach SFMC for ${what}${tag}; ${effect}. Check the endpoint host name and the network`;
  return make('transport', message, 'retryable', maybeSent, context, err);
}

// ---------------------------------------------------------------------------------------------
// Replies that are not SOAP

export function classifyNonSoapResponse(ctx: HttpContext & { httpStatus: number; bodyText: string }): SfmcError {
  const { httpStatus: status, contentType } = ctx;
  const context: SfmcErrorContext = { operation: ctx.operation, httpStatus: status, contentType };
  const empty = ctx.bodyText.trim() === '';
  const html = contentType === 'text/html' || /^\s*<(!doctype\s+html|html)[\s>]/i.test(ctx.bodyText);
  const markup = ctx.bodyText.trimStart().startsWith('<');
  const what = opName(ctx);
  const shape = empty ? 'an empty body' : `${contentType ?? 'no content type'}`;

  if (status === 500 && !html && (empty || !markup)) {
    // SFMC's documented throttling reply is a full SOAP fault (`Rate Limited`, see
    // isRateLimitedFault). An empty or plain-text 500 is kept as throttling too, as the cautious
    // reading of a load-shedding front end (UNVERIFIED: no source shows SFMC sending one). Whether
    // SFMC refused the call before acting is not documented, so the error says it may have taken effect.
    return make(
      'throttled',
      `SFMC answered ${what} with HTTP 500 and ${empty ? 'an empty body' : 'a plain-text body'}, which is how it signals throttling; slow down and retry later`,
      'throttled',
      true,
      context,
    );
  }
  if (status === 429) {
    return make('throttled', `SFMC (or a proxy) answered ${what} with HTTP 429; slow down and retry later`, 'throttled', false, context);
  }
  if (status >= 200 && status < 300) {
    return make(
      empty ? 'bad-response' : 'http-status',
      `SFMC answered ${what} with HTTP ${status} and ${shape} instead of a SOAP message; the call may have taken effect`,
      'retryable',
      true,
      context,
    );
  }
  if (status >= 500) {
    return make(
      'http-status',
      `SFMC answered ${what} with HTTP ${status} and ${shape} instead of a SOAP fault (a gateway or proxy error page); the call may have taken effect, retry later`,
      'retryable',
      true,
      context,
    );
  }
  if (status === 408) {
    return make('http-status', `a proxy timed out ${what} (HTTP 408); the call may have taken effect`, 'retryable', true, context);
  }
  const hint =
    status === 401 || status === 403
      ? 'check the SOAP endpoint (SFMC_SOAP_URL or the token\'s soap_instance_url) and any proxy in between'
      : 'check the SOAP endpoint URL (SFMC_SOAP_URL or SFMC_SUBDOMAIN)';
  return make('http-status', `SFMC answered ${what} with HTTP ${status} and ${shape}, not SOAP: ${hint}`, 'fatal', false, context);
}

/** Truncated, malformed or DTD-carrying XML. A reply was being produced, so SFMC may have acted. */
export function classifyMalformedXml(err: unknown, ctx: HttpContext): SfmcError {
  const reason =
    err instanceof XmlSyntaxError && /DOCTYPE/.test(err.message)
      ? 'it carries a DOCTYPE, which SOAP forbids; it was refused without expanding any entity'
      : 'it is truncated or malformed';
  return make(
    'bad-response',
    `SFMC's reply to ${opName(ctx)} is not usable XML: ${reason}; the call may have taken effect`,
    'retryable',
    true,
    { operation: ctx.operation, httpStatus: ctx.httpStatus, contentType: ctx.contentType },
    err,
  );
}

/** Well-formed XML that is not the SOAP 1.1 message we expect. */
export function badEnvelope(detail: string, ctx: HttpContext): SfmcError {
  return make('bad-response', `SFMC's reply to ${opName(ctx)} is not usable: ${detail}; the call may have taken effect`, 'retryable', true, {
    operation: ctx.operation,
    httpStatus: ctx.httpStatus,
    contentType: ctx.contentType,
  });
}

/** A SOAP reply that is not a fault, on an HTTP error status. */
export function classifyUnexpectedSoapStatus(elementName: string, ctx: HttpContext): SfmcError {
  return make(
    'http-status',
    `SFMC answered ${opName(ctx)} with HTTP ${ctx.httpStatus ?? '?'} and a ${elementName} element instead of a fault; the call may have taken effect`,
    'retryable',
    true,
    { operation: ctx.operation, httpStatus: ctx.httpStatus, contentType: ctx.contentType },
  );
}

// ---------------------------------------------------------------------------------------------
// SOAP faults

interface ApiFaultInfo {
  name: string;
  kind: ErrorKind;
  mayHaveTakenEffect: boolean;
  advice: string;
}

/** soap_faults.html: only soap:Server faults carry `<apifault><Code/>`. */
const API_FAULTS: Record<number, ApiFaultInfo> = {
  1: {
    name: 'RemoteDBConnDetected_SyncAPICallUnsupported',
    kind: 'retryable',
    mayHaveTakenEffect: false,
    advice: 'synchronous calls are not possible right now; retry later',
  },
  // An unexpected error can come after the work was committed (SFMC says outages, auth exceptions).
  2: { name: 'UnexpectedError', kind: 'retryable', mayHaveTakenEffect: true, advice: 'retry later; the call may have taken effect' },
  8: { name: 'UnsupportedObject', kind: 'retryable', mayHaveTakenEffect: false, advice: 'the object is unavailable (maintenance); retry later' },
  9: { name: 'InMaintenance', kind: 'retryable', mayHaveTakenEffect: false, advice: 'SFMC is in maintenance; retry later' },
  11: {
    name: 'AuthorizationFailure',
    kind: 'fatal',
    mayHaveTakenEffect: false,
    advice: 'the API user or installed package lacks the permission for this call, or the account lacks web services access',
  },
};

/**
 * Throttling, per the sample "HTTP 500 Error Payload" of SFMC's Rate Limiting page (the 2017
 * edition, developer.salesforce.com/docs/atlas.en-us.noversion.mc-apis.meta/mc-apis/rate-limiting.htm;
 * the current page dropped the sample): HTTP 500, a full envelope with the WS-Addressing fault
 * action and a wsse:Security timestamp (every SFMC fault has both), and a `soap:Server` fault whose
 * faultstring and apifault Message are `Rate Limited` with apifault Code 17. Code 17 is not in the
 * soap_faults page's code list, so either marker is enough, and nothing looser: a fault that merely
 * mentions "rate" is not throttling.
 */
export const RATE_LIMITED_API_FAULT_CODE = 17;

function isRateLimitedFault(apiFaultCode: number | undefined, faultString: string, apiMessage: string | undefined): boolean {
  const rateLimited = (text: string | undefined) => /^rate limited\.?$/i.test(text?.trim() ?? '');
  return apiFaultCode === RATE_LIMITED_API_FAULT_CODE || rateLimited(faultString) || rateLimited(apiMessage);
}

const CLIENT_FAULTS = new Set(['Client', 'VersionMismatch', 'MustUnderstand']);
const SECURITY_FAULTS = new Set(['Security', 'InvalidSecurity', 'InvalidSecurityToken', 'FailedAuthentication']);

function child(value: unknown, name: string): unknown {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[name] : undefined;
}

function intOf(value: unknown): number | undefined {
  const text = textOf(value)?.trim();
  return text && /^-?\d+$/.test(text) ? Number.parseInt(text, 10) : undefined;
}

/** `fault` is the parsed content of `<soap:Fault>` (prefixes already stripped). */
export function classifyFault(fault: Record<string, unknown>, ctx: HttpContext): SfmcError {
  const faultCode = textOf(fault['faultcode'])?.trim() ?? '';
  const faultString = textOf(fault['faultstring'])?.trim() ?? '';
  // The prefix is whatever the server bound (soap:, q0:, s:); only the local part means anything.
  const local = faultCode.slice(faultCode.lastIndexOf(':') + 1);
  const context: SfmcErrorContext = { operation: ctx.operation, httpStatus: ctx.httpStatus, faultCode, faultString };
  const what = opName(ctx);

  if (SECURITY_FAULTS.has(local)) {
    if (/^token expired\b/i.test(faultString)) {
      return make(
        'token-expired',
        `SFMC rejected the access token on ${what} as expired (Security fault "Token Expired"); fetch a new token and retry once`,
        'auth-expired',
        false,
        context,
      );
    }
    return make(
      'security-fault',
      `SFMC refused the credentials on ${what} (Security fault ${quote(faultString)}): check the installed package or API user, its WebServices permission and the business unit (SFMC_ACCOUNT_ID)`,
      'fatal',
      false,
      context,
    );
  }
  if (CLIENT_FAULTS.has(local)) {
    return make(
      'client-fault',
      `SFMC refused ${what} as malformed (${faultCode} fault ${quote(faultString)}); the request this client built is wrong, retrying will not help`,
      'fatal',
      false,
      context,
    );
  }

  const apifault = child(child(fault, 'detail'), 'apifault');
  const apiFaultCode = intOf(child(apifault, 'Code'));
  const apiMessage = textOf(child(apifault, 'Message'))?.trim();
  const said = quote(apiMessage || faultString);
  if (local === 'Server' && isRateLimitedFault(apiFaultCode, faultString, apiMessage)) {
    // Whether SFMC refused the call before acting is not documented: treated as maybe taken effect.
    return make(
      'throttled',
      `SFMC is throttling this account: it answered ${what} with a "Rate Limited" server fault (HTTP ${ctx.httpStatus ?? '?'}); slow down and retry later`,
      'throttled',
      true,
      { ...context, ...(apiFaultCode !== undefined ? { apiFaultCode } : {}) },
    );
  }
  if (apiFaultCode === undefined) {
    return make(
      'server-fault',
      `SFMC failed ${what} with a server fault ${said} and no detail; retry later, the call may have taken effect`,
      'retryable',
      true,
      context,
    );
  }
  const info = API_FAULTS[apiFaultCode];
  return make(
    'server-fault',
    `SFMC failed ${what} with server fault ${apiFaultCode}${info ? ` ${info.name}` : ''} ${said}: ${info?.advice ?? 'unknown code; retry later, the call may have taken effect'}`,
    info?.kind ?? 'retryable',
    info?.mayHaveTakenEffect ?? true,
    { ...context, apiFaultCode },
  );
}

// ---------------------------------------------------------------------------------------------
// The OAuth2 token endpoint

/** Only the endpoint's own error fields are quoted, never the request or the raw body. */
function tokenErrorDetail(bodyText: string): string {
  try {
    const json = JSON.parse(bodyText) as Record<string, unknown>;
    const parts = [json['error'], json['error_description'], json['message'], json['errorcode']]
      .filter((v) => typeof v === 'string' || typeof v === 'number')
      .map((v) => String(v));
    return parts.length > 0 ? `: ${quote(parts.join(' / '))}` : '';
  } catch {
    return '';
  }
}

/** A non-200 reply from `/v2/token`. No SOAP call was sent, so nothing can have taken effect. */
export function classifyTokenResponse(httpStatus: number, bodyText: string): SfmcError {
  const context: SfmcErrorContext = { operation: 'token', httpStatus };
  const detail = tokenErrorDetail(bodyText);
  if (httpStatus === 400 || httpStatus === 401 || httpStatus === 403) {
    return make(
      'auth-failed',
      `the SFMC token endpoint refused the client credentials (HTTP ${httpStatus}${detail}): check SFMC_CLIENT_ID, SFMC_CLIENT_SECRET and SFMC_ACCOUNT_ID, and that the installed package has a server-to-server API integration`,
      'fatal',
      false,
      context,
    );
  }
  if (httpStatus === 429) {
    return make('throttled', `the SFMC token endpoint is throttling token requests (HTTP 429); retry later`, 'throttled', false, context);
  }
  if (httpStatus >= 500) {
    return make('http-status', `the SFMC token endpoint failed (HTTP ${httpStatus}${detail}); retry later`, 'retryable', false, context);
  }
  return make(
    'http-status',
    `the SFMC token endpoint answered HTTP ${httpStatus}${detail}: check SFMC_AUTH_URL (or SFMC_SUBDOMAIN)`,
    'fatal',
    false,
    context,
  );
}

/** A 200 from `/v2/token` without a usable token in it. */
export function badTokenResponse(detail: string): SfmcError {
  return make('bad-response', `the SFMC token endpoint answered without a usable token (${detail}); retry later`, 'retryable', false, {
    operation: 'token',
    httpStatus: 200,
  });
}

// ---------------------------------------------------------------------------------------------
// OverallStatus and per-result ErrorCode

interface ResultCodeInfo {
  kind: ErrorKind;
  meaning: string;
}

/**
 * Documented codes the list send can meet (developer docs, 7000-7099 / 13000-13099 /
 * 43000-43999). 43030 is fatal as an error but expected: the caller treats "exists" as success.
 */
const RESULT_CODES: Record<number, ResultCodeInfo> = {
  // 0_99 error page: "1 Validation: Name already exists - the partner key is already used in the
  // account". Fatal as an error; create-import treats it like 43030 (a key or name in use).
  1: { kind: 'fatal', meaning: 'Name already exists (the key or name is in use)' },
  13000: { kind: 'fatal', meaning: 'List not found' },
  13001: { kind: 'fatal', meaning: 'List ID not specified' },
  13004: { kind: 'fatal', meaning: 'Unknown list ID' },
  43010: { kind: 'fatal', meaning: 'ImportDefinition not found' },
  43030: { kind: 'fatal', meaning: 'an ImportDefinition with this CustomerKey already exists' },
  43060: { kind: 'fatal', meaning: 'ImportDefinition validation error' },
  // The catch-all "A problem occurred processing your request": transient as far as anyone knows.
  9999999: { kind: 'retryable', meaning: 'SFMC internal error' },
};

export function resultCodeInfo(errorCode: number | undefined): ResultCodeInfo {
  if (errorCode === undefined) return { kind: 'fatal', meaning: 'no ErrorCode given' };
  const known = RESULT_CODES[errorCode];
  if (known) return known;
  if (errorCode >= 7000 && errorCode <= 7099) return { kind: 'fatal', meaning: 'the Send was refused (Send object error)' };
  return { kind: 'fatal', meaning: 'undocumented code' };
}

/**
 * SFMC's database failing under load, passed through in `OverallStatus` with HTTP 200:
 *   - "Error: Timeout expired.  The timeout period elapsed prior to completion of the operation or
 *     the server is not responding." (SQL Server's command timeout; seen on a Retrieve in
 *     salesforce-marketingcloud/FuelSDK-PHP issue #129);
 *   - SQL Server's deadlock victim message "Transaction (Process ID n) was deadlocked on lock
 *     resources ... Rerun the transaction." (SFMC reports it for data extension rows, see
 *     segmentio/action-destinations PR #3967, which retries on it).
 * Both say the same request can succeed later. Every other inline message (unknown property,
 * unknown object type, "API Permission Failed", a bad filter) stays fatal: retrying cannot help.
 */
function transientStatusMessage(message: string): string | undefined {
  if (/\btimeout expired\b/i.test(message)) return 'database timeout';
  if (/\bdeadlock(ed)?\b/i.test(message) || /\brerun the transaction\b/i.test(message)) return 'database deadlock';
  return undefined;
}

export type SoapOperation = 'Create' | 'Retrieve' | 'Perform' | 'Delete';

/** Per-result rows: CreateResponse/Results, DeleteResponse/Results, PerformResponseMsg/Results/Result. */
function resultRows(operation: SoapOperation, value: Record<string, unknown>): Record<string, unknown>[] {
  const results = operation === 'Perform' ? child(value['Results'], 'Result') : value['Results'];
  const rows = Array.isArray(results) ? results : results === undefined ? [] : [results];
  return rows.filter((r): r is Record<string, unknown> => typeof r === 'object' && r !== null);
}

/**
 * undefined when the response says the call worked (OK, or MoreDataAvailable on Retrieve);
 * otherwise the error it describes.
 */
export function classifyOverallStatus(operation: SoapOperation, value: Record<string, unknown>): SfmcError | undefined {
  const overallStatus = textOf(value['OverallStatus'])?.trim();
  const requestId = textOf(value['RequestID'])?.trim() || undefined;
  const base: SfmcErrorContext = { operation, overallStatus, requestId };
  if (overallStatus === 'OK') return undefined;
  if (overallStatus === 'MoreDataAvailable' && operation === 'Retrieve') return undefined;
  if (!overallStatus) {
    return make('bad-response', `SFMC's ${operation} reply has no OverallStatus; the call may have taken effect`, 'retryable', true, base);
  }

  // Retrieve puts its failure in the status itself: "Error: Unable to find a handler for ...".
  const inline = /^Error:\s*(.*)$/s.exec(overallStatus);
  if (inline) {
    const statusMessage = inline[1]?.trim() ?? '';
    const transient = transientStatusMessage(statusMessage);
    if (transient) {
      return make(
        'result-error',
        `SFMC failed the ${operation} with a ${transient} on its side: ${quote(statusMessage)}; retry later`,
        'retryable',
        operation !== 'Retrieve',
        { ...base, statusMessage },
      );
    }
    return make('result-error', `SFMC refused the ${operation}: ${quote(statusMessage)}`, 'fatal', false, {
      ...base,
      statusMessage,
    });
  }

  if (overallStatus === 'Error' || overallStatus === 'Has Errors') {
    const rows = resultRows(operation, value);
    const failed = rows.find((r) => textOf(r['StatusCode'])?.trim() === 'Error') ?? rows[0];
    const errorCode = intOf(failed?.['ErrorCode']) ?? intOf(child(failed?.['Task'], 'ErrorCode'));
    const statusMessage =
      textOf(failed?.['StatusMessage'])?.trim() || textOf(value['OverallStatusMessage'])?.trim() || overallStatus;
    const info = resultCodeInfo(errorCode);
    // "Has Errors" means part of the batch was applied; 9999999 may strike after a commit.
    const mayHaveTakenEffect = overallStatus === 'Has Errors' || errorCode === 9999999;
    const code = errorCode === undefined ? '' : ` (ErrorCode ${errorCode}: ${info.meaning})`;
    return make('result-error', `SFMC refused the ${operation}: ${quote(statusMessage)}${code}`, info.kind, mayHaveTakenEffect, {
      ...base,
      statusMessage,
      errorCode,
    });
  }

  return make(
    'result-error',
    `SFMC answered the ${operation} with an unknown OverallStatus ${quote(overallStatus)}; the call may have taken effect`,
    'fatal',
    true,
    base,
  );
}
