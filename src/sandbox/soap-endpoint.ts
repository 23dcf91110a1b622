import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseXml, textOf, XmlSyntaxError } from '../sfmc/xml.js';
import { authenticateSoap } from './auth.js';
import {
  child,
  extractBodyChild,
  isSoapOperation,
  isXmlContentType,
  OPERATION_ELEMENT,
  soapActionOf,
  xsiTypeOf,
} from './envelope.js';
import { API_FAULT_MESSAGES, DATABASE_STATUS, RATE_LIMITED } from './faults.js';
import type { OperationContext, OperationOutcome } from './operations/context.js';
import { handleCreate } from './operations/create.js';
import { handleDelete } from './operations/delete.js';
import { handlePerform } from './operations/perform.js';
import { handleRetrieve } from './operations/retrieve.js';
import { BAD_GATEWAY_HTML, faultEnvelope, responseEnvelope, retrieveResponse, type EnvelopeContext, type FaultSpec } from './responses.js';
import { answerAfterCommit, dropConnection, send, type Reply, type Runtime } from './runtime.js';
import type { AuthMode, CallRecord, SoapOperation } from './types.js';

const XML = 'text/xml; charset=utf-8';

const HANDLERS: Record<SoapOperation, (ctx: OperationContext, msg: unknown) => OperationOutcome> = {
  Create: handleCreate,
  Retrieve: handleRetrieve,
  Perform: handlePerform,
  Delete: handleDelete,
};

type CallInfo = Omit<CallRecord, 'seq' | 'time' | 'httpStatus' | 'result'>;

/**
 * POST /Service.asmx, in the order the real service checks things: transport (content type,
 * SOAPAction), XML, the Body element against the action, security header, schema; then any
 * injected fault; then the operation.
 */
export function handleSoap(rt: Runtime, req: IncomingMessage, res: ServerResponse, raw: string): void {
  const now = rt.now();
  const info: CallInfo = { path: req.url ?? '/Service.asmx', auth: 'none' };
  // Faults sent before the envelope is read relate to nothing; later ones echo its MessageID.
  const envCtx: EnvelopeContext = { now };

  const reply = (r: Reply, result: CallRecord['result'], extra: Partial<CallRecord> = {}) => {
    rt.calls.add({ ...info, httpStatus: r.status, result, ...extra });
    send(res, r);
  };
  const fault = (spec: FaultSpec, extra: Partial<CallRecord> = {}) => {
    const code = spec.kind === 'client' ? 'soap:Client' : spec.kind === 'server' ? 'soap:Server' : 'q0:Security';
    reply({ status: 500, contentType: XML, body: faultEnvelope(spec, rt.soapUrl, envCtx) }, 'fault', {
      fault: `${code}: ${spec.message}`,
      ...extra,
    });
  };

  const contentType = req.headers['content-type'];
  if (!isXmlContentType(contentType)) {
    return fault({ kind: 'client', message: `Content-Type '${contentType ?? ''}' is not supported; SOAP 1.1 requests are text/xml.` });
  }
  const action = soapActionOf(req.headers['soapaction'], contentType);
  info.soapAction = action;
  // ASP.NET's wording (Service.asmx is an ASP.NET web service); SFMC documents this fault.
  const unrecognized = `Server did not recognize the value of HTTP Header SOAPAction: ${action}.`;
  if (!isSoapOperation(action)) return fault({ kind: 'client', message: unrecognized });
  info.operation = action;

  let doc: Record<string, unknown>;
  try {
    // Strict: SFMC's parser refuses any malformed request, not only a truncated one.
    doc = parseXml(raw, { strict: true });
  } catch (err) {
    if (!(err instanceof XmlSyntaxError)) throw err;
    return fault({ kind: 'client', message: `Server was unable to read request. ---> ${err.message}` });
  }
  const envelope = doc['Envelope'];
  const header = child(envelope, 'Header');
  envCtx.relatesTo = textOf(child(header, 'MessageID'));
  const body = child(envelope, 'Body');
  const elements = body && typeof body === 'object' ? Object.keys(body).filter((k) => !k.startsWith('@_') && k !== '#text') : [];
  if (envelope === undefined || elements.length !== 1) {
    return fault({ kind: 'client', message: 'Server was unable to read request. ---> The message is not a SOAP Envelope with one Body element.' });
  }
  const element = elements[0] ?? '';
  if (element !== OPERATION_ELEMENT[action]) {
    return fault({ kind: 'client', message: `${unrecognized} The Body holds ${element}, which is not a ${action} request.` });
  }
  const msg = child(body, element);
  info.objectType = objectTypeOf(action, msg);

  const auth = authenticateSoap(header, rt.issuer, rt.credentials);
  info.auth = auth.mode satisfies AuthMode;
  if (!auth.ok) return fault({ kind: 'security', message: auth.message });

  if (rt.validateBody) {
    const standalone = extractBodyChild(raw);
    const problem = standalone === undefined ? 'The Body element could not be read.' : rt.validateBody(standalone);
    if (problem !== undefined) return fault({ kind: 'client', message: problem });
  }

  const rule = rt.faults.match(action, info.objectType);
  const injected = rule ? { injected: rule.kind } : {};
  if (rule) {
    switch (rule.kind) {
      case 'reset':
        rt.calls.add({ ...info, httpStatus: null, result: 'dropped', ...injected });
        return dropConnection(req, true);
      case 'throttle':
        if (rule.bare) return reply({ status: 500, contentType: 'text/plain', body: '' }, 'error', injected);
        return fault({ kind: 'server', code: RATE_LIMITED.code, message: RATE_LIMITED.message }, injected);
      case 'db-timeout':
      case 'db-deadlock': {
        // HTTP 200: SFMC passes its database's failure through as the Retrieve's OverallStatus.
        const overallStatus = DATABASE_STATUS[rule.kind];
        const body = retrieveResponse(overallStatus, rt.store.newRequestId(), []);
        return reply({ status: 200, contentType: XML, body: responseEnvelope('RetrieveResponse', body, envCtx) }, 'ok', {
          overallStatus,
          ...injected,
        });
      }
      case 'server-fault': {
        const code = rule.apiFaultCode ?? 2;
        const message = rule.faultString ?? API_FAULT_MESSAGES[code] ?? 'An unexpected error occurred';
        return fault({ kind: 'server', code, message }, injected);
      }
      case 'client-fault':
        return fault({ kind: 'client', message: rule.faultString ?? 'The request was refused (injected client fault).' }, injected);
      case 'token-expired':
        return fault({ kind: 'security', message: 'Token Expired' }, injected);
      case 'html-502':
        if (!rule.afterCommit) return reply({ status: 502, contentType: 'text/html', body: BAD_GATEWAY_HTML }, 'error', injected);
        break;
      default:
        break;
    }
  }

  let outcome: OperationOutcome;
  try {
    const ctx: OperationContext = {
      store: rt.store,
      now,
      pageSize: rt.pageSize,
      dataDir: rt.dataDir,
      dateNormalization: rt.dateNormalization,
      listSendDelayMs: rt.listSendDelayMs,
      duplicateKeyErrorCode: rt.duplicateKeyErrorCode,
    };
    outcome = HANDLERS[action](ctx, msg);
  } catch (err) {
    rt.logger?.error({ err }, 'sandbox operation failed');
    return fault({ kind: 'server', code: 2, message: 'An unexpected error occurred' });
  }
  const ok: Reply = {
    status: 200,
    contentType: XML,
    body: responseEnvelope(`${action}Response`, outcome.body, envCtx),
  };
  const done = { overallStatus: outcome.overallStatus, ...injected };
  answerAfterCommit(rt, req, res, rule, ok, (r, result) => rt.calls.add({ ...info, httpStatus: r, result, ...done }));
}

/** Retrieve: ObjectType; Create/Delete/Perform: the xsi:type of the first object. */
function objectTypeOf(action: SoapOperation, msg: unknown): string | undefined {
  if (action === 'Retrieve') return textOf(child(child(msg, 'RetrieveRequest'), 'ObjectType'));
  if (action === 'Create' || action === 'Delete') return xsiTypeOf(firstOf(child(msg, 'Objects')));
  return xsiTypeOf(child(child(msg, 'Definitions'), 'Definition'));
}

/** Objects is [1..n]: the parser gives an array when there are several. */
function firstOf(value: unknown): unknown {
  return Array.isArray(value) ? value[0] : value;
}
