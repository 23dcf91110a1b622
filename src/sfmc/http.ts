import { EventEmitter } from 'node:events';
import { Agent, type Dispatcher } from 'undici';

/**
 * The HTTP pieces shared by the token request and the SOAP chokepoint: one keep-alive Agent and a
 * body reader with a size cap.
 */

/** A SOAP reply larger than this is refused: the biggest real page (2,500 rows) is far smaller. */
export const DEFAULT_MAX_RESPONSE_BYTES = 50 * 1024 * 1024;

/**
 * One Agent per client: it pools keep-alive connections per origin, and the SOAP origin is only
 * known once the token names it. The connect timeout is capped at 30 s: a TCP/TLS handshake that
 * takes longer than that is dead, whatever the (long) SOAP call timeout is.
 */
export function createDispatcher(timeoutMs: number): Agent {
  return new Agent({
    keepAliveTimeout: 30_000,
    connect: { timeout: Math.min(timeoutMs, 30_000) },
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
  });
}

/** One exchange's deadline, joined with the caller's signal: see `exchangeDeadline`. */
export interface ExchangeDeadline {
  /** Emits `abort` when the deadline passes (reason: a `TimeoutError`) or the caller's signal aborts. */
  signal: DeadlineSignal;
  /** Whether the deadline, not the caller, ended the exchange. */
  timedOut(): boolean;
  /** Ends the deadline: call once the reply is read or the exchange failed. */
  release(): void;
}

/**
 * The signal an exchange hands undici: an EventEmitter with `aborted` and `reason`, which undici's
 * `request` takes as well as an AbortSignal (its `signal` option: "AbortSignal | EventEmitter";
 * undici/lib/core/util.js addAbortListener listens with `once('abort')` and reads `reason`). An
 * AbortController made per SOAP call cost about 10 µs of CPU in Node 20 (an EventTarget, plus
 * undici's listener bookkeeping on it), a few per cent of a call's client-side CPU (bench item 1).
 */
export class DeadlineSignal extends EventEmitter {
  aborted = false;
  reason: unknown = undefined;

  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.emit('abort');
  }
}

/**
 * A deadline for one HTTP exchange that lets go of everything once `release()` is called. Not
 * AbortSignal.timeout + AbortSignal.any: the timeout's timer stays for its whole delay
 * (SFMC_TIMEOUT_MS) after the reply came, linked to the signals by WeakRefs that V8's
 * young-generation GC keeps alive, so every call's signals, its undici request and what they
 * reached were promoted to the old space to wait there for a full GC: a fifth of the bytes the
 * worker promoted while polling in bench item 3 (a sampling heap profile), which grew its heap.
 */
export function exchangeDeadline(timeoutMs: number, callerSignal?: AbortSignal): ExchangeDeadline {
  const signal = new DeadlineSignal();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    signal.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError'));
  }, timeoutMs);
  const onCallerAbort = () => signal.abort(callerSignal?.reason);
  if (callerSignal?.aborted) onCallerAbort();
  else callerSignal?.addEventListener('abort', onCallerAbort, { once: true });
  return {
    signal,
    timedOut: () => timedOut,
    release() {
      clearTimeout(timer);
      callerSignal?.removeEventListener('abort', onCallerAbort);
    },
  };
}

export class ResponseTooLargeError extends Error {
  override name = 'ResponseTooLargeError';
  constructor(readonly limit: number) {
    super(`response body exceeds ${limit} bytes`);
  }
}

/**
 * Reads the whole body as UTF-8, refusing it past `maxBytes` (checked on Content-Length first,
 * then, for a body without one, while streaming). On refusal the stream is destroyed, which frees the socket.
 */
export async function readBodyCapped(response: Dispatcher.ResponseData, maxBytes: number): Promise<string> {
  const declared = Number(response.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) {
    response.body.destroy();
    throw new ResponseTooLargeError(maxBytes);
  }
  // A declared length within the cap bounds the body already: HTTP/1.1 framing reads exactly that
  // many bytes (undici's parser fails a body that ends short). undici's own reader then does in one
  // step what the loop below does chunk by chunk (the async iterator costs several µs a reply).
  if (Number.isFinite(declared) && response.headers['transfer-encoding'] === undefined) return response.body.text();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of response.body) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
    size += buf.length;
    if (size > maxBytes) {
      response.body.destroy();
      throw new ResponseTooLargeError(maxBytes);
    }
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Releases a body nobody will read (an error path), so the connection goes back to the pool. */
export async function discardBody(response: Dispatcher.ResponseData): Promise<void> {
  try {
    await response.body.dump();
  } catch {
    // Nothing useful to do: the socket is destroyed instead of reused.
  }
}

export function headerValue(headers: Dispatcher.ResponseData['headers'], name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}
