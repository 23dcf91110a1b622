import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Sandbox } from '../../src/sandbox/index.js';
import { bodyOf, createSendBody, envelope, login, PARTNER_NS, resultsOf, soap, startSandbox, type Login } from './helpers.js';

describe('sandbox Create Send', () => {
  let sb: Sandbox;
  let auth: Login;

  beforeEach(async () => {
    sb = await startSandbox();
    auth = await login(sb);
  });
  afterEach(() => sb.close());

  const create = async (body: string) => bodyOf(await soap(sb, 'Create', envelope(body, auth)), 'CreateResponse');

  it('gives each send a new, increasing numeric id and records every one', async () => {
    const first = resultsOf(await create(createSendBody('123', '123')))[0];
    const second = resultsOf(await create(createSendBody('123', '123')))[0];
    expect(first).toMatchObject({ StatusCode: 'OK', Object: { '@_type': 'Send', ID: first?.['NewID'] } });
    expect(Number(second?.['NewID'])).toBeGreaterThan(Number(first?.['NewID']));
    expect(sb.state.sends.map((s) => s.id)).toEqual([first?.['NewID'], second?.['NewID']]);
  });

  it('refuses an email that does not exist with 7007 and records nothing', async () => {
    const msg = await create(createSendBody('999', '123'));
    expect(msg['OverallStatus']).toBe('Error');
    expect(resultsOf(msg)[0]).toMatchObject({ StatusCode: 'Error', ErrorCode: '7007', NewID: '0' });
    expect(sb.state.sends).toEqual([]);
  });

  it('refuses a list that does not exist with 13004, and a send without a list with 7002', async () => {
    expect(resultsOf(await create(createSendBody('123', '999')))[0]).toMatchObject({ ErrorCode: '13004' });
    const noList = `<CreateRequest xmlns="${PARTNER_NS}"><Options/><Objects xsi:type="Send"><Email><ID>123</ID></Email></Objects></CreateRequest>`;
    expect(resultsOf(await create(noList))[0]).toMatchObject({ ErrorCode: '7002' });
    expect(sb.state.sends).toEqual([]);
  });

  it('refuses to Create a type the sandbox does not model with code 5', async () => {
    const body = `<CreateRequest xmlns="${PARTNER_NS}"><Options/><Objects xsi:type="Email"><Name>x</Name></Objects></CreateRequest>`;
    const msg = await create(body);
    expect(msg['OverallStatus']).toBe('Error');
    expect(resultsOf(msg)[0]).toMatchObject({ StatusCode: 'Error', ErrorCode: '5' });
  });

  it('sends to lists added at run time', async () => {
    const list = sb.addList({ name: 'Added' });
    const email = sb.addEmail({ id: 777, name: 'Added Email' });
    expect(resultsOf(await create(createSendBody(email.id, list.id)))[0]?.['StatusCode']).toBe('OK');
    expect(sb.state.sends[0]).toMatchObject({ emailId: '777', listId: list.id });
  });
});
