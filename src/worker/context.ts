import type { Logger } from 'pino';
import type { JobOf, JobResults, QueueName } from '../../queues/catalog.js';
import type { ListSendRequest } from '../request.js';
import type { RunRegistry } from '../runs.js';
import type { SfmcApi } from '../sfmc/types.js';
import type { SftpUploader } from '../upload/sftp.js';

/** What a processor may use besides its job. Everything is passed in; processors hold no globals. */
export interface StepContext {
  sfmc: SfmcApi;
  /** Enhanced FTP for upload-file; undefined when this worker has no SFTP configuration. */
  uploader?: SftpUploader;
  runs: RunRegistry;
  /** The run's validated request, read from the run registry once per job visit by the wrapper. */
  request: ListSendRequest;
  log: Logger;
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
}

export const DEFAULT_STEP_SETTINGS: StepSettings = {
  sendLookbackMs: 10 * 60_000,
  // The same default as START_CONFIRM_GRACE_MS in src/config.ts, for pools started without a config.
  startConfirmGraceMs: 5 * 60_000,
  checkEmail: true,
};

export type StepProcessor<N extends QueueName> = (job: JobOf<N>, ctx: StepContext) => Promise<JobResults[N]>;
