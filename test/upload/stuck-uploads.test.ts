import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ListSendClient } from '../../src/client.js';
import { writeSampleFile } from '../../src/dev/sample-file.js';
import { createSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { startPipeline, type Pipeline } from '../helpers/pipeline.js';
import { deletePrefix, testRedisUrl, uniquePrefix } from '../helpers/redis.js';
import { killAllWorkers, sandboxEnv, spawnWorker } from '../reliability/processes.js';
import { until } from '../reliability/support.js';
import { fileRequest, tempFolder } from './helpers.js';
import { startStallingProxy, type StallingProxy } from './stalling-proxy.js';

/**
 * Issue #10, "fail fast": an upload stuck on an SFTP server that stopped answering (a proxy that
 * goes silent after 256 KiB) ends within seconds when its run is cancelled (checked on a timer,
 * though no byte moves), at UPLOAD_TIMEOUT_MS, and when its worker process gets SIGTERM.
 */

const STALL_AFTER = 256 * 1024;

describe('an upload stuck on a server that stopped answering', () => {
  const folder = tempFolder('stuck');
  const source = join(folder.dir, 'big.csv');
  let sandbox: Sandbox;
  let proxy: StallingProxy;
  let pipeline: Pipeline | undefined;

  beforeAll(async () => {
    await writeSampleFile(source, { rows: 100_000 });
    sandbox = await createSandbox({ import: { registerDelayMs: 40, durationMs: 250 } });
    proxy = await startStallingProxy(STALL_AFTER);
  });
  afterEach(async () => {
    await pipeline?.close();
    pipeline = undefined;
    await killAllWorkers();
  });
  afterAll(async () => {
    await proxy.close();
    await sandbox.close();
    folder.remove();
  });

  /** Enqueues a run and resolves once its upload is active and stuck behind the silent proxy. */
  async function stuckRun(producer: ListSendClient, runId: string): Promise<void> {
    await producer.enqueue(fileRequest(runId, source));
    await until('the upload to be stuck', async () => {
      const upload = (await producer.status(runId))?.steps.find((s) => s.step === 'upload-file');
      return upload?.state === 'active' && proxy.stalled() ? true : undefined;
    });
  }

  const viaProxy = () => ({ SFMC_SFTP_HOST: '127.0.0.1', SFMC_SFTP_PORT: String(proxy.port) });
  /** The pipeline brings its own sandbox: the proxy is pointed at its SFTP server. */
  async function pipelineViaProxy(label: string, env: Record<string, string> = {}): Promise<Pipeline> {
    const p = await startPipeline({ label, env: { ...viaProxy(), ...env } });
    proxy.forwardTo({ host: p.sandbox.sftp.host, port: p.sandbox.sftp.port });
    return p;
  }

  it('ends within seconds when the run is cancelled, though no byte moves', async () => {
    pipeline = await pipelineViaProxy('stuck-cancel');
    await stuckRun(pipeline.producer, 'stuck-cancel');
    const cancelledAt = Date.now();
    expect(await pipeline.producer.cancel('stuck-cancel')).toBe('cancelled');

    const status = await pipeline.producer.waitUntilFinished('stuck-cancel', { timeoutMs: 10_000 });

    expect(Date.now() - cancelledAt).toBeLessThan(5_000);
    expect(status.state).toBe('cancelled');
    expect(status.steps.find((s) => s.step === 'upload-file')).toMatchObject({ state: 'failed', error: 'cancelled: the run was cancelled during the upload' });
  });

  it('fails with upload-timeout at UPLOAD_TIMEOUT_MS', async () => {
    pipeline = await pipelineViaProxy('stuck-timeout', { UPLOAD_TIMEOUT_MS: '1500' });
    const started = Date.now();
    await pipeline.producer.enqueue(fileRequest('stuck-timeout', source));

    const status = await pipeline.producer.waitUntilFinished('stuck-timeout', { timeoutMs: 15_000 });

    expect(status.error).toBe('upload-file: upload-timeout: the upload took longer than UPLOAD_TIMEOUT_MS (1500 ms)');
    expect(Date.now() - started).toBeLessThan(7_000);
    expect(pipeline.sandbox.state.sends).toEqual([]);
  });

  it('does not keep a worker process from exiting on SIGTERM; the upload is retried later', async () => {
    const prefix = uniquePrefix('stuck-sigterm');
    const producer = new ListSendClient({ redisUrl: testRedisUrl(), prefix, steps: { attempts: 3, backoffMs: 60_000 } });
    proxy.forwardTo({ host: sandbox.sftp.host, port: sandbox.sftp.port });
    try {
      const worker = await spawnWorker({
        REDIS_URL: testRedisUrl(),
        QUEUE_PREFIX: prefix,
        UPLOAD_DIR: folder.dir,
        ...sandboxEnv(sandbox),
        ...viaProxy(),
        SFMC_SFTP_USERNAME: sandbox.credentials.username,
        SFMC_SFTP_PASSWORD: sandbox.credentials.password,
        SFMC_SFTP_HOST_FINGERPRINT: sandbox.sftp.fingerprint,
      });
      await stuckRun(producer, 'stuck-sigterm');
      const signalledAt = Date.now();
      worker.kill('SIGTERM');

      expect(await worker.exited).toEqual({ code: 0, signal: null });
      expect(Date.now() - signalledAt).toBeLessThan(10_000);
      // Not a verdict on the run: the attempt is given back for a retry after the backoff.
      const upload = (await producer.status('stuck-sigterm'))?.steps.find((s) => s.step === 'upload-file');
      expect(upload).toMatchObject({ state: 'delayed', attemptsMade: 1 });
    } finally {
      await producer.close();
      await deletePrefix(prefix);
    }
  });
});
