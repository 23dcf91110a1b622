import { createHash } from 'node:crypto';

/**
 * QUEUE_SHARDS (issue #14): a Redis Cluster places keys by the hash tag of their name (the text
 * between the first `{` and the first `}` after it, https://redis.io/docs/latest/operate/oss_and_stack/reference/cluster-spec/#hash-tags),
 * so one tag means one slot and one master. With N shards every run belongs to one of N full sets
 * of queues, each under its own tag, and the cluster spreads the sets over its masters.
 *
 * Everything a Lua script or MULTI touches together belongs to one run (its flow's jobs, its
 * registry hash, the runId claim), so it stays in the slot of that run's shard. Account-wide keys
 * (token, call budget, API rate limit, schedules and triggers) stay under QUEUE_PREFIX itself.
 */

/** Most shards accepted: far more than masters a cluster has, far fewer than its 16,384 slots. */
export const MAX_QUEUE_SHARDS = 256;

/**
 * The shard of a run: the first four bytes of the SHA-256 of its runId (UTF-8), big-endian, modulo
 * the shard count. Status lookups recompute it, so it must never change between releases: a
 * changed function (or a changed QUEUE_SHARDS) would look for existing runs in the wrong shard.
 * SHA-256 rather than a cheap hash: runIds are often sequential (`nightly-2024-05-01`), and its
 * bits are uniform whatever the input, so runs spread evenly over any count.
 */
export function shardOf(runId: string, count: number): number {
  if (count <= 1) return 0;
  return createHash('sha256').update(runId, 'utf8').digest().readUInt32BE(0) % count;
}

/** Where the hash tag's closing `}` is in `prefix`, by Redis's rule; -1 when it has no (non-empty) tag. */
function hashTagEnd(prefix: string): number {
  const open = prefix.indexOf('{');
  if (open < 0) return -1;
  const close = prefix.indexOf('}', open + 1);
  return close > open + 1 ? close : -1;
}

export function hasHashTag(prefix: string): boolean {
  return hashTagEnd(prefix) >= 0;
}

/**
 * Shard `index`'s queue prefix: QUEUE_PREFIX with `:index` added inside its hash tag
 * (`{list-send}` -> `{list-send:0}`), so each shard hashes to its own slot. With one shard it is
 * QUEUE_PREFIX unchanged, so a deployment that never set QUEUE_SHARDS keeps its keys.
 */
export function shardPrefix(base: string, index: number, count: number): string {
  if (count <= 1) return base;
  const end = hashTagEnd(base);
  if (end < 0) throw new Error(`QUEUE_PREFIX ${base} has no {hash tag}: it cannot be sharded`);
  return `${base.slice(0, end)}:${index}${base.slice(end)}`;
}

/** Every shard's prefix, shard 0 first. */
export function shardPrefixes(base: string, count: number): string[] {
  return Array.from({ length: Math.max(count, 1) }, (_, i) => shardPrefix(base, i, count));
}
