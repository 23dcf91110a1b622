import { describe, expect, it } from 'vitest';
import { parseEnvelope } from '../../src/sfmc/envelope.js';
import {
  readCreateResponse,
  readPerformResponse,
  readRetrieveResponse,
  toImportResultsSummary,
  toList,
  toListSend,
  toSend,
} from '../../src/sfmc/responses.js';
import { fixture } from './support.js';

/** A recorded 200 text/xml reply, parsed to the Body's child. */
const body = (name: string) => parseEnvelope(200, 'text/xml; charset=utf-8', fixture(name));

describe("parsing the seed's sample responses", () => {
  it('reads the Retrieve List response into one list with its ID', () => {
    const reply = body('seed-retrieve-list.response.xml');
    expect(reply.name).toBe('RetrieveResponseMsg');
    const page = readRetrieveResponse(reply.value);
    expect(page).toMatchObject({ overallStatus: 'OK', requestId: '49d17e84-c178-408d-97b4-90a17890e2df' });
    expect(page.results.map(toList)).toEqual([{ id: '123' }]);
  });

  it('reads the Create ImportDefinition response into its NewObjectID', () => {
    const reply = body('seed-create-import-definition.response.xml');
    expect(reply.name).toBe('CreateResponse');
    const outcome = readCreateResponse(reply.value);
    expect(outcome.overallStatus).toBe('OK');
    expect(outcome.requestId).toBe('295f0445-c04b-4611-97bd-48951b59283c');
    expect(outcome.results).toHaveLength(1);
    expect(outcome.results[0]).toMatchObject({
      statusCode: 'OK',
      statusMessage: 'ImportDefinition created.',
      ordinalId: 0,
      newId: '0',
      newObjectId: 'b026fa12-28c3-de11-8abe-001cc494a3a4',
    });
    // SFMC's echo of the whole object created is not read: it stays the raw text the parser skipped.
    expect(outcome.results[0]).not.toHaveProperty('object');
    const echoed = (reply.value['Results'] as Record<string, unknown>[])[0]?.['Object'] as Record<string, unknown>;
    expect(echoed['#text']).toContain('<FieldMaps>');
    expect(echoed).not.toHaveProperty('FieldMaps');
  });

  it('reads the Perform start response through its Results/Result wrapper to the task id', () => {
    const reply = body('seed-perform-start.response.xml');
    expect(reply.name).toBe('PerformResponseMsg');
    expect(readPerformResponse(reply.value)).toEqual({
      overallStatus: 'OK',
      requestId: 'bda5a2c0-2647-418a-859b-06c717046037',
      results: [
        {
          statusCode: 'OK',
          statusMessage: 'ImportDefinition performed AsyncID:129159023',
          taskId: '129159023',
          taskStatusCode: 'OK',
          taskStatusMessage: 'OK',
          interactionObjectId: '5e1ad037-29c3-de11-8abe-001cc494a3a4',
        },
      ],
    });
  });

  it('reads the ImportResultsSummary response, counting missing counts as 0', () => {
    const page = readRetrieveResponse(body('seed-import-results-summary.response.xml').value);
    expect(page.results.map(toImportResultsSummary)).toEqual([
      {
        importDefinitionCustomerKey: 'SAP_IMP_KEY_1',
        importStatus: 'Completed',
        destinationId: '1942713',
        numberSuccessful: 1,
        numberErrors: 0,
        numberDuplicated: 0,
        totalRows: 0,
      },
    ]);
  });
});

describe('parsing Send responses (constructed fixtures, not from the seed)', () => {
  it('reads a Create Send response into the job id (NewID)', () => {
    const outcome = readCreateResponse(body('create-send.response.xml').value);
    expect(outcome.results[0]?.newId).toBe('88001');
  });

  it('reads a Send with several List elements into all their ids', () => {
    const page = readRetrieveResponse(body('retrieve-sends.response.xml').value);
    expect(page.results.map(toSend)).toEqual([
      { id: '88001', emailId: '123', listIds: ['1942713', '1942714'], sendDate: '2024-05-14T04:12:30.117', status: 'Complete' },
      { id: '88002', emailId: '123', listIds: [], sendDate: '2024-05-14T05:00:00', status: 'Scheduled' },
    ]);
  });

  it("reads ListSend rows into the Send's List ids, skipping a row without a List", () => {
    const page = readRetrieveResponse(body('retrieve-list-sends.response.xml').value);
    expect(page.results.map(toListSend)).toEqual([{ sendId: '88001', listId: '1942713' }, { sendId: '88001', listId: '1942714' }, undefined]);
  });

  it('keeps ids as strings exactly as sent, leading zeros included', () => {
    const reply = parseEnvelope(
      200,
      'text/xml',
      '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soap:Body><RetrieveResponseMsg xmlns="http://exacttarget.com/wsdl/partnerAPI"><OverallStatus>MoreDataAvailable</OverallStatus><RequestID>r</RequestID><Results xsi:type="List"><ID>0012</ID><ListName>A &amp; B</ListName></Results></RetrieveResponseMsg></soap:Body></soap:Envelope>',
    );
    const page = readRetrieveResponse(reply.value);
    expect(page.overallStatus).toBe('MoreDataAvailable');
    expect(page.results.map(toList)).toEqual([{ id: '0012', name: 'A & B' }]);
  });
});
