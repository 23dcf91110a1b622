import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/**
 * Realistic subscriber files for the demo, tests and measurements: `ID,First Name,Last Name,
 * Title,Email Address` rows with made-up people, written as a stream (any size, flat memory).
 * The same arguments always give the same bytes.
 */

const FIRST = ['Ada', 'Bruno', 'Chloé', 'Dmitri', 'Emeka', 'Fatima', 'Grace', 'Hiro', 'Ingrid', 'José', 'Kofi', 'Lena', 'Mateo', 'Nadia', 'Oren', 'Priya', 'Quinn', 'Rosa', 'Sven', 'Tariq', 'Uma', 'Viktor', 'Wen', 'Ximena', 'Yusuf', 'Zoë'];
const LAST = ['Okafor', 'Lindqvist', 'García', 'Nakamura', 'Müller', 'Haddad', 'O\'Brien', 'Kowalski', 'Silva', 'Nguyen', 'Rossi', 'Dubois', 'Andersen', 'Patel', 'Cohen', 'Smith'];
const TITLE = ['Marketing Manager', 'CFO', 'Engineer', 'Account Executive', 'Buyer, Procurement', 'Head of "Growth"', 'Analyst', 'Founder'];
const DOMAINS = ['example.com', 'example.org', 'example.net', 'mail.example.co.uk'];

export const SAMPLE_HEADER = 'ID,First Name,Last Name,Title,Email Address';

/** The field maps that fit a sample file (MapByOrdinal). */
export const SAMPLE_FIELD_MAPS = [
  { sourceOrdinal: 0, destinationName: 'ID' },
  { sourceOrdinal: 1, destinationName: 'NAME_FIRST' },
  { sourceOrdinal: 2, destinationName: 'NAME_LAST' },
  { sourceOrdinal: 3, destinationName: 'TITLE_TEXT' },
  { sourceOrdinal: 4, destinationName: 'Email Address' },
];

export interface SampleOptions {
  rows: number;
  /** Every Nth data row (1-based) gets an invalid email. 0 = none (default). */
  invalidEvery?: number;
  /** Every Nth data row repeats the email of the row before it. 0 = none (default). */
  duplicateEvery?: number;
}

function csvField(value: string): string {
  return /[",\n\r]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

function ascii(name: string): string {
  return name.toLowerCase().normalize('NFD').replace(/[^a-z]/g, '');
}

/** The (valid) email of the person numbered `id`. */
function sampleEmail(id: number): string {
  const first = FIRST[id % FIRST.length] as string;
  const last = LAST[(id * 7) % LAST.length] as string;
  return `${ascii(first)}.${ascii(last)}.${id}@${DOMAINS[id % DOMAINS.length]}`;
}

/** One data row (1-based `n`), as the file holds it, without the line end. */
export function sampleRow(n: number, o: Omit<SampleOptions, 'rows'> = {}): string {
  const first = FIRST[n % FIRST.length] as string;
  const last = LAST[(n * 7) % LAST.length] as string;
  const title = TITLE[(n * 3) % TITLE.length] as string;
  const repeat = o.duplicateEvery && n > 1 && n % o.duplicateEvery === 0;
  const email = o.invalidEvery && n % o.invalidEvery === 0 ? `${ascii(first)}.at.nowhere` : sampleEmail(repeat ? n - 1 : n);
  return [String(n), first, last, title, email].map(csvField).join(',');
}

/** What a sample file of these options holds: rows, invalid emails, repeated emails. */
export function sampleCounts(o: SampleOptions): { rows: number; invalid: number; duplicated: number } {
  let invalid = 0;
  let duplicated = 0;
  for (let n = 1; n <= o.rows; n++) {
    const bad = Boolean(o.invalidEvery && n % o.invalidEvery === 0);
    if (bad) invalid += 1;
    // A repeat of an invalid row's email, or of a row that is itself invalid, is not a duplicate.
    else if (o.duplicateEvery && n > 1 && n % o.duplicateEvery === 0 && !(o.invalidEvery && (n - 1) % o.invalidEvery === 0)) duplicated += 1;
  }
  return { rows: o.rows, invalid, duplicated };
}

export async function writeSampleFile(path: string, o: SampleOptions): Promise<void> {
  function* lines() {
    yield `${SAMPLE_HEADER}\r\n`;
    let batch = '';
    for (let n = 1; n <= o.rows; n++) {
      batch += `${sampleRow(n, o)}\r\n`;
      if (batch.length > 64 * 1024) {
        yield batch;
        batch = '';
      }
    }
    if (batch) yield batch;
  }
  await pipeline(Readable.from(lines()), createWriteStream(path));
}
