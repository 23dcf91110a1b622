import type { Job, JobsOptions } from 'bullmq';

/**
 * The two queues that start runs, apart from the run's own steps (queues/catalog.ts): each holds
 * BullMQ Job Schedulers (one per schedule or trigger, its id the schedule's or trigger's name),
 * and each scheduler job is one firing or one folder listing. A later `account` field goes into
 * these payloads beside `request`.
 */

export const SCHEDULES_QUEUE = 'schedules';
export const TRIGGERS_QUEUE = 'triggers';
export const AUTOMATION_QUEUES = [SCHEDULES_QUEUE, TRIGGERS_QUEUE] as const;
export type AutomationQueue = (typeof AUTOMATION_QUEUES)[number];

/** Skip a firing while this schedule's previous run is unfinished (default), or start anyway. */
export type Overlap = 'skip' | 'allow';

export interface ScheduleJobData {
  name: string;
  /** The request as given, without runId: each firing derives its own runId, customerKey and fileSpec. */
  request: Record<string, unknown>;
  overlap: Overlap;
}

export type FolderSource = { kind: 'sftp'; dir: string } | { kind: 'local'; dir: string };

export interface TriggerJobData {
  name: string;
  source: FolderSource;
  /** A glob on the file name: `*` any run of characters, `?` one character. */
  pattern: string;
  /** A file has arrived once its size and mtime stayed the same this long. */
  settleMs: number;
  request: Record<string, unknown>;
}

export interface FireScheduleResult {
  runId: string;
  /** Set when the firing started nothing because the previous run was still in flight. */
  skippedFor?: string;
  created?: boolean;
}

export interface WatchFolderResult {
  listed: number;
  /** Files that matched but have not settled yet. */
  settling: number;
  started: string[];
}

export type ScheduleJob = Job<ScheduleJobData, FireScheduleResult>;
export type TriggerJob = Job<TriggerJobData, WatchFolderResult>;

/**
 * Scheduler jobs are small and frequent: keep the last few hundred for the dashboard, retry a
 * failed firing or listing a few times (its runId claim makes a retry harmless).
 */
export const AUTOMATION_JOB_OPTIONS: JobsOptions = {
  attempts: 3,
  backoff: { type: 'exponential', delay: 1_000 },
  removeOnComplete: { count: 200 },
  removeOnFail: { count: 500 },
};
