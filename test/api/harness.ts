import { Writable } from 'node:stream';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { QUEUE_NAMES } from '../../queues/catalog.js';
import { buildApp, type App, type AppDeps } from '../../src/api/app.js';
import { ListSendClient } from '../../src/client.js';
import { loadConfig, requireSfmc } from '../../src/config.js';
import { createLogger, type Logger } from '../../src/logger.js';
import { createMetrics, observeSoapCall, observeStepEnd, observeWorkers, type Metrics } from '../../src/metrics.js';
import { createRedis } from '../../src/redis.js';
import { createSandbox, type Sandbox, type SandboxOptions } from '../../src/sandbox/index.js';
import { createSfmcClient } from '../../src/sfmc/client.js';
import { startWorkers, type WorkerPool } from '../../src/worker/start.js';
import { deletePrefix, testRedisUrl, uniquePrefix } from '../helpers/redis.js';

/** Tokens long enough for API_TOKENS' rule; the tests use the second to show any listed token works. */
export const TOKENS = ['test-token-0123456789abcdef', 'second-token-fedcba9876543210'] as const;
export const DASHBOARD = { user: 'operator', password: 'dashboard-password-123' };
export const AUTH = { authorization: `Bearer ${TOKENS[0]}` };

/** The steps of a run whose file is already in SFMC's Import folder (no upload step). */
export const RUN_STEPS = ['resolve-list', 'create-import', 'start-import', 'poll-import', 'send'] as const;

/** A run's steps without the optional ones it does not have. */
export function presentSteps<S extends { state: string }>(steps: S[]): S[] {
  return steps.filter((s) => s.state !== 'missing');
}

export interface LogCapture {
  logger: Logger;
  lines: () => Record<string, unknown>[];
}

export function captureLogs(level = 'info'): LogCapture {
  const raw: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      raw.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  return { logger: createLogger({ level, stream }), lines: () => raw.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

export interface ApiHarness {
  app: App;
  producer: ListSendClient;
  redis: Redis;
  queues: Queue[];
  metrics: Metrics;
  prefix: string;
  logs: LogCapture;
  close(): Promise<void>;
}

export interface ApiHarnessOptions {
  label: string;
  /** Default: the test Redis. A closed port shows the fail-fast path. */
  redisUrl?: string;
  /** Reuse a prefix (the pipeline harness shares its workers' prefix). */
  prefix?: string;
  deps?: Partial<Pick<AppDeps, 'tokens' | 'insecure' | 'dashboard' | 'rateLimitPerMinute' | 'loginFailuresPerMinute' | 'metricsToken' | 'secrets'>>;
  metrics?: Metrics;
  /** The producer checks `file.path` against this UPLOAD_DIR, as `list-send serve` does. */
  uploadDir?: string;
}

/** The API on a private prefix of the test Redis, wired as `list-send serve` wires it, without listening. */
export function startApi(options: ApiHarnessOptions): ApiHarness {
  const redisUrl = options.redisUrl ?? testRedisUrl();
  const prefix = options.prefix ?? uniquePrefix(options.label);
  const redis = createRedis(redisUrl, 'producer');
  const producer = new ListSendClient({
    redisUrl,
    prefix,
    steps: { attempts: 3, backoffMs: 20 },
    connection: redis,
    ...(options.uploadDir !== undefined ? { upload: { dir: options.uploadDir } } : {}),
  });
  const queues = QUEUE_NAMES.map((name) => new Queue(name, { connection: redis, prefix }));
  for (const q of queues) q.on('error', () => {});
  const logs = captureLogs();
  const metrics = options.metrics ?? createMetrics(new Registry(), { queues, processMetrics: false, connected: () => redis.status === 'ready' });
  const app = buildApp({
    producer,
    redis,
    queues,
    logger: logs.logger,
    metrics,
    tokens: [...TOKENS],
    dashboard: DASHBOARD,
    prefix,
    ...options.deps,
  });
  return {
    app,
    producer,
    redis,
    queues,
    metrics,
    prefix,
    logs,
    async close() {
      await app.close();
      await producer.close();
      await Promise.all(queues.map((q) => q.close()));
      redis.disconnect();
      if (!options.redisUrl && !options.prefix) await deletePrefix(prefix);
    },
  };
}

export interface PipelineHarness extends ApiHarness {
  sandbox: Sandbox;
  pool: WorkerPool;
}

/**
 * The API plus a sandbox and the five workers, all reporting to one metrics registry, as if the
 * API and a worker ran in one process: one /metrics shows every metric after a run.
 */
export async function startApiWithPipeline(options: { label: string; sandbox?: SandboxOptions }): Promise<PipelineHarness> {
  const sandbox = await createSandbox({ ...options.sandbox, import: { registerDelayMs: 40, durationMs: 250, ...options.sandbox?.import } });
  const prefix = uniquePrefix(options.label);
  const config = loadConfig(
    {
      REDIS_URL: testRedisUrl(),
      QUEUE_PREFIX: prefix,
      SFMC_TIMEOUT_MS: '5000',
      SFMC_AUTH_URL: sandbox.url,
      SFMC_SOAP_URL: sandbox.soapUrl,
      SFMC_CLIENT_ID: sandbox.credentials.clientId,
      SFMC_CLIENT_SECRET: sandbox.credentials.clientSecret,
      SFMC_ACCOUNT_ID: sandbox.credentials.accountId,
    },
    { requireSfmc: true },
  );
  const api = startApi({ label: options.label, prefix });
  const metrics = api.metrics;
  const workerLogs = captureLogs('warn');
  const sfmc = createSfmcClient({ config: requireSfmc(config), logger: workerLogs.logger, onCall: observeSoapCall(metrics) });
  const connection = new Redis(testRedisUrl(), { maxRetriesPerRequest: null });
  const pool = await startWorkers({
    connection,
    prefix,
    sfmc,
    logger: workerLogs.logger,
    concurrency: 5,
    throttlePauseMs: 50,
    settings: { startConfirmGraceMs: 200 },
    onStepEnd: observeStepEnd(metrics),
  });
  observeWorkers(metrics, pool);
  return {
    ...api,
    sandbox,
    pool,
    async close() {
      await api.close();
      await pool.close();
      await sfmc.close();
      connection.disconnect();
      await sandbox.close();
      await deletePrefix(prefix);
    },
  };
}
