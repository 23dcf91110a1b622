import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DASHBOARD_CSP } from '../../src/api/dashboard.js';
import { testRedisUrl } from '../helpers/redis.js';
import { DASHBOARD, TOKENS, startApi, type ApiHarness } from './harness.js';

/** Issue #10 on the dashboard: headers, login throttling, no Redis server details, redacted answers. */

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const OPERATOR = { authorization: basic(DASHBOARD.user, DASHBOARD.password) };

describe('the dashboard at /ui, hardened', () => {
  let api: ApiHarness;
  beforeAll(() => {
    api = startApi({ label: 'api-dashboard-security' });
  });
  afterAll(async () => {
    await api?.close();
  });

  it('sends helmet headers with the page, its assets and its refusals: no framing, scripts from itself only', async () => {
    const page = await api.app.inject({ method: 'GET', url: '/ui', headers: OPERATOR });
    expect(page.statusCode).toBe(200);
    const script = /src="(static\/js\/main\.[^"]+\.js)"/.exec(page.body)?.[1];
    const asset = await api.app.inject({ method: 'GET', url: `/ui/${script}`, headers: OPERATOR });
    const refused = await api.app.inject({ method: 'GET', url: '/ui' });
    for (const res of [page, asset, refused]) {
      expect(res.headers['x-frame-options']).toBe('DENY');
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      const csp = String(res.headers['content-security-policy']);
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("object-src 'none'");
      expect(csp).not.toContain('unsafe-eval');
      expect(csp).not.toContain('upgrade-insecure-requests');
    }
    expect(DASHBOARD_CSP.scriptSrc).toEqual(["'self'"]);
  });

  it('shows no Redis server details: the stats endpoint refuses, and the UI is told to hide the panel', async () => {
    const stats = await api.app.inject({ method: 'GET', url: '/ui/api/redis/stats', headers: OPERATOR });
    expect(stats.statusCode).toBe(403);
    expect(stats.body).not.toMatch(/redis_version|"version"|"os"|Linux/i);
    const page = await api.app.inject({ method: 'GET', url: '/ui', headers: OPERATOR });
    const uiConfig = JSON.parse(/<script id="__UI_CONFIG__" type="application\/json">([^<]*)<\/script>/.exec(page.body)?.[1] ?? '{}') as Record<string, unknown>;
    expect(uiConfig.hideRedisDetails).toBe(true);
  });

  describe("a failed job's reason, stack trace and logs", () => {
    const JWT = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJtYy1hcGkifQ.c2lnbmF0dXJlLXZhbHVl';
    const HEX = 'a3f9c2e71b04d58e6f2a9b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f70';
    const leaks = [TOKENS[0], JWT, HEX, 'sfmc-client-s3cret', 'sftp-pa55word', 'opaque-bearer-value'];
    let worker: Worker;
    let connection: Redis;

    beforeAll(async () => {
      connection = new Redis(testRedisUrl(), { maxRetriesPerRequest: null });
      // A made-up processor that echoes secrets into everything a step can write: its log lines
      // and its error, as a careless upload or SOAP error might.
      worker = new Worker(
        'resolve-list',
        async (job) => {
          await job.log(`calling SFMC with access_token=${JWT} for run leaky-run`);
          await job.log(`<fueloauth xmlns="http://exacttarget.com">${HEX}</fueloauth>`);
          throw new Error(
            `upload failed for leaky-run: client_secret=sfmc-client-s3cret password: "sftp-pa55word" Authorization: Bearer opaque-bearer-value api token ${TOKENS[0]} key ${HEX}`,
          );
        },
        { connection, prefix: api.prefix },
      );
      worker.on('error', () => {});
      const queue = api.queues.find((q) => q.name === 'resolve-list');
      const failed = new Promise<void>((resolve) => worker.once('failed', () => resolve()));
      await queue?.add('resolve-list', { runId: 'leaky-run' }, { jobId: 'leaky-run-resolve-list' });
      await failed;
    });
    afterAll(async () => {
      await worker?.close();
      connection?.disconnect();
    });

    it('are stored as written (the redaction is the dashboard\'s, not a lucky miss)', async () => {
      const job = await api.queues.find((q) => q.name === 'resolve-list')?.getJob('leaky-run-resolve-list');
      expect(job?.failedReason).toContain('sfmc-client-s3cret');
      expect(job?.stacktrace?.join('\n')).toContain(HEX);
    });

    it('reach the operator redacted on every endpoint that shows them, with the rest intact', async () => {
      const urls = [
        '/ui/api/queues/resolve-list/leaky-run-resolve-list',
        '/ui/api/queues/resolve-list/leaky-run-resolve-list/logs',
        '/ui/api/queues?activeQueue=resolve-list&status=failed',
      ];
      const [detail, logs, list] = await Promise.all(urls.map((url) => api.app.inject({ method: 'GET', url, headers: OPERATOR })));
      for (const [i, res] of [detail, logs, list].entries()) {
        expect(res?.statusCode, urls[i]).toBe(200);
        for (const secret of leaks) expect(res?.body, `${urls[i]} shows ${secret}`).not.toContain(secret);
      }
      const job = detail?.json().job as { failedReason: string; stacktrace: string[] };
      expect(job.failedReason).toMatch(/^upload failed for leaky-run: client_secret=\[redacted\] password: "\[redacted\]" Authorization: Bearer \[redacted\]/);
      expect(job.stacktrace[0]).toContain('upload failed for leaky-run');
      expect(job.stacktrace.join('\n')).toContain('dashboard-security.test.ts');
      expect(logs?.json()).toEqual(['calling SFMC with access_token=[redacted] for run leaky-run', '<fueloauth xmlns="http://exacttarget.com">[redacted]</fueloauth>']);
      expect(list?.body).toContain('leaky-run-resolve-list');
    });
  });
});

describe('failed dashboard logins', () => {
  const LIMIT = 3;
  let api: ApiHarness;
  beforeAll(() => {
    api = startApi({ label: 'api-login-throttle', deps: { loginFailuresPerMinute: LIMIT } });
  });
  afterAll(async () => {
    await api?.close();
  });

  it('are throttled per client: after the limit, 429 with Retry-After, even for the right password', async () => {
    // A browser's first request carries no credentials: it is a challenge, not a failure.
    for (let i = 0; i < LIMIT + 2; i++) expect((await api.app.inject({ method: 'GET', url: '/ui' })).statusCode).toBe(401);
    for (let i = 0; i < LIMIT; i++) {
      const wrong = await api.app.inject({ method: 'GET', url: '/ui', headers: { authorization: basic(DASHBOARD.user, `guess-${i}`) } });
      expect(wrong.statusCode, `guess ${i}`).toBe(401);
    }
    for (const headers of [{ authorization: basic(DASHBOARD.user, 'guess-x') }, OPERATOR]) {
      const refused = await api.app.inject({ method: 'GET', url: '/ui/api/queues', headers });
      expect(refused.statusCode).toBe(429);
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
      expect(refused.json()).toMatchObject({ error: 'too-many-requests' });
      expect(refused.headers['x-frame-options']).toBe('DENY');
    }
    // Another client is not affected.
    const elsewhere = await api.app.inject({ method: 'GET', url: '/ui', headers: OPERATOR, remoteAddress: '10.0.0.7' });
    expect(elsewhere.statusCode).toBe(200);
  });
});
