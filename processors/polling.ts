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
  /** A line for the job's log in Bull Board. */
  message: string;
}

export async function waitForNextCheck<D extends object>(
  job: Job<D>,
  ctx: Pick<StepContext, 'now' | 'token' | 'log'>,
  next: NextCheck<D>,
): Promise<never> {
  // Persist first: once moveToDelayed returns the lock is gone, and a crash would lose the record.
  if (next.data) await job.updateData({ ...job.data, ...next.data });
  if (next.progress) await job.updateProgress(next.progress);
  await job.log(`${next.message}; next check in ${next.delayMs} ms`);
  ctx.log.debug({ delayMs: next.delayMs }, 'step waits for its next check');
  await job.moveToDelayed(ctx.now() + next.delayMs, ctx.token);
  throw new DelayedError();
}

/** Milliseconds left before a wait that began at `since` (an ISO time) runs out; 0 or less once past. */
export function timeLeftMs(since: string, timeoutMs: number, now: number): number {
  return timeoutMs - (now - Date.parse(since));
}
