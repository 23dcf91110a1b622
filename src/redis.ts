import { Redis, type RedisOptions } from 'ioredis';

/**
 * Two kinds of connection. Workers wait out Redis outages (BullMQ requires
 * maxRetriesPerRequest: null for its blocking reads); producers answering an HTTP request or a
 * CLI call fail fast instead of queueing commands while Redis is down.
 */
export type ConnectionRole = 'worker' | 'producer';

export function redisOptions(role: ConnectionRole): RedisOptions {
  return role === 'worker'
    ? { maxRetriesPerRequest: null, enableReadyCheck: true }
    : { maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 5_000 };
}

export function createRedis(url: string, role: ConnectionRole): Redis {
  const client = new Redis(url, redisOptions(role));
  // An unhandled 'error' event would crash the process; ioredis reconnects by itself.
  client.on('error', () => {});
  return client;
}
