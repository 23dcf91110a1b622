import { describe, expect, it } from 'vitest';
import { parseEnvelope } from '../../src/sfmc/envelope.js';
import { isSfmcError } from '../../src/sfmc/errors.js';
import { parseXml, XmlSyntaxError } from '../../src/sfmc/xml.js';
import { fixture } from './support.js';

/**
 * Parsing without fast-xml-parser's separate validation pass (issue #14): whatever the reply is
 * cut short, it still fails, and the lists of the partner API are still arrays.
 */

const REPLIES = [
  'seed-retrieve-list.response.xml',
  'seed-create-import-definition.response.xml',
  'seed-perform-start.response.xml',
  'seed-import-results-summary.response.xml',
  'create-send.response.xml',
  'retrieve-list-sends.response.xml',
  'fault-token-expired.xml',
];

function outcome(body: string): string {
  try {
    parseEnvelope(200, 'text/xml', body, { operation: 'Retrieve' });
    return 'parsed';
  } catch (err) {
    return isSfmcError(err) ? err.code : `crash: ${(err as Error).message}`;
  }
}

describe('parsing a reply cut short', () => {
  it.each(REPLIES)('refuses %s cut at every byte before its end tag as a bad-response', (name) => {
    const body = fixture(name);
    const end = body.trimEnd().length;
    expect(outcome(body.slice(0, end)), 'the whole reply').not.toMatch(/^crash|^bad-response/);
    const outcomes = new Set<string>();
    for (let cut = 1; cut < end; cut++) outcomes.add(outcome(body.slice(0, cut)));
    expect([...outcomes]).toEqual(['bad-response']);
  });

  it('names the missing end tag', () => {
    const body = fixture('create-send.response.xml');
    expect(() => parseXml(body.slice(0, 400))).toThrow(XmlSyntaxError);
    expect(() => parseXml(body.slice(0, 400))).toThrow(/does not end with <\/soap:Envelope>/);
  });

  it('accepts blanks and comments after the root element, and blanks inside its end tag', () => {
    const body = fixture('create-send.response.xml').trimEnd();
    expect(outcome(`${body}\n<!-- served by node 7 -->\n`)).toBe('parsed');
    expect(outcome(body.replace(/<\/soap:Envelope>$/, '</soap:Envelope >'))).toBe('parsed');
  });
});

describe('strict parsing (the sandbox reading requests, as SFMC would)', () => {
  it('refuses a mismatched end tag that the parse of replies lets through to the envelope checks', () => {
    const broken = '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><R><A>1</B></R></soap:Body></soap:Envelope>';
    expect(() => parseXml(broken)).not.toThrow();
    expect(() => parseXml(broken, { strict: true })).toThrow(XmlSyntaxError);
  });
});

describe('the lists of the partner API', () => {
  const envelope = (body: string) =>
    `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>${body}</soap:Body></soap:Envelope>`;

  it('are arrays even with one element, where the path says so', () => {
    const doc = parseXml(envelope('<RetrieveResponseMsg xmlns="http://exacttarget.com/wsdl/partnerAPI"><OverallStatus>OK</OverallStatus><Results><ID>1</ID></Results></RetrieveResponseMsg>'));
    const msg = (doc['Envelope'] as { Body: { RetrieveResponseMsg: Record<string, unknown> } }).Body.RetrieveResponseMsg;
    expect(msg['Results']).toEqual([{ ID: '1' }]);
  });

  it('are not arrays under another parent with the same element name', () => {
    const doc = parseXml(envelope('<DeleteResponse><Results><StatusCode>OK</StatusCode></Results></DeleteResponse>'));
    const msg = (doc['Envelope'] as { Body: { DeleteResponse: Record<string, unknown> } }).Body.DeleteResponse;
    expect(msg['Results']).toEqual({ StatusCode: 'OK' });
  });
});

describe('what a reply parse leaves unread', () => {
  const reply = (header: string) =>
    `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">${header}<soap:Body><RetrieveResponseMsg xmlns="http://exacttarget.com/wsdl/partnerAPI"><OverallStatus>OK</OverallStatus></RetrieveResponseMsg></soap:Body></soap:Envelope>`;

  it.each([
    ['no Header', ''],
    ['an empty Header', '<soap:Header/>'],
    ['a Header whose CDATA holds its own end tag', '<soap:Header><a>1</a><![CDATA[</soap:Header>]]></soap:Header>'],
    ['a Header whose comment holds a Body start tag', '<soap:Header><!-- <soap:Body> --></soap:Header>'],
  ])('finds the Body after %s', (_what, header) => {
    expect(parseEnvelope(200, 'text/xml', reply(header), { operation: 'Retrieve' })).toEqual({ name: 'RetrieveResponseMsg', value: { OverallStatus: 'OK' } });
  });

  it('keeps the Header as text, not elements, and refuses a DOCTYPE wherever it is', () => {
    const doc = parseXml(reply('<soap:Header><wsa:Action xmlns:wsa="u">RetrieveResponse</wsa:Action></soap:Header>'), { reply: true });
    expect((doc['Envelope'] as Record<string, unknown>)['Header']).toBe('<wsa:Action xmlns:wsa="u">RetrieveResponse</wsa:Action>');
    expect(() => parseXml(reply('<soap:Header><!DOCTYPE x [<!ENTITY a "b">]></soap:Header>'), { reply: true })).toThrow(/DOCTYPE/);
  });
});
