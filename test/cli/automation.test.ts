import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { seedRequest } from '../helpers/pipeline.js';
import { deletePrefix, testRedisUrl, uniquePrefix } from '../helpers/redis.js';

/** The schedule and trigger subcommands store, show and remove definitions in Redis (no worker needed). */
describe('list-send schedule and trigger', () => {
  const prefix = uniquePrefix('cli-automation');
  const env = { REDIS_URL: testRedisUrl(), QUEUE_PREFIX: prefix, LOG_LEVEL: 'silent' };
  const { runId: _r, ...request } = seedRequest();
  afterAll(() => deletePrefix(prefix));

  it('schedule add, list, status and remove', async () => {
    const add = await runCli(['schedule', 'add', 'weekly', '-', '--cron', '0 9 * * MON', '--tz', 'Europe/Paris'], env, JSON.stringify(request));
    expect(add.stderr).toBe('');
    expect(add.code).toBe(0);
    expect(add.stdout).toContain('schedule weekly saved (cron "0 9 * * MON" Europe/Paris, overlap skip)');

    const status = await runCli(['status'], env);
    expect(status.code).toBe(0);
    const shown = JSON.parse(status.stdout) as { schedules: { name: string; tz: string; next: string; state: { skipped: number } }[]; triggers: unknown[] };
    expect(shown.schedules).toMatchObject([{ name: 'weekly', tz: 'Europe/Paris', state: { skipped: 0 } }]);
    // 9:00 in Paris is 7:00 or 8:00 UTC, on a Monday.
    expect(new Date(shown.schedules[0]!.next).getUTCDay()).toBe(1);
    expect([7, 8]).toContain(new Date(shown.schedules[0]!.next).getUTCHours());
    expect(shown.triggers).toEqual([]);

    expect((await runCli(['schedule', 'remove', 'weekly'], env)).code).toBe(0);
    const again = await runCli(['schedule', 'remove', 'weekly'], env);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('no schedule named weekly');
  }, 30_000);

  it('refuses a bad trigger naming the field, with exit code 2', async () => {
    const result = await runCli(['trigger', 'add', 'drop', '-', '--sftp-dir', '/Import', '--settle', 'later'], env, JSON.stringify(request));
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('settle: must be a duration like 30s, 10m or 1h');
    const noFileSpec = await runCli(['trigger', 'add', 'drop', '-', '--sftp-dir', '/Import'], env, JSON.stringify(request));
    expect(noFileSpec.code).toBe(2);
    expect(noFileSpec.stderr).toContain('request.import.fileSpec: must not be given');
  }, 30_000);
});
