import type { Queue } from 'bullmq';
import Fastify, { type FastifyRequest } from 'fastify';
import type { Cluster, Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { ListSendClient } from '../client.js';
import type { Metrics } from '../metrics.js';
import { dashboard } from './dashboard.js';
import { apiErrorHandler } from './http-errors.js';
import { API_BODY_LIMIT_BYTES } from './limits.js';
import { probes } from './probes.js';
import { redactUrl } from './redact.js';
import { apiError } from './schemas.js';
import { runsPage } from './runs-page/index.js';
import { v1Api } from './v1.js';

/**
 * The producer HTTP API and the operators' dashboard, built without listening so tests can
 * `inject()`: the error and not-found handlers, then three plugins (the open probes, /v1 in
 * src/api/v1.ts, the dashboard at /ui). It owns nothing it is given: whoever built the producer, queues and connection
 * closes them (src/cli/serve.ts).
 */

export { connectionUsable } from './connection.js';
export { UI_PATH } from './dashboard.js';
export { LIST_SCAN_LIMIT } from './routes/list-sends.js';

export interface AppDeps {
  producer: ListSendClient;
  /** The producer's fail-fast connection (standalone or cluster): /readyz pings it, and /v1 answers 503 at once while it is down. */
  redis: Redis | Cluster;
  /** Every shard's step queues and the automation queues, on the producer's connection: Bull Board and queue depths. */
  queues: Queue[];
  logger: Logger;
  metrics: Metrics;
  /** Bearer tokens for /v1. Empty only with `insecure` (serve --insecure on loopback). */
  tokens: readonly string[];
  insecure?: boolean;
  /** Basic-auth credentials for Bull Board at /ui; without them /ui is not served. */
  dashboard?: { user: string; password: string };
  version?: string;
  /** QUEUE_PREFIX: the /v1 rate-limit counters live under it (account-wide, never sharded). */
  prefix: string;
  /** QUEUE_SHARDS (default 1): Bull Board names each shard's queues, and the runs page links to them. */
  queueShards?: number;
  /** Requests per minute per bearer token on /v1 (API_RATE_LIMIT_PER_MINUTE, default 120). */
  rateLimitPerMinute?: number;
  /** Failed dashboard logins per minute per client IP (DASHBOARD_LOGIN_FAILURES_PER_MINUTE, default 10). */
  loginFailuresPerMinute?: number;
  /** When set, /metrics requires `Authorization: Bearer <metricsToken>`. */
  metricsToken?: string;
  /** Secret values the dashboard must never show (tokens, passwords), besides credential-shaped text. */
  secrets?: readonly string[];
}

/** Request lines name the path and query, with `?access_token=`-style values replaced. */
const requestSerializer = (request: FastifyRequest) => ({
  method: request.method,
  url: redactUrl(request.url),
  host: request.host,
  remoteAddress: request.ip,
});

export function buildApp(deps: AppDeps) {
  if (deps.tokens.length === 0 && !deps.insecure) {
    throw new Error('the API needs at least one bearer token (API_TOKENS), or insecure mode on loopback');
  }
  const app = Fastify({
    loggerInstance: deps.logger.child({ component: 'api' }, { serializers: { req: requestSerializer } }),
    bodyLimit: API_BODY_LIMIT_BYTES,
  });
  // JSON only: a text/plain body would otherwise reach validation as a string.
  app.removeContentTypeParser('text/plain');
  app.setErrorHandler(apiErrorHandler(deps.redis));
  // Fastify's own 404 quotes the URL in its answer and its log line; this one names the path only.
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send(apiError('not-found', `no route ${request.method} ${request.url.split('?')[0]}`)),
  );

  app.register(probes, {
    redis: deps.redis,
    metrics: deps.metrics,
    ...(deps.metricsToken ? { metricsToken: deps.metricsToken } : {}),
    ...(deps.version ? { version: deps.version } : {}),
  });

  app.register(v1Api, {
    prefix: '/v1',
    producer: deps.producer,
    metrics: deps.metrics,
    redis: deps.redis,
    tokens: deps.tokens,
    ...(deps.insecure ? { insecure: deps.insecure } : {}),
    queuePrefix: deps.prefix,
    rateLimitPerMinute: deps.rateLimitPerMinute ?? 120,
  });

  if (deps.dashboard) {
    const credentials = deps.dashboard;
    const shards = { prefix: deps.prefix, count: deps.queueShards ?? 1 };
    app.register(dashboard, {
      queues: deps.queues,
      shards,
      redis: deps.redis,
      credentials,
      loginFailuresPerMinute: deps.loginFailuresPerMinute ?? 10,
      secrets: [...deps.tokens, credentials.password, ...(deps.metricsToken ? [deps.metricsToken] : []), ...(deps.secrets ?? [])],
    });
    app.register(runsPage, { producer: deps.producer, shards, redis: deps.redis, credentials, loginFailuresPerMinute: deps.loginFailuresPerMinute ?? 10, secrets: [...deps.tokens, credentials.password, ...(deps.metricsToken ? [deps.metricsToken] : []), ...(deps.secrets ?? [])] });
  } else {
    app.log.warn('DASHBOARD_USER and DASHBOARD_PASSWORD are not set: Bull Board is not served at /ui');
  }

  return app;
}

export type App = ReturnType<typeof buildApp>;
