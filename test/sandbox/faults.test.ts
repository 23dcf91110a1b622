import { request } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FaultRule, Sandbox } from '../../src/sandbox/index.js';
import {
  bodyOf,
  createSendBody,
  envelope,
  faultOf,
  importResultsBody,
  login,
  pollUntil,
  retrieveBody,
  soap,
  startSandbox,
  tokenRequest,
  type Login,
} from './helpers.js';

// undici's codes: a TCP reset is ECONNRESET, a plain close before the answer is UND_ERR_SOCKET.
const SOCKET_ERROR = /^(ECONNRESET|UND_ERR_SOCKET)$/;
const TIMED_OUT = /^(TimeoutError|AbortError)$/;

describe('sandbox fault injection on SOAP calls', () => {
  let sb: Sandbox;
  let auth: Login;

  beforeEach(async () => {
    sb = await startSandbox();
    auth = await login(sb);
  });
  afterEach(() => sb.close());

  const createSend = (opts: { signal?: AbortSignal } = {}) => soap(sb, 'Create', envelope(createSendBody('123', '123'), auth), opts);
  const inject = (rule: Omit<FaultRule, 'operation'> & Partial<Pick<FaultRule, 'operation'>>) =>
    sb.faults.inject({ operation: 'Create', objectType: 'Send', ...rule });
  const lastCall = () => sb.calls().at(-1);

  it('server-fault: HTTP 500 soap:Server with apifault Code 2 and nothing committed', async () => {
    inject({ kind: 'server-fault' });
    const reply = await createSend();
    expect(reply.status).toBe(500);
    expect(reply.contentType).toMatch(/^text\/xml/);
    const fault = faultOf(reply);
    expect(fault.faultcode).toBe('soap:Server');
    expect(fault.detail).toEqual({ apifault: { Code: '2', Message: 'An unexpected error occurred' } });
    expect(reply.text).toContain('<apifault xmlns="urn:fault.partner.exacttarget.com"');
    expect(sb.state.sends).toHaveLength(0);
    expect(lastCall()).toMatchObject({ operation: 'Create', objectType: 'Send', httpStatus: 500, result: 'fault', injected: 'server-fault' });
  });

  it('server-fault with another documented apifault code', async () => {
    inject({ kind: 'server-fault', apiFaultCode: 9 });
    expect((faultOf(await createSend()).detail as { apifault: { Code: string } }).apifault.Code).toBe('9');
  });

  it('client-fault: soap:Client and nothing committed', async () => {
    inject({ kind: 'client-fault', faultString: 'Refused for the test' });
    const reply = await createSend();
    expect(faultOf(reply)).toMatchObject({ faultcode: 'soap:Client', faultstring: 'Refused for the test' });
    expect(sb.state.sends).toHaveLength(0);
  });

  it('html-502: a gateway page, before the operation runs', async () => {
    inject({ kind: 'html-502' });
    const reply = await createSend();
    expect(reply.status).toBe(502);
    expect(reply.contentType).toMatch(/^text\/html/);
    expect(reply.text).toContain('502 Bad Gateway');
    expect(sb.state.sends).toHaveLength(0);
  });

  it('html-502 afterCommit: a gateway page after the send was created', async () => {
    inject({ kind: 'html-502', afterCommit: true });
    expect((await createSend()).status).toBe(502);
    expect(sb.state.sends).toHaveLength(1);
  });

  it('throttle: SFMC\'s documented HTTP 500 "Rate Limited" fault envelope, nothing committed', async () => {
    inject({ kind: 'throttle' });
    const reply = await createSend();
    expect(reply.status).toBe(500);
    expect(reply.contentType).toMatch(/^text\/xml/);
    const header = reply.envelope?.['Header'] as Record<string, unknown>;
    expect(header['Action']).toBe('http://schemas.xmlsoap.org/ws/2004/08/addressing/fault');
    expect(header['Security']).toMatchObject({ Timestamp: { Created: expect.any(String), Expires: expect.any(String) } });
    const fault = faultOf(reply);
    expect(fault).toMatchObject({ faultcode: 'soap:Server', faultstring: 'Rate Limited' });
    expect(fault.detail).toEqual({ apifault: { Code: '17', Message: 'Rate Limited' } });
    expect(sb.state.sends).toHaveLength(0);
    expect(lastCall()).toMatchObject({ httpStatus: 500, result: 'fault', injected: 'throttle' });
  });

  it('throttle bare: HTTP 500 with an empty text/plain body', async () => {
    inject({ kind: 'throttle', bare: true });
    const reply = await createSend();
    expect(reply.status).toBe(500);
    expect(reply.contentType).toMatch(/^text\/plain/);
    expect(reply.text).toBe('');
    expect(sb.state.sends).toHaveLength(0);
  });

  it('db-timeout: a Retrieve answered HTTP 200 with OverallStatus "Error: Timeout expired ..."', async () => {
    sb.faults.inject({ operation: 'Retrieve', objectType: 'ImportResultsSummary', kind: 'db-timeout' });
    const reply = await soap(sb, 'Retrieve', envelope(importResultsBody('1'), auth));
    expect(reply.status).toBe(200);
    const body = bodyOf(reply, 'RetrieveResponseMsg');
    expect(body['OverallStatus']).toMatch(/^Error: Timeout expired\.\s+The timeout period elapsed prior to completion of the operation/);
    expect(body['Results']).toBeUndefined();
    expect(lastCall()).toMatchObject({ httpStatus: 200, injected: 'db-timeout' });
    expect((await soap(sb, 'Retrieve', envelope(importResultsBody('1'), auth))).text).not.toContain('Timeout expired');
  });

  it('db-deadlock: a Retrieve answered HTTP 200 with the deadlock-victim status', async () => {
    sb.faults.inject({ operation: 'Retrieve', kind: 'db-deadlock' });
    const body = bodyOf(await soap(sb, 'Retrieve', envelope(retrieveBody('List', ['ID']), auth)), 'RetrieveResponseMsg');
    expect(body['OverallStatus']).toMatch(/deadlocked on lock resources.*Rerun the transaction\.$/);
  });

  it('token-expired: Token Expired although the token is valid, and the next call works', async () => {
    inject({ kind: 'token-expired' });
    expect(faultOf(await createSend())).toMatchObject({ faultcode: 'q0:Security', faultstring: 'Token Expired' });
    expect(sb.state.sends).toHaveLength(0);
    expect(bodyOf(await createSend(), 'CreateResponse')['OverallStatus']).toBe('OK');
  });

  it('reset: the connection is reset before anything is committed', async () => {
    inject({ kind: 'reset' });
    await expect(createSend()).rejects.toMatchObject({ code: expect.stringMatching(SOCKET_ERROR) });
    expect(sb.state.sends).toHaveLength(0);
    expect(lastCall()).toMatchObject({ httpStatus: null, result: 'dropped', injected: 'reset' });
  });

  it('drop-after-commit: the send is created, then the connection closes unanswered', async () => {
    inject({ kind: 'drop-after-commit' });
    await expect(createSend()).rejects.toMatchObject({ code: expect.stringMatching(SOCKET_ERROR) });
    expect(sb.state.sends).toHaveLength(1);
    expect(lastCall()).toMatchObject({ httpStatus: null, result: 'dropped', injected: 'drop-after-commit' });
  });

  it('delay: the send is committed at once and the answer outlives a shorter client timeout', async () => {
    inject({ kind: 'delay', delayMs: 1500 });
    const started = Date.now();
    await expect(createSend({ signal: AbortSignal.timeout(100) })).rejects.toMatchObject({ name: expect.stringMatching(TIMED_OUT) });
    expect(Date.now() - started).toBeLessThan(1500);
    expect(sb.state.sends).toHaveLength(1);
  });

  it('delay: a patient client gets the normal answer', async () => {
    inject({ kind: 'delay', delayMs: 50 });
    expect(bodyOf(await createSend(), 'CreateResponse')['OverallStatus']).toBe('OK');
  });

  it('fires on the onCall-th matching call for `times` calls, counting from when the rule was added', async () => {
    await createSend();
    inject({ kind: 'server-fault', onCall: 2, times: 2 });
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await createSend()).status);
    expect(statuses).toEqual([200, 500, 500, 200]);
    expect(sb.faults.list()[0]).toMatchObject({ seen: 4, fired: 2 });
  });

  it('matches on the object type: a Retrieve rule for ImportResultsSummary leaves List alone', async () => {
    sb.faults.inject({ operation: 'Retrieve', objectType: 'ImportResultsSummary', kind: 'throttle' });
    expect((await soap(sb, 'Retrieve', envelope(retrieveBody('List', ['ID']), auth))).status).toBe(200);
    expect((await soap(sb, 'Retrieve', envelope(importResultsBody('1'), auth))).status).toBe(500);
  });

  it('does not count calls that fail authentication', async () => {
    inject({ kind: 'server-fault' });
    const stranger = await soap(sb, 'Create', envelope(createSendBody('123', '123'), { mode: 'oauth', token: 'bad' }));
    expect(faultOf(stranger).faultstring).toBe('Login failed');
    expect((await createSend()).status).toBe(500);
  });

  it('stops firing after clear() or remove()', async () => {
    const id = inject({ kind: 'throttle', times: 5 });
    expect(sb.faults.remove(id)).toBe(true);
    expect((await createSend()).status).toBe(200);
    inject({ kind: 'throttle', times: 5 });
    sb.faults.clear();
    expect((await createSend()).status).toBe(200);
  });

  it('refuses an invalid rule', () => {
    expect(() => sb.faults.inject({ operation: 'Create', kind: 'delay' })).toThrow(/delayMs/);
    expect(() => sb.faults.inject({ operation: 'token', kind: 'token-expired' })).toThrow(/token endpoint/);
    expect(() => sb.faults.inject({ operation: 'Create', kind: 'server-fault', onCall: 0 })).toThrow();
    expect(() => sb.faults.inject({ operation: 'Create', kind: 'db-timeout' })).toThrow(/Retrieve rules only/);
    expect(() => sb.faults.inject({ operation: 'Create', kind: 'server-fault', bare: true })).toThrow(/bare is for throttle/);
  });
});

describe('sandbox fault injection on the token endpoint', () => {
  let sb: Sandbox;

  beforeEach(async () => {
    sb = await startSandbox();
  });
  afterEach(() => sb.close());

  it('server-fault: HTTP 500 with a JSON error body', async () => {
    sb.faults.inject({ operation: 'token', kind: 'server-fault' });
    const reply = await tokenRequest(sb);
    expect(reply.status).toBe(500);
    expect(reply.contentType).toMatch(/^application\/json/);
    expect(reply.json['error']).toBe('server_error');
    expect((await tokenRequest(sb)).status).toBe(200);
  });

  it('reset: the connection is reset and no token comes back', async () => {
    sb.faults.inject({ operation: 'token', kind: 'reset' });
    await expect(tokenRequest(sb)).rejects.toMatchObject({ code: expect.stringMatching(SOCKET_ERROR) });
    expect(sb.calls().at(-1)).toMatchObject({ operation: 'token', result: 'dropped', injected: 'reset' });
  });

  it('delay: the token arrives late', async () => {
    sb.faults.inject({ operation: 'token', kind: 'delay', delayMs: 300 });
    await expect(
      request(sb.tokenUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ grant_type: 'client_credentials', client_id: 'sandbox', client_secret: 'sandbox-secret' }),
        signal: AbortSignal.timeout(50),
      }),
    ).rejects.toMatchObject({ name: expect.stringMatching(TIMED_OUT) });
    const call = await pollUntil(() => sb.calls().find((c) => c.injected === 'delay'));
    expect(call).toMatchObject({ operation: 'token', httpStatus: 200, result: 'ok' });
  });
});
