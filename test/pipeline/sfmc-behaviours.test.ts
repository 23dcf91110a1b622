import { afterEach, describe, expect, it } from 'vitest';
import { importDefinitionSpec } from '../../processors/create-import.js';
import type { PollImportResult, ResolveListResult } from '../../queues/catalog.js';
import { parseListSendRequest } from '../../src/request.js';
import { createSfmcClient } from '../../src/sfmc/client.js';
import { startPipeline, seedRequest, type Pipeline } from '../helpers/pipeline.js';
import { runToEnd } from '../reliability/support.js';

/** Issue #11: what real SFMC does that the first sandbox did not, and how the pipeline copes. */

let pipeline: Pipeline | undefined;
afterEach(async () => {
  await pipeline?.close();
  pipeline = undefined;
});


const stepOf = (status: Awaited<ReturnType<typeof runToEnd>>, step: string) => status.steps.find((s) => s.step === step);

describe('a Retrieve answered HTTP 200 "Error: Timeout expired" (SFMC database timeout)', () => {
  it('is retried at resolve-list instead of failing the run', async () => {
    pipeline = await startPipeline({ label: 'db-timeout-list' });
    pipeline.sandbox.faults.inject({ operation: 'Retrieve', objectType: 'List', kind: 'db-timeout' });
    const status = await runToEnd(pipeline, 'db-timeout-list');
    expect(status.state).toBe('completed');
    expect(stepOf(status, 'resolve-list')?.attemptsMade).toBe(2);
    expect(pipeline.sandbox.calls().some((c) => c.injected === 'db-timeout')).toBe(true);
    expect(pipeline.sandbox.state.sends).toHaveLength(1);
  });
});

describe('poll-import meeting transient faults before poll.timeoutMs', () => {
  it('counts database timeouts, deadlocks and server faults as no news and completes the run', async () => {
    pipeline = await startPipeline({ label: 'poll-no-news', sandbox: { import: { durationMs: 400 } } });
    const { faults } = pipeline.sandbox;
    faults.inject({ operation: 'Retrieve', objectType: 'ImportResultsSummary', kind: 'db-timeout' });
    faults.inject({ operation: 'Retrieve', objectType: 'ImportResultsSummary', kind: 'db-deadlock', onCall: 2 });
    faults.inject({ operation: 'Retrieve', objectType: 'ImportResultsSummary', kind: 'server-fault', onCall: 3 });
    const status = await runToEnd(pipeline, 'poll-no-news', { poll: { initialDelayMs: 20, maxDelayMs: 50, timeoutMs: 20_000 } });

    expect(status.state).toBe('completed');
    const poll = stepOf(status, 'poll-import');
    // No attempt spent: the failed checks were retried on the poll schedule.
    expect(poll?.attemptsMade).toBe(1);
    const result = poll?.result as PollImportResult;
    expect(result.failedChecks).toBe(3);
    expect(result.polls).toBeGreaterThanOrEqual(4);
    const injected = pipeline.sandbox.calls().filter((c) => c.injected).map((c) => c.injected);
    expect(injected).toEqual(['db-timeout', 'db-deadlock', 'server-fault']);
    const warnings = pipeline.logLines().filter((l) => l.msg === 'import status check failed; treated as no news');
    expect(warnings.map((l) => l['failedChecks'])).toEqual([1, 2, 3]);
    expect(pipeline.sandbox.state.sends).toHaveLength(1);
  });

  it('still fails the run on a fatal fault', async () => {
    pipeline = await startPipeline({ label: 'poll-fatal' });
    pipeline.sandbox.faults.inject({ operation: 'Retrieve', objectType: 'ImportResultsSummary', kind: 'client-fault', times: 10 });
    const status = await runToEnd(pipeline, 'poll-fatal', { poll: { initialDelayMs: 20, maxDelayMs: 50, timeoutMs: 20_000 } });
    expect(status.state).toBe('failed');
    expect(status.error).toMatch(/^poll-import: client-fault/);
    expect(pipeline.sandbox.state.sends).toHaveLength(0);
  });

  it('fails with poll-timeout, naming the last failure, when checks keep failing past poll.timeoutMs', async () => {
    pipeline = await startPipeline({ label: 'poll-fail-timeout' });
    pipeline.sandbox.faults.inject({ operation: 'Retrieve', objectType: 'ImportResultsSummary', kind: 'db-timeout', times: 1000 });
    const status = await runToEnd(pipeline, 'poll-fail-timeout', { poll: { initialDelayMs: 20, maxDelayMs: 50, timeoutMs: 300 } });
    expect(status.state).toBe('failed');
    expect(status.error).toMatch(/^poll-import: poll-timeout: .*the last check failed: .*Timeout expired/);
    expect(pipeline.sandbox.state.sends).toHaveLength(0);
  });
});

describe('a wrong Email ID', () => {
  it('fails the run at resolve-list with email-not-found before the import changes the List', async () => {
    pipeline = await startPipeline({ label: 'no-email' });
    const status = await runToEnd(pipeline, 'no-email', { email: { id: 987654 } });
    expect(status.state).toBe('failed');
    expect(status.error).toMatch(/^resolve-list: email-not-found: no Email with ID 987654/);
    expect(stepOf(status, 'resolve-list')?.attemptsMade).toBe(1);
    expect(Object.keys(pipeline.sandbox.state.importDefinitions)).toHaveLength(0);
    expect(Object.keys(pipeline.sandbox.state.imports)).toHaveLength(0);
    expect(pipeline.sandbox.state.sends).toHaveLength(0);
  });

  it('is checked by Retrieve of Email, and a good one keeps its name and subject for the status', async () => {
    pipeline = await startPipeline({ label: 'email-checked' });
    const added = pipeline.sandbox.addEmail({ name: 'Spring sale', subject: 'Spring is here' });
    const status = await runToEnd(pipeline, 'email-checked', { email: { id: Number(added.id) } });
    expect(status.state).toBe('completed');
    const resolved = stepOf(status, 'resolve-list')?.result as ResolveListResult;
    expect(resolved.email).toEqual({ id: added.id, name: 'Spring sale', subject: 'Spring is here' });
    expect(pipeline.sandbox.calls().filter((c) => c.objectType === 'Email')).toHaveLength(1);
  });
});

describe('a worker with SFMC_CHECK_EMAIL=false', () => {
  it('does not Retrieve the Email and leaves it out of resolve-list\'s result', async () => {
    pipeline = await startPipeline({ label: 'no-email-check', settings: { checkEmail: false } });
    const status = await runToEnd(pipeline, 'no-email-check');
    expect(status.state).toBe('completed');
    expect(stepOf(status, 'resolve-list')?.result).toEqual({ listId: '123', listName: 'Sample_List' });
    expect(pipeline.sandbox.calls().filter((c) => c.objectType === 'Email')).toHaveLength(0);
  });
});

describe('the run\'s ImportDefinition after the import completes', () => {
  it('is deleted by CustomerKey (SOAP Delete) and the result says so', async () => {
    pipeline = await startPipeline({ label: 'cleanup' });
    const status = await runToEnd(pipeline, 'cleanup');
    expect(status.state).toBe('completed');
    expect(pipeline.sandbox.state.importDefinitions).toEqual({});
    const deletes = pipeline.sandbox.calls().filter((c) => c.operation === 'Delete');
    expect(deletes).toMatchObject([{ soapAction: 'Delete', objectType: 'ImportDefinition', httpStatus: 200, overallStatus: 'OK' }]);
    expect((stepOf(status, 'poll-import')?.result as PollImportResult).definition).toEqual({ customerKey: 'ls-cleanup', outcome: 'deleted' });
  });

  it('is kept with import.keepDefinition', async () => {
    pipeline = await startPipeline({ label: 'keep' });
    const request = seedRequest({ runId: 'keep' });
    const status = await runToEnd(pipeline, 'keep', { import: { ...request.import, keepDefinition: true } });
    expect(status.state).toBe('completed');
    expect(Object.keys(pipeline.sandbox.state.importDefinitions)).toEqual(['ls-keep']);
    expect(pipeline.sandbox.calls().filter((c) => c.operation === 'Delete')).toHaveLength(0);
    expect((stepOf(status, 'poll-import')?.result as PollImportResult).definition).toEqual({ customerKey: 'ls-keep', outcome: 'kept' });
  });

  it('stays when the Delete fails, as a warning: the run completes and the Delete is not retried', async () => {
    pipeline = await startPipeline({ label: 'cleanup-fails' });
    pipeline.sandbox.faults.inject({ operation: 'Delete', kind: 'server-fault', times: 5 });
    const status = await runToEnd(pipeline, 'cleanup-fails');
    expect(status.state).toBe('completed');
    expect(stepOf(status, 'poll-import')?.attemptsMade).toBe(1);
    const definition = (stepOf(status, 'poll-import')?.result as PollImportResult).definition;
    expect(definition).toMatchObject({ customerKey: 'ls-cleanup-fails', outcome: 'failed', warning: expect.stringMatching(/could not be deleted/) });
    expect(Object.keys(pipeline.sandbox.state.importDefinitions)).toEqual(['ls-cleanup-fails']);
    expect(pipeline.sandbox.calls().filter((c) => c.operation === 'Delete')).toHaveLength(1);
    expect(pipeline.logLines().some((l) => l.msg === 'ImportDefinition clean-up failed')).toBe(true);
    expect(pipeline.sandbox.state.sends).toHaveLength(1);
  });
});

describe('an ImportDefinition CustomerKey already in use, answered with ErrorCode 1 "Name already exists"', () => {
  it('is looked up on re-entry before creating: a Create whose reply was lost is reused, not refused', async () => {
    pipeline = await startPipeline({ label: 'key-in-use', sandbox: { duplicateKeyErrorCode: 1 } });
    pipeline.sandbox.faults.inject({ operation: 'Create', objectType: 'ImportDefinition', kind: 'drop-after-commit' });
    const status = await runToEnd(pipeline, 'key-in-use');
    expect(status.state).toBe('completed');
    expect(stepOf(status, 'create-import')?.attemptsMade).toBe(2);
    expect(stepOf(status, 'create-import')?.result).toMatchObject({ customerKey: 'ls-key-in-use', reused: true });
    // The second attempt retrieved the definition and did not Create again.
    const creates = pipeline.sandbox.calls().filter((c) => c.operation === 'Create' && c.objectType === 'ImportDefinition');
    expect(creates).toHaveLength(1);
    expect(pipeline.sandbox.state.sends).toHaveLength(1);
  });
});

describe('a first Create answered ErrorCode 1 "Name already exists" for the run\'s CustomerKey', () => {
  it('reuses the same definition found by CustomerKey, and fails with import-definition-mismatch when it differs', async () => {
    pipeline = await startPipeline({ label: 'key-taken', sandbox: { duplicateKeyErrorCode: 1 } });
    const client = createSfmcClient({
      config: {
        auth: { mode: 'oauth2', authUrl: pipeline.sandbox.url, clientId: pipeline.sandbox.credentials.clientId, clientSecret: pipeline.sandbox.credentials.clientSecret },
        timeoutMs: 5_000,
      },
    });
    try {
      await client.createImportDefinition(importDefinitionSpec(parseListSendRequest(seedRequest({ runId: 'key-same' })), '123'));
      const other = parseListSendRequest(seedRequest({ runId: 'key-other' }));
      await client.createImportDefinition({ ...importDefinitionSpec(other, '123'), fileSpec: 'someone-else.csv' });
    } finally {
      await client.close();
    }

    const same = await runToEnd(pipeline, 'key-same');
    expect(same.state).toBe('completed');
    expect(stepOf(same, 'create-import')?.result).toMatchObject({ customerKey: 'ls-key-same', reused: true });

    const other = await runToEnd(pipeline, 'key-other');
    expect(other.state).toBe('failed');
    expect(other.error).toMatch(/^create-import: import-definition-mismatch: .*ls-key-other already exists and differs.*FileSpec is someone-else\.csv/);
    expect(stepOf(other, 'create-import')?.attemptsMade).toBe(1);
  });
});
