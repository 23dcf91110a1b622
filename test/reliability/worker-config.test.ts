import { Cluster, Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { clusterOptions, createRedisConnection, redisTargetOf } from '../../src/redis.js';
import { configProblems } from '../helpers/config.js';

/** The settings the crash and cluster tests rely on: lock timings and Redis Cluster seed nodes. */

describe('configuring workers for takeover and scale-out', () => {
  it('reads REDIS_CLUSTER_NODES as host:port seed nodes, IPv6 included', () => {
    const config = loadConfig({ REDIS_CLUSTER_NODES: '127.0.0.1:7000, redis-b:7001,[::1]:7002' });
    expect(config.redisClusterNodes).toEqual([
      { host: '127.0.0.1', port: 7000 },
      { host: 'redis-b', port: 7001 },
      { host: '::1', port: 7002 },
    ]);
    expect(redisTargetOf(config)).toEqual({ url: 'redis://127.0.0.1:6379', clusterNodes: config.redisClusterNodes });
    expect(loadConfig({}).redisClusterNodes).toBeUndefined();
  });

  it.each(['redis-a', 'redis-a:0', 'redis-a:70000', 'redis-a:7000;redis-b:7001'])('refuses REDIS_CLUSTER_NODES=%s, naming the variable', (value) => {
    expect(configProblems({ REDIS_CLUSTER_NODES: value })).toEqual(['REDIS_CLUSTER_NODES: must be host:port pairs separated by commas']);
  });

  it('reads the lock settings, leaving BullMQ defaults when unset', () => {
    expect(loadConfig({ WORKER_LOCK_DURATION_MS: '1000', WORKER_STALLED_INTERVAL_MS: '500' }).worker).toEqual({ lockDurationMs: 1000, stalledIntervalMs: 500 });
    expect(loadConfig({ WORKER_LOCK_DURATION_MS: '' }).worker).toEqual({});
    expect(configProblems({ WORKER_STALLED_INTERVAL_MS: '0' })).toEqual(['WORKER_STALLED_INTERVAL_MS: must be positive']);
  });

  it('builds a Cluster client when seed nodes are given: workers wait out outages, producers fail fast', () => {
    expect(clusterOptions('worker').redisOptions?.maxRetriesPerRequest).toBeNull();
    expect(clusterOptions('producer')).toMatchObject({ enableOfflineQueue: false, redisOptions: { maxRetriesPerRequest: 1 } });
    const cluster = createRedisConnection({ url: 'redis://unused', clusterNodes: [{ host: '127.0.0.1', port: 1 }] }, 'worker');
    const single = createRedisConnection({ url: 'redis://127.0.0.1:1' }, 'producer');
    try {
      expect(cluster).toBeInstanceOf(Cluster);
      expect(single).toBeInstanceOf(Redis);
    } finally {
      cluster.disconnect();
      single.disconnect();
    }
  });
});
