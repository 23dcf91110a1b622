import type { Job } from 'bullmq';
import pino from 'pino';
import { vi } from 'vitest';
import { stepJobId, type JobPayloads, type JobResults, type QueueName } from '../../queues/catalog.js';
import { DEFAULT_STEP_SETTINGS, type StepContext } from '../../processors/step.js';
import { parseListSendRequest, type ListSendRequest } from '../../src/request.js';
import type { RunRegistry } from '../../src/runs.js';
import type { SfmcApi } from '../../src/sfmc/types.js';
import { seedRequest } from './requests.js';

/**
 * A step job without Redis, for unit tests of processors and the wrapper: it records what the
 * processor persisted, logged and asked BullMQ to do, and hands out the children's results given.
 */
export interface FakeJob<N extends QueueName> {
  job: Job<JobPayloads[N], JobResults[N], N>;
  logs: string[];
  progress: unknown[];
  /** Timestamps passed to moveToDelayed. */
  delayedUntil: number[];
}

export function fakeJob<N extends QueueName>(
  queue: N,
  options: { runId?: string; data?: Partial<JobPayloads[N]>; children?: Partial<JobResults>; attemptsMade?: number; attempts?: number } = {},
): FakeJob<N> {
  const runId = options.runId ?? 'unit-run';
  const logs: string[] = [];
  const progress: unknown[] = [];
  const delayedUntil: number[] = [];
  const children = Object.fromEntries(
    Object.entries(options.children ?? {}).map(([child, value]) => [`bull:${child}:${stepJobId(runId, child as QueueName)}`, value]),
  );
  const job = {
    id: stepJobId(runId, queue),
    name: queue,
    queueName: queue,
    data: { runId, ...options.data } as JobPayloads[N],
    opts: { attempts: options.attempts ?? 3 },
    attemptsMade: options.attemptsMade ?? 0,
    attemptsStarted: (options.attemptsMade ?? 0) + 1,
    async updateData(data: JobPayloads[N]) {
      job.data = data;
    },
    progress: 0 as unknown,
    async updateProgress(value: unknown) {
      job.progress = value;
      progress.push(value);
    },
    async log(line: string) {
      logs.push(line);
      return logs.length;
    },
    async moveToDelayed(timestamp: number) {
      delayedUntil.push(timestamp);
    },
    async getChildrenValues() {
      return children;
    },
  };
  return { job: job as unknown as Job<JobPayloads[N], JobResults[N], N>, logs, progress, delayedUntil };
}

/** An SfmcApi whose every operation fails unless the test gives it. */
export function fakeSfmc(ops: Partial<SfmcApi> = {}): SfmcApi {
  return new Proxy(ops as SfmcApi, {
    get(target, name: string) {
      return (target as unknown as Record<string, unknown>)[name] ?? (async () => {
        throw new Error(`unexpected SOAP call ${name} in this test`);
      });
    },
  });
}

export const silentLogger = pino({ level: 'silent' });

/**
 * A run registry holding one request, recording markFinished and the destination set. `stored` is
 * the entry's other fields, which a test may change between steps (a cancel, a destination);
 * `get`, `cancelState` and `stateAndDestination` are spies, so a test can count the registry reads.
 */
export function fakeRuns(request: ListSendRequest, extra: { cancelledAt?: string; finishedAt?: string; destination?: string } = {}) {
  const stored: { cancelledAt?: string; finishedAt?: string; destination?: string; deleted?: boolean } = { ...extra };
  const exists = (runId: string) => runId === request.runId && !stored.deleted;
  const markFinished = vi.fn(async () => ({ first: true, uploading: false }));
  const setDestination = vi.fn(async (runId: string) => exists(runId));
  const get = vi.fn(async (runId: string) => {
    if (!exists(runId)) return undefined;
    const { deleted: _deleted, ...fields } = stored;
    return { fingerprint: 'f', request: JSON.stringify(request), ...fields };
  });
  const state = (runId: string) => (!exists(runId) ? 'missing' : stored.cancelledAt ? 'cancelled' : stored.finishedAt ? 'ended' : 'live');
  const cancelState = vi.fn(async (runId: string) => state(runId));
  const stateAndDestination = vi.fn(async (runId: string) => ({ state: state(runId), destination: exists(runId) ? stored.destination : undefined }));
  const claimSend = vi.fn(async (runId: string) => (!exists(runId) ? 'missing' : stored.cancelledAt ? 'cancelled' : 'claimed'));
  const runs = { get, cancelState, stateAndDestination, markFinished, setDestination, claimSend } as unknown as RunRegistry;
  return { runs, markFinished, setDestination, get, cancelState, stateAndDestination, stored };
}

/** `parse`: e.g. `{ pollFloorMs: 0 }` for a request that polls faster than production allows. */
export function unitRequest(overrides: Parameters<typeof seedRequest>[0] = {}, parse: Parameters<typeof parseListSendRequest>[1] = {}): ListSendRequest {
  return parseListSendRequest(seedRequest({ runId: 'unit-run', ...overrides }), parse);
}

export function stepContext(overrides: Partial<StepContext> & { request: ListSendRequest; now?: () => number }): StepContext {
  return {
    sfmc: fakeSfmc(),
    runs: fakeRuns(overrides.request).runs,
    destination: undefined,
    log: silentLogger,
    token: 'token',
    signal: undefined,
    now: () => Date.parse('2026-01-01T00:00:00Z'),
    settings: DEFAULT_STEP_SETTINGS,
    ...overrides,
  };
}
