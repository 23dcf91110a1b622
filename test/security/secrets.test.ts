import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QUEUE_NAMES } from '../../queues/catalog.js';
import type { RunStatus } from '../../src/client.js';
import type { TokenRecord } from '../../src/sfmc/auth.js';
import { RedisTokenStore } from '../../src/sfmc/token-store-redis.js';
import { AUTH, DASHBOARD, startApi, type ApiHarness } from '../api/harness.js';
import { startPipeline, type AuthMode, type Pipeline } from '../helpers/pipeline.js';
import { testRedisUrl } from '../helpers/redis.js';
import { runToEnd } from '../reliability/support.js';
import { dumpJobs, dumpPrefix } from './dump.js';

/**
 * Issue 6, "Secrets": after a whole list send, and after failures forced to echo every secret
 * back (an SFMC fault string quoting the secret, the password and the live token), no client
 * secret, password or access token is anywhere the service writes: any Redis key of the prefix
 * (every type, BullMQ's event streams and job logs included), any job's data, result, error or
 * log lines, any log output (trace level, envelopes included), any run status, or the API and
 * dashboard responses.
 */

const MODES: [string, AuthMode][] = [
  ['OAuth2 client credentials', 'oauth2'],
  ['WS-Security UsernameToken', 'wsse'],
];

describe.each(MODES)('no secret anywhere after list sends with %s', (_label, auth) => {
  let p: Pipeline;
  let redis: Redis;
  let api: ApiHarness;
  const tokens: string[] = [];
  const statuses: RunStatus[] = [];
  let secrets: string[] = [];

  class RecordingStore extends RedisTokenStore {
    override async set(key: string, record: TokenRecord): Promise<void> {
      tokens.push(record.accessToken);
      return super.set(key, record);
    }
  }

  beforeAll(async () => {
    redis = new Redis(testRedisUrl(), { maxRetriesPerRequest: null });
    p = await startPipeline({
      label: `secrets-${auth}`,
      auth,
      attempts: 3,
      logLevel: 'trace',
      ...(auth === 'oauth2' ? { tokenStore: (prefix: string) => new RecordingStore({ redis, prefix, clientSecret: 'sandbox-secret' }) } : {}),
    });
    const c = p.sandbox.credentials;
    expect(c.clientSecret).toBe('sandbox-secret');

    // 1. A whole list send.
    statuses.push(await runToEnd(p, 'ok'));
    const live = tokens.at(-1) ?? 'no-token-in-ws-security';
    const echo = `echoing ${c.clientSecret} ${c.password} ${live}`;

    // 2. A Token Expired on the way: a second token, and its refusal in the logs.
    p.sandbox.faults.inject({ operation: 'Retrieve', objectType: 'ImportResultsSummary', kind: 'token-expired' });
    statuses.push(await runToEnd(p, 'refreshed'));

    // 3. SFMC quoting the credentials and the token back in a fatal fault.
    p.sandbox.faults.inject({ operation: 'Create', objectType: 'ImportDefinition', kind: 'client-fault', faultString: echo });
    statuses.push(await runToEnd(p, 'echoed'));

    // 4. send-unknown, whose message quotes a lookup failure that quotes the secrets.
    p.sandbox.faults.inject({ operation: 'Create', objectType: 'Send', kind: 'drop-after-commit' });
    p.sandbox.faults.inject({ operation: 'Retrieve', objectType: 'Send', kind: 'server-fault', faultString: `${echo} ${tokens.at(-1) ?? ''}`, times: 10 });
    statuses.push(await runToEnd(p, 'unknown'));

    // 5. A plain verdict.
    statuses.push(await runToEnd(p, 'no-list', { list: { name: 'Nobody' } }));

    // The credentials of the mode in use, and every token it was ever issued.
    secrets = auth === 'oauth2' ? [c.clientSecret, ...tokens] : [c.password];
    api = startApi({ label: `secrets-api-${auth}`, prefix: p.prefix });
  }, 60_000);

  afterAll(async () => {
    await api?.close();
    await p?.close();
    redis?.disconnect();
  });

  function expectNoSecret(where: string, text: string): void {
    for (const secret of secrets) {
      const at = text.indexOf(secret);
      expect(at, `${where} contains a secret: …${text.slice(Math.max(0, at - 300), at + 100)}…`).toBe(-1);
    }
  }

  it('ran the send and the forced failures it meant to', () => {
    expect(statuses.map((s) => [s.runId, s.state])).toEqual([
      ['ok', 'completed'],
      ['refreshed', 'completed'],
      ['echoed', 'failed'],
      ['unknown', 'failed'],
      ['no-list', 'failed'],
    ]);
    const echoed = auth === 'oauth2' ? /echoing \[redacted\] sandbox-password \[redacted\]/ : /echoing \[redacted\]-secret \[redacted\] no-token/;
    expect(statuses[2]?.error).toMatch(new RegExp(`client-fault: .*${echoed.source}`));
    expect(statuses[3]?.error).toMatch(new RegExp(`send-unknown: .*${echoed.source}`));
    expect(tokens).toHaveLength(auth === 'oauth2' ? 2 : 0);
  });

  it('leaves no secret in any Redis key of the prefix, whatever its type', async () => {
    const dump = await dumpPrefix(redis, p.prefix);
    expect(dump.text.match(/\S+ "UNDUMPED TYPE \w+"/g) ?? []).toEqual([]);
    // What was searched: job hashes, job logs, event streams, the run registry, and the token.
    expect(dump.types['hash']?.some((k) => k.endsWith(':send:ok-send'))).toBe(true);
    expect(dump.types['list']?.some((k) => k.endsWith(':logs'))).toBe(true);
    expect(dump.types['stream']?.some((k) => k.endsWith(':send:events'))).toBe(true);
    expect(dump.types['hash']?.some((k) => k.endsWith(':run:ok'))).toBe(true);
    expect(dump.types['zset']?.length).toBeGreaterThan(0);
    if (auth === 'oauth2') expect(dump.types['string']?.some((k) => k.includes(':sfmc-token:'))).toBe(true);
    expectNoSecret('Redis', dump.text);
    expectNoSecret('Redis (base64)', Buffer.from(dump.text, 'latin1').toString('base64'));
  });

  it('leaves no secret in any job: data, result, error, stack trace or log lines', async () => {
    const jobs = await dumpJobs(redis, p.prefix);
    expect(jobs).toContain('"failedReason":"client-fault');
    expectNoSecret('jobs', jobs);
  });

  it('writes no secret to the log, even at trace level with every envelope logged', () => {
    const lines = p.logLines();
    const text = JSON.stringify(lines);
    const envelopes = lines.filter((l) => l.msg === 'sfmc request').map((l) => String(l.envelope));
    expect(envelopes.length).toBeGreaterThan(10);
    expect(envelopes.every((e) => e.includes(auth === 'oauth2' ? '>[redacted]</fueloauth>' : '>[redacted]</wsse:Password>'))).toBe(true);
    expect(lines.some((l) => l.level === 50 && l.msg === 'step failed')).toBe(true);
    expectNoSecret('log output', text);
  });

  it('puts no secret in a run status or error message', () => {
    expectNoSecret('run statuses', JSON.stringify(statuses));
  });

  it('serves no secret from the API or the dashboard (Bull Board API: job lists, jobs, logs)', async () => {
    const basic = `Basic ${Buffer.from(`${DASHBOARD.user}:${DASHBOARD.password}`).toString('base64')}`;
    const bodies: string[] = [];
    const get = async (url: string, authorization: string) => {
      const res = await api.app.inject({ method: 'GET', url, headers: { authorization } });
      expect(res.statusCode, url).toBe(200);
      bodies.push(res.body);
      return res;
    };
    await get('/v1/list-sends?limit=50', AUTH.authorization);
    for (const s of statuses) await get(`/v1/list-sends/${s.runId}`, AUTH.authorization);
    await get('/ui/api/queues', basic);
    for (const queue of QUEUE_NAMES) {
      for (const state of ['completed', 'failed', 'active', 'delayed', 'waiting', 'waiting-children']) {
        await get(`/ui/api/queues?activeQueue=${queue}&status=${state}&page=1&jobsPerPage=100`, basic);
      }
      for (const s of statuses) {
        const jobId = `${s.runId}-${queue}`;
        const job = await api.app.inject({ method: 'GET', url: `/ui/api/queues/${queue}/${jobId}`, headers: { authorization: basic } });
        if (job.statusCode === 404) continue;
        bodies.push(job.body);
        await get(`/ui/api/queues/${queue}/${jobId}/logs`, basic);
      }
    }
    const all = bodies.join('\n');
    expect(all).toContain('send-unknown');
    expect(all).toContain('Send ');
    expectNoSecret('API and dashboard responses', all);
  });
});
