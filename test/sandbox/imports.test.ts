import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Sandbox } from '../../src/sandbox/index.js';
import {
  bodyOf,
  createImportDefinitionBody,
  envelope,
  importResultsBody,
  login,
  performStartBody,
  resultsOf,
  retrieveBody,
  simpleFilterEl,
  soap,
  startImport,
  startSandbox,
  testClock,
  type Login,
  type TestClock,
} from './helpers.js';

describe('sandbox imports', () => {
  let sb: Sandbox;
  let clock: TestClock;
  let auth: Login;

  beforeEach(async () => {
    clock = testClock();
    sb = await startSandbox({ now: clock.now, import: { registerDelayMs: 500, durationMs: 2000, rows: 100 } });
    auth = await login(sb);
  });
  afterEach(() => sb.close());

  const summary = async (taskId: string) => {
    const reply = await soap(sb, 'Retrieve', envelope(importResultsBody(taskId), auth));
    const msg = bodyOf(reply, 'RetrieveResponseMsg');
    expect(msg['OverallStatus']).toBe('OK');
    return resultsOf(msg)[0];
  };

  it('goes from unregistered to Processing to Completed as the clock moves', async () => {
    const taskId = await startImport(sb, auth, 'LIFE');
    expect(await summary(taskId)).toBeUndefined();
    clock.advance(499);
    expect(await summary(taskId)).toBeUndefined();
    clock.advance(1);
    expect(await summary(taskId)).toMatchObject({ ImportStatus: 'Processing', TaskResultID: taskId });
    clock.advance(1499);
    expect((await summary(taskId))?.['ImportStatus']).toBe('Processing');
    clock.advance(1);
    expect(await summary(taskId)).toEqual({
      '@_type': 'ImportResultsSummary',
      ObjectID: { '@_nil': 'true' },
      ImportDefinitionCustomerKey: 'LIFE',
      DestinationID: '123',
      NumberSuccessful: '100',
      NumberDuplicated: '0',
      NumberErrors: '0',
      TotalRows: '100',
      ImportStatus: 'Completed',
      TaskResultID: taskId,
    });
  });

  it('writes StartDate and, once finished, EndDate when all properties are asked for', async () => {
    const taskId = await startImport(sb, auth, 'DATES');
    clock.advance(2000);
    const body = retrieveBody('ImportResultsSummary', [], simpleFilterEl('TaskResultID', 'equals', taskId));
    const [result] = resultsOf(bodyOf(await soap(sb, 'Retrieve', envelope(body, auth)), 'RetrieveResponseMsg'));
    expect(result).toMatchObject({
      // The clock started at 12:00:00Z; SFMC writes its server time, CST, without an offset.
      StartDate: '2025-03-01T06:00:00',
      EndDate: '2025-03-01T06:00:02',
      ImportType: 'Subscriber List',
    });
  });

  it('ends in Error when told to, with every row counted as an error', async () => {
    sb.setImportBehaviour({ outcome: 'Error' });
    const taskId = await startImport(sb, auth, 'BAD');
    clock.advance(2000);
    expect(await summary(taskId)).toMatchObject({ ImportStatus: 'Error', NumberSuccessful: '0', NumberErrors: '100', TotalRows: '100' });
  });

  it('applies per-CustomerKey behaviour only to that key, and only to imports started after it', async () => {
    const before = await startImport(sb, auth, 'SLOW');
    sb.setImportBehaviour({ customerKey: 'SLOW', durationMs: 10_000, rows: 7, numberErrors: 2, numberDuplicated: 1 });
    const other = await startImport(sb, auth, 'OTHER');
    clock.advance(2000);
    expect((await summary(before))?.['ImportStatus']).toBe('Completed');
    expect((await summary(other))?.['ImportStatus']).toBe('Completed');

    const performed = await soap(sb, 'Perform', envelope(performStartBody('SLOW'), auth));
    const again = /<ID>(\d+)<\/ID>/.exec(performed.text)?.[1] ?? '';
    clock.advance(9999);
    expect((await summary(again))?.['ImportStatus']).toBe('Processing');
    clock.advance(1);
    expect(await summary(again)).toMatchObject({
      ImportStatus: 'Completed',
      TotalRows: '7',
      NumberErrors: '2',
      NumberDuplicated: '1',
      NumberSuccessful: '4',
    });
  });

  it('refuses a second ImportDefinition with the same CustomerKey with 43030', async () => {
    await soap(sb, 'Create', envelope(createImportDefinitionBody('DUP', '123'), auth));
    const reply = await soap(sb, 'Create', envelope(createImportDefinitionBody('DUP', '123'), auth));
    expect(reply.status).toBe(200);
    const msg = bodyOf(reply, 'CreateResponse');
    expect(msg['OverallStatus']).toBe('Error');
    const [result] = resultsOf(msg);
    expect(result).toMatchObject({ StatusCode: 'Error', ErrorCode: '43030', NewID: '0' });
    expect(result?.['StatusMessage']).toBe('ImportDefinition Exists');
    expect(Object.keys(sb.state.importDefinitions)).toEqual(['DUP']);
  });

  it('refuses an ImportDefinition into a list that does not exist with 13004', async () => {
    const msg = bodyOf(await soap(sb, 'Create', envelope(createImportDefinitionBody('NOLIST', '999'), auth)), 'CreateResponse');
    expect(msg['OverallStatus']).toBe('Error');
    expect(resultsOf(msg)[0]).toMatchObject({ StatusCode: 'Error', ErrorCode: '13004' });
    expect(sb.state.importDefinitions).toEqual({});
  });

  it('refuses to start an unknown ImportDefinition with 43010', async () => {
    const msg = bodyOf(await soap(sb, 'Perform', envelope(performStartBody('GHOST'), auth)), 'PerformResponseMsg');
    expect(msg['OverallStatus']).toBe('Error');
    const [result] = (msg['Results'] as Record<string, unknown>)['Result'] as Record<string, unknown>[];
    expect(result).toMatchObject({ StatusCode: 'Error', ErrorCode: '43010', Task: { StatusCode: 'Error' } });
    expect(sb.state.imports).toEqual({});
  });

  it('retrieves an ImportDefinition by CustomerKey as it was created', async () => {
    await soap(sb, 'Create', envelope(createImportDefinitionBody('READ', '123', 'read.csv'), auth));
    const body = retrieveBody('ImportDefinition', ['CustomerKey', 'FileSpec', 'DestinationObject'], simpleFilterEl('CustomerKey', 'equals', 'READ'));
    const msg = bodyOf(await soap(sb, 'Retrieve', envelope(body, auth)), 'RetrieveResponseMsg');
    expect(resultsOf(msg)).toEqual([
      {
        '@_type': 'ImportDefinition',
        ObjectID: sb.state.importDefinitions['READ']?.objectId,
        CustomerKey: 'READ',
        DestinationObject: { '@_type': 'List', ID: '123' },
        FileSpec: 'read.csv',
      },
    ]);
    const none = retrieveBody('ImportDefinition', ['CustomerKey'], simpleFilterEl('CustomerKey', 'equals', 'NOPE'));
    expect(resultsOf(bodyOf(await soap(sb, 'Retrieve', envelope(none, auth)), 'RetrieveResponseMsg'))).toEqual([]);
  });
});

describe('sandbox imports reading files from dataDir', () => {
  let dataDir: string;
  let sb: Sandbox;
  let clock: TestClock;
  let auth: Login;

  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'sandbox-data-'));
    mkdirSync(join(dataDir, 'Import'));
    writeFileSync(join(dataDir, 'Import', 'three.csv'), 'Email Address\na@example.com\n\nb@example.com\r\nc@example.com\n');
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));
  beforeEach(async () => {
    clock = testClock();
    sb = await startSandbox({ now: clock.now, dataDir, import: { registerDelayMs: 0, durationMs: 10, rows: 100 } });
    auth = await login(sb);
  });
  afterEach(() => sb.close());

  const finalRows = async (key: string, fileSpec: string, extra = '') => {
    await soap(sb, 'Create', envelope(createImportDefinitionBody(key, '123', fileSpec, extra), auth));
    const performed = await soap(sb, 'Perform', envelope(performStartBody(key), auth));
    const taskId = /<ID>(\d+)<\/ID>/.exec(performed.text)?.[1] ?? '';
    clock.advance(10);
    const [result] = resultsOf(bodyOf(await soap(sb, 'Retrieve', envelope(importResultsBody(taskId), auth)), 'RetrieveResponseMsg'));
    return { total: result?.['TotalRows'], from: sb.state.imports[taskId]?.rowsFrom };
  };

  it('counts the non-empty lines after one header line', async () => {
    expect(await finalRows('F1', 'three.csv')).toEqual({ total: '3', from: 'file' });
  });

  it('honours HeaderLines', async () => {
    expect(await finalRows('F2', 'three.csv', '<HeaderLines>0</HeaderLines>')).toEqual({ total: '4', from: 'file' });
  });

  it('falls back to the configured rows when the file is absent', async () => {
    expect(await finalRows('F3', 'missing.csv')).toEqual({ total: '100', from: 'default' });
  });
});
