import type { Logger } from 'pino';
import type { FireScheduleResult, ScheduleJob } from '../queues/automation.js';
import type { AutomationState } from '../src/automation/state.js';
import { firingRunId } from '../src/automation/run-ids.js';
import type { EnqueueResult } from '../src/client.js';
import type { RunRecord } from '../src/runs.js';

export interface FireScheduleContext {
  enqueue(input: unknown): Promise<EnqueueResult>;
  run(runId: string): Promise<RunRecord | undefined>;
  state: AutomationState;
  log: Logger;
  onSkip?: (schedule: string) => void;
}

/** Unfinished: its record is there and no step has marked it finished (a long-finished run has no record). */
const inFlight = (record: RunRecord | undefined) => record !== undefined && record.finishedAt === undefined;

/**
 * One firing of a schedule: enqueue the run `NAME-<firing time>`. The time is the scheduler's
 * own (the job's prevMillis, part of its job id `repeat:NAME:<millis>`), so a retried or
 * re-delivered firing enqueues the same runId and the registry's claim makes it one run.
 */
export async function fireSchedule(job: ScheduleJob, ctx: FireScheduleContext): Promise<FireScheduleResult> {
  const { name, request, overlap } = job.data;
  const firingMillis = job.opts.prevMillis ?? job.timestamp;
  const runId = firingRunId(name, firingMillis);
  // A retry of a firing that already enqueued its run only finishes the bookkeeping: the run it
  // started is the "previous run" now, and must not make this firing skip itself.
  const own = await ctx.run(runId);
  if (!own && overlap === 'skip') {
    const { lastRunId } = await ctx.state.schedule(name);
    if (lastRunId && inFlight(await ctx.run(lastRunId))) {
      const skipped = await ctx.state.countSkip(name);
      ctx.onSkip?.(name);
      ctx.log.warn({ runId, inFlight: lastRunId, skipped }, 'schedule firing skipped: the previous run is still in flight');
      return { runId, skippedFor: lastRunId };
    }
  }
  const { created } = await ctx.enqueue({ ...request, runId });
  await ctx.state.recordFiring(name, runId, new Date(firingMillis));
  ctx.log.info({ runId, created }, 'schedule fired');
  return { runId, created };
}
