import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import { AUTOMATION_QUEUES } from '../../queues/automation.js';
import { QUEUE_NAMES } from '../../queues/catalog.js';
import { buildApp, type App } from '../api/app.js';
import { ListSendClient } from '../client.js';
import { accountNamesOf, ConfigError, isLoopbackHost, type Config } from '../config.js';
import { createMetrics } from '../metrics.js';
import { projectRoot } from '../paths.js';
import { createRedisConnection, redisTargetOf } from '../redis.js';
import { shardPrefixes } from '../shards.js';

export interface ServeOptions {
  /** Default: API_PORT (3000). */
  port?: number;
  /** Default: API_HOST (127.0.0.1). */
  host?: string;
  /** Serve /v1 without tokens; accepted only on a loopback host. */
  insecure?: boolean;
}

export interface RunningServer {
  app: App;
  /** http://host:port, with the port actually bound (port 0 picks a free one). */
  url: string;
  close(): Promise<void>;
}

function packageVersion(): string | undefined {
  try {
    return (JSON.parse(readFileSync(join(projectRoot(), 'package.json'), 'utf8')) as { version?: string }).version;
  } catch {
    return undefined;
  }
}

/** Every secret value the configuration holds: the dashboard replaces them wherever they appear. */
export function configuredSecrets(config: Config): string[] {
  // Every account's secrets: the default SFMC_* one and each of SFMC_ACCOUNTS.
  const accounts = [{ sfmc: config.sfmc, sftp: config.sftp }, ...Object.values(config.accounts)];
  return [
    ...config.api.tokens,
    config.api.dashboard?.password,
    config.api.metricsToken,
    ...accounts.flatMap(({ sfmc, sftp }) => {
      const auth = sfmc?.auth;
      const login = sftp?.auth;
      return [auth?.mode === 'oauth2' ? auth.clientSecret : auth?.password, login && 'password' in login ? login.password : login?.passphrase];
    }),
  ].filter((s): s is string => Boolean(s));
}

/** Refuses an API anyone on the network could call. */
export function checkServeAuth(config: Config, host: string, insecure: boolean): void {
  if (config.api.tokens.length > 0) return;
  if (!insecure) {
    throw new ConfigError(['API_TOKENS: required to serve the API (or pass --insecure to serve it without tokens on a loopback host)']);
  }
  if (!isLoopbackHost(host)) {
    throw new ConfigError([`--insecure: accepted only on a loopback host, not ${host}; set API_TOKENS to listen there`]);
  }
}

/** Builds the producer, the queues and the app on one fail-fast connection, and listens. */
export async function startServer(config: Config, logger: Logger, options: ServeOptions = {}): Promise<RunningServer> {
  const host = options.host ?? config.api.host;
  const port = options.port ?? config.api.port;
  checkServeAuth(config, host, Boolean(options.insecure));
  if (config.api.tokens.length === 0) logger.warn({ host }, 'serving /v1 WITHOUT authentication (--insecure, loopback only)');

  // One fail-fast producer connection (REDIS_CLUSTER_NODES makes it a cluster client) for the
  // producer, the dashboard's queues and the readiness probe.
  const target = redisTargetOf(config);
  const redis = createRedisConnection(target, 'producer');
  const producer = new ListSendClient({
    redisUrl: target.url,
    ...(target.clusterNodes ? { clusterNodes: target.clusterNodes } : {}),
    prefix: config.queuePrefix,
    shards: config.queueShards,
    steps: config.steps,
    connection: redis,
    upload: { dir: config.upload.dir },
    accounts: accountNamesOf(config),
  });
  // Every shard's step queues, then the account-wide schedules and triggers queues (issue #13): on the dashboard and in queue depth metrics.
  const queues = [
    ...shardPrefixes(config.queuePrefix, config.queueShards).flatMap((prefix) => QUEUE_NAMES.map((name) => new Queue(name, { connection: redis, prefix }))),
    ...AUTOMATION_QUEUES.map((name) => new Queue(name, { connection: redis, prefix: config.queuePrefix })),
  ];
  for (const queue of queues) queue.on('error', (err) => logger.debug({ err, queue: queue.name }, 'queue connection error'));
  // One line per change of Redis availability, not one per reconnect attempt.
  let reachable: boolean | undefined;
  redis.on('ready', () => {
    if (reachable !== true) logger.info('Redis is reachable');
    reachable = true;
  });
  redis.on('error', (err: Error) => {
    if (reachable !== false) logger.warn({ err }, 'Redis is unreachable: /v1 answers 503 until it is back');
    reachable = false;
  });
  const metrics = createMetrics(new Registry(), { queues, logger, connected: () => redis.status === 'ready', accounts: accountNamesOf(config) });
  const version = packageVersion();
  const app = buildApp({
    producer,
    redis,
    queues,
    logger,
    metrics,
    tokens: config.api.tokens,
    insecure: Boolean(options.insecure),
    ...(config.api.dashboard ? { dashboard: config.api.dashboard } : {}),
    ...(version ? { version } : {}),
    prefix: config.queuePrefix,
    queueShards: config.queueShards,
    rateLimitPerMinute: config.api.rateLimitPerMinute,
    loginFailuresPerMinute: config.api.loginFailuresPerMinute,
    ...(config.api.metricsToken ? { metricsToken: config.api.metricsToken } : {}),
    secrets: configuredSecrets(config),
  });
  const release = async () => {
    await producer.close();
    await Promise.all(queues.map((q) => q.close()));
    redis.disconnect();
  };
  try {
    await app.listen({ port, host });
  } catch (err) {
    await app.close();
    await release();
    throw err;
  }
  const address = app.server.address();
  const bound = typeof address === 'object' && address ? address.port : port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${bound}`;
  logger.info({ url, dashboard: config.api.dashboard ? `${url}/ui` : undefined, prefix: config.queuePrefix }, 'API listening');
  return {
    app,
    url,
    async close() {
      // Stops accepting connections and waits for the requests in flight.
      await app.close();
      await release();
    },
  };
}

/** `list-send serve`: the HTTP API and dashboard until SIGTERM or SIGINT. */
export async function serveCommand(config: Config, logger: Logger, options: ServeOptions = {}): Promise<void> {
  const server = await startServer(config, logger, options);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping: finishing requests in flight');
    try {
      await server.close();
      logger.info('stopped');
      process.exit(0);
    } catch (err) {
      logger.error({ err }, 'unclean stop');
      process.exit(1);
    }
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}
