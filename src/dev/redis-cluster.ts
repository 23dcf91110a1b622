import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { redisAnswers } from './redis-server.js';

/**
 * For the tests and the bench: a Redis Cluster of private redis-server processes on loopback, no
 * replicas, nothing on disk but each node's nodes.conf in a temporary folder removed at stop.
 */

/** Runs redis-cli with these arguments; never throws, the exit code and output say what happened. */
export async function redisCli(args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn('redis-cli', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.once('error', (err) => resolve({ code: null, out: err.message }));
    child.once('exit', (code) => resolve({ code, out }));
  });
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * A loopback port that is free, and whose cluster bus port (port + 10000) is free too: redis-server
 * refuses cluster mode on an ephemeral port above 55535.
 */
export async function freeClusterPort(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const port = 20_000 + Math.floor(Math.random() * 10_000);
    if ((await portFree(port)) && (await portFree(port + 10_000))) return port;
  }
  throw new Error('found no free port pair for a Redis Cluster node');
}

/**
 * Joins running cluster-enabled nodes into one cluster (`redis-cli --cluster create`, which gives
 * each master an equal range of slots in the order given) and waits for every node to say
 * cluster_state:ok.
 */
export async function createCluster(ports: readonly number[], timeoutMs = 20_000): Promise<void> {
  const created = await redisCli(['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes']);
  if (created.code !== 0) throw new Error(`redis-cli --cluster create failed:\n${created.out}`);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const infos = await Promise.all(ports.map((p) => redisCli(['-p', String(p), 'cluster', 'info'])));
    if (infos.every((i) => i.out.includes('cluster_state:ok'))) return;
    if (Date.now() > deadline) throw new Error(`the cluster on ports ${ports.join(', ')} did not reach cluster_state:ok within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface PrivateRedisCluster {
  /** The masters' ports, in the order of their slot ranges (the first holds slot 0). */
  ports: number[];
  nodes: { host: string; port: number }[];
  stop(): Promise<void>;
}

/** `masters` private cluster nodes joined into one cluster; `stop` kills them and removes their folder. */
export async function startPrivateRedisCluster(masters = 3): Promise<PrivateRedisCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'list-send-cluster-'));
  const children: ChildProcess[] = [];
  const stop = async () => {
    await Promise.all(
      children.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once('exit', () => resolve());
            child.kill('SIGKILL');
          }),
      ),
    );
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const ports: number[] = [];
    for (let i = 0; i < masters; i++) {
      const port = await freeClusterPort();
      const args = ['--port', String(port), '--bind', '127.0.0.1', '--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`];
      const child = spawn('redis-server', [...args, '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--dir', dir], { stdio: 'ignore' });
      children.push(child);
      ports.push(port);
      const started = await new Promise<boolean>((resolve) => {
        child.once('error', () => resolve(false));
        child.once('spawn', () => resolve(true));
      });
      if (!started) throw new Error('redis-server is not installed: a private Redis Cluster needs it');
      for (let tries = 0; !(await redisAnswers(`redis://127.0.0.1:${port}`)); tries++) {
        if (tries > 200 || child.exitCode !== null) throw new Error(`redis-server on port ${port} did not start`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    await createCluster(ports);
    return { ports, nodes: ports.map((port) => ({ host: '127.0.0.1', port })), stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
