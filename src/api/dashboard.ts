import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import basicAuth from '@fastify/basic-auth';
import helmet from '@fastify/helmet';
import type { Queue } from 'bullmq';
import type { FastifyPluginAsync } from 'fastify';
import type { Cluster, Redis } from 'ioredis';
import { credentialsChecker } from './auth.js';
import { connectionUsable } from './connection.js';
import { createLoginThrottle } from './limits.js';
import { redactDeep, redactSecrets } from './redact.js';
import { apiError } from './schemas.js';
import { shardOf, shardPrefixes } from '../shards.js';

/**
 * Bull Board at /ui: every queue (so a run's flow shows as one tree), read-only, behind basic
 * auth with failed logins throttled, with security headers, no Redis server details, and every
 * response body of its API redacted.
 */

export const UI_PATH = '/ui';

/** QUEUE_PREFIX and QUEUE_SHARDS: which queue belongs to which shard. */
export interface ShardLayout {
  prefix: string;
  count: number;
}

/**
 * The name Bull Board shows a queue by, and uses in its URLs: with several shards every shard
 * has a queue of each name, told apart by `shard-<i>:` in front (Bull Board's per-queue `prefix`
 * option, made for one queue name under several prefixes: felixmosh/bull-board#331); its
 * `delimiter` groups each shard's queues in the menu (felixmosh/bull-board#633).
 */
function boardPrefixOf(queue: Queue, shards: ShardLayout | undefined): string {
  if (!shards || shards.count <= 1) return '';
  const index = shardPrefixes(shards.prefix, shards.count).indexOf(queue.opts.prefix ?? '');
  return index < 0 ? '' : `shard-${index}:`;
}

/** Bull Board's name of a run's step queue: where the run's job pages are. */
export function boardQueueName(step: string, runId: string, shards: ShardLayout | undefined): string {
  return !shards || shards.count <= 1 ? step : `shard-${shardOf(runId, shards.count)}:${step}`;
}

export interface DashboardOptions {
  /** Every shard's step queues, and the schedules and triggers queues. */
  queues: Queue[];
  /** Without it (or with one shard) queues are shown by their own names. */
  shards?: ShardLayout;
  redis: Redis | Cluster;
  credentials: { user: string; password: string };
  /** Failed logins per minute per client IP before /ui answers 429. */
  loginFailuresPerMinute: number;
  /** The service's own secret values, replaced wherever they appear in what the board shows. */
  secrets: readonly string[];
}

/**
 * What Bull Board's page needs and no more: its scripts, styles and images come from /ui/static;
 * React and React Flow set inline `style` attributes (hence 'unsafe-inline' for styles only, never
 * scripts); the page links IBM Plex from Google Fonts. The `<script type="application/json">`
 * holding its config is data, which script-src does not govern. No framing, anywhere.
 */
export const DASHBOARD_CSP = {
  defaultSrc: ["'self'"],
  scriptSrc: ["'self'"],
  styleSrc: ["'self'", "'unsafe-inline'", 'https://fonts.googleapis.com'],
  fontSrc: ["'self'", 'https://fonts.gstatic.com', 'data:'],
  imgSrc: ["'self'", 'data:'],
  connectSrc: ["'self'"],
  objectSrc: ["'none'"],
  baseUri: ["'self'"],
  formAction: ["'self'"],
  frameAncestors: ["'none'"],
};

function boardAdapter(queue: Queue, shards: ShardLayout | undefined): BullMQAdapter {
  // Read-only: retry, remove, clean and "remove unprocessed children" could release a waiting
  // parent and so lead to a Send (bullmq reference 7.2).
  const prefix = boardPrefixOf(queue, shards);
  const adapter = new BullMQAdapter(queue, { readOnlyMode: true, allowRetries: false, ...(prefix ? { prefix, delimiter: ':' } : {}) });
  adapter.setFormatter('data', (data) => redactSecrets(data));
  adapter.setFormatter('returnValue', (value) => redactSecrets(value));
  adapter.setFormatter('progress', (value) => redactSecrets(value));
  return adapter;
}

/** The dashboard as a fastify plugin: `app.register(dashboard, options)` serves it at /ui. */
export const dashboard: FastifyPluginAsync<DashboardOptions> = async (app, options) => {
  const valid = credentialsChecker(options.credentials.user, options.credentials.password);
  await app.register(
    async (ui) => {
      // `useDefaults: false`: helmet's default CSP adds upgrade-insecure-requests, which would
      // break the page on the plain-http loopback port compose publishes.
      await ui.register(helmet, {
        contentSecurityPolicy: { useDefaults: false, directives: DASHBOARD_CSP },
        frameguard: { action: 'deny' },
      });
      const throttle = await createLoginThrottle(ui, options.loginFailuresPerMinute);
      await ui.register(basicAuth, {
        validate: async (user, password, request) => {
          if (valid(user, password)) return;
          await throttle.recordFailure(request);
          throw Object.assign(new Error('invalid dashboard credentials'), { statusCode: 401 });
        },
        authenticate: { realm: 'list-send dashboard' },
      });
      // Checked before the credentials, so a client over its limit cannot test another password.
      ui.addHook('onRequest', (request, reply) => throttle.refuseIfExhausted(request, reply));
      ui.addHook('onRequest', ui.basicAuth);
      // Bull Board's API would wait for Redis indefinitely; the page itself loads and shows the error.
      ui.addHook('preHandler', async (request, reply) => {
        if (request.url.startsWith(`${UI_PATH}/api/`) && !(await connectionUsable(options.redis))) {
          return reply.code(503).send(apiError('redis-unavailable', 'Redis is not reachable'));
        }
      });
      const serverAdapter = new FastifyAdapter();
      serverAdapter.setBasePath(UI_PATH);
      createBullBoard({
        queues: options.queues.map((q) => boardAdapter(q, options.shards)),
        serverAdapter,
        // hideRedisDetails: /api/redis/stats answers 403 and the UI drops the panel (Redis
        // version, OS, port and memory are of no use to an operator of this service); see
        // @bull-board/api 9 dist/handlers/redisStats.js. handlerHooks.after sees every API
        // answer (dist/hooks.js, wrapHandler).
        options: {
          uiConfig: { boardTitle: 'list-send', hideRedisDetails: true },
          // failedReason, stacktrace, job logs and the flow tree are free text a step wrote:
          // every string of every answer goes through the redactor.
          handlerHooks: { after: (_context, result) => ({ ...result, body: redactDeep(result.body, options.secrets) }) },
        },
      });
      await ui.register(serverAdapter.registerPlugin());
    },
    { prefix: UI_PATH },
  );
};
