import type { ItemResult, MachineInfo, Table, TargetResult } from './common.js';

/** docs/BENCHMARKS.md: the command, the machine, then each item's setup, figures and targets. */

export interface Report {
  command: string;
  quick: boolean;
  machine: MachineInfo;
  redisUrl: string;
  startedAt: Date;
  seconds: number;
  results: ItemResult[];
  /** The conditions the figures were taken in. */
  note?: string;
  /** Load average when the last item finished. */
  loadAtEnd: string;
}

function table(t: Table): string {
  const line = (cells: (string | number)[]) => `| ${cells.map((c) => String(c).replace(/\|/g, '\\|')).join(' | ')} |`;
  return [
    ...(t.caption ? [`*${t.caption}*`, ''] : []),
    line(t.head),
    line(t.head.map(() => '---')),
    ...t.rows.map(line),
  ].join('\n');
}

function verdict(t: TargetResult): string {
  if (t.met === 'skipped') return 'skipped';
  if (t.met === 'info') return 'reported';
  return t.met ? 'met' : '**missed**';
}

function item(r: ItemResult): string {
  const parts = [`## ${r.id}. ${r.title}`];
  if (r.skipped) parts.push(`Skipped: ${r.skipped}`);
  if (r.setup.length) parts.push(r.setup.map((s) => `- ${s}`).join('\n'));
  for (const t of r.tables) parts.push(table(t));
  if (r.targets.length) {
    parts.push(
      table({
        head: ['target', 'wanted', 'measured', 'verdict', 'why / depends on'],
        rows: r.targets.map((t) => [t.name, t.target, t.value, verdict(t), t.why ?? '']),
      }),
    );
  }
  parts.push(...r.notes);
  if (r.seconds !== undefined) parts.push(`*Item time: ${r.seconds.toFixed(1)} s.*`);
  return parts.join('\n\n');
}

export function renderReport(report: Report): string {
  const m = report.machine;
  const summary = report.results.flatMap((r) => r.targets.map((t) => [`${r.id}`, t.name, t.target, t.value, verdict(t)]));
  return [
    '# Benchmarks',
    '',
    'Issue 7: what the pipeline costs beside BullMQ\'s own floor, how polling scales, how the API is used and how',
    'uploads stream. Absolute figures depend on the machine; the ratios are the point. Regenerate with the command',
    'below; `npm run bench -- --quick` runs every item at small sizes (CI checks they run, not how fast).',
    '',
    `- Command: \`${report.command}\`${report.quick ? ' (quick sizes: figures are not meaningful)' : ''}`,
    `- Run: ${report.startedAt.toISOString()}, ${report.seconds.toFixed(0)} s in all`,
    `- Machine: ${m.cores} × ${m.cpuModel}, ${m.memoryGb} GB memory, ${m.platform}; load average ${m.loadAverage} at the start, ${report.loadAtEnd} at the end`,
    ...(report.note ? [`- Conditions: ${report.note}`] : []),
    `- Node ${m.node}, Redis ${m.redis} (${report.redisUrl.replace(/\/\/[^@]*@/, '//')}), bullmq, ioredis and undici as locked in package-lock.json`,
    '',
    '## Summary',
    '',
    table({ head: ['item', 'target', 'wanted', 'measured', 'verdict'], rows: summary }),
    '',
    ...report.results.map((r) => `${item(r)}\n`),
  ].join('\n');
}
