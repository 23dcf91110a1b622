import { createHash } from 'node:crypto';
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { RedisNode } from './config.js';

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

/** A standalone Redis or a Redis Cluster client: BullMQ, the run registry and the token store take either. */
export type RedisLike = Redis | Cluster;

/** Where Redis is: a URL, or the seed nodes of a cluster (which then win). */
export interface RedisTarget {
  url: string;
  clusterNodes?: RedisNode[];
}

export function clusterOptions(role: ConnectionRole): ClusterOptions {
  // Node connections get the role's options. A producer's offline queue is switched off at the
  // cluster level only: the cluster's own slot discovery needs it on the node connections.
  return role === 'worker'
    ? { redisOptions: redisOptions('worker'), enableReadyCheck: true }
    : { redisOptions: { maxRetriesPerRequest: 1, connectTimeout: 5_000 }, enableOfflineQueue: false, enableReadyCheck: true };
}

/**
 * A connection for a role, to a standalone Redis or (REDIS_CLUSTER_NODES) a Redis Cluster. Under a
 * cluster every key carries a hash tag: QUEUE_PREFIX's, or its shard's (src/shards.ts), so each
 * script's and each flow's keys live in one slot.
 */
export function createRedisConnection(target: RedisTarget, role: ConnectionRole): RedisLike {
  if (!target.clusterNodes || target.clusterNodes.length === 0) return createRedis(target.url, role);
  const cluster = new Cluster(target.clusterNodes, clusterOptions(role));
  cluster.on('error', () => {});
  return cluster;
}

/** The Redis a configuration names: REDIS_CLUSTER_NODES when set, else REDIS_URL. */
export function redisTargetOf(config: { redisUrl: string; redisClusterNodes?: RedisNode[] }): RedisTarget {
  return { url: config.redisUrl, ...(config.redisClusterNodes ? { clusterNodes: config.redisClusterNodes } : {}) };
}

const scriptShas = new Map<string, string>();

/**
 * Runs one of the project's Lua scripts by its SHA1 (EVALSHA), sending the whole text (EVAL) only
 * when Redis answers NOSCRIPT: the first call on a server, or after a restart or SCRIPT FLUSH. EVAL
 * of the text on every call wrote the script over the socket each time (the engine profile's
 * writeUtf8String, issue #14), as BullMQ's own scripts do not. A NOSCRIPT answer means the script did
 * not run, so running it again with EVAL cannot apply it twice. https://redis.io/docs/latest/commands/evalsha/
 */
export async function runScript(redis: RedisLike, script: string, numKeys: number, ...args: (string | number)[]): Promise<unknown> {
  let sha = scriptShas.get(script);
  if (!sha) {
    sha = createHash('sha1').update(script).digest('hex');
    scriptShas.set(script, sha);
  }
  try {
    return await redis.evalsha(sha, numKeys, ...args);
  } catch (err) {
    if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
    return redis.eval(script, numKeys, ...args);
  }
}
