import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QUEUE_NAMES } from '../../queues/catalog.js';
import { bearerChecker, credentialsChecker, digestAll, matchesAny } from '../../src/api/auth.js';
import { DASHBOARD, startApi, type ApiHarness } from './harness.js';

describe('checking a bearer token', () => {
  const check = bearerChecker(['first-token-aaaaaaaaaaaa', 'second-token-bbbbbbbbbbb']);

  it('accepts any configured token, whatever the scheme case', () => {
    expect(check('Bearer first-token-aaaaaaaaaaaa')).toBe('ok');
    expect(check('bearer second-token-bbbbbbbbbbb')).toBe('ok');
  });

  it('says missing when there is no Authorization header', () => {
    expect(check(undefined)).toBe('missing');
    expect(check('')).toBe('missing');
  });

  it('refuses a wrong token, a prefix or extension of a right one, and other schemes', () => {
    for (const header of [
      'Bearer wrong',
      'Bearer first-token-aaaaaaaaaaa',
      'Bearer first-token-aaaaaaaaaaaaa',
      'Bearer first-token-aaaaaaaaaaaa second-token-bbbbbbbbbbb',
      'Basic first-token-aaaaaaaaaaaa',
      'first-token-aaaaaaaaaaaa',
      'Bearer',
    ]) {
      expect(check(header), header).toBe('invalid');
    }
  });
});

describe('comparing secrets in constant time', () => {
  it('compares equal-length digests, so values of any length can be compared', () => {
    const expected = digestAll(['short', 'a much longer secret value than the other one']);
    expect(expected.every((d) => d.length === 32)).toBe(true);
    expect(matchesAny('short', expected)).toBe(true);
    expect(matchesAny('a much longer secret value than the other one', expected)).toBe(true);
    expect(matchesAny('', expected)).toBe(false);
    expect(matchesAny('x'.repeat(10_000), expected)).toBe(false);
  });

  it('checks the dashboard user and password together', () => {
    const valid = credentialsChecker('operator', 'pw-123');
    expect(valid('operator', 'pw-123')).toBe(true);
    expect(valid('operator', 'pw-124')).toBe(false);
    expect(valid('Operator', 'pw-123')).toBe(false);
    expect(valid('', '')).toBe(false);
  });
});

describe('the dashboard at /ui', () => {
  let api: ApiHarness;
  beforeAll(() => {
    api = startApi({ label: 'api-dashboard' });
  });
  afterAll(async () => {
    await api?.close();
  });

  const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

  it('answers 401 with a basic-auth challenge without credentials', async () => {
    for (const url of ['/ui', '/ui/api/queues', '/ui/queue/send']) {
      const res = await api.app.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(401);
      expect(res.headers['www-authenticate']).toMatch(/^Basic realm="list-send dashboard"/);
    }
  });

  it('answers 401 to a wrong password or a bearer token', async () => {
    const wrong = await api.app.inject({ method: 'GET', url: '/ui', headers: { authorization: basic(DASHBOARD.user, 'nope') } });
    expect(wrong.statusCode).toBe(401);
    const bearer = await api.app.inject({ method: 'GET', url: '/ui', headers: { authorization: 'Bearer test-token-0123456789abcdef' } });
    expect(bearer.statusCode).toBe(401);
  });

  it('serves Bull Board with every queue, read-only, to the operator', async () => {
    const authorization = basic(DASHBOARD.user, DASHBOARD.password);
    const page = await api.app.inject({ method: 'GET', url: '/ui', headers: { authorization } });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    expect(page.body).toContain('<base href="/ui/" />');
    const script = /src="(static\/js\/main\.[^"]+\.js)"/.exec(page.body)?.[1];
    const asset = await api.app.inject({ method: 'GET', url: `/ui/${script}`, headers: { authorization } });
    expect(asset.statusCode).toBe(200);

    const res = await api.app.inject({ method: 'GET', url: '/ui/api/queues', headers: { authorization } });
    expect(res.statusCode).toBe(200);
    const queues = (res.json() as { queues: { name: string; readOnlyMode: boolean }[] }).queues;
    expect(queues.map((q) => q.name).sort()).toEqual([...QUEUE_NAMES].sort());
    expect(queues.every((q) => q.readOnlyMode)).toBe(true);
  });

  it('refuses write actions on the queues', async () => {
    const authorization = basic(DASHBOARD.user, DASHBOARD.password);
    const res = await api.app.inject({ method: 'PUT', url: '/ui/api/queues/send/clean/failed', headers: { authorization } });
    expect(res.statusCode).toBe(405);
  });

  it('shows job data with secret-named fields redacted', async () => {
    const queue = api.queues.find((q) => q.name === 'resolve-list');
    // Job data never holds secrets by design; this job is made up to prove the formatter.
    const job = await queue?.add('resolve-list', { runId: 'r', request: { password: 'p4ss-word', nested: [{ clientSecret: 'c-secret' }], keep: 'visible' } }, { jobId: 'redact-me' });
    expect(job?.id).toBe('redact-me');
    const authorization = basic(DASHBOARD.user, DASHBOARD.password);
    const res = await api.app.inject({ method: 'GET', url: '/ui/api/queues/resolve-list/redact-me', headers: { authorization } });
    expect(res.statusCode).toBe(200);
    expect(res.body).not.toContain('p4ss-word');
    expect(res.body).not.toContain('c-secret');
    expect(res.json().job.data).toEqual({ runId: 'r', request: { password: '[redacted]', nested: [{ clientSecret: '[redacted]' }], keep: 'visible' } });
  });

  it('is not served at all without dashboard credentials', async () => {
    const bare = startApi({ label: 'api-no-dashboard', deps: { dashboard: undefined } });
    try {
      const res = await bare.app.inject({ method: 'GET', url: '/ui' });
      expect(res.statusCode).toBe(404);
    } finally {
      await bare.close();
    }
  });
});
