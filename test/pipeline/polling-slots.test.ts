import { afterEach, describe, expect, it } from 'vitest';
import { startPipeline, seedRequest, type Pipeline } from '../helpers/pipeline.js';

describe('polling holds no worker slot', () => {
  let pipeline: Pipeline | undefined;
  afterEach(async () => {
    await pipeline?.close();
    pipeline = undefined;
  });

  it('finishes 20 runs with one worker at concurrency 1 while each import takes several polls', async () => {
    pipeline = await startPipeline({ label: 'slots', concurrency: 1, sandbox: { import: { registerDelayMs: 50, durationMs: 3_000 } } });
    const runIds = Array.from({ length: 20 }, (_, i) => `slots-${i}`);
    for (const runId of runIds) {
      await pipeline.producer.enqueue(seedRequest({ runId, poll: { initialDelayMs: 40, maxDelayMs: 100, timeoutMs: 60_000 } }));
    }
    const statuses = await Promise.all(runIds.map((id) => pipeline!.producer.waitUntilFinished(id, { timeoutMs: 60_000 })));

    expect(statuses.map((s) => s.state)).toEqual(runIds.map(() => 'completed'));
    expect(pipeline.sandbox.state.sends).toHaveLength(20);
    const polls = statuses.map((s) => (s.steps.find((x) => x.step === 'poll-import')?.result as { polls: number }).polls);
    expect(Math.min(...polls)).toBeGreaterThan(1);
    // With the one slot held while waiting, imports would run strictly one after another.
    // Instead, at the moment some import finished, others had already been started.
    const imports = Object.values(pipeline.sandbox.state.imports);
    const overlapping = imports.filter((a) => imports.some((b) => b !== a && b.startedAt > a.startedAt && b.startedAt < a.startedAt + a.durationMs));
    expect(overlapping.length).toBeGreaterThan(0);
  });
});
