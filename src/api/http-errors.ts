import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { Cluster, Redis } from 'ioredis';
import type { z } from 'zod';
import { RedisUnavailableError, RunConflictError } from '../client.js';
import { QueueLayoutError } from '../queue-layout.js';
import { RequestValidationError } from '../request.js';
import { RateLimitedError } from './limits.js';
import { apiError, type ApiErrorBody, type ApiErrorCode } from './schemas.js';

/** A route's own refusal: the status and the JSON body to answer with. */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly body: ApiErrorBody,
  ) {
    super(body.message ?? body.error);
  }
}

/** `value` checked against `schema`; a failure is a 400 naming each field under `at`. */
export function parse<S extends z.ZodType>(schema: S, value: unknown, at: string): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw new RequestValidationError(
    result.error.issues.map((i) => ({ path: [at, ...i.path.map(String)].filter(Boolean).join('.'), message: i.message })),
  );
}

export function replyRedisUnavailable(reply: FastifyReply) {
  return reply.code(503).send(apiError('redis-unavailable', 'Redis is not reachable; nothing was done'));
}

/** Every error a route throws, as a JSON answer with a stable `error` code; only the unexpected ones are logged. */
export function apiErrorHandler(redis: Redis | Cluster) {
  return (err: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    if (err instanceof RequestValidationError) {
      return reply.code(400).send(apiError('invalid-request', err.message, err.problems));
    }
    if (err instanceof RunConflictError) return reply.code(409).send(apiError('run-conflict', err.message));
    // This process's QUEUE_SHARDS is not the workers' (src/queue-layout.ts): nothing was enqueued; an operator must fix the setting.
    if (err instanceof QueueLayoutError) return reply.code(503).send(apiError('queue-layout-mismatch', err.message));
    if (err instanceof HttpError) return reply.code(err.statusCode).send(err.body);
    // @fastify/rate-limit has set Retry-After and the X-RateLimit-* headers already.
    if (err instanceof RateLimitedError) return reply.code(429).send(apiError('too-many-requests', err.message));
    // @fastify/basic-auth has set the WWW-Authenticate challenge already.
    if (err.statusCode === 401) return reply.code(401).send(apiError('unauthorized', 'valid credentials are required'));
    if (err.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') {
      return reply.code(400).send(apiError('invalid-request', err.message, [{ path: '', message: 'must be a JSON document' }]));
    }
    if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
      const code: ApiErrorCode = err.statusCode === 415 ? 'unsupported-media-type' : err.statusCode === 413 ? 'payload-too-large' : 'bad-request';
      return reply.code(err.statusCode).send(apiError(code, err.message));
    }
    // A Redis error surfaces in whatever form ioredis gives it; the connection's state says whose it was.
    if (err instanceof RedisUnavailableError || redis.status !== 'ready') return replyRedisUnavailable(reply);
    request.log.error({ err }, 'request failed');
    return reply.code(500).send(apiError('internal', 'internal error'));
  };
}
