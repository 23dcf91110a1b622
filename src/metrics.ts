import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Queue, Worker } from 'bullmq';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Logger } from 'pino';
import type { QueueName, StepEndEvent } from '../queues/catalog.js';
import { DEFAULT_ACCOUNT } from './config.js';
import { describeFailure, failedWithoutWrapper } from './errors.js';
import type { CallEvent } from './sfmc/client.js';
import type { SendDelivery } from './sfmc/send-status.js';

/**
 * Every Prometheus metric the service exports, defined once. The API process counts the runs it
 * starts and reads queue depths from Redis when scraped, reusing a read for a few seconds; worker
 * processes count finished runs, step durations and SOAP calls, each event in exactly the one
 * process where it happened.
 */

/** The job states BullMQ 6 reports counts for (v6 has no paused state). */
export const QUEUE_STATES = ['waiting', 'waiting-children', 'prioritized', 'active', 'delayed', 'completed', 'failed'] as const;

// Fine near 1: a healthy list delivers 95-99 %, and the interesting runs are the ones below.
const DELIVERY_RATIO_BUCKETS = [0.5, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995, 1];

const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

export interface Metrics {
  registry: Registry;
  runsStarted: Counter<'account'>;
  runsCompleted: Counter<'account'>;
  runsFailed: Counter<'step' | 'reason' | 'account'>;
  stepDuration: Histogram<'account' | 'step' | 'outcome'>;
  soapCallDuration: Histogram<'account' | 'operation' | 'object_type' | 'outcome'>;
  queueJobs: Gauge<'queue' | 'state'>;
  /** Emails of tracked Sends by outcome: delivered, hard_bounce, soft_bounce, other_bounce (recordDelivery). */
  deliveryEmails: Counter<'outcome'>;
  /** Tracked Sends by their final Status. */
  deliverySends: Counter<'status'>;
  /** Per run: NumberDelivered / NumberSent of a Send that sent anything. */
  deliveryRatio: Histogram<never>;
  /** Schedule firings that started nothing: the schedule's previous run was still in flight (overlap skip). */
  scheduleSkips: Counter<'schedule'>;
}

export interface MetricsOptions {
  /** Queues whose job counts are read on each scrape (the API process passes every shard's); queues of one name are summed. */
  queues?: Queue[];
  /**
   * Whether the queues' connection is up. BullMQ waits for a connection before any command, so
   * without this check a scrape during an outage would hang instead of leaving the depths out.
   */
  connected?: () => boolean;
  /**
   * How long queue depths read from Redis are reused (default 5000 ms): scrapes within that
   * window, and scrapes that arrive together, share one read of 5 queues x 7 states. 0 reads on
   * every scrape.
   */
  queueDepthsMaxAgeMs?: number;
  /** The configured SFMC account names (accountNamesOf): each gets zero run counters at start. */
  accounts?: readonly string[];
  /** Node.js process metrics (memory, event loop lag, ...); on by default. */
  processMetrics?: boolean;
  logger?: Logger;
}

type QueueCounts = Record<string, number>[];

/**
 * Reads queue depths at most once per `maxAgeMs`: a scraper (or several Prometheus replicas, or
 * someone calling /metrics in a loop) cannot turn scrapes into Redis load. A failed read is not
 * kept, so the next scrape tries again.
 */
export function cachedReader(read: () => Promise<QueueCounts>, maxAgeMs: number, now: () => number = Date.now): () => Promise<QueueCounts> {
  let last: { at: number; value: Promise<QueueCounts> } | undefined;
  return () => {
    if (last && now() - last.at < maxAgeMs) return last.value;
    const entry = { at: now(), value: read() };
    last = entry;
    entry.value.catch(() => {
      if (last === entry) last = undefined;
    });
    return entry.value;
  };
}

export const DEFAULT_QUEUE_DEPTHS_MAX_AGE_MS = 5_000;

export function createMetrics(registry: Registry = new Registry(), options: MetricsOptions = {}): Metrics {
  const queues = options.queues ?? [];
  const readDepths = cachedReader(
    () => withTimeout(Promise.all(queues.map((q) => q.getJobCounts(...QUEUE_STATES))), 2_000),
    options.queueDepthsMaxAgeMs ?? DEFAULT_QUEUE_DEPTHS_MAX_AGE_MS,
  );
  if (options.processMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'list_send_' });
  const metrics: Metrics = {
    registry,
    runsStarted: new Counter({
      name: 'list_send_runs_started_total',
      help: 'Runs enqueued with a new runId (repeats of an existing run are not counted), by SFMC account.',
      labelNames: ['account'],
      registers: [registry],
    }),
    runsCompleted: new Counter({
      name: 'list_send_runs_completed_total',
      help: 'Runs whose last step completed (the Send created, or followed to its end), by SFMC account.',
      labelNames: ['account'],
      registers: [registry],
    }),
    runsFailed: new Counter({
      name: 'list_send_runs_failed_total',
      help: 'Runs that failed for good, by the failing step and the failure code (cancelled runs have reason "cancelled").',
      labelNames: ['step', 'reason', 'account'],
      registers: [registry],
    }),
    stepDuration: new Histogram({
      name: 'list_send_step_duration_seconds',
      help: 'Time one visit of a step took in a worker, by account, step and outcome (completed, delayed, throttled, retry, failed).',
      labelNames: ['account', 'step', 'outcome'],
      buckets: DURATION_BUCKETS,
      registers: [registry],
    }),
    soapCallDuration: new Histogram({
      name: 'list_send_soap_call_duration_seconds',
      help: 'SFMC SOAP call latency by account (default or a name of SFMC_ACCOUNTS), operation, object type and outcome ("ok" or the error code).',
      labelNames: ['account', 'operation', 'object_type', 'outcome'],
      buckets: DURATION_BUCKETS,
      registers: [registry],
    }),
    deliveryEmails: new Counter({
      name: 'list_send_delivery_emails_total',
      help: 'Emails of tracked Sends by outcome (delivered, hard_bounce, soft_bounce, other_bounce), as SFMC counted them when the Send was final.',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    deliverySends: new Counter({
      name: 'list_send_delivery_sends_total',
      help: 'Tracked Sends by final SFMC Status (Complete, Canceled, Error, ...).',
      labelNames: ['status'],
      registers: [registry],
    }),
    deliveryRatio: new Histogram({
      name: 'list_send_delivery_ratio',
      help: 'Per run, the share of sent emails SFMC counted as delivered (runs that sent nothing are not observed).',
      buckets: DELIVERY_RATIO_BUCKETS,
      registers: [registry],
    }),
    scheduleSkips: new Counter({
      name: 'list_send_schedule_skips_total',
      help: "Schedule firings that started no run because the schedule's previous run was still in flight (overlap skip), by schedule name.",
      labelNames: ['schedule'],
      registers: [registry],
    }),
    queueJobs: new Gauge({
      name: 'list_send_queue_jobs',
      help: 'Jobs in each queue by state, read from Redis when scraped (at most once every few seconds).',
      labelNames: ['queue', 'state'],
      registers: [registry],
      async collect() {
        this.reset();
        if (queues.length === 0 || options.connected?.() === false) return;
        try {
          const counts = await readDepths();
          // Every shard has a queue of each name (QUEUE_SHARDS): a series is the sum over shards.
          const totals = new Map<string, Record<string, number>>();
          queues.forEach((queue, i) => {
            const total = totals.get(queue.name) ?? {};
            for (const state of QUEUE_STATES) total[state] = (total[state] ?? 0) + (counts[i]?.[state] ?? 0);
            totals.set(queue.name, total);
          });
          for (const [queue, total] of totals) for (const state of QUEUE_STATES) this.set({ queue, state }, total[state] ?? 0);
        } catch (err) {
          // Redis is down: the series disappear rather than report stale depths; /readyz says why.
          options.logger?.warn({ err }, 'queue depths unavailable for /metrics');
        }
      },
    }),
  };
  // A zero series per configured account from the start, so a dashboard sees 0 rather than nothing.
  for (const account of options.accounts ?? [DEFAULT_ACCOUNT]) {
    metrics.runsStarted.inc({ account }, 0);
    metrics.runsCompleted.inc({ account }, 0);
  }
  return metrics;
}

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer from Redis within ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Records one tracked run's delivery: once, when its Send reached a final status (track-send). Not
 * yet called by a step: the integrator wires it where the run's result is known.
 */
export function recordDelivery(metrics: Metrics, delivery: SendDelivery): void {
  metrics.deliverySends.inc({ status: delivery.status || 'unknown' });
  const outcomes = {
    delivered: delivery.numberDelivered,
    hard_bounce: delivery.hardBounces,
    soft_bounce: delivery.softBounces,
    other_bounce: delivery.otherBounces,
  };
  for (const [outcome, n] of Object.entries(outcomes)) if (n > 0) metrics.deliveryEmails.inc({ outcome }, n);
  if (delivery.numberSent > 0) metrics.deliveryRatio.observe(Math.min(1, delivery.numberDelivered / delivery.numberSent));
}

/** The SOAP client's `onCall` hook. */
/** One SOAP client's calls; `account` is a configured account name (`default` or one of SFMC_ACCOUNTS), so the label stays bounded. */
export function observeSoapCall(metrics: Metrics, account = 'default'): (e: CallEvent) => void {
  return (e) =>
    metrics.soapCallDuration.observe({ account, operation: e.operation, object_type: e.objectType ?? '', outcome: e.outcome }, e.durationMs / 1000);
}

/** The schedules worker's `onSkip` hook: a firing skipped while the schedule's previous run was in flight. */
export function observeScheduleSkips(metrics: Metrics): (schedule: string) => void {
  return (schedule) => metrics.scheduleSkips.inc({ schedule });
}

/** The worker pool's `onStepEnd` hook: step durations, and runs failed by a fatal error. */
export function observeStepEnd(metrics: Metrics): (e: StepEndEvent) => void {
  return (e) => {
    // A configured account name, or `unknown` when the run's request could not be read: bounded either way.
    metrics.stepDuration.observe({ account: e.account ?? 'unknown', step: e.queue, outcome: e.outcome }, e.durationMs / 1000);
    // The wrapper says when a visit ended the run: its last step completed, or a step failed for
    // good (fatal, or its last attempt); the flow parents of a failed step are failed by BullMQ.
    if (e.runEnded === 'completed') metrics.runsCompleted.inc({ account: e.account ?? 'unknown' });
    if (e.runEnded === 'failed') metrics.runsFailed.inc({ step: e.queue, reason: e.code ?? 'unknown', account: e.account ?? 'unknown' });
  };
}

/**
 * What only BullMQ's worker events can tell: a tracked run's delivery (the root job's result), and
 * a job BullMQ itself failed for good without the wrapper (a stall past the limit: reason
 * `stalled`; src/errors.ts failedWithoutWrapper). Every other end of a run is counted by
 * `observeStepEnd`, which knows the run's account.
 */
export function observeWorkers(metrics: Metrics, pool: { byShard: Record<QueueName, Worker>[] }): void {
  for (const [step, worker] of pool.byShard.flatMap((workers) => Object.entries(workers) as [QueueName, Worker][])) {
    // The run's last step is the root of its flow (queues/steps.ts): the one job with no parent.
    worker.on('completed', (job) => {
      if (job.parentKey) return;
      // A tracked run's result carries what SFMC reported about its Send (track-send).
      const delivery = (job.returnvalue as { delivery?: SendDelivery } | undefined)?.delivery;
      if (delivery) recordDelivery(metrics, delivery);
    });
    worker.on('failed', (job, err) => {
      if (!failedWithoutWrapper(job, err)) return;
      metrics.runsFailed.inc({ step, reason: /stalled/.test(err.message) ? 'stalled' : describeFailure(err).code, account: 'unknown' });
    });
  }
}

export interface MetricsServer {
  port: number;
  close(): Promise<void>;
}

/**
 * True when an `Authorization: Bearer` header carries `token`; both sides are hashed to equal
 * lengths and compared with timingSafeEqual, as src/api/auth.ts does; kept here so a worker's
 * metrics server does not depend on the API's folder.
 */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const presented = /^Bearer +(\S+) *$/i.exec(header ?? '')?.[1] ?? '';
  const digest = (v: string) => createHash('sha256').update(v, 'utf8').digest();
  return timingSafeEqual(digest(presented), digest(token));
}

/** A bare /metrics endpoint for a worker process (`METRICS_PORT`); `token` (METRICS_TOKEN) requires a bearer token. */
export async function serveMetrics(registry: Registry, options: { port: number; host?: string; token?: string }): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    if (req.method !== 'GET' || req.url?.split('?')[0] !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    if (options.token && !bearerMatches(req.headers.authorization, options.token)) {
      res.writeHead(401, { 'www-authenticate': 'Bearer realm="list-send metrics"' }).end();
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      () => res.writeHead(500).end(),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
