import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { posix } from 'node:path';
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Logger } from 'pino';
import SftpClient from 'ssh2-sftp-client';
import type { SftpConfig } from '../config.js';
import { RunError } from '../errors.js';
import { hostKeyFingerprint } from './fingerprint.js';
import { classifySftpFailure, SftpError, type SftpFailure } from './errors.js';
import { describeReport, failsRun, ValidatingStream, type CsvRules, type ValidationReport } from './validate.js';

/**
 * Uploads subscriber files to SFMC's Enhanced FTP over SFTP (ssh2-sftp-client), one connection
 * per upload and at most `maxConnections` at once per process (SFMC allows 10 per FTP account,
 * and other tools may share it).
 *
 * Each upload streams the local file through the CSV validator into a temporary name in the
 * folder, `.<fileSpec>.part-<attempt>`, checks the size on the server, then renames it to the
 * final name: SFMC (which imports by exact FileSpec) never sees half a file. A retry first deletes
 * the temporary files earlier attempts left. Memory stays flat: the stream holds a few buffers
 * (256 KiB reads, 1 MiB of writes in flight) and the validator 8 bytes per distinct email.
 */

export interface UploadFileOptions {
  localPath: string;
  /** The final name in the folder, and the ImportDefinition's FileSpec. */
  fileSpec: string;
  /** The job's attempt number: names the temporary file. */
  attempt: number;
  rules: CsvRules;
  /** What an earlier attempt recorded just before its rename; reused when the file is there whole. */
  previous?: { bytes: number };
  /** Called before the final rename with what will be returned, so a retry can recognise the file. */
  beforePublish?: (outcome: UploadOutcome) => Promise<void>;
  onProgress?: (p: { bytes: number; totalBytes: number }) => void;
  signal?: AbortSignal;
  log: Logger;
}

export interface UploadOutcome {
  remotePath: string;
  bytes: number;
  report?: ValidationReport;
  reused: boolean;
}

/** The temporary name of one attempt; a hidden name SFMC's exact-name FileSpec never matches. */
export function partName(fileSpec: string, attempt: number): string {
  return `.${fileSpec}.part-${attempt}`;
}

class Semaphore {
  private waiting: (() => void)[] = [];
  private free: number;
  constructor(n: number) {
    this.free = n;
  }
  async acquire(): Promise<() => void> {
    if (this.free > 0) this.free -= 1;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      if (next) next();
      else this.free += 1;
    };
  }
}

interface Session {
  client: SftpClient;
  /** Rejects when the connection ends underneath a transfer. */
  lost: Promise<never>;
  failure(stage: SftpFailure['stage'], error: unknown): SftpError;
}

const PROGRESS_EVERY_MS = 1_000;

export class SftpUploader {
  private readonly slots: Semaphore;
  private warned = false;

  constructor(
    readonly config: SftpConfig,
    private readonly logger: Logger,
  ) {
    this.slots = new Semaphore(config.maxConnections);
  }

  get maxConnections(): number {
    return this.config.maxConnections;
  }

  get dir(): string {
    return this.config.dir;
  }

  async upload(options: UploadFileOptions): Promise<UploadOutcome> {
    let totalBytes: number;
    try {
      totalBytes = (await stat(options.localPath)).size;
    } catch (err) {
      throw unreadable(options.localPath, err);
    }
    const release = await this.slots.acquire();
    let session: Session | undefined;
    try {
      session = await this.connect();
      return await this.transfer(session, options, totalBytes);
    } finally {
      // Closed before the slot is given back, so the limit holds for open connections.
      await session?.client.end().catch(() => undefined);
      release();
    }
  }

  private warnOnce(): void {
    if (this.warned) return;
    this.warned = true;
    const { host, port, hostDerived, hostFingerprint } = this.config;
    if (!hostFingerprint) {
      this.logger.warn(
        { host, port },
        'SFMC_SFTP_HOST_FINGERPRINT is not set: the SFTP server\'s host key is not checked. Set it to the SHA256 fingerprint of the host key (ssh-keyscan HOST | ssh-keygen -lf -)',
      );
    }
    if (hostDerived) {
      this.logger.warn({ host }, 'SFTP host derived from SFMC_SUBDOMAIN; this pattern is unverified: set SFMC_SFTP_HOST to the host shown under Setup > FTP Accounts');
    }
  }

  private async connect(): Promise<Session> {
    this.warnOnce();
    const { host, port, username, auth, hostFingerprint } = this.config;
    let raw: unknown;
    let hostKeyRejected = false;
    let onLost: (err: Error) => void = () => {};
    const lost = new Promise<never>((_resolve, reject) => (onLost = reject));
    lost.catch(() => undefined);
    // The library calls these only for events nobody was waiting for, and not after end().
    const client = new SftpClient('list-send', {
      error: (err: unknown) => this.logger.debug({ err }, 'sftp connection error'),
      end: () => onLost(new Error('the SFTP server ended the connection')),
      close: () => onLost(new Error('the SFTP connection closed')),
    });
    // ssh2-sftp-client rewraps ssh2's errors and drops `level`; this listener (prepended) keeps it.
    client.on('error', (err: unknown) => {
      raw ??= err;
      onLost(err instanceof Error ? err : new Error(String(err)));
    });
    let secret: { password: string } | { privateKey: Buffer; passphrase?: string };
    if ('password' in auth) {
      secret = { password: auth.password };
    } else {
      try {
        secret = { privateKey: await readFile(auth.privateKeyPath), ...(auth.passphrase ? { passphrase: auth.passphrase } : {}) };
      } catch (err) {
        throw new SftpError('sftp-not-configured', `cannot read SFMC_SFTP_PRIVATE_KEY_PATH (${(err as Error).message})`, 'fatal', { cause: err });
      }
    }
    const failure = (stage: SftpFailure['stage'], error: unknown): SftpError => {
      const { code, kind } = classifySftpFailure({ stage, error, raw, hostKeyRejected });
      return new SftpError(code, describeSftpFailure(code, error, this.config), kind, { cause: error });
    };
    try {
      await client.connect({
        host,
        port,
        username,
        ...secret,
        // Exactly one login attempt per connection: no `none` probe, no keyboard-interactive.
        authHandler: ['password' in secret ? 'password' : 'publickey'],
        readyTimeout: 20_000,
        keepaliveInterval: 10_000,
        keepaliveCountMax: 3,
        hostVerifier: (key: Buffer) => {
          if (!hostFingerprint) return true;
          const ok = hostKeyFingerprint(key) === hostFingerprint;
          if (!ok) hostKeyRejected = true;
          return ok;
        },
      });
    } catch (error) {
      await client.end().catch(() => undefined);
      throw failure('connect', error);
    }
    raw = undefined;
    return { client, lost, failure };
  }

  private async transfer(session: Session, o: UploadFileOptions, totalBytes: number): Promise<UploadOutcome> {
    const { client } = session;
    const finalPath = posix.join(this.config.dir, o.fileSpec);
    const partPath = posix.join(this.config.dir, partName(o.fileSpec, o.attempt));
    const step = async <T>(what: Promise<T>): Promise<T> => {
      try {
        return await Promise.race([what, session.lost]);
      } catch (err) {
        throw err instanceof SftpError || err instanceof RunError ? err : session.failure('transfer', err);
      }
    };
    const sizeOf = async (path: string): Promise<number | undefined> => {
      try {
        return (await Promise.race([client.stat(path), session.lost])).size;
      } catch (err) {
        if ((err as { code?: unknown }).code === 'ENOENT') return undefined;
        throw session.failure('transfer', err);
      }
    };

    if (o.previous && (await sizeOf(finalPath)) === o.previous.bytes) {
      o.log.info({ remotePath: finalPath, bytes: o.previous.bytes }, 'an earlier attempt uploaded the file whole; reusing it');
      return { remotePath: finalPath, bytes: o.previous.bytes, reused: true };
    }

    // A clean start: whatever earlier attempts of this file left half-written goes first.
    const prefix = `.${o.fileSpec}.part-`;
    const stale = await step(client.list(this.config.dir, (item) => item.name.startsWith(prefix)));
    for (const item of stale) await step(client.delete(posix.join(this.config.dir, item.name), true));
    if (stale.length > 0) o.log.info({ files: stale.map((s) => s.name) }, 'deleted temporary files of earlier attempts');

    const report = await this.stream(session, o, partPath, totalBytes);
    if (failsRun(report, o.rules)) {
      await step(client.delete(partPath, true));
      throw new RunError('invalid-file', describeReport(report, o.localPath), { totals: report.totals, problemCount: report.problemCount });
    }
    const remoteSize = await sizeOf(partPath);
    if (remoteSize !== report.bytes) {
      throw new SftpError('sftp-size-mismatch', `${partPath} has ${remoteSize ?? 'no'} bytes on the server after ${report.bytes} were written`, 'retryable');
    }
    const outcome: UploadOutcome = { remotePath: finalPath, bytes: report.bytes, report, reused: false };
    await o.beforePublish?.(outcome);
    // SFTP rename refuses an existing target: an older file under the final name goes first.
    if ((await sizeOf(finalPath)) !== undefined) await step(client.delete(finalPath, true));
    await step(client.rename(partPath, finalPath));
    const finalSize = await sizeOf(finalPath);
    if (finalSize !== report.bytes) {
      throw new SftpError('sftp-size-mismatch', `${finalPath} has ${finalSize ?? 'no'} bytes after the rename, not ${report.bytes}`, 'retryable');
    }
    return outcome;
  }

  /** Local file -> validator -> remote temporary file, with backpressure all the way. */
  private async stream(session: Session, o: UploadFileOptions, partPath: string, totalBytes: number): Promise<ValidationReport> {
    let localError: unknown;
    const source = createReadStream(o.localPath, { highWaterMark: 256 * 1024 });
    source.once('error', (err) => (localError = err));
    let sent = 0;
    let lastProgress = 0;
    const validating = new ValidatingStream(o.rules, {
      stopForwardingOnProblem: true,
      onChunk: (n) => {
        sent += n;
        const now = Date.now();
        if (o.onProgress && now - lastProgress >= PROGRESS_EVERY_MS) {
          lastProgress = now;
          o.onProgress({ bytes: sent, totalBytes });
        }
      },
    });
    let remote: ReturnType<SftpClient['createWriteStream']>;
    try {
      remote = session.client.createWriteStream(partPath, { flags: 'w', highWaterMark: 1024 * 1024 });
    } catch (err) {
      source.destroy();
      throw session.failure('transfer', err);
    }
    // ssh2's write stream reports success on 'close', once the server has confirmed the handle's close.
    const closed = new Promise<void>((resolve, reject) => {
      remote.once('close', () => resolve());
      remote.once('error', reject);
    });
    // A connection that ends between two writes fails the pipeline at once instead of leaving it waiting.
    void session.lost.catch((err: unknown) => (remote as unknown as Writable).destroy(err instanceof Error ? err : new Error(String(err))));
    try {
      await Promise.all([pipeline(source, validating, remote, ...(o.signal ? [{ signal: o.signal }] : [])), closed]);
    } catch (err) {
      source.destroy();
      remote.destroy();
      if (o.signal?.aborted && o.signal.reason instanceof Error) throw o.signal.reason;
      if (localError) throw unreadable(o.localPath, localError);
      throw session.failure('transfer', err);
    }
    o.onProgress?.({ bytes: sent, totalBytes });
    return validating.report();
  }
}

function unreadable(path: string, err: unknown): RunError {
  return new RunError('file-unreadable', `cannot read ${path} on the worker: ${(err as Error).message}`, { path });
}

/** The message a person sees; names the account and the setting to check, never a secret. */
function describeSftpFailure(code: string, error: unknown, config: SftpConfig): string {
  const where = `${config.username}@${config.host}:${config.port}`;
  const detail = error instanceof Error ? error.message : String(error);
  switch (code) {
    case 'sftp-auth-failed':
      return (
        `SFTP login as ${where} was refused (${detail}). Not retried: SFMC locks an FTP account for 30 minutes ` +
        `after repeated wrong passwords. Check SFMC_SFTP_USERNAME and ${'password' in config.auth ? 'SFMC_SFTP_PASSWORD' : 'SFMC_SFTP_PRIVATE_KEY_PATH'}.`
      );
    case 'sftp-host-key-mismatch':
      return `the host key of ${config.host}:${config.port} does not match SFMC_SFTP_HOST_FINGERPRINT ${config.hostFingerprint}; not connecting (a changed key or someone in between)`;
    case 'sftp-permission-denied':
      return `SFTP user ${config.username} may not write in ${config.dir} on ${config.host} (${detail})`;
    case 'sftp-no-such-path':
      return `${config.dir} does not exist on ${config.host} (${detail}); set SFMC_SFTP_DIR to the Import folder`;
    case 'sftp-connect-failed':
      return `cannot connect to SFTP ${config.host}:${config.port} (${detail})`;
    default:
      return `SFTP ${where}: ${detail}`;
  }
}
