import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ListSendClient } from '../client.js';
import { loadConfig, requireSfmc } from '../config.js';
import { deletePrefixKeys, ensureRedis } from '../dev/redis-server.js';
import { createLogger } from '../logger.js';
import { projectRoot } from '../paths.js';
import { createRedis } from '../redis.js';
import { createSandbox } from '../sandbox/index.js';
import { createSfmcClient } from '../sfmc/client.js';
import { startWorkers } from '../worker/start.js';
import { EXIT } from './io.js';
import { describeStepEvent } from './progress.js';



/**
 * `npm run demo`: everything in one process against the built-in sandbox. Redis, the sandbox,
 * the five workers, then the seed's example request, watched until its Send is created.
 */
export async function demoCommand(): Promise<number> {
  const say = (line: string) => console.log(line);
  const redis = await ensureRedis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  say(redis.started ? `Redis: none answered, started a private redis-server at ${redis.url}` : `Redis: ${redis.url}`);

  const sandbox = await createSandbox({ import: { registerDelayMs: 300, durationMs: 2_500, rows: 5_000 } });
  say(`SFMC sandbox: ${sandbox.url} (client id ${sandbox.credentials.clientId})`);

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
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
    },
    { requireSfmc: true },
  );
  const logger = createLogger({ level: config.logLevel });
  const sfmc = createSfmcClient({ config: requireSfmc(config), logger });
  const connection = createRedis(config.redisUrl, 'worker');
  const pool = await startWorkers({ connection, prefix, sfmc, logger, concurrency: 5 });
  const producer = new ListSendClient({ redisUrl: config.redisUrl, prefix, steps: config.steps });

  try {
    const example = JSON.parse(await readFile(join(projectRoot(), 'examples', 'seed-list-send.json'), 'utf8')) as Record<string, unknown>;
    const request = { ...example, runId: `demo-${Date.now()}`, poll: { initialDelayMs: 500, maxDelayMs: 2_000, timeoutMs: 60_000 } };
    const { runId } = await producer.enqueue(request);
    say(`\nEnqueued run ${runId} (examples/seed-list-send.json): List "Sample_List", Email 123`);
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
        '  npx list-send worker                        # the five workers, configured from the environment',
        '  npx list-send enqueue examples/seed-list-send.json --wait',
        '  npx list-send status <runId>',
        '  npm test',
      ].join('\n'),
    );
    return EXIT.ok;
  } finally {
    await producer.close();
    await pool.close();
    await sfmc.close();
    connection.disconnect();
    await sandbox.close();
    await deletePrefixKeys(redis.url, prefix);
    await redis.stop();
  }
}
