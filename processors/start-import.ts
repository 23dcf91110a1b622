import { DelayedError } from 'bullmq';
import { isSfmcError } from '../src/sfmc/errors.js';
import { childResult } from '../src/worker/child-result.js';
import type { StepProcessor } from '../src/worker/context.js';

/**
 * Step 3: Perform `start`. Not idempotent in SFMC (a second start runs the import again), so the
 * task id is stored on the job the moment it is known, and a start that may have happened is
 * looked for before another is made.
 */
export const startImport: StepProcessor<'start-import'> = async (job, ctx) => {
  const { sfmc, signal, now, settings } = ctx;
  const { listId, customerKey } = await childResult(job, 'create-import');
  const done = (taskId: string) => ({ listId, customerKey, taskId });
  if (job.data.taskId) return done(job.data.taskId);

  if (job.data.startRequestedAt) {
    const found = await sfmc.retrieveImportResultsByDefinition(customerKey, { signal });
    const taskId = found.find((s) => s.taskResultId)?.taskResultId;
    if (taskId) {
      await job.updateData({ ...job.data, taskId });
      await job.log(`found import task ${taskId} started by an earlier attempt`);
      return done(taskId);
    }
    const remaining = settings.startConfirmGraceMs - (now() - Date.parse(job.data.startRequestedAt));
    if (remaining > 0) {
      // SFMC registers an import some time after `start`: look again later, without using an attempt.
      await job.log(`an earlier start of ${customerKey} may have reached SFMC; no import visible yet, checking again`);
      await job.moveToDelayed(now() + Math.min(remaining, 10_000), ctx.token);
      throw new DelayedError();
    }
    await job.log(`no import of ${customerKey} appeared within ${settings.startConfirmGraceMs} ms of the earlier attempt; starting it`);
  }

  await job.updateData({ ...job.data, startRequestedAt: new Date(now()).toISOString() });
  let taskId: string;
  try {
    ({ taskId } = await sfmc.startImportDefinition(customerKey, { signal }));
  } catch (err) {
    // A refusal SFMC answered cannot have started anything: forget the marker so a retry starts cleanly.
    if (isSfmcError(err) && !err.mayHaveTakenEffect) {
      const { startRequestedAt: _dropped, ...rest } = job.data;
      await job.updateData(rest);
    }
    throw err;
  }
  await job.updateData({ ...job.data, taskId });
  await job.log(`import started: task ${taskId}`);
  return done(taskId);
};
