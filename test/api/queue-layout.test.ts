import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queueLayoutKey } from '../../src/queue-layout.js';
import { seedRequest } from '../helpers/requests.js';
import { AUTH, startApi, type ApiHarness } from './harness.js';

/**
 * The API (QUEUE_SHARDS=1) against workers that recorded QUEUE_SHARDS=3 (src/queue-layout.ts): an
 * enqueue is a 503 with its own code, naming both counts, and nothing is stored; the server stays up.
 */
describe('the API when its QUEUE_SHARDS is not the workers\'', () => {
  let api: ApiHarness;
  beforeAll(async () => {
    api = startApi({ label: 'api-layout' });
    // The producer connection has no offline queue: a command before it is ready fails.
    if (api.redis.status !== 'ready') await new Promise((resolve) => api.redis.once('ready', resolve));
    // What a worker pool started with QUEUE_SHARDS=3 records.
    await api.redis.set(queueLayoutKey(api.prefix), '3');
  });
  afterAll(async () => {
    await api?.close();
  });

  it('answers 503 queue-layout-mismatch naming both counts, and enqueues nothing', async () => {
    const res = await api.app.inject({ method: 'POST', url: '/v1/list-sends', headers: AUTH, payload: seedRequest({ runId: 'layout-api' }) });
    expect(res.statusCode).toBe(503);
    const body = res.json<{ error: string; message: string }>();
    expect(body.error).toBe('queue-layout-mismatch');
    expect(body.message).toMatch(/QUEUE_SHARDS is 1 here but the workers run with QUEUE_SHARDS=3/);
    expect(await api.producer.record('layout-api')).toBeUndefined();
    expect((await api.app.inject({ method: 'GET', url: '/v1/list-sends/layout-api', headers: AUTH })).statusCode).toBe(404);
    // Not logged as an unexpected failure.
    expect(api.logs.lines().filter((l) => l.msg === 'request failed')).toEqual([]);
  });

  it('enqueues once the recorded count is this server\'s', async () => {
    await api.redis.set(queueLayoutKey(api.prefix), '1');
    const res = await api.app.inject({ method: 'POST', url: '/v1/list-sends', headers: AUTH, payload: seedRequest({ runId: 'layout-api' }) });
    expect(res.statusCode).toBe(202);
  });
});
