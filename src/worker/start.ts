import { Queue, Worker } from 'bullmq';
import type { Logger } from 'pino';
import { QUEUE_NAMES, type QueueName } from '../../queues/catalog.js';
import type { RedisLike } from '../redis.js';
import { RunRegistry } from '../runs.js';
import type { SfmcApi } from '../sfmc/types.js';
import type { SftpUploader } from '../upload/sftp.js';
import { DEFAULT_STEP_SETTINGS, type StepSettings } from './context.js';
import { PROCESSORS } from './registry.js';
import { wrapStep, type WrapDeps } from './wrap.js';

export interface WorkerPoolOptions {
  /** A worker-role connection (maxRetriesPerRequest: null); BullMQ duplicates it for blocking reads. */
  connection: RedisLike;
  prefix: string;
  sfmc: SfmcApi;
  /** Enhanced FTP for upload-file; without it a run with a `file` fails with sftp-not-configured. */
  uploader?: SftpUploader;
  logger: Logger;
  /** Jobs one process runs at once per queue. Polls hold no slot while they wait. */
  concurrency?: number;
  /** Jobs each queue may start per minute across all worker processes (each makes at most one SOAP call). */
  jobsPerMinutePerQueue?: number;
  throttlePauseMs?: number;
  settings?: Partial<StepSettings>;
  now?: () => number;
  onStepEnd?: WrapDeps['onStepEnd'];
  /** Tests shorten these to exercise stalls. */
  lockDurationMs?: number;
  stalledIntervalMs?: number;
}

export interface WorkerPool {
  workers: Record<QueueName, Worker>;
  /** Stops taking jobs and waits for active ones (or, with force, lets them stall for another worker). */
  close(force?: boolean): Promise<void>;
}

export async function startWorkers(options: WorkerPoolOptions): Promise<WorkerPool> {
  const now = options.now ?? Date.now;
  const settings = { ...DEFAULT_STEP_SETTINGS, ...options.settings };
  const limiter = { max: options.jobsPerMinutePerQueue ?? 400, duration: 60_000 };
  const queues: Queue[] = [];
  const runs = new RunRegistry(options.connection, options.prefix);
  const entries = QUEUE_NAMES.map((name) => {
    // The queue handle is only used to set the shared rate limit when SFMC throttles.
    const queue = new Queue(name, { connection: options.connection, prefix: options.prefix });
    queues.push(queue);
    const processor = wrapStep(name, PROCESSORS[name] as never, {
      sfmc: options.sfmc,
      ...(options.uploader ? { uploader: options.uploader } : {}),
      runs,
      logger: options.logger,
      now,
      settings,
      rateLimit: (ms) => queue.rateLimit(ms),
      throttlePauseMs: options.throttlePauseMs ?? 30_000,
      maxThrottledVisits: 50,
      ...(options.onStepEnd ? { onStepEnd: options.onStepEnd } : {}),
    });
    const worker = new Worker(name, processor, {
      connection: options.connection,
      prefix: options.prefix,
      // An upload holds an SFTP connection throughout: no more uploads at once than connections allowed.
      concurrency: name === 'upload-file' ? Math.min(options.concurrency ?? 10, options.uploader?.maxConnections ?? 1) : (options.concurrency ?? 10),
      limiter,
      ...(options.lockDurationMs ? { lockDuration: options.lockDurationMs } : {}),
      ...(options.stalledIntervalMs ? { stalledInterval: options.stalledIntervalMs } : {}),
    });
    worker.on('error', (err) => options.logger.error({ err, queue: name }, 'worker error'));
    return [name, worker] as const;
  });
  const workers = Object.fromEntries(entries) as Record<QueueName, Worker>;
  await Promise.all(Object.values(workers).map((w) => w.waitUntilReady()));
  return {
    workers,
    async close(force = false) {
      await Promise.all(Object.values(workers).map((w) => w.close(force)));
      await Promise.all(queues.map((q) => q.close()));
    },
  };
}
