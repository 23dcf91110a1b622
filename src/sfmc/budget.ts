import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash, randomUUID } from 'node:crypto';
import type { SfmcConfig } from '../config.js';
import type { RedisLike } from '../redis.js';
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

// KEYS[1] the window log, KEYS[2] the pause flag. ARGV[1] this class's cap, ARGV[2] window ms,
// ARGV[3] a unique member. Returns {granted 0/1, waitMs, used, paused 0/1}.
const TAKE = `
local paused = redis.call('PTTL', KEYS[2])
if paused > 0 then return {0, paused, 0, 1} end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local cap = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
-- Grants older than the window are cleared only when the count with them reaches the cap: a
-- count that includes them can only be too high, so a grant below it is still "never more than
-- cap in any window", and the common call saves the ZREMRANGEBYSCORE (issue #14). The set stays
-- bounded (cleared at the cap) and expires a window after its last grant, as before.
local used = redis.call('ZCARD', KEYS[1])
if used >= cap then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
  used = redis.call('ZCARD', KEYS[1])
end
if used < cap then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window)
  return {1, 0, used + 1, 0}
end
-- The grant whose expiry brings the count below the cap: the (used - cap + 1)th oldest.
local oldest = redis.call('ZRANGE', KEYS[1], used - cap, used - cap, 'WITHSCORES')
local wait = tonumber(oldest[2]) + window - now
if wait < 1 then wait = 1 end
return {0, wait, used, 0}`;

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

  async take(callClass: CallClass): Promise<BudgetDecision> {
    const cap = callClass === 'poll' ? this.pollLimit : this.limit;
    const [granted, waitMs, used, paused] = (await this.redis.eval(
      TAKE,
      2,
      this.windowKey,
      this.pauseKey,
      cap,
      this.windowMs,
      randomUUID(),
    )) as [number, number, number, number];
    return granted === 1 ? { granted: true, used } : { granted: false, waitMs, paused: paused === 1 };
  }

  async pause(ms: number): Promise<void> {
    await this.redis.eval(PAUSE, 1, this.pauseKey, Math.max(1, Math.round(ms)));
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
 * The class of the calls made inside `fn`. The worker runs each step in the class of its queue
 * (poll-import's calls are polls), so no processor has to remember to mark its calls; calls made
 * outside any scope are `progress`.
 */
const scope = new AsyncLocalStorage<CallClass>();

export function runWithCallClass<T>(callClass: CallClass, fn: () => T): T {
  return scope.run(callClass, fn);
}

export function currentCallClass(): CallClass {
  return scope.getStore() ?? 'progress';
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
