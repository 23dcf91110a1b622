import type { Logger } from 'pino';
import type { JobOf, JobResults, QueueName } from '../../queues/catalog.js';
import type { RunRegistry } from '../runs.js';
import type { SfmcApi } from '../sfmc/types.js';
import type { SftpUploader } from '../upload/sftp.js';

/** What a processor may use besides its job. Everything is passed in; processors hold no globals. */
export interface StepContext {
  sfmc: SfmcApi;
  /** Enhanced FTP for upload-file; undefined when this worker has no SFTP configuration. */
  uploader?: SftpUploader;
  runs: RunRegistry;
  log: Logger;
  /** The job's lock token: needed to move the job to delayed without losing the lock check. */
  token: string | undefined;
  signal: AbortSignal | undefined;
  now: () => number;
  settings: StepSettings;
}

export interface StepSettings {
  /**
   * How far before the recorded "about to send" time to search for an existing Send. SFMC's
   * SendDate clock and time zone are not documented for this use, so a margin is kept.
   */
  sendLookbackMs: number;
  /** How long after an unconfirmed Perform start to wait for SFMC to show the import. */
  startConfirmGraceMs: number;
  /** resolve-list Retrieves the Email before anything changes (SFMC_CHECK_EMAIL). */
  checkEmail: boolean;
}

export const DEFAULT_STEP_SETTINGS: StepSettings = {
  sendLookbackMs: 10 * 60_000,
  startConfirmGraceMs: 5 * 60_000,
  checkEmail: true,
};

export type StepProcessor<N extends QueueName> = (job: JobOf<N>, ctx: StepContext) => Promise<JobResults[N]>;
