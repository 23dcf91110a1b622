import { DelayedError } from 'bullmq';
import { describe, expect, it, vi } from 'vitest';
import { createImport } from '../../processors/create-import.js';
import { pollImport } from '../../processors/poll-import.js';
import { resolveList } from '../../processors/resolve-list.js';
import { send } from '../../processors/send.js';
import { DEFAULT_STEP_SETTINGS } from '../../processors/step.js';
import { RunError } from '../../src/errors.js';
import type { ImportResultsSummary } from '../../src/sfmc/types.js';
import { fakeJob, fakeRuns, fakeSfmc, stepContext, unitRequest } from '../helpers/fake-step.js';

/** Processors alone: a fake job and a fake SfmcApi, no Redis and no sandbox. */

const T0 = Date.parse('2026-01-01T00:00:00Z');
const request = unitRequest();

const summary = (over: Partial<ImportResultsSummary>): ImportResultsSummary => ({
  taskResultId: 't1',
  importStatus: 'Completed',
  numberSuccessful: 2,
  numberErrors: 0,
  numberDuplicated: 0,
  totalRows: 2,
  ...over,
});

async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => {
      throw new Error('expected the step to throw');
    },
    (err: unknown) => err,
  );
}

describe('resolve-list on its own', () => {
  it('returns the one List of that name and the checked Email', async () => {
    const sfmc = fakeSfmc({
      retrieveListsByName: async () => [{ id: '42', name: 'Sample_List' }],
      retrieveEmailById: async (id) => ({ id, name: 'Welcome' }),
    });
    const { job, logs } = fakeJob('resolve-list');
    const { runs, setDestination } = fakeRuns(request);
    expect(await resolveList(job, stepContext({ request, sfmc, runs }))).toEqual({ listId: '42', listName: 'Sample_List', email: { id: '123', name: 'Welcome' } });
    // The result already says which List, so only the Email's subject, which it lacks, is logged (issue #14).
    expect(logs).toEqual(['Email ID 123 exists: "Welcome", subject ""']);
    expect(setDestination).toHaveBeenCalledWith('unit-run', { kind: 'list', id: '42' });
  });

  it('with the Email check off, returns no email and writes no job log line (the result says it)', async () => {
    const sfmc = fakeSfmc({ retrieveListsByName: async () => [{ id: '42', name: 'Sample_List' }] });
    const { job, logs } = fakeJob('resolve-list');
    const settings = { ...DEFAULT_STEP_SETTINGS, checkEmail: false };
    expect(await resolveList(job, stepContext({ request, sfmc, settings }))).toEqual({ listId: '42', listName: 'Sample_List' });
    expect(logs).toEqual([]);
  });

  it('records no destination when the Email check fails', async () => {
    const sfmc = fakeSfmc({ retrieveListsByName: async () => [{ id: '42' }], retrieveEmailById: async () => undefined });
    const { runs, setDestination } = fakeRuns(request);
    await expect(resolveList(fakeJob('resolve-list').job, stepContext({ request, sfmc, runs }))).rejects.toMatchObject({ code: 'email-not-found' });
    expect(setDestination).not.toHaveBeenCalled();
  });

  it('stops with run-missing when the run registry entry is gone', async () => {
    const sfmc = fakeSfmc({ retrieveListsByName: async () => [{ id: '42' }], retrieveEmailById: async (id) => ({ id }) });
    const { job } = fakeJob('resolve-list', { runId: 'another-run' });
    await expect(resolveList(job, stepContext({ request, sfmc }))).rejects.toMatchObject({ code: 'run-missing', kind: 'fatal' });
  });

  it('refuses a name two Lists share, naming both IDs', async () => {
    const sfmc = fakeSfmc({ retrieveListsByName: async () => [{ id: '1' }, { id: '2' }] });
    const err = await rejection(resolveList(fakeJob('resolve-list').job, stepContext({ request, sfmc })));
    expect(err).toBeInstanceOf(RunError);
    expect(err).toMatchObject({ code: 'ambiguous-list', kind: 'fatal', context: { listIds: ['1', '2'] } });
  });

  it('fails before anything changes when the Email does not exist', async () => {
    const sfmc = fakeSfmc({ retrieveListsByName: async () => [{ id: '42' }], retrieveEmailById: async () => undefined });
    const err = await rejection(resolveList(fakeJob('resolve-list').job, stepContext({ request, sfmc })));
    expect(err).toMatchObject({ code: 'email-not-found' });
    expect((err as Error).message).toContain('"email.id"');
  });
});

describe('poll-import on its own', () => {
  const started = { customerKey: 'ck', taskId: 't1' };

  it('only schedules the first check on its first visit, persisting when it began', async () => {
    const { job, delayedUntil, progress } = fakeJob('poll-import', { children: { 'start-import': started } });
    const err = await rejection(pollImport(job, stepContext({ request, now: () => T0 })));
    expect(err).toBeInstanceOf(DelayedError);
    // One write before the move: what is shown and what the next visit reads (issue #14).
    expect(progress).toEqual([{ polls: 0, status: 'Started', failedChecks: 0, firstPollAt: new Date(T0).toISOString(), lastStatus: 'Started', started }]);
    expect(delayedUntil).toEqual([T0 + request.poll.initialDelayMs]);
  });

  it('counts a transiently failed check as no news and waits again', async () => {
    const { SfmcError } = await import('../../src/sfmc/errors.js');
    const sfmc = fakeSfmc({
      retrieveImportResults: async () => {
        throw new SfmcError('timeout', 'no reply', { kind: 'retryable', mayHaveTakenEffect: false });
      },
    });
    const data = { polls: 1, firstPollAt: new Date(T0).toISOString(), lastStatus: 'Queued' };
    const { job } = fakeJob('poll-import', { data, children: { 'start-import': started } });
    await expect(pollImport(job, stepContext({ request, sfmc, now: () => T0 + 1_000 }))).rejects.toBeInstanceOf(DelayedError);
    expect(job.progress).toMatchObject({ polls: 2, failedChecks: 1, lastCheckError: 'no reply', lastStatus: 'Queued' });
  });

  it('resumes each visit from what the last wait saved in the progress, keeping the last failure', async () => {
    const { SfmcError } = await import('../../src/sfmc/errors.js');
    const answers: (() => ImportResultsSummary)[] = [
      () => {
        throw new SfmcError('timeout', 'no reply', { kind: 'retryable', mayHaveTakenEffect: false });
      },
      () => summary({ importStatus: 'Importing' }),
    ];
    const sfmc = fakeSfmc({ retrieveImportResults: async () => (answers.shift() as () => ImportResultsSummary)() });
    const { job, progress, delayedUntil } = fakeJob('poll-import', { children: { 'start-import': started } });
    for (const at of [T0, T0 + 1_000, T0 + 2_000]) {
      await expect(pollImport(job, stepContext({ request, sfmc, now: () => at }))).rejects.toBeInstanceOf(DelayedError);
    }
    expect(job.data).toEqual({ runId: 'unit-run' });
    expect(progress.map((p) => (p as { polls: number }).polls)).toEqual([0, 1, 2]);
    expect(job.progress).toEqual({
      polls: 2,
      status: 'Importing',
      lastStatus: 'Importing',
      failedChecks: 1,
      lastCheckError: 'no reply',
      firstPollAt: new Date(T0).toISOString(),
      started,
    });
    expect(delayedUntil).toHaveLength(3);
  });

  it("reads start-import's result once, on the first visit, and from the progress after (issue #14)", async () => {
    const sfmc = fakeSfmc({ retrieveImportResults: async () => summary({ importStatus: 'Importing' }) });
    const { job } = fakeJob('poll-import', { children: { 'start-import': started } });
    const getChildrenValues = vi.spyOn(job, 'getChildrenValues');
    for (const at of [T0, T0 + 1_000, T0 + 2_000]) {
      await expect(pollImport(job, stepContext({ request, sfmc, now: () => at }))).rejects.toBeInstanceOf(DelayedError);
    }
    expect(getChildrenValues).toHaveBeenCalledTimes(1);
    expect(job.progress).toMatchObject({ polls: 2, started });
  });

  it('makes the first check at once when the first wait would be 0 (initialDelayMs 0), and still waits after it', async () => {
    const zero = unitRequest({ poll: { initialDelayMs: 0, maxDelayMs: 1 } }, { pollFloorMs: 0 });
    const checked: string[] = [];
    const sfmc = fakeSfmc({ retrieveImportResults: async (taskId) => (checked.push(taskId), summary({ importStatus: 'Queued' })) });
    const { job, progress } = fakeJob('poll-import', { children: { 'start-import': started } });
    await expect(pollImport(job, stepContext({ request: zero, sfmc, now: () => T0 }))).rejects.toBeInstanceOf(DelayedError);
    expect(checked).toEqual(['t1']);
    expect(progress).toEqual([{ polls: 1, status: 'Queued', failedChecks: 0, firstPollAt: new Date(T0).toISOString(), lastStatus: 'Queued', started }]);

    const done = fakeJob('poll-import', { children: { 'start-import': started } });
    const now = fakeSfmc({ retrieveImportResults: async () => summary({}), deleteImportDefinition: async () => ({ deleted: true }) });
    expect(await pollImport(done.job, stepContext({ request: zero, sfmc: now, now: () => T0 }))).toMatchObject({ importStatus: 'Completed', polls: 1 });
    expect(done.delayedUntil).toEqual([]);
  });

  it('returns the counts and deletes the ImportDefinition once the import completed', async () => {
    const deleted: string[] = [];
    const sfmc = fakeSfmc({
      retrieveImportResults: async () => summary({}),
      deleteImportDefinition: async (key) => (deleted.push(key), { deleted: true }),
    });
    const data = { polls: 1, firstPollAt: new Date(T0).toISOString() };
    const { job } = fakeJob('poll-import', { data, children: { 'start-import': started } });
    const result = await pollImport(job, stepContext({ request, sfmc, now: () => T0 + 1_000 }));
    expect(result).not.toHaveProperty('listId');
    expect(result).toMatchObject({ taskId: 't1', importStatus: 'Completed', polls: 2, numberSuccessful: 2, definition: { outcome: 'deleted' } });
    expect(deleted).toEqual(['ck']);
  });

  it('fails with poll-timeout once poll.timeoutMs has passed', async () => {
    const sfmc = fakeSfmc({ retrieveImportResults: async () => summary({ importStatus: 'Importing' }) });
    const data = { polls: 5, firstPollAt: new Date(T0).toISOString() };
    const { job } = fakeJob('poll-import', { data, children: { 'start-import': started } });
    await expect(pollImport(job, stepContext({ request, sfmc, now: () => T0 + request.poll.timeoutMs }))).rejects.toMatchObject({ code: 'poll-timeout' });
  });

  it('stops the run when its child left no result', async () => {
    const { job } = fakeJob('poll-import');
    await expect(pollImport(job, stepContext({ request }))).rejects.toMatchObject({ code: 'missing-child-result' });
  });
});

describe('steps after resolve-list read the destination from the registry', () => {
  const destination = { kind: 'list' as const, id: '42' };
  const polled = { taskId: 't1', importStatus: 'Completed', polls: 1, numberSuccessful: 2, numberErrors: 0, numberDuplicated: 0, totalRows: 2 };

  it('create-import points the ImportDefinition at the recorded List', async () => {
    const created: string[] = [];
    const sfmc = fakeSfmc({ createImportDefinition: async (spec) => (created.push(spec.listId), {}) });
    const { job } = fakeJob('create-import');
    const result = await createImport(job, stepContext({ request, sfmc, destination }));
    expect(created).toEqual(['42']);
    expect(result).not.toHaveProperty('listId');
  });

  it('send addresses the recorded List and reports it', async () => {
    const sent: string[] = [];
    const sfmc = fakeSfmc({ createSend: async ({ listId }) => (sent.push(listId), { sendId: 's1' }) });
    const { job } = fakeJob('send', { children: { 'poll-import': polled } });
    expect(await send(job, stepContext({ request, sfmc, destination }))).toMatchObject({ sendId: 's1', listId: '42' });
    expect(sent).toEqual(['42']);
  });

  it('send creates no Send for a run cancelled, or lost by the registry, before its Send claim', async () => {
    const sfmc = fakeSfmc();
    const cancelled = fakeRuns(request, { cancelledAt: new Date(T0).toISOString() });
    const job = () => fakeJob('send', { children: { 'poll-import': polled } }).job;
    await expect(send(job(), stepContext({ request, sfmc, destination, runs: cancelled.runs }))).rejects.toMatchObject({ code: 'cancelled' });
    const lost = fakeRuns(request);
    lost.stored.deleted = true;
    await expect(send(job(), stepContext({ request, sfmc, destination, runs: lost.runs }))).rejects.toMatchObject({ code: 'run-missing', kind: 'fatal' });
  });

  it('create-import and send stop with destination-missing, calling nothing, when none is recorded', async () => {
    const sfmc = fakeSfmc();
    await expect(createImport(fakeJob('create-import').job, stepContext({ request, sfmc }))).rejects.toMatchObject({ code: 'destination-missing', kind: 'fatal' });
    const { job } = fakeJob('send', { children: { 'poll-import': polled } });
    await expect(send(job, stepContext({ request, sfmc }))).rejects.toMatchObject({ code: 'destination-missing', kind: 'fatal' });
  });
});
