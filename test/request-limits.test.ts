import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import {
  listSendRequestSchema,
  parseListSendRequest,
  POLL_FLOOR_MS,
  REQUEST_LIMITS,
  RequestValidationError,
  type FieldProblem,
  type ListSendRequestInput,
} from '../src/request.js';
import { seedRequest } from './helpers/requests.js';

/** Issue #10: caps on every array and string, the poll floor, and file and object names. */

function problemsOf(input: unknown, options: Parameters<typeof parseListSendRequest>[1] = {}): FieldProblem[] {
  try {
    parseListSendRequest(input, options);
  } catch (err) {
    if (err instanceof RequestValidationError) return err.problems;
    throw err;
  }
  return [];
}
const pathsOf = (input: unknown) => problemsOf(input).map((p) => p.path);

const seed = seedRequest({ runId: 'limits' });
const withImport = (imp: Partial<ListSendRequestInput['import']>): ListSendRequestInput => ({ ...seed, import: { ...seed.import, ...imp } });
const ordinalMaps = (n: number, name = (i: number) => `F${i}`) => Array.from({ length: n }, (_, i) => ({ sourceOrdinal: i, destinationName: name(i) }));

/** Every string at its longest and every array at its largest: the biggest request the API can store. */
function largestValidRequest(): ListSendRequestInput {
  const namesPerMap = Math.floor(REQUEST_LIMITS.fieldMapNameChars / REQUEST_LIMITS.fieldMaps / 2);
  return {
    runId: 'r'.repeat(80),
    file: { path: `/${'p'.repeat(REQUEST_LIMITS.filePath - 1)}` },
    list: { name: 'l'.repeat(50) },
    email: { id: '2147483647' },
    import: {
      customerKey: 'k'.repeat(36),
      name: 'n'.repeat(128),
      description: 'd'.repeat(500),
      fileSpec: 'f'.repeat(200),
      fileType: 'Other',
      fieldMappingType: 'ManualMap',
      fieldMaps: Array.from({ length: REQUEST_LIMITS.fieldMaps }, (_, i) => ({
        sourceName: `${i}`.padEnd(namesPerMap, 's'),
        destinationName: `${i}`.padEnd(namesPerMap, 'd'),
      })),
      updateType: 'AddAndDoNotUpdate',
      notification: { responseType: 'email', responseAddress: 'a'.repeat(254), respondWhen: 'OnConversationComplete' },
      fileTransferLocation: 't'.repeat(100),
      subscriberImportType: 'Email',
      allowErrors: true,
      headerLines: 100,
      delimiter: ';;;;;',
      standardQuotedStrings: true,
      dateFormattingLocale: 'x'.repeat(20),
      deleteFile: true,
      allowEmpty: true,
    },
    poll: { initialDelayMs: 3_600_000, maxDelayMs: 3_600_000, timeoutMs: 7 * 86_400_000 },
    send: { fromName: 'n'.repeat(130), fromAddress: `${'a'.repeat(243)}@example.io`, subject: 's'.repeat(200) },
    track: { timeoutMs: 7 * 86_400_000 },
  };
}

describe('request size caps', () => {
  it('bounds every string and every array of the request schema', () => {
    const unbounded: string[] = [];
    const walk = (node: unknown, path: string) => {
      if (!node || typeof node !== 'object') return;
      const n = node as Record<string, unknown>;
      if (n.type === 'string' && n.maxLength === undefined && n.enum === undefined && n.const === undefined) unbounded.push(path);
      if (n.type === 'array' && n.maxItems === undefined) unbounded.push(path);
      for (const [k, v] of Object.entries(n)) walk(v, `${path}/${k}`);
    };
    walk(z.toJSONSchema(listSendRequestSchema, { io: 'input', unrepresentable: 'any' }), '#');
    expect(unbounded).toEqual([]);
  });

  it('keeps the largest valid request under 16 KB as stored', () => {
    const stored = JSON.stringify(parseListSendRequest(largestValidRequest()));
    expect(Buffer.byteLength(stored)).toBeLessThan(16 * 1024);
  });

  it(`accepts ${REQUEST_LIMITS.fieldMaps} fieldMaps and refuses one more, naming the field`, () => {
    expect(pathsOf(withImport({ fieldMaps: ordinalMaps(REQUEST_LIMITS.fieldMaps) }))).toEqual([]);
    const problems = problemsOf(withImport({ fieldMaps: ordinalMaps(REQUEST_LIMITS.fieldMaps + 1) }));
    expect(problems).toEqual([{ path: 'import.fieldMaps', message: `must have at most ${REQUEST_LIMITS.fieldMaps} entries` }]);
  });

  it('refuses fieldMaps whose names together are too long, though each name is within its own cap', () => {
    const long = ordinalMaps(40, (i) => `${i}`.padEnd(101, 'x'));
    expect(problemsOf(withImport({ fieldMaps: long }))).toEqual([
      { path: 'import.fieldMaps', message: `names must total at most ${REQUEST_LIMITS.fieldMapNameChars} characters` },
    ]);
    expect(pathsOf(withImport({ fieldMaps: long.slice(0, 39) }))).toEqual([]);
  });

  it('refuses a file path longer than its cap', () => {
    expect(pathsOf({ ...seed, file: { path: `/${'p'.repeat(REQUEST_LIMITS.filePath)}` } })).toEqual(['file.path']);
  });
});

describe('the poll floor', () => {
  const poll = (p: Partial<NonNullable<ListSendRequestInput['poll']>>) => seedRequest({ poll: { initialDelayMs: 2_000, maxDelayMs: 60_000, timeoutMs: 60_000, ...p } });

  it.each([0, 1, POLL_FLOOR_MS - 1])('refuses initialDelayMs %d, naming the field', (initialDelayMs) => {
    expect(problemsOf(poll({ initialDelayMs, maxDelayMs: 2_000 }))).toEqual([{ path: 'poll.initialDelayMs', message: `must be at least ${POLL_FLOOR_MS}` }]);
  });

  it('refuses a maxDelayMs below the floor or below initialDelayMs', () => {
    expect(pathsOf(poll({ initialDelayMs: POLL_FLOOR_MS, maxDelayMs: POLL_FLOOR_MS - 1 }))).toEqual(['poll.maxDelayMs']);
    expect(problemsOf(poll({ initialDelayMs: 5_000, maxDelayMs: 4_999 }))).toEqual([{ path: 'poll.maxDelayMs', message: 'must be >= initialDelayMs' }]);
  });

  it('accepts the floor itself and fills the defaults above it', () => {
    expect(parseListSendRequest(poll({ initialDelayMs: POLL_FLOOR_MS, maxDelayMs: POLL_FLOOR_MS })).poll.initialDelayMs).toBe(POLL_FLOOR_MS);
    const { poll: _none, ...withoutPoll } = seed;
    expect(parseListSendRequest(withoutPoll).poll).toEqual({ initialDelayMs: 150_000, maxDelayMs: 1_800_000, timeoutMs: 7_200_000 });
  });

  it('is lowered only when the caller asks (tests and benchmarks against the sandbox)', () => {
    expect(problemsOf(poll({ initialDelayMs: 20, maxDelayMs: 50 }), { pollFloorMs: 10 })).toEqual([]);
    expect(pathsOf(poll({ initialDelayMs: 20, maxDelayMs: 50 }))).toEqual(['poll.initialDelayMs', 'poll.maxDelayMs']);
  });
});

describe('file names', () => {
  it.each(['.', '..', '.hidden.csv', '../up.csv', 'a/b.csv', 'a\\b.csv', '/abs.csv'])('refuses fileSpec %j, naming the field', (fileSpec) => {
    expect(pathsOf(withImport({ fileSpec }))).toEqual(['import.fileSpec']);
  });

  it.each(['list.csv', 'run-1.2026.csv', 'a..b.csv'])('accepts fileSpec %j', (fileSpec) => {
    expect(parseListSendRequest(withImport({ fileSpec })).import.fileSpec).toBe(fileSpec);
  });
});

describe('Email and List ids', () => {
  const withIds = (id: unknown) => ({ ...seed, email: { id }, list: { id } });

  it.each([0, '0', '007', -1, '-1', 1.5, '1.5', 1e21, '1e3', 2 ** 53 + 2, 2_147_483_648, '2147483648', '9'.repeat(19), '1'.repeat(130), '', ' 12'])(
    'refuses %j for both, naming each field',
    (id) => {
      expect(pathsOf(withIds(id))).toEqual(['list.id', 'email.id']);
    },
  );

  it('refuses an id that is neither a number nor a string', () => {
    expect(pathsOf({ ...seed, email: { id: true } })).toEqual(['email.id']);
    expect(pathsOf({ ...seed, email: { id: null } })).toEqual(['email.id']);
  });

  it.each([
    [1, '1'],
    ['1', '1'],
    [123, '123'],
    [2_147_483_647, '2147483647'],
    ['2147483647', '2147483647'],
  ])('accepts %j as the id %j', (id, expected) => {
    const r = parseListSendRequest(withIds(id));
    expect(r.email.id).toBe(expected);
    expect(r.list).toEqual({ id: expected });
  });
});
