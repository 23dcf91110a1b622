import type { Job } from 'bullmq';
import type { SendDelivery } from '../src/sfmc/send-status.js';

/**
 * The catalog: every queue's name, payload and result, declared once. Producers and processors
 * both import from here, so a payload change breaks the build rather than production.
 */

/**
 * Every step's queue, in the order a person reads them (the flow runs them deepest child first).
 * What each step is (optional, polling, last) is in the step table, queues/steps.ts.
 */
export const QUEUE_NAMES = ['resolve-list', 'upload-file', 'create-import', 'start-import', 'poll-import', 'send', 'track-send'] as const;
export type QueueName = (typeof QUEUE_NAMES)[number];


export interface ImportCounts {
  numberSuccessful: number;
  numberErrors: number;
  numberDuplicated: number;
  totalRows: number;
}

/**
 * What every step job carries: the runId only, plus its own step's progress fields. The request is
 * kept once per run in the run registry (src/runs.ts) and handed to processors as `ctx.request`.
 */
export interface StepData {
  runId: string;
}

export interface UploadFileData extends StepData {
  /**
   * Set just before the upload's final rename: a retry that finds the file under its final name
   * with these bytes knows it is this run's own and reuses it instead of uploading again.
   */
  uploaded?: UploadFileResult;
}

export interface StartImportData extends StepData {
  /** Set before Perform start, so a re-entry knows a start may already have happened. */
  startRequestedAt?: string;
  /**
   * With a caller-chosen CustomerKey (other runs may import with it too): the task ids SFMC listed
   * for it just before this Perform start, none of which can be this start's.
   */
  tasksBeforeStart?: string[];
  /** Set as soon as SFMC returns it, so a retry never starts a second import. */
  taskId?: string;
}

export interface PollImportData extends StepData {
  polls?: number;
  firstPollAt?: string;
  lastStatus?: string;
  /** Checks that failed transiently (timeouts, server faults): "no news", retried on the poll schedule. */
  failedChecks?: number;
  /** The last such failure, for the status and the log. */
  lastCheckError?: string;
  /**
   * start-import's result, read from BullMQ once (the first visit) and carried in the progress from
   * then on, so a later check costs no getChildrenValues (issue #14). Immutable: the child has completed.
   */
  started?: StartImportResult;
}

export interface SendData extends StepData {
  /** Set before Create Send: on re-entry, SFMC is searched for a Send made since then. */
  sendRequestedAt?: string;
  sendId?: string;
}

export interface TrackSendData extends StepData {
  /** When the first status check was scheduled; track.timeoutMs counts from here. */
  firstCheckAt?: string;
  checks?: number;
  lastStatus?: string;
  /** Checks that failed transiently (no news) so far. */
  failedChecks?: number;
  lastCheckError?: string;
}

export interface JobPayloads {
  'resolve-list': StepData;
  'upload-file': UploadFileData;
  'create-import': StepData;
  'start-import': StartImportData;
  'poll-import': PollImportData;
  send: SendData;
  'track-send': TrackSendData;
}

export interface ResolveListResult {
  listId: string;
  listName?: string;
  /** The Email the run will send, checked to exist before anything changes the List. */
  email?: { id: string; name?: string; subject?: string };
}

/** Problem counts by kind, as the CSV pre-validation names them (src/upload/validate.ts). */
export type FileProblemTotals = Partial<Record<string, number>>;

export interface UploadFileResult {
  /** The file's name in the Import folder: the FileSpec create-import gives the ImportDefinition. */
  fileSpec: string;
  remotePath: string;
  bytes: number;
  /** Data rows (after the header lines, blank rows not counted). */
  rows: number;
  /** Problems let through because the request said allowErrors (0 otherwise: problems fail the run). */
  problems: number;
  problemTotals: FileProblemTotals;
  /** True when an earlier attempt had already put the file there whole. */
  reused: boolean;
}

// The List id is not repeated in the import steps' results: later steps read the run's
// destination from the run registry (StepContext.destination, written by resolve-list).
export interface CreateImportResult {
  customerKey: string;
  /** The FileSpec the ImportDefinition reads. */
  fileSpec?: string;
  /** True when an identical ImportDefinition already existed (a retry after a lost reply). */
  reused: boolean;
}

export interface StartImportResult {
  customerKey: string;
  taskId: string;
}

export interface PollImportResult extends ImportCounts {
  taskId: string;
  importStatus: string;
  polls: number;
  /** Checks that failed transiently on the way (0 when every Retrieve answered). */
  failedChecks?: number;
  /** What became of the run's ImportDefinition once the import completed. */
  definition?: DefinitionCleanup;
}

/**
 * `deleted`: removed from SFMC; `absent`: already gone; `kept`: import.keepDefinition; `failed`: the
 * Delete failed, a warning only (the definition stays and can be deleted by hand).
 */
export interface DefinitionCleanup {
  customerKey: string;
  outcome: 'deleted' | 'absent' | 'kept' | 'failed';
  warning?: string;
}

export interface SendResult {
  sendId: string;
  emailId: string;
  listId: string;
  import: ImportCounts;
  /** True when the Send was found in SFMC after an ambiguous failure rather than created now. */
  recovered: boolean;
}

/** A tracked run's result: the Send's, plus what SFMC finally reported about its delivery. */
export interface TrackSendResult extends SendResult {
  delivery: SendDelivery;
  /** Status checks made, and how many of them failed transiently (no news). */
  checks: number;
  failedChecks: number;
}

export interface JobResults {
  'resolve-list': ResolveListResult;
  'upload-file': UploadFileResult;
  'create-import': CreateImportResult;
  'start-import': StartImportResult;
  'poll-import': PollImportResult;
  send: SendResult;
  'track-send': TrackSendResult;
}

export type JobOf<N extends QueueName> = Job<JobPayloads[N], JobResults[N], N>;

/** How one visit of a step job ended, for metrics (the worker's wrapper reports it). */
export interface StepEndEvent {
  queue: QueueName;
  outcome: 'completed' | 'delayed' | 'throttled' | 'retry' | 'failed';
  durationMs: number;
  code?: string;
  /** The run's SFMC account (`default` or a name of SFMC_ACCOUNTS); absent when the request could not be read. */
  account?: string;
  /** Set when this visit ended the run: its last step completed, or a step failed for good. */
  runEnded?: 'completed' | 'failed';
}

/** Job ids are derived from the runId, so the same run can never be added twice. */
export function stepJobId(runId: string, queue: QueueName): string {
  return `${runId}-${queue}`;
}
