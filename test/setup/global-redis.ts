import type { TestProject } from 'vitest/node';
import { ensureRedis } from '../../src/dev/redis-server.js';

/**
 * Integration tests need a real Redis (BullMQ's Lua scripts rule out mocks): REDIS_URL or the
 * machine's 127.0.0.1:6379 when one answers, otherwise a private redis-server for this run.
 */

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
  }
}

export default async function setup(project: TestProject) {
  const wanted = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const redis = await ensureRedis(wanted);
  if (redis.started) console.warn(`[test setup] no Redis at ${wanted}; started a private redis-server at ${redis.url}`);
  project.provide('redisUrl', redis.url);
  return () => redis.stop();
}
