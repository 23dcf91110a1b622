import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { requireSfmc } from '../config.js';
import { observeSoapCall, observeStepEnd, observeWorkers, type Metrics } from '../metrics.js';
import { createRedisConnection, redisTargetOf } from '../redis.js';
import { createSfmcClient } from '../sfmc/client.js';
import { sharedTokenStore } from '../sfmc/token-store-redis.js';
import { SftpUploader } from '../upload/sftp.js';
import { startWorkers, type WorkerPool } from './start.js';

export interface ConfiguredWorkers {
  pool: WorkerPool;
  /** Stops the workers (see WorkerPool.close), then the SOAP client and the Redis connection. */
  close(force?: boolean): Promise<void>;
}

/**
 * Every step's worker as a configuration describes it: the Redis (or Redis Cluster) connection, one
 * OAuth2 token shared by every worker process of the account (stored encrypted in Redis), the SFTP
 * uploader when SFMC_SFTP_* is set (without it, runs with a `file` fail clearly in upload-file),
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
  const sfmc = createSfmcClient({
    config: sfmcConfig,
    logger,
    ...(metrics ? { onCall: observeSoapCall(metrics) } : {}),
    ...(tokenStore ? { tokenStore } : {}),
  });
  const pool = await startWorkers({
    connection,
    prefix: config.queuePrefix,
    sfmc,
    ...(config.sftp ? { uploader: new SftpUploader(config.sftp, logger) } : {}),
    logger,
    concurrency: options.concurrency,
    ...(metrics ? { onStepEnd: observeStepEnd(metrics) } : {}),
    ...(config.worker.lockDurationMs ? { lockDurationMs: config.worker.lockDurationMs } : {}),
    ...(config.worker.stalledIntervalMs ? { stalledIntervalMs: config.worker.stalledIntervalMs } : {}),
    ...(config.worker.jobsPerMinutePerQueue ? { jobsPerMinutePerQueue: config.worker.jobsPerMinutePerQueue } : {}),
    ...(config.checkEmail === false ? { settings: { checkEmail: false } } : {}),
  });
  if (metrics) observeWorkers(metrics, pool);
  return {
    pool,
    async close(force = false) {
      await pool.close(force);
      await sfmc.close();
      connection.disconnect();
    },
  };
}
