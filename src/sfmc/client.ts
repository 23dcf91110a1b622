import { performance } from 'node:perf_hooks';
import { request as httpRequest, type Agent } from 'undici';
import type { SfmcConfig } from '../config.js';
import { redactEnvelope, type Logger } from '../logger.js';
import { createAuth, type Authorization, type TokenStore } from './auth.js';
import { BudgetExhaustedError, currentCallClass, type CallBudget } from './budget.js';
import { badEnvelope, classifyTransportError } from './classify.js';
import { buildEnvelope, parseEnvelope, type SoapBody } from './envelope.js';
import { isSfmcError, SfmcError, type SfmcErrorCode } from './errors.js';
import { createDispatcher, DEFAULT_MAX_RESPONSE_BYTES, discardBody, headerValue, readBodyCapped, ResponseTooLargeError } from './http.js';
import {
  createRequest,
  deleteRequest,
  importDefinitionObject,
  importDefinitionRef,
  objectTypeOf,
  performRequest,
  retrieveRequest,
  sendObject,
  type RetrieveSpec,
} from './requests.js';
import {
  expectResponseElement,
  readCreateResponse,
  readDeleteResponse,
  readPerformResponse,
  readRetrieveResponse,
  toEmail,
  toImportDefinition,
  toImportResultsSummary,
  toList,
  toListSend,
  toSend,
  type CreateOutcome,
  type DeleteOutcome,
  type PerformOutcome,
} from './responses.js';
import type { CallOptions, ImportResultsSummary, SfmcApi } from './types.js';
import type { XmlNode } from './xml.js';

/**
 * The SOAP client: typed helpers build plain request bodies, and one chokepoint, `request()`, adds
 * the endpoint, SOAPAction, auth header and deadline, always consumes the reply, and classifies
 * every failure. It makes one attempt per call; BullMQ owns retries (STYLE 8). The single
 * exception: a `Token Expired` fault forces one token refresh and one repeat.
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

export interface SfmcClient extends SfmcApi {
  /** Follows MoreDataAvailable pages (ContinueRequest = latest RequestID) and concatenates Results. */
  retrieve(spec: RetrieveSpec, opts?: CallOptions): Promise<RetrieveResult>;
  create(objects: XmlNode[], opts?: CallOptions): Promise<CreateOutcome>;
  perform(action: string, definitions: XmlNode[], opts?: CallOptions): Promise<PerformOutcome>;
  delete(objects: XmlNode[], opts?: CallOptions): Promise<DeleteOutcome>;
  close(): Promise<void>;
}

/** A guard against a server that answers MoreDataAvailable forever. 1,000 pages = 2.5 M rows. */
const MAX_PAGES = 1000;

const IMPORT_RESULTS_PROPERTIES = [
  'ImportDefinitionCustomerKey',
  'ImportType',
  'ImportStatus',
  'DestinationID',
  'NumberSuccessful',
  'NumberErrors',
  'NumberDuplicated',
  'TotalRows',
  'TaskResultID',
  'StartDate',
  'EndDate',
];

// DestinationObject.ID is UNVERIFIED as a retrievable ImportDefinition property (the docs list the
// fields but not which ones Retrieve accepts). If SFMC refuses it, the call fails with a
// result-error "Error: The Request Property(s) ... do not match"; drop it here then.
const IMPORT_DEFINITION_PROPERTIES = [
  'ObjectID',
  'CustomerKey',
  'Name',
  'DestinationObject.ID',
  'FileSpec',
  'FileType',
  'FieldMappingType',
  'UpdateType',
];

// ID, Email.ID and SendDate appear in SFMC's "Retrieve the Scheduled Send Time and Status of a Send"
// sample; Status is a documented Send field (its retrievability is UNVERIFIED). A Send's lists are
// exposed through the ListSend object (SendID filter), so List.ID is not requested: `listIds` is
// filled only when a reply happens to carry List elements.
// Email's retrievable properties used here are ID, Name and Subject (partner WSDL, type Email:
// APIObject.ID plus Email.Name and Email.Subject); nothing else is needed for the status.
const EMAIL_PROPERTIES = ['ID', 'Name', 'Subject'];

/** ErrorCode of a Delete (or Perform) for a definition SFMC does not have (43000-43999 page). */
const IMPORT_DEFINITION_NOT_FOUND = 43010;

const SEND_PROPERTIES = ['ID', 'Email.ID', 'SendDate', 'Status'];

// SendID and List.ID are what SFMC's "Retrieve All Lists for a Send" sample requests (with a
// SendID equals filter), and both are ListSend elements in the partner WSDL. The ListSend page:
// "a send to multiple lists ... a ListSend retrieve on the SendID of that send would return
// multiple ListSend objects".
const LIST_SEND_PROPERTIES = ['SendID', 'List.ID'];

export function createSfmcClient(options: SfmcClientOptions): SfmcClient {
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
  const secrets =
    config.auth.mode === 'oauth2' ? [config.auth.clientSecret] : [config.auth.password, config.auth.username];

  // Tokens this client has used lately: a reply may quote an earlier one (a refreshed token stays
  // valid until it expires), so every one of them is scrubbed, not only the current call's.
  const recentTokens: string[] = [];
  const rememberToken = (token: string | undefined) => {
    if (token === undefined || recentTokens.includes(token)) return;
    recentTokens.push(token);
    if (recentTokens.length > 8) recentTokens.shift();
  };

  /** Every known secret and recent token in a text replaced: a reply may quote any of them. */
  function clean(text: string): string {
    const known = [...secrets, ...recentTokens].filter((s): s is string => s !== undefined && s.length >= 4);
    return known.reduce((t, secret) => t.split(secret).join('[redacted]'), text);
  }

  /** Message, stack and quoted context (faultString, statusMessage) all end up in logs. */
  function scrub(err: unknown): unknown {
    if (!(err instanceof Error)) return err;
    err.message = clean(err.message);
    if (err.stack) err.stack = clean(err.stack);
    if (isSfmcError(err)) {
      const context = err.context as Record<string, unknown>;
      for (const [k, v] of Object.entries(context)) if (typeof v === 'string') context[k] = clean(v);
    }
    return err;
  }

  /** One HTTP exchange with an already-authorized header. */
  async function send(action: SoapAction, body: XmlNode, authz: Authorization, signal?: AbortSignal): Promise<SoapBody> {
    const envelope = buildEnvelope([authz.header], body);
    if (logger?.isLevelEnabled('trace')) logger.trace({ operation: action, envelope: clean(redactEnvelope(envelope)) }, 'sfmc request');
    const deadline = AbortSignal.timeout(config.timeoutMs);
    const combined = signal ? AbortSignal.any([signal, deadline]) : deadline;
    const transportContext = () => ({
      operation: action,
      phase: 'soap' as const,
      timedOut: deadline.aborted,
      callerAborted: signal?.aborted === true,
    });

    let response;
    try {
      response = await httpRequest(authz.soapUrl, {
        method: 'POST',
        dispatcher,
        signal: combined,
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

    let text: string;
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
    if (logger?.isLevelEnabled('trace')) {
      logger.trace({ operation: action, httpStatus: response.statusCode, envelope: clean(redactEnvelope(text.slice(0, 20_000))) }, 'sfmc reply');
    }
    return parseEnvelope(response.statusCode, headerValue(response.headers, 'content-type'), text, { operation: action });
  }

  /**
   * One unit of the account's budget for each SOAP call, taken here because every operation and
   * every ContinueRequest page passes through `request()`; token requests do not. Taken after
   * the token is in hand, right before the HTTP exchange, so a unit is not spent on a call that
   * cannot go out. A refusal throws before anything is sent.
   */
  async function spend(action: SoapAction): Promise<void> {
    if (!options.budget) return;
    const callClass = currentCallClass();
    const decision = await options.budget.take(callClass);
    if (!decision.granted) throw new BudgetExhaustedError(action, callClass, decision.waitMs, decision.paused);
  }

  /** The chokepoint. */
  async function request(action: SoapAction, body: XmlNode, opts: CallOptions & { objectType?: string } = {}): Promise<SoapBody> {
    const started = performance.now();
    let outcome: CallEvent['outcome'] = 'ok';
    let attempts = 0;
    let tokenRefreshed = false;
    let authz: Authorization | undefined;
    const report = () => {
      const durationMs = Math.round(performance.now() - started);
      logger?.debug(
        { operation: action, objectType: opts.objectType, durationMs, outcome, attempts, ...(tokenRefreshed ? { tokenRefreshed } : {}) },
        'sfmc call',
      );
      options.onCall?.({ operation: action, objectType: opts.objectType, durationMs, outcome });
    };
    try {
      authz = await auth.authorize({ signal: opts.signal });
      rememberToken(authz.accessToken);
      await spend(action);
      try {
        attempts++;
        return await send(action, body, authz, opts.signal);
      } catch (err) {
        if (!(isSfmcError(err) && err.code === 'token-expired' && authz.accessToken)) throw err;
        // The one retry inside the client: a fresh token, never the one SFMC just refused.
        authz = await auth.authorize({ forceRefresh: true, rejectToken: authz.accessToken, signal: opts.signal });
        rememberToken(authz.accessToken);
        tokenRefreshed = true;
        await spend(action);
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
      throw scrub(err);
    } finally {
      // A call the budget refused before sending anything was never made: not logged, not counted.
      if (attempts > 0 || outcome !== 'budget-exhausted') report();
    }
  }

  async function retrieve(spec: RetrieveSpec, opts: CallOptions = {}): Promise<RetrieveResult> {
    const results: Record<string, unknown>[] = [];
    let continueRequest: string | undefined;
    for (let page = 1; ; page++) {
      const reply = await request('Retrieve', retrieveRequest({ ...spec, continueRequest }), {
        ...opts,
        objectType: spec.objectType,
      });
      expectResponseElement('Retrieve', reply.name);
      const parsed = readRetrieveResponse(reply.value);
      results.push(...parsed.results);
      if (parsed.overallStatus === 'OK') return { results, requestId: parsed.requestId };
      if (!parsed.requestId) throw badEnvelope('MoreDataAvailable without a RequestID to continue from', { operation: 'Retrieve' });
      if (page >= MAX_PAGES) throw badEnvelope(`still MoreDataAvailable after ${MAX_PAGES} pages`, { operation: 'Retrieve' });
      continueRequest = parsed.requestId;
    }
  }

  async function create(objects: XmlNode[], opts: CallOptions = {}): Promise<CreateOutcome> {
    const reply = await request('Create', createRequest(objects), { ...opts, objectType: objectTypeOf(objects[0]) });
    expectResponseElement('Create', reply.name);
    return readCreateResponse(reply.value);
  }

  async function perform(action: string, definitions: XmlNode[], opts: CallOptions = {}): Promise<PerformOutcome> {
    const reply = await request('Perform', performRequest(action, definitions), { ...opts, objectType: objectTypeOf(definitions[0]) });
    expectResponseElement('Perform', reply.name);
    return readPerformResponse(reply.value);
  }

  async function deleteObjects(objects: XmlNode[], opts: CallOptions = {}): Promise<DeleteOutcome> {
    const reply = await request('Delete', deleteRequest(objects), { ...opts, objectType: objectTypeOf(objects[0]) });
    expectResponseElement('Delete', reply.name);
    return readDeleteResponse(reply.value);
  }

  async function retrieveImportResultsWhere(property: string, value: string, opts?: CallOptions): Promise<ImportResultsSummary[]> {
    // QueryAllAccounts follows SFMC's own list-send sample for this object.
    const { results } = await retrieve(
      {
        objectType: 'ImportResultsSummary',
        properties: IMPORT_RESULTS_PROPERTIES,
        filter: { property, operator: 'equals', value },
        queryAllAccounts: true,
      },
      opts,
    );
    return results.map(toImportResultsSummary);
  }

  return {
    retrieve,
    create,
    perform,
    delete: deleteObjects,

    async retrieveEmailById(id, opts) {
      const { results } = await retrieve(
        { objectType: 'Email', properties: EMAIL_PROPERTIES, filter: { property: 'ID', operator: 'equals', value: id } },
        opts,
      );
      return results.map(toEmail).find((e) => e !== undefined);
    },

    async deleteImportDefinition(customerKey, opts) {
      try {
        await deleteObjects([importDefinitionRef(customerKey)], opts);
        return { deleted: true };
      } catch (err) {
        if (isSfmcError(err) && err.context.errorCode === IMPORT_DEFINITION_NOT_FOUND) return { deleted: false };
        throw err;
      }
    },

    async retrieveListsByName(name, opts) {
      // ListName is not unique: every match is returned and the caller decides.
      const { results } = await retrieve(
        { objectType: 'List', properties: ['ID', 'ListName'], filter: { property: 'ListName', operator: 'equals', value: name } },
        opts,
      );
      return results.map(toList).filter((l) => l !== undefined);
    },

    async retrieveListById(id, opts) {
      const { results } = await retrieve(
        { objectType: 'List', properties: ['ID', 'ListName'], filter: { property: 'ID', operator: 'equals', value: id } },
        opts,
      );
      return results.map(toList).find((l) => l !== undefined);
    },

    async createImportDefinition(spec, opts) {
      // A 43030 (CustomerKey exists) arrives here as the classifier's result-error, unchanged.
      const outcome = await create([importDefinitionObject(spec)], opts);
      const objectId = outcome.results[0]?.newObjectId;
      return objectId === undefined ? {} : { objectId };
    },

    async retrieveImportDefinition(customerKey, opts) {
      const { results } = await retrieve(
        {
          objectType: 'ImportDefinition',
          properties: IMPORT_DEFINITION_PROPERTIES,
          filter: { property: 'CustomerKey', operator: 'equals', value: customerKey },
        },
        opts,
      );
      return results.map(toImportDefinition).find((d) => d !== undefined);
    },

    async startImportDefinition(customerKey, opts) {
      const outcome = await perform('start', [importDefinitionRef(customerKey)], opts);
      const taskId = outcome.results[0]?.taskId;
      if (taskId === undefined) {
        // The import may well be running: say so, so the caller looks before starting another.
        throw badEnvelope('Perform start answered OK without a Task ID', { operation: 'Perform' });
      }
      return { taskId };
    },

    async retrieveImportResults(taskId, opts) {
      const rows = await retrieveImportResultsWhere('TaskResultID', taskId, opts);
      return rows[0];
    },

    async retrieveImportResultsByDefinition(customerKey, opts) {
      return retrieveImportResultsWhere('ImportDefinitionCustomerKey', customerKey, opts);
    },

    async createSend(sendSpec, opts) {
      const outcome = await create([sendObject(sendSpec)], opts);
      const sendId = outcome.results[0]?.newId;
      if (sendId === undefined || sendId === '0') {
        // OK without a job id: the send probably exists. Flag it so the caller checks first.
        throw new SfmcError('bad-response', 'Create Send answered OK without a NewID (the job id); the send may exist', {
          kind: 'retryable',
          mayHaveTakenEffect: true,
          context: { operation: 'Create', requestId: outcome.requestId },
        });
      }
      return { sendId };
    },

    async retrieveSendById(id, opts) {
      const { results } = await retrieve(
        { objectType: 'Send', properties: SEND_PROPERTIES, filter: { property: 'ID', operator: 'equals', value: id } },
        opts,
      );
      return results.map(toSend).find((s) => s !== undefined);
    },

    async retrieveSendsByEmail(emailId, since, opts) {
      // UNVERIFIED against real SFMC: that Send is filterable by Email.ID (SFMC's SSJS sample filters
      // Send on it) and by SendDate with greaterThanOrEqual + DateValue (no source found). The
      // bound goes out as CST wall clock (time.ts), right whether or not the account normalizes dates.
      const { results } = await retrieve(
        {
          objectType: 'Send',
          properties: SEND_PROPERTIES,
          filter: {
            left: { property: 'Email.ID', operator: 'equals', value: emailId },
            logicalOperator: 'AND',
            right: { property: 'SendDate', operator: 'greaterThanOrEqual', dateValue: since },
          },
        },
        opts,
      );
      return results.map(toSend).filter((s) => s !== undefined);
    },

    async retrieveListSends(sendId, opts) {
      const { results } = await retrieve(
        { objectType: 'ListSend', properties: LIST_SEND_PROPERTIES, filter: { property: 'SendID', operator: 'equals', value: sendId } },
        opts,
      );
      return results.map(toListSend).filter((l) => l !== undefined);
    },

    async close() {
      await dispatcher.close();
    },
  };
}
