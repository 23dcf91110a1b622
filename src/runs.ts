import { RETENTION_SECONDS } from '../queues/options.js';
import { runScript, type RedisLike } from './redis.js';

/**
 * The run registry, beside the queues under the same hash-tagged prefix (one Cluster slot): with
 * QUEUE_SHARDS, each shard has its own registry under its own prefix (src/shards.ts), and a run's
 * keys live in its shard's.
 *
 * - `<prefix>:run:<runId>`, a hash: the validated request (the one copy of it: step jobs carry
 *   only the runId), when it was created, where cancelling and sending meet atomically, and where
 *   a run's end and its upload meet (`uploadingBy`, beginUpload). Once the run has finished it
 *   expires with the step jobs' retention (markFinished).
 * - `<prefix>:run-fingerprints`, a hash runId -> request fingerprint, the tombstone: written with
 *   the run and never expiring (about 100 bytes a run), so a runId can never start a second run,
 *   and a repeat of the same content still answers "same run" after the run's hash is gone.
 * - `<prefix>:runs`, a sorted set of runIds by creation time, for listing.
 */

// One script: the fingerprint and the run's hash are written together or not at all, and the
// read-back enqueue needs comes in the same reply (issue #14: one round trip instead of two).
// Returns {created (1/0), fingerprint the runId was first claimed with, flowPending (1/0)}:
// flowPending says the run's hash exists without flowAddedAt, so its flow is still to be added.
// A run claimed before the fingerprint hash existed has its fingerprint in its own hash only.
// A run whose hash has expired (finished long ago; only the fingerprint is left) is not pending.
// With a 4th key, the queue layout's record (src/queue-layout.ts) in the same slot, the claim first
// checks it holds ARGV[6] or nothing: else {-1, what it holds, 0} and nothing is written.
const CLAIM = `
if KEYS[4] then
  local recorded = redis.call('GET', KEYS[4])
  if recorded and recorded ~= ARGV[6] then return {-1, recorded, 0} end
end
local known = redis.call('HGET', KEYS[2], ARGV[1])
if not known then
  known = redis.call('HGET', KEYS[1], 'fingerprint')
  if known then
    redis.call('HSET', KEYS[2], ARGV[1], known)
  else
    redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
    redis.call('HSET', KEYS[1], 'fingerprint', ARGV[2], 'createdAt', ARGV[3], 'request', ARGV[4])
    redis.call('ZADD', KEYS[3], ARGV[5], ARGV[1])
    return {1, ARGV[2], 1}
  end
end
local state = redis.call('HMGET', KEYS[1], 'fingerprint', 'flowAddedAt')
local pending = 0
if state[1] and not state[2] then pending = 1 end
return {0, known, pending}`;

// The first mark wins the finishedAt; every mark (re)sets the expiry, so a mark repeated by a
// retried job only moves the expiry a little later. A missing hash stays missing.
// EXPIRE answers 0 for a missing key, so it is the existence check too (issue #14: one command
// fewer); HSETNX keeps the expiry just set. Returns {exists, first mark, an upload visit running}:
// the mark and the look at `uploadingBy` are one step, so an upload either began before it (and
// sees the mark when it ends, END_UPLOAD) or sees the mark when it begins (BEGIN_UPLOAD).
const MARK_FINISHED = `
if redis.call('EXPIRE', KEYS[1], ARGV[2]) == 0 then return {0, 0, 0} end
local first = redis.call('HSETNX', KEYS[1], 'finishedAt', ARGV[1])
return {1, first, redis.call('HEXISTS', KEYS[1], 'uploadingBy')}`;

// An upload visit may write the run's remote file only while the run has neither ended nor been
// cancelled; it says so in the same step (`uploadingBy`: its BullMQ lock token, so a visit that
// ends never clears a later visit's mark). -1 missing, 0 ended or cancelled, 1 begun.
const BEGIN_UPLOAD = `
local state = redis.call('HMGET', KEYS[1], 'fingerprint', 'cancelledAt', 'finishedAt')
if not state[1] then return -1 end
if state[2] or state[3] then return 0 end
redis.call('HSET', KEYS[1], 'uploadingBy', ARGV[1])
return 1`;

// The visit will write nothing more: its mark goes, and the reply says whether the run has ended,
// been cancelled or lost its hash meanwhile (1), so the visit frees the run's file name itself.
const END_UPLOAD = `
if redis.call('HGET', KEYS[1], 'uploadingBy') == ARGV[1] then redis.call('HDEL', KEYS[1], 'uploadingBy') end
local state = redis.call('HMGET', KEYS[1], 'fingerprint', 'cancelledAt', 'finishedAt')
if not state[1] or state[2] or state[3] then return 1 end
return 0`;

// Cancel wins only if the Send has not been claimed; the Send claims only if not cancelled.
// Each is one script, so the two can never both succeed.
const CANCEL = `
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
if redis.call('HEXISTS', KEYS[1], 'sendClaimedAt') == 1 then return 0 end
redis.call('HSETNX', KEYS[1], 'cancelledAt', ARGV[1])
return 1`;

// A run whose hash is gone is not claimed (-1): an HSETNX would make a hash with no fingerprint,
// and a worker holding the request in its run cache would send for a run the registry lost.
const CLAIM_SEND = `
local state = redis.call('HMGET', KEYS[1], 'fingerprint', 'cancelledAt')
if not state[1] then return -1 end
if state[2] then return 0 end
redis.call('HSETNX', KEYS[1], 'sendClaimedAt', ARGV[1])
return 1`;

// The destination is written only into a run that exists: an HSET alone would make a hash with
// no fingerprint and no expiry, which \`get\` would never see and nothing would delete.
const SET_DESTINATION = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'destination', ARGV[1])
return 1`;

/**
 * Where the run's subscribers go and its Send is addressed: resolved once by resolve-list and read
 * from the registry by every later step (ctx.destination), never copied through step results.
 * A Data Extension destination would be another kind here.
 */
export type Destination = { kind: 'list'; id: string };

/** The stored form back to a Destination; undefined when absent or not one (never guessed). */
export function parseDestination(stored: string | undefined): Destination | undefined {
  if (stored === undefined) return undefined;
  try {
    const value = JSON.parse(stored) as Partial<Destination> | null;
    return value?.kind === 'list' && typeof value.id === 'string' && value.id !== '' ? { kind: 'list', id: value.id } : undefined;
  } catch {
    return undefined;
  }
}

export type CancelOutcome = 'cancelled' | 'too-late' | 'not-found';

/** What a worker's cancel check finds (RunRegistry.cancelState). */
export type RunState = 'missing' | 'cancelled' | 'ended' | 'live';

/** The fields a worker's cancel check reads, in runState's order. */
const STATE_FIELDS = ['fingerprint', 'cancelledAt', 'finishedAt'] as const;

function runState(fingerprint: string | null | undefined, cancelledAt: string | null | undefined, finishedAt: string | null | undefined): RunState {
  return !fingerprint ? 'missing' : cancelledAt ? 'cancelled' : finishedAt ? 'ended' : 'live';
}

/** What markFinished found; undefined when the run's hash was already gone. */
export interface RunEnding {
  /** This mark set finishedAt: the run's end is counted once, however many of its steps fail. */
  first: boolean;
  /** An upload visit of the run was running (`uploadingBy`): it frees the run's file name when it stops. */
  uploading: boolean;
}

export interface RunRecord {
  fingerprint: string;
  createdAt?: string;
  flowAddedAt?: string;
  cancelledAt?: string;
  sendClaimedAt?: string;
  /** The BullMQ lock token of the upload visit running now, if any (beginUpload, endUpload). */
  uploadingBy?: string;
  /** Set when the run finished (completed, failed or cancelled); the hash then expires. */
  finishedAt?: string;
  request?: string;
  /** JSON of the run's Destination, once resolve-list has resolved it (parseDestination). */
  destination?: string;
}

/**
 * `created`, or the fingerprint the runId was already claimed with (the same content or not).
 * `flowPending`: the run's hash exists and its flow has not been marked added (markFlowAdded).
 * `layoutRecorded`: the claim checked the queue layout's record and it held this instead (nothing written).
 */
export type ClaimOutcome =
  | (({ created: true } | { created: false; fingerprint: string }) & { flowPending: boolean })
  | { layoutRecorded: string };

/** The queue layout's record for the claim to check, when it lies in the run's slot (one shard). */
export interface LayoutGuard {
  key: string;
  /** The shard count the producer runs with, as workers write it (String(n)). */
  expected: string;
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

  get fingerprintsKey(): string {
    return `${this.prefix}:run-fingerprints`;
  }

  /**
   * Creates the run with its request, unless the runId was claimed before (then says with what),
   * and says whether its flow is still to be added: the claim and the read-back in one script.
   * With `layout`, only when the queue layout's record holds what the producer expects (or nothing).
   */
  async claim(runId: string, fingerprint: string, request: string, now = new Date(), layout?: LayoutGuard): Promise<ClaimOutcome> {
    const keys = [this.key(runId), this.fingerprintsKey, this.indexKey, ...(layout ? [layout.key] : [])];
    const args = [runId, fingerprint, now.toISOString(), request, now.getTime(), ...(layout ? [layout.expected] : [])];
    const [created, known, pending] = (await runScript(this.redis, CLAIM, keys.length, ...keys, ...args)) as [number, string, number];
    if (created === -1) return { layoutRecorded: known };
    return created === 1 ? { created: true, flowPending: true } : { created: false, fingerprint: known, flowPending: pending === 1 };
  }

  /**
   * The run has finished: its hash (request included) expires with the step jobs' retention, and
   * the fingerprint stays. Repeatable. Undefined when the hash was already gone.
   */
  async markFinished(runId: string, now = new Date(), ttlSeconds = RETENTION_SECONDS): Promise<RunEnding | undefined> {
    const [exists, first, uploading] = (await runScript(this.redis, MARK_FINISHED, 1, this.key(runId), now.toISOString(), ttlSeconds)) as [number, number, number];
    return exists === 1 ? { first: first === 1, uploading: uploading === 1 } : undefined;
  }

  /**
   * An upload visit (identified by its BullMQ lock `token`) asks to write the run's remote file:
   * `begun`, unless the run has ended, been cancelled, or lost its hash. Every `begun` is followed
   * by endUpload with the same token, whatever the visit's outcome.
   */
  async beginUpload(runId: string, token: string): Promise<'begun' | 'ended' | 'missing'> {
    const result = (await runScript(this.redis, BEGIN_UPLOAD, 1, this.key(runId), token)) as number;
    return result === 1 ? 'begun' : result === 0 ? 'ended' : 'missing';
  }

  /** The upload visit `token` writes nothing more. True when the run has ended, been cancelled or lost its hash. */
  async endUpload(runId: string, token: string): Promise<boolean> {
    return ((await runScript(this.redis, END_UPLOAD, 1, this.key(runId), token)) as number) === 1;
  }

  async get(runId: string): Promise<RunRecord | undefined> {
    const raw = await this.redis.hgetall(this.key(runId));
    return raw.fingerprint ? (raw as unknown as RunRecord) : undefined;
  }

  /**
   * Records the run's resolved destination. A retried resolve-list overwrites it: no later step
   * runs before resolve-list completes, so the value of its completing attempt is the one read.
   * False when the run's hash is gone (nothing is written then).
   */
  async setDestination(runId: string, destination: Destination): Promise<boolean> {
    return ((await runScript(this.redis, SET_DESTINATION, 1, this.key(runId), JSON.stringify(destination))) as number) === 1;
  }

  async markFlowAdded(runId: string): Promise<void> {
    await this.redis.hset(this.key(runId), 'flowAddedAt', new Date().toISOString());
  }

  async cancel(runId: string): Promise<CancelOutcome> {
    const result = (await runScript(this.redis, CANCEL, 1, this.key(runId), new Date().toISOString())) as number;
    return result === 1 ? 'cancelled' : result === 0 ? 'too-late' : 'not-found';
  }

  /**
   * The cancel check of a worker that already holds the run's request: whether the run still has
   * its registry entry, whether it was cancelled, and whether it has ended (`ended`: finishedAt is
   * set, which before the run's last step means a step failed for good), in one small read (not
   * the request again).
   */
  async cancelState(runId: string): Promise<RunState> {
    const [fingerprint, cancelledAt, finishedAt] = await this.redis.hmget(this.key(runId), ...STATE_FIELDS);
    return runState(fingerprint, cancelledAt, finishedAt);
  }

  /** cancelState and the stored destination in the same small read: for a worker that holds the request but not yet the destination. */
  async stateAndDestination(runId: string): Promise<{ state: RunState; destination: string | undefined }> {
    const [fingerprint, cancelledAt, finishedAt, destination] = await this.redis.hmget(this.key(runId), ...STATE_FIELDS, 'destination');
    return { state: runState(fingerprint, cancelledAt, finishedAt), destination: destination ?? undefined };
  }

  /**
   * The send step's permission to send: `claimed`, unless the run was cancelled or its registry
   * entry is gone. Repeatable by the same run.
   */
  async claimSend(runId: string): Promise<'claimed' | 'cancelled' | 'missing'> {
    const result = (await runScript(this.redis, CLAIM_SEND, 1, this.key(runId), new Date().toISOString())) as number;
    return result === 1 ? 'claimed' : result === 0 ? 'cancelled' : 'missing';
  }

  /** Most recent first, with when each was created (ms), so several shards' lists can be merged. */
  async recent(limit: number): Promise<{ runId: string; createdAt: number }[]> {
    const flat = await this.redis.zrevrange(this.indexKey, 0, limit - 1, 'WITHSCORES');
    const runs: { runId: string; createdAt: number }[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) runs.push({ runId: flat[i]!, createdAt: Number(flat[i + 1]) });
    return runs;
  }
}
