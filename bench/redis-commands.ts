import { createHash } from 'node:crypto';
import { connect } from 'node:net';
import { Redis } from 'ioredis';
import * as bullmqScripts from 'bullmq/dist/esm/scripts/index.js';
import { startPrivateRedis } from '../src/dev/redis-server.js';
import { startRunner, type Variant } from './engine-runners.js';

/**
 * `npx tsx bench/redis-commands.ts [variant] [runs]` (default `remote 50`): where item 1's Redis
 * commands per run go, by source. Runs the variant on a private redis-server under MONITOR and
 * sorts every command (those inside Lua scripts included, as item 1's INFO count does) under the
 * call that made it: a BullMQ script by name, one of the project's own scripts by its first
 * command, or a plain command. Standalone rather than a report item: MONITOR slows Redis down, so
 * only the counts mean anything here, never the timings.
 */

type Source = { calls: number; commands: number };

/** BullMQ's scripts by SHA1, as ioredis sends them with EVALSHA (`defineCommand` hashes the content). */
function bullmqScriptNames(): Map<string, string> {
  const bySha = new Map<string, string>();
  for (const script of Object.values(bullmqScripts) as { name: string; content: string }[]) {
    bySha.set(createHash('sha1').update(script.content).digest('hex'), `bullmq ${script.name}`);
  }
  return bySha;
}

/** The project's own scripts (src/redis.ts runScript) go with EVAL only after a NOSCRIPT: named by their first Redis call (and key suffix). */
function evalName(args: string[]): string {
  const body = args[1] ?? '';
  const first = /redis\.call\('([A-Z]+)'/.exec(body)?.[1] ?? '?';
  const key = args[3] ?? '';
  const kind = key.replace(/^\{[^}]*\}:/, '').split(':')[0];
  return `eval ${first}… on ${kind}`;
}

export async function countCommands(variant: Variant, runs: number): Promise<{ sources: Map<string, Source>; total: number; infoCount: number }> {
  const scripts = bullmqScriptNames();
  const sources = new Map<string, Source>();
  let total = 0;
  let current: Source | undefined;
  const onLine = (line: string) => {
    // +<time> [<db> <client address, or lua>] "command" "arg" ...
    const head = /^\+[\d.]+ \[\d+ ([^\]]+)\] /.exec(line);
    if (!head) return;
    total++;
    if (head[1] === 'lua') {
      if (current) current.commands++;
      return;
    }
    const args = [...line.slice(head[0].length).matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1] as string);
    const name = args[0]?.toLowerCase() ?? '?';
    const label = name === 'evalsha' ? (scripts.get(args[1] ?? '') ?? `own script ${args[1]?.slice(0, 8)} (EVALSHA)`) : name === 'eval' ? evalName(args) : name;
    current = sources.get(label) ?? { calls: 0, commands: 0 };
    sources.set(label, current);
    current.calls++;
    current.commands++;
  };

  const server = await startPrivateRedis();
  const runner = await startRunner(variant, server.url, `{count-${variant}}`);
  // A raw socket: ioredis's own monitor() lost track of its reply queue on this traffic.
  const monitor = connect(Number(new URL(server.url).port), '127.0.0.1');
  const admin = new Redis(server.url);
  try {
    await runner.measure(5);
    let pending = '';
    monitor.on('data', (chunk: Buffer) => {
      const lines = (pending + chunk.toString('latin1')).split('\r\n');
      pending = lines.pop() ?? '';
      for (const line of lines) onLine(line);
    });
    const ready = new Promise<void>((resolve) => monitor.once('data', () => resolve()));
    monitor.write('MONITOR\r\n');
    await ready;
    const before = await processed(admin);
    await runner.measure(runs);
    // The INFO call itself is one command.
    const infoCount = (await processed(admin)) - before - 1;
    return { sources, total, infoCount };
  } finally {
    admin.disconnect();
    monitor.destroy();
    await runner.close();
    await server.stop();
  }
}

/** INFO's count of commands processed: item 1's measure, for comparison. */
async function processed(admin: Redis): Promise<number> {
  return Number(/total_commands_processed:(\d+)/.exec(await admin.info('stats'))?.[1] ?? 0);
}

async function main(): Promise<void> {
  const variant = (process.argv[2] ?? 'remote') as Variant;
  const runs = Number(process.argv[3] ?? 50);
  const { sources, total, infoCount } = await countCommands(variant, runs);
  const rows = [...sources].sort((a, b) => b[1].commands - a[1].commands);
  console.log(`${variant}: ${(total / runs).toFixed(1)} Redis commands per run over ${runs} runs (MONITOR; inside scripts included); INFO total_commands_processed: ${(infoCount / runs).toFixed(1)}`);
  console.log('| source | calls/run | commands/run |\n| --- | --- | --- |');
  for (const [label, s] of rows) console.log(`| ${label} | ${(s.calls / runs).toFixed(2)} | ${(s.commands / runs).toFixed(2)} |`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
