import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Sandbox } from '../../src/sandbox/index.js';
import { extractBodyChild } from '../../src/sandbox/envelope.js';
import { partnerSchemaFromFile } from '../../src/sandbox/schema/index.js';
import { libxml2Validate, wsdlAvailable } from '../helpers/xsd.js';
import {
  bodyOf,
  createImportDefinitionBody,
  createSendBody,
  envelope,
  fixture,
  importResultsBody,
  login,
  PARTNER_NS,
  performStartBody,
  retrieveBody,
  securityHeader,
  simpleFilterEl,
  soap,
  startSandbox,
  testClock,
  type Login,
  type TestClock,
} from './helpers.js';

/**
 * Every kind of response the sandbox writes, OK and error alike, must be valid against the
 * partner WSDL: checked by libxml2 (independent of this project) and by the in-process validator.
 */
describe.skipIf(!wsdlAvailable())('sandbox responses', () => {
  let sb: Sandbox;
  let clock: TestClock;
  let auth: Login;

  beforeEach(async () => {
    clock = testClock();
    sb = await startSandbox({ now: clock.now, pageSize: 1, import: { registerDelayMs: 100, durationMs: 1000 } });
    auth = await login(sb);
  });
  afterEach(() => sb.close());

  it('are valid against the partner schema, OK and error results alike', async () => {
    const docs: Record<string, string> = {};
    const record = async (name: string, action: string, body: string, element: string) => {
      const reply = await soap(sb, action, body.startsWith('<?xml') ? body : envelope(body, auth));
      bodyOf(reply, element); // fails with the response text when it is not the expected element
      const standalone = extractBodyChild(reply.text);
      if (standalone === undefined) throw new Error(`no Body child in ${name}`);
      docs[name] = standalone;
      return reply;
    };
    const seed = (file: string, vars: Record<string, string> = {}) => fixture(file, { SECURITY: securityHeader(auth), ...vars });

    await record('retrieve-list', 'Retrieve', seed('retrieve-list.xml'), 'RetrieveResponseMsg');
    await record('create-import-definition', 'Create', seed('create-import-definition.xml'), 'CreateResponse');
    await record('create-import-definition-exists', 'Create', seed('create-import-definition.xml'), 'CreateResponse');
    await record('create-import-definition-unknown-list', 'Create', createImportDefinitionBody('K2', '999'), 'CreateResponse');
    const started = await record('perform-start', 'Perform', seed('perform-start.xml'), 'PerformResponseMsg');
    const taskId = /<ID>(\d+)<\/ID>/.exec(started.text)?.[1] ?? '';
    await record('perform-start-unknown-key', 'Perform', performStartBody('nope'), 'PerformResponseMsg');
    await record('retrieve-import-results-none', 'Retrieve', importResultsBody(taskId), 'RetrieveResponseMsg');
    clock.advance(500);
    await record('retrieve-import-results-processing', 'Retrieve', importResultsBody(taskId), 'RetrieveResponseMsg');
    clock.advance(500);
    await record('retrieve-import-results-completed', 'Retrieve', seed('retrieve-import-results.xml', { TASK_ID: taskId }), 'RetrieveResponseMsg');
    await record('retrieve-import-results-all', 'Retrieve', importResultsBody(taskId).replace(/<Properties>.*<\/Properties>/, ''), 'RetrieveResponseMsg');
    await record(
      'retrieve-import-definition',
      'Retrieve',
      retrieveBody('ImportDefinition', ['CustomerKey', 'Name', 'DestinationObject', 'FileSpec'], simpleFilterEl('CustomerKey', 'equals', 'SAP_IMP_KEY_1')),
      'RetrieveResponseMsg',
    );
    await record('create-send', 'Create', seed('create-send.xml'), 'CreateResponse');
    await record('create-send-unknown-email', 'Create', createSendBody('999', '123'), 'CreateResponse');
    const two =
      `<CreateRequest xmlns="${PARTNER_NS}"><Options/>` +
      '<Objects xsi:type="Send"><Email><ID>123</ID></Email><List><ID>123</ID></List></Objects>' +
      '<Objects xsi:type="Send"><Email><ID>123</ID></Email><List><ID>999</ID></List></Objects></CreateRequest>';
    const mixed = await record('create-send-has-errors', 'Create', two, 'CreateResponse');
    expect(bodyOf(mixed, 'CreateResponse')['OverallStatus']).toBe('Has Errors');
    await record('retrieve-sends-page', 'Retrieve', retrieveBody('Send', ['ID', 'Email.ID', 'SendDate', 'Status']), 'RetrieveResponseMsg');
    await record('retrieve-unknown-type', 'Retrieve', retrieveBody('Nope', ['ID']), 'RetrieveResponseMsg');

    const byLibxml2 = await libxml2Validate(docs);
    const schema = partnerSchemaFromFile();
    for (const [name, xml] of Object.entries(docs)) {
      expect({ name, libxml2: byLibxml2[name], inProcess: schema.validateElement(xml).errors }).toEqual({
        name,
        libxml2: [],
        inProcess: [],
      });
    }
  });
});
