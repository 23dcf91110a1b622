import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { TokenIssuer } from './auth.js';
import type { CallLog } from './calls.js';
import { BAD_GATEWAY_HTML } from './responses.js';
import type { FaultInjector } from './faults.js';
import type { SandboxStore } from './state.js';
import type { CallRecord, FaultRule, SandboxCredentials } from './types.js';

/** Everything a request handler needs, built once per sandbox. */
export interface Runtime {
  now: () => number;
  store: SandboxStore;
  issuer: TokenIssuer;
  faults: FaultInjector;
  calls: CallLog;
  credentials: SandboxCredentials;
  pageSize: number;
  dataDir?: string;
  /** SandboxOptions.dateNormalization, default true. */
  dateNormalization: boolean;
  /** SandboxOptions.listSendDelayMs, default 0. */
  listSendDelayMs: number;
  duplicateKeyErrorCode: 43030 | 1;
  /** First schema error of a standalone Body child, or undefined when it is valid. */
  validateBody?: (xml: string) => string | undefined;
  soapUrl: string;
  logger?: Logger;
  /** Answers held back by `delay` faults; cleared on close. */
  timers: Set<NodeJS.Timeout>;
}

export interface Reply {
  status: number;
  contentType?: string;
  body: string;
}

export function send(res: ServerResponse, reply: Reply): void {
  if (res.destroyed || res.headersSent) return;
  const headers: Record<string, string | number> = { 'Content-Length': Buffer.byteLength(reply.body) };
  if (reply.contentType) headers['Content-Type'] = reply.contentType;
  res.writeHead(reply.status, headers);
  res.end(reply.body);
}

export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  send(res, { status, contentType: 'application/json; charset=utf-8', body: value === undefined ? '' : JSON.stringify(value) });
}

/**
 * Ends the connection without an answer. `reset` sends a TCP RST (the client sees ECONNRESET);
 * otherwise the socket just closes (the client sees the other side hang up).
 */
export function dropConnection(req: IncomingMessage, hard: boolean): void {
  const socket = req.socket;
  if (hard && typeof socket.resetAndDestroy === 'function') socket.resetAndDestroy();
  else socket.destroy();
}

/** Runs `fn` after `ms`, unless the sandbox closes first. */
export function later(rt: Runtime, ms: number, fn: () => void): void {
  const timer = setTimeout(() => {
    rt.timers.delete(timer);
    fn();
  }, ms);
  rt.timers.add(timer);
}

export const MAX_BODY_BYTES = 10 * 1024 * 1024;

export class BodyTooLargeError extends Error {
  override name = 'BodyTooLargeError';
}

export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > MAX_BODY_BYTES) throw new BodyTooLargeError(`request body over ${MAX_BODY_BYTES} bytes`);
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * The faults that let the operation run first (delay, drop-after-commit, html-502 afterCommit),
 * shared by the SOAP and token endpoints; otherwise the plain answer.
 */
export function answerAfterCommit(
  rt: Runtime,
  req: IncomingMessage,
  res: ServerResponse,
  rule: FaultRule | undefined,
  ok: Reply,
  log: (status: number | null, result: CallRecord['result']) => void,
): void {
  if (rule?.kind === 'drop-after-commit') {
    log(null, 'dropped');
    return dropConnection(req, false);
  }
  if (rule?.kind === 'html-502') {
    log(502, 'error');
    return send(res, { status: 502, contentType: 'text/html', body: BAD_GATEWAY_HTML });
  }
  log(ok.status, 'ok');
  if (rule?.kind === 'delay') return later(rt, rule.delayMs ?? 0, () => send(res, ok));
  send(res, ok);
}
