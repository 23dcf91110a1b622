import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { configProblems } from './helpers/config.js';

function problems(env: Record<string, string>): string[] {
  return configProblems(env, { requireSfmc: true });
}

describe('loading configuration from the environment', () => {
  it('derives the auth and SOAP endpoints from SFMC_SUBDOMAIN', () => {
    const c = loadConfig({ SFMC_SUBDOMAIN: 'mc123', SFMC_CLIENT_ID: 'id', SFMC_CLIENT_SECRET: 's3cret' });
    expect(c.sfmc?.auth).toMatchObject({ mode: 'oauth2', authUrl: 'https://mc123.auth.marketingcloudapis.com', clientId: 'id' });
    expect(c.sfmc?.soapUrl).toBeUndefined(); // taken from the token response
    expect(c.queuePrefix).toBe('{list-send}');
    expect(c.steps).toEqual({ attempts: 5, backoffMs: 10_000 });
  });

  it('uses WS-Security when no client id is set', () => {
    const c = loadConfig({ SFMC_SUBDOMAIN: 'mc123', SFMC_USERNAME: 'u', SFMC_PASSWORD: 'p' });
    expect(c.sfmc).toMatchObject({ auth: { mode: 'wsse', username: 'u' }, soapUrl: 'https://mc123.soap.marketingcloudapis.com/Service.asmx' });
  });

  it('accepts plain http only for loopback hosts', () => {
    expect(problems({ SFMC_AUTH_URL: 'http://127.0.0.1:9443', SFMC_CLIENT_ID: 'a', SFMC_CLIENT_SECRET: 'b' })).toEqual([]);
    expect(problems({ SFMC_AUTH_URL: 'http://auth.example.com', SFMC_CLIENT_ID: 'a', SFMC_CLIENT_SECRET: 'b' })[0]).toMatch(
      /^SFMC_AUTH_URL: must use https:\/\//,
    );
  });

  it("passes SFMC_ALLOW_HTTP_HOSTS to the SOAP client, which checks the token's soap_instance_url with it", () => {
    const base = { SFMC_AUTH_URL: 'http://sandbox:9443', SFMC_CLIENT_ID: 'a', SFMC_CLIENT_SECRET: 'b' };
    expect(loadConfig({ ...base, SFMC_ALLOW_HTTP_HOSTS: ' Sandbox , other ' }).sfmc?.allowHttpHosts).toEqual(['sandbox', 'other']);
    expect(loadConfig({ SFMC_SUBDOMAIN: 'mc1', SFMC_CLIENT_ID: 'a', SFMC_CLIENT_SECRET: 'b' }).sfmc?.allowHttpHosts).toBeUndefined();
  });

  it('names the variable and never echoes a secret value', () => {
    const secret = 'very-secret-value-123';
    const list = problems({ SFMC_CLIENT_SECRET: secret, SFMC_TIMEOUT_MS: secret, SFMC_PASSWORD: secret });
    expect(list.join('\n')).not.toContain(secret);
    expect(list.some((p) => p.startsWith('SFMC_TIMEOUT_MS:'))).toBe(true);
  });

  it('says which credentials are missing when a worker needs them', () => {
    expect(problems({})[0]).toMatch(/SFMC_CLIENT_ID and SFMC_CLIENT_SECRET/);
    expect(problems({ SFMC_CLIENT_ID: 'x', SFMC_SUBDOMAIN: 'a' })).toEqual(['SFMC_CLIENT_SECRET: required when SFMC_CLIENT_ID is set']);
  });

  it('reads the account-wide SOAP call budget and throttle pause, and refuses non-positive ones, naming them', () => {
    const base = { SFMC_SUBDOMAIN: 'mc123', SFMC_CLIENT_ID: 'id', SFMC_CLIENT_SECRET: 's' };
    expect(loadConfig(base).budget).toEqual({ callsPerMinute: 1800, throttlePauseMs: 30_000 });
    expect(loadConfig({ ...base, SFMC_CALLS_PER_MINUTE: '600', THROTTLE_PAUSE_MS: '5000' }).budget).toEqual({ callsPerMinute: 600, throttlePauseMs: 5000 });
    expect(problems({ ...base, SFMC_CALLS_PER_MINUTE: '0' })[0]).toMatch(/^SFMC_CALLS_PER_MINUTE: /);
    expect(problems({ ...base, THROTTLE_PAUSE_MS: '-1' })[0]).toMatch(/^THROTTLE_PAUSE_MS: /);
  });

  it("reads start-import's grace after an unanswered Perform start, 5 minutes by default, and refuses a bad one, naming it", () => {
    const base = { SFMC_SUBDOMAIN: 'mc123', SFMC_CLIENT_ID: 'id', SFMC_CLIENT_SECRET: 's' };
    expect(loadConfig(base).startConfirmGraceMs).toBe(300_000);
    expect(loadConfig({ ...base, START_CONFIRM_GRACE_MS: '60000' }).startConfirmGraceMs).toBe(60_000);
    expect(problems({ ...base, START_CONFIRM_GRACE_MS: 'soon' })[0]).toMatch(/^START_CONFIRM_GRACE_MS: must be a number/);
  });

  it('checks the Email unless SFMC_CHECK_EMAIL is false, and refuses other values, naming it', () => {
    const base = { SFMC_SUBDOMAIN: 'mc123', SFMC_CLIENT_ID: 'id', SFMC_CLIENT_SECRET: 's' };
    expect(loadConfig(base).checkEmail).toBe(true);
    expect(loadConfig({ ...base, SFMC_CHECK_EMAIL: 'false' }).checkEmail).toBe(false);
    expect(problems({ ...base, SFMC_CHECK_EMAIL: 'no' })).toEqual(['SFMC_CHECK_EMAIL: must be true or false']);
  });

  it('replaces OAuth2 tokens 60 s before expiry unless SFMC_TOKEN_REFRESH_MARGIN_MS says otherwise, and refuses a bad margin, naming it', () => {
    const base = { SFMC_SUBDOMAIN: 'mc123', SFMC_CLIENT_ID: 'id', SFMC_CLIENT_SECRET: 's' };
    expect(loadConfig(base).sfmc?.tokenRefreshMarginMs).toBe(60_000);
    expect(loadConfig({ ...base, SFMC_TOKEN_REFRESH_MARGIN_MS: '300000' }).sfmc?.tokenRefreshMarginMs).toBe(300_000);
    expect(loadConfig({ ...base, SFMC_TOKEN_REFRESH_MARGIN_MS: '0' }).sfmc?.tokenRefreshMarginMs).toBe(0);
    expect(problems({ ...base, SFMC_TOKEN_REFRESH_MARGIN_MS: 'soon' })[0]).toMatch(/^SFMC_TOKEN_REFRESH_MARGIN_MS: must be a number/);
    expect(problems({ ...base, SFMC_TOKEN_REFRESH_MARGIN_MS: '-1' })).toEqual(['SFMC_TOKEN_REFRESH_MARGIN_MS: must be 0 or more']);
    expect(problems({ ...base, SFMC_TOKEN_REFRESH_MARGIN_MS: '1079000' })[0]).toMatch(/^SFMC_TOKEN_REFRESH_MARGIN_MS: must be at most 900000/);
  });
});
