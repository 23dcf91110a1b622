import { Job, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { QUEUE_NAMES } from '../../queues/catalog.js';

/* Shared by the security tests that prove something is nowhere the service writes. */

/** Every value of every key under the prefix, whatever its type, as text. */
export async function dumpPrefix(redis: Redis, prefix: string): Promise<{ text: string; types: Record<string, string[]> }> {
  const parts: string[] = [];
  const types: Record<string, string[]> = {};
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    for (const key of keys) {
      const type = await redis.type(key);
      (types[type] ??= []).push(key);
      const value =
        type === 'string' ? await redis.getBuffer(key).then((b) => b?.toString('latin1'))
        : type === 'hash' ? await redis.hgetallBuffer(key).then((h) => Object.entries(h).map(([k, v]) => `${k}=${v.toString('latin1')}`))
        : type === 'list' ? await redis.lrangeBuffer(key, 0, -1).then((l) => l.map((b) => b.toString('latin1')))
        : type === 'set' ? await redis.smembers(key)
        : type === 'zset' ? await redis.zrange(key, 0, -1, 'WITHSCORES')
        : type === 'stream' ? await redis.xrange(key, '-', '+')
        : type === 'none' ? null // expired or deleted since SCAN returned it
        : `UNDUMPED TYPE ${type}`;
      parts.push(`${key} ${JSON.stringify(value)}`);
    }
  } while (cursor !== '0');
  return { text: parts.join('\n'), types };
}

/** Every job of every queue, in every state: data, result, error, stack trace and log lines. */
export async function dumpJobs(connection: Redis, prefix: string): Promise<string> {
  const out: unknown[] = [];
  for (const name of QUEUE_NAMES) {
    const queue = new Queue(name, { connection, prefix });
    const jobs = await queue.getJobs(['completed', 'failed', 'active', 'waiting', 'delayed', 'waiting-children', 'prioritized']);
    for (const job of jobs.filter((j): j is Job => Boolean(j))) {
      const { logs } = await queue.getJobLogs(job.id ?? '', 0, -1);
      out.push({ id: job.id, data: job.data, returnvalue: job.returnvalue, failedReason: job.failedReason, stacktrace: job.stacktrace, progress: job.progress, logs });
    }
    await queue.close();
  }
  return JSON.stringify(out);
}
