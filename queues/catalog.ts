import type { Job } from 'bullmq';
import type { ListSendRequest } from '../src/request.js';

/**
 * The catalog: every queue's name, payload and result, declared once. Producers and processors
 * both import from here, so a payload change breaks the build rather than production.
 */

export const QUEUE_NAMES = ['resolve-list', 'create-import', 'start-import', 'poll-import', 'send'] as const;
export type QueueName = (typeof QUEUE_NAMES)[number];

/** The five steps of one run, first to last (the flow runs them deepest child first). */
export const STEP_ORDER: readonly QueueName[] = QUEUE_NAMES;

export interface ImportCounts {
  numberSuccessful: number;
  numberErrors: number;
  numberDuplicated: number;
  totalRows: number;
}

/** What every step job carries: the validated request. It holds no secret. */
export interface StepData {
  runId: string;
  request: ListSendRequest;
}

export interface StartImportData extends StepData {
  /** Set before Perform start, so a re-entry knows a start may already have happened. */
  startRequestedAt?: string;
  /** Set as soon as SFMC returns it, so a retry never starts a second import. */
  taskId?: string;
}

export interface PollImportData extends StepData {
  polls?: number;
  firstPollAt?: string;
  lastStatus?: string;
}

export interface SendData extends StepData {
  /** Set before Create Send: on re-entry, SFMC is searched for a Send made since then. */
  sendRequestedAt?: string;
  sendId?: string;
}

export interface JobPayloads {
  'resolve-list': StepData;
  'create-import': StepData;
  'start-import': StartImportData;
  'poll-import': PollImportData;
  send: SendData;
}

export interface ResolveListResult {
  listId: string;
  listName?: string;
}

export interface CreateImportResult {
  listId: string;
  customerKey: string;
  /** True when an identical ImportDefinition already existed (a retry after a lost reply). */
  reused: boolean;
}

export interface StartImportResult {
  listId: string;
  customerKey: string;
  taskId: string;
}

export interface PollImportResult extends ImportCounts {
  listId: string;
  taskId: string;
  importStatus: string;
  polls: number;
}

export interface SendResult {
  sendId: string;
  emailId: string;
  listId: string;
  import: ImportCounts;
  /** True when the Send was found in SFMC after an ambiguous failure rather than created now. */
  recovered: boolean;
}

export interface JobResults {
  'resolve-list': ResolveListResult;
  'create-import': CreateImportResult;
  'start-import': StartImportResult;
  'poll-import': PollImportResult;
  send: SendResult;
}

export type JobOf<N extends QueueName> = Job<JobPayloads[N], JobResults[N], N>;

/** Job ids are derived from the runId, so the same run can never be added twice. */
export function stepJobId(runId: string, queue: QueueName): string {
  return `${runId}-${queue}`;
}
