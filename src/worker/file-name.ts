import { DelayedError, type Job } from 'bullmq';
import type { Logger } from 'pino';
import type { QueueName } from '../../queues/catalog.js';
import { fileNameRoleOf, stepPolls } from '../../queues/steps.js';
import type { StepSettings } from '../../processors/step.js';
import { RunError } from '../errors.js';
import type { ListSendRequest } from '../request.js';
import type { FileNameLocks } from '../upload/file-name-lock.js';
import type { SftpUploader } from '../upload/sftp.js';

/**
 * What the worker does about a run's remote file name around the steps that use it (queues/steps.ts
 * `fileName`; the lease itself is src/upload/file-name-lock.ts): take it or wait for it before the
 * upload, check and renew it before every later visit and while a step runs, release it when the
 * import has read the file or the run fails on the way. Runs without a `file` take nothing: they
 * read a file someone else placed.
 */

export interface RunFileName {
  key: string;
  fileSpec: string;
  runId: string;
  /** One renewal's length: a polling step's also covers its longest wait between visits. */
  leaseMs: number;
}

export interface FileNameDeps {
  locks: FileNameLocks;
  settings: Pick<StepSettings, 'fileNameLeaseMs' | 'fileNameRecheckMs'>;
  now: () => number;
  log: Logger;
}

/**
 * The run's file name for a visit of `queue`, or undefined when the step does not use it or the run
 * uploads nothing. A worker without SFTP (no uploader) cannot have uploaded, nor name the folder.
 */
export function runFileName(
  queue: QueueName,
  request: ListSendRequest,
  uploader: SftpUploader | undefined,
  { locks, settings }: Pick<FileNameDeps, 'locks' | 'settings'>,
): RunFileName | undefined {
  if (!fileNameRoleOf(queue) || !request.file || !uploader) return undefined;
  const { fileSpec } = request.import;
  const leaseMs = settings.fileNameLeaseMs + (stepPolls(queue) ? request.poll.maxDelayMs : 0);
  return { key: locks.key(uploader.config, fileSpec), fileSpec, runId: request.runId, leaseMs };
}

/** What a waiting upload shows in its progress (status, /runs): the name and who owns it, never the file. */
export interface FileNameWait {
  waitingForFileName: string;
  heldByRun: string;
}

/**
 * Before the step: 'take' takes the name, or moves the job to delayed while another run owns it
 * (the step-job pattern: the slot is given back, no attempt is used, a cancel ends the wait at the
 * next visit). 'hold' and 'release' go on only while this run still owns the name: a name lost
 * (the lease ran out and another run may have uploaded over the file) fails the run rather than
 * import or send another run's subscribers. Resolves `fresh` for a take: the name was not this
 * run's before, so a file under it may be someone else's.
 */
export async function enterFileNameStep(
  queue: QueueName,
  job: Job,
  token: string | undefined,
  name: RunFileName,
  deps: FileNameDeps,
): Promise<{ fresh: boolean }> {
  const { locks } = deps;
  if (fileNameRoleOf(queue) !== 'take') {
    if (await locks.renew(name.key, name.runId, name.leaseMs)) return { fresh: false };
    throw lost(name);
  }
  const taken = await locks.take(name.key, name.runId, name.leaseMs);
  if (taken.owned) return { fresh: taken.fresh };
  const wait: FileNameWait = { waitingForFileName: name.fileSpec, heldByRun: taken.holder };
  const shown = job.progress as Partial<FileNameWait> | null | number;
  const sameWait = typeof shown === 'object' && shown?.heldByRun === taken.holder;
  await job.updateProgress(wait);
  // One log line per owner waited for, not one per check.
  if (!sameWait) await job.log(`waiting for ${name.fileSpec}: run ${taken.holder} owns the name until its import has read its file`);
  deps.log.info({ heldByRun: taken.holder, recheckMs: deps.settings.fileNameRecheckMs }, 'remote file name owned by another run; upload waits');
  await job.moveToDelayed(deps.now() + deps.settings.fileNameRecheckMs, token);
  throw new DelayedError();
}

/**
 * While a step runs (an upload may take hours), renews the name every third of a lease. A renewal
 * that finds the name lost is remembered: `stop` then says so, and the step's result is not used.
 */
export function keepFileName(name: RunFileName, deps: FileNameDeps): { stop(): { lost: boolean } } {
  let lost = false;
  let renewing = false;
  const timer = setInterval(() => {
    if (renewing) return;
    renewing = true;
    deps.locks
      .renew(name.key, name.runId, name.leaseMs)
      .then((owned) => {
        if (!owned) lost = true;
      })
      // A Redis error is not a loss: the next renewal, or the next step's check, tells.
      .catch((err: unknown) => deps.log.warn({ err }, 'could not renew the remote file name'))
      .finally(() => (renewing = false));
  }, Math.max(1, Math.floor(name.leaseMs / 3)));
  return {
    stop() {
      clearInterval(timer);
      return { lost };
    },
  };
}

/** After a 'release' step completed: the import has read the file. A name lost meanwhile fails the run (file-name-lost). */
export async function releaseAfterStep(queue: QueueName, name: RunFileName, deps: FileNameDeps): Promise<void> {
  if (fileNameRoleOf(queue) !== 'release') return;
  if (!(await deps.locks.release(name.key, name.runId))) throw lost(name);
}

/**
 * On a final failure of a step that uses the name (a cancel among them): the run will upload and
 * import nothing more. A Redis error here is logged, not thrown: the step's own error is what
 * matters, and the lease runs out by itself.
 */
export async function releaseQuietly(name: RunFileName, deps: FileNameDeps): Promise<void> {
  try {
    await deps.locks.release(name.key, name.runId);
  } catch (err) {
    deps.log.warn({ err }, 'could not release the remote file name; it is free again when its lease runs out');
  }
}

export function lost(name: RunFileName): RunError {
  return new RunError(
    'file-name-lost',
    `run ${name.runId} no longer owns the remote file name ${name.fileSpec} (its lease ran out): another run may have uploaded over the file, so this run stops rather than import or send it`,
    { fileSpec: name.fileSpec },
  );
}
