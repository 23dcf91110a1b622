import { createHash } from 'node:crypto';
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Cluster, Redis } from 'ioredis';
import { apiError } from './schemas.js';

/**
 * Request limits of the HTTP API.
 *
 * /v1 is limited per bearer token, in Redis: every API instance counts against the same window,
 * so adding instances does not multiply what one token may do. The counter runs after the token
 * check (route hooks run after the scope's own), so only token holders ever write to Redis. Keys
 * are `${QUEUE_PREFIX}:api-rate:<sha256 of the token, 16 hex>`: account-wide, never sharded
 * (src/shards.ts), in the slot of the prefix's hash tag; the token itself is never in a key or a log line.
 *
 * Failed dashboard logins are limited per client IP in memory instead: the client is not
 * authenticated, and an anonymous caller must not be able to make the service write to Redis.
 * Each API instance counts its own window (N instances allow N times the limit).
 */

export const API_BODY_LIMIT_BYTES = 64 * 1024;

const WINDOW_MS = 60_000;

/** A token's identity in rate-limit keys: a hash prefix, never the token. */
export function tokenIdentity(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex').slice(0, 16);
}

export function bearerToken(header: string | undefined): string | undefined {
  return /^Bearer +(\S+) *$/i.exec(header ?? '')?.[1];
}

export class RateLimitedError extends Error {
  constructor(
    readonly retryAfterSeconds: number,
    message: string,
  ) {
    super(message);
  }
}

export interface ApiRateLimitOptions {
  redis: Redis | Cluster;
  prefix: string;
  perMinute: number;
}

/**
 * Registers the per-token limit on every route of the scope it is given (/v1). It runs in
 * preHandler, after the scope's Redis availability check: while Redis is down the caller gets
 * the API's prompt 503, not a limiter error. Bodies are parsed first, which API_BODY_LIMIT_BYTES
 * keeps cheap.
 */
export async function registerApiRateLimit(scope: FastifyInstance, options: ApiRateLimitOptions): Promise<void> {
  await scope.register(rateLimit, {
    max: options.perMinute,
    timeWindow: WINDOW_MS,
    hook: 'preHandler',
    redis: options.redis,
    nameSpace: `${options.prefix}:api-rate:`,
    // Without a token (insecure mode on loopback) the client's IP is the identity.
    keyGenerator: (request) => {
      const token = bearerToken(request.headers.authorization);
      return token ? `token:${tokenIdentity(token)}` : `ip:${request.ip}`;
    },
    errorResponseBuilder: (_request, context) =>
      new RateLimitedError(Math.ceil(context.ttl / 1000), `at most ${context.max} requests a minute per token; retry in ${context.after}`),
  });
}

export interface LoginThrottle {
  /** Answers 429 when this client has used up its failed logins; call before checking credentials. */
  refuseIfExhausted(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined>;
  /** Counts one failed login of this client. */
  recordFailure(request: FastifyRequest): Promise<void>;
}

/** Failed basic-auth logins per client IP, in this process's memory (see above). */
export async function createLoginThrottle(scope: FastifyInstance, failuresPerMinute: number): Promise<LoginThrottle> {
  // global: false, so the plugin adds no hook of its own; the two calls below are the only uses.
  await scope.register(rateLimit, { global: false, max: failuresPerMinute, timeWindow: WINDOW_MS });
  const limiter = scope.createRateLimit();
  return {
    async refuseIfExhausted(request, reply) {
      const state = await limiter(request, { increment: false });
      if (state.isAllowed || state.remaining > 0) return undefined;
      const retryAfter = Math.max(1, state.ttlInSeconds);
      return reply
        .code(429)
        .header('retry-after', String(retryAfter))
        .send(apiError('too-many-requests', `too many failed logins from this address; retry in ${retryAfter} s`));
    },
    async recordFailure(request) {
      await limiter(request);
    },
  };
}
