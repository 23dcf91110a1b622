import type { RunState } from '../client.js';
import type { Config } from '../config.js';
import { RunsData } from '../api/runs-page/data.js';
import type { RunView } from '../api/runs-page/view.js';
import { producerFor, reportProducerError } from './commands.js';
import { EXIT } from './io.js';

/** `list-send runs`: the runs page's list (src/api/runs-page/) as a table in the terminal. */

const COLUMNS: [string, (r: RunView) => string][] = [
  ['RUN', (r) => r.runId],
  ['STATE', (r) => r.state],
  ['STARTED', (r) => timeOf(r.startedAt)],
  ['ENDED', (r) => timeOf(r.endedAt)],
  ['LIST', (r) => r.list ?? ''],
  ['EMAIL', (r) => r.emailId ?? ''],
  ['FILE', (r) => r.file ?? ''],
  ['IMPORTED', (r) => (r.import ? `${r.import.numberSuccessful}/${r.import.totalRows}` : '')],
  ['SEND', (r) => r.sendId ?? ''],
  ['DELIVERED', (r) => (r.delivery ? `${r.delivery.delivered}/${r.delivery.sent}` : '')],
  ['REASON', (r) => (r.failure ? `${r.failure.step}: ${r.failure.reason}` : '')],
];

/** An ISO time as `2026-12-01 10:07:12Z`; empty while there is none (a run still going has no end). */
function timeOf(iso: string | undefined): string {
  return (iso ?? '').replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

/** Control characters out (a List name or an error could move the cursor), columns padded to their widest cell. */
export function formatRunsTable(runs: readonly RunView[]): string {
  // eslint-disable-next-line no-control-regex
  const clean = (v: string) => v.replace(/[\x00-\x1f\x7f-\x9f]/g, ' ');
  const rows = [COLUMNS.map(([name]) => name), ...runs.map((r) => COLUMNS.map(([, cell]) => clean(cell(r))))];
  const widths = COLUMNS.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ').trimEnd()).join('\n');
}

export async function runsCommand(config: Config, options: { state?: RunState; limit: number }): Promise<number> {
  const producer = producerFor(config);
  try {
    const page = await new RunsData(producer).list(options.state ? { state: options.state } : {}, 1, options.limit);
    console.log(formatRunsTable(page.runs));
    if (page.scanCapped) console.error(`only the ${page.scanned} most recent runs were searched`);
    return EXIT.ok;
  } catch (err) {
    return reportProducerError(err);
  } finally {
    await producer.close();
  }
}
