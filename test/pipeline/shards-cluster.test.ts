import { Queue, type Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QUEUE_NAMES } from '../../queues/catalog.js';
import { RunsData } from '../../src/api/runs-page/data.js';
import { startPrivateRedisCluster, type PrivateRedisCluster } from '../../src/dev/redis-cluster.js';
import { createMetrics } from '../../src/metrics.js';
import { createRedisConnection, type RedisLike } from '../../src/redis.js';
import { shardOf, shardPrefixes } from '../../src/shards.js';
import { seedRequest, startPipeline, type Pipeline } from '../helpers/pipeline.js';

/**
 * Issue 14, "Redis Cluster that spreads the load": QUEUE_SHARDS=12 on a three-master cluster
 * started here. The cluster is this file's own, so the prefix is the default `{list-send}`, whose
 * twelve shard tags hash to slots on all three masters (5, 3 and 4 of them).
 */

const SHARDS = 12;
const PREFIX = '{list-send}';
const RUN_IDS = Array.from({ length: 24 }, (_, i) => `spread-${i + 1}`);

/** Every key on one node (SCAN answers for the node's own slots only). */
async function keysOn(port: number): Promise<string[]> {
  const redis = new Redis(port, '127.0.0.1');
  try {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await redis.scan(cursor, 'COUNT', 1000);
      keys.push(...batch);
      cursor = next;
    } while (cursor !== '0');
    return keys;
  } finally {
    redis.disconnect();
  }
}

/** Resolves when every run's last job (the root of its flow, in queue `send`) has completed in some shard. */
function allRunsSent(byShard: Record<string, Worker>[], runIds: readonly string[]): Promise<void> {
  const waiting = new Set(runIds);
  return new Promise((resolve, reject) => {
    for (const workers of byShard) {
      for (const worker of Object.values(workers)) {
        worker.on('failed', (job, err) => {
          if (job && job.attemptsMade >= (job.opts.attempts ?? 1)) reject(new Error(`${job.id} failed for good: ${err.message}`));
        });
      }
      workers.send!.on('completed', (job) => {
        waiting.delete(job.data.runId as string);
        if (waiting.size === 0) resolve();
      });
    }
  });
}

describe('QUEUE_SHARDS=12 on a three-master Redis Cluster', () => {
  let cluster: PrivateRedisCluster;
  let p: Pipeline;

  beforeAll(async () => {
    cluster = await startPrivateRedisCluster(3);
    p = await startPipeline({
      label: 'shards',
      prefix: PREFIX,
      concurrency: 2,
      env: { REDIS_CLUSTER_NODES: cluster.nodes.map((n) => `${n.host}:${n.port}`).join(','), QUEUE_SHARDS: String(SHARDS) },
    });
  }, 60_000);

  afterAll(async () => {
    await p?.close();
    await cluster?.stop();
  });

  it('runs 24 runs to their Send, each in its shard, every master holding whole shards, and the runs readable by runId', async () => {
    expect(p.pool.byShard).toHaveLength(SHARDS);
    const sent = allRunsSent(p.pool.byShard, RUN_IDS);
    for (const runId of RUN_IDS) await p.producer.enqueue(seedRequest({ runId, poll: { initialDelayMs: 20, maxDelayMs: 50, timeoutMs: 20_000 } }));
    await sent;

    expect(p.sandbox.state.sends).toHaveLength(RUN_IDS.length);
    const statuses = await Promise.all(RUN_IDS.map((id) => p.producer.status(id)));
    expect(statuses.map((s) => s?.state)).toEqual(RUN_IDS.map(() => 'completed'));
    expect(new Set(statuses.map((s) => s?.result?.sendId)).size).toBe(RUN_IDS.length);

    // Where the keys are: each shard's keys on one master, and every master holding some runs.
    const prefixes = shardPrefixes(PREFIX, SHARDS);
    const shardOfKey = (key: string) => prefixes.findIndex((prefix) => key.startsWith(`${prefix}:`));
    const keysByMaster = await Promise.all(cluster.ports.map(keysOn));
    const shardsByMaster = keysByMaster.map((keys) => new Set(keys.map(shardOfKey).filter((i) => i >= 0)));
    const owners = prefixes.map((_, i) => shardsByMaster.filter((held) => held.has(i)).length);
    expect(owners.every((n) => n <= 1)).toBe(true);
    const runsByMaster = keysByMaster.map((keys) => keys.filter((k) => shardOfKey(k) >= 0 && k.includes(':run:')).length);
    for (const runs of runsByMaster) expect(runs, `run hashes per master: ${runsByMaster.join(' / ')}`).toBeGreaterThan(0);
    // A run's registry hash is in the shard its runId hashes to, beside its flow's jobs.
    const keys = keysByMaster.flat();
    for (const runId of RUN_IDS) {
      const prefix = prefixes[shardOf(runId, SHARDS)]!;
      expect(keys).toContain(`${prefix}:run:${runId}`);
      expect(keys).toContain(`${prefix}:send:${runId}-send`);
    }
  });

  it('lists every shard\'s runs (recent runs, the runs page) and sums every shard\'s queues in the metrics', async () => {
    expect(new Set(await p.producer.recentRunIds(100))).toEqual(new Set(RUN_IDS));
    const page = await new RunsData(p.producer).list({ state: 'completed' }, 1, 50);
    expect(page.runs.map((r) => r.runId).sort()).toEqual([...RUN_IDS].sort());
    // Timings come from each run's own shard.
    expect(page.runs.every((r) => r.steps.some((s) => s.startedAt))).toBe(true);

    const connection: RedisLike = createRedisConnection({ url: 'redis://127.0.0.1:1', clusterNodes: cluster.nodes }, 'producer');
    const queues = shardPrefixes(PREFIX, SHARDS).flatMap((prefix) => QUEUE_NAMES.map((name) => new Queue(name, { connection, prefix })));
    try {
      const metrics = createMetrics(new Registry(), { queues, processMetrics: false, queueDepthsMaxAgeMs: 0 });
      const series = (await metrics.queueJobs.get()).values;
      const sendCompleted = series.find((v) => v.labels.queue === 'send' && v.labels.state === 'completed');
      expect(sendCompleted?.value).toBe(RUN_IDS.length);
      expect(series.filter((v) => v.labels.queue === 'send')).toHaveLength(7);
    } finally {
      await Promise.all(queues.map((q) => q.close()));
      connection.disconnect();
    }
  });
});
