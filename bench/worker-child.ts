import { realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import type { SfmcConfig, SftpConfig } from '../src/config.js';
import type { TokenStore } from '../src/sfmc/auth.js';
import { applyWorkerV8Flags } from '../src/worker/v8-flags.js';

/**
 * A worker process as `list-send worker` builds one (SOAP client, optional SFTP uploader, the
 * pool), so its memory is measured apart from the sandbox and the producer. It samples its own RSS
 * and counts its SOAP calls, token fetches and step durations for the parent.
 */

// As bin/list-send.js does for `list-send worker`: the V8 settings first, then the modules (imported
// below, not statically, so they load after the settings).
applyWorkerV8Flags();
const { MemoryTokenStore } = await import('../src/sfmc/auth.js');
const { budgetAccountOf, RedisCallBudget } = await import('../src/sfmc/budget.js');
const { createSfmcClient } = await import('../src/sfmc/client.js');
const { RedisTokenStore } = await import('../src/sfmc/token-store-redis.js');
const { SftpUploader } = await import('../src/upload/sftp.js');
const { startWorkers } = await import('../src/worker/start.js');
const { benchLogger, workerRedis } = await import('./common.js');
const { childOptions, serveParent } = await import('./ipc.js');

export interface WorkerChildOptions {
  redisUrl: string;
  prefix: string;
  sfmc: SfmcConfig;
  concurrency: number;
  /** The account's SOAP call budget; unset: no budget (the engine alone is measured). */
  callsPerMinute?: number;
  /**
   * Virtual time for the SOAP client and its token store: origin + (Date.now() - origin) × scale.
   * Also settable later with a `setClock` request, so start-up does not use up simulated time.
   */
  clock?: Clock;
  /** `redis`: the shared, encrypted store `list-send worker` uses; `memory`: one token per process. */
  tokenStore?: 'memory' | 'redis';
  sftp?: SftpConfig;
}

export interface WorkerChildStats {
  rss: number;
  /** Highest RSS sampled (every 50 ms) since the last `resetPeak`, and the V8 heap and off-heap (Buffers, typed arrays) then. */
  peakRss: number;
  atPeak: MemoryParts;
  /** The same parts now: what a run left behind (bench item 5 reads them between its uploads). */
  now: MemoryParts;
  /** The OS's high-water mark for the whole process life (getrusage). */
  maxRssOs: number;
  soapCalls: Record<string, number>;
  tokenFetches: number;
  steps: Record<string, { completed: number; totalMs: number; maxMs: number }>;
}

export interface MemoryParts {
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
}

export interface Clock {
  origin: number;
  scale: number;
}

const o = childOptions<WorkerChildOptions>();
let clock = o.clock;
const now = () => (clock ? clock.origin + (Date.now() - clock.origin) * clock.scale : Date.now());

let peakRss = 0;
let atPeak: MemoryParts = { heapUsed: 0, heapTotal: 0, external: 0, arrayBuffers: 0 };
const parts = (m: NodeJS.MemoryUsage): MemoryParts => ({ heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers });
const sample = () => {
  const m = process.memoryUsage();
  if (m.rss < peakRss) return;
  peakRss = m.rss;
  atPeak = parts(m);
};
setInterval(sample, 50).unref();

const connection = workerRedis(o.redisUrl);
const soapCalls: Record<string, number> = {};
let tokenFetches = 0;
const inner: TokenStore =
  o.tokenStore === 'redis' && o.sfmc.auth.mode === 'oauth2'
    ? new RedisTokenStore({ redis: connection, prefix: o.prefix, clientSecret: o.sfmc.auth.clientSecret, now })
    : new MemoryTokenStore();
// The provider stores each token it fetched, once: counting sets counts this process's fetches.
const tokenStore: TokenStore = {
  get: (key) => inner.get(key),
  set: (key, record) => {
    tokenFetches++;
    return inner.set(key, record);
  },
  ...(inner.acquireRefreshLock ? { acquireRefreshLock: inner.acquireRefreshLock.bind(inner) } : {}),
};

const logger = benchLogger();
const budget = o.callsPerMinute
  ? new RedisCallBudget({ redis: connection, prefix: o.prefix, account: budgetAccountOf(o.sfmc), limit: o.callsPerMinute })
  : undefined;
const sfmc = createSfmcClient({
  config: o.sfmc,
  ...(budget ? { budget } : {}),
  now,
  tokenStore,
  onCall: (e) => void (soapCalls[e.objectType ?? e.operation] = (soapCalls[e.objectType ?? e.operation] ?? 0) + 1),
});
const steps: WorkerChildStats['steps'] = {};
const pool = await startWorkers({
  connection,
  prefix: o.prefix,
  sfmc,
  logger,
  concurrency: o.concurrency,
  // The bench writes its files under the temporary folder: that is its UPLOAD_DIR.
  ...(o.sftp ? { uploader: new SftpUploader(o.sftp, logger, { dir: realpathSync(tmpdir()), maxBytes: 64 * 1024 ** 3, timeoutMs: 86_400_000 }) } : {}),
  ...(budget ? { budget } : {}),
  onStepEnd: (e) => {
    if (e.outcome !== 'completed') return;
    const s = (steps[e.queue] ??= { completed: 0, totalMs: 0, maxMs: 0 });
    s.completed++;
    s.totalMs += e.durationMs;
    s.maxMs = Math.max(s.maxMs, e.durationMs);
  },
});
sample();

serveParent(
  { pid: process.pid },
  {
    stats: (): WorkerChildStats => {
      sample();
      const m = process.memoryUsage();
      return {
        rss: m.rss,
        peakRss,
        atPeak,
        now: parts(m),
        maxRssOs: process.resourceUsage().maxRSS * 1024,
        soapCalls,
        tokenFetches,
        steps,
      };
    },
    resetPeak: () => {
      peakRss = 0;
      sample();
    },
    setClock: (c) => void (clock = c as Clock),
    close: async () => {
      await pool.close();
      await sfmc.close();
      connection.disconnect();
    },
  },
);
