import { Queue } from 'bullmq';
import type { Logger } from 'pino';
import { QUEUE_NAMES } from '../queues/catalog.js';
import { runScript, type RedisLike } from './redis.js';
import { MAX_QUEUE_SHARDS, shardPrefixes } from './shards.js';

/**
 * The queue layout (QUEUE_SHARDS) every producer and worker must share, recorded in Redis so a
 * process with another value is refused instead of stranding runs: a worker never consumes the
 * queues of another layout, and a producer's runs would wait in queues no worker takes.
 *
 * One key, account-wide, under QUEUE_PREFIX itself (never sharded: src/shards.ts), in the slot of
 * the prefix's hash tag:
 *   <prefix>:queue-shards   the shard count the workers consume, as a decimal string
 *
 * Only workers write it: the first sets it, a later one with another count switches it only when no
 * job of the old layout is unfinished. Producers read it before every enqueue and never set it.
 */

export function queueLayoutKey(prefix: string): string {
  return `${prefix}:queue-shards`;
}

export class QueueLayoutError extends Error {
  override name = 'QueueLayoutError';
  readonly code = 'queue-layout-mismatch';
  constructor(
    message: string,
    /** The key's value as read (a shard count unless someone wrote something else there). */
    readonly recorded: string,
    /** This process's QUEUE_SHARDS. */
    readonly configured: number,
    /** The unfinished jobs of the recorded layout, when a worker counted them. */
    readonly unfinished?: number,
  ) {
    super(message);
  }
}

/**
 * The recorded shard count; undefined when the key is absent. Throws when it holds something else
 * than the decimal a worker writes (String(n): no sign, no leading zero), so a producer's check in
 * the claim script (a string comparison, src/runs.ts) and this one agree on every value.
 */
function parseRecorded(raw: string | null, key: string, configured: number): number | undefined {
  if (raw === null) return undefined;
  const n = Number(raw);
  if (/^[1-9]\d*$/.test(raw) && n <= MAX_QUEUE_SHARDS) return n;
  throw new QueueLayoutError(
    `${key} holds "${raw}", not a shard count (1-${MAX_QUEUE_SHARDS}); set it to the QUEUE_SHARDS the workers run with (this process has ${configured})`,
    raw,
    configured,
  );
}

/**
 * A producer's check before it enqueues: refused when the workers' recorded layout is not `shards`.
 * An absent key (no worker has started on this prefix yet) passes and is left absent.
 */
export async function checkQueueLayout(redis: RedisLike, prefix: string, shards: number): Promise<void> {
  const refusal = layoutRefusal(await redis.get(queueLayoutKey(prefix)), prefix, shards);
  if (refusal) throw refusal;
}

/**
 * What a producer with `shards` makes of the recorded value `raw` (null: none recorded): the
 * error to refuse the enqueue with, or undefined when it may go on. Shared by checkQueueLayout
 * and the claim script's own check (src/client.ts, with one shard).
 */
export function layoutRefusal(raw: string | null, prefix: string, shards: number): QueueLayoutError | undefined {
  const key = queueLayoutKey(prefix);
  let recorded: number | undefined;
  try {
    recorded = parseRecorded(raw, key, shards);
  } catch (err) {
    return err as QueueLayoutError;
  }
  if (recorded === undefined || recorded === shards) return undefined;
  return new QueueLayoutError(
    `QUEUE_SHARDS is ${shards} here but the workers run with QUEUE_SHARDS=${recorded} (${key}); nothing was enqueued: set QUEUE_SHARDS=${recorded} on this producer`,
    String(recorded),
    shards,
  );
}

/**
 * The jobs of layout `shards` not yet finished: every step queue of every shard, in the states a
 * worker still has to move (Queue.getJobCounts; completed and failed jobs are finished).
 */
export async function unfinishedJobs(connection: RedisLike, prefix: string, shards: number): Promise<number> {
  const queues = shardPrefixes(prefix, shards).flatMap((p) => QUEUE_NAMES.map((name) => new Queue(name, { connection, prefix: p })));
  try {
    const counts = await Promise.all(queues.map((q) => q.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'waiting-children')));
    return counts.reduce((sum, c) => sum + Object.values(c).reduce((a, b) => a + b, 0), 0);
  } finally {
    // The connection is shared: closing a Queue leaves it open.
    await Promise.all(queues.map((q) => q.close()));
  }
}

// KEYS[1] the layout key. ARGV[1] the value read, ARGV[2] the new one: set only if still the value
// read, so two workers switching at once to different counts cannot both win.
const SWITCH = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2])
  return 1
end
return 0
`;

/**
 * A worker pool's claim before it consumes: records `shards` when no layout is recorded, goes on
 * when it is the recorded one, and switches the record to `shards` only when the recorded layout
 * has no unfinished job; otherwise refuses with QueueLayoutError (the runs in flight would be stranded).
 */
export async function claimQueueLayout(connection: RedisLike, prefix: string, shards: number, logger: Logger): Promise<void> {
  const key = queueLayoutKey(prefix);
  for (;;) {
    if ((await connection.set(key, String(shards), 'NX')) === 'OK') {
      logger.info({ key, shards }, 'queue layout recorded');
      return;
    }
    const raw = await connection.get(key);
    const recorded = parseRecorded(raw, key, shards);
    if (recorded === undefined) continue; // deleted in between: try to set it again
    if (recorded === shards) return;
    const unfinished = await unfinishedJobs(connection, prefix, recorded);
    if (unfinished > 0) {
      throw new QueueLayoutError(
        `QUEUE_SHARDS is ${shards} but ${unfinished} unfinished job(s) wait under QUEUE_SHARDS=${recorded} (${key}), which a worker with ${shards} would never take: ` +
          `let the workers finish them with QUEUE_SHARDS=${recorded} (cancel, with QUEUE_SHARDS=${recorded}, the runs that must not send: the workers then end them without sending), then start with QUEUE_SHARDS=${shards}`,
        String(recorded),
        shards,
        unfinished,
      );
    }
    if ((await runScript(connection, SWITCH, 1, key, String(recorded), String(shards))) === 1) {
      logger.warn({ key, from: recorded, to: shards }, `queue layout switched from QUEUE_SHARDS=${recorded} to ${shards}: no job of the old layout was unfinished`);
      return;
    }
    // Another worker changed it meanwhile: read it again.
  }
}
