import { POLL_FLOOR_MS } from '../src/request.js';

/**
 * When poll-import checks an import again. Pure: the step passes how many checks it has made and
 * how long it has been waiting (since its first visit, `firstPollAt`), and gets the next wait.
 *
 * The model behind it (bench/poll-schedule.ts, item 2 of the bench): a check made `d` after the
 * previous one can find an import that ended just after that previous check, so the lag between
 * the import's end and the Send is up to `d`. Waiting a fixed share of the time already waited
 * keeps that lag a fixed share of the import's duration, for imports of any length, with a number
 * of checks that grows only with the logarithm of the duration.
 */

export interface PollTiming {
  /** The wait before each of the first EARLY_CHECKS checks. */
  initialDelayMs: number;
  /** The longest wait between two checks. */
  maxDelayMs: number;
}

/**
 * The share of the time waited so far that the next wait may take. The lag target is 10 % of the
 * import's duration; each check's answer comes a round trip after it is asked (200 ms in the
 * bench's model) and the engine adds a few ms per check, so the share stays under 10 %: with
 * share s the lag after an import that ended just after a check `t` into the wait is about
 * s × t plus two round trips.
 */
export const POLL_SHARE = 0.09;

/**
 * How many checks come `initialDelayMs` apart before the proportional waits start. A share of a
 * short elapsed time would mean many checks close together early on, where a lag of a few tens of
 * seconds is a large share of a short import anyway: the 10-polls-per-10-minutes budget is better
 * spent later. With the defaults (150 s) the checks come at 2.5 and 5 minutes, then every 9 %.
 * bench/poll-schedule.ts's table shows the choice against imports of 1 to 60 minutes.
 */
export const EARLY_CHECKS = 2;

/** The request's defaults (src/request.ts): the checks at 2.5 and 5 min, then 9 % of the wait. */
export const DEFAULT_POLL_TIMING: PollTiming = { initialDelayMs: 150_000, maxDelayMs: 1_800_000 };

/**
 * The wait after `pollsDone` checks, `elapsedMs` after the first visit:
 * `initialDelayMs` for the first EARLY_CHECKS waits, then
 * `min(maxDelayMs, max(floor, POLL_SHARE × elapsed))`, where the floor is the request's
 * `initialDelayMs` or POLL_FLOOR_MS, whichever is smaller (never faster than the request allows).
 */
export function pollDelayMs(pollsDone: number, elapsedMs: number, poll: PollTiming): number {
  if (pollsDone < EARLY_CHECKS) return Math.max(0, Math.min(poll.maxDelayMs, poll.initialDelayMs));
  const floor = Math.min(poll.initialDelayMs, POLL_FLOOR_MS);
  const proportional = Math.round(POLL_SHARE * Math.max(0, elapsedMs));
  return Math.max(0, Math.min(poll.maxDelayMs, Math.max(floor, proportional)));
}
