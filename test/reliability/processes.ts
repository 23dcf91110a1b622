import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freeLoopbackPort, redisAnswers } from '../../src/dev/redis-server.js';
import type { Sandbox } from '../../src/sandbox/index.js';
import { until } from './support.js';

/**
 * Real processes for the crash tests: `list-send worker` exactly as an operator runs it (through
 * tsx, so no build is needed), and private redis-servers the tests may shut down and restart.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Environment variables of the service: none of the test runner's own may leak into a worker. */
const SERVICE_ENV = /^(REDIS_|QUEUE_|SFMC_|STEP_|WORKER_|API_|DASHBOARD_|METRICS_|UPLOAD_|LOG_LEVEL$)/;

export interface WorkerProcess {
  readonly pid: number;
  /** Resolves once the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The pino JSON lines it wrote so far (other lines as { raw }). */
  lines(): Record<string, unknown>[];
  /** Everything it wrote to stdout and stderr. */
  output(): string;
  kill(signal: NodeJS.Signals): void;
}

/** The environment a worker needs to reach a sandbox started in the test process. */
export function sandboxEnv(sandbox: Sandbox): Record<string, string> {
  const c = sandbox.credentials;
  return {
    SFMC_AUTH_URL: sandbox.url,
    SFMC_SOAP_URL: sandbox.soapUrl,
    SFMC_CLIENT_ID: c.clientId,
    SFMC_CLIENT_SECRET: c.clientSecret,
    SFMC_ACCOUNT_ID: c.accountId,
  };
}

/** Short locks, so a killed worker's job is taken over within about a second. */
export const FAST_TAKEOVER = { WORKER_LOCK_DURATION_MS: '1000', WORKER_STALLED_INTERVAL_MS: '500' };

const running = new Set<ChildProcess>();

/** Starts `list-send worker` and resolves once it logged "workers started". */
export async function spawnWorker(env: Record<string, string>, concurrency = 5): Promise<WorkerProcess> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !SERVICE_ENV.test(k)));
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'worker', '--concurrency', String(concurrency)], {
    cwd: ROOT,
    env: { ...base, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString('utf8')));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    // 'close', not 'exit': by then everything it wrote has been read.
    child.once('close', (code, signal) => {
      running.delete(child);
      resolve({ code, signal });
    });
  });
  const lines = () =>
    out
      .split('\n')
      .filter(Boolean)
      .map((l) => {
        try {
          return JSON.parse(l) as Record<string, unknown>;
        } catch {
          return { raw: l };
        }
      });
  const proc: WorkerProcess = {
    pid: child.pid ?? -1,
    exited,
    lines,
    output: () => out,
    kill: (signal) => child.kill(signal),
  };
  let gone = false;
  void exited.then(() => (gone = true));
  await until('a worker process to start', () => {
    if (gone) throw new Error(`the worker process exited before it started:\n${out}`);
    return lines().some((l) => l.msg === 'workers started') || undefined;
  }, 30_000);
  return proc;
}

/** Ends every worker process a test left running (each by its own pid). */
export async function killAllWorkers(): Promise<void> {
  const left = [...running];
  await Promise.all(
    left.map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGKILL');
        }),
    ),
  );
}

export interface RedisServer {
  port: number;
  url: string;
  dir: string;
  /** SHUTDOWN through redis-cli, then wait for the process to exit. */
  shutdown(): Promise<void>;
  /** Starts redis-server again on the same port and directory. */
  start(): Promise<void>;
  /** Stops it (if running) and removes its directory. */
  destroy(): Promise<void>;
}

/** A private redis-server in a temp dir; extra args such as `--appendonly yes --appendfsync always`. */
export async function startRedisServer(args: string[], options: { port?: number; label?: string } = {}): Promise<RedisServer> {
  const port = options.port ?? (await freeLoopbackPort());
  const dir = mkdtempSync(join(tmpdir(), `list-send-${options.label ?? 'redis'}-`));
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;

  const start = async () => {
    const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let log = '';
    proc.stdout?.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-4_000)));
    proc.stderr?.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-4_000)));
    child = proc;
    await until(`redis-server on port ${port}`, async () => {
      if (proc.exitCode !== null) throw new Error(`redis-server on port ${port} exited with ${proc.exitCode}:\n${log}`);
      return (await redisAnswers(url)) || undefined;
    }, 10_000, 50);
  };
  const exited = (proc: ChildProcess) =>
    new Promise<void>((resolve) => {
      if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
      proc.once('exit', () => resolve());
    });
  const server: RedisServer = {
    port,
    url,
    dir,
    start,
    async shutdown() {
      const proc = child;
      if (!proc) return;
      await new Promise<void>((resolve) => spawn('redis-cli', ['-p', String(port), 'shutdown'], { stdio: 'ignore' }).once('exit', () => resolve()));
      await exited(proc);
      child = undefined;
    },
    async destroy() {
      const proc = child;
      if (proc) {
        proc.kill('SIGKILL');
        await exited(proc);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await start();
  return server;
}
