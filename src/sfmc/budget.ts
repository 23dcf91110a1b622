import { createHash, randomUUID } from 'node:crypto';
import type { SfmcConfig } from '../config.js';
import { runScript, type RedisLike } from '../redis.js';
import { SfmcError } from './errors.js';

/**
 * One budget of SOAP calls per SFMC account, shared in Redis by every queue and worker process.
 *
 * Why a number at all: SFMC's rate-limiting page publishes none; it throttles an account whose
 * calls "negatively impact system performance" with HTTP 500s
 * (https://developer.salesforce.com/docs/marketing/marketing-cloud/guide/rate-limiting.html).
 * Older Salesforce docs ("Intro to Marketing Cloud APIs", quoted in
 * https://markus.codes/2021/02/18/salesforce-marketing-cloud-api-call-limit) recommended "no more
 * than 2k per minute for SOAP calls"; the default of 1,800 stays under that with room for other
 * integrations of the same account. The limit is UNVERIFIED for today's SFMC and configurable
 * (SFMC_CALLS_PER_MINUTE).
 *
 * The mechanism: a sliding-window log (a sorted set of grant times, by Redis's clock so every
 * process agrees) checked and written in one Lua script. Every SOAP call takes one unit before it
 * is sent. Two classes:
 *   - `progress` calls (the steps that move a run forward) may use the whole budget;
 *   - `poll` calls (checking an import that is running anyway) only while fewer than
 *     `pollShare` (80%) of the window's units are used, so the last 20% is kept for progress.
 * A refused call is not waited for here: the caller gets `BudgetExhaustedError` with the time
 * until a unit frees, and the worker moves the job to delayed (no slot held, no attempt used).
 * When SFMC throttles, `pause(ms)` closes the budget for every queue and process of the account.
 *
 * Keys, under QUEUE_PREFIX (account-wide, never sharded: src/shards.ts), each script's keys in its tag's slot:
 *   <prefix>:sfmc-budget:<account hash>          sorted set: one member per granted call, score = ms
 *   <prefix>:sfmc-budget:<account hash>:paused   set with PX while SFMC throttles the account
 */

export type CallClass = 'progress' | 'poll';

export const DEFAULT_CALLS_PER_MINUTE = 1_800;
export const DEFAULT_POLL_SHARE = 0.8;

/** `used`: the units counted after this grant; it may include grants already out of the window (see TAKE). */
export type BudgetDecision = { granted: true; used: number } | { granted: false; waitMs: number; paused: boolean };

export interface CallBudget {
  /** Takes one unit for a call of this class, or says how long until one is free. */
  take(callClass: CallClass): Promise<BudgetDecision>;
  /** Refuses every call of the account for `ms` (a longer pause already set is kept). */
  pause(ms: number): Promise<void>;
}

// KEYS[1] the window log, KEYS[2] the pause flag. ARGV[1] window ms, ARGV[2] n, then n caps (one
// per unit asked for, in order: its class's cap), then n unique members. Returns four numbers per
// unit, in order: granted 0/1, waitMs, used, paused 0/1. The units of one call are granted as n
// calls of one unit each would be at the same moment: each against its own cap, counting the
// grants before it, so "never more than cap in any window" holds as before (issue #14: several
// SOAP calls asked for together cost one script, and one ZADD and PEXPIRE, instead of n).
const TAKE = `
local window = tonumber(ARGV[1])
local n = tonumber(ARGV[2])
local out = {}
local paused = redis.call('PTTL', KEYS[2])
if paused > 0 then
  for i = 1, n do
    out[#out + 1] = 0; out[#out + 1] = paused; out[#out + 1] = 0; out[#out + 1] = 1
  end
  return out
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
-- Grants older than the window are cleared only when the count with them reaches a cap: a
-- count that includes them can only be too high, so a grant below it is still "never more than
-- cap in any window", and the common call saves the ZREMRANGEBYSCORE. The set stays bounded
-- (cleared at the cap) and expires a window after its last grant.
local used = redis.call('ZCARD', KEYS[1])
local cleared = false
local grants = {}
local refused = {}
for i = 1, n do
  local cap = tonumber(ARGV[2 + i])
  if used >= cap and not cleared then
    redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
    -- This call's grants are added below, so they are counted on top of what is left.
    used = redis.call('ZCARD', KEYS[1]) + #grants / 2
    cleared = true
  end
  if used < cap then
    grants[#grants + 1] = now
    grants[#grants + 1] = ARGV[2 + n + i]
    used = used + 1
    out[#out + 1] = 1; out[#out + 1] = 0; out[#out + 1] = used; out[#out + 1] = 0
  else
    refused[#refused + 1] = {#out + 1, cap}
    out[#out + 1] = 0; out[#out + 1] = 0; out[#out + 1] = used; out[#out + 1] = 0
  end
end
if #grants > 0 then
  redis.call('ZADD', KEYS[1], unpack(grants))
  redis.call('PEXPIRE', KEYS[1], window)
end
-- A refused unit waits for the grant whose expiry brings the count below its cap: the
-- (used - cap + 1)th oldest, counting every grant of this call.
local waits = {}
for _, r in ipairs(refused) do
  local cap = r[2]
  if not waits[cap] then
    local oldest = redis.call('ZRANGE', KEYS[1], used - cap, used - cap, 'WITHSCORES')
    local wait = tonumber(oldest[2]) + window - now
    if wait < 1 then wait = 1 end
    waits[cap] = wait
  end
  out[r[1] + 1] = waits[cap]
  out[r[1] + 2] = used
end
return out`;

/** At most this many units in one script call (its arguments grow with them). */
const MAX_UNITS_PER_CALL = 100;

const PAUSE = `
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
end
return 1`;

export interface RedisCallBudgetOptions {
  redis: RedisLike;
  /** The queue prefix, e.g. `{list-send}`. */
  prefix: string;
  /** Which account the budget belongs to: see `budgetAccountOf`. */
  account: string;
  /** Calls per window; SFMC_CALLS_PER_MINUTE with the default window. */
  limit: number;
  /** Default one minute. Tests shorten it; the setting stays per minute. */
  windowMs?: number;
  /** Share of the window's units poll calls may use. Default 0.8. */
  pollShare?: number;
}

export class RedisCallBudget implements CallBudget {
  readonly windowKey: string;
  readonly pauseKey: string;
  readonly limit: number;
  readonly pollLimit: number;
  readonly windowMs: number;
  private readonly redis: RedisLike;
  /** Takes asked for while a script call is in flight, in order of asking (see take). */
  private readonly waiting: { cap: number; resolve: (d: BudgetDecision) => void; reject: (err: unknown) => void }[] = [];
  private flushing = false;

  constructor(options: RedisCallBudgetOptions) {
    if (!Number.isInteger(options.limit) || options.limit < 1) throw new RangeError('the SOAP call budget must be a whole number of at least 1');
    const share = options.pollShare ?? DEFAULT_POLL_SHARE;
    if (!(share > 0 && share <= 1)) throw new RangeError('the poll share must be above 0 and at most 1');
    this.redis = options.redis;
    this.limit = options.limit;
    // At least one unit, so a budget of 1 still lets an import be polled.
    this.pollLimit = Math.max(1, Math.floor(options.limit * share));
    this.windowMs = options.windowMs ?? 60_000;
    this.windowKey = `${options.prefix}:sfmc-budget:${options.account}`;
    this.pauseKey = `${this.windowKey}:paused`;
  }

  /**
   * One unit for a call of this class. A take asked for while this budget's script is in flight
   * waits for it and goes with the others asked for meanwhile, in one script call: under load
   * that is one round trip and a handful of Redis commands for many SOAP calls, and with one
   * call at a time it changes nothing.
   */
  take(callClass: CallClass): Promise<BudgetDecision> {
    const cap = callClass === 'poll' ? this.pollLimit : this.limit;
    return new Promise((resolve, reject) => {
      this.waiting.push({ cap, resolve, reject });
      if (!this.flushing) void this.flush();
    });
  }

  /** Sends what is waiting, in order of asking, until nothing is; the first take goes out at once. */
  private async flush(): Promise<void> {
    this.flushing = true;
    try {
      while (this.waiting.length > 0) {
        const batch = this.waiting.splice(0, MAX_UNITS_PER_CALL);
        try {
          const decisions = await this.takeUnits(batch.map((w) => w.cap));
          batch.forEach((w, i) => w.resolve(decisions[i] as BudgetDecision));
        } catch (err) {
          for (const w of batch) w.reject(err);
        }
      }
    } finally {
      this.flushing = false;
    }
  }

  private async takeUnits(caps: number[]): Promise<BudgetDecision[]> {
    const members = caps.map(() => randomUUID());
    const flat = (await runScript(this.redis, TAKE, 2, this.windowKey, this.pauseKey, this.windowMs, caps.length, ...caps, ...members)) as number[];
    return caps.map((_, i) => {
      const [granted, waitMs, used, paused] = flat.slice(i * 4, i * 4 + 4) as [number, number, number, number];
      return granted === 1 ? { granted: true, used } : { granted: false, waitMs, paused: paused === 1 };
    });
  }

  async pause(ms: number): Promise<void> {
    await runScript(this.redis, PAUSE, 1, this.pauseKey, Math.max(1, Math.round(ms)));
  }
}

/**
 * The account a budget is kept for: the tenant's endpoint (auth URL for OAuth2, SOAP URL for
 * WS-Security) and the business unit. Hashed, so no identifier appears in a key name. Whether SFMC
 * counts per business unit or per enterprise is UNVERIFIED; several business units of one tenant
 * under one prefix would each get the full budget.
 */
export function budgetAccountOf(config: SfmcConfig): string {
  const tenant =
    config.auth.mode === 'oauth2' ? `${config.auth.authUrl}\n${config.auth.accountId ?? ''}` : `${config.soapUrl ?? ''}\n${config.auth.username}`;
  return createHash('sha256').update(tenant).digest('hex').slice(0, 16);
}

/**
 * The budget refused a call: nothing was sent. Kind `throttled` and `mayHaveTakenEffect: false`,
 * so processors treat it as an answered refusal; the worker delays the job by `retryAfterMs`
 * without using an attempt.
 */
export class BudgetExhaustedError extends SfmcError {
  override name = 'BudgetExhaustedError';
  readonly retryAfterMs: number;

  constructor(operation: string, callClass: CallClass, retryAfterMs: number, paused: boolean) {
    super(
      'budget-exhausted',
      paused
        ? `SFMC throttled this account; calls are paused for another ${retryAfterMs} ms`
        : `the account's SOAP call budget (SFMC_CALLS_PER_MINUTE) is used up for ${callClass} calls; a unit frees in ${retryAfterMs} ms`,
      { kind: 'throttled', mayHaveTakenEffect: false, context: { operation } },
    );
    this.retryAfterMs = retryAfterMs;
  }
}

export function isBudgetExhausted(err: unknown): err is BudgetExhaustedError {
  return err instanceof BudgetExhaustedError;
}
