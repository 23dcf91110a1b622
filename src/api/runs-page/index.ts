import { createHmac, timingSafeEqual } from 'node:crypto';
import basicAuth from '@fastify/basic-auth';
import helmet from '@fastify/helmet';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { Cluster, Redis } from 'ioredis';
import { z } from 'zod';
import { runEndStep } from '../../../queues/steps.js';
import { stepJobId } from '../../../queues/catalog.js';
import type { ListSendClient } from '../../client.js';
import { runIdSchema } from '../../request.js';
import { credentialsChecker } from '../auth.js';
import { connectionUsable } from '../connection.js';
import { boardQueueName, DASHBOARD_CSP, UI_PATH, type ShardLayout } from '../dashboard.js';
import { createLoginThrottle } from '../limits.js';
import { redactText } from '../redact.js';
import { runStateSchema } from '../schemas.js';
import { RunsData, type RunFilter } from './data.js';
import { esc, runDetailPage, runHref, runsListPage } from './html.js';
import { RUNS_PAGE_SCRIPT } from './script.js';
import type { RunView } from './view.js';

/**
 * /runs: the run-centred view for the people who send (issue #15), beside Bull Board (/ui) for
 * engineers. Same basic-auth credentials, failed-login throttle and CSP as /ui. Cancel is a form
 * POST guarded twice against cross-site requests (basic auth is sent by the browser on its own):
 * the Origin (or Referer) must be this host, and the form carries a token only a page served
 * with the credentials holds (an HMAC of the runId keyed by the dashboard password, so every API
 * replica accepts it).
 */

export const RUNS_PATH = '/runs';

export interface RunsPageOptions {
  producer: ListSendClient;
  /** Which shard a run's Bull Board pages are under (the detail page links to them). */
  shards?: ShardLayout;
  redis: Redis | Cluster;
  credentials: { user: string; password: string };
  loginFailuresPerMinute: number;
  secrets: readonly string[];
}

const text = z.string().trim().max(200, 'must be at most 200 characters').optional();
const listQuery = z.strictObject({
  state: z.preprocess((v) => (v === '' ? undefined : v), runStateSchema.optional()),
  account: text,
  source: text,
  search: text,
  page: z.coerce.number({ message: 'must be a number' }).int('must be a whole number').min(1, 'must be at least 1').max(50, 'must be at most 50').default(1),
});

const NOTICES: Record<string, string> = {
  cancelled: 'The run was cancelled: it will not send.',
  'too-late': 'Too late to cancel: the Send was already under way.',
  refused: 'The cancel request was refused (it did not come from this page).',
};

function problemPage(status: number, message: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${status}</title></head><body><p>${esc(message)}</p><p><a href="${RUNS_PATH}">Runs</a></p></body></html>`;
}

/** True when the request's Origin (else Referer) names this host: a form posted from our own page. */
export function sameOrigin(request: FastifyRequest): boolean {
  const source = request.headers.origin ?? request.headers.referer;
  if (!source || source === 'null') return false;
  try {
    // Both through URL, so a default port (`Host: example.com:80` against `Origin: http://example.com`) compares equal.
    return new URL(source).host === new URL(`${new URL(source).protocol}//${request.host}`).host;
  } catch {
    return false;
  }
}

export const runsPage: FastifyPluginAsync<RunsPageOptions> = async (app, options) => {
  const valid = credentialsChecker(options.credentials.user, options.credentials.password);
  const data = new RunsData(options.producer);
  const tokenKey = createHmac('sha256', 'list-send runs page cancel').update(options.credentials.password).digest();
  const cancelToken = (runId: string) => createHmac('sha256', tokenKey).update(runId).digest('base64url');
  const tokenValid = (runId: string, presented: unknown) => {
    const expected = Buffer.from(cancelToken(runId));
    const given = Buffer.from(typeof presented === 'string' ? presented : '');
    return given.length === expected.length && timingSafeEqual(given, expected);
  };
  /** Free text a step or SFMC wrote goes through the dashboard's redactor before it is shown. */
  const redact = (v: RunView): RunView => ({
    ...v,
    ...(v.failure ? { failure: { step: v.failure.step, reason: redactText(v.failure.reason, options.secrets) } } : {}),
    steps: v.steps.map((s) => (s.outcome ? { ...s, outcome: redactText(s.outcome, options.secrets) } : s)),
  });

  await app.register(
    async (scope) => {
      // Referrer-Policy same-origin, not helmet's no-referrer: under no-referrer a browser sends
      // `Origin: null` with a form POST (Fetch standard, "serializing a request origin"), and the
      // Cancel form's same-origin check would refuse our own page.
      await scope.register(helmet, {
        contentSecurityPolicy: { useDefaults: false, directives: DASHBOARD_CSP },
        frameguard: { action: 'deny' },
        referrerPolicy: { policy: 'same-origin' },
      });
      const throttle = await createLoginThrottle(scope, options.loginFailuresPerMinute);
      await scope.register(basicAuth, {
        validate: async (user, password, request) => {
          if (valid(user, password)) return;
          await throttle.recordFailure(request);
          throw Object.assign(new Error('invalid dashboard credentials'), { statusCode: 401 });
        },
        authenticate: { realm: 'list-send dashboard' },
      });
      scope.addHook('onRequest', (request, reply) => throttle.refuseIfExhausted(request, reply));
      scope.addHook('onRequest', scope.basicAuth);
      scope.addHook('preHandler', async (_request, reply) => {
        if (!(await connectionUsable(options.redis))) {
          return reply.code(503).type('text/html; charset=utf-8').send(problemPage(503, 'Redis is not reachable; try again shortly.'));
        }
      });
      // The Cancel form's body; only this scope accepts it.
      scope.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 4096 }, (_req, body, done) => {
        done(null, Object.fromEntries(new URLSearchParams(String(body))));
      });
      const html = (reply: FastifyReply) => reply.type('text/html; charset=utf-8');

      scope.get('/assets/runs.js', async (_request, reply) =>
        reply.type('text/javascript; charset=utf-8').header('cache-control', 'no-cache').send(RUNS_PAGE_SCRIPT),
      );

      scope.get('/', async (request, reply) => {
        const parsed = listQuery.safeParse(request.query);
        if (!parsed.success) {
          const problem = parsed.error.issues[0];
          return html(reply.code(400)).send(problemPage(400, `${problem?.path.join('.') || 'query'}: ${problem?.message ?? 'invalid'}`));
        }
        const { page, ...rest } = parsed.data;
        const filter: RunFilter = Object.fromEntries(Object.entries(rest).filter(([, v]) => v)) as RunFilter;
        const listed = await data.list(filter, page);
        return html(reply.header('cache-control', 'no-store')).send(runsListPage({ ...listed, runs: listed.runs.map(redact) }, filter));
      });

      scope.get('/:runId', async (request, reply) => {
        const id = runIdSchema.safeParse((request.params as { runId: string }).runId);
        if (!id.success) return html(reply.code(400)).send(problemPage(400, `runId: ${id.error.issues[0]?.message ?? 'invalid'}`));
        const view = await data.run(id.data);
        if (!view) return html(reply.code(404)).send(problemPage(404, `no run with runId ${id.data}`));
        const request_ = await options.producer.request(id.data);
        const end = request_ ? runEndStep(request_) : 'send';
        const notice = NOTICES[String((request.query as { notice?: string }).notice ?? '')];
        return html(reply.header('cache-control', 'no-store')).send(
          runDetailPage(redact(view), {
            boardHref: `${UI_PATH}/queue/${encodeURIComponent(boardQueueName(end, id.data, options.shards))}/${encodeURIComponent(stepJobId(id.data, end))}`,
            cancelToken: cancelToken(id.data),
            ...(notice ? { notice } : {}),
          }),
        );
      });

      scope.post('/:runId/cancel', async (request, reply) => {
        const id = runIdSchema.safeParse((request.params as { runId: string }).runId);
        if (!id.success) return html(reply.code(400)).send(problemPage(400, `runId: ${id.error.issues[0]?.message ?? 'invalid'}`));
        const runId = id.data;
        const back = (notice: string) => reply.code(303).header('location', `${runHref(runId)}?notice=${notice}`).send();
        if (!sameOrigin(request) || !tokenValid(runId, (request.body as { token?: unknown } | undefined)?.token)) {
          request.log.warn({ runId }, 'runs page: cancel refused (cross-site or without the page token)');
          return html(reply.code(403)).send(problemPage(403, NOTICES.refused!));
        }
        const before = await options.producer.status(runId);
        if (!before) return html(reply.code(404)).send(problemPage(404, `no run with runId ${runId}`));
        if (before.state === 'cancelled') return back('cancelled');
        const outcome = await options.producer.cancel(runId);
        if (outcome === 'not-found') return html(reply.code(404)).send(problemPage(404, `no run with runId ${runId}`));
        if (outcome === 'too-late') return back('too-late');
        request.log.info({ runId }, 'run cancelled from the runs page');
        return back('cancelled');
      });
    },
    { prefix: RUNS_PATH },
  );
};
