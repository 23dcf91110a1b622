import { mkdir, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { ensureRedis } from '../src/dev/redis-server.js';
import { projectRoot } from '../src/paths.js';
import { apiEconomy } from './api-economy.js';
import { clusterSpread } from './cluster-spread.js';
import { machineInfo, type BenchContext, type ItemResult } from './common.js';
import { criticalPath } from './critical-path.js';
import { engineOverheadItem } from './engine-overhead.js';
import { pollingAtScale } from './polling-scale.js';
import { renderReport } from './report.js';
import { upload } from './upload.js';

/**
 * `npm run bench [-- --quick] [--only 1,3] [--out FILE] [--note TEXT]`: runs the items of issue 7 one
 * after the other in this process (item 3 and 4 start worker child processes) and writes the
 * report, docs/BENCHMARKS.md unless --out says otherwise. --quick runs every item at small sizes
 * (CI: does each item still run?) and by default writes nothing.
 */

const ITEMS: Record<number, (ctx: BenchContext) => Promise<ItemResult>> = {
  1: engineOverheadItem,
  2: criticalPath,
  3: pollingAtScale,
  4: apiEconomy,
  5: upload,
  6: clusterSpread,
};

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      out: { type: 'string' },
      /** A line about the conditions, e.g. "other test suites were running". */
      note: { type: 'string' },
    },
  });
  const quick = values.quick ?? false;
  const only = values.only ? values.only.split(',').map(Number) : Object.keys(ITEMS).map(Number);
  const out = values.out ?? (quick ? undefined : join(projectRoot(), 'docs', 'BENCHMARKS.md'));

  const redis = await ensureRedis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  const say = (line: string) => process.stderr.write(`${line}\n`);
  say(`bench: Redis ${redis.url}${redis.started ? ' (private redis-server)' : ''}${quick ? ', quick sizes' : ''}`);
  const ctx: BenchContext = { redisUrl: redis.url, quick, say };
  const started = Date.now();
  const results: ItemResult[] = [];
  let failed = false;
  try {
    const machine = await machineInfo(redis.url);
    for (const id of only) {
      const item = ITEMS[id];
      if (!item) throw new Error(`no bench item ${id}`);
      say(`bench: item ${id}`);
      const t0 = Date.now();
      try {
        const result = await item(ctx);
        result.seconds = (Date.now() - t0) / 1000;
        results.push(result);
        say(`bench: item ${id} done in ${result.seconds.toFixed(1)} s${result.skipped ? ` (skipped: ${result.skipped})` : ''}`);
      } catch (err) {
        failed = true;
        say(`bench: item ${id} FAILED: ${(err as Error).stack ?? String(err)}`);
        results.push({ id, title: `item ${id}`, setup: [], tables: [], targets: [], notes: [`FAILED: ${(err as Error).message}`] });
      }
    }
    const report = renderReport({
      command: `npm run bench${quick || values.only ? ' --' : ''}${quick ? ' --quick' : ''}${values.only ? ` --only ${values.only}` : ''}`,
      quick,
      machine,
      redisUrl: redis.url,
      startedAt: new Date(started),
      seconds: (Date.now() - started) / 1000,
      results,
      loadAtEnd: loadavg().map((l) => l.toFixed(2)).join(' / '),
      ...(values.note ? { note: values.note } : {}),
    });
    if (out) {
      await mkdir(dirname(out), { recursive: true });
      await writeFile(out, report);
      say(`bench: wrote ${out}`);
    } else {
      process.stdout.write(report);
    }
  } finally {
    await redis.stop();
  }
  say(`bench: ${((Date.now() - started) / 1000).toFixed(1)} s in all`);
  return failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
