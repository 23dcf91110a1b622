import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redactUrl } from '../../src/api/redact.js';
import { AUTH, DASHBOARD, startApi, type ApiHarness } from './harness.js';

/** A token put in a query string (`?access_token=`) is never written to a log line. */
describe('request logs', () => {
  const SECRET = 'query-secret-7f3a9c1e5b';
  let api: ApiHarness;
  beforeAll(() => {
    api = startApi({ label: 'api-request-logs' });
  });
  afterAll(async () => {
    await api?.close();
  });

  it('name the URL with secret-named query values replaced, on every kind of answer', async () => {
    const basic = `Basic ${Buffer.from(`${DASHBOARD.user}:${DASHBOARD.password}`).toString('base64')}`;
    const calls = [
      // The list's query schema is strict: an unknown parameter is a 400 naming it.
      { url: `/v1/list-sends?access_token=${SECRET}&limit=5`, headers: AUTH, status: 400 },
      { url: `/healthz?access_token=${SECRET}`, headers: {}, status: 200 },
      { url: `/v1/list-sends?access_token=${SECRET}`, headers: {}, status: 401 },
      { url: `/v1/no-such-route?token=${SECRET}`, headers: AUTH, status: 404 },
      { url: `/ui?access_token=${SECRET}`, headers: { authorization: basic }, status: 200 },
      { url: `/metrics?token=${SECRET}`, headers: {}, status: 200 },
    ];
    for (const call of calls) {
      const res = await api.app.inject({ method: 'GET', url: call.url, headers: call.headers });
      expect(res.statusCode, call.url).toBe(call.status);
      expect(res.body, call.url).not.toContain(SECRET);
    }
    const lines = api.logs.lines();
    const urls = lines.map((l) => (l.req as { url?: string } | undefined)?.url).filter(Boolean);
    expect(urls).toContain('/v1/list-sends?access_token=[redacted]&limit=5');
    expect(urls).toContain('/v1/no-such-route?token=[redacted]');
    expect(urls).toContain('/healthz?access_token=[redacted]');
    expect(lines.length).toBeGreaterThanOrEqual(calls.length * 2);
    const leaked = lines.filter((l) => JSON.stringify(l).includes(SECRET));
    expect(leaked).toEqual([]);
  });
});

describe('redacting a request URL', () => {
  it('replaces only the values of secret-named parameters', () => {
    expect(redactUrl('/v1/list-sends')).toBe('/v1/list-sends');
    expect(redactUrl('/x?limit=5&state=failed')).toBe('/x?limit=5&state=failed');
    expect(redactUrl('/x?access_token=a&token=b&password=c&limit=1')).toBe('/x?access_token=[redacted]&token=[redacted]&password=[redacted]&limit=1');
    expect(redactUrl('/x?access%5Ftoken=a')).toBe('/x?access%5Ftoken=[redacted]');
    expect(redactUrl('/x?%E0%A4%A=a&token')).toBe('/x?%E0%A4%A=a&token');
  });
});
