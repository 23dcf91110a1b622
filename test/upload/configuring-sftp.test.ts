import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

const FP = 'SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU';

function configError(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.message;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('configuring SFTP', () => {
  it('has no SFTP without SFMC_SFTP_USERNAME', () => {
    expect(loadConfig({}).sftp).toBeUndefined();
  });

  it('derives the host from SFMC_SUBDOMAIN (unverified) and defaults port 22, /Import and 3 connections', () => {
    const { sftp } = loadConfig({ SFMC_SUBDOMAIN: 'mc123', SFMC_SFTP_USERNAME: 'u', SFMC_SFTP_PASSWORD: 'p' });
    expect(sftp).toEqual({
      host: 'mc123.ftp.marketingcloudapis.com',
      hostDerived: true,
      port: 22,
      username: 'u',
      auth: { password: 'p' },
      dir: '/Import',
      maxConnections: 3,
    });
  });

  it('takes an explicit host, key file, pinned fingerprint, folder and connection limit', () => {
    const { sftp } = loadConfig({
      SFMC_SFTP_HOST: 'ftp.s7.exacttarget.com',
      SFMC_SFTP_PORT: '2222',
      SFMC_SFTP_USERNAME: 'u',
      SFMC_SFTP_PRIVATE_KEY_PATH: '/keys/id_ed25519',
      SFMC_SFTP_PRIVATE_KEY_PASSPHRASE: 'pp',
      SFMC_SFTP_HOST_FINGERPRINT: FP.slice('SHA256:'.length),
      SFMC_SFTP_DIR: '/Import/',
      SFMC_SFTP_MAX_CONNECTIONS: '5',
    });
    expect(sftp).toEqual({
      host: 'ftp.s7.exacttarget.com',
      hostDerived: false,
      port: 2222,
      username: 'u',
      auth: { privateKeyPath: '/keys/id_ed25519', passphrase: 'pp' },
      hostFingerprint: FP,
      dir: '/Import',
      maxConnections: 5,
    });
  });

  it('refuses a password and a key together, or neither', () => {
    expect(configError({ SFMC_SFTP_HOST: 'h', SFMC_SFTP_USERNAME: 'u', SFMC_SFTP_PASSWORD: 'secret-pw', SFMC_SFTP_PRIVATE_KEY_PATH: '/k' })).toMatch(
      /SFMC_SFTP_PASSWORD and SFMC_SFTP_PRIVATE_KEY_PATH: set one, not both/,
    );
    expect(configError({ SFMC_SFTP_HOST: 'h', SFMC_SFTP_USERNAME: 'u' })).toMatch(/SFMC_SFTP_PASSWORD or SFMC_SFTP_PRIVATE_KEY_PATH: required/);
  });

  it('refuses more than the 10 connections SFMC allows, and a fingerprint in another format', () => {
    const message = configError({ SFMC_SFTP_MAX_CONNECTIONS: '11', SFMC_SFTP_HOST_FINGERPRINT: 'MD5:aa:bb' });
    expect(message).toMatch(/SFMC_SFTP_MAX_CONNECTIONS: must be at most 10/);
    expect(message).toMatch(/SFMC_SFTP_HOST_FINGERPRINT: must be a SHA256 host key fingerprint/);
  });

  it('never echoes the SFTP password in an error', () => {
    expect(configError({ SFMC_SFTP_PASSWORD: 'hunter2-secret', SFMC_SFTP_PORT: 'x' })).not.toContain('hunter2-secret');
  });
});
