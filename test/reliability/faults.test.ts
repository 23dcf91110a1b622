import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { QueueName } from '../../queues/catalog.js';
import type { FaultRule } from '../../src/sandbox/index.js';
import { startPipeline, type Pipeline } from '../helpers/pipeline.js';
import { callsTo, runToEnd, stepOf, until } from './support.js';

/**
 * Issue 6, "Faults": every transient fault at every step ends in exactly one Send; every fatal
 * one fails the run on its first attempt with zero Sends and a reason a person can act on.
 * (A soap:Server apifault 2 at every step is in test/pipeline/transient-faults.test.ts.)
 */

const TIMEOUT_MS = 1_000;

const STEPS: [QueueName, Pick<FaultRule, 'operation' | 'objectType'>][] = [
  ['resolve-list', { operation: 'Retrieve', objectType: 'List' }],
  ['create-import', { operation: 'Create', objectType: 'ImportDefinition' }],
  ['start-import', { operation: 'Perform', objectType: 'ImportDefinition' }],
  ['poll-import', { operation: 'Retrieve', objectType: 'ImportResultsSummary' }],
  ['send', { operation: 'Create', objectType: 'Send' }],
];

type Fault = Omit<FaultRule, 'operation' | 'objectType'>;

/** [name, rule, attemptsMade of the faulted step when the run is done] */
const TRANSIENT: [string, Fault, number][] = [
  ['an HTTP 500 soap:Server fault (apifault 9 InMaintenance)', { kind: 'server-fault', apiFaultCode: 9 }, 2],
  ['an HTML 502 page from a gateway', { kind: 'html-502' }, 2],
  [`a reply slower than SFMC_TIMEOUT_MS (${TIMEOUT_MS} ms)`, { kind: 'delay', delayMs: TIMEOUT_MS * 2 }, 2],
  ['a reset connection', { kind: 'reset' }, 2],
  // The client fetches a new token and repeats the call itself: no BullMQ retry.
  ['a Token Expired security fault', { kind: 'token-expired' }, 1],
  // Throttled visits pause the queue (a BullMQ rate limit) and use no attempt: 6 > attempts (3).
  ['a burst of six throttling HTTP 500s in a row', { kind: 'throttle', times: 6 }, 1],
];

const MATRIX = STEPS.flatMap(([step, where]) => TRANSIENT.map(([name, fault, attempts]) => [step, name, { ...where, ...fault }, attempts] as const));

const FATAL: [string, Fault, RegExp][] = [
  [
    'an authorization fault (apifault Code 11)',
    { kind: 'server-fault', apiFaultCode: 11 },
    /server-fault: SFMC failed the \w+ call with server fault 11 AuthorizationFailure .*lacks the permission for this call/,
  ],
  ['a soap:Client fault', { kind: 'client-fault' }, /client-fault: SFMC refused the \w+ call as malformed .*retrying will not help/],
];

const FATAL_MATRIX = STEPS.flatMap(([step, where]) => FATAL.map(([name, fault, reason]) => [step, name, { ...where, ...fault }, reason] as const));

describe('faults at every step', () => {
  let p: Pipeline;
  beforeAll(async () => {
    p = await startPipeline({ label: 'faults', attempts: 3, env: { SFMC_TIMEOUT_MS: String(TIMEOUT_MS) } });
  });
  afterAll(async () => {
    await p?.close();
  });
  beforeEach(() => p.sandbox.reset());

  it.each(MATRIX)('%s survives %s: the run completes with exactly one Send', async (step, name, rule, attemptsMade) => {
    const runId = `t-${step}-${rule.kind}`;
    p.sandbox.faults.inject(rule);
    const status = await runToEnd(p, runId);

    expect(status.state, `${name} at ${step}: ${status.error ?? ''}`).toBe('completed');
    expect(p.sandbox.calls().filter((c) => c.injected === rule.kind)).toHaveLength(rule.times ?? 1);
    expect(p.sandbox.state.sends).toHaveLength(1);
    // The run's ImportDefinition was deleted once its one import completed.
    expect(Object.keys(p.sandbox.state.importDefinitions)).toEqual([]);
    expect(Object.values(p.sandbox.state.imports).map((i) => i.customerKey)).toEqual([`ls-${runId}`]);
    // A failed poll-import check is "no news", checked again on the poll schedule without an attempt.
    expect(stepOf(status, step).attemptsMade).toBe(step === 'poll-import' ? 1 : attemptsMade);
    if (rule.kind === 'token-expired') {
      // One fresh token right after the refusal, and the same call repeated with it.
      const faulted = p.sandbox.calls().find((c) => c.injected === 'token-expired');
      const after = p.sandbox.calls().filter((c) => c.seq > (faulted?.seq ?? 0));
      expect(after[0]).toMatchObject({ operation: 'token', result: 'ok' });
      expect(after[1]).toMatchObject({ operation: rule.operation, objectType: rule.objectType, result: 'ok' });
    }
  });

  it.each(FATAL_MATRIX)('%s fails at once on %s, with zero Sends', async (step, _name, rule, reason) => {
    const runId = `f-${step}-${rule.kind}`;
    p.sandbox.faults.inject({ ...rule, times: 100 });
    const status = await runToEnd(p, runId);

    expect(status.state).toBe('failed');
    expect(status.error).toMatch(new RegExp(`^${step}: ${reason.source}`));
    expect(stepOf(status, step).attemptsMade).toBe(1);
    expect(callsTo(p.sandbox, rule.operation, rule.objectType)).toHaveLength(1);
    expect(p.sandbox.state.sends).toHaveLength(0);
    // Every later step fails with it (failParentOnFailure) instead of running or waiting forever.
    const later = STEPS.map(([s]) => s).slice(STEPS.findIndex(([s]) => s === step) + 1);
    await until(`the steps after ${step} to fail`, async () => {
      const now = await p.producer.status(runId);
      return later.every((s) => now && stepOf(now, s).state === 'failed') || undefined;
    });
    if (step !== 'send') expect(callsTo(p.sandbox, 'Create', 'Send')).toHaveLength(0);
  });
});

describe('faults while getting a token', () => {
  let p: Pipeline | undefined;
  afterEach(async () => {
    await p?.close();
    p = undefined;
  });

  const TOKEN_FAULTS: [string, Fault][] = [
    ['an HTTP 500 from the token endpoint', { kind: 'server-fault' }],
    ['an HTML 502 page from a gateway', { kind: 'html-502' }],
    [`a reply slower than SFMC_TIMEOUT_MS (${TIMEOUT_MS} ms)`, { kind: 'delay', delayMs: TIMEOUT_MS * 2 }],
    ['a reset connection', { kind: 'reset' }],
    ['a throttling HTTP 500', { kind: 'throttle' }],
  ];

  it.each(TOKEN_FAULTS)('survives %s: resolve-list is retried and the run sends once', async (_name, fault) => {
    p = await startPipeline({ label: `token-${fault.kind}`, attempts: 3, env: { SFMC_TIMEOUT_MS: String(TIMEOUT_MS) } });
    p.sandbox.faults.inject({ operation: 'token', ...fault });
    const status = await runToEnd(p, `token-${fault.kind}`);

    expect(status.state).toBe('completed');
    expect(stepOf(status, 'resolve-list').attemptsMade).toBe(2);
    expect(callsTo(p.sandbox, 'token').map((c) => c.injected ?? 'ok')).toEqual([fault.kind, 'ok']);
    expect(p.sandbox.state.sends).toHaveLength(1);
  });
});

describe('fatal failures that are not injected faults', () => {
  let p: Pipeline | undefined;
  afterEach(async () => {
    await p?.close();
    p = undefined;
  });

  it('a wrong client secret fails the run at resolve-list on its first attempt, naming the settings to check', async () => {
    p = await startPipeline({ label: 'wrong-secret', env: { SFMC_CLIENT_SECRET: 'not-the-sandbox-secret' } });
    const status = await runToEnd(p, 'wrong-secret');

    expect(status.state).toBe('failed');
    expect(status.error).toMatch(/^resolve-list: auth-failed: the SFMC token endpoint refused the client credentials \(HTTP 401.*check SFMC_CLIENT_ID, SFMC_CLIENT_SECRET and SFMC_ACCOUNT_ID/);
    expect(status.error).not.toContain('not-the-sandbox-secret');
    expect(stepOf(status, 'resolve-list').attemptsMade).toBe(1);
    expect(callsTo(p.sandbox, 'token')).toHaveLength(1);
    expect(p.sandbox.calls().filter((c) => c.operation !== 'token')).toHaveLength(0);
    expect(p.sandbox.state.sends).toHaveLength(0);
  });

  it('a wrong WS-Security password fails the run at resolve-list on its first attempt', async () => {
    p = await startPipeline({ label: 'wrong-password', auth: 'wsse', env: { SFMC_PASSWORD: 'not-the-sandbox-password' } });
    const status = await runToEnd(p, 'wrong-password');

    expect(status.error).toMatch(/^resolve-list: security-fault: SFMC refused the credentials .*"Login failed".*check the installed package or API user/);
    expect(status.error).not.toContain('not-the-sandbox-password');
    expect(stepOf(status, 'resolve-list').attemptsMade).toBe(1);
    expect(callsTo(p.sandbox, 'Retrieve', 'List')).toHaveLength(1);
    expect(p.sandbox.state.sends).toHaveLength(0);
  });

  it('a List that does not exist fails the run at resolve-list on its first attempt, naming the List', async () => {
    p = await startPipeline({ label: 'no-such-list' });
    const status = await runToEnd(p, 'no-such-list', { list: { name: 'No_Such_List' } });

    expect(status.error).toBe('resolve-list: list-not-found: list not found: no List named "No_Such_List" in this business unit');
    expect(stepOf(status, 'resolve-list').attemptsMade).toBe(1);
    expect(p.sandbox.calls().filter((c) => c.operation !== 'token')).toHaveLength(1);
    expect(p.sandbox.state.sends).toHaveLength(0);
  });

  it('an import that ends in Error fails the run at poll-import on its first attempt, saying where the details are', async () => {
    p = await startPipeline({ label: 'import-error' });
    p.sandbox.setImportBehaviour({ outcome: 'Error', numberErrors: 3 });
    const status = await runToEnd(p, 'import-error');

    expect(status.error).toMatch(/^poll-import: import-error: import task \d+ ended in Error \(0 successful, 3 errors of \d+ rows\); the import's notification email or the Enhanced FTP has the details$/);
    expect(stepOf(status, 'poll-import').attemptsMade).toBe(1);
    // It stopped at the first Retrieve that showed Error, and never tried to send.
    const polls = callsTo(p.sandbox, 'Retrieve', 'ImportResultsSummary');
    expect(polls.at(-1)?.seq).toBe(Math.max(...p.sandbox.calls().map((c) => c.seq)));
    expect(callsTo(p.sandbox, 'Create', 'Send')).toHaveLength(0);
    expect(p.sandbox.state.sends).toHaveLength(0);
  });
});
