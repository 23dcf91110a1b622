import { createCluster, freeClusterPort } from '../../src/dev/redis-cluster.js';
import { startRedisServer, type RedisServer } from '../reliability/processes.js';

export { redisCli } from '../../src/dev/redis-cluster.js';

/**
 * A Redis Cluster of `masters` private redis-server processes on loopback, no replicas, returned
 * once every node reports cluster_state:ok. The nodes can be shut down and restarted one by one
 * (RedisServer); the caller destroys them.
 */
export async function startRedisCluster(label: string, masters = 3): Promise<RedisServer[]> {
  const nodes: RedisServer[] = [];
  for (let i = 0; i < masters; i++) {
    nodes.push(
      await startRedisServer(['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '2000', '--appendonly', 'no'], {
        label: `${label}-${i}`,
        port: await freeClusterPort(),
      }),
    );
  }
  await createCluster(nodes.map((n) => n.port));
  return nodes;
}
