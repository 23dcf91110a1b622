import { DelayedError, RateLimitError, UnrecoverableError, WaitingChildrenError, type Job, type Processor } from 'bullmq';
import type { Logger } from 'pino';
import type { JobOf, JobResults, QueueName, StepEndEvent } from '../../queues/catalog.js';
import { abortsOnStop, cancelCheckOf, fileNameRoleOf, runEndStep, runsAfter } from '../../queues/steps.js';
import { describeFailure, markEndedByWrapper, RunError } from '../errors.js';
import { isBudgetExhausted } from '../sfmc/budget.js';
import type { ListSendRequest } from '../request.js';
import { parseDestination, type Destination, type RunEnding } from '../runs.js';
import type { StepContext, StepProcessor } from '../../processors/step.js';
import type { FileNameLocks } from '../upload/file-name-lock.js';
import { accountFor, type AccountContext } from './accounts.js';
import { beginWriting, endWriting, enterFileNameStep, keepFileName, lost, releaseAfterStep, releaseQuietly, runFileName, type RunFileName } from './file-name.js';
import type { RunCache } from './run-cache.js';

export interface WrapDeps extends Omit<StepContext, 'log' | 'token' | 'signal' | 'request' | 'destination' | 'sfmc' | 'uploader' | 'fileNameFresh'> {
  logger: Logger;
  /**
   * Every SFMC account this worker serves, `default` among them: a step gets the SOAP client and
   * uploader of its run's `account`, and a throttle pauses that account's budget only.
   */
  accounts: Readonly<Record<string, AccountContext>>;
  throttlePauseMs: number;
  /** After this many throttled visits a job counts the next one as an ordinary failure. */
  maxThrottledVisits: number;
  onStepEnd?: (e: StepEndEvent) => void;
  /** The pool's runs already read from the registry (run-cache.ts). */
  runCache: RunCache;
  /** Who owns which remote file name, under QUEUE_PREFIX (file-name.ts). */
  fileNames: FileNameLocks;
}

const CONTROL_FLOW = [DelayedError, RateLimitError, WaitingChildrenError];

/**
 * Up to half the wait again (at most 2 s), so jobs refused together do not all come back at the
 * same millisecond to race for the one unit that frees then.
 */
export function budgetDelayMs(retryAfterMs: number, random: () => number = Math.random): number {
  return retryAfterMs + Math.floor(random() * Math.min(Math.max(retryAfterMs, 50) / 2, 2_000));
}

/**
 * The one wrapper around every processor: a logger bound to the run, start and end lines with
 * the duration, job log lines for Bull Board, and the translation of failures into BullMQ's
 * terms: fatal -> UnrecoverableError (no retry), budget used up -> delayed until a unit frees,
 * throttled -> the account's budget paused and the job delayed, else rethrow for BullMQ's backoff.
 * Waiting on budget or throttling never holds a worker slot nor uses an attempt (the step-job
 * pattern: moveToDelayed + DelayedError). Nothing is swallowed: a swallowed error would mark the
 * job completed.
 */
export function wrapStep<N extends QueueName>(queue: N, step: StepProcessor<N>, deps: WrapDeps): Processor {
  const run = visit(queue, step, deps);
  // BullMQ passes a signal (and makes an AbortController per job for it) only to a processor that
  // declares a third parameter: only the steps a stopping worker aborts get one (queues/steps.ts).
  return abortsOnStop(queue) ? (raw: Job, token?: string, signal?: AbortSignal) => run(raw, token, signal) : (raw: Job, token?: string) => run(raw, token, undefined);
}

function visit<N extends QueueName>(queue: N, step: StepProcessor<N>, deps: WrapDeps) {
  return async (raw: Job, token: string | undefined, signal: AbortSignal | undefined) => {
    const job = raw as JobOf<N>;
    const attempt = job.attemptsMade + 1;
    const stepLog = lazyChild(deps.logger, { queue, jobId: job.id, runId: job.data.runId, attempt });
    const debug = deps.logger.isLevelEnabled('debug');
    const started = deps.now();
    const elapsed = () => deps.now() - started;
    if (debug) stepLog().debug('step started');
    let account: (AccountContext & { name: string }) | undefined;
    // The run's remote file name, and the same only when this step uses it (queues/steps.ts `fileName`).
    let runName: RunFileName | undefined;
    let fileName: RunFileName | undefined;
    const names = {
      locks: deps.fileNames,
      settings: deps.settings,
      now: deps.now,
      get log() {
        return stepLog();
      },
    };
    const stepEnd = (e: StepEndEvent) => deps.onStepEnd?.(account ? { ...e, account: account.name } : e);
    try {
      const { request, destination, cancelled } = await loadRun(deps, queue, job.data.runId);
      account = accountFor(deps.accounts, request.account);
      const { sfmc, uploader } = account;
      // Before the cancel check, so a cancelled run releases its name on the way out.
      runName = runFileName(queue, request, uploader, names);
      const role = fileNameRoleOf(queue);
      fileName = role ? runName : undefined;
      // After the account is known, so the cancelled run is counted under it.
      if (cancelled) throw new RunError('cancelled', 'the run was cancelled before this step');
      // The step that writes the remote file marks its visit before it takes the name, and clears the
      // mark once it has stopped (file-name.ts: how a failure elsewhere frees the name safely).
      const writer = fileName && role === 'take' ? await beginWriting(deps.runs, fileName, token ?? `${job.id}:${attempt}`) : undefined;
      let result: JobResults[N];
      try {
        const taken = fileName ? await enterFileNameStep(queue, job, token, fileName, names) : undefined;
        // What a processor may use, and no more of the pool's wiring: a literal with the fields
        // named, not a spread of deps (with a getter among its ~20 fields, that copy was a slow
        // object made at every visit).
        const ctx: StepContext = {
          sfmc,
          runs: deps.runs,
          request,
          destination,
          get log() {
            return stepLog();
          },
          token,
          signal,
          now: deps.now,
          settings: deps.settings,
        };
        if (uploader) ctx.uploader = uploader;
        if (taken?.fresh) ctx.fileNameFresh = true;
        const keeping = fileName ? keepFileName(fileName, names) : undefined;
        let kept: { lost: boolean } | undefined;
        try {
          result = await step(job, ctx);
        } finally {
          kept = keeping?.stop();
        }
        if (kept?.lost && fileName) throw lost(fileName);
      } finally {
        if (writer) await endWriting(deps.runs, writer, names);
      }
      if (fileName) await releaseAfterStep(queue, fileName, names);
      // The run's last step (queues/steps.ts): its registry entry may now expire. Before
      // returning, so a crash here leaves the job active, to be run again and marked then.
      const endsRun = queue === runEndStep(request);
      if (endsRun) {
        await deps.runs.markFinished(job.data.runId);
        deps.runCache.delete(job.data.runId);
      }
      stepLog().info({ durationMs: elapsed() }, 'step completed');
      stepEnd({ queue, outcome: 'completed', durationMs: elapsed(), ...(endsRun ? { runEnded: 'completed' as const } : {}) });
      return result;
    } catch (err) {
      if (CONTROL_FLOW.some((E) => err instanceof E)) {
        // job.delay is what the step's own moveToDelayed asked for (polling.ts waitForNextCheck).
        if (debug) stepLog().debug({ waits: (err as Error).name, ...(err instanceof DelayedError ? { delayMs: job.delay } : {}) }, 'step waits');
        stepEnd({ queue, outcome: 'delayed', durationMs: elapsed() });
        throw err;
      }
      if (isBudgetExhausted(err)) {
        const delayMs = budgetDelayMs(err.retryAfterMs);
        if (debug) stepLog().debug({ code: err.code, delayMs }, 'no SOAP call budget; step delayed');
        await job.moveToDelayed(deps.now() + delayMs, token);
        stepEnd({ queue, outcome: 'delayed', durationMs: elapsed(), code: err.code });
        throw new DelayedError();
      }
      const failure = describeFailure(err);
      const text = `${failure.code}: ${failure.message}`;
      if (failure.throttled && account && job.attemptsStarted <= deps.maxThrottledVisits) {
        stepLog().warn({ code: failure.code, pauseMs: deps.throttlePauseMs }, 'SFMC is throttling; pausing the account');
        await job.log(`throttled by SFMC; every call of the account paused for ${deps.throttlePauseMs} ms`);
        await account.pauseAccount(deps.throttlePauseMs);
        await job.moveToDelayed(deps.now() + deps.throttlePauseMs, token);
        stepEnd({ queue, outcome: 'throttled', durationMs: elapsed(), code: failure.code });
        throw new DelayedError();
      }
      const log = stepLog();
      const final = failure.fatal || attempt >= (job.opts.attempts ?? 1);
      // A failed step fails the whole run (failParentOnFailure): its registry entry may expire.
      let ending: RunEnding | undefined;
      if (final) {
        ending = await markRunEnded(deps, job.data.runId, log);
        // A step that uses the name has stopped using it. Any other (resolve-list) frees it only
        // when no upload visit of the run is running: a running one frees it when it stops, having
        // seen this mark (file-name.ts). Without the answer (hash gone, Redis error) the lease ends it.
        if (fileName) await releaseQuietly(fileName, names);
        else if (runName && ending && !ending.uploading) await releaseQuietly(runName, names);
      }
      const outcome = failure.fatal ? 'failed' : 'retry';
      log[failure.fatal ? 'error' : 'warn']({ code: failure.code, err, durationMs: elapsed() }, failure.fatal ? 'step failed' : 'step will be retried');
      await job.log(`${failure.fatal ? 'failed' : `attempt ${attempt} failed`}: ${text}`);
      // Counted once a run: a second step failing for good (an upload stopped by run-ended) ends nothing new.
      const endsRun = final && ending?.first !== false;
      stepEnd({ queue, outcome, durationMs: elapsed(), code: failure.code, ...(endsRun ? { runEnded: 'failed' as const } : {}) });
      const thrown = failure.fatal ? new UnrecoverableError(text) : new Error(text, { cause: err });
      // The pool's 'failed' listener (start.ts) leaves alone what this wrapper ended.
      throw final ? markEndedByWrapper(thrown) : thrown;
    }
  };
}

/**
 * The step's child logger, made on first use: a visit that finds the import still running logs
 * nothing at the default level, and at hundreds of poll visits a second the children made for
 * nothing were a large share of what the worker allocated (bench item 3; then about 80 KB each,
 * when pino's wildcard redaction paths ran over every binding; logger.ts now walks them once).
 */
function lazyChild(logger: Logger, bindings: Record<string, unknown>): () => Logger {
  let child: Logger | undefined;
  return () => (child ??= logger.child(bindings));
}

/**
 * The run's request and destination for a job visit (step jobs carry only the runId), and its
 * cancel mark. A run this worker has read before comes from the run cache: the request never
 * changes, and the destination is kept only as read by a step after resolve-list, when it is
 * fixed (resolve-list's own read may see an earlier, failed attempt's value). The cancel mark is
 * then read only before a step that needs it (queues/steps.ts, `cancelCheck`), in a read that
 * also says whether the entry still exists; a step after resolve-list that holds the request but
 * not yet the destination reads the destination with the mark. Otherwise one HGETALL reads all
 * three, as before.
 * No request means the registry entry was deleted or has expired: the run cannot go on.
 */
async function loadRun(
  { runs, runCache }: Pick<WrapDeps, 'runs' | 'runCache'>,
  queue: QueueName,
  runId: string,
): Promise<{ request: ListSendRequest; destination: Destination | undefined; cancelled: boolean }> {
  const afterResolve = runsAfter(queue, 'resolve-list');
  const cached = runCache.get(runId);
  if (cached && (cached.destination || !afterResolve)) {
    if (cancelCheckOf(queue) !== 'before') return { request: cached.request, destination: cached.destination, cancelled: false };
    const state = await runs.cancelState(runId);
    if (state === 'missing') {
      runCache.delete(runId);
      throw runMissing(runId);
    }
    return { request: cached.request, destination: cached.destination, cancelled: state === 'cancelled' };
  }
  if (cached && afterResolve) {
    // The request is known (resolve-list read it here); the destination is read once, with the
    // cancel mark, without the request's JSON again.
    const { state, destination: stored } = await runs.stateAndDestination(runId);
    if (state === 'missing') {
      runCache.delete(runId);
      throw runMissing(runId);
    }
    const destination = parseDestination(stored);
    if (destination) cached.destination = destination;
    return { request: cached.request, destination, cancelled: state === 'cancelled' };
  }
  const record = await runs.get(runId);
  if (!record?.request) throw runMissing(runId);
  const request = JSON.parse(record.request) as ListSendRequest;
  const destination = parseDestination(record.destination);
  runCache.set(runId, { request, ...(afterResolve && destination ? { destination } : {}) });
  return { request, destination, cancelled: record.cancelledAt !== undefined };
}

function runMissing(runId: string): RunError {
  return new RunError('run-missing', `the run registry has no request for run ${runId} (deleted, or expired after the run finished)`, { runId });
}

/**
 * The run has ended: its registry entry may expire (the first mark wins), and this worker forgets
 * it. Says what the mark found (src/runs.ts RunEnding); undefined when the hash was gone or Redis failed.
 * On the way out of a failing step the step's own error is what matters: a Redis error here is
 * logged, not thrown. A lost mark leaves the entry without expiry (a few KB kept, nothing wrong).
 */
export async function markRunEnded({ runs, runCache }: Pick<WrapDeps, 'runs' | 'runCache'>, runId: string, log: Logger): Promise<RunEnding | undefined> {
  runCache.delete(runId);
  try {
    return await runs.markFinished(runId);
  } catch (err) {
    log.warn({ err }, 'could not mark the run finished; its registry entry keeps no expiry');
    return undefined;
  }
}
