import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Sandbox } from '../../src/sandbox/index.js';
import {
  bodyOf,
  continueBody,
  createSendBody,
  envelope,
  login,
  resultsOf,
  retrieveBody,
  simpleFilter,
  simpleFilterEl,
  soap,
  startSandbox,
  testClock,
  type Login,
  type TestClock,
} from './helpers.js';

describe('sandbox Retrieve', () => {
  let sb: Sandbox;
  let clock: TestClock;
  let auth: Login;

  beforeEach(async () => {
    clock = testClock();
    sb = await startSandbox({
      now: clock.now,
      pageSize: 2,
      seed: {
        lists: [
          { id: 123, name: 'Sample_List' },
          { id: 124, name: 'Twin' },
          { id: 125, name: 'Twin' },
        ],
        emails: [
          { id: 123, name: 'Sample Email' },
          { id: 456, name: 'Other Email' },
        ],
      },
    });
    auth = await login(sb);
  });
  afterEach(() => sb.close());

  const retrieve = async (body: string) => bodyOf(await soap(sb, 'Retrieve', envelope(body, auth)), 'RetrieveResponseMsg');
  const createSend = async (emailId: string) => {
    const msg = bodyOf(await soap(sb, 'Create', envelope(createSendBody(emailId, '123'), auth)), 'CreateResponse');
    return String(resultsOf(msg)[0]?.['NewID']);
  };
  const ids = (msg: Record<string, unknown>) => resultsOf(msg).map((r) => r['ID']);

  it('finds lists by ID and returns every list sharing a ListName', async () => {
    expect(ids(await retrieve(retrieveBody('List', ['ID'], simpleFilterEl('ID', 'equals', '124'))))).toEqual(['124']);
    expect(ids(await retrieve(retrieveBody('List', ['ID', 'ListName'], simpleFilterEl('ListName', 'equals', 'Twin'))))).toEqual(['124', '125']);
    expect(resultsOf(await retrieve(retrieveBody('List', ['ID'], simpleFilterEl('ListName', 'equals', 'Nope'))))).toEqual([]);
  });

  it('pages results past pageSize and continues with the latest RequestID', async () => {
    for (let i = 0; i < 5; i++) await createSend('123');
    const first = await retrieve(retrieveBody('Send', ['ID']));
    expect(first['OverallStatus']).toBe('MoreDataAvailable');
    expect(ids(first)).toEqual(['1000001', '1000002']);
    const second = await retrieve(continueBody('Send', String(first['RequestID'])));
    expect(second['OverallStatus']).toBe('MoreDataAvailable');
    expect(ids(second)).toEqual(['1000003', '1000004']);
    expect(second['RequestID']).not.toBe(first['RequestID']);
    const last = await retrieve(continueBody('Send', String(second['RequestID'])));
    expect(last['OverallStatus']).toBe('OK');
    expect(ids(last)).toEqual(['1000005']);
  });

  it('refuses a ContinueRequest it does not know, or one already used', async () => {
    for (let i = 0; i < 3; i++) await createSend('123');
    const first = await retrieve(retrieveBody('Send', ['ID']));
    await retrieve(continueBody('Send', String(first['RequestID'])));
    const reused = await retrieve(continueBody('Send', String(first['RequestID'])));
    expect(String(reused['OverallStatus'])).toMatch(/^Error: /);
  });

  it('uses Options/BatchSize when it is smaller than the page size', async () => {
    for (let i = 0; i < 2; i++) await createSend('123');
    const msg = await retrieve(retrieveBody('Send', ['ID'], undefined, '<Options><BatchSize>1</BatchSize></Options>'));
    expect(msg['OverallStatus']).toBe('MoreDataAvailable');
    expect(ids(msg)).toEqual(['1000001']);
  });

  it('retrieves a Send by ID with its email, list and send date', async () => {
    const id = await createSend('456');
    const msg = await retrieve(retrieveBody('Send', ['ID', 'Email.ID', 'List.ID', 'SendDate', 'EmailName', 'Status'], simpleFilterEl('ID', 'equals', id)));
    expect(resultsOf(msg)).toEqual([
      {
        '@_type': 'Send',
        ID: id,
        ObjectID: { '@_nil': 'true' },
        Email: { ID: '456' },
        List: [{ ID: '123' }],
        // The clock says 12:00Z; SFMC answers in its server time, CST, without an offset.
        SendDate: '2025-03-01T06:00:00',
        EmailName: 'Other Email',
        // The first status check of a new Send: still going out (sends.ts).
        Status: 'Sending',
      },
    ]);
  });

  const operand = (side: 'LeftOperand' | 'RightOperand', inner: string) => `<${side} xsi:type="SimpleFilterPart">${inner}</${side}>`;
  const byEmailSince = (emailId: string, since: string, dateFirst: boolean, tag: 'Value' | 'DateValue') => {
    const email = simpleFilter('Email.ID', 'equals', emailId);
    const date = simpleFilter('SendDate', 'greaterThanOrEqual', since, tag);
    const [left, right] = dateFirst ? [date, email] : [email, date];
    const filter =
      `<Filter xsi:type="ComplexFilterPart">${operand('LeftOperand', left)}` +
      `<LogicalOperator>AND</LogicalOperator>${operand('RightOperand', right)}</Filter>`;
    return retrieveBody('Send', ['ID', 'SendDate'], filter);
  };

  it.each([
    ['Email.ID first, DateValue', false, 'DateValue'],
    ['SendDate first, Value', true, 'Value'],
  ] as const)('finds sends by Email.ID and SendDate >= (%s)', async (_name, dateFirst, tag) => {
    await createSend('123');
    clock.advance(60_000);
    const since = new Date(clock.now()).toISOString();
    const wanted = await createSend('123');
    await createSend('456');
    const msg = await retrieve(byEmailSince('123', since, dateFirst, tag));
    expect(msg['OverallStatus']).toBe('OK');
    expect(ids(msg)).toEqual([wanted]);
  });

  it('reads an unzoned SendDate bound as SFMC server time (CST), not UTC', async () => {
    const id = await createSend('123');
    expect(ids(await retrieve(byEmailSince('123', '2025-03-01T06:00:00', false, 'DateValue')))).toEqual([id]);
    // The UTC wall clock without its Z is six hours after the Send in CST.
    expect(ids(await retrieve(byEmailSince('123', '2025-03-01T12:00:00', false, 'DateValue')))).toEqual([]);
  });

  it('answers an object type it has no handler for with an Error OverallStatus', async () => {
    const msg = await retrieve(retrieveBody('DeliveryProfile', ['ID']));
    expect(msg['OverallStatus']).toBe(
      'Error: Unable to find a handler for object type: DeliveryProfile. Object types are case-sensitive, check spelling.',
    );
    expect(resultsOf(msg)).toEqual([]);
    const inherited = await retrieve(retrieveBody('toString', ['ID']));
    expect(String(inherited['OverallStatus'])).toMatch(/^Error: Unable to find a handler for object type: toString\./);
  });

  it('answers an unsupported filter or an unknown property with an Error OverallStatus', async () => {
    const like = await retrieve(retrieveBody('List', ['ID'], simpleFilterEl('ListName', 'like', 'Sam%')));
    expect(String(like['OverallStatus'])).toMatch(/^Error: .*like/);
    const prop = await retrieve(retrieveBody('List', ['ID'], simpleFilterEl('Colour', 'equals', 'red')));
    expect(String(prop['OverallStatus'])).toMatch(/^Error: .*Colour/);
    const inherited = await retrieve(retrieveBody('List', ['ID'], simpleFilterEl('constructor', 'equals', 'x')));
    expect(String(inherited['OverallStatus'])).toMatch(/^Error: .*constructor/);
    const unknown = await retrieve(retrieveBody('List', ['ID', 'Colour']));
    expect(unknown['OverallStatus']).toBe('Error: The Request Property(s) Colour do not match with the fields of List retrieve');
  });
});
