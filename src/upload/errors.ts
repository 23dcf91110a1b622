import { ServiceError } from '../errors.js';

/**
 * SFTP failures as stable codes, each fatal or retryable. Wrong credentials are fatal and never
 * retried: SFMC locks an FTP account for 30 minutes after repeated wrong passwords, and a retry
 * loop would lock out every other user of that account too.
 */

export type SftpErrorCode =
  /** No SFTP configuration on this worker, or a private key that cannot be read. */
  | 'sftp-not-configured'
  /** The server refused the username and password/key. Never retried. */
  | 'sftp-auth-failed'
  /** The server's host key does not match SFMC_SFTP_HOST_FINGERPRINT. */
  | 'sftp-host-key-mismatch'
  /** The SSH handshake failed (no common algorithm). */
  | 'sftp-handshake-failed'
  /** The SFTP user may not write, rename or delete in the folder. */
  | 'sftp-permission-denied'
  /** The folder (SFMC_SFTP_DIR) does not exist. */
  | 'sftp-no-such-path'
  /** Connecting failed: refused, unreachable, name lookup, timeout. Retried. */
  | 'sftp-connect-failed'
  /** The connection broke during the transfer. Retried; the retry starts clean. */
  | 'sftp-connection-lost'
  /** The file on the server does not have the bytes written. Retried. */
  | 'sftp-size-mismatch'
  /** Any other SFTP failure. Retried. */
  | 'sftp-failed';

export type SftpErrorKind = 'fatal' | 'retryable';

/** An upload is idempotent (a retry starts clean and renames into place), hence never mayHaveTakenEffect. */
export class SftpError extends ServiceError<SftpErrorCode, SftpErrorKind> {
  override readonly name = 'SftpError';
  constructor(code: SftpErrorCode, message: string, kind: SftpErrorKind, options?: { cause?: unknown }) {
    super(code, message, kind, false, options);
  }
}

export function isSftpError(err: unknown): err is SftpError {
  return err instanceof SftpError;
}

/** What is known about one failure: where it happened and the errors seen. */
export interface SftpFailure {
  stage: 'connect' | 'transfer';
  /** The error ssh2-sftp-client rejected with (it rewraps ssh2's, keeping `code`). */
  error: unknown;
  /** ssh2's own error from the connection's error event, which keeps `level`. */
  raw?: unknown;
  /** The host verifier refused the server's key. */
  hostKeyRejected?: boolean;
}

const FATAL_LEVELS: Record<string, SftpErrorCode> = {
  'client-authentication': 'sftp-auth-failed',
  handshake: 'sftp-handshake-failed',
};

// SFTP status codes (draft-ietf-secsh-filexfer-02): 2 no such file, 3 permission denied.
const SFTP_NO_SUCH_FILE = 2;
const SFTP_PERMISSION_DENIED = 3;

function field(err: unknown, name: 'code' | 'level'): unknown {
  return err && typeof err === 'object' ? (err as Record<string, unknown>)[name] : undefined;
}

/** A pure verdict on one failure. Matches ssh2's `level` and the SFTP status `code`, never message text. */
export function classifySftpFailure(f: SftpFailure): { code: SftpErrorCode; kind: SftpErrorKind } {
  if (f.hostKeyRejected) return { code: 'sftp-host-key-mismatch', kind: 'fatal' };
  const level = field(f.raw, 'level') ?? field(f.error, 'level');
  if (typeof level === 'string' && FATAL_LEVELS[level]) return { code: FATAL_LEVELS[level], kind: 'fatal' };
  const code = field(f.error, 'code') ?? field(f.raw, 'code');
  if (code === SFTP_PERMISSION_DENIED || code === 'EACCES') return { code: 'sftp-permission-denied', kind: 'fatal' };
  if (f.stage === 'transfer' && (code === SFTP_NO_SUCH_FILE || code === 'ENOENT')) return { code: 'sftp-no-such-path', kind: 'fatal' };
  if (f.stage === 'connect') return { code: 'sftp-connect-failed', kind: 'retryable' };
  if (typeof code === 'number') return { code: 'sftp-failed', kind: 'retryable' };
  return { code: 'sftp-connection-lost', kind: 'retryable' };
}
