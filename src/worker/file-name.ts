import { DelayedError, type Job } from 'bullmq';
import type { Logger } from 'pino';
import type { QueueName } from '../../queues/catalog.js';
import { fileNameRoleOf, stepPolls } from '../../queues/steps.js';
import type { StepSettings } from '../../processors/step.js';
import { RunError } from '../errors.js';
import type { ListSendRequest } from '../request.js';
import type { RunRegistry } from '../runs.js';
import type { FileNameLocks } from '../upload/file-name-lock.js';
import type { SftpUploader } from '../upload/sftp.js';

/**
 * What the worker does about a run's remote file name around the steps that use it (queues/steps.ts
 * `fileName`; the lease itself is src/upload/file-name-lock.ts): take it or wait for it before the
 * upload, check and renew it before every later visit and while a step runs, release it when the
 * import has read the file or the run fails on the way. Runs without a `file` take nothing: they
 * read a file someone else placed.
 *
 * A run can also fail at a step that does not use the name while its upload runs beside it
 * (resolve-list: the List does not exist). The name is then freed as soon as no visit of the run
 * can write the remote file any more, and never before: freeing it while the failed run's upload
 * could still rename its file onto the FileSpec would let that rename land on the next owner's file.
 * The run registry's hash is where the two sides meet (src/runs.ts), each side in one script:
 *   - an upload visit marks itself (`uploadingBy`, beginWriting) only if the run has not ended or
 *     been cancelled, before it takes the name; when it stops, whatever its outcome, it clears its
 *     mark and reads whether the run has ended meanwhile, and if so frees the name (endWriting);
 *   - a step failing for good marks the run finished (finishedAt, markFinished) and reads the
 *     upload mark in the same script; with no upload visit running it frees the name at once
 *     (wrap.ts), otherwise it leaves that to the visit's endWriting.
 * The scripts run one after another on one key, so for any failure either the visit began before
 * the mark (and its endWriting sees the mark: it frees the name once its last write is done), or
 * it begins after (and refuses to write: the name is free, or was never this run's again). A
 * running upload also stops within a second of the mark, and checks once more just before its
 * rename (processors/upload-file.ts); a rename that passed that check happens while the name is
 * still owned, because endWriting only runs after the step has returned.
 * A retried upload is a new visit: between attempts no mark is set, so a failure then frees the
 * name, and the next attempt's beginWriting refuses. A worker that dies mid-upload leaves its mark:
 * the failing step then does not free the name; BullMQ hands the stalled job to another worker,
 * whose beginWriting refuses and whose final failure frees the name; or, if BullMQ fails the job
 * itself (stalled too often), the lease runs out. Either way nothing of the dead visit can write
 * (a worker stalled but still alive is the lease's own limit: src/upload/file-name-lock.ts).
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
 * The run's file name for a visit of `queue` (whether or not the step uses it: fileNameRoleOf), or
 * undefined when the run uploads nothing. A worker without SFTP (no uploader) cannot have uploaded,
 * nor name the folder.
 */
export function runFileName(
  queue: QueueName,
  request: ListSendRequest,
  uploader: SftpUploader | undefined,
  { locks, settings }: Pick<FileNameDeps, 'locks' | 'settings'>,
): RunFileName | undefined {
  if (!request.file || !uploader) return undefined;
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

/** One upload visit that may write the run's remote file: its name and the visit's BullMQ lock token. */
export interface Writer {
  name: RunFileName;
  token: string;
}

/**
 * Before an upload visit takes the name: marks the visit in the run registry, or fails it with
 * `run-ended` when the run has already failed or been cancelled (a retry after a failure elsewhere,
 * or an upload that had not started yet): it writes nothing and takes nothing.
 */
export async function beginWriting(runs: RunRegistry, name: RunFileName, token: string): Promise<Writer> {
  const state = await runs.beginUpload(name.runId, token);
  if (state === 'ended') throw new RunError('run-ended', `run ${name.runId} has already failed or been cancelled; its upload does not start`, { runId: name.runId });
  if (state === 'missing') throw new RunError('run-missing', `the run registry has no entry for run ${name.runId}; its upload does not start`, { runId: name.runId });
  return { name, token };
}

/**
 * After the visit has stopped (returned or thrown: its connection is closed, no rename can follow):
 * clears its mark, and frees the name when the run has ended meanwhile, since the failing step left
 * that to this visit. A Redis error leaves the mark: the name then waits for its lease.
 */
export async function endWriting(runs: RunRegistry, writer: Writer, deps: FileNameDeps): Promise<void> {
  let ended: boolean;
  try {
    ended = await runs.endUpload(writer.name.runId, writer.token);
  } catch (err) {
    deps.log.warn({ err }, 'could not record the end of the upload; the remote file name is free again when its lease runs out');
    return;
  }
  if (ended) await releaseQuietly(writer.name, deps);
}

/**
 * On a final failure of a step that uses the name (a cancel among them), or of any other step when
 * no upload visit of the run is running (see the top of this file): the run will upload and import
 * nothing more. A Redis error here is logged, not thrown: the step's own error is what matters, and
 * the lease runs out by itself.
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
