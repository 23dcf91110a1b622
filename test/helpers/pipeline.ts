import { realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { Writable } from 'node:stream';
import { ListSendClient } from '../../src/client.js';
import { loadConfig, requireSfmc } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { createRedisConnection, redisTargetOf } from '../../src/redis.js';
import { createSandbox } from '../../src/sandbox/index.js';
import type { Sandbox, SandboxOptions } from '../../src/sandbox/index.js';
import type { TokenStore } from '../../src/sfmc/auth.js';
import { budgetAccountOf, RedisCallBudget } from '../../src/sfmc/budget.js';
import { createSfmcClient } from '../../src/sfmc/client.js';
import { shardPrefixes } from '../../src/shards.js';
import { SftpUploader } from '../../src/upload/sftp.js';
import { startWorkers, type WorkerPool, type WorkerPoolOptions } from '../../src/worker/start.js';
import { deletePrefix, testRedisUrl, uniquePrefix } from './redis.js';

export { seedRequest } from './requests.js';

/** The least poll delay the test producers accept (see ListSendClientOptions.pollFloorMs). */
export const TEST_POLL_FLOOR_MS = 10;

export type AuthMode = 'oauth2' | 'oauth2-soap-from-token' | 'wsse';

export interface PipelineOptions {
  label: string;
  auth?: AuthMode;
  sandbox?: SandboxOptions;
  concurrency?: number;
  attempts?: number;
  settings?: WorkerPoolOptions['settings'];
  throttlePauseMs?: number;
  /** Extra or overriding environment for loadConfig, e.g. { SFMC_TIMEOUT_MS: '800' } or a wrong secret. */
  env?: Record<string, string>;
  /** Default debug; trace also logs every (redacted) envelope. */
  logLevel?: string;
  /** The SOAP client's token store for this prefix (default: its in-memory store). */
  tokenStore?: (prefix: string) => TokenStore;
  /** The account's SOAP call budget in Redis, as production has it; default none. */
  budget?: { calls: number; windowMs: number; pollShare?: number };
  /**
   * QUEUE_PREFIX; default a unique one on the test Redis, whose keys are deleted at close. A test
   * on a Redis Cluster of its own (env REDIS_CLUSTER_NODES) may name it: nothing is deleted there.
   */
  prefix?: string;
}

export interface Pipeline {
  sandbox: Sandbox;
  producer: ListSendClient;
  pool: WorkerPool;
  prefix: string;
  budget?: RedisCallBudget;
  logLines: () => Record<string, unknown>[];
  close(): Promise<void>;
}

function sfmcEnv(sandbox: Sandbox, auth: AuthMode): Record<string, string> {
  const c = sandbox.credentials;
  if (auth === 'wsse') return { SFMC_SOAP_URL: sandbox.soapUrl, SFMC_USERNAME: c.username, SFMC_PASSWORD: c.password };
  const oauth = { SFMC_AUTH_URL: sandbox.url, SFMC_CLIENT_ID: c.clientId, SFMC_CLIENT_SECRET: c.clientSecret, SFMC_ACCOUNT_ID: c.accountId };
  return auth === 'oauth2' ? { ...oauth, SFMC_SOAP_URL: sandbox.soapUrl } : oauth;
}

/** The sandbox's SFTP server, host key pinned; `env` can override any of it (a wrong password). */
function sftpEnv(sandbox: Sandbox): Record<string, string> {
  return {
    SFMC_SFTP_HOST: sandbox.sftp.host,
    SFMC_SFTP_PORT: String(sandbox.sftp.port),
    SFMC_SFTP_USERNAME: sandbox.credentials.username,
    SFMC_SFTP_PASSWORD: sandbox.credentials.password,
    SFMC_SFTP_HOST_FINGERPRINT: sandbox.sftp.fingerprint,
  };
}

/** A sandbox, the workers and a producer on a private prefix of the test Redis. */
export async function startPipeline(options: PipelineOptions): Promise<Pipeline> {
  const sandbox = await createSandbox({ ...options.sandbox, import: { registerDelayMs: 40, durationMs: 250, ...options.sandbox?.import } });
  const prefix = options.prefix ?? uniquePrefix(options.label);
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  const config = loadConfig(
    // Test files live in folders under the temporary folder: that is the workers' UPLOAD_DIR.
    { REDIS_URL: testRedisUrl(), QUEUE_PREFIX: prefix, SFMC_TIMEOUT_MS: '5000', UPLOAD_DIR: realpathSync(tmpdir()), ...sfmcEnv(sandbox, options.auth ?? 'oauth2'), ...sftpEnv(sandbox), ...options.env },
    { requireSfmc: true },
  );
  const logger = createLogger({ level: options.logLevel ?? 'debug', stream });
  // The test Redis, or the cluster REDIS_CLUSTER_NODES names; QUEUE_SHARDS as the env says (default 1).
  const connection = createRedisConnection(redisTargetOf(config), 'worker');
  const budget = options.budget
    ? new RedisCallBudget({
        redis: connection,
        prefix,
        account: budgetAccountOf(requireSfmc(config)),
        limit: options.budget.calls,
        windowMs: options.budget.windowMs,
        ...(options.budget.pollShare ? { pollShare: options.budget.pollShare } : {}),
      })
    : undefined;
  const sfmc = createSfmcClient({
    config: requireSfmc(config),
    logger,
    ...(options.tokenStore ? { tokenStore: options.tokenStore(prefix) } : {}),
    ...(budget ? { budget } : {}),
  });
  const steps = { attempts: options.attempts ?? 5, backoffMs: 20 };
  const pool = await startWorkers({
    connection,
    prefix,
    shards: config.queueShards,
    sfmc,
    ...(config.sftp ? { uploader: new SftpUploader(config.sftp, logger, config.upload) } : {}),
    logger,
    concurrency: options.concurrency ?? 5,
    throttlePauseMs: options.throttlePauseMs ?? 50,
    ...(budget ? { budget } : {}),
    settings: { startConfirmGraceMs: 200, ...options.settings },
  });
  // Tests of polling itself ask for faster polls than a real request may: the floor's own tests
  // are in test/request-limits.test.ts.
  const producer = new ListSendClient({
    redisUrl: config.redisUrl,
    ...(config.redisClusterNodes ? { clusterNodes: config.redisClusterNodes } : {}),
    prefix,
    shards: config.queueShards,
    steps,
    pollFloorMs: TEST_POLL_FLOOR_MS,
  });
  return {
    sandbox,
    producer,
    pool,
    prefix,
    ...(budget ? { budget } : {}),
    logLines: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>),
    async close() {
      await producer.close();
      await pool.close();
      await sfmc.close();
      connection.disconnect();
      await sandbox.close();
      if (!config.redisClusterNodes) for (const p of new Set([prefix, ...shardPrefixes(prefix, config.queueShards)])) await deletePrefix(p);
    },
  };
}
