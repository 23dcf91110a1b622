import { DelayedError, UnrecoverableError } from 'bullmq';
import { pino, type Logger } from 'pino';
import { describe, expect, it, vi } from 'vitest';
import type { QueueName, StepEndEvent } from '../../queues/catalog.js';
import { DEFAULT_STEP_SETTINGS, type StepProcessor } from '../../processors/step.js';
import { describeFailure, RunError } from '../../src/errors.js';
import { SfmcError } from '../../src/sfmc/errors.js';
import { SftpError } from '../../src/upload/errors.js';
import { FileNameLocks } from '../../src/upload/file-name-lock.js';
import { RunCache } from '../../src/worker/run-cache.js';
import { wrapStep } from '../../src/worker/wrap.js';
import { fakeJob, fakeRuns, fakeSfmc, silentLogger, unitRequest } from '../helpers/fake-step.js';

/** The one wrapper around every processor, with a fake job and registry: what BullMQ is told. */

const T0 = Date.parse('2026-01-01T00:00:00Z');

// These accounts have no uploader, so no step here uses a remote file name: the locks are never
// called (test/pipeline/file-names.test.ts covers them on real Redis).
const fileNames = new FileNameLocks(null as never, '{unit}');

function wrapped<N extends QueueName>(
  queue: N,
  step: StepProcessor<N>,
  request = unitRequest(),
  stored: Parameters<typeof fakeRuns>[1] = {},
  logger: Logger = silentLogger,
) {
  const { runs, markFinished } = fakeRuns(request, stored);
  const events: StepEndEvent[] = [];
  const pauseAccount = vi.fn(async () => {});
  const emeaPause = vi.fn(async () => {});
  const emeaSfmc = fakeSfmc();
  const processor = wrapStep(queue, step, {
    accounts: { default: { sfmc: fakeSfmc(), pauseAccount }, emea: { sfmc: emeaSfmc, pauseAccount: emeaPause } },
    runs,
    logger,
    now: () => T0,
    settings: DEFAULT_STEP_SETTINGS,
    throttlePauseMs: 30_000,
    maxThrottledVisits: 50,
    onStepEnd: (e) => events.push(e),
    runCache: new RunCache(),
    fileNames,
  });
  return { processor, markFinished, events, pauseAccount, emeaPause, emeaSfmc };
}

describe('the step wrapper', () => {
  it("marks the run finished when the run's last step completes, and only then", async () => {
    const sent = { sendId: 's', emailId: '123', listId: '42', import: { numberSuccessful: 1, numberErrors: 0, numberDuplicated: 0, totalRows: 1 }, recovered: false };
    const last = wrapped('send', async () => sent);
    expect(await last.processor(fakeJob('send').job, 'token')).toEqual(sent);
    expect(last.markFinished).toHaveBeenCalledWith('unit-run');
    expect(last.events).toMatchObject([{ queue: 'send', outcome: 'completed' }]);

    const middle = wrapped('resolve-list', async () => ({ listId: '42' }));
    await middle.processor(fakeJob('resolve-list').job, 'token');
    expect(middle.markFinished).not.toHaveBeenCalled();
  });

  it("hands the step the run's destination from the same registry read as the request", async () => {
    const seen: unknown[] = [];
    const step: StepProcessor<'create-import'> = async (_job, ctx) => {
      seen.push(ctx.destination);
      return { customerKey: 'ck', reused: false };
    };
    await wrapped('create-import', step, unitRequest(), { destination: JSON.stringify({ kind: 'list', id: '42' }) }).processor(fakeJob('create-import').job, 'token');
    await wrapped('create-import', step).processor(fakeJob('create-import').job, 'token');
    await wrapped('create-import', step, unitRequest(), { destination: '{"kind":"table"}' }).processor(fakeJob('create-import').job, 'token');
    expect(seen).toEqual([{ kind: 'list', id: '42' }, undefined, undefined]);
  });

  it('turns a fatal error into UnrecoverableError carrying `code: message`, and ends the run', async () => {
    const { processor, markFinished, events } = wrapped('resolve-list', async () => {
      throw new RunError('list-not-found', 'no List named "x"');
    });
    const { job, logs } = fakeJob('resolve-list');
    const err = await processor(job, 'token').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnrecoverableError);
    expect((err as Error).message).toBe('list-not-found: no List named "x"');
    expect(markFinished).toHaveBeenCalled();
    expect(logs).toEqual(['failed: list-not-found: no List named "x"']);
    expect(events).toMatchObject([{ outcome: 'failed', code: 'list-not-found' }]);
  });

  it('rethrows a retryable error for BullMQ to back off, keeping it as the cause', async () => {
    const cause = new SftpError('sftp-connection-lost', 'reset', 'retryable');
    const { processor, markFinished } = wrapped('upload-file', async () => {
      throw cause;
    });
    const err = await processor(fakeJob('upload-file', { attempts: 3 }).job, 'token').catch((e: unknown) => e);
    expect(err).not.toBeInstanceOf(UnrecoverableError);
    expect(err).toMatchObject({ message: 'sftp-connection-lost: reset', cause });
    expect(markFinished).not.toHaveBeenCalled();
  });

  it('pauses the account and delays the job when SFMC throttles, using no attempt', async () => {
    const { processor, pauseAccount, events } = wrapped('resolve-list', async () => {
      throw new SfmcError('throttled', 'Rate Limited', { kind: 'throttled', mayHaveTakenEffect: false });
    });
    const { job, delayedUntil } = fakeJob('resolve-list');
    await expect(processor(job, 'token')).rejects.toBeInstanceOf(DelayedError);
    expect(pauseAccount).toHaveBeenCalledWith(30_000);
    expect(delayedUntil).toEqual([T0 + 30_000]);
    expect(events).toMatchObject([{ outcome: 'throttled', code: 'throttled' }]);
  });

  it("gives a step its run's account: that account's SOAP client, and a throttle pauses that account only", async () => {
    const seen: unknown[] = [];
    const { processor, pauseAccount, emeaPause, emeaSfmc, events } = wrapped('resolve-list', async (_job, ctx) => {
      seen.push(ctx.sfmc);
      throw new SfmcError('throttled', 'Rate Limited', { kind: 'throttled', mayHaveTakenEffect: false });
    }, unitRequest({ account: 'emea' }));
    await expect(processor(fakeJob('resolve-list').job, 'token')).rejects.toBeInstanceOf(DelayedError);
    expect(seen.length === 1 && seen[0] === emeaSfmc).toBe(true);
    expect(emeaPause).toHaveBeenCalledWith(30_000);
    expect(pauseAccount).not.toHaveBeenCalled();
    expect(events).toMatchObject([{ outcome: 'throttled', account: 'emea' }]);
  });

  it('fails a run naming an account this worker does not have, for good and before its step runs', async () => {
    const step = vi.fn(async () => ({ listId: '42' }));
    const { processor, events } = wrapped('resolve-list', step, unitRequest({ account: 'apac' }));
    const err = await processor(fakeJob('resolve-list').job, 'token').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnrecoverableError);
    expect((err as Error).message).toMatch(/^unknown-account: the run names account "apac", which this worker is not configured with \(SFMC_ACCOUNTS: default, emea\)/);
    expect(step).not.toHaveBeenCalled();
    expect(events).toMatchObject([{ outcome: 'failed', code: 'unknown-account' }]);
  });

  it("makes the visit's child logger only when something is logged: none for a visit that waits, one for a step that completes", async () => {
    const lines: Record<string, unknown>[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
    const child = vi.spyOn(logger, 'child');
    const waits = wrapped('poll-import', async () => {
      throw new DelayedError();
    }, unitRequest(), {}, logger);
    await expect(waits.processor(fakeJob('poll-import').job, 'token')).rejects.toBeInstanceOf(DelayedError);
    expect(child).not.toHaveBeenCalled();

    const completes = wrapped('resolve-list', async (_job, ctx) => {
      ctx.log.info('step says something');
      return { listId: '42' };
    }, unitRequest(), {}, logger);
    await completes.processor(fakeJob('resolve-list').job, 'token');
    expect(child).toHaveBeenCalledTimes(1);
    const bound = { queue: 'resolve-list', jobId: fakeJob('resolve-list').job.id, runId: 'unit-run', attempt: 1 };
    expect(lines).toMatchObject([
      { ...bound, msg: 'step says something' },
      { ...bound, msg: 'step completed' },
    ]);
  });

  it('takes the job signal only for the steps a stopping worker aborts, and hands it to them', async () => {
    // BullMQ makes an AbortController per job, and passes its signal, only for a processor declaring a third parameter.
    const signals: (AbortSignal | undefined)[] = [];
    const upload = wrapped('upload-file', async (_job, ctx) => {
      signals.push(ctx.signal);
      return { remoteFile: 'Import/x.csv', bytes: 1, rows: 1 } as never;
    });
    const resolve = wrapped('resolve-list', async (_job, ctx) => {
      signals.push(ctx.signal);
      return { listId: '42' };
    });
    expect(upload.processor.length).toBe(3);
    expect(resolve.processor.length).toBe(2);
    const controller = new AbortController();
    await upload.processor(fakeJob('upload-file').job, 'token', controller.signal);
    await resolve.processor(fakeJob('resolve-list').job, 'token');
    expect(signals).toEqual([controller.signal, undefined]);
  });

  it('stops a cancelled run before its step runs', async () => {
    const step = vi.fn(async () => ({ listId: '42' }));
    const { processor } = wrapped('resolve-list', step, unitRequest(), { cancelledAt: new Date(T0).toISOString() });
    await expect(processor(fakeJob('resolve-list').job, 'token')).rejects.toThrow('cancelled: the run was cancelled before this step');
    expect(step).not.toHaveBeenCalled();
  });
});

describe("the worker's run cache", () => {
  const destination = JSON.stringify({ kind: 'list', id: '42' });
  const polled = { taskId: 't1', importStatus: 'Completed', polls: 1, numberSuccessful: 1, numberErrors: 0, numberDuplicated: 0, totalRows: 1 };

  /** The steps of one run in one worker: one registry, one cache, each step recording what it was given. */
  function pool(stored: Parameters<typeof fakeRuns>[1] = {}, request = unitRequest()) {
    const registry = fakeRuns(request, stored);
    const runCache = new RunCache();
    const seen: { queue: QueueName; destination: unknown }[] = [];
    const step = <N extends QueueName>(queue: N, result: Awaited<ReturnType<StepProcessor<N>>>) => {
      const body = vi.fn<StepProcessor<N>>(async (_job, ctx) => {
        seen.push({ queue, destination: ctx.destination });
        return result;
      });
      const processor = wrapStep(queue, body, {
        accounts: { default: { sfmc: fakeSfmc(), pauseAccount: async () => {} } },
        runs: registry.runs,
        runCache,
        fileNames,
        logger: silentLogger,
        now: () => T0,
        settings: DEFAULT_STEP_SETTINGS,
        throttlePauseMs: 1,
        maxThrottledVisits: 1,
      });
      return { run: () => processor(fakeJob(queue).job, 'token'), body };
    };
    return { ...registry, runCache, seen, step };
  }

  it("reads a run's entry once for the steps that need only the request, and only the cancel mark where it matters", async () => {
    const p = pool({ destination });
    await p.step('create-import', { customerKey: 'ck', reused: false }).run();
    await p.step('start-import', { customerKey: 'ck', taskId: 't1' }).run();
    await p.step('poll-import', polled).run();
    await p.step('send', { sendId: 's', emailId: '123', listId: '42', import: polled, recovered: false }).run();
    // One full read; start and poll read the cancel mark alone; send claims atomically, so reads nothing.
    expect(p.get).toHaveBeenCalledTimes(1);
    expect(p.cancelState).toHaveBeenCalledTimes(2);
    expect(p.seen.map((s) => s.destination)).toEqual(Array(4).fill({ kind: 'list', id: '42' }));
  });

  it('stops a cancelled run before a step that changes SFMC, though its request is cached', async () => {
    const p = pool({ destination });
    await p.step('create-import', { customerKey: 'ck', reused: false }).run();
    p.stored.cancelledAt = new Date(T0).toISOString();
    const start = p.step('start-import', { customerKey: 'ck', taskId: 't1' });
    await expect(start.run()).rejects.toThrow('cancelled: the run was cancelled before this step');
    expect(start.body).not.toHaveBeenCalled();
  });

  it('stops with run-missing when the entry is gone, though its request is cached', async () => {
    const p = pool({ destination });
    await p.step('create-import', { customerKey: 'ck', reused: false }).run();
    p.stored.deleted = true;
    await expect(p.step('start-import', { customerKey: 'ck', taskId: 't1' }).run()).rejects.toThrow(/^run-missing: /);
  });

  it("never keeps the destination resolve-list's own read saw: a retried resolve-list may record another", async () => {
    // An earlier attempt of resolve-list recorded List 7, then failed; the completing attempt records 42.
    const p = pool({ destination: JSON.stringify({ kind: 'list', id: '7' }) });
    await p.step('resolve-list', { listId: '42' }).run();
    p.stored.destination = destination;
    await p.step('create-import', { customerKey: 'ck', reused: false }).run();
    expect(p.seen.at(-1)?.destination).toEqual({ kind: 'list', id: '42' });
    // create-import holds the request from resolve-list's read: it reads the destination and the mark, not the request again.
    expect(p.get).toHaveBeenCalledTimes(1);
    expect(p.stateAndDestination).toHaveBeenCalledTimes(1);
    // From then on the destination is kept: start-import reads the cancel mark alone.
    await p.step('start-import', { customerKey: 'ck', taskId: 't1' }).run();
    expect(p.seen.at(-1)?.destination).toEqual({ kind: 'list', id: '42' });
    expect(p.stateAndDestination).toHaveBeenCalledTimes(1);
    expect(p.cancelState).toHaveBeenCalledTimes(1);
  });

  it('stops a cancelled run at the read after resolve-list, though its request is cached', async () => {
    const p = pool({ destination });
    await p.step('resolve-list', { listId: '42' }).run();
    p.stored.cancelledAt = new Date(T0).toISOString();
    const create = p.step('create-import', { customerKey: 'ck', reused: false });
    await expect(create.run()).rejects.toThrow('cancelled: the run was cancelled before this step');
    expect(create.body).not.toHaveBeenCalled();
    p.stored.deleted = true;
    await expect(p.step('create-import', { customerKey: 'ck', reused: false }).run()).rejects.toThrow(/^run-missing: /);
  });

  it("forgets a run when its last step ends", async () => {
    const p = pool({ destination }, unitRequest({ track: false }));
    await p.step('create-import', { customerKey: 'ck', reused: false }).run();
    expect(p.runCache.size).toBe(1);
    await p.step('send', { sendId: 's', emailId: '123', listId: '42', import: polled, recovered: false }).run();
    expect(p.runCache.size).toBe(0);
  });

  it('holds at most its limit of runs, dropping the least recently used', () => {
    const cache = new RunCache(2);
    const run = { request: unitRequest() };
    cache.set('a', run);
    cache.set('b', run);
    expect(cache.get('a')).toBe(run);
    cache.set('c', run);
    expect([cache.get('a'), cache.get('b'), cache.get('c')]).toEqual([run, undefined, run]);
    expect(cache.size).toBe(2);
  });
});

describe('describing a failure', () => {
  it('reads code and kind from the one error base, whatever the service', () => {
    expect(describeFailure(new RunError('import-empty', 'none'))).toEqual({ code: 'import-empty', message: 'none', fatal: true, throttled: false });
    expect(describeFailure(new SfmcError('auth-failed', 'no', { kind: 'fatal', mayHaveTakenEffect: false }))).toMatchObject({ fatal: true });
    expect(describeFailure(new SfmcError('timeout', 't', { kind: 'retryable', mayHaveTakenEffect: true }))).toMatchObject({ code: 'timeout', fatal: false });
    expect(describeFailure(new SftpError('sftp-auth-failed', 'denied', 'fatal'))).toMatchObject({ code: 'sftp-auth-failed', fatal: true });
    expect(describeFailure(new Error('boom'))).toEqual({ code: 'internal', message: 'boom', fatal: false, throttled: false });
  });

  it('keeps mayHaveTakenEffect and the cause on the base', () => {
    const cause = new Error('socket hang up');
    const err = new SfmcError('timeout', 't', { kind: 'retryable', mayHaveTakenEffect: true, cause });
    expect(err).toMatchObject({ mayHaveTakenEffect: true, cause, name: 'SfmcError' });
    expect(new RunError('cancelled', 'c').mayHaveTakenEffect).toBe(false);
  });
});
