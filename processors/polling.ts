import { DelayedError, type Job } from 'bullmq';
import type { StepContext } from './step.js';

/**
 * How every step that waits on SFMC waits: the step-job pattern (../shared/reference/bullmq.md,
 * "step jobs"). The job records where it is, moves itself to delayed and throws DelayedError, so
 * it gives its worker slot back and uses no attempt; the next visit checks again.
 */
export interface NextCheck<D> {
  /** How long until the next check; the step's own schedule decides (e.g. pollDelayMs). */
  delayMs: number;
  /**
   * Where the step is, for its next visit (read back with `checkState`): a crash after the move
   * must not lose it. Saved in the job's progress beside what is shown (see waitForNextCheck).
   */
  data?: Partial<D>;
  /** What `status`, the CLI and Bull Board show while the step waits. */
  progress?: object;
  /**
   * A line for the job's log in Bull Board, only where it says what the progress does not (a
   * failed check, a wait with no progress): every plain "still Queued" would be a Redis write
   * per check repeating the progress (issue #14).
   */
  log?: string;
}

/**
 * Two round trips per wait (issue #14), down from four: one updateProgress, then moveToDelayed.
 * The state the next visit needs goes into the progress object with what is shown, so one
 * BullMQ script writes both, atomically, before the move: once moveToDelayed returns the lock is
 * gone, and a crash in between would otherwise lose the record. A crash before the move leaves a
 * stalled job whose progress already holds this check, as job.data did before. Nothing is logged
 * here: the wrapper logs the wait (with job.delay) at debug, and touching ctx.log would make the
 * visit's child logger, which a poll at the default level never needs (src/worker/wrap.ts).
 */
export async function waitForNextCheck<D extends object>(
  job: Job<D>,
  ctx: Pick<StepContext, 'now' | 'token'>,
  next: NextCheck<D>,
): Promise<never> {
  if (next.data || next.progress) await job.updateProgress({ ...next.progress, ...next.data });
  if (next.log !== undefined) await job.log(`${next.log}; next check in ${next.delayMs} ms`);
  await job.moveToDelayed(ctx.now() + next.delayMs, ctx.token);
  throw new DelayedError();
}

/**
 * Where a waiting step left off: what its last wait saved in the progress, over its job data (a
 * job that waited before issue #14 saved its state there, and the data holds the runId).
 */
export function checkState<D extends object>(job: Job<D>): Partial<D> {
  const progress = job.progress;
  return { ...job.data, ...(progress !== null && typeof progress === 'object' ? (progress as Partial<D>) : {}) };
}

/** Milliseconds left before a wait that began at `since` (an ISO time) runs out; 0 or less once past. */
export function timeLeftMs(since: string, timeoutMs: number, now: number): number {
  return timeoutMs - (now - Date.parse(since));
}
