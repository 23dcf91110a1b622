import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AutomationClient } from '../../src/automation/client.js';
import { writeSampleFile } from '../../src/dev/sample-file.js';
import { ListSendClient } from '../../src/client.js';
import { accountNamesOf, loadConfig, type Config } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { createMetrics } from '../../src/metrics.js';
import { RequestValidationError } from '../../src/request.js';
import { createSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { startConfiguredWorkers, type ConfiguredWorkers } from '../../src/worker/from-config.js';
import { deletePrefix, testRedisUrl, uniquePrefix } from '../helpers/redis.js';
import { seedRequest, TEST_POLL_FLOOR_MS } from '../helpers/pipeline.js';
import { fileRequest, importFiles, tempFolder } from '../upload/helpers.js';

/**
 * Two sandboxes as two SFMC accounts (issue #13): the default SFMC_* one and `emea` (SFMC_EMEA_*),
 * with different credentials and MIDs, wired by the production code (loadConfig and
 * startConfiguredWorkers). Each run's calls, token requests, uploads and Send reach only its own account.
 */

const EMEA_CREDENTIALS = { clientId: 'emea-client', clientSecret: 'emea-secret-0123456789', accountId: '5200', username: 'emea-user', password: 'emea-pass' };

function accountEnv(prefix: string, sandbox: Sandbox): Record<string, string> {
  const c = sandbox.credentials;
  return {
    [`${prefix}AUTH_URL`]: sandbox.url,
    [`${prefix}SOAP_URL`]: sandbox.soapUrl,
    [`${prefix}CLIENT_ID`]: c.clientId,
    [`${prefix}CLIENT_SECRET`]: c.clientSecret,
    [`${prefix}ACCOUNT_ID`]: c.accountId,
    [`${prefix}SFTP_HOST`]: sandbox.sftp.host,
    [`${prefix}SFTP_PORT`]: String(sandbox.sftp.port),
    [`${prefix}SFTP_USERNAME`]: c.username,
    [`${prefix}SFTP_PASSWORD`]: c.password,
    [`${prefix}SFTP_HOST_FINGERPRINT`]: sandbox.sftp.fingerprint,
  };
}

/** SOAP and token calls a sandbox received, with the runs' keys they name. */
function soapCalls(sandbox: Sandbox) {
  return sandbox.calls().filter((c) => c.path.endsWith('Service.asmx'));
}

describe('several SFMC accounts', () => {
  const prefix = uniquePrefix('accounts');
  const folder = tempFolder('accounts');
  let main: Sandbox;
  let emea: Sandbox;
  let config: Config;
  let workers: ConfiguredWorkers;
  let producer: ListSendClient;
  const metrics = createMetrics(undefined, { processMetrics: false });
  const logLines: string[] = [];

  beforeAll(async () => {
    const timing = { import: { registerDelayMs: 40, durationMs: 250 } };
    main = await createSandbox(timing);
    emea = await createSandbox({ ...timing, credentials: EMEA_CREDENTIALS });
    config = loadConfig(
      {
        REDIS_URL: testRedisUrl(),
        QUEUE_PREFIX: prefix,
        SFMC_TIMEOUT_MS: '5000',
        STEP_BACKOFF_MS: '20',
        UPLOAD_DIR: folder.dir,
        SFMC_ACCOUNTS: 'emea',
        ...accountEnv('SFMC_', main),
        ...accountEnv('SFMC_EMEA_', emea),
      },
      { requireSfmc: true },
    );
    const stream = new Writable({
      write(chunk, _enc, done) {
        logLines.push(String(chunk));
        done();
      },
    });
    workers = await startConfiguredWorkers(config, createLogger({ level: 'debug', stream }), { concurrency: 5, metrics });
    producer = new ListSendClient({ redisUrl: testRedisUrl(), prefix, steps: { attempts: 3, backoffMs: 20 }, pollFloorMs: TEST_POLL_FLOOR_MS, accounts: accountNamesOf(config), upload: { dir: folder.dir } });
  });

  afterAll(async () => {
    await producer?.close();
    await workers?.close();
    await main?.close();
    await emea?.close();
    await deletePrefix(prefix);
    folder.remove();
  });

  it("sends each run through its own account's token, SOAP endpoint and Enhanced FTP, and nowhere else", async () => {
    const mainFile = `${folder.dir}/main.csv`;
    const emeaFile = `${folder.dir}/emea.csv`;
    await writeSampleFile(mainFile, { rows: 20 });
    await writeSampleFile(emeaFile, { rows: 30 });
    const runs = [
      await producer.enqueue(fileRequest('acct-main', mainFile)),
      await producer.enqueue({ ...fileRequest('acct-emea', emeaFile), account: 'emea' }),
      await producer.enqueue({ ...seedRequest({ runId: 'acct-default-named' }), account: 'default' }),
    ];
    const statuses = await Promise.all(runs.map((r) => producer.waitUntilFinished(r.runId, { timeoutMs: 30_000 })));
    expect(statuses.map((s) => s.state)).toEqual(['completed', 'completed', 'completed']);

    // Sends: two on the default account, one on emea, each the one its run reported.
    expect(main.state.sends).toHaveLength(2);
    expect(emea.state.sends).toHaveLength(1);
    expect(statuses[1]?.result?.sendId).toBe(emea.state.sends[0]?.id);
    expect(main.state.sends.map((s) => s.id).sort()).toEqual([statuses[0]?.result?.sendId, statuses[2]?.result?.sendId].sort());
    // Imports: each account imported only its own runs' definitions.
    expect(Object.values(main.state.imports).map((i) => i.customerKey).sort()).toEqual(['ls-acct-default-named', 'ls-acct-main']);
    expect(Object.values(emea.state.imports).map((i) => i.customerKey)).toEqual(['ls-acct-emea']);
    expect(statuses[1]?.result?.import.numberSuccessful).toBe(30);
    // Uploads: each file reached only its account's Import folder.
    expect(importFiles(main).filter((f) => f.startsWith('acct-'))).toEqual(['acct-main-main.csv']);
    expect(importFiles(emea).filter((f) => f.startsWith('acct-'))).toEqual(['acct-emea-emea.csv']);
    // Calls: every SOAP call of each sandbox carried a token; each sandbox issued tokens only to its own client.
    expect(soapCalls(main).length).toBeGreaterThan(0);
    expect(soapCalls(emea).length).toBeGreaterThan(0);
    const creates = (s: Sandbox) => s.calls().filter((c) => c.operation === 'Create').length;
    // Per run: ImportDefinition and Send.
    expect(creates(main)).toBe(4);
    expect(creates(emea)).toBe(2);
    // Metrics: the SOAP calls of each account under its own label.
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/list_send_soap_call_duration_seconds_count\{account="emea",operation="Create",object_type="Send",outcome="ok"\} 1\n/);
    expect(text).toMatch(/list_send_soap_call_duration_seconds_count\{account="default",operation="Create",object_type="Send",outcome="ok"\} 2\n/);
    expect(text).toMatch(/list_send_step_duration_seconds_count\{account="emea",step="send",outcome="completed"\} 1\n/);
    expect(text).toMatch(/list_send_step_duration_seconds_count\{account="default",step="send",outcome="completed"\} 2\n/);
    // No account's secret in the worker's logs.
    const logs = logLines.join('');
    for (const secret of [EMEA_CREDENTIALS.clientSecret, EMEA_CREDENTIALS.password, main.credentials.clientSecret]) expect(logs).not.toContain(secret);
  });

  it("lists a trigger's folder on its request's account's Enhanced FTP, and refuses a definition naming an unknown account", async () => {
    const connection = new Redis(testRedisUrl(), { maxRetriesPerRequest: null });
    const admin = new AutomationClient(connection, prefix, accountNamesOf(config));
    try {
      const { runId: _r, import: imp, ...rest } = seedRequest();
      const { fileSpec: _f, ...importRest } = imp as Record<string, unknown>;
      const request = { ...rest, import: importRest, account: 'emea' };
      await expect(admin.addTrigger({ name: 'apac-drop', sftpDir: '/Import', request: { ...request, account: 'apac' } })).rejects.toThrow(
        /request\.account: is not a configured account \(configured: default, emea\)/,
      );
      const csv = 'ID,First,Last,Phone,Email Address\n1,A,B,,a@example.com\n2,C,D,,c@example.com\n';
      // The same pattern on both accounts' folders: only emea's file may start a run.
      writeFileSync(join(emea.sftp.importDir, 'drop_emea.csv'), csv);
      writeFileSync(join(main.sftp.importDir, 'drop_main.csv'), csv);
      await admin.addTrigger({ name: 'emea-drop', sftpDir: '/Import', pattern: 'drop_*.csv', settle: '0ms', interval: '1s', request });
      let runIds: string[] = [];
      for (const until = Date.now() + 15_000; runIds.length === 0 && Date.now() < until; ) {
        runIds = (await producer.recentRunIds(100)).filter((id) => id.startsWith('emea-drop-'));
        if (runIds.length === 0) await new Promise((r) => setTimeout(r, 100));
      }
      expect(runIds).toHaveLength(1);
      // The file it found is emea's: main's folder was not listed.
      expect((await producer.request(runIds[0] ?? ''))?.import.fileSpec).toBe('drop_emea.csv');
      const status = await producer.waitUntilFinished(runIds[0] ?? '', { timeoutMs: 20_000 });
      expect(status.state).toBe('completed');
      expect(emea.state.sends.map((s) => s.id)).toContain(status.result?.sendId);
      expect(Object.values(emea.state.imports).some((i) => i.customerKey === `ls-${runIds[0]}`)).toBe(true);
      expect(Object.values(main.state.imports).some((i) => i.customerKey.includes('emea-drop'))).toBe(false);
      await admin.removeTrigger('emea-drop');
    } finally {
      await admin.close();
      connection.disconnect();
    }
  }, 40_000);

  it('refuses an account the producer is not configured with, naming the field, before storing anything', async () => {
    const err = await producer.enqueue({ ...seedRequest({ runId: 'acct-unknown' }), account: 'apac' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RequestValidationError);
    expect((err as RequestValidationError).problems).toEqual([{ path: 'account', message: 'is not a configured account (configured: default, emea)' }]);
    expect(await producer.status('acct-unknown')).toBeUndefined();
  });

  it('fails for good a run whose account this worker does not have (a producer configured differently)', async () => {
    const loose = new ListSendClient({ redisUrl: testRedisUrl(), prefix, steps: { attempts: 3, backoffMs: 20 }, pollFloorMs: TEST_POLL_FLOOR_MS });
    try {
      const before = [main.calls().length, emea.calls().length];
      const { runId } = await loose.enqueue({ ...seedRequest({ runId: 'acct-apac' }), account: 'apac' });
      const status = await loose.waitUntilFinished(runId, { timeoutMs: 10_000 });
      expect(status.state).toBe('failed');
      expect(status.error).toMatch(/^resolve-list: unknown-account: the run names account "apac", which this worker is not configured with/);
      // Fatal: no retry, whatever STEP_ATTEMPTS allows.
      expect(status.steps.find((s) => s.step === 'resolve-list')).toMatchObject({ state: 'failed', attemptsMade: 1 });
      expect([main.calls().length, emea.calls().length]).toEqual(before);
    } finally {
      await loose.close();
    }
  });
});
