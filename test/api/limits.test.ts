import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_BODY_LIMIT_BYTES, tokenIdentity } from '../../src/api/limits.js';
import { seedRequest } from '../helpers/requests.js';
import { AUTH, TOKENS, startApi, type ApiHarness } from './harness.js';

/** The /v1 limits on real Redis: a per-token request rate and a body size. */
describe('the API limits', () => {
  const LIMIT = 3;
  let api: ApiHarness;
  beforeAll(() => {
    api = startApi({ label: 'api-limits', deps: { rateLimitPerMinute: LIMIT } });
  });
  afterAll(async () => {
    await api?.close();
  });

  const list = (token: string) => api.app.inject({ method: 'GET', url: '/v1/list-sends', headers: { authorization: `Bearer ${token}` } });

  it('answers 429 with Retry-After and the API error format once a token used its minute, in parallel too', async () => {
    const answers = await Promise.all(Array.from({ length: LIMIT + 5 }, () => list(TOKENS[0])));
    const codes = answers.map((r) => r.statusCode).sort();
    expect(codes).toEqual([...Array<number>(LIMIT).fill(200), ...Array<number>(5).fill(429)]);
    const refused = answers.find((r) => r.statusCode === 429);
    const retryAfter = Number(refused?.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(refused?.headers['x-ratelimit-limit']).toBe(String(LIMIT));
    expect(refused?.json()).toEqual({ error: 'too-many-requests', message: expect.stringMatching(/^at most 3 requests a minute per token; retry in \d+/) });
  });

  it('counts each token on its own', async () => {
    expect((await list(TOKENS[1])).statusCode).toBe(200);
  });

  it('keeps the counters under the queue prefix, keyed by a hash of the token, never the token', async () => {
    const keys = await api.redis.keys(`${api.prefix}:api-rate:*`);
    expect(keys.sort()).toEqual([`${api.prefix}:api-rate:token:${tokenIdentity(TOKENS[0])}`, `${api.prefix}:api-rate:token:${tokenIdentity(TOKENS[1])}`].sort());
    expect(keys.join(' ')).not.toContain(TOKENS[0]);
    expect(await api.redis.pttl(keys[0] as string)).toBeGreaterThan(0);
    const logged = JSON.stringify(api.logs.lines());
    expect(logged).not.toContain(TOKENS[0]);
  });

  it('checks the token before counting: a wrong token gets 401, not 429, and counts nothing', async () => {
    const res = await list('not-a-configured-token-at-all');
    expect(res.statusCode).toBe(401);
    expect(await api.redis.keys(`${api.prefix}:api-rate:*`)).toHaveLength(2);
  });
});

describe('the reported case: 20 parallel POSTs from one token', () => {
  let api: ApiHarness;
  beforeAll(() => {
    api = startApi({ label: 'api-limits-posts', deps: { rateLimitPerMinute: 5 } });
  });
  afterAll(async () => {
    await api?.close();
  });

  it('starts only as many runs as the limit allows; the rest get 429 and start nothing', async () => {
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => api.app.inject({ method: 'POST', url: '/v1/list-sends', headers: AUTH, payload: seedRequest({ runId: `burst-${i}` }) })),
    );
    expect(answers.filter((r) => r.statusCode === 202)).toHaveLength(5);
    expect(answers.filter((r) => r.statusCode === 429)).toHaveLength(15);
    expect(await api.producer.recentRunIds(100)).toHaveLength(5);
  });
});

describe('the API body limit', () => {
  let api: ApiHarness;
  beforeAll(() => {
    api = startApi({ label: 'api-body-limit' });
  });
  afterAll(async () => {
    await api?.close();
  });

  it('answers 413 in the API error format over 64 KB', async () => {
    const payload = JSON.stringify({ ...seedRequest({ runId: 'too-big' }), padding: 'x'.repeat(API_BODY_LIMIT_BYTES) });
    const res = await api.app.inject({ method: 'POST', url: '/v1/list-sends', headers: { ...AUTH, 'content-type': 'application/json' }, payload });
    expect(res.statusCode).toBe(413);
    expect(res.json()).toMatchObject({ error: 'payload-too-large' });
    expect(await api.producer.status('too-big')).toBeUndefined();
  });

  it('still takes a request just under it to validation', async () => {
    const base = JSON.stringify({ ...seedRequest({ runId: 'just-under' }), padding: '' });
    const payload = base.replace('"padding":""', `"padding":"${'x'.repeat(API_BODY_LIMIT_BYTES - base.length)}"`);
    expect(Buffer.byteLength(payload)).toBe(API_BODY_LIMIT_BYTES);
    const res = await api.app.inject({ method: 'POST', url: '/v1/list-sends', headers: { ...AUTH, 'content-type': 'application/json' }, payload });
    // Parsed, then refused by the request schema for the unknown field: not a 413.
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toBe('invalid-request');
  });
});
