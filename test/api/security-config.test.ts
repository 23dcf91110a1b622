import { describe, expect, it } from 'vitest';
import { configuredSecrets } from '../../src/cli/serve.js';
import { loadConfig } from '../../src/config.js';
import { configProblems } from '../helpers/config.js';

/** The API's security settings, validated at boot: errors name the variable, never the value. */

describe('the API security settings', () => {
  it('refuses a DASHBOARD_PASSWORD under 12 characters, naming the variable and not the value', () => {
    const short = 'eleven-char';
    expect(short).toHaveLength(11);
    const list = configProblems({ DASHBOARD_USER: 'ops', DASHBOARD_PASSWORD: short });
    expect(list).toEqual(['DASHBOARD_PASSWORD: must be at least 12 characters (e.g. `openssl rand -hex 16`)']);
    expect(list.join('\n')).not.toContain(short);
    expect(configProblems({ DASHBOARD_USER: 'ops', DASHBOARD_PASSWORD: 'twelve-chars' })).toEqual([]);
  });

  it('refuses a METRICS_TOKEN under 16 characters', () => {
    const list = configProblems({ METRICS_TOKEN: 'short-token' });
    expect(list).toEqual(['METRICS_TOKEN: must be at least 16 characters (e.g. `openssl rand -hex 32`)']);
    expect(loadConfig({ METRICS_TOKEN: 'metrics-token-0123456789' }).api.metricsToken).toBe('metrics-token-0123456789');
    expect(loadConfig({}).api.metricsToken).toBeUndefined();
  });

  it('defaults to 120 requests a minute per token and 10 failed logins a minute per client', () => {
    expect(loadConfig({}).api).toMatchObject({ rateLimitPerMinute: 120, loginFailuresPerMinute: 10 });
    expect(loadConfig({ API_RATE_LIMIT_PER_MINUTE: '30', DASHBOARD_LOGIN_FAILURES_PER_MINUTE: '5' }).api).toMatchObject({
      rateLimitPerMinute: 30,
      loginFailuresPerMinute: 5,
    });
    expect(configProblems({ API_RATE_LIMIT_PER_MINUTE: '0' })).toEqual(['API_RATE_LIMIT_PER_MINUTE: must be positive']);
    expect(configProblems({ DASHBOARD_LOGIN_FAILURES_PER_MINUTE: 'lots' })).toEqual(['DASHBOARD_LOGIN_FAILURES_PER_MINUTE: must be a number']);
  });

  it('lists every configured secret value for the dashboard redactor', () => {
    const config = loadConfig({
      API_TOKENS: 'api-token-aaaaaaaaaaaaaa,api-token-bbbbbbbbbbbbbb',
      DASHBOARD_USER: 'ops',
      DASHBOARD_PASSWORD: 'dashboard-password-1',
      METRICS_TOKEN: 'metrics-token-0123456789',
      SFMC_AUTH_URL: 'http://127.0.0.1:9443',
      SFMC_CLIENT_ID: 'client',
      SFMC_CLIENT_SECRET: 'client-secret-value',
      SFMC_SFTP_HOST: 'sftp.example.com',
      SFMC_SFTP_USERNAME: 'ftp-user',
      SFMC_SFTP_PASSWORD: 'sftp-password-value',
    });
    expect(configuredSecrets(config).sort()).toEqual(
      ['api-token-aaaaaaaaaaaaaa', 'api-token-bbbbbbbbbbbbbb', 'dashboard-password-1', 'metrics-token-0123456789', 'client-secret-value', 'sftp-password-value'].sort(),
    );
  });
});
