import { Writable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ListSendClient } from '../../src/client.js';
import { createLogger } from '../../src/logger.js';
import { QueueLayoutError, queueLayoutKey, unfinishedJobs } from '../../src/queue-layout.js';
import { createRedisConnection } from '../../src/redis.js';
import type { SfmcApi } from '../../src/sfmc/types.js';
import { shardPrefixes } from '../../src/shards.js';
import { startWorkers, type WorkerPool } from '../../src/worker/start.js';
import { seedRequest, startPipeline, TEST_POLL_FLOOR_MS, type Pipeline } from '../helpers/pipeline.js';
import { deletePrefix, testRedisUrl, uniquePrefix } from '../helpers/redis.js';

/**
 * QUEUE_SHARDS recorded in Redis (src/queue-layout.ts): a worker pool with another count than the
 * recorded one refuses to start while the recorded layout has unfinished jobs, and switches the
 * record when it has none; a producer with another count refuses to enqueue.
 */

const STEPS = { attempts: 3, backoffMs: 20 };

function captureLogs() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  return { logger: createLogger({ level: 'info', stream }), lines: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('the queue layout recorded in Redis', () => {
  const redis = createRedisConnection({ url: testRedisUrl() }, 'worker');
  const prefixes: string[] = [];
  const closers: (() => Promise<void>)[] = [];

  /** A fresh prefix, its keys (and every shard's) deleted after the file. */
  const freshPrefix = (label: string) => {
    const prefix = uniquePrefix(label);
    prefixes.push(prefix);
    return prefix;
  };

  /** A pool on `prefix` with `shards`: no job reaches its SOAP client, so it has none. */
  const pool = async (prefix: string, shards: number, logger = captureLogs().logger): Promise<WorkerPool> => {
    const started = await startWorkers({ connection: redis, prefix, shards, sfmc: {} as SfmcApi, logger });
    closers.push(() => started.close());
    return started;
  };

  const producer = (prefix: string, shards: number) => {
    const client = new ListSendClient({ redisUrl: testRedisUrl(), prefix, shards, steps: STEPS, pollFloorMs: TEST_POLL_FLOOR_MS });
    closers.push(() => client.close());
    return client;
  };

  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
  });

  afterAll(async () => {
    for (const prefix of prefixes) for (const p of new Set([prefix, ...shardPrefixes(prefix, 3)])) await deletePrefix(p);
    redis.disconnect();
  });

  describe('with a run in flight under QUEUE_SHARDS=1', () => {
    let pipeline: Pipeline;
    beforeAll(async () => {
      // The import takes 2 s in the sandbox: the run is still unfinished when the second pool starts.
      pipeline = await startPipeline({ label: 'layout', sandbox: { import: { durationMs: 2_000 } } });
    });
    afterAll(async () => {
      await pipeline?.close();
    });

    it('refuses a pool with QUEUE_SHARDS=3, naming both counts and the unfinished jobs; once the run is finished it starts and records 3', async () => {
      const key = queueLayoutKey(pipeline.prefix);
      expect(await redis.get(key)).toBe('1');
      await pipeline.producer.enqueue(seedRequest({ runId: 'layout-in-flight' }));

      const refused = await pool(pipeline.prefix, 3).catch((err: unknown) => err);
      expect(refused).toBeInstanceOf(QueueLayoutError);
      const error = refused as QueueLayoutError;
      expect(error).toMatchObject({ code: 'queue-layout-mismatch', recorded: '1', configured: 3 });
      expect(error.unfinished).toBeGreaterThan(0);
      expect(error.message).toContain('QUEUE_SHARDS is 3');
      expect(error.message).toContain(`${error.unfinished} unfinished job(s) wait under QUEUE_SHARDS=1`);
      expect(error.message).toContain('then start with QUEUE_SHARDS=3');
      expect(await redis.get(key)).toBe('1');

      // The QUEUE_SHARDS=1 workers finish the run; then they stop, and the pool with 3 takes over.
      expect((await pipeline.producer.waitUntilFinished('layout-in-flight', { timeoutMs: 20_000 })).state).toBe('completed');
      await pipeline.pool.close();
      expect(await unfinishedJobs(redis, pipeline.prefix, 1)).toBe(0);
      const logs = captureLogs();
      await pool(pipeline.prefix, 3, logs.logger);
      expect(await redis.get(key)).toBe('3');
      expect(logs.lines()).toContainEqual(expect.objectContaining({ level: 40, key, from: 1, to: 3 }));
    });
  });

  it('records the count of the first pool when none is recorded, and starts a pool with the same count', async () => {
    const prefix = freshPrefix('layout-first');
    await pool(prefix, 3);
    expect(await redis.get(queueLayoutKey(prefix))).toBe('3');
    await pool(prefix, 3);
    expect(await redis.get(queueLayoutKey(prefix))).toBe('3');
  });

  it('refuses an enqueue from a producer with another count than the recorded one, and enqueues nothing', async () => {
    const prefix = freshPrefix('layout-producer');
    await pool(prefix, 3);
    const client = producer(prefix, 1);
    const refused = await client.enqueue(seedRequest({ runId: 'layout-refused' })).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(QueueLayoutError);
    expect(refused).toMatchObject({ code: 'queue-layout-mismatch', recorded: '3', configured: 1 });
    expect((refused as Error).message).toMatch(/QUEUE_SHARDS is 1 here but the workers run with QUEUE_SHARDS=3 .*nothing was enqueued/);
    // Nothing under either layout: no claim, no job.
    expect(await client.record('layout-refused')).toBeUndefined();
    expect(await producer(prefix, 3).record('layout-refused')).toBeUndefined();
    expect(await unfinishedJobs(redis, prefix, 1)).toBe(0);
    expect(await unfinishedJobs(redis, prefix, 3)).toBe(0);
    // The recorded count itself enqueues.
    expect(await producer(prefix, 3).enqueue(seedRequest({ runId: 'layout-accepted' }))).toEqual({ runId: 'layout-accepted', created: true });
  });

  it('lets a producer enqueue when no layout is recorded, and leaves it unrecorded', async () => {
    const prefix = freshPrefix('layout-absent');
    expect(await producer(prefix, 1).enqueue(seedRequest({ runId: 'layout-absent' }))).toEqual({ runId: 'layout-absent', created: true });
    expect(await redis.get(queueLayoutKey(prefix))).toBeNull();
    expect(await unfinishedJobs(redis, prefix, 1)).toBeGreaterThan(0);
  });

  it('refuses a pool and a producer when the key holds something that is not a shard count', async () => {
    const prefix = freshPrefix('layout-garbage');
    await redis.set(queueLayoutKey(prefix), 'three');
    await expect(pool(prefix, 3)).rejects.toThrow(/holds "three", not a shard count/);
    await expect(producer(prefix, 3).enqueue(seedRequest({ runId: 'layout-garbage' }))).rejects.toBeInstanceOf(QueueLayoutError);
    // One shard: the claim script reads the record, and the refusal says the same.
    await expect(producer(prefix, 1).enqueue(seedRequest({ runId: 'layout-garbage' }))).rejects.toThrow(/holds "three", not a shard count/);
    // Written by hand with a leading zero: not what a worker writes, refused alike whichever check reads it.
    await redis.set(queueLayoutKey(prefix), '01');
    await expect(producer(prefix, 1).enqueue(seedRequest({ runId: 'layout-zero' }))).rejects.toThrow(/holds "01", not a shard count/);
    await expect(producer(prefix, 3).enqueue(seedRequest({ runId: 'layout-zero' }))).rejects.toThrow(/holds "01", not a shard count/);
  });
});
