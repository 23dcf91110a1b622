import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunsData } from '../../src/api/runs-page/data.js';
import { seedRequest } from '../helpers/requests.js';
import { DASHBOARD, startApi, type ApiHarness } from './harness.js';

/**
 * /runs over fastify's inject on real Redis, no workers: who may read it, who may cancel from
 * it (basic-auth pages are CSRF-prone), what a hostile List name becomes, and bad queries.
 * The pages in a browser, with real runs: test/browser/runs-page.test.ts.
 */

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const OPERATOR = { authorization: basic(DASHBOARD.user, DASHBOARD.password) };
const HOST = 'localhost:80';
const HOSTILE = '<script>alert(1)</script>&"\'';

describe('the runs pages over HTTP', () => {
  let api: ApiHarness;
  const runId = 'runs-page-api-1';

  beforeAll(async () => {
    api = startApi({ label: 'api-runs-page' });
    await api.producer.enqueue(seedRequest({ runId, list: { name: HOSTILE } }));
    await api.producer.enqueue(seedRequest({ runId: 'runs-page-api-2' }));
  });
  afterAll(async () => {
    await api?.close();
  });

  const page = (url: string) => api.app.inject({ method: 'GET', url, headers: { ...OPERATOR, host: HOST } });
  const tokenOf = (html: string) => /name="token" value="([^"]+)"/.exec(html)?.[1];
  const cancel = (headers: Record<string, string>, payload: string) =>
    api.app.inject({ method: 'POST', url: `/runs/${runId}/cancel`, headers: { ...OPERATOR, host: HOST, 'content-type': 'application/x-www-form-urlencoded', ...headers }, payload });

  it('answers 401 with a Basic challenge without credentials, and with wrong ones', async () => {
    for (const headers of [{}, { authorization: basic(DASHBOARD.user, 'wrong') }]) {
      const res = await api.app.inject({ method: 'GET', url: '/runs', headers });
      expect(res.statusCode).toBe(401);
      expect(res.headers['www-authenticate']).toMatch(/^Basic realm="list-send dashboard"/);
      expect(res.body).not.toContain(runId);
    }
  });

  it('shows a hostile List name as text, with the dashboard CSP and no framing', async () => {
    for (const url of ['/runs', `/runs/${runId}`]) {
      const res = await page(url);
      expect(res.statusCode).toBe(200);
      expect(res.body).not.toContain('<script>alert');
      expect(res.body).toContain('&lt;script&gt;alert(1)&lt;/script&gt;&amp;&quot;&#39;');
      expect(res.headers['content-security-policy']).toContain("script-src 'self'");
      expect(res.headers['x-frame-options']).toBe('DENY');
      // The only script is the served file.
      expect(res.body.match(/<script/g)).toEqual(['<script']);
      expect(res.body).toContain('<script src="/runs/assets/runs.js" defer></script>');
    }
    const script = await page('/runs/assets/runs.js');
    expect(script.statusCode).toBe(200);
    expect(script.headers['content-type']).toMatch(/^text\/javascript/);
  });

  it('pages newest first, saying when there are older runs', async () => {
    const data = new RunsData(api.producer);
    const first = await data.list({}, 1, 1);
    expect(first.runs.map((r) => r.runId)).toEqual(['runs-page-api-2']);
    expect(first.hasMore).toBe(true);
    const second = await data.list({}, 2, 1);
    expect(second.runs.map((r) => r.runId)).toEqual([runId]);
    expect(second.hasMore).toBe(false);
    const listed = await page('/runs?search=api-2');
    expect(listed.body).toContain('data-run="runs-page-api-2"');
    expect(listed.body).not.toContain(`data-run="${runId}"`);
  });

  it('refuses a bad filter naming the field, and an unknown run with 404', async () => {
    const bad = await page('/runs?state=sleeping');
    expect(bad.statusCode).toBe(400);
    expect(bad.body).toContain('state:');
    expect((await page('/runs?page=0')).body).toContain('page: must be at least 1');
    expect((await page('/runs/nobody-here')).statusCode).toBe(404);
  });

  it('refuses a cancel from another site, without an Origin, or without the page token; the run goes on', async () => {
    const token = tokenOf((await page(`/runs/${runId}`)).body);
    expect(token).toBeTruthy();
    const refused = [
      await cancel({ origin: 'https://evil.example' }, `token=${token}`),
      await cancel({}, `token=${token}`),
      await cancel({ origin: 'null' }, `token=${token}`),
      await cancel({ origin: `http://${HOST}` }, 'token=forged'),
      await cancel({ origin: `http://${HOST}` }, ''),
    ];
    expect(refused.map((r) => r.statusCode)).toEqual([403, 403, 403, 403, 403]);
    expect((await api.producer.status(runId))?.state).not.toBe('cancelled');
  });

  it('cancels from the same origin with the page token, then says so on the page', async () => {
    const token = tokenOf((await page(`/runs/${runId}`)).body)!;
    const res = await cancel({ origin: `http://${HOST}` }, `token=${encodeURIComponent(token)}`);
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe(`/runs/${runId}?notice=cancelled`);
    expect((await api.producer.status(runId))?.state).toBe('cancelled');
    const after = await page(res.headers.location as string);
    expect(after.body).toContain('The run was cancelled: it will not send.');
    expect(after.body).not.toContain('name="token"');
  });
});

describe('failed logins on /runs', () => {
  const LIMIT = 3;
  let api: ApiHarness;
  beforeAll(() => {
    api = startApi({ label: 'api-runs-page-throttle', deps: { loginFailuresPerMinute: LIMIT } });
  });
  afterAll(async () => {
    await api?.close();
  });

  it('are throttled per client like /ui: after the limit, 429 even for the right password', async () => {
    for (let i = 0; i < LIMIT; i++) {
      const wrong = await api.app.inject({ method: 'GET', url: '/runs', headers: { authorization: basic(DASHBOARD.user, `guess-${i}`) } });
      expect(wrong.statusCode, `guess ${i}`).toBe(401);
    }
    const refused = await api.app.inject({ method: 'GET', url: '/runs', headers: OPERATOR });
    expect(refused.statusCode).toBe(429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
  });
});
