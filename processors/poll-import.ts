import { DelayedError } from 'bullmq';
import { RunError } from '../src/errors.js';
import type { ImportResultsSummary } from '../src/sfmc/types.js';
import { childResult } from '../src/worker/child-result.js';
import type { StepProcessor } from '../src/worker/context.js';

/** Exponential backoff between polls: initial, 2x, 4x ... capped at maxDelayMs. */
export function pollDelayMs(pollsDone: number, poll: { initialDelayMs: number; maxDelayMs: number }): number {
  const grown = poll.initialDelayMs * 2 ** Math.min(pollsDone, 30);
  return Math.max(0, Math.min(poll.maxDelayMs, grown));
}

function counts(s: ImportResultsSummary) {
  return {
    numberSuccessful: s.numberSuccessful,
    numberErrors: s.numberErrors,
    numberDuplicated: s.numberDuplicated,
    totalRows: s.totalRows,
  };
}

/**
 * Step 4: wait for the import without holding a worker slot. Each visit makes one Retrieve; if the
 * import is still running the job stores its progress, moves itself to delayed and gives the
 * slot back (the step-job pattern). Polling does not use up the step's retry attempts.
 */
export const pollImport: StepProcessor<'poll-import'> = async (job, ctx) => {
  const { sfmc, signal, now, token } = ctx;
  const { listId, taskId } = await childResult(job, 'start-import');
  const { poll, import: imp } = ctx.request;
  const polls = job.data.polls ?? 0;

  const wait = async (pollsDone: number, status: string) => {
    const firstPollAt = job.data.firstPollAt ?? new Date(now()).toISOString();
    // Persist first: once moveToDelayed returns the lock is gone, and a crash would lose the count.
    await job.updateData({ ...job.data, polls: pollsDone, firstPollAt, lastStatus: status });
    await job.updateProgress({ polls: pollsDone, status });
    const delay = pollDelayMs(pollsDone, poll);
    await job.log(`import task ${taskId}: ${status}; next check in ${delay} ms`);
    await job.moveToDelayed(now() + delay, token);
    throw new DelayedError();
  };

  // The first visit only schedules the first check: right after start SFMC has nothing to report.
  if (job.data.firstPollAt === undefined) return wait(0, 'Started');

  const summary = await sfmc.retrieveImportResults(taskId, { signal });
  const status = summary?.importStatus ?? 'NotRegistered';
  if (summary && status === 'Completed') {
    if (summary.numberSuccessful === 0 && !imp.allowEmpty) {
      throw new RunError('import-empty', `import task ${taskId} completed with 0 successful rows (${summary.numberErrors} errors); nothing to send to`, counts(summary));
    }
    await job.log(`import task ${taskId} completed: ${summary.numberSuccessful} of ${summary.totalRows} rows imported`);
    return { listId, taskId, importStatus: status, polls: polls + 1, ...counts(summary) };
  }
  if (summary && status === 'Error') {
    const c = counts(summary);
    throw new RunError(
      'import-error',
      `import task ${taskId} ended in Error (${c.numberSuccessful} successful, ${c.numberErrors} errors of ${c.totalRows} rows); the import's notification email or the Enhanced FTP has the details`,
      c,
    );
  }
  const elapsed = now() - Date.parse(job.data.firstPollAt);
  if (elapsed >= poll.timeoutMs) {
    throw new RunError('poll-timeout', `import task ${taskId} still ${status} after ${elapsed} ms (poll.timeoutMs ${poll.timeoutMs})`, { taskId, status });
  }
  return wait(polls + 1, status);
};
