import type { JobsOptions } from 'bullmq';

/**
 * Enqueue options for every queue, in one table. Completed and failed jobs are kept by age, never
 * removed at once: removing a failed child releases its flow parent (it would then run with no
 * child result), and a kept job is what makes a repeated runId a no-op.
 */

const DAY_SECONDS = 86_400;
export const RETENTION_SECONDS = 30 * DAY_SECONDS;

export interface StepOptionSettings {
  attempts: number;
  backoffMs: number;
}

/** Options of one step job; `isRoot` for the run's last step, the root of its flow. */
export function jobOptionsFor(settings: StepOptionSettings, place: { isRoot: boolean }): JobsOptions {
  const common: JobsOptions = {
    attempts: settings.attempts,
    backoff: { type: 'exponential', delay: settings.backoffMs, jitter: 0.2 },
    removeOnComplete: { age: RETENTION_SECONDS },
    removeOnFail: { age: RETENTION_SECONDS },
  };
  // The root of the flow has no parent to fail; every other step fails its parent at once.
  return place.isRoot ? common : { ...common, failParentOnFailure: true };
}
