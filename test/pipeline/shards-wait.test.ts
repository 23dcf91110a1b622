import { afterEach, describe, expect, it } from 'vitest';
import { shardOf } from '../../src/shards.js';
import { seedRequest, startPipeline, type Pipeline } from '../helpers/pipeline.js';

// QUEUE_SHARDS on one Redis: a producer waits for each run on its own shard's events (the cluster
// test, test/pipeline/shards-cluster.test.ts, waits on worker events instead).
describe('waiting for runs spread over shards', () => {
  let pipeline: Pipeline | undefined;
  afterEach(async () => {
    await pipeline?.close();
    pipeline = undefined;
  });

  it('sees each run finish, whichever shard it is in', async () => {
    pipeline = await startPipeline({ label: 'shards-wait', env: { QUEUE_SHARDS: '3' } });
    const runIds = ['wait-a', 'wait-b', 'wait-c', 'wait-d', 'wait-e', 'wait-f'];
    // The runIds were picked to cover every shard, so the test fails if waits only work in one.
    expect(new Set(runIds.map((id) => shardOf(id, 3))).size).toBe(3);

    for (const runId of runIds) await pipeline.producer.enqueue(seedRequest({ runId }));
    const statuses = await Promise.all(runIds.map((runId) => pipeline!.producer.waitUntilFinished(runId, { timeoutMs: 30_000 })));

    expect(statuses.map((s) => s.state)).toEqual(runIds.map(() => 'completed'));
    expect(pipeline.sandbox.state.sends).toHaveLength(runIds.length);
    expect(new Set(statuses.map((s) => s.result?.sendId)).size).toBe(runIds.length);
  });
});
