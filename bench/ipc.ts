import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compiledTree } from './build.js';

/**
 * A small request/reply channel over Node's IPC, so items can put workers (or the sandbox) in a
 * process of their own: their RSS and CPU are then theirs alone. Children are TypeScript files run
 * through tsx, like the bench itself.
 */

interface Request {
  id: number;
  type: string;
  payload?: unknown;
}

type Reply = { id: number; result: unknown } | { id: number; error: string } | { ready: unknown };

export interface ChildHandle<Ready> {
  pid: number;
  ready: Ready;
  call<T>(type: string, payload?: unknown): Promise<T>;
  /** Asks the child to `close`, then waits for it to exit (killing it after `graceMs`). */
  stop(graceMs?: number): Promise<void>;
  process: ChildProcess;
}

const live = new Set<ChildProcess>();

/** True in the tsc output (bench/build.ts), false in the TypeScript run through tsx. */
const RUNNING_COMPILED = import.meta.url.endsWith('.js');
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/**
 * Starts `bench/<file>` (`./x.ts`) with `options` (JSON in argv) and resolves once it says it is
 * ready. `compiled`: run the tsc output (bench/build.ts) instead of the TypeScript through tsx.
 */
export async function startChild<Ready>(file: string, options: unknown, { compiled = false } = {}): Promise<ChildHandle<Ready>> {
  // A child of a compiled child (item 1 runs as tsc output) is compiled too: its .js lies beside this file.
  const path = RUNNING_COMPILED
    ? fileURLToPath(new URL(file.replace(/\.ts$/, '.js'), import.meta.url))
    : compiled
      ? join(await compiledTree(), 'bench', file.replace(/^\.\//, '').replace(/\.ts$/, '.js'))
      : fileURLToPath(new URL(file, import.meta.url));
  const child = fork(path, [JSON.stringify(options)], {
    execArgv: compiled || RUNNING_COMPILED ? [] : ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  live.add(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  void exited.then(() => live.delete(child));
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let nextId = 1;

  const ready = await new Promise<Ready>((resolve, reject) => {
    const onExit = (code: number | null) => reject(new Error(`${file} exited (${code}) before it was ready`));
    child.once('exit', onExit);
    child.on('message', (raw: Reply) => {
      if ('ready' in raw) {
        child.off('exit', onExit);
        resolve(raw.ready as Ready);
        return;
      }
      const waiter = pending.get(raw.id);
      if (!waiter) return;
      pending.delete(raw.id);
      if ('error' in raw) waiter.reject(new Error(`${file}: ${raw.error}`));
      else waiter.resolve(raw.result);
    });
  });
  child.once('exit', (code) => {
    for (const w of pending.values()) w.reject(new Error(`${file} exited (${code})`));
    pending.clear();
  });

  const call = <T>(type: string, payload?: unknown) =>
    new Promise<T>((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      child.send({ id, type, payload } satisfies Request);
    });

  return {
    pid: child.pid ?? -1,
    ready,
    call,
    process: child,
    async stop(graceMs = 15_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await call('close').catch(() => {});
      await exited;
      clearTimeout(timer);
    },
  };
}

/** In a child: answers the parent's requests; `close` is answered, then the process exits. */
export function serveParent(ready: unknown, handlers: Record<string, (payload: unknown) => unknown>): void {
  process.on('message', (req: Request) => {
    void (async () => {
      try {
        const handler = handlers[req.type];
        if (!handler) throw new Error(`no handler for ${req.type}`);
        const result = await handler(req.payload);
        process.send?.({ id: req.id, result: result ?? null });
        if (req.type === 'close') process.disconnect();
      } catch (err) {
        process.send?.({ id: req.id, error: (err as Error).stack ?? String(err) });
      }
    })();
  });
  // The parent went away (crashed or killed): nothing left to serve.
  process.once('disconnect', () => setTimeout(() => process.exit(0), 100).unref());
  process.send?.({ ready });
}

/** The options a child was started with. */
export function childOptions<T>(): T {
  return JSON.parse(process.argv[2] ?? '{}') as T;
}
