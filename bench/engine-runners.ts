import { FlowProducer, Worker, type FlowJob, type Job, type JobsOptions } from 'bullmq';
import type { QueueName } from '../queues/catalog.js';
import { jobOptionsFor } from '../queues/options.js';
import { ListSendClient } from '../src/client.js';
import { createSandbox } from '../src/sandbox/index.js';
import { budgetAccountOf, RedisCallBudget } from '../src/sfmc/budget.js';
import { createSfmcClient } from '../src/sfmc/client.js';
import { sharedTokenStore } from '../src/sfmc/token-store-redis.js';
import type { SfmcConfig } from '../src/config.js';
import type { SfmcApi } from '../src/sfmc/types.js';
import { startWorkers } from '../src/worker/start.js';
import { startBareSoapChain } from './bare-soap.js';
import { benchLogger, benchRequest, inParallel, sandboxSfmcConfig, until, workerRedis } from './common.js';
import { startChild } from './ipc.js';
import type { SandboxChildOptions, SandboxChildReady } from './sandbox-child.js';
import { NO_SEND_COUNTS } from '../src/sfmc/send-status.js';

/**
 * Item 1's contestants. Each runs N flows from the first enqueue to the last root completion, in
 * this process, and says how fast and at what CPU cost:
 *   bare       a FlowProducer chain of five no-op jobs
 *   bare-soap  a chain of five jobs making the run's five SOAP calls with undici + fast-xml-parser,
 *              no safety (bench/bare-soap.ts); the sandbox in a child process
 *   bare-opts  the same chain with the pipeline's job options and payload
 *   stub       the real producer, processors and workers; SfmcApi answered in memory
 *   remote     the real pipeline; the sandbox in a child process
 *   pipeline   the real pipeline; the sandbox in this process, as the tests wire it
 */

// Backoff shortened (production: 10 s) so a retried attempt, which none should be, cannot stall a measurement.
const STEPS = { attempts: 5, backoffMs: 200 };
export const ENQUEUE_IN_FLIGHT = 16;
export const CONCURRENCY = 10;
const ZERO_POLL = { initialDelayMs: 0, maxDelayMs: 1 };
/**
 * The run configured to make the hand-written chain's five SOAP calls (issue #14: compare like
 * with like): no tracking of the Send (`track: false`), the ImportDefinition kept
 * (`import.keepDefinition`), and the Email not retrieved first (SFMC_CHECK_EMAIL=false). All three
 * are settings a user may choose; the production defaults (track, delete, check) add a Retrieve
 * Email, a Delete and the track-send step with its Send status checks.
 */
export const PEER_LIKE = { track: false, keepDefinition: true, checkEmail: false } as const;

function peerLikeRequest(runId: string) {
  const request = benchRequest(runId, ZERO_POLL);
  return { ...request, track: PEER_LIKE.track, import: { ...request.import, keepDefinition: PEER_LIKE.keepDefinition } };
}
/** The five steps of a run without a file to upload, first to last. */
const CHAIN: readonly QueueName[] = ['resolve-list', 'create-import', 'start-import', 'poll-import', 'send'];

export type Variant = 'bare' | 'bare-soap' | 'bare-opts' | 'stub' | 'remote' | 'pipeline';

export interface Measured {
  runsPerSecond: number;
  /** CPU of this process per run (the sandbox's too when it runs here). */
  cpuMsPerRun: number;
  /** CPU of the sandbox child per run (remote only). */
  sandboxCpuMsPerRun?: number;
  /** Step attempts that failed and were retried by BullMQ (none expected). */
  retries: number;
}

export interface Runner {
  /** Runs `n` flows, from the first enqueue to the last root completion. */
  measure(n: number): Promise<Measured>;
  close(): Promise<void>;
}

export async function startRunner(variant: Variant, redisUrl: string, prefix: string): Promise<Runner> {
  if (variant === 'bare-soap') return startBareSoap(redisUrl, prefix);
  return variant === 'bare' || variant === 'bare-opts'
    ? startBare(redisUrl, prefix, variant === 'bare-opts')
    : startPipeline(redisUrl, prefix, variant);
}

/** Counts completions of the flow's root; `measure` returns when `n` more have completed. */
function completionCounter(sandboxCpu?: () => Promise<NodeJS.CpuUsage>) {
  let completed = 0;
  let retries = 0;
  let failure: Error | undefined;
  const ms = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1000;
  return {
    onCompleted: () => void completed++,
    /** BullMQ emits `failed` for every failed attempt; only a job that is finished has failed for good. */
    onFailed: (job: Job | undefined, err: Error) => {
      if (job && !job.finishedOn) retries++;
      else failure ??= new Error(`${job?.id}: ${err.message}`);
    },
    async measure(n: number, enqueue: (i: number) => Promise<void>): Promise<Measured> {
      const target = completed + n;
      const retriesBefore = retries;
      const sandboxBefore = await sandboxCpu?.();
      const cpuBefore = process.cpuUsage();
      const started = performance.now();
      await inParallel(
        Array.from({ length: n }, (_, i) => i),
        ENQUEUE_IN_FLIGHT,
        enqueue,
      );
      await until(
        () => {
          if (failure) throw failure;
          return completed >= target;
        },
        600_000,
        `${n} runs`,
        2,
      );
      const seconds = (performance.now() - started) / 1000;
      const cpu = ms(process.cpuUsage(cpuBefore)) / n;
      const sandboxAfter = await sandboxCpu?.();
      return {
        runsPerSecond: n / seconds,
        cpuMsPerRun: cpu,
        retries: retries - retriesBefore,
        ...(sandboxBefore && sandboxAfter ? { sandboxCpuMsPerRun: (ms(sandboxAfter) - ms(sandboxBefore)) / n } : {}),
      };
    },
  };
}

async function startBare(redisUrl: string, prefix: string, pipelineOpts: boolean): Promise<Runner> {
  const connection = workerRedis(redisUrl);
  const names = CHAIN.map((q) => `bare-${q}`);
  const counter = completionCounter();
  const workers = names.map((name) => new Worker(name, async () => ({ ok: true }), { connection, prefix, concurrency: CONCURRENCY }));
  (workers[workers.length - 1] as Worker).on('completed', counter.onCompleted);
  for (const w of workers) w.on('failed', counter.onFailed);
  await Promise.all(workers.map((w) => w.waitUntilReady()));
  const flows = new FlowProducer({ connection, prefix });
  let seq = 0;
  const chain = (): FlowJob => {
    const id = `r${seq++}`;
    // The pipeline's step jobs carry the runId only (the request is in the run registry).
    const data = pipelineOpts ? { runId: id } : { id };
    let flow: FlowJob | undefined;
    CHAIN.forEach((q, i) => {
      const opts: JobsOptions = pipelineOpts ? { ...jobOptionsFor(STEPS, { isRoot: i === CHAIN.length - 1 }), jobId: `${id}-${q}` } : {};
      flow = { name: q, queueName: names[i] as string, data, opts, ...(flow ? { children: [flow] } : {}) };
    });
    return flow as FlowJob;
  };
  return {
    measure: (n) => counter.measure(n, async () => void (await flows.add(chain()))),
    async close() {
      await flows.close();
      await Promise.all(workers.map((w) => w.close()));
      connection.disconnect();
    },
  };
}

async function startBareSoap(redisUrl: string, prefix: string): Promise<Runner> {
  const child = await startChild<SandboxChildReady>('./sandbox-child.ts', { sandbox: { import: { registerDelayMs: 0, durationMs: 0 } } } satisfies SandboxChildOptions);
  const connection = workerRedis(redisUrl);
  const chain = await startBareSoapChain(connection, prefix, CONCURRENCY, child.ready);
  const counter = completionCounter(() => child.call<NodeJS.CpuUsage>('cpu'));
  chain.last.on('completed', counter.onCompleted);
  for (const w of chain.workers) w.on('failed', counter.onFailed);
  let seq = 0;
  return {
    measure: (n) => counter.measure(n, () => chain.add(`r${seq++}`)),
    async close() {
      await chain.close();
      connection.disconnect();
      await child.stop();
    },
  };
}

/** An SfmcApi that answers at once from memory: the pipeline with the SOAP exchange taken out. */
function stubSfmc(): SfmcApi {
  let next = 1;
  return {
    retrieveListsByName: async (name) => [{ id: '123', name }],
    retrieveListById: async (id) => ({ id }),
    retrieveEmailById: async (id) => ({ id, name: 'Stub Email', subject: 'Stub subject' }),
    createImportDefinition: async () => ({ objectId: String(next++) }),
    retrieveImportDefinition: async () => undefined,
    deleteImportDefinition: async () => ({ deleted: true }),
    startImportDefinition: async () => ({ taskId: String(next++) }),
    retrieveImportResults: async (taskId) => ({
      taskResultId: taskId,
      importStatus: 'Completed',
      numberSuccessful: 100,
      numberErrors: 0,
      numberDuplicated: 0,
      totalRows: 100,
    }),
    retrieveImportResultsByDefinition: async () => [],
    createSend: async () => ({ sendId: String(next++) }),
    retrieveSendById: async () => undefined,
    retrieveSendsByEmail: async () => [],
    retrieveListSends: async () => [],
    retrieveSendStatus: async (id) => ({
      id,
      status: 'Complete',
      ...NO_SEND_COUNTS,
      numberSent: 100,
      numberDelivered: 100,
    }),
  };
}

async function startPipeline(redisUrl: string, prefix: string, variant: Variant): Promise<Runner> {
  const closers: (() => Promise<void>)[] = [];
  let sfmc: SfmcApi;
  let sandboxCpu: (() => Promise<NodeJS.CpuUsage>) | undefined;
  const sandboxOptions = { import: { registerDelayMs: 0, durationMs: 0 } };
  const connection = workerRedis(redisUrl);
  // The account's call budget as in production, raised to 10^9 calls/min so it never holds a call
  // back (its Redis script still runs once per SOAP call).
  const budgetFor = (config: SfmcConfig) =>
    new RedisCallBudget({ redis: connection, prefix, account: budgetAccountOf(config), limit: 1e9 });
  let budget: RedisCallBudget | undefined;
  // The token as production keeps it (src/worker/from-config.ts): shared in Redis, encrypted, with
  // the process's own copy in front of it.
  const clientFor = (config: SfmcConfig) => {
    budget = budgetFor(config);
    const tokenStore = sharedTokenStore(config.auth, connection, prefix);
    return createSfmcClient({ config, budget, ...(tokenStore ? { tokenStore } : {}) });
  };
  if (variant === 'stub') {
    sfmc = stubSfmc();
  } else if (variant === 'remote') {
    const child = await startChild<SandboxChildReady>('./sandbox-child.ts', { sandbox: sandboxOptions } satisfies SandboxChildOptions);
    const client = clientFor(sandboxSfmcConfig(child.ready));
    sfmc = client;
    sandboxCpu = () => child.call<NodeJS.CpuUsage>('cpu');
    closers.push(() => client.close(), () => child.stop());
  } else {
    const sandbox = await createSandbox(sandboxOptions);
    const client = clientFor(sandboxSfmcConfig(sandbox));
    sfmc = client;
    closers.push(() => client.close(), () => sandbox.close());
  }
  // Polls at once: this item measures the engine, not SFMC's pace (POLL_FLOOR_MS lowered).
  const pool = await startWorkers({
    connection,
    prefix,
    sfmc,
    logger: benchLogger(),
    concurrency: CONCURRENCY,
    settings: { checkEmail: PEER_LIKE.checkEmail },
    ...(budget ? { budget } : {}),
  });
  const producer = new ListSendClient({ redisUrl, prefix, steps: STEPS, pollFloorMs: 0 });
  const counter = completionCounter(sandboxCpu);
  pool.workers.send.on('completed', counter.onCompleted);
  for (const w of Object.values(pool.workers)) w.on('failed', counter.onFailed);
  let seq = 0;
  return {
    measure: (n) => counter.measure(n, async () => void (await producer.enqueue(peerLikeRequest(`r${seq++}`)))),
    async close() {
      await producer.close();
      await pool.close();
      connection.disconnect();
      for (const close of closers) await close();
    },
  };
}
