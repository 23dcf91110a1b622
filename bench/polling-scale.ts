import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { QUEUE_NAMES } from '../queues/catalog.js';
import { ListSendClient } from '../src/client.js';
import { createSandbox } from '../src/sandbox/index.js';
import {
  benchRequest,
  fixed,
  inParallel,
  mb,
  sandboxSfmcConfig,
  seconds,
  sleep,
  withPrefix,
  workerRedis,
  type BenchContext,
  type ItemResult,
} from './common.js';
import { startChild } from './ipc.js';
import { LARGE_BEFORE_ISSUE_10, LARGE_RUNS, largeRequestBytes, prefixMemory } from './request-bytes.js';
import type { WorkerChildOptions, WorkerChildStats } from './worker-child.js';

/**
 * Item 3: N runs waiting on their imports at the same time, one worker process (concurrency 10)
 * polling them all. The workers run in a child process so their RSS is theirs alone; the sandbox
 * and the producer stay here. The sandbox's clock stands still until every run waits on its
 * import (so all N wait at once however slowly this machine enqueues them); Redis memory is read
 * then, and the clock released: every import ends `importMs` later.
 */

/**
 * Recorded with this item before issue #10, when every step job carried a copy of the request and
 * the registry a third: the same request (benchRequest, two field maps), 1,000 runs, 2026-12-01 on
 * the 2-core machine of docs/BENCHMARKS.md. Kept so the report shows the change beside today's figure.
 */
const BEFORE_ISSUE_10 = { keysPerRun: 14.0, keyBytesPerRun: 15.42 * 1024, usedMemoryPerRun: 16.74 * 1024 };

export async function pollingAtScale(ctx: BenchContext): Promise<ItemResult> {
  const n = ctx.quick ? 50 : 1_000;
  const importMs = ctx.quick ? 2_000 : 30_000;
  // Quick runs poll at the least a request may ask for (POLL_FLOOR_MS).
  const poll = ctx.quick ? { initialDelayMs: 1_000, maxDelayMs: 2_000 } : { initialDelayMs: 2_000, maxDelayMs: 10_000 };
  const concurrency = 10;

  const large = await largeRequestBytes(ctx);
  return withPrefix(ctx, 'poll', async (prefix) => {
    const clock = new HeldClock();
    const sandbox = await createSandbox({ now: clock.now, import: { registerDelayMs: 1_000, durationMs: importMs } });
    const redis = workerRedis(ctx.redisUrl);
    const producer = new ListSendClient({ redisUrl: ctx.redisUrl, prefix, steps: { attempts: 5, backoffMs: 1_000 } });
    const queues = Object.fromEntries(QUEUE_NAMES.map((q) => [q, new Queue(q, { connection: redis, prefix })])) as Record<
      (typeof QUEUE_NAMES)[number],
      Queue
    >;
    const child = await startChild<{ pid: number }>('./worker-child.ts', {
      redisUrl: ctx.redisUrl,
      prefix,
      sfmc: sandboxSfmcConfig(sandbox),
      concurrency,
      // The default budget (1,800 calls/min, polls 80% of it) would pace polls at 24 checks/s: see the note.
      callsPerMinute: 1e9,
    } satisfies WorkerChildOptions,
    { compiled: !ctx.quick });
    try {
      const idle = await child.call<WorkerChildStats>('stats');
      const baseline = await usedMemory(redis);
      await child.call('resetPeak');
      const started = Date.now();
      // Enqueue while sampling: the snapshot is taken when all N wait on their imports at once.
      const enqueued = inParallel(
        Array.from({ length: n }, (_, i) => i),
        16,
        async (i) => void (await producer.enqueue(benchRequest(`scale-${i}`, poll))),
      );
      let peakWaiting = 0;
      let snapshot: { waiting: number; usedMemory: number; keyBytes: number; keys: number; atMs: number } | undefined;
      let sent = 0;
      const deadline = started + importMs * 3 + 600_000;
      for (;;) {
        const waiting = await waitingOnImports(queues['poll-import']);
        sent = (await queues.send.getJobCounts('completed')).completed ?? 0;
        peakWaiting = Math.max(peakWaiting, waiting);
        if (!snapshot && waiting >= n) {
          const keys = await prefixMemory(redis, prefix);
          snapshot = { waiting, usedMemory: await usedMemory(redis), keyBytes: keys.bytes, keys: keys.count, atMs: Date.now() - started };
          ctx.say(`  item 3: ${waiting} runs waiting on imports after ${seconds(snapshot.atMs)}; ${keys.count} keys, ${fixed(mb(keys.bytes))} MB under the prefix`);
          clock.release();
        }
        if (sent >= n) break;
        const failed = await failedSteps(queues);
        if (failed > 0) throw new Error(`${failed} step jobs failed`);
        if (Date.now() > deadline) throw new Error(`only ${sent} of ${n} runs finished in time`);
        await sleep(250);
      }
      await enqueued;
      const wallMs = Date.now() - started;
      const stats = await child.call<WorkerChildStats>('stats');
      const polls = stats.soapCalls['ImportResultsSummary'] ?? 0;
      const snap = snapshot as NonNullable<typeof snapshot>;
      const perRunKeys = snap.keyBytes / snap.waiting;
      const perRunUsed = (snap.usedMemory - baseline) / snap.waiting;

      return {
        id: 3,
        title: 'Polling at scale: 1,000 runs waiting on imports at once',
        setup: [
          `${n} runs enqueued at once (16 enqueues in flight); poll initialDelayMs ${poll.initialDelayMs}, maxDelayMs ${poll.maxDelayMs}; no injected latency. The sandbox's clock stands still until all ${n} runs wait on their imports (after ${seconds(snap.atMs)} here), then runs on; each import ends ${seconds(importMs)} later.`,
          `One worker process (a child: \`startWorkers\` + SOAP client, concurrency ${concurrency} per queue); sandbox and producer in the bench process.`,
          `Worker RSS sampled every 50 ms in the child from the first enqueue to the last Send (and the OS high-water mark, which includes start-up). ${ctx.quick ? 'Quick runs start the child through tsx, whose loader adds about 35 MB.' : 'The child runs the tsc output (bench/build.ts), as `list-send worker` runs dist/: through tsx it would carry about 35 MB more.'}`,
          'Redis memory taken when every run is waiting on its import: the sum of `MEMORY USAGE` over every key under the run\'s prefix (exact for this item, whatever else uses the Redis), and the change in INFO `used_memory` since before the first enqueue (noisy on a shared Redis). Completed steps are kept 30 days by design (their results are what later steps and `status` read), so an in-flight run also holds its finished steps. The request is stored once per run, in the run registry (src/runs.ts); step jobs carry the runId only (issue #10).',
        ],
        tables: [
          {
            head: ['runs', 'all finished', 'most waiting at once', 'wall', 'polls', 'polls/s', 'worker RSS idle → peak', 'OS max RSS', 'keys / run', 'key bytes / run', 'Δ used_memory / run'],
            rows: [
              [
                n,
                `${sent} of ${n}`,
                peakWaiting,
                seconds(wallMs),
                polls,
                fixed(polls / (wallMs / 1000)),
                `${fixed(mb(idle.rss))} → ${fixed(mb(stats.peakRss))} MB (V8 heap ${fixed(mb(stats.atPeak.heapUsed))} used of ${fixed(mb(stats.atPeak.heapTotal))})`,
                `${fixed(mb(stats.maxRssOs))} MB`,
                fixed(snap.keys / snap.waiting),
                `${fixed(perRunKeys / 1024, 2)} KB`,
                `${fixed(perRunUsed / 1024, 2)} KB`,
              ],
            ],
          },
          {
            head: ['Redis per in-flight run', 'keys / run', 'key bytes / run', 'Δ used_memory / run'],
            rows: [
              [
                'before (jobs carry the request; recorded, 1,000 runs)',
                fixed(BEFORE_ISSUE_10.keysPerRun),
                `${fixed(BEFORE_ISSUE_10.keyBytesPerRun / 1024, 2)} KB`,
                `${fixed(BEFORE_ISSUE_10.usedMemoryPerRun / 1024, 2)} KB`,
              ],
              [`now (request once, in the run registry; ${n} runs)`, fixed(snap.keys / snap.waiting), `${fixed(perRunKeys / 1024, 2)} KB`, `${fixed(perRunUsed / 1024, 2)} KB`],
            ],
          },
          {
            head: [`a large request (${fixed(large.requestBytes / 1024, 2)} KB as JSON: 200 field maps), ${LARGE_RUNS} runs enqueued, no worker`, 'key bytes / run'],
            rows: [
              ['before (registry and all five step jobs carry the request; recorded)', `${fixed(LARGE_BEFORE_ISSUE_10.bytesPerRun / 1024, 2)} KB`],
              ['now (request once, in the run registry)', `${fixed(large.bytesPerRun / 1024, 2)} KB`],
            ],
          },
        ],
        targets: [
          { name: `all ${n} runs finish`, target: `${n} Sends`, value: String(sent), met: sent >= n },
          {
            name: 'peak worker RSS',
            target: '< 200 MB',
            value: `${fixed(mb(stats.peakRss))} MB`,
            met: mb(stats.peakRss) < 200,
            why:
              `idle ${fixed(mb(idle.rss))} MB; at the peak the V8 heap held ${fixed(mb(stats.atPeak.heapTotal))} MB with ${fixed(mb(stats.atPeak.heapUsed))} MB in use: ` +
              `most of the growth is garbage between collections (polling at ${fixed(polls / (wallMs / 1000))} checks/s makes a lot of short-lived objects), not retained state; the last measured run (2026-11-26, 165.4 MB) polled at 107.9 checks/s, held back by the per-queue limiter issue #11 removed. With the default call budget polls are paced at 24 checks/s (below)`,
          },
          {
            name: 'Redis memory per in-flight run (keys under the prefix)',
            target: '< 20 KB',
            value: `${fixed(perRunKeys / 1024, 2)} KB (Δ used_memory: ${fixed(perRunUsed / 1024, 2)} KB)`,
            met: perRunKeys < 20 * 1024,
            ...(perRunKeys < 20 * 1024 ? {} : { why: 'each run keeps its finished steps (results, logs) for 30 days' }),
          },
        ],
        notes: [
          `**The account's SOAP call budget decides how fast a large backlog is polled.** Every SOAP call takes a unit of \`SFMC_CALLS_PER_MINUTE\` (1,800 by default, src/sfmc/budget.ts), and polls may use only 80% of it: at most 24 checks/s, so with ${n} imports in flight each one is checked at most every ${seconds(Math.round((n / 1_440) * 60_000))}, whatever maxDelayMs says, and less often while other steps use the budget. This item raises the budget to measure the engine. Here ${n} waiting runs took ${fixed(polls / (wallMs / 1000))} checks/s.`,
        ],
      };
    } finally {
      await child.stop();
      await producer.close();
      await Promise.all(Object.values(queues).map((q) => q.close()));
      redis.disconnect();
      await sandbox.close();
    }
  });
}

/** poll-import jobs not finished: delayed between checks, waiting for a slot, or checking now. */
async function waitingOnImports(queue: Queue): Promise<number> {
  const c = await queue.getJobCounts('delayed', 'waiting', 'active', 'prioritized');
  return (c.delayed ?? 0) + (c.waiting ?? 0) + (c.active ?? 0) + (c.prioritized ?? 0);
}

async function failedSteps(queues: Record<string, Queue>): Promise<number> {
  const counts = await Promise.all(Object.values(queues).map((q) => q.getJobCounts('failed')));
  return counts.reduce((sum, c) => sum + (c.failed ?? 0), 0);
}

async function usedMemory(redis: Redis): Promise<number> {
  return Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1] ?? 0);
}

/** Epoch ms that stand still until `release()`, then run on from where they stood. */
class HeldClock {
  private readonly heldAt = Date.now();
  private offset: number | undefined;
  now = (): number => (this.offset === undefined ? this.heldAt : Date.now() - this.offset);
  release(): void {
    this.offset ??= Date.now() - this.heldAt;
  }
}
