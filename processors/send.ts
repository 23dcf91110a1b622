import { RunError } from '../src/errors.js';
import { isSfmcError } from '../src/sfmc/errors.js';
import type { SendRecord } from '../src/sfmc/types.js';
import { childResult, requireDestination, type StepContext, type StepProcessor } from './step.js';

/**
 * Step 5: Create the Send. It is the one step that must happen at most once, and Create Send is
 * not idempotent in SFMC. So: record "about to send" on the job before the call; on any later
 * entry with that record, look in SFMC for a Send of this Email to this List made since then
 * before creating one; when SFMC cannot say, stop in `send-unknown` for a person to check.
 */
export const send: StepProcessor<'send'> = async (job, ctx) => {
  const { sfmc, signal, now } = ctx;
  const polled = await childResult(job, 'poll-import');
  const emailId = ctx.request.email.id;
  // This run's List, as resolve-list recorded it: what Create Send addresses and what the
  // recovery of a lost reply must find a Send to (findEarlierSend).
  const listId = requireDestination(job, ctx).id;
  const importCounts = {
    numberSuccessful: polled.numberSuccessful,
    numberErrors: polled.numberErrors,
    numberDuplicated: polled.numberDuplicated,
    totalRows: polled.totalRows,
  };
  const done = (sendId: string, recovered: boolean) => ({ sendId, emailId, listId, import: importCounts, recovered });

  if (job.data.sendId) return done(job.data.sendId, true);

  if (job.data.sendRequestedAt) {
    const existing = await findEarlierSend(job.data.sendRequestedAt, emailId, listId, job.attemptsMade, job.opts.attempts ?? 1, ctx);
    if (existing) {
      await job.updateData({ ...job.data, sendId: existing.id });
      await job.log(`Send ${existing.id} was created by an earlier attempt whose reply was lost; not sending again`);
      return done(existing.id, true);
    }
    await job.log('SFMC shows no Send from the earlier attempt; creating it');
  }

  // Atomic with a producer's cancel: once claimed, the run can no longer be cancelled. This is
  // send's cancel check (queues/steps.ts: the worker reads no cancel mark before this step).
  const claim = await ctx.runs.claimSend(job.data.runId);
  if (claim === 'cancelled') throw new RunError('cancelled', 'the run was cancelled before its Send');
  if (claim === 'missing') {
    throw new RunError('run-missing', `the run registry has no entry for run ${job.data.runId}; nothing is sent for a run it lost`, { runId: job.data.runId });
  }
  const sendRequestedAt = new Date(now()).toISOString();
  await job.updateData({ ...job.data, sendRequestedAt });
  let sendId: string;
  try {
    // The request's sender overrides (fromName, fromAddress, subject), when it has any.
    ({ sendId } = await sfmc.createSend({ emailId, listId, ...ctx.request.send }, { signal }));
  } catch (err) {
    if (isSfmcError(err) && !err.mayHaveTakenEffect) {
      // SFMC answered and refused: nothing was sent, so the next attempt need not search first.
      const { sendRequestedAt: _dropped, ...rest } = job.data;
      await job.updateData(rest);
    }
    throw err;
  }
  await job.updateData({ ...job.data, sendRequestedAt, sendId });
  return done(sendId, false);
};

/**
 * The Send an earlier attempt of this run made, if SFMC shows exactly one. A Send of this Email is
 * only this run's when ListSend confirms it went to this run's List: one Email is often sent to
 * several Lists, and adopting another run's Send would leave this List unmailed. Any candidate
 * whose Lists SFMC does not show, or two to this List, end in `send-unknown`.
 */
async function findEarlierSend(
  requestedAt: string,
  emailId: string,
  listId: string,
  attemptsMade: number,
  attempts: number,
  { sfmc, signal, settings }: StepContext,
): Promise<SendRecord | undefined> {
  const since = new Date(Date.parse(requestedAt) - settings.sendLookbackMs);
  const unknown = (why: string) =>
    new RunError(
      'send-unknown',
      `a Create Send for Email ${emailId} to List ${listId} was made at ${requestedAt} and its outcome is unknown (${why}). ` +
        `Check the Sends of Email ${emailId} in SFMC (Email Studio > Tracking) since then. This run will not send again by itself.`,
      { emailId, listId, requestedAt },
    );
  let candidates: { send: SendRecord; listIds: string[] }[];
  try {
    const sends = await sfmc.retrieveSendsByEmail(emailId, since, { signal });
    // One ListSend Retrieve per candidate (SendID equals, as SFMC's own sample does); candidates
    // are the Sends of one Email within minutes, so there are few.
    candidates = [];
    for (const send of sends) {
      const rows = await sfmc.retrieveListSends(send.id, { signal });
      candidates.push({ send, listIds: [...new Set([...send.listIds, ...rows.map((r) => r.listId)])] });
    }
  } catch (err) {
    const lastAttempt = attemptsMade + 1 >= attempts;
    // Throttling and an exhausted call budget delay the job without using an attempt: never a verdict.
    if (isSfmcError(err) && (err.kind === 'throttled' || (err.kind !== 'fatal' && !lastAttempt))) throw err;
    throw unknown(`looking it up failed: ${(err as Error).message}`);
  }
  const unconfirmed = candidates.filter((c) => c.listIds.length === 0).map((c) => c.send.id);
  if (unconfirmed.length > 0) {
    throw unknown(`SFMC shows no Lists for Send ${unconfirmed.join(', ')} of this Email, so whether it went to List ${listId} cannot be confirmed`);
  }
  const mine = candidates.filter((c) => c.listIds.includes(listId)).map((c) => c.send);
  if (mine.length > 1) throw unknown(`${mine.length} Sends match: ${mine.map((s) => s.id).join(', ')}`);
  return mine[0];
}
