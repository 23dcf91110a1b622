import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { BudgetExhaustedError, RedisCallBudget } from '../../src/sfmc/budget.js';
import { createSfmcClient, type CallEvent, type SfmcClient } from '../../src/sfmc/client.js';
import { deletePrefix, testRedisUrl, uniquePrefix } from '../helpers/redis.js';
import { rejection, retrieveReply, startStub, type Stub } from './support.js';

/** The SOAP client's chokepoint takes one unit of the account's budget per SOAP call, and only then. */

const prefix = uniquePrefix('spend-budget');
let redis: Redis;
let n = 0;
let stub: Stub | undefined;
let sandbox: Sandbox | undefined;
let client: SfmcClient | undefined;

const budget = (limit: number, pollShare?: number) =>
  new RedisCallBudget({ redis, prefix, account: `acct-${++n}`, limit, windowMs: 60_000, ...(pollShare ? { pollShare } : {}) });

beforeAll(() => {
  redis = new Redis(testRedisUrl());
});
afterEach(async () => {
  await client?.close();
  await stub?.close();
  await sandbox?.close();
  client = undefined;
  stub = undefined;
  sandbox = undefined;
});
afterAll(async () => {
  redis.disconnect();
  await deletePrefix(prefix);
});

describe('spending the call budget', () => {
  it('takes a unit for every ContinueRequest page, and sends nothing once the budget is used up', async () => {
    stub = await startStub((req) => {
      const cont = /<ContinueRequest>([^<]+)</.exec(req.body)?.[1];
      const next = cont ? `r${Number(cont.slice(1)) + 1}` : 'r1';
      return retrieveReply(`<Results xsi:type="List"><ID>${next}</ID></Results>`, { status: 'MoreDataAvailable', requestId: next });
    });
    const calls: CallEvent[] = [];
    const b = budget(3);
    client = createSfmcClient({
      config: { auth: { mode: 'wsse', username: 'u', password: 'p-secret' }, soapUrl: `${stub.url}/Service.asmx`, timeoutMs: 5_000 },
      budget: b,
      onCall: (e) => calls.push(e),
    });
    const err = await rejection(client.retrieveListsByName('Endless'));
    expect(err).toBeInstanceOf(BudgetExhaustedError);
    expect(err).toMatchObject({ code: 'budget-exhausted', kind: 'throttled', mayHaveTakenEffect: false });
    expect((err as BudgetExhaustedError).retryAfterMs).toBeGreaterThan(0);
    expect(err.message).toMatch(/SFMC_CALLS_PER_MINUTE/);
    // Three pages went out, the fourth was refused before it was sent, and is not reported as a call.
    expect(stub.requests).toHaveLength(3);
    expect(calls.map((c) => c.outcome)).toEqual(['ok', 'ok', 'ok']);
    expect(await redis.zcard(b.windowKey)).toBe(3);
  });

  it('charges the poll view’s calls as polls: refused at the poll share while progress calls still go', async () => {
    stub = await startStub(() => retrieveReply(''));
    client = createSfmcClient({
      config: { auth: { mode: 'wsse', username: 'u', password: 'p-secret' }, soapUrl: `${stub.url}/Service.asmx`, timeoutMs: 5_000 },
      budget: budget(2, 0.5),
    });
    const polls = client.inCallClass('poll');
    await polls.retrieveImportResults('t1');
    const refused = await rejection(polls.retrieveImportResults('t1'));
    expect(refused.message).toMatch(/poll calls/);
    // The client itself and its progress view charge progress: both still go.
    await client.retrieveListById('1');
    const progressRefused = await rejection(client.inCallClass('progress').retrieveListById('1'));
    expect(progressRefused.message).toMatch(/progress calls/);
    expect(stub.requests).toHaveLength(2);
  });

  it('does not count token requests: one SOAP call with a fresh token uses one unit', async () => {
    sandbox = await createSandbox();
    const c = sandbox.credentials;
    const b = budget(1);
    client = createSfmcClient({
      config: { auth: { mode: 'oauth2', authUrl: sandbox.url, clientId: c.clientId, clientSecret: c.clientSecret, accountId: c.accountId }, timeoutMs: 5_000 },
      budget: b,
    });
    await client.retrieveListsByName('Sample_List');
    expect(sandbox.calls().map((r) => r.operation)).toEqual(['token', 'Retrieve']);
    expect(await redis.zcard(b.windowKey)).toBe(1);
    await rejection(client.retrieveListsByName('Sample_List'));
    expect(sandbox.calls()).toHaveLength(2);
  });

  it('takes a second unit for the one repeat after Token Expired', async () => {
    sandbox = await createSandbox();
    const c = sandbox.credentials;
    const b = budget(10);
    client = createSfmcClient({
      config: { auth: { mode: 'oauth2', authUrl: sandbox.url, clientId: c.clientId, clientSecret: c.clientSecret, accountId: c.accountId }, timeoutMs: 5_000 },
      budget: b,
    });
    sandbox.faults.inject({ kind: 'token-expired', operation: 'Retrieve', objectType: 'List' });
    await client.retrieveListsByName('Sample_List');
    expect(sandbox.calls().filter((r) => r.path === '/Service.asmx')).toHaveLength(2);
    expect(await redis.zcard(b.windowKey)).toBe(2);
  });
});
