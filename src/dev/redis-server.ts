import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';

/**
 * For the demo and the tests: use the Redis at a URL when it answers, otherwise start a private
 * redis-server (when one is installed) on a free loopback port, keeping nothing on disk.
 */

export async function redisAnswers(url: string): Promise<boolean> {
  const client = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    connectTimeout: 1_000,
    retryStrategy: () => null,
  });
  client.on('error', () => {});
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

export async function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface PrivateRedis {
  url: string;
  stop(): Promise<void>;
}

export class NoRedisError extends Error {
  override name = 'NoRedisError';
  constructor(url: string) {
    super(
      `No Redis answers at ${url} and redis-server is not installed. ` +
        'Start one with `docker compose up -d redis` (or install redis-server) and try again.',
    );
  }
}

export async function startPrivateRedis(extraArgs: string[] = []): Promise<PrivateRedis> {
  const port = await freeLoopbackPort();
  const child: ChildProcess = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...extraArgs],
    { stdio: 'ignore' },
  );
  const spawned = await new Promise<boolean>((resolve) => {
    child.once('error', () => resolve(false));
    child.once('spawn', () => resolve(true));
  });
  const url = `redis://127.0.0.1:${port}`;
  if (!spawned) throw new NoRedisError(url);
  for (let i = 0; i < 200; i++) {
    if (await redisAnswers(url)) {
      return {
        url,
        stop: () =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null) return resolve();
            child.once('exit', () => resolve());
            child.kill('SIGTERM');
          }),
      };
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill('SIGKILL');
  throw new Error(`started redis-server on port ${port} but it never answered`);
}

/** The Redis at `url` if it answers, else a private one; `stop` is a no-op for a shared server. */
export async function ensureRedis(url: string): Promise<PrivateRedis & { started: boolean }> {
  if (await redisAnswers(url)) return { url, started: false, stop: async () => {} };
  try {
    return { ...(await startPrivateRedis()), started: true };
  } catch (err) {
    if (err instanceof NoRedisError) throw new NoRedisError(url);
    throw err;
  }
}

/** Deletes every key under a BullMQ prefix (the demo's and the tests' clean-up). */
export async function deletePrefixKeys(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  redis.on('error', () => {});
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
