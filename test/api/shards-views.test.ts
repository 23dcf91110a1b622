import { Queue } from 'bullmq';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QUEUE_NAMES } from '../../queues/catalog.js';
import { buildApp, type App } from '../../src/api/app.js';
import { ListSendClient } from '../../src/client.js';
import { createMetrics } from '../../src/metrics.js';
import { createRedis } from '../../src/redis.js';
import { shardOf, shardPrefixes } from '../../src/shards.js';
import { seedRequest } from '../helpers/pipeline.js';
import { deletePrefix, testRedisUrl, uniquePrefix } from '../helpers/redis.js';
import { AUTH, captureLogs, DASHBOARD, TOKENS } from './harness.js';

/**
 * What a person sees of a sharded deployment (QUEUE_SHARDS=3) through `list-send serve`: /v1 finds
 * each run in its shard and lists every shard's, and Bull Board shows each shard's queues under a
 * name that says the shard, where the runs page links. No workers: the runs wait in their queues.
 */

const SHARDS = 3;
const RUN_IDS = ['views-a', 'views-b', 'views-c', 'views-d', 'views-e', 'views-f'];
const basic = `Basic ${Buffer.from(`${DASHBOARD.user}:${DASHBOARD.password}`).toString('base64')}`;

describe('the API and dashboards over three shards', () => {
  const prefix = uniquePrefix('shard-views');
  const redis = createRedis(testRedisUrl(), 'producer');
  const producer = new ListSendClient({ redisUrl: testRedisUrl(), prefix, shards: SHARDS, steps: { attempts: 3, backoffMs: 20 }, connection: redis });
  const queues = shardPrefixes(prefix, SHARDS).flatMap((p) => QUEUE_NAMES.map((name) => new Queue(name, { connection: redis, prefix: p })));
  let app: App;

  beforeAll(async () => {
    const metrics = createMetrics(new Registry(), { queues, processMetrics: false, queueDepthsMaxAgeMs: 0 });
    app = buildApp({ producer, redis, queues, logger: captureLogs().logger, metrics, tokens: [...TOKENS], dashboard: DASHBOARD, prefix, queueShards: SHARDS });
    for (const runId of RUN_IDS) await producer.enqueue(seedRequest({ runId }));
    // The runs must cover every shard for the checks below to mean anything.
    expect(new Set(RUN_IDS.map((id) => shardOf(id, SHARDS))).size).toBe(SHARDS);
  });

  afterAll(async () => {
    await app?.close();
    await producer.close();
    await Promise.all(queues.map((q) => q.close()));
    redis.disconnect();
    for (const p of shardPrefixes(prefix, SHARDS)) await deletePrefix(p);
  });

  it('reads each run from its shard and lists the runs of every shard on /v1', async () => {
    for (const runId of RUN_IDS) {
      const res = await app.inject({ method: 'GET', url: `/v1/list-sends/${runId}`, headers: AUTH });
      expect(res.statusCode, runId).toBe(200);
      expect((res.json() as { state: string }).state).toBe('waiting');
    }
    const list = await app.inject({ method: 'GET', url: '/v1/list-sends?limit=50', headers: AUTH });
    expect((list.json() as { runs: { runId: string }[] }).runs.map((r) => r.runId).sort()).toEqual([...RUN_IDS].sort());
  });

  it('names every shard\'s queues on Bull Board, and the runs page links to the run\'s own shard', async () => {
    const res = await app.inject({ method: 'GET', url: '/ui/api/queues', headers: { authorization: basic } });
    const names = (res.json() as { queues: { name: string }[] }).queues.map((q) => q.name);
    expect(names.sort()).toEqual(Array.from({ length: SHARDS }, (_, i) => QUEUE_NAMES.map((q) => `shard-${i}:${q}`)).flat().sort());

    for (const runId of RUN_IDS) {
      const page = await app.inject({ method: 'GET', url: `/runs/${runId}`, headers: { authorization: basic } });
      const board = `shard-${shardOf(runId, SHARDS)}:send`;
      expect(page.body).toContain(`/ui/queue/${encodeURIComponent(board)}/${runId}-send`);
      const job = await app.inject({ method: 'GET', url: `/ui/api/queues/${encodeURIComponent(board)}/${runId}-send`, headers: { authorization: basic } });
      expect(job.statusCode, runId).toBe(200);
      expect((job.json() as { job: { id: string } }).job.id).toBe(`${runId}-send`);
    }
  });
});
