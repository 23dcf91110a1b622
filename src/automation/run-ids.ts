import { createHash } from 'node:crypto';

/**
 * The runIds that make a firing or a file start at most one run: the run registry's claim of a
 * runId is atomic and permanent (src/runs.ts), so however many workers or retries enqueue the same
 * id, one run exists.
 */

/** `NAME-20261201T090000Z`: the firing's scheduled time to the second (cron and every are whole seconds). */
export function firingRunId(name: string, firingMillis: number): string {
  const iso = new Date(Math.floor(firingMillis / 1000) * 1000).toISOString();
  return `${name}-${iso.slice(0, 19).replace(/[-:]/g, '')}Z`;
}

/** `NAME-<16 hex>` of the file's name, size and mtime: a changed file is a new run, a re-listed one is not. */
export function fileRunId(name: string, file: { name: string; size: number; mtimeMs: number }): string {
  const digest = createHash('sha256').update(`${file.name}\0${file.size}\0${file.mtimeMs}`).digest('hex').slice(0, 16);
  return `${name}-${digest}`;
}

/** A glob on one file name: `*` is any run of characters, `?` one; everything else is literal. */
export function globMatches(pattern: string, fileName: string): boolean {
  const source = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${source}$`, 's').test(fileName);
}
