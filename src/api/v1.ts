import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { Cluster, Redis } from 'ioredis';
import { bearerChecker } from './auth.js';
import { connectionUsable } from './connection.js';
import { replyRedisUnavailable } from './http-errors.js';
import { registerAutomationRoutes } from './routes/automation.js';
import { registerApiRateLimit } from './limits.js';
import { apiError } from './schemas.js';
import { listSendRoutes, type RouteDeps } from './routes/list-sends.js';

/**
 * The producer API under /v1: bearer tokens, fail-fast on a lost Redis connection and a per-token
 * rate limit, then the route files. A new route file is one `register` line below.
 */

export interface V1Options extends RouteDeps {
  redis: Redis | Cluster;
  /** Bearer tokens; empty only with `insecure`. */
  tokens: readonly string[];
  insecure?: boolean;
  /** The queue prefix the rate-limit counters live under (not `prefix`: that is the route prefix of `register`). */
  queuePrefix: string;
  rateLimitPerMinute: number;
}

export const v1Api: FastifyPluginAsync<V1Options> = async (v1, options) => {
  const { producer, metrics } = options;
  const check = bearerChecker(options.tokens);
  v1.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    if (options.insecure && options.tokens.length === 0) return;
    const outcome = check(request.headers.authorization);
    if (outcome === 'ok') return;
    const challenge = outcome === 'missing' ? 'Bearer realm="list-send"' : 'Bearer realm="list-send", error="invalid_token"';
    return reply
      .code(401)
      .header('www-authenticate', challenge)
      .send(apiError('unauthorized', 'a valid bearer token is required (Authorization: Bearer <token>)'));
  });
  // Fail fast: while the connection is down, answer at once rather than wait for it.
  v1.addHook('preHandler', async (_request, reply) => {
    if (!(await connectionUsable(options.redis))) return replyRedisUnavailable(reply);
  });
  await registerApiRateLimit(v1, { redis: options.redis, prefix: options.queuePrefix, perMinute: options.rateLimitPerMinute });

  const routeDeps: RouteDeps = { producer, metrics };
  await v1.register(listSendRoutes, routeDeps);
  await registerAutomationRoutes(v1, { redis: options.redis, prefix: options.queuePrefix, accounts: producer.accounts });
};
