import { createHash } from 'node:crypto';
// The slot function ioredis routes by (Redis's CRC16 of the hash tag, modulo 16,384).
import clusterKeySlot from 'cluster-key-slot';

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

/** A Redis Cluster's slots (https://redis.io/docs/latest/operate/oss_and_stack/reference/cluster-spec/#key-distribution-model). */
const CLUSTER_SLOTS = 16_384;

/**
 * Shard `index`'s hash tag: QUEUE_PREFIX's tag with `:index` added, and when that lands outside
 * the shard's band of slots, `.k` as well for the smallest k that lands inside it. Shard i of N
 * lives in slots [i x 16384 / N, (i+1) x 16384 / N): `redis-cli --cluster create` gives each master
 * an equal run of consecutive slots (0-5460, 5461-10922, 10923-16383 for three), so the shards
 * spread over the masters as evenly as N allows. Tags by name alone land where CRC16 puts them:
 * `{list-send:0}`..`{list-send:11}` fall 5 / 3 / 4 on three masters. The search is deterministic and
 * CRC16 is fixed by Redis, so a shard's tag never changes between releases.
 */
function shardTag(tag: string, index: number, count: number): string {
  const low = Math.floor((index * CLUSTER_SLOTS) / count);
  const high = Math.floor(((index + 1) * CLUSTER_SLOTS) / count);
  for (let k = 0; ; k++) {
    const candidate = k === 0 ? `${tag}:${index}` : `${tag}:${index}.${k}`;
    const slot = clusterKeySlot(candidate);
    if (slot >= low && slot < high) return candidate;
  }
}

const prefixCache = new Map<string, string[]>();

/**
 * Every shard's queue prefix, shard 0 first (computed once per QUEUE_PREFIX and count): QUEUE_PREFIX
 * with its hash tag made the shard's own (shardTag: `{list-send}` -> `{list-send:0.3}`), so each shard
 * has a slot of its own, in its band. With one shard it is QUEUE_PREFIX unchanged, so a deployment
 * that never set QUEUE_SHARDS keeps its keys.
 */
export function shardPrefixes(base: string, count: number): string[] {
  if (count <= 1) return [base];
  const key = `${count}\n${base}`;
  let prefixes = prefixCache.get(key);
  if (!prefixes) {
    const end = hashTagEnd(base);
    if (end < 0) throw new Error(`QUEUE_PREFIX ${base} has no {hash tag}: it cannot be sharded`);
    const open = base.indexOf('{');
    const tag = base.slice(open + 1, end);
    prefixes = Array.from({ length: count }, (_, i) => `${base.slice(0, open + 1)}${shardTag(tag, i, count)}${base.slice(end)}`);
    prefixCache.set(key, prefixes);
  }
  return prefixes;
}
