import { describe, expect, it } from 'vitest';
import { HashSet64 } from '../../src/upload/hash-set.js';
import {
  CsvValidator,
  describeReport,
  failsRun,
  isPlausibleEmail,
  rulesFor,
  slotsForBytes,
  summarizeReport,
  ValidationStopped,
  type CsvRules,
  type ValidationReport,
} from '../../src/upload/validate.js';

const RULES: CsvRules = {
  fileType: 'CSV',
  headerLines: 1,
  fieldMaps: [
    { sourceOrdinal: 0, destinationName: 'ID' },
    { sourceOrdinal: 4, destinationName: 'Email Address' },
  ],
  allowErrors: false,
  allowEmpty: false,
};

const HEADER = 'ID,First,Last,Title,Email';

async function check(text: string | Buffer, rules: Partial<CsvRules> = {}, chunkSize = 7): Promise<ValidationReport> {
  const v = new CsvValidator({ ...RULES, ...rules });
  const bytes = typeof text === 'string' ? Buffer.from(text) : text;
  for (let i = 0; i < bytes.length; i += chunkSize) v.write(bytes.subarray(i, i + chunkSize));
  return v.end();
}

const lines = (...rows: string[]) => `${rows.join('\n')}\n`;

describe('validating a subscriber CSV', () => {
  it('counts the data rows of a clean file and finds nothing', async () => {
    const r = await check(lines(HEADER, '1,Ann,Lee,CEO,ann@example.com', '2,Bo,Ng,CTO,bo@example.co.uk'));
    expect(r).toMatchObject({ rows: 2, problemCount: 0, fileProblem: false, emailColumn: 4 });
    expect(failsRun(r, RULES)).toBe(false);
  });

  it('skips the given number of header lines (1 when the request does not say)', async () => {
    expect(rulesFor({ import: { fileType: 'CSV', fieldMaps: [] } as never }).headerLines).toBe(1);
    const none = await check(lines('1,Ann,Lee,CEO,ann@example.com'), { headerLines: 0 });
    expect(none).toMatchObject({ rows: 1, problemCount: 0 });
    const two = await check(lines('# export', HEADER, '1,Ann,Lee,CEO,ann@example.com'), { headerLines: 2 });
    expect(two).toMatchObject({ rows: 1, problemCount: 0 });
  });

  it('accepts a UTF-8 byte order mark and CRLF line ends', async () => {
    const r = await check(`\ufeff${HEADER}\r\n1,Zoë,Löw,CEO,zoe@example.com\r\n`);
    expect(r).toMatchObject({ rows: 1, problemCount: 0 });
  });

  it('splits TAB files on tabs and Other files on the given delimiter', async () => {
    const tab = await check(lines('ID\tA\tB\tC\tEmail', '1\ta\tb\tc\tx@example.com'), { fileType: 'TAB' });
    expect(tab).toMatchObject({ rows: 1, problemCount: 0 });
    const pipe = await check(lines('ID|A|B|C|Email', '1|a|b|c|x@example.com'), { fileType: 'Other', delimiter: '|' });
    expect(pipe).toMatchObject({ rows: 1, problemCount: 0 });
    const wrong = await check(lines('ID;A;B;C;Email', '1;a;b;c;x@example.com'));
    expect(wrong.totals['too-few-columns']).toBe(1);
  });

  it('reports rows with fewer columns than the highest sourceOrdinal needs', async () => {
    const r = await check(lines(HEADER, '1,Ann,Lee,CEO,ann@example.com', '2,Bo,bo@example.com'));
    expect(r.problems).toEqual([{ line: 3, kind: 'too-few-columns', message: '3 columns, the field maps need 5' }]);
  });

  it('reports invalid and missing emails in the column mapped to Email Address', async () => {
    const r = await check(lines(HEADER, '1,a,b,c,not-an-email', '2,a,b,c,', '3,a,b,c,x@localhost', '4,a,b,c," ok@example.com "'));
    expect(r.problems.map((p) => [p.line, p.kind])).toEqual([
      [2, 'invalid-email'],
      [3, 'missing-email'],
      [4, 'invalid-email'],
    ]);
    expect(r.badRows).toBe(3);
  });

  it('reports empty rows but ignores blank lines at the end of the file', async () => {
    const r = await check(`${HEADER}\n1,a,b,c,a@example.com\n\n,,,,\n2,a,b,c,b@example.com\n\n\n`);
    expect(r.problems.map((p) => [p.line, p.kind])).toEqual([
      [3, 'empty-row'],
      [4, 'empty-row'],
    ]);
    expect(r.trailingBlankLines).toBe(2);
    expect(r.rows).toBe(2);
  });

  it('reports an email seen before, whatever its case, with failOnDuplicateEmails', async () => {
    const r = await check(lines(HEADER, '1,a,b,c,Ann@Example.com', '2,a,b,c,bo@example.com', '3,a,b,c,ann@example.COM'), { failOnDuplicateEmails: true });
    expect(r.problems).toEqual([{ line: 4, kind: 'duplicate-email', message: 'duplicate email (an earlier row has the same address)' }]);
  });

  it('reports malformed quoting at the line where the row starts, also after multi-line fields', async () => {
    const r = await check(lines(HEADER, '1,"two', 'lines",b,c,a@example.com', '2,bad"quote,b,c,b@example.com', '3,a,b,c,c@example.com'));
    expect(r.rows).toBe(3);
    expect(r.problems.map((p) => [p.line, p.kind])).toEqual([[4, 'malformed-csv']]);
  });

  it('stops at bytes that are not UTF-8 and names their line', async () => {
    const latin1 = Buffer.concat([Buffer.from(`${HEADER}\n1,a,b,c,a@example.com\n2,Zo`), Buffer.from([0xeb]), Buffer.from(',b,c,b@example.com\n')]);
    const r = await check(latin1, {}, 1024);
    expect(r.fileProblem).toBe(true);
    expect(r.problems).toEqual([{ line: 3, kind: 'invalid-utf8', message: 'not valid UTF-8: save the file as UTF-8 (a BOM is allowed)' }]);
    expect(r.stoppedAtLine).toBe(3);
    expect(failsRun(r, { allowErrors: true })).toBe(true);
  });

  it('lists the first 20 problems and counts them all', async () => {
    const rows = Array.from({ length: 30 }, (_, i) => `${i},a,b,c,bad${i}`);
    const r = await check(lines(HEADER, ...rows));
    expect(r.problemCount).toBe(30);
    expect(r.problems).toHaveLength(20);
    expect(r.problems[0]?.line).toBe(2);
    expect(r.problems[19]?.line).toBe(21);
    const text = describeReport(r, 'subscribers.csv');
    expect(text.split('\n')[0]).toBe('subscribers.csv: 30 problems in 30 data rows (invalid email: 30)');
    expect(text).toContain('  line 21: invalid email "bad19"');
    expect(text).toMatch(/\.\.\. and 10 more$/);
  });

  it('finds columns mapped by name in the header, and fails a header without them', async () => {
    const byName: Partial<CsvRules> = { fieldMaps: [{ sourceName: 'Email', destinationName: 'Email Address' }] };
    const ok = await check(lines('Name,Email', 'Ann,ann@example.com', 'Bo,nope'), byName);
    expect(ok.emailColumn).toBe(1);
    expect(ok.problems.map((p) => [p.line, p.kind])).toEqual([[3, 'invalid-email']]);
    const missing = await check(lines('Name,Mail', 'Ann,ann@example.com'), byName);
    expect(missing.fileProblem).toBe(true);
    expect(missing.problems[0]).toMatchObject({ line: 1, kind: 'missing-header-column' });
  });

  it('fails a file with no data rows unless allowEmpty', async () => {
    expect((await check(lines(HEADER))).totals['no-data-rows']).toBe(1);
    expect((await check(lines(HEADER), { allowEmpty: true })).problemCount).toBe(0);
  });

  it('gives the same report however the bytes are chunked', async () => {
    const text = lines(HEADER, '1,"a, ""quoted""",b,c,a@example.com', '2,a,b,c,a@example.com', '', '3,x', '4,a,b,c,dé@example.com');
    const whole = await check(text, {}, 1 << 20);
    const bytewise = await check(text, {}, 1);
    expect(bytewise).toEqual(whole);
  });

  it('lets row problems through with allowErrors, but never file problems', async () => {
    const r = await check(lines(HEADER, '1,a,b,c,oops'));
    expect(failsRun(r, { allowErrors: false })).toBe(true);
    expect(failsRun(r, { allowErrors: true })).toBe(false);
  });

  it('stops at the chunk that dooms the run, with the report so far: nothing of that chunk or after it goes on', () => {
    const text = lines(HEADER, '1,a,b,c,a@example.com', '2,a,b,c,bad', ...Array.from({ length: 2000 }, (_, i) => `${i + 3},a,b,c,x${i}@example.com`));
    const validator = new CsvValidator(RULES, { stopWhenDoomed: true });
    const buf = Buffer.from(text);
    let passed = 0;
    let read = 0;
    let err: unknown;
    for (let i = 0; i < buf.length && err === undefined; i += 64) {
      const chunk = buf.subarray(i, i + 64);
      read += chunk.length;
      try {
        validator.writeOrStop(chunk);
        passed += chunk.length;
      } catch (e) {
        err = e;
      }
    }
    expect(err).toBeInstanceOf(ValidationStopped);
    expect(passed).toBeLessThan(200);
    expect(read).toBeLessThan(1024);
    expect((err as ValidationStopped).report).toMatchObject({ rows: 2, problemCount: 1, abandoned: true, stoppedAtLine: 3 });
  });

  it('with allowErrors reads to the end and passes every byte on', async () => {
    const text = lines(HEADER, '1,a,b,c,bad', ...Array.from({ length: 500 }, (_, i) => `${i + 2},a,b,c,x${i}@example.com`));
    const validator = new CsvValidator({ ...RULES, allowErrors: true }, { stopWhenDoomed: true });
    const buf = Buffer.from(text);
    let passed = 0;
    for (let i = 0; i < buf.length; i += 64) {
      validator.writeOrStop(buf.subarray(i, i + 64));
      passed += Math.min(64, buf.length - i);
    }
    expect(passed).toBe(Buffer.byteLength(text));
    expect(await validator.end()).toMatchObject({ rows: 501, problemCount: 1 });
  });

  it('counts a repeated email without failing the run, unless failOnDuplicateEmails', async () => {
    const text = lines(HEADER, '1,a,b,c,Ann@Example.com', '2,a,b,c,ann@example.com');
    const warned = await check(text);
    expect(warned).toMatchObject({ problemCount: 0, duplicateEmails: 1 });
    expect(failsRun(warned, { allowErrors: false })).toBe(false);
    const fatal = await check(text, { failOnDuplicateEmails: true });
    expect(fatal).toMatchObject({ problemCount: 1, duplicateEmails: 1 });
    expect(failsRun(fatal, { allowErrors: false })).toBe(true);
  });

  it('counts repeats across many rows as one lookup per row would, text and byte paths alike, up to the limit', async () => {
    // Repeats far apart and near, emails the byte path takes and ones only the text path takes
    // (spaces to trim), quoted fields, more rows than one batch of lookups, and a limit that is reached.
    const emails = Array.from({ length: 700 }, (_, i) => {
      const n = (i * 7919) % 450;
      return n % 5 === 0 ? ` User${n}@Example.com ` : n % 7 === 0 ? `"user${n}@example.com"` : `user${n}@example.com`;
    });
    const text = lines(HEADER, ...emails.map((e, i) => `${i},a,b,c,${e}`));
    const limit = 300;
    const expected = new HashSet64(limit);
    let repeats = 0;
    for (const e of emails) if (expected.addString(e.replaceAll('"', '').trim().toLowerCase())) repeats += 1;
    for (const chunkSize of [7, 4096]) {
      const report = await check(text, { maxDistinctEmails: limit }, chunkSize);
      expect(report).toMatchObject({ rows: 700, problemCount: 0, duplicateEmails: repeats, duplicateCheckComplete: false });
      const failing = await check(text, { maxDistinctEmails: limit, failOnDuplicateEmails: true, allowErrors: true }, chunkSize);
      expect(failing).toMatchObject({ duplicateEmails: repeats, problemCount: repeats });
    }
    expect(repeats).toBeGreaterThan(100);
  });

  it('counts the repeats of the rows before the one that stops the check, and none after', () => {
    const rows = Array.from({ length: 100 }, (_, i) => `${i},a,b,c,${i === 60 ? 'not-an-email' : `u${i % 20}@example.com`}`);
    const v = new CsvValidator({ ...RULES }, { stopWhenDoomed: true });
    let report: ValidationReport | undefined;
    try {
      v.writeOrStop(Buffer.from(lines(HEADER, ...rows)));
    } catch (error) {
      report = (error as ValidationStopped).report;
    }
    // Rows 0-59 hold 20 distinct emails: 40 repeats; row 60 stops the check.
    expect(report).toMatchObject({ duplicateEmails: 40, stoppedAtLine: 62, abandoned: true });
  });

  it('summarises a report for errors with counts and line numbers, never a value from the file', async () => {
    const r = await check(lines(HEADER, '1,a,b,c,SECRET=hunter2', '2,a,b,c,ok@example.com', '3,a,b,c,TOKEN=abc'));
    const summary = summarizeReport(r, 'subscribers.csv');
    expect(summary).toBe('subscribers.csv: 2 problems in 3 data rows (invalid email: 2); first at lines 2, 4; the job log lists them');
    expect(describeReport(r, 'subscribers.csv')).toContain('SECRET=hunter2');
  });
});

describe('checking email syntax', () => {
  it.each(['a@example.com', 'first.last+tag@sub.example.co.uk', "o'neil@example.ie", 'x_1@ex-ample.org'])('accepts %s', (email) => {
    expect(isPlausibleEmail(email)).toBe(true);
  });
  it.each(['', 'plain', '@example.com', 'a@', 'a@localhost', 'a b@example.com', 'a@exa mple.com', 'a@-example.com', 'a@@example.com'])(
    'refuses %j',
    (email) => {
      expect(isPlausibleEmail(email)).toBe(false);
    },
  );
});

describe('remembering hashes of distinct values', () => {
  it('says when a value was added before, across growth', () => {
    const set = new HashSet64(1_000_000, 16);
    const firsts = Array.from({ length: 10_000 }, (_, i) => set.addString(`user${i}@example.com`));
    expect(firsts.some(Boolean)).toBe(false);
    for (let i = 0; i < 10_000; i += 997) expect(set.addString(`user${i}@example.com`)).toBe(true);
    expect(set.size).toBe(10_000);
    // Growth keeps the table at most 3/4 full: 8 bytes a slot.
    expect(set.bytes).toBeLessThanOrEqual((10_000 / 0.375) * 8);
  });

  it('sized from the file, holds one email per 64 bytes without growing', () => {
    const bytes = 64 * 50_000;
    const set = new HashSet64(5_000_000, slotsForBytes(bytes, 5_000_000));
    const before = set.bytes;
    for (let i = 0; i < 50_000; i++) set.addString(`u${i}@example.com`);
    expect(set.bytes).toBe(before);
    expect(set.size).toBe(50_000);
    // The limit caps the table whatever the file's size: at most 5M emails at 3/4 load.
    expect(slotsForBytes(1024 ** 4, 5_000_000)).toBeLessThanOrEqual(Math.ceil((5_000_000 * 4) / 3) + 1);
  });

  it('adds a batch as one add per value would, in order, repeats and limit included', () => {
    const values = new Uint32Array(2 * 5_000);
    for (let i = 0; i < 5_000; i++) {
      // Every third value repeats an earlier one; (0, 0), the empty-slot mark, is among them.
      const n = i % 3 === 2 ? Math.floor((i * 2654435761) % i) : i;
      values[2 * i] = n === 7 ? 0 : Math.imul(n, 0x9e3779b1) >>> 0;
      values[2 * i + 1] = n === 7 ? 0 : n;
    }
    const one = new HashSet64(2_500, 64);
    const batched = new HashSet64(2_500, 64);
    let oneRepeats = 0;
    let batchRepeats = 0;
    for (let i = 0; i < 5_000; i++) if (one.add(values[2 * i] as number, values[2 * i + 1] as number)) oneRepeats += 1;
    for (let i = 0; i < 5_000; i += 32) batchRepeats += batched.addAll(values.subarray(2 * i), Math.min(32, 5_000 - i));
    expect(batchRepeats).toBe(oneRepeats);
    expect(batched.size).toBe(one.size);
    expect(batched.saturated).toBe(one.saturated);
    expect(one.saturated).toBe(true);
  });

  it('answers as a plain set would when many values share home slots, runs wrap round the table, and it grows', () => {
    // A 16-slot start, values crowded onto few home slots (lo picks the slot, hi tells them apart),
    // so runs of full slots are long, wrap past the table's end and are reordered by every insert.
    const set = new HashSet64(1_000_000, 16);
    const reference = new Set<string>();
    let seed = 12345;
    const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
    for (let i = 0; i < 20_000; i++) {
      const hi = next() % 700;
      const lo = (next() % 5) * 997 + 15;
      const key = `${hi}:${lo}`;
      const repeat = set.add(hi, lo);
      expect(repeat, key).toBe(reference.has(key));
      reference.add(key);
    }
    expect(set.size).toBe(reference.size);
    for (const key of reference) {
      const [hi, lo] = key.split(':').map(Number) as [number, number];
      expect(set.add(hi, lo), key).toBe(true);
    }
  });

  it('at its limit still finds every value it holds, and only those, one at a time or in batches', () => {
    const full = new HashSet64(1_000, 64);
    const batched = new HashSet64(1_000, 64);
    const values = new Uint32Array(2 * 3_000);
    for (let i = 0; i < 3_000; i++) {
      values[2 * i] = Math.imul(i + 1, 0x9e3779b1) >>> 0;
      values[2 * i + 1] = Math.imul(i + 1, 0x85ebca6b) >>> 0;
    }
    for (let i = 0; i < 3_000; i++) expect(full.add(values[2 * i] as number, values[2 * i + 1] as number)).toBe(false);
    batched.addAll(values, 3_000);
    expect(full.saturated && batched.saturated).toBe(true);
    // The first 1,000 went in; the other 2,000 did not, and a second look must say so for each.
    for (const set of [full, batched]) {
      const answers = Array.from({ length: 3_000 }, (_, i) => set.add(values[2 * i] as number, values[2 * i + 1] as number));
      expect(answers.slice(0, 1_000).every(Boolean)).toBe(true);
      expect(answers.slice(1_000).some(Boolean)).toBe(false);
      expect(set.addAll(values, 1_000)).toBe(1_000);
      expect(set.addAll(values.subarray(2_000), 2_000)).toBe(0);
      expect(set.size).toBe(1_000);
    }
  });

  it('stops remembering new values at its limit and says so', () => {
    const set = new HashSet64(100);
    for (let i = 0; i < 150; i++) set.addString(String(i));
    expect(set.size).toBe(100);
    expect(set.saturated).toBe(true);
    expect(set.addString('5')).toBe(true);
  });
});
