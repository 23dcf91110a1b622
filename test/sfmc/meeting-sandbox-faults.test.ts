import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { createSfmcClient, type SfmcClient } from '../../src/sfmc/client.js';
import { SfmcError } from '../../src/sfmc/errors.js';

/** The sandbox's injected faults, as the client classifies them end to end over real HTTP. */

let sandbox: Sandbox;
let client: SfmcClient;

beforeAll(async () => {
  sandbox = await createSandbox();
  client = createSfmcClient({
    config: {
      auth: {
        mode: 'oauth2',
        authUrl: sandbox.url,
        clientId: sandbox.credentials.clientId,
        clientSecret: sandbox.credentials.clientSecret,
      },
      timeoutMs: 10_000,
    },
  });
});

afterEach(() => sandbox.faults.clear());

afterAll(async () => {
  await client.close();
  await sandbox.close();
});

async function verdictOf(promise: Promise<unknown>) {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(SfmcError);
    const e = err as SfmcError;
    return { code: e.code, kind: e.kind, mayHaveTakenEffect: e.mayHaveTakenEffect };
  }
  throw new Error('expected the call to fail');
}

const send = () => client.createSend({ emailId: '123', listId: '123' });

describe('meeting the sandbox faults', () => {
  it('reads SFMC throttling (HTTP 500 "Rate Limited" server fault) as throttled', async () => {
    sandbox.faults.inject({ operation: 'Create', objectType: 'Send', kind: 'throttle' });
    expect(await verdictOf(send())).toEqual({ code: 'throttled', kind: 'throttled', mayHaveTakenEffect: true });
  });

  it('reads a bare throttling 500 (empty text/plain) as throttled too', async () => {
    sandbox.faults.inject({ operation: 'Create', objectType: 'Send', kind: 'throttle', bare: true });
    expect(await verdictOf(send())).toEqual({ code: 'throttled', kind: 'throttled', mayHaveTakenEffect: true });
  });

  it('reads an SFMC database timeout on a Retrieve as retryable', async () => {
    sandbox.faults.inject({ operation: 'Retrieve', objectType: 'List', kind: 'db-timeout' });
    expect(await verdictOf(client.retrieveListById('123'))).toEqual({ code: 'result-error', kind: 'retryable', mayHaveTakenEffect: false });
  });

  it('reads a gateway page after the send was created as http-status that may have taken effect', async () => {
    const before = sandbox.state.sends.length;
    sandbox.faults.inject({ operation: 'Create', objectType: 'Send', kind: 'html-502', afterCommit: true });
    expect(await verdictOf(send())).toEqual({ code: 'http-status', kind: 'retryable', mayHaveTakenEffect: true });
    expect(sandbox.state.sends.length).toBe(before + 1);
  });

  it('reads a connection dropped after commit as transport that may have taken effect', async () => {
    sandbox.faults.inject({ operation: 'Create', objectType: 'Send', kind: 'drop-after-commit' });
    expect(await verdictOf(send())).toEqual({ code: 'transport', kind: 'retryable', mayHaveTakenEffect: true });
  });

  it('reads apifault 9 as a retryable server fault and 11 as fatal', async () => {
    sandbox.faults.inject({ operation: 'Retrieve', kind: 'server-fault', apiFaultCode: 9 });
    expect(await verdictOf(client.retrieveListById('123'))).toEqual({
      code: 'server-fault',
      kind: 'retryable',
      mayHaveTakenEffect: false,
    });
    sandbox.faults.inject({ operation: 'Retrieve', kind: 'server-fault', apiFaultCode: 11 });
    expect(await verdictOf(client.retrieveListById('123'))).toEqual({ code: 'server-fault', kind: 'fatal', mayHaveTakenEffect: false });
  });

  it('works again once the faults are gone', async () => {
    expect(await client.retrieveListById('123')).toEqual({ id: '123', name: 'Sample_List' });
  });
});
