import { getHeapSpaceStatistics } from 'node:v8';
import { applyWorkerV8Flags } from '../../src/worker/v8-flags.js';

/**
 * Prints the young generation's size (new_space, bytes) before and after an allocation pattern that
 * makes V8 grow it by default: many objects that live across several collections, as module loading
 * makes. With `apply` as its argument it first applies the worker's V8 settings, as bin/list-send.js does.
 */
const youngBytes = () => getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? -1;
if (process.argv[2] === 'apply') applyWorkerV8Flags();
const before = youngBytes();
const kept: object[][] = [];
for (let round = 0; round < 200; round++) {
  const batch: object[] = [];
  for (let i = 0; i < 20_000; i++) batch.push({ round, i, text: `row ${i}` });
  kept.push(batch);
  if (kept.length > 20) kept.shift();
}
process.stdout.write(JSON.stringify({ before, after: youngBytes() }));
