import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { enqueueCommand } from '../../src/cli/commands.js';
import { EXIT } from '../../src/cli/io.js';
import { loadConfig } from '../../src/config.js';
import { parseListSendRequest, RequestValidationError, type FieldProblem } from '../../src/request.js';
import { createSfmcClient } from '../../src/sfmc/client.js';
import { AUTH, startApi } from '../api/harness.js';
import { seedRequest, startPipeline, type Pipeline } from '../helpers/pipeline.js';
import { testRedisUrl, uniquePrefix } from '../helpers/redis.js';
import { requestProblems } from '../helpers/requests.js';
import { libxml2Validate, wsdlAvailable } from '../helpers/xsd.js';
import { bodyDocument } from '../sfmc/support.js';
import { runToEnd, stepOf } from '../reliability/support.js';

/**
 * Issue 6, "Bad input / requests": every malformed request is refused before anything is
 * enqueued, with an error naming the field; every string that is allowed through reaches SFMC
 * intact, in envelopes that stay valid (the sandbox schema-checks every body, and libxml2 checks
 * them again here).
 */


const base = seedRequest({ runId: 'bad-input' });
const withImport = (patch: Record<string, unknown>) => ({ ...base, import: { ...base.import, ...patch } });

/** [what, request, the field the error must name, what the message must say] */
const REFUSED: [string, unknown, string, RegExp][] = [
  ['a missing list', { ...base, list: undefined }, 'list', /expected object|must be/],
  ['a missing email id', { ...base, email: {} }, 'email.id', /Invalid input|expected/],
  ['missing fieldMaps', withImport({ fieldMaps: undefined }), 'import.fieldMaps', /expected array/],
  ['a missing fileSpec', withImport({ fileSpec: undefined }), 'import.fileSpec', /required/],
  ['an unknown top-level field', { ...base, sendNow: true }, '', /Unrecognized key: "sendNow"/],
  ['an unknown field in import', withImport({ filespec: 'x.csv' }), 'import', /Unrecognized key: "filespec"/],
  ['both a list name and a list id', { ...base, list: { name: 'Sample_List', id: 123 } }, 'list', /must be \{ "name": "\.\.\." \} or \{ "id": 123 \}/],
  ['an email id that is not a number', { ...base, email: { id: 'abc' } }, 'email.id', /numeric id/],
  ['a list name that is a number', { ...base, list: { name: 42 } }, 'list', /must be/],
  ['fieldMaps that are a string', withImport({ fieldMaps: 'ID,Email' }), 'import.fieldMaps', /expected array/],
  ['allowErrors as a string', withImport({ allowErrors: 'yes' }), 'import.allowErrors', /expected boolean/],
  ['a poll timeout as a string', { ...base, poll: { ...base.poll, timeoutMs: '1000' } }, 'poll.timeoutMs', /expected number/],
  ['a negative sourceOrdinal', withImport({ fieldMaps: [{ sourceOrdinal: -1, destinationName: 'ID' }] }), 'import.fieldMaps.0', /.+/],
  ['a 51-character list name', { ...base, list: { name: 'L'.repeat(51) } }, 'list', /must be/],
  ['a 129-character import name', withImport({ name: 'n'.repeat(129) }), 'import.name', /at most 128 characters/],
  ['a 1 MB description', withImport({ description: 'd'.repeat(1_000_000) }), 'import.description', /at most 500 characters/],
  ['an 81-character runId', { ...base, runId: 'r'.repeat(81) }, 'runId', /at most 80 characters/],
  ['XML metacharacters in the runId', { ...base, runId: 'a<b>&"c\'' }, 'runId', /only letters, digits, - and _/],
  ['XML metacharacters in the CustomerKey', withImport({ customerKey: 'k]]>' }), 'import.customerKey', /only letters, digits, - and _/],
  ['< > " in the file name', withImport({ fileSpec: 'a<b>"c".csv' }), 'import.fileSpec', /must not contain \\ \/ : \* < > \| \? "/],
  ['a control character (BEL) in the description', withImport({ description: 'ring \u0007 the bell' }), 'import.description', /control character/],
  ['a NUL in a field map name', withImport({ fieldMaps: [{ sourceOrdinal: 0, destinationName: 'Email\u0000Address' }] }), 'import.fieldMaps.0.destinationName', /control character/],
  ['an unpaired surrogate in the list name', { ...base, list: { name: 'half \ud83d of an emoji' } }, 'list.name', /unpaired surrogate/],
  ['a control character as the delimiter', withImport({ delimiter: '\u0001' }), 'import.delimiter', /control character/],
];

describe('refusing malformed requests before anything is enqueued', () => {
  it.each(REFUSED)('refuses %s, naming the field', (_what, input, path, message) => {
    const found = requestProblems(input);
    expect(found.length).toBeGreaterThan(0);
    const problem = found.find((p) => p.path === path || (path !== '' && p.path.startsWith(`${path}.`)));
    expect(problem, JSON.stringify(found)).toBeDefined();
    expect(problem?.message).toMatch(message);
    // The message of the thrown error says all of it, and never echoes a megabyte back.
    expect(() => parseListSendRequest(input)).toThrow(RequestValidationError);
    expect((() => { try { parseListSendRequest(input); } catch (e) { return (e as Error).message; } return ''; })().length).toBeLessThan(2_000);
  });

  it('answers the HTTP API with a 400 naming each bad field, and the CLI with exit 2', async () => {
    const bad = { ...withImport({ description: 'bell \u0007', fileSpec: 'a<b>.csv' }), sendNow: true };
    const api = startApi({ label: 'bad-api' });
    try {
      const res = await api.app.inject({ method: 'POST', url: '/v1/list-sends', headers: AUTH, payload: bad });
      expect(res.statusCode).toBe(400);
      expect(res.json().problems.map((x: FieldProblem) => x.path).sort()).toEqual(['', 'import.description', 'import.fileSpec']);
      expect(await api.producer.status('bad-input')).toBeUndefined();
    } finally {
      await api.close();
    }

    const dir = mkdtempSync(join(tmpdir(), 'list-send-bad-'));
    const said: string[] = [];
    const spy = vi.spyOn(console, 'error').mockImplementation((...args: unknown[]) => void said.push(args.join(' ')));
    try {
      writeFileSync(join(dir, 'request.json'), JSON.stringify(bad));
      const code = await enqueueCommand(loadConfig({ REDIS_URL: testRedisUrl(), QUEUE_PREFIX: uniquePrefix('bad-cli') }), join(dir, 'request.json'), { wait: false });
      expect(code).toBe(EXIT.badInput);
      expect(said[0]).toBe('invalid request:');
      expect(said.join('\n')).toMatch(/import\.description: must not contain a control character/);
      expect(said.join('\n')).toMatch(/import\.fileSpec: must not contain/);
      expect(said.join('\n')).toMatch(/Unrecognized key: "sendNow"/);
    } finally {
      spy.mockRestore();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a bad request at enqueue: nothing reaches Redis', async () => {
    const p = await startPipeline({ label: 'bad-enqueue' });
    try {
      await expect(p.producer.enqueue(withImport({ description: 'bell \u0007' }))).rejects.toBeInstanceOf(RequestValidationError);
      expect(await p.producer.status('bad-input')).toBeUndefined();
      expect(p.sandbox.calls()).toHaveLength(0);
    } finally {
      await p.close();
    }
  });
});

/** XML metacharacters, a CDATA end, entity look-alikes and non-ASCII in one string. */
const HOSTILE = `<&>"' ]]> &amp; &#65; ü 日本 😀`;

describe('strings with XML metacharacters and non-ASCII through the whole pipeline', () => {
  let p: Pipeline;
  const values = {
    listName: `L ${HOSTILE}`,
    name: `N ${HOSTILE} <![CDATA[x]]>`,
    description: `D ${HOSTILE} </Description><Injected/>`,
    // The file name may not hold < > " (SFMC forbids them); everything else is tried.
    fileSpec: `F & ' ]] &amp; ü 日本 😀.csv`,
    sourceName: `S ${HOSTILE}`,
    destinationName: `E ${HOSTILE}`,
    responseAddress: `help+${HOSTILE}@example.com`,
    fileTransferLocation: `T ${HOSTILE}`,
    dateFormattingLocale: `<&>"' ]]>ü`,
    delimiter: `&<]]>`,
  };

  beforeAll(async () => {
    p = await startPipeline({ label: 'hostile-strings', logLevel: 'trace' });
  });
  afterAll(async () => {
    await p?.close();
  });

  it('accepts every such string, keeps the envelopes schema-valid, and SFMC receives each one intact', async () => {
    p.sandbox.addList({ name: values.listName });
    const status = await runToEnd(p, 'hostile', {
      list: { name: values.listName },
      import: {
        name: values.name,
        description: values.description,
        fileSpec: values.fileSpec,
        fieldMappingType: 'ManualMap',
        fieldMaps: [{ sourceName: values.sourceName, destinationName: values.destinationName }],
        notification: { responseType: 'email', responseAddress: values.responseAddress },
        fileTransferLocation: values.fileTransferLocation,
        dateFormattingLocale: values.dateFormattingLocale,
        delimiter: values.delimiter,
        // Kept, so it can be read back below (the run deletes it otherwise).
        keepDefinition: true,
      },
    });

    // The sandbox refuses any body that breaks the partner schema: none was refused.
    expect(status.state, status.error).toBe('completed');
    expect(p.sandbox.calls().filter((c) => c.result === 'fault')).toEqual([]);
    expect(p.sandbox.state.sends).toHaveLength(1);
    const listId = p.sandbox.state.lists.find((l) => l.name === values.listName)?.id;
    expect(stepOf(status, 'resolve-list').result).toEqual({
      listId,
      listName: values.listName,
      email: { id: '123', name: 'Sample Email', subject: 'A sample subject' },
    });
    expect(p.sandbox.state.importDefinitions['ls-hostile']).toMatchObject({ name: values.name, fileSpec: values.fileSpec, listId });

    // Read back through a separate client: every string as it was sent.
    const c = p.sandbox.credentials;
    const reader = createSfmcClient({
      config: { auth: { mode: 'wsse', username: c.username, password: c.password }, soapUrl: p.sandbox.soapUrl, timeoutMs: 5_000 },
    });
    try {
      const { results } = await reader.retrieve({
        objectType: 'ImportDefinition',
        properties: ['Name', 'Description', 'FileSpec', 'FieldMaps', 'Notification', 'RetrieveFileTransferLocation', 'DateFormattingLocale', 'Delimiter'],
        filter: { property: 'CustomerKey', operator: 'equals', value: 'ls-hostile' },
      });
      const def = results[0] as Record<string, unknown>;
      const text = (v: unknown): unknown => (v && typeof v === 'object' && '#text' in v ? (v as { '#text': unknown })['#text'] : v);
      expect(text(def['Name'])).toBe(values.name);
      expect(text(def['Description'])).toBe(values.description);
      expect(text(def['FileSpec'])).toBe(values.fileSpec);
      expect(text((def['DateFormattingLocale'] as Record<string, unknown>)['LocaleCode'])).toBe(values.dateFormattingLocale);
      expect(text(def['Delimiter'])).toBe(values.delimiter);
      expect(JSON.stringify(def['FieldMaps'])).toContain(JSON.stringify(values.sourceName));
      expect(JSON.stringify(def['FieldMaps'])).toContain(JSON.stringify(values.destinationName));
      expect(JSON.stringify(def['Notification'])).toContain(JSON.stringify(values.responseAddress));
      expect(JSON.stringify(def['RetrieveFileTransferLocation'])).toContain(JSON.stringify(values.fileTransferLocation));
    } finally {
      await reader.close();
    }

    // What went on the wire: escaped, never a raw CDATA end or an injected element.
    const envelopes = p
      .logLines()
      .filter((l) => l.msg === 'sfmc request')
      .map((l) => String(l.envelope));
    const create = envelopes.find((e) => e.includes('xsi:type="ImportDefinition"') && e.includes('<CreateRequest'));
    expect(create).toBeDefined();
    expect(create).toContain('&lt;&amp;&gt;&quot;&apos; ]]&gt; &amp;amp; &amp;#65; ü 日本 😀');
    expect(create).not.toContain(']]>');
    expect(create).not.toContain('<Injected/>');
    if (wsdlAvailable()) {
      const verdicts = await libxml2Validate(Object.fromEntries(envelopes.map((e, i) => [`envelope ${i}`, bodyDocument(e)])));
      expect(Object.values(verdicts).flat()).toEqual([]);
    }
  });

});
