import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acceptedSchema, cancelledSchema, errorSchema, existingRunSchema, runListSchema, runStatusSchema } from '../../src/api/schemas.js';
import { RunRegistry } from '../../src/runs.js';
import { seedRequest } from '../helpers/requests.js';
import { AUTH, presentSteps, RUN_STEPS, startApi, TOKENS, type ApiHarness } from './harness.js';

/** Every /v1 endpoint and status code through inject(), on real Redis with no workers running. */
describe('the list-send HTTP API', () => {
  let api: ApiHarness;
  beforeAll(() => {
    api = startApi({ label: 'api-routes' });
  });
  afterAll(async () => {
    await api?.close();
  });

  const post = (body: unknown, headers: Record<string, string> = AUTH) =>
    api.app.inject({ method: 'POST', url: '/v1/list-sends', headers, payload: body as object });
  const get = (url: string) => api.app.inject({ method: 'GET', url, headers: AUTH });
  const del = (url: string) => api.app.inject({ method: 'DELETE', url, headers: AUTH });

  describe('POST /v1/list-sends', () => {
    it('enqueues a new run: 202 with the runId and where to read its status', async () => {
      const res = await post(seedRequest({ runId: 'post-new' }));
      expect(res.statusCode).toBe(202);
      expect(acceptedSchema.parse(res.json())).toEqual({ runId: 'post-new', statusUrl: '/v1/list-sends/post-new' });
      expect(res.headers.location).toBe('/v1/list-sends/post-new');
      expect(await api.producer.request('post-new')).toMatchObject({ runId: 'post-new', email: { id: '123' } });
    });

    it('makes up a runId when the request has none', async () => {
      const res = await post(seedRequest());
      expect(res.statusCode).toBe(202);
      expect(res.json().runId).toMatch(/^run-\d{4}-\d{2}-\d{2}-[0-9a-f]{12}$/);
    });

    it('answers a repeat with the same content with 200 and the existing run', async () => {
      await post(seedRequest({ runId: 'post-repeat' }));
      const res = await post(seedRequest({ runId: 'post-repeat' }));
      expect(res.statusCode).toBe(200);
      const body = existingRunSchema.parse(res.json());
      expect(body).toMatchObject({ runId: 'post-repeat', statusUrl: '/v1/list-sends/post-repeat', run: { runId: 'post-repeat' } });
      expect(presentSteps(body.run.steps).map((s) => s.step)).toEqual([...RUN_STEPS]);
    });

    it('refuses the same runId with different content: 409', async () => {
      await post(seedRequest({ runId: 'post-conflict' }));
      const res = await post(seedRequest({ runId: 'post-conflict', email: { id: 456 } }));
      expect(res.statusCode).toBe(409);
      expect(errorSchema.parse(res.json())).toMatchObject({ error: 'run-conflict' });
      expect((await api.producer.request('post-conflict'))?.email.id).toBe('123');
    });

    it('answers 400 with one problem per bad field, and enqueues nothing', async () => {
      const res = await post({
        runId: 'bad id!',
        list: { name: '' },
        email: { id: 'abc' },
        import: { fileSpec: 'a/b.csv', fieldMaps: [] },
        extra: true,
      });
      expect(res.statusCode).toBe(400);
      const body = errorSchema.parse(res.json());
      expect(body.error).toBe('invalid-request');
      const paths = body.problems?.map((p) => p.path).sort();
      expect(paths).toEqual(['', 'email.id', 'import.fieldMaps', 'import.fileSpec', 'list.name', 'runId']);
      expect(body.problems?.find((p) => p.path === 'runId')?.message).toMatch(/letters, digits/);
      expect(await api.producer.status('bad id!')).toBeUndefined();
    });

    it('answers 400 for a body that is not JSON, and 415 for another content type', async () => {
      const broken = await api.app.inject({
        method: 'POST',
        url: '/v1/list-sends',
        headers: { ...AUTH, 'content-type': 'application/json' },
        payload: '{"runId": ',
      });
      expect(broken.statusCode).toBe(400);
      expect(broken.json()).toMatchObject({ error: 'invalid-request', problems: [{ path: '' }] });

      const text = await api.app.inject({
        method: 'POST',
        url: '/v1/list-sends',
        headers: { ...AUTH, 'content-type': 'text/plain' },
        payload: 'hello',
      });
      expect(text.statusCode).toBe(415);
      expect(text.json().error).toBe('unsupported-media-type');
    });
  });

  describe('GET /v1/list-sends/:runId', () => {
    it("shows a run's state and each step's state and attempts", async () => {
      await post(seedRequest({ runId: 'get-one' }));
      const res = await get('/v1/list-sends/get-one');
      expect(res.statusCode).toBe(200);
      const body = runStatusSchema.parse(res.json());
      expect(body.state).toBe('waiting');
      expect(body.createdAt).toMatch(/^\d{4}-/);
      expect(presentSteps(body.steps).map((s) => [s.step, s.state, s.attempts])).toEqual([
        ['resolve-list', 'waiting', 0],
        ['create-import', 'waiting-children', 0],
        ['start-import', 'waiting-children', 0],
        ['poll-import', 'waiting-children', 0],
        ['send', 'waiting-children', 0],
      ]);
      expect(body.import).toBeUndefined();
    });

    it('answers 404 for an unknown run and 400 for a malformed runId', async () => {
      const unknown = await get('/v1/list-sends/no-such-run');
      expect(unknown.statusCode).toBe(404);
      expect(errorSchema.parse(unknown.json()).error).toBe('not-found');
      const malformed = await get(`/v1/list-sends/${encodeURIComponent('a b')}`);
      expect(malformed.statusCode).toBe(400);
      expect(malformed.json()).toMatchObject({ error: 'invalid-request', problems: [{ path: 'runId' }] });
    });
  });

  describe('GET /v1/list-sends', () => {
    it('lists recent runs, most recent first, up to the limit', async () => {
      await post(seedRequest({ runId: 'list-a' }));
      await post(seedRequest({ runId: 'list-b' }));
      const res = await get('/v1/list-sends?limit=2');
      expect(res.statusCode).toBe(200);
      const body = runListSchema.parse(res.json());
      expect(body.runs.map((r) => r.runId)).toEqual(['list-b', 'list-a']);
      expect(body.runs[0]).toMatchObject({ state: 'waiting', statusUrl: '/v1/list-sends/list-b' });
    });

    it('filters by state', async () => {
      await post(seedRequest({ runId: 'list-cancelled' }));
      await del('/v1/list-sends/list-cancelled');
      await post(seedRequest({ runId: 'list-after' }));
      const cancelled = runListSchema.parse((await get('/v1/list-sends?state=cancelled')).json());
      expect(cancelled.runs.map((r) => r.runId)).toEqual(['list-cancelled']);
      const waiting = runListSchema.parse((await get('/v1/list-sends?state=waiting&limit=200')).json());
      expect(waiting.runs.map((r) => r.runId)).toContain('list-after');
      expect(waiting.runs.every((r) => r.state === 'waiting')).toBe(true);
    });

    it('treats an empty state or limit as absent', async () => {
      const res = await get('/v1/list-sends?state=&limit=');
      expect(res.statusCode).toBe(200);
      expect(runListSchema.parse(res.json()).runs.length).toBeGreaterThan(0);
    });

    it('answers 400 for an unknown state or a limit out of range', async () => {
      const state = await get('/v1/list-sends?state=exploded');
      expect(state.statusCode).toBe(400);
      expect(state.json().problems.map((p: { path: string }) => p.path)).toEqual(['state']);
      const limit = await get('/v1/list-sends?limit=0');
      expect(limit.statusCode).toBe(400);
      expect(limit.json().problems.map((p: { path: string }) => p.path)).toEqual(['limit']);
    });
  });

  describe('DELETE /v1/list-sends/:runId', () => {
    it('cancels a run that has not reached the Send: 202, then 200 when asked again', async () => {
      await post(seedRequest({ runId: 'cancel-me' }));
      const first = await del('/v1/list-sends/cancel-me');
      expect(first.statusCode).toBe(202);
      expect(cancelledSchema.parse(first.json())).toEqual({ runId: 'cancel-me', state: 'cancelled' });
      const again = await del('/v1/list-sends/cancel-me');
      expect(again.statusCode).toBe(200);
      expect(cancelledSchema.parse(again.json()).cancelledAt).toMatch(/^\d{4}-/);
      expect(runStatusSchema.parse((await get('/v1/list-sends/cancel-me')).json()).state).toBe('cancelled');
    });

    it('answers 409 once the Send step has claimed the run', async () => {
      await post(seedRequest({ runId: 'cancel-late' }));
      // What the send step does before it creates the Send.
      expect(await new RunRegistry(api.redis, api.prefix).claimSend('cancel-late')).toBe('claimed');
      const res = await del('/v1/list-sends/cancel-late');
      expect(res.statusCode).toBe(409);
      expect(errorSchema.parse(res.json()).error).toBe('too-late');
      expect(runStatusSchema.parse((await get('/v1/list-sends/cancel-late')).json()).state).not.toBe('cancelled');
    });

    it('answers 404 for an unknown run', async () => {
      const res = await del('/v1/list-sends/never-enqueued');
      expect(res.statusCode).toBe(404);
    });
  });

  describe('authentication', () => {
    const routes = [
      ['POST', '/v1/list-sends'],
      ['GET', '/v1/list-sends'],
      ['GET', '/v1/list-sends/post-new'],
      ['DELETE', '/v1/list-sends/post-new'],
    ] as const;

    it.each(routes)('%s %s answers 401 without a token, with a bearer challenge', async (method, url) => {
      const res = await api.app.inject({ method, url, payload: method === 'POST' ? seedRequest({ runId: 'no-token' }) : undefined });
      expect(res.statusCode).toBe(401);
      expect(res.headers['www-authenticate']).toBe('Bearer realm="list-send"');
      expect(errorSchema.parse(res.json()).error).toBe('unauthorized');
    });

    it('answers 401 to a wrong token, a token prefix, another scheme, and does nothing', async () => {
      const wrong = [`Bearer ${TOKENS[0]}x`, `Bearer ${TOKENS[0].slice(0, -1)}`, `Basic ${TOKENS[0]}`, 'Bearer', `${TOKENS[0]}`];
      for (const authorization of wrong) {
        const res = await post(seedRequest({ runId: 'wrong-token' }), { authorization });
        expect(res.statusCode, authorization).toBe(401);
        expect(res.headers['www-authenticate']).toMatch(/error="invalid_token"/);
      }
      expect(await api.producer.status('wrong-token')).toBeUndefined();
    });

    it('accepts every token listed in API_TOKENS', async () => {
      const res = await api.app.inject({ method: 'GET', url: '/v1/list-sends?limit=1', headers: { authorization: `Bearer ${TOKENS[1]}` } });
      expect(res.statusCode).toBe(200);
    });

    it('never writes the token to the request log', async () => {
      await get('/v1/list-sends?limit=1');
      const text = JSON.stringify(api.logs.lines());
      expect(text).toContain('/v1/list-sends');
      expect(text).not.toContain(TOKENS[0]);
    });

    it('leaves the probes, the metrics and the API description open', async () => {
      for (const url of ['/healthz', '/readyz', '/metrics', '/openapi.json']) {
        expect((await api.app.inject({ method: 'GET', url })).statusCode, url).toBe(200);
      }
    });
  });

  describe('probes', () => {
    it('GET /healthz says the process is up', async () => {
      const res = await api.app.inject({ method: 'GET', url: '/healthz' });
      expect(res.json()).toEqual({ status: 'ok' });
    });

    it('GET /readyz says Redis answers', async () => {
      const res = await api.app.inject({ method: 'GET', url: '/readyz' });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({ status: 'ready' });
    });
  });
});
