import { appendFileSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Job } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WatchFolderResult } from '../../queues/automation.js';
import { seedRequest, startPipeline, type Pipeline } from '../helpers/pipeline.js';
import { until } from '../reliability/support.js';
import { automationHarness, type AutomationHarness } from './support.js';

/**
 * File-drop triggers on real Redis and the sandbox's SFTP server: files are written straight into
 * the sandbox's Import folder (as another tool's upload would land there), and the trigger's
 * scheduler job lists it through SFTP every second.
 */

let p: Pipeline;
let h: AutomationHarness;

beforeAll(async () => {
  p = await startPipeline({ label: 'triggers' });
  h = automationHarness(p);
});

afterAll(async () => {
  await h?.close();
  await p?.close();
});

const CSV_HEADER = 'ID,First,Last,Phone,Email Address\n';
const row = (i: number) => `${i},A,B,,user${i}@example.com\n`;

/** The request a trigger stores: no runId, no fileSpec (the file is the run's), no file. */
function triggerRequest(): Record<string, unknown> {
  const { runId: _r, import: imp, ...rest } = seedRequest();
  const { fileSpec: _f, ...importRest } = imp as Record<string, unknown>;
  return { ...rest, import: importRest };
}

/** Collects every listing of a trigger, from whichever pool ran it. */
function listings(pools: { triggers: { on: (e: 'completed', f: (job: Job) => void) => unknown } }[]): WatchFolderResult[] {
  const seen: WatchFolderResult[] = [];
  for (const pool of pools) pool.triggers.on('completed', (job: Job) => seen.push(job.returnvalue as WatchFolderResult));
  return seen;
}

describe('an SFTP file-drop trigger', () => {
  it('starts exactly one run for a dropped file once it settled, with two workers and a restart between two listings', async () => {
    const importDir = p.sandbox.sftp.importDir;
    let pools = [await h.startPool(), await h.startPool()];
    let seen = listings(pools);
    await h.admin.addTrigger({ name: 'drop', sftpDir: '/Import', pattern: 'subscribers_*.csv', settle: '1500ms', interval: '1s', request: triggerRequest() });

    writeFileSync(join(importDir, 'subscribers_1.csv'), CSV_HEADER + row(1) + row(2));
    // Our own temporary uploads and other names are never runs.
    writeFileSync(join(importDir, '.subscribers_2.csv.part-1'), CSV_HEADER);
    writeFileSync(join(importDir, 'other.csv'), CSV_HEADER + row(3));

    // The first listing that sees the file only starts timing it.
    const first = await until('a listing that sees the file', () => seen.find((l) => l.listed === 1));
    expect(first).toMatchObject({ listed: 1, settling: 1, started: [] });
    expect(await h.runsOf('drop')).toEqual([]);

    // Restart: every pool stops, new ones take over the scheduler; what was seen is in Redis.
    for (const pool of pools) await pool.close();
    pools = [await h.startPool(), await h.startPool()];
    seen = listings(pools);

    const started = await until('the run of the file', async () => {
      const runs = await h.runsOf('drop');
      return runs.length ? runs : undefined;
    });
    expect(started).toHaveLength(1);
    const status = await p.producer.waitUntilFinished(started[0]!, { timeoutMs: 20_000 });
    expect(status.state).toBe('completed');
    expect(status.steps.map((s) => s.step)).not.toContain('upload-file');
    expect((await p.producer.request(started[0]!))?.import.fileSpec).toBe('subscribers_1.csv');

    // Listing again and again (both pools) starts nothing more.
    const listedBefore = seen.length;
    await until('three more listings', () => seen.length >= listedBefore + 3 || undefined, 10_000);
    expect(await h.runsOf('drop')).toEqual(started);

    // The same name rewritten (new size and mtime) is a new file: a second run.
    appendFileSync(join(importDir, 'subscribers_1.csv'), row(4));
    const again = await until('a run of the rewritten file', async () => {
      const runs = await h.runsOf('drop');
      return runs.length === 2 ? runs : undefined;
    });
    expect(again).toContain(started[0]);

    expect(await h.admin.removeTrigger('drop')).toBe(true);
    for (const pool of pools) await pool.close();
  }, 60_000);

  it('does not start a run for a file still being written', async () => {
    const importDir = p.sandbox.sftp.importDir;
    const pool = await h.startPool();
    const seen = listings([pool]);
    await h.admin.addTrigger({ name: 'growing', sftpDir: '/Import', pattern: 'growing_*.csv', settle: '1s', interval: '1s', request: triggerRequest() });
    const path = join(importDir, 'growing_1.csv');
    writeFileSync(path, CSV_HEADER);
    // The writer adds a row between every two listings: the size never stays the same.
    let rows = 0;
    const writer = setInterval(() => appendFileSync(path, row((rows += 1))), 300);
    try {
      await until('four listings of the growing file', () => seen.filter((l) => l.listed === 1).length >= 4 || undefined, 15_000);
      expect(seen.every((l) => l.started.length === 0)).toBe(true);
      expect(await h.runsOf('growing')).toEqual([]);
    } finally {
      clearInterval(writer);
    }
    // Once the writer stopped, the file settles and starts its one run.
    const runs = await until('the run of the finished file', async () => {
      const found = await h.runsOf('growing');
      return found.length ? found : undefined;
    });
    expect(runs).toHaveLength(1);
    expect(await h.admin.removeTrigger('growing')).toBe(true);
    await pool.close();
  }, 40_000);
});

describe('a local-folder trigger', () => {
  it('uploads a settled file from a folder inside UPLOAD_DIR, and refuses a folder outside it', async () => {
    const dir = mkdtempSync(join(realpathSync(tmpdir()), 'drop-'));
    try {
      const pool = await h.startPool({ uploadDir: realpathSync(tmpdir()) });
      await h.admin.addTrigger({ name: 'local', localDir: dir, pattern: '*.csv', settle: '0s', interval: '1s', request: triggerRequest() });
      writeFileSync(join(dir, 'list.csv'), CSV_HEADER + row(1));
      const [runId] = await until('the local file run', async () => {
        const found = await h.runsOf('local');
        return found.length ? found : undefined;
      });
      const status = await p.producer.waitUntilFinished(runId!, { timeoutMs: 20_000 });
      expect(status.state).toBe('completed');
      expect(status.steps.map((s) => s.step)).toContain('upload-file');
      expect(await h.admin.removeTrigger('local')).toBe(true);
      await pool.close();

      const outside = await h.startPool({ uploadDir: join(dir, 'nested') });
      const failures: string[] = [];
      outside.triggers.on('failed', (_job, err) => failures.push(err.message));
      await h.admin.addTrigger({ name: 'outside', localDir: dir, interval: '1s', request: triggerRequest() });
      const reason = await until('the refused listing', () => failures[0]);
      expect(reason).toMatch(/file-not-allowed: .* must be a folder inside UPLOAD_DIR/);
      await h.admin.removeTrigger('outside');
      await outside.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 40_000);

  it('refuses a request with a file or a fileSpec, and both or neither folder', async () => {
    await expect(h.admin.addTrigger({ name: 't', sftpDir: '/Import', request: seedRequest() })).rejects.toThrow(/request\.import\.fileSpec: must not be given/);
    await expect(h.admin.addTrigger({ name: 't', sftpDir: '/Import', request: { ...triggerRequest(), file: { path: '/tmp/x.csv' } } })).rejects.toThrow(/request\.file: must not be given/);
    await expect(h.admin.addTrigger({ name: 't', request: triggerRequest() })).rejects.toThrow(/sftpDir: give exactly one of sftpDir and localDir/);
    await expect(h.admin.addTrigger({ name: 't', sftpDir: '/Import', settle: 'soon', request: triggerRequest() })).rejects.toThrow(/settle: must be a duration/);
    expect(await h.admin.listTriggers()).toEqual([]);
  });
});
