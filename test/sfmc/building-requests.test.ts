import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSfmcClient, type SfmcClient } from '../../src/sfmc/client.js';
import { buildEnvelope, fueloauthHeader } from '../../src/sfmc/envelope.js';
import {
  createRequest,
  importDefinitionObject,
  importDefinitionRef,
  performRequest,
  retrieveRequest,
  sendObject,
} from '../../src/sfmc/requests.js';
import { SEND_STATUS_PROPERTIES } from '../../src/sfmc/send-status.js';
import type { ImportDefinitionSpec } from '../../src/sfmc/types.js';
import { serialize, type XmlNode } from '../../src/sfmc/xml.js';
import { libxml2Validate } from '../helpers/xsd.js';
import {
  bodyDocument,
  okReplyFor,
  retrieveReply,
  schemaAvailable,
  schemaSkipNotice,
  startStub,
  type Stub,
} from './support.js';

const MINIMAL_SPEC: ImportDefinitionSpec = {
  customerKey: 'list-send-run-42',
  name: 'list-send run 42',
  listId: '123',
  fieldMappingType: 'MapByOrdinal',
  fieldMaps: [{ sourceOrdinal: 0, destinationName: 'Email Address' }],
  fileSpec: 'list-send-run-42.csv',
  fileType: 'CSV',
  fileTransferLocation: 'ExactTarget Enhanced FTP',
  updateType: 'AddAndUpdate',
};

const FULL_SPEC: ImportDefinitionSpec = {
  ...MINIMAL_SPEC,
  description: 'Subscribers for run 42 & friends <test>',
  allowErrors: true,
  fieldMaps: [
    { sourceOrdinal: 0, destinationName: 'Email Address' },
    { sourceName: 'Subscriber Key', destinationName: 'Subscriber Key' },
  ],
  notification: { responseType: 'email', responseAddress: 'ops@example.com', respondWhen: 'OnError' },
  subscriberImportType: 'Email',
  delimiter: ';',
  headerLines: 1,
  standardQuotedStrings: true,
  dateFormattingLocale: 'en-US',
  deleteFile: false,
};

/** Element names of a node's children, in order. */
const childNames = (node: XmlNode): string[] => (node.children ?? []).map((c) => c.name);

describe('building requests', () => {
  it('puts Options before Action in a Perform request, as the schema orders them', () => {
    const body = performRequest('start', [importDefinitionRef('SAP_IMP_KEY_1')]);
    expect(childNames(body)).toEqual(['Options', 'Action', 'Definitions']);
    expect(serialize(body)).toBe(
      '<PerformRequestMsg><Options/><Action>start</Action><Definitions><Definition xsi:type="ImportDefinition"><CustomerKey>SAP_IMP_KEY_1</CustomerKey></Definition></Definitions></PerformRequestMsg>',
    );
  });

  it('sends an empty Options first in a Create request and names each object Objects', () => {
    const body = createRequest([sendObject({ emailId: '123', listId: '456' })]);
    expect(serialize(body)).toBe(
      '<CreateRequest><Options/><Objects xsi:type="Send"><Email><ID>123</ID></Email><List><ID>456</ID></List></Objects></CreateRequest>',
    );
  });

  it('orders every ImportDefinition field as the schema does, inherited fields first', () => {
    expect(childNames(importDefinitionObject(FULL_SPEC))).toEqual([
      'CustomerKey', // APIObject
      'Name', // InteractionBaseObject
      'Description',
      'AllowErrors', // ImportDefinition's own, in xs:sequence order
      'DestinationObject',
      'FieldMappingType',
      'FieldMaps',
      'FileSpec',
      'FileType',
      'Notification',
      'RetrieveFileTransferLocation',
      'SubscriberImportType',
      'UpdateType',
      'Delimiter',
      'HeaderLines',
      'StandardQuotedStrings',
      'DateFormattingLocale',
      'DeleteFile',
    ]);
  });

  it('omits optional ImportDefinition fields that are not set instead of sending empty tags', () => {
    expect(childNames(importDefinitionObject(MINIMAL_SPEC))).toEqual([
      'CustomerKey',
      'Name',
      'DestinationObject',
      'FieldMappingType',
      'FieldMaps',
      'FileSpec',
      'FileType',
      'RetrieveFileTransferLocation',
      'UpdateType',
    ]);
  });

  it('references the destination list by numeric ID with xsi:type List', () => {
    const xml = serialize(importDefinitionObject(MINIMAL_SPEC));
    expect(xml).toContain('<DestinationObject xsi:type="List"><ID>123</ID></DestinationObject>');
    expect(xml).toContain('<RetrieveFileTransferLocation><CustomerKey>ExactTarget Enhanced FTP</CustomerKey></RetrieveFileTransferLocation>');
  });

  it('refuses a list id that is not an xsd:int before anything is sent', () => {
    expect(() => importDefinitionObject({ ...MINIMAL_SPEC, listId: 'Sample_List' })).toThrow(/listId must be a whole number/);
    expect(() => sendObject({ emailId: '12.5', listId: '1' })).toThrow(/emailId must be a whole number/);
  });

  it('building a Send with sender options puts them in the WSDL order and escapes them', () => {
    const body = createRequest([sendObject({ emailId: '123', listId: '456', subject: 'Q&A <today>', fromName: 'News "Team"', fromAddress: 'news@example.com' })]);
    const send = body.children?.find((c) => c.name === 'Objects') as XmlNode;
    // Send's sequence: Email, List, SendDate, FromAddress, FromName, ... Subject (partner WSDL).
    expect(childNames(send)).toEqual(['Email', 'List', 'FromAddress', 'FromName', 'Subject']);
    expect(serialize(body)).toContain('<FromAddress>news@example.com</FromAddress><FromName>News &quot;Team&quot;</FromName><Subject>Q&amp;A &lt;today&gt;</Subject>');
  });

  it('building a Send status check asks for the Send by ID with exactly the tracking properties', () => {
    const xml = serialize(retrieveRequest({ objectType: 'Send', properties: [...SEND_STATUS_PROPERTIES], filter: { property: 'ID', operator: 'equals', value: '88001' } }));
    expect(xml).toContain('<ObjectType>Send</ObjectType>');
    expect([...xml.matchAll(/<Properties>([^<]+)<\/Properties>/g)].map((m) => m[1])).toEqual([
      'ID', 'Status', 'SentDate', 'NumberSent', 'NumberDelivered', 'HardBounces', 'SoftBounces', 'OtherBounces', 'Unsubscribes', 'UniqueOpens', 'UniqueClicks',
    ]);
    expect(xml).toContain('<Property>ID</Property><SimpleOperator>equals</SimpleOperator><Value>88001</Value>');
  });

  it('writes a complex filter as nested FilterParts with DateValue as SFMC server time (CST, no offset)', () => {
    const body = retrieveRequest({
      objectType: 'Send',
      properties: ['ID'],
      filter: {
        left: { property: 'Email.ID', operator: 'equals', value: '123' },
        logicalOperator: 'AND',
        right: { property: 'SendDate', operator: 'greaterThanOrEqual', dateValue: new Date('2024-05-14T09:00:00Z') },
      },
    });
    expect(serialize(body)).toContain(
      '<Filter xsi:type="ComplexFilterPart"><LeftOperand xsi:type="SimpleFilterPart"><Property>Email.ID</Property><SimpleOperator>equals</SimpleOperator><Value>123</Value></LeftOperand><LogicalOperator>AND</LogicalOperator><RightOperand xsi:type="SimpleFilterPart"><Property>SendDate</Property><SimpleOperator>greaterThanOrEqual</SimpleOperator><DateValue>2024-05-14T03:00:00</DateValue></RightOperand></Filter>',
    );
  });

  it('places ContinueRequest and QueryAllAccounts after the filter, as the schema orders them', () => {
    const body = retrieveRequest({
      objectType: 'List',
      properties: ['ID', 'ListName'],
      filter: { property: 'ID', operator: 'IN', values: ['1', '2'] },
      continueRequest: 'abc',
      queryAllAccounts: true,
    });
    expect(childNames(body.children?.[0] as XmlNode)).toEqual([
      'ObjectType',
      'Properties',
      'Properties',
      'Filter',
      'ContinueRequest',
      'QueryAllAccounts',
    ]);
    expect(serialize(body)).toContain('<Value>1</Value><Value>2</Value>');
  });

  it('escapes text so a hostile name cannot change the document', () => {
    const xml = serialize(retrieveRequest({ objectType: 'List', properties: ['ID'], filter: { property: 'ListName', operator: 'equals', value: '</Value><x>' } }));
    expect(xml).toContain('<Value>&lt;/Value&gt;&lt;x&gt;</Value>');
  });
});

schemaSkipNotice('building-requests');

describe.skipIf(!schemaAvailable)('every request the client sends validates against the partner WSDL schema', () => {
  let stub: Stub;
  let client: SfmcClient;
  const sent = new Map<string, string>();

  beforeAll(async () => {
    stub = await startStub((req) => {
      // The paging case: the first page of "Paged_List" says MoreDataAvailable.
      if (req.body.includes('<Value>Paged_List</Value>') && !req.body.includes('<ContinueRequest>')) {
        return retrieveReply('<Results xsi:type="List"><ID>1</ID></Results>', { status: 'MoreDataAvailable', requestId: 'page-1' });
      }
      return okReplyFor(req);
    });
    client = createSfmcClient({
      config: { auth: { mode: 'wsse', username: 'api-user', password: 'pw' }, soapUrl: `${stub.url}/Service.asmx`, timeoutMs: 10_000 },
    });
    const capture = async (name: string, call: () => Promise<unknown>) => {
      const before = stub.requests.length;
      await call();
      stub.requests.slice(before).forEach((r, i) => sent.set(i === 0 ? name : `${name} (page ${i + 1})`, r.body));
    };
    await capture('Retrieve List by name', () => client.retrieveListsByName('Sample_List'));
    await capture('Retrieve List by id', () => client.retrieveListById('123'));
    await capture('Retrieve ImportDefinition by CustomerKey', () => client.retrieveImportDefinition('list-send-run-42'));
    await capture('Retrieve ImportResultsSummary by TaskResultID', () => client.retrieveImportResults('129159023'));
    await capture('Retrieve ImportResultsSummary by definition', () => client.retrieveImportResultsByDefinition('list-send-run-42'));
    await capture('Retrieve Send by id', () => client.retrieveSendById('88001'));
    await capture('Retrieve Sends by email and date', () => client.retrieveSendsByEmail('123', new Date('2024-05-14T09:00:00Z')));
    await capture('Retrieve ListSend by SendID', () => client.retrieveListSends('88001'));
    await capture('Retrieve with ContinueRequest', () => client.retrieveListsByName('Paged_List'));
    await capture('Create ImportDefinition (minimal)', () => client.createImportDefinition(MINIMAL_SPEC));
    await capture('Create ImportDefinition (every optional field)', () => client.createImportDefinition(FULL_SPEC));
    await capture('Create Send', () => client.createSend({ emailId: '123', listId: '456' }));
    await capture('Create Send with sender options', () =>
      client.createSend({ emailId: '123', listId: '456', fromAddress: 'news@example.com', fromName: 'News & Co', subject: 'Hello <there>' }),
    );
    await capture('Retrieve Send status by id', () => client.retrieveSendStatus('88001'));
    await capture('Perform start', () => client.startImportDefinition('list-send-run-42'));
  });

  afterAll(async () => {
    await client?.close();
    await stub?.close();
  });

  it('captured one request per shape, the paged retrieve twice', () => {
    expect([...sent.keys()]).toContain('Retrieve with ContinueRequest (page 2)');
    expect(sent.get('Retrieve with ContinueRequest (page 2)')).toContain('<ContinueRequest>page-1</ContinueRequest>');
    expect(sent.size).toBe(16);
  });

  it('has libxml2 accept every Body the client sent', async () => {
    const docs = Object.fromEntries([...sent].map(([name, envelope]) => [name, bodyDocument(envelope)]));
    const errors = await libxml2Validate(docs);
    expect(errors).toEqual(Object.fromEntries([...sent.keys()].map((name) => [name, []])));
  });

  it('has libxml2 accept the same bodies inside an OAuth2 envelope', async () => {
    const bodies: Record<string, XmlNode> = {
      retrieve: retrieveRequest({ objectType: 'List', properties: ['ID'], filter: { property: 'ListName', operator: 'equals', value: 'x' } }),
      create: createRequest([importDefinitionObject(FULL_SPEC)]),
      perform: performRequest('start', [importDefinitionRef('k')]),
    };
    const docs = Object.fromEntries(
      Object.entries(bodies).map(([name, body]) => [name, bodyDocument(buildEnvelope([fueloauthHeader('t0ken')], body))]),
    );
    expect(await libxml2Validate(docs)).toEqual({ retrieve: [], create: [], perform: [] });
  });

  it("has libxml2 refuse the seed's Perform order (Action before Options), so the check bites", async () => {
    const seedOrder = `<PerformRequestMsg xmlns="http://exacttarget.com/wsdl/partnerAPI" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
      <Action>start</Action>
      <Options></Options>
      <Definitions><Definition xsi:type="ImportDefinition"><CustomerKey>SAP_IMP_KEY_1</CustomerKey></Definition></Definitions>
    </PerformRequestMsg>`;
    const { seed } = await libxml2Validate({ seed: seedOrder });
    expect(seed).toHaveLength(1);
    expect(seed?.[0]).toMatch(/Options.*not expected/);
  });
});
