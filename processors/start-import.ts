import { deriveCustomerKey } from '../src/request.js';
import { isSfmcError } from '../src/sfmc/errors.js';
import { parseSfmcDate } from '../src/sfmc/time.js';
import type { ImportResultsSummary } from '../src/sfmc/types.js';
import { timeLeftMs, waitForNextCheck } from './polling.js';
import { childResult, type StepProcessor } from './step.js';

/**
 * How much earlier than this worker's "about to start" time SFMC's StartDate of this run's own
 * import may read: the two clocks differ (NTP keeps servers within a second or so) and StartDate
 * may be cut to whole seconds. An import of the same ImportDefinition started before that is an
 * earlier run's, never this one's.
 */
export const START_CLOCK_SKEW_MS = 60_000;

/**
 * Step 3: Perform `start`. Not idempotent in SFMC (a second start runs the import again), so the
 * task id is stored on the job the moment it is known, and a start that may have happened is
 * looked for before another is made. Only an import this start can have made counts: with a
 * CustomerKey reused across runs (a user-supplied `import.customerKey`), SFMC lists every earlier
 * run's import of the definition too, and adopting one would send before this run's file loaded.
 */
export const startImport: StepProcessor<'start-import'> = async (job, ctx) => {
  const { sfmc, signal, now, settings } = ctx;
  const { customerKey } = await childResult(job, 'create-import');
  const done = (taskId: string) => ({ customerKey, taskId });
  if (job.data.taskId) return done(job.data.taskId);

  if (job.data.startRequestedAt) {
    const found = await sfmc.retrieveImportResultsByDefinition(customerKey, { signal });
    const taskId = ownTask(found, {
      startRequestedAt: job.data.startRequestedAt,
      tasksBeforeStart: job.data.tasksBeforeStart,
      shared: isShared(customerKey, job.data.runId),
    });
    if (taskId) {
      await job.updateData({ ...job.data, taskId });
      await job.log(`found import task ${taskId} started by an earlier attempt`);
      return done(taskId);
    }
    const older = found.filter((s) => s.taskResultId).length;
    const remaining = timeLeftMs(job.data.startRequestedAt, settings.startConfirmGraceMs, now());
    if (remaining > 0) {
      // SFMC registers an import some time after `start`: look again later, without using an attempt.
      return waitForNextCheck(job, ctx, {
        delayMs: Math.min(remaining, 10_000),
        log:
          `an earlier start of ${customerKey} may have reached SFMC; no import of it visible yet` +
          (older > 0 ? ` (${older} earlier import(s) of this definition are not this run's)` : ''),
      });
    }
    await job.log(`no import of ${customerKey} appeared within ${settings.startConfirmGraceMs} ms of the earlier attempt; starting it`);
  }

  // A CustomerKey other runs may use: note which imports of it exist now, so a re-entry can tell
  // them from the one this start makes even when their StartDate cannot be read.
  const before = isShared(customerKey, job.data.runId)
    ? (await sfmc.retrieveImportResultsByDefinition(customerKey, { signal })).flatMap((s) => (s.taskResultId ? [s.taskResultId] : []))
    : undefined;
  const { tasksBeforeStart: _old, ...data } = job.data;
  await job.updateData({ ...data, startRequestedAt: new Date(now()).toISOString(), ...(before ? { tasksBeforeStart: before } : {}) });
  let taskId: string;
  try {
    ({ taskId } = await sfmc.startImportDefinition(customerKey, { signal }));
  } catch (err) {
    // A refusal SFMC answered cannot have started anything: forget the marker so a retry starts cleanly.
    if (isSfmcError(err) && !err.mayHaveTakenEffect) {
      const { startRequestedAt: _dropped, tasksBeforeStart: _list, ...rest } = job.data;
      await job.updateData(rest);
    }
    throw err;
  }
  await job.updateData({ ...job.data, taskId });
  return done(taskId);
};

/** The derived key `ls-<runId>` is this run's alone; any other was chosen by the caller and may be reused. */
function isShared(customerKey: string, runId: string): boolean {
  return customerKey !== deriveCustomerKey(runId);
}

export interface StartMarker {
  startRequestedAt: string;
  /** Task ids of the definition listed just before the start (only taken for a shared key). */
  tasksBeforeStart: string[] | undefined;
  /** The CustomerKey may be used by other runs (see isShared). */
  shared: boolean;
}

/**
 * The task an unanswered start made, among every import of the definition: not one listed just
 * before the start, and not started (by SFMC's CST StartDate) before the start was asked for. The
 * earliest such task when there are several: it is the one closest to this start.
 */
export function ownTask(found: ImportResultsSummary[], { startRequestedAt, tasksBeforeStart, shared }: StartMarker): string | undefined {
  const earliest = Date.parse(startRequestedAt) - START_CLOCK_SKEW_MS;
  const candidates = found
    .filter((s): s is ImportResultsSummary & { taskResultId: string } => s.taskResultId !== undefined)
    .filter((s) => !tasksBeforeStart?.includes(s.taskResultId))
    .map((s) => ({ taskId: s.taskResultId, startedAt: parseSfmcDate(s.startDate) }))
    // Without a readable StartDate the list tells; a key no other run uses needs neither.
    .filter((s) => (s.startedAt === undefined ? tasksBeforeStart !== undefined || !shared : s.startedAt >= earliest));
  candidates.sort((a, b) => (a.startedAt ?? 0) - (b.startedAt ?? 0));
  return candidates[0]?.taskId;
}
