import { UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Logger } from 'pino';
import { fireSchedule } from '../../processors/fire-schedule.js';
import { watchFolder } from '../../processors/watch-folder.js';
import { SCHEDULES_QUEUE, TRIGGERS_QUEUE, type FolderSource, type ScheduleJob, type TriggerJob } from '../../queues/automation.js';
import { ListSendClient, RunConflictError } from '../client.js';
import { accountNamesOf, accountPrefix, DEFAULT_ACCOUNT, type Config } from '../config.js';
import { isRunError, RunError } from '../errors.js';
import type { RedisLike } from '../redis.js';
import { RequestValidationError } from '../request.js';
import { isSftpError, SftpError } from '../upload/errors.js';
import type { RemoteFileInfo, SftpUploader } from '../upload/sftp.js';
import { listLocalFolder } from '../automation/local-folder.js';
import { AutomationState } from '../automation/state.js';

export interface AutomationWorkersOptions {
  /** A worker-role connection (maxRetriesPerRequest: null), the step workers' own. */
  connection: RedisLike;
  /** QUEUE_PREFIX: the schedules and triggers queues and their state are account-wide, never sharded. */
  prefix: string;
  /** Enqueues runs, and reads them, in their shards: its runId claim is what makes a firing or a file one run. */
  client: ListSendClient;
  /**
   * Each account's Enhanced FTP uploader by account name (`default` for SFMC_SFTP_*): a trigger
   * lists its folder with the account its request names, sharing that account's upload connection
   * cap. An account without one fails its sftp triggers clearly.
   */
  uploaders?: Readonly<Record<string, SftpUploader | undefined>>;
  /** UPLOAD_DIR: local-dir triggers may watch only folders inside it. */
  uploadDir?: string;
  logger: Logger;
  now?: () => number;
  onSkip?: (schedule: string) => void;
}

export interface AutomationWorkers {
  schedules: Worker;
  triggers: Worker;
  close(force?: boolean): Promise<void>;
}

/** A request or a runId that can never work is not retried; anything else is, with BullMQ's backoff. */
function failFast(err: unknown): never {
  if (err instanceof RequestValidationError || err instanceof RunConflictError || isRunError(err) || (isSftpError(err) && err.kind === 'fatal')) {
    throw new UnrecoverableError(`${(err as { code: string }).code}: ${err.message}`);
  }
  throw err;
}

/**
 * The `schedules` and `triggers` workers, started beside the step workers (src/worker/from-config.ts).
 * BullMQ gives each scheduler job to one worker, so with any number of processes a firing fires
 * once and a folder is listed once per tick.
 */
export async function startAutomationWorkers(options: AutomationWorkersOptions): Promise<AutomationWorkers> {
  const { connection, prefix, logger, client } = options;
  const state = new AutomationState(connection, prefix);
  const enqueue = (input: unknown) => client.enqueue(input);
  const list = async (source: FolderSource, account: string): Promise<RemoteFileInfo[]> => {
    if (source.kind === 'local') return listLocalFolder(source.dir, options.uploadDir);
    const uploader = options.uploaders?.[account];
    if (!uploader) {
      const variables = `${accountPrefix(account)}SFTP_*`;
      throw new SftpError('sftp-not-configured', `this worker has no ${variables} settings for account "${account}": it cannot list an Enhanced FTP folder`, 'fatal');
    }
    // SFMC imports a FileSpec from the Import folder (SFMC_SFTP_DIR): a file elsewhere could not be imported by name.
    if (source.dir.replace(/\/+$/, '') !== uploader.dir.replace(/\/+$/, '')) {
      throw new RunError('invalid-file', `the trigger watches ${source.dir}, but imports read files from the Import folder ${uploader.dir} (SFMC_SFTP_DIR)`);
    }
    return uploader.list(source.dir);
  };
  const schedules = new Worker(
    SCHEDULES_QUEUE,
    async (job: Job) => {
      const log = logger.child({ queue: SCHEDULES_QUEUE, jobId: job.id, schedule: (job as ScheduleJob).data.name });
      return fireSchedule(job as ScheduleJob, { enqueue, run: (id) => client.record(id), state, log, ...(options.onSkip ? { onSkip: options.onSkip } : {}) }).catch(failFast);
    },
    { connection, prefix, concurrency: 5 },
  );
  const triggers = new Worker(
    TRIGGERS_QUEUE,
    async (job: Job) => {
      const log = logger.child({ queue: TRIGGERS_QUEUE, jobId: job.id, trigger: (job as TriggerJob).data.name });
      const trigger = job as TriggerJob;
      // The trigger's account is its request's: the folder is listed on that account's Enhanced FTP.
      const account = typeof trigger.data.request.account === 'string' ? trigger.data.request.account : DEFAULT_ACCOUNT;
      const listOwn = (source: FolderSource) => list(source, account);
      return watchFolder(trigger, { list: listOwn, enqueue, state, log, now: options.now ?? Date.now }).catch(failFast);
    },
    // Each listing holds an SFTP connection: a few at once, within the uploader's own cap anyway.
    { connection, prefix, concurrency: 2 },
  );
  for (const [queue, worker] of [[SCHEDULES_QUEUE, schedules], [TRIGGERS_QUEUE, triggers]] as const) {
    worker.on('error', (err) => logger.error({ err, queue }, 'worker error'));
    worker.on('failed', (job, err) => logger.warn({ queue, jobId: job?.id, err: err.message }, 'automation job failed'));
  }
  await Promise.all([schedules.waitUntilReady(), triggers.waitUntilReady()]);
  return {
    schedules,
    triggers,
    async close(force = false) {
      await Promise.all([schedules.close(force), triggers.close(force)]);
    },
  };
}

/**
 * The schedules and triggers workers of `list-send worker`, on the step workers' connection and
 * SFTP uploader (so trigger listings count against the same connection cap). Runs are enqueued
 * with the producer's own checks (UPLOAD_DIR, the request schema).
 */
export async function startConfiguredAutomation(
  config: Config,
  connection: RedisLike,
  uploaders: Record<string, SftpUploader | undefined>,
  logger: Logger,
  onSkip?: (schedule: string) => void,
): Promise<AutomationWorkers & { client: ListSendClient }> {
  const client = new ListSendClient({
    redisUrl: config.redisUrl,
    ...(config.redisClusterNodes ? { clusterNodes: config.redisClusterNodes } : {}),
    prefix: config.queuePrefix,
    shards: config.queueShards,
    steps: config.steps,
    connection,
    upload: { dir: config.upload.dir },
    accounts: accountNamesOf(config),
  });
  const workers = await startAutomationWorkers({
    connection,
    prefix: config.queuePrefix,
    client,
    uploaders,
    ...(config.upload.dir ? { uploadDir: config.upload.dir } : {}),
    logger,
    ...(onSkip ? { onSkip } : {}),
  });
  return {
    ...workers,
    client,
    async close(force = false) {
      await workers.close(force);
      await client.close();
    },
  };
}
