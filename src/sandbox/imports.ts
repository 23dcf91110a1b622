import { closeSync, existsSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { toSfmcWallClock } from '../sfmc/time.js';
import { HashSet64 } from '../upload/hash-set.js';
import { sfmcAcceptsEmail } from './email-address.js';
import type { ImportDefinitionState, ImportState } from './types.js';

/** The lifecycle of one import, as a pure function of the clock. */

export type ImportPhase =
  | { phase: 'unregistered' }
  | { phase: 'running'; status: 'Processing' }
  | { phase: 'done'; status: 'Completed' | 'Error'; endedAt: number };

/**
 * Nothing until registerDelayMs (SFMC's docs: an empty result right after `start` is normal), then
 * Processing until durationMs, then the configured outcome. A registration delay longer than the
 * duration just means the first visible status is the final one.
 */
export function importPhase(imp: ImportState, now: number): ImportPhase {
  const elapsed = now - imp.startedAt;
  if (elapsed < imp.registerDelayMs) return { phase: 'unregistered' };
  if (elapsed < imp.durationMs) return { phase: 'running', status: 'Processing' };
  return { phase: 'done', status: imp.outcome, endedAt: imp.startedAt + imp.durationMs };
}

/** The counts ImportResultsSummary reports once the import is over. */
export function importCounts(imp: ImportState): {
  numberSuccessful: number;
  numberErrors: number;
  numberDuplicated: number;
  totalRows: number;
} {
  if (imp.outcome === 'Error') {
    // A failed import (bad file, wrong mapping) loads nothing; every row counts as an error
    // unless the caller chose a number.
    const errors = imp.numberErrors > 0 ? imp.numberErrors : imp.totalRows;
    return { numberSuccessful: 0, numberErrors: errors, numberDuplicated: 0, totalRows: imp.totalRows };
  }
  const successful = Math.max(0, imp.totalRows - imp.numberErrors - imp.numberDuplicated);
  return {
    numberSuccessful: successful,
    numberErrors: imp.numberErrors,
    numberDuplicated: imp.numberDuplicated,
    totalRows: imp.totalRows,
  };
}

// SFMC refuses these characters in file names (help.salesforce.com mc_overview_ftp_accounts); a
// FileSpec with them, or with `..`, can never name a file in the Import folder.
const BAD_FILE_NAME = /[\\/:*<>|?"]|^\.\.?$/;

export interface FileScan {
  totalRows: number;
  numberErrors: number;
  numberDuplicated: number;
}

/**
 * What an import finds in `${dataDir}/Import/<fileSpec>`: undefined when there is no such file,
 * so the caller falls back to the configured row count. Read in 1 MiB pieces, so a large upload
 * does not need its size in memory.
 *
 *   TotalRows         non-blank lines after the header lines
 *   NumberErrors      rows whose field mapped to `Email Address` is empty or not an address by
 *                     SFMC's published rules (email-address.ts), not by the pipeline's pre-check
 *   NumberDuplicated  rows repeating an earlier row's email, ignoring case
 *
 * Sandbox assumptions (real SFMC parsing is richer): a missing HeaderLines means one header line,
 * whatever the FileType, because the pipeline writes CSVs with a header; quoted fields holding
 * line breaks are not understood; `%%YEAR%%`-style substitutions are not applied; without an
 * `Email Address` mapping no row is an error or a duplicate.
 */
export function scanImportFile(
  dataDir: string,
  def: Pick<ImportDefinitionState, 'fileSpec' | 'fileType' | 'headerLines' | 'delimiter' | 'emailSource'>,
): FileScan | undefined {
  const { fileSpec } = def;
  if (!fileSpec || BAD_FILE_NAME.test(fileSpec)) return undefined;
  const path = join(dataDir, 'Import', fileSpec);
  if (!existsSync(path)) return undefined;
  const delimiter = def.fileType === 'TAB' ? '\t' : def.fileType === 'Other' ? (def.delimiter ?? ',') : ',';
  const skip = def.headerLines ?? 1;
  const source = def.emailSource;
  let emailColumn = source && 'ordinal' in source ? source.ordinal : undefined;
  // A compact set, not a rule: the pipeline tests compare NumberDuplicated with counts known from
  // the generated file (src/dev/sample-file.ts), so a fault in it cannot hide behind agreement.
  const seen = new HashSet64(Number.MAX_SAFE_INTEGER);
  const scan: FileScan = { totalRows: 0, numberErrors: 0, numberDuplicated: 0 };
  let lineNo = 0;
  const onLine = (raw: string) => {
    const line = lineNo === 0 ? raw.replace(/^\uFEFF/, '') : raw;
    lineNo += 1;
    if (lineNo <= skip) {
      if (lineNo === 1 && source && 'name' in source) {
        const names = splitFields(line, delimiter).map((f) => f.trim().toLowerCase());
        const found = names.indexOf(source.name.trim().toLowerCase());
        emailColumn = found === -1 ? undefined : found;
      }
      return;
    }
    if (line.trim() === '') return;
    scan.totalRows += 1;
    if (emailColumn === undefined) return;
    const email = (splitFields(line, delimiter)[emailColumn] ?? '').trim();
    if (!sfmcAcceptsEmail(email)) scan.numberErrors += 1;
    else if (seen.addString(email.toLowerCase())) scan.numberDuplicated += 1;
  };

  const fd = openSync(path, 'r');
  try {
    const decoder = new TextDecoder('utf-8');
    const buf = Buffer.alloc(1024 * 1024);
    let carry = '';
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      const text = carry + decoder.decode(buf.subarray(0, n), { stream: n > 0 });
      const lines = text.split('\n');
      carry = lines.pop() ?? '';
      for (const l of lines) onLine(l.endsWith('\r') ? l.slice(0, -1) : l);
      if (n === 0) break;
    }
    if (carry !== '') onLine(carry.endsWith('\r') ? carry.slice(0, -1) : carry);
  } finally {
    closeSync(fd);
  }
  return scan;
}

/** Fields of one line; double quotes group a field and `""` inside quotes is one quote. */
function splitFields(line: string, delimiter: string): string[] {
  if (!line.includes('"')) return line.split(delimiter);
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i] as string;
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        field += '"';
        i += 1;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (line.startsWith(delimiter, i)) {
      fields.push(field);
      field = '';
      i += delimiter.length - 1;
    } else field += c;
  }
  fields.push(field);
  return fields;
}

/**
 * ImportResultsSummary.StartDate/EndDate are strings in the WSDL. SFMC writes dates in its server
 * time, CST without an offset (see src/sfmc/time.ts), so the sandbox does too; the exact text
 * format of these two string fields is UNVERIFIED (the client reads ISO and US forms).
 */
export function importDateString(ms: number): string {
  return toSfmcWallClock(ms);
}
