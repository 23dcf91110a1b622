import type { Job } from 'bullmq';
import { stepJobId, type JobResults, type QueueName } from '../../queues/catalog.js';
import { RunError } from '../errors.js';

/**
 * A parent acts only on its child's result. If the child was removed (a dashboard clean, an
 * eviction), BullMQ releases the parent with no value: that must stop the run, never send.
 */
export async function childResult<C extends QueueName>(
  job: Job<{ runId: string }>,
  child: C,
): Promise<JobResults[C]> {
  const values = await job.getChildrenValues<JobResults[C]>();
  const suffix = `:${child}:${stepJobId(job.data.runId, child)}`;
  const key = Object.keys(values).find((k) => k.endsWith(suffix));
  const value = key === undefined ? undefined : values[key];
  if (value === undefined || value === null) {
    throw new RunError('missing-child-result', `step ${child} left no result; the run stops here rather than act without it`);
  }
  return value;
}
