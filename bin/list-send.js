#!/usr/bin/env node
// The CLI is compiled by `npm run build` (run automatically by `npm ci` through `prepare`).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  console.error('list-send is not built yet: run `npm run build` (npm ci does it for you).');
  process.exit(1);
}
// Before anything else is loaded: the worker's V8 settings keep an upload's memory down (src/worker/v8-flags.ts).
if (process.argv[2] === 'worker') {
  const { applyWorkerV8Flags } = await import(new URL('../dist/src/worker/v8-flags.js', import.meta.url).href);
  applyWorkerV8Flags();
}
await import(entry.href);
