import { pollDelayMs } from '../processors/poll-import.js';
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

/** Production's schedule: initial, doubling, capped (processors/poll-import.ts pollDelayMs). */
export function doubling(initialDelayMs: number, maxDelayMs: number): Schedule {
  return {
    label: `doubling from ${seconds(initialDelayMs)}, cap ${seconds(maxDelayMs)}`,
    delay: (pollsDone) => pollDelayMs(pollsDone, { initialDelayMs, maxDelayMs }),
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
