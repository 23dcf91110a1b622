import { mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SAMPLE_FIELD_MAPS, writeSampleFile } from '../../src/dev/sample-file.js';
import { RunError } from '../../src/errors.js';
import { createLogger } from '../../src/logger.js';
import { createSandbox, type Sandbox, type SandboxOptions } from '../../src/sandbox/index.js';
import { generateKeyPair } from '../../src/sandbox/sftp.js';
import { SftpError } from '../../src/upload/errors.js';
import { SftpUploader, type UploadFileOptions } from '../../src/upload/sftp.js';
import type { CsvRules } from '../../src/upload/validate.js';
import { tempFolder, sandboxSftpConfig } from './helpers.js';

const RULES: CsvRules = { fileType: 'CSV', headerLines: 1, fieldMaps: SAMPLE_FIELD_MAPS, allowErrors: false, allowEmpty: false };
const log = createLogger({ level: 'silent' });
const LIMITS = { dir: tmpdir(), maxBytes: 1024 ** 3, timeoutMs: 60_000 };


async function caught(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a failure');
}

describe('uploading over SFTP', () => {
  const folder = tempFolder('uploader');
  const source = join(folder.dir, 'subscribers.csv');
  let sb: Sandbox;
  const start = async (options: SandboxOptions = {}) => (sb = await createSandbox({ schemaCheck: false, ...options }));
  const upload = (uploader: SftpUploader, o: Partial<UploadFileOptions> = {}) =>
    uploader.upload({ localPath: source, fileSpec: 'run-1-subscribers.csv', attempt: 1, rules: RULES, log, ...o });

  beforeAll(() => writeSampleFile(source, { rows: 3_000 }));
  afterEach(() => sb?.close());
  afterAll(() => folder.remove());

  it('writes a temporary name, checks the size on the server, then renames it', async () => {
    await start();
    const outcome = await upload(new SftpUploader(sandboxSftpConfig(sb), log, LIMITS));
    expect(outcome).toMatchObject({ remotePath: '/Import/run-1-subscribers.csv', bytes: statSync(source).size, reused: false });
    expect(outcome.report).toMatchObject({ rows: 3_000, problemCount: 0 });
    expect(sb.sftp.log().map((e) => [e.op, e.path])).toEqual([
      ['auth', undefined],
      ['open', '/Import/.run-1-subscribers.csv.part-1'],
      ['close', '/Import/.run-1-subscribers.csv.part-1'],
      ['rename', '/Import/.run-1-subscribers.csv.part-1'],
    ]);
    expect(readFileSync(join(sb.sftp.importDir, 'run-1-subscribers.csv')).equals(readFileSync(source))).toBe(true);
  });

  it('remembers at most UPLOAD_MAX_DISTINCT_EMAILS emails for the repeat check, and says when it stopped remembering', async () => {
    await start();
    const capped = await upload(new SftpUploader(sandboxSftpConfig(sb), log, { ...LIMITS, maxDistinctEmails: 1_000 }));
    expect(capped.report).toMatchObject({ rows: 3_000, problemCount: 0, duplicateCheckComplete: false });
    const whole = await upload(new SftpUploader(sandboxSftpConfig(sb), log, LIMITS));
    expect(whole.report).toMatchObject({ rows: 3_000, problemCount: 0, duplicateCheckComplete: true });
  });

  it('deletes the temporary files earlier attempts left before starting again', async () => {
    await start();
    writeFileSync(join(sb.sftp.importDir, '.run-1-subscribers.csv.part-1'), 'half a fi');
    writeFileSync(join(sb.sftp.importDir, '.run-1-subscribers.csv.part-2'), 'half');
    writeFileSync(join(sb.sftp.importDir, 'someone-else.csv'), 'kept');
    await upload(new SftpUploader(sandboxSftpConfig(sb), log, LIMITS), { attempt: 3 });
    expect(readdirSync(sb.sftp.importDir).sort()).toEqual(['run-1-subscribers.csv', 'someone-else.csv']);
  });

  it('reuses the file an earlier attempt published whole, without sending it again', async () => {
    await start();
    writeFileSync(join(sb.sftp.importDir, 'run-1-subscribers.csv'), readFileSync(source));
    const outcome = await upload(new SftpUploader(sandboxSftpConfig(sb), log, LIMITS), { attempt: 2, previous: { bytes: statSync(source).size } });
    expect(outcome).toMatchObject({ reused: true, bytes: statSync(source).size });
    expect(sb.sftp.log().filter((e) => e.op === 'open')).toEqual([]);
  });

  it('replaces an older file under the final name (SFTP rename does not overwrite)', async () => {
    await start();
    writeFileSync(join(sb.sftp.importDir, 'run-1-subscribers.csv'), 'an old file');
    await upload(new SftpUploader(sandboxSftpConfig(sb), log, LIMITS));
    expect(readFileSync(join(sb.sftp.importDir, 'run-1-subscribers.csv')).equals(readFileSync(source))).toBe(true);
  });

  it('stops sending a file bound to fail, deletes what was sent, and reports the problems', async () => {
    await start();
    const bad = join(folder.dir, 'bad.csv');
    await writeSampleFile(bad, { rows: 20_000, invalidEvery: 2 });
    const err = await caught(upload(new SftpUploader(sandboxSftpConfig(sb), log, LIMITS), { localPath: bad }));
    expect(err).toBeInstanceOf(RunError);
    expect(err).toMatchObject({ code: 'invalid-file', context: { problemCount: 1 } });
    expect(readdirSync(sb.sftp.importDir)).toEqual([]);
    // The transfer is aborted at the first problem: its handle may close with the connection, unlogged.
    const written = Number(/(\d+) bytes written/.exec(sb.sftp.log().find((e) => e.op === 'close')?.detail ?? '')?.[1] ?? 0);
    expect(written).toBeLessThan(statSync(bad).size / 10);
    expect(sb.sftp.log().map((e) => e.op)).toContain('remove');
  });

  it.each(['.', '..', 'a/b.csv', '../x.csv'])('refuses the FileSpec %s before any write, rename or delete on the server', async (fileSpec) => {
    await start();
    const err = await caught(upload(new SftpUploader(sandboxSftpConfig(sb), log, LIMITS), { fileSpec }));
    expect(err).toMatchObject({ code: 'invalid-file', message: 'import.fileSpec must be a plain file name in /Import' });
    expect(sb.sftp.log().map((e) => e.op)).toEqual(['auth']);
  });

  it('refuses every file when the worker has no UPLOAD_DIR, without connecting', async () => {
    await start();
    const err = await caught(upload(new SftpUploader(sandboxSftpConfig(sb), log, { maxBytes: 1024, timeoutMs: 1_000 })));
    expect(err).toMatchObject({ code: 'sftp-not-configured', kind: 'fatal', message: expect.stringMatching(/no UPLOAD_DIR/) });
    expect(sb.sftp.authAttempts()).toEqual([]);
  });

  it('refuses a file larger than UPLOAD_MAX_BYTES, from fstat, without connecting', async () => {
    await start();
    const err = await caught(upload(new SftpUploader(sandboxSftpConfig(sb), log, { ...LIMITS, maxBytes: 1_000 })));
    expect(err).toMatchObject({ code: 'file-too-large', message: expect.stringMatching(/has \d+ bytes, more than UPLOAD_MAX_BYTES \(1000\)$/) });
    expect(sb.sftp.authAttempts()).toEqual([]);
  });

  it('refuses a server whose host key does not match, before sending the password', async () => {
    await start();
    const err = await caught(upload(new SftpUploader(sandboxSftpConfig(sb, { hostFingerprint: `SHA256:${'B'.repeat(43)}` }), log, LIMITS)));
    expect(err).toBeInstanceOf(SftpError);
    expect(err).toMatchObject({ code: 'sftp-host-key-mismatch', kind: 'fatal' });
    expect(sb.sftp.authAttempts()).toEqual([]);
  });

  it('fails with sftp-auth-failed, fatal, after one attempt with a wrong password', async () => {
    await start();
    const err = await caught(upload(new SftpUploader(sandboxSftpConfig(sb, { auth: { password: 'wrong' } }), log, LIMITS)));
    expect(err).toMatchObject({ code: 'sftp-auth-failed', kind: 'fatal' });
    expect(sb.sftp.authAttempts()).toHaveLength(1);
  });

  it('fails with sftp-no-such-path, fatal, when the folder does not exist', async () => {
    await start();
    const err = await caught(upload(new SftpUploader(sandboxSftpConfig(sb, { dir: '/Nowhere' }), log, LIMITS)));
    expect(err).toMatchObject({ code: 'sftp-no-such-path', kind: 'fatal' });
  });

  it('fails with file-unreadable, without connecting, when the local file is missing', async () => {
    await start();
    const err = await caught(upload(new SftpUploader(sandboxSftpConfig(sb), log, LIMITS), { localPath: join(folder.dir, 'missing.csv') }));
    expect(err).toMatchObject({ code: 'file-unreadable' });
    expect(sb.sftp.authAttempts()).toEqual([]);
  });

  it('treats a refused connection as retryable', async () => {
    await start();
    const port = sb.sftp.port;
    await sb.close();
    const err = await caught(upload(new SftpUploader(sandboxSftpConfig(sb, { port }), log, LIMITS)));
    expect(err).toMatchObject({ code: 'sftp-connect-failed', kind: 'retryable' });
    await start();
  });

  it('logs in with a private key when one is configured', async () => {
    const keys = generateKeyPair();
    const keyPath = join(folder.dir, 'id_ed25519');
    writeFileSync(keyPath, keys.private, { mode: 0o600 });
    await start({ sftpAuthorizedKeys: [keys.public] });
    await upload(new SftpUploader(sandboxSftpConfig(sb, { auth: { privateKeyPath: keyPath } }), log, LIMITS));
    expect(sb.sftp.authAttempts().map((a) => [a.method, a.ok])).toEqual([['publickey', true]]);
  });

  it('opens no more connections at once than allowed', async () => {
    await start();
    const uploader = new SftpUploader(sandboxSftpConfig(sb, { maxConnections: 1 }), log, LIMITS);
    await Promise.all([1, 2, 3].map((n) => upload(uploader, { fileSpec: `f${n}.csv` })));
    // With one connection, each upload's open-close-rename finishes before the next login.
    const ops = sb.sftp.log().map((e) => e.op);
    expect(ops).toEqual(['auth', 'open', 'close', 'rename', 'auth', 'open', 'close', 'rename', 'auth', 'open', 'close', 'rename']);
  });

  it('stores into the given data folder', async () => {
    const dataDir = join(folder.dir, 'data');
    mkdirSync(dataDir);
    await start({ dataDir });
    await upload(new SftpUploader(sandboxSftpConfig(sb), log, LIMITS));
    expect(readdirSync(join(dataDir, 'Import'))).toEqual(['run-1-subscribers.csv']);
  });
});
