import { FlowProducer, Job, Queue } from 'bullmq';
import { QUEUE_NAMES, stepJobId, type QueueName } from '../queues/catalog.js';
import { buildRunFlow } from '../queues/flow.js';
import { isOptionalStep, runEndStep, runSteps, type RunResult } from '../queues/steps.js';
import type { StepOptionSettings } from '../queues/options.js';
import type { RedisNode } from './config.js';
import { checkQueueLayout, layoutRefusal, queueLayoutKey } from './queue-layout.js';
import { createRedisConnection, redisTargetOf, type RedisLike } from './redis.js';
import { accountProblem, parseListSendRequest, requestFingerprint, RequestValidationError, type ListSendRequest } from './request.js';
import { checkUploadPath } from './upload/local-file.js';
import { RunEvents, type StepEvent } from './run-events.js';
import { RunRegistry, type CancelOutcome, type RunRecord } from './runs.js';
import { shardOf, shardPrefixes } from './shards.js';

/**
 * The producer side as a library: enqueue a list send, read its status, wait for it. The HTTP API
 * and the CLI are thin layers over this.
 */

export type StepState = 'waiting' | 'waiting-children' | 'active' | 'delayed' | 'completed' | 'failed' | 'prioritized' | 'unknown' | 'missing';
export type RunState = 'waiting' | 'running' | 'completed' | 'failed' | 'cancelled';

export interface StepStatus {
  step: QueueName;
  state: StepState;
  attemptsMade: number;
  progress?: unknown;
  result?: unknown;
  error?: string;
}

export interface RunStatus {
  runId: string;
  state: RunState;
  createdAt?: string;
  cancelledAt?: string;
  steps: StepStatus[];
  /** The failing step's reason, `code: message`. */
  error?: string;
  /** The result of the run's last step (queues/steps.ts), once it completed. */
  result?: RunResult;
}

export class RunConflictError extends Error {
  override name = 'RunConflictError';
  readonly code = 'run-conflict';
  constructor(readonly runId: string) {
    super(`runId ${runId} is already used by a run with different content; choose another runId`);
  }
}

export class RedisUnavailableError extends Error {
  override name = 'RedisUnavailableError';
  readonly code = 'redis-unavailable';
  constructor() {
    super('Redis is not reachable; nothing was enqueued');
  }
}

export interface ListSendClientOptions {
  redisUrl: string;
  /** Redis Cluster seed nodes (REDIS_CLUSTER_NODES); when given, redisUrl is not used. */
  clusterNodes?: RedisNode[];
  /** QUEUE_PREFIX; with `shards`, the base the shards' prefixes are derived from (src/shards.ts). */
  prefix: string;
  /**
   * QUEUE_SHARDS (default 1): the sets of queues runs are spread over by runId. An enqueue is
   * refused (QueueLayoutError) when the workers recorded another count (src/queue-layout.ts).
   */
  shards?: number;
  steps: StepOptionSettings;
  /** Share a connection; otherwise the client opens (and closes) its own, failing fast when Redis is down. */
  connection?: RedisLike;
  /**
   * Lowers the least poll delay a request may ask for (POLL_FLOOR_MS), for tests and benchmarks
   * against the sandbox only. The API and the CLI never set it.
   */
  pollFloorMs?: number;
  /**
   * When given, a run's `file.path` must lie inside `dir` (UPLOAD_DIR), checked without touching the
   * file; with no `dir` runs with a file are refused. The worker checks again, on disk.
   */
  upload?: { dir?: string | undefined };
  /**
   * The accounts a request may name (`default` and SFMC_ACCOUNTS): another is refused before
   * anything is stored. Unset, any name passes here and the worker refuses an unknown one.
   */
  accounts?: readonly string[];
}

export interface EnqueueResult {
  runId: string;
  /** False when this runId was enqueued before with the same content: the existing run is returned. */
  created: boolean;
}

/** One shard's producer side: its flow producer, step queues and run registry, all under its prefix. */
interface Shard {
  prefix: string;
  flows: FlowProducer;
  queues: Record<QueueName, Queue>;
  runs: RunRegistry;
  /** Step events, opened the first time a run of this shard is waited for. */
  events?: RunEvents;
}

export class ListSendClient {
  private readonly redis: RedisLike;
  private readonly ownsConnection: boolean;
  private readonly shards: Shard[];

  constructor(private readonly options: ListSendClientOptions) {
    this.ownsConnection = !options.connection;
    this.redis = options.connection ?? createRedisConnection(this.target, 'producer');
    // Redis outages reach callers as RedisUnavailableError; without listeners BullMQ would also
    // print every reconnect attempt to the console.
    const ignore = () => {};
    this.shards = shardPrefixes(options.prefix, options.shards ?? 1).map((prefix) => {
      const flows = new FlowProducer({ connection: this.redis, prefix });
      const queues = Object.fromEntries(QUEUE_NAMES.map((name) => [name, new Queue(name, { connection: this.redis, prefix })])) as Record<QueueName, Queue>;
      flows.on('error', ignore);
      for (const queue of Object.values(queues)) queue.on('error', ignore);
      return { prefix, flows, queues, runs: new RunRegistry(this.redis, prefix) };
    });
  }

  /** The shard a run's keys live in (src/shards.ts). */
  private shardOf(runId: string): Shard {
    return this.shards[shardOf(runId, this.shards.length)]!;
  }

  /** The accounts a request may name, when this producer was told (ListSendClientOptions.accounts). */
  get accounts(): readonly string[] | undefined {
    return this.options.accounts;
  }

  private get target() {
    return redisTargetOf({ redisUrl: this.options.redisUrl, ...(this.options.clusterNodes ? { redisClusterNodes: this.options.clusterNodes } : {}) });
  }

  /** Fails fast when Redis does not answer, instead of queueing commands behind an outage. */
  private async ready(timeoutMs = 5_000): Promise<void> {
    if (this.redis.status === 'ready') return;
    if (this.redis.status === 'wait') void this.redis.connect().catch(() => {});
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.redis.off('ready', onReady);
        reject(new RedisUnavailableError());
      }, timeoutMs);
      const onReady = () => {
        clearTimeout(timer);
        resolve();
      };
      this.redis.once('ready', onReady);
    });
  }

  /**
   * Validates and enqueues one run. The runId is the idempotency key: the first enqueue claims it
   * in Redis; a repeat with the same content returns that run, with other content is refused.
   * The flow's job ids derive from the runId, so even racing repeats add each step once.
   */
  async enqueue(input: unknown): Promise<EnqueueResult> {
    const request = parseListSendRequest(input, this.options.pollFloorMs === undefined ? {} : { pollFloorMs: this.options.pollFloorMs });
    if (request.file && this.options.upload) {
      const refused = checkUploadPath(request.file.path, this.options.upload.dir);
      if (refused) throw new RequestValidationError([{ path: 'file.path', message: refused }]);
    }
    const unknownAccount = accountProblem(request.account, this.options.accounts);
    if (unknownAccount) throw new RequestValidationError([unknownAccount]);
    const fingerprint = requestFingerprint(request);
    await this.ready();
    // The layout is checked at every enqueue, not cached: a long-lived producer (the API) must
    // notice the workers switching to another QUEUE_SHARDS (src/queue-layout.ts), and a cache of
    // even a second would let it strand the runs of that second. With one shard the record lies in
    // the run's slot and the claim script checks it (one round trip fewer, and no switch can come
    // between the check and the claim); with shards it is a GET of its own, in the base prefix's slot.
    const shards = this.shards.length;
    const base = this.options.prefix;
    if (shards > 1) await checkQueueLayout(this.redis, base, shards);
    // The claim, the flow and the flow-added mark go to the run's shard: one slot for all of them.
    const shard = this.shardOf(request.runId);
    const layout = shards === 1 ? { key: queueLayoutKey(base), expected: String(shards) } : undefined;
    const claim = await shard.runs.claim(request.runId, fingerprint, JSON.stringify(request), new Date(), layout);
    if ('layoutRecorded' in claim) throw layoutRefusal(claim.layoutRecorded, base, shards) ?? new Error('unreachable: the claim refused a layout its producer accepts');
    if (!claim.created && claim.fingerprint !== fingerprint) throw new RunConflictError(request.runId);
    // Added once: after the retention period the step jobs are gone, and re-adding the flow
    // then would run (and send) a finished run again. A run whose hash has expired (it finished
    // long ago; only its fingerprint is left) is not added again either (claim's flowPending).
    if (claim.flowPending) {
      await shard.flows.add(buildRunFlow(request, this.options.steps));
      await shard.runs.markFlowAdded(request.runId);
    }
    return { runId: request.runId, created: claim.created };
  }

  /** The request a run was enqueued with, as validated. */
  async request(runId: string): Promise<ListSendRequest | undefined> {
    const raw = (await this.record(runId))?.request;
    return raw ? (JSON.parse(raw) as ListSendRequest) : undefined;
  }

  /** The run's registry record (src/runs.ts), from its shard. */
  async record(runId: string): Promise<RunRecord | undefined> {
    await this.ready();
    return this.shardOf(runId).runs.get(runId);
  }

  /** A step's BullMQ job of a run, from the run's shard; undefined when it does not exist (any more). */
  async stepJob(runId: string, step: QueueName): Promise<Job | undefined> {
    await this.ready();
    return Job.fromId(this.shardOf(runId).queues[step], stepJobId(runId, step));
  }

  async status(runId: string): Promise<RunStatus | undefined> {
    await this.ready();
    const record = await this.shardOf(runId).runs.get(runId);
    // Only the steps this run has (the step table's optional steps per its request). With no
    // record to say, an optional step is shown when its job exists.
    const request = record?.request ? (JSON.parse(record.request) as ListSendRequest) : undefined;
    const planned = request ? runSteps(request) : undefined;
    const read = await Promise.all(QUEUE_NAMES.filter((n) => !planned || planned.includes(n)).map((n) => this.stepStatus(runId, n)));
    const steps = planned ? read : read.filter((s) => !(isOptionalStep(s.step) && s.state === 'missing'));
    if (!record && steps.every((s) => s.state === 'missing')) return undefined;
    // The first failed step is the cause; its parents only say "child failed".
    const failed = steps.find((s) => s.state === 'failed');
    // The run's state and result are its last step's, the root of its flow.
    const endName = request ? runEndStep(request) : steps[steps.length - 1]?.step;
    const endStep = steps.find((s) => s.step === endName);
    const state: RunState =
      endStep?.state === 'completed'
        ? 'completed'
        : record?.cancelledAt
          ? 'cancelled'
          : failed
            ? 'failed'
            : steps.some((s) => s.state === 'active' || s.state === 'delayed' || s.state === 'completed')
              ? 'running'
              : 'waiting';
    return {
      runId,
      state,
      ...(record?.createdAt ? { createdAt: record.createdAt } : {}),
      ...(record?.cancelledAt ? { cancelledAt: record.cancelledAt } : {}),
      steps,
      ...(failed?.error ? { error: `${failed.step}: ${failed.error}` } : {}),
      ...(state === 'completed' ? { result: endStep?.result as RunResult } : {}),
    };
  }

  private async stepStatus(runId: string, step: QueueName): Promise<StepStatus> {
    const queue = this.shardOf(runId).queues[step];
    const id = stepJobId(runId, step);
    // State first, then the job: a job read before it failed would lack its failedReason.
    const state = (await queue.getJobState(id)) as StepState;
    const job = await Job.fromId(queue, id);
    if (!job) return { step, state: 'missing', attemptsMade: 0 };
    return {
      step,
      state,
      attemptsMade: job.attemptsMade,
      ...(job.progress !== undefined && job.progress !== 0 ? { progress: job.progress } : {}),
      ...(state === 'completed' ? { result: job.returnvalue } : {}),
      ...(job.failedReason ? { error: job.failedReason } : {}),
    };
  }

  /**
   * Resolves when the run completes or fails. Events are subscribed before the state is read, so
   * a run finishing in between is not missed. `onEvent` sees every step's progress.
   */
  async waitUntilFinished(
    runId: string,
    options: { timeoutMs?: number; onEvent?: (e: StepEvent) => void } = {},
  ): Promise<RunStatus> {
    let wake: () => void = () => {};
    const unsubscribe = await this.eventsOf(this.shardOf(runId)).subscribe(runId, (e) => {
      options.onEvent?.(e);
      if (e.event === 'completed' || e.event === 'failed') wake();
    });
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      if (options.timeoutMs !== undefined) timer = setTimeout(() => resolve('timeout'), options.timeoutMs);
    });
    try {
      for (;;) {
        const changed = new Promise<void>((resolve) => (wake = resolve));
        const status = await this.status(runId);
        if (!status) throw new Error(`no run with runId ${runId}`);
        if (status.state === 'completed' || status.state === 'failed') return status;
        // A cancelled run is finished once no step is still working on it.
        if (status.state === 'cancelled' && !status.steps.some((s) => s.state === 'active')) return status;
        // A failure deep in the flow reaches the run's last job only when a worker fails it, so every
        // step's completion or failure triggers a fresh read of the whole run.
        if ((await Promise.race([changed, timedOut])) === 'timeout') {
          throw new Error(`run ${runId} did not finish within ${options.timeoutMs} ms`);
        }
      }
    } finally {
      clearTimeout(timer);
      unsubscribe();
    }
  }

  /** Event streams are read with blocking XREADs, which need a worker-style connection: one for every shard's events. */
  private eventsConnection?: RedisLike;

  /** A shard's events, opened on first use: a producer that waits for one run reads one shard's streams. */
  private eventsOf(shard: Shard): RunEvents {
    this.eventsConnection ??= createRedisConnection(this.target, 'worker');
    shard.events ??= new RunEvents(this.eventsConnection, shard.prefix);
    return shard.events;
  }

  /** Most recent runs first, across every shard. */
  async recentRunIds(limit = 50): Promise<string[]> {
    await this.ready();
    // Each shard's newest `limit`, merged by creation time: the newest `limit` overall are among them.
    const lists = await Promise.all(this.shards.map((s) => s.runs.recent(limit)));
    return lists
      .flat()
      .sort((a, b) => b.createdAt - a.createdAt)
      .slice(0, limit)
      .map((r) => r.runId);
  }

  /**
   * Stops a run that has not reached its Send. Atomic with the send step's claim: either the
   * cancel wins and the run never sends, or the Send was already under way and this says too-late.
   */
  async cancel(runId: string): Promise<CancelOutcome> {
    await this.ready();
    return this.shardOf(runId).runs.cancel(runId);
  }

  async close(): Promise<void> {
    await Promise.all(this.shards.map((s) => s.events?.close()));
    this.eventsConnection?.disconnect();
    await Promise.all(this.shards.map((s) => s.flows.close()));
    await Promise.all(this.shards.flatMap((s) => Object.values(s.queues)).map((q) => q.close()));
    if (this.ownsConnection) this.redis.disconnect();
  }
}
