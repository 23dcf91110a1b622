import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { writeSampleFile } from '../../src/dev/sample-file.js';
import { startPipeline, type Pipeline } from '../helpers/pipeline.js';
import { changingCalls, fileRequest, importFiles, tempFolder, waitForStep } from './helpers.js';

describe('SFTP failures during a run', () => {
  const folder = tempFolder('sftp');
  let pipeline: Pipeline | undefined;
  afterEach(async () => {
    await pipeline?.close();
    pipeline = undefined;
  });
  afterAll(() => folder.remove());

  it('retries an upload whose connection was cut, and never shows a partial file under the final name', async () => {
    pipeline = await startPipeline({ label: 'sftp-cut' });
    const source = join(folder.dir, 'big.csv');
    await writeSampleFile(source, { rows: 30_000 });
    const size = statSync(source).size;
    pipeline.sandbox.faults.inject({ operation: 'sftp', kind: 'reset', afterBytes: Math.floor(size / 3) });
    const fileSpec = 'sftp-cut-big.csv';
    const finalPath = join(pipeline.sandbox.sftp.importDir, fileSpec);

    // Watch the final name the whole time: it may be absent or whole, never anything else.
    const seenSizes = new Set<number>();
    const watcher = setInterval(() => {
      try {
        if (existsSync(finalPath)) seenSizes.add(statSync(finalPath).size);
      } catch {
        // renamed in between: nothing to see
      }
    }, 1);
    const { runId } = await pipeline.producer.enqueue(fileRequest('sftp-cut', source));
    const status = await pipeline.producer.waitUntilFinished(runId, { timeoutMs: 20_000 });
    clearInterval(watcher);

    expect(status.state).toBe('completed');
    expect([...seenSizes]).toEqual([size]);
    expect(readFileSync(finalPath).equals(readFileSync(source))).toBe(true);
    expect(importFiles(pipeline.sandbox)).toEqual([fileSpec]);
    // Every write went to a temporary name; the final name only ever came from a rename.
    const log = pipeline.sandbox.sftp.log();
    const opened = log.filter((e) => e.op === 'open').map((e) => e.path);
    expect(opened).toEqual([`/Import/.${fileSpec}.part-1`, `/Import/.${fileSpec}.part-2`]);
    expect(log.filter((e) => e.op === 'cut')).toHaveLength(1);
    expect(log.filter((e) => e.op === 'remove').map((e) => e.path)).toEqual([`/Import/.${fileSpec}.part-1`]);
    expect(log.filter((e) => e.op === 'rename').map((e) => [e.path, e.detail])).toEqual([[`/Import/.${fileSpec}.part-2`, `to /Import/${fileSpec}`]]);
    expect(status.result?.import.totalRows).toBe(30_000);
  });

  it('fails at once on wrong SFTP credentials, after exactly one login attempt', async () => {
    pipeline = await startPipeline({ label: 'sftp-auth', env: { SFMC_SFTP_PASSWORD: 'not-the-password' } });
    const source = join(folder.dir, 'small.csv');
    await writeSampleFile(source, { rows: 10 });
    const { runId } = await pipeline.producer.enqueue(fileRequest('sftp-auth', source));

    const status = await pipeline.producer.waitUntilFinished(runId, { timeoutMs: 20_000 });
    await waitForStep(pipeline.producer, runId, 'send', 'failed');

    expect(status.state).toBe('failed');
    expect(status.error).toMatch(
      /^upload-file: sftp-auth-failed: SFTP login as sandbox@127\.0\.0\.1:\d+ was refused \(.*All configured authentication methods failed\)\. Not retried: SFMC locks an FTP account for 30 minutes/,
    );
    expect(status.error).not.toContain('not-the-password');
    expect(status.steps.find((s) => s.step === 'upload-file')).toMatchObject({ state: 'failed', attemptsMade: 1 });
    // A retry would be a second attempt by now (backoff is 20 ms in tests).
    await new Promise((r) => setTimeout(r, 300));
    expect(pipeline.sandbox.sftp.authAttempts().map((a) => [a.method, a.ok])).toEqual([['password', false]]);
    expect(changingCalls(pipeline.sandbox)).toEqual([]);
    expect(JSON.stringify(pipeline.logLines())).not.toContain('not-the-password');
  });

  it('refuses a server whose host key does not match the pinned fingerprint, before logging in', async () => {
    pipeline = await startPipeline({ label: 'sftp-hostkey', env: { SFMC_SFTP_HOST_FINGERPRINT: `SHA256:${'A'.repeat(43)}` } });
    const source = join(folder.dir, 'hostkey.csv');
    await writeSampleFile(source, { rows: 10 });
    const { runId } = await pipeline.producer.enqueue(fileRequest('sftp-hostkey', source));

    const status = await pipeline.producer.waitUntilFinished(runId, { timeoutMs: 20_000 });

    expect(status.error).toMatch(/^upload-file: sftp-host-key-mismatch: the host key of 127\.0\.0\.1:\d+ does not match SFMC_SFTP_HOST_FINGERPRINT/);
    expect(status.steps.find((s) => s.step === 'upload-file')?.attemptsMade).toBe(1);
    expect(pipeline.sandbox.sftp.authAttempts()).toEqual([]);
  });

  it('fails with sftp-not-configured on a worker without SFTP settings', async () => {
    pipeline = await startPipeline({ label: 'sftp-none', env: { SFMC_SFTP_USERNAME: '', SFMC_SFTP_PASSWORD: '' } });
    const source = join(folder.dir, 'none.csv');
    await writeSampleFile(source, { rows: 10 });
    const { runId } = await pipeline.producer.enqueue(fileRequest('sftp-none', source));
    const status = await pipeline.producer.waitUntilFinished(runId, { timeoutMs: 20_000 });
    expect(status.error).toMatch(/^upload-file: sftp-not-configured: this worker has no SFTP configuration/);
  });
});
