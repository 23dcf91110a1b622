import type { Logger } from 'pino';
import { QUEUE_NAMES } from '../../queues/catalog.js';
import { abortsOnStop } from '../../queues/steps.js';
import { DEFAULT_ACCOUNT, requireAccounts, requireSfmc, type Config, type SfmcConfig, type SftpConfig } from '../config.js';
import { observeScheduleSkips, observeSoapCall, observeStepEnd, observeWorkers, type Metrics } from '../metrics.js';
import { createRedisConnection, redisTargetOf, type RedisLike } from '../redis.js';
import { budgetAccountOf, RedisCallBudget } from '../sfmc/budget.js';
import { createSfmcClient, type SfmcClient } from '../sfmc/client.js';
import { sharedTokenStore } from '../sfmc/token-store-redis.js';
import { SftpUploader } from '../upload/sftp.js';
import { startConfiguredAutomation } from './automation.js';
import { startWorkers, type WorkerAccount, type WorkerPool } from './start.js';

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
interface ConfiguredAccount extends WorkerAccount {
  sfmc: SfmcClient;
  budget: RedisCallBudget;
}

/**
 * One account's clients: its SOAP client with its own OAuth2 token (the shared Redis token store
 * keeps each account under its own name and cache key), its call budget (keyed by its auth URL and
 * MID, budget.ts), and its SFTP uploader with its own connection cap.
 */
function accountClients(
  name: string,
  account: { sfmc: SfmcConfig; sftp?: SftpConfig | undefined },
  config: Config,
  connection: RedisLike,
  logger: Logger,
  metrics: Metrics | undefined,
): ConfiguredAccount {
  const log = name === DEFAULT_ACCOUNT ? logger : logger.child({ account: name });
  // The default account keeps its token key of before; a named one is kept apart by its name too.
  const tokenPrefix = name === DEFAULT_ACCOUNT ? config.queuePrefix : `${config.queuePrefix}:account:${name}`;
  const tokenStore = sharedTokenStore(account.sfmc.auth, connection, tokenPrefix);
  // One budget per account, in Redis beside the queues: every worker process takes from the same one.
  const budget = new RedisCallBudget({
    redis: connection,
    prefix: config.queuePrefix,
    account: budgetAccountOf(account.sfmc),
    limit: config.budget.callsPerMinute,
  });
  const sfmc = createSfmcClient({
    config: account.sfmc,
    logger: log,
    budget,
    ...(metrics ? { onCall: observeSoapCall(metrics, name) } : {}),
    ...(tokenStore ? { tokenStore } : {}),
  });
  const uploader = account.sftp ? new SftpUploader(account.sftp, log, config.upload) : undefined;
  return { sfmc, budget, ...(uploader ? { uploader } : {}) };
}

export async function startConfiguredWorkers(
  config: Config,
  logger: Logger,
  options: { concurrency: number; metrics?: Metrics },
): Promise<ConfiguredWorkers> {
  const { metrics } = options;
  const named = requireAccounts(config);
  const connection = createRedisConnection(redisTargetOf(config), 'worker');
  const { sfmc, budget, uploader } = accountClients(DEFAULT_ACCOUNT, { sfmc: requireSfmc(config), sftp: config.sftp }, config, connection, logger, metrics);
  const accounts = Object.fromEntries(
    Object.entries(named).map(([name, account]) => [name, accountClients(name, account, config, connection, logger, metrics)]),
  );
  const closeClients = async () => {
    await Promise.all([sfmc, ...Object.values(accounts).map((a) => a.sfmc)].map((client) => client.close()));
    connection.disconnect();
  };
  const pool = await startWorkers({
    connection,
    prefix: config.queuePrefix,
    shards: config.queueShards,
    sfmc,
    ...(uploader ? { uploader } : {}),
    logger,
    concurrency: options.concurrency,
    ...(metrics ? { onStepEnd: observeStepEnd(metrics) } : {}),
    ...(config.worker.lockDurationMs ? { lockDurationMs: config.worker.lockDurationMs } : {}),
    ...(config.worker.stalledIntervalMs ? { stalledIntervalMs: config.worker.stalledIntervalMs } : {}),
    budget,
    accounts,
    throttlePauseMs: config.budget.throttlePauseMs,
    settings: { startConfirmGraceMs: config.startConfirmGraceMs, ...(config.checkEmail === false ? { checkEmail: false } : {}) },
  }).catch(async (err: unknown) => {
    // Refused (another QUEUE_SHARDS has unfinished runs: src/queue-layout.ts) or Redis failed: nothing
    // may keep the process alive, so `list-send worker` exits with the error.
    await closeClients();
    throw err;
  });
  if (metrics) observeWorkers(metrics, pool);
  // Schedules and file-drop triggers (issue #13): their own queues, not steps of a run.
  const uploaders = { [DEFAULT_ACCOUNT]: uploader, ...Object.fromEntries(Object.entries(accounts).map(([name, a]) => [name, a.uploader])) };
  const automation = await startConfiguredAutomation(config, connection, uploaders, logger, metrics ? observeScheduleSkips(metrics) : undefined);
  if ((config.sftp || Object.values(config.accounts).some((a) => a.sftp)) && !config.upload.dir) {
    logger.warn('UPLOAD_DIR is not set: every run with a file fails (set it to the folder runs may upload from)');
  }
  return {
    pool,
    async close(force = false) {
      // An upload (a step holding an SFTP connection) can wait on a stalled SFTP server for a long time: it is aborted, not waited for,
      // and its job retried later from the start. Other steps are short and are waited for.
      for (const step of QUEUE_NAMES) {
        if (!abortsOnStop(step)) continue;
        for (const workers of pool.byShard) workers[step].cancelAllJobs('the worker is stopping');
      }
      await automation.close(force);
      await pool.close(force);
      await closeClients();
    },
  };
}
