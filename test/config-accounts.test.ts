import { describe, expect, it } from 'vitest';
import { configuredSecrets } from '../src/cli/serve.js';
import { accountNamesOf, accountPrefix, loadConfig, requireAccounts } from '../src/config.js';
import { configProblems } from './helpers/config.js';

/** SFMC_ACCOUNTS: extra accounts read by the default account's rules from their own SFMC_<NAME>_* variables. */

const DEFAULT = { SFMC_SUBDOMAIN: 'mcdefault', SFMC_CLIENT_ID: 'id', SFMC_CLIENT_SECRET: 'default-secret' };
const EMEA = { SFMC_EMEA_SUBDOMAIN: 'mcemea', SFMC_EMEA_CLIENT_ID: 'emea-id', SFMC_EMEA_CLIENT_SECRET: 'emea-secret-value', SFMC_EMEA_ACCOUNT_ID: '5100' };

function problems(env: Record<string, string>): string[] {
  return configProblems(env, { requireSfmc: true });
}

describe('several SFMC accounts', () => {
  it('reads each named account from its own prefix, beside the unprefixed default', () => {
    const c = loadConfig({ ...DEFAULT, ...EMEA, SFMC_ACCOUNTS: 'emea, us-east', SFMC_US_EAST_AUTH_URL: 'http://127.0.0.1:9443', SFMC_US_EAST_USERNAME: 'u', SFMC_US_EAST_PASSWORD: 'p', SFMC_US_EAST_SOAP_URL: 'http://127.0.0.1:9443/Service.asmx' });
    expect(c.sfmc?.auth).toMatchObject({ authUrl: 'https://mcdefault.auth.marketingcloudapis.com', clientId: 'id' });
    expect(c.accounts.emea?.sfmc?.auth).toMatchObject({ mode: 'oauth2', authUrl: 'https://mcemea.auth.marketingcloudapis.com', clientId: 'emea-id', accountId: '5100' });
    expect(c.accounts['us-east']?.sfmc).toMatchObject({ auth: { mode: 'wsse', username: 'u' }, soapUrl: 'http://127.0.0.1:9443/Service.asmx' });
    expect(accountNamesOf(c)).toEqual(['default', 'emea', 'us-east']);
    expect(accountPrefix('us-east')).toBe('SFMC_US_EAST_');
  });

  it("gives each account its own SFTP settings, checked by the same rules", () => {
    const c = loadConfig({ ...DEFAULT, ...EMEA, SFMC_ACCOUNTS: 'emea', SFMC_EMEA_SFTP_USERNAME: 'ftp', SFMC_EMEA_SFTP_PASSWORD: 'pw', SFMC_EMEA_SFTP_MAX_CONNECTIONS: '2' });
    expect(c.sftp).toBeUndefined();
    expect(c.accounts.emea?.sftp).toMatchObject({ host: 'mcemea.ftp.marketingcloudapis.com', username: 'ftp', maxConnections: 2, dir: '/Import' });
    expect(problems({ ...DEFAULT, ...EMEA, SFMC_ACCOUNTS: 'emea', SFMC_EMEA_SFTP_PASSWORD: 'pw' })).toEqual([
      'SFMC_EMEA_SFTP_USERNAME: required when SFMC_EMEA_SFTP_PASSWORD or SFMC_EMEA_SFTP_PRIVATE_KEY_PATH is set',
    ]);
    expect(problems({ ...DEFAULT, ...EMEA, SFMC_ACCOUNTS: 'emea', SFMC_EMEA_SFTP_MAX_CONNECTIONS: '11' })[0]).toMatch(/^SFMC_EMEA_SFTP_MAX_CONNECTIONS: must be at most 10/);
  });

  it('names the real variable of a named account in every problem', () => {
    expect(problems({ ...DEFAULT, SFMC_ACCOUNTS: 'emea', SFMC_EMEA_CLIENT_ID: 'x', SFMC_EMEA_SUBDOMAIN: 'a' })).toEqual([
      'SFMC_EMEA_CLIENT_SECRET: required when SFMC_EMEA_CLIENT_ID is set',
    ]);
    expect(problems({ ...DEFAULT, SFMC_ACCOUNTS: 'emea', SFMC_EMEA_CLIENT_ID: 'x', SFMC_EMEA_CLIENT_SECRET: 'y' })).toEqual([
      'SFMC_EMEA_AUTH_URL or SFMC_EMEA_SUBDOMAIN: required for OAuth2',
    ]);
    expect(problems({ ...DEFAULT, ...EMEA, SFMC_ACCOUNTS: 'emea', SFMC_EMEA_ACCOUNT_ID: 'bu-1' })).toEqual([
      'SFMC_EMEA_ACCOUNT_ID: must be the numeric MID of the business unit',
    ]);
    // The endpoint rule of the default account, SFMC_ALLOW_HTTP_HOSTS included.
    const http = { ...DEFAULT, ...EMEA, SFMC_ACCOUNTS: 'emea', SFMC_EMEA_AUTH_URL: 'http://sandbox-emea:9443' };
    expect(problems(http)[0]).toMatch(/^SFMC_EMEA_AUTH_URL: must use https:\/\//);
    expect(problems({ ...http, SFMC_ALLOW_HTTP_HOSTS: 'sandbox-emea' })).toEqual([]);
  });

  it('requires credentials for every named account of a worker, naming its variables', () => {
    expect(problems({ ...DEFAULT, SFMC_ACCOUNTS: 'emea' })).toEqual([
      'SFMC credentials: set SFMC_EMEA_CLIENT_ID and SFMC_EMEA_CLIENT_SECRET (OAuth2) or SFMC_EMEA_USERNAME and SFMC_EMEA_PASSWORD (WS-Security)',
    ]);
    // A producer needs the names, not the credentials; a worker built from that config refuses to start.
    const producer = loadConfig({ SFMC_ACCOUNTS: 'emea' });
    expect(accountNamesOf(producer)).toEqual(['default', 'emea']);
    expect(() => requireAccounts(producer)).toThrow(/SFMC_EMEA_CLIENT_ID and SFMC_EMEA_CLIENT_SECRET/);
  });

  it('refuses account names that are not lower-case words, `default`, or a name given twice', () => {
    expect(problems({ ...DEFAULT, SFMC_ACCOUNTS: 'EMEA' })[0]).toMatch(/^SFMC_ACCOUNTS: account "EMEA" must be 1-32 lower-case letters/);
    expect(problems({ ...DEFAULT, SFMC_ACCOUNTS: 'emea_1' })[0]).toMatch(/^SFMC_ACCOUNTS: account "emea_1" must be/);
    expect(problems({ ...DEFAULT, SFMC_ACCOUNTS: 'default' })[0]).toMatch(/^SFMC_ACCOUNTS: "default" is the unprefixed SFMC_\* account/);
    expect(problems({ ...DEFAULT, ...EMEA, SFMC_ACCOUNTS: 'emea,emea' })).toEqual(['SFMC_ACCOUNTS: names an account twice']);
    expect(loadConfig({ ...DEFAULT, SFMC_ACCOUNTS: '' }).accounts).toEqual({});
  });

  it('never echoes a named account secret in a problem, and lists every account secret for redaction', () => {
    const secret = 'Sup3r-Secret-Value-123';
    const list = problems({ ...DEFAULT, SFMC_ACCOUNTS: 'emea', SFMC_EMEA_CLIENT_SECRET: secret, SFMC_EMEA_SFTP_PORT: secret });
    expect(list.join('\n')).not.toContain(secret);
    expect(list.some((p) => p.startsWith('SFMC_EMEA_SFTP_PORT:'))).toBe(true);
    const c = loadConfig({ ...DEFAULT, ...EMEA, SFMC_ACCOUNTS: 'emea', SFMC_EMEA_SFTP_USERNAME: 'ftp', SFMC_EMEA_SFTP_PASSWORD: 'emea-ftp-password' });
    expect(configuredSecrets(c)).toEqual(expect.arrayContaining(['default-secret', 'emea-secret-value', 'emea-ftp-password']));
  });
});
