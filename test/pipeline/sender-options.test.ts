import { afterEach, describe, expect, it } from 'vitest';
import { startPipeline, seedRequest, type Pipeline } from '../helpers/pipeline.js';

describe("a request's sender options", () => {
  let pipeline: Pipeline | undefined;
  afterEach(async () => {
    await pipeline?.close();
    pipeline = undefined;
  });

  it('reach the Send SFMC stores, as given', async () => {
    pipeline = await startPipeline({ label: 'sender-options' });
    const send = { fromName: 'Spring & "Sales"', fromAddress: 'news@example.com', subject: 'Spring <sale> ends soon' };
    const { runId } = await pipeline.producer.enqueue(seedRequest({ runId: 'sender-options', send }));
    const status = await pipeline.producer.waitUntilFinished(runId, { timeoutMs: 20_000 });
    expect(status.state).toBe('completed');
    expect(pipeline.sandbox.state.sends).toMatchObject([{ id: status.result?.sendId, ...send }]);
  });
});
