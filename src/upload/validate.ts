import { isUtf8 } from 'node:buffer';
import { parse, type CsvError, type Parser } from 'csv-parse';
import { DEFAULT_MAX_DISTINCT_EMAILS } from '../config.js';
import type { ListSendRequest } from '../request.js';
import { CsvScanner, scannableDelimiter, type CsvRecord } from './csv-scanner.js';
import { hashPlainEmail } from './email-bytes.js';
import { hash64, HashSet64 } from './hash-set.js';

/**
 * Pre-validation of a subscriber file while it streams: bytes in, the same bytes out, and a
 * report of what SFMC would stumble on. Nothing is held per row except an 8-byte hash of each
 * distinct email (see HashSet64), so memory is flat whatever the file's size.
 *
 * Row problems (malformed quoting, too few columns, a missing or invalid email, an empty row)
 * fail the run unless the request says `import.allowErrors: true`. A repeated email is only
 * counted (`duplicateEmails`) unless `import.failOnDuplicateEmails: true` makes it a row problem:
 * SFMC counts repeats itself (NumberDuplicated, "number of duplicated records resulting from an
 * import": developer.salesforce.com/docs/marketing/marketing-cloud/guide/importresultssummary.html;
 * whether by email or by Subscriber Key is not documented), and with Subscriber Keys one email may
 * rightly belong to several subscribers (issue #11). File problems
 * (not UTF-8, a record that never ends, a header without a mapped column, no data rows) fail it
 * always: SFMC could not import such a file sensibly, and the check stops at the first one.
 */

export type RowProblemKind = 'malformed-csv' | 'too-few-columns' | 'missing-email' | 'invalid-email' | 'empty-row' | 'duplicate-email';
export type FileProblemKind = 'invalid-utf8' | 'record-too-large' | 'missing-header-column' | 'no-data-rows';
export type ProblemKind = RowProblemKind | FileProblemKind;

export interface Problem {
  /** 1-based line of the file where the row (or the problem) starts. */
  line: number;
  kind: ProblemKind;
  message: string;
}

export type FieldMapRule = { sourceOrdinal: number; destinationName: string } | { sourceName: string; destinationName: string };

export interface CsvRules {
  fileType: 'CSV' | 'TAB' | 'Other';
  /** Required for `Other`; ignored for CSV (`,`) and TAB (`\t`). */
  delimiter?: string;
  /** Lines before the data; the first one names the columns when fields are mapped by name. */
  headerLines: number;
  fieldMaps: FieldMapRule[];
  /** Row problems are reported but do not fail the run. */
  allowErrors: boolean;
  /** A file with no data rows does not fail the run. */
  allowEmpty: boolean;
  /** How many problems the report lists (all are counted). Default 20. */
  maxReported?: number;
  /** Distinct emails remembered for the duplicate check. Default DEFAULT_MAX_DISTINCT_EMAILS (config.ts: an 8 MiB table). */
  maxDistinctEmails?: number;
  /** A longer record is a file problem (an unclosed quote would otherwise swallow the file). Default 1 MiB. */
  maxRecordBytes?: number;
  /** A repeated email is a row problem; otherwise it is only counted in `duplicateEmails`. */
  failOnDuplicateEmails?: boolean;
  /** The file's size when known: sizes the duplicate check's table once, with no doubling on the way. */
  expectedBytes?: number;
}

export interface ValidationReport {
  /** Bytes that went through, BOM included. */
  bytes: number;
  /** Data rows: records after the header lines that are not empty. */
  rows: number;
  headerLines: number;
  /** 0-based column holding the email (the field mapped to `Email Address`), when there is one. */
  emailColumn?: number;
  /** The first `maxReported` problems, in file order. */
  problems: Problem[];
  totals: Partial<Record<ProblemKind, number>>;
  problemCount: number;
  /** Rows with at least one row problem. */
  badRows: number;
  /** True when a file problem was found; checking stopped at `stoppedAtLine`. */
  fileProblem: boolean;
  stoppedAtLine?: number;
  /** Blank lines at the very end of the file: ignored, not counted as empty rows. */
  trailingBlankLines: number;
  /** False when more distinct emails than maxDistinctEmails were seen: later repeats went unnoticed. */
  duplicateCheckComplete: boolean;
  /** Rows whose email an earlier row already had (problems too with failOnDuplicateEmails). */
  duplicateEmails: number;
  /** True when checking stopped early because the run was already bound to fail: the rest was not read. */
  abandoned?: boolean;
}

/** The column delimiter SFMC uses for a FileType. */
export function delimiterFor(fileType: CsvRules['fileType'], delimiter: string | undefined): string {
  if (fileType === 'CSV') return ',';
  if (fileType === 'TAB') return '\t';
  if (!delimiter) throw new Error('FileType Other needs import.delimiter');
  return delimiter;
}

export const EMAIL_DESTINATION = 'email address';

/** Email lookups made together (HashSet64.addAll); 32 measured best of 16-512 in bench item 5's check. */
const EMAIL_BATCH = 32;

/** The checks a request asks for. headerLines defaults to 1: subscriber files carry a header row. */
export function rulesFor(request: Pick<ListSendRequest, 'import'>): CsvRules {
  const imp = request.import;
  return {
    fileType: imp.fileType,
    ...(imp.delimiter !== undefined ? { delimiter: imp.delimiter } : {}),
    headerLines: imp.headerLines ?? 1,
    fieldMaps: imp.fieldMaps,
    allowErrors: imp.allowErrors === true,
    allowEmpty: imp.allowEmpty === true,
    failOnDuplicateEmails: imp.failOnDuplicateEmails === true,
  };
}

// Pragmatic, not RFC 5322: a local part of the usual characters, '@', and a domain of at least
// two dot-separated labels (letters, digits, inner hyphens). What the HTML spec accepts for
// <input type=email>, plus the dot in the domain that a deliverable address needs.
const EMAIL =
  /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/;

export function isPlausibleEmail(value: string): boolean {
  return value.length <= 254 && EMAIL.test(value);
}

/** True when the run must stop: any file problem, or any row problem without allowErrors. */
export function failsRun(report: ValidationReport, rules: Pick<CsvRules, 'allowErrors'>): boolean {
  return report.fileProblem || (report.problemCount > 0 && !rules.allowErrors);
}

const KIND_LABELS: Record<ProblemKind, string> = {
  'malformed-csv': 'malformed CSV',
  'too-few-columns': 'too few columns',
  'missing-email': 'missing email',
  'invalid-email': 'invalid email',
  'empty-row': 'empty row',
  'duplicate-email': 'duplicate email',
  'invalid-utf8': 'not UTF-8',
  'record-too-large': 'record too large',
  'missing-header-column': 'missing header column',
  'no-data-rows': 'no data rows',
};

/** Totals in a stable order: `invalid email: 3, duplicate email: 1`. */
export function describeTotals(totals: ValidationReport['totals']): string {
  return (Object.keys(KIND_LABELS) as ProblemKind[])
    .filter((k) => (totals[k] ?? 0) > 0)
    .map((k) => `${KIND_LABELS[k]}: ${totals[k]}`)
    .join(', ');
}

/** The report as a person reads it: a summary line, then one line per listed problem. */
export function describeReport(report: ValidationReport, fileName: string): string {
  const n = report.problemCount;
  const head =
    `${fileName}: ${n} problem${n === 1 ? '' : 's'} in ${report.rows} data row${report.rows === 1 ? '' : 's'} ` +
    `(${describeTotals(report.totals)})` +
    (report.stoppedAtLine !== undefined ? `; checking stopped at line ${report.stoppedAtLine}` : '');
  const listed = report.problems.map((p) => `  line ${p.line}: ${p.message}`);
  const more = n > report.problems.length ? [`  ... and ${n - report.problems.length} more`] : [];
  return [head, ...listed, ...more].join('\n');
}

/**
 * The report for an Error message, failedReason, stack trace or worker log line: counts, kinds
 * and line numbers only, never a value from the file (describeReport quotes invalid emails).
 */
export function summarizeReport(report: ValidationReport, fileName: string): string {
  const n = report.problemCount;
  const lines = [...new Set(report.problems.map((p) => p.line))].slice(0, 10);
  return (
    `${fileName}: ${n} problem${n === 1 ? '' : 's'} in ${report.rows} data row${report.rows === 1 ? '' : 's'} ` +
    `(${describeTotals(report.totals)})` +
    (lines.length > 0 ? `; first at line${lines.length === 1 ? '' : 's'} ${lines.join(', ')}` : '') +
    (report.stoppedAtLine !== undefined ? `; checking stopped at line ${report.stoppedAtLine}` : '') +
    '; the job log lists them'
  );
}

const CSV_ERROR_TEXT: Record<string, string> = {
  CSV_QUOTE_NOT_CLOSED: 'a quoted field is not closed before the end of the file',
  CSV_INVALID_CLOSING_QUOTE: 'a closing quote is followed by something other than a delimiter or line end',
  INVALID_OPENING_QUOTE: 'a quote inside an unquoted field (quote the field and double the quote)',
  CSV_INVALID_OPENING_QUOTE: 'a quote inside an unquoted field (quote the field and double the quote)',
  CSV_NON_TRIMABLE_CHAR_AFTER_CLOSING_QUOTE: 'characters after a closing quote',
};

/**
 * The streaming checker. `write` each chunk of bytes in order, then `end` for the report. It is
 * synchronous per chunk (csv-parse runs its callbacks inside write), so a caller that awaits
 * nothing between chunks keeps memory flat.
 */
export class CsvValidator {
  /** The hand-written scanner, or csv-parse (the reference, and for delimiters of several bytes). */
  private readonly parser: RecordSource;
  /** The start of a UTF-8 character cut by the last chunk's end (at most 3 bytes). */
  private utf8Tail: Buffer = Buffer.alloc(0);
  private readonly emails: HashSet64;
  private readonly hash = new Uint32Array(2);
  /** Email hashes (hi, lo pairs) whose lookup waits for the next flushEmails. */
  private readonly pending = new Uint32Array(EMAIL_BATCH * 2);
  private pendingCount = 0;
  private readonly rowProblems: [ProblemKind, string][] = [];
  private readonly maxReported: number;
  private readonly required: { columns: number; byName: { name: string; destination: string }[] };
  private emailColumn: number | undefined;
  private emailDestinationByName: string | undefined;
  private stopped = false;
  /** Lines fully seen before the current chunk, for locating a UTF-8 error. */
  private newlinesBefore = 0;
  private lastRecordEndLine = 0;
  private recordIndex = 0;
  private pendingBlank: number[] = [];
  private pendingBlankCount = 0;
  private readonly report: ValidationReport;

  /** Data rows checked so far, for progress while the file streams. */
  get rowsSoFar(): number {
    return this.report.rows;
  }

  /** With `stopWhenDoomed`, checking stops at the very problem that dooms the run, mid-chunk. */
  constructor(
    private readonly rules: CsvRules,
    private readonly options: { stopWhenDoomed?: boolean; engine?: CsvEngine } = {},
  ) {
    this.maxReported = rules.maxReported ?? 20;
    const limit = rules.maxDistinctEmails ?? DEFAULT_MAX_DISTINCT_EMAILS;
    this.emails = new HashSet64(limit, rules.expectedBytes === undefined ? undefined : slotsForBytes(rules.expectedBytes, limit));
    this.report = {
      bytes: 0,
      rows: 0,
      headerLines: rules.headerLines,
      problems: [],
      totals: {},
      problemCount: 0,
      badRows: 0,
      fileProblem: false,
      trailingBlankLines: 0,
      duplicateCheckComplete: true,
      duplicateEmails: 0,
    };
    let columns = 0;
    const byName: { name: string; destination: string }[] = [];
    for (const map of rules.fieldMaps) {
      const isEmail = map.destinationName.trim().toLowerCase() === EMAIL_DESTINATION;
      if ('sourceOrdinal' in map) {
        columns = Math.max(columns, map.sourceOrdinal + 1);
        if (isEmail) this.emailColumn = map.sourceOrdinal;
      } else {
        byName.push({ name: map.sourceName, destination: map.destinationName });
        if (isEmail) this.emailDestinationByName = map.sourceName;
      }
    }
    this.required = { columns, byName };
    const delimiter = delimiterFor(rules.fileType, rules.delimiter);
    const maxRecordSize = rules.maxRecordBytes ?? 1024 * 1024;
    const events = { record: (r: CsvRecord, lines: number) => this.onRecord(r, lines), skip: (code: string, lines: number | undefined) => this.onSkip(code, lines) };
    const engine = options.engine ?? (scannableDelimiter(delimiter) ? 'scanner' : 'csv-parse');
    this.parser = engine === 'scanner' ? scannerSource(delimiter, maxRecordSize, events) : csvParseSource(delimiter, maxRecordSize, events);
  }

  write(chunk: Buffer): void {
    this.report.bytes += chunk.length;
    if (this.stopped) return;
    try {
      this.checkUtf8(chunk);
    } catch {
      // Nothing invalid inside the chunk means the bad sequence began at its very start.
      const found = firstInvalidUtf8Offset(chunk);
      const offset = found === chunk.length ? 0 : found;
      this.fileProblem(this.newlinesBefore + countNewlines(chunk, offset) + 1, 'invalid-utf8', 'not valid UTF-8: save the file as UTF-8 (a BOM is allowed)');
      return;
    }
    this.newlinesBefore += countNewlines(chunk, chunk.length);
    this.parser.write(chunk);
  }

  /**
   * `write`, then, with `stopWhenDoomed`, throws ValidationStopped (with the report) as soon as the
   * run is bound to fail: the caller sends nothing of this chunk and reads no more.
   */
  writeOrStop(chunk: Buffer): void {
    this.write(chunk);
    if (this.options.stopWhenDoomed && this.doomed) throw new ValidationStopped(this.abandon());
  }

  /**
   * Throws when the chunk is not UTF-8 (given the bytes before it), as a streaming fatal
   * TextDecoder would, but without building a string of the chunk: buffer.isUtf8 (simdutf) over
   * whole characters, and the few bytes of a character cut by the chunk's end held over.
   */
  private checkUtf8(chunk: Buffer): void {
    const data = this.utf8Tail.length === 0 ? chunk : Buffer.concat([this.utf8Tail, chunk]);
    const cut = incompleteTailStart(data);
    // The exact verdict (and the throw) comes from a TextDecoder fed what was held over.
    if (!isUtf8(data.subarray(0, cut))) this.slowDecoder().decode(chunk, { stream: true });
    const tail = Buffer.from(data.subarray(cut));
    // A held-over start that can never become a character fails now, as the TextDecoder would.
    if (tail.length > 0) new TextDecoder('utf-8', { fatal: true }).decode(tail, { stream: true });
    this.utf8Tail = tail;
  }

  private slowDecoder(): InstanceType<typeof TextDecoder> {
    const decoder = new TextDecoder('utf-8', { fatal: true });
    decoder.decode(this.utf8Tail, { stream: true });
    return decoder;
  }

  /** True once the run is bound to fail: a file problem, or a row problem without allowErrors. */
  get doomed(): boolean {
    return this.report.fileProblem || (this.report.problemCount > 0 && !this.rules.allowErrors);
  }

  /**
   * Stops checking now, without reading the rest: the run is bound to fail anyway (issue #10:
   * reading on after that only costs time, and an endless input would never end).
   */
  abandon(): ValidationReport {
    if (!this.stopped) {
      this.stopped = true;
      this.report.stoppedAtLine ??= this.lastRecordEndLine || 1;
    }
    this.flushEmails();
    this.report.abandoned = true;
    this.report.duplicateCheckComplete = false;
    if (this.emailColumn !== undefined) this.report.emailColumn = this.emailColumn;
    this.parser.destroy();
    return this.report;
  }

  /** Finishes the checks and returns the report. */
  async end(): Promise<ValidationReport> {
    if (!this.stopped) {
      try {
        // Bytes left over are a character the file never finishes.
        if (this.utf8Tail.length > 0) this.slowDecoder().decode();
      } catch {
        this.fileProblem(this.newlinesBefore + 1, 'invalid-utf8', 'the file ends inside a UTF-8 character');
      }
    }
    await this.parser.end();
    this.report.trailingBlankLines = this.pendingBlankCount;
    if (!this.stopped && this.report.rows === 0 && !this.rules.allowEmpty) {
      this.problem(this.lastRecordEndLine || 1, 'no-data-rows', `no data rows after ${this.rules.headerLines} header line(s) (set import.allowEmpty to allow it)`);
      this.report.fileProblem = true;
    }
    this.flushEmails();
    this.report.duplicateCheckComplete = !this.emails.saturated;
    if (this.emailColumn !== undefined) this.report.emailColumn = this.emailColumn;
    return this.report;
  }

  private onRecord(record: CsvRecord, endLine: number): void {
    if (this.stopped) return;
    const line = Math.min(this.lastRecordEndLine + 1, endLine);
    this.lastRecordEndLine = endLine;
    const index = this.recordIndex++;
    if (index < this.rules.headerLines) {
      if (index === 0) this.readHeader(record, line);
      return;
    }
    if (record.isBlank()) {
      // Held back: blank lines at the very end of a file are harmless and are not reported.
      this.pendingBlankCount += 1;
      if (this.pendingBlank.length < this.maxReported) this.pendingBlank.push(line);
      return;
    }
    this.flushBlank();
    if (this.stopped) return;
    this.report.rows += 1;
    // One array for every row: most rows have no problem, and a new array each would be garbage.
    const problems = this.rowProblems;
    // Only when needed: setting an array's length is a call into the runtime, every row.
    if (problems.length !== 0) problems.length = 0;
    if (record.length < this.required.columns) {
      problems.push(['too-few-columns', `${record.length} column${record.length === 1 ? '' : 's'}, the field maps need ${this.required.columns}`]);
    }
    const column = this.emailColumn;
    if (column !== undefined && record instanceof CsvScanner && column < record.length && !record.hasDoubledQuotes(column) && hashPlainEmail(record.bytes, record.startOf(column), record.endOf(column), this.hash)) {
      // The common case, checked and hashed on the bytes (email-bytes.ts); anything else as text.
      this.noteEmail(this.hash[0] as number, this.hash[1] as number, problems);
    } else if (this.emailColumn !== undefined) {
      const email = record.field(this.emailColumn).trim();
      if (email === '') {
        if (record.length > this.emailColumn) problems.push(['missing-email', `no email in column ${this.emailColumn + 1}`]);
      } else if (!isPlausibleEmail(email)) {
        problems.push(['invalid-email', `invalid email ${quote(email)}`]);
      } else {
        const [hi, lo] = hash64(email.toLowerCase());
        this.noteEmail(hi, lo, problems);
      }
    }
    if (problems.length > 0) this.report.badRows += 1;
    for (const [kind, message] of problems) this.problem(line, kind, message);
    if (problems.length > 0) this.stopIfDoomed(line);
  }

  /**
   * Looks the email's hash up in the table of emails seen. A repeat is only counted unless
   * failOnDuplicateEmails makes it the row's problem, so the lookups wait in `pending` and are
   * made EMAIL_BATCH at a time (HashSet64.addAll: the table's cache misses overlap), in file
   * order, so the count is the same.
   */
  private noteEmail(hi: number, lo: number, problems: [ProblemKind, string][]): void {
    if (this.rules.failOnDuplicateEmails) {
      if (!this.emails.add(hi, lo)) return;
      this.report.duplicateEmails += 1;
      // The address itself stays out: reports end up in logs and in Redis for 30 days.
      problems.push(['duplicate-email', 'duplicate email (an earlier row has the same address)']);
      return;
    }
    const at = this.pendingCount * 2;
    this.pending[at] = hi;
    this.pending[at + 1] = lo;
    if (++this.pendingCount === EMAIL_BATCH) this.flushEmails();
  }

  /** Makes the lookups still waiting in `pending` (before any figure of the report is read). */
  private flushEmails(): void {
    if (this.pendingCount === 0) return;
    this.report.duplicateEmails += this.emails.addAll(this.pending, this.pendingCount);
    this.pendingCount = 0;
  }

  private stopIfDoomed(line: number): void {
    if (!this.options.stopWhenDoomed || !this.doomed || this.stopped) return;
    this.stopped = true;
    this.report.stoppedAtLine = line;
  }

  private readHeader(record: CsvRecord, line: number): void {
    if (this.required.byName.length === 0) return;
    const names = Array.from({ length: record.length }, (_, i) => record.field(i).trim().toLowerCase());
    for (const { name } of this.required.byName) {
      const index = names.indexOf(name.trim().toLowerCase());
      if (index === -1) {
        this.fileProblem(line, 'missing-header-column', `the header has no column named ${quote(name)}`);
        return;
      }
      this.required.columns = Math.max(this.required.columns, index + 1);
      if (name === this.emailDestinationByName) this.emailColumn = index;
    }
  }

  private onSkip(code: string, reported: number | undefined): void {
    if (this.stopped) return;
    const endLine = typeof reported === 'number' ? reported : this.lastRecordEndLine + 1;
    const line = Math.min(this.lastRecordEndLine + 1, endLine);
    this.lastRecordEndLine = Math.max(this.lastRecordEndLine, endLine);
    if (code === 'CSV_MAX_RECORD_SIZE') {
      this.fileProblem(line, 'record-too-large', 'a record runs on for more than the record size limit (an unclosed quote?)');
      return;
    }
    // A skipped header still counts as one of the header lines.
    if (this.recordIndex++ < this.rules.headerLines) return;
    this.flushBlank();
    if (this.stopped) return;
    this.report.rows += 1;
    this.report.badRows += 1;
    this.problem(line, 'malformed-csv', `malformed CSV: ${CSV_ERROR_TEXT[code] ?? code}`);
    this.stopIfDoomed(line);
  }

  private flushBlank(): void {
    if (this.pendingBlankCount === 0) return;
    const extra = this.pendingBlankCount - this.pendingBlank.length;
    for (const line of this.pendingBlank) this.problem(line, 'empty-row', 'empty row');
    if (extra > 0) this.count('empty-row', extra);
    this.report.badRows += this.pendingBlankCount;
    const first = this.pendingBlank[0];
    this.pendingBlank = [];
    this.pendingBlankCount = 0;
    if (first !== undefined) this.stopIfDoomed(first);
  }

  private problem(line: number, kind: ProblemKind, message: string): void {
    this.count(kind, 1);
    if (this.report.problems.length < this.maxReported) this.report.problems.push({ line, kind, message });
  }

  private count(kind: ProblemKind, n: number): void {
    this.report.totals[kind] = (this.report.totals[kind] ?? 0) + n;
    this.report.problemCount += n;
  }

  private fileProblem(line: number, kind: FileProblemKind, message: string): void {
    this.problem(line, kind, message);
    this.report.fileProblem = true;
    this.report.stoppedAtLine = line;
    this.stopped = true;
  }
}

/** Bytes per row assumed when sizing the duplicate check: bench/upload.ts measured about 60-70 for realistic rows. */
export const BYTES_PER_ROW_ESTIMATE = 64;

/**
 * Table slots for a file of this size: one email per BYTES_PER_ROW_ESTIMATE bytes, capped by the
 * limit, at the set's 3/4 load. A file of shorter rows still grows the table by doubling; a
 * higher estimate would allocate the largest table for every big file.
 */
export function slotsForBytes(bytes: number, limit: number): number {
  const emails = Math.min(limit, Math.ceil(bytes / BYTES_PER_ROW_ESTIMATE));
  // Exactly 3/4 full does not grow the set (it grows past 3/4), so DEFAULT_MAX_DISTINCT_EMAILS fits 2^20 slots.
  return Math.ceil((emails * 4) / 3);
}

function quote(value: string): string {
  return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
}

function countNewlines(buf: Buffer, end: number): number {
  let n = 0;
  for (let i = buf.indexOf(10); i !== -1 && i < end; i = buf.indexOf(10, i + 1)) n += 1;
  return n;
}

/** Where a UTF-8 character that the chunk's last bytes begin but do not finish starts; the length when none. */
export function incompleteTailStart(buf: Buffer): number {
  for (let back = 1; back <= 3 && back <= buf.length; back++) {
    const b = buf[buf.length - back] as number;
    if ((b & 0xc0) === 0x80) continue;
    const need = b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 1;
    return need > back ? buf.length - back : buf.length;
  }
  return buf.length;
}

/**
 * Offset of the first byte that cannot be part of valid UTF-8 in this chunk. Continuation bytes
 * at the very start are taken to finish a character begun in the previous chunk.
 */
export function firstInvalidUtf8Offset(buf: Buffer): number {
  let i = 0;
  while (i < buf.length && i < 3 && ((buf[i] as number) & 0xc0) === 0x80) i++;
  while (i < buf.length) {
    const b = buf[i] as number;
    const need = b < 0x80 ? 0 : b >= 0xc2 && b <= 0xdf ? 1 : b >= 0xe0 && b <= 0xef ? 2 : b >= 0xf0 && b <= 0xf4 ? 3 : -1;
    if (need < 0) return i;
    for (let k = 1; k <= need; k++) {
      // A character cut by the chunk's end is finished by the next chunk.
      if (i + k >= buf.length) return buf.length;
      if (((buf[i + k] as number) & 0xc0) !== 0x80) return i;
    }
    i += need + 1;
  }
  return buf.length;
}

/** What `CsvValidator.writeOrStop` throws (with `stopWhenDoomed`) once the run is bound to fail; `report` says why. */
export class ValidationStopped extends Error {
  override name = 'ValidationStopped';
  constructor(readonly report: ValidationReport) {
    super(`checking stopped at line ${report.stoppedAtLine ?? 0}: the run is bound to fail`);
  }
}

export type CsvEngine = 'scanner' | 'csv-parse';

/** Where the validator's records come from: bytes in, record and skip events out. */
interface RecordSource {
  write(chunk: Buffer): void;
  end(): Promise<void>;
  destroy(): void;
}

interface SourceEvents {
  record(record: CsvRecord, lines: number): void;
  skip(code: string, lines: number | undefined): void;
}

function scannerSource(delimiter: string, maxRecordSize: number, events: SourceEvents): RecordSource {
  const scanner = new CsvScanner(delimiter, events, { maxRecordSize });
  return {
    write: (chunk) => scanner.write(chunk),
    end: () => {
      scanner.end();
      return Promise.resolve();
    },
    destroy: () => undefined,
  };
}

/** A csv-parse record as a CsvRecord. */
class ArrayRecord implements CsvRecord {
  constructor(private readonly fields: string[]) {}
  get length(): number {
    return this.fields.length;
  }
  field(index: number): string {
    return this.fields[index] ?? '';
  }
  isBlank(): boolean {
    return this.fields.every((f) => f.trim() === '');
  }
}

/** csv-parse, synchronous per chunk (its callbacks run inside write): the scanner's reference. */
function csvParseSource(delimiter: string, maxRecordSize: number, events: SourceEvents): RecordSource {
  const parser: Parser = parse({
    delimiter,
    quote: '"',
    bom: true,
    relax_column_count: true,
    skip_empty_lines: false,
    skip_records_with_error: true,
    max_record_size: maxRecordSize,
    on_record: (record: string[], context) => {
      events.record(new ArrayRecord(record), context.lines);
      return null;
    },
    on_skip: (err: CsvError | undefined) => {
      const lines: unknown = err?.lines;
      events.skip(err?.code ?? 'unknown', typeof lines === 'number' ? lines : undefined);
      return undefined;
    },
  });
  // Records are consumed in on_record; the readable side only has to reach its end.
  parser.resume();
  return {
    write: (chunk) => parser.write(chunk),
    end: () => {
      const done = new Promise<void>((resolve, reject) => {
        parser.once('end', resolve);
        parser.once('error', reject);
      });
      parser.end();
      return done;
    },
    destroy: () => parser.destroy(),
  };
}
