import type { Logger } from 'pino';
import { QUEUE_NAMES } from '../../queues/catalog.js';
import { concurrencyCapOf } from '../../queues/steps.js';
import type { Config } from '../config.js';
import { requireSfmc } from '../config.js';
import { observeSoapCall, observeStepEnd, observeWorkers, type Metrics } from '../metrics.js';
import { createRedisConnection, redisTargetOf } from '../redis.js';
import { budgetAccountOf, RedisCallBudget } from '../sfmc/budget.js';
import { createSfmcClient } from '../sfmc/client.js';
import { sharedTokenStore } from '../sfmc/token-store-redis.js';
import { SftpUploader } from '../upload/sftp.js';
import { startConfiguredAutomation } from './automation.js';
import { startWorkers, type WorkerPool } from './start.js';

export interface ConfiguredWorkers {
  pool: WorkerPool;
  /** Aborts active uploads, stops the workers (see WorkerPool.close), then the SOAP client and the Redis connection. */
  close(force?: boolean): Promise<void>;
}

/**
 * Every step's worker as a configuration describes it: the Redis (or Redis Cluster) connection, one
 * OAuth2 token shared by every worker process of the account (stored encrypted in Redis), the SFTP
 * uploader when SFMC_SFTP_* is set (without it, runs with a `file` fail clearly in upload-file),
 * one SOAP call budget per account shared the same way (SFMC_CALLS_PER_MINUTE, THROTTLE_PAUSE_MS),
 * and the worker settings. `list-send worker` and the demo both start their workers here.
 */
export async function startConfiguredWorkers(
  config: Config,
  logger: Logger,
  options: { concurrency: number; metrics?: Metrics },
): Promise<ConfiguredWorkers> {
  const { metrics } = options;
  const sfmcConfig = requireSfmc(config);
  const connection = createRedisConnection(redisTargetOf(config), 'worker');
  const tokenStore = sharedTokenStore(sfmcConfig.auth, connection, config.queuePrefix);
  // One budget per account, in Redis beside the queues: every worker process takes from the same one.
  const budget = new RedisCallBudget({
    redis: connection,
    prefix: config.queuePrefix,
    account: budgetAccountOf(sfmcConfig),
    limit: config.budget.callsPerMinute,
  });
  const sfmc = createSfmcClient({
    config: sfmcConfig,
    logger,
    budget,
    ...(metrics ? { onCall: observeSoapCall(metrics) } : {}),
    ...(tokenStore ? { tokenStore } : {}),
  });
  const uploader = config.sftp ? new SftpUploader(config.sftp, logger, config.upload) : undefined;
  const pool = await startWorkers({
    connection,
    prefix: config.queuePrefix,
    sfmc,
    ...(uploader ? { uploader } : {}),
    logger,
    concurrency: options.concurrency,
    ...(metrics ? { onStepEnd: observeStepEnd(metrics) } : {}),
    ...(config.worker.lockDurationMs ? { lockDurationMs: config.worker.lockDurationMs } : {}),
    ...(config.worker.stalledIntervalMs ? { stalledIntervalMs: config.worker.stalledIntervalMs } : {}),
    budget,
    throttlePauseMs: config.budget.throttlePauseMs,
    settings: { startConfirmGraceMs: config.startConfirmGraceMs, ...(config.checkEmail === false ? { checkEmail: false } : {}) },
  });
  if (metrics) observeWorkers(metrics, pool);
  // Schedules and file-drop triggers (issue #13): their own queues, not steps of a run.
  const automation = await startConfiguredAutomation(config, connection, uploader, logger);
  if (config.sftp && !config.upload.dir) {
    logger.warn('UPLOAD_DIR is not set: every run with a file fails (set it to the folder runs may upload from)');
  }
  return {
    pool,
    async close(force = false) {
      // An upload (a step holding an SFTP connection) can wait on a stalled SFTP server for a long time: it is aborted, not waited for,
      // and its job retried later from the start. Other steps are short and are waited for.
      for (const step of QUEUE_NAMES) {
        if (concurrencyCapOf(step) === 'sftp-connections') pool.workers[step].cancelAllJobs('the worker is stopping');
      }
      await automation.close(force);
      await pool.close(force);
      await sfmc.close();
      connection.disconnect();
    },
  };
}
