import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Sandbox, SandboxOptions } from '../../src/sandbox/index.js';
import { createSfmcClient, type SfmcClient } from '../../src/sfmc/client.js';
import { parseSfmcDate } from '../../src/sfmc/time.js';
import type { ImportDefinitionSpec } from '../../src/sfmc/types.js';
import { bodyOf, envelope, login, PARTNER_NS, resultsOf, retrieveBody, simpleFilterEl, soap, startSandbox, testClock, type TestClock } from './helpers.js';

/**
 * Issue 11: the sandbox models SFMC's clock (CST, UTC-6, no daylight saving), the account option
 * "Incoming Date Normalization", ListSend (one row per List of a Send) and every import of one
 * ImportDefinition listed with its StartDate. Driven through the real client and raw SOAP.
 */

const SPEC: ImportDefinitionSpec = {
  customerKey: 'shared-key',
  name: 'shared',
  listId: '123',
  fieldMappingType: 'MapByOrdinal',
  fieldMaps: [{ sourceOrdinal: 0, destinationName: 'Email Address' }],
  fileSpec: 'shared.csv',
  fileType: 'CSV',
  fileTransferLocation: 'ExactTarget Enhanced FTP',
  updateType: 'AddAndUpdate',
};

describe('the sandbox as SFMC keeps dates and ListSends', () => {
  let sb: Sandbox;
  let clock: TestClock;
  let sfmc: SfmcClient;

  async function start(options: SandboxOptions = {}) {
    clock = testClock(); // 2025-03-01T12:00:00Z
    sb = await startSandbox({
      now: clock.now,
      import: { registerDelayMs: 0, durationMs: 1000 },
      seed: { lists: [{ id: 123, name: 'Sample_List' }, { id: 456, name: 'Other_List' }], emails: [{ id: 123, name: 'Sample Email' }] },
      ...options,
    });
    sfmc = createSfmcClient({
      config: {
        auth: { mode: 'oauth2', authUrl: sb.url, clientId: sb.credentials.clientId, clientSecret: sb.credentials.clientSecret },
        timeoutMs: 10_000,
      },
      now: clock.now,
    });
  }
  beforeEach(() => start());
  afterEach(async () => {
    await sfmc.close();
    await sb.close();
  });

  it('returns Send.SendDate as CST wall clock without an offset', async () => {
    const { sendId } = await sfmc.createSend({ emailId: '123', listId: '123' });
    const send = await sfmc.retrieveSendById(sendId);
    expect(send?.sendDate).toBe('2025-03-01T06:00:00');
    expect(parseSfmcDate(send?.sendDate)).toBe(clock.now());
  });

  it('serves ListSend: one row per List of a Send, found by SendID', async () => {
    const auth = await login(sb);
    const twoLists =
      `<CreateRequest xmlns="${PARTNER_NS}"><Options/><Objects xsi:type="Send">` +
      '<Email><ID>123</ID></Email><List><ID>123</ID></List><List><ID>456</ID></List></Objects></CreateRequest>';
    const created = resultsOf(bodyOf(await soap(sb, 'Create', envelope(twoLists, auth)), 'CreateResponse'));
    const sendId = String(created[0]?.['NewID']);
    const { sendId: other } = await sfmc.createSend({ emailId: '123', listId: '456' });

    expect(await sfmc.retrieveListSends(sendId)).toEqual([
      { sendId, listId: '123' },
      { sendId, listId: '456' },
    ]);
    expect(await sfmc.retrieveListSends(other)).toEqual([{ sendId: other, listId: '456' }]);
    expect(await sfmc.retrieveListSends('999999')).toEqual([]);
    // What SFMC's "Retrieve All Lists for a Send" sample asks for, List.ListName included.
    const raw = bodyOf(await soap(sb, 'Retrieve', envelope(retrieveBody('ListSend', ['SendID', 'List.ID', 'List.ListName'], simpleFilterEl('SendID', 'equals', other)), auth)), 'RetrieveResponseMsg');
    expect(resultsOf(raw)).toEqual([{ '@_type': 'ListSend', ObjectID: { '@_nil': 'true' }, SendID: other, List: [{ ID: '456', ListName: 'Other_List' }] }]);
  });

  it('holds ListSend rows back for listSendDelayMs after the Send, when asked to model that lag', async () => {
    await sfmc.close();
    await sb.close();
    await start({ listSendDelayMs: 60_000 });
    const { sendId } = await sfmc.createSend({ emailId: '123', listId: '456' });
    expect(await sfmc.retrieveListSends(sendId)).toEqual([]);
    clock.advance(60_000);
    expect(await sfmc.retrieveListSends(sendId)).toEqual([{ sendId, listId: '456' }]);
  });

  it('refuses a ListSend property that type does not have, as SFMC does', async () => {
    const auth = await login(sb);
    const reply = bodyOf(await soap(sb, 'Retrieve', envelope(retrieveBody('ListSend', ['SendID', 'Email.ID']), auth)), 'RetrieveResponseMsg');
    expect(String(reply['OverallStatus'])).toMatch(/^Error: The Request Property\(s\) Email\.ID do not match/);
  });

  it('lists every import of one ImportDefinition, each with its own CST StartDate', async () => {
    await sfmc.createImportDefinition(SPEC);
    const first = await sfmc.startImportDefinition(SPEC.customerKey);
    clock.advance(3_600_000);
    const second = await sfmc.startImportDefinition(SPEC.customerKey);
    const all = await sfmc.retrieveImportResultsByDefinition(SPEC.customerKey);
    expect(all.map((s) => [s.taskResultId, s.startDate])).toEqual([
      [first.taskId, '2025-03-01T06:00:00'],
      [second.taskId, '2025-03-01T07:00:00'],
    ]);
  });

  describe('Incoming Date Normalization', () => {
    const sendsSince = async (since: string) => {
      const auth = await login(sb);
      const filter = simpleFilterEl('SendDate', 'greaterThanOrEqual', since, 'DateValue');
      const msg = bodyOf(await soap(sb, 'Retrieve', envelope(retrieveBody('Send', ['ID'], filter), auth)), 'RetrieveResponseMsg');
      expect(msg['OverallStatus']).toBe('OK');
      return resultsOf(msg).map((r) => r['ID']);
    };

    it('on (the default): a Z filter value is converted to CST, so a window from 11:59Z finds a Send at 12:00Z', async () => {
      const { sendId } = await sfmc.createSend({ emailId: '123', listId: '123' });
      expect(await sendsSince('2025-03-01T11:59:00Z')).toEqual([sendId]);
      expect(await sendsSince('2025-03-01T05:59:00')).toEqual([sendId]);
    });

    it("off: the Z is ignored and 11:59 is read as CST (17:59Z), six hours late; an unzoned CST value still works", async () => {
      await sfmc.close();
      await sb.close();
      await start({ dateNormalization: false });
      const { sendId } = await sfmc.createSend({ emailId: '123', listId: '123' });
      expect(await sendsSince('2025-03-01T11:59:00Z')).toEqual([]);
      expect(await sendsSince('2025-03-01T11:59:00-06:00')).toEqual([]);
      expect(await sendsSince('2025-03-01T05:59:00')).toEqual([sendId]);
      // The client writes CST wall clock, which is right in both modes.
      expect((await sfmc.retrieveSendsByEmail('123', new Date(clock.now() - 60_000))).map((s) => s.id)).toEqual([sendId]);
    });
  });
});
