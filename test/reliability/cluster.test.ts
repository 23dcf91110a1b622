import { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTOMATION_QUEUES } from '../../queues/automation.js';
import { QUEUE_NAMES } from '../../queues/catalog.js';
import { ListSendClient } from '../../src/client.js';
import { createSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { seedRequest } from '../helpers/pipeline.js';
import { uniquePrefix } from '../helpers/redis.js';
import { startRedisCluster } from '../helpers/redis-cluster.js';
import { killAllWorkers, sandboxEnv, spawnWorker, type RedisServer, type WorkerProcess } from './processes.js';
import { callsTo, until } from './support.js';

/**
 * Issue 6, "Scale-out": a whole run on a three-master Redis Cluster started on loopback, with two
 * worker processes. The hash-tagged prefix keeps every key of the service in one slot, which is
 * what lets BullMQ's multi-key scripts and flows work on a cluster at all.
 */

describe('a list send on a three-master Redis Cluster with two worker processes', () => {
  const nodes: RedisServer[] = [];
  const workers: WorkerProcess[] = [];
  let sandbox: Sandbox;
  let producer: ListSendClient;
  const prefix = uniquePrefix('cluster');

  beforeAll(async () => {
    nodes.push(...(await startRedisCluster('cluster')));

    sandbox = await createSandbox({ import: { registerDelayMs: 40, durationMs: 400 } });
    const clusterNodes = nodes.map((n) => ({ host: '127.0.0.1', port: n.port }));
    producer = new ListSendClient({ redisUrl: 'redis://127.0.0.1:1', clusterNodes, prefix, steps: { attempts: 5, backoffMs: 20 } });
    const env = {
      REDIS_CLUSTER_NODES: clusterNodes.map((n) => `${n.host}:${n.port}`).join(','),
      QUEUE_PREFIX: prefix,
      SFMC_TIMEOUT_MS: '5000',
      ...sandboxEnv(sandbox),
    };
    // One job per queue at a time in each process, so both processes must take part.
    workers.push(...(await Promise.all([spawnWorker(env, 1), spawnWorker(env, 1)])));
  }, 90_000);

  afterAll(async () => {
    await killAllWorkers();
    await producer?.close();
    await sandbox?.close();
    await Promise.all(nodes.map((n) => n.destroy()));
  });

  it('completes four runs with one Send each, the steps shared between both workers, and one token request', async () => {
    const runIds = ['cl-1', 'cl-2', 'cl-3', 'cl-4'];
    // Each of the first List lookups holds its worker's only resolve-list slot for a while.
    sandbox.faults.inject({ operation: 'Retrieve', objectType: 'List', kind: 'delay', delayMs: 500, times: 4 });
    for (const runId of runIds) await producer.enqueue(seedRequest({ runId }));
    const statuses = await Promise.all(runIds.map((id) => producer.waitUntilFinished(id, { timeoutMs: 30_000 })));

    expect(statuses.map((s) => s.state), statuses.map((s) => s.error).join('; ')).toEqual(runIds.map(() => 'completed'));
    expect(sandbox.state.sends).toHaveLength(4);
    expect(new Set(statuses.map((s) => s.result?.sendId)).size).toBe(4);
    expect(Object.keys(sandbox.state.imports)).toHaveLength(4);
    // Log lines travel through a pipe: wait for all of them rather than race it.
    const completedBy = (w: WorkerProcess) => w.lines().filter((l) => l.msg === 'step completed');
    await until('every step completion to be logged', () => (workers.flatMap(completedBy).length === 4 * 5 ? true : undefined));
    for (const w of workers) expect(completedBy(w).filter((l) => l.queue === 'resolve-list').length).toBeGreaterThan(0);
    // Both processes used one token, shared through the cluster.
    expect(callsTo(sandbox, 'token')).toHaveLength(1);
  });

  it('keeps every key of the prefix, queues, run registry, token, call budget and queue layout alike, in the one slot of its hash tag', async () => {
    const keysByNode = await Promise.all(
      nodes.map(async (n) => {
        const redis = new Redis(n.url);
        try {
          const keys: string[] = [];
          let cursor = '0';
          do {
            const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
            keys.push(...batch);
            cursor = next;
          } while (cursor !== '0');
          const slots = await Promise.all(keys.map((k) => redis.cluster('KEYSLOT', k) as Promise<number>));
          return { keys, slots, tagSlot: (await redis.cluster('KEYSLOT', prefix)) as number };
        } finally {
          redis.disconnect();
        }
      }),
    );
    const holding = keysByNode.filter((n) => n.keys.length > 0);
    expect(holding).toHaveLength(1);
    const [only] = holding as [(typeof holding)[number]];
    expect(new Set(only.slots)).toEqual(new Set([only.tagSlot]));
    const kinds = only.keys.map((k) => k.slice(prefix.length + 1).split(':')[0]);
    // The schedules and triggers queues' worker keys too: every worker process runs them (issue #13).
    expect([...new Set(kinds)].sort()).toEqual([...QUEUE_NAMES, ...AUTOMATION_QUEUES, 'queue-shards', 'run', 'run-fingerprints', 'runs', 'sfmc-budget', 'sfmc-token'].sort());

    // A cluster client reads the run registry like a single Redis.
    const cluster = new Cluster(nodes.map((n) => ({ host: '127.0.0.1', port: n.port })));
    try {
      expect(await cluster.hget(`${prefix}:run:cl-1`, 'sendClaimedAt')).toMatch(/^\d{4}-/);
    } finally {
      cluster.disconnect();
    }
  });
});
