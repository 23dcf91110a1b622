import type { IncomingMessage, ServerResponse } from 'node:http';
import { BAD_GATEWAY_HTML } from './responses.js';
import { answerAfterCommit, dropConnection, send, sendJson, type Runtime } from './runtime.js';
import type { CallRecord } from './types.js';

/** The JSON body of a token request; SFMC documents JSON, form encoding is accepted as a courtesy. */
function parseTokenBody(raw: string, contentType: string | undefined): unknown {
  if ((contentType ?? '').toLowerCase().startsWith('application/x-www-form-urlencoded')) {
    return Object.fromEntries(new URLSearchParams(raw));
  }
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * POST /v2/token. Injected faults apply only to requests that would get a token, and the
 * pre-commit ones (server-fault, html-502, throttle, reset) leave no token issued.
 */
export function handleToken(rt: Runtime, req: IncomingMessage, res: ServerResponse, raw: string): void {
  const base = { path: '/v2/token', operation: 'token' as const, auth: 'client-credentials' as const };
  const body = parseTokenBody(raw, req.headers['content-type']);

  const refused = rt.issuer.refuse(body);
  if (refused) {
    rt.calls.add({ ...base, httpStatus: refused.status, result: 'error', fault: String(refused.body['error']) });
    return sendJson(res, refused.status, refused.body);
  }

  const rule = rt.faults.match('token', undefined);
  const injected = rule ? { injected: rule.kind } : {};
  const log = (httpStatus: number | null, result: CallRecord['result'], fault?: string) =>
    rt.calls.add({ ...base, httpStatus, result, ...(fault ? { fault } : {}), ...injected });

  switch (rule?.kind) {
    case 'reset':
      log(null, 'dropped');
      return dropConnection(req, true);
    case 'server-fault':
      log(500, 'error', 'server_error');
      // The auth server's 500 body is UNVERIFIED; this mirrors its 4xx error shape.
      return sendJson(res, 500, { error: 'server_error', error_description: 'An unexpected error occurred', error_uri: 'https://developer.salesforce.com/docs' });
    case 'throttle':
      log(500, 'error');
      return send(res, { status: 500, contentType: 'text/plain', body: '' });
    case 'html-502':
      if (!rule.afterCommit) {
        log(502, 'error');
        return send(res, { status: 502, contentType: 'text/html', body: BAD_GATEWAY_HTML });
      }
      break;
    default:
      break;
  }

  const issued = rt.issuer.mint(body);
  const ok = { status: issued.status, contentType: 'application/json; charset=utf-8', body: JSON.stringify(issued.body) };
  answerAfterCommit(rt, req, res, rule, ok, log);
}
