import { afterEach, describe, expect, it } from 'vitest';
import { freeLoopbackPort } from '../../src/dev/redis-server.js';
import { seedRequest } from '../helpers/requests.js';
import { AUTH, DASHBOARD, startApi, type ApiHarness } from './harness.js';

/** Producers fail fast when Redis is down: a prompt 503, never a request left hanging. */
describe('the API while Redis is unreachable', () => {
  let api: ApiHarness | undefined;
  afterEach(async () => {
    await api?.close();
    api = undefined;
  });

  async function apiOnClosedPort(): Promise<ApiHarness> {
    // A port that was free a moment ago: nothing listens there.
    const port = await freeLoopbackPort();
    return startApi({ label: 'api-down', redisUrl: `redis://127.0.0.1:${port}` });
  }

  const timed = async <T>(work: () => Promise<T>): Promise<[T, number]> => {
    const started = performance.now();
    const result = await work();
    return [result, performance.now() - started];
  };

  it('answers 503 redis-unavailable to the very first request after boot, promptly', async () => {
    api = await apiOnClosedPort();
    const app = api.app;
    const [res, ms] = await timed(() => app.inject({ method: 'POST', url: '/v1/list-sends', headers: AUTH, payload: seedRequest({ runId: 'down-1' }) }));
    expect(res.statusCode).toBe(503);
    expect(res.json()).toEqual({ error: 'redis-unavailable', message: 'Redis is not reachable; nothing was done' });
    expect(ms).toBeLessThan(2_500);
  });

  it('answers 503 at once on every /v1 endpoint once the connection has failed', async () => {
    api = await apiOnClosedPort();
    const { app, redis } = api;
    await new Promise((resolve) => redis.once('reconnecting', resolve));
    const calls = [
      { method: 'POST', url: '/v1/list-sends', payload: seedRequest({ runId: 'down-2' }) },
      { method: 'GET', url: '/v1/list-sends' },
      { method: 'GET', url: '/v1/list-sends/down-2' },
      { method: 'DELETE', url: '/v1/list-sends/down-2' },
    ] as const;
    for (const call of calls) {
      const [res, ms] = await timed(() => app.inject({ ...call, headers: AUTH }));
      expect(res.statusCode, `${call.method} ${call.url}`).toBe(503);
      expect(res.json().error).toBe('redis-unavailable');
      expect(ms).toBeLessThan(500);
    }
  });

  it('still checks the token first: 401 without one', async () => {
    api = await apiOnClosedPort();
    const res = await api.app.inject({ method: 'GET', url: '/v1/list-sends' });
    expect(res.statusCode).toBe(401);
  });

  it('reports not ready on /readyz (503) and alive on /healthz (200)', async () => {
    api = await apiOnClosedPort();
    const ready = await api.app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(503);
    expect(ready.json()).toEqual({ status: 'unavailable', error: 'redis-unavailable' });
    const health = await api.app.inject({ method: 'GET', url: '/healthz' });
    expect(health.statusCode).toBe(200);
  });

  it('still serves /metrics, without queue depths', async () => {
    api = await apiOnClosedPort();
    const res = await api.app.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('list_send_runs_started_total{account="default"} 0');
    expect(res.body).not.toMatch(/^list_send_queue_jobs\{/m);
  });

  it("answers 503 on the dashboard's data API instead of hanging", async () => {
    api = await apiOnClosedPort();
    const authorization = `Basic ${Buffer.from(`${DASHBOARD.user}:${DASHBOARD.password}`).toString('base64')}`;
    const res = await api.app.inject({ method: 'GET', url: '/ui/api/queues', headers: { authorization } });
    expect(res.statusCode).toBe(503);
  });
});
