import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { inject } from 'vitest';

/** The Redis the global setup found or started. */
export function testRedisUrl(): string {
  return inject('redisUrl');
}

/** A hash-tagged prefix unique to one test file, so files never see each other's queues. */
export function uniquePrefix(label: string): string {
  return `{t-${label}-${randomUUID().slice(0, 8)}}`;
}

/** Deletes every key under a test prefix. */
export async function deletePrefix(prefix: string): Promise<void> {
  const redis = new Redis(testRedisUrl(), { maxRetriesPerRequest: 1 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}
