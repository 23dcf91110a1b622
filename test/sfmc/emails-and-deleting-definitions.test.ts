import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { createSfmcClient, type SfmcClient } from '../../src/sfmc/client.js';
import { SfmcError } from '../../src/sfmc/errors.js';
import type { ImportDefinitionSpec } from '../../src/sfmc/types.js';

/**
 * Retrieving an Email by ID and deleting an ImportDefinition by CustomerKey, end to end over real
 * HTTP: the sandbox checks every request body against the partner WSDL, so these also show the
 * Retrieve of Email and the DeleteRequest are schema-valid.
 */

let sandbox: Sandbox;
let keyOneSandbox: Sandbox;
let client: SfmcClient;
let keyOneClient: SfmcClient;

function clientFor(sb: Sandbox): SfmcClient {
  return createSfmcClient({
    config: {
      auth: { mode: 'oauth2', authUrl: sb.url, clientId: sb.credentials.clientId, clientSecret: sb.credentials.clientSecret },
      timeoutMs: 10_000,
    },
  });
}

beforeAll(async () => {
  sandbox = await createSandbox({ schemaCheck: true });
  keyOneSandbox = await createSandbox({ schemaCheck: true, duplicateKeyErrorCode: 1 });
  client = clientFor(sandbox);
  keyOneClient = clientFor(keyOneSandbox);
});

afterAll(async () => {
  await Promise.all([client.close(), keyOneClient.close()]);
  await Promise.all([sandbox.close(), keyOneSandbox.close()]);
});

const spec = (customerKey: string): ImportDefinitionSpec => ({
  customerKey,
  name: `definition ${customerKey}`,
  listId: '123',
  fieldMappingType: 'MapByOrdinal',
  fieldMaps: [{ sourceOrdinal: 0, destinationName: 'Email Address' }],
  fileSpec: 'subscribers.csv',
  fileType: 'CSV',
  fileTransferLocation: 'ExactTarget Enhanced FTP',
  updateType: 'AddAndUpdate',
});

async function rejection(promise: Promise<unknown>): Promise<SfmcError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(SfmcError);
    return err as SfmcError;
  }
  throw new Error('expected the call to fail');
}

describe('retrieving an Email by ID', () => {
  it('returns the seeded Email with its name and subject', async () => {
    expect(await client.retrieveEmailById('123')).toEqual({ id: '123', name: 'Sample Email', subject: 'A sample subject' });
  });

  it('returns an Email added to the sandbox', async () => {
    const added = sandbox.addEmail({ name: 'Spring sale', subject: 'Spring is here' });
    expect(await client.retrieveEmailById(added.id)).toEqual({ id: added.id, name: 'Spring sale', subject: 'Spring is here' });
  });

  it('returns undefined for an Email ID that does not exist', async () => {
    expect(await client.retrieveEmailById('987654')).toBeUndefined();
  });
});

describe('deleting an ImportDefinition by CustomerKey', () => {
  it('deletes it, and a second delete finds nothing (43010)', async () => {
    await client.createImportDefinition(spec('DEL-1'));
    expect(Object.keys(sandbox.state.importDefinitions)).toContain('DEL-1');
    expect(await client.deleteImportDefinition('DEL-1')).toEqual({ deleted: true });
    expect(Object.keys(sandbox.state.importDefinitions)).not.toContain('DEL-1');
    expect(await client.deleteImportDefinition('DEL-1')).toEqual({ deleted: false });
    const deletes = sandbox.calls().filter((c) => c.operation === 'Delete');
    expect(deletes).toHaveLength(2);
    expect(deletes.every((c) => c.soapAction === 'Delete' && c.objectType === 'ImportDefinition' && c.httpStatus === 200)).toBe(true);
  });

  it('passes other refusals on as errors', async () => {
    sandbox.faults.inject({ operation: 'Delete', kind: 'server-fault', apiFaultCode: 11 });
    const e = await rejection(client.deleteImportDefinition('ANY'));
    expect(e.kind).toBe('fatal');
    sandbox.faults.clear();
  });
});

describe('a taken ImportDefinition CustomerKey', () => {
  it('is refused with ErrorCode 43030 "ImportDefinition Exists" by default', async () => {
    await client.createImportDefinition(spec('DUP-43030'));
    const e = await rejection(client.createImportDefinition(spec('DUP-43030')));
    expect(e.context).toMatchObject({ errorCode: 43030, statusMessage: 'ImportDefinition Exists' });
  });

  it('is refused with ErrorCode 1 "Name already exists" when the sandbox is set to', async () => {
    await keyOneClient.createImportDefinition(spec('DUP-1'));
    const e = await rejection(keyOneClient.createImportDefinition(spec('DUP-1')));
    expect(e.context).toMatchObject({ errorCode: 1, statusMessage: 'Name already exists' });
  });
});
