import { createHash } from 'node:crypto';
import { request, type Dispatcher } from 'undici';
import { z } from 'zod';
import { isSandboxHost, type SfmcAuthConfig } from '../config.js';
import type { Logger } from '../logger.js';
import { badTokenResponse, classifyTokenResponse, classifyTransportError } from './classify.js';
import { fueloauthHeader, wsseHeader } from './envelope.js';
import { SfmcError } from './errors.js';
import { exchangeDeadline, readBodyCapped, ResponseTooLargeError } from './http.js';
import type { XmlNode } from './xml.js';

/**
 * Authentication for the SOAP client: an OAuth2 client-credentials token provider with a shared
 * cache and single-flight refresh, and the WS-Security alternative.
 */

export interface TokenRecord {
  accessToken: string;
  /** Epoch ms at which SFMC stops accepting the token. */
  expiresAt: number;
  /** `soap_instance_url` + `Service.asmx`, from the same token response. */
  soapUrl?: string;
}

/**
 * Where tokens are cached. Async-capable so a Redis-backed, encrypted store can let several worker
 * processes share one token (SFMC asks for about one token request per 20 minutes per client).
 * Keys are opaque hashes (no client id or secret in a key name).
 */
export interface TokenStore {
  get(key: string): Promise<TokenRecord | undefined> | TokenRecord | undefined;
  set(key: string, record: TokenRecord): Promise<void> | void;
  /**
   * For stores shared between processes: take the refresh lock of `key` for at most `ttlMs`.
   * Resolves to a release function, or to undefined while another process holds the lock (that
   * process is fetching the token the caller will then find in the store). Without this method
   * each process refreshes on its own.
   */
  acquireRefreshLock?(key: string, ttlMs: number): Promise<(() => Promise<void>) | undefined>;
}

export class MemoryTokenStore implements TokenStore {
  private readonly records = new Map<string, TokenRecord>();
  get(key: string): TokenRecord | undefined {
    return this.records.get(key);
  }
  set(key: string, record: TokenRecord): void {
    this.records.set(key, record);
  }
}

export interface GetTokenOptions {
  /** Skip the cached token (a `Token Expired` fault). */
  forceRefresh?: boolean;
  /**
   * The token SFMC just refused: never handed back. When the cache already holds a different,
   * fresh token (another caller refreshed first), that one is used without a new request.
   */
  rejectToken?: string;
  /** Stops this caller waiting; a shared refresh in flight carries on for the others. */
  signal?: AbortSignal;
}

export interface TokenProvider {
  getToken(options?: GetTokenOptions): Promise<TokenRecord>;
}

export type OAuth2Config = Extract<SfmcAuthConfig, { mode: 'oauth2' }>;

export interface TokenProviderOptions {
  auth: OAuth2Config;
  dispatcher: Dispatcher;
  timeoutMs: number;
  store?: TokenStore;
  now?: () => number;
  /** Refresh when fewer than this many ms remain. Default DEFAULT_REFRESH_SKEW_MS (60 s). */
  refreshSkewMs?: number;
  logger?: Logger;
}

/**
 * 60 s before expiry (SFMC_TOKEN_REFRESH_MARGIN_MS, issue #14). SFMC's tokens live 1,079 s
 * (access-token-s2s page: `expires_in` 1079), so a token is replaced every 1,019 s: 4 requests an
 * hour, the floor for a client that never uses an expired token (3,600 / 1,079 > 3). The
 * FuelSDKs (Python, C#) refresh 300 s early, which makes 5 an hour; 60 s still covers the clock
 * skew between us and SFMC (expiry is counted from when our request started) and a call in flight
 * when the token runs out, and a `Token Expired` fault forces one refresh anyway.
 */
export const DEFAULT_REFRESH_SKEW_MS = 60_000;
const MAX_TOKEN_RESPONSE_BYTES = 1024 * 1024;

const tokenResponseSchema = z.object({
  access_token: z.string().min(1),
  expires_in: z.number().positive(),
  soap_instance_url: z.string().min(1).optional(),
});

/** Where SFMC's tenant-specific endpoints live (`{subdomain}.soap.marketingcloudapis.com`). */
const SFMC_API_DOMAIN = '.marketingcloudapis.com';

export const SOAP_INSTANCE_URL_RULE =
  'must use https:// on a host under .marketingcloudapis.com (plain http or another host only for loopback and SFMC_ALLOW_HTTP_HOSTS)';

/**
 * Whether a token response's soap_instance_url may receive the access token. SFMC documents it as
 * `https://{subdomain}.soap.marketingcloudapis.com/` (access-token-s2s page; tenant-specific
 * endpoints page), so anything else means a compromised or misdirected auth endpoint. The
 * loopback / SFMC_ALLOW_HTTP_HOSTS exception is config.ts's rule for configured URLs, reused.
 */
export function soapInstanceUrlAllowed(value: string, allowHttpHosts: readonly string[] = []): boolean {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return false;
  if (isSandboxHost(url.hostname, allowHttpHosts)) return true;
  return url.protocol === 'https:' && url.hostname.toLowerCase().endsWith(SFMC_API_DOMAIN);
}

/** `https://x.soap.marketingcloudapis.com/` → `https://x.soap.marketingcloudapis.com/Service.asmx`. */
export function soapUrlFromInstanceUrl(instanceUrl: string): string {
  return `${instanceUrl.replace(/\/+$/, '')}/Service.asmx`;
}

/** One cache entry per (auth URL, client, business unit); hashed so no identifier leaks into a key. */
export function tokenCacheKey(auth: OAuth2Config): string {
  const digest = createHash('sha256')
    .update(`${auth.authUrl}\n${auth.clientId}\n${auth.accountId ?? ''}`)
    .digest('hex')
    .slice(0, 32);
  return `sfmc-token:${digest}`;
}

export function createTokenProvider(options: TokenProviderOptions): TokenProvider {
  const { auth, dispatcher, timeoutMs } = options;
  const store: TokenStore = options.store ?? new MemoryTokenStore();
  const now = options.now ?? Date.now;
  const skew = options.refreshSkewMs ?? DEFAULT_REFRESH_SKEW_MS;
  const key = tokenCacheKey(auth);
  const tokenUrl = `${auth.authUrl.replace(/\/+$/, '')}/v2/token`;
  let inFlight: Promise<TokenRecord> | undefined;
  /**
   * This process's copy of the token it last read from the store or fetched (issue #14): while it
   * is usable (the same test as the store's: not refused, and outside the refresh margin) a call
   * reads no shared store, which for RedisTokenStore is a Redis GET and a decryption per SOAP
   * call. Once it nears expiry, or SFMC refuses it, the store is read again, so a token another
   * process refreshed is still found there and fetched only once across processes.
   */
  let local: TokenRecord | undefined;

  function usable(record: TokenRecord | undefined, opts: GetTokenOptions): record is TokenRecord {
    if (!record) return false;
    if (opts.rejectToken !== undefined && record.accessToken === opts.rejectToken) return false;
    // forceRefresh without rejectToken means "not this cache"; with it, a different token is news.
    if (opts.forceRefresh && opts.rejectToken === undefined) return false;
    return now() < record.expiresAt - skew;
  }

  async function fetchToken(): Promise<TokenRecord> {
    const startedAt = now();
    const body = JSON.stringify({
      grant_type: 'client_credentials',
      client_id: auth.clientId,
      client_secret: auth.clientSecret,
      ...(auth.accountId ? { account_id: auth.accountId } : {}),
    });
    const deadline = exchangeDeadline(timeoutMs);
    let text: string;
    let status: number;
    try {
      const res = await request(tokenUrl, {
        method: 'POST',
        dispatcher,
        signal: deadline.signal,
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body,
      });
      status = res.statusCode;
      text = await readBodyCapped(res, MAX_TOKEN_RESPONSE_BYTES);
    } catch (err) {
      if (err instanceof ResponseTooLargeError) throw badTokenResponse('the reply is too large');
      throw classifyTransportError(err, { operation: 'token', phase: 'token', timedOut: deadline.timedOut() });
    } finally {
      deadline.release();
    }
    if (status !== 200) throw classifyTokenResponse(status, text);

    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw badTokenResponse('the reply is not JSON');
    }
    const parsed = tokenResponseSchema.safeParse(json);
    if (!parsed.success) {
      throw badTokenResponse(`missing or invalid ${parsed.error.issues.map((i) => i.path.join('.')).join(', ')}`);
    }
    const record: TokenRecord = {
      accessToken: parsed.data.access_token,
      // Counted from when the request started, so clock skew errs towards refreshing early.
      expiresAt: startedAt + parsed.data.expires_in * 1000,
      ...(parsed.data.soap_instance_url ? { soapUrl: soapUrlFromInstanceUrl(parsed.data.soap_instance_url) } : {}),
    };
    await store.set(key, record);
    options.logger?.debug({ event: 'token-refreshed', expiresInS: parsed.data.expires_in }, 'sfmc token refreshed');
    return record;
  }

  /**
   * One token request per account across every process sharing the store: the holder of the
   * store's refresh lock fetches, the others wait for its token to appear in the store. A holder
   * that dies leaves the lock to expire, and the next waiter takes it over.
   */
  async function refreshAcrossProcesses(
    acquire: NonNullable<TokenStore['acquireRefreshLock']>,
    opts: GetTokenOptions,
  ): Promise<TokenRecord> {
    const lockTtlMs = Math.min(timeoutMs, 30_000) + 2_000;
    const giveUpAt = now() + lockTtlMs * 3;
    for (let wait = 25; ; wait = Math.min(wait * 2, 250)) {
      const release = await acquire(key, lockTtlMs);
      if (release) {
        try {
          // Another process may have stored a fresh token between our read and the lock.
          const fresh = await store.get(key);
          return usable(fresh, opts) ? fresh : await fetchToken();
        } finally {
          await release().catch(() => {});
        }
      }
      // Not the first caller's signal: this refresh is shared, and carries on for the others.
      await new Promise((resolve) => setTimeout(resolve, wait));
      const fresh = await store.get(key);
      if (usable(fresh, { rejectToken: opts.rejectToken })) return fresh;
      if (now() > giveUpAt) {
        throw new SfmcError('timeout', 'another worker has held the SFMC token refresh lock too long without storing a token; retry later', {
          kind: 'retryable',
          mayHaveTakenEffect: false,
          context: { operation: 'token' },
        });
      }
    }
  }

  return {
    async getToken(opts: GetTokenOptions = {}): Promise<TokenRecord> {
      opts.signal?.throwIfAborted();
      if (usable(local, opts)) return local;
      const cached = await store.get(key);
      if (usable(cached, opts)) return (local = cached);
      // Single flight: no await between the check and the assignment, so concurrent callers on a
      // cold cache all join the first caller's request.
      if (!inFlight) {
        const acquire = store.acquireRefreshLock?.bind(store);
        inFlight = (acquire ? refreshAcrossProcesses(acquire, opts) : fetchToken())
          .then((record) => (local = record))
          .finally(() => {
            inFlight = undefined;
          });
      }
      const record = await waitFor(inFlight, opts.signal);
      if (opts.rejectToken !== undefined && record.accessToken === opts.rejectToken) {
        throw new SfmcError(
          'token-expired',
          'the SFMC token endpoint handed back the token SFMC had just refused as expired; retry later',
          { kind: 'auth-expired', mayHaveTakenEffect: false, context: { operation: 'token' } },
        );
      }
      return record;
    },
  };
}

/** Waits for a shared promise, letting this caller give up on its own signal. */
function waitFor<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

// ---------------------------------------------------------------------------------------------

/** What one SOAP call needs from authentication. */
export interface Authorization {
  header: XmlNode;
  soapUrl: string;
  /** The OAuth2 token used, so a `Token Expired` fault can name the one to reject. */
  accessToken?: string;
}

export interface SfmcAuth {
  readonly mode: SfmcAuthConfig['mode'];
  authorize(options?: GetTokenOptions): Promise<Authorization>;
}

export interface AuthOptions {
  auth: SfmcAuthConfig;
  /** An explicit endpoint wins over the token's soap_instance_url; required for WS-Security. */
  soapUrl?: string;
  /** Besides loopback, hosts a token's soap_instance_url may name outside SFMC (SFMC_ALLOW_HTTP_HOSTS). */
  allowHttpHosts?: readonly string[];
  dispatcher: Dispatcher;
  timeoutMs: number;
  tokenStore?: TokenStore;
  now?: () => number;
  refreshSkewMs?: number;
  logger?: Logger;
}

export function createAuth(options: AuthOptions): SfmcAuth {
  const { auth } = options;
  if (auth.mode === 'wsse') {
    const soapUrl = options.soapUrl;
    // WS-Security has no token exchange: the same header goes on every call.
    return {
      mode: 'wsse',
      async authorize() {
        if (!soapUrl) {
          throw new SfmcError('auth-failed', 'WS-Security needs an explicit SOAP endpoint: set SFMC_SOAP_URL or SFMC_SUBDOMAIN', {
            kind: 'fatal',
            mayHaveTakenEffect: false,
          });
        }
        return { header: wsseHeader(auth.username, auth.password), soapUrl };
      },
    };
  }
  const provider = createTokenProvider({
    auth,
    dispatcher: options.dispatcher,
    timeoutMs: options.timeoutMs,
    store: options.tokenStore,
    now: options.now,
    refreshSkewMs: options.refreshSkewMs,
    logger: options.logger,
  });
  return {
    mode: 'oauth2',
    async authorize(opts) {
      const record = await provider.getToken(opts);
      // Checked where it is used, so a URL from the shared token store is checked too. The URL is
      // not quoted: whatever it holds came from outside.
      if (options.soapUrl === undefined && record.soapUrl !== undefined && !soapInstanceUrlAllowed(record.soapUrl, options.allowHttpHosts)) {
        throw new SfmcError(
          'bad-response',
          `the token response's soap_instance_url was refused: it ${SOAP_INSTANCE_URL_RULE}. No SOAP call was made with the token. ` +
            'Check SFMC_AUTH_URL, or name the endpoint with SFMC_SOAP_URL or SFMC_SUBDOMAIN',
          { kind: 'fatal', mayHaveTakenEffect: false, context: { operation: 'token' } },
        );
      }
      const soapUrl = options.soapUrl ?? record.soapUrl;
      if (!soapUrl) {
        throw new SfmcError(
          'bad-response',
          'the token response names no soap_instance_url and no SOAP endpoint is configured: set SFMC_SOAP_URL or SFMC_SUBDOMAIN',
          { kind: 'fatal', mayHaveTakenEffect: false, context: { operation: 'token' } },
        );
      }
      return { header: fueloauthHeader(record.accessToken), soapUrl, accessToken: record.accessToken };
    },
  };
}
