import { RunError } from '../src/errors.js';
import { TRACK_TIMEOUT_DEFAULT_MS } from '../src/request.js';
import { isSfmcError } from '../src/sfmc/errors.js';
import { isFailedSendStatus, isFinalSendStatus, toDelivery, type SendDelivery } from '../src/sfmc/send-status.js';
import type { SendStatusRecord } from '../src/sfmc/types.js';
import { pollDelayMs } from './poll-schedule.js';
import { checkState, waitForNextCheck } from './polling.js';
import { childResult, type StepProcessor } from './step.js';

/**
 * Step 7 (issue #12), the run's last step unless the request says `"track": false`: follow the
 * run's Send until SFMC says it is over, and report how many emails went out.
 */
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
 * The step-job pattern (processors/polling.ts): each visit makes one Retrieve of the Send; while it
 * is not final the job records its progress and waits, paced by the request's `poll` settings,
 * holding no worker slot. Deadline: track.timeoutMs from the first visit -> `track-timeout`. A final
 * failure status -> `send-failed`. Tracking only reads: it never creates anything in SFMC.
 */
export const trackSend: StepProcessor<'track-send'> = async (job, ctx) => {
  const { sfmc, signal, now } = ctx;
  const sent = await childResult(job, 'send');
  const { sendId } = sent;
  const { track, poll } = ctx.request;
  // The step exists only for tracked runs (queues/steps.ts); an older request without `track` is tracked by default.
  const timeoutMs = track === false || track === undefined ? TRACK_TIMEOUT_DEFAULT_MS : track.timeoutMs;
  const saved = checkState(job);
  const checks = saved.checks ?? 0;
  const failedChecks = saved.failedChecks ?? 0;

  // `latest`: what the last check read, so the status, the CLI and /runs show the counts while SFMC sends.
  const wait = (checksDone: number, status: string, failure?: string, latest?: SendStatusRecord): Promise<never> => {
    const firstCheckAt = saved.firstCheckAt ?? new Date(now()).toISOString();
    const lastCheckError = failure ?? saved.lastCheckError;
    const failed = failure === undefined ? failedChecks : failedChecks + 1;
    return waitForNextCheck(job, ctx, {
      delayMs: pollDelayMs(checksDone, now() - Date.parse(firstCheckAt), poll),
      data: { checks: checksDone, firstCheckAt, lastStatus: status, failedChecks: failed, ...(lastCheckError !== undefined ? { lastCheckError } : {}) },
      progress: { checks: checksDone, status, failedChecks: failed, sendId, ...(latest ? { delivery: toDelivery(latest) } : {}) },
      ...(failure !== undefined ? { log: `Send ${sendId}: check failed (${failure}), no news` } : {}),
    });
  };

  // The first visit only schedules the first check: a Send just created is never over yet.
  if (saved.firstCheckAt === undefined) return wait(0, 'Created');
  const elapsed = now() - Date.parse(saved.firstCheckAt);
  const lastStatus = saved.lastStatus ?? 'Created';

  let record: SendStatusRecord | undefined;
  try {
    record = await sfmc.retrieveSendStatus(sendId, { signal });
  } catch (err) {
    if (!isNoNews(err) || signal?.aborted) throw err;
    const message = (err as Error).message;
    ctx.log.warn({ sendId, failedChecks: failedChecks + 1, code: isSfmcError(err) ? err.code : undefined }, 'Send status check failed; treated as no news');
    if (elapsed >= timeoutMs) throw timeout(sendId, lastStatus, elapsed, timeoutMs, failedChecks + 1, message);
    return wait(checks + 1, lastStatus, message);
  }

  const verdict = trackVerdict(record, elapsed, timeoutMs);
  switch (verdict.kind) {
    case 'done':
      return { ...sent, delivery: verdict.delivery, checks: checks + 1, failedChecks };
    case 'failed':
      throw new RunError(
        'send-failed',
        `Send ${sendId} ended in status ${verdict.delivery.status} (${verdict.delivery.numberSent} sent); see the send job in SFMC's Tracking for why`,
        { sendId, delivery: verdict.delivery },
      );
    case 'timeout':
      throw timeout(sendId, verdict.status, elapsed, timeoutMs, failedChecks);
    case 'wait':
      return wait(checks + 1, verdict.status, undefined, record);
  }
};

function timeout(sendId: string, status: string, elapsed: number, timeoutMs: number, failedChecks: number, lastError?: string): RunError {
  return new RunError(
    'track-timeout',
    `Send ${sendId} still ${status} after ${elapsed} ms (track.timeoutMs ${timeoutMs})${lastError ? `; the last check failed: ${lastError}` : ''}. The Send itself may still complete in SFMC`,
    { sendId, status, failedChecks },
  );
}
