import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { stepJobId } from '../../queues/catalog.js';
import { RETENTION_SECONDS } from '../../queues/options.js';
import { runSteps } from '../../queues/steps.js';
import { RunConflictError } from '../../src/client.js';
import { parseListSendRequest } from '../../src/request.js';
import { RunRegistry } from '../../src/runs.js';
import { startPipeline, seedRequest, type Pipeline } from '../helpers/pipeline.js';
import { testRedisUrl } from '../helpers/redis.js';
import { stepOf, until } from '../reliability/support.js';

/**
 * Issue #10: a run's request is stored once, in the run registry; step jobs carry only the runId.
 * A finished run's entry expires with the jobs' retention and leaves a fingerprint behind.
 */
describe('storing a run in Redis', () => {
  let pipeline: Pipeline | undefined;
  let redis: Redis | undefined;
  afterEach(async () => {
    await pipeline?.close();
    redis?.disconnect();
    [pipeline, redis] = [undefined, undefined];
  });

  async function start(label: string, importMs?: number) {
    pipeline = await startPipeline({ label, ...(importMs ? { sandbox: { import: { durationMs: importMs } } } : {}) });
    redis = new Redis(testRedisUrl());
    return { p: pipeline, redis, runs: new RunRegistry(redis, pipeline.prefix) };
  }

  const fastPoll = { poll: { initialDelayMs: 20, maxDelayMs: 50, timeoutMs: 60_000 } };

  it('records a destination only into a run that exists, a repeat overwriting it', async () => {
    const { redis, runs } = await start('destination');
    expect(await runs.setDestination('absent', { kind: 'list', id: '1' })).toBe(false);
    expect(await redis.exists(runs.key('absent'))).toBe(0);
    await runs.claim('present', 'fp', '{}');
    expect(await runs.setDestination('present', { kind: 'list', id: '1' })).toBe(true);
    expect(await runs.setDestination('present', { kind: 'list', id: '2' })).toBe(true);
    expect((await runs.get('present'))?.destination).toBe('{"kind":"list","id":"2"}');
    // The small read a worker makes when it holds the request already.
    expect(await runs.stateAndDestination('present')).toEqual({ state: 'live', destination: '{"kind":"list","id":"2"}' });
    await runs.cancel('present');
    expect(await runs.stateAndDestination('present')).toEqual({ state: 'cancelled', destination: '{"kind":"list","id":"2"}' });
    expect(await runs.stateAndDestination('absent')).toEqual({ state: 'missing', destination: undefined });
  });

  it('claims the Send only for a run that exists and is not cancelled, making no hash for a lost run', async () => {
    const { redis, runs } = await start('claim-send');
    expect(await runs.claimSend('absent')).toBe('missing');
    expect(await redis.exists(runs.key('absent'))).toBe(0);
    await runs.claim('live', 'fp', '{}');
    expect(await runs.cancelState('live')).toBe('live');
    expect(await runs.claimSend('live')).toBe('claimed');
    expect(await runs.claimSend('live')).toBe('claimed');
    expect(await runs.cancel('live')).toBe('too-late');
    await runs.claim('stopped', 'fp', '{}');
    expect(await runs.cancel('stopped')).toBe('cancelled');
    expect(await runs.cancelState('stopped')).toBe('cancelled');
    expect(await runs.claimSend('stopped')).toBe('cancelled');
    expect(await runs.cancelState('absent')).toBe('missing');
  });

  it("meets a run's end and its upload visits in the registry: whichever comes second learns of the other", async () => {
    const { runs } = await start('upload-meets-end');
    await runs.claim('ends-mid', 'fp', '{}');
    expect(await runs.beginUpload('ends-mid', 'visit-1')).toBe('begun');
    // A failure elsewhere while the visit runs: the visit frees the name when it stops.
    expect(await runs.markFinished('ends-mid')).toEqual({ first: true, uploading: true });
    expect(await runs.cancelState('ends-mid')).toBe('ended');
    expect(await runs.endUpload('ends-mid', 'visit-1')).toBe(true);
    // A second failing step finds the run already ended; a retried visit is refused.
    expect(await runs.markFinished('ends-mid')).toEqual({ first: false, uploading: false });
    expect(await runs.beginUpload('ends-mid', 'visit-2')).toBe('ended');

    await runs.claim('ends-after', 'fp', '{}');
    expect(await runs.beginUpload('ends-after', 'visit-1')).toBe('begun');
    // Only the visit's own token clears its mark (a dead visit's stale end does not clear a new one).
    expect(await runs.endUpload('ends-after', 'other-visit')).toBe(false);
    expect((await runs.get('ends-after'))?.uploadingBy).toBe('visit-1');
    expect(await runs.endUpload('ends-after', 'visit-1')).toBe(false);
    expect(await runs.markFinished('ends-after')).toEqual({ first: true, uploading: false });

    expect(await runs.beginUpload('absent', 'visit-1')).toBe('missing');
    expect(await runs.markFinished('absent')).toBeUndefined();
  });

  it('claims a runId once and says in the same reply whether its flow is still to be added', async () => {
    const { redis, runs } = await start('claim');
    expect(await runs.claim('c', 'fp', '{}')).toEqual({ created: true, flowPending: true });
    // A repeat before the flow was added (the first enqueue crashed in between) still adds it.
    expect(await runs.claim('c', 'other', '{}')).toEqual({ created: false, fingerprint: 'fp', flowPending: true });
    await runs.markFlowAdded('c');
    expect(await runs.claim('c', 'fp', '{}')).toEqual({ created: false, fingerprint: 'fp', flowPending: false });
    // Expired to its fingerprint: never added again.
    await redis.del(runs.key('c'));
    expect(await runs.claim('c', 'fp', '{}')).toEqual({ created: false, fingerprint: 'fp', flowPending: false });
    expect(await redis.exists(runs.key('c'))).toBe(0);
  });

  it('claims only while the queue layout record holds the expected count or nothing, and writes nothing otherwise', async () => {
    const { redis, runs, p } = await start('claim-layout');
    const layout = { key: `${p.prefix}:queue-shards`, expected: '1' };
    expect(await runs.claim('free', 'fp', '{}', new Date(), layout)).toEqual({ created: true, flowPending: true });
    await redis.set(layout.key, '1');
    expect(await runs.claim('same', 'fp', '{}', new Date(), layout)).toEqual({ created: true, flowPending: true });
    await redis.set(layout.key, '3');
    expect(await runs.claim('other', 'fp', '{}', new Date(), layout)).toEqual({ layoutRecorded: '3' });
    expect(await redis.exists(runs.key('other'))).toBe(0);
    expect(await redis.hexists(runs.fingerprintsKey, 'other')).toBe(0);
    expect(await redis.zscore(`${p.prefix}:runs`, 'other')).toBeNull();
    // A repeat of a run already claimed is refused too: its producer would add the flow to queues no worker takes.
    expect(await runs.claim('same', 'fp', '{}', new Date(), layout)).toEqual({ layoutRecorded: '3' });
  });

  it('keeps the request in the registry only, and lets a finished run expire to its fingerprint', async () => {
    const { p, redis, runs } = await start('storage');
    const request = seedRequest({ runId: 'stored', track: { timeoutMs: 60_000 } });
    await p.producer.enqueue(request);
    const status = await p.producer.waitUntilFinished('stored', { timeoutMs: 20_000 });
    expect(status.state).toBe('completed');

    const key = runs.key('stored');
    const stored = JSON.parse((await redis.hget(key, 'request')) ?? '{}') as { runId?: string; email?: unknown };
    expect(stored).toMatchObject({ runId: 'stored', email: { id: '123' } });
    // resolve-list's List is recorded once, for the later steps; the import steps' results do not carry it.
    expect(await runs.get('stored')).toMatchObject({ destination: JSON.stringify({ kind: 'list', id: '123' }) });
    for (const step of ['create-import', 'start-import', 'poll-import'] as const) {
      expect(status.steps.find((s) => s.step === step)?.result, step).not.toHaveProperty('listId');
    }
    expect(status.result).toMatchObject({ listId: '123' });
    // Every step this run has, track-send included.
    for (const queue of runSteps(parseListSendRequest(request))) {
      const data = JSON.parse((await redis.hget(`${p.prefix}:${queue}:${stepJobId('stored', queue)}`, 'data')) ?? 'null') as Record<string, unknown>;
      expect(data, queue).toMatchObject({ runId: 'stored' });
      expect(data, queue).not.toHaveProperty('request');
    }

    const ttl = await redis.ttl(key);
    expect(ttl).toBeGreaterThan(RETENTION_SECONDS - 60);
    expect(ttl).toBeLessThanOrEqual(RETENTION_SECONDS);
    expect(await redis.hget(key, 'finishedAt')).toMatch(/^\d{4}-/);
    expect(await redis.ttl(runs.fingerprintsKey)).toBe(-1);

    // The entry has expired (deleted here rather than waited for); the fingerprint remains.
    await redis.del(key);
    await expect(p.producer.enqueue(seedRequest({ runId: 'stored', email: { id: 124 } }))).rejects.toBeInstanceOf(RunConflictError);
    expect(await p.producer.enqueue(request)).toEqual({ runId: 'stored', created: false });
    expect(await redis.exists(key)).toBe(0);
    // The jobs are still there, so the status still reads the finished run, and nothing ran again.
    expect((await p.producer.status('stored'))?.state).toBe('completed');
    expect(p.sandbox.state.sends).toHaveLength(1);
  });

  it('lets a failed run expire too', async () => {
    const { p, redis, runs } = await start('storage-failed');
    await p.producer.enqueue(seedRequest({ runId: 'failed', list: { name: 'Missing' } }));
    const status = await p.producer.waitUntilFinished('failed', { timeoutMs: 20_000 });
    expect(status.state).toBe('failed');
    expect(await redis.ttl(runs.key('failed'))).toBeGreaterThan(RETENTION_SECONDS - 60);
  });

  it('lets a run expire when a step fails on its last attempt', async () => {
    pipeline = await startPipeline({ label: 'storage-retries', attempts: 2 });
    redis = new Redis(testRedisUrl());
    const runs = new RunRegistry(redis, pipeline.prefix);
    pipeline.sandbox.faults.inject({ operation: 'Retrieve', objectType: 'List', kind: 'server-fault', times: 2 });
    await pipeline.producer.enqueue(seedRequest({ runId: 'retries' }));
    const status = await pipeline.producer.waitUntilFinished('retries', { timeoutMs: 20_000 });
    expect(stepOf(status, 'resolve-list')).toMatchObject({ state: 'failed', attemptsMade: 2 });
    expect(await redis.ttl(runs.key('retries'))).toBeGreaterThan(RETENTION_SECONDS - 60);
  });

  it('lets a cancelled run expire once a step has seen the cancel', async () => {
    const { p, redis, runs } = await start('storage-cancel', 600_000);
    await p.producer.enqueue(seedRequest({ runId: 'cancelled', ...fastPoll }));
    await until('poll-import waiting on the import', async () => ((await p.producer.status('cancelled'))?.steps.find((s) => s.step === 'poll-import' && s.state === 'delayed') ? true : undefined));
    expect(await redis.ttl(runs.key('cancelled'))).toBe(-1);
    expect(await p.producer.cancel('cancelled')).toBe('cancelled');
    // waitUntilFinished returns as soon as no step is active; the mark comes with the next visit.
    const failed = await until('poll-import to see the cancel', async () => {
      const step = stepOf((await p.producer.status('cancelled'))!, 'poll-import');
      return step.state === 'failed' ? step : undefined;
    });
    expect(failed.error).toMatch(/^cancelled: /);
    expect(await redis.ttl(runs.key('cancelled'))).toBeGreaterThan(RETENTION_SECONDS - 60);
  });

  it('fails the run, naming the cause, when its registry entry is gone before a step', async () => {
    const { p, redis, runs } = await start('storage-missing', 600_000);
    await p.producer.enqueue(seedRequest({ runId: 'gone', ...fastPoll }));
    await until('poll-import waiting on the import', async () => ((await p.producer.status('gone'))?.steps.find((s) => s.step === 'poll-import' && s.state === 'delayed') ? true : undefined));
    await redis.del(runs.key('gone'));
    const status = await p.producer.waitUntilFinished('gone', { timeoutMs: 20_000 });
    expect(status.state).toBe('failed');
    expect(status.error).toMatch(/^poll-import: run-missing: the run registry has no request for run gone/);
    expect(p.sandbox.state.sends).toHaveLength(0);
  });
});
