import { describe, expect, it } from 'vitest';
import { buildEnvelope, fueloauthHeader, parseEnvelope, wsseHeader } from '../../src/sfmc/envelope.js';
import { SfmcError } from '../../src/sfmc/errors.js';
import { el, serialize } from '../../src/sfmc/xml.js';

const BODY = el('RetrieveRequestMsg', [el('RetrieveRequest', [el('ObjectType', 'List'), el('Properties', 'ID')])]);

describe('building envelopes', () => {
  it('writes a SOAP 1.1 envelope with xsi and xsd declared and the body in the partnerAPI namespace', () => {
    const xml = buildEnvelope([fueloauthHeader('TOKEN')], BODY);
    expect(xml).toBe(
      '<?xml version="1.0" encoding="UTF-8"?>' +
        '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema">' +
        '<soap:Header><fueloauth xmlns="http://exacttarget.com">TOKEN</fueloauth></soap:Header>' +
        '<soap:Body><RetrieveRequestMsg xmlns="http://exacttarget.com/wsdl/partnerAPI"><RetrieveRequest><ObjectType>List</ObjectType><Properties>ID</Properties></RetrieveRequest></RetrieveRequestMsg></soap:Body>' +
        '</soap:Envelope>',
    );
  });

  it('writes the WS-Security header with the OASIS namespaces, mustUnderstand and PasswordText', () => {
    expect(serialize(wsseHeader('api-user', 'p&ss<word>'))).toBe(
      '<wsse:Security xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd" ' +
        'xmlns:wsu="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd" soap:mustUnderstand="1">' +
        '<wsse:UsernameToken wsu:Id="UsernameToken-1"><wsse:Username>api-user</wsse:Username>' +
        '<wsse:Password Type="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText">p&amp;ss&lt;word&gt;</wsse:Password>' +
        '</wsse:UsernameToken></wsse:Security>',
    );
  });

  it('reads back its own envelope: the Body child by local name', () => {
    const xml = buildEnvelope([wsseHeader('u', 'p')], BODY);
    const parsed = parseEnvelope(200, 'text/xml; charset=utf-8', xml);
    expect(parsed.name).toBe('RetrieveRequestMsg');
    expect(parsed.value).toMatchObject({ RetrieveRequest: { ObjectType: 'List', Properties: ['ID'] } });
  });
});

describe('parsing envelopes', () => {
  const ok =
    '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><CreateResponse xmlns="http://exacttarget.com/wsdl/partnerAPI"><OverallStatus>OK</OverallStatus></CreateResponse></soap:Body></soap:Envelope>';

  it('accepts text/xml, application/soap+xml and application/xml', () => {
    for (const ct of ['text/xml', 'application/soap+xml; charset=utf-8', 'APPLICATION/XML']) {
      expect(parseEnvelope(200, ct, ok).name).toBe('CreateResponse');
    }
  });

  it('accepts any envelope prefix bound to the SOAP 1.1 namespace', () => {
    const other = ok.replaceAll('soap:', 's:').replace('xmlns:soap', 'xmlns:s');
    expect(parseEnvelope(200, 'text/xml', other).name).toBe('CreateResponse');
  });

  it('refuses a SOAP reply on an error status when it is not a fault', () => {
    try {
      parseEnvelope(503, 'text/xml', ok);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(SfmcError);
      expect((err as SfmcError).code).toBe('http-status');
    }
  });

  it('refuses an envelope whose Body holds two elements', () => {
    const two = ok.replace('</soap:Body>', '<Extra/></soap:Body>');
    expect(() => parseEnvelope(200, 'text/xml', two)).toThrow(/several elements/);
  });
});
