import { describe, expect, it } from 'vitest';
import { deriveCustomerKey, parseListSendRequest, RequestValidationError, requestFingerprint } from '../src/request.js';
import { seedRequest } from './helpers/requests.js';

function problemsOf(input: unknown): string[] {
  try {
    parseListSendRequest(input);
  } catch (err) {
    if (err instanceof RequestValidationError) return err.problems.map((p) => p.path);
    throw err;
  }
  return [];
}

describe('validating a list-send request', () => {
  it('fills the defaults and derives the CustomerKey and name from the runId', () => {
    const r = parseListSendRequest(seedRequest({ runId: 'spring-promo' }));
    expect(r.import).toMatchObject({
      customerKey: 'ls-spring-promo',
      name: 'list-send spring-promo',
      fileType: 'CSV',
      fieldMappingType: 'MapByOrdinal',
      updateType: 'AddAndUpdate',
      fileTransferLocation: 'ExactTarget Enhanced FTP',
      allowEmpty: false,
      keepDefinition: false,
    });
    expect(r.email.id).toBe('123');
  });

  it.each(['Merge', 'Overwrite', 'ColumnBased'])('refuses updateType %s, which a List import cannot take, naming the field and why', (updateType) => {
    const input = seedRequest();
    let error: RequestValidationError | undefined;
    try {
      parseListSendRequest({ ...input, import: { ...input.import, updateType } });
    } catch (err) {
      error = err as RequestValidationError;
    }
    expect(error).toBeInstanceOf(RequestValidationError);
    expect(error?.problems).toEqual([{ path: 'import.updateType', message: expect.stringMatching(/for a List import/) }]);
    expect(error?.message).toMatch(/Merge is reserved, Overwrite is for data extensions, ColumnBased needs a control column/);
  });

  it('accepts the three update types of a List import', () => {
    const input = seedRequest();
    for (const updateType of ['AddAndUpdate', 'AddAndDoNotUpdate', 'UpdateButDoNotAdd']) {
      expect(parseListSendRequest({ ...input, import: { ...input.import, updateType } }).import.updateType).toBe(updateType);
    }
  });

  it('generates a runId when none is given', () => {
    const a = parseListSendRequest(seedRequest());
    const b = parseListSendRequest(seedRequest());
    expect(a.runId).toMatch(/^run-\d{4}-\d{2}-\d{2}-[0-9a-f]{12}$/);
    expect(a.runId).not.toBe(b.runId);
  });

  it('names every bad field', () => {
    const bad = {
      runId: 'has:colon',
      list: { name: '' },
      email: { id: 'abc' },
      import: { fileSpec: 'a/b.csv', fieldMaps: [], fileType: 'XLS' },
      extra: true,
    };
    expect(problemsOf(bad).sort()).toEqual(['', 'email.id', 'import.fieldMaps', 'import.fileSpec', 'import.fileType', 'list.name', 'runId'].sort());
  });

  it('refuses unknown fields inside objects', () => {
    const input = seedRequest();
    expect(problemsOf({ ...input, import: { ...input.import, fileSpecc: 'x.csv' } })).toEqual(['import']);
  });

  it('refuses a poll.maxDelayMs below initialDelayMs', () => {
    expect(problemsOf(seedRequest({ poll: { initialDelayMs: 2000, maxDelayMs: 1500, timeoutMs: 1000 } }))).toEqual(['poll.maxDelayMs']);
  });

  it('keeps derived CustomerKeys within 36 characters and distinct', () => {
    const long1 = deriveCustomerKey('a'.repeat(80));
    const long2 = deriveCustomerKey(`${'a'.repeat(79)}b`);
    expect(long1.length).toBeLessThanOrEqual(36);
    expect(long1).not.toBe(long2);
  });

  it('fingerprints the same content the same way whatever the key order', () => {
    const a = parseListSendRequest(seedRequest({ runId: 'x' }));
    const reversed = <T extends object>(o: T): T => Object.fromEntries(Object.entries(o).reverse()) as T;
    const b = { ...reversed(a), import: reversed(a.import) };
    expect(Object.keys(b)).not.toEqual(Object.keys(a));
    expect(requestFingerprint(a)).toBe(requestFingerprint(b));
    expect(requestFingerprint(a)).not.toBe(requestFingerprint(parseListSendRequest(seedRequest({ runId: 'x', email: { id: 9 } }))));
  });
});
