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
  /** Fields to persist on the job before it moves: a crash after the move must not lose them. */
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

export async function waitForNextCheck<D extends object>(
  job: Job<D>,
  ctx: Pick<StepContext, 'now' | 'token' | 'log'>,
  next: NextCheck<D>,
): Promise<never> {
  // Persist first: once moveToDelayed returns the lock is gone, and a crash would lose the record.
  // The data stays in job.data (not folded into the progress) so that a crash between these
  // writes and the move leaves what the next visit reads, and the progress keeps the shape the
  // API, the CLI and the runs pages show.
  if (next.data) await job.updateData({ ...job.data, ...next.data });
  if (next.progress) await job.updateProgress(next.progress);
  if (next.log !== undefined) await job.log(`${next.log}; next check in ${next.delayMs} ms`);
  ctx.log.debug({ delayMs: next.delayMs }, 'step waits for its next check');
  await job.moveToDelayed(ctx.now() + next.delayMs, ctx.token);
  throw new DelayedError();
}

/** Milliseconds left before a wait that began at `since` (an ISO time) runs out; 0 or less once past. */
export function timeLeftMs(since: string, timeoutMs: number, now: number): number {
  return timeoutMs - (now - Date.parse(since));
}
