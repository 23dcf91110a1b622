import type { RedisLike } from './redis.js';

/**
 * The run registry: one small Redis hash per runId, beside the queues under the same hash-tagged
 * prefix. It outlives the step jobs (which are kept only for the retention period), so a runId
 * can never start a second run, and it is where cancelling and sending meet atomically.
 */

// Cancel wins only if the Send has not been claimed; the Send claims only if not cancelled.
// Each is one script, so the two can never both succeed.
const CANCEL = `
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
if redis.call('HEXISTS', KEYS[1], 'sendClaimedAt') == 1 then return 0 end
redis.call('HSETNX', KEYS[1], 'cancelledAt', ARGV[1])
return 1`;

const CLAIM_SEND = `
if redis.call('HEXISTS', KEYS[1], 'cancelledAt') == 1 then return 0 end
redis.call('HSETNX', KEYS[1], 'sendClaimedAt', ARGV[1])
return 1`;

export type CancelOutcome = 'cancelled' | 'too-late' | 'not-found';

export interface RunRecord {
  fingerprint: string;
  createdAt?: string;
  flowAddedAt?: string;
  cancelledAt?: string;
  sendClaimedAt?: string;
  request?: string;
}

export class RunRegistry {
  constructor(
    private readonly redis: RedisLike,
    private readonly prefix: string,
  ) {}

  key(runId: string): string {
    return `${this.prefix}:run:${runId}`;
  }

  private get indexKey(): string {
    return `${this.prefix}:runs`;
  }

  /** True when this call created the run; false when the runId was already taken. */
  async claim(runId: string, fingerprint: string, request: string, now = new Date()): Promise<boolean> {
    const key = this.key(runId);
    if ((await this.redis.hsetnx(key, 'fingerprint', fingerprint)) !== 1) return false;
    await this.redis
      .multi()
      .hset(key, 'createdAt', now.toISOString(), 'request', request)
      .zadd(this.indexKey, now.getTime(), runId)
      .exec();
    return true;
  }

  async get(runId: string): Promise<RunRecord | undefined> {
    const raw = await this.redis.hgetall(this.key(runId));
    return raw.fingerprint ? (raw as unknown as RunRecord) : undefined;
  }

  async markFlowAdded(runId: string): Promise<void> {
    await this.redis.hset(this.key(runId), 'flowAddedAt', new Date().toISOString());
  }

  async cancel(runId: string): Promise<CancelOutcome> {
    const result = (await this.redis.eval(CANCEL, 1, this.key(runId), new Date().toISOString())) as number;
    return result === 1 ? 'cancelled' : result === 0 ? 'too-late' : 'not-found';
  }

  async isCancelled(runId: string): Promise<boolean> {
    return (await this.redis.hexists(this.key(runId), 'cancelledAt')) === 1;
  }

  /** The send step's permission to send: false once the run is cancelled. Repeatable by the same run. */
  async claimSend(runId: string): Promise<boolean> {
    return ((await this.redis.eval(CLAIM_SEND, 1, this.key(runId), new Date().toISOString())) as number) === 1;
  }

  /** Most recent first. */
  async recent(limit: number): Promise<string[]> {
    return this.redis.zrevrange(this.indexKey, 0, limit - 1);
  }
}
