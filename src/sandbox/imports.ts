import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ImportState } from './types.js';

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

/**
 * Rows in `${dataDir}/Import/<fileSpec>`: non-empty lines after the header lines. Returns
 * undefined when there is no such file, so the caller falls back to the configured row count.
 *
 * Sandbox assumption (real SFMC parsing is richer): a missing HeaderLines means one header line,
 * whatever the FileType, because the pipeline writes CSVs with a header; quoted fields containing
 * line breaks are not understood; `%%YEAR%%`-style substitutions are not applied.
 */
export function countFileRows(dataDir: string, fileSpec: string | undefined, headerLines: number | undefined): number | undefined {
  if (!fileSpec || BAD_FILE_NAME.test(fileSpec)) return undefined;
  const path = join(dataDir, 'Import', fileSpec);
  if (!existsSync(path)) return undefined;
  const lines = readFileSync(path, 'utf8').split(/\r?\n/);
  const skip = headerLines ?? 1;
  return lines.slice(skip).filter((l) => l.trim() !== '').length;
}

/** ImportResultsSummary.StartDate/EndDate are strings in the WSDL; their real format is UNVERIFIED. */
export function importDateString(ms: number): string {
  return new Date(ms).toISOString();
}
