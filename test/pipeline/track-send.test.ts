import { afterEach, describe, expect, it } from 'vitest';
import { startPipeline, seedRequest, type Pipeline } from '../helpers/pipeline.js';

/**
 * track-send, the run's last step unless the request says "track": false: SFMC's Send goes
 * Sending -> Complete (or a failure status) and the run reports what SFMC counted.
 */
describe("following a run's Send to its end", () => {
  let pipeline: Pipeline | undefined;
  afterEach(async () => {
    await pipeline?.close();
    pipeline = undefined;
  });

  it('ends a tracked run with the delivery SFMC reports once the Send is Complete', async () => {
    pipeline = await startPipeline({ label: 'track-complete', sandbox: { import: { registerDelayMs: 0, durationMs: 100, rows: 25 }, send: { checksUntilFinal: 2, softBounces: 2 } } });
    const { runId } = await pipeline.producer.enqueue(seedRequest({ runId: 'track-complete', track: { timeoutMs: 60_000 } }));
    const status = await pipeline.producer.waitUntilFinished(runId, { timeoutMs: 30_000 });
    expect(status.state).toBe('completed');
    expect(status.steps.map((s) => s.step).at(-1)).toBe('track-send');
    expect(status.result).toMatchObject({
      sendId: pipeline.sandbox.state.sends[0]?.id,
      recovered: false,
      checks: 3,
      delivery: { status: 'Complete', numberSent: 25, numberDelivered: 23, softBounces: 2 },
    });
    // While it waited, the step showed the Send and the counts of its last check.
    expect(status.steps.find((s) => s.step === 'track-send')?.progress).toMatchObject({
      sendId: pipeline.sandbox.state.sends[0]?.id,
      status: 'Sending',
      checks: 2,
      delivery: { status: 'Sending' },
    });
    // Tracking only reads: still exactly one Send.
    expect(pipeline.sandbox.state.sends).toHaveLength(1);
  });

  it('fails the run with send-failed when the Send ends in a failure status, after sending once', async () => {
    pipeline = await startPipeline({ label: 'track-error', sandbox: { send: { checksUntilFinal: 1, finalStatus: 'Error' } } });
    const { runId } = await pipeline.producer.enqueue(seedRequest({ runId: 'track-error', track: { timeoutMs: 60_000 } }));
    const status = await pipeline.producer.waitUntilFinished(runId, { timeoutMs: 30_000 });
    expect(status.state).toBe('failed');
    expect(status.error).toMatch(/^track-send: send-failed: Send \d+ ended in status Error/);
    expect(pipeline.sandbox.state.sends).toHaveLength(1);
  });

  it('ends the run at the Send, with no status check, when the request says "track": false', async () => {
    pipeline = await startPipeline({ label: 'track-off' });
    const { runId } = await pipeline.producer.enqueue(seedRequest({ runId: 'track-off', track: false }));
    const status = await pipeline.producer.waitUntilFinished(runId, { timeoutMs: 30_000 });
    expect(status.state).toBe('completed');
    expect(status.steps.map((s) => s.step)).not.toContain('track-send');
    expect(status.result).not.toHaveProperty('delivery');
    expect(pipeline.sandbox.state.sends[0]?.statusChecks).toBe(0);
  });
});
