import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../config.js';
import { deletePrefixKeys, ensureRedis } from '../dev/redis-server.js';
import { createLogger } from '../logger.js';
import { projectRoot } from '../paths.js';
import { createSandbox } from '../sandbox/index.js';
import { writeSampleFile } from '../dev/sample-file.js';
import { startConfiguredWorkers } from '../worker/from-config.js';
import { producerFor } from './commands.js';
import { EXIT } from './io.js';
import { describeStepEvent } from './progress.js';

/**
 * `npm run demo`: everything in one process against the built-in sandbox. Redis, the sandbox,
 * the workers, then the seed's example request with a generated file to upload, watched until its Send is created.
 */
export async function demoCommand(): Promise<number> {
  const say = (line: string) => console.log(line);
  const redis = await ensureRedis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  say(redis.started ? `Redis: none answered, started a private redis-server at ${redis.url}` : `Redis: ${redis.url}`);

  const sandbox = await createSandbox({ import: { registerDelayMs: 300, durationMs: 2_500, rows: 5_000 } });
  say(`SFMC sandbox: ${sandbox.url} (client id ${sandbox.credentials.clientId}), SFTP ${sandbox.sftp.host}:${sandbox.sftp.port}`);

  // A file of realistic rows, uploaded through the sandbox's SFTP by the upload-file step.
  const work = await mkdtemp(join(tmpdir(), 'list-send-demo-'));
  const subscribers = join(work, 'subscribers.csv');
  const rows = 5_000;
  await writeSampleFile(subscribers, { rows });

  // A prefix of its own, removed at the end: the demo's runs point at a sandbox that is gone by then.
  const prefix = `{list-send-demo-${process.pid}}`;
  const config = loadConfig(
    {
      REDIS_URL: redis.url,
      QUEUE_PREFIX: prefix,
      SFMC_AUTH_URL: sandbox.url,
      SFMC_CLIENT_ID: sandbox.credentials.clientId,
      SFMC_CLIENT_SECRET: sandbox.credentials.clientSecret,
      SFMC_ACCOUNT_ID: sandbox.credentials.accountId,
      SFMC_SFTP_HOST: sandbox.sftp.host,
      SFMC_SFTP_PORT: String(sandbox.sftp.port),
      SFMC_SFTP_USERNAME: sandbox.credentials.username,
      SFMC_SFTP_PASSWORD: sandbox.credentials.password,
      SFMC_SFTP_HOST_FINGERPRINT: sandbox.sftp.fingerprint,
      // The demo's own folder is the only one its runs may upload from.
      UPLOAD_DIR: work,
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
    },
    { requireSfmc: true },
  );
  const logger = createLogger({ level: config.logLevel });
  const workers = await startConfiguredWorkers(config, logger, { concurrency: 5 });
  const producer = producerFor(config);

  try {
    const example = JSON.parse(await readFile(join(projectRoot(), 'examples', 'seed-list-send.json'), 'utf8')) as Record<string, unknown>;
    // No fileSpec: the uploaded file gets a name unique to the run.
    const { fileSpec: _fileSpec, ...imp } = example.import as Record<string, unknown>;
    const request = {
      ...example,
      runId: `demo-${Date.now()}`,
      file: { path: subscribers },
      import: imp,
      poll: { initialDelayMs: 1_000, maxDelayMs: 2_000, timeoutMs: 60_000 },
    };
    const { runId } = await producer.enqueue(request);
    say(`\nEnqueued run ${runId} (examples/seed-list-send.json): List "Sample_List", Email 123`);
    say(`  file: ${subscribers} (${rows.toLocaleString('en-US')} rows), uploaded to the sandbox's /Import`);
    const status = await producer.waitUntilFinished(runId, {
      timeoutMs: 60_000,
      onEvent: (e) => {
        const line = describeStepEvent(e);
        if (line) say(line);
      },
    });
    say(`\nResult:\n${JSON.stringify(status.result ?? status, null, 2)}`);
    const sends = sandbox.state.sends.length;
    say(`\nThe sandbox recorded ${sends} Send${sends === 1 ? '' : 's'}.`);
    if (status.state !== 'completed') {
      say(`The run failed: ${status.error}`);
      return EXIT.runFailed;
    }
    say(
      [
        '',
        'Try next:',
        '  npx list-send sandbox --port 9443           # a sandbox to point a worker at (prints its env)',
        '  npx list-send worker                        # the step workers, configured from the environment',
        '  npx list-send enqueue examples/seed-list-send.json --wait',
        '  npx list-send status <runId>',
        '  npm test',
      ].join('\n'),
    );
    return EXIT.ok;
  } finally {
    await producer.close();
    await workers.close();
    await sandbox.close();
    await rm(work, { recursive: true, force: true });
    await deletePrefixKeys(redis.url, prefix);
    await redis.stop();
  }
}
