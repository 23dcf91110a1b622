import type { Job } from 'bullmq';
import type { Logger } from 'pino';
import { stepJobId, type JobOf, type JobResults, type QueueName } from '../queues/catalog.js';
import { RunError } from '../src/errors.js';
import type { ListSendRequest } from '../src/request.js';
import type { Destination, RunRegistry } from '../src/runs.js';
import type { SfmcApi } from '../src/sfmc/types.js';
import type { SftpUploader } from '../src/upload/sftp.js';

/**
 * What every processor is and receives. Processors depend on this file, queues/ and src/sfmc/
 * (plus the run registry and uploader types); the worker (src/worker/) wires them, never the reverse.
 */

/** What a processor may use besides its job. Everything is passed in; processors hold no globals. */
export interface StepContext {
  sfmc: SfmcApi;
  /** Enhanced FTP for upload-file; undefined when this worker has no SFTP configuration. */
  uploader?: SftpUploader;
  runs: RunRegistry;
  /** The run's validated request, read from the run registry once per job visit by the wrapper. */
  request: ListSendRequest;
  /**
   * Where the run imports and sends, as resolve-list recorded it in the run registry; read in the
   * same registry read as the request. Undefined before resolve-list has completed (resolve-list
   * itself, upload-file): steps that need it call requireDestination.
   */
  destination: Destination | undefined;
  log: Logger;
  /**
   * Set by the worker when this visit took the run's remote file name afresh (queues/steps.ts
   * `fileName`): it was not this run's before, so a file under that name may be another run's.
   */
  fileNameFresh?: boolean;
  /** The job's lock token: needed to move the job to delayed without losing the lock check. */
  token: string | undefined;
  signal: AbortSignal | undefined;
  now: () => number;
  settings: StepSettings;
}

export interface StepSettings {
  /**
   * How far before the recorded "about to send" time to search for an existing Send: a margin for
   * the clock difference between this worker and SFMC (dates themselves go out as CST, time.ts).
   */
  sendLookbackMs: number;
  /** How long after an unconfirmed Perform start to wait for SFMC to show the import (START_CONFIRM_GRACE_MS). */
  startConfirmGraceMs: number;
  /** resolve-list Retrieves the Email before anything changes (SFMC_CHECK_EMAIL). */
  checkEmail: boolean;
  /**
   * How long a run's hold on its remote file name lasts without renewal (src/worker/file-name.ts):
   * how long the name of a crashed owner stays blocked. A polling step's renewal adds the request's
   * poll.maxDelayMs, its longest wait between visits.
   */
  fileNameLeaseMs: number;
  /** How often a run waiting for a remote file name another run owns checks it again. */
  fileNameRecheckMs: number;
}

export const DEFAULT_STEP_SETTINGS: StepSettings = {
  sendLookbackMs: 10 * 60_000,
  // The same default as START_CONFIRM_GRACE_MS in src/config.ts, for pools started without a config.
  startConfirmGraceMs: 5 * 60_000,
  checkEmail: true,
  // Longer than any gap between an owner's visits but a poll's wait (covered apart), and short
  // enough that a crashed owner's name is free again within minutes.
  fileNameLeaseMs: 10 * 60_000,
  fileNameRecheckMs: 5_000,
};

export type StepProcessor<N extends QueueName> = (job: JobOf<N>, ctx: StepContext) => Promise<JobResults[N]>;

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

/**
 * The run's destination, for the steps after resolve-list. Missing means the registry lost it
 * (resolve-list always records it before completing): the run stops rather than guess where to send.
 */
export function requireDestination(job: Job<{ runId: string }>, ctx: Pick<StepContext, 'destination'>): Destination {
  if (ctx.destination) return ctx.destination;
  throw new RunError(
    'destination-missing',
    `the run registry has no destination for run ${job.data.runId}; resolve-list records it before the import, so the run stops here rather than guess`,
    { runId: job.data.runId },
  );
}
