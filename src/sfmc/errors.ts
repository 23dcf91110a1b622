import { ServiceError, type FailureKind } from '../errors.js';

/**
 * One catalog of everything that can go wrong talking to SFMC. Callers match on `code` and
 * `kind`, never on message text.
 */

export type SfmcErrorCode =
  /** Connection refused, reset, DNS: the socket failed. */
  | 'transport'
  /** No complete reply within SFMC_TIMEOUT_MS. */
  | 'timeout'
  /** A reply that is not a SOAP message: an HTML error page from a proxy, a bare status. */
  | 'http-status'
  /** XML that is truncated, malformed, in the wrong namespace or carries a DTD. */
  | 'bad-response'
  /** SFMC throttling: a `Rate Limited` soap:Server fault (HTTP 500), or a bare 500 / 429. */
  | 'throttled'
  /** soap:Server fault; `context.apiFaultCode` says which. */
  | 'server-fault'
  /** soap:Client fault: the request itself was refused. */
  | 'client-fault'
  /** Security fault other than an expired token (Login failed). */
  | 'security-fault'
  /** Security fault `Token Expired`. */
  | 'token-expired'
  /** The OAuth2 token endpoint refused the credentials. */
  | 'auth-failed'
  /** OverallStatus said Error / Has Errors / Error: ..., see `context.errorCode`. */
  | 'result-error'
  /** Not sent: the account's SOAP call budget (budget.ts) is used up or paused. */
  | 'budget-exhausted';

/** What a caller should do about a failure: the pipeline's kinds, plus one token refresh for `auth-expired`. */
export type ErrorKind = FailureKind | 'auth-expired';

export interface SfmcErrorContext {
  operation?: string;
  httpStatus?: number;
  contentType?: string;
  faultCode?: string;
  faultString?: string;
  apiFaultCode?: number;
  overallStatus?: string;
  statusMessage?: string;
  errorCode?: number;
  requestId?: string;
}

export class SfmcError extends ServiceError<SfmcErrorCode, ErrorKind> {
  override readonly name: string = 'SfmcError';
  readonly context: SfmcErrorContext;

  constructor(
    code: SfmcErrorCode,
    message: string,
    options: { kind: ErrorKind; mayHaveTakenEffect: boolean; context?: SfmcErrorContext; cause?: unknown },
  ) {
    // mayHaveTakenEffect: a timeout, a reset after the body was written, a gateway error. Create
    // Send must look before it repeats such a call.
    super(code, message, options.kind, options.mayHaveTakenEffect, { cause: options.cause });
    this.context = options.context ?? {};
  }

  toJSON(): Record<string, unknown> {
    return { name: this.name, code: this.code, kind: this.kind, message: this.message, context: this.context };
  }
}

export function isSfmcError(err: unknown): err is SfmcError {
  return err instanceof SfmcError;
}
