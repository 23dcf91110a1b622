import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deriveCustomerKey } from '../../src/request.js';
import { runCli } from '../helpers/cli.js';
import { startPipeline, seedRequest, type Pipeline } from '../helpers/pipeline.js';
import { testRedisUrl } from '../helpers/redis.js';

/** `list-send runs` and `list-send watch` as processes (not a TTY: plain lines) on real Redis and the sandbox. */
describe('list-send runs and watch', () => {
  let pipeline: Pipeline;
  let env: Record<string, string>;
  let sendId: string;
  beforeAll(async () => {
    pipeline = await startPipeline({ label: 'cli-runs' });
    env = { REDIS_URL: testRedisUrl(), QUEUE_PREFIX: pipeline.prefix, LOG_LEVEL: 'silent' };
    await pipeline.producer.enqueue(seedRequest({ runId: 'cli-runs-good' }));
    await pipeline.producer.enqueue(seedRequest({ runId: 'cli-runs-bad', list: { name: 'Nowhere' } }));
    const good = await pipeline.producer.waitUntilFinished('cli-runs-good', { timeoutMs: 20_000 });
    sendId = (good.result as { sendId: string }).sendId;
    expect((await pipeline.producer.waitUntilFinished('cli-runs-bad', { timeoutMs: 20_000 })).state).toBe('failed');
  }, 40_000);
  afterAll(async () => {
    await pipeline.close();
  });

  it('runs prints the recent runs as a table, newest first, with counts, sendId and the reason', async () => {
    const result = await runCli(['runs'], env);
    expect(result.code).toBe(0);
    const [header, ...rows] = result.stdout.trimEnd().split('\n');
    expect(header).toMatch(/^RUN +STATE +STARTED +ENDED +LIST +EMAIL +FILE +IMPORTED +SEND +DELIVERED +REASON$/);
    expect(rows.map((r) => r.split(/ +/)[0])).toEqual(['cli-runs-bad', 'cli-runs-good']);
    // Both runs have ended: a start and an end time each, the end not before the start.
    for (const row of rows) {
      const [started, ended] = [...row.matchAll(/\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ/g)].map((m) => Date.parse(m[0].replace(' ', 'T')));
      expect(ended).toBeGreaterThanOrEqual(started as number);
    }
    expect(rows[1]).toMatch(new RegExp(`completed .*Sample_List +123 +SAP_List.csv +100/100 +${sendId}$`));
    expect(rows[0]).toMatch(/failed .*Nowhere .*resolve-list: list-not-found: list not found: no List named "Nowhere"/);
  });

  it('runs --state failed --limit 5 shows only failed runs; a bad state is refused naming the choices', async () => {
    const result = await runCli(['runs', '--state', 'failed', '--limit', '5'], env);
    expect(result.stdout.trimEnd().split('\n').slice(1).map((r) => r.split(/ +/)[0])).toEqual(['cli-runs-bad']);
    const bad = await runCli(['runs', '--state', 'broken'], env);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('must be one of waiting, running, completed, failed, cancelled');
  });

  it('watch follows a running import with one plain line per new poll count, then exits 0 when the Send is made', async () => {
    pipeline.sandbox.setImportBehaviour({ customerKey: deriveCustomerKey('cli-runs-watch'), durationMs: 9_000 });
    await pipeline.producer.enqueue(seedRequest({ runId: 'cli-runs-watch', poll: { initialDelayMs: 500, maxDelayMs: 500, timeoutMs: 20_000 } }));
    const result = await runCli(['watch', 'cli-runs-watch'], env);
    expect(result.code).toBe(0);
    expect(result.stdout).not.toContain('\x1b[');
    const polls = [...result.stdout.matchAll(/poll-import: polling, polls (\d+)/g)].map((m) => Number(m[1]));
    expect(polls.length).toBeGreaterThanOrEqual(2);
    expect(polls).toEqual([...new Set(polls)].sort((a, b) => a - b));
    expect(result.stdout).toMatch(/poll-import: done: polls \d+, import Completed: 100 of 100 rows imported/);
    expect(result.stdout).toMatch(/send: done: Send \d+ created/);
    expect(result.stdout.trimEnd().split('\n').at(-1)).toBe('run cli-runs-watch completed');
  }, 30_000);

  it('watch of a failed run prints its lines and the reason, and exits 1; of an unknown run, exits 2', async () => {
    const failed = await runCli(['watch', 'cli-runs-bad'], env);
    expect(failed.code).toBe(1);
    expect(failed.stdout).toContain('resolve-list: failed after 1 attempt: list-not-found');
    expect(failed.stderr).toContain('run cli-runs-bad failed: resolve-list: list-not-found');
    expect(await runCli(['watch', 'nobody'], env)).toMatchObject({ code: 2, stderr: 'no run with runId nobody\n' });
  });
});
