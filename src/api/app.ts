import type { Queue } from 'bullmq';
import Fastify, { type FastifyError, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Cluster, Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { z } from 'zod';
import { RedisUnavailableError, RunConflictError, type ListSendClient } from '../client.js';
import type { Metrics } from '../metrics.js';
import { RequestValidationError } from '../request.js';
import { bearerChecker } from './auth.js';
import { connectionUsable } from './connection.js';
import { registerAutomationRoutes } from './automation-routes.js';
import { registerDashboard } from './dashboard.js';
import { API_BODY_LIMIT_BYTES, RateLimitedError, registerApiRateLimit } from './limits.js';
import { buildOpenApi } from './openapi.js';
import { redactUrl } from './redact.js';
import {
  listQuerySchema,
  runIdParamsSchema,
  statusUrl,
  toRunStatusBody,
  toRunSummaryBody,
  type RunSummaryBody,
} from './schemas.js';

/**
 * The producer HTTP API and the operators' dashboard, built without listening so tests can
 * `inject()`. It owns nothing it is given: whoever built the producer, queues and connection
 * closes them (src/cli/serve.ts).
 */

export { connectionUsable } from './connection.js';
export { UI_PATH } from './dashboard.js';

/** With a state filter, the most recent runs searched for matches. */
export const LIST_SCAN_LIMIT = 1_000;

export interface AppDeps {
  producer: ListSendClient;
  /** The producer's fail-fast connection (standalone or cluster): /readyz pings it, and /v1 answers 503 at once while it is down. */
  redis: Redis | Cluster;
  /** The five queues on the producer's connection and prefix: Bull Board and queue depths. */
  queues: Queue[];
  logger: Logger;
  metrics: Metrics;
  /** Bearer tokens for /v1. Empty only with `insecure` (serve --insecure on loopback). */
  tokens: readonly string[];
  insecure?: boolean;
  /** Basic-auth credentials for Bull Board at /ui; without them /ui is not served. */
  dashboard?: { user: string; password: string };
  version?: string;
  /** The queue prefix: the /v1 rate-limit counters live under it, in the queues' hash slot. */
  prefix: string;
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

class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly body: { error: string; message?: string },
  ) {
    super(body.message ?? body.error);
  }
}

function parse<S extends z.ZodType>(schema: S, value: unknown, at: string): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw new RequestValidationError(
    result.error.issues.map((i) => ({ path: [at, ...i.path.map(String)].filter(Boolean).join('.'), message: i.message })),
  );
}

export function buildApp(deps: AppDeps) {
  if (deps.tokens.length === 0 && !deps.insecure) {
    throw new Error('the API needs at least one bearer token (API_TOKENS), or insecure mode on loopback');
  }
  const app = Fastify({
    loggerInstance: deps.logger.child({ component: 'api' }, { serializers: { req: requestSerializer } }),
    bodyLimit: API_BODY_LIMIT_BYTES,
  });
  const { producer } = deps;
  // JSON only: a text/plain body would otherwise reach validation as a string.
  app.removeContentTypeParser('text/plain');

  const redisDown = () => deps.redis.status !== 'ready';
  const unavailable = (reply: FastifyReply) =>
    reply.code(503).send({ error: 'redis-unavailable', message: 'Redis is not reachable; nothing was done' });

  app.setErrorHandler((err: FastifyError, request, reply) => {
    if (err instanceof RequestValidationError) {
      return reply.code(400).send({ error: 'invalid-request', message: err.message, problems: err.problems });
    }
    if (err instanceof RunConflictError) return reply.code(409).send({ error: 'run-conflict', message: err.message });
    if (err instanceof HttpError) return reply.code(err.statusCode).send(err.body);
    // @fastify/rate-limit has set Retry-After and the X-RateLimit-* headers already.
    if (err instanceof RateLimitedError) return reply.code(429).send({ error: 'too-many-requests', message: err.message });
    // @fastify/basic-auth has set the WWW-Authenticate challenge already.
    if (err.statusCode === 401) return reply.code(401).send({ error: 'unauthorized', message: 'valid credentials are required' });
    if (err.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') {
      return reply.code(400).send({ error: 'invalid-request', message: err.message, problems: [{ path: '', message: 'must be a JSON document' }] });
    }
    if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
      const code = err.statusCode === 415 ? 'unsupported-media-type' : err.statusCode === 413 ? 'payload-too-large' : 'bad-request';
      return reply.code(err.statusCode).send({ error: code, message: err.message });
    }
    // A Redis error surfaces in whatever form ioredis gives it; the connection's state says whose it was.
    if (err instanceof RedisUnavailableError || redisDown()) return unavailable(reply);
    request.log.error({ err }, 'request failed');
    return reply.code(500).send({ error: 'internal', message: 'internal error' });
  });

  // Fastify's own 404 quotes the URL in its answer and its log line; this one names the path only.
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({ error: 'not-found', message: `no route ${request.method} ${request.url.split('?')[0]}` }),
  );

  // Open endpoints: probes and the API description; /metrics too unless METRICS_TOKEN is set.
  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_request, reply) => {
    let timer: NodeJS.Timeout | undefined;
    try {
      if (!(await connectionUsable(deps.redis))) throw new RedisUnavailableError();
      // A connection can look ready and still not answer (a paused or overloaded server).
      const silence = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new RedisUnavailableError()), 2_000);
      });
      await Promise.race([deps.redis.ping(), silence]);
      return { status: 'ready' };
    } catch {
      return reply.code(503).send({ status: 'unavailable', error: 'redis-unavailable' });
    } finally {
      clearTimeout(timer);
    }
  });

  const checkMetricsToken = deps.metricsToken ? bearerChecker([deps.metricsToken]) : undefined;
  app.get('/metrics', async (request, reply) => {
    if (checkMetricsToken && checkMetricsToken(request.headers.authorization) !== 'ok') {
      return reply
        .code(401)
        .header('www-authenticate', 'Bearer realm="list-send metrics"')
        .send({ error: 'unauthorized', message: 'a valid bearer token is required (METRICS_TOKEN)' });
    }
    const text = await deps.metrics.registry.metrics();
    return reply.header('content-type', deps.metrics.registry.contentType).send(text);
  });

  const openapi = buildOpenApi({ ...(deps.version ? { version: deps.version } : {}) });
  app.get('/openapi.json', async () => openapi);

  // The producer API, behind bearer tokens.
  app.register(
    async (v1) => {
      const check = bearerChecker(deps.tokens);
      v1.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
        if (deps.insecure && deps.tokens.length === 0) return;
        const outcome = check(request.headers.authorization);
        if (outcome === 'ok') return;
        const challenge = outcome === 'missing' ? 'Bearer realm="list-send"' : 'Bearer realm="list-send", error="invalid_token"';
        return reply
          .code(401)
          .header('www-authenticate', challenge)
          .send({ error: 'unauthorized', message: 'a valid bearer token is required (Authorization: Bearer <token>)' });
      });
      // Fail fast: while the connection is down, answer at once rather than wait for it.
      v1.addHook('preHandler', async (_request, reply) => {
        if (!(await connectionUsable(deps.redis))) return unavailable(reply);
      });
      await registerApiRateLimit(v1, { redis: deps.redis, prefix: deps.prefix, perMinute: deps.rateLimitPerMinute ?? 120 });

      await registerAutomationRoutes(v1, { redis: deps.redis, prefix: deps.prefix });

      v1.post('/list-sends', async (request, reply) => {
        const { runId, created } = await producer.enqueue(request.body);
        const url = statusUrl(runId);
        if (created) {
          deps.metrics.runsStarted.inc();
          return reply.code(202).header('location', url).send({ runId, statusUrl: url });
        }
        const run = await producer.status(runId);
        return reply.code(200).header('location', url).send({ runId, statusUrl: url, ...(run ? { run: toRunStatusBody(run) } : {}) });
      });

      v1.get('/list-sends', async (request) => {
        const query = parse(listQuerySchema, request.query, '');
        const ids = await producer.recentRunIds(query.state ? LIST_SCAN_LIMIT : query.limit);
        const runs: RunSummaryBody[] = [];
        const batch = 25;
        for (let i = 0; i < ids.length && runs.length < query.limit; i += batch) {
          const statuses = await Promise.all(ids.slice(i, i + batch).map((id) => producer.status(id)));
          for (const status of statuses) {
            if (status && (!query.state || status.state === query.state) && runs.length < query.limit) runs.push(toRunSummaryBody(status));
          }
        }
        return { runs };
      });

      v1.get('/list-sends/:runId', async (request) => {
        const { runId } = parse(runIdParamsSchema, request.params, '');
        const status = await producer.status(runId);
        if (!status) throw new HttpError(404, { error: 'not-found', message: `no run with runId ${runId}` });
        return toRunStatusBody(status);
      });

      v1.delete('/list-sends/:runId', async (request, reply) => {
        const { runId } = parse(runIdParamsSchema, request.params, '');
        const before = await producer.status(runId);
        if (!before) throw new HttpError(404, { error: 'not-found', message: `no run with runId ${runId}` });
        if (before.state === 'cancelled') {
          return reply.code(200).send({ runId, state: 'cancelled', ...(before.cancelledAt ? { cancelledAt: before.cancelledAt } : {}) });
        }
        const outcome = await producer.cancel(runId);
        if (outcome === 'not-found') throw new HttpError(404, { error: 'not-found', message: `no run with runId ${runId}` });
        if (outcome === 'too-late') {
          throw new HttpError(409, { error: 'too-late', message: 'the Send was already claimed; the run can no longer be cancelled' });
        }
        request.log.info({ runId }, 'run cancelled');
        return reply.code(202).send({ runId, state: 'cancelled' });
      });
    },
    { prefix: '/v1' },
  );

  if (deps.dashboard) {
    const { dashboard } = deps;
    app.register((scope) =>
      registerDashboard(scope, {
        queues: deps.queues,
        redis: deps.redis,
        credentials: dashboard,
        loginFailuresPerMinute: deps.loginFailuresPerMinute ?? 10,
        secrets: [...deps.tokens, dashboard.password, ...(deps.metricsToken ? [deps.metricsToken] : []), ...(deps.secrets ?? [])],
      }),
    );
  } else {
    app.log.warn('DASHBOARD_USER and DASHBOARD_PASSWORD are not set: Bull Board is not served at /ui');
  }

  return app;
}

export type App = ReturnType<typeof buildApp>;
