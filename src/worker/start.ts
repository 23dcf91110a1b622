import { Worker } from 'bullmq';
import type { Logger } from 'pino';
import { QUEUE_NAMES, type QueueName } from '../../queues/catalog.js';
import { concurrencyCapOf, stepPolls } from '../../queues/steps.js';
import { claimQueueLayout } from '../queue-layout.js';
import type { RedisLike } from '../redis.js';
import { RunRegistry } from '../runs.js';
import { shardPrefixes } from '../shards.js';
import type { CallBudget, CallClass } from '../sfmc/budget.js';
import { sfmcInCallClass } from '../sfmc/client.js';
import type { SfmcApi } from '../sfmc/types.js';
import { FileNameLocks } from '../upload/file-name-lock.js';
import type { SftpUploader } from '../upload/sftp.js';
import { DEFAULT_STEP_SETTINGS, type StepSettings } from '../../processors/step.js';
import { DEFAULT_ACCOUNT } from '../config.js';
import { failedWithoutWrapper } from '../errors.js';
import type { AccountContext } from './accounts.js';
import { PROCESSORS } from './registry.js';
import { RunCache } from './run-cache.js';
import { markRunEnded, wrapStep, type WrapDeps } from './wrap.js';

export interface WorkerPoolOptions {
  /** A worker-role connection (maxRetriesPerRequest: null); BullMQ duplicates it for blocking reads. */
  connection: RedisLike;
  /** QUEUE_PREFIX; with `shards`, the base the shards' prefixes are derived from (src/shards.ts). */
  prefix: string;
  /**
   * QUEUE_SHARDS (default 1): one Worker per queue per shard. Each Worker holds its own blocking
   * connection (BullMQ duplicates `connection` for its BZPOPMIN; against a cluster the duplicate
   * connects to every master), so a process holds 7 x shards of them besides the shared one.
   * Recorded in Redis at start (src/queue-layout.ts): the pool refuses to start while jobs of
   * another recorded count are unfinished.
   */
  shards?: number;
  sfmc: SfmcApi;
  /** Enhanced FTP for upload-file; without it a run with a `file` fails with sftp-not-configured. */
  uploader?: SftpUploader;
  logger: Logger;
  /** Jobs one process runs at once per queue. Polls hold no slot while they wait. */
  concurrency?: number;
  /**
   * The account's SOAP call budget, the same one `sfmc` takes its units from: a throttle from SFMC
   * pauses it for every queue and process. Without it only the throttled job waits.
   */
  budget?: CallBudget;
  /** How long the account pauses when SFMC throttles. Default 30 s (THROTTLE_PAUSE_MS). */
  throttlePauseMs?: number;
  settings?: Partial<StepSettings>;
  /**
   * The accounts of SFMC_ACCOUNTS by name, each with its own SOAP client, uploader and budget; a
   * run's request names one with `account`. `sfmc`, `uploader` and `budget` above are the default account.
   */
  accounts?: Record<string, WorkerAccount>;
  now?: () => number;
  onStepEnd?: WrapDeps['onStepEnd'];
  /** Tests shorten these to exercise stalls. */
  lockDurationMs?: number;
  stalledIntervalMs?: number;
}

/** One named account's clients: the same three things the pool takes for the default account. */
export interface WorkerAccount {
  sfmc: SfmcApi;
  uploader?: SftpUploader;
  budget?: CallBudget;
}

export interface WorkerPool {
  /** The first shard's workers: every worker when QUEUE_SHARDS is 1. */
  workers: Record<QueueName, Worker>;
  /** Every shard's workers, shard 0 first (`workers` is `byShard[0]`). */
  byShard: Record<QueueName, Worker>[];
  /** Stops taking jobs and waits for active ones (or, with force, lets them stall for another worker). */
  close(force?: boolean): Promise<void>;
}

/** Polling steps' calls yield to the steps that move runs forward (see budget.ts). */
function callClassOf(step: QueueName): CallClass {
  return stepPolls(step) ? 'poll' : 'progress';
}

/** The pool's concurrency, capped for a step that holds a scarce resource (queues/steps.ts). */
function concurrencyOf(step: QueueName, options: WorkerPoolOptions): number {
  const base = options.concurrency ?? 10;
  switch (concurrencyCapOf(step)) {
    // An upload holds an SFTP connection throughout: no more uploads at once than connections allowed.
    // Each account's uploader holds to its own cap; the queue may run up to the sum of them.
    case 'sftp-connections': {
      const uploaders = [options.uploader, ...Object.values(options.accounts ?? {}).map((a) => a.uploader)];
      const connections = uploaders.reduce((sum, u) => sum + (u?.maxConnections ?? 0), 0);
      return Math.min(base, Math.max(connections, 1));
    }
    default:
      return base;
  }
}

export const DEFAULT_THROTTLE_PAUSE_MS = 30_000;

export async function startWorkers(options: WorkerPoolOptions): Promise<WorkerPool> {
  // Before any Worker consumes: refused (QueueLayoutError) while runs of another QUEUE_SHARDS are unfinished.
  await claimQueueLayout(options.connection, options.prefix, options.shards ?? 1, options.logger);
  const now = options.now ?? Date.now;
  const settings = { ...DEFAULT_STEP_SETTINGS, ...options.settings };
  // One per pool (runIds are unique across shards): a run's later steps, taken by this process,
  // reuse what its first step read.
  const runCache = new RunCache();
  // Account-wide, so under QUEUE_PREFIX itself: runs of every shard meet on a name's one key.
  const fileNames = new FileNameLocks(options.connection, options.prefix);
  // No BullMQ limiter: SFMC's limit is on SOAP calls per account, not on jobs per queue, so the
  // SOAP client's shared budget decides, and an idle queue carries no rate-limit key.
  // Each account's client as the steps of one budget class see it: every SOAP call they make is
  // charged to their queue's class (polls yield to progress), without the processors marking calls.
  const contextOf = ({ sfmc, uploader, budget }: WorkerAccount, callClass: CallClass): AccountContext => ({
    sfmc: sfmcInCallClass(sfmc, callClass),
    ...(uploader ? { uploader } : {}),
    pauseAccount: budget ? (ms: number) => budget.pause(ms) : async () => {},
  });
  const defaultAccount = { sfmc: options.sfmc, ...(options.uploader ? { uploader: options.uploader } : {}), ...(options.budget ? { budget: options.budget } : {}) };
  const accountsIn = (callClass: CallClass): Record<string, AccountContext> => {
    const accounts: Record<string, AccountContext> = { [DEFAULT_ACCOUNT]: contextOf(defaultAccount, callClass) };
    for (const [name, account] of Object.entries(options.accounts ?? {})) accounts[name] = contextOf(account, callClass);
    return accounts;
  };
  const accountsByClass: Record<CallClass, Record<string, AccountContext>> = { progress: accountsIn('progress'), poll: accountsIn('poll') };
  // A shard's workers read and write its own run registry: a run's jobs and registry hash share its slot.
  const shardWorkers = (prefix: string): Record<QueueName, Worker> => {
    const runs = new RunRegistry(options.connection, prefix);
    return Object.fromEntries(QUEUE_NAMES.map((name) => [name, stepWorker(name, prefix, runs)])) as Record<QueueName, Worker>;
  };
  const stepWorker = (name: QueueName, prefix: string, runs: RunRegistry): Worker => {
    const processor = wrapStep(name, PROCESSORS[name] as never, {
      accounts: accountsByClass[callClassOf(name)],
      runs,
      runCache,
      fileNames,
      logger: options.logger,
      now,
      settings,
      throttlePauseMs: options.throttlePauseMs ?? DEFAULT_THROTTLE_PAUSE_MS,
      maxThrottledVisits: 50,
      ...(options.onStepEnd ? { onStepEnd: options.onStepEnd } : {}),
    });
    const worker = new Worker(name, processor, {
      connection: options.connection,
      prefix,
      concurrency: concurrencyOf(name, options),
      ...(options.lockDurationMs ? { lockDuration: options.lockDurationMs } : {}),
      ...(options.stalledIntervalMs ? { stalledInterval: options.stalledIntervalMs } : {}),
    });
    worker.on('error', (err) => options.logger.error({ err, queue: name, prefix }, 'worker error'));
    // A job BullMQ failed for good by itself (it stalled more than maxStalledCount times) never
    // reached the wrapper: the run ended without being marked, and its registry entry would never expire.
    worker.on('failed', (job, err) => {
      if (!job || !failedWithoutWrapper(job, err)) return;
      const log = options.logger.child({ queue: name, runId: job.data.runId, jobId: job.id });
      log.error({ reason: err.message }, 'step failed by BullMQ itself; the run has ended');
      void markRunEnded({ runs, runCache }, job.data.runId, log);
    });
    return worker;
  };
  const byShard = shardPrefixes(options.prefix, options.shards ?? 1).map(shardWorkers);
  const all = byShard.flatMap((workers) => Object.values(workers));
  await Promise.all(all.map((w) => w.waitUntilReady()));
  return {
    workers: byShard[0]!,
    byShard,
    async close(force = false) {
      await Promise.all(all.map((w) => w.close(force)));
    },
  };
}
