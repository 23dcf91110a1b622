import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { createSfmcClient, type SfmcClient } from '../../src/sfmc/client.js';
import type { ImportDefinitionSpec } from '../../src/sfmc/types.js';

/**
 * The five workflow steps through the typed helpers against the sandbox, which validates every
 * request Body against the WSDL schema and answers in SFMC's shapes. The sandbox clock is driven
 * by hand, so the import's progress does not depend on wall time.
 */

let now = Date.parse('2024-05-14T09:00:00Z');
let sandbox: Sandbox;
let sfmc: SfmcClient;

const SPEC: ImportDefinitionSpec = {
  customerKey: 'list-send-run-7',
  name: 'list-send run 7',
  listId: '123',
  fieldMappingType: 'MapByOrdinal',
  fieldMaps: [{ sourceOrdinal: 0, destinationName: 'Email Address' }],
  fileSpec: 'list-send-run-7.csv',
  fileType: 'CSV',
  fileTransferLocation: 'ExactTarget Enhanced FTP',
  updateType: 'AddAndUpdate',
  headerLines: 1,
};

beforeAll(async () => {
  sandbox = await createSandbox({ now: () => now, import: { registerDelayMs: 1_000, durationMs: 5_000, rows: 40 } });
  sfmc = createSfmcClient({
    config: {
      auth: { mode: 'oauth2', authUrl: sandbox.url, clientId: sandbox.credentials.clientId, clientSecret: sandbox.credentials.clientSecret },
      timeoutMs: 10_000,
    },
    now: () => now,
  });
});

afterAll(async () => {
  await sfmc.close();
  await sandbox.close();
});

describe('running the list-send workflow against the sandbox', () => {
  let taskId = '';
  let sendId = '';

  it('finds the list by name', async () => {
    expect(await sfmc.retrieveListsByName('Sample_List')).toEqual([{ id: '123', name: 'Sample_List' }]);
  });

  it('creates the ImportDefinition and reads it back by CustomerKey', async () => {
    const created = await sfmc.createImportDefinition(SPEC);
    expect(created.objectId).toMatch(/\S+/);
    expect(await sfmc.retrieveImportDefinition(SPEC.customerKey)).toMatchObject({
      customerKey: SPEC.customerKey,
      objectId: created.objectId,
      name: SPEC.name,
      fileSpec: SPEC.fileSpec,
    });
  });

  it('refuses a second ImportDefinition with the same CustomerKey as result-error 43030', async () => {
    await expect(sfmc.createImportDefinition(SPEC)).rejects.toMatchObject({ code: 'result-error', context: { errorCode: 43030 } });
  });

  it('starts the import and sees nothing until SFMC registers it', async () => {
    ({ taskId } = await sfmc.startImportDefinition(SPEC.customerKey));
    expect(taskId).toMatch(/^\d+$/);
    expect(await sfmc.retrieveImportResults(taskId)).toBeUndefined();
  });

  it('polls the import to Completed with its counts', async () => {
    now += 1_500;
    expect((await sfmc.retrieveImportResults(taskId))?.importStatus).not.toBe('Completed');
    now += 10_000;
    const summary = await sfmc.retrieveImportResults(taskId);
    expect(summary).toMatchObject({ importStatus: 'Completed', taskResultId: taskId, destinationId: '123', numberSuccessful: 40 });
    expect(await sfmc.retrieveImportResultsByDefinition(SPEC.customerKey)).toHaveLength(1);
  });

  it('creates the Send and finds it by id and by email since the run began', async () => {
    const since = new Date(now - 1_000);
    ({ sendId } = await sfmc.createSend({ emailId: '123', listId: '123' }));
    expect(sendId).toMatch(/^\d+$/);
    expect(await sfmc.retrieveSendById(sendId)).toMatchObject({ id: sendId, emailId: '123' });
    expect((await sfmc.retrieveSendsByEmail('123', since)).map((s) => s.id)).toEqual([sendId]);
    expect(await sfmc.retrieveSendsByEmail('123', new Date(now + 60_000))).toEqual([]);
  });

  it('sent every request through the schema check without a fault', () => {
    expect(sandbox.calls().filter((c) => c.path === '/Service.asmx' && c.result !== 'ok')).toEqual([]);
  });
});
