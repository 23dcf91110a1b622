import { FlowProducer, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { stepJobId, type JobOf, type TrackSendResult } from '../../queues/catalog.js';
import { trackSend } from '../../processors/track-send.js';
import { isRunError } from '../../src/errors.js';
import { parseListSendRequest, type ListSendRequest } from '../../src/request.js';
import type { RunRegistry } from '../../src/runs.js';
import { createSandbox, type Sandbox } from '../../src/sandbox/index.js';
import type { SendBehaviour } from '../../src/sandbox/types.js';
import { createSfmcClient, type SfmcClient } from '../../src/sfmc/client.js';
import { DEFAULT_STEP_SETTINGS } from '../../processors/step.js';
import { TEST_POLL_FLOOR_MS, seedRequest } from '../helpers/pipeline.js';
import { deletePrefix, testRedisUrl, uniquePrefix } from '../helpers/redis.js';

/**
 * track-send alone, as the parent of a stand-in `send` job in a BullMQ flow on the real Redis,
 * talking to the sandbox over SOAP: the step-job pattern (delayed between checks, no slot held)
 * and its three endings, with a deadline below the request schema's floor so the timeout is quick.
 * test/pipeline/track-send.test.ts runs it inside whole runs.
 */

const prefix = uniquePrefix('track-send');
let connection: Redis;
let sandbox: Sandbox;
let client: SfmcClient;
let flows: FlowProducer;
const workers: Worker[] = [];

beforeAll(async () => {
  connection = new Redis(testRedisUrl(), { maxRetriesPerRequest: null });
  sandbox = await createSandbox({ schemaCheck: true, import: { registerDelayMs: 0, durationMs: 0, rows: 40 } });
  client = createSfmcClient({
    config: {
      auth: { mode: 'oauth2', authUrl: sandbox.url, clientId: sandbox.credentials.clientId, clientSecret: sandbox.credentials.clientSecret },
      timeoutMs: 10_000,
    },
  });
  flows = new FlowProducer({ connection, prefix });
});

afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.close()));
});

afterAll(async () => {
  await flows?.close();
  await client?.close();
  await sandbox?.close();
  await deletePrefix(prefix);
  connection?.disconnect();
});

type Ending = { result: TrackSendResult; code?: undefined } | { result?: undefined; code: string; message: string };

/** One run: a `send` child that imports 40 subscribers and creates the Send, then track-send. */
async function runTrack(runId: string, request: ListSendRequest, behaviour: SendBehaviour): Promise<{ ending: Ending }> {
  sandbox.setSendBehaviour(behaviour);
  const sendWorker = new Worker(
    'send',
    async () => {
      const key = `${runId}-key`;
      await client.createImportDefinition({
        customerKey: key,
        name: key,
        listId: '123',
        fieldMappingType: 'MapByOrdinal',
        fieldMaps: [{ sourceOrdinal: 0, destinationName: 'Email Address' }],
        fileSpec: `${runId}.csv`,
        fileType: 'CSV',
        fileTransferLocation: 'ExactTarget Enhanced FTP',
        updateType: 'AddAndUpdate',
      });
      await client.startImportDefinition(key);
      return client.createSend({ emailId: '123', listId: '123' });
    },
    { connection, prefix },
  );
  let ending: Ending | undefined;
  const trackWorker = new Worker(
    'track-send',
    async (raw: Job, token?: string) => {
      try {
        const ctx = {
          sfmc: client,
          runs: {} as RunRegistry,
          request,
          destination: { kind: 'list' as const, id: '123' },
          log: pino({ level: 'silent' }),
          token,
          signal: undefined,
          now: Date.now,
          settings: DEFAULT_STEP_SETTINGS,
        };
        const result = await trackSend(raw as JobOf<'track-send'>, ctx);
        ending = { result };
        return result;
      } catch (err) {
        if (isRunError(err)) ending = { code: err.code, message: err.message };
        throw err;
      }
    },
    { connection, prefix },
  );
  workers.push(sendWorker, trackWorker);
  const finished = new Promise<void>((resolve) => {
    trackWorker.on('completed', () => resolve());
    trackWorker.on('failed', () => resolve());
  });
  await flows.add({
    name: 'track-send',
    queueName: 'track-send',
    data: { runId },
    opts: { jobId: `${runId}-track-send` },
    children: [{ name: 'send', queueName: 'send', data: { runId }, opts: { jobId: stepJobId(runId, 'send') } }],
  });
  await finished;
  return { ending: ending as Ending };
}

const fastRequest = (runId: string, track: ListSendRequest['track']): ListSendRequest => ({
  ...parseListSendRequest(seedRequest({ runId, poll: { initialDelayMs: 10, maxDelayMs: 20, timeoutMs: 60_000 } }), { pollFloorMs: TEST_POLL_FLOOR_MS }),
  track,
});

describe('track-send in a flow', () => {
  it('checks until Complete, delayed between checks, and returns the delivery', async () => {
    const { ending } = await runTrack('track-ok', fastRequest('track-ok', { timeoutMs: 60_000 }), { checksUntilFinal: 2, hardBounces: 1 });
    expect(ending.code).toBeUndefined();
    // The first visit only schedules; then Sending, Sending, Complete.
    expect(ending.result).toMatchObject({ checks: 3, failedChecks: 0 });
    // One Retrieve per visit: the sandbox saw exactly the three checks.
    expect(sandbox.state.sends.at(-1)?.statusChecks).toBe(3);
    expect(ending.result?.delivery).toMatchObject({ status: 'Complete', numberSent: 40, numberDelivered: 39, hardBounces: 1 });
    expect(ending.result?.delivery?.sentDate).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
  });

  it('fails with send-failed when the Send ends in Error', async () => {
    const { ending } = await runTrack('track-error', fastRequest('track-error', { timeoutMs: 60_000 }), { checksUntilFinal: 1, finalStatus: 'Error' });
    expect(ending).toMatchObject({ code: 'send-failed', message: expect.stringMatching(/ended in status Error/) });
  });

  it('fails with track-timeout when the Send is not final by track.timeoutMs', async () => {
    // Below the request schema's floor on purpose: the deadline logic, not the validation.
    const { ending } = await runTrack('track-slow', fastRequest('track-slow', { timeoutMs: 100 }), { checksUntilFinal: 1000 });
    expect(ending).toMatchObject({ code: 'track-timeout', message: expect.stringMatching(/still Sending after \d+ ms \(track.timeoutMs 100\)/) });
  });
});
