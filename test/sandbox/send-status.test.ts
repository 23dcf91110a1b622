import { afterEach, describe, expect, it } from 'vitest';
import { createSandbox, type Sandbox } from '../../src/sandbox/index.js';
import type { SandboxOptions } from '../../src/sandbox/types.js';
import { createSfmcClient, type SfmcClient } from '../../src/sfmc/client.js';

/**
 * A Send's progress over real SOAP: the client's status check (retrieveSendStatus) against the
 * sandbox, which checks every request body against the partner WSDL.
 */

let sandbox: Sandbox | undefined;
let client: SfmcClient | undefined;

afterEach(async () => {
  await client?.close();
  await sandbox?.close();
  client = undefined;
  sandbox = undefined;
});

async function start(options: SandboxOptions = {}): Promise<SfmcClient> {
  sandbox = await createSandbox({ schemaCheck: true, import: { registerDelayMs: 0, durationMs: 0, rows: 40 }, ...options });
  client = createSfmcClient({
    config: {
      auth: { mode: 'oauth2', authUrl: sandbox.url, clientId: sandbox.credentials.clientId, clientSecret: sandbox.credentials.clientSecret },
      timeoutMs: 10_000,
    },
  });
  return client;
}

/** Imports `rows` subscribers into List 123 (the seed's) and sends the seed Email to it. */
async function sendAfterImport(c: SfmcClient, sender: { fromName?: string; fromAddress?: string; subject?: string } = {}): Promise<string> {
  await c.createImportDefinition({
    customerKey: 'status-run',
    name: 'status run',
    listId: '123',
    fieldMappingType: 'MapByOrdinal',
    fieldMaps: [{ sourceOrdinal: 0, destinationName: 'Email Address' }],
    fileSpec: 'status.csv',
    fileType: 'CSV',
    fileTransferLocation: 'ExactTarget Enhanced FTP',
    updateType: 'AddAndUpdate',
  });
  await c.startImportDefinition('status-run');
  const { sendId } = await c.createSend({ emailId: '123', listId: '123', ...sender });
  return sendId;
}

describe('a sandbox Send going out', () => {
  it('answers Sending for two checks, then Complete with the imported subscribers as sent and delivered', async () => {
    const c = await start();
    const sendId = await sendAfterImport(c);
    const first = await c.retrieveSendStatus(sendId);
    const second = await c.retrieveSendStatus(sendId);
    expect([first?.status, second?.status]).toEqual(['Sending', 'Sending']);
    expect(first).toMatchObject({ numberSent: 0, numberDelivered: 0 });
    expect(first).not.toHaveProperty('sentAt');

    const third = await c.retrieveSendStatus(sendId);
    expect(third).toMatchObject({ id: sendId, status: 'Complete', numberSent: 40, numberDelivered: 40, hardBounces: 0, softBounces: 0, otherBounces: 0 });
    expect(third?.sentAt).toEqual(expect.any(Number));
    // Final stays final, with the same SentDate.
    expect(await c.retrieveSendStatus(sendId)).toEqual(third);
  });

  it('takes the number of Sending checks and the bounces from its options', async () => {
    const c = await start({ send: { checksUntilFinal: 0, hardBounces: 3, softBounces: 2, otherBounces: 1 } });
    const sendId = await sendAfterImport(c);
    expect(await c.retrieveSendStatus(sendId)).toMatchObject({
      status: 'Complete',
      numberSent: 40,
      numberDelivered: 34,
      hardBounces: 3,
      softBounces: 2,
      otherBounces: 1,
    });
  });

  it('can end a Send in a failure status, with nothing sent', async () => {
    const c = await start({ send: { checksUntilFinal: 1 } });
    sandbox!.setSendBehaviour({ finalStatus: 'Error' });
    const sendId = await sendAfterImport(c);
    expect((await c.retrieveSendStatus(sendId))?.status).toBe('Sending');
    expect(await c.retrieveSendStatus(sendId)).toMatchObject({ status: 'Error', numberSent: 0, numberDelivered: 0 });
  });

  it('counts only subscribers of imports that completed into the Send\'s List', async () => {
    const c = await start({ send: { checksUntilFinal: 0 } });
    sandbox!.setImportBehaviour({ outcome: 'Error' });
    const sendId = await sendAfterImport(c);
    expect(await c.retrieveSendStatus(sendId)).toMatchObject({ status: 'Complete', numberSent: 0, numberDelivered: 0 });
  });

  it('answers undefined for a Send id it does not have', async () => {
    const c = await start();
    expect(await c.retrieveSendStatus('424242')).toBeUndefined();
  });
});

describe('the send behaviour over the control endpoint', () => {
  it('POST /__sandbox/send-behaviour changes the next Sends and refuses a status it does not model', async () => {
    const c = await start();
    const post = (body: unknown) =>
      fetch(`${sandbox!.url}/__sandbox/send-behaviour`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const set = await post({ checksUntilFinal: 0, finalStatus: 'Canceled' });
    expect(set.status).toBe(200);
    expect(await set.json()).toEqual({ checksUntilFinal: 0, finalStatus: 'Canceled', hardBounces: 0, softBounces: 0, otherBounces: 0 });
    const sendId = await sendAfterImport(c);
    expect((await c.retrieveSendStatus(sendId))?.status).toBe('Canceled');
    expect((await post({ finalStatus: 'Exploded' })).status).toBe(400);
  });
});

describe('sender options on a Send', () => {
  it('reach the stored Send as given, escaped on the way and unescaped by the sandbox', async () => {
    const c = await start();
    const sendId = await sendAfterImport(c, { fromName: 'News & "Co"', fromAddress: 'news@example.com', subject: 'Hello <there>' });
    expect(sandbox!.state.sends).toMatchObject([
      { id: sendId, fromName: 'News & "Co"', fromAddress: 'news@example.com', subject: 'Hello <there>' },
    ]);
  });

  it('are absent from the stored Send when the request has none', async () => {
    const c = await start();
    await sendAfterImport(c);
    const [stored] = sandbox!.state.sends;
    expect(stored).not.toHaveProperty('fromName');
    expect(stored).not.toHaveProperty('fromAddress');
    expect(stored).not.toHaveProperty('subject');
  });
});
