import { spawn } from 'node:child_process';
import { freeClusterPort, startRedisServer, type RedisServer } from '../reliability/processes.js';
import { until } from '../reliability/support.js';

/** Runs redis-cli with these arguments; never throws, the exit code and output say what happened. */
export async function redisCli(args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn('redis-cli', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => resolve({ code, out }));
  });
}

/**
 * A Redis Cluster of `masters` private redis-server processes on loopback, no replicas, returned
 * once every node reports cluster_state:ok. The caller destroys the nodes.
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
  const created = await redisCli(['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '0', '--cluster-yes']);
  if (created.code !== 0) throw new Error(`redis-cli --cluster create failed:\n${created.out}`);
  await until('every node to report cluster_state:ok', async () => {
    const infos = await Promise.all(nodes.map((n) => redisCli(['-p', String(n.port), 'cluster', 'info'])));
    return infos.every((i) => i.out.includes('cluster_state:ok')) || undefined;
  }, 20_000, 100);
  return nodes;
}
