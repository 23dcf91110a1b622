import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createSfmcClient, type CallEvent, type SfmcClient, type SfmcClientOptions } from '../../src/sfmc/client.js';
import {
  fixture,
  okReplyFor,
  performReply,
  rejection,
  retrieveReply,
  soapReply,
  startStub,
  type Stub,
  type StubReply,
  type StubRequest,
} from './support.js';

const PASSWORD = 'wsse-Pa55word!';

let stub: Stub | undefined;
let client: SfmcClient | undefined;

afterEach(async () => {
  await client?.close();
  await stub?.close();
  client = undefined;
  stub = undefined;
});

async function setup(
  handler: (req: StubRequest) => StubReply | Promise<StubReply>,
  options: Partial<SfmcClientOptions> & { timeoutMs?: number } = {},
): Promise<{ stub: Stub; client: SfmcClient; calls: CallEvent[] }> {
  stub = await startStub(handler);
  const calls: CallEvent[] = [];
  client = createSfmcClient({
    config: {
      auth: { mode: 'wsse', username: 'api-user', password: PASSWORD },
      soapUrl: `${stub.url}/Service.asmx`,
      timeoutMs: options.timeoutMs ?? 10_000,
    },
    onCall: (e) => calls.push(e),
    ...options,
  });
  return { stub, client, calls };
}

describe('calling the SOAP endpoint', () => {
  it('POSTs text/xml with the bare operation name as SOAPAction', async () => {
    const { stub, client, calls } = await setup(okReplyFor);
    await client.retrieveListsByName('Sample_List');
    await client.createSend({ emailId: '1', listId: '2' });
    await client.startImportDefinition('k');
    expect(stub.requests.map((r) => [r.method, r.path, r.headers['content-type'], r.headers['soapaction']])).toEqual([
      ['POST', '/Service.asmx', 'text/xml; charset=utf-8', 'Retrieve'],
      ['POST', '/Service.asmx', 'text/xml; charset=utf-8', 'Create'],
      ['POST', '/Service.asmx', 'text/xml; charset=utf-8', 'Perform'],
    ]);
    expect(calls.map(({ operation, objectType, outcome }) => ({ operation, objectType, outcome }))).toEqual([
      { operation: 'Retrieve', objectType: 'List', outcome: 'ok' },
      { operation: 'Create', objectType: 'Send', outcome: 'ok' },
      { operation: 'Perform', objectType: 'ImportDefinition', outcome: 'ok' },
    ]);
  });

  it('follows MoreDataAvailable with ContinueRequest = the latest RequestID and concatenates Results', async () => {
    const { stub, client } = await setup((req) => {
      const cont = /<ContinueRequest>([^<]+)<\/ContinueRequest>/.exec(req.body)?.[1];
      if (!cont) return retrieveReply('<Results xsi:type="List"><ID>1</ID></Results>', { status: 'MoreDataAvailable', requestId: 'r1' });
      if (cont === 'r1') {
        return retrieveReply('<Results xsi:type="List"><ID>2</ID></Results><Results xsi:type="List"><ID>3</ID></Results>', {
          status: 'MoreDataAvailable',
          requestId: 'r2',
        });
      }
      return retrieveReply('<Results xsi:type="List"><ID>4</ID></Results>', { requestId: 'r3' });
    });
    const lists = await client.retrieveListsByName('Big');
    expect(lists.map((l) => l.id)).toEqual(['1', '2', '3', '4']);
    const continues = stub.requests.map((r) => /<ContinueRequest>([^<]+)</.exec(r.body)?.[1]);
    expect(continues).toEqual([undefined, 'r1', 'r2']);
    // The same request each time: the filter is repeated with the continuation.
    expect(stub.requests.every((r) => r.body.includes('<Value>Big</Value>'))).toBe(true);
  });

  it('returns every list when a ListName matches several', async () => {
    const { client } = await setup(() =>
      retrieveReply(
        '<Results xsi:type="List"><ID>1</ID><ListName>Dup</ListName></Results><Results xsi:type="List"><ID>2</ID><ListName>Dup</ListName></Results>',
      ),
    );
    expect(await client.retrieveListsByName('Dup')).toEqual([
      { id: '1', name: 'Dup' },
      { id: '2', name: 'Dup' },
    ]);
  });

  it('reports an HTML gateway page as http-status and tells onCall', async () => {
    const { client, calls } = await setup(() => ({ status: 502, contentType: 'text/html', body: fixture('gateway-502.html') }));
    const e = await rejection(client.retrieveListById('1'));
    expect(e.code).toBe('http-status');
    expect(calls.map((c) => c.outcome)).toEqual(['http-status']);
  });

  it('refuses a reply larger than the cap without reading it all, whether its length is declared or not', async () => {
    const big = retrieveReply(`<Results xsi:type="List"><ID>1</ID><ListName>${'x'.repeat(64 * 1024)}</ListName></Results>`);
    for (const chunked of [false, true]) {
      const made = await setup(() => ({ ...big, chunked }), { maxResponseBytes: 16 * 1024 });
      const e = await rejection(made.client.retrieveListById('1'));
      expect(e.code).toBe('bad-response');
      expect(e.message).toMatch(/larger than 16384 bytes/);
      await made.client.close();
      await made.stub.close();
      client = undefined;
      stub = undefined;
    }
  });

  it('reads a reply sent in chunks without a Content-Length, as one with it', async () => {
    const reply = retrieveReply(`<Results xsi:type="List"><ID>7</ID><ListName>${'x'.repeat(10_000)}</ListName></Results>`);
    const { client } = await setup(() => ({ ...reply, chunked: true }));
    expect((await client.retrieveListById('7'))?.id).toBe('7');
  });

  it('gives up at the configured timeout and says the call may have taken effect', async () => {
    const { client } = await setup(() => ({ hang: true }), { timeoutMs: 300 });
    const e = await rejection(client.createSend({ emailId: '1', listId: '2' }));
    expect({ code: e.code, kind: e.kind, mayHaveTakenEffect: e.mayHaveTakenEffect }).toEqual({
      code: 'timeout',
      kind: 'retryable',
      mayHaveTakenEffect: true,
    });
  });

  it("stops when the caller's signal aborts", async () => {
    const controller = new AbortController();
    const { client } = await setup(() => {
      controller.abort();
      return { hang: true };
    });
    const e = await rejection(client.createSend({ emailId: '1', listId: '2' }, { signal: controller.signal }));
    expect(e.code).toBe('transport');
    expect(e.message).toMatch(/cancelled by the caller/);
  });

  it('reports a refused connection as not sent', async () => {
    const port = await new Promise<number>((resolve) => {
      const probe = createServer();
      probe.listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as { port: number };
        probe.close(() => resolve(port));
      });
    });
    client = createSfmcClient({
      config: { auth: { mode: 'wsse', username: 'u', password: PASSWORD }, soapUrl: `http://127.0.0.1:${port}/Service.asmx`, timeoutMs: 5_000 },
    });
    const e = await rejection(client.createSend({ emailId: '1', listId: '2' }));
    expect({ code: e.code, mayHaveTakenEffect: e.mayHaveTakenEffect }).toEqual({ code: 'transport', mayHaveTakenEffect: false });
  });

  it('reports a connection reset after the request as possibly taken effect', async () => {
    const { client } = await setup(() => ({ reset: true }));
    const e = await rejection(client.createSend({ emailId: '1', listId: '2' }));
    expect({ code: e.code, kind: e.kind, mayHaveTakenEffect: e.mayHaveTakenEffect }).toEqual({
      code: 'transport',
      kind: 'retryable',
      mayHaveTakenEffect: true,
    });
  });

  it('throws the 43030 result-error of a duplicate ImportDefinition unchanged', async () => {
    const { client } = await setup(() => ({ status: 200, body: fixture('create-import-definition-exists.response.xml') }));
    const e = await rejection(
      client.createImportDefinition({
        customerKey: 'list-send-run-42',
        name: 'n',
        listId: '1',
        fieldMappingType: 'MapByOrdinal',
        fieldMaps: [{ sourceOrdinal: 0, destinationName: 'Email Address' }],
        fileSpec: 'f.csv',
        fileType: 'CSV',
        fileTransferLocation: 'ExactTarget Enhanced FTP',
        updateType: 'AddAndUpdate',
      }),
    );
    expect(e.code).toBe('result-error');
    expect(e.context.errorCode).toBe(43030);
  });

  it('flags a Create Send answered OK without a job id as possibly created', async () => {
    const { client } = await setup(() =>
      soapReply(
        '<CreateResponse xmlns="http://exacttarget.com/wsdl/partnerAPI"><Results><StatusCode>OK</StatusCode><StatusMessage>Created.</StatusMessage><NewID>0</NewID></Results><OverallStatus>OK</OverallStatus></CreateResponse>',
      ),
    );
    const e = await rejection(client.createSend({ emailId: '1', listId: '2' }));
    expect({ code: e.code, mayHaveTakenEffect: e.mayHaveTakenEffect }).toEqual({ code: 'bad-response', mayHaveTakenEffect: true });
  });

  it('reads the task id of a Perform start', async () => {
    const { client } = await setup(() => performReply('777'));
    expect(await client.startImportDefinition('k')).toEqual({ taskId: '777' });
  });

  it('answers undefined while an import is not registered yet', async () => {
    const { client } = await setup(() => retrieveReply(''));
    expect(await client.retrieveImportResults('777')).toBeUndefined();
  });

  it('refuses a reply element that does not belong to the operation', async () => {
    const { client } = await setup(() => performReply());
    const e = await rejection(client.retrieveListById('1'));
    expect(e.code).toBe('bad-response');
    expect(e.message).toMatch(/expected RetrieveResponseMsg/);
  });

  it('never puts the password in an error message, even when the server echoes it', async () => {
    const { client } = await setup(() => ({
      status: 500,
      body: fixture('fault-login-failed.xml').replace('Login failed', `Login failed for api-user/${PASSWORD}`),
    }));
    const e = await rejection(client.retrieveListById('1'));
    expect(e.code).toBe('security-fault');
    expect(e.message).not.toContain(PASSWORD);
    expect(e.message).toContain('[redacted]');
    expect(e.stack).not.toContain(PASSWORD);
    expect(JSON.stringify(e)).not.toContain(PASSWORD);
  });
});
