import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Sandbox } from '../../src/sandbox/index.js';
import {
  bodyOf,
  envelope,
  faultOf,
  retrieveBody,
  SECEXT_NS,
  soap,
  startSandbox,
  testClock,
  tokenRequest,
  type TestClock,
} from './helpers.js';

const listRetrieve = retrieveBody('List', ['ID']);

describe('sandbox authentication', () => {
  let sb: Sandbox;
  let clock: TestClock;

  beforeEach(async () => {
    clock = testClock();
    sb = await startSandbox({ now: clock.now, tokenTtlSeconds: 1079 });
  });
  afterEach(() => sb.close());

  it('issues a bearer token shaped like SFMC /v2/token', async () => {
    const reply = await tokenRequest(sb);
    expect(reply.status).toBe(200);
    expect(reply.contentType).toMatch(/^application\/json/);
    expect(reply.json).toMatchObject({
      token_type: 'Bearer',
      expires_in: 1079,
      soap_instance_url: `${sb.url}/`,
      rest_instance_url: `${sb.url}/`,
    });
    expect(reply.json['access_token']).toMatch(/^[\w-]{20,}$/);
    expect(typeof reply.json['scope']).toBe('string');
    const second = await tokenRequest(sb);
    expect(second.json['access_token']).not.toBe(reply.json['access_token']);
  });

  it('refuses a wrong client secret with 401 invalid_client', async () => {
    const reply = await tokenRequest(sb, { client_secret: 'nope' });
    expect(reply.status).toBe(401);
    expect(reply.json).toEqual({
      error: 'invalid_client',
      error_description: 'Client authentication failed.',
      error_uri: 'https://developer.salesforce.com/docs',
    });
  });

  it('refuses a wrong client id and a wrong account id with 401', async () => {
    expect((await tokenRequest(sb, { client_id: 'other' })).status).toBe(401);
    expect((await tokenRequest(sb, { account_id: '999' })).status).toBe(401);
  });

  it('refuses grant types other than client_credentials', async () => {
    const reply = await tokenRequest(sb, { grant_type: 'password' });
    expect(reply.status).toBe(400);
    expect(reply.json['error']).toBe('unsupported_grant_type');
  });

  it('answers an expired token with the exact Token Expired Security fault', async () => {
    const token = String((await tokenRequest(sb)).json['access_token']);
    clock.advance(1079 * 1000);
    const reply = await soap(sb, 'Retrieve', envelope(listRetrieve, { mode: 'oauth', token }));
    expect(reply.status).toBe(500);
    expect(reply.contentType).toMatch(/^text\/xml/);
    expect(reply.text).toContain(`<faultcode xmlns:q0="${SECEXT_NS}">q0:Security</faultcode>`);
    expect(reply.text).toContain('<faultstring>Token Expired</faultstring>');
    expect(reply.text).toContain(`<faultactor>${sb.soapUrl}</faultactor>`);
    expect(reply.text).not.toContain('<detail');
  });

  it('accepts a token until just before it expires', async () => {
    const token = String((await tokenRequest(sb)).json['access_token']);
    clock.advance(1079 * 1000 - 1);
    const reply = await soap(sb, 'Retrieve', envelope(listRetrieve, { mode: 'oauth', token }));
    expect(bodyOf(reply, 'RetrieveResponseMsg')['OverallStatus']).toBe('OK');
  });

  it('answers an unknown token with Login failed', async () => {
    const reply = await soap(sb, 'Retrieve', envelope(listRetrieve, { mode: 'oauth', token: 'not-a-token' }));
    expect(reply.status).toBe(500);
    expect(faultOf(reply)).toMatchObject({ faultcode: 'q0:Security', faultstring: 'Login failed' });
  });

  it('accepts a WS-Security UsernameToken and refuses a wrong password', async () => {
    const ok = await soap(sb, 'Retrieve', envelope(listRetrieve, { mode: 'wsse', username: 'sandbox', password: 'sandbox-password' }));
    expect(bodyOf(ok, 'RetrieveResponseMsg')['OverallStatus']).toBe('OK');
    const bad = await soap(sb, 'Retrieve', envelope(listRetrieve, { mode: 'wsse', username: 'sandbox', password: 'wrong' }));
    expect(faultOf(bad)).toMatchObject({ faultcode: 'q0:Security', faultstring: 'Login failed' });
  });

  it('refuses a request with no security header', async () => {
    const xml =
      '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header/>' +
      `<s:Body>${listRetrieve}</s:Body></s:Envelope>`;
    const reply = await soap(sb, 'Retrieve', xml);
    expect(reply.status).toBe(500);
    expect(faultOf(reply).faultcode).toBe('q0:Security');
  });

  it('logs the auth mode of each call', async () => {
    await tokenRequest(sb);
    await soap(sb, 'Retrieve', envelope(listRetrieve, { mode: 'wsse', username: 'sandbox', password: 'sandbox-password' }));
    expect(sb.calls().map((c) => [c.operation, c.auth, c.httpStatus])).toEqual([
      ['token', 'client-credentials', 200],
      ['Retrieve', 'wsse', 200],
    ]);
  });
});
