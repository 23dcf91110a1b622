import type { DefinitionCleanup } from '../queues/catalog.js';
import { RunError } from '../src/errors.js';
import { isSfmcError } from '../src/sfmc/errors.js';
import type { ImportResultsSummary } from '../src/sfmc/types.js';
import { pollDelayMs } from './poll-schedule.js';
import { checkState, timeLeftMs, waitForNextCheck } from './polling.js';
import { childResult, type StepContext, type StepProcessor } from './step.js';

function counts(s: ImportResultsSummary) {
  return {
    numberSuccessful: s.numberSuccessful,
    numberErrors: s.numberErrors,
    numberDuplicated: s.numberDuplicated,
    totalRows: s.totalRows,
  };
}

/**
 * A failed status check that says nothing about the import: SFMC's database timing out or
 * deadlocking (FuelSDK-PHP issue #129), a server fault, a dropped connection. The import runs on in
 * SFMC whatever the check did, so the next scheduled check is the retry. Fatal errors (a permission,
 * a malformed request) fail the run; throttling goes to the worker, which pauses the whole queue.
 */
function isNoNews(err: unknown): boolean {
  return isSfmcError(err) && err.kind === 'retryable';
}

/**
 * Step 4: wait for the import without holding a worker slot. Each visit makes one Retrieve; if the
 * import is still running the job stores its progress, moves itself to delayed and gives the
 * slot back (the step-job pattern). Polling does not use up the step's retry attempts, and neither
 * does a check that failed transiently: until poll.timeoutMs only a fatal answer fails the run.
 * Once the import completed, the run's ImportDefinition is deleted (unless import.keepDefinition).
 */
export const pollImport: StepProcessor<'poll-import'> = async (job, ctx) => {
  const { sfmc, signal, now } = ctx;
  const saved = checkState(job);
  const started = saved.started ?? (await childResult(job, 'start-import'));
  const { taskId, customerKey } = started;
  const { poll, import: imp } = ctx.request;
  const polls = saved.polls ?? 0;
  const failedChecks = saved.failedChecks ?? 0;
  const firstPollAt = saved.firstPollAt ?? new Date(now()).toISOString();

  const wait = (pollsDone: number, status: string, failure?: string) => {
    const lastCheckError = failure ?? saved.lastCheckError;
    const failed = failure === undefined ? failedChecks : failedChecks + 1;
    return waitForNextCheck(job, ctx, {
      delayMs: pollDelayMs(pollsDone, now() - Date.parse(firstPollAt), poll),
      data: { polls: pollsDone, firstPollAt, lastStatus: status, failedChecks: failed, started, ...(lastCheckError !== undefined ? { lastCheckError } : {}) },
      progress: { polls: pollsDone, status, failedChecks: failed },
      ...(failure !== undefined ? { log: `import task ${taskId}: check failed (${failure}), no news` } : {}),
    });
  };

  // The first visit only schedules the first check: right after start SFMC has nothing to report.
  // A first check due at once (initialDelayMs 0: tests and the bench, never production's floor)
  // is made now rather than after a round trip through the delayed set (issue #14).
  if (saved.firstPollAt === undefined && pollDelayMs(0, 0, poll) > 0) return wait(0, 'Started');
  const elapsed = () => now() - Date.parse(firstPollAt);
  const pastDeadline = () => timeLeftMs(firstPollAt, poll.timeoutMs, now()) <= 0;
  const lastStatus = saved.lastStatus ?? 'Started';

  let summary: ImportResultsSummary | undefined;
  try {
    summary = await sfmc.retrieveImportResults(taskId, { signal });
  } catch (err) {
    // A cancelled job (its signal aborted) stops here; it is not a failed check.
    if (!isNoNews(err) || signal?.aborted) throw err;
    const message = (err as Error).message;
    ctx.log.warn({ taskId, failedChecks: failedChecks + 1, code: isSfmcError(err) ? err.code : undefined }, 'import status check failed; treated as no news');
    if (pastDeadline()) {
      throw new RunError(
        'poll-timeout',
        `import task ${taskId} still ${lastStatus} after ${elapsed()} ms (poll.timeoutMs ${poll.timeoutMs}); the last check failed: ${message}`,
        { taskId, status: lastStatus, failedChecks: failedChecks + 1 },
      );
    }
    return wait(polls + 1, lastStatus, message);
  }

  const status = summary?.importStatus ?? 'NotRegistered';
  if (summary && status === 'Completed') {
    const definition = await cleanUp(customerKey, imp.keepDefinition === true, ctx);
    if (definition.warning) await job.log(`warning: ${definition.warning}`);
    if (summary.numberSuccessful === 0 && !imp.allowEmpty) {
      throw new RunError('import-empty', `import task ${taskId} completed with 0 successful rows (${summary.numberErrors} errors); nothing to send to`, counts(summary));
    }
    return { taskId, importStatus: status, polls: polls + 1, failedChecks, definition, ...counts(summary) };
  }
  if (summary && status === 'Error') {
    const c = counts(summary);
    throw new RunError(
      'import-error',
      `import task ${taskId} ended in Error (${c.numberSuccessful} successful, ${c.numberErrors} errors of ${c.totalRows} rows); the import's notification email or the Enhanced FTP has the details`,
      c,
    );
  }
  if (pastDeadline()) {
    throw new RunError('poll-timeout', `import task ${taskId} still ${status} after ${elapsed()} ms (poll.timeoutMs ${poll.timeoutMs})`, { taskId, status });
  }
  return wait(polls + 1, status);
};

/**
 * One ImportDefinition per run would pile up in the account forever, so the completed run's is
 * deleted. One attempt, never retried and never fatal: a definition left behind costs nothing but
 * clutter, and the import it served is already done.
 */
async function cleanUp(customerKey: string, keep: boolean, { sfmc, signal, log }: StepContext): Promise<DefinitionCleanup> {
  if (keep) return { customerKey, outcome: 'kept' };
  try {
    const { deleted } = await sfmc.deleteImportDefinition(customerKey, { signal });
    return { customerKey, outcome: deleted ? 'deleted' : 'absent' };
  } catch (err) {
    const warning = `ImportDefinition ${customerKey} could not be deleted (${(err as Error).message}); it stays in SFMC and can be deleted by hand`;
    log.warn({ customerKey, code: isSfmcError(err) ? err.code : undefined }, 'ImportDefinition clean-up failed');
    return { customerKey, outcome: 'failed', warning };
  }
}
