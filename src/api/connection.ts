import type { Cluster, Redis } from 'ioredis';

/** The connection states in which ioredis has already failed to reach Redis at least once. */
const DOWN_STATES = new Set(['reconnecting', 'close', 'end']);

/**
 * Whether the fail-fast connection can take a command now. While its first connection attempt is
 * under way this waits for that attempt's outcome (bounded), so a request arriving at boot neither
 * fails needlessly nor waits out a long timeout.
 */
export async function connectionUsable(redis: Redis | Cluster, waitMs = 2_000): Promise<boolean> {
  if (redis.status === 'ready') return true;
  if (DOWN_STATES.has(redis.status)) return false;
  return new Promise<boolean>((resolve) => {
    const settle = (usable: boolean) => () => {
      clearTimeout(timer);
      redis.off('ready', onReady).off('error', onFailure).off('close', onFailure);
      resolve(usable);
    };
    const onReady = settle(true);
    const onFailure = settle(false);
    const timer = setTimeout(onFailure, waitMs);
    redis.once('ready', onReady).once('error', onFailure).once('close', onFailure);
  });
}
