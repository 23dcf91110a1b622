import type { IncomingMessage, ServerResponse } from 'node:http';
import { handleControl } from './control.js';
import { BodyTooLargeError, readBody, send, sendJson, type Runtime } from './runtime.js';
import { handleSoap } from './soap-endpoint.js';
import { handleToken } from './token-endpoint.js';
import type { Sandbox } from './types.js';

type ControlApi = Pick<Sandbox, 'reset' | 'setImportBehaviour' | 'setSendBehaviour' | 'addList' | 'addEmail'>;

/** Routing only: each endpoint lives in its own module. */
export function requestHandler(rt: Runtime, api: ControlApi): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    route(rt, api, req, res).catch((err: unknown) => {
      rt.logger?.error({ err }, 'sandbox request failed');
      if (!res.headersSent && !res.destroyed) sendJson(res, 500, { error: 'sandbox internal error' });
    });
  };
}

async function route(rt: Runtime, api: ControlApi, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const method = req.method ?? 'GET';
  const path = new URL(req.url ?? '/', 'http://sandbox').pathname;
  let raw: string;
  try {
    raw = await readBody(req);
  } catch (err) {
    if (err instanceof BodyTooLargeError) return send(res, { status: 413, contentType: 'text/plain', body: err.message });
    throw err;
  }

  if (path.startsWith('/__sandbox/')) return handleControl(rt, api, method, path, raw, res);
  // IIS paths are case-insensitive; clients write both /Service.asmx and /service.asmx.
  if (path.toLowerCase() === '/service.asmx') {
    if (method !== 'POST') return send(res, { status: 405, contentType: 'text/plain', body: 'Service.asmx takes POST' });
    return handleSoap(rt, req, res, raw);
  }
  if (path === '/v2/token') {
    if (method !== 'POST') return send(res, { status: 405, contentType: 'text/plain', body: '/v2/token takes POST' });
    return handleToken(rt, req, res, raw);
  }
  sendJson(res, 404, { error: `no endpoint ${method} ${path}` });
}
