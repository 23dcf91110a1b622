import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QUEUE_NAMES } from '../../queues/catalog.js';
import { seedRequest } from '../helpers/requests.js';
import { DASHBOARD, startApiWithPipeline, type PipelineHarness } from './harness.js';

/**
 * Issue #11: with a per-queue BullMQ limiter, every job start refreshed the queue's limiter key,
 * and Bull Board, which shows that key's TTL, put a "rate limited Ns" badge on queues that were
 * idle and nowhere near their limit. The SFMC budget lives in its own keys, so after a run every
 * queue reports no active rate limit.
 */

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('the dashboard after a run', () => {
  let h: PipelineHarness;
  beforeAll(async () => {
    h = await startApiWithPipeline({ label: 'idle-queues' });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('shows no "rate limited" badge on any queue once the run is done', async () => {
    await h.producer.enqueue(seedRequest({ runId: 'idle-1' }));
    const status = await h.producer.waitUntilFinished('idle-1', { timeoutMs: 20_000 });
    expect(status.state).toBe('completed');

    const res = await h.app.inject({ method: 'GET', url: '/ui/api/queues', headers: { authorization: basic(DASHBOARD.user, DASHBOARD.password) } });
    expect(res.statusCode).toBe(200);
    const queues = (res.json() as { queues: { name: string; activeRateLimitTtl: number }[] }).queues;
    expect(queues.map((q) => q.name).sort()).toEqual([...QUEUE_NAMES].sort());
    expect(queues.map((q) => [q.name, q.activeRateLimitTtl])).toEqual(queues.map((q) => [q.name, 0]));
  });
});
