import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { SfmcConfig } from '../../src/config.js';
import { createSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { Agent } from 'undici';
import { createTokenProvider, tokenCacheKey, type TokenRecord } from '../../src/sfmc/auth.js';
import { createSfmcClient, type SfmcClient } from '../../src/sfmc/client.js';
import { RedisTokenStore } from '../../src/sfmc/token-store-redis.js';
import { deletePrefix, testRedisUrl, uniquePrefix } from '../helpers/redis.js';

/**
 * Issue 6, "Secrets": worker processes share one OAuth2 token through Redis, stored only
 * encrypted. Each client here has its own Redis connection and store, as separate processes do.
 */

describe('the Redis token store', () => {
  let sandbox: Sandbox;
  let clock: number;
  const now = () => clock;
  const prefix = uniquePrefix('token-store');
  const connections: Redis[] = [];
  const clients: SfmcClient[] = [];

  function config(overrides: Partial<Extract<SfmcConfig['auth'], { mode: 'oauth2' }>> = {}): SfmcConfig {
    const c = sandbox.credentials;
    return {
      auth: { mode: 'oauth2', authUrl: sandbox.url, clientId: c.clientId, clientSecret: c.clientSecret, accountId: c.accountId, ...overrides },
      soapUrl: sandbox.soapUrl,
      timeoutMs: 5_000,
    };
  }

  function store(clientSecret = sandbox.credentials.clientSecret): RedisTokenStore {
    const redis = new Redis(testRedisUrl(), { maxRetriesPerRequest: null });
    connections.push(redis);
    return new RedisTokenStore({ redis, prefix, clientSecret, now });
  }

  /** A client as one worker process builds it: its own connection and store. */
  function worker(): SfmcClient {
    const client = createSfmcClient({ config: config(), tokenStore: store(), now });
    clients.push(client);
    return client;
  }

  const tokenRequests = () => sandbox.calls().filter((c) => c.operation === 'token');
  const key = () => tokenCacheKey(config().auth as Extract<SfmcConfig['auth'], { mode: 'oauth2' }>);

  beforeAll(async () => {
    sandbox = await createSandbox({ now, schemaCheck: false });
  });
  beforeEach(async () => {
    clock = Date.now();
    sandbox.reset();
    await deletePrefix(prefix);
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    for (const c of connections) c.disconnect();
    await sandbox.close();
    await deletePrefix(prefix);
  });

  it('lets two processes on a cold cache make one token request between them', async () => {
    const [a, b] = [worker(), worker()];
    const lists = await Promise.all([...Array.from({ length: 10 }, () => a.retrieveListsByName('Sample_List')), ...Array.from({ length: 10 }, () => b.retrieveListsByName('Sample_List'))]);

    expect(lists.every((l) => l[0]?.id === '123')).toBe(true);
    expect(tokenRequests()).toHaveLength(1);
  });

  it('asks for a new token only when the shared one is within the 60-s margin of expiring (1079 s tokens: one request per ~17 minutes)', async () => {
    const [a, b] = [worker(), worker()];
    await a.retrieveListsByName('Sample_List');
    clock += 16 * 60_000 + 30_000; // 89 s left: still shared
    await Promise.all([a.retrieveListsByName('Sample_List'), b.retrieveListsByName('Sample_List')]);
    expect(tokenRequests()).toHaveLength(1);

    clock += 40_000; // 49 s left: one new token for all three
    await Promise.all([a.retrieveListsByName('Sample_List'), b.retrieveListsByName('Sample_List'), worker().retrieveListsByName('Sample_List')]);
    expect(tokenRequests()).toHaveLength(2);
  });

  it('stores the token only encrypted, with a lifetime, under a key that names no account', async () => {
    const s = store();
    const a = createSfmcClient({ config: config(), tokenStore: s, now });
    clients.push(a);
    await a.retrieveListsByName('Sample_List');
    const record = (await s.get(key())) as TokenRecord;
    expect(record.accessToken.length).toBeGreaterThan(20);

    const raw = new Redis(testRedisUrl());
    connections.push(raw);
    const keys = await raw.keys(`${prefix}:*`);
    expect(keys).toEqual([s.redisKey(key())]);
    expect(keys[0]).not.toMatch(new RegExp(`${sandbox.credentials.clientId}|${sandbox.credentials.accountId}`));
    const stored = (await raw.get(keys[0] ?? '')) ?? '';
    expect(stored).toMatch(/^v1\.[\w-]+\.[\w-]+\.[\w-]+$/);
    for (const clear of [record.accessToken, Buffer.from(record.accessToken).toString('base64'), sandbox.credentials.clientSecret, 'accessToken']) {
      expect(stored).not.toContain(clear);
    }
    const ttl = await raw.pttl(keys[0] ?? '');
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(1079 * 1000);
  });

  it('cannot be read with another secret, nor moved to another account\'s key', async () => {
    const s = store();
    const record: TokenRecord = { accessToken: 'tok-1234567890', expiresAt: clock + 600_000 };
    await s.set('sfmc-token:a', record);
    expect(await s.get('sfmc-token:a')).toEqual(record);
    expect(await store('another-secret').get('sfmc-token:a')).toBeUndefined();

    const sealed = s.seal('sfmc-token:a', record);
    expect(s.open('sfmc-token:b', sealed)).toBeUndefined();
    expect(s.open('sfmc-token:a', sealed.slice(0, -2) + (sealed.endsWith('A') ? 'BB' : 'AA'))).toBeUndefined();
  });

  it('keeps accounts apart: another client id or business unit gets its own key and token', async () => {
    sandbox.reset();
    const other = await createSandbox({ now, schemaCheck: false, credentials: { clientId: 'other-client', clientSecret: 'other-secret', accountId: '200000' } });
    try {
      const a = worker();
      const b = createSfmcClient({
        config: { auth: { mode: 'oauth2', authUrl: other.url, clientId: 'other-client', clientSecret: 'other-secret', accountId: '200000' }, soapUrl: other.soapUrl, timeoutMs: 5_000 },
        tokenStore: store('other-secret'),
        now,
      });
      clients.push(b);
      await Promise.all([a.retrieveListsByName('Sample_List'), b.retrieveListsByName('Sample_List')]);
      expect(tokenRequests()).toHaveLength(1);
      expect(other.calls().filter((c) => c.operation === 'token')).toHaveLength(1);
      const raw = connections[0] as Redis;
      expect((await raw.keys(`${prefix}:sfmc-token:*`)).filter((k) => !k.endsWith(':refresh-lock'))).toHaveLength(2);
    } finally {
      await other.close();
    }
  });

  it('takes over the refresh when the process holding the lock died without storing a token', async () => {
    // A process took the lock and was killed: the lock expires after its TTL.
    const dead = store();
    expect(await dead.acquireRefreshLock(key(), 300)).toBeTypeOf('function');
    const lists = await worker().retrieveListsByName('Sample_List');
    expect(lists[0]?.id).toBe('123');
    expect(tokenRequests()).toHaveLength(1);
  });

  it('after Token Expired in two processes at once, makes one token request and both use its token', async () => {
    const dispatcher = new Agent();
    try {
      const auth = config().auth as Extract<SfmcConfig['auth'], { mode: 'oauth2' }>;
      const [p1, p2] = [createTokenProvider({ auth, dispatcher, timeoutMs: 5_000, store: store(), now }), createTokenProvider({ auth, dispatcher, timeoutMs: 5_000, store: store(), now })];
      const first = await p1.getToken();
      expect((await p2.getToken()).accessToken).toBe(first.accessToken);
      const refused = { forceRefresh: true, rejectToken: first.accessToken };
      const [a, b] = await Promise.all([p1.getToken(refused), p2.getToken(refused)]);
      expect(a.accessToken).not.toBe(first.accessToken);
      expect(b.accessToken).toBe(a.accessToken);
      expect(tokenRequests()).toHaveLength(2);
    } finally {
      await dispatcher.close();
    }
  });
});
