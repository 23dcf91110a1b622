import { describe, expect, it } from 'vitest';
import { extractBodyChild, soapActionOf } from '../../src/sandbox/envelope.js';
import { withApiField } from '../../src/sandbox/objects.js';

describe('extracting the Body child for schema validation', () => {
  it('copies namespace declarations the child inherits from the Envelope and Body', () => {
    const xml =
      '<?xml version="1.0"?><!-- a --><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" ' +
      'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Header/>' +
      '<soapenv:Body xmlns:ns1="urn:one"> <!-- b --><R xmlns="urn:r" a="x>y"><V xsi:type="ns1:T"/></R> </soapenv:Body></soapenv:Envelope>';
    expect(extractBodyChild(xml)).toBe(
      '<R xmlns="urn:r" a="x>y" xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" ' +
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:ns1="urn:one"><V xsi:type="ns1:T"/></R>',
    );
  });

  it('keeps the declarations the child makes itself instead of adding the inherited ones', () => {
    const xml = '<s:Envelope xmlns:s="urn:s" xmlns:xsi="urn:outer"><s:Body><R xmlns:xsi="urn:inner"/></s:Body></s:Envelope>';
    expect(extractBodyChild(xml)).toBe('<R xmlns:xsi="urn:inner" xmlns:s="urn:s"/>');
  });

  it('finds nothing in a document without an Envelope or with an empty Body', () => {
    expect(extractBodyChild('<Body><R/></Body>')).toBeUndefined();
    expect(extractBodyChild('<s:Envelope xmlns:s="urn:s"><s:Body/></s:Envelope>')).toBeUndefined();
  });
});

describe('reading the SOAPAction', () => {
  it('strips quotes and falls back to the SOAP 1.2 action parameter', () => {
    expect(soapActionOf('"Create"', 'text/xml')).toBe('Create');
    expect(soapActionOf(undefined, 'application/soap+xml; action="Perform"')).toBe('Perform');
    expect(soapActionOf(undefined, 'text/xml')).toBe('');
  });
});

describe('placing an APIObject field in an echoed object', () => {
  it('puts ObjectID after ID and before CustomerKey and the subtype fields', () => {
    const placed = withApiField({ '@_type': 'X', ID: '1', CustomerKey: 'k', Name: 'n' }, 'ObjectID', 'guid');
    expect(Object.keys(placed)).toEqual(['@_type', 'ID', 'ObjectID', 'CustomerKey', 'Name']);
  });

  it('replaces a nil placeholder and puts ID before everything of the subtype', () => {
    expect(Object.keys(withApiField({ ObjectID: { '@_nil': 'true' }, Name: 'n' }, 'ObjectID', 'g'))).toEqual(['ObjectID', 'Name']);
    expect(Object.keys(withApiField({ Email: {}, List: [] }, 'ID', '7'))).toEqual(['ID', 'Email', 'List']);
  });
});
