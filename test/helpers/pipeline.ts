import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { ListSendClient } from '../../src/client.js';
import { loadConfig, requireSfmc } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { createSandbox } from '../../src/sandbox/index.js';
import type { Sandbox, SandboxOptions } from '../../src/sandbox/index.js';
import { createSfmcClient } from '../../src/sfmc/client.js';
import { startWorkers, type WorkerPool, type WorkerPoolOptions } from '../../src/worker/start.js';
import { deletePrefix, testRedisUrl, uniquePrefix } from './redis.js';

export { seedRequest } from './requests.js';

export type AuthMode = 'oauth2' | 'oauth2-soap-from-token' | 'wsse';

export interface PipelineOptions {
  label: string;
  auth?: AuthMode;
  sandbox?: SandboxOptions;
  concurrency?: number;
  attempts?: number;
  settings?: WorkerPoolOptions['settings'];
  throttlePauseMs?: number;
}

export interface Pipeline {
  sandbox: Sandbox;
  producer: ListSendClient;
  pool: WorkerPool;
  prefix: string;
  logLines: () => Record<string, unknown>[];
  close(): Promise<void>;
}

function sfmcEnv(sandbox: Sandbox, auth: AuthMode): Record<string, string> {
  const c = sandbox.credentials;
  if (auth === 'wsse') return { SFMC_SOAP_URL: sandbox.soapUrl, SFMC_USERNAME: c.username, SFMC_PASSWORD: c.password };
  const oauth = { SFMC_AUTH_URL: sandbox.url, SFMC_CLIENT_ID: c.clientId, SFMC_CLIENT_SECRET: c.clientSecret, SFMC_ACCOUNT_ID: c.accountId };
  return auth === 'oauth2' ? { ...oauth, SFMC_SOAP_URL: sandbox.soapUrl } : oauth;
}

/** A sandbox, the five workers and a producer on a private prefix of the test Redis. */
export async function startPipeline(options: PipelineOptions): Promise<Pipeline> {
  const sandbox = await createSandbox({ ...options.sandbox, import: { registerDelayMs: 40, durationMs: 250, ...options.sandbox?.import } });
  const prefix = uniquePrefix(options.label);
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  const config = loadConfig(
    { REDIS_URL: testRedisUrl(), QUEUE_PREFIX: prefix, SFMC_TIMEOUT_MS: '5000', ...sfmcEnv(sandbox, options.auth ?? 'oauth2') },
    { requireSfmc: true },
  );
  const logger = createLogger({ level: 'debug', stream });
  const sfmc = createSfmcClient({ config: requireSfmc(config), logger });
  const connection = new Redis(testRedisUrl(), { maxRetriesPerRequest: null });
  const steps = { attempts: options.attempts ?? 5, backoffMs: 20 };
  const pool = await startWorkers({
    connection,
    prefix,
    sfmc,
    logger,
    concurrency: options.concurrency ?? 5,
    throttlePauseMs: options.throttlePauseMs ?? 50,
    settings: { startConfirmGraceMs: 200, ...options.settings },
  });
  const producer = new ListSendClient({ redisUrl: testRedisUrl(), prefix, steps });
  return {
    sandbox,
    producer,
    pool,
    prefix,
    logLines: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>),
    async close() {
      await producer.close();
      await pool.close();
      await sfmc.close();
      connection.disconnect();
      await sandbox.close();
      await deletePrefix(prefix);
    },
  };
}
