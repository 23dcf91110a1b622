import { Queue } from 'bullmq';
import { Cluster } from 'ioredis';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QUEUE_NAMES } from '../../queues/catalog.js';
import { buildApp, connectionUsable, type App } from '../../src/api/app.js';
import { tokenIdentity } from '../../src/api/limits.js';
import { ListSendClient } from '../../src/client.js';
import { createMetrics } from '../../src/metrics.js';
import { createRedisConnection, type RedisLike } from '../../src/redis.js';
import { uniquePrefix } from '../helpers/redis.js';
import { startRedisCluster } from '../helpers/redis-cluster.js';
import type { RedisServer } from '../reliability/processes.js';
import { AUTH, TOKENS, captureLogs } from './harness.js';

/**
 * The /v1 rate limit on a three-master Redis Cluster, wired as `list-send serve` wires it with
 * REDIS_CLUSTER_NODES: the limiter's script runs on the cluster client, and its key carries the
 * prefix's hash tag, so it lives in the queues' slot.
 */

describe('the per-token rate limit on a Redis Cluster', () => {
  const LIMIT = 2;
  const nodes: RedisServer[] = [];
  const prefix = uniquePrefix('api-limits-cluster');
  let redis: RedisLike;
  let producer: ListSendClient;
  let queues: Queue[];
  let app: App;

  beforeAll(async () => {
    nodes.push(...(await startRedisCluster('api-cluster')));

    const clusterNodes = nodes.map((n) => ({ host: '127.0.0.1', port: n.port }));
    redis = createRedisConnection({ url: 'redis://127.0.0.1:1', clusterNodes }, 'producer');
    producer = new ListSendClient({ redisUrl: 'redis://127.0.0.1:1', clusterNodes, prefix, steps: { attempts: 3, backoffMs: 20 }, connection: redis });
    queues = QUEUE_NAMES.map((name) => new Queue(name, { connection: redis, prefix }));
    for (const q of queues) q.on('error', () => {});
    const metrics = createMetrics(new Registry(), { queues, processMetrics: false });
    app = buildApp({ producer, redis, queues, logger: captureLogs().logger, metrics, tokens: [...TOKENS], prefix, rateLimitPerMinute: LIMIT });
    expect(await connectionUsable(redis, 10_000)).toBe(true);
  }, 60_000);

  afterAll(async () => {
    await app?.close();
    await producer?.close();
    await Promise.all((queues ?? []).map((q) => q.close()));
    redis?.disconnect();
    await Promise.all(nodes.map((n) => n.destroy()));
  });

  it('answers 429 after the limit, and keeps its counter in the slot of the queue prefix', async () => {
    const codes: number[] = [];
    for (let i = 0; i < LIMIT + 1; i++) codes.push((await app.inject({ method: 'GET', url: '/v1/list-sends', headers: AUTH })).statusCode);
    expect(codes).toEqual([200, 200, 429]);
    const key = `${prefix}:api-rate:token:${tokenIdentity(TOKENS[0])}`;
    const cluster = redis as Cluster;
    expect(await cluster.get(key)).toBe(String(LIMIT + 1));
    expect(await cluster.cluster('KEYSLOT', key)).toBe(await cluster.cluster('KEYSLOT', `${prefix}:run:x`));
  });
});
