import type { Command } from 'commander';
import { AutomationClient } from '../automation/client.js';
import { accountNamesOf, loadConfig, type Config } from '../config.js';
import { createRedisConnection, redisTargetOf } from '../redis.js';
import { producerFor, reportProducerError } from './commands.js';
import { EXIT, readJsonInput } from './io.js';

/**
 * `list-send schedule add|list|remove` and `list-send trigger add|list|remove`: thin layers over
 * AutomationClient (src/automation/client.ts). The worker processes fire and watch; these only
 * store, show and remove the definitions.
 */

async function withAdmin(config: Config, use: (admin: AutomationClient) => Promise<number>): Promise<number> {
  const connection = createRedisConnection(redisTargetOf(config), 'producer');
  const admin = new AutomationClient(connection, config.queuePrefix, accountNamesOf(config));
  try {
    if (connection.status === 'wait') await connection.connect();
    return await use(admin);
  } catch (err) {
    return reportProducerError(err);
  } finally {
    await admin.close().catch(() => undefined);
    connection.disconnect();
  }
}

const print = (value: unknown) => console.log(JSON.stringify(value, null, 2));

export async function scheduleAdd(config: Config, name: string, file: string, opts: { cron?: string; tz?: string; every?: string; overlap?: string }): Promise<number> {
  return withAdmin(config, async (admin) => {
    const s = await admin.addSchedule({ name, ...opts, request: await readJsonInput(file) });
    console.log(`schedule ${s.name} saved (${s.cron !== undefined ? `cron "${s.cron}"${s.tz ? ` ${s.tz}` : ''}` : `every ${s.every} ms`}, overlap ${s.overlap})`);
    return EXIT.ok;
  });
}

export async function triggerAdd(config: Config, name: string, file: string, opts: { sftpDir?: string; localDir?: string; pattern?: string; settle?: string; interval?: string }): Promise<number> {
  return withAdmin(config, async (admin) => {
    const t = await admin.addTrigger({ name, ...opts, request: await readJsonInput(file) });
    console.log(`trigger ${t.name} saved (${t.sftpDir ?? t.localDir} ${t.pattern}, settle ${t.settle} ms, every ${t.interval} ms)`);
    return EXIT.ok;
  });
}

async function remove(config: Config, kind: 'schedule' | 'trigger', name: string): Promise<number> {
  return withAdmin(config, async (admin) => {
    const removed = kind === 'schedule' ? await admin.removeSchedule(name) : await admin.removeTrigger(name);
    if (!removed) {
      console.error(`no ${kind} named ${name}`);
      return EXIT.badInput;
    }
    console.log(`${kind} ${name} removed`);
    return EXIT.ok;
  });
}

/** `list-send status` with no runId: every schedule and trigger, and the state of each schedule's last run. */
export async function automationStatus(config: Config): Promise<number> {
  const producer = producerFor(config);
  try {
    return await withAdmin(config, async (admin) => {
      const schedules = await Promise.all(
        (await admin.listSchedules()).map(async ({ request: _request, ...s }) => {
          const last = s.state.lastRunId ? await producer.status(s.state.lastRunId) : undefined;
          return { ...s, ...(last ? { lastRunState: last.state } : {}) };
        }),
      );
      const triggers = (await admin.listTriggers()).map(({ request: _request, ...t }) => t);
      print({ schedules, triggers });
      return EXIT.ok;
    });
  } finally {
    await producer.close();
  }
}

export function registerAutomationCommands(program: Command): void {
  const schedule = program.command('schedule').description('runs on a timetable (BullMQ Job Schedulers in the schedules queue)');
  schedule
    .command('add')
    .description('create or replace a schedule; REQUEST.json is a list-send request without runId')
    .argument('<name>', 'letters, digits, - and _; each run is NAME-<firing time>')
    .argument('<file>', 'request JSON, or - for standard input')
    .option('--cron <pattern>', 'cron, 5 fields or 6 with seconds first, e.g. "0 9 * * MON"')
    .option('--tz <zone>', 'IANA time zone of the cron, e.g. Europe/Paris (default UTC)')
    .option('--every <duration>', 'a fixed interval instead of cron, e.g. 10m')
    .option('--overlap <mode>', 'skip (default): no run while the previous one is in flight; allow: start anyway')
    .action(async (name: string, file: string, opts: { cron?: string; tz?: string; every?: string; overlap?: string }) => {
      process.exitCode = await scheduleAdd(loadConfig(), name, file, opts);
    });
  schedule.command('list').description('every schedule, its next firing and last run').action(async () => {
    process.exitCode = await withAdmin(loadConfig(), async (admin) => (print(await admin.listSchedules()), EXIT.ok));
  });
  schedule.command('remove').argument('<name>').description('stop a schedule; runs it started go on').action(async (name: string) => {
    process.exitCode = await remove(loadConfig(), 'schedule', name);
  });

  const trigger = program.command('trigger').description('runs started by files arriving in a folder (file drop)');
  trigger
    .command('add')
    .description('create or replace a file-drop trigger; REQUEST.json is a request without runId, file or import.fileSpec')
    .argument('<name>', 'letters, digits, - and _; each run is NAME-<hash of file name, size, mtime>')
    .argument('<file>', 'request JSON, or - for standard input')
    .option('--sftp-dir <dir>', 'watch this Enhanced FTP folder (the Import folder, SFMC_SFTP_DIR): no upload step')
    .option('--local-dir <dir>', 'watch this folder inside UPLOAD_DIR on the workers: the run uploads the file')
    .option('--pattern <glob>', 'file names to take, * and ? wildcards (default *)')
    .option('--settle <duration>', 'size and mtime unchanged this long before a file counts as arrived (default 30s)')
    .option('--interval <duration>', 'how often the folder is listed (default 60s)')
    .action(async (name: string, file: string, opts: { sftpDir?: string; localDir?: string; pattern?: string; settle?: string; interval?: string }) => {
      process.exitCode = await triggerAdd(loadConfig(), name, file, opts);
    });
  trigger.command('list').description('every trigger and the files it last saw').action(async () => {
    process.exitCode = await withAdmin(loadConfig(), async (admin) => (print(await admin.listTriggers()), EXIT.ok));
  });
  trigger.command('remove').argument('<name>').description('stop watching; runs it started go on').action(async (name: string) => {
    process.exitCode = await remove(loadConfig(), 'trigger', name);
  });
}
