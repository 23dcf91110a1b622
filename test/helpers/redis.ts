import { randomUUID } from 'node:crypto';
import { inject } from 'vitest';
import { deletePrefixKeys } from '../../src/dev/redis-server.js';

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
  await deletePrefixKeys(testRedisUrl(), prefix);
}
