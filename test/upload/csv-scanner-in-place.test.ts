import { describe, expect, it } from 'vitest';
import { CsvScanner } from '../../src/upload/csv-scanner.js';
import { CsvValidator, type CsvEngine, type CsvRules, type ValidationReport } from '../../src/upload/validate.js';
import { seededRandom } from '../helpers/random.js';

/**
 * The scanner's whole-record path (csv-scanner.ts, scanWholeRecords: records read in place in the
 * chunk) against csv-parse, the reference. csv-scanner-agrees.test.ts throws mostly broken files
 * in tiny chunks at the scanner, which seldom holds a whole record; here the files are mostly
 * well-formed (plain and quoted fields, doubled quotes, delimiters inside quotes, quoted emails)
 * with a few awkward records among them, in chunks of many records, so most records take the
 * whole-record path and the hand-overs between the two paths happen everywhere.
 */

type Rng = () => number;
const pick = <T>(rng: Rng, items: readonly T[]): T => items[Math.floor(rng() * items.length)] as T;

const BREAKS = ['\n', '\r\n', '\r'];
// The last ones put several bytes the word scan flags but that end nothing (below 0x23, and a
// byte that is the delimiter XOR 1, which its zero-byte test can flag wrongly) within one word.
const VALUES = ['', 'Ann', 'O\'Brien', 'Chloé', 'a b', ' ', '😀', 'Buyer, Procurement', 'Head of "Growth"', '\u00a0', 'one two  three!four\u0001five\tsix', '!! !\u001f!-}-x', '-1'];
const EMAILS = ['ann@example.com', 'ANN@Example.COM', 'bob@example.org', 'zoë@example.com', 'not-an-email', '', ' ann@example.com ', 'a"b@example.com'];

/** A well-formed field: plain when it can be, quoted (and doubled quotes) when it must or by chance. */
function goodField(rng: Rng, text: string, delimiter: string): string {
  const needsQuotes = /["\r\n]/.test(text) || text.includes(delimiter);
  return needsQuotes || rng() < 0.2 ? `"${text.replace(/"/g, '""')}"` : text;
}

/** What sends a record down the byte-by-byte path. */
function awkwardField(rng: Rng, delimiter: string, lineBreak: string): string {
  return pick(rng, [`"a${lineBreak}b"`, 'x"y', '"x"y', '"open', `a${lineBreak === '\n' ? '\r' : '\n'}b`, '"x"\u0000', `"x"${delimiter}`]);
}

function randomFile(rng: Rng, delimiter: string): { bytes: Buffer; lineBreak: string } {
  const lineBreak = pick(rng, BREAKS);
  const rows = [['Id', 'Name', 'Email'].join(delimiter)];
  const n = 20 + Math.floor(rng() * 60);
  for (let i = 0; i < n; i++) {
    const r = rng();
    if (r < 0.03) rows.push('');
    else if (r < 0.08) rows.push([String(i), awkwardField(rng, delimiter, lineBreak), pick(rng, EMAILS)].join(delimiter));
    else {
      const fields = [String(i), goodField(rng, pick(rng, VALUES), delimiter), goodField(rng, pick(rng, EMAILS), delimiter)];
      if (rng() < 0.05) fields.pop();
      if (rng() < 0.05) fields.push(goodField(rng, pick(rng, VALUES), delimiter));
      rows.push(fields.join(delimiter));
    }
  }
  let text = rows.join(lineBreak);
  if (rng() < 0.7) text += lineBreak;
  return { bytes: Buffer.from(text, 'utf8'), lineBreak };
}

/** With `copy`, each chunk is a Buffer of its own (4-byte aligned, as a file's reads are: the scanner then reads words); else a view into the file at any offset. */
async function check(engine: CsvEngine, bytes: Buffer, rules: CsvRules, chunkBytes: number, copy: boolean): Promise<ValidationReport> {
  const v = new CsvValidator(rules, { engine });
  for (let at = 0; at < bytes.length; at += chunkBytes) {
    const chunk = bytes.subarray(at, at + chunkBytes);
    v.write(copy ? Buffer.from(chunk) : chunk);
  }
  return v.end();
}

describe('the scanner reading whole records in place', () => {
  it('reports what csv-parse reports on 400 mostly well-formed files, whole or in chunks of many records', async () => {
    let duplicates = 0;
    let problems = 0;
    for (let seed = 1; seed <= 400; seed++) {
      const rng = seededRandom(seed);
      const fileType = pick(rng, ['CSV', 'TAB', 'Other'] as const);
      const delimiter = fileType === 'CSV' ? ',' : fileType === 'TAB' ? '\t' : '|';
      const rules: CsvRules = {
        fileType,
        ...(fileType === 'Other' ? { delimiter } : {}),
        headerLines: 1,
        fieldMaps: rng() < 0.5 ? [{ sourceOrdinal: 2, destinationName: 'Email Address' }] : [{ sourceName: 'Email', destinationName: 'Email Address' }],
        allowErrors: true,
        allowEmpty: false,
        maxReported: 1000,
        ...(rng() < 0.1 ? { maxRecordBytes: 10 + Math.floor(rng() * 30) } : {}),
      };
      const { bytes } = randomFile(rng, delimiter);
      const chunkBytes = rng() < 0.3 ? bytes.length : 20 + Math.floor(rng() * 400);
      const copy = rng() < 0.5;
      const reference = await check('csv-parse', bytes, rules, chunkBytes, copy);
      const scanned = await check('scanner', bytes, rules, chunkBytes, copy);
      duplicates += reference.duplicateEmails;
      problems += reference.problemCount;
      expect({ seed, report: scanned }, `seed ${seed}: ${JSON.stringify(bytes.toString('utf8'))}`).toEqual({ seed, report: reference });
    }
    // Repeated emails (both paths hash them alike) and problems must both occur, or the comparison proves little.
    expect(duplicates).toBeGreaterThan(1000);
    expect(problems).toBeGreaterThan(1000);
  });

  it('reads in place a record of more fields than its arrays first hold, each field where it lies', () => {
    // 64 fields fit the scanner's first arrays; 200 make them grow in the middle of a record read in place.
    const wide = Array.from({ length: 200 }, (_, i) => (i % 3 === 0 ? `"f,${i}"` : `f${i}`));
    const chunk = Buffer.from(`h\r\n${wide.join(',')}\r\n${wide.slice(0, 150).join(',')}\r\n`);
    const seen: { inPlace: boolean; fields: string[] }[] = [];
    const scanner = new CsvScanner(',', {
      record: (r) => {
        const s = r as CsvScanner;
        seen.push({ inPlace: s.bytes === chunk, fields: Array.from({ length: s.length }, (_, i) => s.field(i)) });
      },
      skip: (code) => {
        throw new Error(code);
      },
    });
    scanner.write(chunk);
    scanner.end();
    const unquoted = wide.map((f) => f.replaceAll('"', ''));
    expect(seen.slice(1)).toEqual([
      { inPlace: true, fields: unquoted },
      { inPlace: true, fields: unquoted.slice(0, 150) },
    ]);
  });

  it('reads plain and simply quoted records where they lie in the chunk, and the others from its own copy', () => {
    const chunk = Buffer.from('id,email\r\n1,"Smith, ""Ann""",ann@example.com\r\n2,"a\r\nb",bob@example.com\r\n3,x,c@example.com\r\n');
    const seen: { inPlace: boolean; fields: string[]; doubled: boolean[] }[] = [];
    const scanner = new CsvScanner(',', {
      record: (r) => {
        const s = r as CsvScanner;
        const fields = Array.from({ length: s.length }, (_, i) => s.field(i));
        seen.push({ inPlace: s.bytes === chunk, fields, doubled: fields.map((_, i) => s.hasDoubledQuotes(i)) });
      },
      skip: (code) => {
        throw new Error(code);
      },
    });
    scanner.write(chunk);
    scanner.end();
    expect(seen).toEqual([
      // The first record finds the record delimiter: byte by byte.
      { inPlace: false, fields: ['id', 'email'], doubled: [false, false] },
      { inPlace: true, fields: ['1', 'Smith, "Ann"', 'ann@example.com'], doubled: [false, true, false] },
      // A line break inside quotes: byte by byte.
      { inPlace: false, fields: ['2', 'a\r\nb', 'bob@example.com'], doubled: [false, false, false] },
      { inPlace: true, fields: ['3', 'x', 'c@example.com'], doubled: [false, false, false] },
    ]);
  });
});
