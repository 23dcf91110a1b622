import { EARLY_CHECKS, POLL_SHARE, pollDelayMs, type PollTiming } from '../processors/poll-schedule.js';
import { seconds } from './common.js';

/**
 * A model of poll-import's timing, to read a schedule's cost (polls) and promptness (lag) for
 * any import duration without waiting for it. Time 0 is when SFMC starts the import (it commits
 * `start` on arrival; the answer comes `latencyMs` later). Then, as processors/poll-import.ts
 * does: the first visit only schedules the first check; each check is one Retrieve whose status
 * is read on arrival and answered `latencyMs` later; after check n the job waits delay(n) from the
 * moment the answer came back. The Send is requested as soon as the completing answer arrives
 * (engine hops, a few ms, are left out: the bench measures them).
 */

export interface Schedule {
  label: string;
  /** The wait after `pollsDone` checks, `elapsedMs` after the first visit. */
  delay(pollsDone: number, elapsedMs: number): number;
}

/** Production's schedule (processors/poll-schedule.ts pollDelayMs) with these request settings. */
export function production(poll: PollTiming, label = 'production'): Schedule {
  return {
    label: `${label}: ${EARLY_CHECKS} × ${seconds(poll.initialDelayMs)}, then ${POLL_SHARE} × elapsed, cap ${seconds(poll.maxDelayMs)}`,
    delay: (pollsDone, elapsedMs) => pollDelayMs(pollsDone, elapsedMs, poll),
  };
}

/** The schedule before issue #14: initial, doubling, capped. */
export function doubling(initialDelayMs: number, maxDelayMs: number): Schedule {
  return {
    label: `doubling from ${seconds(initialDelayMs)}, cap ${seconds(maxDelayMs)}`,
    delay: (pollsDone) => Math.min(maxDelayMs, initialDelayMs * 2 ** Math.min(pollsDone, 30)),
  };
}

/** A proposal: wait a fixed share of the time already waited, between a floor and a cap. */
export function proportional(initialDelayMs: number, maxDelayMs: number, share: number): Schedule {
  return {
    label: `max(${seconds(initialDelayMs)}, min(${seconds(maxDelayMs)}, ${share} × elapsed))`,
    delay: (pollsDone, elapsedMs) => (pollsDone === 0 ? initialDelayMs : Math.max(initialDelayMs, Math.min(maxDelayMs, share * elapsedMs))),
  };
}

export interface Simulated {
  polls: number;
  /** From the import's end to the Send request. */
  lagMs: number;
}

export function simulate(schedule: Schedule, importMs: number, latencyMs: number): Simulated {
  const firstVisit = latencyMs;
  let check = firstVisit + schedule.delay(0, 0);
  for (let polls = 1; polls < 100_000; polls++) {
    const answered = check + latencyMs;
    if (check >= importMs) return { polls, lagMs: answered - importMs };
    check = answered + schedule.delay(polls, answered - firstVisit);
  }
  throw new Error('the schedule never reaches the end of the import');
}

/**
 * The shortest import duration from which the lag stays within `share` of T for every longer
 * import up to `upToMs` (checked in 1-second steps, downwards from upToMs).
 */
export function lagWithinFrom(schedule: Schedule, share: number, upToMs: number, latencyMs: number): number {
  let from = upToMs;
  for (let t = upToMs; t >= 1_000; t -= 1_000) {
    if (simulate(schedule, t, latencyMs).lagMs > share * t) break;
    from = t;
  }
  return from;
}

/** The most polls any import up to `upToMs` takes (checked in 1-second steps). */
export function mostPolls(schedule: Schedule, upToMs: number, latencyMs: number): number {
  let most = 0;
  for (let t = 1_000; t <= upToMs; t += 1_000) most = Math.max(most, simulate(schedule, t, latencyMs).polls);
  return most;
}

/** The largest lag ÷ duration over imports from `fromMs` to `toMs` (1-second steps). */
export function worstLagShare(schedule: Schedule, fromMs: number, toMs: number, latencyMs: number): number {
  let worst = 0;
  for (let t = fromMs; t <= toMs; t += 1_000) worst = Math.max(worst, simulate(schedule, t, latencyMs).lagMs / t);
  return worst;
}
