import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { FaultRule } from '../../src/sandbox/index.js';
import { seedRequest, startPipeline, type Pipeline } from '../helpers/pipeline.js';
import { callsTo, runToEnd, stepLogs, stepOf } from './support.js';

/**
 * Issue 6, "At most one Send": every way the answer to a Create Send (or Create ImportDefinition,
 * or Perform start) can be lost after SFMC acted on it, and what the run does next.
 */

const TIMEOUT_MS = 1_000;

describe('at most one Send when the answer to Create Send is lost', () => {
  let p: Pipeline;
  beforeAll(async () => {
    p = await startPipeline({ label: 'at-most-once', attempts: 3, env: { SFMC_TIMEOUT_MS: String(TIMEOUT_MS) } });
  });
  afterAll(async () => {
    await p?.close();
  });
  beforeEach(() => p.sandbox.reset());

  const committed: [string, Omit<FaultRule, 'operation' | 'objectType'>][] = [
    [`a reply slower than SFMC_TIMEOUT_MS (${TIMEOUT_MS} ms)`, { kind: 'delay', delayMs: TIMEOUT_MS * 2 }],
    ['the connection dropped after SFMC committed the Send', { kind: 'drop-after-commit' }],
    ['an HTML 502 from a gateway after SFMC committed the Send', { kind: 'html-502', afterCommit: true }],
  ];

  it.each(committed)('finds the Send made before %s instead of sending again', async (label, fault) => {
    const runId = `amo-${fault.kind}`;
    p.sandbox.faults.inject({ operation: 'Create', objectType: 'Send', ...fault });
    const status = await runToEnd(p, runId);

    expect(status.state, label).toBe('completed');
    expect(p.sandbox.state.sends).toHaveLength(1);
    expect(callsTo(p.sandbox, 'Create', 'Send')).toHaveLength(1);
    expect(status.result).toMatchObject({ sendId: p.sandbox.state.sends[0]?.id, recovered: true });
    expect(stepOf(status, 'send').attemptsMade).toBe(2);
    const logs = await stepLogs(p.prefix, runId, 'send');
    expect(logs.some((l) => /created by an earlier attempt whose reply was lost; not sending again/.test(l))).toBe(true);
  });

  it('sends once after a connection reset that SFMC never acted on: the lookup finds nothing, so it creates the Send', async () => {
    p.sandbox.faults.inject({ operation: 'Create', objectType: 'Send', kind: 'reset' });
    const status = await runToEnd(p, 'amo-reset');

    expect(status.state).toBe('completed');
    expect(p.sandbox.state.sends).toHaveLength(1);
    expect(callsTo(p.sandbox, 'Create', 'Send')).toHaveLength(2);
    expect(callsTo(p.sandbox, 'Retrieve', 'Send')).toHaveLength(1);
    expect(status.result).toMatchObject({ recovered: false });
    const logs = await stepLogs(p.prefix, 'amo-reset', 'send');
    expect(logs.some((l) => l.includes('SFMC shows no Send from the earlier attempt; creating it'))).toBe(true);
  });

  it('stops in send-unknown, without a second Send, when the lookup keeps failing after a committed Send', async () => {
    p.sandbox.faults.inject({ operation: 'Create', objectType: 'Send', kind: 'drop-after-commit' });
    p.sandbox.faults.inject({ operation: 'Retrieve', objectType: 'Send', kind: 'server-fault', times: 100 });
    const request = seedRequest({ runId: 'amo-lookup-fails' });
    await p.producer.enqueue(request);
    const status = await p.producer.waitUntilFinished('amo-lookup-fails', { timeoutMs: 30_000 });

    expect(status.state).toBe('failed');
    expect(status.error).toMatch(/^send: send-unknown: a Create Send for Email 123 to List 123 was made at \S+ and its outcome is unknown/);
    expect(status.error).toMatch(/Check the Sends of Email 123 in SFMC \(Email Studio > Tracking\) since then\. This run will not send again by itself\./);
    expect(status.error).toMatch(/looking it up failed: SFMC failed the Retrieve call with server fault 2/);
    // Attempt 1 sent and lost the answer; attempts 2 and 3 only looked, the last gave up.
    expect(stepOf(status, 'send').attemptsMade).toBe(3);
    expect(callsTo(p.sandbox, 'Retrieve', 'Send')).toHaveLength(2);
    expect(callsTo(p.sandbox, 'Create', 'Send')).toHaveLength(1);
    expect(p.sandbox.state.sends).toHaveLength(1);

    // Enqueueing the same run again changes nothing: the failed run is kept, nothing is re-added.
    p.sandbox.faults.clear();
    expect(await p.producer.enqueue(request)).toEqual({ runId: 'amo-lookup-fails', created: false });
    const again = await p.producer.waitUntilFinished('amo-lookup-fails', { timeoutMs: 5_000 });
    expect(again.state).toBe('failed');
    expect(p.sandbox.state.sends).toHaveLength(1);
  });

  it('stops in send-unknown with zero Sends when the lookup fails after a reset that SFMC never acted on', async () => {
    p.sandbox.faults.inject({ operation: 'Create', objectType: 'Send', kind: 'reset' });
    p.sandbox.faults.inject({ operation: 'Retrieve', objectType: 'Send', kind: 'reset', times: 100 });
    const status = await runToEnd(p, 'amo-reset-lookup-fails');

    expect(status.state).toBe('failed');
    expect(status.error).toMatch(/^send: send-unknown: .*Check the Sends of Email 123/);
    expect(callsTo(p.sandbox, 'Create', 'Send')).toHaveLength(1);
    expect(p.sandbox.state.sends).toHaveLength(0);
  });

  it('stops in send-unknown at once when SFMC refuses the lookup itself (a fatal fault)', async () => {
    p.sandbox.faults.inject({ operation: 'Create', objectType: 'Send', kind: 'drop-after-commit' });
    p.sandbox.faults.inject({ operation: 'Retrieve', objectType: 'Send', kind: 'client-fault', times: 100 });
    const status = await runToEnd(p, 'amo-lookup-refused');

    expect(status.error).toMatch(/^send: send-unknown: .*looking it up failed: SFMC refused the Retrieve call as malformed/);
    expect(stepOf(status, 'send').attemptsMade).toBe(2);
    expect(callsTo(p.sandbox, 'Retrieve', 'Send')).toHaveLength(1);
    expect(p.sandbox.state.sends).toHaveLength(1);
  });

  it('stops in send-unknown rather than guess when two Sends of the Email to the List match', async () => {
    // Someone else sent the same Email to the same List moments ago.
    p.sandbox.faults.inject({ operation: 'Create', objectType: 'Send', kind: 'drop-after-commit' });
    const other = await runToEnd(p, 'amo-other-sender');
    expect(other.state).toBe('completed');
    p.sandbox.faults.inject({ operation: 'Create', objectType: 'Send', kind: 'drop-after-commit' });
    const status = await runToEnd(p, 'amo-two-match');

    expect(status.error).toMatch(/^send: send-unknown: .*\(2 Sends match: \d+, \d+\)/);
    expect(p.sandbox.state.sends).toHaveLength(2);
  });
});

describe('one ImportDefinition and one import per run when an answer is lost', () => {
  let p: Pipeline;
  beforeAll(async () => {
    p = await startPipeline({ label: 'at-most-once-import', attempts: 3 });
  });
  afterAll(async () => {
    await p?.close();
  });
  beforeEach(() => p.sandbox.reset());

  it('reuses the ImportDefinition whose Create reply was dropped after SFMC committed it', async () => {
    p.sandbox.faults.inject({ operation: 'Create', objectType: 'ImportDefinition', kind: 'drop-after-commit' });
    const status = await runToEnd(p, 'amo-def');

    expect(status.state).toBe('completed');
    // The re-entered step looked the definition up by CustomerKey before creating, found it, and
    // did not Create again; it was deleted once its one import completed.
    expect(callsTo(p.sandbox, 'Create', 'ImportDefinition').map((c) => c.result)).toEqual(['dropped']);
    expect(callsTo(p.sandbox, 'Retrieve', 'ImportDefinition')).toHaveLength(1);
    expect(stepOf(status, 'create-import').result).toMatchObject({ customerKey: 'ls-amo-def', reused: true });
    expect(Object.values(p.sandbox.state.imports).map((i) => i.customerKey)).toEqual(['ls-amo-def']);
    expect(p.sandbox.state.importDefinitions).toEqual({});
    expect(p.sandbox.state.sends).toHaveLength(1);
  });

  it('starts the import once when the reply to Perform start was dropped after SFMC started it', async () => {
    p.sandbox.faults.inject({ operation: 'Perform', kind: 'drop-after-commit' });
    const status = await runToEnd(p, 'amo-start');

    expect(status.state).toBe('completed');
    const imports = Object.values(p.sandbox.state.imports);
    expect(imports).toHaveLength(1);
    expect(callsTo(p.sandbox, 'Perform')).toHaveLength(1);
    expect(stepOf(status, 'start-import').result).toMatchObject({ taskId: imports[0]?.taskId });
    expect(stepOf(status, 'poll-import').result).toMatchObject({ taskId: imports[0]?.taskId, importStatus: 'Completed' });
    const logs = await stepLogs(p.prefix, 'amo-start', 'start-import');
    expect(logs.some((l) => l.includes(`found import task ${imports[0]?.taskId} started by an earlier attempt`))).toBe(true);
    expect(p.sandbox.state.sends).toHaveLength(1);
  });
});
