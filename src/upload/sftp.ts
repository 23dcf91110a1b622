import { readFile } from 'node:fs/promises';
import { posix } from 'node:path';
import type { Logger } from 'pino';
import type { SFTPWrapper } from 'ssh2';
import SftpClient from 'ssh2-sftp-client';
import type { SftpConfig, UploadLimits } from '../config.js';
import { RunError } from '../errors.js';
import { hostKeyFingerprint } from './fingerprint.js';
import { classifySftpFailure, SftpError, type SftpFailure } from './errors.js';
import { openUploadFile, type OpenedUploadFile } from './local-file.js';
import { WindowedSftpWriter } from './window-writer.js';
import { pumpFile } from './file-pump.js';
import { CsvValidator, failsRun, summarizeReport, ValidationStopped, type CsvRules, type ValidationReport } from './validate.js';

/**
 * Uploads subscriber files to SFMC's Enhanced FTP over SFTP (ssh2-sftp-client), one connection
 * per upload and at most `maxConnections` at once per process (SFMC allows 10 per FTP account,
 * and other tools may share it).
 *
 * Each upload streams the local file through the CSV validator into a temporary name in the
 * folder, `.<fileSpec>.part-<attempt>`, checks the size on the server, then renames it to the
 * final name: SFMC (which imports by exact FileSpec) never sees half a file. A retry first deletes
 * the temporary files earlier attempts left. Memory stays flat: two 1 MiB read buffers used over
 * and over, 2 MiB of writes in flight, and the validator's table of 8 bytes per distinct email
 * (at most UPLOAD_MAX_DISTINCT_EMAILS).
 *
 * The local file must be a regular file inside UPLOAD_DIR (see local-file.ts); exactly the bytes
 * fstat reported when it was opened are read, never more than UPLOAD_MAX_BYTES. Checking stops,
 * and the transfer is aborted, as soon as the file is known to fail the run.
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
  /** Called before the final rename with what will be returned, so a retry can recognise the file; throwing stops the upload unpublished. */
  beforePublish?: (outcome: UploadOutcome) => Promise<void>;
  /** Called with the report of a file that fails the run, before the error is thrown (for the job log). */
  onRejected?: (report: ValidationReport) => Promise<void>;
  onProgress?: (p: { bytes: number; totalBytes: number; rows: number }) => void;
  signal?: AbortSignal;
  log: Logger;
}

export interface RemoteFileInfo {
  name: string;
  size: number;
  mtimeMs: number;
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
    /** UPLOAD_DIR and the upload limits; without `dir` every upload is refused. */
    readonly limits: UploadLimits = { maxBytes: 5 * 1024 ** 3, timeoutMs: 2 * 3_600_000 },
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
    const { dir, maxBytes } = this.limits;
    if (!dir) {
      throw new SftpError('sftp-not-configured', 'this worker has no UPLOAD_DIR: set it to the folder runs may upload from; runs with a file are refused', 'fatal');
    }
    // Opened before a slot is taken: a refused file never holds an SFTP connection.
    const file = await openUploadFile(options.localPath, { dir, maxBytes });
    let release: (() => void) | undefined;
    let session: Session | undefined;
    try {
      const aborted = abortedBy(options.signal);
      const slot = this.slots.acquire();
      // A slot granted after an abort is handed straight back.
      void slot.then((r) => (options.signal?.aborted ? r() : undefined));
      release = await Promise.race([slot, aborted]);
      const connecting = this.connect();
      session = await Promise.race([connecting, aborted]).catch((err: unknown) => {
        void connecting.then((late) => closeClient(late.client), () => undefined);
        throw err;
      });
      return await this.transfer(session, options, file);
    } finally {
      await file.handle.close().catch(() => undefined);
      // Closed before the slot is given back, so the limit holds for open connections.
      if (session) await closeClient(session.client);
      release?.();
    }
  }

  /**
   * The plain files of a folder on the Enhanced FTP, with size and modification time (file-drop
   * triggers, src/automation/). Holds one of the upload connection slots while it lists, so
   * listings and uploads together stay within SFTP_MAX_CONNECTIONS.
   */
  async list(dir: string): Promise<RemoteFileInfo[]> {
    if (!posix.isAbsolute(dir) || dir.split('/').some((s) => s === '.' || s === '..')) {
      throw new RunError('invalid-file', `the SFTP folder ${dir} must be an absolute path without . or .. segments`);
    }
    const release = await this.slots.acquire();
    let session: Session | undefined;
    try {
      session = await this.connect();
      const opened = session;
      const items = await Promise.race([opened.client.list(dir), opened.lost]).catch((err: unknown) => {
        throw err instanceof SftpError ? err : opened.failure('transfer', err);
      });
      // SFTP reports whole seconds; modifyTime is in milliseconds.
      return items.filter((i) => i.type === '-').map((i) => ({ name: i.name, size: i.size, mtimeMs: i.modifyTime }));
    } finally {
      if (session) await closeClient(session.client);
      release();
    }
  }

  /**
   * Defence in depth against a FileSpec like `..` or `a/b` (the request schema refuses them): every
   * remote path written, renamed or deleted must sit directly in the configured Import folder.
   */
  private remotePath(name: string): string {
    const path = posix.join(this.config.dir, name);
    if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\\') || posix.dirname(path) !== this.config.dir) {
      throw new RunError('invalid-file', `import.fileSpec must be a plain file name in ${this.config.dir}`);
    }
    return path;
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
      await closeClient(client);
      throw failure('connect', error);
    }
    raw = undefined;
    return { client, lost, failure };
  }

  private async transfer(session: Session, o: UploadFileOptions, file: OpenedUploadFile): Promise<UploadOutcome> {
    const { client } = session;
    // A cancelled run, the deadline or a shutdown also ends a wait on a server that stopped answering.
    const lost = Promise.race([session.lost, abortedBy(o.signal)]);
    lost.catch(() => undefined);
    const finalPath = this.remotePath(o.fileSpec);
    const partPath = this.remotePath(partName(o.fileSpec, o.attempt));
    const step = async <T>(what: Promise<T>): Promise<T> => {
      try {
        return await Promise.race([what, lost]);
      } catch (err) {
        if (o.signal?.aborted && err === o.signal.reason) throw err;
        throw err instanceof SftpError || err instanceof RunError ? err : session.failure('transfer', err);
      }
    };
    const sizeOf = async (path: string): Promise<number | undefined> => {
      try {
        return (await Promise.race([client.stat(path), lost])).size;
      } catch (err) {
        if (o.signal?.aborted && err === o.signal.reason) throw err;
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
    for (const item of stale) await step(client.delete(this.remotePath(item.name), true));
    if (stale.length > 0) o.log.info({ files: stale.map((s) => s.name) }, 'deleted temporary files of earlier attempts');

    const report = await this.stream(session, o, partPath, file);
    if (failsRun(report, o.rules)) {
      await step(client.delete(partPath, true)).catch(() => undefined);
      await o.onRejected?.(report);
      // Counts, kinds and line numbers only: this message becomes the failedReason, the stack
      // trace and a worker log line, and must never quote the file (issue #10).
      throw new RunError('invalid-file', summarizeReport(report, o.localPath), { totals: report.totals, problemCount: report.problemCount });
    }
    const remoteSize = await sizeOf(partPath);
    if (remoteSize !== report.bytes) {
      throw new SftpError('sftp-size-mismatch', `${partPath} has ${remoteSize ?? 'no'} bytes on the server after ${report.bytes} were written`, 'retryable');
    }
    const outcome: UploadOutcome = { remotePath: finalPath, bytes: report.bytes, report, reused: false };
    try {
      await o.beforePublish?.(outcome);
    } catch (err) {
      // Refused (the run ended meanwhile) or unrecorded: no rename, and no hidden copy of the file left behind.
      await step(client.delete(partPath, true)).catch(() => undefined);
      throw err;
    }
    // SFTP rename refuses an existing target: an older file under the final name goes first.
    if ((await sizeOf(finalPath)) !== undefined) await step(client.delete(finalPath, true));
    await step(client.rename(partPath, finalPath));
    const finalSize = await sizeOf(finalPath);
    if (finalSize !== report.bytes) {
      throw new SftpError('sftp-size-mismatch', `${finalPath} has ${finalSize ?? 'no'} bytes after the rename, not ${report.bytes}`, 'retryable');
    }
    return outcome;
  }

  /**
   * Local file -> validator -> remote temporary file (file-pump.ts): two reused read buffers, each
   * chunk checked before it is sent, and the next read only once the window has room.
   */
  private async stream(session: Session, o: UploadFileOptions, partPath: string, file: OpenedUploadFile): Promise<ValidationReport> {
    // Exactly the bytes fstat saw (at most UPLOAD_MAX_BYTES, checked at the open): a file that grows while it is read is cut there, never read on.
    const totalBytes = file.size;
    let sent = 0;
    let lastProgress = 0;
    const maxDistinctEmails = o.rules.maxDistinctEmails ?? this.limits.maxDistinctEmails;
    const validator = new CsvValidator({ ...o.rules, expectedBytes: totalBytes, ...(maxDistinctEmails ? { maxDistinctEmails } : {}) }, { stopWhenDoomed: true });
    const check = (chunk: Buffer): void => {
      validator.writeOrStop(chunk);
      sent += chunk.length;
      const now = Date.now();
      if (o.onProgress && now - lastProgress >= PROGRESS_EVERY_MS) {
        lastProgress = now;
        o.onProgress({ bytes: sent, totalBytes, rows: validator.rowsSoFar });
      }
    };
    const sftp = (session.client as unknown as { sftp?: SFTPWrapper }).sftp;
    if (!sftp) throw session.failure('transfer', new Error('the SFTP session is not open'));
    // A window of WRITE requests in flight, as fastPut keeps (issue #14); opened in its _construct.
    const remote = new WindowedSftpWriter(sftp, partPath);
    // A connection that ends between two writes fails the transfer at once instead of leaving it waiting.
    void session.lost.catch((err: unknown) => remote.destroy(err instanceof Error ? err : new Error(String(err))));
    try {
      await pumpFile(file.handle, totalBytes, remote, { check, readFailed: (err) => unreadable(o.localPath, err), ...(o.signal ? { signal: o.signal } : {}) });
    } catch (err) {
      remote.destroy();
      // The run is bound to fail: nothing more is read or sent; the caller deletes the part file.
      if (err instanceof ValidationStopped) return err.report;
      if (o.signal?.aborted && o.signal.reason instanceof Error) throw o.signal.reason;
      if (err instanceof RunError) throw err;
      throw session.failure('transfer', err);
    }
    const report = await validator.end();
    o.onProgress?.({ bytes: sent, totalBytes, rows: validator.rowsSoFar });
    return report;
  }
}

const END_GRACE_MS = 2_000;

/**
 * Ends a connection politely, or destroys its socket when the server does not answer within
 * END_GRACE_MS: a server that stopped answering must not keep an aborted upload (and its slot,
 * and a stopping worker) waiting.
 */
async function closeClient(client: SftpClient): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const ended = await Promise.race([
    client.end().then(() => true, () => true),
    new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), END_GRACE_MS))),
  ]);
  clearTimeout(timer);
  if (!ended) (client as unknown as { client?: { destroy(): void } }).client?.destroy();
}

/** Rejects with the signal's reason once it aborts; never settles without a signal. */
function abortedBy(signal: AbortSignal | undefined): Promise<never> {
  const p = new Promise<never>((_resolve, reject) => {
    if (!signal) return;
    if (signal.aborted) reject(signal.reason);
    else signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
  p.catch(() => undefined);
  return p;
}

function unreadable(path: string, err: unknown): RunError {
  return new RunError('file-unreadable', `cannot read ${path} on the worker (${(err as NodeJS.ErrnoException).code ?? 'error'})`, { path });
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
