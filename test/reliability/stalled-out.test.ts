import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stepJobId } from '../../queues/catalog.js';
import { createMetrics, observeWorkers } from '../../src/metrics.js';
import { RunRegistry } from '../../src/runs.js';
import { seedRequest, startPipeline, type Pipeline } from '../helpers/pipeline.js';
import { testRedisUrl } from '../helpers/redis.js';
import { until } from './support.js';

/**
 * A step job BullMQ fails for good by itself, never reaching the step wrapper: one that stalled more
 * than maxStalledCount times. BullMQ's stall check marks such a job (`defa`, the reason) as it moves
 * it back to wait, and the next worker to take it fails it without running the processor
 * (node_modules/bullmq/dist/cjs/commands/moveStalledJobsToWait-9.lua; worker.js
 * getUnrecoverableErrorMessage). The test makes that state itself, with BullMQ's own reason text
 * read from its script, so it needs no process to stall twice: the run must still end marked
 * finished (its registry entry expires) and be counted once in /metrics.
 */

const require = createRequire(import.meta.url);
const STALL_SCRIPT = require.resolve('bullmq/dist/cjs/commands/moveStalledJobsToWait-9.lua');
const STALLED_REASON = /failedReason = "([^"]+)"/.exec(readFileSync(STALL_SCRIPT, 'utf8'))?.[1];

let p: Pipeline;
let redis: Redis;

beforeAll(async () => {
  p = await startPipeline({ label: 'stalled-out' });
  redis = new Redis(testRedisUrl(), { maxRetriesPerRequest: 1 });
});

afterAll(async () => {
  redis?.disconnect();
  await p?.close();
});

describe('a step BullMQ fails by itself after it stalled too often', () => {
  it('ends the run: failed, its registry entry marked finished with an expiry, counted once as stalled', async () => {
    expect(STALLED_REASON).toMatch(/stalled/);
    const metrics = createMetrics(new Registry(), { processMetrics: false });
    observeWorkers(metrics, p.pool);
    // The queue paused (no worker takes a job), so the job waits where a stall check leaves it.
    const queue = new Queue('resolve-list', { connection: redis, prefix: p.prefix });
    await queue.pause();
    const runId = 'stalled-out-1';
    try {
      await p.producer.enqueue(seedRequest({ runId }));
      const jobId = stepJobId(runId, 'resolve-list');
      await until('the resolve-list job waiting', async () => (['waiting', 'paused'].includes(await queue.getJobState(jobId)) ? true : undefined));
      // What BullMQ's stall check leaves on a job past maxStalledCount, back in wait.
      await redis.hset(`${p.prefix}:resolve-list:${jobId}`, 'defa', STALLED_REASON as string);
      await queue.resume();

      const status = await p.producer.waitUntilFinished(runId, { timeoutMs: 20_000 });
      expect(status.state).toBe('failed');
      const registry = new RunRegistry(redis, p.prefix);
      const finished = await until('the run marked finished', async () => (await p.producer.record(runId))?.finishedAt);
      expect(Date.parse(finished)).toBeGreaterThan(0);
      expect(await redis.ttl(registry.key(runId))).toBeGreaterThan(0);
      // Once, for the step that stalled: its flow parents failing after it are not runs of their own.
      const failed = (await metrics.runsFailed.get()).values;
      expect(failed).toEqual([expect.objectContaining({ value: 1, labels: { step: 'resolve-list', reason: 'stalled', account: 'unknown' } })]);
      // No Send was made.
      expect(p.sandbox.calls().filter((c) => c.operation === 'Create' && c.objectType === 'Send')).toEqual([]);
    } finally {
      await queue.close();
    }
  });
});
