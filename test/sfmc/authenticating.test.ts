import { afterEach, describe, expect, it } from 'vitest';
import { createSandbox, type Sandbox, type SandboxOptions } from '../../src/sandbox/index.js';
import type { SfmcConfig } from '../../src/config.js';
import { createTokenProvider, MemoryTokenStore, tokenCacheKey, type TokenRecord, type TokenStore } from '../../src/sfmc/auth.js';
import { createSfmcClient, type SfmcClient, type SfmcClientOptions } from '../../src/sfmc/client.js';
import { createDispatcher } from '../../src/sfmc/http.js';
import { okReplyFor, rejection, startStub, type Stub } from './support.js';

/** Auth against the real sandbox on loopback: its /v2/token and its Service.asmx. */

const MINUTE = 60_000;

let sandbox: Sandbox | undefined;
const clients: SfmcClient[] = [];
let stub: Stub | undefined;

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await sandbox?.close();
  await stub?.close();
  sandbox = undefined;
  stub = undefined;
});

async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  sandbox = await createSandbox(options);
  return sandbox;
}

function oauthConfig(sb: Sandbox, overrides: Partial<Extract<SfmcConfig['auth'], { mode: 'oauth2' }>> = {}): SfmcConfig {
  return {
    auth: {
      mode: 'oauth2',
      authUrl: sb.url,
      clientId: sb.credentials.clientId,
      clientSecret: sb.credentials.clientSecret,
      accountId: sb.credentials.accountId,
      ...overrides,
    },
    timeoutMs: 10_000,
  };
}

function client(options: SfmcClientOptions): SfmcClient {
  const c = createSfmcClient(options);
  clients.push(c);
  return c;
}

const tokenCalls = (sb: Sandbox) => sb.calls().filter((c) => c.operation === 'token');
const soapCalls = (sb: Sandbox) => sb.calls().filter((c) => c.path === '/Service.asmx');

describe('authenticating with OAuth2 client credentials', () => {
  it('caches the token: two calls, one token request', async () => {
    const sb = await startSandbox();
    const sfmc = client({ config: oauthConfig(sb) });
    expect(await sfmc.retrieveListsByName('Sample_List')).toEqual([{ id: '123', name: 'Sample_List' }]);
    await sfmc.retrieveListById('123');
    expect(tokenCalls(sb)).toHaveLength(1);
    expect(soapCalls(sb).map((c) => [c.result, c.auth])).toEqual([
      ['ok', 'oauth'],
      ['ok', 'oauth'],
    ]);
  });

  it('refreshes early, once fewer than 60 seconds of the token remain', async () => {
    const sb = await startSandbox({ tokenTtlSeconds: 1079 });
    let now = 1_700_000_000_000;
    const sfmc = client({ config: oauthConfig(sb), now: () => now });
    await sfmc.retrieveListById('123');
    now += 1_079_000 - 61_000; // 61 s left: still cached
    await sfmc.retrieveListById('123');
    expect(tokenCalls(sb)).toHaveLength(1);
    now += 2_000; // 59 s left: refreshed before use
    await sfmc.retrieveListById('123');
    expect(tokenCalls(sb)).toHaveLength(2);
    expect(soapCalls(sb).every((c) => c.result === 'ok')).toBe(true);
  });

  it('makes 4 token requests an hour for SFMC\'s 1,079-s tokens with the default margin', async () => {
    const sb = await startSandbox({ tokenTtlSeconds: 1079 });
    const start = 1_700_000_000_000;
    let now = start;
    const sfmc = client({ config: oauthConfig(sb), now: () => now });
    for (; now < start + 3_600_000; now += 10_000) await sfmc.retrieveListById('123');
    expect(tokenCalls(sb)).toHaveLength(4);
  });

  it('honours a configured refresh margin (tokenRefreshMarginMs, from SFMC_TOKEN_REFRESH_MARGIN_MS)', async () => {
    const sb = await startSandbox({ tokenTtlSeconds: 1200 });
    let now = 1_700_000_000_000;
    const sfmc = client({ config: { ...oauthConfig(sb), tokenRefreshMarginMs: 5 * MINUTE }, now: () => now });
    await sfmc.retrieveListById('123');
    now += 16 * MINUTE; // four minutes left, under the five-minute margin
    await sfmc.retrieveListById('123');
    expect(tokenCalls(sb)).toHaveLength(2);
  });

  it('lets the refreshSkewMs option win over the configured margin', async () => {
    const sb = await startSandbox({ tokenTtlSeconds: 1200 });
    let now = 1_700_000_000_000;
    const sfmc = client({ config: { ...oauthConfig(sb), tokenRefreshMarginMs: 5 * MINUTE }, now: () => now, refreshSkewMs: 10 * MINUTE });
    await sfmc.retrieveListById('123');
    now += 11 * MINUTE; // nine minutes left, under the ten-minute skew
    await sfmc.retrieveListById('123');
    expect(tokenCalls(sb)).toHaveLength(2);
  });

  it('makes one token request for 20 concurrent calls on a cold cache', async () => {
    const sb = await startSandbox();
    const sfmc = client({ config: oauthConfig(sb) });
    const results = await Promise.all(Array.from({ length: 20 }, () => sfmc.retrieveListsByName('Sample_List')));
    expect(results.every((r) => r.length === 1)).toBe(true);
    expect(tokenCalls(sb)).toHaveLength(1);
    expect(soapCalls(sb)).toHaveLength(20);
  });

  it('shares one token between clients that share a token store', async () => {
    const sb = await startSandbox();
    const store = new MemoryTokenStore();
    await client({ config: oauthConfig(sb), tokenStore: store }).retrieveListById('123');
    await client({ config: oauthConfig(sb), tokenStore: store }).retrieveListById('123');
    expect(tokenCalls(sb)).toHaveLength(1);
  });

  it('answers a Token Expired fault with one forced refresh and one retry', async () => {
    let sandboxNow = 1_700_000_000_000;
    const sb = await startSandbox({ now: () => sandboxNow });
    const sets: TokenRecord[] = [];
    const store = new MemoryTokenStore();
    const recording: TokenStore = { get: (k) => store.get(k), set: (k, r) => (sets.push(r), store.set(k, r)) };
    // The client's clock stands still, so it believes its token is fresh when SFMC does not.
    const sfmc = client({ config: oauthConfig(sb), now: () => 1_700_000_000_000, tokenStore: recording });
    await sfmc.retrieveListById('123');
    sandboxNow += 1080_000; // past the sandbox token's 1079 s

    expect(await sfmc.retrieveListById('123')).toEqual({ id: '123', name: 'Sample_List' });
    expect(soapCalls(sb).map((c) => [c.result, c.fault])).toEqual([
      ['ok', undefined],
      ['fault', expect.stringMatching(/Token Expired/)],
      ['ok', undefined],
    ]);
    expect(tokenCalls(sb)).toHaveLength(2);
    expect(sets).toHaveLength(2);
    expect(sets[1]?.accessToken).not.toBe(sets[0]?.accessToken);
  });

  it('retries only once when the fresh token is refused too', async () => {
    const sb = await startSandbox();
    const sfmc = client({ config: oauthConfig(sb) });
    sb.faults.inject({ operation: 'Retrieve', kind: 'token-expired', times: 5 });
    const e = await rejection(sfmc.retrieveListById('123'));
    expect({ code: e.code, kind: e.kind }).toEqual({ code: 'token-expired', kind: 'auth-expired' });
    expect(soapCalls(sb)).toHaveLength(2);
    expect(tokenCalls(sb)).toHaveLength(2);
  });

  it('fails with a fatal auth-failed on a wrong secret, without the secret in the message', async () => {
    const sb = await startSandbox();
    const wrongSecret = 'not-the-Secret-42';
    const sfmc = client({ config: oauthConfig(sb, { clientSecret: wrongSecret }) });
    const e = await rejection(sfmc.retrieveListById('123'));
    expect({ code: e.code, kind: e.kind, mayHaveTakenEffect: e.mayHaveTakenEffect }).toEqual({
      code: 'auth-failed',
      kind: 'fatal',
      mayHaveTakenEffect: false,
    });
    expect(e.message).not.toContain(wrongSecret);
    expect(JSON.stringify(e)).not.toContain(wrongSecret);
    expect(e.message).toMatch(/invalid_client/);
    expect(soapCalls(sb)).toHaveLength(0);
  });

  it('fails with auth-failed when the account_id is not the package\'s', async () => {
    const sb = await startSandbox();
    const e = await rejection(client({ config: oauthConfig(sb, { accountId: '999' }) }).retrieveListById('123'));
    expect(e.code).toBe('auth-failed');
  });

  it('takes the SOAP endpoint from the token response when none is configured', async () => {
    const sb = await startSandbox();
    const config = oauthConfig(sb);
    expect(config.soapUrl).toBeUndefined();
    await client({ config }).retrieveListById('123');
    expect(soapCalls(sb)).toHaveLength(1);
  });

  it('uses a configured SOAP endpoint over the token response', async () => {
    const sb = await startSandbox();
    stub = await startStub(okReplyFor);
    await client({ config: { ...oauthConfig(sb), soapUrl: `${stub.url}/Service.asmx` } }).retrieveListById('123');
    expect(stub.requests).toHaveLength(1);
    expect(stub.requests[0]?.body).toMatch(/<fueloauth xmlns="http:\/\/exacttarget.com">[^<]+<\/fueloauth>/);
    expect(soapCalls(sb)).toHaveLength(0);
    expect(tokenCalls(sb)).toHaveLength(1);
  });
});

describe('authenticating with WS-Security', () => {
  it('logs in with a UsernameToken on every call and never asks for a token', async () => {
    const sb = await startSandbox();
    const sfmc = client({
      config: {
        auth: { mode: 'wsse', username: sb.credentials.username, password: sb.credentials.password },
        soapUrl: sb.soapUrl,
        timeoutMs: 10_000,
      },
    });
    expect(await sfmc.retrieveListsByName('Sample_List')).toEqual([{ id: '123', name: 'Sample_List' }]);
    expect(soapCalls(sb).map((c) => [c.result, c.auth])).toEqual([['ok', 'wsse']]);
    expect(tokenCalls(sb)).toHaveLength(0);
  });

  it('fails with a fatal security-fault on a wrong password, without the password in the message', async () => {
    const sb = await startSandbox();
    const wrong = 'Wrong-Password-9';
    const sfmc = client({
      config: { auth: { mode: 'wsse', username: sb.credentials.username, password: wrong }, soapUrl: sb.soapUrl, timeoutMs: 10_000 },
    });
    const e = await rejection(sfmc.retrieveListById('123'));
    expect({ code: e.code, kind: e.kind }).toEqual({ code: 'security-fault', kind: 'fatal' });
    expect(e.message).not.toContain(wrong);
  });
});

describe('the token provider', () => {
  it('gives up on a token endpoint that never answers after timeoutMs, as a retryable timeout', async () => {
    stub = await startStub(() => ({ hang: true }));
    const dispatcher = createDispatcher(10_000);
    const auth = { mode: 'oauth2' as const, authUrl: stub.url, clientId: 'c', clientSecret: 's' };
    const provider = createTokenProvider({ auth, dispatcher, timeoutMs: 300, store: new MemoryTokenStore() });
    try {
      await expect(provider.getToken()).rejects.toMatchObject({ code: 'timeout', kind: 'retryable' });
      expect(stub.requests).toHaveLength(1);
    } finally {
      await dispatcher.destroy();
    }
  });

  it("keeps its own copy of a fresh token: the shared store is read once, and again once the copy nears expiry", async () => {
    stub = await startStub(() => ({ status: 200, contentType: 'application/json', body: JSON.stringify({ access_token: 'fetched', expires_in: 1079 }) }));
    const memory = new MemoryTokenStore();
    let reads = 0;
    const store: TokenStore = { get: (k) => (reads++, memory.get(k)), set: (k, r) => memory.set(k, r) };
    const dispatcher = createDispatcher(5_000);
    const auth = { mode: 'oauth2' as const, authUrl: stub.url, clientId: 'c', clientSecret: 's' };
    let now = 0;
    const provider = createTokenProvider({ auth, dispatcher, timeoutMs: 5_000, store, now: () => now });
    memory.set(tokenCacheKey(auth), { accessToken: 'shared', expiresAt: 20 * MINUTE });
    try {
      for (let i = 0; i < 3; i++) expect((await provider.getToken()).accessToken).toBe('shared');
      expect(reads).toBe(1);
      // Inside the 60-s margin the copy is never used: the store is read (another process may have
      // refreshed), and when it holds nothing fresher the token is fetched.
      now = 20 * MINUTE - 59_000;
      expect((await provider.getToken()).accessToken).toBe('fetched');
      expect(reads).toBe(2);
      expect(stub.requests).toHaveLength(1);
      // The fetched token is the new copy.
      expect((await provider.getToken()).accessToken).toBe('fetched');
      expect(reads).toBe(2);
    } finally {
      await dispatcher.close();
    }
  });

  it('reads the shared store again, never its copy, once SFMC refused the copied token', async () => {
    stub = await startStub(() => ({ status: 500, contentType: 'application/json', body: '{}' }));
    const store = new MemoryTokenStore();
    const dispatcher = createDispatcher(5_000);
    const auth = { mode: 'oauth2' as const, authUrl: stub.url, clientId: 'c', clientSecret: 's' };
    const provider = createTokenProvider({ auth, dispatcher, timeoutMs: 5_000, store, now: () => 0 });
    store.set(tokenCacheKey(auth), { accessToken: 'first', expiresAt: 20 * MINUTE });
    try {
      expect((await provider.getToken()).accessToken).toBe('first');
      // Another process refreshed after SFMC refused 'first'.
      store.set(tokenCacheKey(auth), { accessToken: 'second', expiresAt: 20 * MINUTE });
      expect((await provider.getToken({ forceRefresh: true, rejectToken: 'first' })).accessToken).toBe('second');
      expect((await provider.getToken()).accessToken).toBe('second');
      expect(stub.requests).toHaveLength(0);
    } finally {
      await dispatcher.close();
    }
  });

  it('uses a fresher token another caller stored instead of refreshing again', async () => {
    stub = await startStub(() => ({ status: 500, contentType: 'application/json', body: '{}' }));
    const store = new MemoryTokenStore();
    const dispatcher = createDispatcher(5_000);
    const auth = { mode: 'oauth2' as const, authUrl: stub.url, clientId: 'c', clientSecret: 's' };
    const provider = createTokenProvider({ auth, dispatcher, timeoutMs: 5_000, store, now: () => 0 });
    store.set(tokenCacheKey(auth), { accessToken: 'newer', expiresAt: 20 * MINUTE });
    try {
      const record = await provider.getToken({ forceRefresh: true, rejectToken: 'older' });
      expect(record.accessToken).toBe('newer');
      expect(stub.requests).toHaveLength(0);
      // The refused token itself is never handed back: a request is made (and here fails).
      const e = await rejection(provider.getToken({ forceRefresh: true, rejectToken: 'newer' }));
      expect(e.code).toBe('http-status');
      expect(stub.requests).toHaveLength(1);
      expect(JSON.parse(stub.requests[0]?.body ?? '{}')).toEqual({ grant_type: 'client_credentials', client_id: 'c', client_secret: 's' });
      expect(stub.requests[0]?.path).toBe('/v2/token');
    } finally {
      await dispatcher.close();
    }
  });
});
