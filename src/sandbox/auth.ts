import { randomBytes, timingSafeEqual } from 'node:crypto';
import { textOf } from '../sfmc/xml.js';
import { child } from './envelope.js';
import type { AuthMode, SandboxCredentials } from './types.js';

/** OAuth2 client credentials at /v2/token, and the two SOAP header logins SFMC accepts. */

const ERROR_URI = 'https://developer.salesforce.com/docs';

// What an API Integration package typically grants; echoed when the request names no scope.
const DEFAULT_SCOPE =
  'email_read email_write email_send list_and_subscribers_read list_and_subscribers_write data_extensions_read data_extensions_write';

interface IssuedToken {
  expiresAt: number;
}

export interface TokenResponse {
  status: number;
  body: Record<string, unknown>;
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export class TokenIssuer {
  private readonly tokens = new Map<string, IssuedToken>();

  constructor(
    private readonly credentials: SandboxCredentials,
    private readonly ttlSeconds: number,
    private readonly now: () => number,
    private readonly baseUrl: string,
    /** What soap_instance_url says; default this sandbox (`${baseUrl}/`). */
    private readonly soapInstanceUrl = `${baseUrl}/`,
  ) {}

  /**
   * Checks a /v2/token request (the parsed JSON body, undefined when it was not JSON). Returns
   * the error response to send, or undefined when a token may be issued.
   */
  refuse(body: unknown): TokenResponse | undefined {
    if (!body || typeof body !== 'object' || Array.isArray(body)) {
      return { status: 400, body: { error: 'invalid_request', error_description: 'The request body must be a JSON object.', error_uri: ERROR_URI } };
    }
    const req = body as Record<string, unknown>;
    if (req['grant_type'] !== 'client_credentials') {
      // SFMC's exact wording for other grant types is UNVERIFIED.
      return {
        status: 400,
        body: { error: 'unsupported_grant_type', error_description: 'Use "client_credentials" as the grant type.', error_uri: ERROR_URI },
      };
    }
    const idOk = typeof req['client_id'] === 'string' && sameSecret(req['client_id'], this.credentials.clientId);
    const secretOk = typeof req['client_secret'] === 'string' && sameSecret(req['client_secret'], this.credentials.clientSecret);
    // A wrong account_id gets the same 401 as a wrong secret: SFMC's body for that case is
    // UNVERIFIED, and a client must treat both as "these credentials cannot work".
    const account = req['account_id'];
    const accountOk = account === undefined || String(account) === this.credentials.accountId;
    if (!idOk || !secretOk || !accountOk) {
      return {
        status: 401,
        body: { error: 'invalid_client', error_description: 'Client authentication failed.', error_uri: ERROR_URI },
      };
    }
    return undefined;
  }

  /** Issues a token for a request `refuse` accepted. Tokens are random and opaque. */
  mint(body: unknown): TokenResponse {
    const scope = (body as Record<string, unknown>)['scope'];
    const token = randomBytes(32).toString('base64url');
    this.tokens.set(token, { expiresAt: this.now() + this.ttlSeconds * 1000 });
    return {
      status: 200,
      body: {
        access_token: token,
        token_type: 'Bearer',
        expires_in: this.ttlSeconds,
        scope: typeof scope === 'string' && scope !== '' ? scope : DEFAULT_SCOPE,
        soap_instance_url: this.soapInstanceUrl,
        rest_instance_url: `${this.baseUrl}/`,
      },
    };
  }

  check(token: string): 'valid' | 'expired' | 'unknown' {
    const issued = this.tokens.get(token);
    if (!issued) return 'unknown';
    return this.now() >= issued.expiresAt ? 'expired' : 'valid';
  }

  /** Forgets expired tokens so a long-running sandbox does not keep every token ever issued. */
  sweep(olderThanMs = 24 * 3600_000): void {
    const limit = this.now() - olderThanMs;
    for (const [token, t] of this.tokens) if (t.expiresAt < limit) this.tokens.delete(token);
  }
}

export type SoapAuth = { ok: true; mode: AuthMode } | { ok: false; mode: AuthMode; message: string };

const PASSWORD_TEXT = /#PasswordText$/;

/**
 * Authenticates the SOAP Header: `fueloauth` (OAuth2 token) first, else WS-Security
 * UsernameToken with a PasswordText password. Security fault strings are SFMC's own
 * (`Login failed`, `Token Expired`).
 */
export function authenticateSoap(header: unknown, issuer: TokenIssuer, credentials: SandboxCredentials): SoapAuth {
  const fuel = child(header, 'fueloauth');
  if (fuel !== undefined) {
    const state = issuer.check(textOf(fuel)?.trim() ?? '');
    if (state === 'valid') return { ok: true, mode: 'oauth' };
    return { ok: false, mode: 'oauth', message: state === 'expired' ? 'Token Expired' : 'Login failed' };
  }
  const usernameToken = child(child(header, 'Security'), 'UsernameToken');
  if (usernameToken !== undefined) {
    const username = textOf(child(usernameToken, 'Username')) ?? '';
    const passwordEl = child(usernameToken, 'Password');
    const password = textOf(passwordEl) ?? '';
    const type = passwordEl && typeof passwordEl === 'object' ? (passwordEl as Record<string, unknown>)['@_Type'] : undefined;
    // SFMC supports only PasswordText; a digest can never match here.
    const textType = type === undefined || (typeof type === 'string' && PASSWORD_TEXT.test(type));
    const ok = textType && sameSecret(username, credentials.username) && sameSecret(password, credentials.password);
    return ok ? { ok: true, mode: 'wsse' } : { ok: false, mode: 'wsse', message: 'Login failed' };
  }
  // WSE's wording for a message with no security header at all; what SFMC answers is UNVERIFIED.
  return {
    ok: false,
    mode: 'none',
    message: 'Security requirements are not satisfied because the security header is not present in the incoming message.',
  };
}
