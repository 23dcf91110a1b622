import { DEFAULT_ACCOUNT } from '../../config.js';
import type { FastifyPluginAsync } from 'fastify';
import type { ListSendClient } from '../../client.js';
import type { Metrics } from '../../metrics.js';
import { HttpError, parse } from '../http-errors.js';
import { apiError, listQuerySchema, runIdParamsSchema, statusUrl, toRunStatusBody, toRunSummaryBody, type RunSummaryBody } from '../schemas.js';

/** What a /v1 route file is given. */
export interface RouteDeps {
  producer: ListSendClient;
  metrics: Metrics;
}

/** With a state filter, the most recent runs searched for matches. */
export const LIST_SCAN_LIMIT = 1_000;

const notFound = (runId: string) => new HttpError(404, apiError('not-found', `no run with runId ${runId}`));

/** /v1/list-sends: start a run, list recent runs, read one, cancel one. */
export const listSendRoutes: FastifyPluginAsync<RouteDeps> = async (v1, { producer, metrics }) => {
  v1.post('/list-sends', async (request, reply) => {
    const { runId, created } = await producer.enqueue(request.body);
    const url = statusUrl(runId);
    if (created) {
      // enqueue accepted the request, so its account is a configured name (absent: the default one).
      const account = (request.body as { account?: unknown }).account;
      metrics.runsStarted.inc({ account: typeof account === 'string' ? account : DEFAULT_ACCOUNT });
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
    if (!status) throw notFound(runId);
    return toRunStatusBody(status);
  });

  v1.delete('/list-sends/:runId', async (request, reply) => {
    const { runId } = parse(runIdParamsSchema, request.params, '');
    const before = await producer.status(runId);
    if (!before) throw notFound(runId);
    if (before.state === 'cancelled') {
      return reply.code(200).send({ runId, state: 'cancelled', ...(before.cancelledAt ? { cancelledAt: before.cancelledAt } : {}) });
    }
    const outcome = await producer.cancel(runId);
    if (outcome === 'not-found') throw notFound(runId);
    if (outcome === 'too-late') {
      throw new HttpError(409, apiError('too-late', 'the Send was already claimed; the run can no longer be cancelled'));
    }
    request.log.info({ runId }, 'run cancelled');
    return reply.code(202).send({ runId, state: 'cancelled' });
  });
};
