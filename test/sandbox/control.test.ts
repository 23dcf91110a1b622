import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runSandbox } from '../../src/sandbox/cli.js';
import type { CallRecord, Sandbox, SandboxStateSnapshot } from '../../src/sandbox/index.js';
import {
  accessToken,
  bodyOf,
  createImportDefinitionBody,
  createSendBody,
  envelope,
  getJson,
  importResultsBody,
  login,
  postJson,
  resultsOf,
  soap,
  startImport,
  startSandbox,
  testClock,
  tokenRequest,
  type Login,
  type TestClock,
} from './helpers.js';

describe('sandbox inspection endpoints', () => {
  let sb: Sandbox;
  let clock: TestClock;
  let token: string;
  let auth: Login;

  beforeEach(async () => {
    clock = testClock();
    sb = await startSandbox({ now: clock.now, import: { registerDelayMs: 0, durationMs: 100 } });
    token = await accessToken(sb);
    auth = { mode: 'oauth', token };
  });
  afterEach(() => sb.close());

  const createSend = () => soap(sb, 'Create', envelope(createSendBody('123', '123'), auth));

  it('GET /__sandbox/state shows the account and never a secret', async () => {
    await createSend();
    await soap(sb, 'Create', envelope(createSendBody('123', '123'), { mode: 'wsse', username: 'sandbox', password: 'sandbox-password' }));
    const { status, json, text } = await getJson<SandboxStateSnapshot & { faults: unknown[] }>(`${sb.url}/__sandbox/state`);
    expect(status).toBe(200);
    expect(json.lists).toEqual([{ id: '123', name: 'Sample_List' }]);
    expect(json.emails).toEqual([{ id: '123', name: 'Sample Email', subject: 'A sample subject' }]);
    expect(json.sends).toHaveLength(2);
    expect(json.faults).toEqual([]);
    for (const secret of [token, 'sandbox-secret', 'sandbox-password']) expect(text).not.toContain(secret);
  });

  it('GET /__sandbox/calls lists calls in order and never a secret', async () => {
    await createSend();
    await soap(sb, 'Create', envelope(createSendBody('123', '123'), { mode: 'oauth', token: 'wrong-token' }));
    const { json, text } = await getJson<CallRecord[]>(`${sb.url}/__sandbox/calls`);
    expect(json.map((c) => [c.seq, c.operation, c.objectType ?? null, c.result])).toEqual([
      [1, 'token', null, 'ok'],
      [2, 'Create', 'Send', 'ok'],
      [3, 'Create', 'Send', 'fault'],
    ]);
    expect(json[2]?.fault).toBe('q0:Security: Login failed');
    for (const secret of [token, 'wrong-token', 'sandbox-secret']) expect(text).not.toContain(secret);
  });

  it('POST and DELETE /__sandbox/faults add and clear rules', async () => {
    const added = await postJson(`${sb.url}/__sandbox/faults`, { operation: 'Create', objectType: 'Send', kind: 'throttle', times: 3 });
    expect(added.status).toBe(201);
    expect(added.json['id']).toMatch(/^fault-\d+$/);
    expect((await createSend()).status).toBe(500);
    expect((await postJson(`${sb.url}/__sandbox/faults`, undefined, 'DELETE')).status).toBe(200);
    expect((await createSend()).status).toBe(200);
    expect(sb.faults.list()).toEqual([]);
  });

  it('DELETE /__sandbox/faults/:id removes one rule', async () => {
    const id = sb.faults.inject({ operation: 'Create', kind: 'throttle' });
    expect((await postJson(`${sb.url}/__sandbox/faults/${id}`, undefined, 'DELETE')).status).toBe(200);
    expect((await postJson(`${sb.url}/__sandbox/faults/${id}`, undefined, 'DELETE')).status).toBe(404);
  });

  it('POST /__sandbox/faults refuses an invalid rule with 400', async () => {
    const reply = await postJson(`${sb.url}/__sandbox/faults`, { operation: 'Create', kind: 'explode' });
    expect(reply.status).toBe(400);
    expect(String(reply.json['error'])).toMatch(/kind/);
  });

  it('POST /__sandbox/import-behaviour changes the next imports', async () => {
    const set = await postJson(`${sb.url}/__sandbox/import-behaviour`, { outcome: 'Error', rows: 5 });
    expect(set.status).toBe(200);
    const taskId = await startImport(sb, auth, 'VIA_HTTP');
    clock.advance(100);
    const [summary] = resultsOf(bodyOf(await soap(sb, 'Retrieve', envelope(importResultsBody(taskId), auth)), 'RetrieveResponseMsg'));
    expect(summary).toMatchObject({ ImportStatus: 'Error', TotalRows: '5' });
    expect((await postJson(`${sb.url}/__sandbox/import-behaviour`, { outcome: 'Maybe' })).status).toBe(400);
  });

  it('POST /__sandbox/lists and /emails add records', async () => {
    const list = await postJson(`${sb.url}/__sandbox/lists`, { id: 555, name: 'From HTTP' });
    expect(list).toMatchObject({ status: 201, json: { id: '555', name: 'From HTTP' } });
    const email = await postJson(`${sb.url}/__sandbox/emails`, { name: 'Generated id' });
    expect(email.status).toBe(201);
    expect(sb.state.emails.map((e) => e.name)).toContain('Generated id');
  });

  it('POST /__sandbox/reset restores the seed, clears calls and faults, and keeps tokens valid', async () => {
    await createSend();
    sb.addList({ name: 'Extra' });
    sb.faults.inject({ operation: 'Retrieve', kind: 'throttle' });
    expect((await postJson(`${sb.url}/__sandbox/reset`, {})).status).toBe(200);
    expect(sb.state).toEqual({
      lists: [{ id: '123', name: 'Sample_List' }],
      emails: [{ id: '123', name: 'Sample Email', subject: 'A sample subject' }],
      importDefinitions: {},
      imports: {},
      sends: [],
    });
    expect(sb.calls()).toEqual([]);
    expect(sb.faults.list()).toEqual([]);
    expect(bodyOf(await createSend(), 'CreateResponse')['OverallStatus']).toBe('OK');
  });

  it('answers unknown control paths with 404', async () => {
    expect((await postJson(`${sb.url}/__sandbox/nothing`, {})).status).toBe(404);
  });
});

describe('runSandbox', () => {
  it('prints the endpoints, the seed and the env vars that point the service at it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sandbox-seed-'));
    const seedFile = join(dir, 'seed.json');
    writeFileSync(seedFile, JSON.stringify({ lists: [{ id: 900, name: 'Seeded' }], emails: [{ id: '901', name: 'Seeded Email' }] }));
    let printed = '';
    const sb = await runSandbox({ port: 0, seedFile, out: (t) => (printed += t) });
    try {
      expect(printed).toContain(`SFMC sandbox listening on ${sb.url}`);
      expect(printed).toContain(sb.soapUrl);
      expect(printed).toContain(sb.tokenUrl);
      expect(printed).toContain(`SFMC_AUTH_URL=${sb.url}\n`);
      expect(printed).toContain('SFMC_CLIENT_ID=sandbox\n');
      expect(printed).toContain('SFMC_CLIENT_SECRET=sandbox-secret\n');
      expect(printed).toContain('SFMC_ACCOUNT_ID=100000\n');
      expect(printed).toContain(`SFMC_SOAP_URL=${sb.soapUrl}\n`);
      expect(sb.state.lists.map((l) => l.id)).toEqual(['123', '900']);
      expect(sb.state.emails.map((e) => e.id)).toEqual(['123', '901']);
    } finally {
      await sb.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a seed file that is not the expected shape', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sandbox-seed-'));
    const seedFile = join(dir, 'seed.json');
    writeFileSync(seedFile, JSON.stringify({ lists: [{ name: 'no id' }] }));
    try {
      await expect(runSandbox({ seedFile, out: () => {} })).rejects.toThrow(/seed file/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('passes the CLI\'s behaviour options to the sandbox (token lifetime, duplicate-key code)', async () => {
    const sb = await runSandbox({ port: 0, tokenTtlSeconds: 60, duplicateKeyErrorCode: 1, out: () => {} });
    try {
      expect((await tokenRequest(sb)).json).toMatchObject({ expires_in: 60 });
      const auth = await login(sb);
      await soap(sb, 'Create', envelope(createImportDefinitionBody('CLI-DUP', '123'), auth));
      const msg = bodyOf(await soap(sb, 'Create', envelope(createImportDefinitionBody('CLI-DUP', '123'), auth)), 'CreateResponse');
      expect(resultsOf(msg)[0]).toMatchObject({ StatusCode: 'Error', ErrorCode: '1' });
    } finally {
      await sb.close();
    }
  });

  it('keeps the default import timing when the CLI passes no timing options', async () => {
    const sb = await runSandbox({ port: 0, out: () => {} });
    try {
      const auth = await login(sb);
      const taskId = await startImport(sb, auth, 'cli-defaults');
      const reply = await soap(sb, 'Retrieve', envelope(importResultsBody(taskId), auth));
      expect(reply.status).toBe(200);
      expect(bodyOf(reply, 'RetrieveResponseMsg')['OverallStatus']).toBe('OK');
    } finally {
      await sb.close();
    }
  });
});
