import { afterAll, describe, expect, it } from 'vitest';
import { ListSendClient } from '../../src/client.js';
import { runCli } from '../helpers/cli.js';
import { deletePrefix, testRedisUrl, uniquePrefix } from '../helpers/redis.js';
import { seedRequest } from '../helpers/requests.js';

/** `list-send enqueue` with SFMC_ACCOUNTS: the CLI knows the configured account names from its environment. */
describe('the CLI with several SFMC accounts', () => {
  const prefix = uniquePrefix('cli-accounts');
  const env = { REDIS_URL: testRedisUrl(), QUEUE_PREFIX: prefix, LOG_LEVEL: 'silent', SFMC_ACCOUNTS: 'emea' };
  afterAll(async () => {
    await deletePrefix(prefix);
  });

  it('refuses an unknown account with exit 2, naming the field, and enqueues nothing', async () => {
    const result = await runCli(['enqueue', '-'], env, JSON.stringify({ ...seedRequest({ runId: 'cli-apac' }), account: 'apac' }));
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('account: is not a configured account (configured: default, emea)');
    const reader = new ListSendClient({ redisUrl: testRedisUrl(), prefix, steps: { attempts: 1, backoffMs: 1 } });
    try {
      expect(await reader.status('cli-apac')).toBeUndefined();
    } finally {
      await reader.close();
    }
  });

  it('enqueues a run for a configured account', async () => {
    const result = await runCli(['enqueue', '-'], env, JSON.stringify({ ...seedRequest({ runId: 'cli-emea' }), account: 'emea' }));
    expect(result).toMatchObject({ code: 0, stdout: 'cli-emea\n' });
  });
});
