import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { startPipeline, seedRequest, type Pipeline } from '../helpers/pipeline.js';
import { testRedisUrl } from '../helpers/redis.js';

describe('the list-send CLI as a producer', () => {
  let pipeline: Pipeline;
  let env: Record<string, string>;
  beforeAll(async () => {
    pipeline = await startPipeline({ label: 'cli' });
    env = { REDIS_URL: testRedisUrl(), QUEUE_PREFIX: pipeline.prefix, LOG_LEVEL: 'silent' };
  });
  afterAll(async () => {
    await pipeline.close();
  });

  it('enqueue - --wait prints the result JSON and exits 0 once the Send is created', async () => {
    const result = await runCli(['enqueue', '-', '--wait'], env, JSON.stringify(seedRequest({ runId: 'cli-ok' })));
    expect(result.code).toBe(0);
    const status = JSON.parse(result.stdout) as { state: string; result: { sendId: string } };
    expect(status.state).toBe('completed');
    expect(status.result.sendId).toBe(pipeline.sandbox.state.sends[0]?.id);
    expect(result.stderr).toContain('run cli-ok enqueued');
    expect(result.stderr).toMatch(/send: done/);
  });

  it('enqueue --wait exits non-zero with the reason when the run fails', async () => {
    const result = await runCli(['enqueue', '-', '--wait'], env, JSON.stringify(seedRequest({ runId: 'cli-fail', list: { name: 'Missing' } })));
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/run cli-fail failed: resolve-list: list-not-found/);
  });

  it('enqueue without --wait prints only the runId', async () => {
    const result = await runCli(['enqueue', '-'], env, JSON.stringify(seedRequest({ runId: 'cli-nowait' })));
    expect(result).toMatchObject({ code: 0, stdout: 'cli-nowait\n' });
    await pipeline.producer.waitUntilFinished('cli-nowait', { timeoutMs: 20_000 });
  });

  it('refuses a bad request naming each field, and enqueues nothing', async () => {
    const result = await runCli(['enqueue', '-'], env, JSON.stringify({ ...seedRequest({ runId: 'cli-bad' }), email: { id: 'x' } }));
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('email.id: must be a numeric id');
    expect(await pipeline.producer.status('cli-bad')).toBeUndefined();
  });

  it("status prints each step's state, attempts and result", async () => {
    const result = await runCli(['status', 'cli-ok'], env);
    expect(result.code).toBe(0);
    const status = JSON.parse(result.stdout) as { steps: { step: string; state: string; attemptsMade: number }[] };
    expect(status.steps.map((s) => [s.step, s.state, s.attemptsMade])).toEqual([
      ['resolve-list', 'completed', 1],
      ['create-import', 'completed', 1],
      ['start-import', 'completed', 1],
      ['poll-import', 'completed', 1],
      ['send', 'completed', 1],
    ]);
  });

  it('status of an unknown run says so and exits 2', async () => {
    expect(await runCli(['status', 'nobody'], env)).toMatchObject({ code: 2, stderr: 'no run with runId nobody\n' });
  });
});
