import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedRequest } from '../helpers/requests.js';
import { AUTH, startApi, type ApiHarness } from './harness.js';

/** /v1/schedules and /v1/triggers through inject(), on real Redis with no workers running. */
describe('the schedules and triggers API', () => {
  let api: ApiHarness;
  beforeAll(() => {
    api = startApi({ label: 'api-automation' });
  });
  afterAll(async () => {
    await api?.close();
  });

  const { runId: _r, ...request } = seedRequest();
  const call = (method: 'GET' | 'PUT' | 'DELETE', url: string, payload?: object, headers: Record<string, string> = AUTH) =>
    api.app.inject({ method, url, headers, ...(payload ? { payload } : {}) });

  it('creates, lists and removes a schedule, with the same request schema as a run', async () => {
    expect((await call('PUT', '/v1/schedules/morning', { cron: '0 9 * * MON', tz: 'Europe/Paris', request })).statusCode).toBe(200);
    const listed = await call('GET', '/v1/schedules');
    expect(listed.statusCode).toBe(200);
    expect(listed.json().schedules).toMatchObject([{ name: 'morning', cron: '0 9 * * MON', tz: 'Europe/Paris', overlap: 'skip', state: { skipped: 0 } }]);
    expect((await call('DELETE', '/v1/schedules/morning')).statusCode).toBe(204);
    expect((await call('DELETE', '/v1/schedules/morning')).statusCode).toBe(404);
    expect((await call('GET', '/v1/schedules')).json().schedules).toEqual([]);
  });

  it('answers 400 naming the field for a bad schedule or trigger, and 401 without a token', async () => {
    const withRunId = await call('PUT', '/v1/schedules/x', { every: '10m', request: { ...request, runId: 'fixed' } });
    expect(withRunId.statusCode).toBe(400);
    expect(withRunId.json().problems).toEqual([{ path: 'request.runId', message: 'must not be given: each firing or file gets its own runId' }]);
    const badList = await call('PUT', '/v1/schedules/x', { every: '10m', request: { ...request, list: {} } });
    expect(badList.statusCode).toBe(400);
    expect(badList.json().problems[0].path).toBe('request.list');
    const badName = await call('PUT', '/v1/triggers/bad%20name', { sftpDir: '/Import', request });
    expect(badName.statusCode).toBe(400);
    expect(badName.json().problems[0].path).toBe('name');
    expect((await call('GET', '/v1/triggers', undefined, {})).statusCode).toBe(401);
  });

  it('creates, lists and removes a trigger', async () => {
    const { import: imp, ...rest } = request;
    const { fileSpec: _f, ...importWithoutFileSpec } = imp;
    const res = await call('PUT', '/v1/triggers/drop', { sftpDir: '/Import', pattern: 'subscribers_*.csv', settle: '30s', request: { ...rest, import: importWithoutFileSpec } });
    expect(res.statusCode).toBe(200);
    expect((await call('GET', '/v1/triggers')).json().triggers).toMatchObject([
      { name: 'drop', source: { kind: 'sftp', dir: '/Import' }, pattern: 'subscribers_*.csv', settleMs: 30_000, intervalMs: 60_000, files: [] },
    ]);
    expect((await call('DELETE', '/v1/triggers/drop')).statusCode).toBe(204);
  });

  it('lists the routes in OpenAPI', async () => {
    const doc = (await api.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/v1/schedules', '/v1/schedules/{name}', '/v1/triggers', '/v1/triggers/{name}']));
    expect(doc.components.schemas.ScheduleInput.properties).toHaveProperty('cron');
    expect(doc.components.schemas.TriggerInput.properties).toHaveProperty('settle');
  });
});
