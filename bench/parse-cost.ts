import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseEnvelope } from '../src/sfmc/envelope.js';
import { projectRoot } from '../src/paths.js';

/**
 * `npx tsx bench/parse-cost.ts [--iterations N]`: CPU per parsed SOAP reply (issue #14, "the SOAP
 * exchange costs ~0.8 ms of CPU per call, mostly parsing"). Parses the recorded replies of a
 * run's calls (test/fixtures/sfmc) with `parseEnvelope`, as the client does after reading a
 * body, and prints the CPU time per call (process.cpuUsage, user + system, after a warm-up).
 * Standalone rather than a report item: it takes seconds and needs no Redis.
 */

const REPLIES = [
  ['Retrieve List', 'seed-retrieve-list.response.xml'],
  ['Create ImportDefinition', 'seed-create-import-definition.response.xml'],
  ['Perform start', 'seed-perform-start.response.xml'],
  ['Retrieve ImportResultsSummary', 'seed-import-results-summary.response.xml'],
  ['Create Send', 'create-send.response.xml'],
  ['Retrieve ListSend (3 rows)', 'retrieve-list-sends.response.xml'],
] as const;

export interface ParseCost {
  reply: string;
  bytes: number;
  microsPerCall: number;
}

export function measureParseCost(iterations: number): ParseCost[] {
  return REPLIES.map(([reply, file]) => {
    const body = readFileSync(join(projectRoot(), 'test', 'fixtures', 'sfmc', file), 'utf8');
    const once = () => parseEnvelope(200, 'text/xml; charset=utf-8', body, { operation: reply.split(' ')[0] });
    for (let i = 0; i < Math.min(2_000, iterations); i++) once();
    const before = process.cpuUsage();
    for (let i = 0; i < iterations; i++) once();
    const used = process.cpuUsage(before);
    return { reply, bytes: Buffer.byteLength(body), microsPerCall: (used.user + used.system) / iterations };
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const at = process.argv.indexOf('--iterations');
  const iterations = at > 0 ? Number(process.argv[at + 1]) : 20_000;
  const rows = measureParseCost(iterations);
  for (const r of rows) console.log(`${r.reply.padEnd(32)} ${String(r.bytes).padStart(6)} B  ${r.microsPerCall.toFixed(1).padStart(7)} µs CPU per parse`);
  const mean = rows.reduce((s, r) => s + r.microsPerCall, 0) / rows.length;
  console.log(`mean ${mean.toFixed(1)} µs per parse over ${rows.length} replies, ${iterations} parses each`);
}
