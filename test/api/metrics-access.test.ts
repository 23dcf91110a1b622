import { Registry } from 'prom-client';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { connectionUsable } from '../../src/api/connection.js';
import { cachedReader, createMetrics, serveMetrics } from '../../src/metrics.js';
import { startApi, type ApiHarness } from './harness.js';

/** METRICS_TOKEN puts /metrics behind a bearer token; scrapes cannot turn into Redis load. */

const METRICS_TOKEN = 'metrics-token-5c1d0e9f8a7b';

describe("the API's /metrics with METRICS_TOKEN set", () => {
  let api: ApiHarness;
  beforeAll(async () => {
    api = startApi({ label: 'api-metrics-token', deps: { metricsToken: METRICS_TOKEN } });
    // Queue depths are left out until the producer connection is up.
    expect(await connectionUsable(api.redis)).toBe(true);
  });
  afterAll(async () => {
    await api?.close();
  });

  const scrape = (authorization?: string) => api.app.inject({ method: 'GET', url: '/metrics', headers: authorization ? { authorization } : {} });

  it('answers 401 with a bearer challenge without the token, with a wrong one, or with an API token', async () => {
    for (const authorization of [undefined, 'Bearer wrong-token-value-123', `Bearer ${METRICS_TOKEN}x`, `Basic ${METRICS_TOKEN}`, 'Bearer test-token-0123456789abcdef']) {
      const res = await scrape(authorization);
      expect(res.statusCode, String(authorization)).toBe(401);
      expect(res.headers['www-authenticate']).toBe('Bearer realm="list-send metrics"');
      expect(res.body).not.toContain('list_send_');
    }
  });

  it('answers 200 with the metrics to the token', async () => {
    const res = await scrape(`Bearer ${METRICS_TOKEN}`);
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('list_send_runs_started_total{account="default"} 0');
    expect(res.body).toMatch(/^list_send_queue_jobs\{queue="send",state="waiting"\} 0$/m);
  });

  it('leaves the probes open', async () => {
    expect((await api.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    expect((await api.app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
  });
});

describe('queue depths on /metrics', () => {
  let api: ApiHarness;
  beforeAll(async () => {
    api = startApi({ label: 'api-metrics-cache' });
    expect(await connectionUsable(api.redis)).toBe(true);
  });
  afterAll(async () => {
    await api?.close();
  });

  it('are read from Redis once for a burst of scrapes', async () => {
    const reads = api.queues.map((q) => vi.spyOn(q, 'getJobCounts'));
    const burst = await Promise.all(Array.from({ length: 20 }, () => api.app.inject({ method: 'GET', url: '/metrics' })));
    expect(burst.every((r) => r.statusCode === 200)).toBe(true);
    for (const read of reads) expect(read).toHaveBeenCalledTimes(1);
    vi.restoreAllMocks();
  });

  it('serve a read for its maximum age, share a read in flight, and retry after a failed read', async () => {
    let clock = 0;
    let calls = 0;
    let fail = false;
    const read = cachedReader(
      async () => {
        calls++;
        if (fail) throw new Error('redis down');
        return [{ waiting: calls }];
      },
      5_000,
      () => clock,
    );
    const [a, b] = await Promise.all([read(), read()]);
    expect([a, b, calls]).toEqual([[{ waiting: 1 }], [{ waiting: 1 }], 1]);
    clock = 4_999;
    expect(await read()).toEqual([{ waiting: 1 }]);
    clock = 5_000;
    expect(await read()).toEqual([{ waiting: 2 }]);
    fail = true;
    clock = 10_000;
    await expect(read()).rejects.toThrow('redis down');
    fail = false;
    expect(await read()).toEqual([{ waiting: 4 }]);
  });
});

describe("a worker's /metrics (METRICS_PORT) with METRICS_TOKEN set", () => {
  const agent = new Agent();
  afterAll(() => agent.close());

  it('answers 401 without the token and 200 with it', async () => {
    const metrics = createMetrics(new Registry(), { processMetrics: false });
    const server = await serveMetrics(metrics.registry, { port: 0, token: METRICS_TOKEN });
    try {
      const url = `http://127.0.0.1:${server.port}/metrics`;
      const refused = await request(url, { dispatcher: agent });
      expect(refused.statusCode).toBe(401);
      expect(await refused.body.text()).toBe('');
      const wrong = await request(url, { dispatcher: agent, headers: { authorization: 'Bearer nope' } });
      expect(wrong.statusCode).toBe(401);
      await wrong.body.dump();
      const ok = await request(url, { dispatcher: agent, headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
      expect(ok.statusCode).toBe(200);
      expect(await ok.body.text()).toContain('list_send_runs_completed_total{account="default"} 0');
    } finally {
      await server.close();
    }
  });
});
