import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RequestValidationError } from '../../src/request.js';
import { checkUploadPath } from '../../src/upload/local-file.js';
import { AUTH, startApi } from '../api/harness.js';
import { runCli } from '../helpers/cli.js';
import { startPipeline, type Pipeline } from '../helpers/pipeline.js';
import { testRedisUrl, uniquePrefix } from '../helpers/redis.js';
import { fileRequest, tempFolder } from '../upload/helpers.js';
import { dumpJobs, dumpPrefix } from './dump.js';

/**
 * Issue #10, upload part: a producer could make the worker read any local file (/etc/passwd,
 * /proc/self/environ, a FIFO, /dev/zero) and have it quoted back. Now producers refuse paths
 * outside UPLOAD_DIR without touching the file, and the worker refuses, within seconds and
 * without reading a byte, anything that is not a regular file inside UPLOAD_DIR: `..`, symlinks
 * out (final component or a folder on the way), FIFOs, devices. No byte of such a file appears
 * in any status, job field, job log, log line or Redis key of the prefix.
 */

const root = tempFolder('confine');
const uploadDir = join(root.dir, 'uploads');
const outside = join(root.dir, 'outside');
/** A file outside UPLOAD_DIR whose content must never come back. */
const secretFile = join(outside, 'secret.csv');
const SECRET = `SECRET=h1-${Math.random().toString(36).slice(2)}`;

beforeAll(() => {
  mkdirSync(uploadDir);
  mkdirSync(outside);
  writeFileSync(secretFile, `${SECRET}\n${SECRET}-2\n`);
});
afterAll(() => root.remove());

describe('a producer checking file.path against UPLOAD_DIR', () => {
  it('accepts a file inside the folder, and refuses outside, .., relative and no UPLOAD_DIR', () => {
    expect(checkUploadPath(join(uploadDir, 'a.csv'), uploadDir)).toBeUndefined();
    expect(checkUploadPath(join(uploadDir, 'sub', 'a.csv'), uploadDir)).toBeUndefined();
    expect(checkUploadPath(secretFile, uploadDir)).toBe(`must be a file inside UPLOAD_DIR (${uploadDir})`);
    expect(checkUploadPath('/etc/passwd', uploadDir)).toMatch(/inside UPLOAD_DIR/);
    expect(checkUploadPath(`${uploadDir}/../outside/secret.csv`, uploadDir)).toBe('must not contain . or .. segments');
    expect(checkUploadPath(`${uploadDir}/./a.csv`, uploadDir)).toBe('must not contain . or .. segments');
    expect(checkUploadPath(uploadDir, uploadDir)).toMatch(/inside UPLOAD_DIR/);
    expect(checkUploadPath(`${uploadDir}-evil/a.csv`, uploadDir)).toMatch(/inside UPLOAD_DIR/);
    expect(checkUploadPath('a.csv', uploadDir)).toBe('must be an absolute path');
    expect(checkUploadPath(join(uploadDir, 'a.csv'), undefined)).toMatch(/no UPLOAD_DIR/);
  });

  it('gives the same answer for an existing and a missing file outside: it never looks', () => {
    expect(checkUploadPath(secretFile, uploadDir)).toBe(checkUploadPath(join(outside, 'missing.csv'), uploadDir));
  });

  it('API: POST /v1/list-sends answers 400 naming file.path, and enqueues nothing', async () => {
    const api = startApi({ label: 'confine-api', uploadDir });
    try {
      const post = (path: string, runId: string) =>
        api.app.inject({ method: 'POST', url: '/v1/list-sends', headers: AUTH, payload: fileRequest(runId, path) as object });
      const existing = await post(secretFile, 'c-api-1');
      const missing = await post(join(outside, 'missing.csv'), 'c-api-2');
      expect(existing.statusCode).toBe(400);
      expect(existing.json()).toMatchObject({ error: 'invalid-request', problems: [{ path: 'file.path', message: `must be a file inside UPLOAD_DIR (${uploadDir})` }] });
      expect(missing.json().problems).toEqual(existing.json().problems);
      expect(existing.body).not.toContain(SECRET);
      expect(await api.producer.status('c-api-1')).toBeUndefined();
      const inside = await post(join(uploadDir, 'later.csv'), 'c-api-3');
      expect(inside.statusCode).toBeLessThan(300);
    } finally {
      await api.close();
    }
  });

  it('library: enqueue throws RequestValidationError before touching Redis', async () => {
    const api = startApi({ label: 'confine-lib', uploadDir });
    try {
      const err = await api.producer.enqueue(fileRequest('c-lib', '/proc/self/environ')).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RequestValidationError);
      expect((err as RequestValidationError).problems).toEqual([{ path: 'file.path', message: `must be a file inside UPLOAD_DIR (${uploadDir})` }]);
    } finally {
      await api.close();
    }
  });

  it('CLI: list-send enqueue exits 2 naming file.path', async () => {
    const prefix = uniquePrefix('confine-cli');
    const env = { REDIS_URL: testRedisUrl(), QUEUE_PREFIX: prefix, UPLOAD_DIR: uploadDir };
    const result = await runCli(['enqueue', '-'], env, JSON.stringify(fileRequest('c-cli', secretFile)));
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(`invalid request:\n  file.path: must be a file inside UPLOAD_DIR (${uploadDir})\n`);
    expect(result.stdout + result.stderr).not.toContain(SECRET);
  });
});

describe('a worker given a path it must not read', () => {
  let pipeline: Pipeline;
  let redis: Redis;
  let feeder: ReturnType<typeof spawn> | undefined;
  const environ = readFileSync('/proc/self/environ', 'latin1');
  // A value of this process's own environment, which /proc/self/environ would quote.
  const environValue = /(?:^|\0)PATH=([^\0]{8,})/.exec(environ)?.[1] ?? 'no-path-in-environ';
  const passwdLine = readFileSync('/etc/passwd', 'utf8').split('\n')[0] ?? 'root:x:0:0';

  beforeAll(async () => {
    // The library producer of the harness does not check: these requests reach the worker.
    pipeline = await startPipeline({ label: 'confine-worker', env: { UPLOAD_DIR: uploadDir } });
    redis = new Redis(testRedisUrl());
    symlinkSync(secretFile, join(uploadDir, 'link.csv'));
    symlinkSync(outside, join(uploadDir, 'outside-dir'));
    symlinkSync('/proc/self/environ', join(uploadDir, 'environ.csv'));
    execFileSync('mkfifo', [join(uploadDir, 'quiet.fifo')]);
    execFileSync('mkfifo', [join(uploadDir, 'fed.fifo')]);
    // A writer that feeds its FIFO forever: /dev/zero without a device.
    feeder = spawn('sh', ['-c', `yes '${SECRET}' > '${join(uploadDir, 'fed.fifo')}'`], { stdio: 'ignore' });
    // The same device as /dev/zero (1,5), made inside UPLOAD_DIR (tests run as root).
    execFileSync('mknod', [join(uploadDir, 'zero'), 'c', '1', '5']);
  });
  afterAll(async () => {
    feeder?.kill();
    redis?.disconnect();
    await pipeline?.close();
  });

  const cases: [string, () => string, Record<string, unknown>, RegExp][] = [
    ['/etc/passwd, email in column 0, no header', () => '/etc/passwd', { headerLines: 0, fieldMaps: [{ sourceOrdinal: 0, destinationName: 'Email Address' }] }, /^upload-file: file-not-allowed: file\.path \/etc\/passwd must be a file inside UPLOAD_DIR/],
    ['/proc/self/environ with fileType Other', () => '/proc/self/environ', { fileType: 'Other', delimiter: 'SECRE', headerLines: 0, fieldMaps: [{ sourceOrdinal: 1, destinationName: 'Email Address' }] }, /^upload-file: file-not-allowed: .*inside UPLOAD_DIR/],
    ['a path climbing out with ..', () => `${uploadDir}/../outside/secret.csv`, {}, /^upload-file: file-not-allowed: .*must not contain \. or \.\. segments/],
    ['a symlink out as the final component', () => join(uploadDir, 'link.csv'), {}, /^upload-file: file-unreadable: .*no such file inside UPLOAD_DIR/],
    ['a symlinked folder on the way out', () => join(uploadDir, 'outside-dir', 'secret.csv'), {}, /^upload-file: file-unreadable: .*no such file inside UPLOAD_DIR/],
    ['a symlink to /proc/self/environ', () => join(uploadDir, 'environ.csv'), { fileType: 'Other', delimiter: 'SECRE' }, /^upload-file: file-unreadable: .*no such file inside UPLOAD_DIR/],
    ['a FIFO nobody writes to', () => join(uploadDir, 'quiet.fifo'), {}, /^upload-file: file-not-allowed: .*is not a regular file/],
    ['a FIFO fed forever', () => join(uploadDir, 'fed.fifo'), { allowErrors: true, allowEmpty: true }, /^upload-file: file-not-allowed: .*is not a regular file/],
    ['a character device like /dev/zero', () => join(uploadDir, 'zero'), { allowErrors: true, allowEmpty: true }, /^upload-file: file-not-allowed: .*is not a regular file/],
    ['the folder itself', () => uploadDir, {}, /^upload-file: file-not-allowed: .*inside UPLOAD_DIR/],
  ];

  it.each(cases)('refuses %s within seconds, with one attempt and no SFTP login', async (_label, path, overrides, reason) => {
    const runId = `c-${Math.random().toString(36).slice(2, 10)}`;
    const started = Date.now();
    await pipeline.producer.enqueue(fileRequest(runId, path(), overrides));
    const status = await pipeline.producer.waitUntilFinished(runId, { timeoutMs: 10_000 });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(status.state).toBe('failed');
    expect(status.error).toMatch(reason);
    expect(status.steps.find((s) => s.step === 'upload-file')?.attemptsMade).toBe(1);
    expect(pipeline.sandbox.sftp.authAttempts()).toEqual([]);
  });

  it('leaves no byte of those files in any status, job, job log, log line or Redis key', async () => {
    const runIds = await pipeline.producer.recentRunIds(100);
    expect(runIds.length).toBe(cases.length);
    const statuses = JSON.stringify(await Promise.all(runIds.map((id) => pipeline.producer.status(id))));
    const places: [string, string][] = [
      ['run statuses', statuses],
      ['jobs (data, failedReason, stacktrace, logs)', await dumpJobs(redis, pipeline.prefix)],
      ['Redis keys of the prefix', (await dumpPrefix(redis, pipeline.prefix)).text],
      ['worker log', JSON.stringify(pipeline.logLines())],
    ];
    for (const [where, text] of places) {
      for (const needle of [SECRET, environValue, passwdLine]) {
        expect(text.includes(needle), `${where} contains ${needle.slice(0, 20)}`).toBe(false);
      }
    }
  });
});

describe('the realpath of UPLOAD_DIR', () => {
  it('accepts paths under a folder given through a symlink, in either spelling', () => {
    const link = join(root.dir, 'uploads-link');
    symlinkSync(uploadDir, link);
    expect(checkUploadPath(join(link, 'a.csv'), link)).toBeUndefined();
    expect(checkUploadPath(join(realpathSync(uploadDir), 'a.csv'), link)).toBeUndefined();
  });
});
