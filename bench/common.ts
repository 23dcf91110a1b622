import { randomUUID } from 'node:crypto';
import { cpus, totalmem } from 'node:os';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import type { SfmcConfig } from '../src/config.js';
import { deletePrefixKeys } from '../src/dev/redis-server.js';
import { createLogger, type Logger } from '../src/logger.js';
import type { ListSendRequestInput } from '../src/request.js';
import type { Sandbox } from '../src/sandbox/index.js';

/** What every bench item gets from the runner. */
export interface BenchContext {
  redisUrl: string;
  quick: boolean;
  /** Progress on stderr, so stdout stays the report path. */
  say(line: string): void;
}

/** One row of "target vs result" in the report. */
export interface TargetResult {
  name: string;
  target: string;
  value: string;
  /** `info`: a figure the issue asks to report, without a bound. */
  met: boolean | 'skipped' | 'info';
  /** Why it was missed (or what the figure depends on); required when met is false. */
  why?: string;
}

export interface Table {
  caption?: string;
  head: string[];
  rows: (string | number)[][];
}

export interface ItemResult {
  id: number;
  title: string;
  /** How the item was run: sizes, settings, what is compared with what. */
  setup: string[];
  tables: Table[];
  targets: TargetResult[];
  notes: string[];
  skipped?: string;
  seconds?: number;
}

/** A hash-tagged prefix of the item's own, so its keys sit in one slot and can be deleted after. */
export function benchPrefix(item: string): string {
  return `{bench-${item}-${randomUUID().slice(0, 8)}}`;
}

/** Runs `fn` under a fresh prefix and deletes every key under it afterwards, whatever happens. */
export async function withPrefix<T>(ctx: BenchContext, item: string, fn: (prefix: string) => Promise<T>): Promise<T> {
  const prefix = benchPrefix(item);
  try {
    return await fn(prefix);
  } finally {
    await deletePrefixKeys(ctx.redisUrl, prefix);
  }
}

export function workerRedis(url: string): Redis {
  const redis = new Redis(url, { maxRetriesPerRequest: null });
  redis.on('error', () => {});
  return redis;
}

/** The production log level (info) written to /dev/null: serialization is paid, nothing is printed. */
export function benchLogger(): Logger {
  return createLogger({ level: 'info', stream: pino.destination({ dest: '/dev/null', sync: false }) });
}

/** The SOAP client's configuration for a sandbox (OAuth2, explicit SOAP endpoint, as the tests do). */
export function sandboxSfmcConfig(sandbox: Pick<Sandbox, 'url' | 'soapUrl' | 'credentials'>, timeoutMs = 30_000): SfmcConfig {
  const c = sandbox.credentials;
  return {
    auth: { mode: 'oauth2', authUrl: sandbox.url, clientId: c.clientId, clientSecret: c.clientSecret, accountId: c.accountId },
    soapUrl: sandbox.soapUrl,
    timeoutMs,
  };
}

/** The seed workflow's request (List by name, Email 123, two field maps, an email notification). */
export function benchRequest(runId: string, poll: { initialDelayMs: number; maxDelayMs: number; timeoutMs?: number }): ListSendRequestInput {
  return {
    runId,
    list: { name: 'Sample_List' },
    email: { id: 123 },
    import: {
      fileSpec: 'SAP_List.csv',
      fieldMaps: [
        { sourceOrdinal: 0, destinationName: 'ID' },
        { sourceOrdinal: 4, destinationName: 'Email Address' },
      ],
      notification: { responseType: 'email', responseAddress: 'help@example.com' },
    },
    poll: { timeoutMs: 3_600_000, ...poll },
  };
}

/** Runs `fn` over `items` with at most `limit` in flight. */
export async function inParallel<T>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Resolves once `check` is true, polling every `everyMs`; rejects after `timeoutMs`. */
export async function until(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string, everyMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** `90 s`, `1.5 s`, `10 min`. */
export function seconds(ms: number): string {
  return ms % 60_000 === 0 && ms >= 60_000 ? `${ms / 60_000} min` : `${+(ms / 1000).toFixed(2)} s`;
}

export const mb = (bytes: number) => bytes / 1024 / 1024;
export const fixed = (n: number, digits = 1) => n.toFixed(digits);
export const pct = (n: number) => `${(n * 100).toFixed(1)} %`;

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  memoryGb: number;
  node: string;
  redis: string;
  platform: string;
  loadAverage: string;
}

export async function machineInfo(redisUrl: string): Promise<MachineInfo> {
  const { loadavg, platform, release } = await import('node:os');
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  redis.on('error', () => {});
  try {
    const info = await redis.info('server');
    const version = /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown';
    return {
      cpuModel: cpus()[0]?.model ?? 'unknown',
      cores: cpus().length,
      memoryGb: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
      node: process.version,
      redis: version,
      platform: `${platform()} ${release()}`,
      loadAverage: loadavg().map((l) => l.toFixed(2)).join(' / '),
    };
  } finally {
    redis.disconnect();
  }
}

/** Every SOAP operation and the token endpoint answer `ms` after doing their work (a `delay` fault that never runs out). */
export function addLatency(sandbox: Sandbox, ms: number): void {
  if (ms <= 0) return;
  for (const operation of ['Create', 'Retrieve', 'Perform', 'token'] as const) {
    sandbox.faults.inject({ operation, kind: 'delay', delayMs: ms, times: Number.MAX_SAFE_INTEGER });
  }
}
