import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { budgetAccountOf, RedisCallBudget } from '../../src/sfmc/budget.js';
import { sfmcInCallClass } from '../../src/sfmc/client.js';
import type { SfmcApi } from '../../src/sfmc/types.js';
import { deletePrefix, testRedisUrl, uniquePrefix } from '../helpers/redis.js';

/** The Lua budget against the real Redis: the window, the poll share, the pause, several processes. */

const prefix = uniquePrefix('call-budget');
let redis: Redis;
let n = 0;

/** A budget of its own per test (its own account), so tests never share a window. */
function budget(limit: number, windowMs = 1_000, pollShare?: number): RedisCallBudget {
  return new RedisCallBudget({ redis, prefix, account: `acct-${++n}`, limit, windowMs, ...(pollShare ? { pollShare } : {}) });
}

beforeAll(() => {
  redis = new Redis(testRedisUrl());
});
afterAll(async () => {
  redis.disconnect();
  await deletePrefix(prefix);
});

describe('the account call budget', () => {
  it('grants up to the limit in a window and refuses the next with the time until a unit frees', async () => {
    const b = budget(3, 1_000);
    const grants = [await b.take('progress'), await b.take('progress'), await b.take('progress')];
    expect(grants.map((g) => g.granted)).toEqual([true, true, true]);
    expect(grants.map((g) => (g.granted ? g.used : -1))).toEqual([1, 2, 3]);

    const refused = await b.take('progress');
    expect(refused.granted).toBe(false);
    if (refused.granted) return;
    // The first grant leaves the window 1 s after it was made: a little less than that from now.
    expect(refused.waitMs).toBeGreaterThan(800);
    expect(refused.waitMs).toBeLessThanOrEqual(1_000);
    expect(refused.paused).toBe(false);
    // A refusal takes nothing: the window still holds exactly the three grants.
    expect(await redis.zcard(b.windowKey)).toBe(3);
  });

  it('grants again once the oldest unit has left the window, and only as many as left', async () => {
    const b = budget(2, 300);
    await b.take('progress');
    await new Promise((r) => setTimeout(r, 150));
    await b.take('progress');
    const refused = await b.take('progress');
    expect(refused.granted).toBe(false);
    if (refused.granted) return;
    // The wait names the oldest unit's expiry, not a whole window.
    expect(refused.waitMs).toBeLessThanOrEqual(150);
    await new Promise((r) => setTimeout(r, refused.waitMs + 5));
    expect((await b.take('progress')).granted).toBe(true);
    expect((await b.take('progress')).granted).toBe(false);
  });

  it('clears grants out of the window only at the cap, and still never grants more than the limit in a window', async () => {
    const b = budget(3, 400);
    expect((await b.take('progress')).granted).toBe(true);
    await new Promise((r) => setTimeout(r, 200));
    // This grant keeps the key alive (its expiry is a window after the last grant) ...
    expect((await b.take('progress')).granted).toBe(true);
    await new Promise((r) => setTimeout(r, 250));
    // ... while the first has left the window. Below the cap it stays counted (an upper bound)
    // and costs no clean-up.
    expect((await b.take('progress')).granted).toBe(true);
    expect(await redis.zcard(b.windowKey)).toBe(3);
    // At the cap it is cleared, so the window gets its whole limit: three, and not a fourth.
    expect((await b.take('progress')).granted).toBe(true);
    expect(await redis.zcard(b.windowKey)).toBe(3);
    expect((await b.take('progress')).granted).toBe(false);
  });

  it('lets poll calls use only their share, keeping the rest for the steps that move runs forward', async () => {
    const b = budget(10, 1_000, 0.8);
    expect(b.pollLimit).toBe(8);
    for (let i = 0; i < 8; i++) expect((await b.take('poll')).granted).toBe(true);
    const poll = await b.take('poll');
    expect(poll.granted).toBe(false);
    // Progress calls still get the last 20%.
    expect((await b.take('progress')).granted).toBe(true);
    expect((await b.take('progress')).granted).toBe(true);
    expect((await b.take('progress')).granted).toBe(false);
  });

  it('counts progress calls against the poll share too: polls wait while progress uses the window', async () => {
    const b = budget(5, 1_000, 0.8);
    for (let i = 0; i < 4; i++) await b.take('progress');
    expect((await b.take('poll')).granted).toBe(false);
    expect((await b.take('progress')).granted).toBe(true);
  });

  it('keeps at least one poll unit when the share of a tiny budget rounds to zero', () => {
    expect(budget(1, 1_000, 0.5).pollLimit).toBe(1);
  });

  it('is one budget for every process: two clients of the same account share the window', async () => {
    const account = `shared-${++n}`;
    const other = new Redis(testRedisUrl());
    try {
      const a = new RedisCallBudget({ redis, prefix, account, limit: 4, windowMs: 1_000 });
      const b = new RedisCallBudget({ redis: other, prefix, account, limit: 4, windowMs: 1_000 });
      const results = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).take('progress')));
      expect(results.filter((r) => r.granted)).toHaveLength(4);
    } finally {
      other.disconnect();
    }
  });

  it('sends takes asked for while one is in flight together, in one script call, granting in order of asking', async () => {
    const b = budget(10, 1_000, 0.5);
    const evals = vi.spyOn(redis, 'evalsha');
    try {
      // The first goes out at once; the other eleven wait for it and go in one call.
      const classes = ['progress', ...Array<'poll'>(6).fill('poll'), ...Array<'progress'>(5).fill('progress')] as const;
      const results = await Promise.all(classes.map((c) => b.take(c)));
      expect(evals).toHaveBeenCalledTimes(2);
      // Polls up to their share (5 units, the first progress one counted), then progress up to the limit.
      expect(results.map((r) => r.granted)).toEqual([true, true, true, true, true, false, false, true, true, true, true, true]);
      expect(results.map((r) => (r.granted ? r.used : -1))).toEqual([1, 2, 3, 4, 5, -1, -1, 6, 7, 8, 9, 10]);
      expect(await redis.zcard(b.windowKey)).toBe(10);
      // A poll refused in the call waits for the unit that brings the count, all grants included, below its cap.
      const refused = results[5];
      expect(refused).toMatchObject({ granted: false, paused: false });
      if (refused?.granted !== false) return;
      expect(refused.waitMs).toBeGreaterThan(800);
      expect(refused.waitMs).toBeLessThanOrEqual(1_000);
      expect((await b.take('progress')).granted).toBe(false);
    } finally {
      evals.mockRestore();
    }
  });

  it('refuses every class while paused, saying it is a pause and for how long, and keeps a longer pause', async () => {
    const b = budget(100, 1_000);
    await b.pause(500);
    await b.pause(100); // a shorter pause must not cut the running one short
    const refused = await b.take('progress');
    expect(refused).toMatchObject({ granted: false, paused: true });
    if (refused.granted) return;
    expect(refused.waitMs).toBeGreaterThan(300);
    expect(refused.waitMs).toBeLessThanOrEqual(500);
    expect((await b.take('poll')).granted).toBe(false);
    await new Promise((r) => setTimeout(r, refused.waitMs + 5));
    expect((await b.take('progress')).granted).toBe(true);
  });

  it('keeps its keys under the queue prefix (its hash tag: one Redis Cluster slot) with a TTL', async () => {
    const b = budget(2, 1_000);
    await b.take('progress');
    await b.pause(200);
    expect(b.windowKey.startsWith(`${prefix}:sfmc-budget:`)).toBe(true);
    expect(b.pauseKey).toBe(`${b.windowKey}:paused`);
    expect(await redis.pttl(b.windowKey)).toBeGreaterThan(0);
    expect(await redis.pttl(b.pauseKey)).toBeGreaterThan(0);
  });

  it('refuses a limit that is not a positive whole number', () => {
    expect(() => budget(0)).toThrow(/at least 1/);
    expect(() => budget(1.5)).toThrow(/whole number/);
  });

  it('names one account per tenant and business unit, with no identifier in the key', () => {
    const base = { auth: { mode: 'oauth2' as const, authUrl: 'https://mc1.auth.marketingcloudapis.com', clientId: 'id', clientSecret: 's', accountId: '100' }, timeoutMs: 1 };
    const a = budgetAccountOf(base);
    expect(a).toMatch(/^[0-9a-f]{16}$/);
    expect(budgetAccountOf({ ...base, auth: { ...base.auth, clientId: 'other-package' } })).toBe(a);
    expect(budgetAccountOf({ ...base, auth: { ...base.auth, accountId: '200' } })).not.toBe(a);
  });
});

describe('the class of a call', () => {
  it('is bound by the client’s own view; an SfmcApi that is not a client (no budget) is used as it is', () => {
    const standIn = {} as SfmcApi;
    expect(sfmcInCallClass(standIn, 'poll')).toBe(standIn);
    const views: string[] = [];
    const client = { inCallClass: (c: string) => (views.push(c), standIn) } as unknown as SfmcApi;
    expect(sfmcInCallClass(client, 'poll')).toBe(standIn);
    expect(views).toEqual(['poll']);
  });
});
