import type { Redis } from 'ioredis';
import { ListSendClient } from '../src/client.js';
import type { ListSendRequestInput } from '../src/request.js';
import { withPrefix, workerRedis, type BenchContext } from './common.js';

/**
 * Part of item 3: Redis bytes per run for a large request, the case issue #10 is about. Runs are
 * enqueued with no worker, so every step job waits and nothing else is stored: the figure is the
 * run registry plus the step jobs, which before issue #10 each held a copy of the request.
 */

export const LARGE_RUNS = 20;

/**
 * Recorded before issue #10 (2026-12-01, the same request and count, on the code of b50d7bd):
 * the registry and all five step jobs carried the request.
 */
export const LARGE_BEFORE_ISSUE_10 = { bytesPerRun: 91.42 * 1024 };

/** 200 field maps with 10-character names (4,000 characters: the cap), a 500-character description. */
export function largeRequest(runId: string): ListSendRequestInput {
  return {
    runId,
    list: { name: 'Sample_List' },
    email: { id: 123 },
    import: {
      fileSpec: 'big.csv',
      fieldMappingType: 'ManualMap',
      fieldMaps: Array.from({ length: 200 }, (_, i) => ({ sourceName: `s${i}`.padEnd(10, 's'), destinationName: `d${i}`.padEnd(10, 'd') })),
      description: 'd'.repeat(500),
    },
    poll: { initialDelayMs: 2_000, maxDelayMs: 10_000, timeoutMs: 3_600_000 },
  };
}

export async function largeRequestBytes(ctx: BenchContext): Promise<{ requestBytes: number; bytesPerRun: number }> {
  return withPrefix(ctx, 'large-request', async (prefix) => {
    const redis = workerRedis(ctx.redisUrl);
    const producer = new ListSendClient({ redisUrl: ctx.redisUrl, prefix, steps: { attempts: 5, backoffMs: 1_000 } });
    try {
      for (let i = 0; i < LARGE_RUNS; i++) await producer.enqueue(largeRequest(`large-${i}`));
      const { bytes } = await prefixMemory(redis, prefix);
      return { requestBytes: Buffer.byteLength(JSON.stringify(largeRequest('large-0'))), bytesPerRun: bytes / LARGE_RUNS };
    } finally {
      await producer.close();
      redis.disconnect();
    }
  });
}

/** Every key under the prefix and the bytes Redis says each takes (MEMORY USAGE, all samples). */
export async function prefixMemory(redis: Redis, prefix: string): Promise<{ count: number; bytes: number }> {
  let cursor = '0';
  let count = 0;
  let bytes = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length === 0) continue;
    const pipeline = redis.pipeline();
    for (const key of keys) pipeline.memory('USAGE', key, 'SAMPLES', 0);
    const results = (await pipeline.exec()) ?? [];
    for (const [, value] of results) bytes += Number(value ?? 0);
    count += keys.length;
  } while (cursor !== '0');
  return { count, bytes };
}
