import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { stepJobId, type QueueName } from '../../queues/catalog.js';
import type { RunStatus, StepStatus } from '../../src/client.js';
import type { ListSendRequestInput } from '../../src/request.js';
import type { CallRecord, FaultOperation, Sandbox } from '../../src/sandbox/index.js';
import { seedRequest, type Pipeline } from '../helpers/pipeline.js';
import { testRedisUrl } from '../helpers/redis.js';

/** Shared by the reliability tests: run a request to its end and read what happened. */

export async function runToEnd(p: Pipeline, runId: string, overrides: Partial<ListSendRequestInput> = {}, timeoutMs = 30_000): Promise<RunStatus> {
  await p.producer.enqueue(seedRequest({ runId, ...overrides }));
  return p.producer.waitUntilFinished(runId, { timeoutMs });
}

export function stepOf(status: RunStatus, step: QueueName): StepStatus {
  const found = status.steps.find((s) => s.step === step);
  if (!found) throw new Error(`no step ${step} in the status of ${status.runId}`);
  return found;
}

export function callsTo(sandbox: Sandbox, operation: FaultOperation, objectType?: string): CallRecord[] {
  return sandbox.calls().filter((c) => c.operation === operation && (objectType === undefined || c.objectType === objectType));
}

/** The Bull Board "Logs" lines of one step job of a run. */
export async function stepLogs(prefix: string, runId: string, step: QueueName, redisUrl = testRedisUrl()): Promise<string[]> {
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  const queue = new Queue(step, { connection, prefix });
  try {
    return (await queue.getJobLogs(stepJobId(runId, step), 0, -1)).logs;
  } finally {
    await queue.close();
    connection.disconnect();
  }
}

/** Polls `check` until it returns a value other than undefined; fails after `timeoutMs`. */
export async function until<T>(what: string, check: () => T | undefined | Promise<T | undefined>, timeoutMs = 20_000, everyMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
