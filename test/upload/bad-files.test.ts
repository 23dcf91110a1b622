import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { writeSampleFile } from '../../src/dev/sample-file.js';
import { startPipeline, type Pipeline } from '../helpers/pipeline.js';
import { changingCalls, fileRequest, importFiles, jobLogs, tempFolder, waitForStep } from './helpers.js';

describe('a run whose file fails pre-validation', () => {
  const folder = tempFolder('bad');
  let pipeline: Pipeline | undefined;
  afterEach(async () => {
    await pipeline?.close();
    pipeline = undefined;
  });
  afterAll(() => folder.remove());

  it('fails in upload-file at the first problem, by line number, before any SOAP call that changes anything', async () => {
    pipeline = await startPipeline({ label: 'bad-file' });
    const source = join(folder.dir, 'subscribers.csv');
    // Rows 100, 200 and 300 have invalid emails: lines 101, 201 and 301 (line 1 is the header).
    await writeSampleFile(source, { rows: 300, invalidEvery: 100 });
    const { runId } = await pipeline.producer.enqueue(fileRequest('bad-file', source));

    const status = await pipeline.producer.waitUntilFinished(runId, { timeoutMs: 20_000 });

    expect(status.state).toBe('failed');
    // Counts, kinds and line numbers only: the failedReason never quotes the file.
    expect(status.error).toBe(
      `upload-file: invalid-file: ${source}: 1 problem in 100 data rows (invalid email: 1); first at line 101; checking stopped at line 101; the job log lists them`,
    );
    // The job log (the file is confined to UPLOAD_DIR) shows the value, at most 60 characters.
    const logs = await jobLogs(pipeline.prefix, runId, 'upload-file');
    expect(logs.join('\n')).toMatch(/\n {2}line 101: invalid email "\w+\.at\.nowhere"/);
    const upload = status.steps.find((s) => s.step === 'upload-file');
    expect(upload).toMatchObject({ state: 'failed', attemptsMade: 1 });
    // The parents fail in turn without running; by then no Create or Perform was ever made.
    await waitForStep(pipeline.producer, runId, 'send', 'failed');
    expect(changingCalls(pipeline.sandbox)).toEqual([]);
    expect(pipeline.sandbox.state.importDefinitions).toEqual({});
    expect(pipeline.sandbox.state.sends).toEqual([]);
    // Nothing is left in the Import folder, not even the temporary file.
    expect(importFiles(pipeline.sandbox)).toEqual([]);
  });

  it('stops reading a big file at its first problem and sends little of it', async () => {
    pipeline = await startPipeline({ label: 'bad-many' });
    const source = join(folder.dir, 'many.csv');
    await writeSampleFile(source, { rows: 200_000, invalidEvery: 100_000 });
    const { runId } = await pipeline.producer.enqueue(fileRequest('bad-many', source));

    const status = await pipeline.producer.waitUntilFinished(runId, { timeoutMs: 20_000 });

    expect(status.error).toMatch(/^upload-file: invalid-file: .*many\.csv: 1 problem in 100000 data rows \(invalid email: 1\); first at line 100001; checking stopped at line 100001/);
    const written = pipeline.sandbox.sftp.log().filter((e) => e.op === 'close').map((e) => Number(/(\d+) bytes written/.exec(e.detail ?? '')?.[1] ?? 0));
    expect(Math.max(0, ...written)).toBeLessThan(statSync(source).size * 0.6);
    expect(importFiles(pipeline.sandbox)).toEqual([]);
  });

  it('fails a file that is not UTF-8 even with allowErrors', async () => {
    pipeline = await startPipeline({ label: 'bad-utf8' });
    const source = join(folder.dir, 'latin1.csv');
    writeFileSync(source, Buffer.concat([Buffer.from('ID,First,Last,Title,Email\n1,Zo'), Buffer.from([0xeb]), Buffer.from(',Lee,CEO,zoe@example.com\n')]));
    const { runId } = await pipeline.producer.enqueue(fileRequest('bad-utf8', source, { allowErrors: true }));

    const status = await pipeline.producer.waitUntilFinished(runId, { timeoutMs: 20_000 });

    expect(status.error).toMatch(/^upload-file: invalid-file: .*latin1\.csv: 1 problem in 0 data rows \(not UTF-8: 1\); first at line 2; checking stopped at line 2; the job log lists them$/);
    expect(changingCalls(pipeline.sandbox)).toEqual([]);
  });

  it('fails with file-unreadable when the file is not on the worker', async () => {
    pipeline = await startPipeline({ label: 'bad-missing' });
    const { runId } = await pipeline.producer.enqueue(fileRequest('bad-missing', join(folder.dir, 'nowhere.csv')));
    const status = await pipeline.producer.waitUntilFinished(runId, { timeoutMs: 20_000 });
    expect(status.error).toMatch(/^upload-file: file-unreadable: cannot read file\.path .*nowhere\.csv on the worker: no such file inside UPLOAD_DIR/);
    expect(status.steps.find((s) => s.step === 'upload-file')?.attemptsMade).toBe(1);
    expect(pipeline.sandbox.sftp.authAttempts()).toEqual([]);
  });
});
