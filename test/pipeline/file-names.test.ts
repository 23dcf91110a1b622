import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { RunStatus } from '../../src/client.js';
import { writeSampleFile } from '../../src/dev/sample-file.js';
import { createRedis } from '../../src/redis.js';
import { shardOf } from '../../src/shards.js';
import { FileNameLocks } from '../../src/upload/file-name-lock.js';
import { startPipeline, type Pipeline, type PipelineOptions } from '../helpers/pipeline.js';
import { testRedisUrl } from '../helpers/redis.js';
import { until } from '../reliability/support.js';
import { fileRequest, sandboxSftpConfig, tempFolder } from '../upload/helpers.js';

/**
 * Two runs with `file` and the same explicit import.fileSpec: one at a time owns the remote name,
 * from before its upload until its import has read the file (src/worker/file-name.ts). The sandbox
 * counts the rows of the file it finds under the FileSpec when the import starts, and a List's
 * Send goes to the rows imported into it: each run's counts say whose file its import read.
 */

const SHARED = 'shared.csv';
// Polls every 50-100 ms: the sandbox's imports below last from half a second to a minute.
const FAST_POLL = { initialDelayMs: 50, maxDelayMs: 100, timeoutMs: 120_000 };

describe('runs that upload to the same remote file name', () => {
  const folder = tempFolder('file-names');
  const fileA = join(folder.dir, 'a.csv');
  const fileB = join(folder.dir, 'b.csv');
  let pipeline: Pipeline | undefined;
  const redis = createRedis(testRedisUrl(), 'producer');

  afterEach(async () => {
    await pipeline?.close();
    pipeline = undefined;
  });
  afterAll(() => {
    redis.disconnect();
    folder.remove();
  });

  async function start(label: string, options: Partial<PipelineOptions> = {}): Promise<Pipeline> {
    await writeSampleFile(fileA, { rows: 3 });
    await writeSampleFile(fileB, { rows: 5 });
    pipeline = await startPipeline({ label, ...options, settings: { fileNameRecheckMs: 50, ...options.settings } });
    pipeline.sandbox.addList({ id: 456, name: 'List_B' });
    return pipeline;
  }

  /** Run `runId` uploading `path` under `fileSpec`, into List_B for file b (or into `list`, which may not exist). */
  function enqueue(p: Pipeline, runId: string, path: string, fileSpec = SHARED, list?: { name: string }) {
    const request = fileRequest(runId, path, { fileSpec });
    const into = list ?? (path === fileB ? { name: 'List_B' } : undefined);
    return p.producer.enqueue({ ...request, poll: FAST_POLL, ...(into ? { list: into } : {}) });
  }

  const locksOf = (p: Pipeline) => new FileNameLocks(redis, p.prefix);
  const keyOf = (p: Pipeline, fileSpec = SHARED) => locksOf(p).key(sandboxSftpConfig(p.sandbox), fileSpec);

  /**
   * When each upload to `fileSpec` began writing, by the sandbox's SFTP server: the opens for writing
   * of the name's temporary `.part-N` files, oldest first (the runs' own clocks are not used: BullMQ's
   * processedOn may be stamped before the job is handed over).
   */
  function writesTo(p: Pipeline, fileSpec = SHARED): number[] {
    const part = `/Import/.${fileSpec}.part-`;
    return p.sandbox.sftp
      .log()
      .filter((e) => e.op === 'open' && e.path?.startsWith(part) && e.detail?.startsWith('write'))
      .map((e) => Date.parse(e.time));
  }

  /** When SFMC (the sandbox) finished reading the run's file: its import ended, Completed or Error. */
  function importEnd(p: Pipeline, runId: string): number {
    const imp = Object.values(p.sandbox.state.imports).find((i) => i.customerKey === `ls-${runId}`);
    if (!imp) throw new Error(`no import of ${runId} in the sandbox`);
    return imp.startedAt + imp.durationMs;
  }

  /** Resolves once `runId`'s upload waits for the name, with what its status shows then. */
  async function waitingUpload(p: Pipeline, runId: string): Promise<unknown> {
    return until(`${runId}'s upload to wait for the name`, async () => {
      const upload = (await p.producer.status(runId))?.steps.find((s) => s.step === 'upload-file');
      return upload?.state === 'delayed' && (upload.progress as { heldByRun?: string } | undefined)?.heldByRun ? upload.progress : undefined;
    });
  }

  /** The renames onto the final name `fileSpec`: each one a file published under it. */
  const publishes = (p: Pipeline, fileSpec = SHARED) => p.sandbox.sftp.log().filter((e) => e.op === 'rename' && e.detail === `to /Import/${fileSpec}`);
  const uploadOf = (s: RunStatus) => s.steps.find((x) => x.step === 'upload-file');
  const resolveList = (p: Pipeline) => p.pool.workers['resolve-list'];

  const importOf = (s: RunStatus) => s.steps.find((x) => x.step === 'poll-import')?.result as { totalRows: number } | undefined;
  const sendTo = (p: Pipeline, listId: string) => p.sandbox.state.sends.filter((s) => s.listId === listId);

  it("uploads the second run's file only after the first run's import has read its own, and each List gets its own file's rows", async () => {
    const p = await start('names-shared', { sandbox: { import: { durationMs: 600 } } });
    await Promise.all([enqueue(p, 'shared-a', fileA), enqueue(p, 'shared-b', fileB)]);

    const [a, b] = await Promise.all([p.producer.waitUntilFinished('shared-a', { timeoutMs: 30_000 }), p.producer.waitUntilFinished('shared-b', { timeoutMs: 30_000 })]);

    expect([a.state, b.state]).toEqual(['completed', 'completed']);
    expect(importOf(a)?.totalRows).toBe(3);
    expect(importOf(b)?.totalRows).toBe(5);
    expect(sendTo(p, '123').map((s) => s.subscribers)).toEqual([3]);
    expect(sendTo(p, '456').map((s) => s.subscribers)).toEqual([5]);
    // Whichever took the name first, the other's upload began after the first's import had ended.
    const [first] = ['shared-a', 'shared-b'].sort((x, y) => importEnd(p, x) - importEnd(p, y)) as [string, string];
    const writes = writesTo(p);
    expect(writes).toHaveLength(2);
    expect(writes[1]).toBeGreaterThanOrEqual(importEnd(p, first));
    expect(await locksOf(p).holder(keyOf(p))).toBeUndefined();
  });

  it('makes runs of different shards take turns too: the name is kept under QUEUE_PREFIX, not a shard', async () => {
    const p = await start('names-shards', { env: { QUEUE_SHARDS: '3' }, sandbox: { import: { durationMs: 600 } } });
    // Picked to land in different shards, so the test fails if each shard kept names of its own.
    expect(shardOf('shard-a', 3)).not.toBe(shardOf('shard-b2', 3));
    await Promise.all([enqueue(p, 'shard-a', fileA), enqueue(p, 'shard-b2', fileB)]);

    const [a, b] = await Promise.all([p.producer.waitUntilFinished('shard-a', { timeoutMs: 30_000 }), p.producer.waitUntilFinished('shard-b2', { timeoutMs: 30_000 })]);

    expect([a.state, b.state]).toEqual(['completed', 'completed']);
    expect([importOf(a)?.totalRows, importOf(b)?.totalRows]).toEqual([3, 5]);
    const [first] = ['shard-a', 'shard-b2'].sort((x, y) => importEnd(p, x) - importEnd(p, y)) as [string, string];
    const writes = writesTo(p);
    expect(writes).toHaveLength(2);
    expect(writes[1]).toBeGreaterThanOrEqual(importEnd(p, first));
  });

  it("says which run holds the name while the second waits, and the waiter goes on when the owner's import fails", async () => {
    const p = await start('names-failed');
    p.sandbox.setImportBehaviour({ customerKey: 'ls-failed-a', outcome: 'Error', durationMs: 800 });
    await enqueue(p, 'failed-a', fileA);
    await until('run failed-a to own the name', async () => (await locksOf(p).holder(keyOf(p))) === 'failed-a');
    await enqueue(p, 'failed-b', fileB);

    expect(await waitingUpload(p, 'failed-b')).toEqual({ waitingForFileName: SHARED, heldByRun: 'failed-a' });
    const [a, b] = await Promise.all([p.producer.waitUntilFinished('failed-a', { timeoutMs: 30_000 }), p.producer.waitUntilFinished('failed-b', { timeoutMs: 30_000 })]);

    expect(a.error).toMatch(/^poll-import: import-error/);
    expect(b.state).toBe('completed');
    expect(importOf(b)?.totalRows).toBe(5);
    expect(writesTo(p)[1]).toBeGreaterThanOrEqual(importEnd(p, 'failed-a'));
  });

  it('lets the waiter go on when the owner is cancelled during its import', async () => {
    const p = await start('names-cancelled');
    p.sandbox.setImportBehaviour({ customerKey: 'ls-cancelled-a', durationMs: 60_000 });
    await enqueue(p, 'cancelled-a', fileA);
    await until("run cancelled-a's import to run", async () => (await p.producer.status('cancelled-a'))?.steps.find((s) => s.step === 'poll-import')?.state === 'delayed');
    await enqueue(p, 'cancelled-b', fileB);
    await waitingUpload(p, 'cancelled-b');

    expect(await p.producer.cancel('cancelled-a')).toBe('cancelled');
    const [a, b] = await Promise.all([p.producer.waitUntilFinished('cancelled-a', { timeoutMs: 30_000 }), p.producer.waitUntilFinished('cancelled-b', { timeoutMs: 30_000 })]);

    expect(a.state).toBe('cancelled');
    expect(b.state).toBe('completed');
    expect(importOf(b)?.totalRows).toBe(5);
    expect(sendTo(p, '123')).toHaveLength(0);
  });

  // Both below fail run A in resolve-list (its List does not exist) while B waits for the name. The
  // lease is the default 10 minutes, beyond the 30 s B is given: B completes only if A's failure freed
  // the name. resolve-list is paused until A's upload has reached the point each case is about.

  it("frees the name of a run that fails beside its running upload once the upload stops, without publishing A's file", async () => {
    const p = await start('names-fail-mid');
    // A's upload opens its temporary file and then waits, unanswered, until the hold is removed.
    const hold = p.sandbox.faults.inject({ operation: 'sftp', kind: 'hold' });
    await resolveList(p).pause();
    await enqueue(p, 'mid-a', fileA, SHARED, { name: 'No_Such_List' });
    await until("mid-a's upload to be writing", () => writesTo(p).length === 1 || undefined);
    expect(await locksOf(p).holder(keyOf(p))).toBe('mid-a');
    await enqueue(p, 'mid-b', fileB);
    await waitingUpload(p, 'mid-b');

    resolveList(p).resume();
    const a = await p.producer.waitUntilFinished('mid-a', { timeoutMs: 30_000 });
    expect(a.error).toMatch(/^resolve-list: list-not-found/);
    // Let A's writes through: whether its upload stopped already or would now go on to its rename,
    // it must not publish the failed run's file.
    p.sandbox.faults.remove(hold);
    const b = await p.producer.waitUntilFinished('mid-b', { timeoutMs: 30_000 });

    expect(b.state).toBe('completed');
    expect(importOf(b)?.totalRows).toBe(5);
    expect(publishes(p)).toHaveLength(1);
    expect(writesTo(p)).toHaveLength(2);
    expect(Date.parse(publishes(p)[0]!.time)).toBeGreaterThanOrEqual(writesTo(p)[1]!);
    expect((await p.producer.status('mid-a'))?.steps.find((s) => s.step === 'upload-file')?.error).toMatch(/^run-ended: /);
    expect(await locksOf(p).holder(keyOf(p))).toBeUndefined();
  });

  it('frees the name at once when the run fails after its upload has finished', async () => {
    const p = await start('names-fail-after');
    await resolveList(p).pause();
    await enqueue(p, 'after-a', fileA, SHARED, { name: 'No_Such_List' });
    await until("after-a's upload to complete", async () => {
      const status = await p.producer.status('after-a');
      return status && uploadOf(status)?.state === 'completed' ? true : undefined;
    });
    expect(await locksOf(p).holder(keyOf(p))).toBe('after-a');
    await enqueue(p, 'after-b', fileB);
    await waitingUpload(p, 'after-b');

    resolveList(p).resume();
    const [a, b] = await Promise.all([p.producer.waitUntilFinished('after-a', { timeoutMs: 30_000 }), p.producer.waitUntilFinished('after-b', { timeoutMs: 30_000 })]);

    expect(a.error).toMatch(/^resolve-list: list-not-found/);
    expect(b.state).toBe('completed');
    // A's file was published before A failed; B's replaced it, and B's import read B's rows.
    expect(publishes(p)).toHaveLength(2);
    expect(importOf(b)?.totalRows).toBe(5);
    expect(sendTo(p, '456').map((s) => s.subscribers)).toEqual([5]);
  });

  it('does not let an owner that died without releasing block the name beyond its lease', async () => {
    const p = await start('names-crashed');
    // A worker that took the name and died: nothing renews or releases its lease.
    const leaseMs = 1_500;
    const takenAt = Date.now();
    expect(await locksOf(p).take(keyOf(p), 'crashed-run', leaseMs)).toEqual({ owned: true, fresh: true });
    await enqueue(p, 'after-crash', fileB);

    expect(await waitingUpload(p, 'after-crash')).toEqual({ waitingForFileName: SHARED, heldByRun: 'crashed-run' });
    const b = await p.producer.waitUntilFinished('after-crash', { timeoutMs: 30_000 });

    expect(b.state).toBe('completed');
    expect(importOf(b)?.totalRows).toBe(5);
    expect(writesTo(p)).toHaveLength(1);
    expect(writesTo(p)[0]).toBeGreaterThanOrEqual(takenAt + leaseMs);
  });

  it('keeps the name for an owner whose import outlasts several leases, renewing it as it works', async () => {
    const p = await start('names-renewed', { settings: { fileNameLeaseMs: 800 }, sandbox: { import: { durationMs: 2_500 } } });
    await enqueue(p, 'long-a', fileA);
    await until('run long-a to own the name', async () => (await locksOf(p).holder(keyOf(p))) === 'long-a');
    await enqueue(p, 'long-b', fileB);

    const [a, b] = await Promise.all([p.producer.waitUntilFinished('long-a', { timeoutMs: 30_000 }), p.producer.waitUntilFinished('long-b', { timeoutMs: 30_000 })]);

    expect([a.state, b.state]).toEqual(['completed', 'completed']);
    expect([importOf(a)?.totalRows, importOf(b)?.totalRows]).toEqual([3, 5]);
    expect(writesTo(p)[1]).toBeGreaterThanOrEqual(importEnd(p, 'long-a'));
  });

  it('does not make runs with different names wait for each other', async () => {
    const p = await start('names-apart');
    p.sandbox.setImportBehaviour({ customerKey: 'ls-apart-a', durationMs: 3_000 });
    await enqueue(p, 'apart-a', fileA, 'a-names.csv');
    await until('run apart-a to own its name', async () => (await locksOf(p).holder(keyOf(p, 'a-names.csv'))) === 'apart-a');
    await enqueue(p, 'apart-b', fileB, 'b-names.csv');

    const b = await p.producer.waitUntilFinished('apart-b', { timeoutMs: 30_000 });

    expect(b.state).toBe('completed');
    expect(importOf(b)?.totalRows).toBe(5);
    // a's import (3 s) is still running: b never waited for it.
    expect((await p.producer.status('apart-a'))?.state).toBe('running');
    expect(b.steps.find((s) => s.step === 'upload-file')?.progress).not.toHaveProperty('heldByRun');
    await p.producer.waitUntilFinished('apart-a', { timeoutMs: 30_000 });
  });
});
