import { request } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../src/cli/serve.js';
import { loadConfig } from '../../src/config.js';
import { ListSendClient } from '../../src/client.js';
import { deletePrefix, testRedisUrl, uniquePrefix } from '../helpers/redis.js';
import { seedRequest } from '../helpers/requests.js';
import { captureLogs, TOKENS } from './harness.js';

/** `list-send serve` with SFMC_ACCOUNTS: a request's `account` must be a configured one. */
describe('the API with several SFMC accounts', () => {
  const prefix = uniquePrefix('api-accounts');
  let server: RunningServer | undefined;
  afterAll(async () => {
    await server?.close();
    await deletePrefix(prefix);
  });

  async function post(body: unknown) {
    const res = await request(`${server?.url}/v1/list-sends`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKENS[0]}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: res.statusCode, body: (await res.body.json()) as Record<string, unknown> };
  }

  it('answers 400 naming the field for an unknown account, and takes a configured one', async () => {
    // A producer needs the account names only; the credentials are the workers'.
    const config = loadConfig({ REDIS_URL: testRedisUrl(), QUEUE_PREFIX: prefix, API_PORT: '0', API_TOKENS: TOKENS.join(','), SFMC_ACCOUNTS: 'emea,us' });
    server = await startServer(config, captureLogs().logger);

    const unknown = await post({ ...seedRequest({ runId: 'api-apac' }), account: 'apac' });
    expect(unknown.status).toBe(400);
    expect(JSON.stringify(unknown.body)).toContain('is not a configured account (configured: default, emea, us)');
    expect(JSON.stringify(unknown.body)).toContain('"account"');

    const malformed = await post({ ...seedRequest({ runId: 'api-bad-name' }), account: 'EMEA' });
    expect(malformed.status).toBe(400);
    expect(JSON.stringify(malformed.body)).toContain('must be an account name from SFMC_ACCOUNTS');

    expect(await post({ ...seedRequest({ runId: 'api-emea' }), account: 'emea' })).toMatchObject({ status: 202, body: { runId: 'api-emea' } });
    expect(await post({ ...seedRequest({ runId: 'api-default' }), account: 'default' })).toMatchObject({ status: 202 });

    const reader = new ListSendClient({ redisUrl: testRedisUrl(), prefix, steps: { attempts: 1, backoffMs: 1 } });
    try {
      expect((await reader.request('api-emea'))?.account).toBe('emea');
      // `default` is stored as no account: the same run as a request without the field.
      expect((await reader.request('api-default'))?.account).toBeUndefined();
      expect(await reader.status('api-apac')).toBeUndefined();
    } finally {
      await reader.close();
    }
  });
});
