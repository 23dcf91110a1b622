import { basename } from 'node:path';
import { stepPolls } from '../../../queues/steps.js';
import type { RunState, RunStatus, StepStatus } from '../../client.js';
import type { ListSendRequest } from '../../request.js';
import { toRunStatusBody, type RunStatusBody } from '../schemas.js';

/**
 * What the runs pages show of a run, built from the API's own data only: the run's status (as
 * /v1 answers it) and the request the registry keeps. No file content, no secret: the file is
 * shown by its NAME only (its folder on the worker's machine says nothing to a sender and
 * describes the worker's disk), and the free text a step or SFMC wrote (a failure's reason, a
 * step's result in words) passes the dashboard's redactor before it is rendered (see index.ts).
 */

export const DEFAULT_ACCOUNT = 'default';

export interface StepTiming {
  /** When a worker first took the step (BullMQ processedOn), ISO. */
  startedAt?: string;
  /** When the step completed or last failed (BullMQ finishedOn), ISO. */
  finishedAt?: string;
}

export interface StepView {
  step: string;
  state: string;
  attempts: number;
  startedAt?: string;
  durationMs?: number;
  /** The step's result or error in plain words. */
  outcome?: string;
  polls?: number;
  upload?: { bytes: number; totalBytes: number; rows?: number };
}

export interface RunView {
  runId: string;
  state: RunState;
  account: string;
  list?: string;
  emailId?: string;
  file?: string;
  startedAt?: string;
  endedAt?: string;
  import?: RunStatusBody['import'];
  sendId?: string;
  delivery?: { sent: number; delivered: number; bounces: number; opens: number; clicks: number; status: string };
  /** For a failed run: the one-line reason and the step it failed in. */
  failure?: { step: string; reason: string };
  cancelledAt?: string;
  cancellable: boolean;
  steps: StepView[];
}

/** The account a request names (`request.account`, being added), else the default one. */
export function accountOf(request: ListSendRequest | undefined): string {
  const account = (request as { account?: unknown } | undefined)?.account;
  return typeof account === 'string' && account ? account : DEFAULT_ACCOUNT;
}

function listOf(request: ListSendRequest): string {
  return 'name' in request.list ? request.list.name : `List ${request.list.id}`;
}

/** The file's name only: the local file's for an uploaded run, else the Import folder's fileSpec. */
export function fileNameOf(request: ListSendRequest): string {
  return request.file ? basename(request.file.path) : request.import.fileSpec;
}

/**
 * Cancelling is possible while the Send has not been claimed (src/runs.ts, the same rule as
 * DELETE /v1/list-sends/<runId>). The page can only guess the claim from the send step's state;
 * the POST asks the registry, which decides atomically and may still answer too-late.
 */
export function cancellable(status: RunStatus): boolean {
  if (status.state !== 'waiting' && status.state !== 'running') return false;
  const send = status.steps.find((s) => s.step === 'send');
  return !send || !['active', 'completed', 'failed'].includes(send.state);
}

const count = (n: number) => n.toLocaleString('en-US');

/** A step's result or error as a sentence, for people who know SFMC but not the step's JSON. */
export function describeOutcome(s: StepStatus): string | undefined {
  if (s.state === 'failed' || (s.error && s.state !== 'completed')) {
    // A parent fails with BullMQ's `child <queue key>:<jobId> failed` (failParentOnFailure): in
    // plain words, and without the Redis key prefix.
    const child = /^child \S*?:([a-z-]+):\S+ failed$/.exec(s.error ?? '');
    return child ? `not finished: ${child[1]} failed before it` : s.error;
  }
  const progress = s.progress as { status?: unknown } | undefined;
  // A polling step between checks: what SFMC said last (processors/polling.ts stores it).
  if (s.state !== 'completed' && typeof progress?.status === 'string') return `SFMC says ${progress.status}; checking again`;
  // An upload waiting for its remote file name (src/worker/file-name.ts stores who owns it).
  const wait = s.progress as Partial<Record<'waitingForFileName' | 'heldByRun', unknown>> | undefined;
  if (s.state !== 'completed' && typeof wait?.waitingForFileName === 'string' && typeof wait.heldByRun === 'string') {
    return `waiting for ${wait.waitingForFileName}: run ${wait.heldByRun} owns that file name until its import has read its file`;
  }
  if (s.state !== 'completed' || !s.result || typeof s.result !== 'object') return undefined;
  const r = s.result as Record<string, unknown>;
  switch (s.step) {
    case 'resolve-list':
    {
      const email = r.email as { id?: string; name?: string } | undefined;
      return `List ${String(r.listName ?? '')} found (ID ${String(r.listId)})${email?.id ? `; Email ${email.name ? `${email.name} ` : ''}(ID ${email.id}) found` : ''}`.replace('List  ', 'List ');
    }
    case 'upload-file':
      return typeof r.bytes === 'number' ? `${count(r.bytes)} bytes sent${typeof r.rows === 'number' ? `, ${count(r.rows)} rows checked` : ''}` : 'file sent';
    case 'create-import':
      return `ImportDefinition ${String(r.customerKey)} ${r.reused ? 'found (made by an earlier attempt)' : 'created'}`;
    case 'start-import':
      return `import started (task ${String(r.taskId)})`;
    case 'poll-import':
      return `import ${String(r.importStatus ?? 'finished')}: ${count(Number(r.numberSuccessful ?? 0))} of ${count(Number(r.totalRows ?? 0))} rows imported, ${count(Number(r.numberErrors ?? 0))} errors, ${count(Number(r.numberDuplicated ?? 0))} duplicates`;
    case 'send':
      return `Send ${String(r.sendId)} created${r.recovered ? ' (found again after an unclear answer)' : ''}`;
    case 'track-send': {
      const d = r.delivery as Record<string, unknown> | undefined;
      return d ? `Send ${String(d.status)}: ${count(Number(d.numberSent ?? 0))} sent, ${count(Number(d.numberDelivered ?? 0))} delivered` : 'Send followed';
    }
    default:
      return 'done';
  }
}

/** A field of the last step's progress that has it (steps in run order). */
function latestProgress<T>(status: RunStatus, field: string): T | undefined {
  const found = status.steps.map((s) => (s.progress as Record<string, unknown> | undefined)?.[field]).filter((v) => v !== undefined && v !== null);
  return found[found.length - 1] as T | undefined;
}

function progressOf(s: StepStatus): Pick<StepView, 'polls' | 'upload'> {
  const p = s.progress as Record<string, unknown> | undefined;
  const r = s.result as Record<string, unknown> | undefined;
  const out: Pick<StepView, 'polls' | 'upload'> = {};
  if (stepPolls(s.step)) {
    // A finished step's result holds the final count; its progress may predate the last check.
    const polls = s.state === 'completed' ? (r?.polls ?? r?.checks) : (p?.polls ?? p?.checks);
    if (typeof polls === 'number') out.polls = polls;
  }
  if (p && typeof p.uploadedBytes === 'number' && typeof p.totalBytes === 'number') {
    out.upload = { bytes: p.uploadedBytes, totalBytes: p.totalBytes, ...(typeof p.rows === 'number' ? { rows: p.rows } : {}) };
  }
  return out;
}

function durationOf(t: StepTiming | undefined): number | undefined {
  if (!t?.startedAt || !t.finishedAt) return undefined;
  return Math.max(0, Date.parse(t.finishedAt) - Date.parse(t.startedAt));
}

/** The failing step and its reason: `step: code: message` as the client builds it. */
function failureOf(status: RunStatus): RunView['failure'] {
  if (status.state !== 'failed' || !status.error) return undefined;
  const at = status.error.indexOf(': ');
  return at === -1 ? { step: '', reason: status.error } : { step: status.error.slice(0, at), reason: status.error.slice(at + 2) };
}

export function toRunView(status: RunStatus, request: ListSendRequest | undefined, timings: Partial<Record<string, StepTiming>> = {}): RunView {
  const body = toRunStatusBody(status);
  const steps: StepView[] = status.steps
    .filter((s) => s.state !== 'missing' || !request)
    .map((s) => {
      const t = timings[s.step];
      const outcome = describeOutcome(s);
      const duration = durationOf(t);
      return {
        step: s.step,
        state: s.state,
        attempts: s.attemptsMade,
        ...(t?.startedAt ? { startedAt: t.startedAt } : {}),
        ...(duration !== undefined ? { durationMs: duration } : {}),
        ...(outcome ? { outcome } : {}),
        ...progressOf(s),
      };
    });
  const ends = Object.values(timings).map((t) => t?.finishedAt).filter((v): v is string => Boolean(v)).sort();
  const finished = status.state === 'completed' || status.state === 'failed' || status.state === 'cancelled';
  const result = status.result as (RunStatus['result'] & { delivery?: Record<string, number | string> }) | undefined;
  // While the Send goes out, the polling step's progress carries the counts of its last check.
  const d = result?.delivery ?? latestProgress<Record<string, number | string>>(status, 'delivery');
  const sendId = result?.sendId ?? latestProgress<string>(status, 'sendId');
  const failure = failureOf(status);
  return {
    runId: status.runId,
    state: status.state,
    account: accountOf(request),
    ...(request ? { list: listOf(request), emailId: String(request.email.id), file: fileNameOf(request) } : {}),
    ...(status.createdAt ? { startedAt: status.createdAt } : {}),
    ...(finished ? { endedAt: status.cancelledAt ?? ends[ends.length - 1] } : {}),
    ...(body.import ? { import: body.import } : {}),
    ...(sendId ? { sendId } : {}),
    ...(d
      ? {
          delivery: {
            status: String(d.status),
            sent: Number(d.numberSent),
            delivered: Number(d.numberDelivered),
            bounces: Number(d.hardBounces) + Number(d.softBounces) + Number(d.otherBounces),
            opens: Number(d.uniqueOpens),
            clicks: Number(d.uniqueClicks),
          },
        }
      : {}),
    ...(failure ? { failure } : {}),
    ...(status.cancelledAt ? { cancelledAt: status.cancelledAt } : {}),
    cancellable: cancellable(status),
    steps,
  };
}
