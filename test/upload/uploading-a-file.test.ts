import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { sampleCounts, writeSampleFile } from '../../src/dev/sample-file.js';
import { startPipeline, type Pipeline } from '../helpers/pipeline.js';
import { fileRequest, importFiles, jobLogs, tempFolder } from './helpers.js';

describe('a run that uploads its subscriber file', () => {
  const folder = tempFolder('ok');
  let pipeline: Pipeline | undefined;
  afterEach(async () => {
    await pipeline?.close();
    pipeline = undefined;
  });
  afterAll(() => folder.remove());

  it('uploads the file beside resolve-list, and the import counts its rows', async () => {
    pipeline = await startPipeline({ label: 'upload-ok' });
    const source = join(folder.dir, 'subscribers.csv');
    await writeSampleFile(source, { rows: 2_000 });
    const request = fileRequest('upload-ok', source);
    // Kept, so the definition's FileSpec can be checked below (the run deletes it otherwise).
    const { runId } = await pipeline.producer.enqueue({ ...request, import: { ...request.import, keepDefinition: true } });

    const status = await pipeline.producer.waitUntilFinished(runId, { timeoutMs: 20_000 });

    expect(status.state).toBe('completed');
    expect(status.steps.map((s) => [s.step, s.state])).toEqual([
      ['resolve-list', 'completed'],
      ['upload-file', 'completed'],
      ['create-import', 'completed'],
      ['start-import', 'completed'],
      ['poll-import', 'completed'],
      ['send', 'completed'],
    ]);
    const fileSpec = 'upload-ok-subscribers.csv';
    expect(status.steps.find((s) => s.step === 'upload-file')?.result).toEqual({
      fileSpec,
      remotePath: `/Import/${fileSpec}`,
      bytes: statSync(source).size,
      rows: 2_000,
      problems: 0,
      problemTotals: {},
      reused: false,
    });
    // The last progress the upload reported: every byte sent and every row checked (CLI bar, /runs).
    expect(status.steps.find((s) => s.step === 'upload-file')?.progress).toEqual({ uploadedBytes: statSync(source).size, totalBytes: statSync(source).size, rows: 2_000 });
    expect(status.result?.import).toEqual({ numberSuccessful: 2_000, numberErrors: 0, numberDuplicated: 0, totalRows: 2_000 });
    expect(pipeline.sandbox.state.importDefinitions['ls-upload-ok']).toMatchObject({ fileSpec, headerLines: 1 });
    expect(importFiles(pipeline.sandbox)).toEqual([fileSpec]);
    expect(readFileSync(join(pipeline.sandbox.sftp.importDir, fileSpec)).equals(readFileSync(source))).toBe(true);
    expect(pipeline.sandbox.state.sends).toHaveLength(1);
  });

  it('with allowErrors, lets bad rows through and the import reports them as errors and duplicates', async () => {
    pipeline = await startPipeline({ label: 'upload-allow' });
    const shape = { rows: 1_000, invalidEvery: 50, duplicateEvery: 40 };
    const source = join(folder.dir, 'with-errors.csv');
    await writeSampleFile(source, shape);
    const expected = sampleCounts(shape);
    const { runId } = await pipeline.producer.enqueue(fileRequest('upload-allow', source, { allowErrors: true }));

    const status = await pipeline.producer.waitUntilFinished(runId, { timeoutMs: 20_000 });

    expect(status.state).toBe('completed');
    expect(status.steps.find((s) => s.step === 'upload-file')?.result).toMatchObject({
      rows: 1_000,
      // Repeated emails are counted by SFMC (numberDuplicated), not by the pre-check (issue #11).
      problems: expected.invalid,
      problemTotals: { 'invalid-email': expected.invalid },
    });
    expect(status.result?.import).toEqual({
      totalRows: 1_000,
      numberErrors: expected.invalid,
      numberDuplicated: expected.duplicated,
      numberSuccessful: 1_000 - expected.invalid - expected.duplicated,
    });
    expect(pipeline.sandbox.calls().find((c) => c.operation === 'Create' && c.objectType === 'ImportDefinition')).toBeDefined();
  });

  it('counts repeated emails without failing the run; failOnDuplicateEmails makes them fatal', async () => {
    pipeline = await startPipeline({ label: 'upload-dups' });
    const shape = { rows: 400, duplicateEvery: 40 };
    const source = join(folder.dir, 'repeats.csv');
    await writeSampleFile(source, shape);
    const expected = sampleCounts(shape);

    const { runId } = await pipeline.producer.enqueue(fileRequest('upload-dups', source));
    const status = await pipeline.producer.waitUntilFinished(runId, { timeoutMs: 20_000 });
    expect(status.state).toBe('completed');
    expect(status.steps.find((s) => s.step === 'upload-file')?.result).toMatchObject({ problems: 0 });
    expect(status.result?.import).toMatchObject({ numberDuplicated: expected.duplicated });
    expect((await jobLogs(pipeline.prefix, runId, 'upload-file')).join('\n')).toContain(`${expected.duplicated} rows repeat an earlier row's email`);

    const strict = await pipeline.producer.enqueue(fileRequest('upload-dups-strict', source, { failOnDuplicateEmails: true }));
    const failed = await pipeline.producer.waitUntilFinished(strict.runId, { timeoutMs: 20_000 });
    expect(failed.error).toMatch(/^upload-file: invalid-file: .*repeats\.csv: 1 problem in \d+ data rows \(duplicate email: 1\); first at line \d+; checking stopped/);
  });
});
