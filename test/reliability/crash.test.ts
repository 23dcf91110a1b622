import { afterEach, describe, expect, it } from 'vitest';
import { ListSendClient, type RunStatus } from '../../src/client.js';
import { createSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { seedRequest, TEST_POLL_FLOOR_MS } from '../helpers/pipeline.js';
import { deletePrefix, testRedisUrl, uniquePrefix } from '../helpers/redis.js';
import { FAST_TAKEOVER, killAllWorkers, sandboxEnv, spawnWorker, startRedisServer, type RedisServer } from './processes.js';
import { callsTo, stepOf, until } from './support.js';

/**
 * Issue 6, "Crash": real `list-send worker` processes killed with SIGKILL in the middle of a run,
 * stopped with SIGTERM while they hold active jobs, and Redis itself restarted mid-run.
 */

const STEPS = { attempts: 5, backoffMs: 20 };

/** The status, once poll-import has checked the import at least once and is waiting for the next check. */
function waitingAfterCheck(status: RunStatus | undefined): RunStatus | undefined {
  if (!status) return undefined;
  const poll = stepOf(status, 'poll-import');
  const polls = (poll.progress as { polls?: number } | undefined)?.polls ?? 0;
  return poll.state === 'delayed' && polls >= 1 ? status : undefined;
}

describe('worker processes that die or stop mid-run', () => {
  let sandbox: Sandbox | undefined;
  let producer: ListSendClient | undefined;
  let prefix = '';
  let redis: RedisServer | undefined;

  afterEach(async () => {
    await killAllWorkers();
    await producer?.close();
    await sandbox?.close();
    if (redis) await redis.destroy();
    else if (prefix) await deletePrefix(prefix);
    [sandbox, producer, redis, prefix] = [undefined, undefined, undefined, ''];
  });

  async function setUp(label: string, options: { importMs?: number; redisUrl?: string; fastTakeover?: boolean } = {}) {
    sandbox = await createSandbox({ import: { registerDelayMs: 40, durationMs: options.importMs ?? 250 } });
    prefix = uniquePrefix(label);
    const redisUrl = options.redisUrl ?? testRedisUrl();
    producer = new ListSendClient({ redisUrl, prefix, steps: STEPS, pollFloorMs: TEST_POLL_FLOOR_MS });
    const env = { REDIS_URL: redisUrl, QUEUE_PREFIX: prefix, SFMC_TIMEOUT_MS: '5000', ...(options.fastTakeover === false ? {} : FAST_TAKEOVER), ...sandboxEnv(sandbox) };
    return { sandbox, producer, env };
  }

  it('SIGKILL while poll-import waits: a new worker process finishes the run with one Send and no new token', async () => {
    const { sandbox, producer, env } = await setUp('kill-poll', { importMs: 2_500 });
    const first = await spawnWorker(env);
    await producer.enqueue(seedRequest({ runId: 'kill-poll', poll: { initialDelayMs: 100, maxDelayMs: 200, timeoutMs: 60_000 } }));
    await until('poll-import to be waiting after a check', async () => waitingAfterCheck(await producer.status('kill-poll')));
    first.kill('SIGKILL');
    expect(await first.exited).toEqual({ code: null, signal: 'SIGKILL' });

    await spawnWorker(env);
    const status = await producer.waitUntilFinished('kill-poll', { timeoutMs: 30_000 });

    expect(status.state).toBe('completed');
    expect(sandbox.state.sends).toHaveLength(1);
    expect(Object.keys(sandbox.state.imports)).toHaveLength(1);
    expect(callsTo(sandbox, 'Perform')).toHaveLength(1);
    expect((stepOf(status, 'poll-import').result as { polls: number }).polls).toBeGreaterThan(1);
    // The second process found the first one's token in Redis (encrypted) and asked for none.
    expect(callsTo(sandbox, 'token')).toHaveLength(1);
  });

  it('SIGKILL while the Create Send call is in flight: the next worker finds that Send and does not send again', async () => {
    const { sandbox, producer, env } = await setUp('kill-send');
    // SFMC commits the Send at once but holds the answer far longer than the test lasts.
    sandbox.faults.inject({ operation: 'Create', objectType: 'Send', kind: 'delay', delayMs: 60_000 });
    const first = await spawnWorker(env);
    await producer.enqueue(seedRequest({ runId: 'kill-send' }));
    await until('the Send to be committed while its answer is held back', () => (sandbox.state.sends.length === 1 ? true : undefined));
    first.kill('SIGKILL');
    await first.exited;
    expect(stepOf((await producer.status('kill-send'))!, 'send').state).toBe('active');

    const second = await spawnWorker(env);
    const status = await producer.waitUntilFinished('kill-send', { timeoutMs: 30_000 });

    expect(status.state).toBe('completed');
    expect(sandbox.state.sends).toHaveLength(1);
    expect(callsTo(sandbox, 'Create', 'Send')).toHaveLength(1);
    expect(status.result).toMatchObject({ sendId: sandbox.state.sends[0]?.id, recovered: true });
    // Taken over as a stalled job, not as a failed attempt.
    expect(stepOf(status, 'send').attemptsMade).toBe(1);
    await until('the second worker to log the send step', () => second.lines().some((l) => l.queue === 'send' && l.msg === 'step completed') || undefined);
  });

  it('SIGTERM with active jobs: the worker finishes them and exits 0; nothing is lost or done twice', async () => {
    // BullMQ's default locks: nothing here may be taken over, not even by a slow lock renewal.
    const { sandbox, producer, env } = await setUp('sigterm', { fastTakeover: false });
    sandbox.faults.inject({ operation: 'Create', objectType: 'Send', kind: 'delay', delayMs: 1_500 });
    sandbox.setImportBehaviour({ customerKey: 'ls-term-b', durationMs: 2_500 });
    const first = await spawnWorker(env);
    await producer.enqueue(seedRequest({ runId: 'term-a' }));
    await producer.enqueue(seedRequest({ runId: 'term-b', poll: { initialDelayMs: 100, maxDelayMs: 300, timeoutMs: 60_000 } }));
    await until('term-a to be sending and term-b to be polling', async () => {
      const b = await producer.status('term-b');
      return (sandbox.state.sends.length === 1 && b && stepOf(b, 'poll-import').state === 'delayed') || undefined;
    });
    await producer.enqueue(seedRequest({ runId: 'term-c' }));

    first.kill('SIGTERM');
    expect(await first.exited).toEqual({ code: 0, signal: null });
    const said = first.lines().map((l) => l.msg);
    expect(said).toContain('stopping: no new jobs; waiting for active ones');
    expect(said.at(-1)).toBe('stopped');
    // The Send in flight was finished by the stopping worker, not left to stall.
    expect(stepOf((await producer.status('term-a'))!, 'send').state).toBe('completed');

    await spawnWorker(env);
    const statuses = await Promise.all(['term-a', 'term-b', 'term-c'].map((id) => producer.waitUntilFinished(id, { timeoutMs: 30_000 })));

    expect(statuses.map((s) => s.state)).toEqual(['completed', 'completed', 'completed']);
    expect(sandbox.state.sends).toHaveLength(3);
    expect(Object.keys(sandbox.state.imports)).toHaveLength(3);
    expect(callsTo(sandbox, 'Create', 'Send')).toHaveLength(3);
    for (const s of statuses) {
      expect(s.result?.recovered).toBe(false);
      const ran = s.steps.filter((x) => x.state !== 'missing');
      expect(ran.map((x) => x.attemptsMade)).toEqual(ran.map(() => 1));
    }
  });

  it('Redis restarted mid-run (AOF, appendfsync always), twice: the run finishes with nothing lost and one Send', async () => {
    redis = await startRedisServer(['--appendonly', 'yes', '--appendfsync', 'always'], { label: 'aof' });
    const { sandbox, producer, env } = await setUp('redis-restart', { importMs: 1_500, redisUrl: redis.url });
    sandbox.faults.inject({ operation: 'Create', objectType: 'Send', kind: 'delay', delayMs: 1_000 });
    const worker = await spawnWorker(env);
    await producer.enqueue(seedRequest({ runId: 'restart', poll: { initialDelayMs: 100, maxDelayMs: 200, timeoutMs: 60_000 } }));

    // 1: while poll-import waits between checks.
    const before = await until('poll-import to be waiting after a check', async () => waitingAfterCheck(await producer.status('restart')));
    await redis.shutdown();
    await redis.start();
    const after = await producer.status('restart');
    expect(after?.steps.slice(0, 4).map((s) => [s.step, s.state === 'completed' ? s.result : s.state])).toEqual(
      before.steps.slice(0, 4).map((s) => [s.step, s.state === 'completed' ? s.result : s.state]),
    );

    // 2: while the Create Send call is in flight.
    await until('the Send to be committed while its answer is held back', () => (sandbox.state.sends.length === 1 ? true : undefined));
    await redis.shutdown();
    await redis.start();

    const status = await producer.waitUntilFinished('restart', { timeoutMs: 30_000 });
    expect(status.state).toBe('completed');
    expect(sandbox.state.sends).toHaveLength(1);
    expect(callsTo(sandbox, 'Create', 'Send')).toHaveLength(1);
    expect(Object.keys(sandbox.state.imports)).toHaveLength(1);
    expect(status.result?.sendId).toBe(sandbox.state.sends[0]?.id);
    // One process did it all, through both restarts (its log arrives through a pipe: wait for it).
    const steps = ['resolve-list', 'create-import', 'start-import', 'poll-import', 'send'];
    await until('the worker to log every step', () => {
      const done = new Set(worker.lines().filter((l) => l.msg === 'step completed').map((l) => l.queue));
      return steps.every((s) => done.has(s)) || undefined;
    });
  });
});
