import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { writeSampleFile } from '../../src/dev/sample-file.js';
import { startPipeline, type Pipeline } from '../helpers/pipeline.js';
import { changingCalls, fileRequest, importFiles, tempFolder, waitForStep } from './helpers.js';

describe('a run whose file fails pre-validation', () => {
  const folder = tempFolder('bad');
  let pipeline: Pipeline | undefined;
  afterEach(async () => {
    await pipeline?.close();
    pipeline = undefined;
  });
  afterAll(() => folder.remove());

  it('fails in upload-file with the problems by line number, before any SOAP call that changes anything', async () => {
    pipeline = await startPipeline({ label: 'bad-file' });
    const source = join(folder.dir, 'subscribers.csv');
    // Rows 100, 200 and 300 have invalid emails: lines 101, 201 and 301 (line 1 is the header).
    await writeSampleFile(source, { rows: 300, invalidEvery: 100 });
    const { runId } = await pipeline.producer.enqueue(fileRequest('bad-file', source));

    const status = await pipeline.producer.waitUntilFinished(runId, { timeoutMs: 20_000 });

    expect(status.state).toBe('failed');
    const lines = (status.error ?? '').split('\n');
    expect(lines[0]).toBe(`upload-file: invalid-file: ${source}: 3 problems in 300 data rows (invalid email: 3)`);
    expect(lines.slice(1)).toEqual([
      expect.stringMatching(/^ {2}line 101: invalid email "\w+\.at\.nowhere"$/),
      expect.stringMatching(/^ {2}line 201: invalid email/),
      expect.stringMatching(/^ {2}line 301: invalid email/),
    ]);
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

  it('lists the first 20 problems and counts the rest', async () => {
    pipeline = await startPipeline({ label: 'bad-many' });
    const source = join(folder.dir, 'many.csv');
    await writeSampleFile(source, { rows: 500, invalidEvery: 10, duplicateEvery: 7 });
    const { runId } = await pipeline.producer.enqueue(fileRequest('bad-many', source));

    const status = await pipeline.producer.waitUntilFinished(runId, { timeoutMs: 20_000 });

    const lines = (status.error ?? '').split('\n');
    expect(lines[0]).toMatch(/^upload-file: invalid-file: .*many\.csv: \d+ problems in 500 data rows \(invalid email: 50, duplicate email: \d+\)$/);
    expect(lines.filter((l) => /^ {2}line \d+: /.test(l))).toHaveLength(20);
    expect(lines.at(-1)).toMatch(/^ {2}\.\.\. and \d+ more$/);
    expect(changingCalls(pipeline.sandbox)).toEqual([]);
  });

  it('fails a file that is not UTF-8 even with allowErrors', async () => {
    pipeline = await startPipeline({ label: 'bad-utf8' });
    const source = join(folder.dir, 'latin1.csv');
    writeFileSync(source, Buffer.concat([Buffer.from('ID,First,Last,Title,Email\n1,Zo'), Buffer.from([0xeb]), Buffer.from(',Lee,CEO,zoe@example.com\n')]));
    const { runId } = await pipeline.producer.enqueue(fileRequest('bad-utf8', source, { allowErrors: true }));

    const status = await pipeline.producer.waitUntilFinished(runId, { timeoutMs: 20_000 });

    expect(status.error).toMatch(/^upload-file: invalid-file: .*latin1\.csv: 1 problem in 0 data rows \(not UTF-8: 1\); checking stopped at line 2\n {2}line 2: not valid UTF-8/);
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
