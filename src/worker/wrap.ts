import { DelayedError, RateLimitError, UnrecoverableError, WaitingChildrenError, type Job, type Processor } from 'bullmq';
import type { Logger } from 'pino';
import type { JobOf, JobResults, QueueName } from '../../queues/catalog.js';
import { isRunError, RunError } from '../errors.js';
import type { ListSendRequest } from '../request.js';
import type { RunRegistry } from '../runs.js';
import { isSfmcError } from '../sfmc/errors.js';
import { isSftpError } from '../upload/errors.js';
import type { StepContext, StepProcessor } from './context.js';

export interface WrapDeps extends Omit<StepContext, 'log' | 'token' | 'signal' | 'request'> {
  logger: Logger;
  /** Pauses the whole queue (all workers) when SFMC throttles. */
  rateLimit: (ms: number) => Promise<void>;
  throttlePauseMs: number;
  /** After this many throttled visits a job counts the next one as an ordinary failure. */
  maxThrottledVisits: number;
  onStepEnd?: (e: { queue: QueueName; outcome: 'completed' | 'delayed' | 'throttled' | 'retry' | 'failed'; durationMs: number; code?: string }) => void;
}

const CONTROL_FLOW = [DelayedError, RateLimitError, WaitingChildrenError];

/** `code: message`, so a failedReason in Bull Board or `status` says which failure it was. */
export function describeFailure(err: unknown): { code: string; message: string; fatal: boolean; throttled: boolean } {
  if (isRunError(err)) return { code: err.code, message: err.message, fatal: true, throttled: false };
  if (isSfmcError(err)) {
    return { code: err.code, message: err.message, fatal: err.kind === 'fatal', throttled: err.kind === 'throttled' };
  }
  if (isSftpError(err)) return { code: err.code, message: err.message, fatal: err.kind === 'fatal', throttled: false };
  if (err instanceof UnrecoverableError) return { code: 'fatal', message: err.message, fatal: true, throttled: false };
  const message = err instanceof Error ? err.message : String(err);
  return { code: 'internal', message, fatal: false, throttled: false };
}

/**
 * The one wrapper around every processor: a logger bound to the run, start and end lines with
 * the duration, job log lines for Bull Board, and the translation of failures into BullMQ's
 * terms: fatal -> UnrecoverableError (no retry), throttled -> queue rate limit, else rethrow for
 * BullMQ's backoff. Nothing is swallowed: a swallowed error would mark the job completed.
 */
export function wrapStep<N extends QueueName>(queue: N, step: StepProcessor<N>, deps: WrapDeps): Processor {
  return async (raw: Job, token?: string, signal?: AbortSignal) => {
    const job = raw as JobOf<N>;
    const attempt = job.attemptsMade + 1;
    const log = deps.logger.child({ queue, jobId: job.id, runId: job.data.runId, attempt });
    const started = deps.now();
    const elapsed = () => deps.now() - started;
    log.debug('step started');
    try {
      const request = await loadRequest(deps.runs, job.data.runId);
      const result: JobResults[N] = await step(job, { ...deps, request, log, token, signal });
      // The run's last step: its registry entry may now expire. Before returning, so a crash
      // here leaves the job active, to be run again and marked then.
      if (queue === 'send') await deps.runs.markFinished(job.data.runId);
      log.info({ durationMs: elapsed() }, 'step completed');
      deps.onStepEnd?.({ queue, outcome: 'completed', durationMs: elapsed() });
      return result;
    } catch (err) {
      if (CONTROL_FLOW.some((E) => err instanceof E)) {
        deps.onStepEnd?.({ queue, outcome: 'delayed', durationMs: elapsed() });
        throw err;
      }
      const failure = describeFailure(err);
      const text = `${failure.code}: ${failure.message}`;
      if (failure.throttled && job.attemptsStarted <= deps.maxThrottledVisits) {
        log.warn({ code: failure.code, pauseMs: deps.throttlePauseMs }, 'SFMC is throttling; pausing the queue');
        await job.log(`throttled by SFMC; queue paused for ${deps.throttlePauseMs} ms`);
        await deps.rateLimit(deps.throttlePauseMs);
        deps.onStepEnd?.({ queue, outcome: 'throttled', durationMs: elapsed(), code: failure.code });
        throw new RateLimitError();
      }
      const final = failure.fatal || attempt >= (job.opts.attempts ?? 1);
      // A failed step fails the whole run (failParentOnFailure): its registry entry may expire.
      if (final) await markFinishedQuietly(deps.runs, job.data.runId, log);
      const outcome = failure.fatal ? 'failed' : 'retry';
      log[failure.fatal ? 'error' : 'warn']({ code: failure.code, err, durationMs: elapsed() }, failure.fatal ? 'step failed' : 'step will be retried');
      await job.log(`${failure.fatal ? 'failed' : `attempt ${attempt} failed`}: ${text}`);
      deps.onStepEnd?.({ queue, outcome, durationMs: elapsed(), code: failure.code });
      if (failure.fatal) throw new UnrecoverableError(text);
      throw new Error(text, { cause: err });
    }
  };
}

/**
 * The run's request, once per job visit (step jobs carry only the runId), and the cancel check in
 * the same read. No request means the registry entry was deleted or has expired: the run cannot go on.
 */
async function loadRequest(runs: RunRegistry, runId: string): Promise<ListSendRequest> {
  const record = await runs.get(runId);
  if (!record?.request) {
    throw new RunError('run-missing', `the run registry has no request for run ${runId} (deleted, or expired after the run finished)`, { runId });
  }
  if (record.cancelledAt) throw new RunError('cancelled', 'the run was cancelled before this step');
  return JSON.parse(record.request) as ListSendRequest;
}

/**
 * On the way out of a failing step the step's own error is what matters: a Redis error here is
 * logged, not thrown. A lost mark leaves the entry without expiry (a few KB kept, nothing wrong).
 */
async function markFinishedQuietly(runs: RunRegistry, runId: string, log: Logger): Promise<void> {
  try {
    await runs.markFinished(runId);
  } catch (err) {
    log.warn({ err }, 'could not mark the run finished; its registry entry keeps no expiry');
  }
}
