import { describe, expect, it } from 'vitest';
import { CsvValidator, firstInvalidUtf8Offset, type CsvEngine, type CsvRules, type ValidationReport } from '../../src/upload/validate.js';
import { seededRandom } from '../helpers/random.js';

/**
 * Property test of issue #14's scanner (src/upload/csv-scanner.ts): on hundreds of random small
 * files full of what breaks CSV (quotes, doubled quotes, embedded and mixed line breaks, empty
 * fields and rows, stray quotes, non-ASCII, BOMs, over-long records), fed in random chunks, the
 * validator's report with the scanner must equal its report with csv-parse, the reference:
 * every row count, every problem (kind, line, message), every total.
 */


type Rng = () => number;
const pick = <T>(rng: Rng, items: readonly T[]): T => items[Math.floor(rng() * items.length)] as T;

const BREAKS = ['\n', '\r\n', '\r'];
const PLAIN = ['', ' ', 'x', 'Ann', 'été', 'a b', '😀', '\u00a0', ' \t ', 'O\'Brien', '\u0000', 'Z'.repeat(30)];
const EMAILS = ['ann@example.com', 'ANN@example.com', 'bob@example.org', 'not-an-email', 'a@b', '', '  ', 'zoë@example.com', 'c@d.co'];

function field(rng: Rng, delimiter: string, email: boolean): string {
  const text = email ? pick(rng, EMAILS) : pick(rng, PLAIN);
  const r = rng();
  if (r < 0.55) return text;
  if (r < 0.75) return `"${text.replace(/"/g, '""')}"`;
  if (r < 0.82) return `"${text}${pick(rng, BREAKS)}${text}"`;
  if (r < 0.87) return `"${text}""${delimiter}"`;
  if (r < 0.9) return `${text}"x`; // a quote inside an unquoted field
  if (r < 0.93) return `"${text}"x`; // something after the closing quote
  if (r < 0.95) return `"${text}`; // never closed (until some later quote)
  if (r < 0.97) return '""';
  return `${text}${delimiter}${text}`;
}

function randomFile(rng: Rng, delimiter: string): Buffer {
  const lineBreak = pick(rng, BREAKS);
  const rows: string[] = [`Id${delimiter}Name${delimiter}Email`];
  const n = Math.floor(rng() * 12);
  for (let i = 0; i < n; i++) {
    const r = rng();
    if (r < 0.08) rows.push('');
    else if (r < 0.12) rows.push(`${delimiter}${delimiter}`);
    else {
      const columns = r < 0.2 ? 1 + Math.floor(rng() * 2) : 3 + Math.floor(rng() * 2);
      rows.push(Array.from({ length: columns }, (_, c) => field(rng, delimiter, c === 2)).join(delimiter));
    }
  }
  // Mostly one line break, sometimes a stray other one, sometimes none at the end.
  let text = rows.map((row) => row + (rng() < 0.1 ? pick(rng, BREAKS) : lineBreak)).join('');
  if (rng() < 0.2) text = text.slice(0, -lineBreak.length);
  if (rng() < 0.15) text += lineBreak.repeat(1 + Math.floor(rng() * 3));
  const bytes = Buffer.from(text, 'utf8');
  return rng() < 0.1 ? Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), bytes]) : bytes;
}

function randomRules(rng: Rng): CsvRules {
  const fileType = pick(rng, ['CSV', 'TAB', 'Other'] as const);
  return {
    fileType,
    ...(fileType === 'Other' ? { delimiter: pick(rng, [';', '|']) } : {}),
    headerLines: pick(rng, [0, 1, 1, 1, 2]),
    fieldMaps:
      rng() < 0.5
        ? [{ sourceOrdinal: 0, destinationName: 'Id' }, { sourceOrdinal: 2, destinationName: 'Email Address' }]
        : [{ sourceName: 'Email', destinationName: 'Email Address' }],
    allowErrors: rng() < 0.7,
    allowEmpty: rng() < 0.5,
    failOnDuplicateEmails: rng() < 0.3,
    maxReported: 1000,
    ...(rng() < 0.15 ? { maxRecordBytes: 5 + Math.floor(rng() * 40) } : {}),
  };
}

async function check(engine: CsvEngine, bytes: Buffer, rules: CsvRules, cuts: number[], stopWhenDoomed: boolean): Promise<ValidationReport> {
  const v = new CsvValidator(rules, { engine, stopWhenDoomed });
  let at = 0;
  for (const cut of [...cuts, bytes.length]) {
    v.write(bytes.subarray(at, cut));
    at = cut;
  }
  return v.end();
}

function randomCuts(rng: Rng, length: number): number[] {
  if (rng() < 0.2) return [];
  const cuts: number[] = [];
  for (let at = 1 + Math.floor(rng() * 8); at < length; at += 1 + Math.floor(rng() * 12)) cuts.push(at);
  return cuts;
}

const delimiterOf = (rules: CsvRules): string => (rules.fileType === 'CSV' ? ',' : rules.fileType === 'TAB' ? '\t' : (rules.delimiter as string));

describe('the CSV scanner against csv-parse', () => {
  it('reports the same rows and problems on 600 random files in random chunks', async () => {
    let withProblems = 0;
    for (let seed = 1; seed <= 600; seed++) {
      const rng = seededRandom(seed);
      const rules = randomRules(rng);
      const bytes = randomFile(rng, delimiterOf(rules));
      const cuts = randomCuts(rng, bytes.length);
      const stop = rng() < 0.3;
      const reference = await check('csv-parse', bytes, rules, cuts, stop);
      const scanned = await check('scanner', bytes, rules, cuts, stop);
      if (reference.problemCount > 0) withProblems += 1;
      expect({ seed, report: scanned }, `seed ${seed}: ${JSON.stringify(bytes.toString('utf8'))}`).toEqual({ seed, report: reference });
    }
    // The generator must produce problems often, or the comparison proves little.
    expect(withProblems).toBeGreaterThan(300);
  });

  it('agrees on files too long for one record', async () => {
    for (let seed = 1000; seed < 1100; seed++) {
      const rng = seededRandom(seed);
      const rules: CsvRules = { ...randomRules(rng), fileType: 'CSV', maxRecordBytes: 8 + Math.floor(rng() * 30) };
      const bytes = randomFile(rng, ',');
      const cuts = randomCuts(rng, bytes.length);
      const reference = await check('csv-parse', bytes, rules, cuts, false);
      expect(await check('scanner', bytes, rules, cuts, false), `seed ${seed}`).toEqual(reference);
    }
  });
});

/** The check as it was: a streaming fatal TextDecoder over every chunk; the line of the first bad byte. */
function decoderVerdict(chunks: Buffer[]): number | undefined {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let newlines = 0;
  const count = (b: Buffer, end: number) => b.subarray(0, end).reduce((n, x) => n + (x === 10 ? 1 : 0), 0);
  for (const chunk of chunks) {
    try {
      decoder.decode(chunk, { stream: true });
    } catch {
      const found = firstInvalidUtf8Offset(chunk);
      return newlines + count(chunk, found === chunk.length ? 0 : found) + 1;
    }
    newlines += count(chunk, chunk.length);
  }
  try {
    decoder.decode();
  } catch {
    return newlines + 1;
  }
  return undefined;
}

describe('the UTF-8 check without a TextDecoder', () => {
  it('flags the same line as a streaming TextDecoder on 500 random byte files in random chunks', async () => {
    const pieces = ['a', '\n', 'é', '€', '😀', '\u00a0'].map((t) => Buffer.from(t));
    const bad = [[0xff], [0xc3], [0xe2, 0x82], [0xf0, 0x9f, 0x98], [0x80], [0xed, 0xa0, 0x80], [0xc0, 0xaf], [0xf5, 0x80, 0x80, 0x80]].map((b) => Buffer.from(b));
    let flagged = 0;
    for (let seed = 1; seed <= 500; seed++) {
      const rng = seededRandom(seed);
      const parts: Buffer[] = [];
      const n = 1 + Math.floor(rng() * 40);
      for (let i = 0; i < n; i++) parts.push(rng() < 0.03 ? pick(rng, bad) : pick(rng, pieces));
      const bytes = Buffer.concat(parts);
      const cuts = randomCuts(rng, bytes.length);
      const chunks: Buffer[] = [];
      let at = 0;
      for (const cut of [...cuts, bytes.length]) {
        chunks.push(bytes.subarray(at, cut));
        at = cut;
      }
      const expected = decoderVerdict(chunks);
      const rules: CsvRules = { fileType: 'CSV', headerLines: 0, fieldMaps: [], allowErrors: true, allowEmpty: true };
      const report = await check('scanner', bytes, rules, cuts, false);
      const line = report.problems.find((p) => p.kind === 'invalid-utf8')?.line;
      if (expected !== undefined) flagged += 1;
      expect(line, `seed ${seed}: ${bytes.toString('hex')}`).toBe(expected);
    }
    expect(flagged).toBeGreaterThan(100);
  });
});
