import { DelayedError, type Job } from 'bullmq';
import { RunError } from '../src/errors.js';
import { isSfmcError } from '../src/sfmc/errors.js';
import { isFailedSendStatus, isFinalSendStatus, toDelivery, type SendDelivery } from '../src/sfmc/send-status.js';
import type { SendStatusRecord } from '../src/sfmc/types.js';
import { childResult, type StepContext } from './step.js';
import { pollDelayMs } from './poll-import.js';

/**
 * Step 7 (issue #12): follow the run's Send until SFMC says it is over, and report how many emails
 * went out. NOT WIRED YET: the step table (another branch) adds `track-send` to the catalog, the
 * flow and the worker registry; these two types then move to queues/catalog.ts unchanged.
 */
export interface TrackSendData {
  runId: string;
  /** When the first status check was scheduled; track.timeoutMs counts from here. */
  firstCheckAt?: string;
  checks?: number;
  lastStatus?: string;
  /** Checks that failed transiently (no news) so far. */
  failedChecks?: number;
  lastCheckError?: string;
}

export interface TrackSendResult {
  sendId: string;
  /** false when the request asked for no tracking ("track": false): no delivery then. */
  tracked: boolean;
  checks: number;
  failedChecks: number;
  delivery?: SendDelivery;
}

export type TrackSendJob = Job<TrackSendData, TrackSendResult>;

export type TrackVerdict =
  | { kind: 'done'; delivery: SendDelivery }
  | { kind: 'failed'; delivery: SendDelivery }
  | { kind: 'timeout'; status: string }
  | { kind: 'wait'; status: string };

/** Shown while SFMC returns no row for the Send id (a Send it has not made visible yet). */
export const SEND_NOT_VISIBLE = 'NotVisible';

/**
 * What one status check means. A final Status ends the step (success or `send-failed`) even past
 * the deadline: the answer is in hand. Anything else, an unknown status included, waits until
 * track.timeoutMs (send-status.ts: unknown statuses are not final).
 */
export function trackVerdict(record: SendStatusRecord | undefined, elapsedMs: number, timeoutMs: number): TrackVerdict {
  if (record && isFinalSendStatus(record.status)) {
    const delivery = toDelivery(record);
    return isFailedSendStatus(record.status) ? { kind: 'failed', delivery } : { kind: 'done', delivery };
  }
  const status = record ? record.status || 'Unknown' : SEND_NOT_VISIBLE;
  return elapsedMs >= timeoutMs ? { kind: 'timeout', status } : { kind: 'wait', status };
}

/** A check that failed but says nothing about the Send (poll-import's rule): the next check retries. */
function isNoNews(err: unknown): boolean {
  return isSfmcError(err) && err.kind === 'retryable';
}

/**
 * The step-job pattern of poll-import: each visit makes one Retrieve of the Send; while it is not
 * final the job stores its progress, moves itself to delayed (paced by the request's `poll`
 * settings) and gives its worker slot back. Deadline: the request's track.timeoutMs, counted from
 * the first visit -> `track-timeout`. A final failure status -> `send-failed`.
 */
export async function trackSend(job: TrackSendJob, ctx: StepContext): Promise<TrackSendResult> {
  const { sfmc, signal, now, token } = ctx;
  const { sendId } = await childResult(job, 'send');
  const { track, poll } = ctx.request;
  const checks = job.data.checks ?? 0;
  const failedChecks = job.data.failedChecks ?? 0;
  if (track === false) return { sendId, tracked: false, checks, failedChecks };

  const wait = async (checksDone: number, status: string, failure?: string): Promise<never> => {
    const firstCheckAt = job.data.firstCheckAt ?? new Date(now()).toISOString();
    const failed = failure === undefined ? failedChecks : failedChecks + 1;
    const record = { checks: checksDone, firstCheckAt, lastStatus: status, failedChecks: failed };
    // Persist first: once moveToDelayed returns the lock is gone, and a crash would lose the count.
    await job.updateData({ ...job.data, ...record, ...(failure !== undefined ? { lastCheckError: failure } : {}) });
    await job.updateProgress({ checks: checksDone, status, failedChecks: failed });
    const delay = pollDelayMs(checksDone, poll);
    await job.log(`Send ${sendId}: ${failure === undefined ? status : `check failed (${failure}), no news`}; next check in ${delay} ms`);
    await job.moveToDelayed(now() + delay, token);
    throw new DelayedError();
  };

  // The first visit only schedules the first check: a Send just created is never over yet.
  if (job.data.firstCheckAt === undefined) return wait(0, 'Created');
  const elapsed = now() - Date.parse(job.data.firstCheckAt);
  const lastStatus = job.data.lastStatus ?? 'Created';

  let record: SendStatusRecord | undefined;
  try {
    record = await sfmc.retrieveSendStatus(sendId, { signal });
  } catch (err) {
    if (!isNoNews(err) || signal?.aborted) throw err;
    const message = (err as Error).message;
    ctx.log.warn({ sendId, failedChecks: failedChecks + 1, code: isSfmcError(err) ? err.code : undefined }, 'Send status check failed; treated as no news');
    if (elapsed >= track.timeoutMs) throw timeout(sendId, lastStatus, elapsed, track.timeoutMs, failedChecks + 1, message);
    return wait(checks + 1, lastStatus, message);
  }

  const verdict = trackVerdict(record, elapsed, track.timeoutMs);
  switch (verdict.kind) {
    case 'done':
      await job.log(`Send ${sendId} ${verdict.delivery.status}: ${verdict.delivery.numberSent} sent, ${verdict.delivery.numberDelivered} delivered`);
      return { sendId, tracked: true, checks: checks + 1, failedChecks, delivery: verdict.delivery };
    case 'failed':
      throw new RunError(
        'send-failed',
        `Send ${sendId} ended in status ${verdict.delivery.status} (${verdict.delivery.numberSent} sent); see the send job in SFMC's Tracking for why`,
        { sendId, delivery: verdict.delivery },
      );
    case 'timeout':
      throw timeout(sendId, verdict.status, elapsed, track.timeoutMs, failedChecks);
    case 'wait':
      return wait(checks + 1, verdict.status);
  }
}

function timeout(sendId: string, status: string, elapsed: number, timeoutMs: number, failedChecks: number, lastError?: string): RunError {
  return new RunError(
    'track-timeout',
    `Send ${sendId} still ${status} after ${elapsed} ms (track.timeoutMs ${timeoutMs})${lastError ? `; the last check failed: ${lastError}` : ''}. The Send itself may still complete in SFMC`,
    { sendId, status, failedChecks },
  );
}
