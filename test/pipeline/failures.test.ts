import { afterEach, describe, expect, it } from 'vitest';
import { startPipeline, type Pipeline } from '../helpers/pipeline.js';
import { runToEnd } from '../reliability/support.js';

describe('runs that must fail, and fail without sending', () => {
  let pipeline: Pipeline | undefined;
  afterEach(async () => {
    await pipeline?.close();
    pipeline = undefined;
  });


  it('fails with list-not-found when no List has the name', async () => {
    pipeline = await startPipeline({ label: 'no-list' });
    const status = await runToEnd(pipeline, 'no-list', { list: { name: 'Nobody_Has_This' } });
    expect(status.state).toBe('failed');
    expect(status.error).toMatch(/^resolve-list: list-not-found: list not found/);
    expect(status.steps.find((s) => s.step === 'resolve-list')?.attemptsMade).toBe(1);
    expect(pipeline.sandbox.state.sends).toHaveLength(0);
    expect(Object.keys(pipeline.sandbox.state.importDefinitions)).toHaveLength(0);
  });

  it('fails with list-not-found when a List ID does not exist', async () => {
    pipeline = await startPipeline({ label: 'no-list-id' });
    const status = await runToEnd(pipeline, 'no-list-id', { list: { id: 999999 } });
    expect(status.error).toMatch(/list-not-found/);
    expect(pipeline.sandbox.state.sends).toHaveLength(0);
  });

  it('fails with ambiguous-list when several Lists share the name', async () => {
    pipeline = await startPipeline({ label: 'ambiguous' });
    pipeline.sandbox.addList({ id: 456, name: 'Sample_List' });
    const status = await runToEnd(pipeline, 'ambiguous');
    expect(status.state).toBe('failed');
    expect(status.error).toMatch(/ambiguous-list: ambiguous list name: 2 Lists.*123, 456/);
    expect(pipeline.sandbox.state.sends).toHaveLength(0);
  });

  it('fails with import-error when SFMC reports the import in Error', async () => {
    pipeline = await startPipeline({ label: 'import-error' });
    pipeline.sandbox.setImportBehaviour({ outcome: 'Error', numberErrors: 7 });
    const status = await runToEnd(pipeline, 'import-error');
    expect(status.state).toBe('failed');
    expect(status.error).toMatch(/^poll-import: import-error: .*ended in Error/);
    expect(pipeline.sandbox.state.sends).toHaveLength(0);
  });

  it('fails with poll-timeout when the import outlasts poll.timeoutMs', async () => {
    pipeline = await startPipeline({ label: 'poll-timeout', sandbox: { import: { durationMs: 600_000 } } });
    const status = await runToEnd(pipeline, 'poll-timeout', { poll: { initialDelayMs: 20, maxDelayMs: 50, timeoutMs: 300 } });
    expect(status.state).toBe('failed');
    expect(status.error).toMatch(/^poll-import: poll-timeout: .*still Processing/);
    expect(pipeline.sandbox.state.sends).toHaveLength(0);
  });

  it('fails with import-empty when the import completed with no rows, unless allowed', async () => {
    pipeline = await startPipeline({ label: 'import-empty' });
    pipeline.sandbox.setImportBehaviour({ rows: 0 });
    const status = await runToEnd(pipeline, 'import-empty');
    expect(status.error).toMatch(/import-empty/);
    expect(pipeline.sandbox.state.sends).toHaveLength(0);
  });

  it('does not retry a fatal fault: a soap:Client fault fails the run on the first attempt', async () => {
    pipeline = await startPipeline({ label: 'fatal' });
    pipeline.sandbox.faults.inject({ operation: 'Retrieve', objectType: 'List', kind: 'client-fault', times: 10 });
    const status = await runToEnd(pipeline, 'fatal');
    expect(status.state).toBe('failed');
    expect(status.error).toMatch(/^resolve-list: client-fault/);
    const listCalls = pipeline.sandbox.calls().filter((c) => c.objectType === 'List');
    expect(listCalls).toHaveLength(1);
    expect(pipeline.sandbox.state.sends).toHaveLength(0);
  });
});
