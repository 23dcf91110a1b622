import { performance } from 'node:perf_hooks';
import { request as httpRequest, type Agent } from 'undici';
import type { SfmcConfig } from '../config.js';
import { redactEnvelope, type Logger } from '../logger.js';
import { createAuth, type Authorization, type TokenStore } from './auth.js';
import { BudgetExhaustedError, type CallBudget, type CallClass } from './budget.js';
import { badEnvelope, classifyTransportError } from './classify.js';
import { buildEnvelope, parseEnvelope, type SoapBody } from './envelope.js';
import { isSfmcError, type SfmcErrorCode } from './errors.js';
import {
  createDispatcher,
  DEFAULT_MAX_RESPONSE_BYTES,
  discardBody,
  exchangeDeadline,
  headerValue,
  readBodyCapped,
  ResponseTooLargeError,
} from './http.js';
import { createRequest, deleteRequest, objectTypeOf, performRequest, retrieveRequest, type RetrieveSpec } from './requests.js';
import {
  expectResponseElement,
  readCreateResponse,
  readDeleteResponse,
  readPerformResponse,
  readRetrieveResponse,
  type CreateOutcome,
  type DeleteOutcome,
  type PerformOutcome,
} from './responses.js';
import { createSecretScrubber } from './scrub.js';
import type { CallOptions } from './types.js';
import type { XmlNode } from './xml.js';

/**
 * The chokepoint (STYLE 9): every SOAP call goes through `request()`, which adds the endpoint,
 * SOAPAction, auth header and deadline, takes one unit of the account's call budget, always
 * consumes the reply, and classifies every failure. It makes one attempt per call; BullMQ owns
 * retries (STYLE 8). The single exception: a `Token Expired` fault forces one token refresh and
 * one repeat. The four SOAP operations over it are what the list-send operations
 * (list-send-operations.ts) are written in.
 */

export type SoapAction = 'Create' | 'Retrieve' | 'Perform' | 'Delete';

export interface CallEvent {
  operation: string;
  objectType?: string;
  durationMs: number;
  outcome: 'ok' | SfmcErrorCode;
}

export interface SfmcClientOptions {
  config: SfmcConfig;
  logger?: Logger;
  tokenStore?: TokenStore;
  now?: () => number;
  onCall?: (event: CallEvent) => void;
  /** How long before expiry a token is replaced; default config.tokenRefreshMarginMs, else 60 s. */
  refreshSkewMs?: number;
  /** Default 50 MB; a larger reply is refused as `bad-response`. */
  maxResponseBytes?: number;
  /** The account's shared SOAP call budget; without it calls are not counted. */
  budget?: CallBudget;
}

export interface RetrieveResult {
  results: Record<string, unknown>[];
  /** RequestID of the last page. */
  requestId?: string;
}

/** The SOAP operations, each one call through the chokepoint (a Retrieve one per page). */
export interface SoapCalls {
  /** Follows MoreDataAvailable pages (ContinueRequest = latest RequestID) and concatenates Results. */
  retrieve(spec: RetrieveSpec, opts?: CallOptions): Promise<RetrieveResult>;
  create(objects: XmlNode[], opts?: CallOptions): Promise<CreateOutcome>;
  perform(action: string, definitions: XmlNode[], opts?: CallOptions): Promise<PerformOutcome>;
  delete(objects: XmlNode[], opts?: CallOptions): Promise<DeleteOutcome>;
  close(): Promise<void>;
}

/** A guard against a server that answers MoreDataAvailable forever. 1,000 pages = 2.5 M rows. */
const MAX_PAGES = 1000;

/** What one HTTP exchange needs from its client. */
interface Exchange {
  dispatcher: Agent;
  timeoutMs: number;
  maxResponseBytes: number;
  logger: Logger | undefined;
  /** Known secrets and recent tokens out of a traced envelope. */
  clean(text: string): string;
}

/**
 * One HTTP exchange with an already-authorized header: POST with the bare SOAPAction and a
 * deadline, the reply read within the size cap (and discarded otherwise), then parsed. Every
 * failure is classified; nothing is retried here.
 */
async function exchange(x: Exchange, action: SoapAction, body: XmlNode, authz: Authorization, signal?: AbortSignal): Promise<SoapBody> {
  const { dispatcher, logger, maxResponseBytes } = x;
  const envelope = buildEnvelope([authz.header], body);
  if (logger?.isLevelEnabled('trace')) logger.trace({ operation: action, envelope: x.clean(redactEnvelope(envelope)) }, 'sfmc request');
  const deadline = exchangeDeadline(x.timeoutMs, signal);
  const transportContext = () => ({
    operation: action,
    phase: 'soap' as const,
    timedOut: deadline.timedOut(),
    callerAborted: signal?.aborted === true,
  });

  let response;
  let text: string;
  try {
    try {
      response = await httpRequest(authz.soapUrl, {
        method: 'POST',
        dispatcher,
        signal: deadline.signal,
        headers: {
          'content-type': 'text/xml; charset=utf-8',
          accept: 'text/xml',
          // Bare operation name, unquoted: what SFMC's SDKs send and the service matches.
          soapaction: action,
        },
        body: envelope,
      });
    } catch (err) {
      throw classifyTransportError(err, { ...transportContext(), stage: 'request' });
    }

    try {
      text = await readBodyCapped(response, maxResponseBytes);
    } catch (err) {
      await discardBody(response);
      if (err instanceof ResponseTooLargeError) {
        throw badEnvelope(`the reply is larger than ${maxResponseBytes} bytes and was not read`, {
          operation: action,
          httpStatus: response.statusCode,
        });
      }
      throw classifyTransportError(err, { ...transportContext(), stage: 'body' });
    }
  } finally {
    deadline.release();
  }
  if (logger?.isLevelEnabled('trace')) {
    logger.trace({ operation: action, httpStatus: response.statusCode, envelope: x.clean(redactEnvelope(text.slice(0, 20_000))) }, 'sfmc reply');
  }
  return parseEnvelope(response.statusCode, headerValue(response.headers, 'content-type'), text, { operation: action });
}

export function createSoapCalls(options: SfmcClientOptions): SoapCalls {
  const { config } = options;
  const logger = options.logger?.child({ component: 'sfmc' });
  const maxResponseBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  const dispatcher: Agent = createDispatcher(config.timeoutMs);
  const auth = createAuth({
    auth: config.auth,
    soapUrl: config.soapUrl,
    ...(config.allowHttpHosts ? { allowHttpHosts: config.allowHttpHosts } : {}),
    dispatcher,
    timeoutMs: config.timeoutMs,
    tokenStore: options.tokenStore,
    now: options.now,
    refreshSkewMs: options.refreshSkewMs ?? config.tokenRefreshMarginMs,
    logger,
  });
  // Values that must never reach an error message, whatever a remote party echoes back.
  const scrubber = createSecretScrubber(
    config.auth.mode === 'oauth2' ? [config.auth.clientSecret] : [config.auth.password, config.auth.username],
  );
  const x: Exchange = { dispatcher, timeoutMs: config.timeoutMs, maxResponseBytes, logger, clean: scrubber.clean };
  const send = (action: SoapAction, body: XmlNode, authz: Authorization, signal?: AbortSignal) => exchange(x, action, body, authz, signal);

  /**
   * One unit of the account's budget for each SOAP call, taken here because every operation and
   * every ContinueRequest page passes through `request()`; token requests do not. Taken after
   * the token is in hand, right before the HTTP exchange, so a unit is not spent on a call that
   * cannot go out. A refusal throws before anything is sent.
   */
  async function spend(action: SoapAction, callClass: CallClass): Promise<void> {
    if (!options.budget) return;
    const decision = await options.budget.take(callClass);
    if (!decision.granted) throw new BudgetExhaustedError(action, callClass, decision.waitMs, decision.paused);
  }

  /** The chokepoint. */
  async function request(action: SoapAction, body: XmlNode, opts: CallOptions = {}, objectType?: string): Promise<SoapBody> {
    const started = performance.now();
    let outcome: CallEvent['outcome'] = 'ok';
    let attempts = 0;
    let tokenRefreshed = false;
    let authz: Authorization | undefined;
    const callClass = opts.callClass ?? 'progress';
    const report = () => {
      const durationMs = Math.round(performance.now() - started);
      logger?.debug(
        { operation: action, objectType, durationMs, outcome, attempts, ...(tokenRefreshed ? { tokenRefreshed } : {}) },
        'sfmc call',
      );
      options.onCall?.({ operation: action, objectType, durationMs, outcome });
    };
    try {
      authz = await auth.authorize({ signal: opts.signal });
      scrubber.rememberToken(authz.accessToken);
      await spend(action, callClass);
      try {
        attempts++;
        return await send(action, body, authz, opts.signal);
      } catch (err) {
        if (!(isSfmcError(err) && err.code === 'token-expired' && authz.accessToken)) throw err;
        // The one retry inside the client: a fresh token, never the one SFMC just refused.
        authz = await auth.authorize({ forceRefresh: true, rejectToken: authz.accessToken, signal: opts.signal });
        scrubber.rememberToken(authz.accessToken);
        tokenRefreshed = true;
        await spend(action, callClass);
        attempts++;
        return await send(action, body, authz, opts.signal);
      }
    } catch (caught) {
      // A caller's abort while waiting for a token surfaces as the bare abort reason.
      const err =
        !isSfmcError(caught) && opts.signal?.aborted
          ? classifyTransportError(caught, { operation: action, phase: 'token', callerAborted: true })
          : caught;
      outcome = isSfmcError(err) ? err.code : 'transport';
      throw scrubber.scrub(err);
    } finally {
      // A call the budget refused before sending anything was never made: not logged, not counted.
      if (attempts > 0 || outcome !== 'budget-exhausted') report();
    }
  }

  return {
    async retrieve(spec, opts = {}) {
      const results: Record<string, unknown>[] = [];
      let continueRequest: string | undefined;
      for (let page = 1; ; page++) {
        // The spec as given for the first page (a spread with one more field is a slow object copy on Node 20).
        const body = retrieveRequest(continueRequest === undefined ? spec : { ...spec, continueRequest });
        const reply = await request('Retrieve', body, opts, spec.objectType);
        expectResponseElement('Retrieve', reply.name);
        const parsed = readRetrieveResponse(reply.value);
        for (const result of parsed.results) results.push(result);
        if (parsed.overallStatus === 'OK') return { results, requestId: parsed.requestId };
        if (!parsed.requestId) throw badEnvelope('MoreDataAvailable without a RequestID to continue from', { operation: 'Retrieve' });
        if (page >= MAX_PAGES) throw badEnvelope(`still MoreDataAvailable after ${MAX_PAGES} pages`, { operation: 'Retrieve' });
        continueRequest = parsed.requestId;
      }
    },

    async create(objects, opts = {}) {
      const reply = await request('Create', createRequest(objects), opts, objectTypeOf(objects[0]));
      expectResponseElement('Create', reply.name);
      return readCreateResponse(reply.value);
    },

    async perform(action, definitions, opts = {}) {
      const reply = await request('Perform', performRequest(action, definitions), opts, objectTypeOf(definitions[0]));
      expectResponseElement('Perform', reply.name);
      return readPerformResponse(reply.value);
    },

    async delete(objects, opts = {}) {
      const reply = await request('Delete', deleteRequest(objects), opts, objectTypeOf(objects[0]));
      expectResponseElement('Delete', reply.name);
      return readDeleteResponse(reply.value);
    },

    async close() {
      await dispatcher.close();
    },
  };
}
