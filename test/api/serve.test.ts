import { Agent, request } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../src/cli/serve.js';
import { ConfigError, loadConfig } from '../../src/config.js';
import { deletePrefix, testRedisUrl, uniquePrefix } from '../helpers/redis.js';
import { seedRequest } from '../helpers/requests.js';
import { captureLogs, TOKENS } from './harness.js';

/** `list-send serve` as the CLI runs it: config from the environment, a real listening socket. */
describe('list-send serve', () => {
  const prefix = uniquePrefix('api-serve');
  const env = (extra: Record<string, string> = {}) => loadConfig({ REDIS_URL: testRedisUrl(), QUEUE_PREFIX: prefix, API_PORT: '0', ...extra });
  const running: RunningServer[] = [];
  afterAll(async () => {
    for (const server of running) await server.close();
    await deletePrefix(prefix);
  });

  it('refuses to start without API_TOKENS', async () => {
    await expect(startServer(env(), captureLogs().logger)).rejects.toThrow(/API_TOKENS: required/);
  });

  it('refuses --insecure on an interface other than loopback', async () => {
    const err = await startServer(env(), captureLogs().logger, { insecure: true, host: '0.0.0.0' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems[0]).toMatch(/--insecure: accepted only on a loopback host, not 0\.0\.0\.0/);
  });

  it('refuses tokens shorter than 16 characters and half-set dashboard credentials', () => {
    expect(() => env({ API_TOKENS: 'short' })).toThrow(/API_TOKENS: every token must be at least 16 characters/);
    expect(() => env({ API_TOKENS: TOKENS[0], DASHBOARD_USER: 'ops' })).toThrow(/DASHBOARD_USER and DASHBOARD_PASSWORD/);
  });

  it('serves without tokens with --insecure on loopback, and warns', async () => {
    const logs = captureLogs();
    const server = await startServer(env(), logs.logger, { insecure: true });
    running.push(server);
    const res = await request(`${server.url}/v1/list-sends?limit=1`);
    expect(res.statusCode).toBe(200);
    await res.body.dump();
    expect(logs.lines().some((l) => l.level === 40 && /WITHOUT authentication/.test(String(l.msg)))).toBe(true);
  });

  it('answers over a real socket with the configured tokens, and stops listening on close', async () => {
    const server = await startServer(env({ API_TOKENS: TOKENS.join(','), DASHBOARD_USER: 'ops', DASHBOARD_PASSWORD: 'ops-password' }), captureLogs().logger);
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

    const health = await request(`${server.url}/healthz`);
    expect(health.statusCode).toBe(200);
    expect(await health.body.json()).toEqual({ status: 'ok' });

    const anonymous = await request(`${server.url}/v1/list-sends`, { method: 'POST', body: JSON.stringify(seedRequest()), headers: { 'content-type': 'application/json' } });
    expect(anonymous.statusCode).toBe(401);
    await anonymous.body.dump();

    const posted = await request(`${server.url}/v1/list-sends`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKENS[1]}`, 'content-type': 'application/json' },
      body: JSON.stringify(seedRequest({ runId: 'served' })),
    });
    expect(posted.statusCode).toBe(202);
    expect(await posted.body.json()).toEqual({ runId: 'served', statusUrl: '/v1/list-sends/served' });

    const ui = await request(`${server.url}/ui`, { headers: { authorization: `Basic ${Buffer.from('ops:ops-password').toString('base64')}` } });
    expect(ui.statusCode).toBe(200);
    await ui.body.dump();

    await server.close();
    const fresh = new Agent();
    try {
      await expect(request(`${server.url}/healthz`, { dispatcher: fresh })).rejects.toThrow(/ECONNREFUSED/);
    } finally {
      await fresh.close();
    }
  });
});
