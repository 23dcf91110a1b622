import { describe, expect, it } from 'vitest';
import { classifySftpFailure } from '../../src/upload/errors.js';

const err = (message: string, fields: Record<string, unknown> = {}) => Object.assign(new Error(message), fields);

describe('classifying SFTP failures', () => {
  it('a refused login is fatal (sftp-auth-failed), never retried', () => {
    const raw = err('All configured authentication methods failed', { level: 'client-authentication' });
    const wrapped = err('getConnection: All configured authentication methods failed', { code: 'ERR_GENERIC_CLIENT' });
    expect(classifySftpFailure({ stage: 'connect', error: wrapped, raw })).toEqual({ code: 'sftp-auth-failed', kind: 'fatal' });
  });

  it('a host key the verifier refused is fatal (sftp-host-key-mismatch)', () => {
    const raw = err('Host denied (verification failed)', { level: 'handshake' });
    expect(classifySftpFailure({ stage: 'connect', error: raw, raw, hostKeyRejected: true })).toEqual({ code: 'sftp-host-key-mismatch', kind: 'fatal' });
  });

  it('another handshake failure is fatal (sftp-handshake-failed)', () => {
    expect(classifySftpFailure({ stage: 'connect', error: err('x'), raw: err('no matching cipher', { level: 'handshake' }) })).toEqual({
      code: 'sftp-handshake-failed',
      kind: 'fatal',
    });
  });

  it('a refused, unreachable or timed-out connection is retryable (sftp-connect-failed)', () => {
    for (const raw of [err('connect ECONNREFUSED', { code: 'ECONNREFUSED', level: 'client-socket' }), err('Timed out', { level: 'client-timeout' }), err('getaddrinfo ENOTFOUND', { code: 'ENOTFOUND' })]) {
      expect(classifySftpFailure({ stage: 'connect', error: raw, raw })).toEqual({ code: 'sftp-connect-failed', kind: 'retryable' });
    }
  });

  it('SFTP status 3 is fatal (sftp-permission-denied)', () => {
    expect(classifySftpFailure({ stage: 'transfer', error: err('Permission denied', { code: 3 }) })).toEqual({ code: 'sftp-permission-denied', kind: 'fatal' });
  });

  it('SFTP status 2 during a transfer is fatal (sftp-no-such-path): the folder is missing', () => {
    expect(classifySftpFailure({ stage: 'transfer', error: err('No such file', { code: 2 }) })).toEqual({ code: 'sftp-no-such-path', kind: 'fatal' });
  });

  it('a connection lost mid-transfer is retryable (sftp-connection-lost)', () => {
    for (const e of [err('No response from server'), err('write ECONNRESET', { code: 'ECONNRESET' }), err('_put: Unexpected close event', { code: 'ERR_GENERIC_CLIENT' })]) {
      expect(classifySftpFailure({ stage: 'transfer', error: e })).toEqual({ code: 'sftp-connection-lost', kind: 'retryable' });
    }
  });

  it('any other SFTP status is retryable (sftp-failed)', () => {
    expect(classifySftpFailure({ stage: 'transfer', error: err('Failure', { code: 4 }) })).toEqual({ code: 'sftp-failed', kind: 'retryable' });
  });
});
