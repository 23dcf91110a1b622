import { request } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Sandbox } from '../../src/sandbox/index.js';
import { wsdlAvailable } from '../helpers/xsd.js';
import {
  bodyOf,
  createImportDefinitionBody,
  createSendBody,
  envelope,
  faultOf,
  fixture,
  login,
  PARTNER_NS,
  retrieveBody,
  securityHeader,
  soap,
  startSandbox,
  type Login,
} from './helpers.js';

const listRetrieve = retrieveBody('List', ['ID']);

// Without the partner WSDL the sandbox runs unchecked, so the schema refusals cannot be shown.
const schemaAvailable = wsdlAvailable();

describe('sandbox SOAP transport checks', () => {
  let sb: Sandbox;
  let auth: Login;

  beforeEach(async () => {
    sb = await startSandbox();
    auth = await login(sb);
  });
  afterEach(() => sb.close());

  it('refuses a SOAPAction that does not match the Body element', async () => {
    const reply = await soap(sb, 'Retrieve', envelope(createSendBody('123', '123'), auth));
    expect(reply.status).toBe(500);
    expect(reply.contentType).toMatch(/^text\/xml/);
    const fault = faultOf(reply);
    expect(fault.faultcode).toBe('soap:Client');
    expect(fault.faultstring).toMatch(/^Server did not recognize the value of HTTP Header SOAPAction: Retrieve\./);
    expect(sb.state.sends).toHaveLength(0);
  });

  it('refuses an operation the sandbox does not serve with ASP.NET wording', async () => {
    const reply = await soap(sb, 'Update', envelope(listRetrieve, auth));
    expect(faultOf(reply)).toMatchObject({
      faultcode: 'soap:Client',
      faultstring: 'Server did not recognize the value of HTTP Header SOAPAction: Update.',
    });
  });

  it('refuses a request without a SOAPAction header', async () => {
    const reply = await soap(sb, 'Retrieve', envelope(listRetrieve, auth), { soapAction: null });
    expect(faultOf(reply).faultstring).toBe('Server did not recognize the value of HTTP Header SOAPAction: .');
  });

  it('accepts a quoted SOAPAction and SOAP 1.2 framing with an action parameter', async () => {
    const quoted = await soap(sb, 'Retrieve', envelope(listRetrieve, auth), { soapAction: '"Retrieve"' });
    expect(bodyOf(quoted, 'RetrieveResponseMsg')['OverallStatus']).toBe('OK');
    const soap12 = await soap(sb, 'Retrieve', envelope(listRetrieve, auth), {
      soapAction: null,
      contentType: 'application/soap+xml; charset=utf-8; action="Retrieve"',
    });
    expect(bodyOf(soap12, 'RetrieveResponseMsg')['OverallStatus']).toBe('OK');
  });

  it('refuses a body that is not text/xml', async () => {
    const reply = await soap(sb, 'Retrieve', envelope(listRetrieve, auth), { contentType: 'application/json' });
    expect(reply.status).toBe(500);
    expect(faultOf(reply).faultcode).toBe('soap:Client');
  });

  it('refuses malformed XML with a Client fault', async () => {
    const reply = await soap(sb, 'Retrieve', envelope(listRetrieve, auth).replace('</RetrieveRequest>', ''));
    expect(reply.status).toBe(500);
    const fault = faultOf(reply);
    expect(fault.faultcode).toBe('soap:Client');
    expect(fault.faultstring).toMatch(/^Server was unable to read request/);
  });

  it('refuses a document with a DOCTYPE and expands no entity', async () => {
    const xml = `<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "Sample_List">]>${envelope(listRetrieve, auth).replace(/^<\?xml[^>]*>/, '')}`;
    const reply = await soap(sb, 'Retrieve', xml);
    expect(faultOf(reply)).toMatchObject({ faultcode: 'soap:Client' });
    expect(faultOf(reply).faultstring).toMatch(/DOCTYPE/);
  });

  it.skipIf(!schemaAvailable)("refuses the seed's out-of-order Perform body, naming the misplaced element, and starts nothing", async () => {
    await soap(sb, 'Create', fixture('create-import-definition.xml', { SECURITY: securityHeader(auth) }));
    const reply = await soap(sb, 'Perform', fixture('perform-start-out-of-order.xml', { SECURITY: securityHeader(auth) }));
    expect(reply.status).toBe(500);
    const fault = faultOf(reply);
    expect(fault.faultcode).toBe('soap:Client');
    expect(fault.faultstring).toMatch(/Options|Action/);
    expect(sb.state.imports).toEqual({});
  });

  it.skipIf(!schemaAvailable)('refuses a Create whose object breaks the schema and names the element', async () => {
    const body = createImportDefinitionBody('K', '123').replace('<FileType>CSV</FileType>', '<FileType>CSV</FileType><Colour>red</Colour>');
    const reply = await soap(sb, 'Create', envelope(body, auth));
    const fault = faultOf(reply);
    expect(fault.faultcode).toBe('soap:Client');
    expect(fault.faultstring).toContain('Colour');
    expect(sb.state.importDefinitions).toEqual({});
  });

  it.skipIf(!schemaAvailable)('refuses a CreateRequest without Options, which the schema requires', async () => {
    const body = `<CreateRequest xmlns="${PARTNER_NS}"><Objects xsi:type="Send"><Email><ID>123</ID></Email><List><ID>123</ID></List></Objects></CreateRequest>`;
    const reply = await soap(sb, 'Create', envelope(body, auth));
    expect(faultOf(reply).faultstring).toContain('Options');
    expect(sb.state.sends).toHaveLength(0);
  });

  it('answers unknown paths with 404 and GET on Service.asmx with 405', async () => {
    expect((await request(`${sb.url}/nowhere`)).statusCode).toBe(404);
    expect((await request(sb.soapUrl)).statusCode).toBe(405);
  });
});

describe('sandbox without schema checking', () => {
  it("accepts the seed's out-of-order Perform body", async () => {
    const sb = await startSandbox({ schemaCheck: false });
    try {
      const auth = await login(sb);
      await soap(sb, 'Create', fixture('create-import-definition.xml', { SECURITY: securityHeader(auth) }));
      const reply = await soap(sb, 'Perform', fixture('perform-start-out-of-order.xml', { SECURITY: securityHeader(auth) }));
      expect(bodyOf(reply, 'PerformResponseMsg')['OverallStatus']).toBe('OK');
      expect(Object.keys(sb.state.imports)).toHaveLength(1);
    } finally {
      await sb.close();
    }
  });
});
