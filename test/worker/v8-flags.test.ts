import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { WORKER_V8_FLAGS } from '../../src/worker/v8-flags.js';

const CHILD = fileURLToPath(new URL('./young-generation-child.ts', import.meta.url));

/** The child's young generation (bytes) before and after a load that grows it by default. */
function youngGeneration(apply: boolean): { before: number; after: number } {
  const out = execFileSync(process.execPath, ['--import', 'tsx', CHILD, ...(apply ? ['apply'] : [])], { encoding: 'utf8' });
  return JSON.parse(out) as { before: number; after: number };
}

describe("the worker's V8 settings", () => {
  it('names only flags this V8 knows (setFlagsFromString ignores an unknown one silently)', () => {
    const known = execFileSync(process.execPath, ['--v8-options'], { encoding: 'utf8' });
    for (const flag of WORKER_V8_FLAGS) {
      const name = flag.replace(/^--(no-)?/, '').replace(/=.*$/, '');
      expect(known, flag).toContain(`--${name} `);
    }
  });

  it('stop the young generation growing once applied at run time, where by default it grows', () => {
    const byDefault = youngGeneration(false);
    const applied = youngGeneration(true);
    // By default V8 grows the semi-spaces under this load up to 16 MB each (32 MB in all).
    expect(byDefault.after).toBeGreaterThan(byDefault.before);
    expect(applied.after).toBe(applied.before);
  });
});
