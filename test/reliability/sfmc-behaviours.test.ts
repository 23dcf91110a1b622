import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { seedRequest, startPipeline, type Pipeline } from '../helpers/pipeline.js';
import { callsTo, runToEnd, stepLogs, stepOf } from './support.js';

/**
 * Issue 11, real SFMC behaviours that break "the right Send, once". Each test is named after the
 * behaviour: one Email sent to several Lists, CST dates with incoming date normalization off, and a
 * CustomerKey reused across runs whose earlier imports SFMC lists too.
 */

const LISTS = [
  { id: 123, name: 'Sample_List' },
  { id: 456, name: 'Other_List' },
];

describe('one Email sent to several Lists: a Send is adopted only when ListSend shows this run List', () => {
  let p: Pipeline;
  beforeAll(async () => {
    p = await startPipeline({ label: 'sfmc-listsend', attempts: 3, sandbox: { seed: { lists: LISTS } } });
  });
  afterAll(async () => {
    await p?.close();
  });
  beforeEach(() => p.sandbox.reset());

  it("does not adopt another run's Send of the same Email to another List after a Create Send that never reached SFMC", async () => {
    const a = await runToEnd(p, 'ls-a-123');
    expect(a.state).toBe('completed');
    p.sandbox.faults.inject({ operation: 'Create', objectType: 'Send', kind: 'reset' });
    const b = await runToEnd(p, 'ls-b-456', { list: { name: 'Other_List' } });

    expect(b.state, b.error).toBe('completed');
    const sends = p.sandbox.state.sends;
    expect(sends.map((s) => s.listIds)).toEqual([['123'], ['456']]);
    expect(b.result).toMatchObject({ sendId: sends[1]?.id, listId: '456', recovered: false });
    expect(callsTo(p.sandbox, 'Retrieve', 'ListSend')).toHaveLength(1);
  });

  it('adopts its own lost Send to its List when the same Email also went to another List', async () => {
    await runToEnd(p, 'ls-c-123');
    p.sandbox.faults.inject({ operation: 'Create', objectType: 'Send', kind: 'drop-after-commit' });
    const d = await runToEnd(p, 'ls-d-456', { list: { name: 'Other_List' } });

    expect(d.state, d.error).toBe('completed');
    const sends = p.sandbox.state.sends;
    expect(sends.map((s) => s.listIds)).toEqual([['123'], ['456']]);
    expect(d.result).toMatchObject({ sendId: sends[1]?.id, listId: '456', recovered: true });
    // Both candidates' Lists were checked.
    expect(callsTo(p.sandbox, 'Retrieve', 'ListSend')).toHaveLength(2);
  });

  it('stops in send-unknown when the Lists of a candidate Send cannot be confirmed', async () => {
    p.sandbox.faults.inject({ operation: 'Create', objectType: 'Send', kind: 'drop-after-commit' });
    p.sandbox.faults.inject({ operation: 'Retrieve', objectType: 'ListSend', kind: 'server-fault', times: 100 });
    const status = await runToEnd(p, 'ls-unconfirmed');

    expect(status.state).toBe('failed');
    expect(status.error).toMatch(/^send: send-unknown: a Create Send for Email 123 to List 123 .*looking it up failed/);
    expect(p.sandbox.state.sends).toHaveLength(1);
    expect(callsTo(p.sandbox, 'Create', 'Send')).toHaveLength(1);
  });
});

describe("ListSend rows that SFMC has not written yet (the docs call them a completed send's lists)", () => {
  let p: Pipeline;
  beforeAll(async () => {
    p = await startPipeline({ label: 'sfmc-listsend-lag', attempts: 3, sandbox: { listSendDelayMs: 3_600_000 } });
  });
  afterAll(async () => {
    await p?.close();
  });

  it('stops in send-unknown rather than guess whether a Send without Lists was this run', async () => {
    p.sandbox.faults.inject({ operation: 'Create', objectType: 'Send', kind: 'drop-after-commit' });
    const status = await runToEnd(p, 'ls-no-rows');

    expect(status.state).toBe('failed');
    const sendId = p.sandbox.state.sends[0]?.id;
    expect(status.error).toMatch(new RegExp(`^send: send-unknown: .*SFMC shows no Lists for Send ${sendId} of this Email, so whether it went to List 123 cannot be confirmed`));
    expect(stepOf(status, 'send').attemptsMade).toBe(2);
    expect(p.sandbox.state.sends).toHaveLength(1);
  });
});

describe('SFMC dates are CST and the account has incoming date normalization off', () => {
  let p: Pipeline;
  beforeAll(async () => {
    p = await startPipeline({ label: 'sfmc-cst', attempts: 3, sandbox: { dateNormalization: false } });
  });
  afterAll(async () => {
    await p?.close();
  });
  beforeEach(() => p.sandbox.reset());

  it('still finds a Send whose Create reply was lost, and does not send twice', async () => {
    p.sandbox.faults.inject({ operation: 'Create', objectType: 'Send', kind: 'drop-after-commit' });
    const status = await runToEnd(p, 'cst-lost-send');

    expect(status.state, status.error).toBe('completed');
    expect(p.sandbox.state.sends).toHaveLength(1);
    expect(callsTo(p.sandbox, 'Create', 'Send')).toHaveLength(1);
    expect(status.result).toMatchObject({ sendId: p.sandbox.state.sends[0]?.id, recovered: true });
  });
});

describe('a CustomerKey reused across runs: SFMC lists every earlier import of the definition', () => {
  let p: Pipeline;
  // The same caller-chosen ImportDefinition for every run.
  const shared = { ...seedRequest().import, customerKey: 'shared-import', name: 'shared import' };
  beforeAll(async () => {
    p = await startPipeline({ label: 'sfmc-shared-key', attempts: 3 });
  });
  afterAll(async () => {
    await p?.close();
  });
  beforeEach(() => p.sandbox.reset());

  it("does not adopt an earlier run's finished import after a Perform start that never reached SFMC: it starts its own", async () => {
    const a = await runToEnd(p, 'key-a', { import: shared });
    expect(a.state, a.error).toBe('completed');
    const taskA = stepOf(a, 'start-import').result as { taskId: string };
    p.sandbox.faults.inject({ operation: 'Perform', kind: 'reset' });
    const b = await runToEnd(p, 'key-b', { import: shared });

    expect(b.state, b.error).toBe('completed');
    const tasks = Object.keys(p.sandbox.state.imports);
    expect(tasks).toHaveLength(2);
    const taskB = (stepOf(b, 'start-import').result as { taskId: string }).taskId;
    expect(taskB).not.toBe(taskA.taskId);
    expect(tasks).toContain(taskB);
    expect(stepOf(b, 'poll-import').result).toMatchObject({ taskId: taskB });
    const logs = await stepLogs(p.prefix, 'key-b', 'start-import');
    expect(logs.some((l) => /1 earlier import\(s\) of this definition are not this run's/.test(l))).toBe(true);
    expect(logs.some((l) => /no import of shared-import appeared within 200 ms of the earlier attempt; starting it/.test(l))).toBe(true);
  });

  it("adopts its own import, not the earlier run's, when the reply to its Perform start was lost", async () => {
    await runToEnd(p, 'key-c', { import: shared });
    p.sandbox.faults.inject({ operation: 'Perform', kind: 'drop-after-commit' });
    const d = await runToEnd(p, 'key-d', { import: shared });

    expect(d.state, d.error).toBe('completed');
    const imports = Object.values(p.sandbox.state.imports);
    expect(imports).toHaveLength(2);
    expect(callsTo(p.sandbox, 'Perform')).toHaveLength(2);
    expect(stepOf(d, 'start-import').result).toMatchObject({ taskId: imports[1]?.taskId });
  });
});
