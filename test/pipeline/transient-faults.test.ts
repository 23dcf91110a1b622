import { afterEach, describe, expect, it } from 'vitest';
import type { FaultRule } from '../../src/sandbox/types.js';
import { startPipeline, seedRequest, type Pipeline } from '../helpers/pipeline.js';

const STEPS: [string, Pick<FaultRule, 'operation' | 'objectType'>][] = [
  ['resolve-list', { operation: 'Retrieve', objectType: 'List' }],
  ['create-import', { operation: 'Create', objectType: 'ImportDefinition' }],
  ['start-import', { operation: 'Perform', objectType: 'ImportDefinition' }],
  ['poll-import', { operation: 'Retrieve', objectType: 'ImportResultsSummary' }],
  ['send', { operation: 'Create', objectType: 'Send' }],
];

describe('a transient soap:Server fault at each step', () => {
  let pipeline: Pipeline | undefined;
  afterEach(async () => {
    await pipeline?.close();
    pipeline = undefined;
  });

  it.each(STEPS)('is retried at %s and the run ends with exactly one Send', async (step, where) => {
    pipeline = await startPipeline({ label: `transient-${step}` });
    pipeline.sandbox.faults.inject({ ...where, kind: 'server-fault' });
    const runId = `transient-${step}`;
    await pipeline.producer.enqueue(seedRequest({ runId }));
    const status = await pipeline.producer.waitUntilFinished(runId, { timeoutMs: 20_000 });

    expect(status.state).toBe('completed');
    // poll-import reads a failed check as "no news" and checks again on its schedule, without
    // spending an attempt (test/pipeline/sfmc-behaviours.test.ts); every other step retries.
    expect(status.steps.find((s) => s.step === step)?.attemptsMade).toBe(step === 'poll-import' ? 1 : 2);
    expect(pipeline.sandbox.calls().some((c) => c.injected === 'server-fault')).toBe(true);
    expect(pipeline.sandbox.state.sends).toHaveLength(1);
    expect(Object.keys(pipeline.sandbox.state.imports)).toHaveLength(1);
  });
});
