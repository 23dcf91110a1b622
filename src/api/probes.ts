import type { FastifyPluginAsync } from 'fastify';
import type { Cluster, Redis } from 'ioredis';
import { RedisUnavailableError } from '../client.js';
import type { Metrics } from '../metrics.js';
import { bearerChecker } from './auth.js';
import { connectionUsable } from './connection.js';
import { buildOpenApi } from './openapi.js';
import { apiError } from './schemas.js';

/** The open endpoints: probes and the API description; /metrics too unless a metrics token is set. */

export interface ProbeOptions {
  redis: Redis | Cluster;
  metrics: Metrics;
  /** When set, /metrics requires `Authorization: Bearer <metricsToken>`. */
  metricsToken?: string;
  version?: string;
}

/** How long /readyz waits for Redis to answer a PING. */
const READY_PING_TIMEOUT_MS = 2_000;

export const probes: FastifyPluginAsync<ProbeOptions> = async (app, options) => {
  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_request, reply) => {
    let timer: NodeJS.Timeout | undefined;
    try {
      if (!(await connectionUsable(options.redis))) throw new RedisUnavailableError();
      // A connection can look ready and still not answer (a paused or overloaded server).
      const silence = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new RedisUnavailableError()), READY_PING_TIMEOUT_MS);
      });
      await Promise.race([options.redis.ping(), silence]);
      return { status: 'ready' };
    } catch {
      return reply.code(503).send({ status: 'unavailable', ...apiError('redis-unavailable') });
    } finally {
      clearTimeout(timer);
    }
  });

  const checkMetricsToken = options.metricsToken ? bearerChecker([options.metricsToken]) : undefined;
  app.get('/metrics', async (request, reply) => {
    if (checkMetricsToken && checkMetricsToken(request.headers.authorization) !== 'ok') {
      return reply
        .code(401)
        .header('www-authenticate', 'Bearer realm="list-send metrics"')
        .send(apiError('unauthorized', 'a valid bearer token is required (METRICS_TOKEN)'));
    }
    const text = await options.metrics.registry.metrics();
    return reply.header('content-type', options.metrics.registry.contentType).send(text);
  });

  const openapi = buildOpenApi({ ...(options.version ? { version: options.version } : {}) });
  app.get('/openapi.json', async () => openapi);
};
