import { afterEach, describe, expect, it } from 'vitest';
import { startPipeline, seedRequest, type AuthMode, type Pipeline } from '../helpers/pipeline.js';

describe('a list send from request to Send', () => {
  let pipeline: Pipeline | undefined;
  afterEach(async () => {
    await pipeline?.close();
    pipeline = undefined;
  });

  const modes: [AuthMode, string][] = [
    ['oauth2', 'OAuth2 with an explicit SOAP URL'],
    ['oauth2-soap-from-token', 'OAuth2 with the SOAP URL taken from the token response'],
    ['wsse', 'WS-Security UsernameToken'],
  ];

  it.each(modes)('runs every step and creates exactly one Send (%s)', async (auth) => {
    pipeline = await startPipeline({ label: `happy-${auth}`, auth });
    const { runId, created } = await pipeline.producer.enqueue(seedRequest({ runId: `happy-${auth}` }));
    expect(created).toBe(true);

    const status = await pipeline.producer.waitUntilFinished(runId, { timeoutMs: 20_000 });

    expect(status.state).toBe('completed');
    expect(status.steps.map((s) => [s.step, s.state])).toEqual([
      ['resolve-list', 'completed'],
      ['create-import', 'completed'],
      ['start-import', 'completed'],
      ['poll-import', 'completed'],
      ['send', 'completed'],
    ]);
    const { sends, importDefinitions, imports } = pipeline.sandbox.state;
    expect(sends).toHaveLength(1);
    expect(sends[0]).toMatchObject({ emailId: '123', listId: '123' });
    expect(status.result).toMatchObject({ sendId: sends[0]?.id, emailId: '123', listId: '123', recovered: false });
    expect(status.result?.import.numberSuccessful).toBeGreaterThan(0);
    // The run's ImportDefinition served its import and was deleted afterwards (clean-up).
    expect(Object.keys(importDefinitions)).toEqual([]);
    expect(Object.values(imports).map((i) => i.customerKey)).toEqual([`ls-${runId}`]);
    const auths = new Set(pipeline.sandbox.calls().filter((c) => c.path.endsWith('Service.asmx')).map((c) => c.auth));
    expect([...auths]).toEqual([auth === 'wsse' ? 'wsse' : 'oauth']);
  });

  it('writes job log lines and progress a person can follow', async () => {
    pipeline = await startPipeline({ label: 'happy-logs' });
    const { runId } = await pipeline.producer.enqueue(seedRequest({ runId: 'happy-logs' }));
    const status = await pipeline.producer.waitUntilFinished(runId, { timeoutMs: 20_000 });
    expect(status.state).toBe('completed');
    const pollLog = pipeline.logLines().filter((l) => l.runId === runId && l.msg === 'step completed');
    expect(pollLog.map((l) => l.queue).sort()).toEqual(['create-import', 'poll-import', 'resolve-list', 'send', 'start-import']);
  });
});
