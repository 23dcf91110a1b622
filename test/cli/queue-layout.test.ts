import { afterAll, describe, expect, it } from 'vitest';
import { ListSendClient } from '../../src/client.js';
import { queueLayoutKey } from '../../src/queue-layout.js';
import { createRedis } from '../../src/redis.js';
import { shardPrefixes } from '../../src/shards.js';
import { runCli } from '../helpers/cli.js';
import { seedRequest } from '../helpers/requests.js';
import { deletePrefix, testRedisUrl, uniquePrefix } from '../helpers/redis.js';

/**
 * `list-send worker` and `list-send enqueue` with another QUEUE_SHARDS than the one recorded in
 * Redis (src/queue-layout.ts): both exit 2 with the reason, instead of stranding runs.
 */
describe('the list-send CLI against another recorded QUEUE_SHARDS', () => {
  const prefix = uniquePrefix('cli-layout');
  const redis = createRedis(testRedisUrl(), 'worker');
  // Never contacted: the worker refuses before any job reaches SFMC.
  const sfmc = {
    SFMC_AUTH_URL: 'https://auth.invalid',
    SFMC_SOAP_URL: 'https://soap.invalid/Service.asmx',
    SFMC_CLIENT_ID: 'client-id',
    SFMC_CLIENT_SECRET: 'client-secret',
    SFMC_ACCOUNT_ID: '123',
  };
  const env = (shards: number) => ({ REDIS_URL: testRedisUrl(), QUEUE_PREFIX: prefix, QUEUE_SHARDS: String(shards), LOG_LEVEL: 'silent', ...sfmc });

  afterAll(async () => {
    redis.disconnect();
    for (const p of new Set([prefix, ...shardPrefixes(prefix, 3)])) await deletePrefix(p);
  });

  it('worker with QUEUE_SHARDS=3 exits 2 while a run of the recorded QUEUE_SHARDS=1 is unfinished, naming both and the count', async () => {
    await redis.set(queueLayoutKey(prefix), '1');
    const producer = new ListSendClient({ redisUrl: testRedisUrl(), prefix, steps: { attempts: 3, backoffMs: 20 } });
    await producer.enqueue(seedRequest({ runId: 'cli-layout-waiting' }));
    await producer.close();
    // Killed after 20 s if it started consuming instead (code null).
    const result = await runCli(['worker'], env(3), undefined, 20_000);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/QUEUE_SHARDS is 3 but \d+ unfinished job\(s\) wait under QUEUE_SHARDS=1/);
    expect(await redis.get(queueLayoutKey(prefix))).toBe('1');
  });

  it('enqueue with QUEUE_SHARDS=3 against the recorded 1 exits 2 naming both', async () => {
    const result = await runCli(['enqueue', '-'], env(3), JSON.stringify(seedRequest({ runId: 'cli-layout-refused' })));
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/QUEUE_SHARDS is 3 here but the workers run with QUEUE_SHARDS=1/);
  });
});
