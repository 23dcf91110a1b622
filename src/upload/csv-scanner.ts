/**
 * A streaming CSV scanner over Buffers that reports exactly what csv-parse 7 reports for the
 * options the validator uses (`quote: '"'`, escape `"`, `bom: true`, `relax_column_count`,
 * `skip_records_with_error`, `max_record_size`, record delimiter discovered from the file), but
 * builds no per-record info object and decodes no field nobody reads: the validator only needs a
 * record's field count, whether it is blank, and one or two fields as text (issue #14: csv-parse
 * with `on_record` checked 6.2 MB/s).
 *
 * csv-parse stays the reference: test/upload/csv-scanner-agrees.test.ts feeds random files to both
 * and requires the same records, problems and line numbers. The rules below are csv-parse's
 * (node_modules/csv-parse/lib/api/index.js, `parse`), including its quirks:
 * - the record delimiter is the first of `\r\n`, `\n`, `\r` seen outside quotes, and only it
 *   ends records afterwards (a bare `\n` in a `\r\n` file is field content);
 * - `info.lines` counts every CR and LF byte it processes (inside quotes too; the LF of a `\r\n`
 *   record delimiter is skipped), counted when the next byte is processed;
 * - a quote inside an unquoted field, or a closing quote followed by anything but a delimiter,
 *   record delimiter, NUL or the end, is an error reported once per such quote; the quote is kept
 *   as content and the record is dropped at its end;
 * - a record longer than `max_record_size` (earlier fields in UTF-16 units, the current one in
 *   bytes) is an error that ends the scan (csv-parse returns out of the chunk there).
 *
 * Two paths give the same results. The common case, whole records of plain or simply quoted fields
 * ending in the file's record delimiter (scanWholeRecords), is read where it lies in the chunk:
 * one pass over the bytes that notes where fields start and end, with nothing copied or decoded.
 * Everything else (a line break or an unclosed quote inside a field, a stray quote, a record cut by
 * the chunk's end, the first record before the delimiter is known, an over-long record) goes
 * byte by byte through `scan`, which copies the fields' bytes into a buffer of its own.
 */

export interface CsvRecord {
  readonly length: number;
  /** The field's text, quotes removed and doubled quotes undone. */
  field(index: number): string;
  /** True when every field is empty or whitespace only (String.prototype.trim). */
  isBlank(): boolean;
}

export interface ScanEvents {
  /** A record without errors; `lines` is csv-parse's `info.lines` when it was emitted. */
  record(record: CsvRecord, lines: number): void;
  /** A record error, as csv-parse's `on_skip` would report it: its CsvError code and `lines`. */
  skip(code: string, lines: number): void;
}

const CR = 13;
const LF = 10;
const QUOTE = 34;

/** Byte kinds for the run of content bytes (the byte-by-byte path's common case). */
const PLAIN_BYTE = 0;
const STOP_BYTE = 1;
const CONTINUATION_BYTE = 2;
const LEAD4_BYTE = 3;
const OTHER_HIGH_BYTE = 4;

function byteKinds(stops: number[]): Uint8Array {
  const kinds = new Uint8Array(256);
  for (let c = 0x80; c < 256; c++) kinds[c] = (c & 0xc0) === 0x80 ? CONTINUATION_BYTE : c >= 0xf0 ? LEAD4_BYTE : OTHER_HIGH_BYTE;
  for (const c of stops) kinds[c] = STOP_BYTE;
  return kinds;
}

const NO_WORDS = new Uint32Array(0);
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * The chunk as 32-bit words, for reading unquoted fields four bytes at a time (wordScan); empty
 * when that cannot be done: a chunk that does not start on a 4-byte boundary, a big-endian machine.
 */
function wordsOf(buf: Buffer): Uint32Array {
  if (!LITTLE_ENDIAN || buf.byteOffset % 4 !== 0 || buf.length < 64) return NO_WORDS;
  return new Uint32Array(buf.buffer, buf.byteOffset, buf.length >>> 2);
}

/** Where the first byte of buf[p, len) that ends an unquoted field is (len when none is). */
function byteScan(buf: Buffer, p: number, len: number, fieldEnds: Uint8Array): number {
  while (p < len && fieldEnds[buf[p] as number] === 0) p++;
  return p;
}

/**
 * byteScan, four bytes at a time where the words cover the chunk. Two bit tricks flag a word's
 * bytes at once: (t - 0x01010101) & ~t & 0x80808080 flags the zero bytes of t = word XOR the
 * delimiter repeated, and (word - 0x23232323) & ~word & 0x80808080 the bytes below 0x23 (a quote,
 * CR, LF, and also space, '!' and control characters, which are checked and skipped). In each
 * the lowest flagged byte is always a true one (only a flagged byte below can wrongly flag one
 * above it), and on a little-endian machine the lowest byte comes first in the chunk; after a
 * byte that is flagged but ends nothing, the word is tested again with the bytes up to it set to
 * 0xFF, which neither test flags. Two tests a word, not one per byte that ends a field (issue #14).
 */
function wordScan(buf: Buffer, words: Uint32Array, p: number, len: number, fieldEnds: Uint8Array, delimiterWord: number): number {
  for (; (p & 3) !== 0; p++) if (p >= len || fieldEnds[buf[p] as number] !== 0) return p;
  const count = words.length;
  let w = p >>> 2;
  for (; w < count; w++) {
    let v = words[w] as number;
    let m = flagged(v, delimiterWord);
    while (m !== 0) {
      const byte = (31 - Math.clz32(m & -m)) >>> 3;
      const at = (w << 2) + byte;
      if (fieldEnds[buf[at] as number] !== 0) return at;
      if (byte === 3) break;
      v |= (1 << ((byte + 1) << 3)) - 1;
      m = flagged(v, delimiterWord);
    }
  }
  return byteScan(buf, w << 2, len, fieldEnds);
}

/** The high bit of each byte of v that may end a field: the delimiter, and every byte below 0x23 (see wordScan). */
function flagged(v: number, delimiterWord: number): number {
  const t = v ^ delimiterWord;
  return (((t - 0x01010101) & ~t) | ((v - 0x23232323) & ~v)) & 0x80808080;
}

/** How many of a chunk's first bytes are joined to the bytes held back from the last one. */
const STITCH_BYTES = 8;

const enum RecordDelimiter {
  Unknown,
  CrLf,
  Lf,
  Cr,
}

/** True when a delimiter can be scanned here: one byte, not a quote nor a line break. */
export function scannableDelimiter(delimiter: string): boolean {
  const bytes = Buffer.from(delimiter, 'utf8');
  return bytes.length === 1 && bytes[0] !== QUOTE && bytes[0] !== CR && bytes[0] !== LF;
}

export class CsvScanner implements CsvRecord {
  private readonly delimiter: number;
  private readonly maxRecordSize: number;
  /** Which bytes end a run of content, outside and inside quotes. */
  private readonly unquotedKinds: Uint8Array;
  private readonly quotedKinds = byteKinds([QUOTE, CR, LF]);
  /** Unprocessed bytes kept back from the last chunk for look-ahead (at most 2). */
  private carry: Buffer | undefined;
  private bomChecked = false;
  private recordDelimiter = RecordDelimiter.Unknown;
  private lines = 1;
  /** Bytes that end an unquoted field on the whole-record path: the delimiter, a quote, CR and LF. */
  private readonly fieldEnds: Uint8Array;
  private wasRowDelimiter = false;
  private quoting = false;
  private wasQuoting = false;
  private escaping = false;
  private recordHasError = false;
  /** The byte-by-byte path's record: its fields' bytes one after the other, quotes undone. */
  private acc = Buffer.allocUnsafe(4096);
  private accLength = 0;
  /** The record being emitted: field i is recordBytes[starts[i], ends[i]) (the chunk itself, or acc). */
  private recordBytes: Buffer = this.acc;
  private starts = new Int32Array(64);
  private ends = new Int32Array(64);
  /** 1 where field i is a quoted field read in place that still holds its doubled quotes. */
  private doubledQuotes = new Uint8Array(64);
  private fields = 0;
  private fieldStart = 0;
  /** csv-parse's record_length: the earlier fields' lengths in UTF-16 units. */
  private recordUnits = 0;
  /** UTF-16 units minus bytes of the current field (negative for multi-byte characters). */
  private fieldUnitAdjust = 0;
  /** True after a record-size error: csv-parse stops parsing there. */
  private dead = false;

  constructor(
    delimiter: string,
    private readonly events: ScanEvents,
    options: { maxRecordSize?: number } = {},
  ) {
    if (!scannableDelimiter(delimiter)) throw new Error(`the scanner takes a one-byte delimiter, not ${JSON.stringify(delimiter)}`);
    this.delimiter = Buffer.from(delimiter, 'utf8')[0] as number;
    this.maxRecordSize = options.maxRecordSize ?? 0;
    this.unquotedKinds = byteKinds([this.delimiter, QUOTE, CR, LF]);
    this.fieldEnds = new Uint8Array(256);
    for (const c of [this.delimiter, QUOTE, CR, LF]) this.fieldEnds[c] = 1;
  }

  write(chunk: Buffer): void {
    const carry = this.carry;
    if (!carry) {
      this.scan(chunk, false, 0);
      return;
    }
    // The bytes held back are joined to the chunk's first few only, not copied with the whole chunk.
    const head = Buffer.concat([carry, chunk.subarray(0, STITCH_BYTES)]);
    this.carry = undefined;
    const stopped = this.scan(head, false, 0);
    if (this.dead || chunk.length <= STITCH_BYTES) return;
    this.carry = undefined;
    this.scan(chunk, false, stopped - carry.length);
  }

  end(): void {
    this.scan(this.carry ?? Buffer.alloc(0), true, 0);
    this.carry = undefined;
    if (this.dead) return;
    if (this.quoting) {
      this.error('CSV_QUOTE_NOT_CLOSED');
    } else if (this.wasQuoting || this.fields !== 0 || this.accLength !== this.fieldStart) {
      this.endField();
      this.endRecord();
    }
  }

  // CsvRecord: the record being emitted.
  get length(): number {
    return this.fields;
  }

  field(index: number): string {
    if (index < 0 || index >= this.fields) return '';
    const text = this.recordBytes.toString('utf8', this.starts[index], this.ends[index]);
    return this.doubledQuotes[index] === 1 ? text.replaceAll('""', '"') : text;
  }

  /** The bytes of the record's fields, for startOf/endOf: valid only while the record is emitted. */
  get bytes(): Buffer {
    return this.recordBytes;
  }

  startOf(index: number): number {
    return this.starts[index] as number;
  }

  endOf(index: number): number {
    return this.ends[index] as number;
  }

  /** True when bytes[startOf(i), endOf(i)) still holds doubled quotes (`""` for `"`): read field(i) instead. */
  hasDoubledQuotes(index: number): boolean {
    return this.doubledQuotes[index] === 1;
  }

  isBlank(): boolean {
    const buf = this.recordBytes;
    for (let f = 0; f < this.fields; f++) {
      const end = this.ends[f] as number;
      for (let i = this.starts[f] as number; i < end; i++) {
        const c = buf[i] as number;
        if (c === 32 || (c >= 9 && c <= 13)) continue;
        // Unicode spaces (NBSP, U+2000..., BOM) are blank to trim() too: ask it.
        return c >= 0x80 ? this.everyFieldTrimsToNothing() : false;
      }
    }
    return true;
  }

  private everyFieldTrimsToNothing(): boolean {
    for (let f = 0; f < this.fields; f++) if (this.field(f).trim() !== '') return false;
    return true;
  }

  /** Scans buf from `from`; keeps what it could not scan yet in `carry`; returns where it stopped. */
  private scan(buf: Buffer, end: boolean, from: number): number {
    if (this.dead) return from;
    let pos = from;
    const len = buf.length;
    if (!this.bomChecked) {
      if (len < 3 && !end) {
        this.carry = Buffer.from(buf);
        return 0;
      }
      this.bomChecked = true;
      if (buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) pos = 3;
    }
    const delimiter = this.delimiter;
    const max = this.maxRecordSize;
    // Two bytes of look-ahead are kept back until the end: a doubled quote, a closing quote
    // followed by `\r\n`. csv-parse keeps at least as much (__needMoreData).
    const keep = end ? -1 : 2;
    const limit = len - keep - 1;
    for (; pos < len; pos++) {
      if (len - pos - 1 < keep) break;
      // The common case: whole records, read in place.
      if (this.fields === 0 && this.accLength === 0 && this.recordDelimiter !== RecordDelimiter.Unknown && !this.quoting && !this.wasQuoting && !this.escaping && !this.recordHasError) {
        const next = this.scanWholeRecords(buf, pos);
        if (next !== pos) {
          pos = next - 1;
          continue;
        }
      }
      // Else, a run of content bytes: copied in one go, with the same size check.
      if (!this.wasRowDelimiter && !this.escaping && this.recordDelimiter !== RecordDelimiter.Unknown && pos < limit) {
        const kinds = this.quoting ? this.quotedKinds : this.unquotedKinds;
        this.reserve(limit - pos);
        const acc = this.acc;
        let at = this.accLength;
        let j = pos;
        let adjust = 0;
        for (; j < limit; j++) {
          const c = buf[j] as number;
          const kind = kinds[c] as number;
          if (kind !== PLAIN_BYTE) {
            if (kind === STOP_BYTE) break;
            // UTF-16 units: a continuation byte adds none; a 4-byte character is two units.
            if (kind === CONTINUATION_BYTE) adjust -= 1;
            else if (kind === LEAD4_BYTE) adjust += 1;
          }
          acc[at++] = c;
        }
        const n = j - pos;
        if (n > 0) {
          if (max !== 0 && this.recordUnits + (this.accLength - this.fieldStart) + n - 1 > max) {
            this.error('CSV_MAX_RECORD_SIZE');
            this.dead = true;
            return pos;
          }
          this.accLength = at;
          this.fieldUnitAdjust += adjust;
          pos = j - 1;
          continue;
        }
      }
      if (this.wasRowDelimiter) {
        this.lines += 1;
        this.wasRowDelimiter = false;
      }
      const c = buf[pos] as number;
      if (!this.quoting && this.recordDelimiter === RecordDelimiter.Unknown) this.discover(buf, pos);
      if (c === CR || c === LF) this.wasRowDelimiter = true;
      if (this.escaping) {
        this.escaping = false;
      } else {
        if (c === QUOTE) {
          if (this.quoting) {
            // A doubled quote inside quotes is one quote: the second is taken as content.
            if (pos + 1 < len && buf[pos + 1] === QUOTE) {
              this.escaping = true;
              continue;
            }
            const next = buf[pos + 1];
            if (next === undefined || next === 0 || next === delimiter || this.recordDelimiterAt(buf, pos + 1) !== 0) {
              this.quoting = false;
              this.wasQuoting = true;
              continue;
            }
            this.error('CSV_INVALID_CLOSING_QUOTE');
          } else if (this.accLength !== this.fieldStart) {
            this.error('INVALID_OPENING_QUOTE');
          } else {
            this.quoting = true;
            continue;
          }
        }
        if (!this.quoting) {
          const rd = c === CR || c === LF ? this.recordDelimiterAt(buf, pos) : 0;
          if (rd !== 0) {
            this.endField();
            this.endRecord();
            pos += rd - 1;
            continue;
          }
          if (c === delimiter) {
            this.endField();
            continue;
          }
        }
      }
      if (max !== 0 && this.recordUnits + (this.accLength - this.fieldStart) > max) {
        this.error('CSV_MAX_RECORD_SIZE');
        this.dead = true;
        return pos;
      }
      this.append(c);
    }
    this.carry = pos < len ? Buffer.from(buf.subarray(pos)) : undefined;
    return pos;
  }

  /**
   * Emits the whole records that begin at `from` and need nothing of the byte-by-byte path (see
   * the top of the file); returns where the first record that does begins (`from` when it is the first).
   * Called at a record's start only, with the record delimiter known and no error pending.
   */
  private scanWholeRecords(buf: Buffer, from: number): number {
    const len = buf.length;
    const delimiter = this.delimiter;
    const fieldEnds = this.fieldEnds;
    const crlf = this.recordDelimiter === RecordDelimiter.CrLf;
    const recordEnd = this.recordDelimiter === RecordDelimiter.Cr ? CR : LF;
    const max = this.maxRecordSize;
    const words = wordsOf(buf);
    const delimiterWord = Math.imul(delimiter, 0x01010101);
    // The field arrays in locals (read again only after they grow): each field stores three values.
    let starts = this.starts;
    let ends = this.ends;
    let doubledQuotes = this.doubledQuotes;
    let pos = from;
    while (pos < len) {
      let p = pos;
      let fields = 0;
      for (;;) {
        if (fields === starts.length) {
          this.growFields();
          starts = this.starts;
          ends = this.ends;
          doubledQuotes = this.doubledQuotes;
        }
        let start = p;
        let end: number;
        let doubled = 0;
        if (buf[p] === QUOTE) {
          start = ++p;
          for (;; p++) {
            if (p >= len) return pos;
            const c = buf[p] as number;
            if (c === QUOTE) {
              if (buf[p + 1] !== QUOTE) break;
              doubled = 1;
              p += 1;
            } else if (c === CR || c === LF) {
              return pos;
            }
          }
          end = p++;
        } else {
          p = words.length === 0 ? byteScan(buf, p, len, fieldEnds) : wordScan(buf, words, p, len, fieldEnds, delimiterWord);
          end = p;
        }
        // What ends the field: a delimiter or a record delimiter; anything else (a quote inside an
        // unquoted field, a closing quote followed by content or NUL, the chunk's end, a line
        // break that is content) is left to the byte-by-byte path.
        const c = buf[p];
        if (c !== delimiter && c !== CR && c !== LF) return pos;
        starts[fields] = start;
        ends[fields] = end;
        doubledQuotes[fields] = doubled;
        fields += 1;
        if (c === delimiter) {
          p += 1;
          continue;
        }
        if (crlf) {
          if (c !== CR || buf[p + 1] !== LF) return pos;
          p += 2;
        } else {
          if (c !== recordEnd) return pos;
          p += 1;
        }
        break;
      }
      // A record of no more bytes than the limit cannot exceed it; a longer one is measured byte by byte.
      if (max !== 0 && p - pos > max) return pos;
      if (this.wasRowDelimiter) this.lines += 1;
      this.wasRowDelimiter = true;
      this.fields = fields;
      this.recordBytes = buf;
      this.events.record(this, this.lines);
      this.fields = 0;
      pos = p;
    }
    return pos;
  }

  private growFields(): void {
    const n = this.starts.length * 2;
    const starts = new Int32Array(n);
    starts.set(this.starts);
    this.starts = starts;
    const ends = new Int32Array(n);
    ends.set(this.ends);
    this.ends = ends;
    const doubled = new Uint8Array(n);
    doubled.set(this.doubledQuotes);
    this.doubledQuotes = doubled;
  }

  /** Room for `n` more bytes of the record. */
  private reserve(n: number): void {
    if (this.accLength + n <= this.acc.length) return;
    let size = this.acc.length * 2;
    while (size < this.accLength + n) size *= 2;
    const bigger = Buffer.allocUnsafe(size);
    this.acc.copy(bigger, 0, 0, this.accLength);
    this.acc = bigger;
  }

  private append(c: number): void {
    this.reserve(1);
    this.acc[this.accLength++] = c;
    if (c >= 0x80) {
      // UTF-16 units: a continuation byte adds none; a 4-byte character is two units.
      if ((c & 0xc0) === 0x80) this.fieldUnitAdjust -= 1;
      else if (c >= 0xf0) this.fieldUnitAdjust += 1;
    }
  }

  /** csv-parse's auto-discovery: the first `\r\n`, `\n` or `\r` seen outside quotes is the record delimiter. */
  private discover(buf: Buffer, pos: number): number {
    const c = buf[pos];
    if (c === CR && buf[pos + 1] === LF) this.recordDelimiter = RecordDelimiter.CrLf;
    else if (c === LF) this.recordDelimiter = RecordDelimiter.Lf;
    else if (c === CR) this.recordDelimiter = RecordDelimiter.Cr;
    else return 0;
    return this.recordDelimiter === RecordDelimiter.CrLf ? 2 : 1;
  }

  /** The length of the record delimiter at `pos`, or 0; discovers it when still unknown. */
  private recordDelimiterAt(buf: Buffer, pos: number): number {
    switch (this.recordDelimiter) {
      case RecordDelimiter.Unknown:
        return this.discover(buf, pos);
      case RecordDelimiter.CrLf:
        return buf[pos] === CR && buf[pos + 1] === LF ? 2 : 0;
      case RecordDelimiter.Lf:
        return buf[pos] === LF ? 1 : 0;
      case RecordDelimiter.Cr:
        return buf[pos] === CR ? 1 : 0;
    }
  }

  private endField(): void {
    if (this.fields === this.starts.length) this.growFields();
    this.starts[this.fields] = this.fieldStart;
    this.doubledQuotes[this.fields] = 0;
    this.ends[this.fields++] = this.accLength;
    this.recordUnits += this.accLength - this.fieldStart + this.fieldUnitAdjust;
    this.fieldStart = this.accLength;
    this.fieldUnitAdjust = 0;
    this.wasQuoting = false;
  }

  private endRecord(): void {
    if (this.recordHasError) {
      this.recordHasError = false;
    } else {
      this.recordBytes = this.acc;
      this.events.record(this, this.lines);
    }
    this.fields = 0;
    this.accLength = 0;
    this.fieldStart = 0;
    this.recordUnits = 0;
  }

  private error(code: string): void {
    this.recordHasError = true;
    this.events.skip(code, this.lines);
  }
}
