import { afterEach, describe, expect, it } from 'vitest';
import { RunConflictError } from '../../src/client.js';
import { startPipeline, seedRequest, type Pipeline } from '../helpers/pipeline.js';

describe('the runId as idempotency key', () => {
  let pipeline: Pipeline | undefined;
  afterEach(async () => {
    await pipeline?.close();
    pipeline = undefined;
  });

  it('runs one import and one Send for a runId enqueued twice at once and again after it finished', async () => {
    pipeline = await startPipeline({ label: 'same-run' });
    const request = seedRequest({ runId: 'same-run' });
    const [a, b] = await Promise.all([pipeline.producer.enqueue(request), pipeline.producer.enqueue(request)]);
    expect([a.runId, b.runId]).toEqual(['same-run', 'same-run']);
    expect([a.created, b.created].sort()).toEqual([false, true]);

    const first = await pipeline.producer.waitUntilFinished('same-run', { timeoutMs: 20_000 });
    expect(first.state).toBe('completed');

    const again = await pipeline.producer.enqueue(request);
    expect(again).toEqual({ runId: 'same-run', created: false });
    const second = await pipeline.producer.waitUntilFinished('same-run', { timeoutMs: 20_000 });
    expect(second.result).toEqual(first.result);

    const calls = pipeline.sandbox.calls();
    expect(calls.filter((c) => c.operation === 'Create' && c.objectType === 'ImportDefinition')).toHaveLength(1);
    expect(calls.filter((c) => c.operation === 'Perform')).toHaveLength(1);
    expect(pipeline.sandbox.state.sends).toHaveLength(1);
  });

  it('refuses a runId reused with different content, and enqueues nothing', async () => {
    pipeline = await startPipeline({ label: 'conflict' });
    await pipeline.producer.enqueue(seedRequest({ runId: 'conflict' }));
    await expect(pipeline.producer.enqueue(seedRequest({ runId: 'conflict', email: { id: 124 } }))).rejects.toBeInstanceOf(RunConflictError);
    const status = await pipeline.producer.waitUntilFinished('conflict', { timeoutMs: 20_000 });
    expect(status.result?.emailId).toBe('123');
    expect(pipeline.sandbox.state.sends).toHaveLength(1);
  });
});
