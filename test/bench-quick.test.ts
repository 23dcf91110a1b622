import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { testRedisUrl } from './helpers/redis.js';

const RUN = fileURLToPath(new URL('../bench/run.ts', import.meta.url));

/**
 * Keeps `npm run bench` from rotting: every item runs at small sizes and reports. Speed and memory
 * are judged by the full bench (docs/BENCHMARKS.md), never here.
 */
describe('npm run bench -- --quick', () => {
  it('runs every item and writes a report with each of them', async () => {
    const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', RUN, '--quick'], {
        env: { ...process.env, REDIS_URL: testRedisUrl() },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      child.once('error', reject);
      child.once('close', (c) => resolve({ code: c, stdout: out, stderr: err }));
    });
    expect(stderr).not.toMatch(/FAILED/);
    expect(code).toBe(0);
    for (const id of [1, 2, 3, 4, 5, 6]) expect(stderr).toContain(`bench: item ${id} done`);
    expect(stdout).toMatch(/^# Benchmarks/m);
  }, 240_000);
});
