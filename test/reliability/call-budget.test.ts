import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { QUEUE_NAMES } from '../../queues/catalog.js';
import type { CallRecord } from '../../src/sandbox/index.js';
import { seedRequest, startPipeline, type Pipeline } from '../helpers/pipeline.js';
import { testRedisUrl } from '../helpers/redis.js';

/**
 * Issue #11, "Stay inside SFMC's budget": one SOAP call budget per account across every queue and
 * worker, checked on the sandbox's own call log.
 */

const WINDOW_MS = 2_000;
const CALLS = 10;
const POLL_SHARE = 0.8;
/**
 * The budget is granted before a call is sent; the sandbox stamps a call when it answers, after its
 * WSDL check, in this same busy process. A call granted just before another's unit frees can be
 * stamped as late as the call's own duration after its grant, so the log's windows are checked
 * that much shorter than the budget's: W minus the longest call the client logged (plus 25 ms for
 * the grant's own reply from Redis). The test refuses to pass if that leaves less than half of W.
 */
function stampSlackMs(p: Pipeline): number {
  const durations = p.logLines().filter((l) => l['msg'] === 'sfmc call').map((l) => Number(l['durationMs']));
  const slack = Math.max(...durations) + 25;
  expect(slack, 'calls too slow on this machine for the window check to mean anything').toBeLessThan(WINDOW_MS / 2);
  return slack;
}

const soapCalls = (p: Pipeline): CallRecord[] => p.sandbox.calls().filter((c) => c.path === '/Service.asmx');
const at = (c: CallRecord) => Date.parse(c.time);

/** The most calls found in any window of `lengthMs` that starts at a call. */
function busiestWindow(calls: CallRecord[], lengthMs: number): number {
  const times = calls.map(at).sort((a, b) => a - b);
  let most = 0;
  for (let i = 0, j = 0; i < times.length; i++) {
    while (j < times.length && (times[j] as number) < (times[i] as number) + lengthMs) j++;
    most = Math.max(most, j - i);
  }
  return most;
}

describe('the account call budget across every queue', () => {
  let p: Pipeline | undefined;
  afterEach(async () => {
    await p?.close();
    p = undefined;
  });

  it(`keeps 15 runs at once within ${CALLS} SOAP calls per ${WINDOW_MS} ms, polls within ${POLL_SHARE * 100}%, and every run sends once`, async () => {
    const pipeline = await startPipeline({ label: 'budget', budget: { calls: CALLS, windowMs: WINDOW_MS, pollShare: POLL_SHARE } });
    p = pipeline;
    const runIds = Array.from({ length: 15 }, (_, i) => `budget-${i}`);
    for (const runId of runIds) {
      await pipeline.producer.enqueue(seedRequest({ runId, poll: { initialDelayMs: 100, maxDelayMs: 300, timeoutMs: 120_000 } }));
    }
    const statuses = await Promise.all(runIds.map((id) => pipeline.producer.waitUntilFinished(id, { timeoutMs: 120_000 })));

    expect(statuses.map((s) => `${s.runId}: ${s.state} ${s.error ?? ''}`.trim())).toEqual(runIds.map((id) => `${id}: completed`));
    expect(pipeline.sandbox.state.sends).toHaveLength(15);
    const sendIds = statuses.map((s) => (s.steps.find((x) => x.step === 'send')?.result as { sendId: string }).sendId);
    expect(new Set(sendIds).size).toBe(15);

    const calls = soapCalls(pipeline);
    const slack = stampSlackMs(pipeline);
    const polls = calls.filter((c) => c.objectType === 'ImportResultsSummary');
    expect(busiestWindow(calls, WINDOW_MS - slack)).toBeLessThanOrEqual(CALLS);
    expect(busiestWindow(polls, WINDOW_MS - slack)).toBeLessThanOrEqual(Math.floor(CALLS * POLL_SHARE));
    // The budget was the bottleneck: steps were refused and waited delayed ...
    const refusals = pipeline.logLines().filter((l) => l['msg'] === 'no SOAP call budget; step delayed');
    expect(refusals.length).toBeGreaterThan(0);
    expect(refusals.some((l) => l['queue'] === 'poll-import')).toBe(true);
    // ... without using an attempt: every step completed on its first (attemptsMade counts the completion).
    expect(statuses.flatMap((s) => s.steps.filter((x) => x.attemptsMade !== 1).map((x) => `${s.runId}/${x.step}`))).toEqual([]);
    // ... and the whole thing took as long as the budget says at least.
    const span = at(calls[calls.length - 1] as CallRecord) - at(calls[0] as CallRecord);
    expect(span).toBeGreaterThanOrEqual((Math.ceil(calls.length / CALLS) - 1) * WINDOW_MS - slack);
    console.info(
      `[call-budget] ${calls.length} SOAP calls (${polls.length} polls) in ${span} ms; busiest ${WINDOW_MS} ms window of the log: ${busiestWindow(calls, WINDOW_MS)}, ` +
        `busiest ${WINDOW_MS - slack} ms window: ${busiestWindow(calls, WINDOW_MS - slack)} (slack ${slack} ms); ${refusals.length} refusals`,
    );
  }, 150_000);

  it('charges every SOAP call poll-import makes (its checks and its clean-up) as a poll and every other step’s as progress', async () => {
    const pipeline = await startPipeline({ label: 'budget-class', budget: { calls: 1_000, windowMs: 60_000 } });
    p = pipeline;
    const budget = pipeline.budget;
    if (!budget) throw new Error('the pipeline has no budget');
    // One run's steps run one after another, so its takes pair with its SOAP calls in order.
    const take = budget.take.bind(budget);
    const classes: string[] = [];
    budget.take = (callClass) => (classes.push(callClass), take(callClass));
    await pipeline.producer.enqueue(seedRequest({ runId: 'budget-class', poll: { initialDelayMs: 1_000, maxDelayMs: 1_000, timeoutMs: 60_000 } }));
    const status = await pipeline.producer.waitUntilFinished('budget-class', { timeoutMs: 60_000 });
    expect(status.state).toBe('completed');
    const charged = soapCalls(pipeline).map((c, i) => `${c.operation} ${c.objectType ?? ''}: ${classes[i] ?? 'none'}`);
    expect(charged).toEqual([
      'Retrieve List: progress',
      'Retrieve Email: progress',
      'Create ImportDefinition: progress',
      'Perform ImportDefinition: progress',
      'Retrieve ImportResultsSummary: poll',
      'Delete ImportDefinition: poll',
      'Create Send: progress',
    ]);
  });

  it('pauses every call of the account, not one queue, when SFMC throttles, and the runs still send once', async () => {
    const pauseMs = 1_500;
    const pipeline = await startPipeline({ label: 'budget-throttle', throttlePauseMs: pauseMs, budget: { calls: 1_000, windowMs: WINDOW_MS } });
    p = pipeline;
    pipeline.sandbox.faults.inject({ kind: 'throttle', operation: 'Perform', objectType: 'ImportDefinition', times: 1 });
    const runIds = Array.from({ length: 4 }, (_, i) => `throttle-${i}`);
    for (const runId of runIds) {
      await pipeline.producer.enqueue(seedRequest({ runId, poll: { initialDelayMs: 50, maxDelayMs: 100, timeoutMs: 60_000 } }));
    }
    const statuses = await Promise.all(runIds.map((id) => pipeline.producer.waitUntilFinished(id, { timeoutMs: 60_000 })));

    expect(statuses.map((s) => s.state)).toEqual(runIds.map(() => 'completed'));
    expect(pipeline.sandbox.state.sends).toHaveLength(4);
    const calls = soapCalls(pipeline);
    const throttled = calls.find((c) => c.injected === 'throttle') as CallRecord;
    expect(throttled).toBeDefined();
    // Calls granted before the pause was set may still land just after the throttle (at most the
    // longest call later); after that, none from any queue until the pause is over. The pause is
    // set after the throttled reply was stamped, so it ends after throttled + pauseMs.
    const slack = stampSlackMs(pipeline);
    const during = calls.filter((c) => at(c) > at(throttled) + slack && at(c) < at(throttled) + pauseMs);
    expect(during.map((c) => `${c.operation} ${c.objectType}`)).toEqual([]);
    // Other runs had calls to make: they were held, not lost.
    expect(calls.filter((c) => at(c) >= at(throttled) + pauseMs).length).toBeGreaterThan(3);
    // The throttled step completed on its first attempt: waiting used none.
    expect(statuses.map((s) => s.steps.find((x) => x.step === 'start-import')?.attemptsMade)).toEqual([1, 1, 1, 1]);

    // The pause is the account's, in Redis; no queue carries a BullMQ rate limit (Bull Board's badge).
    const connection = new Redis(testRedisUrl(), { maxRetriesPerRequest: 1 });
    try {
      for (const name of QUEUE_NAMES) {
        const queue = new Queue(name, { connection, prefix: pipeline.prefix });
        expect(await queue.getRateLimitTtl(), name).toBeLessThanOrEqual(0);
        await queue.close();
      }
    } finally {
      connection.disconnect();
    }
  }, 90_000);
});
