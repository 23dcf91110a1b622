import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Sandbox } from '../../src/sandbox/index.js';
import { bodyOf, fixture, login, resultsOf, securityHeader, soap, startSandbox, testClock, type Login, type TestClock } from './helpers.js';

/**
 * The five requests of the docs' list-based send workflow (examples/soap, made
 * well-formed from the seed), answered in both auth modes. schema.test.ts checks the
 * responses against the WSDL.
 */

describe.each(['oauth', 'wsse'] as const)('the seed workflow with %s auth', (mode) => {
  let sb: Sandbox;
  let clock: TestClock;
  let auth: Login;

  beforeEach(async () => {
    clock = testClock();
    sb = await startSandbox({ now: clock.now, import: { registerDelayMs: 500, durationMs: 2000, rows: 42 } });
    auth = await login(sb, mode);
  });
  afterEach(() => sb.close());

  const send = (file: string, action: string, vars: Record<string, string> = {}) =>
    soap(sb, action, fixture(file, { SECURITY: securityHeader(auth), ...vars }));

  it('retrieves Sample_List by ListName', async () => {
    const reply = await send('retrieve-list.xml', 'Retrieve');
    expect(reply.status).toBe(200);
    const msg = bodyOf(reply, 'RetrieveResponseMsg');
    expect(msg['OverallStatus']).toBe('OK');
    expect(msg['RequestID']).toMatch(/^[0-9a-f-]{36}$/);
    const [list] = resultsOf(msg);
    expect(list).toMatchObject({ '@_type': 'List', ID: '123', ListName: 'Sample_List' });
  });

  it('creates the ImportDefinition and echoes it with its new ObjectID', async () => {
    const reply = await send('create-import-definition.xml', 'Create');
    const msg = bodyOf(reply, 'CreateResponse');
    expect(msg['OverallStatus']).toBe('OK');
    const [result] = resultsOf(msg);
    expect(result).toMatchObject({ StatusCode: 'OK', StatusMessage: 'ImportDefinition created.', OrdinalID: '0', NewID: '0' });
    const objectId = String(result?.['NewObjectID']);
    expect(objectId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(result?.['Object']).toMatchObject({
      '@_type': 'ImportDefinition',
      ObjectID: objectId,
      CustomerKey: 'SAP_IMP_KEY_1',
      FileSpec: 'SAP_List.csv',
      UpdateType: 'AddAndUpdate',
    });
    expect(sb.state.importDefinitions['SAP_IMP_KEY_1']).toMatchObject({ listId: '123', objectId, fileSpec: 'SAP_List.csv' });
  });

  it('starts the import, then reports it Completed once its time has passed', async () => {
    await send('create-import-definition.xml', 'Create');
    const started = await send('perform-start.xml', 'Perform');
    const msg = bodyOf(started, 'PerformResponseMsg');
    expect(msg['OverallStatus']).toBe('OK');
    const [result] = (msg['Results'] as Record<string, unknown>)['Result'] as Record<string, unknown>[];
    const task = result?.['Task'] as Record<string, unknown>;
    const taskId = String(task['ID']);
    expect(taskId).toMatch(/^\d+$/);
    expect(result).toMatchObject({ StatusCode: 'OK', StatusMessage: `ImportDefinition performed AsyncID:${taskId}` });
    expect(task).toMatchObject({ StatusCode: 'OK', StatusMessage: 'OK' });
    expect(task['InteractionObjectID']).toMatch(/^[0-9a-f-]{36}$/);

    clock.advance(2000);
    const polled = await send('retrieve-import-results.xml', 'Retrieve', { TASK_ID: taskId });
    const [summary] = resultsOf(bodyOf(polled, 'RetrieveResponseMsg'));
    expect(summary).toMatchObject({
      '@_type': 'ImportResultsSummary',
      ImportDefinitionCustomerKey: 'SAP_IMP_KEY_1',
      ImportType: 'Subscriber List',
      ImportStatus: 'Completed',
      DestinationID: '123',
      NumberSuccessful: '42',
    });
  });

  it('creates the Send and records it', async () => {
    const reply = await send('create-send.xml', 'Create');
    const msg = bodyOf(reply, 'CreateResponse');
    expect(msg['OverallStatus']).toBe('OK');
    const [result] = resultsOf(msg);
    expect(result?.['StatusCode']).toBe('OK');
    const sendId = String(result?.['NewID']);
    expect(sendId).toMatch(/^[1-9]\d*$/);
    // The Send's progress fields (subscribers, statusChecks, behaviour) are shown in send-status.test.ts.
    expect(sb.state.sends).toMatchObject([
      { id: sendId, emailId: '123', listId: '123', listIds: ['123'], createdAt: clock.now(), statusChecks: 0 },
    ]);
  });
});
