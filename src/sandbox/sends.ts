import { importCounts, importPhase } from './imports.js';
import type { SandboxStore } from './state.js';
import type { SendBehaviour, SendState } from './types.js';

/**
 * How a sandbox Send goes out. SFMC documents no Send.Status values for the API (the Send object
 * page says only "status of object"; ../shared/reference/sfmc-soap.md §3.5); the sandbox uses the
 * send-job statuses the SFMC UI shows, `Sending` then `Complete` (or `Canceled` / `Error`), which
 * is UNVERIFIED for the API (README "Unverified").
 *
 * Progress is counted in status checks, not time, so tests do not depend on the clock or the
 * machine's load. The default, 2 checks answering `Sending` before the final one: a list send in
 * SFMC is not complete the instant it is created (it is queued, then built and handed to the MTA,
 * which the UI shows as Sending for seconds to minutes depending on list size; how long is
 * UNVERIFIED), so a tracker must always meet at least one `Sending`; and few enough that a test
 * pipeline with millisecond poll delays ends quickly. `checksUntilFinal: 0` makes it final at once.
 */
export const DEFAULT_SEND_BEHAVIOUR: Required<SendBehaviour> = {
  checksUntilFinal: 2,
  finalStatus: 'Complete',
  hardBounces: 0,
  softBounces: 0,
  otherBounces: 0,
};

export function resolveSendBehaviour(...layers: (SendBehaviour | undefined)[]): Required<SendBehaviour> {
  const merged = Object.assign({}, DEFAULT_SEND_BEHAVIOUR, ...layers.map((l) => dropUndefined(l ?? {})));
  return merged as Required<SendBehaviour>;
}

/**
 * Subscribers on the Send's Lists when it is created: the successful rows of every finished,
 * Completed import into them. A list send goes to the List's active subscribers (docs: "Send an
 * Email to a Subscriber List"); the sandbox keeps no subscriber rows, so an email imported twice
 * counts twice (the pipeline imports once per run).
 */
export function listSubscribers(store: SandboxStore, listIds: string[], now: number): number {
  let total = 0;
  for (const imp of store.imports.values()) {
    if (!listIds.includes(imp.listId)) continue;
    const phase = importPhase(imp, now);
    if (phase.phase === 'done' && phase.status === 'Completed') total += importCounts(imp).numberSuccessful;
  }
  return total;
}

export interface SendView {
  status: string;
  /** Epoch ms, once final. */
  sentAt?: number;
  numberSent: number;
  numberDelivered: number;
  hardBounces: number;
  softBounces: number;
  otherBounces: number;
}

/**
 * One status check of a Send: counts it, and answers what SFMC would show at that check. Counts
 * are 0 until final: the Send object's NumberSent and NumberDelivered describe a finished send
 * (Send object page, "Retrieve a Send Summary by JobID"). A failed Send reports nothing sent.
 * Bounces are capped at NumberSent, NumberDelivered = NumberSent - bounces.
 */
export function checkSendStatus(send: SendState, now: number): SendView {
  send.statusChecks += 1;
  return viewSend(send, now, true);
}

/** The Send as a Retrieve that does not ask for Status sees it: no check counted. */
export function viewSend(send: SendState, now: number, counted = false): SendView {
  const b = send.behaviour;
  const final = counted ? send.statusChecks > b.checksUntilFinal : send.finishedAt !== undefined;
  const none = { numberSent: 0, numberDelivered: 0, hardBounces: 0, softBounces: 0, otherBounces: 0 };
  if (!final) return { status: 'Sending', ...none };
  send.finishedAt ??= now;
  if (b.finalStatus !== 'Complete') return { status: b.finalStatus, sentAt: send.finishedAt, ...none };
  const sent = send.subscribers;
  const hard = Math.min(b.hardBounces, sent);
  const soft = Math.min(b.softBounces, sent - hard);
  const other = Math.min(b.otherBounces, sent - hard - soft);
  return {
    status: 'Complete',
    sentAt: send.finishedAt,
    numberSent: sent,
    numberDelivered: sent - hard - soft - other,
    hardBounces: hard,
    softBounces: soft,
    otherBounces: other,
  };
}

function dropUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
